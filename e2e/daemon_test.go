package e2e

import (
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// TestFullMeshSubflowsAndBPFRecords runs the daemon in the client
// namespace of a two-path lab and checks, through inet_diag, that it
// opened the second subflow, and through its recorded BPF stream, that
// every subflow of the connection produced records and no socket of the
// server namespace did.
func TestFullMeshSubflowsAndBPFRecords(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		name := "IPv4"
		if v6 {
			name = "IPv6"
		}
		t.Run(name, func(t *testing.T) { testFullMesh(t, v6) })
	}
}

func testFullMesh(t *testing.T, v6 bool) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2, IPv6: v6})
	record := filepath.Join(t.TempDir(), "run")
	d := startDaemon(t, lab.Client, "run", "--record", record, "--diag-interval", "200ms")

	mptcpServer(t, lab.Server, "7100")
	conn := mptcpDial(t, lab.Client, netip.AddrPortFrom(lab.Paths[0].ServerAddr, 7100).String())
	if err := sendFor(conn, 1500*time.Millisecond); err != nil {
		t.Fatalf("send: %v", err)
	}

	var c diag.Connection
	deadline := time.Now().Add(5 * time.Second)
	for {
		conns := diagConnections(t, lab.Client)
		if len(conns) == 1 && len(conns[0].Subflows) == 2 {
			c = conns[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want 1 connection with 2 subflows in the client namespace, got %+v\ndaemon log:\n%s", conns, d.logText())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := sendFor(conn, 1500*time.Millisecond); err != nil {
		t.Fatalf("send: %v", err)
	}

	clientCookies := map[uint64]bool{}
	fromPath1 := false
	for _, sf := range c.Subflows {
		clientCookies[sf.ID.Cookie] = true
		if sf.ID.Src.Addr().Unmap() == lab.Paths[1].ClientAddr {
			fromPath1 = true
			if sf.Subflow == nil || sf.Subflow.LocalID == 0 {
				t.Errorf("extra subflow %s has no nonzero local address id: %+v", sf.ID.Src, sf.Subflow)
			}
		}
	}
	if !fromPath1 {
		t.Errorf("no subflow from the path 1 address %s", lab.Paths[1].ClientAddr)
	}
	serverCookies := map[uint64]bool{}
	for _, sc := range diagConnections(t, lab.Server) {
		for _, sf := range sc.Subflows {
			serverCookies[sf.ID.Cookie] = true
		}
	}
	if len(serverCookies) != 2 {
		t.Errorf("server namespace has %d subflows, want 2", len(serverCookies))
	}

	conn.Close()
	if err := d.stop(t); err != nil {
		t.Fatalf("daemon exit after SIGTERM: %v\n%s", err, d.logText())
	}

	perCookie := map[uint64]int{}
	for _, s := range readStats(t, filepath.Join(record, "stats.jsonl")) {
		if s.Source != "bpf" {
			continue
		}
		perCookie[s.Cookie]++
		if serverCookies[s.Cookie] {
			t.Errorf("BPF record for a server namespace socket: %+v", s)
		}
		if clientCookies[s.Cookie] && s.Token != c.Info.Token {
			t.Errorf("BPF record token %08x, want %08x: %+v", s.Token, c.Info.Token, s)
		}
	}
	for cookie := range clientCookies {
		if perCookie[cookie] == 0 {
			t.Errorf("no BPF record for client subflow cookie %d", cookie)
		}
	}
	if !strings.Contains(d.logText(), "subflow create requested") {
		t.Errorf("daemon log lacks the subflow create step:\n%s", d.logText())
	}
}

// TestRunRejectsKernelPM checks the start-up error in a namespace that
// uses the in-kernel path manager: it must name the sysctl to change.
func TestRunRejectsKernelPM(t *testing.T) {
	ns := nstest.NewNS(t, "mbpt-kpm")
	ns.Sysctl(t, "net.mptcp.pm_type", "0")
	out, err := ns.Command(daemonBin, "run", "--bpf=false").CombinedOutput()
	if err == nil {
		t.Fatalf("daemon started with pm_type=0:\n%s", out)
	}
	if !strings.Contains(string(out), "net.mptcp.pm_type=1") {
		t.Errorf("error does not name the sysctl to set:\n%s", out)
	}
}

// TestRunSetPMType checks that --set-pm-type switches the namespace to the
// userspace path manager.
func TestRunSetPMType(t *testing.T) {
	ns := nstest.NewNS(t, "mbpt-setpm")
	ns.Sysctl(t, "net.mptcp.pm_type", "0")
	d := startDaemon(t, ns, "run", "--bpf=false", "--set-pm-type")
	got := strings.TrimSpace(ns.Run(t, "sysctl", "-n", "net.mptcp.pm_type"))
	if got != "1" {
		t.Errorf("net.mptcp.pm_type = %s after --set-pm-type, want 1", got)
	}
	if err := d.stop(t); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
}

// TestRunRejectsSecondInstance checks that two daemons cannot manage one
// namespace.
func TestRunRejectsSecondInstance(t *testing.T) {
	ns := nstest.NewNS(t, "mbpt-two")
	ns.Sysctl(t, "net.mptcp.pm_type", "1")
	d := startDaemon(t, ns, "run", "--bpf=false")
	out, err := ns.Command(daemonBin, "run", "--bpf=false").CombinedOutput()
	if err == nil {
		t.Fatalf("second daemon started:\n%s", out)
	}
	if !strings.Contains(string(out), "already runs") {
		t.Errorf("second daemon error does not say one already runs:\n%s", out)
	}
	if err := d.stop(t); err != nil {
		t.Errorf("first daemon exit: %v", err)
	}
}

// TestRunInvalidFlags checks that bad flag values exit with status 2 and a
// message naming the value.
func TestRunInvalidFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--policy", "bogus"}, `"bogus"`},
		{[]string{"run", "--log-level", "loud"}, `"loud"`},
		{[]string{"run", "--event-buffer", "10"}, "10"},
		{[]string{"run", "--diag-interval", "-1s"}, "-1s"},
	} {
		out, err := exec.Command(daemonBin, tc.args...).CombinedOutput()
		code := exitCode(err)
		if code == 0 {
			t.Errorf("%v: exit status 0, want non-zero", tc.args)
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: output %q does not contain %q", tc.args, out, tc.want)
		}
	}
}

// TestRunWithoutPrivileges checks that an unprivileged start names the
// missing capability and exits with status 1.
func TestRunWithoutPrivileges(t *testing.T) {
	_, err := exec.LookPath("setpriv")
	nstest.Require(t, err == nil, "needs setpriv from util-linux")
	ns := nstest.NewNS(t, "mbpt-priv")
	ns.Sysctl(t, "net.mptcp.pm_type", "1")
	out, err := ns.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
		daemonBin, "run").CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Errorf("exit status %d, want 1:\n%s", code, out)
	}
	mustContain(t, string(out), "missing CAP_NET_ADMIN", "error")
}

// TestRunMPTCPDisabled checks the error in a namespace with MPTCP off.
func TestRunMPTCPDisabled(t *testing.T) {
	ns := nstest.NewNS(t, "mbpt-nomptcp")
	ns.Sysctl(t, "net.mptcp.enabled", "0")
	out, err := ns.Command(daemonBin, "run", "--bpf=false").CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Errorf("exit status %d, want 1:\n%s", code, out)
	}
	mustContain(t, string(out), "net.mptcp.enabled=1", "error")
}
