package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Timeouts and limits of one client connection.
const (
	requestTimeout = 10 * time.Second
	writeTimeout   = 10 * time.Second
	// maxClients bounds the connections served at once; a client past
	// it gets an error response.
	maxClients = 32
)

// Listener is a bound control socket.
type Listener struct {
	ln   *net.UnixListener
	path string
	// allow reports whether a peer uid may use the socket.
	allow func(uid uint32) bool

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
	slots chan struct{}
}

// Serve listens on path and serves h until ctx is done. It returns nil
// after ctx is done and removes the socket file.
func Serve(ctx context.Context, path string, h Handler) error {
	l, err := Listen(path)
	if err != nil {
		return err
	}
	return l.Serve(ctx, h)
}

// Listen creates the socket file at path with mode 0600. A stale socket
// file that nothing listens on is replaced. A socket that accepts a
// connection belongs to another daemon, so Listen fails.
func Listen(path string) (*Listener, error) {
	if err := removeStale(path); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create control socket directory: %w", err)
	}
	ln, err := bindPrivate(path)
	if err != nil {
		return nil, err
	}
	euid := uint32(os.Geteuid())
	return &Listener{
		ln:    ln,
		path:  path,
		allow: func(uid uint32) bool { return uid == 0 || uid == euid },
		conns: make(map[net.Conn]struct{}),
		slots: make(chan struct{}, maxClients),
	}, nil
}

// bindPrivate binds a socket under a temporary name, makes it 0600 and
// renames it to path, so that the socket never exists at path with a
// wider mode.
func bindPrivate(path string) (*net.UnixListener, error) {
	tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
	// sun_path holds 108 bytes with the terminating NUL.
	if limit := 107 - (len(tmp) - len(path)); len(path) > limit {
		return nil, fmt.Errorf("control socket path %s is %d bytes long: use a path of at most %d bytes", path, len(path), limit)
	}
	_ = os.Remove(tmp)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on control socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("set control socket mode: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("move control socket to %s: %w", path, err)
	}
	return ln, nil
}

// removeStale removes a socket file at path that nothing listens on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check control socket %s: %w", path, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("control socket path %s exists and is not a socket: remove it or choose another path", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("control socket %s is in use: another mptcp-bpf-pm daemon runs in this namespace, or choose another path", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("check control socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale control socket: %w", err)
	}
	return nil
}

// Path returns the socket file's path.
func (l *Listener) Path() string { return l.path }

// Serve accepts clients until ctx is done, then closes every client
// connection, waits for their goroutines and removes the socket file.
func (l *Listener) Serve(ctx context.Context, h Handler) error {
	stop := context.AfterFunc(ctx, l.shutdown)
	defer stop()
	defer l.cleanup()
	for {
		c, err := l.ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept control client: %w", err)
		}
		l.start(ctx, c, h)
	}
}

// start serves c on its own goroutine, or rejects it when every slot is
// taken.
func (l *Listener) start(ctx context.Context, c *net.UnixConn, h Handler) {
	select {
	case l.slots <- struct{}{}:
	default:
		c.SetWriteDeadline(time.Now().Add(time.Second))
		writeResponse(c, Response{Error: &Error{Code: CodeFailed,
			Message: fmt.Sprintf("too many control clients (%d): retry later", maxClients)}})
		c.Close()
		return
	}
	l.mu.Lock()
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer func() { <-l.slots }()
		defer l.forget(c)
		l.serveConn(ctx, c, h)
	}()
}

func (l *Listener) forget(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	c.Close()
}

// shutdown closes the listener and every client connection.
func (l *Listener) shutdown() {
	l.ln.Close()
	l.mu.Lock()
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
}

func (l *Listener) cleanup() {
	l.shutdown()
	l.wg.Wait()
	os.Remove(l.path)
}

// peerUID returns the effective uid of the process that connected c, as
// the kernel recorded it at connect time.
func peerUID(c *net.UnixConn) (uint32, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var credErr error
	err = raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil {
		return 0, err
	}
	if credErr != nil {
		return 0, fmt.Errorf("read SO_PEERCRED: %w", credErr)
	}
	return cred.Uid, nil
}
