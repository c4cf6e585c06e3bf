package pm_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

func TestEventsLost(t *testing.T) {
	ns := nstest.NewNS(t, "pmlost")
	cfg := nsConfig(t, ns)
	cfg.ReadBuffer = 4096
	ec, err := pm.ListenEvents(cfg)
	if err != nil {
		t.Fatalf("listen events: %v", err)
	}
	defer ec.Close()

	// Each listener sends two events; a few hundred overflow 4 KiB.
	for range 200 {
		probeListener(t, ns)
	}

	lost := false
	for i := 0; i < 1000 && !lost; i++ {
		_, err := ec.Receive()
		if errors.Is(err, pm.ErrEventsLost) {
			lost = true
		} else if err != nil {
			t.Fatalf("receive: %v", err)
		}
	}
	if !lost {
		t.Fatalf("no ErrEventsLost after overflowing a 4 KiB buffer")
	}

	// The kernel drops every event until the queue is read empty, so
	// drain it first. Then reading goes on: the marker listener's event
	// arrives.
	drain(t, ec)
	marker := listenMarker(t, ns)
	if err := ec.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatalf("set deadline: %v", err)
	}
	for {
		evs, err := ec.Receive()
		if err != nil && !errors.Is(err, pm.ErrEventsLost) {
			t.Fatalf("receive after loss: %v", err)
		}
		for _, e := range evs {
			if e.Type == pm.EventListenerCreated && e.Local.Port() == marker {
				return
			}
		}
	}
}

// drain reads events until none arrives for 200 ms.
func drain(t *testing.T, ec *pm.EventConn) {
	t.Helper()
	for {
		if err := ec.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
			t.Fatalf("set deadline: %v", err)
		}
		_, err := ec.Receive()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
		if err != nil && !errors.Is(err, pm.ErrEventsLost) {
			t.Fatalf("receive: %v", err)
		}
	}
}

// listenMarker opens an MPTCP listener in ns until the test ends and
// returns its port.
func listenMarker(t *testing.T, ns *nstest.NS) uint16 {
	t.Helper()
	var ln net.Listener
	err := ns.Do(func() (err error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		ln, err = lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		return err
	})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	return netip.MustParseAddrPort(ln.Addr().String()).Port()
}

func TestEventsCloseUnblocks(t *testing.T) {
	ns := nstest.NewNS(t, "pmclose")
	ec, err := pm.ListenEvents(nsConfig(t, ns))
	if err != nil {
		t.Fatalf("listen events: %v", err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := ec.Receive()
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := ec.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("receive after close: %v, want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("receive still blocked 2s after close")
	}
}

func TestEventsReadBuffer(t *testing.T) {
	ns := nstest.NewNS(t, "pmbuf")
	ec, err := pm.ListenEvents(nsConfig(t, ns))
	if err != nil {
		t.Fatalf("listen events: %v", err)
	}
	defer ec.Close()
	n, err := ec.ReadBuffer()
	if err != nil {
		t.Fatalf("read buffer: %v", err)
	}
	// The kernel doubles the value it stores.
	if n < pm.DefaultEventBuffer {
		t.Errorf("receive buffer = %d bytes, want at least %d", n, pm.DefaultEventBuffer)
	}
}
