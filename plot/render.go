package plot

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Palette holds the series colours, in subflow order; it repeats past
// its length.
var Palette = []color.RGBA{
	{31, 119, 180, 255},  // blue
	{255, 127, 14, 255},  // orange
	{44, 160, 44, 255},   // green
	{214, 39, 40, 255},   // red
	{148, 103, 189, 255}, // purple
	{140, 86, 75, 255},   // brown
	{227, 119, 194, 255}, // pink
	{188, 189, 34, 255},  // olive
}

// EventColor is the colour of event lines and labels.
var EventColor = color.RGBA{110, 110, 110, 255}

// Figure sizes and PNG resolution.
const (
	figWidth  = 10 * vg.Inch
	figHeight = 5 * vg.Inch
	pngDPI    = 120
)

// figure is one chart before rendering.
type figure struct {
	name   string // file stem, such as "throughput"
	title  string
	ylabel string
	lines  [][]Point // one per series, in Palette order
}

// newPlot draws the series and markers of f.
func newPlot(f figure, names []string, markers []Marker) (*gplot.Plot, error) {
	p := gplot.New()
	p.Title.Text = f.title
	p.X.Label.Text = "time since start (s)"
	p.Y.Label.Text = f.ylabel
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	// The legend sits in the top left, past the labels of markers at
	// the start, over headroom added above the data.
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(24)
	for i, pts := range f.lines {
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys(pts))
		if err != nil {
			return nil, fmt.Errorf("%s series %q: %w", f.name, names[i], err)
		}
		l.Color = Palette[i%len(Palette)]
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(names[i], l)
	}
	p.Y.Max *= 1.3
	if err := addMarkers(p, markers); err != nil {
		return nil, err
	}
	return p, nil
}

func xys(pts []Point) plotter.XYs {
	out := make(plotter.XYs, len(pts))
	for i, p := range pts {
		out[i] = plotter.XY{X: p.X, Y: p.Y}
	}
	return out
}

// addMarkers draws a dashed vertical line and a rotated label per marker,
// spanning the data's y range.
func addMarkers(p *gplot.Plot, markers []Marker) error {
	if len(markers) == 0 {
		return nil
	}
	top := p.Y.Max
	if top <= p.Y.Min {
		top = p.Y.Min + 1
	}
	var labels plotter.XYLabels
	for _, m := range markers {
		l, err := plotter.NewLine(plotter.XYs{{X: m.X, Y: p.Y.Min}, {X: m.X, Y: top}})
		if err != nil {
			return err
		}
		l.Color = EventColor
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		l.Width = vg.Points(0.8)
		p.Add(l)
		labels.XYs = append(labels.XYs, plotter.XY{X: m.X, Y: top})
		labels.Labels = append(labels.Labels, m.Label)
	}
	lab, err := plotter.NewLabels(labels)
	if err != nil {
		return err
	}
	for i := range lab.TextStyle {
		lab.TextStyle[i].Color = EventColor
		lab.TextStyle[i].Rotation = math.Pi / 2
		lab.TextStyle[i].XAlign = draw.XRight
		lab.TextStyle[i].Font.Size = vg.Points(8)
		lab.Offset = vg.Point{X: vg.Points(-3), Y: vg.Points(-4)}
	}
	p.Add(lab)
	return nil
}

// save writes p as NAME.png and NAME.svg into dir.
func save(p *gplot.Plot, dir, name string) error {
	img := vgimg.NewWith(vgimg.UseWH(figWidth, figHeight), vgimg.UseDPI(pngDPI))
	p.Draw(draw.New(img))
	if err := writeTo(filepath.Join(dir, name+".png"), vgimg.PngCanvas{Canvas: img}); err != nil {
		return err
	}
	svg := vgsvg.New(figWidth, figHeight)
	p.Draw(draw.New(svg))
	return writeTo(filepath.Join(dir, name+".svg"), svg)
}

type writerTo interface {
	WriteTo(w io.Writer) (int64, error)
}

func writeTo(path string, wt writerTo) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create figure: %w", err)
	}
	if _, err := wt.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
