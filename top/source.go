package top

import (
	"context"
	"fmt"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/control"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
)

// Source delivers connection snapshots.
type Source interface {
	// Name describes the source for the title line.
	Name() string
	// Run calls fn with a snapshot about every interval until ctx is
	// done (then it returns nil), fn fails or the source fails.
	Run(ctx context.Context, interval time.Duration, fn func(control.Update) error) error
}

// DaemonSource streams snapshots from a running daemon's control socket.
type DaemonSource struct {
	Client *control.Client
}

// Name implements Source.
func (s DaemonSource) Name() string { return "daemon" }

// Run implements Source.
func (s DaemonSource) Run(ctx context.Context, interval time.Duration, fn func(control.Update) error) error {
	err := s.Client.Watch(ctx, interval, fn)
	if err != nil {
		return fmt.Errorf("daemon stream: %w", err)
	}
	return nil
}

// DiagSource polls inet_diag, for when no daemon runs. It shows every
// MPTCP connection of the namespace, with TCP state names.
type DiagSource struct {
	Conn *diag.Conn
}

// Name implements Source.
func (s DiagSource) Name() string { return "inet_diag" }

// Run implements Source.
func (s DiagSource) Run(ctx context.Context, interval time.Duration, fn func(control.Update) error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		conns, err := s.Conn.Connections(diag.Request{})
		if err != nil {
			return fmt.Errorf("dump MPTCP connections: %w", err)
		}
		now := time.Now()
		if err := fn(control.Update{Time: now, Connections: control.FromDiag(conns, now)}); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
