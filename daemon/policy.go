package daemon

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// Policy names accepted by --policy.
const (
	// PolicyFullMesh opens one subflow per local × remote address pair.
	PolicyFullMesh = "fullmesh"
	// PolicyNDiffPorts opens several subflows over the initial address
	// pair, each from its own source port.
	PolicyNDiffPorts = "ndiffports"
	// PolicyBackup is a full mesh whose subflows on the backup
	// interfaces carry the backup flag.
	PolicyBackup = "backup"
	// PolicyAdaptive is a full mesh whose subflows turn backup while
	// the BPF statistics show loss or a high RTT, and that reopens
	// subflows closed by an error.
	PolicyAdaptive = "adaptive"
)

var policies = []string{PolicyFullMesh, PolicyNDiffPorts, PolicyBackup, PolicyAdaptive}

// ValidatePolicy returns an error unless name is a policy the daemon
// implements.
func ValidatePolicy(name string) error {
	for _, p := range policies {
		if p == name {
			return nil
		}
	}
	return fmt.Errorf("invalid policy %q: want one of %s", name, strings.Join(policies, ", "))
}

// subflowPlan is one subflow the policy wants.
type subflowPlan struct {
	Local   netip.Addr
	LocalID uint8
	Remote  netip.AddrPort
	Backup  bool
	IfIndex int32 // set for link-local sources, which need it
}

// planEnv is the host state a policy uses besides the connection.
type planEnv struct {
	locals      []netip.Addr
	id          func(netip.Addr) uint8
	isBackup    func(netip.Addr) bool
	ifIndex     func(netip.Addr) int
	maxSubflows int
	nDiffPorts  int
}

// planSubflows returns the subflows that policy still wants for c, at most
// maxSubflows extra subflows in all. Addresses must be unmapped so that one
// address has one key.
func planSubflows(policy string, c *conn, env planEnv) []subflowPlan {
	var plans []subflowPlan
	switch policy {
	case PolicyNDiffPorts:
		plans = planNDiffPorts(c, env)
	default:
		plans = planFullMesh(c, env)
	}
	room := env.maxSubflows - c.openSubflows()
	if room < 0 {
		room = 0
	}
	if len(plans) > room {
		plans = plans[:room]
	}
	return plans
}

// planFullMesh returns one subflow per (local address, remote address)
// pair of the same family that has none yet.
func planFullMesh(c *conn, env planEnv) []subflowPlan {
	var plans []subflowPlan
	for _, remote := range c.remoteAddrs() {
		for _, local := range env.locals {
			if local.Is4() != remote.Addr().Is4() {
				continue
			}
			if c.hasSubflow(local, remote.Addr()) || c.retryPending(local, remote.Addr()) {
				continue
			}
			plans = append(plans, newPlan(c, env, local, remote))
		}
	}
	return plans
}

// planNDiffPorts returns subflows over the initial address pair until it
// carries env.nDiffPorts subflows, the initial one included.
func planNDiffPorts(c *conn, env planEnv) []subflowPlan {
	have := 0
	for _, sf := range c.Subflows {
		if sf.State != subflowClosed && sf.Local.Addr() == c.Local.Addr() && sf.Remote.Addr() == c.Remote.Addr() {
			have++
		}
	}
	var plans []subflowPlan
	for ; have < env.nDiffPorts; have++ {
		plans = append(plans, newPlan(c, env, c.Local.Addr(), c.Remote))
	}
	return plans
}

func newPlan(c *conn, env planEnv, local netip.Addr, remote netip.AddrPort) subflowPlan {
	p := subflowPlan{Local: local, LocalID: env.id(local), Remote: remote}
	if local == c.Local.Addr() {
		// The initial address keeps id 0 in every list the kernel
		// holds for this connection.
		p.LocalID = 0
	}
	if env.isBackup != nil {
		p.Backup = env.isBackup(local)
	}
	if local.IsLinkLocalUnicast() && env.ifIndex != nil {
		p.IfIndex = int32(env.ifIndex(local))
	}
	return p
}

// request turns a plan into a SUBFLOW_CREATE request for connection token.
func (p subflowPlan) request(token uint32) pm.SubflowRequest {
	local := pm.Local{Addr: p.Local, ID: p.LocalID, IfIndex: p.IfIndex}
	if p.Backup {
		local.Flags = pm.FlagBackup
	}
	return pm.SubflowRequest{Token: token, Local: local, Remote: p.Remote}
}
