package optimizer

import (
	"encoding/json"
	"slices"
	"testing"
)

// FuzzParse checks that parse never panics, and that caps it accepts
// encode back to JSON that parses to the same caps.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"[0, 40]", " [1]\n", "[]", "[1] x", "[-1]", "[1.5]", "null",
		`{"a":1}`, "[99999999999999999999]", "[1,]", "",
	} {
		f.Add([]byte(s), 2)
	}
	r := &Runner{Program: "fuzz"}
	f.Fuzz(func(t *testing.T, out []byte, want int) {
		if want < 0 || want > 64 {
			return
		}
		buf := &headBuffer{max: MaxOutput}
		_, _ = buf.Write(out)
		caps, err := r.parse(buf, want)
		if err != nil {
			return
		}
		if len(caps) != want {
			t.Fatalf("parse returned %d caps, want %d", len(caps), want)
		}

		b, err := json.Marshal(caps)
		if err != nil {
			t.Fatal(err)
		}
		again, err := r.parse(&headBuffer{buf: b, max: MaxOutput}, want)
		if err != nil {
			t.Fatalf("re-encoded caps %s do not parse: %v", b, err)
		}
		if !slices.Equal(again, caps) {
			t.Fatalf("round trip %v -> %v", caps, again)
		}
	})
}
