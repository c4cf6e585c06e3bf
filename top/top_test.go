package top

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/control"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// snapshot returns a connection with two subflows whose acknowledged
// bytes grow by step1 and step2 per second, at second i.
func snapshot(i int, step1, step2 uint64) control.Update {
	at := t0.Add(time.Duration(i) * time.Second)
	remote := netip.MustParseAddrPort("10.200.1.2:5201")
	return control.Update{Time: at, Connections: []control.Connection{{
		Token: 0x145c5c70, Local: netip.MustParseAddrPort("10.200.1.1:40000"), Remote: remote,
		Subflows: []control.Subflow{
			{Local: netip.MustParseAddrPort("10.200.1.1:40000"), Remote: remote,
				State: control.StateEstablished, SRTTUs: 900, SndCwnd: 40,
				BytesAcked: uint64(i) * step1, StatsTime: at},
			{Local: netip.MustParseAddrPort("10.200.2.1:40001"), Remote: remote,
				LocalID: 2, Backup: true, State: control.StateEstablished, SRTTUs: 4100,
				SndCwnd: 12, TotalRetrans: 7, BytesAcked: uint64(i) * step2, StatsTime: at},
		},
	}}}
}

func TestModelRates(t *testing.T) {
	m := NewModel(3)
	var rows []Row
	for i := range 5 {
		rows = m.Update(snapshot(i, 1000, 250))
	}
	if rows[0].SendRate != 1000 || rows[1].SendRate != 250 {
		t.Errorf("rates %v and %v, want 1000 and 250", rows[0].SendRate, rows[1].SendRate)
	}
	if len(rows[0].History) != 3 {
		t.Errorf("history has %d samples, want 3", len(rows[0].History))
	}
}

func TestModelCounterReset(t *testing.T) {
	m := NewModel(0)
	m.Update(snapshot(5, 1000, 1000))
	rows := m.Update(snapshot(6, 10, 10))
	if rows[0].SendRate != 0 {
		t.Errorf("rate after counter went back %v, want 0", rows[0].SendRate)
	}
}

func TestModelForgets(t *testing.T) {
	m := NewModel(0)
	m.Update(snapshot(1, 1, 1))
	m.Update(control.Update{Time: t0})
	if len(m.tracks) != 0 {
		t.Errorf("%d tracks after empty snapshot, want 0", len(m.tracks))
	}
}

func TestViewSortFilter(t *testing.T) {
	m := NewModel(0)
	m.Update(snapshot(0, 1000, 250))
	rows := m.Update(snapshot(1, 1000, 250))
	got := View{Sort: "rtt", Reverse: true}.Apply(rows)
	if got[0].SRTTUs != 4100 {
		t.Errorf("first row by rtt reversed has srtt %d, want 4100", got[0].SRTTUs)
	}
	got = View{Sort: "rate"}.Apply(rows)
	if got[0].SendRate != 250 {
		t.Errorf("first row by rate has %v, want 250", got[0].SendRate)
	}
	got = View{Filter: "10.200.2"}.Apply(rows)
	if len(got) != 1 || got[0].LocalID != 2 {
		t.Errorf("filter 10.200.2 kept %d rows, want the one with id 2", len(got))
	}
	if got := (View{Filter: "145C5C70"}).Apply(rows); len(got) != 2 {
		t.Errorf("filter by token kept %d rows, want 2", len(got))
	}
	if err := ValidSort("speed"); err == nil {
		t.Error("sort key speed accepted")
	}
}

func TestTableWidth(t *testing.T) {
	m := NewModel(0)
	var rows []Row
	for i := range 40 {
		rows = m.Update(snapshot(i, uint64(i*1000), 250))
	}
	var b bytes.Buffer
	if err := WriteTable(&b, rows, 80); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", b.String())
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	for i, line := range lines {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("line %d has %d columns, want at most 80", i+1, n)
		}
	}
	for _, col := range []string{"RTT ms", "CWND", "RATE", "RETR"} {
		end := strings.Index(lines[0], col) + len(col)
		for _, row := range lines[1:] {
			if r := []rune(row); end > len(r) || r[end-1] == ' ' || (end < len(r) && r[end] != ' ') {
				t.Errorf("column %s does not end at %d in %q", col, end, row)
			}
		}
	}
	if !strings.Contains(lines[2], "10.200.2.1 -> 10.200.1.2 2/0 B") {
		t.Errorf("second row %q lacks its path and ids", lines[2])
	}
}

func TestSparkline(t *testing.T) {
	if got := Sparkline([]float64{0, 1, 2, 4, 8}, 4); got != "▁▂▄█" {
		t.Errorf("Sparkline = %q, want ▁▂▄█", got)
	}
	if got := FormatRate(60_250_000); got != "482Mb/s" {
		t.Errorf("FormatRate = %q, want 482Mb/s", got)
	}
}

// fakeSource replays snapshots, one per interval.
type fakeSource struct{ n int }

func (f *fakeSource) Name() string { return "fake" }

