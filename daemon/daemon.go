package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/bpf"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/control"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/metrics"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

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
	links  *linkTable
	filter *Filter
	rec    *recorder
	cmds   *commandQueue
	limit  *rateLimiter

	// restorePMType is the net.mptcp.pm_type value that --set-pm-type
	// replaced, written back at exit; empty when nothing changed.
	restorePMType string
	metrics       *metrics.Metrics
	metricsLn     net.Listener
	control       *control.Listener
	opt           *optimizerState
	started       time.Time

	mu    sync.Mutex
	conns map[uint32]*conn
	// excluded are local addresses removed from use over the control
	// socket.
	excluded map[netip.Addr]bool
	// endpoints are the in-kernel endpoints this daemon added in kernel
	// mode, by address; only these are removed at exit.
	endpoints map[string]uint8
	stats     counters
}

// counters are the daemon's running totals, logged at exit.
type counters struct {
	Events, LostEvents, BPFRecords, SubflowsRequested, SubflowsFailed uint64
	BackupSwitches, Retries                                           uint64
}

// New checks the host, opens every kernel interface and returns a daemon
// ready to Run. On error nothing stays open.
func New(cfg Config) (d *Daemon, err error) {
	if cfg.Log == nil {
		cfg.Log = logrus.StandardLogger()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d = &Daemon{
		cfg:       cfg,
		log:       cfg.Log,
		addrs:     newAddrTable(cfg.IncludeLinkLocal),
		links:     newLinkTable(),
		conns:     make(map[uint32]*conn),
		endpoints: make(map[string]uint8),
		excluded:  make(map[netip.Addr]bool),
		limit:     newRateLimiter(time.Minute),
		started:   time.Now(),
	}
	if cfg.FilterFile != "" {
		if d.filter, err = LoadFilter(cfg.FilterFile); err != nil {
			return nil, err
		}
	}
	warning, err := checkPrivileges(cfg.BPF)
	if err != nil {
		return nil, err
	}
	if d.restorePMType, err = checkMPTCP(cfg.Mode, cfg.SetPMType); err != nil {
		return nil, err
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
	if err = d.links.load(); err != nil {
		return err
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
	if d.cfg.MetricsAddr != "" {
		d.metrics = metrics.New(metrics.Options{Subflows: d.cfg.MetricsSubflows, MaxSubflows: d.cfg.MetricsMaxSubflows})
		if d.metricsLn, err = metrics.Listen(d.cfg.MetricsAddr); err != nil {
			return fmt.Errorf("metrics listener on %s: %w", d.cfg.MetricsAddr, err)
		}
	}
	if d.cfg.ControlSocket != "" {
		if d.control, err = control.Listen(d.cfg.ControlSocket); err != nil {
			return fmt.Errorf("control socket %s: %w", d.cfg.ControlSocket, err)
		}
	}
	if err = d.openOptimizer(); err != nil {
		return err
	}
	if d.cfg.BPF {
		d.loadBPF()
	}
	return nil
}

// loadBPF loads the statistics programs. A failure is not fatal: the
// daemon logs the reason once and polls inet_diag more often instead.
func (d *Daemon) loadBPF() {
	tracer, err := bpf.Load(d.cfg.BPFOptions)
	if err != nil {
		d.log.WithError(err).WithField("poll_interval", d.cfg.FallbackInterval).
			Warn("BPF statistics unavailable, falling back to inet_diag polling")
		d.cfg.DiagInterval = d.cfg.FallbackInterval
		return
	}
	d.tracer = tracer
	d.log.WithField("attach", tracer.Mode()).Info("BPF statistics programs attached")
}

func (d *Daemon) metadata() map[string]any {
	host, _ := os.Hostname()
	kernel, _ := readSysctl("kernel.osrelease")
	return map[string]any{
		"start_time": timestamp(time.Now()),
		"host":       host,
		"kernel":     kernel,
		"go":         runtime.Version(),
		"mode":       d.cfg.Mode,
		"policy":     d.cfg.Policy,
		"options":    d.cfg.Options,
	}
}

// Run manages connections until ctx is done, then detaches the BPF
// programs, removes the endpoints it added and closes every socket.
// Connections keep running.
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
	start("link watcher", d.watchLinks)
	start("route watcher", d.watchRoutes)
	start("diag poller", d.pollDiag)
	start("timer", d.runTimers)
	if d.tracer != nil {
		start("BPF reader", d.readBPF)
		start("BPF drop counter", d.watchDrops)
	}
	if d.metricsLn != nil {
		start("metrics server", func(ctx context.Context) error { return d.metrics.ServeListener(ctx, d.metricsLn) })
	}
	if d.opt != nil {
		start("optimizer", d.runOptimizer)
	}
	if d.control != nil {
		start("control socket", func(ctx context.Context) error { return d.control.Serve(ctx, d) })
	}
	if d.cfg.Mode == ModeKernel {
		d.syncEndpoints()
	}
	if err := d.adopt(); err != nil {
		d.log.WithError(err).Warn("adopting existing connections failed")
	}
	d.log.WithFields(logrus.Fields{
		"mode":           d.cfg.Mode,
		"policy":         d.cfg.Policy,
		"addresses":      len(d.addrs.list()),
		"bpf":            d.tracer != nil,
		"control_socket": d.cfg.ControlSocket,
		"metrics_addr":   d.cfg.MetricsAddr,
	}).Info("daemon ready")

	<-ctx.Done()
	// Unblock the readers that do not watch ctx. The BPF reader watches
	// ctx, and the tracer closes after it returned.
	d.events.Close()
	d.cmds.close()
	wg.Wait()
	if d.cfg.Mode == ModeKernel {
		d.removeEndpoints()
	}
	d.mu.Lock()
	st := d.stats
	d.mu.Unlock()
	d.log.WithFields(logrus.Fields{
		"events":             st.Events,
		"lost_events":        st.LostEvents,
		"bpf_records":        st.BPFRecords,
		"subflows_requested": st.SubflowsRequested,
		"subflows_failed":    st.SubflowsFailed,
		"backup_switches":    st.BackupSwitches,
		"retries":            st.Retries,
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
	if d.opt != nil {
		d.opt.clamper.Close()
	}
	if d.pm != nil {
		d.pm.Close()
	}
	if d.diag != nil {
		d.diag.Close()
	}
	if d.metricsLn != nil && d.cmds == nil {
		d.metricsLn.Close()
	}
	if err := d.rec.close(); err != nil {
		d.log.WithError(err).Error("flush recorded series")
	}
	d.rec = nil
	if d.restorePMType != "" {
		if err := writePMType(d.restorePMType); err != nil {
			d.log.WithError(err).Warn("restore net.mptcp.pm_type")
		}
		d.restorePMType = ""
	}
	if d.lock != nil {
		d.lock.release()
		d.lock = nil
	}
}

// runTimers drives the time-based work: adaptive health checks and the
// retries of subflows closed by an error.
func (d *Daemon) runTimers(ctx context.Context) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			d.mu.Lock()
			adaptive := d.cfg.Policy == PolicyAdaptive
			d.mu.Unlock()
			if adaptive {
				d.checkHealth(now)
			}
			d.runRetries(now)
		}
	}
}

// watchDrops logs the BPF ring-buffer drop counters every second when they
// rise.
func (d *Daemon) watchDrops(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last uint64
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			drops, err := d.tracer.Drops()
			if err != nil {
				d.log.WithError(err).Warn("read BPF drop counters")
				continue
			}
			d.metrics.RingDrops("ring_full", drops.Ring)
			d.metrics.RingDrops("storage", drops.Storage)
			if total := drops.Total(); total > last {
				d.log.WithFields(logrus.Fields{"total": total, "new": total - last, "ring_full": drops.Ring, "storage_failed": drops.Storage}).
					Warn("BPF ring buffer dropped records; raise --bpf-ring-size")
				last = total
			}
		}
	}
}
