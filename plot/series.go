package plot

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"time"
)

// Series is the samples of one subflow, from one source.
type Series struct {
	Name    string // "10.200.1.1 -> 10.200.0.2 (1/0)"
	Token   uint32
	Cookie  uint64
	Source  string
	Samples []Sample
}

// Subflows groups the run's samples by socket, in order of first sample.
// A subflow with BPF samples keeps only those, because inet_diag samples
// are sparser and taken at other instants.
func (r *Run) Subflows() []Series {
	type id struct {
		cookie uint64
		source string
	}
	bySock := map[id]*Series{}
	var order []id
	hasBPF := map[uint64]bool{}
	for _, s := range r.Stats {
		if s.Source == "bpf" {
			hasBPF[s.Cookie] = true
		}
		k := id{s.Cookie, s.Source}
		if bySock[k] == nil {
			bySock[k] = &Series{Token: s.Token, Cookie: s.Cookie, Source: s.Source}
			order = append(order, k)
		}
		ser := bySock[k]
		ser.Samples = append(ser.Samples, s)
	}
	var out []Series
	for _, k := range order {
		if k.source != "bpf" && hasBPF[k.cookie] {
			continue
		}
		ser := bySock[k]
		slices.SortStableFunc(ser.Samples, func(a, b Sample) int { return a.Time.Compare(b.Time) })
		ser.Name = seriesName(ser.Samples)
		out = append(out, *ser)
	}
	return out
}

// seriesName names a subflow by its addresses and the last address ids
// it had, since BPF learns the ids after the first sample.
func seriesName(ss []Sample) string {
	last := ss[len(ss)-1]
	return fmt.Sprintf("%s -> %s (%d/%d)", hostOf(last.Local), hostOf(last.Remote), last.LocalID, last.RemoteID)
}

// hostOf drops the port of "addr:port" or "[addr]:port".
func hostOf(ap string) string {
	for i := len(ap) - 1; i >= 0; i-- {
		if ap[i] == ':' {
			h := ap[:i]
			if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
				h = h[1 : len(h)-1]
			}
			return h
		}
	}
	return ap
}

// Point is one value at a time offset from the start of the run.
type Point struct{ X, Y float64 }

// Throughput returns the rate of acknowledged bytes of s in Mbit/s, one
// point per bin of width bin, at the bin's end. BPF samples arrive when a
// subflow's state changes, not at fixed times, so the acknowledged count
// at each bin edge is interpolated linearly between the samples around
// it: a gap between two samples shows their average rate, not a burst.
func Throughput(s Series, start time.Time, bin time.Duration) []Point {
	if len(s.Samples) < 2 || bin <= 0 {
		return nil
	}
	first := s.Samples[0].Time.Sub(start)
	last := s.Samples[len(s.Samples)-1].Time.Sub(start)
	var out []Point
	prev := ackedAt(s.Samples, start, first)
	for end := first + bin; end < last+bin; end += bin {
		cur := ackedAt(s.Samples, start, min(end, last))
		width := min(end, last) - (end - bin)
		if width <= 0 {
			break
		}
		out = append(out, Point{X: min(end, last).Seconds(), Y: (cur - prev) * 8 / width.Seconds() / 1e6})
		prev = cur
	}
	return out
}

// ackedAt returns the acknowledged byte count at offset t, interpolated
// between the samples around it. ss is sorted by time.
func ackedAt(ss []Sample, start time.Time, t time.Duration) float64 {
	i := sort.Search(len(ss), func(i int) bool { return ss[i].Time.Sub(start) >= t })
	switch {
	case i == 0:
		return float64(ss[0].BytesAcked)
	case i == len(ss):
		return float64(ss[len(ss)-1].BytesAcked)
	}
	a, b := ss[i-1], ss[i]
	span := b.Time.Sub(a.Time)
	if span <= 0 || b.BytesAcked < a.BytesAcked {
		return float64(b.BytesAcked)
	}
	frac := float64(t-a.Time.Sub(start)) / float64(span)
	return float64(a.BytesAcked) + frac*float64(b.BytesAcked-a.BytesAcked)
}

// Values returns one point per sample with the value f returns; samples
// for which f returns false are skipped.
func Values(s Series, start time.Time, f func(Sample) (float64, bool)) []Point {
	out := make([]Point, 0, len(s.Samples))
	for _, smp := range s.Samples {
		if v, ok := f(smp); ok {
			out = append(out, Point{X: smp.Time.Sub(start).Seconds(), Y: v})
		}
	}
	return out
}

// SRTTMillis returns the smoothed RTT in ms; 0 means not measured yet.
func SRTTMillis(s Sample) (float64, bool) { return float64(s.SRTTUs) / 1000, s.SRTTUs > 0 }

// Cwnd returns the congestion window in segments.
func Cwnd(s Sample) (float64, bool) { return float64(s.SndCwnd), s.SndCwnd > 0 }

// Duration returns the time from the start of the run to its last sample
// or event.
func (r *Run) Duration() time.Duration {
	var end time.Time
	for _, s := range r.Stats {
		end = maxTime(end, s.Time)
	}
	for _, e := range r.Evts {
		end = maxTime(end, e.Time)
	}
	return max(end.Sub(r.Start), 0)
}

func maxTime(a, b time.Time) time.Time {
	if cmp.Compare(a.UnixNano(), b.UnixNano()) >= 0 {
		return a
	}
	return b
}

// BinWidth picks the throughput bin for a run of length d: about 100
// bins, at least 50 ms.
func BinWidth(d time.Duration) time.Duration {
	return max((d / 100).Round(10*time.Millisecond), 50*time.Millisecond)
}
