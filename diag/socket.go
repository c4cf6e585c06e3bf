package diag

import (
	"encoding/binary"
	"fmt"
)

// Socket holds the fields that every inet_diag reply carries: struct
// inet_diag_msg and the attributes sent without an extension bit.
type Socket struct {
	Family uint8  `json:"family"` // AF_INET or AF_INET6
	State  State  `json:"state"`
	ID     SockID `json:"id"`

	// Timer is the pending timer: 0 none, 1 retransmit, 2 keepalive,
	// 3 TIME-WAIT, 4 zero window probe. Expires is in milliseconds.
	Timer   uint8  `json:"timer"`
	Retrans uint8  `json:"retrans"`
	Expires uint32 `json:"expires"`
	// RecvQueue and SendQueue are the bytes not yet read and not yet
	// acknowledged; on a listener, the accept queue and its limit.
	RecvQueue uint32 `json:"recv_queue"`
	SendQueue uint32 `json:"send_queue"`
	UID       uint32 `json:"uid"`
	Inode     uint32 `json:"inode"`

	Shutdown uint8  `json:"shutdown"` // bit 0: receive side, bit 1: send side
	Mark     uint32 `json:"mark"`     // SO_MARK, sent only to CAP_NET_ADMIN readers
	CgroupID uint64 `json:"cgroup_id"`
	ClassID  uint32 `json:"class_id"`
	TOS      uint8  `json:"tos"`
	TClass   uint8  `json:"tclass"`
	V6Only   bool   `json:"v6only"`
	// SockOpt is the bit field of INET_DIAG_SOCKOPT (recverr, freebind,
	// transparent and other boolean socket options).
	SockOpt uint16 `json:"sockopt"`
}

// TCPSocket is one TCP socket. The pointers are nil when the kernel sent no
// such attribute.
type TCPSocket struct {
	Socket
	Info       *TCPInfo   `json:"info,omitempty"`
	Congestion string     `json:"congestion,omitempty"`
	Vegas      *VegasInfo `json:"vegas,omitempty"`
	DCTCP      *DCTCPInfo `json:"dctcp,omitempty"`
	BBR        *BBRInfo   `json:"bbr,omitempty"`
	Mem        *MemInfo   `json:"mem,omitempty"`
	// ULP is the upper layer protocol, such as "mptcp" or "tls".
	ULP string `json:"ulp,omitempty"`
	// Subflow is set when the socket is an MPTCP subflow.
	Subflow *SubflowInfo `json:"subflow,omitempty"`
}

// MPTCPSocket is one MPTCP socket (the connection-level socket, not a
// subflow). Its address and ports are those of the initial subflow, also
// after that subflow has closed.
type MPTCPSocket struct {
	Socket
	Info *MPTCPInfo `json:"info,omitempty"`
	Mem  *MemInfo   `json:"mem,omitempty"`
}

// errMalformed reports a reply that does not parse.
func errMalformed(what string, n int) error {
	return fmt.Errorf("malformed %s of %d bytes: %w", what, n, ErrTruncated)
}

// decodeHeader decodes struct inet_diag_msg and returns its attributes.
func decodeHeader(s *Socket, p []byte) ([]byte, error) {
	if len(p) < msgSize {
		return nil, errMalformed("inet_diag_msg", len(p))
	}
	ne := binary.NativeEndian
	*s = Socket{
		Family:    p[0],
		State:     State(p[1]),
		Timer:     p[2],
		Retrans:   p[3],
		ID:        decodeSockID(p[0], p[4:4+sockIDSize]),
		Expires:   ne.Uint32(p[52:]),
		RecvQueue: ne.Uint32(p[56:]),
		SendQueue: ne.Uint32(p[60:]),
		UID:       ne.Uint32(p[64:]),
		Inode:     ne.Uint32(p[68:]),
	}
	return p[msgSize:], nil
}

