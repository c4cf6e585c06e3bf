package top

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// SortKeys are the columns rows can be sorted by, in the order the
// terminal view cycles through them.
var SortKeys = []string{"token", "path", "state", "rtt", "cwnd", "rate", "retrans"}

// View selects and orders rows.
type View struct {
	Sort    string // one of SortKeys; "" means token
	Reverse bool
	// Filter keeps rows whose token, addresses, interface or state
	// contain it, ignoring case.
	Filter string
}

// ValidSort returns an error unless key is one of SortKeys.
func ValidSort(key string) error {
	if key == "" || slices.Contains(SortKeys, key) {
		return nil
	}
	return fmt.Errorf("invalid sort key %q: want one of %s", key, strings.Join(SortKeys, ", "))
}

// Apply returns the rows that pass the filter, sorted. Ties keep the
// token and path order, so that rows do not jump between refreshes.
func (v View) Apply(rows []Row) []Row {
	out := make([]Row, 0, len(rows))
	f := strings.ToLower(v.Filter)
	for _, r := range rows {
		if f == "" || strings.Contains(searchText(r), f) {
			out = append(out, r)
		}
	}
	by := compareBy(v.Sort)
	slices.SortStableFunc(out, func(a, b Row) int {
		c := by(a, b)
		if v.Reverse {
			c = -c
		}
		if c != 0 {
			return c
		}
		return comparePath(a, b)
	})
	return out
}

func searchText(r Row) string {
	return strings.ToLower(fmt.Sprintf("%08x %d %s %s %s %s", r.Token, r.Token,
		r.Local, r.Remote, r.Interface, r.State))
}

func comparePath(a, b Row) int {
	return cmp.Or(cmp.Compare(a.Token, b.Token),
		a.Local.Compare(b.Local), a.Remote.Compare(b.Remote))
}

func compareBy(key string) func(a, b Row) int {
	switch key {
	case "path":
		return func(a, b Row) int {
			return cmp.Or(a.Local.Addr().Compare(b.Local.Addr()), a.Remote.Addr().Compare(b.Remote.Addr()))
		}
	case "state":
		return func(a, b Row) int { return cmp.Compare(a.State, b.State) }
	case "rtt":
		return func(a, b Row) int { return cmp.Compare(a.SRTTUs, b.SRTTUs) }
	case "cwnd":
		return func(a, b Row) int { return cmp.Compare(a.SndCwnd, b.SndCwnd) }
	case "rate":
		return func(a, b Row) int { return cmp.Compare(a.SendRate, b.SendRate) }
	case "retrans":
		return func(a, b Row) int { return cmp.Compare(a.TotalRetrans, b.TotalRetrans) }
	}
	return func(a, b Row) int { return cmp.Compare(a.Token, b.Token) }
}

// NextSort returns the sort key after key in SortKeys, wrapping around;
// "" counts as token.
func NextSort(key string) string {
	if key == "" {
		key = "token"
	}
	i := slices.Index(SortKeys, key)
	return SortKeys[(i+1)%len(SortKeys)]
}
