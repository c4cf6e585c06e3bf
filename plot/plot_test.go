package plot

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var start = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// writeRun records a synthetic 4-second run into a temporary directory.
// Two subflows acknowledge 10 MB/s (80 Mbit/s) and 5 MB/s (40 Mbit/s),
// sampled every 7 and 11 ms. The second joins at 1 s and turns backup at
// 2 s.
func writeRun(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	meta := map[string]any{"start_time": start.Format(time.RFC3339Nano), "kernel": "6.18", "policy": "fullmesh",
		"options": map[string]any{"record": dir}}
	b, _ := json.Marshal(meta)
	os.WriteFile(filepath.Join(dir, "meta.json"), b, 0o644)

	var stats []any
	add := func(cookie uint64, local string, id int, rate float64, from, step time.Duration) {
		for at := from; at <= 4*time.Second; at += step {
			stats = append(stats, map[string]any{
				"time": start.Add(at).Format(time.RFC3339Nano), "source": "bpf",
				"ktime_ns": uint64(at) + 1e9, "token": 7, "cookie": cookie,
				"local": local, "remote": "10.200.0.2:5201", "local_id": id, "remote_id": 0,
				"srtt_us": 1000 * (id + 1), "snd_cwnd": 10 * (id + 1),
				"bytes_acked": uint64(rate * (at - from).Seconds()),
			})
		}
	}
	add(1, "10.200.0.1:40000", 0, 10e6, 0, 7*time.Millisecond)
	add(2, "10.200.1.1:40001", 1, 5e6, time.Second, 11*time.Millisecond)
	writeJSONL(t, filepath.Join(dir, "stats.jsonl"), stats)

	one := uint8(1)
	zero := uint8(0)
	events := []any{
		map[string]any{"time": start.Format(time.RFC3339Nano), "type": "created", "token": 7},
		map[string]any{"time": start.Add(time.Second).Format(time.RFC3339Nano), "type": "sf_established",
			"token": 7, "local_id": one, "remote_id": zero},
		map[string]any{"time": start.Add(2 * time.Second).Format(time.RFC3339Nano), "type": "sf_priority",
			"token": 7, "local_id": one, "remote_id": zero, "backup": true},
	}
	writeJSONL(t, filepath.Join(dir, "events.jsonl"), events)
	return dir
}

