package daemon

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/bpf/clamp"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/optimizer"
)

// optimizerState is the daemon's side of --optimizer: the runner, the BPF
// cwnd clamp and the connections whose program run is still going.
type optimizerState struct {
	runner   *optimizer.Runner
	clamper  *clamp.Clamper
	mu       sync.Mutex
	inFlight map[uint32]bool
}

// openOptimizer attaches the sock_ops clamp program when --optimizer is
// set. Without it caps cannot be applied, so a failure is fatal.
func (d *Daemon) openOptimizer() error {
	if d.cfg.Optimizer == "" {
		return nil
	}
	cl, err := d.attachClamp()
	if err != nil {
		return fmt.Errorf("attach the cwnd clamp for --optimizer: %w", err)
	}
	d.opt = &optimizerState{
		runner: &optimizer.Runner{
			Program: d.cfg.Optimizer,
			Args:    d.cfg.OptimizerArgs,
			Timeout: d.cfg.OptimizerTimeout,
		},
		clamper:  cl,
		inFlight: make(map[uint32]bool),
	}
	d.log.WithFields(logrus.Fields{"program": d.cfg.Optimizer, "interval": d.cfg.OptimizerInterval}).Info("optimizer enabled")
	return nil
}

// attachClamp attaches the clamp program to the configured cgroup, or to
// the cgroup v2 root. "ip netns exec" gives the daemon a mount namespace
// with a fresh /sys and no cgroup mounts; then the root is mounted on a
// private directory for the attach and unmounted at once, since the BPF
// link keeps its own reference to the cgroup.
func (d *Daemon) attachClamp() (*clamp.Clamper, error) {
	if d.cfg.ClampCgroup != "" {
		return clamp.Attach(d.cfg.ClampCgroup)
	}
	if root, err := clamp.RootCgroup(); err == nil {
		return clamp.Attach(root)
	}
	dir, err := os.MkdirTemp("", "mptcp-bpf-pm-cgroup2-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(dir)
	if err := unix.Mount("none", dir, "cgroup2", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return nil, fmt.Errorf("no cgroup2 mount visible and mounting one on %s failed: %w (pass --clamp-cgroup)", dir, err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	d.log.WithField("mount", dir).Debug("mounted the cgroup v2 root for the clamp attach")
	return clamp.Attach(dir)
}

// runOptimizer starts one program run per managed connection every
// OptimizerInterval. A run that has not finished by the next round keeps
// its connection out of that round, so a slow program never piles up.
func (d *Daemon) runOptimizer(ctx context.Context) error {
	t := time.NewTicker(d.cfg.OptimizerInterval)
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			for _, in := range d.optimizerInputs(now) {
				if !d.opt.claim(in.Connection.Token) {
					continue
				}
				wg.Add(1)
				go func(in optimizer.Input) {
					defer wg.Done()
					defer d.opt.release(in.Connection.Token)
					d.optimize(ctx, in)
				}(in)
			}
		}
	}
}

func (o *optimizerState) claim(token uint32) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.inFlight[token] {
		return false
	}
	o.inFlight[token] = true
	return true
}

func (o *optimizerState) release(token uint32) {
	o.mu.Lock()
	delete(o.inFlight, token)
	o.mu.Unlock()
}

// optimizerInputs builds the program input of every managed connection
// with at least one established subflow whose cookie is known.
func (d *Daemon) optimizerInputs(now time.Time) []optimizer.Input {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []optimizer.Input
	for _, c := range d.conns {
		if !c.Managed || !c.Established {
			continue
		}
		in := optimizer.Input{
			Version: optimizer.Version,
			Connection: optimizer.Connection{
				Token: c.Token, Local: c.Local, Remote: c.Remote,
				State: "established", ServerSide: c.ServerSide,
			},
		}
		for _, sf := range c.Subflows {
			if sf.State != subflowEstablished || sf.Cookie == 0 {
				continue
			}
			in.Subflows = append(in.Subflows, optimizerSubflow(now, sf))
		}
		if len(in.Subflows) > 0 {
			out = append(out, in)
		}
	}
	return out
}

