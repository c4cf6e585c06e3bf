package bpf

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults applied by Load to zero fields of Options.
const (
	DefaultRingSize      = 1 << 20
	DefaultHeartbeat     = 200 * time.Millisecond
	DefaultDrainInterval = 20 * time.Millisecond
	DefaultRTTChange     = 0.125
	DefaultRTTFloor      = 100 * time.Microsecond
	DefaultCwndDecrease  = 0.125
	DefaultCwndIncrease  = 0.25
)

// Options selects which sockets the programs report and when.
type Options struct {
	// AllTCP reports every TCP socket; false reports MPTCP subflows
	// only.
	AllTCP bool

	// NetNSInode is the inode number of the only network namespace
	// whose sockets are reported. 0 means the namespace of the thread
	// that calls Load (stat /proc/thread-self/ns/net).
	NetNSInode uint32

	// RingSize is the ring buffer size in bytes: a power of two and a
	// multiple of the page size. 0 means DefaultRingSize.
	RingSize int

	// Heartbeat is the longest time between two records of an active
	// subflow. Heartbeats ride on kernel events, so an idle subflow
	// sends none. 0 means DefaultHeartbeat.
	Heartbeat time.Duration

	// DrainInterval is how often Run reads records that were queued
	// without a wakeup. 0 means DefaultDrainInterval.
	DrainInterval time.Duration

	// ReaderPriority, when not 0, runs Run on its own thread with the
	// SCHED_FIFO real-time policy at this priority (1-99). On a busy
	// machine an urgent record then reaches Go in well under a
	// millisecond instead of waiting for a time slice. Setting the
	// policy needs CAP_SYS_NICE; without it Run goes on at normal
	// priority and RealtimeErr returns the reason.
	ReaderPriority uint32

	// RTTChange is the relative smoothed RTT change (0.125 is 1/8, at
	// most 1000) that triggers a record, and RTTFloor the absolute
	// change it must also exceed. 0 means DefaultRTTChange and
	// DefaultRTTFloor.
	RTTChange float64
	RTTFloor  time.Duration

	// CwndDecrease (at most 1) and CwndIncrease (at most 1000) are the
	// relative congestion window changes that trigger a record. 0 means
	// the defaults.
	CwndDecrease float64
	CwndIncrease float64

	// TokenFilter reports only connections whose MPTCP token was given
	// in Tokens or added with Tracer.AddToken.
	TokenFilter bool
	Tokens      []uint32

	// Mode forces "tp_btf" or "raw_tp"; "" tries tp_btf, then raw_tp.
	Mode string

	// KernelBTF is a BTF file for the running kernel, for kernels that
	// do not expose /sys/kernel/btf/vmlinux. Only the raw_tp variant
	// can load with it, because tp_btf attaches through kernel BTF.
	KernelBTF string
}

func (o *Options) setDefaults() error {
	if o.RingSize == 0 {
		o.RingSize = DefaultRingSize
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.DrainInterval == 0 {
		o.DrainInterval = DefaultDrainInterval
	}
	if o.RTTChange == 0 {
		o.RTTChange = DefaultRTTChange
	}
	if o.RTTFloor == 0 {
		o.RTTFloor = DefaultRTTFloor
	}
	if o.CwndDecrease == 0 {
		o.CwndDecrease = DefaultCwndDecrease
	}
	if o.CwndIncrease == 0 {
		o.CwndIncrease = DefaultCwndIncrease
	}
	if len(o.Tokens) > 0 {
		o.TokenFilter = true
	}
	if o.NetNSInode == 0 {
		ino, err := currentNetNS()
		if err != nil {
			return err
		}
		o.NetNSInode = ino
	}
	return o.validate()
}

func (o *Options) validate() error {
	page := os.Getpagesize()
	if o.RingSize < page || o.RingSize&(o.RingSize-1) != 0 {
		return fmt.Errorf("invalid ring size %d: want a power of two of at least %d bytes", o.RingSize, page)
	}
	for _, f := range []struct {
		name     string
		v, limit float64
	}{
		{"RTTChange", o.RTTChange, 1000},
		{"CwndDecrease", o.CwndDecrease, 1},
		{"CwndIncrease", o.CwndIncrease, 1000},
	} {
		if f.v < 0 || f.v > f.limit {
			return fmt.Errorf("invalid %s %g: want a fraction between 0 and %g", f.name, f.v, f.limit)
		}
	}
	if o.Heartbeat < 0 || o.DrainInterval < 0 || o.RTTFloor < 0 {
		return fmt.Errorf("invalid negative duration in options")
	}
	switch o.Mode {
	case "", ModeTPBTF, ModeRawTP:
	default:
		return fmt.Errorf("invalid mode %q: want %q, %q or empty", o.Mode, ModeTPBTF, ModeRawTP)
	}
	return nil
}

// currentNetNS returns the inode of the calling thread's network
// namespace.
func currentNetNS() (uint32, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return 0, fmt.Errorf("stat own network namespace: %w", err)
	}
	return uint32(st.Ino), nil
}

// NetNSInode returns the inode number of the network namespace file at
// path, such as /run/netns/NAME or /proc/PID/ns/net, for
// Options.NetNSInode.
func NetNSInode(path string) (uint32, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("stat network namespace %s: %w", path, err)
	}
	return uint32(st.Ino), nil
}

// fraction1024 turns a fraction into the kernel's fixed point, x/1024.
func fraction1024(f float64) uint32 { return uint32(f*1024 + 0.5) }
