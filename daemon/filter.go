package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
)

// FilterRule selects connections by their initial subflow. Every field is
// optional and a rule matches when all of its given fields match.
// Addresses are an IP address or a prefix in CIDR form.
type FilterRule struct {
	LocalAddress  string `json:"local_address,omitempty"`
	LocalPort     uint16 `json:"local_port,omitempty"`
	RemoteAddress string `json:"remote_address,omitempty"`
	RemotePort    uint16 `json:"remote_port,omitempty"`

	local, remote netip.Prefix
}

// Filter is the set of connections the daemon manages: those matching any
// rule. A nil *Filter matches every connection.
type Filter struct {
	Rules []FilterRule
}

// LoadFilter reads a JSON array of FilterRule objects from path. Errors
// name the file, the line and the reason.
func LoadFilter(path string) (*Filter, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read filter file: %w", err)
	}
	f, err := ParseFilter(b)
	if err != nil {
		return nil, fmt.Errorf("filter file %s:%w", path, err)
	}
	return f, nil
}

// ParseFilter parses the contents of a filter file. The error starts with
// the line number, such as "3: unknown field \"port\"".
func ParseFilter(b []byte) (*Filter, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("%d: want a JSON array of rules such as [{\"remote_port\": 5201}]", lineAt(b, dec.InputOffset()))
	}
	f := &Filter{}
	for dec.More() {
		start := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, decodeError(b, dec, err)
		}
		// The rule starts after the separators that follow start.
		rest := b[start:]
		skipped := len(rest) - len(bytes.TrimLeft(rest, " \t\r\n,"))
		line := lineAt(b, start+int64(skipped))
		rule, err := parseRule(raw)
		if err != nil {
			return nil, fmt.Errorf("%d: %w", line, err)
		}
		f.Rules = append(f.Rules, rule)
	}
	if _, err := dec.Token(); err != nil {
		return nil, decodeError(b, dec, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%d: unexpected data after the array", lineAt(b, dec.InputOffset()))
	}
	return f, nil
}

func parseRule(raw json.RawMessage) (FilterRule, error) {
	var r FilterRule
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("invalid rule: %w (fields: local_address, local_port, remote_address, remote_port)", err)
	}
	var err error
	if r.local, err = parsePrefix(r.LocalAddress); err != nil {
		return r, fmt.Errorf("invalid local_address: %w", err)
	}
	if r.remote, err = parsePrefix(r.RemoteAddress); err != nil {
		return r, fmt.Errorf("invalid remote_address: %w", err)
	}
	return r, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// decodeError turns a JSON decoding error into "LINE: reason".
func decodeError(b []byte, dec *json.Decoder, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%d: unexpected end of file: the array is not closed with ]", lineAt(b, int64(len(b))))
	}
	return fmt.Errorf("%d: %w", lineAt(b, errOffset(err, dec.InputOffset())), err)
}

func errOffset(err error, fallback int64) int64 {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return syn.Offset
	}
	return fallback
}

func lineAt(b []byte, offset int64) int {
	if offset > int64(len(b)) {
		offset = int64(len(b))
	}
	return bytes.Count(b[:offset], []byte("\n")) + 1
}

// Match reports whether the daemon manages a connection whose initial
// subflow joins local and remote.
func (f *Filter) Match(local, remote netip.AddrPort) bool {
	if f == nil {
		return true
	}
	for _, r := range f.Rules {
		if r.match(unmapAddrPort(local), unmapAddrPort(remote)) {
			return true
		}
	}
	return false
}

func (r *FilterRule) match(local, remote netip.AddrPort) bool {
	if r.local.IsValid() && !r.local.Contains(local.Addr()) {
		return false
	}
	if r.remote.IsValid() && !r.remote.Contains(remote.Addr()) {
		return false
	}
	if r.LocalPort != 0 && r.LocalPort != local.Port() {
		return false
	}
	return r.RemotePort == 0 || r.RemotePort == remote.Port()
}
