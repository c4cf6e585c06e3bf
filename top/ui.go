package top

import (
	"context"
	"errors"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/control"
)

// helpText is the key help on the bottom line.
const helpText = " q quit  s sort  r reverse  / filter  p pause"

// ui is the live terminal view. Its fields are used on the tview event
// goroutine only.
type ui struct {
	app    *tview.Application
	title  *tview.TextView
	table  *tview.Table
	footer *tview.Pages
	input  *tview.InputField
	source string
	model  *Model
	view   View
	last   control.Update
	rows   []Row
	paused bool
}

// RunTerminal shows the live view on screen, or on the terminal of the
// process when screen is nil, until the user quits, ctx is done or src
// fails.
func RunTerminal(ctx context.Context, src Source, screen tcell.Screen, opts Options) error {
	u := newUI(src.Name(), opts)
	if screen != nil {
		u.app.SetScreen(screen)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srcErr := make(chan error, 1)
	go func() {
		n := 0
		err := src.Run(ctx, opts.Interval, func(up control.Update) error {
			u.app.QueueUpdateDraw(func() { u.update(up) })
			if n++; opts.Count > 0 && n >= opts.Count {
				return errDone
			}
			return nil
		})
		srcErr <- err
		// Queued, so that it also stops an application that has not
		// started its event loop yet.
		u.app.QueueUpdate(u.app.Stop)
	}()

	stop := context.AfterFunc(ctx, func() { u.app.QueueUpdate(u.app.Stop) })
	defer stop()
	if err := u.app.Run(); err != nil {
		return err
	}

	cancel()
	err := <-srcErr
	if errors.Is(err, errDone) {
		return nil
	}
	return err
}

func newUI(source string, opts Options) *ui {
	u := &ui{
		app:    tview.NewApplication(),
		title:  tview.NewTextView().SetDynamicColors(false),
		table:  tview.NewTable().SetFixed(1, 0).SetSelectable(true, false),
		footer: tview.NewPages(),
		input:  tview.NewInputField().SetLabel("filter: "),
		source: source,
		model:  NewModel(opts.History),
		view:   opts.View,
	}
	u.title.SetTextColor(tcell.ColorYellow)
	u.table.SetSelectedStyle(tcell.StyleDefault.Background(tcell.ColorNavy).Foreground(tcell.ColorWhite))
	u.input.SetDoneFunc(u.filterDone)
	u.footer.AddPage("help", tview.NewTextView().SetText(helpText), true, true)
	u.footer.AddPage("filter", u.input, true, false)
	layout := tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(u.title, 1, 0, false).
		AddItem(u.table, 0, 1, true).
		AddItem(u.footer, 1, 0, false)
	u.app.SetRoot(layout, true).SetInputCapture(u.key)
	u.redraw()
	return u
}

// key handles the keys of the table view; the filter field gets every
// key while it is open.
func (u *ui) key(ev *tcell.EventKey) *tcell.EventKey {
	if u.input.HasFocus() {
		return ev
	}
	switch {
	case ev.Key() == tcell.KeyCtrlC || ev.Rune() == 'q' || ev.Rune() == 'Q':
		u.app.Stop()
	case ev.Rune() == 's':
		u.view.Sort = NextSort(u.view.Sort)
	case ev.Rune() == 'r':
		u.view.Reverse = !u.view.Reverse
	case ev.Rune() == 'p':
		u.paused = !u.paused
	case ev.Rune() == '/':
		u.input.SetText(u.view.Filter)
		u.footer.SwitchToPage("filter")
		u.app.SetFocus(u.input)
		return nil
	default:
		return ev
	}
	u.redraw()
	return nil
}

// filterDone applies the filter on Enter and clears it on Escape.
func (u *ui) filterDone(k tcell.Key) {
	if k == tcell.KeyEscape {
		u.view.Filter = ""
	} else {
		u.view.Filter = u.input.GetText()
	}
	u.footer.SwitchToPage("help")
	u.app.SetFocus(u.table)
	u.redraw()
}

func (u *ui) update(up control.Update) {
	rows := u.model.Update(up)
	if u.paused {
		return
	}
	u.last, u.rows = up, rows
	u.redraw()
}

func (u *ui) redraw() {
	rows := u.view.Apply(u.rows)
	title := TitleLine(u.source, u.last, rows, u.view)
	if u.paused {
		title += "  [paused]"
	}
	u.title.SetText(title)
	u.table.Clear()
	for c, col := range Columns {
		u.table.SetCell(0, c, headerCell(col))
	}
	_, _, width, _ := u.table.GetInnerRect()
	hist := max(width-fixedWidth(rows), minHistory)
	for i, r := range rows {
		for c, text := range Cells(r, hist) {
			u.table.SetCell(i+1, c, rowCell(Columns[c], text, r))
		}
	}
}

func headerCell(col Column) *tview.TableCell {
	c := tview.NewTableCell(col.Title).SetSelectable(false).
		SetTextColor(tcell.ColorAqua).SetAttributes(tcell.AttrBold)
	if col.Right {
		c.SetAlign(tview.AlignRight)
	}
	return c
}

func rowCell(col Column, text string, r Row) *tview.TableCell {
	c := tview.NewTableCell(text)
	if col.Right {
		c.SetAlign(tview.AlignRight)
	}
	switch {
	case col.Title == "HISTORY":
		c.SetTextColor(tcell.ColorGreen).SetExpansion(1)
	case r.Backup:
		c.SetTextColor(tcell.ColorGray)
	}
	return c
}

// fixedWidth returns the width of every column but the history, with one
// space between columns.
func fixedWidth(rows []Row) int {
	n := 0
	for i, col := range Columns[:len(Columns)-1] {
		w := len(col.Title)
		for _, r := range rows {
			w = max(w, len([]rune(Cells(r, 0)[i])))
		}
		n += w + 1
	}
	return n
}
