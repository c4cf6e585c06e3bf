package daemon

import (
	"fmt"
	"net/netip"
	"sort"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// addrTable holds the host's usable local addresses and the address id the
// daemon gives each of them. An id stays with its address for the life of
// the daemon, so one id always means one address.
type addrTable struct {
	mu     sync.Mutex
	addrs  map[netip.Addr]int // address -> interface index
	ids    map[netip.Addr]uint8
	nextID int
	// includeLinkLocal keeps link-local unicast addresses, which are
	// skipped by default because a subflow from one needs the interface
	// index and rarely reaches a peer.
	includeLinkLocal bool
}

func newAddrTable(includeLinkLocal bool) *addrTable {
	return &addrTable{
		addrs:            make(map[netip.Addr]int),
		ids:              make(map[netip.Addr]uint8),
		nextID:           1,
		includeLinkLocal: includeLinkLocal,
	}
}

// usable reports whether a subflow may use the address.
func (t *addrTable) usable(a netip.Addr, flags int) bool {
	if a.IsLoopback() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	if a.IsLinkLocalUnicast() && !t.includeLinkLocal {
		return false
	}
	// Tentative addresses fail to bind until duplicate address detection
	// ends; a later RTM_NEWADDR without the flag adds them.
	return flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0
}

// load replaces the table with a dump of the namespace's addresses.
func (t *addrTable) load() error {
	list, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("dump local addresses: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.addrs)
	for _, a := range list {
		addr, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		addr = addr.Unmap()
		if t.usable(addr, a.Flags) {
			t.addrs[addr] = a.LinkIndex
		}
	}
	return nil
}

// update applies one rtnetlink address notification and reports whether
// the table changed.
func (t *addrTable) update(u netlink.AddrUpdate) (netip.Addr, bool) {
	addr, ok := netip.AddrFromSlice(u.LinkAddress.IP)
	if !ok {
		return addr, false
	}
	addr = addr.Unmap()
	t.mu.Lock()
	defer t.mu.Unlock()
	_, had := t.addrs[addr]
	if u.NewAddr && t.usable(addr, u.Flags) {
		t.addrs[addr] = u.LinkIndex
		return addr, !had
	}
	delete(t.addrs, addr)
	return addr, had
}

// list returns the usable addresses in a stable order.
func (t *addrTable) list() []netip.Addr {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]netip.Addr, 0, len(t.addrs))
	for a := range t.addrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

// id returns the address id of a, assigning the next free one on first use.
// Ids run from 1 to 255 because id 0 is the initial subflow's address.
// When all are taken, id 255 is reused and the kernel rejects the clash.
func (t *addrTable) id(a netip.Addr) uint8 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.ids[a]; ok {
		return id
	}
	id := uint8(255)
	if t.nextID <= 255 {
		id = uint8(t.nextID)
		t.nextID++
	}
	t.ids[a] = id
	return id
}

// ifIndex returns the interface index of a local address, or 0.
func (t *addrTable) ifIndex(a netip.Addr) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addrs[a]
}

// has reports whether a is a usable local address.
func (t *addrTable) has(a netip.Addr) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.addrs[a]
	return ok
}
