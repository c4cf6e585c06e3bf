package pm_test

import (
	"net/netip"
	"os"
	"testing"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// benchClient dials a Client in a fresh namespace. Requests with an
// unknown token make the kernel do the full parse and token lookup and
// then fail, without changing any state.
func benchClient(b *testing.B) *pm.Client {
	b.Helper()
	ns := nstest.NewNS(b, "pmbench")
	f, err := os.Open(ns.Path())
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	c, err := pm.Dial(&pm.Config{NetNS: int(f.Fd())})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

var benchReq = pm.SubflowRequest{
	Token:  0xdead,
	Local:  pm.Local{Addr: netip.MustParseAddr("10.200.1.1"), ID: 1},
	Remote: netip.MustParseAddrPort("10.200.0.2:7100"),
}

// BenchmarkSubflowCreateSequential measures one request and its ack per
// round trip.
func BenchmarkSubflowCreateSequential(b *testing.B) {
	c := benchClient(b)
	for b.Loop() {
		if err := c.SubflowCreate(benchReq.Token, benchReq.Local, benchReq.Remote); err == nil {
			b.Fatal("unknown token accepted")
		}
	}
}

// BenchmarkSubflowCreateBatch measures requests sent in batches of 256;
// the reported time is per request.
func BenchmarkSubflowCreateBatch(b *testing.B) {
	c := benchClient(b)
	reqs := make([]pm.SubflowRequest, 256)
	for i := range reqs {
		reqs[i] = benchReq
	}
	n := 0
	for b.Loop() {
		if n%len(reqs) == 0 {
			if errs := c.SubflowCreateBatch(reqs); errs[0] == nil {
				b.Fatal("unknown token accepted")
			}
		}
		n++
	}
}
