package plot

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Sample is the part of a stats.jsonl line that the figures use.
type Sample struct {
	Time   time.Time `json:"time"`
	Source string    `json:"source"` // "bpf" or "diag"
	// KernelTimeNs is CLOCK_MONOTONIC of a BPF sample, in ns.
	KernelTimeNs uint64 `json:"ktime_ns"`
	Token        uint32 `json:"token"`
	Cookie       uint64 `json:"cookie"`
	Local        string `json:"local"`
	Remote       string `json:"remote"`
	LocalID      int    `json:"local_id"`
	RemoteID     int    `json:"remote_id"`
	Backup       bool   `json:"backup"`
	SRTTUs       uint32 `json:"srtt_us"`
	SndCwnd      uint32 `json:"snd_cwnd"`
	BytesAcked   uint64 `json:"bytes_acked"`
}

// Event is the part of an events.jsonl line that the figures use.
type Event struct {
	Time     time.Time `json:"time"`
	Type     string    `json:"type"`
	Token    uint32    `json:"token"`
	Local    string    `json:"local"`
	Remote   string    `json:"remote"`
	LocalID  *uint8    `json:"local_id"`
	RemoteID *uint8    `json:"remote_id"`
	Backup   bool      `json:"backup"`
	Error    uint8     `json:"error"`
	Result   string    `json:"result"`
}

// Run is a recorded run.
type Run struct {
	Dir   string
	Meta  map[string]any
	Start time.Time // meta.json start_time, else the first sample
	Stats []Sample
	Evts  []Event
}

// Load reads meta.json, stats.jsonl and events.jsonl from dir. A last
// line cut short, as when the recording stopped at its size limit, is
// skipped. Any other malformed line is an error naming file and line.
func Load(dir string) (*Run, error) {
	r := &Run{Dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, fmt.Errorf("read run metadata: %w (is %s a directory written by run --record?)", err, dir)
	}
	if err := json.Unmarshal(b, &r.Meta); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", filepath.Join(dir, "meta.json"), err)
	}
	if s, ok := r.Meta["start_time"].(string); ok {
		r.Start, _ = time.Parse(time.RFC3339Nano, s)
	}
	if r.Stats, err = readJSONL[Sample](filepath.Join(dir, "stats.jsonl")); err != nil {
		return nil, err
	}
	if r.Evts, err = readJSONL[Event](filepath.Join(dir, "events.jsonl")); err != nil {
		return nil, err
	}
	kernelTimes(r.Stats)
	if r.Start.IsZero() && len(r.Stats) > 0 {
		r.Start = r.Stats[0].Time
	}
	return r, nil
}

func readJSONL[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var out []T
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			var v T
			if jerr := json.Unmarshal(line, &v); jerr != nil {
				if errors.Is(err, io.EOF) {
					return out, nil // cut short by the recorder
				}
				return nil, fmt.Errorf("%s:%d: invalid line: %w", path, n, jerr)
			}
			out = append(out, v)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
}

// kernelTimes replaces the Time of BPF samples, which is when the daemon
// read them from the ring buffer in bursts, by their kernel timestamp on
// the wall clock. The clock offset is the smallest difference between the
// two times over the run, that of the sample read soonest after it was
// written.
func kernelTimes(ss []Sample) {
	var offset int64
	found := false
	for _, s := range ss {
		if s.Source != "bpf" || s.KernelTimeNs == 0 {
			continue
		}
		d := s.Time.UnixNano() - int64(s.KernelTimeNs)
		if !found || d < offset {
			offset, found = d, true
		}
	}
	if !found {
		return
	}
	for i := range ss {
		if ss[i].Source == "bpf" && ss[i].KernelTimeNs != 0 {
			ss[i].Time = time.Unix(0, int64(ss[i].KernelTimeNs)+offset).UTC()
		}
	}
}
