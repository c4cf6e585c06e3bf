// Package bpf is the fast path of mptcp-bpf-pm: BPF programs on TCP
// tracepoints that report per-subflow statistics of MPTCP connections to
// Go through a BPF ring buffer.
//
// # Use
//
// Load attaches the programs, Tracer.Run calls a function for every
// record, Tracer.Drops reads the loss counters, and Tracer.Close detaches
// everything. When nothing can be loaded (no kernel BTF, no CAP_BPF, a
// kernel older than 5.8) the error of Load matches ErrUnsupported and
// the caller falls back to polling inet_diag.
//
// # Programs
//
// Five programs share one filter and one per-subflow state:
//
//   - tcp_probe, on every received segment of an established socket
//     (85,000 runs per second for a 13 Gbit/s transfer, both ends on
//     one host, in BENCHMARK.md), for statistics;
//   - tcp_retransmit_skb, for retransmissions;
//   - inet_sock_set_state, for TCP state changes, including the close;
//   - tcp_cong_state_set, for congestion-avoidance state changes;
//   - tcp_destroy_sock, which only frees the state.
//
// Each program first drops what it does not report, cheapest test first.
// The tcp_* tracepoints fire only on TCP sockets, and
// inet_sock_set_state is checked for IPPROTO_TCP, which drops the MPTCP
// sockets themselves (IPPROTO_MPTCP). Then come the address family, an
// MPTCP subflow (unless Options.AllTCP), and the network namespace
// Options.NetNSInode. With Options.TokenFilter the last check is that
// the connection's token was added.
//
// # Variants
//
// Load tries two compiled variants and keeps the first that loads and
// attaches. Tracer.Mode returns which one:
//
//   - "tp_btf" (Linux 6.2+ with kernel BTF) reads fields by direct loads,
//     keeps state in socket local storage, which the kernel frees with
//     the socket, and puts the socket cookie in every record.
//   - "raw_tp" (Linux 5.8+ with kernel BTF) reads every field with
//     bpf_probe_read_kernel and keeps state in an LRU hash of 16,384
//     sockets keyed by socket address, deleted when the socket closes or
//     is destroyed. Raw tracepoint programs may not call
//     bpf_get_socket_cookie, so Record.Cookie stays 0 until something
//     else (an inet_diag dump, SO_COOKIE) has made the kernel assign it.
//
// Both use CO-RE relocations against kernel BTF. Kprobes and fentry are
// not used: kernels without CONFIG_KPROBES, or in lockdown, reject them.
//
// # Records
//
// The identity of a subflow (cookie, token, address ids, addresses) is
// cached at first sight, because the kernel wipes it from the subflow
// context when the subflow closes. The first record of a subflow
// (ReasonNew) goes out once its ports and token are known: at SYN_SENT
// for a join, at ESTABLISHED for the first subflow. Later records go out
// only on a change that matters, with thresholds set at load time:
//
//   - smoothed RTT moved by more than Options.RTTChange (1/8) and more
//     than Options.RTTFloor (100 µs);
//   - congestion window fell by Options.CwndDecrease (1/8) or grew by
//     Options.CwndIncrease (1/4);
//   - a retransmission, a TCP state change, a congestion-avoidance state
//     change (ReasonLoss when it enters Recovery or Loss), the close;
//   - Options.Heartbeat (200 ms) since the last record, checked on each
//     event, so an idle subflow sends no heartbeat.
//
// Counters in a record are cumulative, so consecutive records give rates.
// The tcp_probe tracepoint fires before the kernel processes the segment,
// so its records show the state before that segment. The update from the
// last ACK before an idle period therefore shows only with the next
// event, at the latest the state change of the close.
// When the ring buffer is full the record is dropped and counted in
// Drops.Ring, and the baseline for the change test is left as it was, so
// the next event of that subflow reports the change again.
//
// # Wakeups
//
// Waking the reader is what costs most per record, not copying it. New,
// close, retransmit and loss records force a wakeup; the others are
// queued without one, and Run drains them every Options.DrainInterval
// (20 ms). Routine records therefore reach Go up to that much later.
//
// # Building
//
// The C sources are subflow.c (tp_btf), subflow_raw.c (raw_tp) and the
// shared subflow_core.h and subflow.h. "make generate" rebuilds the
// committed objects and loaders with bpf2go; it needs clang, llvm-strip
// and the libbpf headers. headers/vmlinux.h was dumped from the kernel
// BTF of Linux 6.18 with bpftool btf dump file /sys/kernel/btf/vmlinux
// format c.
package bpf
