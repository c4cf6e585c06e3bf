package shape_test

import (
	"encoding/json"
	"errors"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/tools/shape"
)

// newLab returns a one-path lab and the client's interface on it.
func newLab(t *testing.T, ipv6 bool) (*nstest.Lab, string) {
	t.Helper()
	for _, tool := range []string{"tc", "nft", "ss"} {
		_, err := exec.LookPath(tool)
		nstest.Require(t, err == nil, "needs the %s command", tool)
	}
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 1, IPv6: ipv6})
	return lab, lab.Paths[0].ClientIf
}

// checkRate measures the flow with the rate set by set and compares it
// with 40 Mbit/s.
func checkRate(t *testing.T, set func(ns, ifname, rate string) error) {
	lab, ifname := newLab(t, false)
	f := startFlow(t, lab, 5301)

	base := f.mbps(time.Second)
	if base < 80 {
		t.Fatalf("unshaped goodput %.1f Mbit/s is too low to show "+
			"a 40 Mbit/s limit", base)
	}
	if err := set(lab.Client.Name, ifname, "40mbit"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the queue settle
	got := f.mbps(2 * time.Second)
	t.Logf("unshaped %.1f Mbit/s, shaped to 40mbit: %.1f Mbit/s",
		base, got)
	// Goodput excludes headers, so it lands a few percent below rate.
	if got < 32 || got > 41 {
		t.Errorf("goodput = %.1f Mbit/s, want 32 to 41", got)
	}
}

func TestRateTBF(t *testing.T) {
	checkRate(t, shape.Rate)
}

func TestRateHTB(t *testing.T) {
	checkRate(t, shape.RateHTB)
}

func rootQdisc(t *testing.T, lab *nstest.Lab, ifname string) string {
	return lab.Client.Run(t, "tc", "qdisc", "show", "dev", ifname, "root")
}

func TestClearRate(t *testing.T) {
	lab, ifname := newLab(t, false)
	if err := shape.Rate(lab.Client.Name, ifname, "10mbit"); err != nil {
		t.Fatal(err)
	}
	if q := rootQdisc(t, lab, ifname); !strings.Contains(q, "tbf 5a:") {
		t.Fatalf("root qdisc after Rate = %q, want tbf 5a:", q)
	}
	for i := range 2 {
		if err := shape.ClearRate(lab.Client.Name, ifname); err != nil {
			t.Fatalf("ClearRate call %d: %v", i+1, err)
		}
	}
	if q := rootQdisc(t, lab, ifname); strings.Contains(q, "5a:") {
		t.Errorf("root qdisc after ClearRate = %q, want default", q)
	}
}

func TestClearRateForeign(t *testing.T) {
	lab, ifname := newLab(t, false)
	lab.Client.Run(t, "tc", "qdisc", "add", "dev", ifname, "root",
		"handle", "77:", "tbf", "rate", "1mbit", "burst", "10k",
		"latency", "10ms")
	if err := shape.ClearRate(lab.Client.Name, ifname); err != nil {
		t.Fatal(err)
	}
	if q := rootQdisc(t, lab, ifname); !strings.Contains(q, "77:") {
		t.Errorf("root qdisc = %q, want the foreign 77: kept", q)
	}
}

// loOtherhost returns how many frames lo discarded because their
// destination MAC address was another host's.
func loOtherhost(t *testing.T, ns *nstest.NS) uint64 {
	t.Helper()
	var links []struct {
		Stats struct {
			RX struct {
				Otherhost uint64 `json:"otherhost"`
			} `json:"rx"`
		} `json:"stats64"`
	}
	out := ns.Run(t, "ip", "-j", "-s", "-s", "link", "show", "lo")
	if err := json.Unmarshal([]byte(out), &links); err != nil ||
		len(links) != 1 {
		t.Fatalf("decode ip -j link show lo %q: %v", out, err)
	}
	return links[0].Stats.RX.Otherhost
}

var retransRE = regexp.MustCompile(`\bretrans:\d+/(\d+)`)

// totalRetrans sums the retransmission totals that ss -ti shows for the
// TCP sockets (MPTCP subflows) in ns.
func totalRetrans(t *testing.T, ns *nstest.NS) int {
	t.Helper()
	out := ns.Run(t, "ss", "-Htin", "state", "established")
	total := 0
	for _, m := range retransRE.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		total += n
	}
	return total
}

