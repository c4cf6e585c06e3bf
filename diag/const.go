package diag

// Netlink and inet_diag numbers from the kernel UAPI headers
// (linux/netlink.h, linux/sock_diag.h, linux/inet_diag.h, linux/mptcp.h).
const (
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY message type

	ipprotoTCP   = 6
	ipprotoMPTCP = 262

	reqSize     = 56 // struct inet_diag_req_v2
	msgSize     = 72 // struct inet_diag_msg
	nlmsgHdrLen = 16
	nlaHdrLen   = 4
	nlaTypeMask = 0x3fff // strips NLA_F_NESTED and NLA_F_NET_BYTEORDER
)

// Request attributes (INET_DIAG_REQ_*).
const (
	reqBytecode = 1
	reqProtocol = 3
)

// Reply attributes (INET_DIAG_*).
const (
	attrMemInfo   = 1
	attrInfo      = 2
	attrVegasInfo = 3
	attrCong      = 4
	attrTOS       = 5
	attrTClass    = 6
	attrSkMemInfo = 7
	attrShutdown  = 8
	attrDCTCPInfo = 9
	attrProtocol  = 10
	attrSkV6Only  = 11
	attrMark      = 15
	attrBBRInfo   = 16
	attrClassID   = 17
	attrULPInfo   = 19
	attrCgroupID  = 21
	attrSockOpt   = 22
)

// Extension request bits: reply attribute N is requested by bit N-1 of
// idiag_ext. Only attributes 1 to 8 have a bit; the congestion control
// modules answer the Vegas bit with their own attribute (BBR, DCTCP).
const (
	extMemInfo   = 1 << (attrMemInfo - 1)
	extInfo      = 1 << (attrInfo - 1)
	extVegasInfo = 1 << (attrVegasInfo - 1)
	extCong      = 1 << (attrCong - 1)
	extTOS       = 1 << (attrTOS - 1)
	extTClass    = 1 << (attrTClass - 1)
	extSkMemInfo = 1 << (attrSkMemInfo - 1)
	extShutdown  = 1 << (attrShutdown - 1)
)

// ULP info attributes (INET_ULP_INFO_*), nested in INET_DIAG_ULP_INFO.
const (
	ulpInfoName  = 1
	ulpInfoMPTCP = 3
)

// MPTCP subflow attributes (MPTCP_SUBFLOW_ATTR_*), nested in
// INET_ULP_INFO_MPTCP. The kernel writes that nest without NLA_F_NESTED.
const (
	subflowTokenRem    = 1
	subflowTokenLoc    = 2
	subflowRelWriteSeq = 3
	subflowMapSeq      = 4
	subflowMapSfSeq    = 5
	subflowSSNOffset   = 6
	subflowMapDataLen  = 7
	subflowFlags       = 8
	subflowIDRem       = 9
	subflowIDLoc       = 10
)
