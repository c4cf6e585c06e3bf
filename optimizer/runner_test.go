package optimizer_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/optimizer"
)

// script writes body as an executable sh script into a temporary
// directory and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "opt.sh")
	err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// input returns an Input with n subflows.
func input(n int) optimizer.Input {
	in := optimizer.Input{
		Version: optimizer.Version,
		Connection: optimizer.Connection{
			Token:  0xabcd0001,
			Local:  netip.MustParseAddrPort("10.200.1.1:40000"),
			Remote: netip.MustParseAddrPort("10.200.1.2:5201"),
			State:  "established",
		},
	}
	for i := range n {
		in.Subflows = append(in.Subflows, optimizer.Subflow{
			Cookie:  uint64(1000 + i),
			LocalID: uint8(i),
			SndCwnd: 10,
		})
	}
	return in
}

func run(t *testing.T, body string, n int) ([]uint32, error) {
	t.Helper()
	r := optimizer.Runner{Program: script(t, body), Timeout: 2 * time.Second}
	return r.Run(context.Background(), input(n))
}

func TestRunGood(t *testing.T) {
	caps, err := run(t, `cat >/dev/null; echo ' [0, 40 ,400]'`, 3)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if want := []uint32{0, 40, 400}; !slices.Equal(caps, want) {
		t.Errorf("caps = %v, want %v", caps, want)
	}
}

func TestRunStdin(t *testing.T) {
	dir := t.TempDir()
	saved := filepath.Join(dir, "stdin.json")
	caps, err := run(t, `cat >'`+saved+`'; echo '[7]'`, 1)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(caps) != 1 || caps[0] != 7 {
		t.Errorf("caps = %v, want [7]", caps)
	}

	b, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	var got optimizer.Input
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("stdin is not JSON: %v: %q", err, b)
	}
	want := input(1)
	if got.Connection != want.Connection {
		t.Errorf("connection = %+v, want %+v", got.Connection, want.Connection)
	}
	if !slices.Equal(got.Subflows, want.Subflows) {
		t.Errorf("subflows = %+v, want %+v", got.Subflows, want.Subflows)
	}
	if !strings.Contains(string(b), `"srtt_us":0`) {
		t.Errorf("stdin lacks srtt_us: %s", b)
	}
}

func TestRunGarbage(t *testing.T) {
	for _, out := range []string{
		`hello`, `{"caps":[1]}`, `[1, 2`, `[1] [2]`, `[1] x`, `null`, ``,
	} {
		_, err := run(t, `printf '%s' '`+out+`'`, 1)
		var oe *optimizer.OutputError
		if !errors.As(err, &oe) {
			t.Errorf("output %q: err = %v, want *OutputError", out, err)
			continue
		}
		if oe.Head != out {
			t.Errorf("output %q: Head = %q", out, oe.Head)
		}
	}
}

func TestRunGarbageHead(t *testing.T) {
	_, err := run(t, `i=0; while [ $i -lt 100 ]; do printf 'abcdefghij'; i=$((i+1)); done`, 1)
	var oe *optimizer.OutputError
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v, want *OutputError", err)
	}
	if len(oe.Head) != 200 {
		t.Errorf("len(Head) = %d, want 200", len(oe.Head))
	}
}

func TestRunOutputTooLarge(t *testing.T) {
	_, err := run(t, `head -c 100000 /dev/zero | tr '\0' ' '; echo '[1]'`, 1)
	var oe *optimizer.OutputError
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v, want *OutputError", err)
	}
	if !strings.Contains(oe.Error(), "exceeds") {
		t.Errorf("err = %v, want a size error", err)
	}
}

func TestRunWrongCount(t *testing.T) {
	_, err := run(t, `echo '[1, 2, 3]'`, 2)
	var ce *optimizer.CountError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *CountError", err)
	}
	if ce.Got != 3 {
		t.Errorf("Got = %d, want 3", ce.Got)
	}
	if ce.Want != 2 {
		t.Errorf("Want = %d, want 2", ce.Want)
	}
}

func TestRunBadCap(t *testing.T) {
	for _, v := range []string{
		`-1`, `1.5`, `1e3`, `"5"`, `null`, `true`, `[1]`,
		`1048577`, `99999999999999999999999`,
	} {
		_, err := run(t, `echo '[0, `+v+`]'`, 2)
		var ce *optimizer.CapError
		if !errors.As(err, &ce) {
			t.Errorf("value %s: err = %v, want *CapError", v, err)
			continue
		}
		if ce.Index != 1 || ce.Value != v {
			t.Errorf("value %s: Index %d Value %q", v, ce.Index, ce.Value)
		}
	}
}

