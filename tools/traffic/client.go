package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// clientConfig holds the client's command-line settings.
type clientConfig struct {
	connect      netip.AddrPort
	local        netip.Addr // zero: the kernel picks the source
	mode         Mode
	duration     time.Duration
	hold         time.Duration
	interval     time.Duration // bulk, reverse: progress period
	timeout      time.Duration
	requireMPTCP bool

	request, response int // rr and churn message sizes in bytes
	count             int // max rr transactions, or churn connections
	rate              float64
	inflight          int
}

func parseClientFlags(args []string, stderr io.Writer) (
	clientConfig, error) {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, clientUsage); fs.PrintDefaults() }
	connect := fs.String("connect", "",
		"server IP:PORT, the only address traffic goes to (required)")
	local := fs.String("local", "",
		"source IP for the initial subflow (default: kernel's choice)")
	mode := fs.String("mode", "bulk",
		"traffic mode: bulk, reverse, rr or churn")
	var cfg clientConfig
	duration := durationFlag(fs, "duration", 0,
		"bulk, reverse and rr: how long to send (default 5s); churn: "+
			"time limit for the whole run (default count/rate + "+
			"2 x timeout)")
	hold := durationFlag(fs, "hold", 0,
		"bulk, reverse and rr: keep the connection open this long "+
			"after the report is printed (the server closes "+
			"connections idle for its --idle-timeout, 30s by default)")
	interval := durationFlag(fs, "interval", 0,
		"bulk and reverse: print a progress line with the bytes "+
			"acknowledged or received every interval (default: none)")
	timeout := durationFlag(fs, "timeout", 5*time.Second,
		"connect timeout, and the wait for data to be acknowledged")
	fs.BoolVar(&cfg.requireMPTCP, "require-mptcp", false,
		"exit with status 3 when a connection is plain TCP")
	fs.IntVar(&cfg.request, "request", 64, "rr and churn: request bytes")
	fs.IntVar(&cfg.response, "response", 64,
		"rr and churn: response bytes")
	fs.IntVar(&cfg.count, "count", 0, "rr: stop after this many "+
		"transactions (0: run for --duration); churn: connections "+
		"to open (default 100)")
	fs.Float64Var(&cfg.rate, "rate", 50,
		"churn: connections per second to start")
	fs.IntVar(&cfg.inflight, "inflight", 16,
		"churn: connections open at the same time, at most")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.duration, cfg.hold, cfg.timeout = *duration, *hold, *timeout
	cfg.interval = *interval
	return cfg, cfg.parse(*connect, *local, *mode)
}

func (cfg *clientConfig) parse(connect, local, mode string) error {
	var err error
	if cfg.connect, err = parseAddrPort("connect", connect); err != nil {
		return err
	}
	if local != "" {
		if cfg.local, err = netip.ParseAddr(local); err != nil {
			return fmt.Errorf("invalid --local %q: want an IP "+
				"literal: %w", local, err)
		}
	}
	if cfg.mode, err = parseMode(mode); err != nil {
		return err
	}
	if cfg.mode == ModeChurn && cfg.count == 0 {
		cfg.count = 100
	}
	cfg.setDefaultDuration()
	return cfg.validate()
}

// setDefaultDuration fills in --duration when it is 0: 5s for bulk,
// reverse and rr, and for churn the time the schedule needs plus two timeouts.
func (cfg *clientConfig) setDefaultDuration() {
	switch {
	case cfg.duration > 0:
	case cfg.mode == ModeChurn && cfg.rate > 0:
		cfg.duration = time.Duration(float64(cfg.count)/cfg.rate*
			float64(time.Second)) + 2*cfg.timeout
	default:
		cfg.duration = 5 * time.Second
	}
}

func (cfg *clientConfig) validate() error {
	switch {
	case cfg.duration <= 0:
		return errors.New("--duration must be greater than 0")
	case cfg.timeout <= 0:
		return errors.New("--timeout must be greater than 0")
	case cfg.request < 1 || cfg.request > maxMessage:
		return fmt.Errorf("--request %d out of range 1..%d",
			cfg.request, maxMessage)
	case cfg.response < 0 || cfg.response > maxMessage:
		return fmt.Errorf("--response %d out of range 0..%d",
			cfg.response, maxMessage)
	case cfg.count < 0 || cfg.count > maxCount:
		return fmt.Errorf("--count %d out of range 0..%d", cfg.count,
			maxCount)
	case cfg.rate <= 0:
		return errors.New("--rate must be greater than 0")
	case cfg.inflight < 1:
		return errors.New("--inflight must be at least 1")
	}
	return nil
}

