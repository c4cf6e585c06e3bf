package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// renderDoc writes the whole benchmark document: how to run it, the
// machine, the targets, the method and table of each figure.
func renderDoc(w io.Writer, r *Results, jsonPath string) error {
	var b strings.Builder
	b.WriteString(docIntro)
	fmt.Fprintf(&b, "\n## This run\n\n```sh\n%s\n```\n\n", r.Command)
	m := r.Machine
	fmt.Fprintf(&b, "- Started %s, took %.0f s%s.\n", r.Started, r.Seconds, quickNote(r.Quick))
	fmt.Fprintf(&b, "- Machine: %d CPUs (%s), %d MiB, %s; Linux %s; %s; mptcpd %s.\n",
		m.CPUs, m.CPUModel, m.MemoryMiB, m.Virtual, m.Kernel, m.Go, m.Mptcpd)
	fmt.Fprintf(&b, "- Load average (1, 5, 15 min) before: %s, after: %s. %s%s\n",
		m.LoadBefore, m.LoadAfter, noiseNote, spreadNote(r))
	if jsonPath != "" {
		fmt.Fprintf(&b, "- Raw data: [%s](%s).\n", filepath.Base(jsonPath), relTo("docs", jsonPath))
	}
	b.WriteString("\nSystems:\n\n")
	var rows [][]string
	for _, s := range r.Systems {
		rows = append(rows, []string{s.Name, s.Description})
	}
	table(&b, []string{"name", "what runs in the client namespace"}, rows)
	b.WriteString("\n## Targets\n\n")
	table(&b, []string{"target", "measured", "met"}, targetRows(r))
	b.WriteString("\n## Figures\n\n")
	for _, sec := range figureMethods {
		b.WriteString(sec)
	}
	b.WriteString("\n## Tables\n\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return renderMarkdown(w, r)
}

func quickNote(q bool) string {
	if q {
		return ", with -quick (small sizes: not for comparison)"
	}
	return ""
}

// relTo returns path relative to dir when both are relative, so that the
// document links the JSON beside it.
func relTo(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil {
		return rel
	}
	return path
}

const noiseNote = "The machine is a VM with two CPUs shared with other " +
	"work, and the harness runs on the same CPUs as the systems, so the " +
	"numbers are noisy and only large ratios are meaningful."

// spreadNote returns the spread of the in-kernel PM's bulk runs, the
// plainest measure of the run's noise.
func spreadNote(r *Results) string {
	for _, x := range r.Throughput {
		if x.System == sysKernel.Name && len(x.Mbps) > 1 {
			s := Summarize(x.Mbps)
			return fmt.Sprintf(" In this run the in-kernel PM's %d bulk transfers ranged from %.1f to %.1f Gbit/s.",
				s.N, s.Min/1000, s.Max/1000)
		}
	}
	return ""
}

const docIntro = `# Benchmarks

mptcp-bpf-pm (the daemon) against the in-kernel path manager and mptcpd
0.12 (Debian package), on the same kernel, in network namespaces built by
the harness (two or four veth paths, client 10.200.N.1, server 10.200.N.2,
the server on the in-kernel PM). The systems alternate within each figure
in one run, and every number below comes from that run's JSON.

Run it as root from the repository:

` + "```sh" + `
make bench                        # installs mptcpd if missing, builds, runs
bin/mptcp-bench -quick            # about 2 minutes, tables on stdout only
bin/mptcp-bench -figures 1,3      # some figures
bin/mptcp-bench -render docs/bench/results.json   # tables from saved JSON
` + "```" + `

The daemon runs as "mptcp-bpf-pm run --control-socket none" with the
flags its row names, at its default log level; only figure 4 adds
--record. mptcpd runs as "mptcpd --plugin-dir=... --load-plugins=P
--path-manager=P --addr-flags=subflow
--notify-flags=existing,skip_link_local,skip_loopback".

The harness exits 1, naming the system and the reason, when a system
cannot be started at all (binary or package missing, set-up failed). A
system that starts but does not do the job is a row with its result and
the reason, never left out.
`

var figureMethods = []string{
	`### 1. Subflow set-up latency

An event listener of the harness in the client namespace, independent of
the system, stamps every mptcp_pm event on receipt. Connections are opened
one at a time; each sends one byte (the client reports ESTABLISHED only
once the server has acknowledged data), waits up to 1 s for every extra
subflow (one per other client address), and closes. The first column
runs from ESTABLISHED to each SUB_ESTABLISHED. The in-kernel PM sends
its join from the kernel at the moment it emits ESTABLISHED, and on veth
the join completes in microseconds. Its figure is therefore close to the
jitter of event delivery, while a userspace PM can only start once
ESTABLISHED has reached it. The second column runs from the start of connect() to the
last subflow, which counts what each system does before ESTABLISHED.
Ratios are against the in-kernel PM with the same number of paths.

`,
	`### 2. Churn

A ladder of connection rates, each held for a fixed time with at most 256
connections open. Each connection sends a byte, waits for its extra
subflow (at most 1 s) and closes. A rate holds when at least 95% of it is
achieved, every connection gets its subflow, none fails to open, and no
event is lost: neither an ENOBUFS on the harness's listener nor an
overflow logged by the path manager. The ladder stops at the first rate
that fails. The harness opens the connections on the same two CPUs, so
the highest rate is a limit of the whole machine, not of the path manager
alone. CPU per connection is the path manager's user plus system time
from /proc/PID/stat over the whole ladder, divided by the connections.
The system time of a userspace PM includes the join handshake that its
SUBFLOW_CREATE runs in the kernel (on veth, both ends of it), work that
the in-kernel PM does in a kernel worker charged to no process. The
daemon runs at its default log level (info), which logs every event; the
row with --log-level warn shows what logging costs.

`,
	`### 3. Data-path overhead

One mptcp-traffic bulk transfer per system and round over two unshaped
veth paths, so the transfer is CPU-bound on this machine. The daemon with
and without its BPF programs gives the data-path cost of the programs.

`,
	`### 4. Statistics freshness

During one bulk transfer, the daemon records each BPF record with its
CLOCK_MONOTONIC kernel timestamp and its wall time; the age is their
difference, with the clock offset taken by the harness. For the same
kernel events, the harness dumps inet_diag every 300 ms, as the
project's older daemon did, and the age runs to the end of the first
dump that started after the event. Urgent records (new subflow, retransmission, loss, close)
wake the reader; routine ones wait for the 20 ms drain.

`,
	`### 5. Diag dump versus ss

With 5,000 connections open (10,000 subflows where the system creates
the extra subflow), each method lists every subflow with its TCP info,
methods alternating. The diag package is the daemon's own dump (one
MPTCP and one TCP dump, in process); mptcp-bpf-pm status adds process
start and formatting; ss runs through ip netns exec. The in-kernel PM and
mptcpd have no dump of their own, so ss is their method.

`,
	`### 6. Memory

VmRSS from /proc/PID/status of the path manager, idle and with 1,000 and
10,000 open connections (opened 32 at a time, two server ports), after
the extra subflows were created or stopped appearing for 2 s.

`,
	`### 7. Failover

Two paths shaped to 50 Mbit/s each (tbf on the client's egress). During a
bulk transfer, the path of the initial subflow is blackholed (nftables
drops both directions). Recovery is the time from the blackhole to the
end of the first 100 ms interval whose goodput reaches 80% of one path's
rate (40 Mbit/s).

`,
}

// targetRows compares the daemon with its targets: set-up latency within
// 1.5× (p50) and 2× (p99) of the in-kernel PM, churn at least the
// in-kernel PM's rate, CPU per connection at most mptcpd's, RSS under
// 32 MiB with 10,000 connections, and a dump at most half of ss -tin.
func targetRows(r *Results) [][]string {
	var rows [][]string
	for _, x := range r.Latency {
		if x.System != sysDaemon.Name {
			continue
		}
		rows = append(rows, []string{
			fmt.Sprintf("set-up latency p50 ≤ 1.5× in-kernel PM, %d paths", x.Paths),
			fmt.Sprintf("%s (connect()→last subflow: %s)", ratio(x.RatioP50), ratio(x.ConnectRatioP50)),
			met(x.RatioP50 > 0 && x.RatioP50 <= 1.5)})
		rows = append(rows, []string{
			fmt.Sprintf("set-up latency p99 ≤ 2× in-kernel PM, %d paths", x.Paths),
			fmt.Sprintf("%s (connect()→last subflow: %s)", ratio(x.RatioP99), ratio(x.ConnectRatioP99)),
			met(x.RatioP99 > 0 && x.RatioP99 <= 2)})
	}
	rows = append(rows, churnTargets(r)...)
	rows = append(rows, memTargets(r)...)
	for _, x := range r.Diag {
		if x.System == sysDaemon.Name && x.Method == "diag package (in process)" {
			rows = append(rows, []string{
				fmt.Sprintf("diag dump of %d subflows ≤ 0.5× ss -tin", x.Subflows),
				fmt.Sprintf("%.1f ms, %s", x.WallMs.P50, ratio(x.RatioSS)),
				met(x.RatioSS > 0 && x.RatioSS <= 0.5)})
		}
	}
	return rows
}

func churnTargets(r *Results) [][]string {
	by := map[string]ChurnRow{}
	for _, x := range r.Churn {
		by[x.System] = x
	}
	d, k, ok := by[sysDaemon.Name], by[sysKernel.Name], len(r.Churn) > 0
	if !ok {
		return nil
	}
	var lost int
	for _, s := range d.Steps {
		if s.Held {
			lost += s.LostEvents + s.SystemLost
		}
	}
	rows := [][]string{{
		"churn ≥ in-kernel PM's rate, every subflow, no lost event",
		fmt.Sprintf("%s vs %s", num(d.HighestRate, "/s"), num(k.HighestRate, "/s")),
		met(d.HighestRate > 0 && d.HighestRate >= k.HighestRate && lost == 0)}}
	for _, name := range []string{sysAddrAdv.Name, sysSSPI.Name} {
		m := by[name]
		rows = append(rows, []string{
			"CPU per managed connection ≤ " + name + "'s",
			fmt.Sprintf("%.0f µs vs %.0f µs", d.CPUPerConn, m.CPUPerConn),
			met(d.CPUPerConn > 0 && m.CPUPerConn > 0 && d.CPUPerConn <= m.CPUPerConn)})
	}
	// The system time of a userspace PM includes the join handshake
	// that its SUBFLOW_CREATE runs in the kernel, so user time alone is
	// shown too; it is not the target.
	m := by[sysAddrAdv.Name]
	rows = append(rows, []string{
		"(for reference) user CPU per connection vs " + sysAddrAdv.Name + "'s total",
		fmt.Sprintf("%.0f µs vs %.0f µs", d.UserPerConn, m.CPUPerConn),
		met(d.UserPerConn > 0 && m.CPUPerConn > 0 && d.UserPerConn <= m.CPUPerConn)})
	return rows
}

func memTargets(r *Results) [][]string {
	for _, x := range r.Memory {
		if x.System != sysDaemon.Name || len(x.Points) == 0 {
			continue
		}
		p := x.Points[len(x.Points)-1]
		return [][]string{{
			fmt.Sprintf("RSS < 32 MiB with %d tracked connections", p.Connections),
			fmt.Sprintf("%.1f MiB", float64(p.RSSKiB)/1024),
			met(p.RSSKiB > 0 && p.RSSKiB < 32*1024)}}
	}
	return nil
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}
