package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

func TestPolicyNDiffPorts(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	d, _ := labDaemon(t, lab.Client, "--policy", "ndiffports", "--ndiffports", "3")
	mptcpServer(t, lab.Server, "7101")
	mptcpDial(t, lab.Client, serverAddr(lab, 7101))

	src := lab.Paths[0].ClientAddr
	waitFor(t, 5*time.Second, "3 subflows from the initial address", d, func() bool {
		return countFrom(liveSubflows(t, lab.Client), src) == 3
	})
	time.Sleep(500 * time.Millisecond)
	sfs := liveSubflows(t, lab.Client)
	if len(sfs) != 3 {
		t.Errorf("got %d subflows, want 3", len(sfs))
	}
	if n := countFrom(sfs, lab.Paths[1].ClientAddr); n != 0 {
		t.Errorf("%d subflows from the path 1 address, want 0 under ndiffports", n)
	}
}

func TestPolicyBackupInterface(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	d, _ := labDaemon(t, lab.Client, "--policy", "backup", "--backup-if", lab.Paths[1].ClientIf)
	mptcpServer(t, lab.Server, "7102")
	mptcpDial(t, lab.Client, serverAddr(lab, 7102))

	waitFor(t, 5*time.Second, "a subflow from the backup interface", d, func() bool {
		return countFrom(liveSubflows(t, lab.Client), lab.Paths[1].ClientAddr) == 1
	})
	for _, s := range liveSubflows(t, lab.Client) {
		isBackupPath := s.ID.Src.Addr().Unmap() == lab.Paths[1].ClientAddr
		if s.Subflow == nil {
			t.Fatalf("subflow %s has no MPTCP info", s.ID.Src)
		}
		if got := s.Subflow.Backup(); got != isBackupPath {
			t.Errorf("subflow %s backup = %v, want %v", s.ID.Src, got, isBackupPath)
		}
	}
}

func TestAddressAddedAndRemoved(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	d, _ := labDaemon(t, lab.Client)
	mptcpServer(t, lab.Server, "7103")
	mptcpDial(t, lab.Client, serverAddr(lab, 7103))
	waitFor(t, 5*time.Second, "2 subflows", d, func() bool { return len(liveSubflows(t, lab.Client)) == 2 })

	extra := "10.200.1.11"
	lab.Client.Run(t, "ip", "rule", "add", "from", extra, "table", "101")
	lab.Client.Run(t, "ip", "addr", "add", extra+"/24", "dev", lab.Paths[1].ClientIf)
	waitFor(t, 5*time.Second, "a subflow from the added address", d, func() bool {
		return countFromString(liveSubflows(t, lab.Client), extra) == 1
	})

	lab.Client.Run(t, "ip", "addr", "del", extra+"/24", "dev", lab.Paths[1].ClientIf)
	waitFor(t, 5*time.Second, "the subflow of the removed address to close", d, func() bool {
		return countFromString(liveSubflows(t, lab.Client), extra) == 0
	})
	mustContain(t, d.logText(), "local address removed", "daemon log")
	if n := len(liveSubflows(t, lab.Client)); n != 2 {
		t.Errorf("%d subflows after the removal, want 2", n)
	}
}

func TestCarrierLossAndReturn(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	d, _ := labDaemon(t, lab.Client)
	mptcpServer(t, lab.Server, "7104")
	conn := mptcpDial(t, lab.Client, serverAddr(lab, 7104))
	s := startSender(conn)
	defer s.halt(t)
	path1 := lab.Paths[1].ClientAddr
	waitFor(t, 5*time.Second, "2 subflows", d, func() bool { return len(liveSubflows(t, lab.Client)) == 2 })

	// The peer end going down removes the carrier of the client end
	// only: its address, routes and subflow stay.
	lab.Server.Run(t, "ip", "link", "set", lab.Paths[1].ServerIf, "down")
	waitFor(t, 5*time.Second, "the subflow on the link without carrier to close", d, func() bool {
		return countFrom(liveSubflows(t, lab.Client), path1) == 0
	})
	if out := lab.Client.Run(t, "ip", "-br", "addr", "show", "dev", lab.Paths[1].ClientIf); !strings.Contains(out, path1.String()) {
		t.Errorf("address %s disappeared with the carrier: %s", path1, out)
	}

	lab.Server.Run(t, "ip", "link", "set", lab.Paths[1].ServerIf, "up")
	waitFor(t, 10*time.Second, "the subflow to return with the carrier", d, func() bool {
		return countFrom(liveSubflows(t, lab.Client), path1) == 1
	})
	mustContain(t, d.logText(), "link down", "daemon log")
}

