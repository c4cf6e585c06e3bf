package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

func TestPMEndpointCLI(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(map[bool]string{false: "ipv4", true: "ipv6"}[v6], func(t *testing.T) {
			lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2, IPv6: v6, ClientPM: "kernel"})
			ns := lab.Client.Path()
			a0, a1 := lab.Paths[0].ClientAddr.String(), lab.Paths[1].ClientAddr.String()
			dev := lab.Paths[1].ClientIf

			pmMustCLI(t, "endpoint", "add", a1, "dev", dev, "id", "5", "subflow", "backup", "--netns", ns)
			pmMustCLI(t, "endpoint", "add", a0, "port", "7300", "signal", "--netns", ns)
			ipShow := pmFields(lab.Client.Run(t, "ip", "mptcp", "endpoint", "show"))
			want := []string{a1 + " id 5 subflow backup dev " + dev, a0 + " port 7300 id 6 signal"}
			if !slices.Equal(ipShow, want) {
				t.Errorf("ip mptcp endpoint show = %q, want %q", ipShow, want)
			}
			ours := pmFields(pmMustCLI(t, "endpoint", "show", "--netns", ns))
			if !slices.Equal(ours, ipShow) {
				t.Errorf("endpoint show = %q, want ip's %q", ours, ipShow)
			}
			one := pmFields(pmMustCLI(t, "endpoint", "show", "id", "6", "--netns", ns))
			if !slices.Equal(one, ipShow[1:]) {
				t.Errorf("endpoint show id 6 = %q, want %q", one, ipShow[1:])
			}

			var list []localJSON
			out := pmMustCLI(t, "endpoint", "show", "--json", "--netns", ns)
			if err := json.Unmarshal([]byte(out), &list); err != nil {
				t.Fatalf("decode --json %q: %v", out, err)
			}
			if len(list) != 2 || list[0].Dev != dev || list[1].Port != 7300 ||
				!slices.Equal(list[0].Flags, []string{"subflow", "backup"}) {
				t.Errorf("endpoint show --json = %+v", list)
			}

			pmMustCLI(t, "endpoint", "change", "id", "5", "nobackup", "fullmesh", "--netns", ns)
			ipShow = pmFields(lab.Client.Run(t, "ip", "mptcp", "endpoint", "show"))
			if want := a1 + " id 5 subflow fullmesh dev " + dev; ipShow[0] != want {
				t.Errorf("after change: %q, want %q", ipShow[0], want)
			}
			pmMustCLI(t, "endpoint", "delete", "id", "5", "--netns", ns)
			ipShow = pmFields(lab.Client.Run(t, "ip", "mptcp", "endpoint", "show"))
			if !slices.Equal(ipShow, want[1:]) {
				t.Errorf("after delete: %q, want %q", ipShow, want[1:])
			}
			pmMustCLI(t, "endpoint", "flush", "--netns", ns)
			if ipShow = pmFields(lab.Client.Run(t, "ip", "mptcp", "endpoint", "show")); len(ipShow) != 0 {
				t.Errorf("after flush: %q, want nothing", ipShow)
			}
		})
	}
}

func TestPMLimitsCLI(t *testing.T) {
	ns := nstest.NewNS(t, "pmclilim")
	pmMustCLI(t, "limits", "set", "subflows", "4", "add_addr_accepted", "2", "--netns", ns.Path())
	ip := strings.Join(strings.Fields(ns.Run(t, "ip", "mptcp", "limits")), " ")
	if want := "add_addr_accepted 2 subflows 4"; ip != want {
		t.Errorf("ip mptcp limits = %q, want %q", ip, want)
	}
	ours := strings.TrimSpace(pmMustCLI(t, "limits", "show", "--netns", ns.Path()))
	if ours != ip {
		t.Errorf("limits show = %q, want ip's %q", ours, ip)
	}
	var l pm.Limits
	if err := json.Unmarshal([]byte(pmMustCLI(t, "limits", "show", "--json", "--netns", ns.Path())), &l); err != nil {
		t.Fatalf("decode --json: %v", err)
	}
	if l != (pm.Limits{AddAddrAccepted: 2, Subflows: 4}) {
		t.Errorf("limits show --json = %+v", l)
	}

	_, err := pmCLI(t, "limits", "set", "subflows", "9", "--netns", ns.Path())
	var pe *pm.Error
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "limit greater than maximum (8)") {
		t.Errorf("limits set subflows 9: error %v, want the kernel's limit error", err)
	}
}

