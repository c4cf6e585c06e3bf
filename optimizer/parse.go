package optimizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// parse decodes stdout as a JSON array of want caps.
func (r *Runner) parse(out *headBuffer, want int) ([]uint32, error) {
	raw, err := decodeArray(out)
	if err != nil {
		head := out.buf[:min(len(out.buf), headLen)]
		return nil, &OutputError{Program: r.Program, Head: string(head),
			Err: err}
	}
	if len(raw) != want {
		return nil, &CountError{Program: r.Program, Got: len(raw),
			Want: want}
	}

	caps := make([]uint32, len(raw))
	limit := r.maxCap()
	for i, v := range raw {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil || n > uint64(limit) {
			return nil, &CapError{Program: r.Program, Index: i,
				Value: string(v), Max: limit}
		}
		caps[i] = uint32(n)
	}
	return caps, nil
}

// decodeArray returns the values of the one JSON array in out, as their
// JSON text without surrounding whitespace.
func decodeArray(out *headBuffer) ([]json.RawMessage, error) {
	if out.dropped > 0 {
		return nil, fmt.Errorf("output exceeds %d bytes", MaxOutput)
	}
	b := bytes.TrimSpace(out.buf)
	if len(b) == 0 {
		return nil, errors.New("empty output")
	}
	if b[0] != '[' {
		return nil, errors.New("output is not a JSON array")
	}

	dec := json.NewDecoder(bytes.NewReader(b))
	var raw []json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("parse JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON array")
	}
	for i := range raw {
		raw[i] = bytes.TrimSpace(raw[i])
	}
	return raw, nil
}
