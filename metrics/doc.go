// Package metrics exports the daemon's counters and state as Prometheus
// metrics on its own registry, under the mptcp_bpf_pm_ prefix, with the
// standard Go runtime and process collectors beside them.
//
// Every method is safe on a nil *Metrics, so the daemon calls them
// unconditionally and pays nothing when metrics are off. Label values that
// come from outside (event types, command names, drop reasons) are capped
// per metric: past the cap they are counted under "other", so a bug or a
// new kernel cannot grow the series without bound.
package metrics
