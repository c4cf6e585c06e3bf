package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Capability bits from linux/capability.h.
const (
	capNetAdmin = 12
	capPerfmon  = 38
	capBPF      = 39
)

func readSysctl(key string) (string, error) {
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(key, ".", "/"))
	return strings.TrimSpace(string(b)), err
}

// checkMPTCP returns an error that names the sysctl to change when MPTCP is
// missing or disabled, or when the namespace's pm_type does not fit mode.
// With setPMType it switches pm_type itself and returns the old value, for
// the daemon to restore at exit.
func checkMPTCP(mode string, setPMType bool) (restore string, err error) {
	enabled, err := readSysctl("net.mptcp.enabled")
	if errors.Is(err, os.ErrNotExist) {
		return "", errors.New("MPTCP is not available: this kernel has no /proc/sys/net/mptcp (build it with CONFIG_MPTCP=y)")
	}
	if err != nil {
		return "", fmt.Errorf("read net.mptcp.enabled: %w", err)
	}
	if enabled != "1" {
		return "", errors.New("MPTCP is disabled in this network namespace: run sysctl -w net.mptcp.enabled=1")
	}
	want, name := "1", "userspace"
	if mode == ModeKernel {
		want, name = "0", "in-kernel"
	}
	pmType, err := readSysctl("net.mptcp.pm_type")
	if err != nil {
		return "", fmt.Errorf("read net.mptcp.pm_type: %w (kernels before 5.19 have no userspace path manager)", err)
	}
	if pmType == want {
		return "", nil
	}
	if !setPMType {
		return "", fmt.Errorf("net.mptcp.pm_type is %s in this network namespace, but --pm %s needs the %s path manager: "+
			"run sysctl -w net.mptcp.pm_type=%s, or start the daemon with --set-pm-type", pmType, mode, name, want)
	}
	if err := writePMType(want); err != nil {
		return "", err
	}
	return pmType, nil
}

func writePMType(value string) error {
	if err := os.WriteFile("/proc/sys/net/mptcp/pm_type", []byte(value+"\n"), 0o644); err != nil {
		return fmt.Errorf("set net.mptcp.pm_type=%s: %w", value, err)
	}
	return nil
}

// effectiveCaps returns the process's effective capability mask.
func effectiveCaps() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("no CapEff line in /proc/self/status")
}

// checkPrivileges returns an error naming the missing capability.
// CAP_NET_ADMIN is required; CAP_BPF and CAP_PERFMON only for the BPF
// statistics, so their absence is returned as a separate warning.
func checkPrivileges(wantBPF bool) (warning string, err error) {
	caps, err := effectiveCaps()
	if err != nil {
		return "", fmt.Errorf("read capabilities: %w", err)
	}
	if caps&(1<<capNetAdmin) == 0 {
		return "", errors.New("missing CAP_NET_ADMIN, needed for the mptcp_pm events and commands: run as root (sudo mptcp-bpf-pm) or grant CAP_NET_ADMIN")
	}
	if wantBPF && (caps&(1<<capBPF) == 0 || caps&(1<<capPerfmon) == 0) {
		return "missing CAP_BPF or CAP_PERFMON: BPF statistics may fail to load; grant both or run as root", nil
	}
	return "", nil
}

// instanceLock holds an abstract unix socket named after the daemon. The
// abstract socket namespace belongs to the network namespace, so a second
// daemon in the same network namespace fails to bind it.
type instanceLock struct{ fd int }

func lockInstance() (*instanceLock, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create instance lock socket: %w", err)
	}
	err = unix.Bind(fd, &unix.SockaddrUnix{Name: "@mptcp-bpf-pm.instance"})
	if errors.Is(err, unix.EADDRINUSE) {
		unix.Close(fd)
		return nil, errors.New("another mptcp-bpf-pm daemon already runs in this network namespace: stop it first")
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind instance lock socket: %w", err)
	}
	return &instanceLock{fd: fd}, nil
}

func (l *instanceLock) release() { unix.Close(l.fd) }
