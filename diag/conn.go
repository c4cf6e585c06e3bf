package diag

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Config selects where and how a Conn talks to the kernel. The zero value
// (or a nil *Config) is valid.
type Config struct {
	// NetNS is a file descriptor of a network namespace, such as an open
	// /run/netns/NAME. Zero means the caller's namespace. The socket
	// stays bound to that namespace for its whole life, so the
	// descriptor may be closed after Dial.
	NetNS int

	// ReadBuffer is SO_RCVBUF in bytes; 0 means 4 MiB. With
	// CAP_NET_ADMIN the size may exceed net.core.rmem_max.
	ReadBuffer int

	// Timeout bounds each receive; 0 means 10 seconds.
	Timeout time.Duration
}

// A Conn is a NETLINK_SOCK_DIAG socket. It is safe for concurrent use:
// requests are serialized, one dump at a time. The callback of WalkTCP or
// WalkMPTCP runs while the Conn is busy and must not use it.
type Conn struct {
	mu     sync.Mutex
	fd     int
	portID uint32
	seq    uint32
	rbuf   []byte // receive buffer, reused by every request
	wbuf   []byte // request buffer, reused by every request

	tcp     tcpDecoder
	mptcp   mptcpDecoder
	lastTCP atomic.Int64 // sockets in the previous DumpTCP

	capture func(datagram []byte) // test hook, called with every received datagram
}

// recvBufSize holds the largest datagram a dump produces: the kernel caps
// each dump skb at 32 KiB minus overhead, so one receive never needs more.
// Replies to single-socket requests are smaller.
const recvBufSize = 64 << 10

// Dial opens a sock_diag netlink socket in the namespace cfg.NetNS.
func Dial(cfg *Config) (*Conn, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	fd, err := socketIn(cfg.NetNS)
	if err != nil {
		return nil, err
	}

	c := &Conn{fd: fd, rbuf: make([]byte, recvBufSize)}
	if err := c.setup(cfg); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return c, nil
}

// Close closes the socket.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return nil
	}
	err := unix.Close(c.fd)
	c.fd = -1
	if err != nil {
		return fmt.Errorf("close sock_diag socket: %w", err)
	}
	return nil
}

func (c *Conn) setup(cfg *Config) error {
	size := cfg.ReadBuffer
	if size <= 0 {
		size = 4 << 20
	}
	// SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it SO_RCVBUF still
	// works up to net.core.rmem_max.
	err := unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size)
	if err != nil {
		err = unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, size)
	}
	if err != nil {
		return fmt.Errorf("set sock_diag receive buffer to %d bytes: %w", size, err)
	}

	// Extended acks carry the kernel's text for an error. Kernels
	// before 4.12 lack the option, so a failure is ignored.
	_ = unix.SetsockoptInt(c.fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	_ = unix.SetsockoptInt(c.fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)

	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("set sock_diag receive timeout: %w", err)
	}

	if err := unix.Bind(c.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("bind sock_diag socket: %w", err)
	}
	sa, err := unix.Getsockname(c.fd)
	if err != nil {
		return fmt.Errorf("read sock_diag port id: %w", err)
	}
	nl, ok := sa.(*unix.SockaddrNetlink)
	if !ok {
		return fmt.Errorf("read sock_diag port id: unexpected address %T", sa)
	}
	c.portID = nl.Pid
	return nil
}

// socketIn creates the netlink socket on a thread switched into netns.
// The thread is unlocked only when it is back in its own namespace, so a
// failed switch back ends the thread with its goroutine.
func socketIn(netns int) (int, error) {
	if netns == 0 {
		return newSocket()
	}
	type result struct {
		fd  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		fd, restored, err := socketInLocked(netns)
		if restored {
			runtime.UnlockOSThread()
		}
		done <- result{fd, err}
	}()
	r := <-done
	return r.fd, r.err
}

func socketInLocked(netns int) (fd int, restored bool, err error) {
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, true, fmt.Errorf("open current network namespace: %w", err)
	}
	defer unix.Close(orig)

	if err := unix.Setns(netns, unix.CLONE_NEWNET); err != nil {
		return -1, true, fmt.Errorf("enter network namespace fd %d: %w", netns, err)
	}
	fd, err = newSocket()
	if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		rerr = fmt.Errorf("return to the original network namespace: %w", rerr)
		return -1, false, errors.Join(err, rerr)
	}
	return fd, true, err
}

func newSocket() (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return -1, fmt.Errorf("open NETLINK_SOCK_DIAG socket: %w", err)
	}
	return fd, nil
}
