package clamp_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/bpf/clamp"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// testCgroup creates a cgroup v2 directory of its own under the cgroup2
// mount and removes it at cleanup.
func testCgroup(t *testing.T) string {
	t.Helper()
	nstest.RequireRoot(t)
	root, err := clamp.RootCgroup()
	nstest.Require(t, err == nil, "needs a cgroup2 mount: %v", err)

	name := strings.ReplaceAll(t.Name(), "/", "-")
	dir := filepath.Join(root, fmt.Sprintf("mbpt-clamp-%d-%s", os.Getpid(),
		name))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("create cgroup: %v", err)
	}
	t.Cleanup(func() { removeCgroup(t, dir, root) })
	return dir
}

// removeCgroup moves processes left in dir to root, then removes dir; a
// cgroup with members cannot be removed.
func removeCgroup(t *testing.T, dir, root string) {
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	for _, pid := range splitLines(b) {
		_ = os.WriteFile(filepath.Join(root, "cgroup.procs"), []byte(pid), 0)
	}
	if err := os.Remove(dir); err != nil {
		t.Errorf("remove cgroup %s: %v", dir, err)
	}
}

func splitLines(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == '\n' {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}

func TestAttachNotCgroup(t *testing.T) {
	_, err := clamp.Attach(t.TempDir())
	if !errors.Is(err, clamp.ErrNoCgroup2) {
		t.Errorf("err = %v, want ErrNoCgroup2", err)
	}
}

func TestAttachSetClose(t *testing.T) {
	dir := testCgroup(t)
	c, err := clamp.Attach(dir)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if c.Cgroup() != dir {
		t.Errorf("Cgroup = %q, want %q", c.Cgroup(), dir)
	}

	if err := c.Set(42, 10); err != nil {
		t.Errorf("Set: %v", err)
	}
	if err := c.Set(43, clamp.MaxCap+1); err == nil {
		t.Errorf("Set above MaxCap: no error")
	}
	if err := c.Clear(44); err != nil {
		t.Errorf("Clear of a cookie without cap: %v", err)
	}

	applied, err := c.Applied()
	if err != nil {
		t.Errorf("Applied: %v", err)
	}
	if len(applied) != 0 {
		t.Errorf("Applied = %v with no subflow, want none", applied)
	}

	start := time.Now()
	if err := c.Sync(); err != nil {
		t.Errorf("Sync: %v", err)
	}
	t.Logf("Sync over this namespace's TCP sockets took %v", time.Since(start))

	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := c.Set(42, 10); err == nil {
		t.Errorf("Set after Close: no error")
	}
}
