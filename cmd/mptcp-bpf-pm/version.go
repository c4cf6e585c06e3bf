package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// version is set at link time with -ldflags "-X main.version=v1.2.3"; when
// empty, the module version from the build information is used.
var version string

var versionFlags struct{ json bool }

var versionCmd = &cobra.Command{
	Use:   "version",
	Short: "Print the version, build information and kernel release",
	Long: `Print the version of mptcp-bpf-pm, the source revision and time it was
built from and whether the tree had local changes (when built from a git
checkout with VCS stamping on), the Go version and platform, and the
release of the running kernel.`,
	Args: usageArgs(cobra.NoArgs),
	RunE: func(cmd *cobra.Command, _ []string) error {
		info := readBuildInfo()
		if versionFlags.json {
			return writeJSON(cmd.OutOrStdout(), info)
		}
		return writeVersion(cmd.OutOrStdout(), info)
	},
}

func init() {
	versionCmd.Flags().BoolVar(&versionFlags.json, "json", false, "print the build information as JSON")
	rootCmd.AddCommand(versionCmd)
}

// buildInfo is the output of the version command.
type buildInfo struct {
	Version  string `json:"version"`
	Module   string `json:"module"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
	Kernel   string `json:"kernel"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{
		Version:  "(devel)",
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
		Kernel:   kernelRelease(),
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		b.Module = bi.Main.Path
		if bi.Main.Version != "" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.time":
				b.Time = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if version != "" {
		b.Version = version
	}
	return b
}

// kernelRelease returns uname -r, or "unknown".
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// versionString is the one-line version, as in "mptcp-bpf-pm --version".
func versionString() string {
	b := readBuildInfo()
	s := b.Version
	if b.Revision != "" {
		s += " (" + shortRevision(b) + ")"
	}
	return s
}

func shortRevision(b buildInfo) string {
	r := b.Revision
	if len(r) > 12 {
		r = r[:12]
	}
	if b.Modified {
		r += "-dirty"
	}
	return r
}

func writeVersion(w io.Writer, b buildInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	revision, built := "unknown (built without VCS stamping)", "unknown"
	if b.Revision != "" {
		revision = shortRevision(b)
	}
	if b.Time != "" {
		built = b.Time
	}
	fmt.Fprintf(tw, "mptcp-bpf-pm\t%s\n", b.Version)
	fmt.Fprintf(tw, "module\t%s\n", b.Module)
	fmt.Fprintf(tw, "revision\t%s\n", revision)
	fmt.Fprintf(tw, "commit time\t%s\n", built)
	fmt.Fprintf(tw, "go\t%s %s\n", b.Go, b.Platform)
	fmt.Fprintf(tw, "kernel\t%s\n", b.Kernel)
	return tw.Flush()
}
