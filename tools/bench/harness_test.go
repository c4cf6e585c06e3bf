package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestRotateVisitsEveryPosition(t *testing.T) {
	specs := []sysSpec{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	got := ""
	for round := 0; round < 3; round++ {
		for _, s := range rotate(specs, round) {
			got += s.Name
		}
		got += " "
	}
	if want := "abc bca cab "; got != want {
		t.Errorf("rotations = %q, want %q", got, want)
	}
}

func TestJobOutcome(t *testing.T) {
	for _, tc := range []struct {
		name                          string
		conns, complete, subflows, de int
		want                          string
	}{
		{"all", 10, 10, 10, 0, StatusOK},
		{"none", 10, 0, 0, 0, StatusNotDone},
		{"some", 10, 7, 7, 0, StatusPartial},
		{"dial errors", 10, 10, 10, 2, StatusPartial},
		{"no connection", 0, 0, 0, 5, StatusNotDone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := jobOutcome(tc.conns, tc.complete, tc.subflows, 1, tc.de, false, "")
			if o.Status != tc.want {
				t.Errorf("status = %q (%s), want %q", o.Status, o.Reason, tc.want)
			}
		})
	}
}

func TestChurnWhyHeld(t *testing.T) {
	s := ChurnStep{Target: 100, Achieved: 96, Completed: 192, WithSubflows: 192}
	if why := churnWhy(s); why != "" {
		t.Errorf("churnWhy(%+v) = %q, want empty", s, why)
	}
}

func TestChurnWhyLostEvents(t *testing.T) {
	s := ChurnStep{Target: 100, Achieved: 100, Completed: 200, WithSubflows: 200, LostEvents: 1}
	if why := churnWhy(s); !strings.Contains(why, "lost events") {
		t.Errorf("churnWhy(%+v) = %q, want a lost-events reason", s, why)
	}
}

func TestChurnWhySlow(t *testing.T) {
	s := ChurnStep{Target: 100, Achieved: 90, Completed: 180, WithSubflows: 180}
	if why := churnWhy(s); !strings.Contains(why, "achieved 90/s") {
		t.Errorf("churnWhy(%+v) = %q, want an achieved-rate reason", s, why)
	}
}

