package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"text/tabwriter"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/netlab"
)

// bpfSample is the part of a stats.jsonl line that the summary uses.
type bpfSample struct {
	Source     string `json:"source"`
	Token      uint32 `json:"token"`
	Cookie     uint64 `json:"cookie"`
	SRTTUs     uint32 `json:"srtt_us"`
	SndCwnd    uint32 `json:"snd_cwnd"`
	BytesAcked uint64 `json:"bytes_acked"`
}

// bpfStats summarizes the BPF records of one subflow.
type bpfStats struct {
	records int
	last    bpfSample
	maxAck  uint64
}

// readBPFRecords returns the BPF records of the run, by socket cookie.
func readBPFRecords(path string) (map[uint64]*bpfStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open recorded statistics: %w", err)
	}
	defer f.Close()
	out := make(map[uint64]*bpfStats)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var s bpfSample
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return nil, fmt.Errorf("%s: invalid line: %w", path, err)
		}
		if s.Source != "bpf" {
			continue
		}
		st := out[s.Cookie]
		if st == nil {
			st = &bpfStats{}
			out[s.Cookie] = st
		}
		st.records++
		st.last = s
		st.maxAck = max(st.maxAck, s.BytesAcked)
	}
	return out, sc.Err()
}

func pathOf(topo *netlab.Topology, a netip.Addr) string {
	for _, p := range topo.Paths {
		if p.ClientAddr == a.Unmap() {
			return p.ClientIf
		}
	}
	return "?"
}

// summarize prints one row per subflow and checks that the demo did its
// job: one subflow per path, each carrying data, each seen by BPF.
func summarize(w io.Writer, topo *netlab.Topology, conns []diag.Connection, recs map[uint64]*bpfStats) error {
	if len(conns) != 1 {
		return fmt.Errorf("inet_diag shows %d MPTCP connections in the client namespace, want 1", len(conns))
	}
	c := conns[0]
	fmt.Fprintf(w, "\nconnection token %08x  %s -> %s  subflows %d\n",
		c.Info.Token, c.ID.Src, c.ID.Dst, len(c.Subflows))
	fmt.Fprintln(w, "diag: inet_diag sample at 80% of the transfer; bpf: last record of each subflow; ids: local/remote address id")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\tlocal\tremote\tids\tdiag acked\tdiag rtt\tdiag cwnd\tbpf recs\tbpf acked\tbpf rtt\tbpf cwnd\t")
	var problems []error
	paths := map[string]bool{}
	for _, s := range c.Subflows {
		path := pathOf(topo, s.ID.Src.Addr())
		paths[path] = true
		ids := "-"
		if s.Subflow != nil {
			ids = fmt.Sprintf("%d/%d", s.Subflow.LocalID, s.Subflow.RemoteID)
		}
		b := recs[s.ID.Cookie]
		if b == nil {
			b = &bpfStats{}
			problems = append(problems, fmt.Errorf("no BPF records for subflow %s -> %s (cookie %d)", s.ID.Src, s.ID.Dst, s.ID.Cookie))
		}
		if s.Info == nil || s.Info.BytesAcked < 1<<20 {
			problems = append(problems, fmt.Errorf("subflow %s -> %s carried less than 1 MiB", s.ID.Src, s.ID.Dst))
		}
		var acked uint64
		var rtt, cwnd uint32
		if s.Info != nil {
			acked, rtt, cwnd = s.Info.BytesAcked, s.Info.RTT, s.Info.SndCwnd
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%dus\t%d\t%d\t%s\t%dus\t%d\t\n",
			path, s.ID.Src, s.ID.Dst, ids, human(acked), rtt, cwnd,
			b.records, human(b.maxAck), b.last.SRTTUs, b.last.SndCwnd)
	}
	tw.Flush()
	if len(paths) != len(topo.Paths) {
		problems = append(problems, fmt.Errorf("subflows use %d of %d paths", len(paths), len(topo.Paths)))
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("demo check failed:\n%w", err)
	}
	fmt.Fprintf(w, "\nOK: one subflow per path, each carrying data, each seen by BPF\n")
	return nil
}

func human(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%dB", b)
}
