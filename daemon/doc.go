// Package daemon joins the control path (package pm), the authoritative
// socket state (package diag) and the BPF statistics stream (package bpf)
// into a userspace MPTCP path manager.
//
// The daemon keeps a table of MPTCP connections and their subflows, tracks
// the host's addresses over rtnetlink, applies a policy that decides which
// subflows to open, and records statistics and events to JSON Lines files
// when asked to. It is the only package that logs.
package daemon
