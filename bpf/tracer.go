package bpf

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
)

// Program variants, as returned by Tracer.Mode.
const (
	// ModeTPBTF attaches to BTF-enabled tracepoints and keeps
	// per-socket state in socket local storage. It needs kernel BTF and
	// Linux 6.2 or later (the bpf_rdonly_cast kfunc).
	ModeTPBTF = "tp_btf"
	// ModeRawTP attaches to raw tracepoints. It has no socket cookie
	// helper, so state lives in an LRU hash keyed by socket address. It
	// needs kernel BTF and Linux 5.8 or later (the BPF ring buffer).
	ModeRawTP = "raw_tp"
)

// Tracer is a loaded and attached set of programs and the reader of
// their ring buffer. Run reads records; Close detaches everything.
type Tracer struct {
	opts  Options
	mode  string
	coll  *ebpf.Collection
	links []link.Link
	rd    *ringbuf.Reader

	tokenMu  sync.Mutex
	tokenGen uint32

	closeOnce sync.Once
	closeErr  error

	realtimeMu  sync.Mutex
	realtimeErr error
}

// RealtimeErr returns why Run could not switch to the real-time policy
// that Options.ReaderPriority requests, or nil.
func (t *Tracer) RealtimeErr() error {
	t.realtimeMu.Lock()
	defer t.realtimeMu.Unlock()
	return t.realtimeErr
}

// Load loads and attaches the programs, trying tp_btf first and raw_tp
// second unless opts.Mode forces one. It removes the memlock limit for
// kernels older than 5.11. On any error nothing stays attached. When no
// variant works the error matches ErrUnsupported and carries each
// variant's reason, with the verifier log when the verifier rejected a
// program.
func Load(opts Options) (*Tracer, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	// Only kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK. A
	// failure here matters only if loading fails too.
	memlockErr := rlimit.RemoveMemlock()

	modes := []string{ModeTPBTF, ModeRawTP}
	if opts.Mode != "" {
		modes = []string{opts.Mode}
	}
	lerr := &LoadError{}
	for _, mode := range modes {
		t, err := loadMode(mode, opts)
		if err == nil {
			return t, nil
		}
		lerr.Attempts = append(lerr.Attempts, ModeError{mode, err})
	}
	if memlockErr != nil {
		lerr.Attempts = append(lerr.Attempts, ModeError{"memlock", memlockErr})
	}
	return nil, lerr
}

