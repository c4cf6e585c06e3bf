package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/control"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// metricsPort is the metrics port inside the lab's client namespace,
// which has a loopback of its own.
const metricsPort = 19464

// scrape fetches the metrics page from inside ns, where the daemon's
// loopback listener is, and parses it.
func scrape(t *testing.T, ns *nstest.NS) map[string]*dto.MetricFamily {
	t.Helper()
	var body []byte
	err := ns.Do(func() error {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", metricsPort), 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(resp.Body)
		return err
	})
	if err != nil {
		t.Fatalf("scrape metrics: %v", err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytesReader(body))
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	return fams
}

// value returns the value of the series of family name whose labels
// include want, or -1.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		}
	}
	return -1
}

// TestMetricsLab scrapes the daemon's metrics during a lab transfer and
// compares them with the state the control socket reports.
func TestMetricsLab(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{ClientPM: "userspace"})
	bin := binary(t)
	has := runFlags(t, bin)
	nstest.Require(t, has["metrics-addr"] && has["control-socket"], "the daemon lacks --metrics-addr or --control-socket")
	sock := filepath.Join(t.TempDir(), "control.sock")
	startLabDaemon(t, lab.Client, bin, "--control-socket", sock, "--diag-interval", "200ms",
		"--metrics-addr", fmt.Sprintf("127.0.0.1:%d", metricsPort), "--metrics-subflows")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bulkTransfer(ctx, t, lab, 5201)
	waitSubflows(t, lab.Client, 2)
	time.Sleep(600 * time.Millisecond) // at least two diag polls

	c, err := control.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	conns, err := c.Connections()
	if err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, lab.Client)

	if got := value(fams, "mptcp_bpf_pm_connections", nil); got != float64(len(conns)) {
		t.Errorf("mptcp_bpf_pm_connections %v, control socket has %d connections", got, len(conns))
	}
	states := map[string]int{}
	for _, cn := range conns {
		for _, sf := range cn.Subflows {
			states[sf.State]++
			labels := map[string]string{"token": fmt.Sprintf("%08x", cn.Token),
				"local": sf.Local.String(), "remote": sf.Remote.String()}
			if v := value(fams, "mptcp_bpf_pm_subflow_cwnd_segments", labels); v <= 0 {
				t.Errorf("subflow %s -> %s: cwnd series %v, want > 0", sf.Local, sf.Remote, v)
			}
			if v := value(fams, "mptcp_bpf_pm_subflow_acked_bytes_total", labels); v <= 0 {
				t.Errorf("subflow %s -> %s: acked bytes %v, want > 0", sf.Local, sf.Remote, v)
			}
		}
	}
	for st, n := range states {
		if got := value(fams, "mptcp_bpf_pm_subflows", map[string]string{"state": st}); got != float64(n) {
			t.Errorf("mptcp_bpf_pm_subflows{state=%q} %v, control socket has %d", st, got, n)
		}
	}
	for _, check := range []struct {
		name   string
		labels map[string]string
	}{
		{"mptcp_bpf_pm_events_total", map[string]string{"type": "sf_established"}},
		{"mptcp_bpf_pm_commands_total", map[string]string{"command": "subflow_create", "result": "ok"}},
		{"mptcp_bpf_pm_ring_records_total", nil},
		{"mptcp_bpf_pm_diag_polls_total", map[string]string{"result": "ok"}},
	} {
		if v := value(fams, check.name, check.labels); v < 1 {
			t.Errorf("%s%v = %v, want at least 1", check.name, check.labels, v)
		}
	}
	t.Logf("%d connections, subflows by state %v", len(conns), states)
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// TestCtlLab drives the real daemon through ctl during a lab transfer:
// listing, a rejected option, an option change and a bad request.
func TestCtlLab(t *testing.T) {
	_, bin, sock, paths := topLab(t)
	if sock == "" {
		t.Fatal("the daemon has no control socket")
	}
	ctl := func(args ...string) (string, error) {
		out, err := exec.Command(bin, append([]string{"ctl", "--socket", sock}, args...)...).CombinedOutput()
		return string(out), err
	}

	out, err := ctl("connections")
	if err != nil {
		t.Fatalf("ctl connections: %v\n%s", err, out)
	}
	t.Logf("\n%s", out)
	for _, p := range paths {
		local := strings.Split(p, " -> ")[0]
		if !strings.Contains(out, local+":") {
			t.Errorf("ctl connections lacks subflow from %s", local)
		}
	}

	out, err = ctl("set", "policy", "nonsense")
	if exitCode(err) != 1 || !strings.Contains(out, "invalid") {
		t.Errorf("ctl set policy nonsense: exit %d, %q; want exit 1 and invalid", exitCode(err), out)
	}
	if out, err := ctl("set", "max-subflows", "4"); err != nil {
		t.Errorf("ctl set max-subflows 4: %v %s", err, out)
	}

	out, _ = ctl("status", "--json")
	var st control.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("ctl status --json: %v\n%s", err, out)
	}
	if st.Options["max-subflows"] != "4" {
		t.Errorf("max-subflows %q after set, want 4", st.Options["max-subflows"])
	}

	out, err = ctl("subflow", "0x1", "10.200.0.1", "10.200.0.2:5201")
	if exitCode(err) != 1 || !strings.Contains(out, "not found") {
		t.Errorf("ctl subflow for unknown token: exit %d, %q; want exit 1 and not found", exitCode(err), out)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
