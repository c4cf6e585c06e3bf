// Package diag reads the kernel's authoritative socket state over
// NETLINK_SOCK_DIAG (inet_diag): TCP sockets with tcp_info, congestion
// control, socket memory and the MPTCP subflow info, MPTCP sockets with
// mptcp_info, and the two joined into connections with their subflows.
//
// # Requests
//
// A Conn sends one inet_diag_req_v2 per address family. A Request selects
// sockets by family, state, port, address prefix, bound interface, MPTCP
// token and socket cookie. Ports, prefixes and the interface are compiled
// to inet_diag bytecode, so the kernel skips the sockets they exclude.
// The token and cookie are checked after decoding, and every filter is
// checked again in user space. The default state mask selects every state
// but LISTEN and TIME-WAIT; listeners are dumped when the mask has
// StateListen.
//
// MPTCP sockets are requested with IPPROTO_TCP in the 8-bit protocol field
// and IPPROTO_MPTCP (262) in the INET_DIAG_REQ_PROTOCOL attribute, which
// needs a kernel with CONFIG_INET_MPTCP_DIAG. One MPTCP connection is
// looked up by its local token ([Conn.LookupMPTCP]); one TCP socket by its
// 4-tuple and optionally its cookie ([Conn.LookupTCP]).
//
// # Replies
//
// Fixed-size kernel structures (tcp_info, mptcp_info, the congestion
// control infos, skmeminfo) are decoded up to the length the kernel sent:
// an older kernel's shorter struct leaves the later fields zero, and
// TCPInfo.Len and MPTCPInfo.Len give the length received. Attributes are
// read in any order and unknown ones are skipped. The subflow nest inside
// INET_DIAG_ULP_INFO comes without NLA_F_NESTED and is read either way. A
// reply that does not parse is an error wrapping ErrTruncated, never a
// panic.
//
// Without CAP_NET_ADMIN in the socket's namespace the kernel omits
// Socket.Mark and the SubflowInfo mapping fields (HasMapping is false).
//
// # Performance
//
// WalkTCP and WalkMPTCP decode into storage owned by the Conn and hand
// each socket to a callback, allocating nothing per socket. DumpTCP,
// DumpMPTCP and Connections copy the sockets out, allocating the structs
// they point to in chunks. One receive returns at most 32 KiB, the most
// the kernel puts in one dump message batch, into a buffer reused by every
// request. See BENCHMARKS.md for measurements against ss.
//
// # Errors
//
// Kernel errors are *OpError values carrying the errno and, when the
// kernel sends one, its extended ack message. A socket or token that does
// not exist gives an error matching ErrNotFound.
package diag
