package shape_test

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/tools/shape"
)

// txPackets returns the packets the interface has transmitted.
func txPackets(t *testing.T, ns *nstest.NS, ifname string) uint64 {
	t.Helper()
	out := ns.Run(t, "cat", "/sys/class/net/"+ifname+
		"/statistics/tx_packets")
	n, err := strconv.ParseUint(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("tx_packets of %s = %q: %v", ifname, out, err)
	}
	return n
}

// TestBlackholeOnePath cuts path 0 of a connection that also has a
// subflow on path 1: path 0 must go silent while the data moves on
// through path 1.
func TestBlackholeOnePath(t *testing.T) {
	for _, tool := range []string{"tc", "nft"} {
		_, err := exec.LookPath(tool)
		nstest.Require(t, err == nil, "needs the %s command", tool)
	}
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2,
		ClientPM: "kernel"})
	p1 := lab.Paths[1]
	lab.Client.Run(t, "ip", "mptcp", "endpoint", "add",
		p1.ClientAddr.String(), "dev", p1.ClientIf, "subflow")

	f := startFlow(t, lab, 5310)
	waitSubflows(t, lab.Client, 2)

	path0 := lab.Paths[0].ClientIf
	if err := shape.Blackhole(lab.Client.Name, path0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	tx0, tx1 := txPackets(t, lab.Client, path0),
		txPackets(t, lab.Client, p1.ClientIf)
	got := f.mbps(time.Second)
	dtx0 := txPackets(t, lab.Client, path0) - tx0
	dtx1 := txPackets(t, lab.Client, p1.ClientIf) - tx1
	t.Logf("with path 0 cut: %.1f Mbit/s, tx packets path 0 %d, "+
		"path 1 %d", got, dtx0, dtx1)

	if dtx0 != 0 {
		t.Errorf("path 0 sent %d packets under blackhole, want 0", dtx0)
	}
	if dtx1 == 0 {
		t.Errorf("path 1 sent no packets, want the traffic there")
	}
	if got == 0 {
		t.Errorf("goodput = 0 with path 1 still up")
	}
}

// waitSubflows waits until ss shows n established MPTCP subflows.
func waitSubflows(t *testing.T, ns *nstest.NS, n int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		out := ns.Run(t, "ss", "-Htni", "state", "established")
		got := strings.Count(out, "tcp-ulp-mptcp")
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d subflows after 3s, want %d:\n%s", got, n, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
