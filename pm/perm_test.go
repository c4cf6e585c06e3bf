package pm_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
	"golang.org/x/sys/unix"
)

// noNetAdminEnv marks the child process of TestPermissionDenied.
const noNetAdminEnv = "PM_TEST_NO_NET_ADMIN"

// TestPermissionDenied runs itself again in a namespace with
// CAP_NET_ADMIN removed from the bounding set. Dropping the capability
// in this process instead would leave a thread without it behind.
func TestPermissionDenied(t *testing.T) {
	if os.Getenv(noNetAdminEnv) == "1" {
		checkWithoutNetAdmin(t)
		return
	}
	_, err := exec.LookPath("setpriv")
	nstest.Require(t, err == nil, "needs setpriv from util-linux")
	ns := nstest.NewNS(t, "pmperm")
	cmd := ns.Command("setpriv", "--bounding-set=-net_admin",
		"--inh-caps=-net_admin", os.Args[0],
		"-test.run=^TestPermissionDenied$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), noNetAdminEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child without CAP_NET_ADMIN: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestPermissionDenied") {
		t.Fatalf("child without CAP_NET_ADMIN did not pass:\n%s", out)
	}
}

// checkWithoutNetAdmin expects commands that change state and joining
// the events group to fail with EPERM, and reading the limits to work.
func checkWithoutNetAdmin(t *testing.T) {
	c, err := pm.Dial(nil)
	if err != nil {
		t.Fatalf("dial without CAP_NET_ADMIN: %v", err)
	}
	defer c.Close()

	ec, err := pm.ListenEvents(nil)
	if err == nil {
		ec.Close()
	}
	if !errors.Is(err, unix.EPERM) {
		t.Errorf("listen events: %v, want EPERM", err)
	}
	err = c.Announce(1, pm.Local{ID: 1})
	if !errors.Is(err, unix.EPERM) {
		t.Errorf("announce: %v, want EPERM", err)
	}
	if err != nil && !strings.Contains(err.Error(), "needs CAP_NET_ADMIN") {
		t.Errorf("announce error %q does not name the missing capability", err)
	}
	err = c.FlushEndpoints()
	if !errors.Is(err, unix.EPERM) {
		t.Errorf("endpoint flush: %v, want EPERM", err)
	}
	if _, err := c.Limits(); err != nil {
		t.Errorf("limits: %v, want no error", err)
	}
}
