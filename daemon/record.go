package daemon

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Recorder files inside the --record directory.
const (
	recordMetaFile   = "meta.json"
	recordStatsFile  = "stats.jsonl"
	recordEventsFile = "events.jsonl"
)

// recorder writes JSON Lines time series of statistics and events. It
// stops writing, once, when the total size reaches its bound.
type recorder struct {
	mu      sync.Mutex
	stats   *jsonlFile
	events  *jsonlFile
	limit   int64
	written int64
	full    bool
	onFull  func(limit int64)
}

type jsonlFile struct {
	f *os.File
	w *bufio.Writer
}

func openJSONL(path string) (*jsonlFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return &jsonlFile{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// newRecorder creates dir, writes meta.json and opens the series files.
// limit is the maximum number of bytes of series data; 0 means no limit.
func newRecorder(dir string, meta any, limit int64, onFull func(int64)) (*recorder, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create record directory: %w", err)
	}
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode run metadata: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, recordMetaFile), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("write run metadata: %w", err)
	}
	r := &recorder{limit: limit, onFull: onFull}
	if r.stats, err = openJSONL(filepath.Join(dir, recordStatsFile)); err != nil {
		return nil, fmt.Errorf("open statistics file: %w", err)
	}
	if r.events, err = openJSONL(filepath.Join(dir, recordEventsFile)); err != nil {
		r.stats.f.Close()
		return nil, fmt.Errorf("open events file: %w", err)
	}
	return r, nil
}

func (r *recorder) write(f *jsonlFile, v any) {
	if r == nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.full {
		return
	}
	if r.limit > 0 && r.written+int64(len(b))+1 > r.limit {
		r.full = true
		if r.onFull != nil {
			r.onFull(r.limit)
		}
		return
	}
	r.written += int64(len(b)) + 1
	f.w.Write(b)
	f.w.WriteByte('\n')
}

// stat records one statistics sample of one subflow.
func (r *recorder) stat(v any) {
	if r != nil {
		r.write(r.stats, v)
	}
}

// event records one path-manager event or daemon action.
func (r *recorder) event(v any) {
	if r != nil {
		r.write(r.events, v)
	}
}

// flush writes buffered lines to the files.
func (r *recorder) flush() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.stats.w.Flush(); err != nil {
		return err
	}
	return r.events.w.Flush()
}

// close flushes and closes both files.
func (r *recorder) close() error {
	if r == nil {
		return nil
	}
	err := r.flush()
	r.stats.f.Close()
	r.events.f.Close()
	return err
}

// timestamp formats t for the series files: RFC 3339 with nanoseconds.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
