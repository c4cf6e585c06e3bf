package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/netlab"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// observer listens to the mptcp_pm events of the client namespace and
// stamps each on receipt. It is independent of the system under test.
// While it listens the kernel also accepts joins for userspace-PM
// connections, as with any listener on the events group.
type observer struct {
	events *pm.EventConn
	want   int // extra subflows expected per connection
	done   chan struct{}

	mu      sync.Mutex
	byToken map[uint32]*connTrace
	byPorts map[uint32]*connTrace // by portKey
	lost    int
	failed  int // SUB_CLOSED with an error
	total   int
}

// connTrace is the observer's record of one client connection.
type connTrace struct {
	established time.Time
	subflows    []time.Time   // receipt of each SUB_ESTABLISHED
	full        chan struct{} // closed once want subflows are up
}

func newObserver(ns *netlab.NS, want int) (*observer, error) {
	f, err := os.Open(ns.Path())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ev, err := pm.ListenEvents(&pm.Config{NetNS: int(f.Fd())})
	if err != nil {
		return nil, fmt.Errorf("listen to mptcp_pm events in %s: %w", ns.Name, err)
	}
	o := &observer{
		events:  ev,
		want:    want,
		done:    make(chan struct{}),
		byToken: make(map[uint32]*connTrace),
		byPorts: make(map[uint32]*connTrace),
	}
	go o.read()
	return o, nil
}

func (o *observer) read() {
	defer close(o.done)
	for {
		evs, err := o.events.Receive()
		now := time.Now()
		if errors.Is(err, pm.ErrEventsLost) {
			o.mu.Lock()
			o.lost++
			o.mu.Unlock()
			continue
		}
		if err != nil && len(evs) == 0 {
			return
		}
		o.mu.Lock()
		for i := range evs {
			o.handle(&evs[i], now)
		}
		o.mu.Unlock()
	}
}

// handle updates the traces; the caller holds o.mu.
func (o *observer) handle(ev *pm.Event, now time.Time) {
	o.total++
	switch ev.Type {
	case pm.EventEstablished:
		if ev.Flags&pm.EventFlagServerSide != 0 {
			return
		}
		t := o.trace(portKey(ev.Local.Port(), ev.Remote.Port()))
		t.established = now
		o.byToken[ev.Token] = t
	case pm.EventSubEstablished:
		t := o.byToken[ev.Token]
		if t == nil || t.established.IsZero() {
			return
		}
		t.subflows = append(t.subflows, now)
		if len(t.subflows) == o.want {
			close(t.full)
		}
	case pm.EventSubClosed:
		if ev.Error != 0 {
			o.failed++
		}
	case pm.EventClosed:
		delete(o.byToken, ev.Token)
	}
}

// portKey identifies a client connection of the lab by its local and
// remote ports: the client has one address per path and the servers
// listen on one address, so the ports alone tell connections apart.
func portKey(local, remote uint16) uint32 { return uint32(local)<<16 | uint32(remote) }

// trace returns the trace of the connection with ports key, creating it.
// The caller holds o.mu.
func (o *observer) trace(key uint32) *connTrace {
	t := o.byPorts[key]
	if t == nil {
		t = &connTrace{full: make(chan struct{})}
		if o.want == 0 {
			close(t.full)
		}
		o.byPorts[key] = t
	}
	return t
}

// wait blocks until the connection with ports key has every
// expected subflow, or timeout passes. It returns the receipt times of
// ESTABLISHED (zero if it never came) and of each SUB_ESTABLISHED. It
// then deletes the record, so that a later connection may reuse the ports.
func (o *observer) wait(key uint32, timeout time.Duration) (time.Time, []time.Time) {
	o.mu.Lock()
	t := o.trace(key)
	o.mu.Unlock()
	select {
	case <-t.full:
	case <-time.After(timeout):
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.byPorts, key)
	return t.established, append([]time.Time(nil), t.subflows...)
}

// lostEvents returns the ENOBUFS overflows of the observer's socket.
func (o *observer) lostEvents() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lost
}

// subflowCount returns the SUB_ESTABLISHED events of the connections
// still tracked.
func (o *observer) subflowCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, t := range o.byPorts {
		n += len(t.subflows)
	}
	return n
}

func (o *observer) close() {
	o.events.Close()
	<-o.done
}
