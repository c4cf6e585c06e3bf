// Package plot renders a run recorded with "mptcp-bpf-pm run --record DIR"
// into figures: per-subflow throughput, smoothed RTT and congestion window
// over time, each as PNG and SVG, with path-manager events marked, plus an
// HTML page that shows them beside the run's metadata.
//
// Throughput is the rate of bytes_acked between the ends of fixed time
// bins. BPF samples are used for a subflow when it has any, inet_diag
// samples otherwise.
package plot
