package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/bpf"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
)

// statRecord is one line of stats.jsonl: one statistics sample of one
// subflow, from BPF or from inet_diag.
type statRecord struct {
	Time          string `json:"time"`
	Source        string `json:"source"` // "bpf" or "diag"
	KernelTimeNs  uint64 `json:"ktime_ns,omitempty"`
	Reason        string `json:"reason,omitempty"`
	Token         uint32 `json:"token"`
	Cookie        uint64 `json:"cookie"`
	Local         string `json:"local"`
	Remote        string `json:"remote"`
	LocalID       int    `json:"local_id"`
	RemoteID      int    `json:"remote_id"`
	Backup        bool   `json:"backup"`
	TCPState      uint8  `json:"tcp_state"`
	CAState       uint8  `json:"ca_state"`
	SRTTUs        uint32 `json:"srtt_us"`
	RTTVarUs      uint32 `json:"rttvar_us"`
	MinRTTUs      uint32 `json:"min_rtt_us"`
	SndCwnd       uint32 `json:"snd_cwnd"`
	SndSsthresh   uint32 `json:"snd_ssthresh"`
	PacketsOut    uint32 `json:"packets_out,omitempty"`
	TotalRetrans  uint32 `json:"total_retrans"`
	Lost          uint32 `json:"lost"`
	Delivered     uint32 `json:"delivered"`
	BytesAcked    uint64 `json:"bytes_acked"`
	BytesSent     uint64 `json:"bytes_sent"`
	BytesRetrans  uint64 `json:"bytes_retrans"`
	BytesReceived uint64 `json:"bytes_received,omitempty"`
	PacingRate    uint64 `json:"pacing_rate"`
	DeliveryRate  uint64 `json:"delivery_rate"`
}

// readBPF consumes the BPF record stream until ctx is done.
func (d *Daemon) readBPF(ctx context.Context) error {
	first := true
	return d.tracer.Run(ctx, func(r *bpf.Record) {
		if first {
			first = false
			if err := d.tracer.RealtimeErr(); err != nil {
				d.log.WithError(err).Warn("BPF reader runs at normal priority; urgent records may wait for a time slice")
			}
		}
		d.handleRecord(r)
	})
}

// handleRecord runs for every BPF record; r is reused by the reader. It
// updates the subflow's latest statistics and, under the adaptive policy,
// reacts at once to records that signal loss.
func (d *Daemon) handleRecord(r *bpf.Record) {
	now := time.Now()
	var actions []backupAction
	d.metrics.RingRecords(1)
	d.mu.Lock()
	d.stats.BPFRecords++
	if c := d.conns[r.Token]; c != nil {
		sf := c.findCookie(r.Cookie)
		if sf == nil {
			if sf = c.findSubflow(unmapAddrPort(r.Src), unmapAddrPort(r.Dst)); sf != nil {
				sf.Cookie = r.Cookie
			}
		}
		if sf != nil {
			sf.Stats = subflowStats{
				Source: "bpf", At: now, SRTTUs: r.SRTT, SndCwnd: r.SndCwnd, SndSsthresh: r.SndSsthresh,
				BytesAcked: r.BytesAcked, BytesSent: r.BytesSent, BytesRetrans: r.BytesRetrans,
				TotalRetrans: r.TotalRetrans, CAState: r.CAState,
				DeliveryRate: r.DeliveryRate, PacingRate: r.PacingRate,
			}
			sf.Health.observe(now, &sf.Stats, d.cfg.Adaptive.Window)
			urgent := r.Reason&(bpf.ReasonRetrans|bpf.ReasonLoss|bpf.ReasonCAState) != 0
			if d.cfg.Policy == PolicyAdaptive && urgent {
				actions = d.checkConn(now, c)
			}
		}
	}
	d.mu.Unlock()
	d.applyBackup(actions)

	if r.Reason&bpf.ReasonNew != 0 {
		d.log.WithFields(logrus.Fields{
			"token": r.Token, "cookie": r.Cookie,
			"local": r.Src.String(), "remote": r.Dst.String(),
			"local_id": r.LocalID, "remote_id": r.RemoteID,
		}).Debug("BPF sees new subflow")
	}
	if d.rec == nil {
		return
	}
	d.rec.stat(statRecord{
		Time:         timestamp(time.Now()),
		Source:       "bpf",
		KernelTimeNs: r.Timestamp,
		Reason:       r.Reason.String(),
		Token:        r.Token,
		Cookie:       r.Cookie,
		Local:        unmapAddrPort(r.Src).String(),
		Remote:       unmapAddrPort(r.Dst).String(),
		LocalID:      int(r.LocalID),
		RemoteID:     int(r.RemoteID),
		Backup:       r.Backup,
		TCPState:     r.TCPState,
		CAState:      r.CAState,
		SRTTUs:       r.SRTT,
		RTTVarUs:     r.RTTVar,
		MinRTTUs:     r.MinRTT,
		SndCwnd:      r.SndCwnd,
		SndSsthresh:  r.SndSsthresh,
		PacketsOut:   r.PacketsOut,
		TotalRetrans: r.TotalRetrans,
		Lost:         r.Lost,
		Delivered:    r.Delivered,
		BytesAcked:   r.BytesAcked,
		BytesSent:    r.BytesSent,
		BytesRetrans: r.BytesRetrans,
		PacingRate:   r.PacingRate,
		DeliveryRate: r.DeliveryRate,
	})
}

