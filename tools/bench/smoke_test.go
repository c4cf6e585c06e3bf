package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// buildBinaries compiles the daemon and the traffic generator into a
// temporary directory.
func buildBinaries(t *testing.T) *config {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	dir := t.TempDir()
	c := &config{
		daemon:  filepath.Join(dir, "mptcp-bpf-pm"),
		traffic: filepath.Join(dir, "mptcp-traffic"),
		sizes:   quickSizes,
	}
	for out, pkg := range map[string]string{c.daemon: "../../cmd/mptcp-bpf-pm", c.traffic: "../traffic"} {
		if b, err := exec.Command(goBin, "build", "-o", out, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return c
}

// TestLatencySmoke runs the latency figure for the in-kernel PM and the
// daemon with five connections each, end to end in namespaces.
func TestLatencySmoke(t *testing.T) {
	nstest.RequireRoot(t)
	nstest.RequireMPTCP(t)
	c := buildBinaries(t)
	c.sizes.latencyConns = 5
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, spec := range []sysSpec{sysKernel, sysDaemon} {
		t.Run(spec.Name, func(t *testing.T) {
			run, err := measureLatency(ctx, c, spec, 2)
			if err != nil {
				t.Fatal(err)
			}
			if run.conns != 5 || run.complete != 5 {
				t.Errorf("%d of %d connections got their subflow (%s), want 5 of 5",
					run.complete, run.conns, run.hint)
			}
			if len(run.subUs) != 5 {
				t.Errorf("%d latency samples, want 5", len(run.subUs))
			}
		})
	}
}
