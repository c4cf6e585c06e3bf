package clamp

import "github.com/cilium/ebpf"

// Program returns the sock_ops program of c, for tests that read its
// run-time statistics.
func Program(c *Clamper) *ebpf.Program { return c.objs.ClampSockops }
