package daemon

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// parseEndpointFlags turns flag names such as "subflow" or "signal" into
// endpoint flags.
func parseEndpointFlags(names []string) (pm.AddrFlags, error) {
	var flags pm.AddrFlags
	for _, n := range names {
		f, ok := pm.ParseAddrFlag(strings.TrimSpace(n))
		if !ok || f == pm.FlagImplicit {
			return 0, fmt.Errorf("invalid endpoint flag %q: want signal, subflow, backup, fullmesh or laminar", n)
		}
		flags |= f
	}
	if flags&pm.FlagSignal != 0 && flags&pm.FlagFullmesh != 0 {
		return 0, fmt.Errorf("invalid endpoint flags %q: signal and fullmesh exclude each other", strings.Join(names, ","))
	}
	return flags, nil
}

// syncEndpoints makes the in-kernel endpoint table hold one endpoint per
// usable local address (kernel mode). It adds the missing ones with the
// configured flags, letting the kernel choose the id and reading it back,
// and deletes the endpoints it added whose address or link went away.
// Endpoints the daemon did not add are left alone.
func (d *Daemon) syncEndpoints() {
	d.cmds.push(job{fn: d.syncEndpointsNow})
}

func (d *Daemon) syncEndpointsNow() {
	flags, _ := parseEndpointFlags(d.cfg.EndpointFlags)
	existing, err := d.pm.Endpoints()
	if err != nil {
		d.log.WithError(err).Warn("dump endpoints failed")
		return
	}
	have := make(map[netip.Addr]pm.Local, len(existing))
	for _, ep := range existing {
		have[ep.Addr.Unmap()] = ep
	}
	want := make(map[netip.Addr]bool)
	d.mu.Lock()
	locals := d.usableAddrs()
	backupIfs := d.cfg.BackupInterfaces
	d.mu.Unlock()
	for _, a := range locals {
		want[a] = true
		if _, ok := have[a]; ok {
			continue
		}
		ep := pm.Local{Addr: a, Flags: flags}
		if d.links.isBackup(d.addrs.ifIndex(a), backupIfs) {
			ep.Flags |= pm.FlagBackup
		}
		d.addEndpoint(ep)
	}
	d.mu.Lock()
	var stale []netip.Addr
	for key := range d.endpoints {
		a := netip.MustParseAddr(key)
		if !want[a] {
			stale = append(stale, a)
		}
	}
	d.mu.Unlock()
	for _, a := range stale {
		d.deleteEndpoint(a, "address or link gone")
	}
}

func (d *Daemon) addEndpoint(ep pm.Local) {
	log := d.log.WithFields(logrus.Fields{"address": ep.Addr.String(), "flags": ep.Flags.String()})
	if err := d.pm.AddEndpoint(ep); err != nil {
		d.recordAction("endpoint_add", 0, ep.Addr.String(), "", nil, err)
		log.WithError(err).Warn("endpoint add failed")
		return
	}
	// The kernel assigned the id: read it back.
	eps, err := d.pm.Endpoints()
	if err != nil {
		log.WithError(err).Warn("dump endpoints failed")
		return
	}
	for _, got := range eps {
		if got.Addr.Unmap() == ep.Addr {
			id := got.ID
			d.mu.Lock()
			d.endpoints[ep.Addr.String()] = id
			d.mu.Unlock()
			d.recordAction("endpoint_add", 0, ep.Addr.String(), "", &id, nil)
			log.WithField("id", id).Info("endpoint added")
			return
		}
	}
	log.Warn("endpoint added but not found in the endpoint dump")
}

func (d *Daemon) deleteEndpoint(a netip.Addr, why string) {
	d.mu.Lock()
	id, ok := d.endpoints[a.String()]
	delete(d.endpoints, a.String())
	d.mu.Unlock()
	if !ok {
		return
	}
	err := d.pm.DeleteEndpoint(id, a)
	d.recordAction("endpoint_delete", 0, a.String(), "", &id, err)
	log := d.log.WithFields(logrus.Fields{"address": a.String(), "id": id, "reason": why})
	if err != nil {
		log.WithError(err).Warn("endpoint delete failed")
		return
	}
	log.Info("endpoint deleted")
}

// removeEndpoints deletes, at exit, every endpoint the daemon added.
func (d *Daemon) removeEndpoints() {
	d.mu.Lock()
	var addrs []netip.Addr
	for key := range d.endpoints {
		addrs = append(addrs, netip.MustParseAddr(key))
	}
	d.mu.Unlock()
	for _, a := range addrs {
		d.deleteEndpoint(a, "daemon stopping")
	}
}

// setEndpointBackup sets or clears the backup flag of the endpoint of a
// local address that this daemon added (kernel mode, adaptive policy).
func (d *Daemon) setEndpointBackup(a netip.Addr, backup bool) error {
	d.mu.Lock()
	id, ok := d.endpoints[a.Unmap().String()]
	d.mu.Unlock()
	if !ok {
		return fmt.Errorf("no endpoint of this daemon for %s", a)
	}
	flags, _ := parseEndpointFlags(d.cfg.EndpointFlags)
	if backup {
		flags |= pm.FlagBackup
	} else {
		flags &^= pm.FlagBackup
	}
	return d.pm.SetEndpointFlags(pm.Local{Addr: a.Unmap(), ID: id, Flags: flags})
}
