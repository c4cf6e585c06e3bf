package nstest_test

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// TestLabPathsConnect checks that every client address reaches every
// server address and that source routing picks the path of the source.
func TestLabPathsConnect(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2, IPv6: v6})
		var ln net.Listener
		err := lab.Server.Do(func() (err error) {
			ln, err = net.Listen("tcp", ":7001")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		for _, p := range lab.Paths {
			for _, q := range lab.Paths {
				err := lab.Client.Do(func() error {
					d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(p.ClientAddr, 0))}
					c, err := d.Dial("tcp", netip.AddrPortFrom(q.ServerAddr, 7001).String())
					if err == nil {
						c.Close()
					}
					return err
				})
				if err != nil {
					t.Errorf("v6=%v connect %s -> %s: %v", v6, p.ClientAddr, q.ServerAddr, err)
				}
			}
		}
		ln.Close()
		out := lab.Client.Run(t, "ip", "route", "get", lab.Paths[0].ServerAddr.String(), "from", lab.Paths[1].ClientAddr.String())
		if want := "dev " + lab.Paths[1].ClientIf; !strings.Contains(out, want) {
			t.Errorf("v6=%v route from path 1 address = %q, want %q", v6, out, want)
		}
	}
}
