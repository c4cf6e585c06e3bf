package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/netlab"
)

// demo runs the daemon and one bulk transfer in topo, then prints and
// checks the per-subflow summary.
func demo(ctx context.Context, o options, bins binaries, topo *netlab.Topology, recordDir string) error {
	fmt.Println("== starting mptcp-bpf-pm in the client namespace")
	d, err := startDaemon(ctx, topo.Client.Command(bins.daemon, "run", "--record", recordDir, "--diag-interval", "500ms"), o.verbose)
	if err != nil {
		return err
	}
	daemonStopped := false
	defer func() {
		if !daemonStopped {
			d.stop()
		}
	}()

	wildcard := netip.IPv4Unspecified()
	if o.ipv6 {
		wildcard = netip.IPv6Unspecified()
	}
	listen := netip.AddrPortFrom(wildcard, uint16(o.port)).String()
	server := topo.Server.Command(bins.traffic, "server", "--listen", listen)
	server.Stderr = os.Stderr
	if err := server.Start(); err != nil {
		return fmt.Errorf("start traffic server: %w", err)
	}
	defer server.Process.Kill()
	ss := func() (string, error) { return topo.Server.Output("ss", "-Hlnt") }
	if err := waitListening(ctx, ss, o.port); err != nil {
		return err
	}

	target := netip.AddrPortFrom(topo.Paths[0].ServerAddr, uint16(o.port))
	fmt.Printf("== MPTCP bulk transfer to %s for %s\n", target, o.duration)
	var clientOut bytes.Buffer
	client := topo.Client.Command(bins.traffic, "client", "--connect", target.String(),
		"--mode", "bulk", "--duration", o.duration.String(), "--hold", "1s", "--require-mptcp")
	client.Stdout = &clientOut
	client.Stderr = os.Stderr
	if err := client.Start(); err != nil {
		return fmt.Errorf("start traffic client: %w", err)
	}
	clientDone := make(chan error, 1)
	go func() { clientDone <- client.Wait() }()

	// Sample inet_diag near the end of the transfer, while every
	// subflow is still open.
	var sample []diag.Connection
	select {
	case <-time.After(o.duration - o.duration/5):
		sample, err = diagSample(topo.Client)
		if err != nil {
			return err
		}
	case err := <-clientDone:
		return fmt.Errorf("traffic client ended early: %v: %s", err, clientOut.String())
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-clientDone:
		if err != nil {
			return fmt.Errorf("traffic client failed: %w", err)
		}
	case <-ctx.Done():
		return ctx.Err()
	}

	daemonStopped = true
	if err := d.stop(); err != nil {
		return fmt.Errorf("daemon exit: %w", err)
	}
	fmt.Println("== daemon stopped on SIGTERM, exit status 0")

	var result map[string]any
	if err := json.Unmarshal(clientOut.Bytes(), &result); err == nil {
		fmt.Printf("== transfer: %.0f bytes in %.2fs, %.1f Mbit/s, mptcp=%v\n",
			result["bytes"], result["seconds"], result["mbps"], result["mptcp"])
	}
	records, err := readBPFRecords(filepath.Join(recordDir, "stats.jsonl"))
	if err != nil {
		return err
	}
	return summarize(os.Stdout, topo, sample, records)
}

// diagSample dumps the client namespace's MPTCP connections.
func diagSample(ns *netlab.NS) ([]diag.Connection, error) {
	f, err := os.Open(ns.Path())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := diag.Dial(&diag.Config{NetNS: int(f.Fd())})
	if err != nil {
		return nil, fmt.Errorf("open inet_diag in %s: %w", ns.Name, err)
	}
	defer c.Close()
	return c.Connections(diag.Request{})
}
