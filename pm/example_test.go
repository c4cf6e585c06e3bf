package pm_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// Example opens a second subflow on every new userspace-PM connection,
// from 10.0.1.1 to the connection's remote address and port.
func Example() {
	events, err := pm.ListenEvents(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer events.Close()
	client, err := pm.Dial(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	local := pm.Local{Addr: netip.MustParseAddr("10.0.1.1"), ID: 1}
	for {
		evs, err := events.Receive()
		if errors.Is(err, pm.ErrEventsLost) {
			continue // resynchronise from sock_diag here
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, e := range evs {
			if e.Type != pm.EventEstablished {
				continue
			}
			err := client.SubflowCreate(e.Token, local, e.Remote)
			if err != nil {
				fmt.Println(err)
			}
		}
	}
}
