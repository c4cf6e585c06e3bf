package pm

import (
	"fmt"
	"net/netip"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// AddEndpoint adds ep to the in-kernel path manager's endpoint table of
// the namespace (MPTCP_PM_CMD_ADD_ADDR, "ip mptcp endpoint add"). ID 0
// lets the kernel pick a free id. A port needs flags of exactly
// FlagSignal (the kernel then opens a listener on it); FlagSignal with
// FlagFullmesh is rejected. The kernel holds at most 8 endpoints and
// returns EEXIST for a duplicate address or a full table.
//
// The table is used only by connections of the in-kernel path manager.
func (c *Client) AddEndpoint(ep Local) error {
	r, err := newRequest("endpoint add", cmdAddAddr, ep.String(),
		func(ae *netlink.AttributeEncoder) {
			encodeAddrNest(ae, attrAddr, ep)
		})
	if err != nil {
		return err
	}
	_, err = c.do(r)
	return err
}

// DeleteEndpoint deletes the endpoint with id (MPTCP_PM_CMD_DEL_ADDR).
// Id 0 is the address of the initial subflows, so it needs addr. For
// other ids addr is ignored and may be the zero Addr. Connections
// that use the endpoint send RM_ADDR and close its subflows.
func (c *Client) DeleteEndpoint(id uint8, addr netip.Addr) error {
	ep := Local{ID: id}
	if id == 0 {
		ep.Addr = addr
	}
	r, err := newRequest("endpoint delete", cmdDelAddr, ep.String(),
		func(ae *netlink.AttributeEncoder) {
			encodeAddrNest(ae, attrAddr, ep)
		})
	if err != nil {
		return err
	}
	_, err = c.do(r)
	return err
}

// Endpoint returns the endpoint with id (MPTCP_PM_CMD_GET_ADDR).
func (c *Client) Endpoint(id uint8) (Local, error) {
	r, err := getAddrRequest("endpoint get", fmt.Sprintf("id %d", id),
		nil, id)
	if err != nil {
		return Local{}, err
	}
	return c.getOne(r)
}

// Endpoints returns the endpoint table (MPTCP_PM_CMD_GET_ADDR dump).
func (c *Client) Endpoints() ([]Local, error) {
	r, err := newRequest("endpoint dump", cmdGetAddr, "", nil)
	if err != nil {
		return nil, err
	}
	r.dump = true
	return c.getAll(r)
}

// FlushEndpoints deletes every endpoint (MPTCP_PM_CMD_FLUSH_ADDRS), with
// the effects of DeleteEndpoint on connections that use them.
func (c *Client) FlushEndpoints() error {
	r, err := newRequest("endpoint flush", cmdFlushAddrs, "", nil)
	if err != nil {
		return err
	}
	_, err = c.do(r)
	return err
}

// SetEndpointFlags changes the backup and fullmesh flags of an endpoint
// to those in ep.Flags (MPTCP_PM_CMD_SET_FLAGS without a token, "ip mptcp
// endpoint change"). The endpoint is looked up by ep.Addr (and ep.Port)
// when ep.Addr is valid, otherwise by ep.ID. Connections that use it send
// MP_PRIO when the backup flag changes.
func (c *Client) SetEndpointFlags(ep Local) error {
	r, err := newRequest("endpoint change", cmdSetFlags, ep.String(),
		func(ae *netlink.AttributeEncoder) {
			encodeAddrNest(ae, attrAddr, ep)
		})
	if err != nil {
		return err
	}
	_, err = c.do(r)
	return err
}

// getAddrRequest builds a GET_ADDR request for one id, with a token when
// token is not nil.
func getAddrRequest(op, subject string, token *uint32,
	id uint8) (*request, error) {
	return newRequest(op, cmdGetAddr, subject,
		func(ae *netlink.AttributeEncoder) {
			encodeAddrNest(ae, attrAddr, Local{ID: id})
			if token != nil {
				ae.Uint32(attrToken, *token)
			}
		})
}

// getOne sends a GET_ADDR request and decodes its single reply.
func (c *Client) getOne(r *request) (Local, error) {
	msgs, err := c.do(r)
	if err != nil {
		return Local{}, err
	}
	if len(msgs) == 0 {
		return Local{}, fmt.Errorf("%s: %w", r.op, errShortReply)
	}
	return decodeAddrReply(r.op, msgs[0])
}

// getAll sends a GET_ADDR dump and decodes every entry.
func (c *Client) getAll(r *request) ([]Local, error) {
	msgs, err := c.do(r)
	if err != nil {
		return nil, err
	}
	locals := make([]Local, 0, len(msgs))
	for _, m := range msgs {
		l, err := decodeAddrReply(r.op, m)
		if err != nil {
			return locals, err
		}
		locals = append(locals, l)
	}
	return locals, nil
}

// decodeAddrReply decodes a GET_ADDR reply: one ADDR nest.
func decodeAddrReply(op string, m genetlink.Message) (Local, error) {
	l, err := DecodeAddrReply(m)
	if err != nil {
		return l, fmt.Errorf("%s: %w", op, err)
	}
	return l, nil
}

// DecodeAddrReply decodes a GET_ADDR reply message: the ADDR nest with
// FAMILY, ID, FLAGS, PORT (host byte order), IF_IDX and ADDR4 or ADDR6.
// Unknown attributes are skipped.
func DecodeAddrReply(m genetlink.Message) (Local, error) {
	var l Local
	found := false
	err := walkAttrs(m.Data, func(typ uint16, data []byte) error {
		if typ != attrAddr {
			return nil
		}
		var err error
		l, err = decodeAddrNest(data)
		found = true
		return err
	})
	if err != nil {
		return l, fmt.Errorf("decode address reply: %w", err)
	}
	if !found {
		return l, fmt.Errorf("decode address reply: missing attribute ADDR")
	}
	return l, nil
}
