package diag

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// TestCompareSS compares the decoded sockets field by field with what
// ss -tinmM prints for the same sockets, on both ends of a paused MPTCP
// transfer with two subflows. Every ss value must lie between the values
// of a dump taken just before ss and one taken just after.
func TestCompareSS(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		name := "ipv4"
		if v6 {
			name = "ipv6"
		}
		t.Run(name, func(t *testing.T) {
			tr := startTransfer(t, v6, 4<<20)
			client := dialNS(t, tr.lab.Client)
			server := dialNS(t, tr.lab.Server)
			waitSubflows(t, client, 2)
			tr.pause()
			waitIdle(t, client, server)

			compareNS(t, "client", tr.lab.Client, client)
			compareNS(t, "server", tr.lab.Server, server)
		})
	}
}

// waitIdle waits until no data is in flight or queued on either end.
func waitIdle(t *testing.T, client, server *Conn) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if idle(t, client) && idle(t, server) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("transfer still moving data 10s after the writer stopped")
}

func idle(t *testing.T, c *Conn) bool {
	t.Helper()
	busy := false
	err := c.WalkTCP(Request{}, func(s *TCPSocket) error {
		if s.RecvQueue != 0 || s.SendQueue != 0 || s.Info.Unacked != 0 || s.Info.NotsentBytes != 0 {
			busy = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("WalkTCP: %v", err)
	}
	err = c.WalkMPTCP(Request{}, func(s *MPTCPSocket) error {
		if s.RecvQueue != 0 || s.SendQueue != 0 || s.Info.WriteSeq != s.Info.SndUna {
			busy = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("WalkMPTCP: %v", err)
	}
	return !busy
}

type snapshot struct {
	tcp   map[string]TCPSocket
	mptcp map[string]MPTCPSocket
}

func takeSnapshot(t *testing.T, c *Conn) snapshot {
	t.Helper()
	all := Request{States: AllStates}
	tcp, err := c.DumpTCP(all)
	if err != nil {
		t.Fatalf("DumpTCP: %v", err)
	}
	mptcp, err := c.DumpMPTCP(all)
	if err != nil {
		t.Fatalf("DumpMPTCP: %v", err)
	}
	s := snapshot{tcp: map[string]TCPSocket{}, mptcp: map[string]MPTCPSocket{}}
	for _, x := range tcp {
		s.tcp[key(x.ID)] = x
	}
	for _, x := range mptcp {
		s.mptcp[key(x.ID)] = x
	}
	return s
}

func key(id SockID) string {
	peer := id.Dst.String()
	if id.Dst.Port() == 0 {
		peer = "*"
	}
	return id.Src.String() + " " + peer
}

func compareNS(t *testing.T, side string, ns *nstest.NS, c *Conn) {
	t.Helper()
	before := takeSnapshot(t, c)
	out := ns.Run(t, "ss", "-tinmMHa")
	after := takeSnapshot(t, c)

	entries := parseSS(t, out)
	var subflows, msks int
	for _, e := range entries {
		peer := e.peer.String()
		if !e.peer.IsValid() {
			peer = "*"
		}
		k := e.local.String() + " " + peer
		where := fmt.Sprintf("%s %s %s", side, e.netid, k)
		switch e.netid {
		case "tcp":
			b, okb := before.tcp[k]
			a, oka := after.tcp[k]
			if !okb || !oka {
				t.Errorf("%s: in ss output but not in both dumps", where)
				continue
			}
			compareTCP(t, where, ns, e, &b, &a)
			if b.Subflow != nil && b.State == StateEstablished {
				subflows++
			}
		case "mptcp":
			b, okb := before.mptcp[k]
			a, oka := after.mptcp[k]
			if !okb || !oka {
				t.Errorf("%s: in ss output but not in both dumps", where)
				continue
			}
			compareMPTCP(t, where, e, &b, &a)
			msks++
		}
	}
	if subflows != 2 {
		t.Errorf("%s: compared %d established subflows, want 2", side, subflows)
	}
	if msks == 0 {
		t.Errorf("%s: compared no MPTCP socket", side)
	}
}

// tcpInfoFields maps ss keys to tcp_info fields. Keys ending in _ms are
// printed by ss in milliseconds.
var tcpInfoFields = []struct {
	ss  string
	ms  bool
	get func(*TCPInfo) uint64
}{
	{"cwnd", false, func(i *TCPInfo) uint64 { return uint64(i.SndCwnd) }},
	{"ssthresh", false, func(i *TCPInfo) uint64 { return uint64(i.SndSsthresh) }},
	{"bytes_sent", false, func(i *TCPInfo) uint64 { return i.BytesSent }},
	{"bytes_acked", false, func(i *TCPInfo) uint64 { return i.BytesAcked }},
	{"bytes_received", false, func(i *TCPInfo) uint64 { return i.BytesReceived }},
	{"bytes_retrans", false, func(i *TCPInfo) uint64 { return i.BytesRetrans }},
	{"segs_out", false, func(i *TCPInfo) uint64 { return uint64(i.SegsOut) }},
	{"segs_in", false, func(i *TCPInfo) uint64 { return uint64(i.SegsIn) }},
	{"data_segs_out", false, func(i *TCPInfo) uint64 { return uint64(i.DataSegsOut) }},
	{"data_segs_in", false, func(i *TCPInfo) uint64 { return uint64(i.DataSegsIn) }},
	{"delivered", false, func(i *TCPInfo) uint64 { return uint64(i.Delivered) }},
	{"mss", false, func(i *TCPInfo) uint64 { return uint64(i.SndMSS) }},
	{"rcvmss", false, func(i *TCPInfo) uint64 { return uint64(i.RcvMSS) }},
	{"advmss", false, func(i *TCPInfo) uint64 { return uint64(i.AdvMSS) }},
	{"pmtu", false, func(i *TCPInfo) uint64 { return uint64(i.PMTU) }},
	{"snd_wnd", false, func(i *TCPInfo) uint64 { return uint64(i.SndWnd) }},
	{"rcv_space", false, func(i *TCPInfo) uint64 { return uint64(i.RcvSpace) }},
	{"rcv_ssthresh", false, func(i *TCPInfo) uint64 { return uint64(i.RcvSsthresh) }},
	{"unacked", false, func(i *TCPInfo) uint64 { return uint64(i.Unacked) }},
	{"lost", false, func(i *TCPInfo) uint64 { return uint64(i.Lost) }},
	{"notsent", false, func(i *TCPInfo) uint64 { return uint64(i.NotsentBytes) }},
	{"reordering", false, func(i *TCPInfo) uint64 { return uint64(i.Reordering) }},
	{"minrtt", true, func(i *TCPInfo) uint64 { return uint64(i.MinRTT) }},
	{"rto", true, func(i *TCPInfo) uint64 { return uint64(i.RTO) }},
	{"ato", true, func(i *TCPInfo) uint64 { return uint64(i.ATO) }},
	{"rcv_rtt", true, func(i *TCPInfo) uint64 { return uint64(i.RcvRTT) }},
}

func compareTCP(t *testing.T, where string, ns *nstest.NS, e ssEntry, b, a *TCPSocket) {
	t.Helper()
	if got := b.State.String(); got != e.state {
		t.Errorf("%s state: ss %s, diag %s", where, e.state, got)
	}
	between(t, where, "Recv-Q", e.recvQ, uint64(b.RecvQueue), uint64(a.RecvQueue))
	between(t, where, "Send-Q", e.sendQ, uint64(b.SendQueue), uint64(a.SendQueue))
	compareDev(t, where, ns, e.dev, b.ID.IfIndex)
	if b.Congestion == "" || !e.words[b.Congestion] {
		t.Errorf("%s congestion control %q not printed by ss", where, b.Congestion)
	}
	compareMem(t, where, e, b.Mem, a.Mem)
	if b.Info == nil || a.Info == nil {
		t.Fatalf("%s: no tcp_info", where)
	}
	compareTCPInfo(t, where, e, b.Info, a.Info)
	compareBBR(t, where, e, b, a)
	compareULP(t, where, e, b, a)
}

func compareTCPInfo(t *testing.T, where string, e ssEntry, b, a *TCPInfo) {
	t.Helper()
	for _, f := range tcpInfoFields {
		v, ok := e.fields[f.ss]
		if !ok {
			continue
		}
		var ss uint64
		if f.ms {
			ss = msToMicros(t, v)
		} else {
			ss = mustUint(t, v, 10)
		}
		between(t, where, f.ss, ss, f.get(b), f.get(a))
	}

	rtt, rttvar, ok := strings.Cut(e.fields["rtt"], "/")
	if !ok && b.State != uint8(StateListen) {
		t.Errorf("%s: ss printed no rtt", where)
	}
	if ok {
		between(t, where, "rtt", msToMicros(t, rtt), uint64(b.RTT), uint64(a.RTT))
		between(t, where, "rttvar", msToMicros(t, rttvar), uint64(b.RTTVar), uint64(a.RTTVar))
	}
	if ws, ok := e.fields["wscale"]; ok {
		want := fmt.Sprintf("%d,%d", b.SndWScale, b.RcvWScale)
		if ws != want {
			t.Errorf("%s wscale: ss %s, diag %s", where, ws, want)
		}
	}
}

func compareDev(t *testing.T, where string, ns *nstest.NS, dev string, ifindex uint32) {
	t.Helper()
	if dev == "" {
		if ifindex != 0 {
			t.Errorf("%s: ss shows no device, diag ifindex %d", where, ifindex)
		}
		return
	}
	var want int
	err := ns.Do(func() error {
		ifc, err := net.InterfaceByName(dev)
		if err == nil {
			want = ifc.Index
		}
		return err
	})
	if err != nil {
		t.Fatalf("%s: interface %s: %v", where, dev, err)
	}
	if int(ifindex) != want {
		t.Errorf("%s ifindex: ss %s (%d), diag %d", where, dev, want, ifindex)
	}
}

func compareMem(t *testing.T, where string, e ssEntry, b, a *MemInfo) {
	t.Helper()
	v, ok := e.fields["skmem"]
	if !ok {
		return
	}
	if b == nil || a == nil {
		t.Errorf("%s: ss printed skmem, diag has no socket memory", where)
		return
	}
	g := group(v)
	for _, f := range []struct {
		key string
		get func(*MemInfo) uint32
	}{
		{"r", func(m *MemInfo) uint32 { return m.RmemAlloc }},
		{"rb", func(m *MemInfo) uint32 { return m.RcvBuf }},
		{"t", func(m *MemInfo) uint32 { return m.WmemAlloc }},
		{"tb", func(m *MemInfo) uint32 { return m.SndBuf }},
		{"f", func(m *MemInfo) uint32 { return m.FwdAlloc }},
		{"w", func(m *MemInfo) uint32 { return m.WmemQueued }},
		{"o", func(m *MemInfo) uint32 { return m.OptMem }},
		{"bl", func(m *MemInfo) uint32 { return m.Backlog }},
		{"d", func(m *MemInfo) uint32 { return m.Drops }},
	} {
		s, ok := g[f.key]
		if !ok {
			t.Errorf("%s: skmem without %s: %s", where, f.key, v)
			continue
		}
		between(t, where, "skmem "+f.key, mustUint(t, s, 10), uint64(f.get(b)), uint64(f.get(a)))
	}
}

func compareBBR(t *testing.T, where string, e ssEntry, b, a *TCPSocket) {
	t.Helper()
	v, ok := e.fields["bbr"]
	if !ok {
		return
	}
	if b.BBR == nil || a.BBR == nil {
		t.Errorf("%s: ss printed bbr info, diag has none", where)
		return
	}
	g := group(v)
	bw := mustUint(t, strings.TrimSuffix(g["bw"], "bps"), 10)
	between(t, where, "bbr bw", bw, b.BBR.BW*8, a.BBR.BW*8)
	between(t, where, "bbr mrtt", msToMicros(t, g["mrtt"]), uint64(b.BBR.MinRTT), uint64(a.BBR.MinRTT))
	for _, gain := range []struct {
		key  string
		b, a uint32
	}{{"pacing_gain", b.BBR.PacingGain, a.BBR.PacingGain}, {"cwnd_gain", b.BBR.CwndGain, a.BBR.CwndGain}} {
		s, ok := g[gain.key]
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%s bbr %s %q: %v", where, gain.key, s, err)
		}
		between(t, where, "bbr "+gain.key, uint64(f*256+0.5), uint64(gain.b), uint64(gain.a))
	}
}

func compareULP(t *testing.T, where string, e ssEntry, b, a *TCPSocket) {
	t.Helper()
	if !e.words["tcp-ulp-mptcp"] {
		if b.ULP == "mptcp" {
			t.Errorf("%s: diag ULP mptcp, ss prints no tcp-ulp-mptcp", where)
		}
		return
	}
	if b.ULP != "mptcp" {
		t.Errorf("%s ULP: ss mptcp, diag %q", where, b.ULP)
	}
	if _, ok := e.fields["token"]; !ok {
		return // a listener prints the ULP name only
	}
	if b.Subflow == nil || a.Subflow == nil {
		t.Fatalf("%s: ss prints subflow info, diag has none", where)
	}
	sb, sa := b.Subflow, a.Subflow
	if got := sb.FlagString(); got != e.fields["flags"] {
		t.Errorf("%s subflow flags: ss %s, diag %s (%#x)", where, e.fields["flags"], got, sb.Flags)
	}
	want := fmt.Sprintf("%04x(id:%d)/%08x(id:%d)", sb.RemoteToken, sb.RemoteID, sb.LocalToken, sb.LocalID)
	if !tokenEqual(e.fields["token"], want) {
		t.Errorf("%s token: ss %s, diag %s", where, e.fields["token"], want)
	}
	hex := func(k string) uint64 { return mustUint(t, e.fields[k], 16) }
	between(t, where, "seq", hex("seq"), sb.MapSeq, sa.MapSeq)
	between(t, where, "sfseq", hex("sfseq"), uint64(sb.MapSubflowSeq), uint64(sa.MapSubflowSeq))
	between(t, where, "ssnoff", hex("ssnoff"), uint64(sb.SSNOffset), uint64(sa.SSNOffset))
	between(t, where, "maplen", hex("maplen"), uint64(sb.MapDataLen), uint64(sa.MapDataLen))
}

// tokenEqual compares "rem(id:n)/loc(id:m)" as numbers, because ss pads
// the hex tokens to different widths.
func tokenEqual(ss, diag string) bool {
	norm := func(s string) string {
		var rt, lt uint64
		var ri, li int
		r := strings.NewReplacer("(id:", " ", ")/", " ", ")", "")
		if _, err := fmt.Sscanf(r.Replace(s), "%x %d %x %d", &rt, &ri, &lt, &li); err != nil {
			return "invalid " + s
		}
		return fmt.Sprint(rt, ri, lt, li)
	}
	return norm(ss) == norm(diag)
}

func compareMPTCP(t *testing.T, where string, e ssEntry, b, a *MPTCPSocket) {
	t.Helper()
	if got := b.State.String(); got != e.state {
		t.Errorf("%s state: ss %s, diag %s", where, e.state, got)
	}
	if b.State == StateListen {
		return
	}
	if b.Info == nil || a.Info == nil {
		t.Fatalf("%s: no mptcp_info", where)
	}

	bi, ai := b.Info, a.Info
	for _, f := range []struct {
		key  string
		b, a uint8
	}{
		{"subflows", bi.Subflows, ai.Subflows},
		{"add_addr_signal", bi.AddAddrSignal, ai.AddAddrSignal},
		{"add_addr_accepted", bi.AddAddrAccepted, ai.AddAddrAccepted},
		{"subflows_max", bi.SubflowsMax, ai.SubflowsMax},
		{"add_addr_signal_max", bi.AddAddrSignalMax, ai.AddAddrSignalMax},
		{"add_addr_accepted_max", bi.AddAddrAcceptedMax, ai.AddAddrAcceptedMax},
	} {
		v, ok := e.fields[f.key]
		if !ok {
			if f.b != 0 && f.a != 0 {
				t.Errorf("%s: ss omits %s, diag %d", where, f.key, f.b)
			}
			continue
		}
		between(t, where, f.key, mustUint(t, v, 10), uint64(f.b), uint64(f.a))
	}

	hex := func(k string) uint64 { return mustUint(t, e.fields[k], 16) }
	between(t, where, "token", hex("token"), uint64(bi.Token), uint64(ai.Token))
	between(t, where, "write_seq", hex("write_seq"), bi.WriteSeq, ai.WriteSeq)
	between(t, where, "snd_una", hex("snd_una"), bi.SndUna, ai.SndUna)
	between(t, where, "rcv_nxt", hex("rcv_nxt"), bi.RcvNxt, ai.RcvNxt)

	if e.words["remote_key"] != (bi.Flags&MPTCPInfoFlagRemoteKeyReceived != 0) {
		t.Errorf("%s remote_key: ss %v, diag flags %#x", where, e.words["remote_key"], bi.Flags)
	}
	if e.words["fallback"] != (bi.Flags&MPTCPInfoFlagFallback != 0) {
		t.Errorf("%s fallback: ss %v, diag flags %#x", where, e.words["fallback"], bi.Flags)
	}
	compareMem(t, where, e, b.Mem, a.Mem)
}
