package shape

// RateHTB sets the rate with htb even where tbf exists.
func RateHTB(ns, ifname, rate string) error {
	bits, err := ParseRate(rate)
	if err != nil {
		return err
	}
	return rateHTB(ns, ifname, bits)
}
