package top

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/control"
)

// Options configure both the terminal view and the text output.
type Options struct {
	Interval time.Duration // time between snapshots
	Count    int           // stop after this many snapshots; 0 means never
	View     View
	History  int  // rate samples kept per subflow; 0 means DefaultHistory
	JSON     bool // text output only: JSON Lines instead of tables
	Width    int  // text output only: table width; 0 means 80
}

// errDone stops a source after Count snapshots.
var errDone = errors.New("snapshot count reached")

// Snapshot is one JSON line of the text output with JSON on.
type Snapshot struct {
	Time     time.Time `json:"time"`
	Source   string    `json:"source"`
	Subflows []Row     `json:"subflows"`
}

// RunText writes one table, or one JSON line, per snapshot to w until
// ctx is done, Count snapshots are written or src fails.
func RunText(ctx context.Context, src Source, w io.Writer, opts Options) error {
	m := NewModel(opts.History)
	n := 0
	err := src.Run(ctx, opts.Interval, func(u control.Update) error {
		rows := opts.View.Apply(m.Update(u))
		var err error
		if opts.JSON {
			err = writeSnapshot(w, Snapshot{Time: u.Time, Source: src.Name(), Subflows: nonNilRows(rows)})
		} else {
			err = writeFrame(w, src.Name(), u, rows, opts, n > 0)
		}
		if err != nil {
			return err
		}
		if n++; opts.Count > 0 && n >= opts.Count {
			return errDone
		}
		return nil
	})
	if errors.Is(err, errDone) {
		return nil
	}
	return err
}

func nonNilRows(r []Row) []Row {
	if r == nil {
		return []Row{}
	}
	return r
}

func writeSnapshot(w io.Writer, s Snapshot) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func writeFrame(w io.Writer, source string, u control.Update, rows []Row, opts Options, gap bool) error {
	if gap {
		if _, err := io.WriteString(w, "\n"); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, TitleLine(source, u, rows, opts.View)+"\n"); err != nil {
		return err
	}
	if len(rows) == 0 {
		_, err := io.WriteString(w, "no subflows\n")
		return err
	}
	return WriteTable(w, rows, opts.Width)
}

// TitleLine summarises a snapshot: time, source, counts, sort and filter.
func TitleLine(source string, u control.Update, rows []Row, v View) string {
	sort := v.Sort
	if sort == "" {
		sort = "token"
	}
	if v.Reverse {
		sort += " (reversed)"
	}
	s := fmt.Sprintf("%s  %s  %s  %s  sort %s", u.Time.Format("15:04:05"), source,
		plural(len(u.Connections), "connection"), plural(len(rows), "subflow"), sort)
	if v.Filter != "" {
		s += fmt.Sprintf("  filter %q", v.Filter)
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
