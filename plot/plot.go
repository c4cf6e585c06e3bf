package plot

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Figures are the file stems Render writes, each as .png and .svg.
var Figures = []string{"throughput", "srtt", "cwnd"}

// Result describes what Render wrote.
type Result struct {
	Dir      string
	Files    []string // file names inside Dir
	Subflows []Series
	Markers  []Marker
}

// Render writes the figures of r and index.html into dir, which it
// creates.
func Render(r *Run, dir string) (*Result, error) {
	subs := r.Subflows()
	if len(subs) == 0 {
		return nil, errors.New("no statistics samples in the run: was any MPTCP connection open while it recorded?")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	res := &Result{Dir: dir, Subflows: subs, Markers: r.Markers()}
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.Name
	}
	for _, f := range figures(r, subs) {
		p, err := newPlot(f, names, res.Markers)
		if err != nil {
			return nil, err
		}
		if err := save(p, dir, f.name); err != nil {
			return nil, err
		}
		res.Files = append(res.Files, f.name+".png", f.name+".svg")
	}
	if err := writeHTML(r, res); err != nil {
		return nil, err
	}
	res.Files = append(res.Files, "index.html")
	return res, nil
}

func figures(r *Run, subs []Series) []figure {
	bin := BinWidth(r.Duration())
	tp := figure{name: "throughput", ylabel: "Mbit/s",
		title: fmt.Sprintf("Throughput per subflow (acknowledged bytes, %v bins)", bin)}
	rtt := figure{name: "srtt", title: "Smoothed RTT per subflow", ylabel: "ms"}
	cw := figure{name: "cwnd", title: "Congestion window per subflow", ylabel: "segments"}
	for _, s := range subs {
		tp.lines = append(tp.lines, Throughput(s, r.Start, bin))
		rtt.lines = append(rtt.lines, Values(s, r.Start, SRTTMillis))
		cw.lines = append(cw.lines, Values(s, r.Start, Cwnd))
	}
	return []figure{tp, rtt, cw}
}

// offset formats t as seconds since the run's start.
func offset(r *Run, t time.Time) string {
	return fmt.Sprintf("%.3f s", t.Sub(r.Start).Seconds())
}
