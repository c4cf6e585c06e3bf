package main

// Status values of a result row. A system that runs but does not do the
// job is a row with StatusNotDone and a reason, never a missing row.
const (
	StatusOK          = "ok"
	StatusNotDone     = "not done"        // ran, did not do the job
	StatusNA          = "n/a"             // the figure does not apply
	StatusUnavailable = "not implemented" // the feature does not exist
)

// Results is everything one harness run measured; it is written as JSON
// and rendered as markdown.
type Results struct {
	Command  string   `json:"command"`
	Started  string   `json:"started"`
	Finished string   `json:"finished"`
	Seconds  float64  `json:"seconds"`
	Quick    bool     `json:"quick"`
	Machine  Machine  `json:"machine"`
	Systems  []System `json:"systems"`

	Latency    []LatencyRow    `json:"latency,omitempty"`
	Churn      []ChurnRow      `json:"churn,omitempty"`
	Throughput []ThroughputRow `json:"throughput,omitempty"`
	Freshness  []FreshnessRow  `json:"freshness,omitempty"`
	Diag       []DiagRow       `json:"diag,omitempty"`
	Memory     []MemoryRow     `json:"memory,omitempty"`
	Failover   []FailoverRow   `json:"failover,omitempty"`
}

// Machine describes the host the run used.
type Machine struct {
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpu_model"`
	MemoryMiB  int    `json:"memory_mib"`
	Kernel     string `json:"kernel"`
	Virtual    string `json:"virtualization"`
	Go         string `json:"go"`
	Mptcpd     string `json:"mptcpd"`
	LoadBefore string `json:"loadavg_before"`
	LoadAfter  string `json:"loadavg_after"`
}

// Outcome is whether a row's system did the job, and the reason if not.
type Outcome struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// LatencyRow is subflow set-up latency for one system and path count:
// from the ESTABLISHED event to each SUB_ESTABLISHED event of the same
// connection, both stamped on receipt by an independent listener.
type LatencyRow struct {
	System string `json:"system"`
	Paths  int    `json:"paths"`
	Outcome
	Rounds      int     `json:"rounds"`
	Connections int     `json:"connections"`
	Complete    int     `json:"complete"` // got every expected subflow
	Subflows    int     `json:"subflows"`
	Expected    int     `json:"expected_subflows"`
	SubflowUs   Summary `json:"subflow_us"` // per subflow
	AllUs       Summary `json:"all_us"`     // until the last subflow
	RatioP50    float64 `json:"ratio_p50"`  // vs the in-kernel PM
	RatioP99    float64 `json:"ratio_p99"`
	// ConnectUs runs from the start of connect() to the last expected
	// subflow, so it includes what happens before ESTABLISHED.
	ConnectUs       Summary `json:"connect_us"`
	ConnectRatioP50 float64 `json:"connect_ratio_p50"`
	ConnectRatioP99 float64 `json:"connect_ratio_p99"`
	// SamplesUs are the per-subflow latencies in µs, in the order
	// measured, rounded to 0.1 µs.
	SamplesUs []float64 `json:"samples_us,omitempty"`
}

// ChurnStep is one rate of the churn ladder.
type ChurnStep struct {
	Target       float64 `json:"target_per_s"`
	Achieved     float64 `json:"achieved_per_s"`
	Started      int     `json:"started"`
	Completed    int     `json:"completed"`
	WithSubflows int     `json:"with_subflows"`
	DialErrors   int     `json:"dial_errors"`
	LostEvents   int     `json:"lost_events"` // ENOBUFS seen by the listener
	SystemLost   int     `json:"system_lost"` // overflows the system logged
	Held         bool    `json:"held"`
	Why          string  `json:"why,omitempty"`
}

// ChurnRow is the highest connection rate that held for one system.
type ChurnRow struct {
	System string `json:"system"`
	Outcome
	HighestRate float64     `json:"highest_rate"`
	Steps       []ChurnStep `json:"steps"`
	CPUSeconds  float64     `json:"cpu_seconds"`
	Connections int         `json:"connections"`
	CPUPerConn  float64     `json:"cpu_us_per_conn"`
	UserPerConn float64     `json:"user_us_per_conn"`
	// SysPerConn includes kernel work that a userspace PM triggers in
	// its own context. SUBFLOW_CREATE sends the join SYN from the
	// daemon's system call, and on veth the whole handshake may run
	// there. The in-kernel PM does the same work in a kernel worker,
	// which no process is charged for.
	SysPerConn float64 `json:"sys_us_per_conn"`
	Ratio      float64 `json:"ratio"` // highest rate vs the in-kernel PM
}

// ThroughputRow is bulk MPTCP goodput for one configuration.
type ThroughputRow struct {
	System string `json:"system"`
	Outcome
	Mbps     []float64 `json:"mbps"`
	Median   float64   `json:"median_mbps"`
	Subflows []int     `json:"subflows"`
	Ratio    float64   `json:"ratio"` // median vs the in-kernel PM
}

// FreshnessRow is the age of statistics when user space gets them.
type FreshnessRow struct {
	Method string `json:"method"`
	System string `json:"system"`
	Outcome
	Records int     `json:"records"`
	AgeMs   Summary `json:"age_ms"`
	Urgent  Summary `json:"urgent_age_ms"` // records that wake the reader
}

// DiagRow is the wall time of one dump method over every subflow.
type DiagRow struct {
	System   string  `json:"system"`
	Method   string  `json:"method"`
	Sockets  int     `json:"tcp_sockets"`
	Subflows int     `json:"subflows"`
	WallMs   Summary `json:"wall_ms"`
	RatioSS  float64 `json:"ratio_vs_ss_tin"`
	Outcome
}

// MemoryRow is a path manager's resident set with tracked connections.
type MemoryRow struct {
	System string `json:"system"`
	Outcome
	IdleKiB     int   `json:"idle_kib"`
	IdleAnonKiB int   `json:"idle_anon_kib"`
	Points      []Mem `json:"points"`
	Connections int   `json:"connections"`
	Subflows    int   `json:"subflows"`
}

// Mem is the resident set at a number of open connections.
type Mem struct {
	Connections int `json:"connections"`
	Subflows    int `json:"subflows"`
	RSSKiB      int `json:"rss_kib"`
	AnonKiB     int `json:"anon_kib"` // RssAnon: without the mapped binary
}

// FailoverRow is the time goodput takes to recover after one path is
// blackholed during a bulk transfer.
type FailoverRow struct {
	System string `json:"system"`
	Outcome
	Runs       int       `json:"runs"`
	Recovered  int       `json:"recovered"`
	RecoveryS  []float64 `json:"recovery_s"`
	Median     float64   `json:"median_s"`
	PathMbps   float64   `json:"path_mbps"`
	BeforeMbps float64   `json:"before_mbps"`
	AfterMbps  float64   `json:"after_mbps"`
	WindowS    float64   `json:"window_s"`
}

// System describes one path manager configuration under test.
type System struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}
