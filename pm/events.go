package pm

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// EventConn receives mptcp_pm events of one network namespace.
type EventConn struct {
	s      *genlSocket
	closed atomic.Bool
}

// ListenEvents joins the "mptcp_pm_events" multicast group, which needs
// CAP_NET_ADMIN (EPERM otherwise). It sets the receive buffer to
// cfg.ReadBuffer, or DefaultEventBuffer, with SO_RCVBUFFORCE, so the
// buffer may exceed net.core.rmem_max. Without CAP_NET_ADMIN it falls
// back to SO_RCVBUF, which the kernel caps at rmem_max.
//
// While any socket of any namespace listens on the group, the kernel
// accepts MP_JOIN and echoes ADD_ADDR for userspace-PM connections.
func ListenEvents(cfg *Config) (*EventConn, error) {
	s, err := dialSocket(cfg)
	if err != nil {
		return nil, err
	}
	e := &EventConn{s: s}
	if err := e.setup(cfg); err != nil {
		_ = s.close()
		return nil, err
	}
	return e, nil
}

func (e *EventConn) setup(cfg *Config) error {
	size := DefaultEventBuffer
	if cfg != nil && cfg.ReadBuffer > 0 {
		size = cfg.ReadBuffer
	}
	if err := setReadBuffer(e.s, size); err != nil {
		return err
	}

	group, err := e.s.group(eventsGroup)
	if err != nil {
		return err
	}
	if err := e.s.genl.JoinGroup(group); err != nil {
		return fmt.Errorf("join multicast group %q: %w (needs "+
			"CAP_NET_ADMIN)", eventsGroup, err)
	}
	return nil
}

// setReadBuffer sets SO_RCVBUFFORCE, or SO_RCVBUF when that is not
// permitted.
func setReadBuffer(s *genlSocket, size int) error {
	var serr error
	err := s.raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET,
			unix.SO_RCVBUFFORCE, size)
		if errors.Is(serr, unix.EPERM) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET,
				unix.SO_RCVBUF, size)
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("set event socket receive buffer to %d bytes: %w",
			size, err)
	}
	return nil
}

// ReadBuffer returns the socket receive buffer in bytes as the kernel
// reports it (twice the requested size, for bookkeeping overhead).
func (e *EventConn) ReadBuffer() (int, error) {
	var n int
	var serr error
	err := e.s.raw.Control(func(fd uintptr) {
		n, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET,
			unix.SO_RCVBUF)
	})
	if err == nil {
		err = serr
	}
	return n, err
}

// Receive blocks until events arrive and returns them. The kernel sends
// one event per datagram. After the kernel dropped events it returns an
// error that matches ErrEventsLost, and the next call reads on. After
// Close it returns an error that matches net.ErrClosed. An event that
// cannot be decoded is left out and reported in the error, together with
// the events that could be decoded. Receive must not be called from two
// goroutines at once.
func (e *EventConn) Receive() ([]Event, error) {
	for {
		msgs, err := e.s.recv()
		if errors.Is(err, unix.ENOBUFS) {
			return nil, ErrEventsLost
		}
		if errors.Is(err, unix.EMSGSIZE) {
			return nil, fmt.Errorf("%w: %w", ErrEventsLost, err)
		}
		if err != nil && e.closed.Load() {
			return nil, fmt.Errorf("receive events: %w", net.ErrClosed)
		}
		if err != nil {
			return nil, fmt.Errorf("receive events: %w", err)
		}

		evs, err := e.decode(msgs)
		if len(evs) > 0 || err != nil {
			return evs, err
		}
	}
}

func (e *EventConn) decode(msgs []netlink.Message) ([]Event, error) {
	var evs []Event
	var errs []error
	for _, m := range msgs {
		if m.Header.Type != netlink.HeaderType(e.s.family.ID) {
			continue
		}
		var g genetlink.Message
		if err := g.UnmarshalBinary(m.Data); err != nil {
			errs = append(errs, fmt.Errorf("decode event: %w", err))
			continue
		}
		ev, err := DecodeEvent(g)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		evs = append(evs, ev)
	}
	return evs, errors.Join(errs...)
}

// SetReadDeadline makes a pending and later Receive return an error
// that matches os.ErrDeadlineExceeded once t has passed. The zero time
// removes the deadline.
func (e *EventConn) SetReadDeadline(t time.Time) error {
	return e.s.nl.SetReadDeadline(t)
}

// Close closes the socket. A Receive blocked in another goroutine
// returns.
func (e *EventConn) Close() error {
	e.closed.Store(true)
	return e.s.close()
}
