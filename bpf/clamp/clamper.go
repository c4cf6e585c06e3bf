package clamp

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
)

// MaxCap is the largest cap in segments: bpf_setsockopt takes the clamp
// as a positive int.
const MaxCap = 1<<31 - 1

// restoreWait bounds how long Close waits for capped subflows to get
// their original clamp back, and restorePoll is how often it checks.
const (
	restoreWait = time.Second
	restorePoll = 10 * time.Millisecond
)

// A Clamper is the sock_ops program attached to one cgroup with its maps.
// Its methods are safe for concurrent use.
type Clamper struct {
	cgroup string
	objs   clampObjects

	mu   sync.Mutex
	link link.Link // the sock_ops program; nil after Close
	iter *link.Iter
}

// Attach loads the program and attaches it to the cgroup v2 directory
// cgroupPath. An empty path means the root of the first cgroup2 mount in
// /proc/self/mounts. The program acts on subflows of processes in that
// cgroup and its descendants. Errors wrap ErrNoCgroup2 or ErrNoBPF.
func Attach(cgroupPath string) (*Clamper, error) {
	if cgroupPath == "" {
		root, err := RootCgroup()
		if err != nil {
			return nil, err
		}
		cgroupPath = root
	}
	if err := checkCgroup2(cgroupPath); err != nil {
		return nil, err
	}

	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
	_ = rlimit.RemoveMemlock()
	c := &Clamper{cgroup: cgroupPath}
	if err := loadClampObjects(&c.objs, nil); err != nil {
		return nil, fmt.Errorf("%w: load: %w (run as root, or grant"+
			" CAP_BPF and CAP_NET_ADMIN)", ErrNoBPF, err)
	}

	l, err := link.AttachCgroup(link.CgroupOptions{
		Path:    cgroupPath,
		Attach:  ebpf.AttachCGroupSockOps,
		Program: c.objs.ClampSockops,
	})
	if err != nil {
		c.objs.Close()
		return nil, fmt.Errorf("%w: attach sock_ops to %s: %w",
			ErrNoBPF, cgroupPath, err)
	}
	c.link = l

	it, err := link.AttachIter(link.IterOptions{Program: c.objs.ClampIter})
	if err != nil {
		l.Close()
		c.objs.Close()
		return nil, fmt.Errorf("%w: attach TCP iterator: %w", ErrNoBPF, err)
	}
	c.iter = it
	return c, nil
}

// Cgroup returns the cgroup directory the program is attached to.
func (c *Clamper) Cgroup() string { return c.cgroup }

// Set caps the congestion window of the subflow with socket cookie at
// limit segments, from the subflow's next ACK on. A limit of 0 works like
// Clear. The cookie is the subflow's bpf_get_socket_cookie, SO_COOKIE or
// inet_diag cookie. Set does not check that the cookie names a subflow in
// the cgroup. The program deletes the cap when the subflow closes, and at
// most 65536 caps can be set at once.
func (c *Clamper) Set(cookie uint64, limit uint32) error {
	if limit == 0 {
		return c.Clear(cookie)
	}
	if limit > MaxCap {
		return fmt.Errorf("cap %d for cookie %d is above the maximum %d",
			limit, cookie, MaxCap)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link == nil {
		return errClosed
	}
	if err := c.objs.Caps.Put(cookie, limit); err != nil {
		return fmt.Errorf("set cap for cookie %d: %w", cookie, err)
	}
	return nil
}

// Clear removes the cap of the subflow with socket cookie. The program
// restores the subflow's original clamp at its next ACK. Clearing a cookie
// without a cap is not an error.
func (c *Clamper) Clear(cookie uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clearLocked(cookie)
}

func (c *Clamper) clearLocked(cookie uint64) error {
	if c.link == nil {
		return errClosed
	}
	err := c.objs.Caps.Delete(cookie)
	if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("clear cap for cookie %d: %w", cookie, err)
	}
	return nil
}

// Applied returns the clamp in segments that the program last set on
// each subflow it changed, by socket cookie. A subflow is missing until
// its first ACK after Set. After Clear it stays until its original clamp
// is restored.
func (c *Clamper) Applied() (map[uint64]uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link == nil {
		return nil, errClosed
	}
	out := make(map[uint64]uint32)
	var (
		cookie uint64
		st     clampClampState
	)
	it := c.objs.Clamped.Iterate()
	for it.Next(&cookie, &st) {
		out[cookie] = st.Applied
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read applied caps: %w", err)
	}
	return out, nil
}
