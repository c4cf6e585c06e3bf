// Package naive loads the naive statistics design, used only as the
// baseline of the bpf package's overhead benchmark: one record per
// tcp_probe hit on an MPTCP subflow, each one waking the reader.
package naive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
)

// Program is the loaded and attached naive program with its reader.
type Program struct {
	objs naiveObjects
	link link.Link
	rd   *ringbuf.Reader
}

// Load attaches the naive program to tp_btf/tcp_probe for the sockets of
// the network namespace with inode netnsIno, with a ring buffer of
// ringSize bytes.
func Load(netnsIno uint32, ringSize int) (p *Program, err error) {
	spec, err := loadNaive()
	if err != nil {
		return nil, err
	}
	if err := spec.Variables["netns_ino"].Set(netnsIno); err != nil {
		return nil, fmt.Errorf("set netns_ino: %w", err)
	}
	spec.Maps["records"].MaxEntries = uint32(ringSize)

	p = &Program{}
	if err := spec.LoadAndAssign(&p.objs, nil); err != nil {
		return nil, fmt.Errorf("load naive program: %w", err)
	}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	p.link, err = link.AttachTracing(link.TracingOptions{Program: p.objs.OnTcpProbe})
	if err != nil {
		return nil, fmt.Errorf("attach naive program: %w", err)
	}
	p.rd, err = ringbuf.NewReader(p.objs.Records)
	if err != nil {
		return nil, fmt.Errorf("open ring buffer reader: %w", err)
	}
	return p, nil
}

// TCPProbe returns the program attached to tcp_probe, for run-time
// statistics.
func (p *Program) TCPProbe() *ebpf.Program { return p.objs.OnTcpProbe }

// Run calls fn with every raw record until ctx is done. Each record
// wakes the reader; an idle ring is polled every 100 ms for ctx.
func (p *Program) Run(ctx context.Context, fn func([]byte)) error {
	var rec ringbuf.Record
	p.rd.SetDeadline(time.Now().Add(100 * time.Millisecond))
	for n := 1; ; n++ {
		err := p.rd.ReadInto(&rec)
		switch {
		case err == nil:
			fn(rec.RawSample)
			if n%256 == 0 && ctx.Err() != nil {
				return nil
			}
		case errors.Is(err, os.ErrDeadlineExceeded):
			if ctx.Err() != nil {
				return nil
			}
			p.rd.SetDeadline(time.Now().Add(100 * time.Millisecond))
		case errors.Is(err, ringbuf.ErrClosed):
			return nil
		default:
			return err
		}
	}
}

// Drops returns the records lost to a full ring, summed over CPUs.
func (p *Program) Drops() (uint64, error) {
	var perCPU []uint64
	if err := p.objs.Drops.Lookup(uint32(0), &perCPU); err != nil {
		return 0, err
	}
	var n uint64
	for _, v := range perCPU {
		n += v
	}
	return n, nil
}

// Close detaches the program and frees its maps.
func (p *Program) Close() error {
	var errs []error
	if p.link != nil {
		errs = append(errs, p.link.Close())
	}
	if p.rd != nil {
		errs = append(errs, p.rd.Close())
	}
	errs = append(errs, p.objs.Close())
	return errors.Join(errs...)
}
