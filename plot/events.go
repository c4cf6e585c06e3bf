package plot

import (
	"fmt"
	"strings"
)

// Marker is an event line on a figure.
type Marker struct {
	X     float64 // seconds from the start of the run
	Label string
}

// eventLabel returns the marker text of e, or "" for events not marked.
func eventLabel(e Event) string {
	ids := ""
	if e.LocalID != nil && e.RemoteID != nil {
		ids = fmt.Sprintf(" %d/%d", *e.LocalID, *e.RemoteID)
	}
	switch e.Type {
	case "created":
		return "connection created"
	case "closed":
		return "connection closed"
	case "sf_established":
		return "subflow" + ids + " up"
	case "sf_closed":
		if e.Error != 0 {
			return fmt.Sprintf("subflow%s closed (errno %d)", ids, e.Error)
		}
		return "subflow" + ids + " closed"
	case "sf_priority":
		if e.Backup {
			return "subflow" + ids + " backup"
		}
		return "subflow" + ids + " active"
	case "announced":
		return "peer address announced"
	case "removed":
		return "peer address removed"
	case "subflow_create":
		if e.Result != "" && e.Result != "ok" {
			return "subflow request failed"
		}
	case "subflow_destroy":
		return "subflow destroyed"
	}
	return ""
}

// Markers returns the marked events of the run; events closer than
// span/80 to the previous marker join it, so that labels do not overlap.
func (r *Run) Markers() []Marker {
	span := r.Duration().Seconds()
	var out []Marker
	for _, e := range r.Evts {
		label := eventLabel(e)
		if label == "" {
			continue
		}
		x := e.Time.Sub(r.Start).Seconds()
		if n := len(out); n > 0 && x-out[n-1].X < span/80 {
			if !strings.Contains(out[n-1].Label, label) {
				out[n-1].Label += ", " + label
			}
			continue
		}
		out = append(out, Marker{X: x, Label: label})
	}
	return out
}
