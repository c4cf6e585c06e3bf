package daemon

import (
	"fmt"
	"net/netip"
)

// Policy names accepted by --policy.
const (
	PolicyFullMesh = "fullmesh"
)

// subflowPlan is one subflow the policy wants: from a local address with a
// given address id to a remote address and port.
type subflowPlan struct {
	Local   netip.Addr
	LocalID uint8
	Remote  netip.AddrPort
}

// planFullMesh returns the subflows that a full mesh still lacks: one per
// (local address, remote address) pair of the same family, excluding the
// pairs that already have a subflow and the connection's initial pair.
//
// Addresses must be unmapped (IPv4-mapped IPv6 turned into IPv4) so that
// one address has one key. ids maps each local address to its address id.
func planFullMesh(c *conn, locals []netip.Addr, ids func(netip.Addr) uint8) []subflowPlan {
	var plans []subflowPlan
	for _, remote := range c.remoteAddrs() {
		for _, local := range locals {
			if local.Is4() != remote.Addr().Is4() {
				continue
			}
			if c.hasSubflow(local, remote.Addr()) {
				continue
			}
			id := ids(local)
			if local == c.Local.Addr() {
				// The initial address keeps id 0 in every list the
				// kernel holds for this connection.
				id = 0
			}
			plans = append(plans, subflowPlan{Local: local, LocalID: id, Remote: remote})
		}
	}
	return plans
}

// ValidatePolicy returns an error unless name is a policy the daemon
// implements.
func ValidatePolicy(name string) error {
	switch name {
	case PolicyFullMesh:
		return nil
	}
	return fmt.Errorf("invalid policy %q: want %s", name, PolicyFullMesh)
}
