package optimizer

import "net/netip"

// Version is the version of the stdin format, Input.Version.
const Version = 1

// Input is the JSON object an optimizer program reads on stdin.
type Input struct {
	Version    int        `json:"version"`
	Connection Connection `json:"connection"`
	// Subflows are in the order the output caps must follow.
	Subflows []Subflow `json:"subflows"`
}

// Connection is the MPTCP connection that the caps are for.
type Connection struct {
	// Token is the local MPTCP token.
	Token uint32 `json:"token"`
	// Local and Remote are the addresses of the initial subflow.
	Local  netip.AddrPort `json:"local"`
	Remote netip.AddrPort `json:"remote"`
	// State is "established", or another state name of the daemon.
	State      string `json:"state"`
	ServerSide bool   `json:"server_side"`
}

// Subflow is one TCP subflow with its latest metrics. Rates are in bytes
// per second, times in microseconds, windows in segments.
type Subflow struct {
	// Cookie is the socket cookie (as in inet_diag and ss's sk: field).
	// It may exceed 2^53, the largest integer a float64 JSON decoder
	// keeps exact; the output is by position, so that is harmless.
	Cookie   uint64         `json:"cookie"`
	Local    netip.AddrPort `json:"local"`
	Remote   netip.AddrPort `json:"remote"`
	LocalID  uint8          `json:"local_id"`
	RemoteID uint8          `json:"remote_id"`
	Backup   bool           `json:"backup"`

	SRTT     uint32 `json:"srtt_us"`
	RTTVar   uint32 `json:"rttvar_us"`
	SndCwnd  uint32 `json:"snd_cwnd"`
	Ssthresh uint32 `json:"ssthresh"`
	// BytesAcked and BytesSent are totals since the subflow opened.
	BytesAcked uint64 `json:"bytes_acked"`
	BytesSent  uint64 `json:"bytes_sent"`
	// Retrans is the total number of retransmitted segments.
	Retrans uint32 `json:"retrans"`
	// DeliveryRate is the kernel's latest delivery rate sample.
	DeliveryRate uint64 `json:"delivery_rate"`
	// Throughput is the daemon's estimate over the last interval, from
	// the change in BytesAcked.
	Throughput uint64 `json:"throughput"`
	// Cap is the cap in force, 0 for none.
	Cap uint32 `json:"cap"`
}
