package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// daemonBin is the mptcp-bpf-pm binary built once for all tests.
var daemonBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mptcp-bpf-pm-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	daemonBin = filepath.Join(dir, "mptcp-bpf-pm")
	args := []string{"build", "-o", daemonBin}
	if os.Getenv("E2E_RACE") == "1" {
		// Build the daemon with the race detector, which then fails
		// a test through the daemon's exit status.
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../cmd/mptcp-bpf-pm")...)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build mptcp-bpf-pm:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
