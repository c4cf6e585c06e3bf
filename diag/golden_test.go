package diag

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "capture replies from the running kernel into testdata/*.nl and rewrite the *.json goldens")

// decodedMsg is one message of a capture, in the golden JSON form.
type decodedMsg struct {
	TCP   *TCPSocket   `json:"tcp,omitempty"`
	MPTCP *MPTCPSocket `json:"mptcp,omitempty"`
	Error string       `json:"error,omitempty"`
	Done  bool         `json:"done,omitempty"`
}

// decodeCapture decodes a stream of netlink messages as captured from a
// sock_diag socket.
func decodeCapture(b []byte, protocol uint16) ([]decodedMsg, error) {
	var out []decodedMsg
	var td tcpDecoder
	var md mptcpDecoder
	var a arena
	var it msgIter
	it.reset(b)
	for it.next() {
		switch it.typ {
		case unix.NLMSG_DONE:
			m := decodedMsg{Done: true}
			if err := doneError("dump", it.payload); err != nil {
				m.Error = err.Error()
			}
			out = append(out, m)
		case unix.NLMSG_ERROR:
			m := decodedMsg{Done: true}
			if err := ackError("request", it.flags, it.payload); err != nil {
				m = decodedMsg{Error: err.Error()}
			}
			out = append(out, m)
		case sockDiagByFamily:
			m, err := decodeOne(&td, &md, &a, protocol, it.payload)
			if err != nil {
				return out, err
			}
			out = append(out, m)
		}
	}
	if it.err {
		return out, errMalformed("capture", len(b))
	}
	return out, nil
}

func decodeOne(td *tcpDecoder, md *mptcpDecoder, a *arena, protocol uint16, p []byte) (decodedMsg, error) {
	if protocol == ipprotoMPTCP {
		s, err := md.decode(p)
		if err != nil {
			return decodedMsg{}, err
		}
		v := a.cloneMPTCP(s)
		return decodedMsg{MPTCP: &v}, nil
	}
	s, err := td.decode(p)
	if err != nil {
		return decodedMsg{}, err
	}
	v := a.cloneTCP(s)
	return decodedMsg{TCP: &v}, nil
}

// goldenProtocol returns the protocol a capture holds, from its name.
func goldenProtocol(name string) uint16 {
	if strings.HasPrefix(filepath.Base(name), "mptcp") {
		return ipprotoMPTCP
	}
	return ipprotoTCP
}

// TestGoldenDecode decodes every capture in testdata and compares the
// result with its JSON golden. It needs no privileges.
func TestGoldenDecode(t *testing.T) {
	files, err := filepath.Glob("testdata/*.nl")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no captures in testdata; run go test -run TestGoldenCapture -update as root")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".nl")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := decodeCapture(raw, goldenProtocol(f))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			got, err := json.MarshalIndent(msgs, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".nl") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
				t.Errorf("decoded %s differs from its golden JSON:\n%s", f, firstDiff(string(want), string(got)))
			}
		})
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) && i < len(gl); i++ {
		if wl[i] != gl[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, wl[i], gl[i])
		}
	}
	return fmt.Sprintf("length differs: want %d lines, got %d", len(wl), len(gl))
}

// loadCapture decodes testdata/name.nl.
func loadCapture(t *testing.T, name string) []decodedMsg {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".nl"))
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := decodeCapture(raw, goldenProtocol(name))
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return msgs
}

// TestGoldenFacts checks facts about the captures that hold for any run:
// two subflows carrying the MPTCP socket's token, with the layout sizes of
// Linux 6.18.
func TestGoldenFacts(t *testing.T) {
	for _, v := range []string{"4", "6"} {
		t.Run("ipv"+v, func(t *testing.T) {
			msks := loadCapture(t, "mptcp"+v+"_client")
			subs := loadCapture(t, "tcp"+v+"_client")
			if len(msks) != 2 || msks[0].MPTCP == nil || !msks[1].Done {
				t.Fatalf("MPTCP capture: %d messages, want one socket and DONE", len(msks))
			}
			m := msks[0].MPTCP
			if m.Info == nil || m.Info.Len != mptcpInfoSize {
				t.Fatalf("mptcp_info %+v, want %d bytes", m.Info, mptcpInfoSize)
			}
			if m.Info.SubflowsTotal != 2 {
				t.Errorf("subflows_total %d, want 2", m.Info.SubflowsTotal)
			}
			if m.Info.Flags&MPTCPInfoFlagRemoteKeyReceived == 0 {
				t.Errorf("mptcp_info flags %#x without remote key received", m.Info.Flags)
			}
			checkSubflows(t, subs, m.Info.Token)
		})
	}
	t.Run("unknown token", func(t *testing.T) {
		msgs := loadCapture(t, "mptcp_token_unknown")
		if len(msgs) != 1 || !strings.Contains(msgs[0].Error, unix.ENOENT.Error()) {
			t.Errorf("unknown token capture %+v, want one ENOENT error", msgs)
		}
	})
}

