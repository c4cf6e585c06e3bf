package pm_test

import (
	"errors"
	"net"
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

	// Drain what is queued, then check that reading goes on.
	probeListener(t, ns)
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs, err := ec.Receive()
		if err != nil && !errors.Is(err, pm.ErrEventsLost) {
			t.Fatalf("receive after loss: %v", err)
		}
		if len(evs) > 0 && evs[len(evs)-1].Type == pm.EventListenerClosed &&
			time.Now().After(deadline.Add(-4900*time.Millisecond)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event after the loss")
		}
	}
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
