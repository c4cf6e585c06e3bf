// Package pm speaks the kernel's "mptcp_pm" generic netlink family: the
// control path of the MPTCP path managers (Linux 5.19 and later for the
// userspace path manager; facts below are checked on Linux 6.18).
//
// A Client sends commands. Endpoint, limit and flush commands act on the
// in-kernel path manager's per-namespace endpoint table. Announce,
// Remove, SubflowCreate, SubflowDestroy, SetFlags and LocalAddrs act on
// one connection of the userspace path manager (net.mptcp.pm_type=1),
// named by its local token. Every command needs CAP_NET_ADMIN except
// Endpoints, Endpoint, Limits and LocalAddrs.
//
// An EventConn receives the multicast events of the "mptcp_pm_events"
// group: connections created, established and closed, addresses
// announced and removed by the peer, subflows established, closed and
// re-prioritised, listeners created and closed.
//
// Rejected requests return *Error, which keeps the errno, the kernel's
// extended-ack text, the offending attribute and, for a missing
// attribute, its name. Byte orders differ between the two attribute
// sets: the port of an address nest (requests and GET_ADDR replies) is
// in host byte order, the ports of events in network byte order.
package pm