// pollDiag reconciles the table with inet_diag every DiagInterval and
// records a diag sample of every subflow.
func (d *Daemon) pollDiag(ctx context.Context) error {
	t := time.NewTicker(d.cfg.DiagInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			start := time.Now()
			err := d.reconcile(false)
			d.metrics.DiagPoll(err, time.Since(start))
			if err != nil && d.limit.allow("inet_diag poll failed") {
				d.log.WithError(err).Warn("inet_diag poll failed")
			}
			if d.metrics != nil {
				d.metrics.Observe(d.Connections())
			}
			if err := d.rec.flush(); err != nil {
				d.log.WithError(err).Error("write recorded series")
			}
		}
	}
}

// reconcile dumps the MPTCP connections and their subflows, drops the
// connections the kernel no longer has (CLOSED is not sent after a peer's
// fast close) and records diag samples. With adopt, it also takes over the
// established connections the table lacks: at start-up and after lost
// events. The periodic poll does not adopt, because a connection it finds
// may be one whose events are still on their way.
func (d *Daemon) reconcile(adopt bool) error {
	conns, err := d.diag.Connections(diag.Request{})
	if err != nil {
		return fmt.Errorf("dump MPTCP connections: %w", err)
	}
	listening, err := d.listeningPorts()
	if err != nil {
		return err
	}
	now := time.Now()
	seen := make(map[uint32]bool, len(conns))
	var adopted []uint32

	d.mu.Lock()
	for i := range conns {
		dc := &conns[i]
		if dc.Info == nil {
			continue
		}
		token := dc.Info.Token
		seen[token] = true
		c := d.conns[token]
		if c == nil && adopt && dc.State == diag.StateEstablished {
			c = adoptConn(dc, listening)
			c.Managed = d.filter.Match(c.Local, c.Remote)
			d.conns[token] = c
			adopted = append(adopted, token)
		}
		for j := range dc.Subflows {
			d.recordDiag(now, token, &dc.Subflows[j])
			if c != nil {
				d.applyDiag(now, c, &dc.Subflows[j])
			}
		}
	}
	for token, c := range d.conns {
		// A connection younger than one poll may not be in the dump
		// yet.
		if !seen[token] && now.Sub(c.Since) > d.cfg.DiagInterval {
			delete(d.conns, token)
			d.log.WithField("token", token).Info("connection gone without CLOSED event, forgotten")
			continue
		}
		expirePending(now, c)
		c.prune(now)
	}
	d.mu.Unlock()

	for _, token := range adopted {
		d.log.WithField("token", token).Info("adopted existing connection")
		d.plan(token)
	}
	return nil
}

// adopt runs the first reconciliation at start-up.
func (d *Daemon) adopt() error { return d.reconcile(true) }

// listeningPorts returns the local ports of MPTCP listeners, used to tell
// accepted connections from initiated ones after the fact.
func (d *Daemon) listeningPorts() (map[uint16]bool, error) {
	socks, err := d.diag.DumpMPTCP(diag.Request{States: 1 << diag.StateListen})
	if err != nil {
		return nil, fmt.Errorf("dump MPTCP listeners: %w", err)
	}
	ports := make(map[uint16]bool, len(socks))
	for _, s := range socks {
		ports[s.ID.Src.Port()] = true
	}
	return ports, nil
}

