// Package clamp caps the congestion window of single MPTCP subflows on a
// stock kernel, with a sock_ops program attached to a cgroup v2.
//
// The program runs for every TCP socket of the processes in the cgroup and
// its descendants. MPTCP subflows take the cgroup of their MPTCP socket, so
// this includes joins that the in-kernel path manager creates and joins
// that a userspace path manager requests over generic netlink from any
// cgroup. At
// ACTIVE_ESTABLISHED or PASSIVE_ESTABLISHED it enables the RTT and state
// callbacks on each subflow. On every callback it looks the socket cookie
// up in a map of caps that [Clamper.Set] writes, and calls
// bpf_setsockopt(SOL_TCP, TCP_BPF_SNDCWND_CLAMP) when the subflow's
// snd_cwnd_clamp differs from the cap.
//
// # What a cap does
//
// TCP_BPF_SNDCWND_CLAMP sets snd_cwnd_clamp and also sets snd_ssthresh to
// the same value; it does not write snd_cwnd. A cwnd above the cap falls
// to it at the next slow start or congestion avoidance step, which the
// kernel takes on an ACK while the subflow is cwnd-limited. Later growth
// never passes the clamp, but ssthresh can still move after a loss.
// Capping one subflow of a connection made the aggregate throughput
// erratic in the lab; docs/OPTIMIZER.md has the numbers.
//
// A cap of 0 (or [Clamper.Clear]) restores the clamp the program found
// before its first cap on that subflow, the kernel default unless a route
// metric locks cwnd. bpf_setsockopt takes an int, so the default
// 4294967295 is restored as 2147483647, which TCP treats the same. The
// restore also sets ssthresh to that value, so the subflow starts slow
// start again.
//
// # Applying caps at once
//
// [Clamper.Set] and [Clamper.Clear] only write the map, so a change takes
// effect at the subflow's next RTT callback, that is at its next ACK. An
// idle subflow keeps its old clamp until it sends again, and a subflow
// established before Attach has no callbacks enabled at all.
// [Clamper.Sync] closes both gaps: a BPF TCP iterator walks the sockets of
// the caller's network namespace, applies the caps of the subflows that
// have one, restores the cleared ones and enables the callbacks on them.
// Call it after a batch of Set and Clear calls.
//
// # Limitations
//
//   - Sync only reaches subflows in the calling thread's network
//     namespace; elsewhere, changes wait for the next ACK.
//   - After Close the programs are gone. Close restores what Sync can
//     reach and waits up to one second for the ACKs of the others. A
//     subflow restored neither way keeps its cap until it closes.
//   - The programs need CAP_BPF and CAP_NET_ADMIN, kernel BTF, and Linux
//     6.x (bpf_skc_to_tcp_sock in sock_ops, is_mptcp in struct tcp_sock,
//     bpf_setsockopt in the TCP iterator). Enabling callbacks from Sync
//     needs TCP_BPF_SOCK_OPS_CB_FLAGS, which Linux 6.18 has.
package clamp
