package diag

import (
	"errors"
	"os"
	"testing"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// TestWalkStopDrains stops a walk at its first socket and checks that the
// rest of the dump is drained, so the next request gets its own replies.
func TestWalkStopDrains(t *testing.T) {
	ns := nstest.NewNS(t, "diagdrain")
	for i := 0; i < 40; i++ {
		loopbackPair(t, ns, 7100+i)
	}
	c := dialNS(t, ns)
	datagrams := 0
	c.capture = func([]byte) { datagrams++ }

	errStop := errors.New("stop")
	calls := 0
	err := c.WalkTCP(Request{}, func(*TCPSocket) error {
		calls++
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("WalkTCP error %v, want the callback's error", err)
	}
	if calls != 1 {
		t.Errorf("callback ran %d times after returning an error, want 1", calls)
	}
	if datagrams < 2 {
		t.Fatalf("dump fit in %d datagram, the test needs more", datagrams)
	}

	socks, err := c.DumpTCP(Request{})
	if err != nil {
		t.Fatalf("DumpTCP after a stopped walk: %v", err)
	}
	if len(socks) != 80 {
		t.Errorf("DumpTCP after a stopped walk returned %d sockets, want 80", len(socks))
	}
}

func TestClosedConn(t *testing.T) {
	c := dialNS(t, nstest.NewNS(t, "diagclose"))
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.DumpTCP(Request{}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("DumpTCP on a closed Conn: %v, want os.ErrClosed", err)
	}
}

func TestDialBadNetNS(t *testing.T) {
	nstest.RequireRoot(t)
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if c, err := Dial(&Config{NetNS: int(f.Fd())}); err == nil {
		c.Close()
		t.Error("Dial with /dev/null as namespace succeeded")
	}
}

func TestInvalidFamily(t *testing.T) {
	c := dialNS(t, nstest.NewNS(t, "diagfam"))
	if _, err := c.DumpTCP(Request{Family: 99}); err == nil {
		t.Error("DumpTCP with family 99 succeeded")
	}
}
