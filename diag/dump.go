package diag

import (
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Extensions requested for TCP sockets: tcp_info (which also brings the
// ULP info), the congestion control name and its own info (BBR and DCTCP
// also send theirs for the Vegas bit), socket memory, TOS and traffic
// class.
const tcpExt = extInfo | extCong | extVegasInfo | extSkMemInfo | extTOS | extTClass

// Extensions requested for MPTCP sockets: mptcp_info and socket memory.
const mptcpExt = extInfo | extSkMemInfo

// WalkTCP calls fn for each TCP socket that req selects. The socket and
// everything it points to are reused for the next one, so fn must copy
// what it keeps. An error from fn stops the walk and is returned.
func (c *Conn) WalkTCP(req Request, fn func(*TCPSocket) error) error {
	fams, err := c.prepare(&req)
	if err != nil {
		return fmt.Errorf("dump TCP sockets: %w", err)
	}
	bc := compileBytecode(&req)
	for _, fam := range fams {
		r := request{
			op: "dump TCP sockets", family: fam, protocol: ipprotoTCP,
			ext: tcpExt, states: req.states(), bytecode: bc, dump: true,
		}
		err := c.execute(&r, func(p []byte) error {
			s, err := c.tcp.decode(p)
			if err != nil {
				return fmt.Errorf("%s: %w", r.op, err)
			}
			if !req.match(&s.Socket) || !matchSubflowToken(&req, s) {
				return nil
			}
			return fn(s)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func matchSubflowToken(req *Request, s *TCPSocket) bool {
	if req.Token == 0 {
		return true
	}
	return s.Subflow != nil && s.Subflow.LocalToken == req.Token
}

// DumpTCP returns the TCP sockets that req selects, with tcp_info,
// congestion control, socket memory and, for MPTCP subflows, the subflow
// info.
func (c *Conn) DumpTCP(req Request) ([]TCPSocket, error) {
	// The previous dump's size is a good first guess for this one and
	// saves growing the slice step by step.
	out := make([]TCPSocket, 0, c.lastTCP.Load())
	var a arena
	err := c.WalkTCP(req, func(s *TCPSocket) error {
		out = append(out, a.cloneTCP(s))
		return nil
	})
	c.lastTCP.Store(int64(len(out)))
	return out, err
}

// LookupTCP returns the TCP socket with the 4-tuple of id. The addresses
// and ports must be given. A non-zero Cookie must match as well, and
// IfIndex, when set, the bound device. A missing socket, or one with
// another cookie, is an error that matches ErrNotFound.
func (c *Conn) LookupTCP(id SockID) (*TCPSocket, error) {
	r := request{
		op:     "look up TCP socket " + id.Src.String() + " " + id.Dst.String(),
		family: familyOf(id.Src.Addr()), protocol: ipprotoTCP,
		ext: tcpExt, states: AllStates, id: id,
	}
	var out *TCPSocket
	var a arena
	err := c.execute(&r, func(p []byte) error {
		s, err := c.tcp.decode(p)
		if err != nil {
			return fmt.Errorf("%s: %w", r.op, err)
		}
		v := a.cloneTCP(s)
		out = &v
		return nil
	})
	if err == nil && out == nil {
		err = &OpError{Op: r.op, Errno: unix.ENOENT}
	}
	return out, err
}

func familyOf(a netip.Addr) uint8 {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// WalkMPTCP calls fn for each MPTCP socket that req selects, with the
// same reuse rule as WalkTCP. With req.Token set it sends one lookup, and
// an unknown token yields no socket rather than an error.
func (c *Conn) WalkMPTCP(req Request, fn func(*MPTCPSocket) error) error {
	fams, err := c.prepare(&req)
	if err != nil {
		return fmt.Errorf("dump MPTCP sockets: %w", err)
	}
	if req.Token != 0 {
		return c.walkToken(&req, fn)
	}
	bc := compileBytecode(&req)
	for _, fam := range fams {
		r := request{
			op: "dump MPTCP sockets", family: fam, protocol: ipprotoMPTCP,
			ext: mptcpExt, states: req.states(), bytecode: bc, dump: true,
		}
		err := c.execute(&r, func(p []byte) error {
			return c.emitMPTCP(&req, r.op, p, fn)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) walkToken(req *Request, fn func(*MPTCPSocket) error) error {
	r := c.tokenRequest(req.Token)
	err := c.execute(&r, func(p []byte) error {
		return c.emitMPTCP(req, r.op, p, fn)
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func (c *Conn) emitMPTCP(req *Request, op string, p []byte, fn func(*MPTCPSocket) error) error {
	s, err := c.mptcp.decode(p)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if !req.match(&s.Socket) {
		return nil
	}
	if req.Token != 0 && (s.Info == nil || s.Info.Token != req.Token) {
		return nil
	}
	return fn(s)
}

// tokenRequest builds the single-socket MPTCP request: the kernel looks
// the connection up by the local token in cookie[0] and ignores the rest
// of the socket id and the family.
func (c *Conn) tokenRequest(token uint32) request {
	return request{
		op:     fmt.Sprintf("look up MPTCP token %#08x", token),
		family: unix.AF_INET, protocol: ipprotoMPTCP, ext: mptcpExt,
		states: AllStates, id: SockID{Cookie: uint64(token)},
	}
}

// DumpMPTCP returns the MPTCP sockets that req selects, with mptcp_info.
func (c *Conn) DumpMPTCP(req Request) ([]MPTCPSocket, error) {
	var out []MPTCPSocket
	var a arena
	err := c.WalkMPTCP(req, func(s *MPTCPSocket) error {
		out = append(out, a.cloneMPTCP(s))
		return nil
	})
	return out, err
}

// LookupMPTCP returns the MPTCP socket whose local token is token. An
// unknown token is an error that matches ErrNotFound.
func (c *Conn) LookupMPTCP(token uint32) (*MPTCPSocket, error) {
	r := c.tokenRequest(token)
	var out *MPTCPSocket
	var a arena
	err := c.execute(&r, func(p []byte) error {
		s, err := c.mptcp.decode(p)
		if err != nil {
			return fmt.Errorf("%s: %w", r.op, err)
		}
		v := a.cloneMPTCP(s)
		out = &v
		return nil
	})
	if err == nil && out == nil {
		err = &OpError{Op: r.op, Errno: unix.ENOENT}
	}
	return out, err
}

func (c *Conn) prepare(req *Request) ([]uint8, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	return req.families()
}
