package diag

import (
	"testing"
)

func TestConnectionsTwoSubflows(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		name := "ipv4"
		if v6 {
			name = "ipv6"
		}
		t.Run(name, func(t *testing.T) {
			tr := startTransfer(t, v6, 4<<20)
			c := dialNS(t, tr.lab.Client)
			conn := waitSubflows(t, c, 2)

			if conn.Info == nil || conn.Info.Token == 0 {
				t.Fatalf("connection without token: %+v", conn.MPTCPSocket)
			}
			// The writer has handed 4 MiB to the socket; part of it
			// may still wait in the MPTCP send queue.
			if conn.Info.BytesSent == 0 {
				t.Errorf("mptcp bytes_sent = 0 after a 4 MiB write")
			}
			var acked uint64
			for _, sf := range conn.Subflows {
				if sf.Subflow.LocalToken != conn.Info.Token {
					t.Errorf("subflow %s token %#x, want %#x", sf.ID.Src, sf.Subflow.LocalToken, conn.Info.Token)
				}
				if sf.Info == nil {
					t.Fatalf("subflow %s without tcp_info", sf.ID.Src)
				}
				acked += sf.Info.BytesAcked
			}
			if acked == 0 {
				t.Errorf("subflows acked 0 bytes")
			}
			if !conn.Subflows[0].Subflow.Initial() {
				t.Errorf("first subflow flags %s, want the initial subflow", conn.Subflows[0].Subflow.FlagString())
			}
			if got := conn.Subflows[1].ID.Src.Addr(); got != tr.lab.Paths[1].ClientAddr {
				t.Errorf("join source %s, want %s", got, tr.lab.Paths[1].ClientAddr)
			}
			t.Logf("token %08x: %d subflows, sent %d", conn.Info.Token, len(conn.Subflows), conn.Info.BytesSent)
			for _, sf := range conn.Subflows {
				t.Logf("  %s -> %s id %d/%d %s rtt %dus cwnd %d acked %d", sf.ID.Src, sf.ID.Dst,
					sf.Subflow.LocalID, sf.Subflow.RemoteID, sf.Subflow.FlagString(),
					sf.Info.RTT, sf.Info.SndCwnd, sf.Info.BytesAcked)
			}
		})
	}
}
