package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/control"
)

func TestNilSafe(t *testing.T) {
	var m *Metrics
	m.Event("CREATED")
	m.Command("subflow_create", nil)
	m.RingRecords(3)
	m.RingDrops("ring_full", 1)
	m.DiagPoll(nil, time.Millisecond)
	m.SetConnections(1)
	m.SetSubflows("established", 1)
	m.Observe(nil)
	if m.Registry() != nil {
		t.Error("nil Metrics has a registry")
	}
}

func TestEventCap(t *testing.T) {
	m := New(Options{})
	m.Event("CREATED")
	m.Event("CREATED")
	for i := range maxLabelValues + 5 {
		m.Event(fmt.Sprintf("T%d", i))
	}
	if got := testutil.ToFloat64(m.events.vec.WithLabelValues("CREATED")); got != 2 {
		t.Errorf("CREATED events %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.events.vec.WithLabelValues(otherLabel)); got != 6 {
		t.Errorf("events past the cap %v, want 6", got)
	}
	if n := testutil.CollectAndCount(m.events); n != maxLabelValues+1 {
		t.Errorf("%d event series, want %d", n, maxLabelValues+1)
	}
}

func TestCommandResult(t *testing.T) {
	m := New(Options{})
	m.Command("subflow_create", nil)
	m.Command("subflow_create", fmt.Errorf("create subflow: %w", syscall.EEXIST))
	m.Command("subflow_create", errors.New("no route: 10.0.0.1 is unreachable"))
	for _, result := range []string{"ok", "EEXIST", "error"} {
		if got := testutil.ToFloat64(m.commands.vec.WithLabelValues("subflow_create", result)); got != 1 {
			t.Errorf("result %s counted %v times, want 1", result, got)
		}
	}
}

func fixture(n int) []control.Connection {
	c := control.Connection{Token: 0xabc, Local: netip.MustParseAddrPort("10.200.1.1:4000"),
		Remote: netip.MustParseAddrPort("10.200.1.2:5201")}
	for i := range n {
		c.Subflows = append(c.Subflows, control.Subflow{
			Local:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 200, byte(i + 1), 1}), 4000),
			Remote: c.Remote, State: control.StateEstablished,
			SRTTUs: 2500, SndCwnd: uint32(10 + i), BytesAcked: 1000, Backup: i == 1,
		})
	}
	c.Subflows[n-1].State = control.StatePending
	return []control.Connection{c}
}

const stateWant = `
# HELP mptcp_bpf_pm_connections MPTCP connections the daemon tracks.
# TYPE mptcp_bpf_pm_connections gauge
mptcp_bpf_pm_connections 1
# HELP mptcp_bpf_pm_subflows Subflows of tracked connections, by state.
# TYPE mptcp_bpf_pm_subflows gauge
mptcp_bpf_pm_subflows{state="closed"} 0
mptcp_bpf_pm_subflows{state="established"} 2
mptcp_bpf_pm_subflows{state="pending"} 1
`

func TestObserveState(t *testing.T) {
	m := New(Options{})
	m.Observe(fixture(3))
	err := testutil.GatherAndCompare(m.reg, strings.NewReader(stateWant),
		"mptcp_bpf_pm_connections", "mptcp_bpf_pm_subflows")
	if err != nil {
		t.Error(err)
	}
}

func TestSubflowSeries(t *testing.T) {
	m := New(Options{Subflows: true})
	m.Observe(fixture(2))
	want := `
# HELP mptcp_bpf_pm_subflow_srtt_seconds Smoothed round-trip time of the subflow.
# TYPE mptcp_bpf_pm_subflow_srtt_seconds gauge
mptcp_bpf_pm_subflow_srtt_seconds{local="10.200.1.1:4000",remote="10.200.1.2:5201",token="00000abc"} 0.0025
mptcp_bpf_pm_subflow_srtt_seconds{local="10.200.2.1:4000",remote="10.200.1.2:5201",token="00000abc"} 0.0025
# HELP mptcp_bpf_pm_subflow_backup 1 when the subflow carries the backup flag, else 0.
# TYPE mptcp_bpf_pm_subflow_backup gauge
mptcp_bpf_pm_subflow_backup{local="10.200.1.1:4000",remote="10.200.1.2:5201",token="00000abc"} 0
mptcp_bpf_pm_subflow_backup{local="10.200.2.1:4000",remote="10.200.1.2:5201",token="00000abc"} 1
`
	err := testutil.GatherAndCompare(m.reg, strings.NewReader(want),
		"mptcp_bpf_pm_subflow_srtt_seconds", "mptcp_bpf_pm_subflow_backup")
	if err != nil {
		t.Error(err)
	}
}

func TestSubflowLimit(t *testing.T) {
	m := New(Options{Subflows: true, MaxSubflows: 3})
	m.Observe(fixture(5))
	if n := testutil.CollectAndCount(m.state, "mptcp_bpf_pm_subflow_cwnd_segments"); n != 3 {
		t.Errorf("%d cwnd series, want 3", n)
	}
	want := "# HELP mptcp_bpf_pm_subflow_series_omitted Subflows left out of the per-subflow series by the series limit.\n" +
		"# TYPE mptcp_bpf_pm_subflow_series_omitted gauge\nmptcp_bpf_pm_subflow_series_omitted 2\n"
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want), "mptcp_bpf_pm_subflow_series_omitted"); err != nil {
		t.Error(err)
	}
}

func TestSubflowsOff(t *testing.T) {
	m := New(Options{})
	m.Observe(fixture(2))
	if n := testutil.CollectAndCount(m.state, "mptcp_bpf_pm_subflow_srtt_seconds"); n != 0 {
		t.Errorf("%d srtt series without the option, want 0", n)
	}
}

func TestRingAndDiag(t *testing.T) {
	m := New(Options{})
	m.RingRecords(5)
	m.RingRecords(2)
	m.RingDrops("ring_full", 3)
	m.RingDrops("ring_full", 4)
	m.DiagPoll(nil, 2*time.Millisecond)
	m.DiagPoll(errors.New("dump failed"), time.Millisecond)
	if got := testutil.ToFloat64(m.records); got != 7 {
		t.Errorf("ring records %v, want 7", got)
	}
	want := "# HELP mptcp_bpf_pm_ring_drops_total Statistics records the BPF programs lost, by reason.\n" +
		"# TYPE mptcp_bpf_pm_ring_drops_total counter\nmptcp_bpf_pm_ring_drops_total{reason=\"ring_full\"} 4\n"
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want), "mptcp_bpf_pm_ring_drops_total"); err != nil {
		t.Error(err)
	}
	for _, r := range []string{"ok", "error"} {
		if got := testutil.ToFloat64(m.polls.WithLabelValues(r)); got != 1 {
			t.Errorf("diag polls %s %v, want 1", r, got)
		}
	}
}

// TestLint checks names, units and help texts against the Prometheus
// conventions that promlint enforces.
func TestLint(t *testing.T) {
	m := New(Options{Subflows: true})
	m.Observe(fixture(2))
	m.Event("CREATED")
	m.Command("subflow_create", nil)
	m.RingDrops("ring_full", 1)
	m.DiagPoll(nil, time.Millisecond)
	problems, err := testutil.GatherAndLint(m.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

func TestServe(t *testing.T) {
	m := New(Options{})
	m.SetConnections(4)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.ServeListener(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + Path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\nmptcp_bpf_pm_connections 4\n") {
		t.Errorf("scrape lacks mptcp_bpf_pm_connections 4:\n%.500s", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ServeListener after cancel: %v", err)
	}
}
