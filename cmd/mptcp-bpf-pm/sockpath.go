package main

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// controlSocketDir holds the daemons' control sockets, one per network
// namespace.
const controlSocketDir = "/run/mptcp-bpf-pm"

// defaultControlSocket returns the control socket path of the daemon of
// the caller's network namespace: control.sock in the initial namespace,
// NAME.sock in a namespace named by "ip netns", else control-INODE.sock.
// Daemons in different namespaces thus never share a socket, and a client
// run with "ip netns exec NAME" finds the daemon of NAME.
func defaultControlSocket() string {
	var self, initial unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &self); err != nil {
		return filepath.Join(controlSocketDir, "control.sock")
	}
	if unix.Stat("/proc/1/ns/net", &initial) == nil && initial.Ino == self.Ino {
		return filepath.Join(controlSocketDir, "control.sock")
	}
	if entries, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range entries {
			var st unix.Stat_t
			if unix.Stat(filepath.Join("/run/netns", e.Name()), &st) == nil && st.Ino == self.Ino {
				return filepath.Join(controlSocketDir, e.Name()+".sock")
			}
		}
	}
	return filepath.Join(controlSocketDir, fmt.Sprintf("control-%d.sock", self.Ino))
}
