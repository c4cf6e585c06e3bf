package pm

import (
	"fmt"
	"strings"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// Limits are the in-kernel path manager's per-namespace limits. Linux
// 6.18 accepts values up to 8.
type Limits struct {
	// AddAddrAccepted is the number of ADD_ADDR accepted per connection.
	AddAddrAccepted uint32 `json:"add_addr_accepted"`
	// Subflows is the number of extra subflows per connection.
	Subflows uint32 `json:"subflows"`
}

// Limits returns the limits (MPTCP_PM_CMD_GET_LIMITS).
func (c *Client) Limits() (Limits, error) {
	r, err := newRequest("limits get", cmdGetLimits, "", nil)
	if err != nil {
		return Limits{}, err
	}
	msgs, err := c.do(r)
	if err != nil {
		return Limits{}, err
	}
	if len(msgs) == 0 {
		return Limits{}, fmt.Errorf("%s: %w", r.op, errShortReply)
	}
	return DecodeLimitsReply(msgs[0])
}

// DecodeLimitsReply decodes a GET_LIMITS reply. Unknown attributes are
// skipped; an absent limit is 0.
func DecodeLimitsReply(m genetlink.Message) (Limits, error) {
	var l Limits
	err := walkAttrs(m.Data, func(typ uint16, data []byte) error {
		var err error
		switch typ {
		case attrRcvAddAddrs:
			l.AddAddrAccepted, err = getU32("RCV_ADD_ADDRS", data)
		case attrSubflows:
			l.Subflows, err = getU32("SUBFLOWS", data)
		}
		return err
	})
	if err != nil {
		return l, fmt.Errorf("decode limits reply: %w", err)
	}
	return l, nil
}

// SetLimits sets the limits that are not nil and leaves the others
// (MPTCP_PM_CMD_SET_LIMITS). A value above 8 is rejected with EINVAL.
func (c *Client) SetLimits(addAddrAccepted, subflows *uint32) error {
	var parts []string
	if addAddrAccepted != nil {
		parts = append(parts,
			fmt.Sprintf("add_addr_accepted %d", *addAddrAccepted))
	}
	if subflows != nil {
		parts = append(parts, fmt.Sprintf("subflows %d", *subflows))
	}
	r, err := newRequest("limits set", cmdSetLimits,
		strings.Join(parts, " "), func(ae *netlink.AttributeEncoder) {
			if addAddrAccepted != nil {
				ae.Uint32(attrRcvAddAddrs, *addAddrAccepted)
			}
			if subflows != nil {
				ae.Uint32(attrSubflows, *subflows)
			}
		})
	if err != nil {
		return err
	}
	_, err = c.do(r)
	return err
}
