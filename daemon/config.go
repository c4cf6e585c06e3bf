package daemon

import (
	"fmt"
	"net"
	"os/exec"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/bpf"
)

// Path-manager modes accepted by --pm.
const (
	ModeUserspace = "userspace" // the daemon opens subflows (pm_type 1)
	ModeKernel    = "kernel"    // the daemon manages in-kernel endpoints (pm_type 0)
)

// Config holds the daemon's options. The zero value is not valid: use
// DefaultConfig and change what differs.
type Config struct {
	Mode      string // ModeUserspace or ModeKernel
	Policy    string // see the Policy* constants
	SetPMType bool   // switch net.mptcp.pm_type to match Mode in this namespace
	BPF       bool   // load the BPF statistics programs

	// MaxSubflows caps the extra subflows the daemon opens per connection.
	MaxSubflows int
	// NDiffPorts is the number of subflows, the initial one included,
	// that the ndiffports policy keeps over the initial address pair.
	NDiffPorts int
	// BackupInterfaces are interface names whose subflows are created
	// with the backup flag (policy backup), or whose endpoints get it
	// (kernel mode).
	BackupInterfaces []string
	// Announce makes the server side of a connection announce its other
	// addresses to the client (ADD_ADDR) and withdraw them (RM_ADDR).
	Announce bool
	// EndpointFlags are the flags of the endpoints that kernel mode adds
	// for every tracked address.
	EndpointFlags []string
	Adaptive      AdaptiveConfig
	// FilterFile names a JSON list of connections to manage; empty means
	// every connection.
	FilterFile string

	// DiagInterval is the period of the inet_diag reconciliation poll.
	DiagInterval time.Duration
	// FallbackInterval replaces DiagInterval when BPF is unavailable,
	// because the poll then also provides the statistics.
	FallbackInterval time.Duration
	EventBuffer      int    // receive buffer of the event socket, bytes
	RecordDir        string // write JSON Lines series here when set
	RecordLimit      int64  // bytes of series data before recording stops
	IncludeLinkLocal bool   // open subflows from link-local addresses too
	BPFOptions       bpf.Options
	// Optimizer is the program run every OptimizerInterval per managed
	// connection; it prints per-subflow cwnd caps that a BPF sock_ops
	// program applies on ClampCgroup (--optimizer-cgroup). Empty disables it.
	Optimizer         string
	OptimizerArgs     []string
	OptimizerInterval time.Duration
	OptimizerTimeout  time.Duration
	// ClampCgroup is the cgroup v2 directory of the clamp program; empty
	// means the root of the cgroup v2 hierarchy.
	ClampCgroup string
	// ControlSocket is the path of the control socket; empty disables it.
	ControlSocket string
	// MetricsAddr is the host:port of the Prometheus endpoint; empty
	// disables it.
	MetricsAddr        string
	MetricsSubflows    bool // export per-subflow series
	MetricsMaxSubflows int  // at most this many subflows get series
	Log                *logrus.Logger
	Options            map[string]any // flags as given, stored in meta.json
	Version            string         // build version, reported over the control socket
}

// AdaptiveConfig holds the thresholds of the adaptive policy. A subflow
// turns backup when its retransmitted share of sent bytes over Window
// exceeds LossRatio, when its smoothed RTT exceeds RTTFactor times the best
// subflow's (and RTTFloor), or when it enters the TCP Loss state. It turns
// back after RestoreAfter below half of those limits.
type AdaptiveConfig struct {
	LossRatio    float64
	RTTFactor    float64
	RTTFloor     time.Duration
	Window       time.Duration
	RestoreAfter time.Duration
	// RetryMin and RetryMax bound the exponential backoff before a
	// subflow that closed with an error is opened again.
	RetryMin, RetryMax time.Duration
}

// DefaultConfig returns the configuration of "mptcp-bpf-pm run" without
// flags.
func DefaultConfig() Config {
	return Config{
		Mode:          ModeUserspace,
		Policy:        PolicyFullMesh,
		BPF:           true,
		MaxSubflows:   8,
		NDiffPorts:    2,
		EndpointFlags: []string{"subflow"},
		Adaptive: AdaptiveConfig{
			LossRatio:    0.05,
			RTTFactor:    4,
			RTTFloor:     20 * time.Millisecond,
			Window:       500 * time.Millisecond,
			RestoreAfter: 3 * time.Second,
			RetryMin:     time.Second,
			RetryMax:     time.Minute,
		},
		DiagInterval:       time.Second,
		FallbackInterval:   300 * time.Millisecond,
		EventBuffer:        8 << 20,
		RecordLimit:        1 << 30,
		MetricsMaxSubflows: 256,
		BPFOptions:         bpf.Options{ReaderPriority: 10},
		OptimizerInterval:  300 * time.Millisecond,
		OptimizerTimeout:   250 * time.Millisecond,
		Log:                logrus.StandardLogger(),
	}
}

