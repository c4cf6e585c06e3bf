// Package nstest creates network namespaces and MPTCP test topologies for
// integration tests that run against the real kernel.
//
// Every namespace gets a unique name and is deleted by t.Cleanup, also when
// the test fails. Processes left in a namespace are killed before it goes.
package nstest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Require skips the test when ok is false, or fails it when the CI
// environment variable is "true", because CI machines must run every test.
func Require(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and a requirement is not met: %s", msg)
	}
	t.Skip(msg)
}

// RequireRoot skips (or fails under CI=true) unless the test runs as root
// and the ip command from iproute2 is installed.
func RequireRoot(t testing.TB) {
	t.Helper()
	Require(t, os.Geteuid() == 0, "needs root (CAP_NET_ADMIN, CAP_BPF): run as root or with sudo")
	_, err := exec.LookPath("ip")
	Require(t, err == nil, "needs the ip command from iproute2")
}

// RequireMPTCP skips (or fails under CI=true) unless the kernel has MPTCP
// enabled in the current network namespace.
func RequireMPTCP(t testing.TB) {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/mptcp/enabled")
	Require(t, err == nil && strings.TrimSpace(string(b)) == "1",
		"needs MPTCP: kernel built with CONFIG_MPTCP and net.mptcp.enabled=1")
}

var counter atomic.Uint64

// NS is a network namespace created for one test.
type NS struct {
	Name string
}

// NewNS creates a network namespace whose name starts with prefix and is
// unique on the machine, brings its loopback up and deletes it at cleanup.
func NewNS(t testing.TB, prefix string) *NS {
	t.Helper()
	RequireRoot(t)
	name := fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), counter.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	ns := &NS{Name: name}
	t.Cleanup(ns.delete)
	ns.Run(t, "ip", "link", "set", "lo", "up")
	return ns
}

func (ns *NS) delete() {
	out, _ := exec.Command("ip", "netns", "pids", ns.Name).Output()
	for _, f := range strings.Fields(string(out)) {
		var pid int
		// Never the caller itself: one of its threads may have
		// entered the namespace.
		if _, err := fmt.Sscan(f, &pid); err == nil && pid != os.Getpid() {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	_ = exec.Command("ip", "netns", "delete", ns.Name).Run()
}

// Path returns the bind-mounted namespace file, /run/netns/NAME.
func (ns *NS) Path() string { return "/run/netns/" + ns.Name }

// Command returns cmd prepared to run inside the namespace through
// "ip netns exec".
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Run runs a command inside the namespace and returns its standard output.
// It fails the test when the command fails.
func (ns *NS) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := ns.Output(name, args...)
	if err != nil {
		t.Fatalf("in netns %s: %s %s: %v", ns.Name, name, strings.Join(args, " "), err)
	}
	return out
}

// Output runs a command inside the namespace and returns its standard
// output; the error includes the command's standard error.
func (ns *NS) Output(name string, args ...string) (string, error) {
	cmd := ns.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Do runs fn on a locked OS thread switched into the namespace. Sockets that
// fn opens stay in the namespace after Do returns.
func (ns *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- fmt.Errorf("get current netns: %w", err)
			return
		}
		defer orig.Close()
		h, err := netns.GetFromName(ns.Name)
		if err != nil {
			errc <- fmt.Errorf("open netns %s: %w", ns.Name, err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- fmt.Errorf("enter netns %s: %w", ns.Name, err)
			return
		}
		errc <- fn()
		// A thread that cannot go back stays locked, so the runtime
		// ends it with this goroutine and never reuses it.
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return <-errc
}

// Sysctl sets key (dotted form, e.g. net.mptcp.pm_type) to value inside the
// namespace.
func (ns *NS) Sysctl(t testing.TB, key, value string) {
	t.Helper()
	ns.Run(t, "sysctl", "-q", "-w", key+"="+value)
}
