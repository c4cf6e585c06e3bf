package bpf

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "capture testdata/records.bin from the running kernel and rewrite testdata/records.golden")

const (
	goldenBin  = "testdata/records.bin"
	goldenText = "testdata/records.golden"
)

// formatRecord prints every field of r on one line.
func formatRecord(r *Record) string {
	return fmt.Sprintf("%+v", *r)
}

// TestDecodeGolden decodes raw samples captured from this project's
// kernel (Linux 6.18, x86-64) and compares them with the text
// rewritten by -update.
func TestDecodeGolden(t *testing.T) {
	if *update {
		captureGolden(t)
	}
	raw, err := os.ReadFile(goldenBin)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(goldenText)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, sample := range splitSamples(raw) {
		var r Record
		if err := r.UnmarshalBinary(sample); err != nil {
			t.Fatal(err)
		}
		got.WriteString(formatRecord(&r) + "\n")
	}
	if got.String() != string(want) {
		t.Errorf("decoded records differ from %s:\n got %s\nwant %s", goldenText, got.String(), want)
	}
}

func splitSamples(raw []byte) [][]byte {
	var samples [][]byte
	for len(raw) >= recordSize {
		samples = append(samples, raw[:recordSize])
		raw = raw[recordSize:]
	}
	return samples
}

// captureGolden records the raw samples of a short MPTCP transfer over
// IPv4 and one over IPv6.
func captureGolden(t *testing.T) {
	var samples [][]byte
	for _, ipv6 := range []bool{false, true} {
		lab := newKernelLabFamily(t, ipv6)
		tr := loadTracer(t, Options{NetNSInode: nsInode(t, lab.Client)})
		c := dial(t, lab, listen(t, lab, 5207))
		send(t, c, 1<<20)
		waitSubflows(t, lab, 2)
		send(t, c, 1<<20)
		c.Close()
		time.Sleep(300 * time.Millisecond)
		samples = append(samples, readRawSamples(t, tr)...)
	}

	var raw, text bytes.Buffer
	for _, sample := range samples {
		var r Record
		if err := r.UnmarshalBinary(sample); err != nil {
			t.Fatal(err)
		}
		raw.Write(sample[:recordSize])
		text.WriteString(formatRecord(&r) + "\n")
	}
	if raw.Len() == 0 {
		t.Fatal("no record captured")
	}
	if err := os.WriteFile(goldenBin, raw.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenText, text.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readRawSamples returns the samples queued in the ring buffer.
func readRawSamples(t *testing.T, tr *Tracer) [][]byte {
	t.Helper()
	var samples [][]byte
	tr.rd.SetDeadline(time.Now().Add(10 * time.Millisecond))
	for {
		rec, err := tr.rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return samples
		}
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, rec.RawSample)
	}
}

// FuzzDecode checks that UnmarshalBinary never panics and that what it decodes
// encodes back to the same record.
func FuzzDecode(f *testing.F) {
	raw, err := os.ReadFile(goldenBin)
	if err != nil {
		f.Fatal(err)
	}
	for _, sample := range splitSamples(raw) {
		f.Add(sample)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if r.UnmarshalBinary(b) != nil {
			return
		}
		var again Record
		if err := again.UnmarshalBinary(encodeRecord(&r)); err != nil {
			t.Fatal(err)
		}
		if again != r {
			t.Errorf("round trip:\n got %+v\nwant %+v", again, r)
		}
	})
}
