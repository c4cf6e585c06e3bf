package main

import (
	"context"
	"encoding/json"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// pmStartMonitor runs "mptcp-bpf-pm monitor" in ns on rootCmd until the
// test ends. No other command may run on rootCmd meanwhile.
func pmStartMonitor(t *testing.T, ns *nstest.NS, extra ...string) *pmBuf {
	t.Helper()
	pmResetFlags(monitorCmd)
	buf := &pmBuf{}
	rootCmd.SetOut(buf)
	rootCmd.SetArgs(append([]string{"monitor", "--netns", ns.Path()}, extra...))
	ctx, cancel := context.WithCancel(context.Background())
	// cobra gives a subcommand the root's context only while it has
	// none, so an earlier run's cancelled context would stay.
	monitorCmd.SetContext(ctx)
	done := make(chan error, 1)
	go func() { done <- rootCmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("monitor: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("monitor did not stop 5s after cancel")
		}
		rootCmd.SetOut(nil)
		rootCmd.SetArgs(nil)
	})
	return buf
}

// TestPMMonitorMatchesIP runs "ip mptcp monitor" and "mptcp-bpf-pm
// monitor" side by side in the client namespace through a connection's
// life and compares them event by event.
func TestPMMonitorMatchesIP(t *testing.T) {
	l := newPMCLILab(t, nstest.LabOptions{Paths: 3})
	server, err := pm.Dial(pmConfig(t, l.Server))
	if err != nil {
		t.Fatalf("dial server: %v", err)
	}
	defer server.Close()
	ip := pmStartIPMonitor(t, l.Client)
	ours := pmStartMonitor(t, l.Client)
	pmProbe(t, l.Client, ip, ours)

	// The server announces this endpoint to new connections.
	sig := pm.Local{Addr: l.Paths[2].ServerAddr, ID: 9, Flags: pm.FlagSignal}
	if err := server.AddEndpoint(sig); err != nil {
		t.Fatalf("server endpoint add: %v", err)
	}
	c, local := l.connect()
	line := pmWaitLine(t, "ip mptcp monitor", ip, "ESTABLISHED", "sport="+itoa(local.Port()))
	token := pmToken(t, line)
	pmWaitLine(t, "ip mptcp monitor", ip, "ANNOUNCED", "remid=9")

	sf := pm.Local{Addr: l.Paths[1].ClientAddr, ID: 1}
	if err := l.client.SubflowCreate(token, sf, l.ServerAddrPort(pmPort)); err != nil {
		t.Fatalf("subflow create: %v", err)
	}
	line = pmWaitLine(t, "ip mptcp monitor", ip, "SF_ESTABLISHED", "saddr4="+sf.Addr.String())
	sport := pmValue(t, line, "sport")
	if err := l.client.Announce(token, pm.Local{Addr: sf.Addr, ID: 1}); err != nil {
		t.Fatalf("announce: %v", err)
	}
	if err := server.DeleteEndpoint(9, netip.Addr{}); err != nil {
		t.Fatalf("server endpoint delete: %v", err)
	}
	pmWaitLine(t, "ip mptcp monitor", ip, "REMOVED", "remid=9")
	if err := l.client.Remove(token, 1); err != nil {
		t.Fatalf("remove: %v", err)
	}
	pmWaitLine(t, "ip mptcp monitor", ip, "SF_CLOSED", "sport="+sport)

	sf2 := pm.Local{Addr: l.Paths[2].ClientAddr, ID: 2}
	if err := l.client.SubflowCreate(token, sf2, l.ServerAddrPort(pmPort)); err != nil {
		t.Fatalf("subflow create: %v", err)
	}
	line = pmWaitLine(t, "ip mptcp monitor", ip, "SF_ESTABLISHED", "saddr4="+sf2.Addr.String())
	sport = pmValue(t, line, "sport")
	local2 := netip.MustParseAddrPort(sf2.Addr.String() + ":" + sport)
	if err := l.client.SubflowDestroy(token, local2, l.ServerAddrPort(pmPort)); err != nil {
		t.Fatalf("subflow destroy: %v", err)
	}
	pmWaitLine(t, "ip mptcp monitor", ip, "SF_CLOSED", "sport="+sport)
	c.Close()
	pmWaitLine(t, "ip mptcp monitor", ip, "CLOSED", "token=")
	time.Sleep(200 * time.Millisecond)

	t.Logf("ip mptcp monitor:\n%s\nmptcp-bpf-pm monitor:\n%s", ip, ours)
	pmCompareMonitors(t, ip.String(), ours.String())
}