func TestRunMaxCap(t *testing.T) {
	r := optimizer.Runner{Program: script(t, `echo '[1048577]'`), MaxCap: 1 << 21}
	caps, err := r.Run(context.Background(), input(1))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if caps[0] != 1048577 {
		t.Errorf("caps = %v, want [1048577]", caps)
	}
}

func TestRunExit(t *testing.T) {
	_, err := run(t, `echo '[1]'; echo 'no model loaded' >&2; exit 3`, 1)
	var ee *optimizer.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v, want *ExitError", err)
	}
	if ee.Code != 3 {
		t.Errorf("Code = %d, want 3", ee.Code)
	}
	if !strings.Contains(ee.Stderr, "no model loaded") {
		t.Errorf("Stderr = %q, want the program's message", ee.Stderr)
	}
	if got := optimizer.Reason(err); got != "exit" {
		t.Errorf("Reason = %q, want exit", got)
	}
}

func TestRunStderrTail(t *testing.T) {
	_, err := run(t, `head -c 5000 /dev/zero | tr '\0' x >&2; echo END >&2; exit 1`, 1)
	var ee *optimizer.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v, want *ExitError", err)
	}
	if len(ee.Stderr) > 512 {
		t.Errorf("len(Stderr) = %d, want at most 512", len(ee.Stderr))
	}
	if !strings.HasSuffix(ee.Stderr, "END\n") {
		tail := ee.Stderr[max(0, len(ee.Stderr)-10):]
		t.Errorf("Stderr ends %q, want the last line END", tail)
	}
}

func TestRunNotFound(t *testing.T) {
	r := optimizer.Runner{Program: filepath.Join(t.TempDir(), "missing")}
	_, err := r.Run(context.Background(), input(1))
	var ee *optimizer.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v, want *ExitError", err)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want os.ErrNotExist", err)
	}
}

// TestRunHang checks that a program and its child that ignore stdin and
// sleep are killed at the timeout, with their process group.
func TestRunHang(t *testing.T) {
	pids := filepath.Join(t.TempDir(), "pids")
	body := `sleep 30 & echo $$ $! >'` + pids + `'; echo started >&2; wait`
	r := optimizer.Runner{Program: script(t, body), Timeout: 500 * time.Millisecond}

	start := time.Now()
	_, err := r.Run(context.Background(), input(1))
	elapsed := time.Since(start)
	var te *optimizer.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want *TimeoutError", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if elapsed > 1200*time.Millisecond {
		t.Errorf("Run took %v with a 500ms timeout", elapsed)
	}
	if got := optimizer.Reason(err); got != "timeout" {
		t.Errorf("Reason = %q, want timeout", got)
	}

	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(string(b)) {
		pid, _ := strconv.Atoi(f)
		if !gone(pid, time.Second) {
			t.Errorf("process %d is still running", pid)
		}
	}
}

func TestRunCancel(t *testing.T) {
	r := optimizer.Runner{Program: script(t, `sleep 30`), Timeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)

	start := time.Now()
	_, err := r.Run(ctx, input(1))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Run took %v after a cancel at 100ms", d)
	}
}

// gone reports whether pid exits, or is a zombie waiting for its parent,
// within d.
func gone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			return true
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || zombie(string(b)) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// zombie reports whether a /proc/PID/stat line has state Z; the state
// follows the command name in parentheses.
func zombie(stat string) bool {
	i := strings.LastIndexByte(stat, ')')
	return i >= 0 && strings.HasPrefix(stat[i+1:], " Z")
}

// TestRunStrayChild checks that a child that leaves the process group
// and keeps stdout open does not hold up Run past the pipe grace time.
func TestRunStrayChild(t *testing.T) {
	_, err := exec.LookPath("setsid")
	nstest.Require(t, err == nil, "needs setsid from util-linux")
	r := optimizer.Runner{Program: script(t, `setsid sleep 2 & echo '[1]'`),
		Timeout: time.Second}

	start := time.Now()
	caps, err := r.Run(context.Background(), input(1))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !slices.Equal(caps, []uint32{1}) {
		t.Errorf("caps = %v, want [1]", caps)
	}
	if d := time.Since(start); d > 700*time.Millisecond {
		t.Errorf("Run took %v, want about 100ms", d)
	}
}
