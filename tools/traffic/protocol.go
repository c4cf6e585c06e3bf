package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Mode is the traffic pattern of one connection, sent in the header.
type Mode uint8

// Modes on the wire. Zero is invalid so that a zeroed header is rejected.
const (
	ModeBulk  Mode = 1 // client sends until its deadline, server sinks
	ModeRR    Mode = 2 // request/response transactions until EOF
	ModeChurn Mode = 3 // one short transaction per connection
	// ModeReverse makes the server send for Request milliseconds, then
	// close its side.
	ModeReverse Mode = 4
)

func (m Mode) String() string {
	switch m {
	case ModeBulk:
		return "bulk"
	case ModeRR:
		return "rr"
	case ModeChurn:
		return "churn"
	case ModeReverse:
		return "reverse"
	case modeEcho:
		return "echo"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// modeEcho marks a connection without header. It never goes on the wire.
const modeEcho Mode = 255

// parseMode converts a --mode value.
func parseMode(s string) (Mode, error) {
	for _, m := range []Mode{ModeBulk, ModeRR, ModeChurn, ModeReverse} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("invalid mode %q: use bulk, reverse, rr or "+
		"churn", s)
}

// headerLen is the size of the connection header in bytes.
const headerLen = 16

// magic starts every header: "MPTG" followed by protocol version 1.
var magic = [5]byte{'M', 'P', 'T', 'G', 1}

// maxMessage caps request and response sizes (bytes), so that a bad
// header cannot make the server allocate without bound. It also caps the
// reverse send duration (milliseconds, about 4.6 hours).
const maxMessage = 16 << 20

// Header opens a client connection. On the wire: magic (5 bytes), mode
// (1), two reserved zero bytes, then the Request and Response fields
// (big-endian uint32 each).
type Header struct {
	Mode Mode
	// Request is the request size in bytes (rr and churn) or the send
	// duration in milliseconds (reverse).
	Request  uint32
	Response uint32 // response size in bytes (rr and churn)
}

// MarshalBinary encodes the header.
func (h Header) MarshalBinary() ([]byte, error) {
	if err := h.validate(); err != nil {
		return nil, err
	}
	b := make([]byte, headerLen)
	copy(b, magic[:])
	b[5] = byte(h.Mode)
	binary.BigEndian.PutUint32(b[8:], h.Request)
	binary.BigEndian.PutUint32(b[12:], h.Response)
	return b, nil
}

// errNoHeader means the peer did not start with the magic bytes.
var errNoHeader = errors.New("connection does not start with a header")

// UnmarshalBinary decodes a header. It returns errNoHeader when b does not
// start with the magic bytes.
func (h *Header) UnmarshalBinary(b []byte) error {
	if len(b) != headerLen {
		return fmt.Errorf("header is %d bytes, want %d", len(b), headerLen)
	}
	if [5]byte(b[:5]) != magic {
		return errNoHeader
	}
	if b[6] != 0 || b[7] != 0 {
		return fmt.Errorf("reserved header bytes are %#x %#x, want 0",
			b[6], b[7])
	}
	h.Mode = Mode(b[5])
	h.Request = binary.BigEndian.Uint32(b[8:])
	h.Response = binary.BigEndian.Uint32(b[12:])
	return h.validate()
}

func (h Header) validate() error {
	switch h.Mode {
	case ModeBulk, ModeRR, ModeChurn, ModeReverse:
	default:
		return fmt.Errorf("invalid mode %d in header", h.Mode)
	}
	if h.Request > maxMessage || h.Response > maxMessage {
		return fmt.Errorf("request %d or response %d bytes exceeds "+
			"the maximum of %d", h.Request, h.Response, maxMessage)
	}
	if h.Mode != ModeBulk && h.Request == 0 {
		return errors.New("request size or duration must be at least 1")
	}
	return nil
}

// readHeader reads the header, or as much as shows that there is none.
// Without a header it returns errNoHeader and the bytes already read,
// which belong to the echo stream.
func readHeader(r io.Reader) (Header, []byte, error) {
	var h Header
	b := make([]byte, 0, headerLen)
	for len(b) < headerLen {
		n, err := r.Read(b[len(b):headerLen])
		b = b[:len(b)+n]
		if !hasMagicPrefix(b) {
			return h, b, errNoHeader
		}
		if err != nil {
			return h, b, err
		}
	}
	err := h.UnmarshalBinary(b)
	return h, nil, err
}

func hasMagicPrefix(b []byte) bool {
	n := min(len(b), len(magic))
	return string(b[:n]) == string(magic[:n])
}
