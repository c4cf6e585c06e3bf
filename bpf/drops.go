package bpf

import "fmt"

// Drops counts what the programs lost, summed over CPUs since Load.
type Drops struct {
	// Ring counts records lost because the ring buffer was full. The
	// change is reported again by the next event on that subflow.
	Ring uint64
	// Storage counts events on sockets for which no per-socket state
	// could be allocated; those sockets are not reported.
	Storage uint64
}

// Total returns the sum of all counters.
func (d Drops) Total() uint64 { return d.Ring + d.Storage }

// Drops reads the per-CPU drop counters.
func (t *Tracer) Drops() (Drops, error) {
	var d Drops
	for i, dst := range []*uint64{&d.Ring, &d.Storage} {
		var perCPU []uint64
		if err := t.coll.Maps["drops"].Lookup(uint32(i), &perCPU); err != nil {
			return Drops{}, fmt.Errorf("read BPF drop counter %d: %w", i, err)
		}
		for _, n := range perCPU {
			*dst += n
		}
	}
	return d, nil
}
