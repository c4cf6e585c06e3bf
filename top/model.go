package top

import (
	"net/netip"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/control"
)

// DefaultHistory is the number of send-rate samples kept per subflow.
const DefaultHistory = 30

// Row is one subflow as top shows it.
type Row struct {
	Token        uint32         `json:"token"`
	Local        netip.AddrPort `json:"local"`
	Remote       netip.AddrPort `json:"remote"`
	Interface    string         `json:"interface,omitempty"`
	LocalID      uint8          `json:"local_id"`
	RemoteID     uint8          `json:"remote_id"`
	Backup       bool           `json:"backup"`
	State        string         `json:"state"`
	SRTTUs       uint32         `json:"srtt_us"`
	SndCwnd      uint32         `json:"snd_cwnd"`
	BytesAcked   uint64         `json:"bytes_acked"`
	TotalRetrans uint32         `json:"total_retrans"`
	// SendRate is the rate of acknowledged bytes over the last two
	// samples, in bytes/s; History holds its past values, oldest first.
	SendRate float64   `json:"send_rate"`
	History  []float64 `json:"history"`
}

type key struct {
	token         uint32
	local, remote netip.AddrPort
}

// track is the rate state of one subflow between snapshots.
type track struct {
	acked   uint64
	at      time.Time
	rate    float64
	history []float64
}

// Model computes rows, with rates and histories, from successive
// snapshots. It is not safe for concurrent use.
type Model struct {
	historyLen int
	tracks     map[key]*track
}

// NewModel returns a model that keeps n rate samples per subflow; n <= 0
// means DefaultHistory.
func NewModel(n int) *Model {
	if n <= 0 {
		n = DefaultHistory
	}
	return &Model{historyLen: n, tracks: make(map[key]*track)}
}

// Update returns the rows of snapshot u, in snapshot order. Subflows gone
// from u are forgotten.
func (m *Model) Update(u control.Update) []Row {
	var rows []Row
	seen := make(map[key]bool)
	for _, c := range u.Connections {
		for _, sf := range c.Subflows {
			k := key{c.Token, sf.Local, sf.Remote}
			seen[k] = true
			rows = append(rows, m.row(k, &sf, u.Time))
		}
	}
	for k := range m.tracks {
		if !seen[k] {
			delete(m.tracks, k)
		}
	}
	return rows
}

func (m *Model) row(k key, sf *control.Subflow, now time.Time) Row {
	at := sf.StatsTime
	if at.IsZero() {
		at = now
	}
	t := m.tracks[k]
	if t == nil {
		t = &track{acked: sf.BytesAcked, at: at}
		m.tracks[k] = t
	} else if dt := at.Sub(t.at).Seconds(); dt > 0 {
		// A counter that went back belongs to a new socket on the same
		// 4-tuple; its first sample has no rate.
		t.rate = 0
		if sf.BytesAcked >= t.acked {
			t.rate = float64(sf.BytesAcked-t.acked) / dt
		}
		t.acked, t.at = sf.BytesAcked, at
		t.history = append(t.history, t.rate)
		if len(t.history) > m.historyLen {
			t.history = t.history[len(t.history)-m.historyLen:]
		}
	}
	return Row{
		Token: k.token, Local: sf.Local, Remote: sf.Remote,
		Interface: sf.Interface, LocalID: sf.LocalID, RemoteID: sf.RemoteID,
		Backup: sf.Backup, State: sf.State, SRTTUs: sf.SRTTUs,
		SndCwnd: sf.SndCwnd, BytesAcked: sf.BytesAcked,
		TotalRetrans: sf.TotalRetrans, SendRate: t.rate,
		History: append([]float64(nil), t.history...),
	}
}
