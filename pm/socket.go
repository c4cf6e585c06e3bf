package pm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// genlSocket is a generic netlink socket bound to the mptcp_pm family.
// Requests go out through mdlayher/netlink, but replies are read from the
// raw file descriptor, because netlink.Conn turns an NLMSG_ERROR into an
// error that drops the NLMSGERR_ATTR_MISS_TYPE and MISS_NEST TLVs.
type genlSocket struct {
	nl     *netlink.Conn
	genl   *genetlink.Conn
	raw    syscall.RawConn
	family genetlink.Family
	buf    []byte
	// trace, when set by tests, gets a copy of every datagram read.
	trace func([]byte)
}

// dialSocket opens a generic netlink socket in the namespace of cfg and
// resolves the mptcp_pm family.
func dialSocket(cfg *Config) (*genlSocket, error) {
	var nlcfg netlink.Config
	if cfg != nil {
		nlcfg.NetNS = cfg.NetNS
	}
	nl, err := netlink.Dial(unix.NETLINK_GENERIC, &nlcfg)
	if err != nil {
		return nil, fmt.Errorf("open generic netlink socket: %w", err)
	}
	s := &genlSocket{nl: nl, genl: genetlink.NewConn(nl)}

	if err := s.setup(); err != nil {
		_ = nl.Close()
		return nil, err
	}
	return s, nil
}

func (s *genlSocket) setup() error {
	fam, err := s.genl.GetFamily(familyName)
	if errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("resolve generic netlink family %q: %w "+
			"(kernel without CONFIG_MPTCP?)", familyName, err)
	}
	if err != nil {
		return fmt.Errorf("resolve generic netlink family %q: %w",
			familyName, err)
	}
	s.family = fam

	// Extended acks carry the kernel's error text. Capped acks do not
	// echo the request, so a batch of failed requests stays small.
	for _, o := range []netlink.ConnOption{
		netlink.ExtendedAcknowledge, netlink.CapAcknowledge,
	} {
		if err := s.nl.SetOption(o, true); err != nil {
			return fmt.Errorf("set netlink socket option %d: %w", o, err)
		}
	}

	s.raw, err = s.nl.SyscallConn()
	if err != nil {
		return fmt.Errorf("get raw netlink socket: %w", err)
	}
	s.buf = make([]byte, 64*1024)
	return nil
}

// group returns the id of the named multicast group of the family.
func (s *genlSocket) group(name string) (uint32, error) {
	for _, g := range s.family.Groups {
		if g.Name == name {
			return g.ID, nil
		}
	}
	return 0, fmt.Errorf("multicast group %q not found in family %q",
		name, familyName)
}

// recv reads one datagram and splits it into netlink messages. The
// returned messages alias s.buf and are valid until the next recv.
//
// One read with a 64 KiB buffer is enough: the kernel builds generic
// netlink replies and dumps in buffers of at most 32 KiB, and events
// are far smaller. MSG_TRUNC reports the full length of a longer
// datagram, which is then lost; the buffer grows for the next one.
func (s *genlSocket) recv() ([]netlink.Message, error) {
	n, err := s.recvmsg(unix.MSG_TRUNC)
	if err != nil {
		return nil, err
	}
	if n > len(s.buf) {
		err := fmt.Errorf("netlink datagram of %d bytes truncated to "+
			"the %d-byte buffer: %w", n, len(s.buf), unix.EMSGSIZE)
		s.buf = make([]byte, n)
		return nil, err
	}
	if s.trace != nil {
		s.trace(append([]byte(nil), s.buf[:n]...))
	}
	return splitMessages(s.buf[:n])
}

// recvmsg calls recvmsg(2) on the non-blocking socket, waiting in the Go
// runtime's poller while no data is queued.
func (s *genlSocket) recvmsg(flags int) (int, error) {
	var n int
	var rerr error
	err := s.raw.Read(func(fd uintptr) bool {
		n, _, _, _, rerr = unix.Recvmsg(int(fd), s.buf, nil, flags)
		return rerr != unix.EAGAIN && rerr != unix.EWOULDBLOCK
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	return n, nil
}

func (s *genlSocket) close() error {
	return s.nl.Close()
}

const nlmsgHeaderLen = 16

// splitMessages splits a datagram into netlink messages. The kernel
// aligns every message to 4 bytes.
func splitMessages(b []byte) ([]netlink.Message, error) {
	var msgs []netlink.Message
	for len(b) >= nlmsgHeaderLen {
		length := binary.NativeEndian.Uint32(b[0:4])
		if length < nlmsgHeaderLen || int(length) > len(b) {
			return msgs, fmt.Errorf("invalid netlink message length %d "+
				"in %d bytes", length, len(b))
		}
		msgs = append(msgs, netlink.Message{
			Header: parseHeader(b),
			Data:   b[nlmsgHeaderLen:length],
		})
		next := align4(int(length))
		if next > len(b) {
			break
		}
		b = b[next:]
	}
	return msgs, nil
}

// parseHeader decodes the struct nlmsghdr at the start of b.
func parseHeader(b []byte) netlink.Header {
	ne := binary.NativeEndian
	return netlink.Header{
		Length:   ne.Uint32(b[0:4]),
		Type:     netlink.HeaderType(ne.Uint16(b[4:6])),
		Flags:    netlink.HeaderFlags(ne.Uint16(b[6:8])),
		Sequence: ne.Uint32(b[8:12]),
		PID:      ne.Uint32(b[12:16]),
	}
}

func align4(n int) int { return (n + 3) &^ 3 }
