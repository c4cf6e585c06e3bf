package shape

import (
	"errors"
	"fmt"
	"time"
)

// delayHandle is the root qdisc handle that marks a qdisc set by [Delay].
const delayHandle = "5b:"

// Delay adds d to every packet that leaves ifname in namespace ns, with a
// netem root qdisc. On a kernel built without netem
// (CONFIG_NET_SCH_NETEM off) it returns an error that matches
// [errors.ErrUnsupported]: tbf and htb only limit the rate, and nftables
// cannot hold packets back, so there is no other way to add delay.
//
// Delay fails when the interface already has a root qdisc from [Rate];
// call [ClearRate] first.
//
// NOTE: the path where netem exists has not run on a test kernel, since
// the kernel this package was written on lacks netem.
func Delay(ns, ifname string, d time.Duration) error {
	if err := checkTarget(ns, ifname); err != nil {
		return err
	}
	if d <= 0 {
		return fmt.Errorf("invalid delay %v: must be greater than 0", d)
	}
	_, err := run(ns, "", "tc", "qdisc", "add", "dev", ifname, "root",
		"handle", delayHandle, "netem",
		"delay", fmt.Sprintf("%dus", d.Microseconds()))
	switch {
	case err == nil:
		return nil
	case stderrContains(err, unknownQdisc):
		return fmt.Errorf("delay %v on %s: %w: the kernel has no netem "+
			"qdisc (CONFIG_NET_SCH_NETEM is off), and tbf, htb and "+
			"nftables cannot delay packets: %v", d, ifname,
			errors.ErrUnsupported, err)
	}
	if kind, _ := rootQdisc(ns, ifname, rateHandle); kind != "" {
		return fmt.Errorf("delay %v on %s: the interface has a %s "+
			"qdisc from Rate; call ClearRate first: %w", d, ifname,
			kind, err)
	}
	return fmt.Errorf("delay %v on %s: %w", d, ifname, err)
}

// ClearDelay removes the root qdisc set by [Delay].
func ClearDelay(ns, ifname string) error {
	if err := checkTarget(ns, ifname); err != nil {
		return err
	}
	if err := clearRoot(ns, ifname, delayHandle); err != nil {
		return fmt.Errorf("clear delay on %s: %w", ifname, err)
	}
	return nil
}
