package bpf

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// setRealtime switches the calling thread to SCHED_FIFO at priority
// (1-99), so that a wakeup from the ring buffer preempts the busy
// SCHED_OTHER threads of a loaded machine at once. The caller must keep
// the goroutine locked to its thread for as long as it needs this.
func setRealtime(priority uint32) error {
	attr := unix.SchedAttr{
		Size:     unix.SizeofSchedAttr,
		Policy:   unix.SCHED_FIFO,
		Priority: priority,
	}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		return fmt.Errorf("sched_setattr SCHED_FIFO %d: %w (needs CAP_SYS_NICE)", priority, err)
	}
	return nil
}
