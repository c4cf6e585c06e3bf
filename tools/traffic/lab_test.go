package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// trafficBin is the mptcp-traffic command built once by TestMain.
var trafficBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mptcp-traffic-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	trafficBin = filepath.Join(dir, "mptcp-traffic")
	out, err := exec.Command("go", "build", "-o", trafficBin, ".").
		CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// labServer is an mptcp-traffic server running in a namespace.
type labServer struct {
	cmd   *exec.Cmd
	lines *bufio.Scanner
}

// startServer runs the server in ns and waits until it listens.
func startServer(t *testing.T, ns *nstest.NS, addr string,
	args ...string) *labServer {
	t.Helper()
	cmd := ns.Command(trafficBin, append([]string{"server", "--listen",
		addr}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	errs := bufio.NewScanner(stderr)
	for errs.Scan() {
		if strings.Contains(errs.Text(), "listening on") {
			go io.Copy(io.Discard, stderr)
			return &labServer{cmd: cmd, lines: bufio.NewScanner(stdout)}
		}
		t.Logf("server: %s", errs.Text())
	}
	t.Fatalf("server on %s exited before listening", addr)
	return nil
}

// next decodes the server's next JSON line.
func (s *labServer) next(t *testing.T) connReport {
	t.Helper()
	if !s.lines.Scan() {
		t.Fatalf("server printed no report: %v", s.lines.Err())
	}
	var rep connReport
	if err := json.Unmarshal(s.lines.Bytes(), &rep); err != nil {
		t.Fatalf("decode server line %q: %v", s.lines.Text(), err)
	}
	return rep
}

// runClient runs the client in ns and decodes its JSON into v. It
// returns the exit status.
func runClient(t *testing.T, ns *nstest.NS, v any, args ...string) int {
	t.Helper()
	cmd := ns.Command(trafficBin, append([]string{"client"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run client: %v", err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("decode client output %q (stderr %q): %v", out,
			stderr.String(), err)
	}
	return code
}

func TestBulkLab(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	addr := lab.ServerAddrPort(5201).String()
	srv := startServer(t, lab.Server, addr, "--once")

	var rep bulkReport
	code := runClient(t, lab.Client, &rep, "--connect", addr,
		"--mode", "bulk", "--duration", "1s", "--require-mptcp")
	if code != 0 {
		t.Fatalf("client exit status = %d, want 0", code)
	}
	if !rep.MPTCP {
		t.Errorf("client mptcp = false (fallback %q), want true",
			rep.Fallback)
	}
	if rep.Bytes <= 0 || rep.Mbps <= 0 {
		t.Errorf("client bytes = %d, mbps = %v, want > 0", rep.Bytes,
			rep.Mbps)
	}
	if rep.Seconds < 1 {
		t.Errorf("client seconds = %v, want >= 1", rep.Seconds)
	}
	if rep.DrainError != "" {
		t.Errorf("client drain error: %s", rep.DrainError)
	}
	if rep.Info == nil || rep.Info.Subflows < 1 {
		t.Errorf("client mptcp_info = %+v, want >= 1 subflow", rep.Info)
	}

	got := srv.next(t)
	if !got.MPTCP {
		t.Errorf("server mptcp = false, want true")
	}
	if got.Mode != "bulk" {
		t.Errorf("server mode = %q, want bulk", got.Mode)
	}
	if want := rep.Bytes + headerLen; got.BytesReceived != want {
		t.Errorf("server bytes_received = %d, want %d",
			got.BytesReceived, want)
	}
	if got.Error != "" {
		t.Errorf("server error: %s", got.Error)
	}
	if err := srv.cmd.Wait(); err != nil {
		t.Errorf("server with --once: %v, want exit 0", err)
	}
}

func TestBulkFallback(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 1})
	lab.Server.Sysctl(t, "net.mptcp.enabled", "0")
	addr := lab.ServerAddrPort(5202).String()
	startServer(t, lab.Server, addr, "--once")

	var rep bulkReport
	code := runClient(t, lab.Client, &rep, "--connect", addr,
		"--duration", "1s", "--require-mptcp")
	if code != exitNotMPTCP {
		t.Errorf("client exit status = %d, want %d", code,
			exitNotMPTCP)
	}
	if rep.MPTCP {
		t.Errorf("client mptcp = true, want false")
	}
	if !strings.Contains(rep.Fallback, "fell back") {
		t.Errorf("client fallback = %q, want the peer reason",
			rep.Fallback)
	}
}

func TestBulkHold(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 1})
	addr := lab.ServerAddrPort(5203).String()
	srv := startServer(t, lab.Server, addr, "--once")

	cmd := lab.Client.Command(trafficBin, "client", "--connect", addr,
		"--duration", "0.3s", "--hold", "2")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()

	// The report comes first; the connection must stay up after it.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read client report: %v", err)
	}
	reported := time.Now()
	ss := lab.Client.Run(t, "ss", "-HnM", "state", "established")
	if !strings.Contains(ss, addr) {
		t.Errorf("ss -M after the report = %q, want a connection "+
			"to %s (report %s)", ss, addr, line)
	}

	rep := srv.next(t)
	if d := time.Since(reported); d < 1500*time.Millisecond {
		t.Errorf("server saw the end %v after the report, want ~2s", d)
	}
	if rep.Error != "" {
		t.Errorf("server error: %s", rep.Error)
	}
}

