package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// runReverse requests that the server send for cfg.duration, and reads
// until the server closes its side. The report counts bytes received, from the
// first byte to the end of the stream.
func runReverse(ctx context.Context, cfg clientConfig,
	out *jsonWriter) error {
	ms := cfg.duration.Milliseconds()
	if ms < 1 || ms > maxMessage {
		return usageError{fmt.Errorf("--duration %v out of range "+
			"1ms..%v for reverse", cfg.duration,
			time.Duration(maxMessage)*time.Millisecond)}
	}
	c, err := cfg.dial(ctx, Header{Mode: ModeReverse,
		Request: uint32(ms)})
	if err != nil {
		return cfg.dialFailed(out, ModeReverse, err)
	}
	defer c.Close()

	rep := bulkReport{Mode: ModeReverse.String(), connStatus: status(c)}
	if err := cfg.checkMPTCP(rep.connStatus); err != nil {
		rep.Error = err.Error()
		return errors.Join(err, out.write(rep))
	}

	stopIntervals := startIntervals(c, ModeReverse, cfg.interval, out,
		receivedBytes)
	var secs float64
	rep.Bytes, secs, err = receiveAll(ctx, c,
		time.Now().Add(cfg.duration+cfg.timeout))
	err = interrupted(ctx, err)
	stopIntervals()
	rep.Seconds = round3(secs)
	rep.Mbps = mbps(rep.Bytes, secs)
	rep.connStatus = status(c)
	rep.HoldSeconds = cfg.hold.Seconds()
	if err != nil {
		rep.Error = err.Error()
	}
	return cfg.finish(ctx, out, rep, rep.connStatus, err)
}

// receiveAll reads until EOF, the deadline or the end of ctx. It returns
// the bytes read and the seconds from the first byte to the last.
func receiveAll(ctx context.Context, c *net.TCPConn, deadline time.Time) (
	int64, float64, error) {
	stop := context.AfterFunc(ctx, func() {
		_ = c.SetReadDeadline(time.Now())
	})
	defer stop()
	if err := c.SetReadDeadline(deadline); err != nil {
		return 0, 0, err
	}

	buf := make([]byte, 256<<10)
	var total int64
	var first, last time.Time
	for {
		n, err := c.Read(buf)
		if n > 0 {
			last = time.Now()
			if first.IsZero() {
				first = last
			}
			total += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return total, last.Sub(first).Seconds(), nil
		}
		if err != nil {
			return total, last.Sub(first).Seconds(),
				fmt.Errorf("receive: %w", err)
		}
	}
}
