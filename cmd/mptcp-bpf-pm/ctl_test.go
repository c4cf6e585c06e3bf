package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/control"
)

// ctlFake is a control.Handler that records calls.
type ctlFake struct {
	mu    sync.Mutex
	calls []string
}

func (f *ctlFake) record(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *ctlFake) Status() control.Status {
	return control.Status{PID: 7, Version: "v1", Mode: "userspace", Policy: "fullmesh",
		StartTime: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC),
		Addresses: []netip.Addr{netip.MustParseAddr("10.200.0.1")},
		Options:   map[string]string{"max-subflows": "8"}}
}

func (f *ctlFake) Connections() []control.Connection {
	remote := netip.MustParseAddrPort("10.200.0.2:5201")
	return []control.Connection{{Token: 0xae3b0b6e, Local: netip.MustParseAddrPort("10.200.0.1:48318"),
		Remote: remote, Established: true, Managed: true,
		Subflows: []control.Subflow{
			{Local: netip.MustParseAddrPort("10.200.0.1:48318"), Remote: remote, State: "established",
				SRTTUs: 120, SndCwnd: 264, BytesAcked: 931_000_000},
			{Local: netip.MustParseAddrPort("10.200.1.1:54487"), Remote: remote, LocalID: 1,
				Backup: true, State: "established", SRTTUs: 90, SndCwnd: 256, TotalRetrans: 3},
		}}}
}

func (f *ctlFake) AddAddress(a netip.Addr) error {
	f.record("add " + a.String())
	return nil
}

func (f *ctlFake) RemoveAddress(a netip.Addr) error {
	return fmt.Errorf("address %s is not in use: %w", a, control.ErrNotFound)
}

func (f *ctlFake) SetOption(k, v string) error {
	f.record("set " + k + "=" + v)
	return nil
}

func (f *ctlFake) CreateSubflow(s control.SubflowRequest) error {
	f.record(fmt.Sprintf("subflow %x %s %s %v", s.Token, s.Local, s.Remote, s.Backup))
	return nil
}

// serveCtlFake serves a fake handler and points --socket at it.
func serveCtlFake(t *testing.T) (*ctlFake, string) {
	t.Helper()
	f := &ctlFake{}
	path := filepath.Join(t.TempDir(), "control.sock")
	l, err := control.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		l.Serve(ctx, f)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		ctlFlags.socket, ctlFlags.json, ctlFlags.backup = "", false, false
	})
	return f, path
}

func TestCtlConnections(t *testing.T) {
	_, sock := serveCtlFake(t)
	out, err := execute(t, "ctl", "--socket", sock, "connections")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out)
	for _, want := range []string{"ae3b0b6e  10.200.0.1:48318 -> 10.200.0.2:5201  client  established  2 subflows",
		"931MB", "10.200.1.1:54487"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for i, line := range strings.Split(out, "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("line %d has %d columns, want at most 80", i+1, n)
		}
	}
}

func TestCtlConnectionsJSON(t *testing.T) {
	_, sock := serveCtlFake(t)
	out, err := execute(t, "ctl", "--socket", sock, "connections", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var conns []control.Connection
	if err := json.Unmarshal([]byte(out), &conns); err != nil {
		t.Fatal(err)
	}
	if len(conns) != 1 || len(conns[0].Subflows) != 2 || !conns[0].Subflows[1].Backup {
		t.Errorf("decoded %+v, want one connection with a backup second subflow", conns)
	}
}

func TestCtlStatus(t *testing.T) {
	_, sock := serveCtlFake(t)
	out, err := execute(t, "ctl", "--socket", sock, "status")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pid                  7\n", "addresses            10.200.0.1\n", "option max-subflows  8\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
}

func TestCtlChanges(t *testing.T) {
	f, sock := serveCtlFake(t)
	for _, args := range [][]string{
		{"add-address", "10.200.2.1"},
		{"set", "policy", "backup"},
		{"subflow", "0xae3b0b6e", "10.200.1.1", "10.200.0.2:5201", "--backup"},
	} {
		if _, err := execute(t, append([]string{"ctl", "--socket", sock}, args...)...); err != nil {
			t.Errorf("ctl %v: %v", args, err)
		}
	}
	want := []string{"add 10.200.2.1", "set policy=backup", "subflow ae3b0b6e 10.200.1.1 10.200.0.2:5201 true"}
	if strings.Join(f.calls, "|") != strings.Join(want, "|") {
		t.Errorf("handler calls %q, want %q", f.calls, want)
	}
	_, err := execute(t, "ctl", "--socket", sock, "remove-address", "10.200.9.1")
	if !errors.Is(err, control.ErrNotFound) {
		t.Errorf("remove of unused address: %v, want ErrNotFound", err)
	}
}

func TestCtlUsage(t *testing.T) {
	_, sock := serveCtlFake(t)
	for _, args := range [][]string{
		{"add-address", "10.200.2.300"},
		{"subflow", "0", "10.200.1.1", "10.200.0.2:5201"},
		{"subflow", "7", "10.200.1.1", "10.200.0.2"},
		{"set", "policy"},
	} {
		_, err := execute(t, append([]string{"ctl", "--socket", sock}, args...)...)
		var ue usageError
		if !asUsage(err, &ue) {
			t.Errorf("ctl %v: %v, want a usage error", args, err)
		}
	}
}

func TestCtlNoDaemon(t *testing.T) {
	_, err := execute(t, "ctl", "--socket", filepath.Join(t.TempDir(), "none.sock"), "status")
	if err == nil || !strings.Contains(err.Error(), "no daemon listens") {
		t.Errorf("ctl without daemon: %v, want no daemon listens", err)
	}
	ctlFlags.socket = ""
}
