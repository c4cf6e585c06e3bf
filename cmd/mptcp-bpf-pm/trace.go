package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/bpf"
)

var traceFlags struct {
	json      bool
	allTCP    bool
	heartbeat time.Duration
	tokens    []string
	netns     string
	mode      string
	kernelBTF string
	ringSize  int
	count     int
	duration  time.Duration
}

var traceCmd = &cobra.Command{
	Use:   "trace",
	Short: "Stream per-subflow TCP statistics from the BPF programs",
	Long: `Load the BPF statistics programs and print one line per record: a new
subflow, an RTT or congestion window change, a retransmission, a TCP or
congestion-avoidance state change, a close, or a heartbeat with cumulative
counters. Only sockets of one network namespace are traced (by default the
current one) and, unless --all-tcp is given, only MPTCP subflows.

Columns: wall-clock time, MPTCP token, socket cookie (the "sk:" of ss -e),
local and remote address id, backup flag, addresses, TCP state, congestion
avoidance state, smoothed RTT and RTT variance in µs, congestion window
and slow-start threshold in segments, retransmitted segments, segments now
lost, bytes acknowledged and the reasons for the record.

Stops on SIGINT or SIGTERM, after --count records or after --duration, and
then prints the drop counters to standard error.`,
	Args: cobra.NoArgs,
	RunE: runTrace,
}

func init() {
	f := traceCmd.Flags()
	f.BoolVar(&traceFlags.json, "json", false, "print JSON Lines, one object per record")
	f.BoolVar(&traceFlags.allTCP, "all-tcp", false, "trace every TCP socket, not only MPTCP subflows")
	f.DurationVar(&traceFlags.heartbeat, "heartbeat", bpf.DefaultHeartbeat, "longest time between two records of an active subflow")
	f.StringSliceVar(&traceFlags.tokens, "token", nil, "trace only these MPTCP tokens, decimal or 0x-prefixed hex (repeatable)")
	f.StringVar(&traceFlags.netns, "netns", "", "trace the network namespace at `PATH` (such as /run/netns/NAME) in place of the current one")
	f.StringVar(&traceFlags.mode, "mode", "", "program variant: tp_btf or raw_tp (default: tp_btf, else raw_tp)")
	f.StringVar(&traceFlags.kernelBTF, "kernel-btf", "", "BTF of the running kernel at `PATH`, when /sys/kernel/btf/vmlinux is missing (raw_tp only)")
	f.IntVar(&traceFlags.ringSize, "ring-size", bpf.DefaultRingSize, "ring buffer size in bytes, a power of two")
	f.IntVar(&traceFlags.count, "count", 0, "stop after this many records (0: no limit)")
	f.DurationVar(&traceFlags.duration, "duration", 0, "stop after this long (0: no limit)")
	rootCmd.AddCommand(traceCmd)
}

func runTrace(*cobra.Command, []string) error {
	opts, err := traceOptions()
	if err != nil {
		return err
	}
	tr, err := bpf.Load(opts)
	if err != nil {
		return fmt.Errorf("load BPF programs: %w", err)
	}
	defer tr.Close()
	log.WithField("mode", tr.Mode()).Debug("BPF programs attached")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if traceFlags.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, traceFlags.duration)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Unbuffered: records are rare enough for one write each, and a
	// line appears as soon as its record is read.
	p := newTracePrinter(os.Stdout, traceFlags.json)
	n := 0
	err = tr.Run(ctx, func(r *bpf.Record) {
		p.print(r)
		if n++; traceFlags.count > 0 && n >= traceFlags.count {
			cancel()
		}
	})
	if err != nil {
		return err
	}
	return reportDrops(tr, n)
}

func traceOptions() (bpf.Options, error) {
	opts := bpf.Options{
		AllTCP:    traceFlags.allTCP,
		Heartbeat: traceFlags.heartbeat,
		RingSize:  traceFlags.ringSize,
		Mode:      traceFlags.mode,
		KernelBTF: traceFlags.kernelBTF,
	}
	if traceFlags.heartbeat <= 0 {
		return opts, usageErrorf("invalid --heartbeat %v: want a positive duration such as 200ms", traceFlags.heartbeat)
	}
	switch traceFlags.mode {
	case "", bpf.ModeTPBTF, bpf.ModeRawTP:
	default:
		return opts, usageErrorf("invalid --mode %q: want tp_btf or raw_tp", traceFlags.mode)
	}
	if n := traceFlags.ringSize; n < os.Getpagesize() || n&(n-1) != 0 {
		return opts, usageErrorf("invalid --ring-size %d: want a power of two of at least %d bytes", n, os.Getpagesize())
	}
	if traceFlags.count < 0 || traceFlags.duration < 0 {
		return opts, usageErrorf("invalid --count or --duration: want 0 or more")
	}
	for _, s := range traceFlags.tokens {
		tok, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			return opts, usageErrorf("invalid --token %q: want a 32-bit number, decimal or 0x-prefixed hex", s)
		}
		opts.Tokens = append(opts.Tokens, uint32(tok))
	}
	if traceFlags.netns != "" {
		ino, err := bpf.NetNSInode(traceFlags.netns)
		if err != nil {
			return opts, usageError{err}
		}
		opts.NetNSInode = ino
	}
	return opts, nil
}

func reportDrops(tr *bpf.Tracer, records int) error {
	d, err := tr.Drops()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d records, %d lost (ring buffer full: %d, no socket storage: %d)\n",
		records, d.Total(), d.Ring, d.Storage)
	return nil
}

