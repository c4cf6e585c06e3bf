package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// intervalReport is the JSON line printed every --interval during a bulk
// or reverse run. It counts bytes the peer acknowledged (bulk) or bytes
// received (reverse), at the MPTCP data level or, after a fallback, at
// the TCP level, so it shows when a path stalls or recovers.
type intervalReport struct {
	Event    string  `json:"event"` // always "interval"
	Mode     string  `json:"mode"`
	Start    float64 `json:"start"` // seconds since reporting began
	Seconds  float64 `json:"seconds"`
	Bytes    uint64  `json:"bytes"` // acked or received in the interval
	Mbps     float64 `json:"mbps"`
	Subflows int     `json:"subflows,omitempty"`
}

// byteCounter returns a byte count of the connection and its live
// subflows.
type byteCounter func(c *net.TCPConn) (uint64, int, error)

// ackedBytes counts the bytes the peer acknowledged, from mptcp_info or,
// for plain TCP, from tcp_info.
func ackedBytes(c *net.TCPConn) (uint64, int, error) {
	if info, err := readMPTCPInfo(c); err == nil {
		return info.BytesAcked, info.Subflows, nil
	}
	ti, err := tcpInfo(c)
	return ti.Bytes_acked, 0, err
}

// receivedBytes counts the bytes received like ackedBytes.
func receivedBytes(c *net.TCPConn) (uint64, int, error) {
	if info, err := readMPTCPInfo(c); err == nil {
		return info.BytesReceived, info.Subflows, nil
	}
	ti, err := tcpInfo(c)
	return ti.Bytes_received, 0, err
}

func tcpInfo(c *net.TCPConn) (unix.TCPInfo, error) {
	var ti *unix.TCPInfo
	err := control(c, func(fd int) (err error) {
		ti, err = unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP,
			unix.TCP_INFO)
		return err
	})
	if err != nil {
		return unix.TCPInfo{}, fmt.Errorf("getsockopt TCP_INFO: %w", err)
	}
	return *ti, nil
}

// startIntervals prints an intervalReport every period until the
// returned stop function is called. A zero period prints nothing.
func startIntervals(c *net.TCPConn, mode Mode, period time.Duration,
	out *jsonWriter, count byteCounter) (stop func()) {
	if period <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { printIntervals(ctx, c, mode, period, out, count) })
	return func() { cancel(); wg.Wait() }
}

func printIntervals(ctx context.Context, c *net.TCPConn, mode Mode,
	period time.Duration, out *jsonWriter, count byteCounter) {
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	start := time.Now()
	last := start
	lastAcked, _, err := count(c)
	for err == nil {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			var acked uint64
			var subflows int
			acked, subflows, err = count(c)
			if err != nil {
				return
			}
			secs := now.Sub(last).Seconds()
			_ = out.write(intervalReport{
				Event: "interval", Mode: mode.String(),
				Start:    round3(last.Sub(start).Seconds()),
				Seconds:  round3(secs),
				Bytes:    acked - lastAcked,
				Mbps:     mbps(int64(acked-lastAcked), secs),
				Subflows: subflows,
			})
			last, lastAcked = now, acked
		}
	}
}
