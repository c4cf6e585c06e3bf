package pm_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
	"golang.org/x/sys/unix"
)

// kernelLab is a lab whose client runs the in-kernel path manager.
func kernelLab(t *testing.T, v6 bool) *pmLab {
	return newPMLab(t, nstest.LabOptions{Paths: 2, IPv6: v6, ClientPM: "kernel"})
}

// showEndpoints returns "ip mptcp endpoint show" of ns, one entry per
// line, with spacing normalised.
func showEndpoints(t *testing.T, ns *nstest.NS) []string {
	t.Helper()
	var lines []string
	for _, line := range strings.Split(ns.Run(t, "ip", "mptcp", "endpoint", "show"), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	return lines
}

func TestEndpointAddShowDelete(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(family(v6), func(t *testing.T) {
			l := kernelLab(t, v6)
			dev := l.Paths[1].ClientIf
			ifindex := linkIndex(t, l.Client, dev)
			sub := pm.Local{Addr: l.Paths[1].ClientAddr, ID: 5,
				IfIndex: ifindex, Flags: pm.FlagSubflow | pm.FlagBackup}
			sig := pm.Local{Addr: l.Paths[0].ClientAddr, Port: 7300, ID: 6,
				Flags: pm.FlagSignal}
			for _, ep := range []pm.Local{sub, sig} {
				if err := l.client.AddEndpoint(ep); err != nil {
					t.Fatalf("endpoint add %v: %v", ep, err)
				}
			}

			want := []string{
				sub.Addr.String() + " id 5 subflow backup dev " + dev,
				sig.Addr.String() + " port 7300 id 6 signal",
			}
			if got := showEndpoints(t, l.Client); !slices.Equal(got, want) {
				t.Errorf("ip mptcp endpoint show = %q, want %q", got, want)
			}
			got, err := l.client.Endpoints()
			if err != nil {
				t.Fatalf("endpoints: %v", err)
			}
			if !slices.Equal(got, []pm.Local{sub, sig}) {
				t.Errorf("endpoints = %v, want %v", got, []pm.Local{sub, sig})
			}
			one, err := l.client.Endpoint(6)
			if err != nil {
				t.Fatalf("endpoint 6: %v", err)
			}
			if one != sig {
				t.Errorf("endpoint 6 = %v, want %v", one, sig)
			}

			if err := l.client.DeleteEndpoint(5, netip.Addr{}); err != nil {
				t.Fatalf("endpoint delete 5: %v", err)
			}
			if got := showEndpoints(t, l.Client); !slices.Equal(got, want[1:]) {
				t.Errorf("after delete: ip mptcp endpoint show = %q, want %q", got, want[1:])
			}
			if err := l.client.FlushEndpoints(); err != nil {
				t.Fatalf("endpoint flush: %v", err)
			}
			if got := showEndpoints(t, l.Client); len(got) != 0 {
				t.Errorf("after flush: ip mptcp endpoint show = %q, want nothing", got)
			}
		})
	}
}

func TestEndpointChange(t *testing.T) {
	l := kernelLab(t, false)
	ep := pm.Local{Addr: l.Paths[1].ClientAddr, ID: 3, Flags: pm.FlagSubflow}
	if err := l.client.AddEndpoint(ep); err != nil {
		t.Fatalf("endpoint add: %v", err)
	}

	change := pm.Local{ID: 3, Flags: pm.FlagBackup | pm.FlagFullmesh}
	if err := l.client.SetEndpointFlags(change); err != nil {
		t.Fatalf("endpoint change by id: %v", err)
	}
	want := []string{ep.Addr.String() + " id 3 subflow backup fullmesh"}
	if got := showEndpoints(t, l.Client); !slices.Equal(got, want) {
		t.Errorf("ip mptcp endpoint show = %q, want %q", got, want)
	}

	change = pm.Local{Addr: ep.Addr}
	if err := l.client.SetEndpointFlags(change); err != nil {
		t.Fatalf("endpoint change by address: %v", err)
	}
	want = []string{ep.Addr.String() + " id 3 subflow"}
	if got := showEndpoints(t, l.Client); !slices.Equal(got, want) {
		t.Errorf("ip mptcp endpoint show = %q, want %q", got, want)
	}

	err := l.client.SetEndpointFlags(pm.Local{ID: 42, Flags: pm.FlagBackup})
	wantKernelError(t, err, unix.EINVAL, "address not found")
}

