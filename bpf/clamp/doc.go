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
// # Limitations
//
//   - Caps apply at the next RTT callback of the subflow, that is at its
//     next ACK. An idle subflow keeps its old clamp until it sends again.
//   - Subflows established before Attach have no callbacks enabled and
//     cannot be capped.
//   - After Close the program is gone, so a capped subflow that does not
//     receive an ACK during Close's wait keeps its cap until it closes.
//   - The program needs CAP_BPF and CAP_NET_ADMIN, kernel BTF, and Linux
//     6.x (bpf_skc_to_tcp_sock in sock_ops, is_mptcp in struct tcp_sock).
package clamp
