package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
)

var statusFlags struct {
	json   bool
	token  string
	port   uint16
	family string
	states []string
	netns  string
}

var statusCmd = &cobra.Command{
	Use:   "status",
	Short: "Show MPTCP connections and their subflows from inet_diag",
	Long: `Show the MPTCP connections of a network namespace as a tree, read from the
kernel over inet_diag (NETLINK_SOCK_DIAG). No daemon is needed.

Each connection shows its local token in hex and decimal, its state, the
number of subflows, its initial addresses and the connection-level bytes
sent, received, acknowledged and retransmitted. Each subflow shows its
addresses, the local/remote address ids, whether either end marked it as
backup, its TCP state, smoothed RTT in milliseconds, congestion window in
segments, bytes acknowledged and received, retransmitted segments and the
last delivery rate. Mapping sequence numbers need CAP_NET_ADMIN and are in
the --json output only.`,
	Args: cobra.NoArgs,
	RunE: runStatus,
}

func init() {
	f := statusCmd.Flags()
	f.BoolVar(&statusFlags.json, "json", false, "print the connections as JSON, with every tcp_info and mptcp_info field")
	f.StringVar(&statusFlags.token, "token", "", "show only the connection with this local token, decimal or 0x-prefixed hex")
	f.Uint16Var(&statusFlags.port, "port", 0, "show only connections with this local or remote port")
	f.StringVar(&statusFlags.family, "family", "", "show only IPv4 (4) or IPv6 (6) connections")
	f.StringSliceVar(&statusFlags.states, "state", nil,
		"show only connections in these states, such as established or listen, or all (default: all but listen and time-wait)")
	f.StringVar(&statusFlags.netns, "netns", "", "read the network namespace at `PATH` (such as /run/netns/NAME) in place of the current one")
	rootCmd.AddCommand(statusCmd)
}

func runStatus(cmd *cobra.Command, _ []string) error {
	req, err := statusRequest()
	if err != nil {
		return err
	}
	conns, err := statusConnections(req)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if statusFlags.json {
		if conns == nil {
			conns = []diag.Connection{}
		}
		return writeJSON(out, conns)
	}
	return writeStatus(out, conns)
}

func statusRequest() (diag.Request, error) {
	req := diag.Request{Port: statusFlags.port}
	if statusFlags.token != "" {
		tok, err := strconv.ParseUint(statusFlags.token, 0, 32)
		if err != nil || tok == 0 {
			return req, usageErrorf("invalid --token %q: want a non-zero 32-bit number, decimal or 0x-prefixed hex", statusFlags.token)
		}
		req.Token = uint32(tok)
	}
	switch statusFlags.family {
	case "":
	case "4":
		req.Family = unix.AF_INET
	case "6":
		req.Family = unix.AF_INET6
	default:
		return req, usageErrorf("invalid --family %q: want 4 or 6", statusFlags.family)
	}
	for _, name := range statusFlags.states {
		if strings.EqualFold(name, "all") {
			req.States = diag.AllStates
			continue
		}
		s, err := diag.ParseState(name)
		if err != nil {
			return req, usageError{fmt.Errorf("invalid --state: %w", err)}
		}
		req.States |= s.Mask()
	}
	return req, nil
}

