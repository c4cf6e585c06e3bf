package optimizer_test

import (
	"net/netip"
	"testing"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/optimizer"
)

func TestFromDiag(t *testing.T) {
	local := netip.MustParseAddrPort("[::ffff:10.200.1.1]:40000")
	remote := netip.MustParseAddrPort("10.200.1.2:5201")
	c := diag.Connection{
		MPTCPSocket: diag.MPTCPSocket{
			Socket: diag.Socket{State: diag.StateFinWait1,
				ID: diag.SockID{Src: local, Dst: remote}},
			Info: &diag.MPTCPInfo{Token: 77},
		},
		Subflows: []diag.TCPSocket{{
			Socket: diag.Socket{ID: diag.SockID{Src: local, Dst: remote,
				Cookie: 9}},
			Info: &diag.TCPInfo{RTT: 400, RTTVar: 50, SndCwnd: 20,
				SndSsthresh: 30, BytesAcked: 1000, BytesSent: 1100,
				TotalRetrans: 2, DeliveryRate: 5000},
			Subflow: &diag.SubflowInfo{LocalID: 2, RemoteID: 3,
				Flags: diag.SubflowFlagBackupLoc},
		}},
	}
	in := optimizer.FromDiag(c)

	wantConn := optimizer.Connection{Token: 77,
		Local:  netip.MustParseAddrPort("10.200.1.1:40000"),
		Remote: remote, State: "fin-wait-1"}
	if in.Connection != wantConn {
		t.Errorf("Connection = %+v, want %+v", in.Connection, wantConn)
	}
	want := optimizer.Subflow{Cookie: 9, Local: wantConn.Local,
		Remote: remote, LocalID: 2, RemoteID: 3, Backup: true,
		SRTT: 400, RTTVar: 50, SndCwnd: 20, Ssthresh: 30,
		BytesAcked: 1000, BytesSent: 1100, Retrans: 2,
		DeliveryRate: 5000}
	if len(in.Subflows) != 1 || in.Subflows[0] != want {
		t.Errorf("Subflows = %+v, want [%+v]", in.Subflows, want)
	}
}
