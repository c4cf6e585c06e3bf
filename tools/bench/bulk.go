package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// bulkReport is the part of an mptcp-traffic client report the harness
// uses.
type bulkReport struct {
	Mbps  float64 `json:"mbps"`
	MPTCP bool    `json:"mptcp"`
	Info  *struct {
		Subflows int `json:"subflows"`
	} `json:"mptcp_info"`
	Error     string `json:"error"`
	intervals []interval
}

// interval is one --interval progress line.
type interval struct {
	Event string  `json:"event"`
	Start float64 `json:"start"`
	Secs  float64 `json:"seconds"`
	Mbps  float64 `json:"mbps"`
}

// runBulk runs one mptcp-traffic bulk transfer from the client namespace
// to addr. during, when set, runs once the transfer has started.
func runBulk(ctx context.Context, c *config, l *lab, addr string, d, every time.Duration, during func()) (*bulkReport, error) {
	args := []string{"client", "--connect", addr, "--mode", "bulk",
		"--duration", d.String(), "--timeout", "15s", "--require-mptcp"}
	if every > 0 {
		args = append(args, "--interval", every.String())
	}
	cmd := l.topo.Client.Command(c.traffic, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if during != nil {
		during()
	}
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		return nil, ctx.Err()
	}
	rep, perr := parseBulk(out.Bytes())
	if perr != nil {
		return nil, fmt.Errorf("mptcp-traffic client (%v): %w: %s", err, perr, strings.TrimSpace(errb.String()))
	}
	return rep, nil
}

func parseBulk(b []byte) (*bulkReport, error) {
	var rep *bulkReport
	var ivs []interval
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.Contains(line, []byte(`"event":"interval"`)) {
			var iv interval
			if err := json.Unmarshal(line, &iv); err == nil {
				ivs = append(ivs, iv)
			}
			continue
		}
		var r bulkReport
		if err := json.Unmarshal(line, &r); err == nil {
			rep = &r
		}
	}
	if rep == nil {
		return nil, fmt.Errorf("no report in the output %q", truncate(string(b), 200))
	}
	rep.intervals = ivs
	return rep, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func (r *bulkReport) subflows() int {
	if r.Info == nil {
		return 0
	}
	return r.Info.Subflows
}
