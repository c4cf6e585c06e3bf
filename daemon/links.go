package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"
)

// linkTable holds the name and carrier state of every interface.
type linkTable struct {
	mu    sync.Mutex
	names map[int]string
	isUp  map[int]bool
}

func newLinkTable() *linkTable {
	return &linkTable{names: make(map[int]string), isUp: make(map[int]bool)}
}

// linkUp reports whether a link can carry traffic: administratively up
// with carrier. Loss of carrier leaves the addresses, routes and subflows
// in place, so only the link state shows it.
func linkUp(attrs *netlink.LinkAttrs) bool {
	if attrs.Flags&net.FlagUp == 0 {
		return false
	}
	return attrs.OperState == netlink.OperUp || attrs.OperState == netlink.OperUnknown
}

func (t *linkTable) load() error {
	links, err := netlink.LinkList()
	if err != nil {
		return fmt.Errorf("dump links: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.names)
	clear(t.isUp)
	for _, l := range links {
		a := l.Attrs()
		t.names[a.Index] = a.Name
		t.isUp[a.Index] = linkUp(a)
	}
	return nil
}

// set records a link's state and reports whether its carrier changed.
func (t *linkTable) set(attrs *netlink.LinkAttrs, deleted bool) (changed, up bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if deleted {
		was := t.isUp[attrs.Index]
		delete(t.names, attrs.Index)
		delete(t.isUp, attrs.Index)
		return was, false
	}
	up = linkUp(attrs)
	was, known := t.isUp[attrs.Index]
	t.names[attrs.Index] = attrs.Name
	t.isUp[attrs.Index] = up
	return !known || was != up, up
}

// up reports whether interface index can carry traffic; an unknown index
// counts as up, so that an address seen before its link is still used.
func (t *linkTable) up(index int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	up, ok := t.isUp[index]
	return !ok || up
}

func (t *linkTable) name(index int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.names[index]
}

// isBackup reports whether interface index is one of names.
func (t *linkTable) isBackup(index int, names []string) bool {
	return slices.Contains(names, t.name(index))
}

// watchAddresses applies rtnetlink address changes: a new address gets
// its subflows on every connection, a removed one loses them.
func (d *Daemon) watchAddresses(ctx context.Context) error {
	updates := make(chan netlink.AddrUpdate, 256)
	done := make(chan struct{})
	defer close(done)
	errc := make(chan error, 1)
	opts := netlink.AddrSubscribeOptions{ErrorCallback: nonBlockingSend(errc)}
	if err := netlink.AddrSubscribeWithOptions(updates, done, opts); err != nil {
		return fmt.Errorf("subscribe to address changes: %w", err)
	}
	// Addresses may have changed between the dump and the subscription.
	if err := d.addrs.load(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			d.log.WithError(err).Warn("address notifications failed, reloading addresses")
			if err := d.addrs.load(); err != nil {
				return err
			}
			d.planAll()
		case u, ok := <-updates:
			if !ok {
				return errors.New("address notification channel closed")
			}
			addr, changed := d.addrs.update(u)
			if !changed {
				continue
			}
			d.log.WithFields(logrus.Fields{"address": addr, "added": u.NewAddr, "ifindex": u.LinkIndex}).Info("local address changed")
			d.addressChanged(addr, u.NewAddr)
		}
	}
}

// addressChanged opens subflows from a new address, or closes the
// subflows of a removed one and withdraws its announcements.
func (d *Daemon) addressChanged(addr netip.Addr, added bool) {
	if d.cfg.Mode == ModeKernel {
		d.syncEndpoints()
		return
	}
	if added {
		d.planAll()
		return
	}
	// Withdraw first: SUBFLOW_DESTROY drops the kernel's id entry of the
	// address, after which REMOVE fails with "address not found".
	d.withdraw(addr)
	d.closeSubflows(func(sf *subflow) bool { return sf.Local.Addr() == addr }, "local address removed")
}

// closeSubflows destroys every established subflow that match selects.
func (d *Daemon) closeSubflows(match func(*subflow) bool, why string) {
	type target struct {
		token         uint32
		local, remote netip.AddrPort
	}
	var targets []target
	d.mu.Lock()
	for token, c := range d.conns {
		for _, sf := range c.Subflows {
			if sf.State == subflowClosed || !match(sf) {
				continue
			}
			if sf.State == subflowPending {
				sf.State = subflowClosed
				sf.Since = time.Now()
				continue
			}
			targets = append(targets, target{token, wireOr(sf.WireLocal, sf.Local), wireOr(sf.WireRemote, sf.Remote)})
		}
	}
	d.mu.Unlock()
	for _, t := range targets {
		d.destroySubflow(t.token, t.local, t.remote, why)
	}
}

func wireOr(wire, plain netip.AddrPort) netip.AddrPort {
	if wire.IsValid() {
		return wire
	}
	return plain
}

// watchLinks closes the subflows of a link that lost its carrier or went
// down, and reopens them when it comes back.
func (d *Daemon) watchLinks(ctx context.Context) error {
	updates := make(chan netlink.LinkUpdate, 256)
	done := make(chan struct{})
	defer close(done)
	errc := make(chan error, 1)
	opts := netlink.LinkSubscribeOptions{ErrorCallback: nonBlockingSend(errc)}
	if err := netlink.LinkSubscribeWithOptions(updates, done, opts); err != nil {
		return fmt.Errorf("subscribe to link changes: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			d.log.WithError(err).Warn("link notifications failed, reloading links")
			if err := d.links.load(); err != nil {
				return err
			}
		case u, ok := <-updates:
			if !ok {
				return errors.New("link notification channel closed")
			}
			attrs := u.Link.Attrs()
			deleted := u.Header.Type == 17 // RTM_DELLINK
			changed, up := d.links.set(attrs, deleted)
			if !changed {
				continue
			}
			d.log.WithFields(logrus.Fields{"link": attrs.Name, "ifindex": attrs.Index, "up": up, "deleted": deleted}).Info("link state changed")
			d.linkChanged(attrs.Index, up)
		}
	}
}

func (d *Daemon) linkChanged(index int, up bool) {
	if d.cfg.Mode == ModeKernel {
		d.syncEndpoints()
		return
	}
	if up {
		d.planAll()
		return
	}
	d.closeSubflows(func(sf *subflow) bool {
		return d.addrs.ifIndex(sf.Local.Addr()) == index || (sf.IfIndex != 0 && int(sf.IfIndex) == index)
	}, "link down")
}

// watchRoutes retries missing subflows when a route appears, because the
// kernel does not retry a subflow whose route was missing and often sends
// no event about it. Retries run at most every 200 ms.
func (d *Daemon) watchRoutes(ctx context.Context) error {
	updates := make(chan netlink.RouteUpdate, 256)
	done := make(chan struct{})
	defer close(done)
	errc := make(chan error, 1)
	opts := netlink.RouteSubscribeOptions{ErrorCallback: nonBlockingSend(errc)}
	if err := netlink.RouteSubscribeWithOptions(updates, done, opts); err != nil {
		return fmt.Errorf("subscribe to route changes: %w", err)
	}
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			d.log.WithError(err).Warn("route notifications failed")
		case u, ok := <-updates:
			if !ok {
				return errors.New("route notification channel closed")
			}
			if u.Type == 24 && debounce == nil { // RTM_NEWROUTE
				debounce = time.After(200 * time.Millisecond)
			}
		case <-debounce:
			debounce = nil
			d.planAll()
		}
	}
}

func nonBlockingSend(errc chan error) func(error) {
	return func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
}