func TestRRLab(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	addr := lab.ServerAddrPort(5204).String()
	srv := startServer(t, lab.Server, addr, "--once")

	var rep rrReport
	code := runClient(t, lab.Client, &rep, "--connect", addr,
		"--mode", "rr", "--count", "500", "--request", "100",
		"--response", "3000", "--require-mptcp")
	if code != 0 {
		t.Fatalf("client exit status = %d (error %q), want 0", code,
			rep.Error)
	}
	if rep.Transactions != 500 {
		t.Errorf("transactions = %d, want 500", rep.Transactions)
	}
	if rep.TPS <= 0 {
		t.Errorf("transactions_per_second = %v, want > 0", rep.TPS)
	}
	if rep.Latency == nil || rep.Latency.P50 <= 0 ||
		rep.Latency.P99 < rep.Latency.P50 {
		t.Errorf("latency = %+v, want 0 < p50 <= p99", rep.Latency)
	}
	if rep.Info == nil || rep.Info.BytesReceived != 500*3000 {
		t.Errorf("mptcp_info = %+v, want bytes_received %d",
			rep.Info, 500*3000)
	}

	got := srv.next(t)
	if got.Transactions != 500 {
		t.Errorf("server transactions = %d, want 500",
			got.Transactions)
	}
	if got.BytesSent != 500*3000 {
		t.Errorf("server bytes_sent = %d, want %d", got.BytesSent,
			500*3000)
	}
}

func TestChurnLab(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 1})
	addr := lab.ServerAddrPort(5205).String()
	srv := startServer(t, lab.Server, addr)
	// Read the server's lines while the client runs, so that a full
	// pipe never blocks the server.
	reports := make(chan connReport, 200)
	go func() {
		for srv.lines.Scan() {
			var rep connReport
			if json.Unmarshal(srv.lines.Bytes(), &rep) == nil {
				reports <- rep
			}
		}
	}()

	var rep churnReport
	code := runClient(t, lab.Client, &rep, "--connect", addr,
		"--mode", "churn", "--rate", "200", "--count", "200",
		"--inflight", "8", "--require-mptcp")
	if code != 0 {
		t.Fatalf("client exit status = %d (errors %v), want 0", code,
			rep.Errors)
	}
	if rep.Succeeded != 200 || rep.Failed != 0 {
		t.Errorf("succeeded/failed = %d/%d, want 200/0", rep.Succeeded,
			rep.Failed)
	}
	if rep.MPTCPConns != 200 {
		t.Errorf("mptcp_connections = %d, want 200", rep.MPTCPConns)
	}
	// 200 connections at 200/s take at least one second. The lower
	// bound is loose, because a loaded machine slows the connections.
	t.Logf("rate %v/s in %vs", rep.Rate, rep.Seconds)
	if rep.Seconds < 0.95 {
		t.Errorf("seconds = %v, want >= 0.95 at 200/s", rep.Seconds)
	}
	if rep.Rate < 50 || rep.Rate > 210 {
		t.Errorf("rate = %v/s, want 50 to 210/s", rep.Rate)
	}
	if rep.Connect == nil || rep.Connect.P99 < rep.Connect.P50 {
		t.Errorf("connect latency = %+v, want p50 <= p99", rep.Connect)
	}

	for i := range 200 {
		select {
		case got := <-reports:
			if got.Mode != "churn" || got.Transactions != 1 {
				t.Fatalf("server report %d = %+v, want one churn "+
					"transaction", i, got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("server printed %d reports, want 200", i)
		}
	}
}

func TestServerEcho(t *testing.T) {
	ns := nstest.NewNS(t, "trfecho")
	srv := startServer(t, ns, "127.0.0.1:5208", "--once")

	var c net.Conn
	err := ns.Do(func() (err error) {
		c, err = net.Dial("tcp", "127.0.0.1:5208")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if string(got) != "ping\n" {
		t.Errorf("echo = %q, want %q", got, "ping\n")
	}
	c.Close()

	rep := srv.next(t)
	if rep.Mode != "echo" || rep.BytesSent != 5 {
		t.Errorf("server report mode %q bytes_sent %d, want echo 5",
			rep.Mode, rep.BytesSent)
	}
}

func TestBulkRefused(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 1})
	addr := lab.ServerAddrPort(5218).String()

	var rep bulkReport
	code := runClient(t, lab.Client, &rep, "--connect", addr)
	if code != 1 {
		t.Errorf("client exit status = %d, want 1", code)
	}
	if !strings.Contains(rep.Error, "connection refused") {
		t.Errorf("report error = %q, want connection refused", rep.Error)
	}
}

func TestChurnRefused(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 1})
	addr := lab.ServerAddrPort(5206).String()

	var rep churnReport
	code := runClient(t, lab.Client, &rep, "--connect", addr,
		"--mode", "churn", "--rate", "100", "--count", "5")
	if code != 0 {
		t.Errorf("client exit status = %d, want 0", code)
	}
	if rep.Failed != 5 {
		t.Errorf("failed = %d, want 5", rep.Failed)
	}
	if n := rep.Errors["connect: connection refused"]; n != 5 {
		t.Errorf("errors = %v, want 5 x connection refused",
			rep.Errors)
	}
	if rep.MPTCP {
		t.Errorf("mptcp = true without any connection, want false")
	}
}