func TestServerAnnounceAndWithdraw(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2, ClientPM: "kernel"})
	lab.Server.Sysctl(t, "net.mptcp.pm_type", "1")
	d, _ := labDaemon(t, lab.Server, "--announce")
	mptcpServer(t, lab.Server, "7105")
	mptcpDial(t, lab.Client, serverAddr(lab, 7105))

	announced := lab.Paths[1].ServerAddr
	waitFor(t, 5*time.Second, "the client's subflow to the announced address", d, func() bool {
		return countTo(liveSubflows(t, lab.Client), announced) == 1
	})
	mustContain(t, d.logText(), "address announced", "daemon log")

	lab.Server.Run(t, "ip", "addr", "del", announced.String()+"/24", "dev", lab.Paths[1].ServerIf)
	waitFor(t, 5*time.Second, "the client's subflow to the withdrawn address to close", d, func() bool {
		return countTo(liveSubflows(t, lab.Client), announced) == 0
	})
	mustContain(t, d.logText(), "address announcement withdrawn", "daemon log")
}

func TestAdaptiveLossyPathGoesBackup(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	d, record := labDaemon(t, lab.Client, "--policy", "adaptive")
	mptcpServer(t, lab.Server, "7106")
	conn := mptcpDial(t, lab.Client, serverAddr(lab, 7106))
	s := startSender(conn)
	defer s.halt(t)
	path1 := lab.Paths[1].ClientAddr
	waitFor(t, 5*time.Second, "2 subflows", d, func() bool { return len(liveSubflows(t, lab.Client)) == 2 })

	// Drop in transit, at the server's input: a drop in the sender's own
	// output path is local congestion to TCP, not loss.
	nft(t, lab.Server,
		"add table inet lossy",
		"add chain inet lossy in { type filter hook input priority 0 ; }",
		"add rule inet lossy in iifname "+lab.Paths[1].ServerIf+" numgen random mod 100 < 10 drop")
	waitFor(t, 10*time.Second, "the lossy subflow to turn backup", d, func() bool {
		for _, sf := range liveSubflows(t, lab.Client) {
			if sf.ID.Src.Addr().Unmap() == path1 && sf.Subflow != nil && sf.Subflow.Backup() {
				return true
			}
		}
		return false
	})
	acked := func() (lossy, clean uint64) {
		for _, sf := range liveSubflows(t, lab.Client) {
			if sf.ID.Src.Addr().Unmap() == path1 {
				lossy = sf.Info.BytesAcked
			} else {
				clean = sf.Info.BytesAcked
			}
		}
		return
	}
	// Data already queued on the subflow drains first.
	time.Sleep(time.Second)
	l0, c0 := acked()
	time.Sleep(2 * time.Second)
	l1, c1 := acked()
	if c1-c0 == 0 {
		t.Fatal("the clean subflow carried nothing after the switch")
	}
	if share := float64(l1-l0) / float64(c1-c0+l1-l0); share > 0.1 {
		t.Errorf("the backup subflow carried %.0f%% of the traffic after the switch, want under 10%%", 100*share)
	}
	events, err := os.ReadFile(filepath.Join(record, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, string(events), `"type":"set_backup"`, "events.jsonl")
}

func TestRestartAdoptsWithoutDuplicates(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	d, _ := labDaemon(t, lab.Client)
	mptcpServer(t, lab.Server, "7107")
	conn := mptcpDial(t, lab.Client, serverAddr(lab, 7107))
	s := startSender(conn)
	defer s.halt(t)
	waitFor(t, 5*time.Second, "2 subflows", d, func() bool { return len(liveSubflows(t, lab.Client)) == 2 })
	if err := d.stop(t); err != nil {
		t.Fatalf("daemon exit: %v", err)
	}
	if n := len(liveSubflows(t, lab.Client)); n != 2 {
		t.Fatalf("%d subflows after the daemon stopped, want the connection left as it was (2)", n)
	}

	d2, _ := labDaemon(t, lab.Client)
	time.Sleep(1500 * time.Millisecond)
	mustContain(t, d2.logText(), "adopted existing connection", "second daemon log")
	if n := len(liveSubflows(t, lab.Client)); n != 2 {
		t.Errorf("%d subflows after the restart, want 2 (no duplicates)", n)
	}
	if strings.Contains(d2.logText(), "subflow create requested") {
		t.Errorf("restarted daemon created subflows for an adopted connection:\n%s", d2.logText())
	}
}

func TestFilterExcludesConnection(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	filter := filepath.Join(t.TempDir(), "filter.json")
	if err := os.WriteFile(filter, []byte(`[{"remote_port": 7199}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	d, _ := labDaemon(t, lab.Client, "--filter", filter)
	mptcpServer(t, lab.Server, "7108")
	mptcpServer(t, lab.Server, "7199")
	mptcpDial(t, lab.Client, serverAddr(lab, 7108))
	time.Sleep(1500 * time.Millisecond)
	if n := len(liveSubflows(t, lab.Client)); n != 1 {
		t.Errorf("excluded connection has %d subflows, want 1", n)
	}
	mustContain(t, d.logText(), "excluded by the filter", "daemon log")

	c := mptcpDial(t, lab.Client, serverAddr(lab, 7199))
	waitFor(t, 5*time.Second, "subflows on the matching connection", d, func() bool {
		total := 0
		for _, conn := range diagConnections(t, lab.Client) {
			total += len(conn.Subflows)
		}
		return total == 3
	})
	c.Close()
}

func TestFilterFileInvalid(t *testing.T) {
	ns := nstest.NewNS(t, "mbpt-filt")
	ns.Sysctl(t, "net.mptcp.pm_type", "1")
	filter := filepath.Join(t.TempDir(), "filter.json")
	if err := os.WriteFile(filter, []byte("[\n  {\"remote_port\": 80},\n  {\"port\": 1}\n]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := ns.Command(daemonBin, "run", "--bpf=false", "--filter", filter).CombinedOutput()
	if err == nil {
		t.Fatalf("daemon started with an invalid filter:\n%s", out)
	}
	mustContain(t, string(out), filter+":3:", "error")
	mustContain(t, string(out), `unknown field "port"`, "error")
}

func TestKernelModeEndpoints(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2, ClientPM: "kernel"})
	d, _ := labDaemon(t, lab.Client, "--pm", "kernel")
	waitFor(t, 5*time.Second, "endpoints for both client addresses", d, func() bool {
		out := lab.Client.Run(t, "ip", "mptcp", "endpoint", "show")
		return strings.Contains(out, lab.Paths[0].ClientAddr.String()) && strings.Contains(out, lab.Paths[1].ClientAddr.String())
	})
	out := lab.Client.Run(t, "ip", "mptcp", "endpoint", "show")
	mustContain(t, out, "subflow", "endpoint list")

	mptcpServer(t, lab.Server, "7109")
	mptcpDial(t, lab.Client, serverAddr(lab, 7109))
	waitFor(t, 5*time.Second, "the kernel's subflow from the path 1 endpoint", d, func() bool {
		return countFrom(liveSubflows(t, lab.Client), lab.Paths[1].ClientAddr) == 1
	})

	if err := d.stop(t); err != nil {
		t.Fatalf("daemon exit: %v", err)
	}
	if out := strings.TrimSpace(lab.Client.Run(t, "ip", "mptcp", "endpoint", "show")); out != "" {
		t.Errorf("endpoints left after exit:\n%s", out)
	}
}

// TestFallbackWithoutBPF runs the daemon without CAP_BPF: it must log once
// why BPF is unavailable, keep managing subflows and record diag samples.
func TestFallbackWithoutBPF(t *testing.T) {
	_, err := exec.LookPath("capsh")
	nstest.Require(t, err == nil, "needs capsh from libcap2-bin")
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	record := filepath.Join(t.TempDir(), "run")
	d := startDaemon(t, lab.Client, "capsh", "--drop=cap_bpf,cap_sys_admin,cap_perfmon", "--",
		"-c", daemonBin+" run --record "+record+" --poll-interval 100ms")
	mptcpServer(t, lab.Server, "7110")
	conn := mptcpDial(t, lab.Client, serverAddr(lab, 7110))
	s := startSender(conn)
	waitFor(t, 5*time.Second, "2 subflows", d, func() bool { return len(liveSubflows(t, lab.Client)) == 2 })
	time.Sleep(500 * time.Millisecond)
	s.halt(t)
	if err := d.stop(t); err != nil {
		t.Fatalf("daemon exit: %v", err)
	}
	if n := strings.Count(d.logText(), "falling back to inet_diag polling"); n != 1 {
		t.Errorf("fallback logged %d times, want once:\n%s", n, d.logText())
	}
	diagRecords := 0
	for _, st := range readStats(t, filepath.Join(record, "stats.jsonl")) {
		if st.Source == "bpf" {
			t.Fatalf("BPF record without BPF: %+v", st)
		}
		diagRecords++
	}
	if diagRecords < 4 {
		t.Errorf("%d diag records, want at least 4 (two polls of two subflows)", diagRecords)
	}
}
