package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a path-manager process in the client namespace. "ip netns
// exec" replaces itself with the command, so the PID is the manager's.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan error

	mu      sync.Mutex
	tail    []string // last lines of its log
	matches map[string]int
	watch   []string // substrings to count in the log
	ready   chan struct{}
	readyOn string
	quiet   bool // keep no log: a server prints a line per connection
}

// startProc starts cmd and waits until a log line contains readyOn, the
// process exits, or timeout passes. watch lists substrings whose lines
// are counted, such as lost-event warnings. A quiet process keeps no log
// after its ready line. An empty readyOn returns once the process runs.
func startProc(name string, cmd *exec.Cmd, readyOn string, watch []string, quiet bool, timeout time.Duration) (*proc, error) {
	r, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	p := &proc{
		name: name, cmd: cmd, done: make(chan error, 1),
		matches: map[string]int{}, watch: watch,
		ready: make(chan struct{}), readyOn: readyOn, quiet: quiet,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go p.scan(r)
	go func() {
		err := cmd.Wait()
		w.Close()
		p.done <- err
	}()
	if readyOn == "" {
		return p, nil
	}
	select {
	case <-p.ready:
		return p, nil
	case err := <-p.done:
		p.done <- err
		return nil, fmt.Errorf("%s exited before it was ready (%v): %s", name, err, p.logTail(8))
	case <-time.After(timeout):
		p.stop()
		return nil, fmt.Errorf("%s not ready after %s: %s", name, timeout, p.logTail(8))
	}
}

func (p *proc) scan(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	isReady := false
	for sc.Scan() {
		line := sc.Text()
		if p.quiet && isReady {
			continue
		}
		p.mu.Lock()
		p.tail = append(p.tail, line)
		if len(p.tail) > 200 {
			p.tail = p.tail[len(p.tail)-100:]
		}
		for _, s := range p.watch {
			if strings.Contains(line, s) {
				p.matches[s]++
			}
		}
		p.mu.Unlock()
		if !isReady && strings.Contains(line, p.readyOn) {
			isReady = true
			close(p.ready)
		}
		if *verbose {
			fmt.Fprintf(os.Stderr, "   [%s] %s\n", p.name, line)
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// logTail returns the last n log lines joined by " | ".
func (p *proc) logTail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.tail
	if len(t) > n {
		t = t[len(t)-n:]
	}
	return strings.Join(t, " | ")
}

// logLines returns the log lines that contain s.
func (p *proc) logLines(s string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.tail {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// count returns how many log lines contained the watched substring s.
func (p *proc) count(s string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.matches[s]
}

// alive reports whether the process still runs.
func (p *proc) alive() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and kills the process after 10 s.
func (p *proc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		err := <-p.done
		p.done <- err
		return errors.New(p.name + " ignored SIGTERM for 10s, killed")
	}
}

// cpuSeconds returns the user and the system CPU time of the process.
func (p *proc) cpuSeconds() (user, sys float64, err error) {
	return cpuSeconds(p.cmd.Process.Pid)
}

// rssKiB returns the resident set size of the process.
func (p *proc) rssKiB() (int, error) { return statusKiB(p.cmd.Process.Pid, "VmRSS:") }

// anonKiB returns the anonymous part of the resident set: the heap,
// stacks and BPF ring buffers, without the mapped binary.
func (p *proc) anonKiB() (int, error) { return statusKiB(p.cmd.Process.Pid, "RssAnon:") }

// clockTicks is USER_HZ, the unit of the times in /proc/PID/stat; it is
// 100 on every Linux architecture in use.
const clockTicks = 100

func cpuSeconds(pid int) (user, sys float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name in parentheses may contain spaces; fields
	// after it start with the state (field 3).
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields, want at least 15", pid, len(f)+2)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return float64(utime) / clockTicks, float64(stime) / clockTicks, nil
}

// statusKiB returns the value of field (such as "VmRSS:") of
// /proc/PID/status, in KiB.
func statusKiB(pid int, field string) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s line", pid, field)
}