func TestEndpointRejected(t *testing.T) {
	l := kernelLab(t, false)
	addr := l.Paths[1].ClientAddr
	if err := l.client.AddEndpoint(pm.Local{Addr: addr, ID: 3, Flags: pm.FlagSubflow}); err != nil {
		t.Fatalf("endpoint add: %v", err)
	}

	err := l.client.AddEndpoint(pm.Local{Addr: addr, ID: 4, Flags: pm.FlagSubflow})
	wantKernelError(t, err, unix.EEXIST, "too many addresses or duplicate one: -17")
	err = l.client.AddEndpoint(pm.Local{Addr: l.Paths[0].ClientAddr, Port: 7300,
		Flags: pm.FlagSignal | pm.FlagSubflow})
	wantKernelError(t, err, unix.EINVAL, "flags must have signal and not subflow when using port")
	err = l.client.AddEndpoint(pm.Local{Addr: l.Paths[0].ClientAddr,
		Flags: pm.FlagSignal | pm.FlagFullmesh})
	wantKernelError(t, err, unix.EINVAL, "flags mustn't have both signal and fullmesh")
	err = l.client.DeleteEndpoint(42, netip.Addr{})
	wantKernelError(t, err, unix.EINVAL, "address not found")
	_, err = l.client.Endpoint(42)
	wantKernelError(t, err, unix.EINVAL, "address not found")
}

// TestEndpointSubflow checks the effect of a subflow endpoint: the
// in-kernel PM opens a subflow from it on a new connection.
func TestEndpointSubflow(t *testing.T) {
	l := kernelLab(t, false)
	ep := pm.Local{Addr: l.Paths[1].ClientAddr, ID: 7, Flags: pm.FlagSubflow}
	if err := l.client.AddEndpoint(ep); err != nil {
		t.Fatalf("endpoint add: %v", err)
	}
	_, token := l.connect()
	sf := l.events.wait(t, "SUB_ESTABLISHED", isSub(token))
	if sf.Local.Addr() != ep.Addr || sf.LocalID != 7 {
		t.Errorf("subflow from %s id %d, want %s id 7", sf.Local.Addr(), sf.LocalID, ep.Addr)
	}
}

func TestLimits(t *testing.T) {
	ns := nstest.NewNS(t, "pmlim")
	cfg := nsConfig(t, ns)
	c, err := pm.Dial(cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()

	accepted, subflows := uint32(3), uint32(5)
	if err := c.SetLimits(&accepted, &subflows); err != nil {
		t.Fatalf("limits set: %v", err)
	}
	out := strings.Join(strings.Fields(ns.Run(t, "ip", "mptcp", "limits")), " ")
	if want := "add_addr_accepted 3 subflows 5"; out != want {
		t.Errorf("ip mptcp limits = %q, want %q", out, want)
	}

	subflows = 2
	if err := c.SetLimits(nil, &subflows); err != nil {
		t.Fatalf("limits set subflows: %v", err)
	}
	got, err := c.Limits()
	if err != nil {
		t.Fatalf("limits: %v", err)
	}
	if want := (pm.Limits{AddAddrAccepted: 3, Subflows: 2}); got != want {
		t.Errorf("limits = %+v, want %+v", got, want)
	}

	subflows = 9
	err = c.SetLimits(nil, &subflows)
	wantKernelError(t, err, unix.EINVAL, "limit greater than maximum (8)")
}