func TestLoss(t *testing.T) {
	lab, ifname := newLab(t, false)
	startFlow(t, lab, 5302)
	if err := shape.Loss(lab.Client.Name, ifname, 5); err != nil {
		t.Fatal(err)
	}
	// At least 1000 packets keep the share within 2 and 8 percent with
	// a probability above 99.99% (binomial, 4.3 standard deviations).
	var d shape.Drops
	deadline := time.Now().Add(10 * time.Second)
	for d.LossSeen.Packets < 1000 && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		var err error
		if d, err = shape.ReadDrops(lab.Client.Name, ifname); err != nil {
			t.Fatal(err)
		}
	}
	if d.LossDropped.Packets == 0 {
		t.Fatalf("loss counter = 0 (%+v)", d)
	}
	share := float64(d.LossDropped.Packets) / float64(d.LossSeen.Packets)
	t.Logf("dropped %d of %d packets (%.2f%%)", d.LossDropped.Packets,
		d.LossSeen.Packets, share*100)
	if share < 0.02 || share > 0.08 {
		t.Errorf("dropped share = %.3f, want about 0.05", share)
	}
	if n := totalRetrans(t, lab.Client); n == 0 {
		t.Errorf("ss -ti shows no retransmissions under 5%% loss:\n%s",
			lab.Client.Run(t, "ss", "-Htin"))
	}
	if n := loOtherhost(t, lab.Client); n < d.LossDropped.Packets {
		t.Errorf("lo discarded %d packets as otherhost, want >= %d",
			n, d.LossDropped.Packets)
	}

	if err := shape.ClearLoss(lab.Client.Name, ifname); err != nil {
		t.Fatal(err)
	}
	tables := lab.Client.Run(t, "nft", "list", "tables")
	if strings.Contains(tables, "shape_loss_") {
		t.Errorf("tables after ClearLoss = %q, want none", tables)
	}
}

func TestLossOutsideHost(t *testing.T) {
	lab, ifname := newLab(t, false)
	if err := shape.Loss(lab.Client.Name, ifname, 1); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("nft", "list", "tables").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "shape_loss_"+ifname) {
		t.Errorf("host namespace has the loss table: %q", out)
	}
}

func TestLossInvalid(t *testing.T) {
	for _, p := range []float64{-1, 100.5, math.NaN()} {
		if err := shape.Loss("ns", "eth0", p); err == nil {
			t.Errorf("Loss(%v) = nil error, want error", p)
		}
	}
}

func TestBlackhole(t *testing.T) {
	lab, ifname := newLab(t, false)
	checkBlackhole(t, lab, ifname)
}

func TestBlackholeIPv6(t *testing.T) {
	lab, ifname := newLab(t, true)
	checkBlackhole(t, lab, ifname)
}

// checkBlackhole expects a flow on path 0 to stop under Blackhole, with
// TCP retransmitting, and to resume after Restore.
func checkBlackhole(t *testing.T, lab *nstest.Lab, ifname string) {
	f := startFlow(t, lab, 5303)
	if got := f.mbps(time.Second); got == 0 {
		t.Fatal("flow carries no traffic before Blackhole")
	}

	if err := shape.Blackhole(lab.Client.Name, ifname); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // packets already on the wire
	if got := f.mbps(time.Second); got != 0 {
		t.Errorf("goodput under blackhole = %.3f Mbit/s, want 0", got)
	}
	d, err := shape.ReadDrops(lab.Client.Name, ifname)
	if err != nil {
		t.Fatal(err)
	}
	if d.BlackholeOut.Packets == 0 {
		t.Errorf("blackhole egress counter = 0, want drops")
	}
	// TCP must see lost packets, not local send errors: it retransmits.
	if n := totalRetrans(t, lab.Client); n == 0 {
		t.Errorf("ss -ti shows no retransmissions under blackhole:\n%s",
			lab.Client.Run(t, "ss", "-Htin"))
	}

	if err := shape.Restore(lab.Client.Name, ifname); err != nil {
		t.Fatal(err)
	}
	// The next retransmission after exponential backoff may take a
	// few seconds.
	before := f.received.Load()
	deadline := time.Now().Add(6 * time.Second)
	for f.received.Load() == before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if f.received.Load() == before {
		t.Error("no traffic within 6s after Restore")
	}
	t.Logf("traffic resumed %v after Restore",
		6*time.Second-time.Until(deadline))
}

func TestRestoreTwice(t *testing.T) {
	lab, ifname := newLab(t, false)
	for i := range 2 {
		if err := shape.Restore(lab.Client.Name, ifname); err != nil {
			t.Errorf("Restore call %d: %v", i+1, err)
		}
	}
}

