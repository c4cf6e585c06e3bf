package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/top"
)

// topLab starts a lab with the daemon in the client namespace and a bulk
// transfer over two subflows. It returns the binary, the control socket
// path ("" when the daemon has none) and the subflows' paths.
func topLab(t *testing.T) (*nstest.Lab, string, string, []string) {
	t.Helper()
	lab := nstest.NewLab(t, nstest.LabOptions{ClientPM: "userspace"})
	bin := binary(t)
	var args []string
	sock := ""
	if runFlags(t, bin)["control-socket"] {
		sock = filepath.Join(t.TempDir(), "control.sock")
		args = append(args, "--control-socket", sock)
	}
	startLabDaemon(t, lab.Client, bin, args...)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	bulkTransfer(ctx, t, lab, 5201)
	conn := waitSubflows(t, lab.Client, 2)
	return lab, bin, sock, subflowPaths(conn)
}

// TestTopBatchLab runs top in its text mode during a lab transfer and
// checks that every subflow shows with a send rate.
func TestTopBatchLab(t *testing.T) {
	lab, _, sock, paths := topLab(t)
	topFlags.count, topFlags.interval = 3, 300*time.Millisecond
	topFlags.netns = lab.Client.Path()
	if sock != "" {
		topFlags.netns, topFlags.socket, topFlags.source = "", sock, "daemon"
	}
	defer resetTopFlags()
	var b bytes.Buffer
	topCmd.SetOut(&b)
	defer topCmd.SetOut(nil)
	if err := runTop(topCmd, nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Logf("\n%s", out)
	last := out[strings.LastIndex(out, "TOKEN"):]
	for _, p := range paths {
		if !strings.Contains(last, p) {
			t.Errorf("last table lacks subflow %s", p)
		}
	}
	if !regexp.MustCompile(`[0-9.]+[kMG]b/s`).MatchString(last) {
		t.Errorf("last table shows no send rate above 1 kb/s")
	}
	if sock != "" && !strings.Contains(out, "  daemon  ") {
		t.Errorf("title does not name the daemon source")
	}
}

func TestTopJSONLab(t *testing.T) {
	lab, _, _, paths := topLab(t)
	topFlags.count, topFlags.interval, topFlags.json = 2, 300*time.Millisecond, true
	topFlags.netns = lab.Client.Path()
	defer resetTopFlags()
	var b bytes.Buffer
	topCmd.SetOut(&b)
	defer topCmd.SetOut(nil)
	if err := runTop(topCmd, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	var s top.Snapshot
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Subflows) != len(paths) {
		t.Fatalf("%d subflows in JSON, want %d", len(s.Subflows), len(paths))
	}
	for _, r := range s.Subflows {
		if r.SendRate <= 0 {
			t.Errorf("subflow %s send rate %v, want > 0", r.Local, r.SendRate)
		}
	}
}

func resetTopFlags() {
	topFlags.count, topFlags.interval, topFlags.json = 0, time.Second, false
	topFlags.netns, topFlags.source = "", "auto"
	topFlags.socket = ""
}

// ansi matches the escape sequences a terminal UI writes.
var ansi = regexp.MustCompile(`\x1b(\[[0-9;?<=>]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78]|\][^\x07]*\x07)`)

// TestTopTerminalLab runs the binary's interactive view in a
// pseudo-terminal during a lab transfer, checks that it draws every
// subflow, and quits it with q.
func TestTopTerminalLab(t *testing.T) {
	lab, bin, sock, paths := topLab(t)
	args := []string{"top", "--interval", "200ms"}
	if sock != "" {
		args = append(args, "--socket", sock)
	}
	cmd := lab.Client.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var mu sync.Mutex
	var raw bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			mu.Lock()
			raw.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	screen := func() string {
		mu.Lock()
		defer mu.Unlock()
		return ansi.ReplaceAllString(raw.String(), "")
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !containsAll(screen(), paths) {
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range paths {
		if !strings.Contains(screen(), p) {
			t.Errorf("terminal view never drew subflow %s", p)
		}
	}
	if !strings.Contains(screen(), "q quit") {
		t.Error("terminal view lacks its key help")
	}
	tty.Write([]byte("q"))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("top exit: %v", err)
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Error("top did not quit on q within 5s")
	}
	if t.Failed() {
		t.Logf("screen output:\n%q", screen())
	}
}

func containsAll(s string, subs []string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
