package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConnections(t *testing.T) {
	c := dialFake(t, newFake())
	conns, err := c.Connections()
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) != 1 || len(conns[0].Subflows) != 1 {
		t.Fatalf("got %d connections, want 1 with 1 subflow", len(conns))
	}
	sf := conns[0].Subflows[0]
	if sf.Local != netip.MustParseAddrPort("10.200.2.1:40001") {
		t.Errorf("subflow local %s, want 10.200.2.1:40001", sf.Local)
	}
	if sf.LocalID != 2 || sf.SRTTUs != 1200 {
		t.Errorf("subflow id %d srtt %d, want 2 and 1200", sf.LocalID, sf.SRTTUs)
	}
}

func TestAddressRoundTrip(t *testing.T) {
	f := newFake()
	c := dialFake(t, f)
	a := netip.MustParseAddr("10.200.3.1")
	if err := c.AddAddress(a); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Addresses) != 1 || st.Addresses[0] != a {
		t.Errorf("status addresses %v, want [%s]", st.Addresses, a)
	}
	if err := c.RemoveAddress(a); err != nil {
		t.Fatal(err)
	}
	err = c.RemoveAddress(a)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove: %v, want ErrNotFound", err)
	}
}

func TestSetOption(t *testing.T) {
	c := dialFake(t, newFake())
	if err := c.SetOption("policy", "backup"); err != nil {
		t.Fatal(err)
	}
	st, _ := c.Status()
	if st.Policy != "backup" {
		t.Errorf("policy %q after set_option, want backup", st.Policy)
	}
	if err := c.SetOption("nope", "1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown option: %v, want ErrNotFound", err)
	}
}

func TestCreateSubflow(t *testing.T) {
	f := newFake()
	c := dialFake(t, f)
	req := SubflowRequest{Token: 7, Local: netip.MustParseAddr("::ffff:10.200.2.1"),
		Remote: netip.MustParseAddrPort("10.200.1.2:5201")}
	if err := c.CreateSubflow(req); err != nil {
		t.Fatal(err)
	}
	if len(f.created) != 1 || f.created[0].Local != netip.MustParseAddr("10.200.2.1") {
		t.Errorf("handler got %+v, want one request from unmapped 10.200.2.1", f.created)
	}
	for name, bad := range map[string]SubflowRequest{
		"no token":   {Local: req.Local, Remote: req.Remote},
		"no port":    {Token: 7, Local: req.Local, Remote: netip.MustParseAddrPort("10.200.1.2:0")},
		"mixed":      {Token: 7, Local: netip.MustParseAddr("fd00::1"), Remote: req.Remote},
		"no address": {Token: 7, Remote: req.Remote},
	} {
		if err := c.CreateSubflow(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

// rawCall sends line on a new connection and returns the response line.
func rawCall(t *testing.T, path, line string) Response {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	conn.(*net.UnixConn).CloseWrite()
	b, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		t.Fatalf("read response to %.40q: %v", line, err)
	}
	var resp Response
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatalf("response %q: %v", b, err)
	}
	return resp
}

func TestMalformedRequests(t *testing.T) {
	path := serveFake(t, newFake())
	for name, line := range map[string]string{
		"truncated":     "{\"op\":\n",
		"not json":      "hello\n",
		"empty object":  "{}\n",
		"unknown op":    "{\"op\":\"reboot\"}\n",
		"unknown field": "{\"op\":\"status\",\"force\":true}\n",
		"two objects":   "{\"op\":\"status\"} {\"op\":\"status\"}\n",
		"wrong type":    "{\"op\":5}\n",
		"bad address":   "{\"op\":\"add_address\",\"address\":\"10.0.0.300\"}\n",
		"no key":        "{\"op\":\"set_option\"}\n",
		"bad interval":  "{\"op\":\"watch\",\"interval_ms\":1}\n",
		"too long":      "{\"op\":\"" + strings.Repeat("x", MaxRequestSize) + "\"}\n",
	} {
		resp := rawCall(t, path, line)
		if resp.Error == nil || resp.Error.Code != CodeInvalid {
			t.Errorf("%s: response %+v, want code %s", name, resp.Error, CodeInvalid)
		}
	}
	if resp := rawCall(t, path, "{\"op\":\"status\"}"); resp.Status == nil {
		t.Errorf("status after malformed requests: %+v", resp.Error)
	}
}

func TestHandlerPanic(t *testing.T) {
	f := newFake()
	f.panics = true
	c := dialFake(t, f)
	err := c.SetOption("policy", "x")
	if err == nil || !strings.Contains(err.Error(), "internal error") {
		t.Errorf("set_option on panicking handler: %v, want internal error", err)
	}
	if _, err := c.Status(); err != nil {
		t.Errorf("status after panic: %v", err)
	}
}

func TestSocketMode(t *testing.T) {
	path := serveFake(t, newFake())
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("%s is %v, want a socket", path, fi.Mode())
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("socket mode %o, want 600", perm)
	}
}

func TestSocketInUse(t *testing.T) {
	path := serveFake(t, newFake())
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Listen: %v, want in use", err)
	}
}

func TestStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	l, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen over stale socket: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.Serve(ctx, newFake())
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after Serve returned: %v, want removed", err)
	}
}

func TestNotSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	os.WriteFile(path, nil, 0o600)
	if _, err := Listen(path); err == nil {
		t.Error("Listen over a regular file succeeded")
	}
}

func TestDialMissing(t *testing.T) {
	_, err := Dial(filepath.Join(t.TempDir(), "none.sock"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Dial of missing socket: %v, want os.ErrNotExist", err)
	}
}

func TestWatch(t *testing.T) {
	c := dialFake(t, newFake())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []Update
	err := c.Watch(ctx, MinWatchInterval, func(u Update) error {
		got = append(got, u)
		if len(got) == 3 {
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d updates, want 3", len(got))
	}
	if d := got[2].Time.Sub(got[1].Time); d < MinWatchInterval/2 {
		t.Errorf("updates %v apart, want about %v", d, MinWatchInterval)
	}
	if len(got[0].Connections) != 1 {
		t.Errorf("update has %d connections, want 1", len(got[0].Connections))
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"op":"status"}`))
	f.Add([]byte(`{"op":"create_subflow","subflow":{"token":1,"local":"10.0.0.1","remote":"10.0.0.2:80"}}`))
	f.Add([]byte(`{"op":"watch","interval_ms":100}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := decodeRequest(b)
		if err != nil {
			return
		}
		if req.Op == "" {
			t.Fatal("decoded request without op")
		}
		dispatch(newFake(), req)
	})
}

func TestPathTooLong(t *testing.T) {
	path := filepath.Join(t.TempDir(), strings.Repeat("x", 100)+".sock")
	_, err := Listen(path)
	if err == nil || !strings.Contains(err.Error(), "bytes long") {
		t.Errorf("Listen with a %d-byte path: %v, want a length error", len(path), err)
	}
}
