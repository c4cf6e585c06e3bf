// Package diag reads the kernel's authoritative socket state over
// NETLINK_SOCK_DIAG (inet_diag): TCP sockets with tcp_info, congestion
// control, socket memory and the MPTCP subflow info, MPTCP sockets with
// mptcp_info, and the two joined into connections with their subflows.
package diag