func statusConnections(req diag.Request) ([]diag.Connection, error) {
	cfg := &diag.Config{}
	if statusFlags.netns != "" {
		f, err := os.Open(statusFlags.netns)
		if err != nil {
			return nil, usageErrorf("invalid --netns: %v", err)
		}
		defer f.Close()
		cfg.NetNS = int(f.Fd())
	}
	c, err := diag.Dial(cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Connections(req)
}

// writeStatus prints the connections as a tree that fits 80 columns.
func writeStatus(w io.Writer, conns []diag.Connection) error {
	if len(conns) == 0 {
		_, err := fmt.Fprintln(w, "no MPTCP connections")
		return err
	}
	var b strings.Builder
	for i, c := range conns {
		if i > 0 {
			b.WriteByte('\n')
		}
		statusConnection(&b, &c)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func statusConnection(b *strings.Builder, c *diag.Connection) {
	var token uint32
	if c.Info != nil {
		token = c.Info.Token
	}
	fmt.Fprintf(b, "MPTCP token %08x (%d)  %s  %s\n", token, token, c.State, statusCount(len(c.Subflows)))
	statusTuple(b, "  ", "    ", c.ID)
	if c.Info != nil {
		i := c.Info
		fmt.Fprintf(b, "  sent %s  received %s  acked %s  retransmitted %s%s\n",
			statusBytes(i.BytesSent), statusBytes(i.BytesReceived),
			statusBytes(i.BytesAcked), statusBytes(i.BytesRetrans), statusMPTCPFlags(i.Flags))
	}
	if len(c.Subflows) == 0 {
		return
	}
	fmt.Fprintf(b, "  │  %-7s %-4s %-11s %8s %6s %8s %8s %5s %9s\n",
		"ID L/R", "BKUP", "STATE", "RTT ms", "CWND", "ACKED", "RECEIVED", "RETR", "RATE")
	for i := range c.Subflows {
		last := i == len(c.Subflows)-1
		head, body := "  ├─ ", "  │  "
		if last {
			head, body = "  └─ ", "     "
		}
		statusSubflow(b, head, body, &c.Subflows[i])
	}
}

func statusCount(n int) string {
	if n == 1 {
		return "1 subflow"
	}
	return fmt.Sprintf("%d subflows", n)
}

func statusMPTCPFlags(f uint32) string {
	if f&diag.MPTCPInfoFlagFallback != 0 {
		return "  fallback to TCP"
	}
	return ""
}

// statusTuple prints "src -> dst" after head, or on two lines when the
// addresses do not fit 80 columns.
func statusTuple(b *strings.Builder, head, cont string, id diag.SockID) {
	src, dst := id.Src.String(), id.Dst.String()
	if id.Dst.Port() == 0 {
		dst = "*" // a listener
	}
	dev := ""
	if id.IfIndex != 0 {
		dev = fmt.Sprintf("  ifindex %d", id.IfIndex)
	}
	line := head + src + " -> " + dst + dev
	if len([]rune(line)) <= 80 {
		b.WriteString(line + "\n")
		return
	}
	b.WriteString(head + src + dev + "\n")
	b.WriteString(cont + "-> " + dst + "\n")
}

func statusSubflow(b *strings.Builder, head, body string, s *diag.TCPSocket) {
	statusTuple(b, head, body+"  ", s.ID)
	ids, backup := "-", "-"
	if sf := s.Subflow; sf != nil {
		ids = fmt.Sprintf("%d/%d", sf.LocalID, sf.RemoteID)
		backup = "no"
		if sf.Backup() {
			backup = "yes"
		}
	}
	rtt, cwnd, acked, received, retrans, rate := "-", "-", "-", "-", "-", "-"
	if i := s.Info; i != nil {
		rtt = strconv.FormatFloat(float64(i.RTT)/1000, 'f', 3, 64)
		cwnd = strconv.FormatUint(uint64(i.SndCwnd), 10)
		acked = statusBytes(i.BytesAcked)
		received = statusBytes(i.BytesReceived)
		retrans = strconv.FormatUint(uint64(i.TotalRetrans), 10)
		rate = statusRate(i.DeliveryRate)
	}
	fmt.Fprintf(b, "%s%-7s %-4s %-11s %8s %6s %8s %8s %5s %9s\n",
		body, ids, backup, s.State, rtt, cwnd, acked, received, retrans, rate)
}

// statusBytes formats n bytes with an SI prefix, such as "28.95MB".
func statusBytes(n uint64) string {
	return statusSI(float64(n), "B")
}

// statusRate formats a rate in bytes per second as bits per second.
func statusRate(bytesPerSec uint64) string {
	return statusSI(float64(bytesPerSec)*8, "b/s")
}

func statusSI(v float64, unit string) string {
	prefixes := []string{"", "k", "M", "G", "T", "P"}
	i := 0
	for v >= 1000 && i < len(prefixes)-1 {
		v /= 1000
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64) + unit
	}
	prec := 2
	if v >= 100 {
		prec = 0
	} else if v >= 10 {
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + prefixes[i] + unit
}
