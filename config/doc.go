// Package config reads the daemon's configuration file: one "key = value"
// setting per line, whose keys are the long flag names of "mptcp-bpf-pm
// run" and whose values are written as on the command line.
//
//	# full mesh over every address, statistics recorded
//	policy = fullmesh
//	diag-interval = 500ms
//	backup-interfaces = wwan0,wlan0
//	record = "/var/lib/mptcp-bpf-pm/run 1"
//
// Blank lines and lines starting with # are ignored, and so is " #" and
// what follows it in an unquoted value. A value in double quotes is
// unquoted as a Go string literal, so it may hold #, spaces or escapes.
// Each key may appear once. Flags given on the command line override the
// file.
package config
