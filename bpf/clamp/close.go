package clamp

import (
	"errors"
	"fmt"
	"time"
)

// Counters are the program's totals since Attach.
type Counters struct {
	Sets     uint64 // clamp setsockopt calls that succeeded
	Errors   uint64 // clamp setsockopt calls that failed
	Restores uint64 // subflows given back their original clamp
}

// Counters reads the program's counters.
func (c *Clamper) Counters() (Counters, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link == nil {
		return Counters{}, errClosed
	}
	var v [3]uint64
	for i := range v {
		if err := c.objs.Counters.Lookup(uint32(i), &v[i]); err != nil {
			return Counters{}, fmt.Errorf("read counter %d: %w", i, err)
		}
	}
	return Counters{Sets: v[0], Errors: v[1], Restores: v[2]}, nil
}

// Close removes every cap and restores the original clamp of the changed
// subflows in the calling thread's network namespace at once, as Sync
// does. It waits up to one second for the program to restore the others
// at their next ACK, then detaches the programs and frees the maps. A
// subflow that is restored neither way keeps its cap until it closes,
// and the error gives their count.
func (c *Clamper) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link == nil {
		return nil
	}

	errs := c.clearAll()
	if err := c.syncLocked(); err != nil {
		errs = append(errs, err)
	}
	if n := c.waitRestored(restoreWait); n > 0 {
		errs = append(errs, fmt.Errorf("%d subflows keep their cwnd cap"+
			" until they close: the TCP iterator did not restore them"+
			" (they may be in another network namespace) and no ACK"+
			" arrived within %v", n, restoreWait))
	}

	if err := c.iter.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close TCP iterator: %w", err))
	}
	if err := c.link.Close(); err != nil {
		errs = append(errs, fmt.Errorf("detach from %s: %w", c.cgroup, err))
	}
	c.link = nil
	if err := c.objs.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close maps: %w", err))
	}
	return errors.Join(errs...)
}

// waitRestored polls until no subflow has a changed clamp or d passes,
// and returns how many still have one.
func (c *Clamper) waitRestored(d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		n := c.changed()
		if n == 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(restorePoll)
	}
}

// changed counts the subflows with a changed clamp. Close removed every
// cap first, so each entry is waiting for its restore.
func (c *Clamper) changed() int {
	var (
		cookie uint64
		st     clampClampState
		n      int
	)
	it := c.objs.Clamped.Iterate()
	for it.Next(&cookie, &st) {
		n++
	}
	return n
}

// clearAll removes every cap. The program also removes the cap of each
// subflow that closes.
func (c *Clamper) clearAll() []error {
	var (
		cookie  uint64
		limit   uint32
		cookies []uint64
		errs    []error
	)
	it := c.objs.Caps.Iterate()
	for it.Next(&cookie, &limit) {
		cookies = append(cookies, cookie)
	}
	if err := it.Err(); err != nil {
		errs = append(errs, fmt.Errorf("list caps: %w", err))
	}
	for _, cookie := range cookies {
		if err := c.clearLocked(cookie); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