// pmCompareMonitors checks that both outputs have the same events in the
// same order and that every key=value that ip prints is in ours.
func pmCompareMonitors(t *testing.T, ipOut, oursOut string) {
	t.Helper()
	ipLines, ourLines := pmFields(ipOut), pmFields(oursOut)
	if len(ipLines) != len(ourLines) {
		t.Fatalf("ip printed %d events, we printed %d\nip:\n%s\nours:\n%s",
			len(ipLines), len(ourLines), ipOut, oursOut)
	}
	if len(ipLines) < 7 {
		t.Errorf("only %d events:\n%s", len(ipLines), ipOut)
	}
	for i := range ipLines {
		ipName, ipKV := pmSplitEvent(ipLines[i])
		ourName, ourKV := pmSplitEvent(ourLines[i])
		if ipName != ourName {
			t.Errorf("event %d: ip %q, ours %q", i, ipLines[i], ourLines[i])
			continue
		}
		for _, kv := range ipKV {
			if !strings.Contains(" "+strings.Join(ourKV, " ")+" ", " "+kv+" ") {
				t.Errorf("event %d: ip has %s, ours lacks it\nip:   %s\nours: %s",
					i, kv, ipLines[i], ourLines[i])
			}
		}
	}
}

var pmEventName = regexp.MustCompile(`^\[\s*([A-Z_]+(?: \d+)?)\]`)

// pmSplitEvent returns the bracketed name and the key=value words.
func pmSplitEvent(line string) (string, []string) {
	m := pmEventName.FindStringSubmatch(line)
	if m == nil {
		return line, nil
	}
	return m[1], strings.Fields(line[len(m[0]):])
}

func pmValue(t *testing.T, line, key string) string {
	t.Helper()
	_, kvs := pmSplitEvent(line)
	for _, kv := range kvs {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	t.Fatalf("no %s= in %q", key, line)
	return ""
}

func pmToken(t *testing.T, line string) uint32 {
	t.Helper()
	tok, err := parseToken("0x" + pmValue(t, line, "token"))
	if err != nil {
		t.Fatalf("token in %q: %v", line, err)
	}
	return tok
}

// TestPMMonitorJSON checks the --json lines of monitor.
func TestPMMonitorJSON(t *testing.T) {
	l := newPMCLILab(t, nstest.LabOptions{Paths: 2})
	ours := pmStartMonitor(t, l.Client, "--json")
	pmProbe(t, l.Client, ours)
	_, local := l.connect()

	line := pmWaitLine(t, "monitor --json", ours, `"type":"established"`)
	var ev map[string]any
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatalf("decode %q: %v", line, err)
	}
	if ev["sport"] != float64(local.Port()) {
		t.Errorf("sport = %v, want %d", ev["sport"], local.Port())
	}
	if ev["saddr"] != local.Addr().String() {
		t.Errorf("saddr = %v, want %s", ev["saddr"], local.Addr())
	}
	if tok, _ := ev["token"].(string); len(tok) != 8 {
		t.Errorf("token = %v, want 8 hex digits", ev["token"])
	}
	if _, ok := ev["backup"]; ok {
		t.Errorf("established event has backup, which the kernel does not send")
	}
}

func itoa(v uint16) string { return strconv.Itoa(int(v)) }