// tracePrinter writes records as aligned text or JSON Lines.
type tracePrinter struct {
	w      io.Writer
	enc    *json.Encoder
	wallNs int64 // CLOCK_REALTIME minus CLOCK_MONOTONIC, in ns
	header bool
}

func newTracePrinter(w io.Writer, asJSON bool) *tracePrinter {
	p := &tracePrinter{w: w, wallNs: wallOffset()}
	if asJSON {
		p.enc = json.NewEncoder(w)
	}
	return p
}

// wallOffset returns the wall-clock time of CLOCK_MONOTONIC zero.
func wallOffset() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Now().UnixNano() - ts.Nano()
}

func (p *tracePrinter) print(r *bpf.Record) {
	t := time.Unix(0, int64(r.Timestamp)+p.wallNs)
	if p.enc != nil {
		_ = p.enc.Encode(newTraceJSON(t, r))
		return
	}
	if !p.header {
		fmt.Fprintf(p.w, "%-12s %-10s %-8s %3s %3s %2s %-21s %-21s %-11s %-8s %7s %6s %6s %6s %5s %5s %12s %s\n",
			"TIME", "TOKEN", "COOKIE", "LID", "RID", "BK", "SRC", "DST",
			"STATE", "CA", "SRTT", "RTTVAR", "CWND", "SSTHR",
			"RETR", "LOST", "ACKED", "REASON")
		p.header = true
	}
	fmt.Fprintf(p.w, "%-12s %#-10x %#-8x %3d %3d %2s %-21s %-21s %-11s %-8s %7d %6d %6d %6s %5d %5d %12d %s\n",
		t.Format("15:04:05.000"), r.Token, r.Cookie, r.LocalID, r.RemoteID,
		yesNo(r.Backup), r.Src, r.Dst, tcpStateName(r.TCPState),
		caStateName(r.CAState), r.SRTT, r.RTTVar, r.SndCwnd,
		ssthresh(r.SndSsthresh), r.TotalRetrans, r.Lost, r.BytesAcked,
		r.Reason)
}

// ssthresh prints the initial "infinite" threshold (TCP_INFINITE_SSTHRESH,
// 0x7fffffff) as "-".
func ssthresh(n uint32) string {
	if n >= 0x7fffffff {
		return "-"
	}
	return strconv.FormatUint(uint64(n), 10)
}

func yesNo(b bool) string {
	if b {
		return "y"
	}
	return "-"
}

// traceJSON is one line of trace --json.
type traceJSON struct {
	Time         string `json:"time"`
	KernelTimeNs uint64 `json:"ktime_ns"`
	Reason       string `json:"reason"`
	Token        uint32 `json:"token"`
	Cookie       uint64 `json:"cookie"`
	Local        string `json:"local"`
	Remote       string `json:"remote"`
	LocalID      int16  `json:"local_id"`
	RemoteID     uint8  `json:"remote_id"`
	Backup       bool   `json:"backup"`
	TCPState     string `json:"tcp_state"`
	CAState      string `json:"ca_state"`
	SRTTUs       uint32 `json:"srtt_us"`
	RTTVarUs     uint32 `json:"rttvar_us"`
	MinRTTUs     uint32 `json:"min_rtt_us"`
	SndCwnd      uint32 `json:"snd_cwnd"`
	SndSsthresh  uint32 `json:"snd_ssthresh"`
	PacketsOut   uint32 `json:"packets_out"`
	TotalRetrans uint32 `json:"total_retrans"`
	Lost         uint32 `json:"lost"`
	Delivered    uint32 `json:"delivered"`
	BytesAcked   uint64 `json:"bytes_acked"`
	BytesSent    uint64 `json:"bytes_sent"`
	BytesRetrans uint64 `json:"bytes_retrans"`
	PacingRate   uint64 `json:"pacing_rate"`
	DeliveryRate uint64 `json:"delivery_rate"`
}

func newTraceJSON(t time.Time, r *bpf.Record) traceJSON {
	return traceJSON{
		Time:         t.UTC().Format(time.RFC3339Nano),
		KernelTimeNs: r.Timestamp,
		Reason:       r.Reason.String(),
		Token:        r.Token,
		Cookie:       r.Cookie,
		Local:        r.Src.String(),
		Remote:       r.Dst.String(),
		LocalID:      r.LocalID,
		RemoteID:     r.RemoteID,
		Backup:       r.Backup,
		TCPState:     tcpStateName(r.TCPState),
		CAState:      caStateName(r.CAState),
		SRTTUs:       r.SRTT,
		RTTVarUs:     r.RTTVar,
		MinRTTUs:     r.MinRTT,
		SndCwnd:      r.SndCwnd,
		SndSsthresh:  r.SndSsthresh,
		PacketsOut:   r.PacketsOut,
		TotalRetrans: r.TotalRetrans,
		Lost:         r.Lost,
		Delivered:    r.Delivered,
		BytesAcked:   r.BytesAcked,
		BytesSent:    r.BytesSent,
		BytesRetrans: r.BytesRetrans,
		PacingRate:   r.PacingRate,
		DeliveryRate: r.DeliveryRate,
	}
}

// TCP states in include/net/tcp_states.h order, from 1.
var tcpStates = []string{
	"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
	"NEW_SYN_RECV",
}

func tcpStateName(s uint8) string {
	if int(s) < len(tcpStates) && s != 0 {
		return tcpStates[s]
	}
	return strconv.Itoa(int(s))
}

// Congestion-avoidance states, enum tcp_ca_state.
var caStates = []string{"Open", "Disorder", "CWR", "Recovery", "Loss"}

func caStateName(s uint8) string {
	if int(s) < len(caStates) {
		return caStates[s]
	}
	return strconv.Itoa(int(s))
}
