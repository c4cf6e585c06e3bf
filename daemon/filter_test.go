package daemon

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseFilterMatch(t *testing.T) {
	f, err := ParseFilter([]byte(`[
  {"remote_port": 5201},
  {"local_address": "10.1.0.0/16", "remote_address": "fd00::1"}
]`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		local, remote string
		want          bool
	}{
		{"10.0.0.1:1000", "10.9.0.1:5201", true},
		{"10.0.0.1:1000", "10.9.0.1:80", false},
		{"10.1.2.3:1000", "[fd00::1]:80", true},
		{"10.2.2.3:1000", "[fd00::1]:80", false},
		{"[::ffff:10.0.0.1]:1000", "[::ffff:10.9.0.1]:5201", true},
	} {
		got := f.Match(netip.MustParseAddrPort(tc.local), netip.MustParseAddrPort(tc.remote))
		if got != tc.want {
			t.Errorf("Match(%s, %s) = %v, want %v", tc.local, tc.remote, got, tc.want)
		}
	}
}

func TestNilFilterMatchesAll(t *testing.T) {
	var f *Filter
	if !f.Match(netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2")) {
		t.Error("nil filter rejected a connection")
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, tc := range []struct {
		input, want string
	}{
		{`{"remote_port": 1}`, "1: want a JSON array"},
		{"[\n{\"remote_port\": 1},\n{\"port\": 2}\n]", `3: invalid rule: json: unknown field "port"`},
		{"[\n\n{\"remote_address\": \"10.0.0.300\"}]", "3: invalid remote_address"},
		{"[\n{\"remote_port\": 70000}]", "2: invalid rule"},
		{"[\n{\"remote_port\": 1},\n", "3:"},
		{"[] []", "unexpected data after the array"},
	} {
		_, err := ParseFilter([]byte(tc.input))
		if err == nil {
			t.Errorf("ParseFilter(%q) accepted invalid input", tc.input)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseFilter(%q) error = %q, want %q", tc.input, err, tc.want)
		}
	}
}
