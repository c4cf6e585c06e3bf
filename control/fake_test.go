package control

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeHandler records calls and returns canned data.
type fakeHandler struct {
	mu      sync.Mutex
	conns   []Connection
	addrs   []netip.Addr
	options map[string]string
	created []SubflowRequest
	panics  bool
}

func newFake() *fakeHandler {
	return &fakeHandler{
		conns: []Connection{{
			Token:  0x145c5c70,
			Local:  netip.MustParseAddrPort("10.200.1.1:40000"),
			Remote: netip.MustParseAddrPort("10.200.1.2:5201"),
			Subflows: []Subflow{{
				Local:   netip.MustParseAddrPort("10.200.2.1:40001"),
				Remote:  netip.MustParseAddrPort("10.200.1.2:5201"),
				LocalID: 2, State: StateEstablished, SRTTUs: 1200, SndCwnd: 10,
			}},
		}},
		options: map[string]string{"policy": "fullmesh"},
	}
}

func (f *fakeHandler) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Status{PID: 42, Mode: "userspace", Policy: f.options["policy"], Addresses: f.addrs}
}

func (f *fakeHandler) Connections() []Connection {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns
}

func (f *fakeHandler) AddAddress(a netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addrs = append(f.addrs, a)
	return nil
}

func (f *fakeHandler) RemoveAddress(a netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, x := range f.addrs {
		if x == a {
			f.addrs = append(f.addrs[:i], f.addrs[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("address %s is not in use: %w", a, ErrNotFound)
}

func (f *fakeHandler) SetOption(key, value string) error {
	if f.panics {
		panic("boom")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.options[key]; !ok {
		return fmt.Errorf("unknown option %q: %w", key, ErrNotFound)
	}
	f.options[key] = value
	return nil
}

func (f *fakeHandler) CreateSubflow(s SubflowRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = append(f.created, s)
	return nil
}

// serveFake serves h on a socket in a temporary directory until the test
// ends, and returns the socket path.
func serveFake(t *testing.T, h Handler) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return within 5s of cancel")
		}
	})
	return path
}

func dialFake(t *testing.T, h Handler) *Client {
	t.Helper()
	c, err := Dial(serveFake(t, h))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