func TestServerSIGTERM(t *testing.T) {
	ns := nstest.NewNS(t, "trfsig")
	srv := startServer(t, ns, "127.0.0.1:5207")

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("server after SIGTERM: %v, want exit 0", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("server still running 5s after SIGTERM")
	}
}

func TestServerIdleTimeout(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 1})
	addr := lab.ServerAddrPort(5209).String()
	srv := startServer(t, lab.Server, addr, "--once",
		"--idle-timeout", "300ms")

	var rep bulkReport
	code := runClient(t, lab.Client, &rep, "--connect", addr,
		"--duration", "0.2", "--hold", "1")
	if code != 0 {
		t.Errorf("client exit status = %d (error %q), want 0", code,
			rep.Error)
	}
	got := srv.next(t)
	if !strings.Contains(got.Error, "--idle-timeout") {
		t.Errorf("server error = %q, want the idle timeout", got.Error)
	}
}

func TestServerMaxConnTime(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 1})
	addr := lab.ServerAddrPort(5210).String()
	srv := startServer(t, lab.Server, addr, "--once",
		"--max-conn-time", "500ms")

	var rep bulkReport
	code := runClient(t, lab.Client, &rep, "--connect", addr,
		"--duration", "3s")
	if code != 1 {
		t.Errorf("client exit status = %d, want 1", code)
	}
	if rep.Error == "" {
		t.Errorf("client report has no error after the server closed")
	}
	got := srv.next(t)
	if !strings.Contains(got.Error, "--max-conn-time") {
		t.Errorf("server error = %q, want max-conn-time", got.Error)
	}
	if got.Seconds > 1.5 {
		t.Errorf("server seconds = %v, want about 0.5", got.Seconds)
	}
}

func TestClientLocalAddr(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	addr := lab.ServerAddrPort(5211).String()
	startServer(t, lab.Server, addr, "--once")
	local := lab.Paths[1].ClientAddr

	var rep rrReport
	code := runClient(t, lab.Client, &rep, "--connect", addr,
		"--mode", "rr", "--count", "10", "--local", local.String())
	if code != 0 {
		t.Fatalf("client exit status = %d (error %q), want 0", code,
			rep.Error)
	}
	if !strings.HasPrefix(rep.Local, local.String()+":") {
		t.Errorf("local = %q, want address %s", rep.Local, local)
	}
}

func TestChurnFallback(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 1})
	lab.Server.Sysctl(t, "net.mptcp.enabled", "0")
	addr := lab.ServerAddrPort(5212).String()
	startServer(t, lab.Server, addr)

	var rep churnReport
	code := runClient(t, lab.Client, &rep, "--connect", addr,
		"--mode", "churn", "--rate", "100", "--count", "5",
		"--require-mptcp")
	if code != exitNotMPTCP {
		t.Errorf("client exit status = %d, want %d", code,
			exitNotMPTCP)
	}
	if rep.MPTCP || rep.MPTCPConns != 0 {
		t.Errorf("mptcp = %v with %d MPTCP connections, want none",
			rep.MPTCP, rep.MPTCPConns)
	}
	if rep.Fallback == "" {
		t.Errorf("fallback reason is empty")
	}
}

