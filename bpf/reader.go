package bpf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/cilium/ebpf/ringbuf"
)

// ctxCheckEvery is how many records Run reads between checks of its
// context while the ring never runs empty.
const ctxCheckEvery = 256

// Run reads records until ctx is done or Close is called, and then
// returns nil. fn runs on Run's goroutine for every record and gets the
// same *Record each time, overwritten by the next one: copy what must
// outlive the call. A slow fn never blocks the kernel: the ring buffer
// absorbs the backlog and, once full, the kernel drops records and
// counts them (see Drops). Only one Run may be active at a time.
//
// Urgent records (ReasonNew, ReasonRetrans, ReasonLoss, ReasonClose)
// wake Run at once; the others are read every Options.DrainInterval.
func (t *Tracer) Run(ctx context.Context, fn func(*Record)) error {
	if t.opts.ReaderPriority > 0 {
		// Never unlocked: the real-time thread ends with this
		// goroutine instead of going back to the runtime's pool.
		runtime.LockOSThread()
		err := setRealtime(t.opts.ReaderPriority)
		t.realtimeMu.Lock()
		t.realtimeErr = err
		t.realtimeMu.Unlock()
	}
	var raw ringbuf.Record
	var rec Record
	n := 0
	t.rd.SetDeadline(time.Now().Add(t.opts.DrainInterval))
	for {
		err := t.rd.ReadInto(&raw)
		switch {
		case err == nil:
			if rec.UnmarshalBinary(raw.RawSample) == nil {
				fn(&rec)
			}
			if n++; n%ctxCheckEvery == 0 && ctx.Err() != nil {
				return nil
			}
		case errors.Is(err, os.ErrDeadlineExceeded):
			if ctx.Err() != nil {
				return nil
			}
			t.rd.SetDeadline(time.Now().Add(t.opts.DrainInterval))
		case errors.Is(err, ringbuf.ErrClosed):
			return nil
		default:
			return fmt.Errorf("read BPF ring buffer: %w", err)
		}
	}
}
