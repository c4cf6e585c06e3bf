package top

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/control"
)

// Column is one column of the table.
type Column struct {
	Title string
	Right bool // right-aligned, for numbers
}

// Columns of the table, in order. The last one, HISTORY, takes the width
// that is left.
var Columns = []Column{
	{"TOKEN", false}, {"PATH", false}, {"IDS", false}, {"BK", false},
	{"STATE", false}, {"RTT ms", true}, {"CWND", true}, {"RATE", true},
	{"RETR", true}, {"HISTORY", false},
}

// Cells returns the text of r's columns; the history has at most
// histWidth samples, the newest last.
func Cells(r Row, histWidth int) []string {
	backup := "-"
	if r.Backup {
		backup = "B"
	}
	return []string{
		fmt.Sprintf("%08x", r.Token),
		r.Local.Addr().String() + " -> " + r.Remote.Addr().String(),
		fmt.Sprintf("%d/%d", r.LocalID, r.RemoteID),
		backup,
		StateName(r.State),
		strconv.FormatFloat(float64(r.SRTTUs)/1000, 'f', 2, 64),
		strconv.FormatUint(uint64(r.SndCwnd), 10),
		FormatRate(r.SendRate),
		strconv.FormatUint(uint64(r.TotalRetrans), 10),
		Sparkline(r.History, histWidth),
	}
}

// StateName returns the short form of a daemon subflow state, such as
// "ESTAB", and TCP state names unchanged.
func StateName(s string) string {
	switch s {
	case control.StateEstablished:
		return "ESTAB"
	case control.StatePending:
		return "PEND"
	case control.StateClosed:
		return "CLOSED"
	}
	return s
}

// FormatRate formats a rate in bytes/s as bits/s with an SI prefix, such
// as "482Mb/s".
func FormatRate(bytesPerSec float64) string {
	v := bytesPerSec * 8
	prefixes := []string{"", "k", "M", "G", "T"}
	i := 0
	for v >= 1000 && i < len(prefixes)-1 {
		v /= 1000
		i++
	}
	prec := 0
	if i > 0 && v < 10 {
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + prefixes[i] + "b/s"
}

var bars = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws the last width values of h as block characters scaled
// to their maximum.
func Sparkline(h []float64, width int) string {
	if width <= 0 {
		return ""
	}
	if len(h) > width {
		h = h[len(h)-width:]
	}
	peak := 0.0
	for _, v := range h {
		peak = math.Max(peak, v)
	}
	var b strings.Builder
	for _, v := range h {
		i := 0
		if peak > 0 {
			i = int(v / peak * float64(len(bars)-1))
		}
		b.WriteRune(bars[min(max(i, 0), len(bars)-1)])
	}
	return b.String()
}

// minHistory is the fewest history samples a table shows when the width
// is too small for more.
const minHistory = 4

// WriteTable writes rows as an aligned table no wider than width columns
// when the addresses allow it; width <= 0 means 80.
func WriteTable(w io.Writer, rows []Row, width int) error {
	if width <= 0 {
		width = 80
	}
	widths := make([]int, len(Columns)-1)
	for i, c := range Columns[:len(widths)] {
		widths[i] = utf8.RuneCountInString(c.Title)
	}
	for _, r := range rows {
		for i, cell := range Cells(r, 0)[:len(widths)] {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	used := 0
	for _, n := range widths {
		used += n + 1
	}
	hist := max(width-used, minHistory)

	var b strings.Builder
	titles := make([]string, len(Columns))
	for i, c := range Columns {
		titles[i] = c.Title
	}
	writeLine(&b, titles, widths)
	for _, r := range rows {
		writeLine(&b, Cells(r, hist), widths)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeLine(b *strings.Builder, cells []string, widths []int) {
	var line strings.Builder
	for i, cell := range cells {
		if i == len(widths) {
			line.WriteString(cell)
			break
		}
		pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
		if Columns[i].Right {
			line.WriteString(pad + cell)
		} else {
			line.WriteString(cell + pad)
		}
		line.WriteByte(' ')
	}
	b.WriteString(strings.TrimRight(line.String(), " "))
	b.WriteByte('\n')
}
