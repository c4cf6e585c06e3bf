package main

import (
	"fmt"
	"io"
	"strings"
)

// renderMarkdown writes one table per figure that r holds, each followed
// by the reasons of the rows that did not do the job.
func renderMarkdown(w io.Writer, r *Results) error {
	var b strings.Builder
	sections := []struct {
		title string
		have  bool
		fn    func(*strings.Builder, *Results)
	}{
		{"1. Subflow set-up latency", len(r.Latency) > 0, renderLatency},
		{"2. Churn", len(r.Churn) > 0, renderChurn},
		{"3. Data-path overhead: bulk throughput", len(r.Throughput) > 0, renderThroughput},
		{"4. Statistics freshness", len(r.Freshness) > 0, renderFreshness},
		{"5. Diag dump versus ss", len(r.Diag) > 0, renderDiag},
		{"6. Memory", len(r.Memory) > 0, renderMemory},
		{"7. Failover", len(r.Failover) > 0, renderFailover},
	}
	for _, s := range sections {
		if !s.have {
			continue
		}
		fmt.Fprintf(&b, "### %s\n\n", s.title)
		s.fn(&b, r)
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// table writes a markdown table.
func table(b *strings.Builder, head []string, rows [][]string) {
	b.WriteString("| " + strings.Join(head, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---|", len(head)) + "\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
}

// notes writes the reasons of rows that are not plainly ok.
func notes(b *strings.Builder, items [][2]string) {
	if len(items) == 0 {
		return
	}
	b.WriteString("\n")
	for _, it := range items {
		fmt.Fprintf(b, "- %s: %s\n", it[0], it[1])
	}
}

func dur(us float64) string {
	switch {
	case us == 0:
		return "–"
	case us >= 1e6:
		return fmt.Sprintf("%.2f s", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.2f ms", us/1e3)
	}
	return fmt.Sprintf("%.0f µs", us)
}

func ratio(x float64) string {
	if x == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", x)
}

func withRatio(us, x float64) string {
	if us == 0 {
		return "–"
	}
	return dur(us) + " (" + ratio(x) + ")"
}

func num(x float64, unit string) string {
	if x == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%s", x, unit)
}

func renderLatency(b *strings.Builder, r *Results) {
	var rows [][]string
	var why [][2]string
	for _, x := range r.Latency {
		rows = append(rows, []string{
			x.System, fmt.Sprint(x.Paths), x.Status,
			fmt.Sprintf("%d / %d", x.Complete, x.Connections),
			fmt.Sprintf("%d / %d", x.Subflows, x.Expected),
			withRatio(x.SubflowUs.P50, x.RatioP50), withRatio(x.SubflowUs.P99, x.RatioP99),
			withRatio(x.ConnectUs.P50, x.ConnectRatioP50), withRatio(x.ConnectUs.P99, x.ConnectRatioP99),
		})
		if x.Reason != "" {
			why = append(why, [2]string{fmt.Sprintf("%s, %d paths", x.System, x.Paths), x.Reason})
		}
	}
	table(b, []string{"system", "paths", "result", "complete / conns", "subflows / expected",
		"ESTABLISHED→SUB_ESTABLISHED p50 (vs kernel)", "p99 (vs kernel)",
		"connect()→last subflow p50 (vs kernel)", "p99 (vs kernel)"}, rows)
	notes(b, why)
}

func renderChurn(b *strings.Builder, r *Results) {
	var rows, steps [][]string
	var why [][2]string
	for _, x := range r.Churn {
		cpu := "– (in kernel)"
		if x.System != sysKernel.Name {
			cpu = fmt.Sprintf("%.0f µs (%.0f user + %.0f system)", x.CPUPerConn, x.UserPerConn, x.SysPerConn)
		}
		rows = append(rows, []string{x.System, x.Status, num(x.HighestRate, "/s"), ratio(x.Ratio),
			cpu, fmt.Sprint(x.Connections)})
		for _, s := range x.Steps {
			steps = append(steps, []string{x.System, num(s.Target, "/s"), fmt.Sprintf("%.0f/s", s.Achieved),
				fmt.Sprintf("%d / %d", s.WithSubflows, s.Completed), fmt.Sprint(s.DialErrors),
				fmt.Sprintf("%d / %d", s.LostEvents, s.SystemLost), yesNo(s.Held)})
		}
		if x.Reason != "" {
			why = append(why, [2]string{x.System, x.Reason})
		}
	}
	table(b, []string{"system", "result", "highest rate held", "vs kernel", "PM CPU per connection", "connections"}, rows)
	notes(b, why)
	b.WriteString("\nEvery step of the ladder:\n\n")
	table(b, []string{"system", "target", "achieved", "with all subflows / completed", "failed to open",
		"lost events (listener / PM log)", "held"}, steps)
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

func renderThroughput(b *strings.Builder, r *Results) {
	var rows [][]string
	var why [][2]string
	med := map[string]float64{}
	for _, x := range r.Throughput {
		med[x.System] = x.Median
		runs := make([]string, len(x.Mbps))
		for i, v := range x.Mbps {
			runs[i] = fmt.Sprintf("%.0f", v)
		}
		sub := make([]string, len(x.Subflows))
		for i, v := range x.Subflows {
			sub[i] = fmt.Sprint(v)
		}
		rows = append(rows, []string{x.System, x.Status, strings.Join(runs, ", "),
			num(x.Median, ""), ratio(x.Ratio), strings.Join(sub, ", ")})
		if x.Reason != "" {
			why = append(why, [2]string{x.System, x.Reason})
		}
	}
	table(b, []string{"system", "result", "runs (Mbit/s)", "median Mbit/s", "vs kernel", "subflows per run"}, rows)
	notes(b, why)
	if on, off := med[sysDaemon.Name], med[sysDaemonNoBPF.Name]; on > 0 && off > 0 {
		fmt.Fprintf(b, "\nBPF programs on versus off, medians: %.0f / %.0f Mbit/s = %s.\n", on, off, ratio(on/off))
	}
}

func renderFreshness(b *strings.Builder, r *Results) {
	var rows [][]string
	var why [][2]string
	ms := func(v float64, n int) string {
		if n == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f ms", v)
	}
	for _, x := range r.Freshness {
		rows = append(rows, []string{x.Method, x.System, x.Status, fmt.Sprint(x.Records),
			ms(x.AgeMs.P50, x.AgeMs.N), ms(x.AgeMs.P99, x.AgeMs.N), ms(x.AgeMs.Mean, x.AgeMs.N),
			ms(x.Urgent.P50, x.Urgent.N), ms(x.Urgent.P99, x.Urgent.N)})
		if x.Reason != "" {
			why = append(why, [2]string{x.System, x.Reason})
		}
	}
	table(b, []string{"method", "system", "result", "records", "age p50", "age p99", "age mean",
		"urgent p50", "urgent p99"}, rows)
	notes(b, why)
}

func renderDiag(b *strings.Builder, r *Results) {
	var rows [][]string
	for _, x := range r.Diag {
		seen := "–"
		if x.Sockets >= 0 {
			seen = fmt.Sprint(x.Sockets)
		}
		rows = append(rows, []string{x.System, x.Method, fmt.Sprint(x.Subflows), seen,
			fmt.Sprintf("%.1f ms", x.WallMs.P50), fmt.Sprintf("%.1f ms", x.WallMs.P99), ratio(x.RatioSS)})
	}
	table(b, []string{"lab of", "method", "subflows in the namespace", "subflows dumped",
		"wall p50", "wall p99", "p50 vs ss -tin"}, rows)
}

func renderMemory(b *strings.Builder, r *Results) {
	var rows [][]string
	var why [][2]string
	for _, x := range r.Memory {
		row := []string{x.System, x.Status, rssCell(x.IdleKiB, x.IdleAnonKiB)}
		for _, p := range x.Points {
			row = append(row, fmt.Sprintf("%s; %d conns, %d extra subflows",
				rssCell(p.RSSKiB, p.AnonKiB), p.Connections, p.Subflows))
		}
		rows = append(rows, row)
		if x.Reason != "" {
			why = append(why, [2]string{x.System, x.Reason})
		}
	}
	head := []string{"system", "result", "RSS (anonymous) idle"}
	if len(r.Memory) > 0 {
		for i := range r.Memory[0].Points {
			head = append(head, fmt.Sprintf("RSS (anonymous), point %d", i+1))
		}
	}
	table(b, head, rows)
	notes(b, why)
}

func renderFailover(b *strings.Builder, r *Results) {
	var rows [][]string
	var why [][2]string
	for _, x := range r.Failover {
		runs := make([]string, len(x.RecoveryS))
		for i, v := range x.RecoveryS {
			runs[i] = fmt.Sprintf("%.2f", v)
		}
		med := "–"
		if x.Recovered > 0 {
			med = fmt.Sprintf("%.2f s", x.Median)
		}
		rows = append(rows, []string{x.System, x.Status, fmt.Sprintf("%d / %d", x.Recovered, x.Runs),
			med, strings.Join(runs, ", "), num(x.BeforeMbps, ""), num(x.AfterMbps, "")})
		if x.Reason != "" {
			why = append(why, [2]string{x.System, x.Reason})
		}
	}
	table(b, []string{"system", "result", "recovered / runs", "recovery median", "recovery per run (s)",
		"Mbit/s before the cut (best run)", "Mbit/s at the end (best run)"}, rows)
	notes(b, why)
}

// rssCell formats a resident set and its anonymous part.
func rssCell(rss, anon int) string {
	if rss == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f MiB (%.1f MiB)", float64(rss)/1024, float64(anon)/1024)
}
