package pm

import (
	"fmt"
	"strings"
)

// AddrFlags are the flags of an endpoint or of a userspace connection's
// local address (MPTCP_PM_ADDR_FLAG_*). Linux 6.18 stores only the bits in
// 0x3f and drops the others without an error.
type AddrFlags uint32

// Address flags.
const (
	// FlagSignal announces the address to the peer (ADD_ADDR). Announce
	// requires it and SubflowCreate rejects it.
	FlagSignal AddrFlags = 0x1
	// FlagSubflow opens subflows from the address (in-kernel PM).
	FlagSubflow AddrFlags = 0x2
	// FlagBackup gives subflows of the address backup priority (MP_PRIO).
	FlagBackup AddrFlags = 0x4
	// FlagFullmesh opens a subflow to every known peer address from the
	// address (in-kernel PM). The kernel rejects it together with
	// FlagSignal.
	FlagFullmesh AddrFlags = 0x8
	// FlagImplicit marks an endpoint that the in-kernel PM created by
	// itself; it is not set by requests.
	FlagImplicit AddrFlags = 0x10
	// FlagLaminar is an in-kernel PM flag added in Linux 6.18.
	FlagLaminar AddrFlags = 0x20
)

var flagNames = []struct {
	flag AddrFlags
	name string
}{
	{FlagSignal, "signal"},
	{FlagSubflow, "subflow"},
	{FlagBackup, "backup"},
	{FlagFullmesh, "fullmesh"},
	{FlagImplicit, "implicit"},
	{FlagLaminar, "laminar"},
}

// Names returns the names of the set flags in bit order, as used by
// "ip mptcp endpoint". Unknown bits are returned as one hex number.
func (f AddrFlags) Names() []string {
	var names []string
	for _, fn := range flagNames {
		if f&fn.flag != 0 {
			names = append(names, fn.name)
			f &^= fn.flag
		}
	}
	if f != 0 {
		names = append(names, fmt.Sprintf("0x%x", uint32(f)))
	}
	return names
}

// String returns the flag names joined by "|", or "0" for no flags.
func (f AddrFlags) String() string {
	if f == 0 {
		return "0"
	}
	return strings.Join(f.Names(), "|")
}

// ParseAddrFlag returns the flag with the given name: signal, subflow,
// backup, fullmesh, implicit or laminar.
func ParseAddrFlag(name string) (AddrFlags, bool) {
	for _, fn := range flagNames {
		if fn.name == name {
			return fn.flag, true
		}
	}
	return 0, false
}
