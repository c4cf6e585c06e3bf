package config

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// Setting is one "key = value" line.
type Setting struct {
	Key   string
	Value string
	Line  int // 1-based line number
}

// Error is a problem at one line of a file.
type Error struct {
	File   string
	Line   int
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
}

// maxLine bounds one line, in bytes.
const maxLine = 64 << 10

// Parse reads settings from r; name is the file name for errors. It checks
// the syntax only: see Check for keys and values.
func Parse(r io.Reader, name string) ([]Setting, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	var out []Setting
	seen := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		s, ok, reason := parseLine(sc.Text())
		if reason != "" {
			return nil, &Error{File: name, Line: n, Reason: reason}
		}
		if !ok {
			continue
		}
		if first, dup := seen[s.Key]; dup {
			return nil, &Error{File: name, Line: n,
				Reason: fmt.Sprintf("duplicate key %s: first set at line %d", s.Key, first)}
		}
		seen[s.Key] = n
		s.Line = n
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

// parseLine returns the setting of one line, ok false for a blank or
// comment line, or the reason the line is invalid.
func parseLine(line string) (s Setting, ok bool, reason string) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return s, false, ""
	}
	key, value, found := strings.Cut(line, "=")
	if !found {
		return s, false, fmt.Sprintf("invalid line %q: want key = value", line)
	}
	key = strings.TrimSpace(key)
	if !validKey(key) {
		return s, false, fmt.Sprintf("invalid key %q: want a flag name such as diag-interval", key)
	}
	value, reason = parseValue(strings.TrimSpace(value))
	if reason != "" {
		return s, false, fmt.Sprintf("invalid value for %s: %s", key, reason)
	}
	return Setting{Key: key, Value: value}, true, ""
}

func validKey(k string) bool {
	if k == "" || k[0] == '-' {
		return false
	}
	for _, r := range k {
		if r != '-' && r != '_' && !unicode.IsLower(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// parseValue unquotes a quoted value, or cuts the comment off an unquoted
// one.
func parseValue(v string) (string, string) {
	if strings.HasPrefix(v, `"`) {
		end := closingQuote(v)
		if end < 0 {
			return "", "missing closing quote"
		}
		rest := strings.TrimSpace(v[end+1:])
		if rest != "" && rest[0] != '#' {
			return "", fmt.Sprintf("unexpected %q after the quoted value", rest)
		}
		u, err := strconv.Unquote(v[:end+1])
		if err != nil {
			return "", "invalid quoted string: " + err.Error()
		}
		return u, ""
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	return v, ""
}

// closingQuote returns the index of the quote that ends the string
// literal at the start of v, or -1.
func closingQuote(v string) int {
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// Quote returns v as it must appear in a file: unchanged when it reads
// back the same, else as a quoted string.
func Quote(v string) string {
	if v == "" || strings.ContainsAny(v, "#\"\\\n\r\t") || strings.TrimSpace(v) != v {
		return strconv.Quote(v)
	}
	return v
}

// ReadFile parses the file at path.
func ReadFile(path string) ([]Setting, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open config file: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}
