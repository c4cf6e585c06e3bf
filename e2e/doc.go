// Package e2e holds end-to-end tests: the mptcp-bpf-pm binary runs in a
// lab of network namespaces and manages real MPTCP connections, and the
// tests check the effect through inet_diag, independently of its logs.
package e2e
