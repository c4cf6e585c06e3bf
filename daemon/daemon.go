package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/bpf"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// Config holds the daemon's options. The zero value is not valid: use
// DefaultConfig and change what differs.
type Config struct {
	Policy    string // see the Policy* constants
	SetPMType bool   // switch net.mptcp.pm_type to 1 in this namespace
	BPF       bool   // load the BPF statistics programs
	// DiagInterval is the period of the inet_diag reconciliation poll.
	// When BPF cannot load, the poll also provides the statistics.
	DiagInterval time.Duration
	// FallbackInterval replaces DiagInterval when BPF is unavailable.
	FallbackInterval time.Duration
	EventBuffer      int    // receive buffer of the event socket, bytes
	RecordDir        string // write JSON Lines series here when set
	RecordLimit      int64  // bytes of series data before recording stops
	IncludeLinkLocal bool   // open subflows from link-local addresses too
	BPFOptions       bpf.Options
	Log              *logrus.Logger
	Options          map[string]any // flags as given, stored in meta.json
}

// DefaultConfig returns the configuration of "mptcp-bpf-pm run" without
// flags.
func DefaultConfig() Config {
	return Config{
		Policy:           PolicyFullMesh,
		BPF:              true,
		DiagInterval:     time.Second,
		FallbackInterval: 300 * time.Millisecond,
		EventBuffer:      8 << 20,
		RecordLimit:      1 << 30,
		Log:              logrus.StandardLogger(),
	}
}

// Daemon is a running path manager for the caller's network namespace.
type Daemon struct {
	cfg    Config
	log    *logrus.Logger
	lock   *instanceLock
	pm     *pm.Client
	events *pm.EventConn
	diag   *diag.Conn
	tracer *bpf.Tracer
	addrs  *addrTable
	rec    *recorder
	cmds   *commandQueue

	mu    sync.Mutex
	conns map[uint32]*conn
	// cookies maps socket cookies seen in BPF records or diag dumps to
	// their connection token.
	cookies map[uint64]uint32
	stats   counters
}

// counters are the daemon's running totals, logged at exit.
type counters struct {
	Events, LostEvents, BPFRecords, SubflowsRequested, SubflowsFailed uint64
}

// New checks the host, opens every kernel interface and returns a daemon
// ready to Run. On error nothing stays open.
func New(cfg Config) (d *Daemon, err error) {
	if err := ValidatePolicy(cfg.Policy); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = logrus.StandardLogger()
	}
	warning, err := checkPrivileges(cfg.BPF)
	if err != nil {
		return nil, err
	}
	if err := checkMPTCP(cfg.SetPMType); err != nil {
		return nil, err
	}
	d = &Daemon{
		cfg:     cfg,
		log:     cfg.Log,
		addrs:   newAddrTable(cfg.IncludeLinkLocal),
		conns:   make(map[uint32]*conn),
		cookies: make(map[uint64]uint32),
	}
	if warning != "" {
		d.log.Warn(warning)
	}
	defer func() {
		if err != nil {
			d.close()
			d = nil
		}
	}()
	if d.lock, err = lockInstance(); err != nil {
		return d, err
	}
	if err = d.open(); err != nil {
		return d, err
	}
	return d, nil
}

func (d *Daemon) open() (err error) {
	if d.events, err = pm.ListenEvents(&pm.Config{ReadBuffer: d.cfg.EventBuffer}); err != nil {
		return fmt.Errorf("join mptcp_pm events: %w", err)
	}
	if got, err := d.events.ReadBuffer(); err == nil && got < d.cfg.EventBuffer {
		d.log.WithFields(logrus.Fields{"want_bytes": d.cfg.EventBuffer, "got_bytes": got}).
			Warn("event receive buffer is smaller than requested: events may be lost under load (raise net.core.rmem_max or grant CAP_NET_ADMIN)")
	}
	if d.pm, err = pm.Dial(&pm.Config{}); err != nil {
		return fmt.Errorf("open mptcp_pm: %w", err)
	}
	if d.diag, err = diag.Dial(&diag.Config{}); err != nil {
		return fmt.Errorf("open inet_diag: %w", err)
	}
	if err = d.addrs.load(); err != nil {
		return err
	}
	if d.cfg.RecordDir != "" {
		d.rec, err = newRecorder(d.cfg.RecordDir, d.metadata(), d.cfg.RecordLimit, func(limit int64) {
			d.log.WithField("limit_bytes", limit).Warn("record size limit reached: recording stopped, raise --record-limit to keep more")
		})
		if err != nil {
			return err
		}
	}
	if d.cfg.BPF {
		d.loadBPF()
	}
	return nil
}

