// Package nstest creates network namespaces and MPTCP test topologies for
// integration tests that run against the real kernel.
//
// Every namespace gets a unique name and is deleted by t.Cleanup, also when
// the test fails. Processes left in a namespace are killed before it goes.
package nstest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/netlab"
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

// NS is a network namespace created for one test.
type NS struct {
	Name string
}

// NewNS creates a network namespace whose name starts with prefix and is
// unique on the machine, brings its loopback up and deletes it at cleanup.
func NewNS(t testing.TB, prefix string) *NS {
	t.Helper()
	RequireRoot(t)
	ns, err := netlab.NewNS(prefix)
	if err != nil {
		t.Fatalf("create netns: %v", err)
	}
	t.Cleanup(ns.Delete)
	return &NS{Name: ns.Name}
}

func (ns *NS) lab() *netlab.NS { return &netlab.NS{Name: ns.Name} }

// Path returns the bind-mounted namespace file, /run/netns/NAME.
func (ns *NS) Path() string { return ns.lab().Path() }

// Command returns cmd prepared to run inside the namespace through
// "ip netns exec".
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return ns.lab().Command(name, args...)
}

// Run runs a command inside the namespace and returns its standard output.
// It fails the test when the command fails.
func (ns *NS) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := ns.Output(name, args...)
	if err != nil {
		t.Fatalf("in netns %s: %v", ns.Name, err)
	}
	return out
}

// Output runs a command inside the namespace and returns its standard
// output; the error includes the command's standard error.
func (ns *NS) Output(name string, args ...string) (string, error) {
	return ns.lab().Output(name, args...)
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
