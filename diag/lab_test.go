package diag

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// transfer is an MPTCP connection in a lab: the client keeps writing
// until stop is called, and the server reads everything.
type transfer struct {
	lab    *nstest.Lab
	client net.Conn
	server net.Conn
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// startTransfer builds a lab whose client uses the in-kernel path manager
// with a subflow endpoint on path 1, so the kernel opens a second subflow,
// and starts a transfer that sends at least minBytes before returning.
func startTransfer(t *testing.T, ipv6 bool, minBytes int) *transfer {
	t.Helper()
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2, IPv6: ipv6, ClientPM: "kernel"})
	lab.Client.Run(t, "ip", "mptcp", "endpoint", "add",
		lab.Paths[1].ClientAddr.String(), "dev", lab.Paths[1].ClientIf, "subflow")

	addr := lab.ServerAddrPort(5201)
	var ln net.Listener
	err := lab.Server.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp", addr.String())
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })

	tr := &transfer{lab: lab}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
		io.Copy(io.Discard, c)
	}()

	err = lab.Client.Do(func() error {
		var d net.Dialer
		d.SetMultipathTCP(true)
		var err error
		tr.client, err = d.Dial("tcp", addr.String())
		return err
	})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	tr.server = <-accepted
	if tr.server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(tr.stop)

	ctx, cancel := context.WithCancel(context.Background())
	tr.cancel = cancel
	sent := make(chan struct{})
	tr.wg.Add(1)
	go func() {
		defer tr.wg.Done()
		buf := make([]byte, 64<<10)
		total, signalled := 0, false
		for ctx.Err() == nil {
			n, err := tr.client.Write(buf)
			total += n
			if total >= minBytes && !signalled {
				close(sent)
				signalled = true
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-sent:
	case <-time.After(20 * time.Second):
		t.Fatalf("sending %d bytes took more than 20s", minBytes)
	}
	return tr
}

// pause stops the writer and waits for it to return.
func (tr *transfer) pause() {
	tr.cancel()
	tr.wg.Wait()
}

func (tr *transfer) stop() {
	tr.cancel()
	tr.client.Close()
	tr.server.Close()
	tr.wg.Wait()
}

// dialNS opens a Conn in the namespace ns.
func dialNS(t *testing.T, ns *nstest.NS) *Conn {
	t.Helper()
	f, err := os.Open(ns.Path())
	if err != nil {
		t.Fatalf("open netns: %v", err)
	}
	defer f.Close()
	c, err := Dial(&Config{NetNS: int(f.Fd())})
	if err != nil {
		t.Fatalf("Dial in %s: %v", ns.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitSubflows polls until the only connection in c has n subflows.
func waitSubflows(t *testing.T, c *Conn, n int) Connection {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last []Connection
	for time.Now().Before(deadline) {
		conns, err := c.Connections(Request{})
		if err != nil {
			t.Fatalf("Connections: %v", err)
		}
		if len(conns) == 1 && len(conns[0].Subflows) == n {
			return conns[0]
		}
		last = conns
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no connection with %d subflows after 10s; last: %s", n, describe(last))
	return Connection{}
}

func describe(conns []Connection) string {
	s := fmt.Sprintf("%d connections", len(conns))
	for _, c := range conns {
		s += fmt.Sprintf(" [%s->%s %d subflows]", c.ID.Src, c.ID.Dst, len(c.Subflows))
	}
	return s
}
