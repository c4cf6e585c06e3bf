package diag

import (
	"encoding/binary"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// request describes one inet_diag_req_v2 message.
type request struct {
	op       string // for errors, such as "dump TCP sockets"
	family   uint8
	protocol uint16 // IPPROTO_TCP or IPPROTO_MPTCP
	ext      uint8
	states   uint32
	id       SockID
	bytecode []byte
	dump     bool
}

// encode writes the netlink message for r into c.wbuf and returns it.
func (c *Conn) encode(r *request) []byte {
	b := c.wbuf[:0]
	b = append(b, make([]byte, nlmsgHdrLen+reqSize)...)

	body := b[nlmsgHdrLen:]
	body[0] = r.family
	body[1] = uint8(r.protocol)
	body[2] = r.ext
	binary.NativeEndian.PutUint32(body[4:], r.states)
	encodeSockID(body[8:], r.id)

	// The protocol field is 8 bits wide, so IPPROTO_MPTCP (262) goes
	// into INET_DIAG_REQ_PROTOCOL with IPPROTO_TCP in the header.
	if r.protocol > 0xff {
		body[1] = ipprotoTCP
		b = appendAttrU32(b, reqProtocol, uint32(r.protocol))
	}
	if len(r.bytecode) > 0 {
		b = appendAttr(b, reqBytecode, r.bytecode)
	}

	flags := uint16(unix.NLM_F_REQUEST)
	if r.dump {
		flags |= unix.NLM_F_DUMP
	}
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], sockDiagByFamily)
	binary.NativeEndian.PutUint16(b[6:], flags)
	binary.NativeEndian.PutUint32(b[8:], c.seq)
	binary.NativeEndian.PutUint32(b[12:], 0)
	c.wbuf = b
	return b
}

func appendAttr(b []byte, typ uint16, data []byte) []byte {
	var h [nlaHdrLen]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(nlaHdrLen+len(data)))
	binary.NativeEndian.PutUint16(h[2:], typ)
	b = append(b, h[:]...)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func appendAttrU32(b []byte, typ uint16, v uint32) []byte {
	var d [4]byte
	binary.NativeEndian.PutUint32(d[:], v)
	return appendAttr(b, typ, d[:])
}

// execute sends r and calls fn with the payload of each inet_diag reply
// (struct inet_diag_msg and its attributes). A dump ends at NLMSG_DONE, a
// single-socket request after its one reply. When fn fails, the rest of
// the dump is read and dropped so that the socket stays usable, and fn's
// error is returned.
func (c *Conn) execute(r *request, fn func(payload []byte) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return fmt.Errorf("%s: %w", r.op, os.ErrClosed)
	}
	c.seq++
	msg := c.encode(r)
	if _, err := unix.Write(c.fd, msg); err != nil {
		return fmt.Errorf("%s: send request: %w", r.op, err)
	}

	var fnErr error
	for {
		n, err := c.recv()
		if err != nil {
			return fmt.Errorf("%s: %w", r.op, err)
		}
		done, err := c.walkDatagram(r, c.rbuf[:n], func(p []byte) {
			if fnErr == nil {
				fnErr = fn(p)
			}
		})
		if err != nil {
			return err
		}
		if done {
			return fnErr
		}
	}
}

// walkDatagram calls fn for every reply of the current request in one
// datagram and reports whether the request is complete.
func (c *Conn) walkDatagram(r *request, b []byte, fn func([]byte)) (bool, error) {
	done := false
	var it msgIter
	it.reset(b)
	for it.next() {
		// Replies to an earlier, abandoned request are dropped.
		if it.seq != c.seq || (it.pid != c.portID && it.pid != 0) {
			continue
		}
		switch it.typ {
		case unix.NLMSG_DONE:
			return true, doneError(r.op, it.payload)
		case unix.NLMSG_ERROR:
			return true, ackError(r.op, it.flags, it.payload)
		case sockDiagByFamily:
			fn(it.payload)
			done = done || !r.dump
		}
	}
	if it.err {
		return true, fmt.Errorf("%s: %w", r.op, errMalformed("netlink message", len(b)))
	}
	return done, nil
}

