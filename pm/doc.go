// Package pm speaks the kernel's "mptcp_pm" generic netlink family, the
// control path of the MPTCP path managers. The facts in these docs were
// checked on Linux 6.18.
//
// A Client sends commands. Endpoint, limit and flush commands act on the
// in-kernel path manager's per-namespace endpoint table. Announce,
// Remove, SubflowCreate, SubflowDestroy, SetFlags and LocalAddrs act on
// one connection of the userspace path manager (net.mptcp.pm_type=1),
// named by its local token. Every command needs CAP_NET_ADMIN except
// Endpoints, Endpoint, Limits, LocalAddrs and LocalAddr.
//
// An EventConn receives the multicast events of the "mptcp_pm_events"
// group of its network namespace: connections created, established and
// closed, addresses announced and removed by the peer, subflows
// established, closed and re-prioritised, listeners created and closed.
// A path manager daemon keeps one open at all times: it is how it learns
// tokens, and the kernel accepts MP_JOIN for userspace-PM connections
// only while some socket listens on the group.
//
// Rejected requests return *Error, which keeps the errno, the kernel's
// extended-ack text, the offending attribute and, for a missing
// attribute, its name. Byte orders differ between the two attribute
// sets: the port of an address nest (requests and GET_ADDR replies) is
// in host byte order, the ports of events in network byte order.
//
// Kernel behaviour that callers must plan for:
//   - Commands are acknowledged before their effect: SubflowCreate
//     returns once the SYN is sent, and the result arrives as a
//     SUB_ESTABLISHED or SUB_CLOSED event.
//   - SubflowDestroy also drops the local list entry of the local
//     address, so a later Remove of its id fails.
//   - SetFlags sends MP_PRIO, and only the peer gets an event.
//   - After ErrEventsLost the kernel drops new events until the queued
//     ones are read.
//   - An IPv6 address announced with a port does not fit next to TCP
//     timestamps, and the kernel drops the ADD_ADDR.
//
// The tests run against the kernel in their own network namespaces and
// need root. testdata/events.hex and testdata/replies.hex hold datagrams
// captured from Linux 6.18; refresh them, then the decoded text, with
//
//	go test ./pm -run CaptureGolden -update
//	go test ./pm -run GoldenEventsText -update
package pm
