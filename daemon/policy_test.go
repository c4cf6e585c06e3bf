package daemon

import (
	"net/netip"
	"testing"
)

func testEnv(locals ...string) planEnv {
	env := planEnv{maxSubflows: 8, nDiffPorts: 3}
	ids := map[netip.Addr]uint8{}
	for _, l := range locals {
		a := netip.MustParseAddr(l)
		env.locals = append(env.locals, a)
		ids[a] = uint8(len(ids) + 1)
	}
	env.id = func(a netip.Addr) uint8 { return ids[a] }
	return env
}

func testConn() *conn {
	return newConn(1, netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.9.0.1:5201"))
}

func TestFullMeshSkipsInitialPair(t *testing.T) {
	c := testConn()
	plans := planSubflows(PolicyFullMesh, c, testEnv("10.0.0.1", "10.0.1.1", "fd00::1"))
	if len(plans) != 1 {
		t.Fatalf("got %d plans, want 1: %+v", len(plans), plans)
	}
	if got, want := plans[0].Local, netip.MustParseAddr("10.0.1.1"); got != want {
		t.Errorf("local = %s, want %s", got, want)
	}
	if plans[0].LocalID != 2 {
		t.Errorf("local id = %d, want 2", plans[0].LocalID)
	}
	if plans[0].Remote != c.Remote {
		t.Errorf("remote = %s, want %s", plans[0].Remote, c.Remote)
	}
}

func TestFullMeshAnnouncedAddress(t *testing.T) {
	c := testConn()
	c.Announced[5] = netip.MustParseAddrPort("10.9.1.1:5201")
	plans := planSubflows(PolicyFullMesh, c, testEnv("10.0.0.1", "10.0.1.1"))
	if len(plans) != 3 {
		t.Fatalf("got %d plans, want 3 (2 locals x 2 remotes - initial pair): %+v", len(plans), plans)
	}
	for _, p := range plans {
		if p.Local == c.Local.Addr() && p.LocalID != 0 {
			t.Errorf("plan from the initial address has id %d, want 0", p.LocalID)
		}
	}
}

func TestFullMeshNoDuplicates(t *testing.T) {
	c := testConn()
	env := testEnv("10.0.0.1", "10.0.1.1")
	c.Subflows = append(c.Subflows, &subflow{
		Local:  netip.MustParseAddrPort("10.0.1.1:0"),
		Remote: c.Remote,
		State:  subflowPending,
	})
	if plans := planSubflows(PolicyFullMesh, c, env); len(plans) != 0 {
		t.Errorf("pending subflow planned again: %+v", plans)
	}
	c.Subflows[0].State = subflowClosed
	if plans := planSubflows(PolicyFullMesh, c, env); len(plans) != 1 {
		t.Errorf("closed subflow not planned again: %+v", plans)
	}
}

func TestFullMeshMaxSubflows(t *testing.T) {
	c := testConn()
	env := testEnv("10.0.0.1", "10.0.1.1", "10.0.2.1", "10.0.3.1")
	env.maxSubflows = 2
	if plans := planSubflows(PolicyFullMesh, c, env); len(plans) != 2 {
		t.Errorf("got %d plans, want 2 (the limit)", len(plans))
	}
}

func TestFullMeshRetryBackoff(t *testing.T) {
	c := testConn()
	env := testEnv("10.0.0.1", "10.0.1.1")
	sf := &subflow{Local: netip.MustParseAddrPort("10.0.1.1:1234"), Remote: c.Remote, State: subflowClosed}
	c.Subflows = append(c.Subflows, sf)
	d := &Daemon{cfg: DefaultConfig()}
	d.scheduleRetry(c, sf)
	if plans := planSubflows(PolicyFullMesh, c, env); len(plans) != 0 {
		t.Errorf("subflow planned during its backoff: %+v", plans)
	}
	if c.Retries[0].Backoff != 2*d.cfg.Adaptive.RetryMin {
		t.Errorf("next backoff = %s, want %s", c.Retries[0].Backoff, 2*d.cfg.Adaptive.RetryMin)
	}
	d.scheduleRetry(c, sf)
	if c.Retries[0].Backoff != 4*d.cfg.Adaptive.RetryMin {
		t.Errorf("backoff after two failures = %s, want %s", c.Retries[0].Backoff, 4*d.cfg.Adaptive.RetryMin)
	}
}

func TestNDiffPortsCount(t *testing.T) {
	c := testConn()
	env := testEnv("10.0.0.1", "10.0.1.1")
	plans := planSubflows(PolicyNDiffPorts, c, env)
	if len(plans) != 2 {
		t.Fatalf("got %d plans, want 2 (3 subflows with the initial one)", len(plans))
	}
	for _, p := range plans {
		if p.Local != c.Local.Addr() || p.Remote != c.Remote || p.LocalID != 0 {
			t.Errorf("plan %+v is not over the initial pair with id 0", p)
		}
	}
}

func TestBackupPolicyFlag(t *testing.T) {
	c := testConn()
	env := testEnv("10.0.0.1", "10.0.1.1")
	env.isBackup = func(a netip.Addr) bool { return a == netip.MustParseAddr("10.0.1.1") }
	plans := planSubflows(PolicyBackup, c, env)
	if len(plans) != 1 || !plans[0].Backup {
		t.Fatalf("plans = %+v, want one backup subflow", plans)
	}
	if req := plans[0].request(1); req.Local.Flags == 0 {
		t.Errorf("request %+v lacks the backup flag", req)
	}
}

func TestMappedAddressesUnmapped(t *testing.T) {
	c := newConn(1, netip.MustParseAddrPort("[::ffff:10.0.0.1]:40000"), netip.MustParseAddrPort("[::ffff:10.9.0.1]:5201"))
	plans := planSubflows(PolicyFullMesh, c, testEnv("10.0.0.1", "10.0.1.1"))
	if len(plans) != 1 {
		t.Fatalf("got %d plans, want 1: %+v", len(plans), plans)
	}
	if !plans[0].Remote.Addr().Is4() {
		t.Errorf("remote %s is not unmapped", plans[0].Remote)
	}
}

func TestValidatePolicy(t *testing.T) {
	for _, p := range policies {
		if err := ValidatePolicy(p); err != nil {
			t.Errorf("ValidatePolicy(%q) = %v", p, err)
		}
	}
	if err := ValidatePolicy("roundrobin"); err == nil {
		t.Error("ValidatePolicy accepted roundrobin")
	}
}
