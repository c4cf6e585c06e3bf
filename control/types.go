package control

import (
	"net/netip"
	"time"
)

// Subflow states in Subflow.State, besides the TCP state names that
// inet_diag reports (such as "ESTAB") when the daemon does not run.
const (
	StatePending     = "pending" // SUBFLOW_CREATE sent, not yet established
	StateEstablished = "established"
	StateClosed      = "closed"
)

// Connection is one MPTCP connection as the daemon or inet_diag reports it.
type Connection struct {
	Token uint32 `json:"token"`
	// Local and Remote are the initial subflow's addresses.
	Local       netip.AddrPort `json:"local"`
	Remote      netip.AddrPort `json:"remote"`
	ServerSide  bool           `json:"server_side"`
	Established bool           `json:"established"`
	// Managed reports whether the daemon's connection filter lets it
	// open subflows for this connection.
	Managed bool      `json:"managed"`
	Since   time.Time `json:"since,omitzero"`
	// Subflows includes the initial subflow when the source reports it.
	Subflows []Subflow `json:"subflows"`
}

// Subflow is one TCP subflow of a connection with its latest statistics.
// Counters are cumulative since the subflow opened; zero statistics and a
// zero StatsTime mean that no sample arrived yet.
type Subflow struct {
	Local    netip.AddrPort `json:"local"`
	Remote   netip.AddrPort `json:"remote"`
	LocalID  uint8          `json:"local_id"`
	RemoteID uint8          `json:"remote_id"`
	Backup   bool           `json:"backup"`
	// Interface is the name of the local interface, when known.
	Interface string `json:"interface,omitempty"`
	State     string `json:"state"`
	// Cookie is the socket cookie ("sk:" in ss -e), 0 when unknown.
	Cookie uint64 `json:"cookie,omitempty"`

	SRTTUs        uint32 `json:"srtt_us"`   // smoothed RTT, µs
	RTTVarUs      uint32 `json:"rttvar_us"` // RTT variance, µs
	SndCwnd       uint32 `json:"snd_cwnd"`  // congestion window, segments
	BytesSent     uint64 `json:"bytes_sent"`
	BytesAcked    uint64 `json:"bytes_acked"`
	BytesReceived uint64 `json:"bytes_received"`
	BytesRetrans  uint64 `json:"bytes_retrans"`
	TotalRetrans  uint32 `json:"total_retrans"` // retransmitted segments
	// DeliveryRate and PacingRate are the kernel's estimates, bytes/s.
	DeliveryRate uint64 `json:"delivery_rate"`
	PacingRate   uint64 `json:"pacing_rate"`
	// StatsSource is "bpf" or "diag"; StatsTime is when the sample was
	// taken.
	StatsSource string    `json:"stats_source,omitempty"`
	StatsTime   time.Time `json:"stats_time,omitzero"`
}

// Status describes the running daemon.
type Status struct {
	PID       int       `json:"pid"`
	Version   string    `json:"version"`
	StartTime time.Time `json:"start_time"`
	Mode      string    `json:"mode"`   // "userspace" or "kernel"
	Policy    string    `json:"policy"` // subflow policy name
	BPF       bool      `json:"bpf"`    // BPF statistics attached
	// Addresses are the local addresses the daemon opens subflows from.
	Addresses []netip.Addr `json:"addresses"`
	// Options are the run-time options that SetOption changes.
	Options map[string]string `json:"options"`
}

// SubflowRequest is a request for one new subflow.
type SubflowRequest struct {
	Token  uint32         `json:"token"`
	Local  netip.Addr     `json:"local"`
	Remote netip.AddrPort `json:"remote"`
	Backup bool           `json:"backup,omitempty"`
}

// Update is one snapshot of a watch stream.
type Update struct {
	Time        time.Time    `json:"time"`
	Connections []Connection `json:"connections"`
}
