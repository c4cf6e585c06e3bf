package clamp

import (
	"fmt"
	"io"
)

// Sync applies every cap now, also to idle subflows and to subflows
// established before Attach, and restores the subflows whose cap was
// cleared. It runs a BPF TCP iterator over the sockets of the calling
// thread's network namespace, so a caller that works in another
// namespace must lock its OS thread there. Subflows with neither a cap
// nor a changed clamp are not touched.
//
// Sync also enables the RTT and state callbacks on the subflows it
// changes, so later ACKs keep the cap in force when the subflow is in the
// cgroup. A subflow outside the cgroup keeps the clamp that Sync set until
// the next Sync. The program cannot delete that subflow's cap when it
// closes, so call Clear for it. Enabling the callbacks needs TCP_BPF_SOCK_OPS_CB_FLAGS
// in bpf_setsockopt (present in Linux 6.18).
func (c *Clamper) Sync() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link == nil {
		return errClosed
	}
	return c.syncLocked()
}

// syncLocked reads the iterator to its end; each read runs the program
// on a batch of sockets.
func (c *Clamper) syncLocked() error {
	r, err := c.iter.Open()
	if err != nil {
		return fmt.Errorf("open TCP iterator: %w", err)
	}
	defer r.Close()
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("run TCP iterator: %w", err)
	}
	return nil
}