// Validate returns an error naming the first invalid option.
func (c *Config) Validate() error {
	if c.Mode != ModeUserspace && c.Mode != ModeKernel {
		return fmt.Errorf("invalid path manager mode %q: want %s or %s", c.Mode, ModeUserspace, ModeKernel)
	}
	if err := ValidatePolicy(c.Policy); err != nil {
		return err
	}
	if c.Mode == ModeKernel && c.Policy != PolicyFullMesh && c.Policy != PolicyAdaptive && c.Policy != PolicyBackup {
		return fmt.Errorf("invalid policy %q with --pm kernel: the in-kernel path manager supports fullmesh, backup and adaptive", c.Policy)
	}
	if c.MaxSubflows < 0 || c.MaxSubflows > 255 {
		return fmt.Errorf("invalid max subflows %d: want 0 to 255", c.MaxSubflows)
	}
	if c.NDiffPorts < 1 || c.NDiffPorts > 64 {
		return fmt.Errorf("invalid ndiffports count %d: want 1 to 64", c.NDiffPorts)
	}
	if c.DiagInterval <= 0 {
		return fmt.Errorf("invalid diag interval %s: want a positive duration such as 1s", c.DiagInterval)
	}
	if c.FallbackInterval <= 0 {
		return fmt.Errorf("invalid fallback poll interval %s: want a positive duration such as 300ms", c.FallbackInterval)
	}
	if c.EventBuffer < 64<<10 {
		return fmt.Errorf("invalid event buffer %d: want at least 65536 bytes", c.EventBuffer)
	}
	a := c.Adaptive
	if !(a.LossRatio > 0 && a.LossRatio < 1) { // also rejects NaN
		return fmt.Errorf("invalid adaptive loss ratio %g: want a fraction between 0 and 1, such as 0.05", a.LossRatio)
	}
	if !(a.RTTFactor >= 1) { // also rejects NaN
		return fmt.Errorf("invalid adaptive RTT factor %g: want at least 1", a.RTTFactor)
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"adaptive window", a.Window}, {"adaptive restore", a.RestoreAfter},
		{"retry min", a.RetryMin}, {"retry max", a.RetryMax},
		{"optimizer timeout", c.OptimizerTimeout},
	} {
		if d.value <= 0 {
			return fmt.Errorf("invalid %s %s: want a positive duration", d.name, d.value)
		}
	}
	if a.RetryMax < a.RetryMin {
		return fmt.Errorf("invalid retry max %s: want at least retry min %s", a.RetryMax, a.RetryMin)
	}
	if c.OptimizerInterval < 10*time.Millisecond {
		return fmt.Errorf("invalid optimizer interval %s: want at least 10ms", c.OptimizerInterval)
	}
	if c.Optimizer != "" {
		if _, err := exec.LookPath(c.Optimizer); err != nil {
			return fmt.Errorf("invalid optimizer program %q: %w", c.Optimizer, err)
		}
	}
	if c.RecordLimit < 0 {
		return fmt.Errorf("invalid record limit %d: want 0 (no limit) or a positive number of bytes", c.RecordLimit)
	}
	if c.MetricsMaxSubflows < 0 {
		return fmt.Errorf("invalid metrics max subflows %d: want 0 or more", c.MetricsMaxSubflows)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("invalid metrics address %q: want HOST:PORT such as 127.0.0.1:9464", c.MetricsAddr)
		}
	}
	if r := c.BPFOptions.RingSize; r != 0 && (r < 4096 || r&(r-1) != 0) {
		return fmt.Errorf("invalid BPF ring size %d: want 0 (default) or a power of two of at least 4096 bytes", r)
	}
	if c.BPFOptions.ReaderPriority > 99 {
		return fmt.Errorf("invalid BPF reader priority %d: want 0 (normal) or a SCHED_FIFO priority from 1 to 99", c.BPFOptions.ReaderPriority)
	}
	if _, err := parseEndpointFlags(c.EndpointFlags); err != nil {
		return err
	}
	return nil
}
