// Package bpf is the fast path of mptcp-bpf-pm: BPF programs on TCP
// tracepoints that report per-subflow statistics of MPTCP connections
// to Go through a BPF ring buffer.
//
// Load attaches the programs; Tracer.Run calls a function for every
// record; Tracer.Close detaches them. Records are sent on a change that
// matters (a new subflow, an RTT or congestion window move, a
// retransmission, a TCP or congestion-avoidance state change, a close)
// and as a heartbeat with cumulative counters. The socket cookie in each
// record equals the inet_diag cookie, so records join inet_diag dumps.
package bpf