func (f *fakeSource) Run(ctx context.Context, interval time.Duration, fn func(control.Update) error) error {
	for i := 0; ; i++ {
		if err := fn(snapshot(i, 125000, 50000)); err != nil {
			return err
		}
		f.n++
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

func TestRunTextCount(t *testing.T) {
	var b bytes.Buffer
	err := RunText(context.Background(), &fakeSource{}, &b, Options{Interval: time.Millisecond, Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "TOKEN"); n != 3 {
		t.Errorf("%d tables, want 3:\n%s", n, b.String())
	}
	if !strings.Contains(b.String(), "1.0Mb/s") {
		t.Errorf("output lacks the 1.0Mb/s rate:\n%s", b.String())
	}
}

func TestRunTextJSON(t *testing.T) {
	var b bytes.Buffer
	err := RunText(context.Background(), &fakeSource{}, &b, Options{Interval: time.Millisecond, Count: 2, JSON: true})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d JSON lines, want 2", len(lines))
	}
	var s Snapshot
	if err := json.Unmarshal([]byte(lines[1]), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Subflows) != 2 || s.Subflows[0].SendRate != 125000 {
		t.Errorf("snapshot %+v, want 2 subflows, the first at 125000 B/s", s.Subflows)
	}
}

// screenText returns the simulation screen's text, one line per row.
func screenText(s tcell.SimulationScreen) string {
	cells, w, h := s.GetContents()
	var b strings.Builder
	for y := range h {
		for x := range w {
			r := cells[y*w+x].Runes
			if len(r) == 0 {
				b.WriteByte(' ')
				continue
			}
			b.WriteString(string(r))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func TestTerminalView(t *testing.T) {
	screen := tcell.NewSimulationScreen("UTF-8")
	if err := screen.Init(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- RunTerminal(context.Background(), &fakeSource{}, screen, Options{Interval: 20 * time.Millisecond})
	}()
	// The view initialises the screen, which resets its size.
	time.Sleep(100 * time.Millisecond)
	screen.SetSize(100, 12)
	var text string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		text = screenText(screen)
		if strings.Contains(text, "10.200.2.1 -> 10.200.1.2") && strings.Contains(text, "Mb/s") {
			break
		}
	}
	t.Logf("\n%s", text)
	for _, want := range []string{"10.200.1.1 -> 10.200.1.2", "10.200.2.1 -> 10.200.1.2", "2 subflows", "q quit"} {
		if !strings.Contains(text, want) {
			t.Errorf("screen lacks %q", want)
		}
	}
	screen.InjectKey(tcell.KeyRune, 'q', tcell.ModNone)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunTerminal: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("view did not quit on q")
	}
}

// startView runs the terminal view of fakeSource on a 100x12 simulation
// screen until the test ends.
func startView(t *testing.T) tcell.SimulationScreen {
	t.Helper()
	screen := tcell.NewSimulationScreen("UTF-8")
	if err := screen.Init(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- RunTerminal(context.Background(), &fakeSource{}, screen, Options{Interval: 20 * time.Millisecond})
	}()
	time.Sleep(100 * time.Millisecond)
	screen.SetSize(100, 12)
	t.Cleanup(func() {
		screen.InjectKey(tcell.KeyRune, 'q', tcell.ModNone)
		<-done
	})
	return screen
}

// waitScreen waits until the screen shows want, and returns its text.
func waitScreen(s tcell.SimulationScreen, want string) string {
	var text string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		if text = screenText(s); strings.Contains(text, want) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return text
}

func TestTerminalKeys(t *testing.T) {
	s := startView(t)
	waitScreen(s, "10.200.2.1 -> 10.200.1.2")

	s.InjectKey(tcell.KeyRune, 's', tcell.ModNone)
	s.InjectKey(tcell.KeyRune, 'r', tcell.ModNone)
	if text := waitScreen(s, "sort path (reversed)"); !strings.Contains(text, "sort path (reversed)") {
		t.Errorf("title after s and r lacks sort path (reversed):\n%s", text)
	}

	s.InjectKey(tcell.KeyRune, '/', tcell.ModNone)
	for _, r := range "10.200.2" {
		s.InjectKey(tcell.KeyRune, r, tcell.ModNone)
	}
	s.InjectKey(tcell.KeyEnter, 0, tcell.ModNone)
	text := waitScreen(s, `filter "10.200.2"`)
	if !strings.Contains(text, "1 subflow ") {
		t.Errorf("filtered view does not count 1 subflow:\n%s", text)
	}
	if strings.Contains(text, "10.200.1.1 -> 10.200.1.2") {
		t.Errorf("filtered view still shows 10.200.1.1:\n%s", text)
	}

	s.InjectKey(tcell.KeyRune, '/', tcell.ModNone)
	s.InjectKey(tcell.KeyEscape, 0, tcell.ModNone)
	if text := waitScreen(s, "10.200.1.1 -> 10.200.1.2"); strings.Contains(text, `filter "`) {
		t.Errorf("Escape did not clear the filter:\n%s", text)
	}
}

func TestNextSort(t *testing.T) {
	if got := NextSort(""); got != "path" {
		t.Errorf("NextSort(\"\") = %q, want path", got)
	}
	if got := NextSort("retrans"); got != "token" {
		t.Errorf("NextSort(retrans) = %q, want token", got)
	}
}