func TestStaleness(t *testing.T) {
	polls := []pollSpan{{100, 110}, {400, 420}, {700, 705}}
	for _, tc := range []struct {
		k    int64
		want float64
		ok   bool
	}{
		{50, 60e-6, true},   // first dump ends 60 ns later
		{100, 10e-6, true},  // a dump that starts at k counts
		{101, 319e-6, true}, // the next one
		{701, 0, false},     // no dump after it
	} {
		got, ok := staleness(polls, tc.k)
		if ok != tc.ok || (ok && !near(got, tc.want)) {
			t.Errorf("staleness(%d) = %v, %v; want %v, %v", tc.k, got, ok, tc.want, tc.ok)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestRecoveryFirstIntervalAboveShare(t *testing.T) {
	ivs := []interval{
		{Start: 0.0, Secs: 0.1, Mbps: 90},
		{Start: 0.1, Secs: 0.1, Mbps: 90}, // cut at 0.15 falls inside: skipped
		{Start: 0.2, Secs: 0.1, Mbps: 0},
		{Start: 0.3, Secs: 0.1, Mbps: 30},
		{Start: 0.4, Secs: 0.1, Mbps: 45},
		{Start: 0.5, Secs: 0.1, Mbps: 48},
	}
	var run failoverRun
	recovery(&run, ivs, 0.15, 50)
	if !run.recovered || !near(run.seconds, 0.35) {
		t.Errorf("recovery = %v after %.3fs, want true after 0.350s", run.recovered, run.seconds)
	}
}

func TestRecoveryNever(t *testing.T) {
	ivs := []interval{{Start: 0, Secs: 0.1, Mbps: 90}, {Start: 0.1, Secs: 0.1, Mbps: 0}}
	var run failoverRun
	recovery(&run, ivs, 0.1, 50)
	if run.recovered {
		t.Errorf("recovered after %.3fs, want never", run.seconds)
	}
}

func TestScaleSizesSortedUnique(t *testing.T) {
	got := scaleSizes(sizes{diagAt: 5000, scalePoints: []int{1000, 10000, 5000}})
	if want := []int{1000, 5000, 10000}; !equalInts(got, want) {
		t.Errorf("scaleSizes = %v, want %v", got, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseBulk(t *testing.T) {
	out := `{"event":"interval","mode":"bulk","start":0,"seconds":0.1,"bytes":1250000,"mbps":100}
{"mode":"bulk","mptcp":true,"mptcp_info":{"token":1,"subflows":2},"bytes":5,"mbps":99.5}
`
	rep, err := parseBulk([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mbps != 99.5 || rep.subflows() != 2 || len(rep.intervals) != 1 {
		t.Errorf("parseBulk = %+v, want 99.5 Mbit/s, 2 subflows, 1 interval", rep)
	}
}

func TestParseBulkNoReport(t *testing.T) {
	if _, err := parseBulk([]byte("garbage\n")); err == nil {
		t.Error("parseBulk(garbage) returned no error")
	}
}

func sampleResults() *Results {
	return &Results{
		Latency: []LatencyRow{
			{System: "kernel", Paths: 2, Outcome: Outcome{Status: StatusOK}, Connections: 10, Complete: 10,
				Subflows: 10, Expected: 10, SubflowUs: Summary{N: 10, P50: 100, P99: 200}, RatioP50: 1, RatioP99: 1},
			{System: "mptcpd-sspi", Paths: 2, Outcome: Outcome{Status: StatusNotDone, Reason: "0 of 10 connections"},
				Connections: 10, Expected: 10},
			{System: "daemon", Paths: 2, Outcome: Outcome{Status: StatusOK}, Connections: 10, Complete: 10,
				Subflows: 10, Expected: 10, SubflowUs: Summary{N: 10, P50: 1500, P99: 3000}, RatioP50: 15, RatioP99: 15},
		},
		Memory: []MemoryRow{{System: "daemon", Outcome: Outcome{Status: StatusOK}, IdleKiB: 2048,
			Points: []Mem{{Connections: 10000, Subflows: 10000, RSSKiB: 40960}}}},
	}
}

func TestRenderLatencyRow(t *testing.T) {
	var b bytes.Buffer
	if err := renderMarkdown(&b, sampleResults()); err != nil {
		t.Fatal(err)
	}
	want := "| daemon | 2 | ok | 10 / 10 | 10 / 10 | 1.50 ms (15.00×) | 3.00 ms (15.00×) | – | – |"
	if !strings.Contains(b.String(), want) {
		t.Errorf("markdown lacks %q:\n%s", want, b.String())
	}
}

func TestRenderKeepsFailedSystem(t *testing.T) {
	var b bytes.Buffer
	if err := renderMarkdown(&b, sampleResults()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "- mptcpd-sspi, 2 paths: 0 of 10 connections") {
		t.Errorf("markdown lacks the reason of the failed system:\n%s", b.String())
	}
}

func TestRenderSkipsMissingFigures(t *testing.T) {
	var b bytes.Buffer
	if err := renderMarkdown(&b, sampleResults()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "### 2. Churn") {
		t.Errorf("markdown has a churn section without churn results:\n%s", b.String())
	}
}

func TestTargetsMemoryMissed(t *testing.T) {
	rows := targetRows(sampleResults())
	var got []string
	for _, r := range rows {
		if strings.HasPrefix(r[0], "RSS") {
			got = r
		}
	}
	if got == nil || got[1] != "40.0 MiB" || got[2] != "**no**" {
		t.Errorf("RSS target row = %q, want 40.0 MiB and **no**", got)
	}
}

func TestResultsJSONRoundTrip(t *testing.T) {
	in := sampleResults()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Results
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Latency[2].SubflowUs != in.Latency[2].SubflowUs {
		t.Errorf("latency summary after round trip = %+v, want %+v", out.Latency[2].SubflowUs, in.Latency[2].SubflowUs)
	}
}