// msgIter walks the netlink messages of a datagram without allocating.
type msgIter struct {
	b       []byte
	typ     uint16
	flags   uint16
	seq     uint32
	pid     uint32
	payload []byte
	err     bool // a message length that does not fit
}

func (it *msgIter) reset(b []byte) { *it = msgIter{b: b} }

func (it *msgIter) next() bool {
	if len(it.b) < nlmsgHdrLen {
		it.err = len(it.b) != 0
		return false
	}
	ne := binary.NativeEndian
	l := ne.Uint32(it.b[0:])
	if l < nlmsgHdrLen || uint64(l) > uint64(len(it.b)) {
		it.err = true
		return false
	}
	it.typ = ne.Uint16(it.b[4:])
	it.flags = ne.Uint16(it.b[6:])
	it.seq = ne.Uint32(it.b[8:])
	it.pid = ne.Uint32(it.b[12:])
	it.payload = it.b[nlmsgHdrLen:l]
	it.b = it.b[min(int(align4(l)), len(it.b)):]
	return true
}

func align4(n uint32) uint32 { return (n + 3) &^ 3 }

// recv reads one datagram into c.rbuf without allocating.
func (c *Conn) recv() (int, error) {
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(c.fd),
			uintptr(unsafe.Pointer(&c.rbuf[0])), uintptr(len(c.rbuf)),
			unix.MSG_TRUNC, 0, 0)
		switch errno {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, fmt.Errorf("no reply from the kernel: %w", os.ErrDeadlineExceeded)
		default:
			return 0, fmt.Errorf("receive: %w", errno)
		}
		if int(n) > len(c.rbuf) {
			return 0, fmt.Errorf("datagram of %d bytes exceeds the %d-byte buffer: %w", n, len(c.rbuf), ErrTruncated)
		}
		if c.capture != nil {
			c.capture(c.rbuf[:n])
		}
		return int(n), nil
	}
}

// doneError decodes the int that sock_diag puts in NLMSG_DONE: zero or a
// negative errno.
func doneError(op string, p []byte) error {
	if len(p) < 4 {
		return nil
	}
	code := int32(binary.NativeEndian.Uint32(p))
	if code == 0 {
		return nil
	}
	return &OpError{Op: op, Errno: unix.Errno(-code)}
}

// ackError decodes struct nlmsgerr: a negative errno, the request header
// (NLM_F_CAPPED, because the socket sets NETLINK_CAP_ACK) or the whole
// request, then extended ack attributes when NLM_F_ACK_TLVS is set.
func ackError(op string, flags uint16, p []byte) error {
	if len(p) < 4 {
		return fmt.Errorf("%s: netlink error message of %d bytes: %w", op, len(p), ErrTruncated)
	}
	code := int32(binary.NativeEndian.Uint32(p))
	if code == 0 {
		return nil
	}
	e := &OpError{Op: op, Errno: unix.Errno(-code)}
	if flags&unix.NLM_F_ACK_TLVS == 0 || len(p) < 4+nlmsgHdrLen {
		return e
	}
	skip := 4 + nlmsgHdrLen
	if flags&unix.NLM_F_CAPPED == 0 {
		skip = 4 + int(align4(binary.NativeEndian.Uint32(p[4:])))
	}
	if skip <= len(p) {
		parseExtAck(e, p[skip:])
	}
	return e
}

func parseExtAck(e *OpError, b []byte) {
	var it attrIter
	it.reset(b)
	for it.next() {
		switch it.typ {
		case unix.NLMSGERR_ATTR_MSG:
			e.Message = cString(it.data)
		case unix.NLMSGERR_ATTR_OFFS:
			e.Offset = u32(it.data)
		}
	}
}
