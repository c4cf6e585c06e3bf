package daemon

import (
	"net/netip"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// TCP congestion-avoidance states from include/net/tcp.h (tcp_ca_state).
const (
	caOpen     = 0
	caDisorder = 1
	caRecovery = 3
	caLoss     = 4
)

// health is the adaptive policy's view of one subflow.
type health struct {
	// Window start and the counters at that moment, to compute the
	// retransmitted share of the bytes sent in the window.
	windowStart             time.Time
	startSent, startRetrans uint64
	lossRatio               float64
	bad                     bool
	goodSince               time.Time
	switched                bool // this daemon made the subflow backup
	lastSwitch              time.Time
}

// observe feeds one statistics sample into the subflow's health window.
func (h *health) observe(now time.Time, st *subflowStats, window time.Duration) {
	if h.windowStart.IsZero() || st.BytesSent < h.startSent {
		h.windowStart, h.startSent, h.startRetrans = now, st.BytesSent, st.BytesRetrans
		return
	}
	if now.Sub(h.windowStart) < window {
		return
	}
	sent := st.BytesSent - h.startSent
	if sent > 0 {
		h.lossRatio = float64(st.BytesRetrans-h.startRetrans) / float64(sent)
	}
	h.windowStart, h.startSent, h.startRetrans = now, st.BytesSent, st.BytesRetrans
}

// verdict is the result of one health evaluation.
type verdict int

const (
	verdictKeep verdict = iota
	verdictBackup
	verdictRestore
)

// evaluate decides whether sf should turn backup or return to normal,
// given the best smoothed RTT among the connection's healthy subflows.
func (d *Daemon) evaluate(now time.Time, sf *subflow, bestRTT uint32) verdict {
	a := d.cfg.Adaptive
	h := &sf.Health
	st := &sf.Stats
	rttHigh := bestRTT > 0 && float64(st.SRTTUs) > a.RTTFactor*float64(bestRTT) &&
		time.Duration(st.SRTTUs)*time.Microsecond > a.RTTFloor
	bad := st.CAState == caLoss || h.lossRatio > a.LossRatio || rttHigh
	restoreFactor := max(1, a.RTTFactor/2)
	good := (st.CAState == caOpen || st.CAState == caDisorder) &&
		h.lossRatio < a.LossRatio/2 &&
		(bestRTT == 0 || float64(st.SRTTUs) <= restoreFactor*float64(bestRTT) ||
			time.Duration(st.SRTTUs)*time.Microsecond <= a.RTTFloor)
	switch {
	case bad:
		h.bad = true
		h.goodSince = time.Time{}
		if !sf.Backup {
			return verdictBackup
		}
	case good && h.bad:
		if h.goodSince.IsZero() {
			h.goodSince = now
		}
		if now.Sub(h.goodSince) >= a.RestoreAfter {
			h.bad = false
			if h.switched {
				return verdictRestore
			}
		}
	}
	return verdictKeep
}

// backupAction is one SET_FLAGS the adaptive policy sends.
type backupAction struct {
	token         uint32
	local, remote netip.AddrPort
	backup        bool
	reason        string
}

// checkHealth evaluates every established subflow of the managed
// connections and switches backup flags. The caller may hold no lock.
func (d *Daemon) checkHealth(now time.Time) {
	var actions []backupAction
	d.mu.Lock()
	for _, c := range d.conns {
		actions = append(actions, d.checkConn(now, c)...)
	}
	d.mu.Unlock()
	d.applyBackup(actions)
}

// checkConn returns the backup switches one connection needs. The caller
// holds d.mu.
func (d *Daemon) checkConn(now time.Time, c *conn) []backupAction {
	if !c.Managed || !c.Established {
		return nil
	}
	var bestRTT uint32
	active := 0
	for _, sf := range c.Subflows {
		if sf.State != subflowEstablished || sf.Stats.At.IsZero() {
			continue
		}
		if !sf.Backup {
			active++
		}
		if !sf.Health.bad && sf.Stats.SRTTUs > 0 && (bestRTT == 0 || sf.Stats.SRTTUs < bestRTT) {
			bestRTT = sf.Stats.SRTTUs
		}
	}
	var actions []backupAction
	for _, sf := range c.Subflows {
		if sf.State != subflowEstablished || sf.Stats.At.IsZero() {
			continue
		}
		switch d.evaluate(now, sf, bestRTT) {
		case verdictBackup:
			// Keep one subflow active: with every subflow backup
			// the scheduler still uses them all.
			if active <= 1 || now.Sub(sf.Health.lastSwitch) < time.Second {
				continue
			}
			active--
			sf.Backup, sf.Health.switched, sf.Health.lastSwitch = true, true, now
			actions = append(actions, backupAction{c.Token, wireOr(sf.WireLocal, sf.Local), wireOr(sf.WireRemote, sf.Remote), true,
				reasonText(sf)})
		case verdictRestore:
			sf.Backup, sf.Health.switched, sf.Health.lastSwitch = false, false, now
			actions = append(actions, backupAction{c.Token, wireOr(sf.WireLocal, sf.Local), wireOr(sf.WireRemote, sf.Remote), false,
				"healthy again"})
		}
	}
	return actions
}

func reasonText(sf *subflow) string {
	switch {
	case sf.Stats.CAState == caLoss:
		return "TCP loss state (retransmission timeout)"
	case sf.Health.lossRatio > 0:
		return "retransmissions above the loss threshold"
	}
	return "RTT above the threshold"
}

// applyBackup queues the SET_FLAGS commands. In kernel mode the flag goes
// to the endpoint of the subflow's local address instead.
func (d *Daemon) applyBackup(actions []backupAction) {
	if len(actions) == 0 {
		return
	}
	d.mu.Lock()
	d.stats.BackupSwitches += uint64(len(actions))
	d.mu.Unlock()
	d.cmds.push(job{fn: func() {
		for _, a := range actions {
			var err error
			if d.cfg.Mode == ModeKernel {
				err = d.setEndpointBackup(a.local.Addr(), a.backup)
			} else {
				local := pm.Local{Addr: a.local.Addr(), Port: a.local.Port()}
				if a.backup {
					local.Flags = pm.FlagBackup
				}
				err = d.pm.SetFlags(a.token, local, a.remote)
			}
			typ := "set_backup"
			if !a.backup {
				typ = "clear_backup"
			}
			d.recordAction(typ, a.token, a.local.String(), a.remote.String(), nil, err)
			log := d.log.WithFields(logrus.Fields{"token": a.token, "local": a.local.String(), "remote": a.remote.String(), "backup": a.backup, "reason": a.reason})
			if err != nil {
				log.WithError(err).Warn("backup switch failed")
				continue
			}
			log.Info("subflow priority changed")
		}
	}})
}

// scheduleRetry delays the reopening of a subflow closed by an error,
// doubling the delay each time the same pair fails. The caller holds d.mu.
func (d *Daemon) scheduleRetry(c *conn, sf *subflow) {
	a := d.cfg.Adaptive
	for _, r := range c.Retries {
		if r.Local == sf.Local.Addr() && r.Remote == sf.Remote {
			r.At = time.Now().Add(r.Backoff)
			r.Backoff = min(2*r.Backoff, a.RetryMax)
			return
		}
	}
	c.Retries = append(c.Retries, &retry{
		Local:   sf.Local.Addr(),
		Remote:  sf.Remote,
		At:      time.Now().Add(a.RetryMin),
		Backoff: min(2*a.RetryMin, a.RetryMax),
	})
}

// runRetries replans the connections whose retry delay has passed.
func (d *Daemon) runRetries(now time.Time) {
	var due []uint32
	d.mu.Lock()
	for token, c := range d.conns {
		for _, r := range c.Retries {
			if !r.At.IsZero() && !now.Before(r.At) {
				r.At = time.Time{} // fired; scheduleRetry sets it again
				due = append(due, token)
			}
		}
	}
	d.stats.Retries += uint64(len(due))
	d.mu.Unlock()
	for _, token := range due {
		d.log.WithField("token", token).Info("reopening subflow closed by an error")
		d.plan(token)
	}
}
