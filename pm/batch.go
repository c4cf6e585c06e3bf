package pm

import (
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// SubflowRequest is one SubflowCreate call of a batch.
type SubflowRequest struct {
	Token  uint32
	Local  Local
	Remote netip.AddrPort
}

// batchWindow is the number of requests sent in one datagram before their
// acks are read. The acks of one window (about 100 bytes each with the
// error text) stay far below the default socket receive buffer, so none
// is dropped.
const batchWindow = 64

// SubflowCreateBatch sends every request without waiting for the acks in
// between, then collects the acks: errs[i] belongs to reqs[i] and is nil
// when the kernel accepted it. The kernel handles the requests one by
// one in order, so a failed request does not stop the next ones. See
// SubflowCreate for the meaning of each field.
func (c *Client) SubflowCreateBatch(reqs []SubflowRequest) []error {
	errs := make([]error, len(reqs))
	for start := 0; start < len(reqs); start += batchWindow {
		end := min(start+batchWindow, len(reqs))
		c.subflowWindow(reqs[start:end], errs[start:end])
	}
	return errs
}

// subflowWindow sends reqs in one datagram and fills errs from the acks.
func (c *Client) subflowWindow(reqs []SubflowRequest, errs []error) {
	rs := make([]*request, len(reqs))
	msgs := make([]netlink.Message, 0, len(reqs))
	index := make([]int, 0, len(reqs)) // msgs[k] belongs to reqs[index[k]]
	for i, sr := range reqs {
		r, err := subflowCreateRequest(sr.Token, sr.Local, sr.Remote)
		var m netlink.Message
		if err == nil {
			m, err = r.message(c.s.family.ID)
		}
		if err == nil {
			msgs = append(msgs, m)
			index = append(index, i)
		}
		rs[i], errs[i] = r, err
	}
	if len(msgs) == 0 {
		return
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	sent, err := c.s.nl.SendMessages(msgs)
	if err != nil {
		for _, i := range index {
			errs[i] = fmt.Errorf("%s: send request: %w", rs[i].op, err)
		}
		return
	}

	pending := make(map[uint32]int, len(sent))
	for k, m := range sent {
		pending[m.Header.Sequence] = index[k]
	}
	c.collectAcks(rs, errs, pending)
}

// collectAcks reads acks until every sequence number in pending has one.
func (c *Client) collectAcks(rs []*request, errs []error,
	pending map[uint32]int) {
	for len(pending) > 0 {
		msgs, err := c.s.recv()
		if err != nil {
			for _, i := range pending {
				errs[i] = fmt.Errorf("%s: receive ack: %w", rs[i].op, err)
			}
			return
		}
		for _, m := range msgs {
			i, ok := pending[m.Header.Sequence]
			if !ok || m.Header.Type != netlink.Error {
				continue
			}
			delete(pending, m.Header.Sequence)
			errs[i] = ackError(rs[i], m)
		}
	}
}

// ackError returns nil for a positive ack, or the typed error.
func ackError(r *request, m netlink.Message) error {
	a, err := parseAck(m.Data, uint16(m.Header.Flags), false)
	if err != nil {
		return fmt.Errorf("%s: %w", r.op, err)
	}
	if a.errno != 0 {
		return r.error(a)
	}
	return nil
}
