package diag

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// ssEntry is one socket in the output of ss -tinmMHa.
type ssEntry struct {
	netid       string // "tcp" or "mptcp"
	state       string
	recvQ       uint64
	sendQ       uint64
	local, peer netip.AddrPort
	dev         string // interface after % in the local address
	words       map[string]bool
	fields      map[string]string
}

// parseSS parses ss output printed with -i and -H: a socket line, then a
// line of details that starts with a tab.
func parseSS(t *testing.T, out string) []ssEntry {
	t.Helper()
	var entries []ssEntry
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, " ") {
			if len(entries) == 0 {
				t.Fatalf("ss details before any socket line: %q", line)
			}
			parseSSDetails(&entries[len(entries)-1], line)
			continue
		}
		entries = append(entries, parseSSSocket(t, line))
	}
	return entries
}

func parseSSSocket(t *testing.T, line string) ssEntry {
	t.Helper()
	f := strings.Fields(line)
	if len(f) < 6 {
		t.Fatalf("ss socket line with %d fields: %q", len(f), line)
	}
	e := ssEntry{netid: f[0], state: f[1], words: map[string]bool{}, fields: map[string]string{}}
	e.recvQ = mustUint(t, f[2], 10)
	e.sendQ = mustUint(t, f[3], 10)
	e.local, e.dev = parseSSAddr(t, f[4])
	if !strings.HasSuffix(f[5], ":*") {
		e.peer, _ = parseSSAddr(t, f[5])
	}
	return e
}

// parseSSAddr parses "10.0.0.1%eth0:80" or "[fd00::1]%eth0:80".
func parseSSAddr(t *testing.T, s string) (netip.AddrPort, string) {
	t.Helper()
	i := strings.LastIndexByte(s, ':')
	host, port := s[:i], s[i+1:]
	dev := ""
	if j := strings.IndexByte(host, '%'); j >= 0 {
		host, dev = host[:j], host[j+1:]
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	addr, err := netip.ParseAddr(host)
	if err != nil {
		t.Fatalf("ss address %q: %v", s, err)
	}
	return netip.AddrPortFrom(addr, uint16(mustUint(t, port, 10))), dev
}

// parseSSDetails splits "key:value" words into fields, "name value"
// pairs such as "send 10bps" into fields, and bare words into words.
func parseSSDetails(e *ssEntry, line string) {
	f := strings.Fields(line)
	for i := 0; i < len(f); i++ {
		w := f[i]
		if k, v, ok := strings.Cut(w, ":"); ok {
			e.fields[k] = v
			continue
		}
		if i+1 < len(f) && strings.HasSuffix(f[i+1], "bps") {
			e.fields[w] = f[i+1]
			i++
			continue
		}
		e.words[w] = true
	}
}

// group parses "(k:v,k:v)" or "(r0,rb1,...)" into a map. Items without
// a colon are split after their leading letters.
func group(s string) map[string]string {
	m := map[string]string{}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "("), ")")
	for _, item := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(item, ":"); ok {
			m[k] = v
			continue
		}
		j := strings.IndexAny(item, "0123456789")
		if j > 0 {
			m[item[:j]] = item[j:]
		}
	}
	return m
}

func mustUint(t *testing.T, s string, base int) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		t.Fatalf("ss number %q: %v", s, err)
	}
	return v
}

// msToMicros converts ss's "%g" milliseconds back to microseconds.
func msToMicros(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("ss time %q: %v", s, err)
	}
	return uint64(v*1000 + 0.5)
}

// between checks that ss's value lies between the values of the dumps
// taken before and after ss ran.
func between(t *testing.T, where, name string, ss, before, after uint64) {
	t.Helper()
	lo, hi := min(before, after), max(before, after)
	if ss < lo || ss > hi {
		t.Errorf("%s %s: ss %d, diag %d before and %d after", where, name, ss, before, after)
	}
}
