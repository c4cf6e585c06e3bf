package main

import (
	"net/netip"
	"testing"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

func pmPresent(attrs ...uint16) uint32 {
	var p uint32
	for _, a := range attrs {
		p |= 1 << a
	}
	return p
}

var pmSubEvent = pm.Event{
	Type: pm.EventSubEstablished, Token: 0x0a2b3c4d, Family: 2,
	Local:   netip.MustParseAddrPort("10.0.0.1:1000"),
	Remote:  netip.MustParseAddrPort("10.0.0.2:80"),
	LocalID: 1, IfIndex: 3,
	Present: pmPresent(pm.AttrToken, pm.AttrFamily, pm.AttrSaddr4,
		pm.AttrDaddr4, pm.AttrSport, pm.AttrDport, pm.AttrLocID,
		pm.AttrRemID, pm.AttrBackup, pm.AttrIfIdx),
}

func TestPMFormatEvent(t *testing.T) {
	closed := pm.Event{Type: pm.EventClosed, Token: 7, Present: pmPresent(pm.AttrToken)}
	for _, tc := range []struct {
		ev   pm.Event
		want string
	}{
		{pmSubEvent, "[  SF_ESTABLISHED] token=0a2b3c4d remid=0 locid=1 saddr4=10.0.0.1 " +
			"daddr4=10.0.0.2 sport=1000 dport=80 backup=0 ifindex=3"},
		{closed, "[          CLOSED] token=00000007"},
		{pm.Event{Type: 99}, "[UNKNOWN 99]"},
	} {
		if got := formatEvent(&tc.ev); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

func TestPMEventJSON(t *testing.T) {
	b, err := jsonLine(&pmSubEvent)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"sf_established","token":"0a2b3c4d","family":2,"locid":1,` +
		`"remid":0,"saddr":"10.0.0.1","daddr":"10.0.0.2","sport":1000,` +
		`"dport":80,"backup":false,"ifindex":3}` + "\n"
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestPMParseToken(t *testing.T) {
	for s, want := range map[string]uint32{"0x1a2b3c4d": 0x1a2b3c4d, "42": 42} {
		if got, err := parseToken(s); err != nil || got != want {
			t.Errorf("parseToken(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"1a2b3c4d", "0", "0x100000000", ""} {
		if _, err := parseToken(s); err == nil {
			t.Errorf("parseToken(%q) accepted", s)
		}
	}
}

func TestPMFormatLocal(t *testing.T) {
	l := pm.Local{Addr: netip.MustParseAddr("fd00::1"), Port: 7300, ID: 6,
		Flags: pm.FlagSignal | pm.FlagBackup, IfIndex: 3}
	got := formatLocal(l, map[int32]string{3: "eth1"})
	if want := "fd00::1 port 7300 id 6 signal backup dev eth1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = formatLocal(l, nil)
	if want := "fd00::1 port 7300 id 6 signal backup ifindex 3"; got != want {
		t.Errorf("without names: got %q, want %q", got, want)
	}
}
