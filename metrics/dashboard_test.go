package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDashboardMetrics checks that every metric the packaged Grafana
// dashboard queries exists, so that a renamed metric breaks this test
// rather than a panel.
func TestDashboardMetrics(t *testing.T) {
	b, err := os.ReadFile("../packaging/grafana/mptcp-bpf-pm.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	m := New(Options{Subflows: true})
	m.Observe(fixture(2))
	m.Event("created")
	m.Command("subflow_create", nil)
	m.RingDrops("ring_full", 0)
	m.DiagPoll(nil, time.Millisecond)
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range fams {
		known[f.GetName()] = true
	}
	name := regexp.MustCompile(`mptcp_bpf_pm_[a-z_]+`)
	queried := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, n := range name.FindAllString(tg.Expr, -1) {
				queried++
				base := strings.TrimSuffix(n, "_bucket")
				if !known[n] && !known[base] {
					t.Errorf("panel %q queries unknown metric %s", p.Title, n)
				}
			}
		}
	}
	if queried < 10 {
		t.Errorf("dashboard queries %d metrics, want at least 10", queried)
	}
}
