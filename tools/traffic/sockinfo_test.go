package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

var update = flag.Bool("update", false,
	"rewrite testdata/mptcp_info.* from the running kernel")

const (
	goldenInfo    = "testdata/mptcp_info.bin"
	goldenDecoded = "testdata/mptcp_info.json"
)

// TestMPTCPInfoLive reads mptcp_info from a real connection that sent
// 1000 bytes and, with -update, stores it as golden bytes.
func TestMPTCPInfoLive(t *testing.T) {
	ns := nstest.NewNS(t, "trfinfo")
	nstest.RequireMPTCP(t)
	var ln net.Listener
	err := ns.Do(func() (err error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		ln, err = lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()

	var c *net.TCPConn
	err = ns.Do(func() error {
		var d net.Dialer
		d.SetMultipathTCP(true)
		nc, err := d.Dial("tcp", ln.Addr().String())
		if err == nil {
			c = nc.(*net.TCPConn)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := waitDrained(c, 5*time.Second); err != nil {
		t.Fatal(err)
	}

	raw, err := rawMPTCPInfo(c)
	if err != nil {
		t.Fatal(err)
	}
	info, err := parseMPTCPInfo(raw)
	if err != nil {
		t.Fatal(err)
	}
	if info.BytesAcked != 1000 {
		t.Errorf("bytes_acked = %d, want 1000", info.BytesAcked)
	}
	if info.BytesSent != 1000 {
		t.Errorf("bytes_sent = %d, want 1000", info.BytesSent)
	}
	if info.Subflows != 1 {
		t.Errorf("subflows = %d, want 1", info.Subflows)
	}
	if info.Token == 0 {
		t.Errorf("token = 0, want the connection's token")
	}
	if *update {
		writeGolden(t, raw, info)
	}
}

func writeGolden(t *testing.T, raw []byte, info MPTCPInfo) {
	t.Helper()
	js, err := json.MarshalIndent(info, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(goldenInfo), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenInfo, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenDecoded, append(js, '\n'),
		0o644); err != nil {
		t.Fatal(err)
	}
}

func TestParseMPTCPInfoGolden(t *testing.T) {
	raw, err := os.ReadFile(goldenInfo)
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(goldenDecoded)
	if err != nil {
		t.Fatal(err)
	}
	var want MPTCPInfo
	if err := json.Unmarshal(js, &want); err != nil {
		t.Fatal(err)
	}
	got, err := parseMPTCPInfo(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("parse golden = %+v, want %+v", got, want)
	}
}

func TestParseMPTCPInfoShort(t *testing.T) {
	if _, err := parseMPTCPInfo(make([]byte, 79)); err == nil {
		t.Error("79 bytes parsed without error, want error")
	}
}

func FuzzParseMPTCPInfo(f *testing.F) {
	if raw, err := os.ReadFile(goldenInfo); err == nil {
		f.Add(raw)
	}
	f.Add(make([]byte, 80))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := parseMPTCPInfo(b)
		if (err != nil) != (len(b) < 80) {
			t.Fatalf("len %d: err = %v", len(b), err)
		}
		if err != nil {
			return
		}
		// A field changed in the input must show in the output.
		b2 := bytes.Clone(b)
		b2[72]++
		info2, _ := parseMPTCPInfo(b2)
		if info2.BytesAcked == info.BytesAcked {
			t.Errorf("bytes_acked ignores byte 72")
		}
	})
}
