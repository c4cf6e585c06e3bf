package clamp_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// senderEnv makes the test binary act as the traffic sender: the value is
// "ADDR:PORT SECONDS IDLE". The sender waits for a line on stdin, so that
// the test can move it into a cgroup before it opens its socket. It sends
// for SECONDS, then keeps the connection open without sending for IDLE
// seconds.
const senderEnv = "MBPT_CLAMP_SENDER"

const serverPort = 5301

func TestMain(m *testing.M) {
	if v := os.Getenv(senderEnv); v != "" {
		if err := send(v); err != nil {
			fmt.Fprintln(os.Stderr, "sender:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// send opens one MPTCP connection, writes to it for the given time and
// then holds it open.
func send(spec string) error {
	var (
		addr       string
		secs, idle float64
	)
	if _, err := fmt.Sscan(spec, &addr, &secs, &idle); err != nil {
		return fmt.Errorf("invalid %s %q: %w", senderEnv, spec, err)
	}
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("wait for start: %w", err)
	}

	var dialer net.Dialer
	dialer.SetMultipathTCP(true)
	c, err := dialer.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(seconds(secs))
	_ = c.SetWriteDeadline(deadline)
	for time.Now().Before(deadline) {
		if _, err := c.Write(buf); err != nil {
			break
		}
	}
	time.Sleep(seconds(idle))
	return nil
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second))
}

// rig is a two-path lab whose client uses the in-kernel path manager with
// a subflow endpoint on path 1, a server that counts received bytes, and
// a cgroup for the sender.
type rig struct {
	lab      *nstest.Lab
	cgroup   string
	received atomic.Int64
	diag     *diag.Conn
}

func newRig(t *testing.T, v6 bool) *rig {
	t.Helper()
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2, IPv6: v6,
		ClientPM: "kernel"})
	lab.Client.Run(t, "ip", "mptcp", "endpoint", "add",
		lab.Paths[1].ClientAddr.String(), "subflow")
	r := &rig{lab: lab, cgroup: testCgroup(t)}
	r.listen(t)

	f, err := os.Open(lab.Client.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r.diag, err = diag.Dial(&diag.Config{NetNS: int(f.Fd())})
	if err != nil {
		t.Fatalf("diag.Dial: %v", err)
	}
	t.Cleanup(func() { r.diag.Close() })
	return r
}

func (r *rig) listen(t *testing.T) {
	var ln net.Listener
	err := r.lab.Server.Do(func() (err error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		ln, err = lc.Listen(context.Background(), "tcp",
			fmt.Sprintf(":%d", serverPort))
		return err
	})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.sink(c)
		}
	}()
}

func (r *rig) sink(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 256<<10)
	for {
		n, err := c.Read(buf)
		r.received.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// startSender runs the sender in the client namespace, moves it into the
// rig's cgroup, then lets it connect. Its exit is waited for at cleanup.
func (r *rig) startSender(t *testing.T, d time.Duration) *exec.Cmd {
	t.Helper()
	return r.startSenderIdle(t, d, 0)
}

// startSenderIdle is startSender with a sender that keeps the connection
// open without sending for idle after d.
func (r *rig) startSenderIdle(t *testing.T, d, idle time.Duration) *exec.Cmd {
	t.Helper()
	addr := r.lab.ServerAddrPort(serverPort).String()
	cmd := r.lab.Client.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("%s=%s %.3f %.3f", senderEnv, addr, d.Seconds(),
			idle.Seconds()))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sender: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	// ip netns exec enters the namespace and then execs the command
	// without forking, so this pid is the sender's.
	pid := strconv.Itoa(cmd.Process.Pid)
	procs := filepath.Join(r.cgroup, "cgroup.procs")
	if err := os.WriteFile(procs, []byte(pid), 0); err != nil {
		t.Fatalf("move sender %s into %s: %v", pid, r.cgroup, err)
	}
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatalf("start sender: %v", err)
	}
	return cmd
}

// subflows returns the client's subflows of the established connection
// to the server, initial subflow first. Connections of earlier runs that
// are closing are skipped.
func (r *rig) subflows(t *testing.T) []diag.TCPSocket {
	t.Helper()
	conns, err := r.diag.Connections(diag.Request{DstPort: serverPort})
	if err != nil {
		t.Fatalf("inet_diag: %v", err)
	}
	for _, c := range conns {
		if c.State == diag.StateEstablished && len(c.Subflows) > 0 {
			return c.Subflows
		}
	}
	return nil
}

// waitQuiet waits until the server has received nothing for 300 ms, so
// that the data of an earlier connection does not count in the next run.
func (r *rig) waitQuiet(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last := r.received.Load()
	for time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		now := r.received.Load()
		if now == last {
			return
		}
		last = now
	}
	t.Fatalf("the server still receives data after 10s")
}

// waitSubflows polls until the connection has n established subflows
// with tcp_info.
func (r *rig) waitSubflows(t *testing.T, n int) []diag.TCPSocket {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		subs := r.subflows(t)
		if len(subs) == n && allEstablished(subs) {
			return subs
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("connection has %d subflows after 5s, want %d",
		len(r.subflows(t)), n)
	return nil
}

func allEstablished(subs []diag.TCPSocket) bool {
	for _, s := range subs {
		if s.State != diag.StateEstablished || s.Info == nil {
			return false
		}
	}
	return true
}

// find returns the subflow with cookie, or nil.
func find(subs []diag.TCPSocket, cookie uint64) *diag.TCPSocket {
	for i := range subs {
		if subs[i].ID.Cookie == cookie {
			return &subs[i]
		}
	}
	return nil
}