// decodeCommon stores an attribute that any socket may carry and reports
// whether it was one.
func (s *Socket) decodeCommon(typ uint16, d []byte) bool {
	switch typ {
	case attrShutdown:
		s.Shutdown = u8(d)
	case attrMark:
		s.Mark = u32(d)
	case attrCgroupID:
		s.CgroupID = u64(d)
	case attrClassID:
		s.ClassID = u32(d)
	case attrTOS:
		s.TOS = u8(d)
	case attrTClass:
		s.TClass = u8(d)
	case attrSkV6Only:
		s.V6Only = u8(d) != 0
	case attrSockOpt:
		s.SockOpt = u16(d)
	default:
		return false
	}
	return true
}

// tcpDecoder decodes TCP replies into storage it owns, so decoding one
// socket allocates nothing. The result is valid until the next decode.
type tcpDecoder struct {
	sock  TCPSocket
	info  TCPInfo
	sub   SubflowInfo
	mem   MemInfo
	vegas VegasInfo
	dctcp DCTCPInfo
	bbr   BBRInfo
}

func (d *tcpDecoder) decode(p []byte) (*TCPSocket, error) {
	s := &d.sock
	*s = TCPSocket{}
	attrs, err := decodeHeader(&s.Socket, p)
	if err != nil {
		return nil, err
	}

	var it attrIter
	it.reset(attrs)
	for it.next() {
		if s.decodeCommon(it.typ, it.data) {
			continue
		}
		if err := d.decodeAttr(it.typ, it.data); err != nil {
			return nil, err
		}
	}
	if it.err {
		return nil, errMalformed("TCP socket attribute", len(attrs))
	}
	return s, nil
}

func (d *tcpDecoder) decodeAttr(typ uint16, b []byte) error {
	s := &d.sock
	switch typ {
	case attrInfo:
		decodeTCPInfo(&d.info, b)
		s.Info = &d.info
	case attrCong:
		s.Congestion = cString(b)
	case attrSkMemInfo:
		decodeMemInfo(&d.mem, b)
		s.Mem = &d.mem
	case attrVegasInfo:
		decodeVegas(&d.vegas, b)
		s.Vegas = &d.vegas
	case attrDCTCPInfo:
		decodeDCTCP(&d.dctcp, b)
		s.DCTCP = &d.dctcp
	case attrBBRInfo:
		decodeBBR(&d.bbr, b)
		s.BBR = &d.bbr
	case attrULPInfo:
		return d.decodeULP(b)
	}
	return nil
}

// decodeULP decodes INET_DIAG_ULP_INFO: the ULP name, then for MPTCP a
// nest of subflow attributes.
func (d *tcpDecoder) decodeULP(b []byte) error {
	s := &d.sock
	var it attrIter
	it.reset(b)
	for it.next() {
		switch it.typ {
		case ulpInfoName:
			s.ULP = cString(it.data)
		case ulpInfoMPTCP:
			if !decodeSubflow(&d.sub, it.data) {
				return errMalformed("MPTCP subflow info", len(it.data))
			}
			s.Subflow = &d.sub
		}
	}
	if it.err {
		return errMalformed("ULP info", len(b))
	}
	return nil
}

// mptcpDecoder decodes MPTCP replies into storage it owns.
type mptcpDecoder struct {
	sock MPTCPSocket
	info MPTCPInfo
	mem  MemInfo
}

func (d *mptcpDecoder) decode(p []byte) (*MPTCPSocket, error) {
	s := &d.sock
	*s = MPTCPSocket{}
	attrs, err := decodeHeader(&s.Socket, p)
	if err != nil {
		return nil, err
	}

	var it attrIter
	it.reset(attrs)
	for it.next() {
		if s.decodeCommon(it.typ, it.data) {
			continue
		}
		switch it.typ {
		case attrInfo:
			decodeMPTCPInfo(&d.info, it.data)
			s.Info = &d.info
		case attrSkMemInfo:
			decodeMemInfo(&d.mem, it.data)
			s.Mem = &d.mem
		}
	}
	if it.err {
		return nil, errMalformed("MPTCP socket attribute", len(attrs))
	}
	return s, nil
}
