package daemon

import (
	"net/netip"
	"testing"
	"time"
)

func adaptiveConn(now time.Time) (*Daemon, *conn) {
	d := &Daemon{cfg: DefaultConfig()}
	d.cfg.Policy = PolicyAdaptive
	c := testConn()
	c.Established = true
	for i, ip := range []string{"10.0.0.1", "10.0.1.1"} {
		c.Subflows = append(c.Subflows, &subflow{
			Local:  netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(40000+i)),
			Remote: c.Remote,
			State:  subflowEstablished,
			Stats:  subflowStats{At: now, SRTTUs: 1000},
		})
	}
	return d, c
}

func TestAdaptiveLossStateGoesBackup(t *testing.T) {
	now := time.Now()
	d, c := adaptiveConn(now)
	c.Subflows[1].Stats.CAState = caLoss
	actions := d.checkConn(now, c)
	if len(actions) != 1 {
		t.Fatalf("got %d actions, want 1", len(actions))
	}
	if !actions[0].backup {
		t.Error("action does not set backup")
	}
	if actions[0].local != c.Subflows[1].Local {
		t.Errorf("action on %s, want %s", actions[0].local, c.Subflows[1].Local)
	}
	if !c.Subflows[1].Backup {
		t.Error("table does not mark the subflow backup")
	}
}

func TestAdaptiveKeepsOneActive(t *testing.T) {
	now := time.Now()
	d, c := adaptiveConn(now)
	c.Subflows[0].Stats.CAState = caLoss
	c.Subflows[1].Stats.CAState = caLoss
	if actions := d.checkConn(now, c); len(actions) != 1 {
		t.Errorf("got %d actions with every subflow lossy, want 1 (one stays active)", len(actions))
	}
}

func TestAdaptiveRestoreHysteresis(t *testing.T) {
	now := time.Now()
	d, c := adaptiveConn(now)
	sf := c.Subflows[1]
	sf.Stats.CAState = caLoss
	d.checkConn(now, c)
	sf.Stats.CAState = caOpen
	if actions := d.checkConn(now.Add(time.Second), c); len(actions) != 0 {
		t.Errorf("restored after 1s healthy, want after %s: %+v", d.cfg.Adaptive.RestoreAfter, actions)
	}
	actions := d.checkConn(now.Add(time.Second+d.cfg.Adaptive.RestoreAfter), c)
	if len(actions) != 1 || actions[0].backup {
		t.Fatalf("actions = %+v, want one restore", actions)
	}
}

func TestAdaptiveSlowRTT(t *testing.T) {
	now := time.Now()
	d, c := adaptiveConn(now)
	c.Subflows[1].Stats.SRTTUs = 100000 // 100 ms against 1 ms
	actions := d.checkConn(now, c)
	if len(actions) != 1 || actions[0].local != c.Subflows[1].Local {
		t.Errorf("actions = %+v, want backup of the slow subflow", actions)
	}
}

func TestAdaptiveLossRatioWindow(t *testing.T) {
	var h health
	now := time.Now()
	w := 500 * time.Millisecond
	h.observe(now, &subflowStats{BytesSent: 1000}, w)
	h.observe(now.Add(w), &subflowStats{BytesSent: 11000, BytesRetrans: 1000}, w)
	if h.lossRatio != 0.1 {
		t.Errorf("loss ratio = %g, want 0.1", h.lossRatio)
	}
}
