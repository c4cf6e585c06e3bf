package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// maxCount bounds --count, for rr transactions and churn connections.
const maxCount = 1_000_000

// churnReport is the JSON object the client prints in churn mode.
type churnReport struct {
	Mode        string  `json:"mode"`
	Remote      string  `json:"remote"`
	TargetRate  float64 `json:"target_rate"`
	MaxInflight int     `json:"max_inflight"`

	Attempted int `json:"attempted"`
	Opened    int `json:"opened"` // handshake completed
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	// MPTCP is true when every connection that opened was MPTCP.
	MPTCP      bool   `json:"mptcp"`
	MPTCPConns int    `json:"mptcp_connections"`
	Fallback   string `json:"fallback,omitempty"` // first reason seen

	Seconds float64 `json:"seconds"`
	// Rate is successful connections per second over Seconds.
	Rate        float64        `json:"rate"`
	Connect     *Latency       `json:"connect_latency,omitempty"`
	Transaction *Latency       `json:"transaction_latency,omitempty"`
	Errors      map[string]int `json:"errors,omitempty"`
	Error       string         `json:"error,omitempty"`
}

// maxErrorKinds bounds the distinct keys of churnReport.Errors.
const maxErrorKinds = 10

// churn aggregates the outcomes of the connections.
type churn struct {
	mu          sync.Mutex
	rep         churnReport
	connect, tx samples
}

// runChurn opens cfg.count short connections, started cfg.rate per
// second with at most cfg.inflight open, each running one transaction.
// The run stops early when cfg.duration passes.
func runChurn(ctx context.Context, cfg clientConfig,
	out *jsonWriter) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()

	ch := &churn{rep: churnReport{
		Mode: ModeChurn.String(), Remote: cfg.connect.String(),
		TargetRate: cfg.rate, MaxInflight: cfg.inflight,
		Errors: map[string]int{},
	}}
	start := time.Now()
	err := ch.schedule(ctx, cfg)
	elapsed := time.Since(start).Seconds()

	rep := ch.finish(elapsed)
	if err != nil {
		rep.Error = err.Error()
	}
	if werr := out.write(rep); werr != nil {
		return werr
	}
	if err == nil && cfg.requireMPTCP && rep.MPTCPConns < rep.Opened {
		err = fmt.Errorf("%w: %d of %d connections to %s: %s",
			errNotMPTCP, rep.Opened-rep.MPTCPConns, rep.Opened,
			rep.Remote, rep.Fallback)
	}
	return err
}

// schedule starts the connections at the target rate. A start that is
// late because all slots were busy goes out at once, but the schedule
// never runs more than one interval behind, so there are no catch-up
// bursts.
func (ch *churn) schedule(ctx context.Context, cfg clientConfig) error {
	interval := time.Duration(float64(time.Second) / cfg.rate)
	slots := make(chan struct{}, cfg.inflight)
	var wg sync.WaitGroup
	defer wg.Wait()

	next := time.Now()
	for range cfg.count {
		if err := sleepUntil(ctx, next); err != nil {
			return err
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return stopReason(ctx)
		}
		wg.Go(func() {
			defer func() { <-slots }()
			ch.record(oneConn(ctx, cfg))
		})
		next = next.Add(interval)
		if now := time.Now(); next.Before(now.Add(-interval)) {
			next = now
		}
	}
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return stopReason(ctx)
	}
}

func stopReason(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return errors.New("time limit (--duration) reached before " +
			"--count connections were started")
	}
	return errInterrupted
}

// connResult is the outcome of one churn connection.
type connResult struct {
	connect, tx time.Duration
	mptcp       bool
	fallback    string
	err         error
}

// oneConn connects, runs one transaction and closes. Connect latency is
// the time until the handshake completed; tx is header plus request
// written until the whole response was read.
func oneConn(ctx context.Context, cfg clientConfig) connResult {
	var r connResult
	t0 := time.Now()
	c, err := cfg.connectMPTCP(ctx)
	if err != nil {
		r.err = stageError{"connect", err}
		return r
	}
	defer c.Close()
	r.connect = time.Since(t0)
	st := status(c)
	r.mptcp, r.fallback = st.MPTCP, st.Fallback

	t1 := time.Now()
	h := Header{Mode: ModeChurn, Request: uint32(cfg.request),
		Response: uint32(cfg.response)}
	if err := cfg.sendHeader(c, h); err != nil {
		r.err = stageError{"request", err}
		return r
	}
	if err := c.SetDeadline(t1.Add(cfg.timeout)); err != nil {
		r.err = stageError{"request", err}
		return r
	}
	req, resp := make([]byte, cfg.request), make([]byte, cfg.response)
	if err := roundTrip(c, req, resp); err != nil {
		r.err = stageError{"transaction", err}
		return r
	}
	r.tx = time.Since(t1)
	return r
}

func (ch *churn) record(r connResult) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.rep.Attempted++
	if r.connect > 0 {
		ch.connect.add(r.connect)
		if r.mptcp {
			ch.rep.MPTCPConns++
		} else if ch.rep.Fallback == "" {
			ch.rep.Fallback = r.fallback
		}
	}
	if r.err != nil {
		ch.rep.Failed++
		ch.countError(r.err)
		return
	}
	ch.rep.Succeeded++
	ch.tx.add(r.tx)
}

func (ch *churn) countError(err error) {
	key := errorKind(err)
	if _, ok := ch.rep.Errors[key]; !ok &&
		len(ch.rep.Errors) >= maxErrorKinds {
		key = "other"
	}
	ch.rep.Errors[key]++
}

func (ch *churn) finish(elapsed float64) churnReport {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	rep := ch.rep
	rep.Seconds = round3(elapsed)
	if elapsed > 0 {
		rep.Rate = round3(float64(rep.Succeeded) / elapsed)
	}
	rep.Opened = ch.connect.seen
	rep.MPTCP = rep.Opened > 0 && rep.MPTCPConns == rep.Opened
	rep.Connect = ch.connect.summary()
	rep.Transaction = ch.tx.summary()
	if len(rep.Errors) == 0 {
		rep.Errors = nil
	}
	return rep
}

// stageError names the step of a churn connection that failed.
type stageError struct {
	stage string
	err   error
}

func (e stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e stageError) Unwrap() error { return e.err }

// errorKind turns an error into a short key without addresses or ports,
// so that equal failures are counted together.
func errorKind(err error) string {
	stage := "error"
	if se, ok := err.(stageError); ok {
		stage = se.stage
	}
	var errno syscall.Errno
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, context.DeadlineExceeded):
		return stage + ": timed out"
	case errors.Is(err, context.Canceled):
		return stage + ": canceled"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return stage + ": closed by the server"
	case errors.As(err, &errno):
		return stage + ": " + errno.Error()
	}
	return stage + ": " + err.Error()
}
