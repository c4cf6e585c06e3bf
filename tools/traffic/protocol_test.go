package main

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestHeaderRoundTrip(t *testing.T) {
	want := Header{Mode: ModeRR, Request: 100, Response: 70000}
	b, err := want.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Header
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("decoded %+v, want %+v", got, want)
	}
}

func TestHeaderInvalid(t *testing.T) {
	for _, h := range []Header{
		{Mode: 0},
		{Mode: 9},
		{Mode: ModeRR, Request: 0, Response: 1},
		{Mode: ModeRR, Request: 1, Response: maxMessage + 1},
	} {
		if _, err := h.MarshalBinary(); err == nil {
			t.Errorf("MarshalBinary(%+v) = nil error, want error", h)
		}
	}
}

func TestReadHeaderEcho(t *testing.T) {
	_, early, err := readHeader(bytes.NewReader([]byte("hello\n")))
	if !errors.Is(err, errNoHeader) {
		t.Fatalf("err = %v, want errNoHeader", err)
	}
	if string(early) != "hello\n" {
		t.Errorf("early bytes = %q, want %q", early, "hello\n")
	}
}

func TestReadHeaderShort(t *testing.T) {
	_, _, err := readHeader(bytes.NewReader(magic[:3]))
	if !errors.Is(err, io.EOF) {
		t.Errorf("err = %v, want io.EOF", err)
	}
}

// slowReader returns one byte per Read, like a header split over many
// segments.
type slowReader struct{ b []byte }

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	p[0], r.b = r.b[0], r.b[1:]
	return 1, nil
}

func TestReadHeaderSplit(t *testing.T) {
	want := Header{Mode: ModeBulk}
	b, _ := want.MarshalBinary()
	got, early, err := readHeader(&slowReader{b})
	if err != nil {
		t.Fatal(err)
	}
	if got != want || early != nil {
		t.Errorf("readHeader = %+v, %q; want %+v, nil", got, early, want)
	}
}

func FuzzHeader(f *testing.F) {
	for _, h := range []Header{{Mode: ModeBulk},
		{Mode: ModeChurn, Request: 1, Response: 1 << 20}} {
		b, _ := h.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		if h.UnmarshalBinary(b) != nil {
			return
		}
		again, err := h.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", h, err)
		}
		if !bytes.Equal(again, b) {
			t.Errorf("round trip %x, want %x", again, b)
		}
	})
}
