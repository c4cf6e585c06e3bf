package diag_test

import (
	"fmt"
	"log"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
)

// List the MPTCP connections of the current network namespace with the
// round-trip time of each subflow.
func ExampleConn_Connections() {
	c, err := diag.Dial(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	conns, err := c.Connections(diag.Request{})
	if err != nil {
		log.Fatal(err)
	}
	for _, conn := range conns {
		fmt.Printf("token %08x: %d subflows\n", conn.Info.Token, len(conn.Subflows))
		for _, sf := range conn.Subflows {
			fmt.Printf("  %s -> %s rtt %dµs\n", sf.ID.Src, sf.ID.Dst, sf.Info.RTT)
		}
	}
}

// Count the established TCP sockets with local port 443 without copying
// them. The kernel filters on the port, and the callback gets each socket once.
func ExampleConn_WalkTCP() {
	c, err := diag.Dial(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	n := 0
	req := diag.Request{States: diag.States(diag.StateEstablished), SrcPort: 443}
	err = c.WalkTCP(req, func(*diag.TCPSocket) error {
		n++
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "connections on port 443")
}
