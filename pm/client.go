package pm

import (
	"fmt"
	"sync"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Config selects where a Client or an EventConn operates.
type Config struct {
	// NetNS is a file descriptor of a network namespace, such as an open
	// /run/netns/NAME. 0 means the namespace of the calling thread.
	NetNS int
	// ReadBuffer is the receive buffer of an EventConn in bytes, set with
	// SO_RCVBUFFORCE (needs CAP_NET_ADMIN) and SO_RCVBUF as fallback.
	// 0 means DefaultEventBuffer. The Client ignores it.
	ReadBuffer int
}

// DefaultEventBuffer is the default receive buffer of an EventConn:
// large enough for bursts of thousands of events while the reader is
// busy, because an overflow loses events.
const DefaultEventBuffer = 8 << 20

// Client sends mptcp_pm commands. It is safe for concurrent use; requests
// are serialised on one netlink socket.
type Client struct {
	mu sync.Mutex
	s  *genlSocket
}

// Dial opens a Client. It resolves the "mptcp_pm" generic netlink family
// by name and enables extended acks, so errors carry the kernel's text.
func Dial(cfg *Config) (*Client, error) {
	s, err := dialSocket(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{s: s}, nil
}

// Close closes the netlink socket.
func (c *Client) Close() error {
	return c.s.close()
}

// request is one mptcp_pm command with its encoded attributes.
type request struct {
	op      string // for errors, such as "subflow create"
	subject string // the values sent, for errors
	cmd     uint8
	dump    bool
	attrs   []byte
}

// message builds the netlink message of r for the family.
func (r *request) message(family uint16) (netlink.Message, error) {
	g := genetlink.Message{
		Header: genetlink.Header{Command: r.cmd, Version: familyVersion},
		Data:   r.attrs,
	}
	data, err := g.MarshalBinary()
	if err != nil {
		return netlink.Message{}, err
	}
	flags := netlink.Request | netlink.Acknowledge
	if r.dump {
		flags = netlink.Request | netlink.Dump
	}
	return netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(family), Flags: flags},
		Data:   data,
	}, nil
}

// error builds the typed error of a rejected request.
func (r *request) error(a ackInfo) *Error {
	e := &Error{
		Op:          r.op,
		Request:     r.subject,
		Errno:       a.errno,
		Message:     a.message,
		Offset:      a.offset,
		MissingAttr: a.missingAttr,
		MissingNest: a.missingNest,
		Policy:      a.policy,
	}
	if a.offset != 0 {
		e.Attr = attrAt(r.attrs, a.offset)
	}
	if a.missingAttr != 0 {
		e.MissingName = missingName(r.attrs, a.missingAttr, a.missingNest)
	}
	return e
}

// do sends r and returns the generic netlink replies: none for an
// acknowledged command, one for a get, all entries for a dump.
func (c *Client) do(r *request) ([]genetlink.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	m, err := r.message(c.s.family.ID)
	if err != nil {
		return nil, fmt.Errorf("%s: encode request: %w", r.op, err)
	}
	sent, err := c.s.nl.Send(m)
	if err != nil {
		return nil, fmt.Errorf("%s: send request: %w", r.op, err)
	}

	var replies []genetlink.Message
	for {
		msgs, err := c.s.recv()
		if err != nil {
			return nil, fmt.Errorf("%s: receive reply: %w", r.op, err)
		}
		for _, m := range msgs {
			if m.Header.Sequence != sent.Header.Sequence {
				continue // left over from an abandoned request
			}
			end, err := c.handle(r, m, &replies)
			if end || err != nil {
				return replies, err
			}
		}
	}
}

// handle processes one reply message of r. It reports whether the
// request is complete: an ack, an error or the end of a dump.
func (c *Client) handle(r *request, m netlink.Message,
	replies *[]genetlink.Message) (bool, error) {
	switch m.Header.Type {
	case netlink.Error, netlink.Done:
		a, err := parseAck(m.Data, uint16(m.Header.Flags),
			m.Header.Type == netlink.Done)
		if err != nil {
			return true, fmt.Errorf("%s: %w", r.op, err)
		}
		if a.errno != 0 {
			return true, r.error(a)
		}
		return true, nil
	case netlink.Overrun, netlink.Noop:
		return false, nil
	}

	var g genetlink.Message
	if err := g.UnmarshalBinary(m.Data); err != nil {
		return true, fmt.Errorf("%s: decode reply: %w", r.op, err)
	}
	// The message aliases the receive buffer, which the next read
	// overwrites.
	g.Data = append([]byte(nil), g.Data...)
	*replies = append(*replies, g)
	if m.Header.Flags&netlink.Multi == 0 && r.dump {
		return true, nil
	}
	return false, nil
}

// errShortReply is wrapped when a get command returns no message.
var errShortReply = fmt.Errorf("kernel sent no reply message: %w",
	unix.EPROTO)
