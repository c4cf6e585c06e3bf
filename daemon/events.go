package daemon

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// eventRecord is one line of events.jsonl.
type eventRecord struct {
	Time       string `json:"time"`
	Type       string `json:"type"`
	Token      uint32 `json:"token,omitempty"`
	Local      string `json:"local,omitempty"`
	Remote     string `json:"remote,omitempty"`
	LocalID    *uint8 `json:"local_id,omitempty"`
	RemoteID   *uint8 `json:"remote_id,omitempty"`
	Backup     bool   `json:"backup,omitempty"`
	IfIndex    int32  `json:"ifindex,omitempty"`
	Error      uint8  `json:"error,omitempty"`
	ServerSide bool   `json:"server_side,omitempty"`
	Result     string `json:"result,omitempty"` // for daemon actions
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
			if err := d.reconcile(); err != nil {
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
	return f
}

func (d *Daemon) recordEvent(ev *pm.Event) {
	if d.rec == nil {
		return
	}
	r := eventRecord{
		Time:       timestamp(time.Now()),
		Type:       ev.Type.String(),
		Token:      ev.Token,
		Backup:     ev.Backup,
		IfIndex:    ev.IfIndex,
		Error:      ev.Error,
		ServerSide: ev.ServerSide,
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

// handleEvent updates the connection table and asks the policy for
// subflows when a connection becomes established or the peer announces an
// address.
func (d *Daemon) handleEvent(ev *pm.Event) {
	d.recordEvent(ev)
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
		c.ServerSide = ev.ServerSide || ev.Flags&0x2 != 0
		c.Established = ev.Type == pm.EventEstablished
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
	d.mu.Unlock()

	switch ev.Type {
	case pm.EventSubClosed:
		if ev.Error != 0 {
			log.Warn("subflow closed with error")
		} else {
			log.Info("subflow closed")
		}
	case pm.EventListenerCreated, pm.EventListenerClosed:
		log.Debug("listener changed")
	default:
		log.Info("path manager event")
	}
	if ev.Type == pm.EventEstablished || ev.Type == pm.EventAnnounced {
		d.plan(ev.Token)
	}
}

// updateSubflow applies a subflow event to the connection. The caller holds
// d.mu.
func (d *Daemon) updateSubflow(c *conn, ev *pm.Event) {
	local, remote := unmapAddrPort(ev.Local), unmapAddrPort(ev.Remote)
	sf := c.findSubflow(local, remote)
	if sf == nil {
		sf = c.findPending(local.Addr(), remote)
		if sf != nil {
			sf.Local = local
		}
	}
	if sf == nil {
		sf = &subflow{Local: local, Remote: remote}
		c.Subflows = append(c.Subflows, sf)
	}
	sf.LocalID, sf.RemoteID = ev.LocalID, ev.RemoteID
	sf.Backup = ev.Backup
	sf.IfIndex = ev.IfIndex
	switch ev.Type {
	case pm.EventSubEstablished:
		// A SUB_ESTABLISHED can be followed at once by SUB_CLOSED when
		// the peer rejects the join, so it is not final.
		sf.State = subflowEstablished
	case pm.EventSubClosed:
		sf.State = subflowClosed
		sf.Error = ev.Error
	}
}

// plan asks the policy for the subflows that connection token lacks and
// queues their creation. Server-side connections get none: the client
// opens subflows.
func (d *Daemon) plan(token uint32) {
	d.mu.Lock()
	c := d.conns[token]
	if c == nil || c.ServerSide || !c.Established {
		d.mu.Unlock()
		return
	}
	plans := planFullMesh(c, d.addrs.list(), d.addrs.id)
	reqs := make([]pm.SubflowRequest, 0, len(plans))
	for _, p := range plans {
		c.Subflows = append(c.Subflows, &subflow{
			Local:     netip.AddrPortFrom(p.Local, 0),
			Remote:    p.Remote,
			LocalID:   p.LocalID,
			State:     subflowPending,
			Requested: true,
		})
		reqs = append(reqs, pm.SubflowRequest{
			Token:  token,
			Local:  pm.Local{Addr: p.Local, ID: p.LocalID},
			Remote: p.Remote,
		})
	}
	d.stats.SubflowsRequested += uint64(len(reqs))
	d.mu.Unlock()
	if len(reqs) > 0 {
		d.cmds.push(reqs)
	}
}

// planAll runs plan for every connection, after a local address appeared.
func (d *Daemon) planAll() {
	d.mu.Lock()
	tokens := make([]uint32, 0, len(d.conns))
	for t := range d.conns {
		tokens = append(tokens, t)
	}
	d.mu.Unlock()
	for _, t := range tokens {
		d.plan(t)
	}
}
