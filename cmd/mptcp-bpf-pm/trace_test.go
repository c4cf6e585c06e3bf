package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/bpf"
)

var traceRecord = bpf.Record{
	Timestamp: 5e9, Reason: bpf.ReasonNew | bpf.ReasonState,
	Cookie: 0x5bc7, Token: 0xe1785744, LocalID: 1, RemoteID: 2,
	Family: 2, Backup: true,
	Src:  netip.MustParseAddrPort("10.200.1.1:56285"),
	Dst:  netip.MustParseAddrPort("10.200.0.2:5201"),
	SRTT: 54, RTTVar: 27, SndCwnd: 10, SndSsthresh: 0x7fffffff,
	TotalRetrans: 3, BytesAcked: 4096, TCPState: 1, CAState: 4,
}

func TestTracePrinterText(t *testing.T) {
	var out bytes.Buffer
	p := newTracePrinter(&out, false)
	p.print(&traceRecord)
	p.print(&traceRecord)

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want a header and two records:\n%s", len(lines), out.String())
	}
	if !strings.HasPrefix(lines[0], "TIME") {
		t.Errorf("header %q", lines[0])
	}
	for _, want := range []string{"0xe1785744", "0x5bc7", "10.200.1.1:56285",
		"ESTABLISHED", "Loss", "new|state", " y "} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("record line %q lacks %q", lines[1], want)
		}
	}
	if f := strings.Fields(lines[1]); f[13] != "-" {
		t.Errorf("infinite ssthresh printed as %q, want -", f[13])
	}
}

func TestTracePrinterJSON(t *testing.T) {
	var out bytes.Buffer
	newTracePrinter(&out, true).print(&traceRecord)

	var got traceJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("JSON line %q: %v", out.String(), err)
	}
	if got.Token != traceRecord.Token || got.Cookie != traceRecord.Cookie {
		t.Errorf("token %#x cookie %#x, want %#x %#x", got.Token, got.Cookie, traceRecord.Token, traceRecord.Cookie)
	}
	if got.Reason != "new|state" || got.TCPState != "ESTABLISHED" || got.CAState != "Loss" {
		t.Errorf("reason %q states %q %q", got.Reason, got.TCPState, got.CAState)
	}
	if got.Local != "10.200.1.1:56285" || got.LocalID != 1 || got.RemoteID != 2 {
		t.Errorf("local %q ids %d/%d", got.Local, got.LocalID, got.RemoteID)
	}
	if _, err := time.Parse(time.RFC3339Nano, got.Time); err != nil {
		t.Errorf("time %q: %v", got.Time, err)
	}
}

func TestTraceOptionsInvalid(t *testing.T) {
	for name, set := range map[string]func(){
		"token":     func() { traceFlags.tokens = []string{"zz"} },
		"mode":      func() { traceFlags.mode = "fentry" },
		"ring size": func() { traceFlags.ringSize = 5000 },
		"heartbeat": func() { traceFlags.heartbeat = 0 },
		"count":     func() { traceFlags.count = -1 },
		"netns":     func() { traceFlags.netns = "/nonexistent/netns" },
	} {
		saved := traceFlags
		traceFlags.heartbeat = bpf.DefaultHeartbeat
		traceFlags.ringSize = bpf.DefaultRingSize
		set()
		_, err := traceOptions()
		var ue usageError
		if !asUsage(err, &ue) {
			t.Errorf("%s: error %v, want a usage error", name, err)
		}
		traceFlags = saved
	}
}

func TestTraceOptionsTokens(t *testing.T) {
	saved := traceFlags
	defer func() { traceFlags = saved }()
	traceFlags.heartbeat = bpf.DefaultHeartbeat
	traceFlags.ringSize = bpf.DefaultRingSize
	traceFlags.tokens = []string{"0x1a2b", "42"}

	opts, err := traceOptions()
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.Tokens) != 2 || opts.Tokens[0] != 0x1a2b || opts.Tokens[1] != 42 {
		t.Errorf("tokens %v, want [0x1a2b 42]", opts.Tokens)
	}
}
