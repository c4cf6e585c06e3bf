package diag

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"
)

// SockID identifies a socket the way inet_diag does.
type SockID struct {
	Src     netip.AddrPort `json:"src"`
	Dst     netip.AddrPort `json:"dst"`
	IfIndex uint32         `json:"ifindex"` // bound device, 0 if none
	// Cookie is the 64-bit socket cookie, cookie[0] | cookie[1]<<32 of
	// struct inet_diag_sockid. It equals bpf_get_socket_cookie and
	// SO_COOKIE of the same socket.
	Cookie uint64 `json:"cookie"`
}

// noCookie in both cookie words (INET_DIAG_NOCOOKIE) tells the kernel not
// to compare cookies in a single-socket lookup.
const noCookie = ^uint32(0)

// Layout of struct inet_diag_sockid (48 bytes): ports are big-endian, the
// addresses are in network order, the interface and cookie words are in
// host order.
const (
	sockIDSize  = 48
	sidSport    = 0
	sidDport    = 2
	sidSrc      = 4
	sidDst      = 20
	sidIf       = 36
	sidCookieLo = 40
	sidCookieHi = 44
)

func decodeSockID(family uint8, b []byte) SockID {
	b = b[:sockIDSize]
	sport := binary.BigEndian.Uint16(b[sidSport:])
	dport := binary.BigEndian.Uint16(b[sidDport:])
	lo := binary.NativeEndian.Uint32(b[sidCookieLo:])
	hi := binary.NativeEndian.Uint32(b[sidCookieHi:])
	return SockID{
		Src:     netip.AddrPortFrom(decodeAddr(family, b[sidSrc:sidSrc+16]), sport),
		Dst:     netip.AddrPortFrom(decodeAddr(family, b[sidDst:sidDst+16]), dport),
		IfIndex: binary.NativeEndian.Uint32(b[sidIf:]),
		Cookie:  uint64(lo) | uint64(hi)<<32,
	}
}

func decodeAddr(family uint8, b []byte) netip.Addr {
	if family == unix.AF_INET {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16([16]byte(b[:16]))
}

// encodeSockID writes id into b (48 bytes). A zero cookie is sent as
// INET_DIAG_NOCOOKIE so that the kernel does not compare it.
func encodeSockID(b []byte, id SockID) {
	b = b[:sockIDSize]
	clear(b)
	binary.BigEndian.PutUint16(b[sidSport:], id.Src.Port())
	binary.BigEndian.PutUint16(b[sidDport:], id.Dst.Port())
	putAddr(b[sidSrc:sidSrc+16], id.Src.Addr())
	putAddr(b[sidDst:sidDst+16], id.Dst.Addr())
	binary.NativeEndian.PutUint32(b[sidIf:], id.IfIndex)
	lo, hi := uint32(id.Cookie), uint32(id.Cookie>>32)
	if id.Cookie == 0 {
		lo, hi = noCookie, noCookie
	}
	binary.NativeEndian.PutUint32(b[sidCookieLo:], lo)
	binary.NativeEndian.PutUint32(b[sidCookieHi:], hi)
}

func putAddr(b []byte, a netip.Addr) {
	switch {
	case a.Is4():
		a4 := a.As4()
		copy(b, a4[:])
	case a.Is6():
		a16 := a.As16()
		copy(b, a16[:])
	}
}
