package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// connReport is the JSON line the server prints per finished connection.
type connReport struct {
	Event  string `json:"event"` // always "conn"
	Mode   string `json:"mode"`
	Remote string `json:"remote"`
	Local  string `json:"local"`

	BytesReceived int64   `json:"bytes_received"`
	BytesSent     int64   `json:"bytes_sent"`
	Transactions  int64   `json:"transactions,omitempty"`
	Seconds       float64 `json:"seconds"` // accept to end
	// DataSeconds runs from the first to the last byte received. Mbps
	// is BytesReceived over it, in bulk mode only.
	DataSeconds float64 `json:"data_seconds"`
	Mbps        float64 `json:"mbps,omitempty"`

	MPTCP bool       `json:"mptcp"`
	Info  *MPTCPInfo `json:"mptcp_info,omitempty"`
	Error string     `json:"error,omitempty"`
}

// handle serves one connection and prints its report.
func (s *server) handle(ctx context.Context, c *net.TCPConn) error {
	s.track(c, true)
	defer s.track(c, false)
	// Closing is the only way to interrupt: every read and write sets
	// a fresh deadline.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	start := time.Now()
	cc := &countingConn{TCPConn: c, idle: s.cfg.idle}
	mode, err := serveConn(cc)

	rep := connReport{
		Event:         "conn",
		Mode:          mode.String(),
		Remote:        c.RemoteAddr().String(),
		Local:         c.LocalAddr().String(),
		BytesReceived: cc.received,
		BytesSent:     cc.sent,
		Transactions:  cc.transactions,
		Seconds:       round3(time.Since(start).Seconds()),
	}
	if !cc.first.IsZero() {
		rep.DataSeconds = round3(cc.last.Sub(cc.first).Seconds())
	}
	if mode == ModeBulk {
		rep.Mbps = mbps(cc.received, cc.last.Sub(cc.first).Seconds())
	}
	rep.MPTCP, _ = c.MultipathTCP()
	if info, ierr := readMPTCPInfo(c); ierr == nil {
		rep.Info = &info
	}
	if err != nil {
		rep.Error = err.Error()
	}
	c.Close()
	return errors.Join(err, s.out.write(rep))
}

// serveConn reads the header and runs the mode it names. A clean EOF
// from the client ends every mode without error.
func serveConn(c *countingConn) (Mode, error) {
	h, early, err := readHeader(c)
	if errors.Is(err, errNoHeader) {
		return modeEcho, echo(c, early)
	}
	if errors.Is(err, io.EOF) && c.received == 0 {
		return 0, nil // connect and close, like a port probe
	}
	if err != nil {
		return 0, fmt.Errorf("read header: %w", err)
	}

	switch h.Mode {
	case ModeBulk:
		return h.Mode, sink(c)
	default:
		return h.Mode, respond(c, h)
	}
}

// sink reads and drops everything until EOF.
func sink(c *countingConn) error {
	buf := make([]byte, 256<<10)
	for {
		_, err := c.Read(buf)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// respond reads requests of h.Request bytes and writes a response of
// h.Response bytes after each, until the client closes between two
// requests.
func respond(c *countingConn, h Header) error {
	req := make([]byte, h.Request)
	resp := make([]byte, h.Response)
	for {
		_, err := io.ReadFull(c, req)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read request %d: %w",
				c.transactions+1, err)
		}
		if _, err := c.Write(resp); err != nil {
			return fmt.Errorf("write response %d: %w",
				c.transactions+1, err)
		}
		c.transactions++
	}
}

// echo writes back the bytes already read, then everything else.
func echo(c *countingConn, early []byte) error {
	if _, err := c.Write(early); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// countingConn counts bytes, records when data arrived and closes an idle
// connection: every read must finish within idle.
type countingConn struct {
	*net.TCPConn
	idle time.Duration

	received, sent, transactions int64
	first, last                  time.Time
}

func (c *countingConn) Read(b []byte) (int, error) {
	if err := c.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	n, err := c.TCPConn.Read(b)
	if n > 0 {
		c.last = time.Now()
		if c.first.IsZero() {
			c.first = c.last
		}
		c.received += int64(n)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("idle for %v: %w", c.idle, err)
	}
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	if err := c.SetWriteDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	n, err := c.TCPConn.Write(b)
	c.sent += int64(n)
	return n, err
}