// dial opens one MPTCP connection and sends the header.
func (cfg *clientConfig) dial(ctx context.Context, h Header) (
	*net.TCPConn, error) {
	c, err := cfg.connectMPTCP(ctx)
	if err != nil {
		return nil, err
	}
	if err := cfg.sendHeader(c, h); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// connectMPTCP opens a connection with an MPTCP socket. Go creates a
// plain TCP socket instead when MPTCP is disabled on the host.
func (cfg *clientConfig) connectMPTCP(ctx context.Context) (
	*net.TCPConn, error) {
	d := net.Dialer{Timeout: cfg.timeout}
	d.SetMultipathTCP(true)
	if cfg.local.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(
			netip.AddrPortFrom(cfg.local, 0))
	}
	c, err := d.DialContext(ctx, "tcp", cfg.connect.String())
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.connect, err)
	}
	return c.(*net.TCPConn), nil
}

func (cfg *clientConfig) sendHeader(c *net.TCPConn, h Header) error {
	b, err := h.MarshalBinary()
	if err != nil {
		return err
	}
	if err := c.SetWriteDeadline(time.Now().Add(cfg.timeout)); err != nil {
		return err
	}
	if _, err := c.Write(b); err != nil {
		return fmt.Errorf("send header to %s: %w", cfg.connect, err)
	}
	return c.SetWriteDeadline(time.Time{})
}

// connStatus is the part of every client report that describes the
// connection itself.
type connStatus struct {
	Remote string `json:"remote"`
	Local  string `json:"local"`
	MPTCP  bool   `json:"mptcp"`
	// Fallback is the reason a connection is plain TCP, empty for MPTCP.
	Fallback string     `json:"fallback,omitempty"`
	Info     *MPTCPInfo `json:"mptcp_info,omitempty"`
}

// errInterrupted ends a run that SIGINT or SIGTERM stopped early. The
// report is still printed, with what was measured until then.
var errInterrupted = errors.New("interrupted by a signal before the " +
	"run ended")

// interrupted returns errInterrupted when ctx ended, in place of the
// error that the interruption caused, and err otherwise.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errInterrupted
	}
	return err
}

// errNotMPTCP is returned with --require-mptcp for a plain TCP connection.
var errNotMPTCP = errors.New("connection is not MPTCP")

// status reads whether c uses MPTCP and, if not, why.
func status(c *net.TCPConn) connStatus {
	st := connStatus{
		Remote: c.RemoteAddr().String(),
		Local:  c.LocalAddr().String(),
	}
	st.MPTCP, _ = c.MultipathTCP()
	if st.MPTCP {
		if info, err := readMPTCPInfo(c); err == nil {
			st.Info = &info
		}
		return st
	}
	st.Fallback = fallbackReason(c)
	return st
}

func fallbackReason(c *net.TCPConn) string {
	proto, err := socketProtocol(c)
	switch {
	case err != nil:
		return "plain TCP (socket protocol unknown: " + err.Error() + ")"
	case proto == unix.IPPROTO_TCP:
		return "socket is plain TCP: MPTCP is disabled on this host " +
			"(net.mptcp.enabled=0) or not built into the kernel"
	default:
		return "the kernel fell back to TCP: the peer did not accept " +
			"MPTCP (no MP_CAPABLE in its SYN/ACK) or a middlebox " +
			"removed the option"
	}
}

// checkMPTCP returns errNotMPTCP with the reason when --require-mptcp
// is set and the connection is plain TCP.
func (cfg *clientConfig) checkMPTCP(st connStatus) error {
	if !cfg.requireMPTCP || st.MPTCP {
		return nil
	}
	return fmt.Errorf("%w: %s to %s: %s", errNotMPTCP, st.Local,
		st.Remote, st.Fallback)
}

// dialFailed prints a report that contains only the error, so that a
// failed run also prints one JSON object, and returns err.
func (cfg *clientConfig) dialFailed(out *jsonWriter, mode Mode,
	err error) error {
	rep := struct {
		Mode   string `json:"mode"`
		Remote string `json:"remote"`
		MPTCP  bool   `json:"mptcp"`
		Error  string `json:"error"`
	}{mode.String(), cfg.connect.String(), false, err.Error()}
	return errors.Join(err, out.write(rep))
}

// finish prints the report, then holds the connection open. It returns
// err, or errNotMPTCP when the run went well but --require-mptcp is not
// met.
func (cfg *clientConfig) finish(ctx context.Context, out *jsonWriter,
	rep any, st connStatus, err error) error {
	if werr := out.write(rep); werr != nil {
		return werr
	}
	if err == nil {
		err = cfg.checkMPTCP(st)
	}
	cfg.holdOpen(ctx)
	return err
}

// holdOpen keeps the connection open for cfg.hold or until ctx ends.
func (cfg *clientConfig) holdOpen(ctx context.Context) {
	if cfg.hold <= 0 {
		return
	}
	t := time.NewTimer(cfg.hold)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
