package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"
)

// serveConn checks the peer, reads one request and writes its response.
func (l *Listener) serveConn(ctx context.Context, c *net.UnixConn, h Handler) {
	if resp, ok := l.checkPeer(c); !ok {
		c.SetWriteDeadline(time.Now().Add(writeTimeout))
		writeResponse(c, resp)
		return
	}
	c.SetReadDeadline(time.Now().Add(requestTimeout))
	line, err := readLine(bufio.NewReaderSize(c, 4096))
	if err != nil {
		if !errors.Is(err, io.EOF) {
			c.SetWriteDeadline(time.Now().Add(writeTimeout))
			writeResponse(c, Response{Error: invalidf("%v", err)})
		}
		return
	}
	c.SetReadDeadline(time.Time{})
	req, rerr := decodeRequest(line)
	if rerr != nil {
		c.SetWriteDeadline(time.Now().Add(writeTimeout))
		writeResponse(c, Response{Error: rerr})
		return
	}
	if req.Op == OpWatch {
		serveWatch(ctx, c, h, req)
		return
	}
	resp := dispatch(h, req)
	c.SetWriteDeadline(time.Now().Add(writeTimeout))
	writeResponse(c, resp)
}

func (l *Listener) checkPeer(c *net.UnixConn) (Response, bool) {
	uid, err := peerUID(c)
	if err != nil {
		return Response{Error: &Error{Code: CodeFailed, Message: err.Error()}}, false
	}
	if !l.allow(uid) {
		return Response{Error: &Error{Code: CodeDenied, Message: fmt.Sprintf(
			"permission denied: uid %d may not use the control socket: run as root or as the daemon's user", uid)}}, false
	}
	return Response{}, true
}

// readLine reads one newline-terminated line of at most MaxRequestSize
// bytes. A last line without newline is accepted at EOF.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > MaxRequestSize {
			return nil, fmt.Errorf("request longer than %d bytes", MaxRequestSize)
		}
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil
		case errors.Is(err, io.EOF):
			return nil, io.EOF
		default:
			return nil, fmt.Errorf("read request: %w", err)
		}
	}
}

func writeResponse(w io.Writer, resp Response) error {
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(Response{Error: &Error{Code: CodeFailed, Message: "encode response: " + err.Error()}})
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// dispatch runs one request on h. A panic in h becomes an error response,
// so that a bad request never stops the daemon.
func dispatch(h Handler, req Request) (resp Response) {
	defer func() {
		if p := recover(); p != nil {
			resp = Response{Error: &Error{Code: CodeFailed, Message: fmt.Sprintf("internal error in %s: %v", req.Op, p)}}
		}
	}()
	switch req.Op {
	case OpStatus:
		st := h.Status()
		return Response{Status: &st}
	case OpConnections:
		return Response{Connections: nonNil(h.Connections())}
	case OpAddAddress, OpRemoveAddress:
		return addressOp(h, req)
	case OpSetOption:
		if req.Key == "" {
			return Response{Error: invalidf("invalid set_option request: missing \"key\"")}
		}
		return result(h.SetOption(req.Key, req.Value))
	case OpCreateSubflow:
		return createSubflow(h, req)
	}
	return Response{Error: invalidf("unknown op %q: want status, connections, add_address, remove_address, set_option, create_subflow or watch", req.Op)}
}

func nonNil(c []Connection) []Connection {
	if c == nil {
		return []Connection{}
	}
	return c
}

func result(err error) Response {
	if err != nil {
		return Response{Error: toError(err)}
	}
	return Response{OK: true}
}

func addressOp(h Handler, req Request) Response {
	a, err := netip.ParseAddr(req.Address)
	if err != nil {
		return Response{Error: invalidf("invalid address %q in %s request: want an IPv4 or IPv6 address such as 10.0.0.1", req.Address, req.Op)}
	}
	a = a.Unmap()
	if req.Op == OpAddAddress {
		return result(h.AddAddress(a))
	}
	return result(h.RemoveAddress(a))
}

func createSubflow(h Handler, req Request) Response {
	s := req.Subflow
	switch {
	case s == nil:
		return Response{Error: invalidf("invalid create_subflow request: missing \"subflow\"")}
	case s.Token == 0:
		return Response{Error: invalidf("invalid create_subflow request: missing connection token")}
	case !s.Local.IsValid() || !s.Remote.IsValid() || s.Remote.Port() == 0:
		return Response{Error: invalidf("invalid create_subflow request: want a local address and a remote address with port")}
	}
	s.Local = s.Local.Unmap()
	s.Remote = netip.AddrPortFrom(s.Remote.Addr().Unmap(), s.Remote.Port())
	if s.Local.Is4() != s.Remote.Addr().Is4() {
		return Response{Error: invalidf("invalid create_subflow request: local %s and remote %s are of different address families", s.Local, s.Remote.Addr())}
	}
	return result(h.CreateSubflow(*s))
}
