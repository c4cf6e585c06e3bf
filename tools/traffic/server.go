package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// serverConfig holds the server's command-line settings.
type serverConfig struct {
	listen       netip.AddrPort
	once         bool
	requireMPTCP bool
	idle         time.Duration
	maxConnTime  time.Duration
	maxConns     int
}

func parseServerFlags(args []string, stderr io.Writer) (
	serverConfig, error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, serverUsage); fs.PrintDefaults() }
	listen := fs.String("listen", "", "IP:PORT to listen on (required)")
	once := fs.Bool("once", false, "exit after the first connection ends")
	req := fs.Bool("require-mptcp", false,
		"fail when the listener cannot be MPTCP")
	idle := durationFlag(fs, "idle-timeout", 30*time.Second,
		"close a connection that sends nothing for this long")
	maxConnTime := durationFlag(fs, "max-conn-time", time.Hour,
		"close a connection open longer than this")
	maxConns := fs.Int("max-conns", 1024,
		"connections served at the same time; more wait in the backlog")
	if err := fs.Parse(args); err != nil {
		return serverConfig{}, err
	}

	cfg := serverConfig{once: *once, requireMPTCP: *req, idle: *idle,
		maxConnTime: *maxConnTime, maxConns: *maxConns}
	var err error
	if cfg.listen, err = parseAddrPort("listen", *listen); err != nil {
		return cfg, err
	}
	if cfg.idle <= 0 || cfg.maxConnTime <= 0 || cfg.maxConns <= 0 {
		return cfg, errors.New("--idle-timeout, --max-conn-time and " +
			"--max-conns must be greater than 0")
	}
	return cfg, nil
}

// runServer listens until ctx ends, or until the first connection ends
// with --once, and reports every finished connection to out.
func runServer(ctx context.Context, cfg serverConfig, out *jsonWriter,
	stderr io.Writer) error {
	var lc net.ListenConfig
	lc.SetMultipathTCP(true)
	ln, err := lc.Listen(ctx, "tcp", cfg.listen.String())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	defer ln.Close()

	if err := checkListener(ln.(*net.TCPListener), cfg.requireMPTCP,
		stderr); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mptcp-traffic: listening on %s\n", ln.Addr())

	s := &server{cfg: cfg, out: out, conns: map[net.Conn]struct{}{}}
	return s.serve(ctx, ln)
}

// checkListener warns, or fails with requireMPTCP, when Go created a
// plain TCP listener because MPTCP is not available in this namespace.
func checkListener(ln *net.TCPListener, require bool,
	stderr io.Writer) error {
	raw, err := ln.SyscallConn()
	if err != nil {
		return err
	}
	var proto int
	var perr error
	err = raw.Control(func(fd uintptr) {
		proto, perr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET,
			unix.SO_PROTOCOL)
	})
	if err = errors.Join(err, perr); err != nil {
		return fmt.Errorf("read listener protocol: %w", err)
	}
	if proto == unix.IPPROTO_MPTCP {
		return nil
	}
	msg := "listener is plain TCP: MPTCP is disabled here " +
		"(set net.mptcp.enabled=1 in this namespace)"
	if require {
		return errors.New(msg)
	}
	fmt.Fprintln(stderr, "mptcp-traffic: warning:", msg)
	return nil
}

type server struct {
	cfg serverConfig
	out *jsonWriter

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func (s *server) serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer s.closeAll()

	slots := make(chan struct{}, s.cfg.maxConns)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}

		if s.cfg.once {
			stop()
			return s.handle(ctx, c.(*net.TCPConn))
		}
		s.wg.Go(func() {
			defer func() { <-slots }()
			_ = s.handle(ctx, c.(*net.TCPConn))
		})
	}
}

// closeAll ends the connections still open and waits for their reports.
func (s *server) closeAll() {
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *server) track(c net.Conn, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
}
