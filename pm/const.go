package pm

// Generic netlink names of the MPTCP path-manager family. The numeric
// family and group ids are assigned at boot and resolved by name.
const (
	familyName  = "mptcp_pm"
	eventsGroup = "mptcp_pm_events"
	// familyVersion is the version the kernel puts in events. It does not
	// check the version of requests.
	familyVersion = 1
)

// Commands of the mptcp_pm family (enum mptcp_pm_cmd in
// include/uapi/linux/mptcp_pm.h).
const (
	cmdAddAddr        = 1
	cmdDelAddr        = 2
	cmdGetAddr        = 3
	cmdFlushAddrs     = 4
	cmdSetLimits      = 5
	cmdGetLimits      = 6
	cmdSetFlags       = 7
	cmdAnnounce       = 8
	cmdRemove         = 9
	cmdSubflowCreate  = 10
	cmdSubflowDestroy = 11
)

// Top-level request and reply attributes (MPTCP_PM_ATTR_*).
const (
	attrAddr        = 1 // nested address; also MPTCP_PM_ENDPOINT_ADDR
	attrRcvAddAddrs = 2 // u32 limit add_addr_accepted
	attrSubflows    = 3 // u32 limit subflows
	attrToken       = 4 // u32, host byte order
	attrLocID       = 5 // u8
	attrAddrRemote  = 6 // nested address
)

// Attributes inside an address nest (MPTCP_PM_ADDR_ATTR_*).
const (
	addrAttrFamily = 1 // u16 AF_INET or AF_INET6
	addrAttrID     = 2 // u8
	addrAttrAddr4  = 3 // 4 bytes, network byte order
	addrAttrAddr6  = 4 // 16 bytes
	addrAttrPort   = 5 // u16, host byte order (unlike event ports)
	addrAttrFlags  = 6 // u32 AddrFlags
	addrAttrIfIdx  = 7 // s32
)

// Event attributes (MPTCP_ATTR_*), sent only in multicast events.
const (
	evAttrToken       = 1  // u32, host byte order
	evAttrFamily      = 2  // u16
	evAttrLocID       = 3  // u8
	evAttrRemID       = 4  // u8
	evAttrSaddr4      = 5  // 4 bytes, network byte order
	evAttrSaddr6      = 6  // 16 bytes
	evAttrDaddr4      = 7  // 4 bytes, network byte order
	evAttrDaddr6      = 8  // 16 bytes
	evAttrSport       = 9  // u16, network byte order
	evAttrDport       = 10 // u16, network byte order
	evAttrBackup      = 11 // u8
	evAttrError       = 12 // u8 errno
	evAttrFlags       = 13 // u16 event flags
	evAttrTimeout     = 14 // u32, defined but not sent by Linux 6.18
	evAttrIfIdx       = 15 // s32
	evAttrResetReason = 16 // u32 MP_TCPRST reason
	evAttrResetFlags  = 17 // u32 MP_TCPRST flags
	evAttrServerSide  = 18 // u8, deprecated in favour of FLAGS bit 1
	evAttrMax         = 18
)