// adoptConn builds a table entry from a diag connection.
func adoptConn(dc *diag.Connection, listening map[uint16]bool) *conn {
	c := newConn(dc.Info.Token, dc.ID.Src, dc.ID.Dst)
	c.Adopted = true
	c.Established = true
	c.ServerSide = listening[c.Local.Port()]
	// The initial subflow may be gone; then its entry stays closed.
	c.Subflows[0].State = subflowClosed
	for _, s := range dc.Subflows {
		sf := &subflow{
			Local:      unmapAddrPort(s.ID.Src),
			Remote:     unmapAddrPort(s.ID.Dst),
			WireLocal:  s.ID.Src,
			WireRemote: s.ID.Dst,
			State:      subflowEstablished,
			Cookie:     s.ID.Cookie,
			Since:      c.Since,
		}
		if s.Subflow != nil {
			sf.LocalID, sf.RemoteID = s.Subflow.LocalID, s.Subflow.RemoteID
		}
		if sf.Local == c.Local && sf.Remote == c.Remote && s.Subflow != nil && s.Subflow.Initial() {
			c.Subflows[0] = sf
			sf.Initial = true
			continue
		}
		c.Subflows = append(c.Subflows, sf)
	}
	return c
}

func (d *Daemon) recordDiag(now time.Time, token uint32, s *diag.TCPSocket) {
	if d.rec == nil || s.Info == nil {
		return
	}
	r := statRecord{
		Time:          timestamp(now),
		Source:        "diag",
		Token:         token,
		Cookie:        s.ID.Cookie,
		Local:         unmapAddrPort(s.ID.Src).String(),
		Remote:        unmapAddrPort(s.ID.Dst).String(),
		TCPState:      uint8(s.State),
		CAState:       s.Info.CAState,
		SRTTUs:        s.Info.RTT,
		RTTVarUs:      s.Info.RTTVar,
		MinRTTUs:      s.Info.MinRTT,
		SndCwnd:       s.Info.SndCwnd,
		SndSsthresh:   s.Info.SndSsthresh,
		TotalRetrans:  s.Info.TotalRetrans,
		Lost:          s.Info.Lost,
		Delivered:     s.Info.Delivered,
		BytesAcked:    s.Info.BytesAcked,
		BytesSent:     s.Info.BytesSent,
		BytesRetrans:  s.Info.BytesRetrans,
		BytesReceived: s.Info.BytesReceived,
		PacingRate:    s.Info.PacingRate,
		DeliveryRate:  s.Info.DeliveryRate,
	}
	if s.Subflow != nil {
		r.LocalID, r.RemoteID = int(s.Subflow.LocalID), int(s.Subflow.RemoteID)
		r.Backup = s.Subflow.Flags&(1<<5) != 0 // MPTCP_SUBFLOW_FLAG_BKUP_LOC
	}
	d.rec.stat(r)
}

// applyDiag copies a diag sample into the table: the cookie always, the
// statistics only when no BPF stream provides fresher ones. The caller
// holds d.mu.
func (d *Daemon) applyDiag(now time.Time, c *conn, s *diag.TCPSocket) {
	sf := c.findCookie(s.ID.Cookie)
	if sf == nil {
		sf = c.findSubflow(unmapAddrPort(s.ID.Src), unmapAddrPort(s.ID.Dst))
		if sf == nil {
			return
		}
		sf.Cookie = s.ID.Cookie
	}
	if sf.WireLocal == (netip.AddrPort{}) {
		sf.WireLocal, sf.WireRemote = s.ID.Src, s.ID.Dst
	}
	if d.tracer != nil || s.Info == nil {
		return
	}
	sf.Stats = subflowStats{
		Source: "diag", At: now, SRTTUs: s.Info.RTT, SndCwnd: s.Info.SndCwnd, SndSsthresh: s.Info.SndSsthresh,
		BytesAcked: s.Info.BytesAcked, BytesSent: s.Info.BytesSent, BytesRetrans: s.Info.BytesRetrans,
		TotalRetrans: s.Info.TotalRetrans, CAState: s.Info.CAState,
		DeliveryRate: s.Info.DeliveryRate, PacingRate: s.Info.PacingRate,
	}
	sf.Health.observe(now, &sf.Stats, d.cfg.Adaptive.Window)
}

// pendingTimeout is how long a requested subflow may stay pending. A join
// whose SYN gets no reply sends no event until the kernel gives up,
// and the policy must be free to try again.
const pendingTimeout = 30 * time.Second

func expirePending(now time.Time, c *conn) {
	for _, sf := range c.Subflows {
		if sf.State == subflowPending && now.Sub(sf.Since) > pendingTimeout {
			sf.State = subflowClosed
			sf.Since = now
		}
	}
}
