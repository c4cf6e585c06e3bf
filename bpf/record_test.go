package bpf

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"testing"
	"unsafe"
)

// recordOffsets are the byte offsets UnmarshalBinary reads, by field of the
// bpf2go type generated from struct record.
var recordOffsets = map[string]uintptr{
	"TimestampNs": 0, "Cookie": 8, "BytesAcked": 16, "BytesSent": 24,
	"BytesRetrans": 32, "PacingRate": 40, "DeliveryRate": 48,
	"Reason": 56, "Token": 60, "SrttUs": 64, "RttvarUs": 68,
	"MinRttUs": 72, "SndCwnd": 76, "SndSsthresh": 80,
	"PacketsOut": 84, "TotalRetrans": 88, "LostOut": 92,
	"Delivered": 96, "Saddr": 100, "Daddr": 116, "Sport": 132,
	"Dport": 134, "Family": 136, "LocalId": 138, "RemoteId": 140,
	"Backup": 141, "TcpState": 142, "CaState": 143,
}

func TestRecordLayout(t *testing.T) {
	if got := unsafe.Sizeof(subflowRecord{}); got != recordSize {
		t.Fatalf("sizeof(struct record) = %d, UnmarshalBinary expects %d", got, recordSize)
	}
	typ := reflect.TypeFor[subflowRecord]()
	seen := 0
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Name == "_" {
			continue
		}
		want, ok := recordOffsets[f.Name]
		if !ok {
			t.Errorf("struct record field %s is not decoded", f.Name)
			continue
		}
		seen++
		if f.Offset != want {
			t.Errorf("struct record field %s at offset %d, UnmarshalBinary reads %d", f.Name, f.Offset, want)
		}
	}
	if seen != len(recordOffsets) {
		t.Errorf("UnmarshalBinary reads %d fields, struct record has %d", len(recordOffsets), seen)
	}
}

// encodeRecord is the inverse of UnmarshalBinary, through the generated type.
func encodeRecord(r *Record) []byte {
	k := subflowRecord{
		TimestampNs: r.Timestamp, Cookie: r.Cookie,
		BytesAcked: r.BytesAcked, BytesSent: r.BytesSent,
		BytesRetrans: r.BytesRetrans, PacingRate: r.PacingRate,
		DeliveryRate: r.DeliveryRate, Reason: uint32(r.Reason),
		Token: r.Token, SrttUs: r.SRTT, RttvarUs: r.RTTVar,
		MinRttUs: r.MinRTT, SndCwnd: r.SndCwnd,
		SndSsthresh: r.SndSsthresh, PacketsOut: r.PacketsOut,
		TotalRetrans: r.TotalRetrans, LostOut: r.Lost,
		Delivered: r.Delivered, Sport: r.Src.Port(),
		Dport: r.Dst.Port(), Family: r.Family, LocalId: r.LocalID,
		RemoteId: r.RemoteID, TcpState: r.TCPState,
		CaState: r.CAState,
	}
	if r.Backup {
		k.Backup = 1
	}
	src, dst := r.Src.Addr().AsSlice(), r.Dst.Addr().AsSlice()
	copy(k.Saddr[:], src)
	copy(k.Daddr[:], dst)
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, &k); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func TestDecodeRoundTrip(t *testing.T) {
	for _, want := range []Record{
		{
			Timestamp: 1, Reason: ReasonNew | ReasonHeartbeat,
			Cookie: 0x5bc7, Token: 0xe1785744, LocalID: 2,
			RemoteID: 3, Backup: true, Family: afInet,
			Src:  netip.MustParseAddrPort("10.200.1.1:56285"),
			Dst:  netip.MustParseAddrPort("10.200.0.2:5201"),
			SRTT: 54, RTTVar: 27, MinRTT: 5, SndCwnd: 10,
			SndSsthresh: 7, PacketsOut: 3, TotalRetrans: 4, Lost: 5,
			Delivered: 6, BytesAcked: 1 << 40, BytesSent: 2,
			BytesRetrans: 3, PacingRate: 4, DeliveryRate: 5,
			TCPState: 1, CAState: 4,
		},
		{
			Family: afInet6, LocalID: -1,
			Src: netip.MustParseAddrPort("[fd00:200:1::1]:1"),
			Dst: netip.MustParseAddrPort("[fd00:200:1::2]:65535"),
		},
	} {
		var got Record
		if err := got.UnmarshalBinary(encodeRecord(&want)); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("UnmarshalBinary(encodeRecord(r)):\n got %+v\nwant %+v", got, want)
		}
	}
}

func TestDecodeShort(t *testing.T) {
	var r Record
	if err := r.UnmarshalBinary(make([]byte, recordSize-1)); err == nil {
		t.Error("UnmarshalBinary of a short sample returned no error")
	}
}

func TestUnmarshalAllocs(t *testing.T) {
	b := encodeRecord(&Record{Family: afInet6})
	var r Record
	n := testing.AllocsPerRun(100, func() { _ = r.UnmarshalBinary(b) })
	if n != 0 {
		t.Errorf("UnmarshalBinary allocates %v times per record, want 0", n)
	}
}

func TestReasonString(t *testing.T) {
	for _, c := range []struct {
		r    Reason
		want string
	}{
		{0, "none"},
		{ReasonNew, "new"},
		{ReasonRTT | ReasonHeartbeat, "rtt|heartbeat"},
		{ReasonState | ReasonClose, "state|close"},
		{ReasonCAState | ReasonLoss, "loss|ca_state"},
		{ReasonCwnd | 1<<20, "cwnd|0x100000"},
	} {
		if got := c.r.String(); got != c.want {
			t.Errorf("Reason(%#x).String() = %q, want %q", uint32(c.r), got, c.want)
		}
	}
}

func TestReasonUrgent(t *testing.T) {
	if !(ReasonClose | ReasonState).Urgent() {
		t.Error("close is not urgent")
	}
	if (ReasonRTT | ReasonHeartbeat | ReasonCAState).Urgent() {
		t.Error("rtt|heartbeat|ca_state is urgent")
	}
}

// TestReasonMatchesC compares the Reason bits with enum sf_reason in
// subflow.h.
func TestReasonMatchesC(t *testing.T) {
	src, err := os.ReadFile("subflow.h")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`REASON_(\w+) = 1 << (\d+)`)
	want := map[string]Reason{
		"NEW": ReasonNew, "RTT": ReasonRTT, "CWND": ReasonCwnd,
		"RETRANS": ReasonRetrans, "LOSS": ReasonLoss,
		"STATE": ReasonState, "CA_STATE": ReasonCAState,
		"CLOSE": ReasonClose, "HEARTBEAT": ReasonHeartbeat,
	}
	matches := re.FindAllSubmatch(src, -1)
	if len(matches) != len(want) {
		t.Errorf("subflow.h has %d reasons, Go has %d", len(matches), len(want))
	}
	for _, m := range matches {
		shift, _ := strconv.Atoi(string(m[2]))
		name := string(m[1])
		if got, ok := want[name]; !ok || got != 1<<shift {
			t.Errorf("REASON_%s = 1 << %d in C, Go has %#x", name, shift, uint32(got))
		}
	}
}
