package nstest

import (
	"net/netip"
	"testing"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/netlab"
)

// Path is one veth link between the client and the server namespace.
type Path = netlab.Path

// LabOptions selects the shape of a two-namespace MPTCP lab.
type LabOptions struct {
	Paths int  // number of veth links; 0 means 2
	IPv6  bool // use fd00:200:N::1/64 addresses in place of 10.200.N.0/24
	// ClientPM is "userspace" (default) or "kernel"; the server always
	// uses the in-kernel path manager with limits raised so that it
	// accepts joins.
	ClientPM string
}

// Lab is a client and a server namespace joined by several veth paths, with
// source routing in the client so that a subflow bound to path N's address
// leaves through path N.
type Lab struct {
	Client, Server *NS
	Paths          []Path
}

// NewLab builds the lab and registers its cleanup.
func NewLab(t testing.TB, opts LabOptions) *Lab {
	t.Helper()
	RequireRoot(t)
	RequireMPTCP(t)
	topo, err := netlab.Build(netlab.Options{
		Paths:    opts.Paths,
		IPv6:     opts.IPv6,
		ClientPM: opts.ClientPM,
		Prefix:   "mbpt",
	})
	if err != nil {
		t.Fatalf("build lab: %v", err)
	}
	t.Cleanup(topo.Close)
	return &Lab{
		Client: &NS{Name: topo.Client.Name},
		Server: &NS{Name: topo.Server.Name},
		Paths:  topo.Paths,
	}
}

// ServerAddrPort returns path 0's server address with port.
func (lab *Lab) ServerAddrPort(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(lab.Paths[0].ServerAddr, port)
}
