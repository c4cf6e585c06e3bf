package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/config"
)

// execute runs the root command with args and returns its standard output.
func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetArgs(args)
	defer func() {
		rootCmd.SetOut(nil)
		rootCmd.SetArgs(nil)
	}()
	err := rootCmd.Execute()
	return out.String(), err
}

func TestVersionJSON(t *testing.T) {
	out, err := execute(t, "version", "--json")
	versionFlags.json = false
	if err != nil {
		t.Fatal(err)
	}
	var b buildInfo
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	if b.Kernel != kernelRelease() || b.Kernel == "unknown" {
		t.Errorf("kernel %q, want this machine's release", b.Kernel)
	}
	if b.Module != "github.com/mptcp-bpf-pm/mptcp-bpf-pm" {
		t.Errorf("module %q", b.Module)
	}
}

func TestVersionText(t *testing.T) {
	version = "v9.9.9"
	defer func() { version = "" }()
	out, err := execute(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "mptcp-bpf-pm  v9.9.9\n") {
		t.Errorf("version output starts %q, want the -X version", out)
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "complete -o default -F __start_mptcp-bpf-pm mptcp-bpf-pm",
		"zsh":  "#compdef mptcp-bpf-pm",
		"fish": "complete -c mptcp-bpf-pm",
	} {
		out, err := execute(t, "completion", shell)
		if err != nil {
			t.Fatalf("%s: %v", shell, err)
		}
		if !strings.Contains(out, want) {
			t.Errorf("%s completion lacks %q", shell, want)
		}
	}
	_, err := execute(t, "completion", "ksh")
	var ue usageError
	if !asUsage(err, &ue) {
		t.Errorf("completion ksh: %v, want a usage error", err)
	}
}

func TestDocsMan(t *testing.T) {
	dir := t.TempDir()
	if _, err := execute(t, "docs", "man", dir); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"mptcp-bpf-pm.8", "mptcp-bpf-pm-run.8", "mptcp-bpf-pm-top.8",
		"mptcp-bpf-pm-plot.8", "mptcp-bpf-pm-ctl-connections.8"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Errorf("man page %s: %v", page, err)
			continue
		}
		if !bytes.Contains(b, []byte(".TH \"MPTCP-BPF-PM\" \"8\"")) {
			t.Errorf("%s lacks the .TH header", page)
		}
	}
}

func TestDocsMarkdown(t *testing.T) {
	dir := t.TempDir()
	if _, err := execute(t, "docs", "markdown", dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "mptcp-bpf-pm_top.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("--interval")) {
		t.Error("top page lacks --interval")
	}
}

// TestDocsConfigRoundTrip checks that the generated config file sets
// every flag of run and reads back with the defaults.
func TestDocsConfigRoundTrip(t *testing.T) {
	out, err := execute(t, "docs", "config")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mptcp-bpf-pm.conf")
	os.WriteFile(path, []byte(out), 0o644)
	fs := runFlagSet()
	got, err := config.Load(path, fs)
	if err != nil {
		t.Fatalf("load generated config: %v", err)
	}
	runCmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if config.Excluded[f.Name] {
			return
		}
		v, ok := got[f.Name]
		if !ok {
			t.Errorf("generated config lacks %s", f.Name)
			return
		}
		if want := flagText(f); v != want {
			t.Errorf("%s = %q in generated config, want default %q", f.Name, v, want)
		}
	})
}

func flagText(f *pflag.Flag) string {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return strings.Join(sv.GetSlice(), ",")
	}
	return f.Value.String()
}

// TestPackagedConfig checks that the example config file shipped in
// packaging/ is what "docs config" prints, so that it has every flag.
func TestPackagedConfig(t *testing.T) {
	want, err := execute(t, "docs", "config")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../packaging/mptcp-bpf-pm.conf")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Error("packaging/mptcp-bpf-pm.conf is out of date: regenerate it with " +
			"go run ./cmd/mptcp-bpf-pm docs config > packaging/mptcp-bpf-pm.conf")
	}
}

// TestHelpWidth checks that the help of these commands fits 80 columns.
func TestHelpWidth(t *testing.T) {
	for _, args := range [][]string{
		{"top"}, {"plot"}, {"ctl"}, {"ctl", "status"}, {"ctl", "connections"},
		{"ctl", "subflow"}, {"version"}, {"docs"}, {"docs", "man"}, {"completion"},
	} {
		out, err := execute(t, append(args, "--help")...)
		if err != nil {
			t.Fatalf("%v --help: %v", args, err)
		}
		// The flag keeps its value in the package's command tree.
		if cmd, _, err := rootCmd.Find(args); err == nil {
			cmd.Flags().Set("help", "false")
		}
		for i, line := range strings.Split(out, "\n") {
			if n := len([]rune(line)); n > 80 {
				t.Errorf("%v --help line %d has %d columns: %q", args, i+1, n, line)
			}
		}
	}
}
