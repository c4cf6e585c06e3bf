package shape

import "errors"

// ClearAll undoes [Rate], [Loss], [Blackhole] and [Delay] on ifname in
// namespace ns. It tries all four and returns their errors joined.
func ClearAll(ns, ifname string) error {
	return errors.Join(
		ClearRate(ns, ifname),
		ClearLoss(ns, ifname),
		Restore(ns, ifname),
		ClearDelay(ns, ifname),
	)
}
