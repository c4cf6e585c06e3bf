package daemon

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// eventRecord is one line of events.jsonl: a path-manager event, or one of
// the daemon's own commands with its result.
type eventRecord struct {
	Time        string `json:"time"`
	Type        string `json:"type"`
	Token       uint32 `json:"token,omitempty"`
	Local       string `json:"local,omitempty"`
	Remote      string `json:"remote,omitempty"`
	LocalID     *uint8 `json:"local_id,omitempty"`
	RemoteID    *uint8 `json:"remote_id,omitempty"`
	Backup      bool   `json:"backup,omitempty"`
	IfIndex     int32  `json:"ifindex,omitempty"`
	Error       uint8  `json:"error,omitempty"`
	ResetReason uint32 `json:"reset_reason,omitempty"`
	ServerSide  bool   `json:"server_side,omitempty"`
	Result      string `json:"result,omitempty"`
}

// readEvents receives path-manager events until the socket is closed. A
// receive-buffer overflow is logged with a count and followed by a
// resynchronisation from inet_diag; reading goes on.
func (d *Daemon) readEvents(ctx context.Context) error {
	for {
		evs, err := d.events.Receive()
		if errors.Is(err, pm.ErrEventsLost) {
			d.mu.Lock()
			d.stats.LostEvents++
			n := d.stats.LostEvents
			d.mu.Unlock()
			d.log.WithField("overflows", n).Warn("mptcp_pm events were lost (receive buffer overflow), resynchronising from inet_diag")
			if err := d.reconcile(true); err != nil {
				d.log.WithError(err).Error("resynchronise after lost events")
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for i := range evs {
			d.handleEvent(&evs[i])
		}
	}
}

func eventFields(ev *pm.Event) logrus.Fields {
	f := logrus.Fields{"event": ev.Type.String(), "token": ev.Token}
	if ev.Local.IsValid() {
		f["local"] = ev.Local.String()
	}
	if ev.Remote.IsValid() {
		f["remote"] = ev.Remote.String()
	}
	switch ev.Type {
	case pm.EventSubEstablished, pm.EventSubClosed, pm.EventSubPriority:
		f["local_id"] = ev.LocalID
		f["remote_id"] = ev.RemoteID
		f["backup"] = ev.Backup
	case pm.EventAnnounced, pm.EventRemoved:
		f["remote_id"] = ev.RemoteID
	}
	if ev.Error != 0 {
		f["error"] = ev.Error
	}
	if ev.Has(pm.AttrResetReason) {
		f["reset_reason"] = ev.ResetReason
	}
	return f
}

func (d *Daemon) recordEvent(ev *pm.Event) {
	if d.rec == nil {
		return
	}
	r := eventRecord{
		Time:        timestamp(time.Now()),
		Type:        ev.Type.String(),
		Token:       ev.Token,
		Backup:      ev.Backup,
		IfIndex:     ev.IfIndex,
		Error:       ev.Error,
		ResetReason: ev.ResetReason,
		ServerSide:  ev.ServerSide,
	}
	if ev.Local.IsValid() {
		r.Local = unmapAddrPort(ev.Local).String()
	}
	if ev.Remote.IsValid() {
		r.Remote = unmapAddrPort(ev.Remote).String()
	}
	switch ev.Type {
	case pm.EventSubEstablished, pm.EventSubClosed, pm.EventSubPriority:
		lid, rid := ev.LocalID, ev.RemoteID
		r.LocalID, r.RemoteID = &lid, &rid
	case pm.EventAnnounced, pm.EventRemoved:
		rid := ev.RemoteID
		r.RemoteID = &rid
	}
	d.rec.event(r)
}

// handleEvent updates the connection table and runs the policy when a connection becomes established, the peer announces an
// address or a subflow closes with an error.
func (d *Daemon) handleEvent(ev *pm.Event) {
	d.recordEvent(ev)
	d.metrics.Event(ev.Type.String())
	log := d.log.WithFields(eventFields(ev))

	d.mu.Lock()
	d.stats.Events++
	c := d.conns[ev.Token]
	switch ev.Type {
	case pm.EventCreated, pm.EventEstablished:
		if c == nil {
			c = newConn(ev.Token, ev.Local, ev.Remote)
			d.conns[ev.Token] = c
		}
		c.ServerSide = ev.ServerSide || ev.Flags&pm.EventFlagServerSide != 0
		c.DenyJoinID0 = ev.Flags&pm.EventFlagDenyJoinID0 != 0
		c.Established = ev.Type == pm.EventEstablished
		c.Managed = d.filter.Match(c.Local, c.Remote)
	case pm.EventClosed:
		delete(d.conns, ev.Token)
	case pm.EventAnnounced:
		if c != nil {
			c.Announced[ev.RemoteID] = unmapAddrPort(ev.Remote)
		}
	case pm.EventRemoved:
		if c != nil {
			delete(c.Announced, ev.RemoteID)
		}
	case pm.EventSubEstablished, pm.EventSubClosed, pm.EventSubPriority:
		if c != nil {
			d.updateSubflow(c, ev)
		}
	}
	managed := c != nil && c.Managed
	d.mu.Unlock()

	switch {
	case ev.Type == pm.EventSubClosed && ev.Error != 0:
		log.Warn("subflow closed with error")
	case ev.Type == pm.EventListenerCreated || ev.Type == pm.EventListenerClosed:
		log.Debug("listener changed")
	case ev.Type == pm.EventEstablished && !managed:
		log.Info("connection excluded by the filter, not managed")
	default:
		log.Info("path manager event")
	}
	if !managed {
		return
	}
	switch ev.Type {
	case pm.EventEstablished:
		d.plan(ev.Token)
		d.announce(ev.Token)
	case pm.EventAnnounced:
		d.plan(ev.Token)
	}
}

// updateSubflow applies a subflow event to the connection. The caller holds
// d.mu.
func (d *Daemon) updateSubflow(c *conn, ev *pm.Event) {
	local, remote := unmapAddrPort(ev.Local), unmapAddrPort(ev.Remote)
	sf := c.findSubflow(local, remote)
	if sf == nil {
		if sf = c.findPending(local.Addr(), remote); sf != nil {
			sf.Local = local
		}
	}
	if sf == nil {
		sf = &subflow{Local: local, Remote: remote, Since: time.Now()}
		c.Subflows = append(c.Subflows, sf)
	}
	sf.WireLocal, sf.WireRemote = ev.Local, ev.Remote
	sf.LocalID, sf.RemoteID = ev.LocalID, ev.RemoteID
	sf.Backup = ev.Backup
	sf.IfIndex = ev.IfIndex
	switch ev.Type {
	case pm.EventSubEstablished:
		// A SUB_ESTABLISHED can be followed at once by SUB_CLOSED when
		// the peer rejects the join, so it is not final.
		sf.State = subflowEstablished
		sf.Since = time.Now()
	case pm.EventSubClosed:
		sf.State = subflowClosed
		sf.Since = time.Now()
		sf.Error = ev.Error
		sf.ResetReason = ev.ResetReason
		if ev.Error != 0 && d.cfg.Policy == PolicyAdaptive && sf.Requested && !c.ServerSide {
			d.scheduleRetry(c, sf)
		}
	}
}

// usableAddrs returns the local addresses the policy may use: assigned,
// on a link that is up, and not removed over the control socket. The
// caller holds d.mu.
func (d *Daemon) usableAddrs() []netip.Addr {
	locals := d.addrs.list()
	usable := locals[:0]
	for _, a := range locals {
		if d.links.up(d.addrs.ifIndex(a)) && !d.excluded[a] {
			usable = append(usable, a)
		}
	}
	return usable
}

// planEnv returns the policy's view of the host. The caller holds d.mu.
func (d *Daemon) planEnv() planEnv {
	env := planEnv{
		locals:      d.usableAddrs(),
		id:          d.addrs.id,
		ifIndex:     d.addrs.ifIndex,
		maxSubflows: d.cfg.MaxSubflows,
		nDiffPorts:  d.cfg.NDiffPorts,
	}
	if d.cfg.Policy == PolicyBackup {
		backupIfs := d.cfg.BackupInterfaces
		env.isBackup = func(a netip.Addr) bool {
			return d.links.isBackup(d.addrs.ifIndex(a), backupIfs)
		}
	}
	return env
}

// plan runs the policy for connection token and queues the creation of
// the subflows it lacks. Server-side connections get none, because the
// client opens subflows, and kernel mode leaves it to the kernel.
func (d *Daemon) plan(token uint32) {
	if d.cfg.Mode != ModeUserspace {
		return
	}
	d.mu.Lock()
	c := d.conns[token]
	if c == nil || c.ServerSide || !c.Established || !c.Managed {
		d.mu.Unlock()
		return
	}
	plans := planSubflows(d.cfg.Policy, c, d.planEnv())
	reqs := make([]pm.SubflowRequest, 0, len(plans))
	now := time.Now()
	for _, p := range plans {
		c.Subflows = append(c.Subflows, &subflow{
			Local:     netip.AddrPortFrom(p.Local, 0),
			Remote:    p.Remote,
			LocalID:   p.LocalID,
			Backup:    p.Backup,
			State:     subflowPending,
			Requested: true,
			Since:     now,
		})
		reqs = append(reqs, p.request(token))
	}
	d.stats.SubflowsRequested += uint64(len(reqs))
	d.mu.Unlock()
	if len(reqs) > 0 {
		d.cmds.push(job{creates: reqs})
	}
}

// planAll runs plan for every connection, after an address, a route or a
// link appeared.
func (d *Daemon) planAll() {
	d.mu.Lock()
	tokens := make([]uint32, 0, len(d.conns))
	for t := range d.conns {
		tokens = append(tokens, t)
	}
	d.mu.Unlock()
	for _, t := range tokens {
		d.plan(t)
		d.announce(t)
	}
}