// optimizerSubflow converts a subflow and advances its throughput
// baseline. The caller holds d.mu.
func optimizerSubflow(now time.Time, sf *subflow) optimizer.Subflow {
	var throughput uint64
	if !sf.optAt.IsZero() && sf.Stats.BytesAcked >= sf.optAcked {
		if dt := now.Sub(sf.optAt).Seconds(); dt > 0 {
			throughput = uint64(float64(sf.Stats.BytesAcked-sf.optAcked) / dt)
		}
	}
	sf.optAt, sf.optAcked = now, sf.Stats.BytesAcked
	return optimizer.Subflow{
		Cookie: sf.Cookie, Local: sf.Local, Remote: sf.Remote,
		LocalID: sf.LocalID, RemoteID: sf.RemoteID, Backup: sf.Backup,
		SRTT: sf.Stats.SRTTUs, SndCwnd: sf.Stats.SndCwnd, Ssthresh: sf.Stats.SndSsthresh,
		BytesAcked: sf.Stats.BytesAcked, BytesSent: sf.Stats.BytesSent,
		Retrans: sf.Stats.TotalRetrans, DeliveryRate: sf.Stats.DeliveryRate,
		Throughput: throughput, Cap: sf.Cap,
	}
}

// optimize runs the program for one connection and applies its caps. A
// failed, hung or garbled run is logged with the reason and skipped.
func (d *Daemon) optimize(ctx context.Context, in optimizer.Input) {
	token := in.Connection.Token
	caps, err := d.opt.runner.Run(ctx, in)
	if err != nil {
		if ctx.Err() == nil && d.limit.allow("optimizer", fmt.Sprint(token), optimizer.Reason(err)) {
			d.log.WithFields(logrus.Fields{"token": token, "program": d.cfg.Optimizer, "reason": optimizer.Reason(err)}).WithError(err).
				Warn("optimizer run failed, caps unchanged this round")
		}
		d.recordAction("optimizer", token, "", "", nil, err)
		return
	}
	var applied []string
	changed := false
	for i, sf := range in.Subflows {
		c, err := d.applyCap(token, sf.Cookie, caps[i])
		if err != nil {
			d.log.WithFields(logrus.Fields{"token": token, "cookie": sf.Cookie, "cap": caps[i]}).WithError(err).Warn("apply cwnd cap failed")
			continue
		}
		changed = changed || c
		applied = append(applied, fmt.Sprint(caps[i]))
	}
	// A map update alone waits for the subflow's next ACK; Sync applies
	// the caps at once, also to idle subflows.
	if changed {
		if err := d.opt.clamper.Sync(); err != nil {
			d.log.WithField("token", token).WithError(err).Warn("apply cwnd caps at once failed; they apply at the next ACK")
		}
	}
	d.recordAction("optimizer", token, "", strings.Join(applied, ","), nil, nil)
}

// applyCap sets or clears one subflow's cwnd cap and reports whether it
// changed.
func (d *Daemon) applyCap(token uint32, cookie uint64, cwndCap uint32) (bool, error) {
	d.mu.Lock()
	var sf *subflow
	if c := d.conns[token]; c != nil {
		sf = c.findCookie(cookie)
	}
	if sf == nil || sf.Cap == cwndCap {
		d.mu.Unlock()
		return false, nil
	}
	sf.Cap = cwndCap
	d.mu.Unlock()

	d.log.WithFields(logrus.Fields{"token": token, "cookie": cookie, "cap": cwndCap}).Debug("cwnd cap changed")
	if cwndCap == 0 {
		return true, d.opt.clamper.Clear(cookie)
	}
	return true, d.opt.clamper.Set(cookie, cwndCap)
}
