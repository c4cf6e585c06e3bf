package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/plot"
)

var plotFlags struct {
	out  string
	json bool
}

var plotCmd = &cobra.Command{
	Use:   "plot RUN_DIR",
	Short: "Render a recorded run into PNG and SVG figures and an HTML page",
	Long: `Read a run recorded with "mptcp-bpf-pm run --record RUN_DIR" (meta.json,
stats.jsonl, events.jsonl) and write into RUN_DIR/plots, or --out:

  throughput.png, throughput.svg  acknowledged bytes per subflow, Mbit/s
  srtt.png, srtt.svg              smoothed RTT per subflow, ms
  cwnd.png, cwnd.svg              congestion window per subflow, segments
  index.html                      the figures with the run's metadata,
                                  subflows and events

Dashed vertical lines mark path-manager events: connection created and
closed, subflow up and closed, backup changes and failed subflow requests.
BPF samples are used for a subflow when it has any, else inet_diag
samples. Prints the files written, one per line.`,
	Args: usageArgs(cobra.ExactArgs(1)),
	RunE: runPlot,
}

func init() {
	plotCmd.Flags().StringVarP(&plotFlags.out, "out", "o", "", "output `DIR` (default RUN_DIR/plots)")
	plotCmd.Flags().BoolVar(&plotFlags.json, "json", false, "print the files written and the subflows as JSON")
	rootCmd.AddCommand(plotCmd)
}

// plotOutput is the --json output of plot.
type plotOutput struct {
	Dir      string       `json:"dir"`
	Files    []string     `json:"files"`
	Subflows []string     `json:"subflows"`
	Markers  []plotMarker `json:"markers"`
}

// plotMarker is one event line of the figures.
type plotMarker struct {
	Seconds float64 `json:"seconds"` // since the start of the run
	Label   string  `json:"label"`
}

func runPlot(cmd *cobra.Command, args []string) error {
	run, err := plot.Load(args[0])
	if err != nil {
		return err
	}
	out := plotFlags.out
	if out == "" {
		out = filepath.Join(args[0], "plots")
	}
	res, err := plot.Render(run, out)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if plotFlags.json {
		o := plotOutput{Dir: res.Dir, Files: res.Files, Markers: []plotMarker{}}
		for _, m := range res.Markers {
			o.Markers = append(o.Markers, plotMarker{Seconds: m.X, Label: m.Label})
		}
		for _, s := range res.Subflows {
			o.Subflows = append(o.Subflows, s.Name)
		}
		return writeJSON(w, o)
	}
	for _, f := range res.Files {
		fmt.Fprintln(w, filepath.Join(res.Dir, f))
	}
	return nil
}