// loadBPF loads the statistics programs. A failure is not fatal: the
// daemon says once why, and polls inet_diag more often instead.
func (d *Daemon) loadBPF() {
	tracer, err := bpf.Load(d.cfg.BPFOptions)
	if err != nil {
		d.log.WithError(err).WithField("poll_interval", d.cfg.FallbackInterval).
			Warn("BPF statistics unavailable, falling back to inet_diag polling")
		d.cfg.DiagInterval = d.cfg.FallbackInterval
		return
	}
	d.tracer = tracer
	d.log.WithField("mode", tracer.Mode()).Info("BPF statistics programs attached")
}

func (d *Daemon) metadata() map[string]any {
	host, _ := os.Hostname()
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = string(b[:len(b)-1])
	}
	return map[string]any{
		"start_time": timestamp(time.Now()),
		"host":       host,
		"kernel":     kernel,
		"go":         runtime.Version(),
		"policy":     d.cfg.Policy,
		"options":    d.cfg.Options,
	}
}

// Run manages connections until ctx is done, then detaches the BPF
// programs and closes every socket. Connections keep running.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.close()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	d.cmds = newCommandQueue()
	var wg sync.WaitGroup
	start := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				cancel(fmt.Errorf("%s: %w", name, err))
			}
		}()
	}
	start("event reader", d.readEvents)
	start("command worker", d.runCommands)
	start("address watcher", d.watchAddresses)
	start("diag poller", d.pollDiag)
	if d.tracer != nil {
		start("BPF reader", d.readBPF)
	}
	if err := d.adopt(); err != nil {
		d.log.WithError(err).Warn("adopting existing connections failed")
	}
	d.log.WithFields(logrus.Fields{
		"policy":    d.cfg.Policy,
		"addresses": len(d.addrs.list()),
		"bpf":       d.tracer != nil,
	}).Info("daemon ready")

	<-ctx.Done()
	// Unblock the readers that do not watch ctx.
	d.events.Close()
	d.cmds.close()
	if d.tracer != nil {
		d.tracer.Close()
	}
	wg.Wait()
	d.log.WithFields(logrus.Fields{
		"events":             d.stats.Events,
		"lost_events":        d.stats.LostEvents,
		"bpf_records":        d.stats.BPFRecords,
		"subflows_requested": d.stats.SubflowsRequested,
		"subflows_failed":    d.stats.SubflowsFailed,
	}).Info("daemon stopped")
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// close releases everything New opened; it is safe on a partial daemon.
func (d *Daemon) close() {
	if d.tracer != nil {
		d.tracer.Close()
	}
	if d.events != nil {
		d.events.Close()
	}
	if d.pm != nil {
		d.pm.Close()
	}
	if d.diag != nil {
		d.diag.Close()
	}
	if err := d.rec.close(); err != nil {
		d.log.WithError(err).Error("flush recorded series")
	}
	d.rec = nil
	if d.lock != nil {
		d.lock.release()
		d.lock = nil
	}
}

// watchAddresses applies rtnetlink address changes and opens subflows from
// a new address on every connection that lacks one.
func (d *Daemon) watchAddresses(ctx context.Context) error {
	updates := make(chan netlink.AddrUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	errc := make(chan error, 1)
	opts := netlink.AddrSubscribeOptions{
		ErrorCallback: func(err error) {
			select {
			case errc <- err:
			default:
			}
		},
	}
	if err := netlink.AddrSubscribeWithOptions(updates, done, opts); err != nil {
		return fmt.Errorf("subscribe to address changes: %w", err)
	}
	// Addresses may have changed between the dump and the subscription.
	if err := d.addrs.load(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			d.log.WithError(err).Warn("address notifications failed, reloading addresses")
			if err := d.addrs.load(); err != nil {
				return err
			}
		case u, ok := <-updates:
			if !ok {
				return errors.New("address notification channel closed")
			}
			addr, changed := d.addrs.update(u)
			if !changed {
				continue
			}
			d.log.WithFields(logrus.Fields{"address": addr, "added": u.NewAddr, "ifindex": u.LinkIndex}).Info("local address changed")
			if u.NewAddr {
				d.planAll()
			}
		}
	}
}