// TestPMUsageErrors checks that bad arguments are usage errors that name
// the value and the expected form, before anything reaches the kernel.
func TestPMUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"endpoint", "add", "10.0.0.1", "bogus"}, `unknown argument "bogus": want ADDRESS, dev IFNAME`},
		{[]string{"endpoint", "add", "id", "1"}, "endpoint add: missing ADDRESS"},
		{[]string{"endpoint", "add", "10.0.0.1", "id", "256"}, `invalid id "256": want a number from 0 to 255`},
		{[]string{"endpoint", "add", "10.0.0.1", "port"}, `endpoint add: missing port number after "port"`},
		{[]string{"endpoint", "delete", "id", "0"}, "id 0 needs the ADDRESS"},
		{[]string{"endpoint", "change", "id", "1", "signal"}, `invalid flag "signal"`},
		{[]string{"endpoint", "show", "token", "xyz"}, `invalid token "xyz"`},
		{[]string{"limits", "set", "subflow", "1"}, `unknown limit "subflow"`},
		{[]string{"subflow", "create", "10.0.0.1", "id", "1", "remote", "10.0.0.2", "rport", "80"}, "missing token TOKEN"},
		{[]string{"subflow", "create", "10.0.0.1", "id", "1", "remote", "10.0.0.2", "rport", "0", "token", "1"}, `invalid port "0"`},
		{[]string{"subflow", "destroy", "10.0.0.1", "remote", "10.0.0.2", "rport", "80", "token", "1"}, "missing port NR"},
		{[]string{"announce", "10.0.0.1", "token", "0x10"}, "announce: missing id ID"},
		{[]string{"announce", "10.0.0.300", "id", "1", "token", "1"}, `unknown argument "10.0.0.300"`},
		{[]string{"remove", "id", "1", "token", "nope"}, `invalid token "nope": want a non-zero 32-bit number`},
		{[]string{"set-flags", "10.0.0.1", "remote", "10.0.0.2", "token", "1"}, "missing backup or nobackup"},
	} {
		_, err := pmCLI(t, tc.args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%s: error %v, want a usage error", strings.Join(tc.args, " "), err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want it to contain %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

// TestPMUserspaceCLI drives a userspace path-manager connection with the
// CLI and checks each effect with ss and the peer's ip mptcp monitor.
func TestPMUserspaceCLI(t *testing.T) {
	l := newPMCLILab(t, nstest.LabOptions{Paths: 2})
	peer := pmStartIPMonitor(t, l.Server)
	pmProbe(t, l.Server, peer)
	events, err := pm.ListenEvents(pmConfig(t, l.Client))
	if err != nil {
		t.Fatalf("listen events: %v", err)
	}
	defer events.Close()
	_, local := l.connect()
	token := pmEventToken(t, events, local.Port())
	tok := fmt.Sprintf("0x%08x", token)
	ns := l.Client.Path()
	a1 := l.Paths[1].ClientAddr.String()
	srv := l.Paths[0].ServerAddr.String()

	pmMustCLI(t, "subflow", "create", a1, "port", "41000", "id", "1", "remote", srv, "rport", "7100", "token", tok, "--netns", ns)
	line := pmWaitLine(t, "peer ip mptcp monitor", peer, "SF_ESTABLISHED", "dport=41000")
	if !strings.Contains(line, "remid=1") {
		t.Errorf("peer SF_ESTABLISHED %q, want remid=1", line)
	}
	ss := strings.Join(strings.Fields(l.Client.Run(t, "ss", "-Htn", "src", a1+":41000")), " ")
	if !strings.Contains(ss, "ESTAB") {
		t.Errorf("ss shows no established subflow from %s:41000: %q", a1, ss)
	}

	pmMustCLI(t, "set-flags", a1, "remote", srv, "token", tok, "backup", "--netns", ns)
	pmWaitLine(t, "peer ip mptcp monitor", peer, "SF_PRIO", "backup=1", "dport=41000")

	a0 := l.Paths[0].ClientAddr.String()
	pmMustCLI(t, "announce", a0, "id", "2", "token", tok, "--netns", ns)
	pmWaitLine(t, "peer ip mptcp monitor", peer, "ANNOUNCED", "remid=2", "daddr4="+a0)
	shown := pmFields(pmMustCLI(t, "endpoint", "show", "token", tok, "--netns", ns))
	want := []string{a1 + " port 41000 id 1 subflow backup", a0 + " id 2 signal"}
	if !slices.Equal(shown, want) {
		t.Errorf("endpoint show token = %q, want %q", shown, want)
	}
	pmMustCLI(t, "remove", "id", "2", "token", tok, "--netns", ns)
	pmWaitLine(t, "peer ip mptcp monitor", peer, "REMOVED", "remid=2")

	_, err = pmCLI(t, "subflow", "destroy", a1, "port", "41000", "remote", srv, "rport", "7101", "token", tok, "--netns", ns)
	if err == nil || !strings.Contains(err.Error(), "subflow not found (kernel: subflow not found, errno ESRCH)") {
		t.Errorf("destroy with a wrong port: error %v, want ESRCH subflow not found", err)
	}
	_, err = pmCLI(t, "remove", "id", "7", "token", tok, "--netns", ns)
	if err == nil || !strings.Contains(err.Error(), "remove token "+tok[2:]+" id 7: address with id 7 not found") {
		t.Errorf("remove id 7: error %v, want address with id 7 not found", err)
	}

	pmMustCLI(t, "subflow", "destroy", a1, "port", "41000", "remote", srv, "rport", "7100", "token", tok, "--netns", ns)
	pmWaitLine(t, "peer ip mptcp monitor", peer, "SF_CLOSED", "dport=41000")
	ss = strings.Join(strings.Fields(l.Client.Run(t, "ss", "-Htn", "state", "established", "src", a1+":41000")), " ")
	if ss != "" {
		t.Errorf("ss after destroy shows %q, want no established subflow", ss)
	}
}

// pmEventToken returns the token of the ESTABLISHED event of the
// connection from local port.
func pmEventToken(t *testing.T, ec *pm.EventConn, port uint16) uint32 {
	t.Helper()
	for {
		evs, err := ec.Receive()
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		for _, e := range evs {
			if e.Type == pm.EventEstablished && e.Local.Port() == port {
				return e.Token
			}
		}
	}
}
