package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mptcpInfoOpt is MPTCP_INFO, the getsockopt option at level SOL_MPTCP
// that returns struct mptcp_info (kernel 5.16 and later).
const mptcpInfoOpt = 1

// mptcpInfoLen is sizeof(struct mptcp_info) on Linux 6.18.
const mptcpInfoLen = 96

// MPTCPInfo is the part of the kernel's struct mptcp_info that the
// reports show. Byte counters are data-level (MPTCP sequence space).
type MPTCPInfo struct {
	Token         uint32 `json:"token"`
	Subflows      int    `json:"subflows"` // live subflows incl. initial
	Retransmits   uint32 `json:"retransmits"`
	BytesRetrans  uint64 `json:"bytes_retrans"`
	BytesSent     uint64 `json:"bytes_sent"`
	BytesReceived uint64 `json:"bytes_received"`
	BytesAcked    uint64 `json:"bytes_acked"`
}

// parseMPTCPInfo decodes struct mptcp_info in host byte order (little
// endian on the platforms this runs on). Offsets are those of Linux 6.18;
// mptcpi_subflows_total at offset 80 exists since 6.10, so older kernels
// return a shorter struct and Subflows stays 0.
func parseMPTCPInfo(b []byte) (MPTCPInfo, error) {
	if len(b) < 80 {
		return MPTCPInfo{}, fmt.Errorf("mptcp_info is %d bytes, "+
			"want at least 80", len(b))
	}
	le := binary.LittleEndian
	info := MPTCPInfo{
		Token:         le.Uint32(b[12:]),
		Retransmits:   le.Uint32(b[44:]),
		BytesRetrans:  le.Uint64(b[48:]),
		BytesSent:     le.Uint64(b[56:]),
		BytesReceived: le.Uint64(b[64:]),
		BytesAcked:    le.Uint64(b[72:]),
	}
	if len(b) > 80 {
		info.Subflows = int(b[80])
	}
	return info, nil
}

// readMPTCPInfo returns the connection's mptcp_info. The getsockopt
// fails with EOPNOTSUPP (IPv4) or ENOPROTOOPT (IPv6) once the connection
// has fallen back to TCP.
func readMPTCPInfo(c *net.TCPConn) (MPTCPInfo, error) {
	b, err := rawMPTCPInfo(c)
	if err != nil {
		return MPTCPInfo{}, err
	}
	return parseMPTCPInfo(b)
}

// rawMPTCPInfo returns struct mptcp_info as the kernel wrote it.
func rawMPTCPInfo(c *net.TCPConn) ([]byte, error) {
	b := make([]byte, mptcpInfoLen)
	n := uint32(len(b))
	err := control(c, func(fd int) error {
		return getsockopt(fd, unix.SOL_MPTCP, mptcpInfoOpt, b, &n)
	})
	if err != nil {
		return nil, fmt.Errorf("getsockopt MPTCP_INFO: %w", err)
	}
	return b[:min(int(n), len(b))], nil
}

// socketProtocol returns the protocol the socket was created with:
// IPPROTO_MPTCP, or IPPROTO_TCP when MPTCP is disabled in the namespace
// (net.mptcp.enabled=0) and Go created a TCP socket in its place.
func socketProtocol(c *net.TCPConn) (int, error) {
	var proto int
	err := control(c, func(fd int) (err error) {
		proto, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET,
			unix.SO_PROTOCOL)
		return err
	})
	return proto, err
}

// unackedBytes returns SIOCOUTQ: bytes written but not yet acknowledged by
// the peer. For an MPTCP socket this is data-level, so 0 means the peer's
// MPTCP stack has the data, whatever subflow carried it.
func unackedBytes(c *net.TCPConn) (int, error) {
	var n int
	err := control(c, func(fd int) (err error) {
		n, err = unix.IoctlGetInt(fd, unix.SIOCOUTQ)
		return err
	})
	return n, err
}

// waitDrained polls SIOCOUTQ until it reads 0 or the timeout passes.
func waitDrained(c *net.TCPConn, timeout time.Duration) error {
	end := time.Now().Add(timeout)
	for {
		n, err := unackedBytes(c)
		if err != nil {
			return fmt.Errorf("ioctl SIOCOUTQ: %w", err)
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("%d bytes still unacknowledged after %v",
				n, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func control(c *net.TCPConn, fn func(fd int) error) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = raw.Control(func(fd uintptr) { ferr = fn(int(fd)) })
	return errors.Join(err, ferr)
}

func getsockopt(fd, level, opt int, b []byte, n *uint32) error {
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd),
		uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&b[0])),
		uintptr(unsafe.Pointer(n)), 0)
	if e != 0 {
		return syscall.Errno(e)
	}
	return nil
}
