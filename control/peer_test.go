package control

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// nobody is the uid and gid the peer tests connect as.
const nobody = 65534

// dialAs connects to path from a thread whose effective uid is uid. The
// thread is locked and never unlocked, so the Go runtime ends it with the
// goroutine instead of reusing its credentials.
func dialAs(path string, uid int) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// setresuid(2) as a raw system call changes only this thread,
		// unlike syscall.Setuid, which changes every thread.
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), uintptr(uid), ^uintptr(0)); e != 0 {
			ch <- result{err: e}
			return
		}
		c, err := net.Dial("unix", path)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root to connect as another user")
		}
		t.Skip("needs root to connect as another user")
	}
}

func TestOtherUserDeniedByMode(t *testing.T) {
	requireRoot(t)
	path := serveFake(t, newFake())
	openDirs(t, path)
	_, err := dialAs(path, nobody)
	if !errors.Is(err, syscall.EACCES) {
		t.Errorf("connect as uid %d: %v, want EACCES", nobody, err)
	}
}

func TestOtherUserDeniedByPeerCred(t *testing.T) {
	requireRoot(t)
	path := serveFake(t, newFake())
	openDirs(t, path)
	// With the file mode opened, SO_PEERCRED is the only guard left.
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	c, err := dialAs(path, nobody)
	if err != nil {
		t.Fatalf("connect as uid %d: %v", nobody, err)
	}
	defer c.Close()
	c.Write([]byte("{\"op\":\"connections\"}\n"))
	resp, err := readResponse(newReader(c))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Error == nil || resp.Error.Code != CodeDenied {
		t.Fatalf("response %+v, want code %s", resp.Error, CodeDenied)
	}
	if resp.Connections != nil {
		t.Errorf("denied response carries %d connections", len(resp.Connections))
	}
}

// openDirs makes the two directory levels that t.TempDir creates
// searchable by every user, so that only the socket's own mode guards it.
func openDirs(t *testing.T, path string) {
	t.Helper()
	dir := filepath.Dir(path)
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
