package bpf

import (
	"os"
	"testing"
)

// dumpRecords logs every record when BPF_TEST_DUMP=1.
func dumpRecords(t *testing.T, records []Record) {
	if os.Getenv("BPF_TEST_DUMP") != "1" {
		return
	}
	for _, r := range records {
		t.Logf("%d %-22v tok=%#x ck=%#x id=%d/%d bk=%v %v->%v st=%d ca=%d srtt=%d var=%d min=%d cwnd=%d ssth=%d out=%d retr=%d lost=%d dlv=%d acked=%d sent=%d bretr=%d pace=%d dr=%d",
			r.Timestamp/1000000, r.Reason, r.Token, r.Cookie, r.LocalID, r.RemoteID, r.Backup, r.Src, r.Dst, r.TCPState, r.CAState,
			r.SRTT, r.RTTVar, r.MinRTT, r.SndCwnd, r.SndSsthresh, r.PacketsOut, r.TotalRetrans, r.Lost, r.Delivered,
			r.BytesAcked, r.BytesSent, r.BytesRetrans, r.PacingRate, r.DeliveryRate)
	}
}
