package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/plot"
)

// TestPlotLab records a real lab transfer with the daemon, plots it and
// checks the content of the figures: one coloured line per subflow in
// every PNG, one data path and one legend entry per subflow in every SVG.
func TestPlotLab(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{ClientPM: "userspace"})
	bin := binary(t)
	runDir := filepath.Join(t.TempDir(), "run")
	d := startLabDaemon(t, lab.Client, bin, "--record", runDir, "--diag-interval", "200ms",
		"--control-socket", "none")
	ctx, cancel := context.WithCancel(context.Background())
	bulkTransfer(ctx, t, lab, 5201)
	conn := waitSubflows(t, lab.Client, 2)
	time.Sleep(2 * time.Second)
	cancel()
	d.stop(t)

	var out bytes.Buffer
	plotCmd.SetOut(&out)
	defer plotCmd.SetOut(nil)
	plotFlags.json = true
	defer func() { plotFlags.json = false }()
	if err := runPlot(plotCmd, []string{runDir}); err != nil {
		t.Fatal(err)
	}
	var res plotOutput
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("decode plot --json: %v", err)
	}
	if len(res.Subflows) != 2 {
		t.Fatalf("plot found subflows %v, want 2", res.Subflows)
	}
	for _, p := range subflowPaths(conn) {
		if !strings.Contains(strings.Join(res.Subflows, "|"), p+" (") {
			t.Errorf("plot subflows %v lack %s", res.Subflows, p)
		}
	}
	var labels []string
	for _, m := range res.Markers {
		labels = append(labels, m.Label)
	}
	for _, want := range []string{"connection created", "subflow 1/0 up"} {
		if !strings.Contains(strings.Join(labels, ", "), want) {
			t.Errorf("event markers %q lack %q", labels, want)
		}
	}
	for _, fig := range plot.Figures {
		checkPNGSeries(t, filepath.Join(res.Dir, fig+".png"), 2)
		checkSVGLegend(t, filepath.Join(res.Dir, fig+".svg"), res.Subflows)
	}
	html, _ := os.ReadFile(filepath.Join(res.Dir, "index.html"))
	if !bytes.Contains(html, []byte("<th>kernel</th><td>"+kernelRelease()+"</td>")) {
		t.Error("index.html lacks the run's kernel release")
	}
}

// checkPNGSeries checks that each of the first n palette colours covers
// more pixels than a legend swatch.
func checkPNGSeries(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	b := img.Bounds()
	for i := range n {
		c := plot.Palette[i]
		count := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				if absDiff(r>>8, c.R)+absDiff(g>>8, c.G)+absDiff(bl>>8, c.B) < 40 {
					count++
				}
			}
		}
		if count < 300 {
			t.Errorf("%s: series %d colour covers %d pixels, want at least 300", filepath.Base(path), i, count)
		}
	}
}

func absDiff(a uint32, b uint8) int {
	d := int(a) - int(b)
	if d < 0 {
		return -d
	}
	return d
}

// checkSVGLegend checks that the SVG has one long path per series colour
// and a text element per subflow name.
func checkSVGLegend(t *testing.T, path string, names []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	texts := map[string]bool{}
	lines := map[string]int{}
	dec := xml.NewDecoder(f)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "text":
			var s string
			dec.DecodeElement(&s, &se)
			texts[strings.TrimSpace(s)] = true
		case "path":
			var p struct {
				D     string `xml:"d,attr"`
				Style string `xml:"style,attr"`
			}
			dec.DecodeElement(&p, &se)
			if strings.Count(p.D, "L") >= 10 {
				lines[p.Style]++
			}
		}
	}
	for i, name := range names {
		if !texts[name] {
			t.Errorf("%s: no legend text %q", filepath.Base(path), name)
		}
		c := plot.Palette[i]
		stroke := fmt.Sprintf("stroke:#%02X%02X%02X", c.R, c.G, c.B)
		n := 0
		for style, k := range lines {
			if strings.Contains(style, stroke) {
				n += k
			}
		}
		if n != 1 {
			t.Errorf("%s: %d data paths in the colour of %s, want 1", filepath.Base(path), n, name)
		}
	}
}
