package bpf

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

func TestOptionsInvalid(t *testing.T) {
	for name, o := range map[string]Options{
		"ring not power of two": {RingSize: 3 << 12},
		"ring below a page":     {RingSize: 1024},
		"negative heartbeat":    {Heartbeat: -time.Second},
		"rtt fraction":          {RTTChange: -0.5},
		"mode":                  {Mode: "fentry"},
	} {
		o.NetNSInode = 1
		if err := o.setDefaults(); err == nil {
			t.Errorf("%s: no error for %+v", name, o)
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{Tokens: []uint32{7}}
	if err := o.setDefaults(); err != nil {
		t.Fatal(err)
	}
	own, err := NetNSInode("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if o.NetNSInode != own {
		t.Errorf("default netns inode %d, own namespace is %d", o.NetNSInode, own)
	}
	if o.RingSize != DefaultRingSize || o.Heartbeat != DefaultHeartbeat || o.DrainInterval != DefaultDrainInterval {
		t.Errorf("defaults not applied: %+v", o)
	}
	if !o.TokenFilter {
		t.Error("Tokens given but TokenFilter off")
	}
}

func TestLoadErrorIs(t *testing.T) {
	err := error(&LoadError{Attempts: []ModeError{
		{ModeTPBTF, os.ErrPermission},
		{ModeRawTP, errors.New("other")},
	}})
	if !errors.Is(err, ErrUnsupported) {
		t.Error("LoadError does not match ErrUnsupported")
	}
	if !errors.Is(err, os.ErrPermission) {
		t.Error("LoadError hides the cause of an attempt")
	}
	if !strings.Contains(err.Error(), "tp_btf: permission denied") {
		t.Errorf("message %q lacks the tp_btf cause", err)
	}
}

func TestVerifierLogInError(t *testing.T) {
	nstest.RequireRoot(t)
	// Reads R1 before writing it: the verifier rejects this.
	_, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:    ebpf.SocketFilter,
		License: "MIT",
		Instructions: asm.Instructions{
			asm.Mov.Reg(asm.R0, asm.R2),
			asm.Return(),
		},
	})
	if err == nil {
		t.Fatal("verifier accepted an invalid program")
	}
	msg := withVerifierLog(err).Error()
	if !strings.Contains(msg, "verifier log:") || !strings.Contains(msg, "R2 !read_ok") {
		t.Errorf("message lacks the verifier log: %s", msg)
	}
	var ve *ebpf.VerifierError
	if !errors.As(withVerifierLog(err), &ve) {
		t.Error("verifier error lost")
	}
}

// TestLoadWithoutCapabilities runs TestLoadUnsupportedChild as root
// without any capability, where loading must fail with ErrUnsupported.
func TestLoadWithoutCapabilities(t *testing.T) {
	nstest.RequireRoot(t)
	setpriv, err := exec.LookPath("setpriv")
	nstest.Require(t, err == nil, "needs setpriv from util-linux")
	cmd := exec.Command(setpriv, "--bounding-set=-all", "--inh-caps=-all",
		os.Args[0], "-test.run=^TestLoadUnsupportedChild$", "-test.v")
	cmd.Env = append(os.Environ(), "BPF_TEST_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestLoadUnsupportedChild") {
		t.Errorf("child did not run:\n%s", out)
	}
}

func TestLoadUnsupportedChild(t *testing.T) {
	if os.Getenv("BPF_TEST_CHILD") != "1" {
		t.Skip("run by TestLoadWithoutCapabilities")
	}
	tr, err := Load(Options{})
	if err == nil {
		tr.Close()
		t.Fatal("Load without capabilities succeeded")
	}
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("error %v does not match ErrUnsupported", err)
	}
	t.Log(err)
}

func TestLoadWithKernelBTFFile(t *testing.T) {
	nstest.RequireRoot(t)
	for _, mode := range []string{ModeTPBTF, ModeRawTP} {
		tr, err := Load(Options{Mode: mode, KernelBTF: "/sys/kernel/btf/vmlinux"})
		if err != nil {
			t.Errorf("Load %s with a BTF file: %v", mode, err)
			continue
		}
		tr.Close()
	}
}

func TestLoadWithMissingBTFFile(t *testing.T) {
	nstest.RequireRoot(t)
	_, err := Load(Options{KernelBTF: "/nonexistent/vmlinux"})
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("Load with a missing BTF file: %v, want ErrUnsupported", err)
	}
}

func TestLoadFallsBackToRawTP(t *testing.T) {
	nstest.RequireRoot(t)
	orig := specLoaders[ModeTPBTF]
	t.Cleanup(func() { specLoaders[ModeTPBTF] = orig })
	specLoaders[ModeTPBTF] = func() (*ebpf.CollectionSpec, error) {
		return nil, errors.New("tp_btf disabled by the test")
	}

	tr := loadTracer(t, Options{})
	if tr.Mode() != ModeRawTP {
		t.Errorf("mode %s after tp_btf failed, want %s", tr.Mode(), ModeRawTP)
	}
}

func TestLoadPrefersTPBTF(t *testing.T) {
	tr := loadTracer(t, Options{})
	if tr.Mode() != ModeTPBTF {
		t.Errorf("mode %s, want %s on a kernel with BTF", tr.Mode(), ModeTPBTF)
	}
}