func checkSubflows(t *testing.T, msgs []decodedMsg, token uint32) {
	t.Helper()
	flags := map[uint32]bool{}
	for _, m := range msgs {
		if m.TCP == nil || m.TCP.Subflow == nil {
			continue
		}
		s := m.TCP
		if s.Subflow.LocalToken != token {
			t.Errorf("subflow %s token %#x, want %#x", s.ID.Src, s.Subflow.LocalToken, token)
		}
		if s.Info == nil || s.Info.Len != tcpInfoSize {
			t.Errorf("subflow %s tcp_info %d bytes, want %d", s.ID.Src, s.Info.Len, tcpInfoSize)
		}
		if !s.Subflow.HasMapping {
			t.Errorf("subflow %s without mapping fields, captured as root", s.ID.Src)
		}
		flags[s.Subflow.Flags] = true
	}
	// The initial subflow is MP_CAPABLE both ways, the join was made by
	// this host; both fully established and connected.
	for _, f := range []uint32{0xc3, 0xcc} {
		if !flags[f] {
			t.Errorf("no subflow with flags %#x; have %v", f, flags)
		}
	}
}

// TestGoldenCapture rewrites testdata from the running kernel when -update
// is given.
func TestGoldenCapture(t *testing.T) {
	if !*update {
		t.Skip("run with -update as root to capture new replies")
	}
	for _, v6 := range []bool{false, true} {
		v := "4"
		fam := uint8(unix.AF_INET)
		if v6 {
			v, fam = "6", unix.AF_INET6
		}
		tr := startTransfer(t, v6, 1<<20)
		client := dialNS(t, tr.lab.Client)
		server := dialNS(t, tr.lab.Server)
		waitSubflows(t, client, 2)
		tr.pause()
		waitIdle(t, client, server)

		capture(t, client, "tcp"+v+"_client", func(c *Conn) error {
			_, err := c.DumpTCP(Request{Family: fam})
			return err
		})
		capture(t, client, "mptcp"+v+"_client", func(c *Conn) error {
			_, err := c.DumpMPTCP(Request{Family: fam})
			return err
		})
		all := Request{Family: fam, States: AllStates}
		capture(t, server, "tcp"+v+"_server", func(c *Conn) error {
			_, err := c.DumpTCP(all)
			return err
		})
		capture(t, server, "mptcp"+v+"_server", func(c *Conn) error {
			_, err := c.DumpMPTCP(all)
			return err
		})
		if v6 {
			continue
		}
		conns, err := client.Connections(Request{})
		if err != nil || len(conns) != 1 {
			t.Fatalf("Connections: %v, %d connections", err, len(conns))
		}
		capture(t, client, "mptcp_token", func(c *Conn) error {
			_, err := c.LookupMPTCP(conns[0].Info.Token)
			return err
		})
		capture(t, client, "mptcp_token_unknown", func(c *Conn) error {
			_, err := c.LookupMPTCP(conns[0].Info.Token + 1)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		})
	}
}

// capture runs fn with c's datagrams recorded into testdata/name.nl and
// writes the decoded form into testdata/name.json.
func capture(t *testing.T, c *Conn, name string, fn func(*Conn) error) {
	t.Helper()
	var buf bytes.Buffer
	c.capture = func(b []byte) { buf.Write(b) }
	err := fn(c)
	c.capture = nil
	if err != nil {
		t.Fatalf("capture %s: %v", name, err)
	}
	base := filepath.Join("testdata", name)
	if err := os.WriteFile(base+".nl", buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	msgs, err := decodeCapture(buf.Bytes(), goldenProtocol(name))
	if err != nil {
		t.Fatalf("decode capture %s: %v", name, err)
	}
	js, err := json.MarshalIndent(msgs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".json", append(js, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("captured %s: %d bytes, %d messages", name, buf.Len(), len(msgs))
}