func TestBulkInterval(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 1})
	addr := lab.ServerAddrPort(5213).String()
	startServer(t, lab.Server, addr, "--once")

	out, err := lab.Client.Output(trafficBin, "client", "--connect", addr,
		"--duration", "1s", "--interval", "250ms")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var sum uint64
	for _, line := range lines[:len(lines)-1] {
		var iv intervalReport
		if err := json.Unmarshal([]byte(line), &iv); err != nil {
			t.Fatalf("decode %q: %v", line, err)
		}
		if iv.Event != "interval" || iv.Seconds <= 0 {
			t.Errorf("interval line %q, want event interval", line)
		}
		sum += iv.Bytes
	}
	// Single intervals may show 0 bytes: on a loaded machine the veth
	// receive backlog drops packets, and MPTCP then stalled for 100 ms
	// or more, until a data-level retransmission (MPTcpExtMPTCPRetrans).
	if sum == 0 {
		t.Errorf("intervals sum to 0 bytes, want progress")
	}
	if n := len(lines) - 1; n < 3 || n > 5 {
		t.Errorf("%d interval lines in 1s at 250ms, want 3 to 5", n)
	}
	var rep bulkReport
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
		t.Fatal(err)
	}
	if sum > uint64(rep.Bytes)+headerLen {
		t.Errorf("intervals sum to %d bytes, more than the %d sent",
			sum, rep.Bytes)
	}
}

func TestReverseLab(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 1})
	addr := lab.ServerAddrPort(5214).String()
	srv := startServer(t, lab.Server, addr, "--once")

	var rep bulkReport
	code := runClient(t, lab.Client, &rep, "--connect", addr,
		"--mode", "reverse", "--duration", "1s", "--require-mptcp")
	if code != 0 {
		t.Fatalf("client exit status = %d (error %q), want 0", code,
			rep.Error)
	}
	if rep.Mode != "reverse" || rep.Bytes <= 0 || rep.Mbps <= 0 {
		t.Errorf("report mode %q bytes %d mbps %v, want reverse > 0",
			rep.Mode, rep.Bytes, rep.Mbps)
	}
	// The server times the 1 s of sending and the client starts its
	// clock after the handshake, so a loaded machine reads a little less.
	if rep.Seconds < 0.5 || rep.Seconds > 1.5 {
		t.Errorf("seconds = %v, want about 1", rep.Seconds)
	}

	got := srv.next(t)
	if got.BytesSent != rep.Bytes {
		t.Errorf("server bytes_sent = %d, client received %d",
			got.BytesSent, rep.Bytes)
	}
	if got.Error != "" {
		t.Errorf("server error: %s", got.Error)
	}
}

func TestRRLabIPv6(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 1, IPv6: true})
	addr := lab.ServerAddrPort(5215).String()
	srv := startServer(t, lab.Server, addr, "--once")

	var rep rrReport
	code := runClient(t, lab.Client, &rep, "--connect", addr,
		"--mode", "rr", "--count", "50", "--require-mptcp")
	if code != 0 {
		t.Fatalf("client exit status = %d (error %q), want 0", code,
			rep.Error)
	}
	if rep.Transactions != 50 {
		t.Errorf("transactions = %d, want 50", rep.Transactions)
	}
	if got := srv.next(t); !got.MPTCP {
		t.Errorf("server mptcp = false over IPv6, want true")
	}
}

func TestBulkTwoSubflows(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2,
		ClientPM: "kernel"})
	p1 := lab.Paths[1]
	lab.Client.Run(t, "ip", "mptcp", "endpoint", "add",
		p1.ClientAddr.String(), "dev", p1.ClientIf, "subflow")
	addr := lab.ServerAddrPort(5216).String()
	srv := startServer(t, lab.Server, addr, "--once")

	var rep bulkReport
	code := runClient(t, lab.Client, &rep, "--connect", addr,
		"--duration", "1s", "--require-mptcp")
	if code != 0 {
		t.Fatalf("client exit status = %d (error %q), want 0", code,
			rep.Error)
	}
	if rep.Info == nil || rep.Info.Subflows != 2 {
		t.Errorf("client mptcp_info = %+v, want 2 subflows", rep.Info)
	}
	got := srv.next(t)
	if got.Info == nil || got.Info.Subflows != 2 {
		t.Errorf("server mptcp_info = %+v, want 2 subflows", got.Info)
	}
}

func TestClientInterrupted(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 1})
	addr := lab.ServerAddrPort(5217).String()
	startServer(t, lab.Server, addr, "--once")

	cmd := lab.Client.Command(trafficBin, "client", "--connect", addr,
		"--duration", "30s")
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) ||
		ee.ExitCode() != 1 {
		t.Errorf("client after SIGINT: %v, want exit status 1", err)
	}
	var rep bulkReport
	if err := json.Unmarshal([]byte(stdout.String()), &rep); err != nil {
		t.Fatalf("decode report %q: %v", stdout.String(), err)
	}
	if !strings.Contains(rep.Error, "interrupted") || rep.Bytes == 0 {
		t.Errorf("report error %q bytes %d, want interrupted with "+
			"the bytes sent so far", rep.Error, rep.Bytes)
	}
}