func loadMode(mode string, opts Options) (t *Tracer, err error) {
	spec, err := modeSpec(mode)
	if err != nil {
		return nil, err
	}
	if err := configure(spec, &opts); err != nil {
		return nil, err
	}
	var kernelTypes *btf.Spec
	if opts.KernelBTF != "" {
		kernelTypes, err = btf.LoadSpec(opts.KernelBTF)
		if err != nil {
			return nil, fmt.Errorf("load kernel BTF from %s: %w", opts.KernelBTF, err)
		}
	}
	if mode == ModeTPBTF {
		if err := dropMissingTracepoints(spec, kernelTypes); err != nil {
			return nil, err
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{
		Programs: ebpf.ProgramOptions{KernelTypes: kernelTypes},
	})
	if err != nil {
		return nil, withVerifierLog(fmt.Errorf("load programs: %w", err))
	}

	t = &Tracer{opts: opts, mode: mode, coll: coll}
	defer func() {
		if err != nil {
			t.Close()
			t = nil
		}
	}()
	if err := t.addTokens(opts.Tokens); err != nil {
		return t, err
	}
	if err := t.attach(spec); err != nil {
		return t, err
	}
	t.rd, err = ringbuf.NewReader(coll.Maps["records"])
	if err != nil {
		return t, fmt.Errorf("open ring buffer reader: %w", err)
	}
	return t, nil
}

// specLoaders return the compiled object of each variant; tests replace
// them to make a variant fail.
var specLoaders = map[string]func() (*ebpf.CollectionSpec, error){
	ModeTPBTF: loadSubflow,
	ModeRawTP: loadSubflowraw,
}

// modeSpec returns the compiled object of one variant.
func modeSpec(mode string) (*ebpf.CollectionSpec, error) {
	load, ok := specLoaders[mode]
	if !ok {
		return nil, fmt.Errorf("mode %s: %w", mode, errors.ErrUnsupported)
	}
	return load()
}

// configure rewrites the load-time constants and the ring size.
func configure(spec *ebpf.CollectionSpec, o *Options) error {
	consts := []struct {
		name  string
		value any
	}{
		{"all_tcp", boolByte(o.AllTCP)},
		{"netns_ino", o.NetNSInode},
		{"filter_tokens", boolByte(o.TokenFilter)},
		{"heartbeat_ns", uint64(o.Heartbeat.Nanoseconds())},
		{"rtt_frac", fraction1024(o.RTTChange)},
		{"rtt_floor_us", uint32(o.RTTFloor.Microseconds())},
		{"cwnd_down_frac", fraction1024(o.CwndDecrease)},
		{"cwnd_up_frac", fraction1024(o.CwndIncrease)},
	}
	for _, c := range consts {
		v, ok := spec.Variables[c.name]
		if !ok {
			return fmt.Errorf("object has no constant %s: regenerate with make generate", c.name)
		}
		if err := v.Set(c.value); err != nil {
			return fmt.Errorf("set %s: %w", c.name, err)
		}
	}
	spec.Maps["records"].MaxEntries = uint32(o.RingSize)
	return nil
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// optionalPrograms are attached only where the kernel has their
// tracepoint: tcp_cong_state_set is newer than the others. Without it a
// CA state change is still seen on the next tcp_probe.
var optionalPrograms = map[string]bool{"on_tcp_cong_state_set": true}

// dropMissingTracepoints removes the optional programs whose tracepoint
// the running kernel lacks, found by its btf_trace_ typedef in kernel
// (nil: the running kernel's BTF).
func dropMissingTracepoints(spec *ebpf.CollectionSpec, kernel *btf.Spec) error {
	if kernel == nil {
		var err error
		if kernel, err = btf.LoadKernelSpec(); err != nil {
			return fmt.Errorf("load kernel BTF: %w", err)
		}
	}
	for name, ps := range spec.Programs {
		_, err := kernel.AnyTypeByName("btf_trace_" + ps.AttachTo)
		switch {
		case err == nil:
		case errors.Is(err, btf.ErrNotFound) && optionalPrograms[name]:
			delete(spec.Programs, name)
		case errors.Is(err, btf.ErrNotFound):
			return fmt.Errorf("kernel has no tracepoint %s", ps.AttachTo)
		default:
			return fmt.Errorf("look up tracepoint %s: %w", ps.AttachTo, err)
		}
	}
	return nil
}

// attach links every program to the tracepoint named in its section.
// An optional program whose raw tracepoint is missing stays detached.
func (t *Tracer) attach(spec *ebpf.CollectionSpec) error {
	for name, ps := range spec.Programs {
		prog := t.coll.Programs[name]
		var l link.Link
		var err error
		if t.mode == ModeTPBTF {
			l, err = link.AttachTracing(link.TracingOptions{Program: prog})
		} else {
			l, err = link.AttachRawTracepoint(link.RawTracepointOptions{
				Name: ps.AttachTo, Program: prog,
			})
		}
		if err != nil && optionalPrograms[name] && errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("attach %s to %s: %w", name, ps.AttachTo, err)
		}
		t.links = append(t.links, l)
	}
	return nil
}

// Mode returns the loaded variant, ModeTPBTF or ModeRawTP.
func (t *Tracer) Mode() string { return t.mode }

// Close detaches the programs, stops Run and frees the maps. It is safe
// to call more than once and concurrently with Run.
func (t *Tracer) Close() error {
	t.closeOnce.Do(func() {
		var errs []error
		for _, l := range t.links {
			errs = append(errs, l.Close())
		}
		if t.rd != nil {
			errs = append(errs, t.rd.Close())
		}
		t.coll.Close()
		t.closeErr = errors.Join(errs...)
	})
	return t.closeErr
}
