package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// bulkReport is the JSON object the client prints in bulk mode.
type bulkReport struct {
	Mode string `json:"mode"`
	connStatus
	// Bytes were all acknowledged at the MPTCP level when DrainError
	// is empty; Seconds runs from the first write until then.
	Bytes       int64   `json:"bytes"`
	Seconds     float64 `json:"seconds"`
	Mbps        float64 `json:"mbps"`
	DrainError  string  `json:"drain_error,omitempty"`
	HoldSeconds float64 `json:"hold_seconds,omitempty"`
	Error       string  `json:"error,omitempty"`
}

// runBulk sends as fast as possible for cfg.duration, waits until the
// peer has acknowledged everything, prints the report and then holds the
// connection open for cfg.hold.
func runBulk(ctx context.Context, cfg clientConfig, out *jsonWriter) error {
	c, err := cfg.dial(ctx, Header{Mode: ModeBulk})
	if err != nil {
		return cfg.dialFailed(out, ModeBulk, err)
	}
	defer c.Close()

	rep := bulkReport{Mode: ModeBulk.String(), connStatus: status(c)}
	if err := cfg.checkMPTCP(rep.connStatus); err != nil {
		rep.Error = err.Error()
		return errors.Join(err, out.write(rep))
	}

	stopIntervals := startIntervals(c, ModeBulk, cfg.interval, out,
		ackedBytes)
	start := time.Now()
	rep.Bytes, err = sendUntil(ctx, c, start.Add(cfg.duration))
	err = interrupted(ctx, err)
	// A reset socket never drains, so wait only after a clean send.
	var derr error
	if err == nil {
		derr = waitDrained(c, cfg.timeout)
	}
	if derr != nil {
		rep.DrainError = derr.Error()
	}
	stopIntervals()
	rep.Seconds = round3(time.Since(start).Seconds())
	rep.Mbps = mbps(rep.Bytes, time.Since(start).Seconds())
	rep.connStatus = status(c)
	rep.HoldSeconds = cfg.hold.Seconds()
	if err != nil {
		rep.Error = err.Error()
	}
	if err == nil && derr != nil {
		err = fmt.Errorf("bytes sent were not all acknowledged: %w", derr)
	}
	return cfg.finish(ctx, out, rep, rep.connStatus, err)
}

// sendUntil writes zeros until the deadline or until ctx ends. It returns
// the bytes the kernel accepted.
func sendUntil(ctx context.Context, c *net.TCPConn, end time.Time) (
	int64, error) {
	stop := context.AfterFunc(ctx, func() {
		_ = c.SetWriteDeadline(time.Now())
	})
	defer stop()
	if err := c.SetWriteDeadline(end); err != nil {
		return 0, err
	}
	defer c.SetWriteDeadline(time.Time{})

	buf := make([]byte, 128<<10)
	var total int64
	for ctx.Err() == nil {
		n, err := c.Write(buf)
		total += int64(n)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
