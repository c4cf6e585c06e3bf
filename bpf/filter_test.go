package bpf

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

func TestOtherNetNSIgnored(t *testing.T) {
	lab := newKernelLab(t)
	// The test process's own namespace: the lab's traffic is elsewhere.
	tr := loadTracer(t, Options{})
	col := collect(t, tr)

	c := dial(t, lab, listen(t, lab, 5201))
	send(t, c, 2<<20)
	c.Close()
	for _, r := range col.stop(t) {
		if lab.Paths[0].ClientAddr == r.Src.Addr() || lab.Paths[1].ClientAddr == r.Src.Addr() {
			t.Errorf("record from the lab's client namespace: %v->%v", r.Src, r.Dst)
		}
	}
}

func TestPlainTCPNeedsAllTCP(t *testing.T) {
	modes(t, testPlainTCPNeedsAllTCP)
}

func testPlainTCPNeedsAllTCP(t *testing.T, mode string) {
	lab := newKernelLab(t)
	ino := nsInode(t, lab.Client)
	mptcpOnly := loadTracer(t, Options{Mode: mode, NetNSInode: ino})
	allTCP := loadTracer(t, Options{Mode: mode, NetNSInode: ino, AllTCP: true})
	colMPTCP, colAll := collect(t, mptcpOnly), collect(t, allTCP)

	addr := listen(t, lab, 5202)
	var c net.Conn
	err := lab.Client.Do(func() error {
		var err error
		c, err = net.Dial("tcp", addr.String()) // plain TCP
		return err
	})
	if err != nil {
		t.Fatalf("dial %v: %v", addr, err)
	}
	send(t, c, 2<<20)
	c.Close()
	time.Sleep(200 * time.Millisecond)

	if n := len(colMPTCP.stop(t)); n != 0 {
		t.Errorf("MPTCP-only tracer sent %d records for a plain TCP connection", n)
	}
	all := colAll.stop(t)
	if len(all) == 0 {
		t.Fatal("AllTCP tracer sent no record for a plain TCP connection")
	}
	for _, r := range all {
		if r.Token != 0 || r.LocalID != -1 {
			t.Errorf("plain TCP record with token %#x, local id %d; want 0 and -1", r.Token, r.LocalID)
		}
	}
}

func TestTokenFilter(t *testing.T) {
	lab := newKernelLab(t)
	tr := loadTracer(t, Options{NetNSInode: nsInode(t, lab.Client), TokenFilter: true})
	col := collect(t, tr)
	addr := listen(t, lab, 5203)

	ignored := dial(t, lab, addr)
	defer ignored.Close()
	watched := dial(t, lab, addr)
	defer watched.Close()
	send(t, ignored, 1<<20)
	send(t, watched, 1<<20)
	token := tokenOf(t, lab, watched)
	if err := tr.AddToken(token); err != nil {
		t.Fatal(err)
	}
	send(t, ignored, 2<<20)
	send(t, watched, 2<<20)
	records := col.stop(t)

	if len(records) == 0 {
		t.Fatalf("no record for the added token %#x", token)
	}
	for _, r := range records {
		if r.Token != token {
			t.Errorf("record for token %#x, only %#x was added", r.Token, token)
		}
	}
	if err := tr.RemoveToken(token); err != nil {
		t.Error(err)
	}
}

// tokenOf returns the MPTCP token of the client end of c, found through
// its local port in ss.
func tokenOf(t *testing.T, lab *nstest.Lab, c net.Conn) uint32 {
	t.Helper()
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	for _, s := range ssSubflows(t, lab.Client) {
		if s.local == local {
			return s.token
		}
	}
	t.Fatalf("no subflow from %v in ss", local)
	return 0
}

func TestRunStopsOnContext(t *testing.T) {
	tr := loadTracer(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := tr.Run(ctx, func(*Record) {}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(start); d > 50*time.Millisecond+4*DefaultDrainInterval {
		t.Errorf("Run returned %v after the context ended", d-50*time.Millisecond)
	}
}

func TestRunStopsOnClose(t *testing.T) {
	tr := loadTracer(t, Options{})
	done := make(chan error, 1)
	go func() { done <- tr.Run(context.Background(), func(*Record) {}) }()
	time.Sleep(30 * time.Millisecond)
	if err := tr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after Close: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Run still running 1s after Close")
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
