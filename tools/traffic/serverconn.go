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
	// is BytesReceived over it in bulk mode, and BytesSent over the
	// time spent writing in reverse mode.
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
	// Close interrupts a blocked read or write, because every read and
	// write sets a fresh deadline.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	start := time.Now()
	// The status at the end alone could mislead: Go reports MPTCP for
	// a socket that shutdown has already closed.
	mptcpAtStart, _ := c.MultipathTCP()
	cc := &countingConn{TCPConn: c, idle: s.cfg.idle,
		end: start.Add(s.cfg.maxConnTime)}
	mode, err := serveConn(cc)

	rep := cc.report(mode, start)
	mptcpAtEnd, _ := c.MultipathTCP()
	rep.MPTCP = mptcpAtStart && mptcpAtEnd
	if info, ierr := readMPTCPInfo(c); ierr == nil {
		rep.Info = &info
	}
	if err != nil {
		rep.Error = err.Error()
		// Reset the connection (MP_FASTCLOSE) so that the client
		// gets an error at once. On Linux 6.18 a plain close with
		// unread data sent no reset: the client kept writing for
		// seconds, then waited for data-level acknowledgments.
		_ = c.SetLinger(0)
	}
	c.Close()
	return errors.Join(err, s.out.write(rep))
}

// report fills in the counters of a connection that started at start.
func (c *countingConn) report(mode Mode, start time.Time) connReport {
	rep := connReport{
		Event:         "conn",
		Mode:          mode.String(),
		Remote:        c.RemoteAddr().String(),
		Local:         c.LocalAddr().String(),
		BytesReceived: c.received,
		BytesSent:     c.sent,
		Transactions:  c.transactions,
		Seconds:       round3(time.Since(start).Seconds()),
	}
	if !c.first.IsZero() {
		rep.DataSeconds = round3(c.last.Sub(c.first).Seconds())
	}
	switch mode {
	case ModeBulk:
		rep.Mbps = mbps(c.received, c.last.Sub(c.first).Seconds())
	case ModeReverse:
		rep.Mbps = mbps(c.sent, c.lastWrite.Sub(c.firstWrite).Seconds())
	}
	return rep
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
	case ModeReverse:
		d := time.Duration(h.Request) * time.Millisecond
		return h.Mode, source(c, d)
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

// source writes zeros for d, then closes its side of the connection and
// waits for the client to close.
func source(c *countingConn, d time.Duration) error {
	buf := make([]byte, 128<<10)
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if _, err := c.writeUntil(buf, end); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
	if err := c.CloseWrite(); err != nil {
		return fmt.Errorf("close the send side: %w", err)
	}
	return sink(c)
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

// countingConn counts bytes and records when data arrived. Every read
// and write must finish within idle, and none may run past end.
type countingConn struct {
	*net.TCPConn
	idle time.Duration
	end  time.Time

	received, sent, transactions int64
	first, last                  time.Time // data received
	firstWrite, lastWrite        time.Time
}

func (c *countingConn) Read(b []byte) (int, error) {
	if err := c.SetReadDeadline(c.deadline()); err != nil {
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
	return n, c.explain(err)
}

func (c *countingConn) deadline() time.Time {
	d := time.Now().Add(c.idle)
	if d.After(c.end) {
		return c.end
	}
	return d
}

// explain names the limit behind a deadline error.
func (c *countingConn) explain(err error) error {
	switch {
	case !errors.Is(err, os.ErrDeadlineExceeded):
		return err
	case !time.Now().Before(c.end):
		return fmt.Errorf("connection open longer than --max-conn-time: %w",
			err)
	}
	return fmt.Errorf("no progress for --idle-timeout %v: %w", c.idle,
		err)
}

func (c *countingConn) Write(b []byte) (int, error) {
	return c.writeUntil(b, time.Time{})
}

// writeUntil writes like Write, but a write cut short by stop returns
// the bytes written and no error. The zero stop means no stop.
func (c *countingConn) writeUntil(b []byte, stop time.Time) (int, error) {
	d := c.deadline()
	if !stop.IsZero() && stop.Before(d) {
		d = stop
	}
	if err := c.SetWriteDeadline(d); err != nil {
		return 0, err
	}
	n, err := c.TCPConn.Write(b)
	c.sent += int64(n)
	if n > 0 {
		c.lastWrite = time.Now()
		if c.firstWrite.IsZero() {
			c.firstWrite = c.lastWrite
		}
	}
	if d == stop && errors.Is(err, os.ErrDeadlineExceeded) &&
		!time.Now().Before(stop) {
		return n, nil
	}
	return n, c.explain(err)
}
