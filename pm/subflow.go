package pm

import (
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// SubflowCreate makes the kernel open a subflow of the userspace-PM
// connection token from local to remote (MPTCP_PM_CMD_SUBFLOW_CREATE).
//
// local.ID is the address id sent in MP_JOIN; id 0 is accepted. A local
// address that is already in the connection's list must keep its id, or
// the kernel rejects it ("did not match address and id"). local.Port
// binds the source port when non-zero; local.IfIndex binds the device.
// local.Flags must not contain FlagSignal. remote.Port must be set: the
// kernel does not check it and would connect to port 0.
//
// A nil error means the SYN was sent. Success or failure of the join
// arrives later as a SUB_ESTABLISHED or SUB_CLOSED event.
func (c *Client) SubflowCreate(token uint32, local Local,
	remote netip.AddrPort) error {
	r, err := subflowCreateRequest(token, local, remote)
	if err != nil {
		return err
	}
	_, err = c.do(r)
	return err
}

func subflowCreateRequest(token uint32, local Local,
	remote netip.AddrPort) (*request, error) {
	subject := fmt.Sprintf("%s local %s remote %s", tokenString(token),
		local, addrPortString(remote))
	if remote.Port() == 0 {
		return nil, fmt.Errorf("subflow create %s: missing remote port",
			subject)
	}
	return newRequest("subflow create", cmdSubflowCreate, subject,
		func(ae *netlink.AttributeEncoder) {
			encodeAddrNest(ae, attrAddr, local)
			encodeAddrNest(ae, attrAddrRemote, remoteLocal(remote))
			ae.Uint32(attrToken, token)
		})
}

// SubflowDestroy closes the subflow of connection token with exactly
// this 4-tuple (MPTCP_PM_CMD_SUBFLOW_DESTROY). Both ports are required.
// The address family must match the subflow socket: a subflow of a
// dual-stack socket is reported with IPv4-mapped addresses and must be
// destroyed with them, or the kernel returns ESRCH.
//
// The kernel also drops the local list entry with local's address, even
// when other subflows still use its id.
func (c *Client) SubflowDestroy(token uint32, local,
	remote netip.AddrPort) error {
	subject := fmt.Sprintf("%s local %s remote %s", tokenString(token),
		addrPortString(local), addrPortString(remote))
	r, err := newRequest("subflow destroy", cmdSubflowDestroy, subject,
		func(ae *netlink.AttributeEncoder) {
			encodeAddrNest(ae, attrAddr, remoteLocal(local))
			encodeAddrNest(ae, attrAddrRemote, remoteLocal(remote))
			ae.Uint32(attrToken, token)
		})
	if err != nil {
		return err
	}
	_, err = c.do(r)
	return err
}

// SetFlags changes the backup priority of the subflows of the
// userspace-PM connection token that run between local and remote
// (MPTCP_PM_CMD_SET_FLAGS with a token). Ports of 0 match any port. Only
// FlagBackup in local.Flags is acted on: set, it sends MP_PRIO backup on
// every matching subflow; clear, it sends MP_PRIO non-backup.
//
// The peer gets a SUB_PRIORITY event; this host gets none.
func (c *Client) SetFlags(token uint32, local Local,
	remote netip.AddrPort) error {
	subject := fmt.Sprintf("%s local %s remote %s", tokenString(token),
		local, addrPortString(remote))
	r, err := newRequest("set flags", cmdSetFlags, subject,
		func(ae *netlink.AttributeEncoder) {
			encodeAddrNest(ae, attrAddr, local)
			encodeAddrNest(ae, attrAddrRemote, remoteLocal(remote))
			ae.Uint32(attrToken, token)
		})
	if err != nil {
		return err
	}
	_, err = c.do(r)
	return err
}
