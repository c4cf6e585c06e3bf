package main

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/netlab"
)

// inNS runs fn on a thread that has entered the network namespace at
// path. Sockets that fn creates stay in that namespace. When the thread
// cannot return to its namespace it stays locked, so the runtime ends it.
func inNS(path string, fn func() error) error {
	runtime.LockOSThread()
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open own network namespace: %w", err)
	}
	defer unix.Close(self)
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open network namespace %s: %w", path, err)
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter network namespace %s: %w", path, err)
	}
	ferr := fn()
	if err := unix.Setns(self, unix.CLONE_NEWNET); err == nil {
		runtime.UnlockOSThread()
	}
	return ferr
}

// dialMPTCP opens an MPTCP connection from inside ns. It fails when the
// connection fell back to plain TCP.
func dialMPTCP(ctx context.Context, ns *netlab.NS, addr string) (net.Conn, error) {
	var d net.Dialer
	d.SetMultipathTCP(true)
	var c net.Conn
	err := inNS(ns.Path(), func() error {
		var err error
		c, err = d.DialContext(ctx, "tcp4", addr)
		return err
	})
	if err != nil {
		return nil, err
	}
	if ok, _ := c.(*net.TCPConn).MultipathTCP(); !ok {
		c.Close()
		return nil, fmt.Errorf("connection to %s fell back to plain TCP", addr)
	}
	return c, nil
}

// startServers runs one mptcp-traffic server per address in the server
// namespace. A connection that sends no mptcp-traffic header is echoed,
// so the harness's own connections need no protocol. The servers are
// separate processes because one process may not hold the file
// descriptors of both ends of 10,000 connections.
func startServers(c *config, ns *netlab.NS, addrs []string) ([]*proc, error) {
	var ps []*proc
	for _, a := range addrs {
		cmd := ns.Command(c.traffic, "server", "--listen", a,
			"--max-conns", "20000", "--idle-timeout", "10m")
		p, err := startProc("server "+a, cmd, "listening on", nil, true, 5*time.Second)
		if err != nil {
			stopAll(ps)
			return nil, fmt.Errorf("traffic server: %w", err)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func stopAll(ps []*proc) {
	for _, p := range ps {
		_ = p.stop()
	}
}