func writeJSONL(t *testing.T, path string, lines []any) {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		j, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestThroughputValues(t *testing.T) {
	r, err := Load(writeRun(t))
	if err != nil {
		t.Fatal(err)
	}
	subs := r.Subflows()
	if len(subs) != 2 {
		t.Fatalf("%d subflows, want 2", len(subs))
	}
	for i, want := range []float64{80, 40} {
		pts := Throughput(subs[i], r.Start, 100*time.Millisecond)
		if len(pts) < 25 {
			t.Fatalf("subflow %d has %d throughput points, want at least 25", i, len(pts))
		}
		for _, p := range pts[1 : len(pts)-1] {
			if math.Abs(p.Y-want) > 1 {
				t.Errorf("subflow %d at %.2fs: %.2f Mbit/s, want %v", i, p.X, p.Y, want)
				break
			}
		}
	}
}

func TestMarkers(t *testing.T) {
	r, _ := Load(writeRun(t))
	m := r.Markers()
	want := []string{"connection created", "subflow 1/0 up", "subflow 1/0 backup"}
	if len(m) != len(want) {
		t.Fatalf("markers %+v, want %d", m, len(want))
	}
	for i, w := range want {
		if m[i].Label != w {
			t.Errorf("marker %d label %q, want %q", i, m[i].Label, w)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := writeRun(t)
	f, _ := os.OpenFile(filepath.Join(dir, "stats.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"time":"2026-12-04T12:00:05Z","sou`)
	f.Close()
	if _, err := Load(dir); err != nil {
		t.Errorf("Load with a cut last line: %v, want it skipped", err)
	}
	os.WriteFile(filepath.Join(dir, "events.jsonl"), []byte("{}\nnot json\n{}\n"), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "events.jsonl:2:") {
		t.Errorf("Load with a bad line 2: %v, want events.jsonl:2", err)
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Error("Load of an empty directory succeeded")
	}
}

// colorPixels counts the pixels of img within a small distance of c, in
// the plot area right of x0.
func colorPixels(img image.Image, c color.RGBA, x0 int) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := x0; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			d := math.Abs(float64(r>>8)-float64(c.R)) + math.Abs(float64(g>>8)-float64(c.G)) +
				math.Abs(float64(bl>>8)-float64(c.B))
			if d < 40 {
				n++
			}
		}
	}
	return n
}

// CheckPNG decodes a figure and checks that each of n series colours
// draws more than a legend swatch.
func CheckPNG(t *testing.T, path string, n int) {
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
	if w := img.Bounds().Dx(); w < 1000 {
		t.Errorf("%s is %d pixels wide, want at least 1000", path, w)
	}
	// Left of 20% of the width are the axis and the legend.
	x0 := img.Bounds().Dx() / 5
	for i := range n {
		if px := colorPixels(img, Palette[i], x0); px < 300 {
			t.Errorf("%s: series %d colour has %d pixels in the plot area, want at least 300", filepath.Base(path), i, px)
		}
	}
	if px := colorPixels(img, Palette[n], x0); px > 0 {
		t.Errorf("%s: unused series colour %d has %d pixels, want 0", filepath.Base(path), n, px)
	}
}

type svgDoc struct {
	Paths []struct {
		D     string `xml:"d,attr"`
		Style string `xml:"style,attr"`
	} `xml:"path"`
	Texts []string `xml:"text"`
}

// readSVG parses the top-level paths and texts of an SVG figure.
func readSVG(t *testing.T, path string) svgDoc {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var doc svgDoc
	dec := xml.NewDecoder(f)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return doc
		}
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "path":
			var p struct {
				D     string `xml:"d,attr"`
				Style string `xml:"style,attr"`
			}
			dec.DecodeElement(&p, &se)
			doc.Paths = append(doc.Paths, p)
		case "text":
			var s string
			dec.DecodeElement(&s, &se)
			doc.Texts = append(doc.Texts, s)
		}
	}
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("stroke:#%02X%02X%02X", c.R, c.G, c.B) }

// CheckSVG checks that a figure has one data path per series, with many
// points, and a legend entry per name.
func CheckSVG(t *testing.T, path string, names []string, markers int) {
	t.Helper()
	doc := readSVG(t, path)
	for i, name := range names {
		var long int
		for _, p := range doc.Paths {
			if strings.Contains(p.Style, hexColor(Palette[i])) && strings.Count(p.D, "L") >= 10 {
				long++
			}
		}
		if long != 1 {
			t.Errorf("%s: %d data paths in series colour %d, want 1", filepath.Base(path), long, i)
		}
		if !contains(doc.Texts, name) {
			t.Errorf("%s: no legend text %q", filepath.Base(path), name)
		}
	}
	var dashed int
	for _, p := range doc.Paths {
		if strings.Contains(p.Style, hexColor(EventColor)) {
			dashed++
		}
	}
	if dashed != markers {
		t.Errorf("%s: %d event lines, want %d", filepath.Base(path), dashed, markers)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

func TestRender(t *testing.T) {
	dir := writeRun(t)
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Render(r, filepath.Join(dir, "plots"))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"10.200.0.1 -> 10.200.0.2 (0/0)", "10.200.1.1 -> 10.200.0.2 (1/0)"}
	for _, fig := range Figures {
		CheckPNG(t, filepath.Join(res.Dir, fig+".png"), 2)
		CheckSVG(t, filepath.Join(res.Dir, fig+".svg"), names, 3)
	}
	html, err := os.ReadFile(filepath.Join(res.Dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<img src="throughput.svg"`, `<img src="srtt.svg"`, `<img src="cwnd.svg"`,
		"<th>kernel</th><td>6.18</td>", "10.200.1.1 -&gt; 10.200.0.2 (1/0)", "<td>sf_priority</td>",
		"<th>options.record</th>"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
}

func TestRenderEmpty(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "meta.json"), []byte("{}"), 0o644)
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Render(r, filepath.Join(dir, "plots")); err == nil {
		t.Error("Render of a run without samples succeeded")
	}
}