func TestDelay(t *testing.T) {
	lab, ifname := newLab(t, false)
	caps, err := shape.Capabilities()
	if err != nil {
		t.Fatal(err)
	}
	err = shape.Delay(lab.Client.Name, ifname, 20*time.Millisecond)
	if caps.Delay.Supported {
		if err != nil {
			t.Fatalf("Delay with netem available: %v", err)
		}
		checkDelay(t, lab, ifname)
		return
	}
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Delay without netem = %v, want ErrUnsupported", err)
	}
	if !strings.Contains(err.Error(), "netem") {
		t.Errorf("error %q does not name netem", err)
	}
	if q := rootQdisc(t, lab, ifname); strings.Contains(q, "5b:") {
		t.Errorf("failed Delay left qdisc %q", q)
	}
}

// checkDelay expects the 20 ms delay in the TCP handshake time, and
// expects it gone after ClearDelay.
func checkDelay(t *testing.T, lab *nstest.Lab, ifname string) {
	if d := connectTime(t, lab, 5304); d < 20*time.Millisecond {
		t.Errorf("handshake under 20ms delay took %v", d)
	}
	if err := shape.ClearDelay(lab.Client.Name, ifname); err != nil {
		t.Fatal(err)
	}
	if d := connectTime(t, lab, 5305); d >= 20*time.Millisecond {
		t.Errorf("handshake after ClearDelay took %v", d)
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct{ ns, ifname string }{
		{"", "eth0"}, {"lab", ""}, {"lab", "eth 0"},
		{"lab", "a-name-over-15-bytes"}, {"../x", "eth0"},
	} {
		if err := shape.Blackhole(c.ns, c.ifname); err == nil {
			t.Errorf("Blackhole(%q, %q) = nil error, want error",
				c.ns, c.ifname)
		}
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]uint64{
		"100mbit": 100e6, "1Gbit": 1e9, "512kbit": 512e3,
		"1.5mbit": 1.5e6, "800bit": 800, "1mbps": 8e6,
	} {
		got, err := shape.ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err,
				want)
		}
	}
	for _, in := range []string{"", "100", "mbit", "1e6bit", "-1mbit",
		"1bit", "10 mbit"} {
		if _, err := shape.ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) = nil error, want error", in)
		}
	}
}

func TestClearAll(t *testing.T) {
	lab, ifname := newLab(t, false)
	ns := lab.Client.Name
	if err := shape.Rate(ns, ifname, "10mbit"); err != nil {
		t.Fatal(err)
	}
	if err := shape.Loss(ns, ifname, 1); err != nil {
		t.Fatal(err)
	}
	if err := shape.Blackhole(ns, ifname); err != nil {
		t.Fatal(err)
	}

	if err := shape.ClearAll(ns, ifname); err != nil {
		t.Fatal(err)
	}
	if q := rootQdisc(t, lab, ifname); strings.Contains(q, "5a:") {
		t.Errorf("root qdisc after ClearAll = %q, want default", q)
	}
	if tables := lab.Client.Run(t, "nft", "list", "tables"); tables != "" {
		t.Errorf("tables after ClearAll = %q, want none", tables)
	}
}

func TestLossBounds(t *testing.T) {
	lab, ifname := newLab(t, false)
	for _, p := range []float64{0, 0.01, 100} {
		if err := shape.Loss(lab.Client.Name, ifname, p); err != nil {
			t.Errorf("Loss(%v): %v", p, err)
		}
	}
	out := lab.Client.Run(t, "nft", "list", "table", "netdev",
		"shape_loss_"+ifname)
	if strings.Contains(out, "numgen") {
		t.Errorf("rules after Loss(100) = %q, want no random match", out)
	}
}

func TestRateChange(t *testing.T) {
	lab, ifname := newLab(t, false)
	for _, rate := range []string{"10mbit", "20mbit"} {
		if err := shape.Rate(lab.Client.Name, ifname, rate); err != nil {
			t.Fatal(err)
		}
	}
	if q := rootQdisc(t, lab, ifname); !strings.Contains(q, "20Mbit") {
		t.Errorf("root qdisc = %q, want rate 20Mbit", q)
	}
}

func TestMissingInterface(t *testing.T) {
	lab, _ := newLab(t, false)
	ns, ifname := lab.Client.Name, "nope0"
	for name, err := range map[string]error{
		"Rate":      shape.Rate(ns, ifname, "1mbit"),
		"ClearRate": shape.ClearRate(ns, ifname),
		"Loss":      shape.Loss(ns, ifname, 1),
		"Blackhole": shape.Blackhole(ns, ifname),
		"Delay":     shape.Delay(ns, ifname, time.Millisecond),
	} {
		if err == nil || !strings.Contains(err.Error(), ifname) {
			t.Errorf("%s on a missing interface: %v, want an error "+
				"naming %s", name, err, ifname)
		}
	}
}
