package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// testFlags mirrors the kinds of flags "run" has.
func testFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.String("policy", "fullmesh", "subflow policy")
	fs.Bool("bpf", true, "load the BPF programs")
	fs.Duration("diag-interval", time.Second, "poll period")
	fs.Int("event-buffer", 8<<20, "receive buffer, bytes")
	fs.Int64("record-limit", 1<<30, "record bytes")
	fs.Float64("loss-ratio", 0.05, "loss ratio")
	fs.Uint16("port", 0, "port")
	fs.StringSlice("backup-interfaces", nil, "backup interfaces")
	fs.StringArray("optimizer-arg", nil, "optimizer argument")
	fs.String("record", "", "record directory")
	fs.String("config", "", "config file")
	return fs
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mptcp-bpf-pm.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRoundTrip(t *testing.T) {
	src := testFlags()
	src.Set("policy", "backup")
	src.Set("bpf", "false")
	src.Set("diag-interval", "250ms")
	src.Set("backup-interfaces", "wwan0,wlan0")
	src.Set("record", "/var/tmp/run #1 \"quoted\"")
	src.Set("loss-ratio", "0.125")
	src.Set("optimizer-arg", "--gain=1,5")
	src.Set("optimizer-arg", `say "hi"`)
	var b bytes.Buffer
	if err := Write(&b, src); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, b.String())

	dst := testFlags()
	if err := Apply(path, dst); err != nil {
		t.Fatalf("apply written file: %v\n%s", err, b.String())
	}
	src.VisitAll(func(f *pflag.Flag) {
		if Excluded[f.Name] {
			return
		}
		if got, want := flagValue(dst.Lookup(f.Name)), flagValue(f); got != want {
			t.Errorf("%s = %q after round trip, want %q", f.Name, got, want)
		}
	})
}

func TestWriteEveryFlag(t *testing.T) {
	var b bytes.Buffer
	Write(&b, testFlags())
	settings, err := Parse(&b, "written")
	if err != nil {
		t.Fatal(err)
	}
	if len(settings) != 10 {
		t.Errorf("written file has %d settings, want 10 (every flag but config)", len(settings))
	}
}

func TestCommandLineWins(t *testing.T) {
	path := writeFile(t, "policy = backup\ndiag-interval = 2s\n")
	fs := testFlags()
	fs.Parse([]string{"--policy", "ndiffports"})
	if err := Apply(path, fs); err != nil {
		t.Fatal(err)
	}
	if v := fs.Lookup("policy").Value.String(); v != "ndiffports" {
		t.Errorf("policy %q, want the command line's ndiffports", v)
	}
	if v := fs.Lookup("diag-interval").Value.String(); v != "2s" {
		t.Errorf("diag-interval %q, want the file's 2s", v)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"# ok\npolicy = backup\nfoo = 1\n", ":3: unknown key foo"},
		{"diag-interval = fast\n", ":1: invalid value \"fast\" for diag-interval"},
		{"bpf = maybe\n", ":1: invalid value \"maybe\" for bpf"},
		{"event-buffer = 1.5\n", ":1: invalid value \"1.5\" for event-buffer"},
		{"port = 70000\n", ":1: invalid value \"70000\" for port: value out of range"},
		{"\n\npolicy backup\n", ":3: invalid line"},
		{"policy = a\npolicy = b\n", ":2: duplicate key policy: first set at line 1"},
		{"record = \"open\n", ":1: invalid value for record: missing closing quote"},
		{"record = \"a\" b\n", ":1: invalid value for record: unexpected"},
		{"Policy = a\n", ":1: invalid key \"Policy\""},
		{"config = /etc/other\n", ":1: unknown key config"},
	} {
		path := writeFile(t, tc.text)
		_, err := Load(path, testFlags())
		if err == nil || !strings.Contains(err.Error(), path+tc.want) {
			t.Errorf("Load(%q): %v, want %q", tc.text, err, path+tc.want)
		}
		var ce *Error
		if err != nil && !errors.As(err, &ce) {
			t.Errorf("Load(%q) error %T, want *Error", tc.text, err)
		}
	}
}

func TestComments(t *testing.T) {
	path := writeFile(t, "  # comment\n\npolicy = backup # trailing\nrecord = \"a # b\" # c\nbackup-interfaces =\n")
	got, err := Load(path, testFlags())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"policy": "backup", "record": "a # b", "backup-interfaces": ""}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Load = %v, want %v", got, want)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.conf"), testFlags())
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of missing file: %v, want os.ErrNotExist", err)
	}
}

// FuzzRoundTrip checks that any value that Quote writes reads back the
// same.
func FuzzRoundTrip(f *testing.F) {
	for _, v := range []string{"", "a", "a # b", " x ", "\"", "\\n", "é\t"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if strings.ContainsAny(v, "\n\r") && !strings.Contains(Quote(v), "\\") {
			t.Fatalf("Quote(%q) = %q keeps a line break", v, Quote(v))
		}
		settings, err := Parse(strings.NewReader("record = "+Quote(v)+"\n"), "fuzz")
		if err != nil {
			t.Fatalf("Quote(%q) = %q does not parse: %v", v, Quote(v), err)
		}
		if len(settings) != 1 || settings[0].Value != v {
			t.Fatalf("Quote(%q) = %q reads back as %+v", v, Quote(v), settings)
		}
	})
}

func TestEmptyList(t *testing.T) {
	path := writeFile(t, "optimizer-arg =\nbackup-interfaces = \"\"\n")
	fs := testFlags()
	if err := Apply(path, fs); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"optimizer-arg", "backup-interfaces"} {
		if got := fs.Lookup(name).Value.(pflag.SliceValue).GetSlice(); len(got) != 0 {
			t.Errorf("%s = %q from an empty value, want no items", name, got)
		}
	}
}

func TestListReplacesDefault(t *testing.T) {
	path := writeFile(t, "endpoint-flags = signal, backup\n")
	fs := testFlags()
	fs.StringSlice("endpoint-flags", []string{"subflow"}, "endpoint flags")
	if err := Apply(path, fs); err != nil {
		t.Fatal(err)
	}
	got := fs.Lookup("endpoint-flags").Value.(pflag.SliceValue).GetSlice()
	if strings.Join(got, "|") != "signal|backup" {
		t.Errorf("endpoint-flags = %q, want [signal backup]", got)
	}
}
