package clamp_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/bpf/clamp"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/optimizer"
)

// connection returns the client's view of the connection to the server.
func (r *rig) connection(t *testing.T) diag.Connection {
	t.Helper()
	conns, err := r.diag.Connections(diag.Request{DstPort: serverPort})
	if err != nil {
		t.Fatalf("inet_diag: %v", err)
	}
	if len(conns) != 1 {
		t.Fatalf("%d connections to port %d, want 1", len(conns), serverPort)
	}
	return conns[0]
}

// program writes an sh script into a temporary directory.
func program(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "opt.sh")
	err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// round does what the daemon does each interval: it runs the optimizer
// on the connection and applies its caps with Set and Sync, or changes
// nothing when the optimizer fails.
func round(t *testing.T, r *rig, c *clamp.Clamper,
	run optimizer.Runner) error {
	t.Helper()
	in := optimizer.FromDiag(r.connection(t))
	caps, err := run.Run(context.Background(), in)
	if err != nil {
		return err
	}
	for i, limit := range caps {
		if err := c.Set(in.Subflows[i].Cookie, limit); err != nil {
			t.Fatalf("Set: %v", err)
		}
	}
	r.sync(t, c)
	return nil
}

// TestLabOptimizer runs optimizer programs against a live connection: one
// that caps the join subflow, one that hangs, one that prints garbage,
// and one that removes every cap.
func TestLabOptimizer(t *testing.T) {
	r := newRig(t, false)
	c := attach(t, r.cgroup)
	r.startSender(t, 8*time.Second)
	subs := r.waitSubflows(t, 2)
	join := subs[1].ID.Cookie
	const limit = 10

	good := optimizer.Runner{Program: program(t,
		`cat >/dev/null; echo '[0, 10]'`)}
	if err := round(t, r, c, good); err != nil {
		t.Fatalf("capping optimizer: %v", err)
	}
	got, ok := r.poll(t, join, time.Second,
		func(s sample) bool { return s.cwnd <= limit })
	if !ok {
		t.Fatalf("snd_cwnd = %d one second after a cap of %d", got.cwnd, limit)
	}

	hang := optimizer.Runner{Program: program(t, `sleep 30`),
		Timeout: 300 * time.Millisecond}
	start := time.Now()
	err := round(t, r, c, hang)
	var te *optimizer.TimeoutError
	if !errors.As(err, &te) {
		t.Errorf("hanging optimizer: err = %v, want *TimeoutError", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("hanging optimizer blocked the round for %v", d)
	}
	checkHolds(t, r, join, limit)

	garbage := optimizer.Runner{Program: program(t, `echo 'cap it all'`)}
	err = round(t, r, c, garbage)
	var oe *optimizer.OutputError
	if !errors.As(err, &oe) {
		t.Errorf("garbage optimizer: err = %v, want *OutputError", err)
	}
	checkHolds(t, r, join, limit)

	nocap := optimizer.Runner{Program: "../../tools/optimizers/nocap.sh"}
	if err := round(t, r, c, nocap); err != nil {
		t.Fatalf("nocap optimizer: %v", err)
	}
	got, ok = r.poll(t, join, 2*time.Second,
		func(s sample) bool { return s.cwnd > 2*limit })
	if !ok {
		t.Errorf("snd_cwnd = %d two seconds after nocap, want above %d",
			got.cwnd, 2*limit)
	}
}
