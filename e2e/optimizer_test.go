package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// writeScript writes an executable shell script into the test's
// directory and returns its path.
func writeScript(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "optimizer.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// capAllButFirst caps every subflow but the first (the initial one) at 10
// segments.
const capAllButFirst = `n=$(grep -o '"cookie"' | wc -l)
out="0"
i=1
while [ "$i" -lt "$n" ]; do out="$out,10"; i=$((i+1)); done
echo "[$out]"
`

// TestOptimizerCapsCwnd checks that caps printed by the optimizer program
// show up as snd_cwnd <= cap in inet_diag on the capped subflow only.
func TestOptimizerCapsCwnd(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	prog := writeScript(t, capAllButFirst)
	d, _ := labDaemon(t, lab.Client, "--optimizer", prog, "--optimizer-interval", "100ms")
	mptcpServer(t, lab.Server, "7130")
	conn := mptcpDial(t, lab.Client, serverAddr(lab, 7130))
	s := startSender(conn)
	defer s.halt(t)
	path1 := lab.Paths[1].ClientAddr

	waitFor(t, 10*time.Second, "snd_cwnd <= 10 on the path 1 subflow", d, func() bool {
		for _, sf := range liveSubflows(t, lab.Client) {
			if sf.ID.Src.Addr().Unmap() == path1 && sf.Info != nil && sf.Info.SndCwnd <= 10 {
				return true
			}
		}
		return false
	})
	time.Sleep(500 * time.Millisecond)
	for _, sf := range liveSubflows(t, lab.Client) {
		capped := sf.ID.Src.Addr().Unmap() == path1
		if capped && sf.Info.SndCwnd > 10 {
			t.Errorf("capped subflow %s has snd_cwnd %d, want <= 10", sf.ID.Src, sf.Info.SndCwnd)
		}
		if !capped && sf.Info.SndCwnd <= 10 && sf.Info.SndSsthresh <= 10 {
			t.Errorf("uncapped subflow %s has snd_cwnd %d and ssthresh %d", sf.ID.Src, sf.Info.SndCwnd, sf.Info.SndSsthresh)
		}
	}
}

// TestOptimizerFailuresIgnored runs optimizers that hang, print garbage
// or fail: each round is logged with the reason and skipped, and the
// daemon keeps managing subflows.
func TestOptimizerFailuresIgnored(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"hang", "exec sleep 30\n", "timed out"},
		{"garbage", "echo 'caps: lots'\n", "invalid output"},
		{"exit", "echo oops >&2; exit 3\n", "failed"},
		{"count", "echo '[1,2,3,4,5,6,7,8,9]'\n", "caps for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
			prog := writeScript(t, "cat >/dev/null\n"+tc.body)
			d, _ := labDaemon(t, lab.Client, "--optimizer", prog,
				"--optimizer-interval", "100ms", "--optimizer-timeout", "300ms")
			mptcpServer(t, lab.Server, "7131")
			conn := mptcpDial(t, lab.Client, serverAddr(lab, 7131))
			s := startSender(conn)
			waitFor(t, 5*time.Second, "2 subflows despite the optimizer", d, func() bool {
				return len(liveSubflows(t, lab.Client)) == 2
			})
			waitFor(t, 5*time.Second, "the optimizer failure in the log", d, func() bool {
				return strings.Contains(d.logText(), "optimizer run failed")
			})
			s.halt(t)
			mustContain(t, d.logText(), tc.want, "daemon log")
			start := time.Now()
			if err := d.stop(t); err != nil {
				t.Errorf("daemon exit: %v", err)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("daemon took %s to stop with a %s optimizer", took, tc.name)
			}
		})
	}
}
