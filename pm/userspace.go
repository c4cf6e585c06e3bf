package pm

import (
	"fmt"

	"github.com/mdlayher/netlink"
)

// Announce sends ADD_ADDR for local on the userspace-PM connection token
// and adds local to its local address list (MPTCP_PM_CMD_ANNOUNCE).
// FlagSignal is added to local.Flags. local.ID must not be 0, and an
// address (with its port) already in the list must keep its id, or the
// kernel rejects it ("did not match address and id"). Announcing the
// same address and id again re-sends ADD_ADDR.
//
// local.Port announces a port; the kernel does not listen on it, so the
// caller must run an MPTCP listener there, or the peer's joins fail.
//
// NOTE: an IPv6 ADD_ADDR with a port takes 30 option bytes and does not
// fit next to TCP timestamps. Linux 6.18 acks the request but drops the
// option (MPTcpExtAddAddrTxDrop), so the peer never receives it.
func (c *Client) Announce(token uint32, local Local) error {
	local.Flags |= FlagSignal
	subject := fmt.Sprintf("%s %s", tokenString(token), local)
	r, err := newRequest("announce", cmdAnnounce, subject,
		func(ae *netlink.AttributeEncoder) {
			encodeAddrNest(ae, attrAddr, local)
			ae.Uint32(attrToken, token)
		})
	if err != nil {
		return err
	}
	_, err = c.do(r)
	return err
}

// Remove sends RM_ADDR for address id on the userspace-PM connection
// token and drops the id from its local list (MPTCP_PM_CMD_REMOVE). The
// peer closes its subflows to that id; local subflows from it stay open
// until SubflowDestroy. Id 0 works only while a subflow uses local id 0.
func (c *Client) Remove(token uint32, id uint8) error {
	subject := fmt.Sprintf("%s id %d", tokenString(token), id)
	r, err := newRequest("remove", cmdRemove, subject,
		func(ae *netlink.AttributeEncoder) {
			ae.Uint32(attrToken, token)
			ae.Uint8(attrLocID, id)
		})
	if err != nil {
		return err
	}
	_, err = c.do(r)
	return err
}

// LocalAddrs returns the local address list of the userspace-PM
// connection token (MPTCP_PM_CMD_GET_ADDR dump with a token): addresses
// added by Announce (FlagSignal) and SubflowCreate (FlagSubflow), and by
// joins the peer opened to a new address.
func (c *Client) LocalAddrs(token uint32) ([]Local, error) {
	r, err := newRequest("local address dump", cmdGetAddr,
		tokenString(token), func(ae *netlink.AttributeEncoder) {
			ae.Uint32(attrToken, token)
		})
	if err != nil {
		return nil, err
	}
	r.dump = true
	return c.getAll(r)
}

// LocalAddr returns the entry with id of the local address list of the
// userspace-PM connection token (MPTCP_PM_CMD_GET_ADDR with a token).
func (c *Client) LocalAddr(token uint32, id uint8) (Local, error) {
	subject := fmt.Sprintf("%s id %d", tokenString(token), id)
	r, err := getAddrRequest("local address get", subject, &token, id)
	if err != nil {
		return Local{}, err
	}
	return c.getOne(r)
}
