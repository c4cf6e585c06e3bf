package optimizer_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/optimizer"
)

// TestExamples runs the example programs of tools/optimizers.
func TestExamples(t *testing.T) {
	in := input(2)
	in.Subflows[1].Backup = true
	cases := []struct {
		program string
		want    []uint32
		needs   string
	}{
		{"../tools/optimizers/nocap.sh", []uint32{0, 0}, ""},
		{"../tools/optimizers/cap-backup.jq.sh", []uint32{0, 10}, "jq"},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.program), func(t *testing.T) {
			if c.needs != "" {
				_, err := exec.LookPath(c.needs)
				nstest.Require(t, err == nil, "needs %s", c.needs)
			}
			// A generous timeout: jq alone took 20 ms, but over 250 ms
			// on this 2-vCPU VM while other tests ran.
			r := optimizer.Runner{Program: c.program, Timeout: 2 * time.Second}
			caps, err := r.Run(context.Background(), in)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if !slices.Equal(caps, c.want) {
				t.Errorf("caps = %v, want %v", caps, c.want)
			}
		})
	}
}
