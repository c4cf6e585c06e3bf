package daemon

import (
	"net/netip"

	"github.com/sirupsen/logrus"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// announce signals the server's other addresses to the client of
// connection token (ADD_ADDR), when --announce is on. Each address is
// announced once per connection, with the daemon's id for it.
//
// NOTE: an announcement without a port lets the peer join the address on
// the connection's own port, which needs a listener that accepts there,
// such as one bound to the wildcard address.
func (d *Daemon) announce(token uint32) {
	d.mu.Lock()
	c := d.conns[token]
	if !d.cfg.Announce || d.cfg.Mode != ModeUserspace || c == nil || !c.ServerSide || !c.Established || !c.Managed {
		d.mu.Unlock()
		return
	}
	env := d.planEnv()
	var locals []pm.Local
	for _, a := range env.locals {
		if a == c.Local.Addr() || a.Is4() != c.Local.Addr().Is4() {
			continue
		}
		id := env.id(a)
		if _, done := c.Signalled[id]; done {
			continue
		}
		c.Signalled[id] = a
		locals = append(locals, pm.Local{Addr: a, ID: id, Flags: pm.FlagSignal})
	}
	d.mu.Unlock()
	if len(locals) == 0 {
		return
	}
	d.cmds.push(job{fn: func() {
		for _, l := range locals {
			err := d.pm.Announce(token, l)
			id := l.ID
			d.recordAction("announce", token, l.Addr.String(), "", &id, err)
			log := d.log.WithFields(logrus.Fields{"token": token, "address": l.Addr.String(), "local_id": l.ID})
			if err != nil {
				log.WithError(err).Warn("announce failed")
				continue
			}
			log.Info("address announced")
		}
	}})
}

// withdraw removes the announcements of a local address that went away
// (RM_ADDR) from every connection that got one.
func (d *Daemon) withdraw(addr netip.Addr) {
	type target struct {
		token uint32
		id    uint8
	}
	var targets []target
	d.mu.Lock()
	for token, c := range d.conns {
		for id, a := range c.Signalled {
			if a == addr {
				targets = append(targets, target{token, id})
				delete(c.Signalled, id)
			}
		}
	}
	d.mu.Unlock()
	if len(targets) == 0 {
		return
	}
	d.cmds.push(job{fn: func() {
		for _, t := range targets {
			err := d.pm.Remove(t.token, t.id)
			id := t.id
			d.recordAction("remove", t.token, addr.String(), "", &id, err)
			log := d.log.WithFields(logrus.Fields{"token": t.token, "address": addr.String(), "local_id": t.id})
			if err != nil {
				log.WithError(err).Warn("address removal failed")
				continue
			}
			log.Info("address announcement withdrawn")
		}
	}})
}
