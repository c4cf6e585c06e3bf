package shape_test

import (
	"testing"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/tools/shape"
)

func TestCapabilitiesReasons(t *testing.T) {
	nstest.RequireRoot(t)
	caps, err := shape.Capabilities()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("capabilities: %+v", caps)
	for name, s := range map[string]shape.Support{
		"rate": caps.Rate, "loss": caps.Loss,
		"blackhole": caps.Blackhole, "delay": caps.Delay,
	} {
		if s.Supported != (s.Reason == "") {
			t.Errorf("%s: supported = %v with reason %q", name,
				s.Supported, s.Reason)
		}
		if s.Mechanism == "" {
			t.Errorf("%s: mechanism is empty", name)
		}
	}
}
