package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// rrReport is the JSON object the client prints in rr mode.
type rrReport struct {
	Mode string `json:"mode"`
	connStatus
	RequestBytes  int      `json:"request_bytes"`
	ResponseBytes int      `json:"response_bytes"`
	Transactions  int64    `json:"transactions"`
	Seconds       float64  `json:"seconds"`
	TPS           float64  `json:"transactions_per_second"`
	Latency       *Latency `json:"latency,omitempty"`
	HoldSeconds   float64  `json:"hold_seconds,omitempty"`
	Error         string   `json:"error,omitempty"`
}

// runRR runs transactions on one connection: write a request, read the
// whole response, until cfg.duration passes or cfg.count is reached.
func runRR(ctx context.Context, cfg clientConfig, out *jsonWriter) error {
	h := Header{Mode: ModeRR, Request: uint32(cfg.request),
		Response: uint32(cfg.response)}
	c, err := cfg.dial(ctx, h)
	if err != nil {
		return cfg.dialFailed(out, ModeRR, err)
	}
	defer c.Close()

	rep := rrReport{Mode: ModeRR.String(), connStatus: status(c),
		RequestBytes: cfg.request, ResponseBytes: cfg.response}
	if err := cfg.checkMPTCP(rep.connStatus); err != nil {
		rep.Error = err.Error()
		return errors.Join(err, out.write(rep))
	}

	var lat samples
	start := time.Now()
	rep.Transactions, err = transact(ctx, cfg, c, &lat)
	err = interrupted(ctx, err)
	elapsed := time.Since(start).Seconds()
	rep.Seconds = round3(elapsed)
	if elapsed > 0 {
		rep.TPS = round3(float64(rep.Transactions) / elapsed)
	}
	rep.Latency = lat.summary()
	rep.connStatus = status(c)
	rep.HoldSeconds = cfg.hold.Seconds()
	if err != nil {
		rep.Error = err.Error()
	}
	return cfg.finish(ctx, out, rep, rep.connStatus, err)
}

// transact runs the transaction loop and records each latency. Every
// request and response must complete within cfg.timeout.
func transact(ctx context.Context, cfg clientConfig, c *net.TCPConn,
	lat *samples) (int64, error) {
	req := make([]byte, cfg.request)
	resp := make([]byte, cfg.response)
	end := time.Now().Add(cfg.duration)
	var n int64
	for ctx.Err() == nil && time.Now().Before(end) {
		if cfg.count > 0 && n >= int64(cfg.count) {
			break
		}
		t0 := time.Now()
		if err := c.SetDeadline(t0.Add(cfg.timeout)); err != nil {
			return n, err
		}
		if err := roundTrip(c, req, resp); err != nil {
			return n, fmt.Errorf("transaction %d: %w", n+1, err)
		}
		lat.add(time.Since(t0))
		n++
	}
	return n, c.SetDeadline(time.Time{})
}

func roundTrip(c io.ReadWriter, req, resp []byte) error {
	if _, err := c.Write(req); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	if _, err := io.ReadFull(c, resp); err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	return nil
}
