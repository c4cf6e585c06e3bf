package main

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"codeberg.org/go-fonts/liberation/liberationmonoregular"
	"github.com/gdamore/tcell/v2"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/control"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/top"
)

// Cell size and colours of the rendered screenshot.
const (
	cellW, cellH = 9, 18
	fontSize     = 14
)

var (
	screenBG = color.RGBA{30, 30, 30, 255}
	screenFG = color.RGBA{220, 220, 220, 255}
)

// TestTopScreenshot draws the live view of a lab transfer on a simulated
// screen, checks its text, and renders it to PNG. With
// MPTCP_BPF_PM_SCREENSHOT=FILE set, the PNG is kept there for the docs.
func TestTopScreenshot(t *testing.T) {
	_, _, sock, paths := topLab(t)
	if sock == "" {
		t.Fatal("the daemon has no control socket")
	}
	client, err := control.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	screen := tcell.NewSimulationScreen("UTF-8")
	if err := screen.Init(); err != nil {
		t.Fatal(err)
	}
	src := top.DaemonSource{Client: client}
	done := make(chan error, 1)
	go func() {
		done <- top.RunTerminal(context.Background(), src, screen, top.Options{Interval: 250 * time.Millisecond})
	}()
	// The view initialises the screen, which resets its size.
	time.Sleep(200 * time.Millisecond)
	screen.SetSize(100, 7)
	time.Sleep(5 * time.Second)
	text := simText(screen)
	img := renderScreen(t, screen)
	screen.InjectKey(tcell.KeyRune, 'q', tcell.ModNone)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", text)
	for _, p := range paths {
		if !strings.Contains(text, p) {
			t.Errorf("screen lacks subflow %s", p)
		}
	}
	if !strings.Contains(text, "b/s") {
		t.Error("screen shows no send rate")
	}
	out := os.Getenv("MPTCP_BPF_PM_SCREENSHOT")
	if out == "" {
		out = filepath.Join(t.TempDir(), "top.png")
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func simText(s tcell.SimulationScreen) string {
	cells, w, h := s.GetContents()
	var b strings.Builder
	for y := range h {
		var line strings.Builder
		for x := range w {
			r := cells[y*w+x].Runes
			if len(r) == 0 {
				line.WriteByte(' ')
				continue
			}
			line.WriteString(string(r))
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	return b.String()
}

// renderScreen draws the simulated screen's cells with Liberation Mono;
// the block characters of the history are drawn as bars.
func renderScreen(t *testing.T, s tcell.SimulationScreen) *image.RGBA {
	t.Helper()
	ft, err := opentype.Parse(liberationmonoregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	face, err := opentype.NewFace(ft, &opentype.FaceOptions{Size: fontSize, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		t.Fatal(err)
	}
	cells, w, h := s.GetContents()
	img := image.NewRGBA(image.Rect(0, 0, w*cellW+16, h*cellH+16))
	draw.Draw(img, img.Bounds(), &image.Uniform{screenBG}, image.Point{}, draw.Src)
	for y := range h {
		for x := range w {
			c := cells[y*w+x]
			fg, bg, _ := c.Style.Decompose()
			box := image.Rect(8+x*cellW, 8+y*cellH, 8+(x+1)*cellW, 8+(y+1)*cellH)
			if bg != tcell.ColorDefault {
				draw.Draw(img, box, &image.Uniform{rgb(bg, screenBG)}, image.Point{}, draw.Src)
			}
			if len(c.Runes) == 0 {
				continue
			}
			drawRune(img, face, box, c.Runes[0], rgb(fg, screenFG))
		}
	}
	return img
}

func drawRune(img *image.RGBA, face font.Face, box image.Rectangle, r rune, fg color.RGBA) {
	if r >= '▁' && r <= '█' {
		top := box.Max.Y - (box.Dy()*int(r-'▁'+1))/8
		draw.Draw(img, image.Rect(box.Min.X, top, box.Max.X-1, box.Max.Y), &image.Uniform{fg}, image.Point{}, draw.Src)
		return
	}
	d := font.Drawer{Dst: img, Src: &image.Uniform{fg}, Face: face,
		Dot: fixed.P(box.Min.X, box.Max.Y-5)}
	d.DrawString(string(r))
}

func rgb(c tcell.Color, def color.RGBA) color.RGBA {
	if c == tcell.ColorDefault {
		return def
	}
	r, g, b := c.RGB()
	if r < 0 {
		return def
	}
	return color.RGBA{uint8(r), uint8(g), uint8(b), 255}
}
