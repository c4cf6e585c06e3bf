package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

func statusFixture() []diag.Connection {
	ap := netip.MustParseAddrPort
	sub := func(src, dst string, loc, rem uint8, flags uint32) diag.TCPSocket {
		return diag.TCPSocket{
			Socket: diag.Socket{State: diag.StateEstablished,
				ID: diag.SockID{Src: ap(src), Dst: ap(dst)}},
			Info: &diag.TCPInfo{RTT: 19, SndCwnd: 200, BytesAcked: 28953601,
				BytesReceived: 12, TotalRetrans: 3, DeliveryRate: 482666666},
			Subflow: &diag.SubflowInfo{LocalToken: 0x145c5c70, LocalID: loc, RemoteID: rem, Flags: flags},
		}
	}
	long := "[fd00:1234:5678:9abc:def0:1234:5678:9abc]:65535"
	return []diag.Connection{{
		MPTCPSocket: diag.MPTCPSocket{
			Socket: diag.Socket{State: diag.StateEstablished,
				ID: diag.SockID{Src: ap("10.200.0.1:56042"), Dst: ap("10.200.0.2:5201")}},
			Info: &diag.MPTCPInfo{Token: 0x145c5c70, BytesSent: 33226832, BytesAcked: 33226832},
		},
		Subflows: []diag.TCPSocket{
			sub("10.200.0.1:56042", "10.200.0.2:5201", 0, 0, 0xc3),
			sub(long, long, 1, 0, 0xdc),
		},
	}}
}

func TestStatusTree(t *testing.T) {
	var b bytes.Buffer
	if err := writeStatus(&b, statusFixture()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Logf("\n%s", out)
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("line %d has %d columns, want at most 80: %q", i+1, n, line)
		}
	}
	for _, want := range []string{
		"MPTCP token 145c5c70 (341597296)  ESTAB  2 subflows",
		"10.200.0.1:56042 -> 10.200.0.2:5201",
		"sent 33.2MB",
		"├─ 10.200.0.1:56042 -> 10.200.0.2:5201",
		"0/0     no   ESTAB          0.019    200   29.0MB      12B     3  3.86Gb/s",
		"1/0     yes  ESTAB",
		"└─ [fd00:1234:5678:9abc:def0:1234:5678:9abc]:65535\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q", want)
		}
	}
}

func TestStatusTreeAligned(t *testing.T) {
	var b bytes.Buffer
	if err := writeStatus(&b, statusFixture()); err != nil {
		t.Fatal(err)
	}
	var header, row string
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, "RTT ms") {
			header = line
		}
		if strings.Contains(line, "0/0") {
			row = line
		}
	}
	// Right-aligned numeric columns end where their header ends.
	for _, col := range []string{"RTT ms", "CWND", "ACKED", "RECEIVED", "RETR", "RATE"} {
		end := strings.Index(header, col) + len(col)
		if end > len(row) || row[end-1] == ' ' {
			t.Errorf("column %s ends at %d, row there is %q", col, end, row)
		}
	}
}

func TestStatusRequest(t *testing.T) {
	statusFlags.token, statusFlags.family, statusFlags.states = "0x145c5c70", "6", []string{"established", "listen"}
	defer func() { statusFlags.token, statusFlags.family, statusFlags.states = "", "", nil }()
	req, err := statusRequest()
	if err != nil {
		t.Fatal(err)
	}
	if req.Token != 0x145c5c70 {
		t.Errorf("token %#x, want 0x145c5c70", req.Token)
	}
	if req.Family != 10 {
		t.Errorf("family %d, want 10", req.Family)
	}
	if want := diag.States(diag.StateEstablished, diag.StateListen); req.States != want {
		t.Errorf("states %#x, want %#x", req.States, want)
	}

	statusFlags.token = "zz"
	if _, err := statusRequest(); err == nil {
		t.Error("invalid token accepted")
	}
}

// TestStatusLive runs the command in a lab namespace with an MPTCP
// transfer and checks both output forms.
func TestStatusLive(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{ClientPM: "kernel"})
	lab.Client.Run(t, "ip", "mptcp", "endpoint", "add",
		lab.Paths[1].ClientAddr.String(), "dev", lab.Paths[1].ClientIf, "subflow")
	conn := statusTransfer(t, lab)
	defer conn.Close()

	statusFlags.netns = lab.Client.Path()
	defer func() { statusFlags.netns, statusFlags.json = "", false }()

	out := runStatusCmd(t)
	if !strings.Contains(out, "2 subflows") {
		t.Errorf("status output without 2 subflows:\n%s", out)
	}
	t.Logf("\n%s", out)

	statusFlags.json = true
	var conns []diag.Connection
	if err := json.Unmarshal([]byte(runStatusCmd(t)), &conns); err != nil {
		t.Fatalf("decode --json output: %v", err)
	}
	if len(conns) != 1 || len(conns[0].Subflows) != 2 {
		t.Fatalf("--json output has %d connections, want 1 with 2 subflows", len(conns))
	}
	if conns[0].Info.Token != conns[0].Subflows[1].Subflow.LocalToken {
		t.Errorf("--json token %#x, subflow token %#x", conns[0].Info.Token, conns[0].Subflows[1].Subflow.LocalToken)
	}
}

func runStatusCmd(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	statusCmd.SetOut(&b)
	defer statusCmd.SetOut(nil)
	// The kernel opens the second subflow shortly after the connection.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.Reset()
		if err := runStatus(statusCmd, nil); err != nil {
			t.Fatalf("status: %v", err)
		}
		if strings.Contains(b.String(), "2 subflows") || strings.Contains(b.String(), `"local_id": 1`) ||
			time.Now().After(deadline) {
			return b.String()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// statusTransfer opens an MPTCP connection from the lab's client to its
// server and sends 1 MB over it.
func statusTransfer(t *testing.T, lab *nstest.Lab) net.Conn {
	t.Helper()
	addr := lab.ServerAddrPort(5201).String()
	var ln net.Listener
	err := lab.Server.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })

	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()

	var conn net.Conn
	err = lab.Client.Do(func() error {
		var d net.Dialer
		d.SetMultipathTCP(true)
		var err error
		conn, err = d.Dial("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := conn.Write(make([]byte, 1<<20)); err != nil {
		t.Fatalf("write: %v", err)
	}
	return conn
}
