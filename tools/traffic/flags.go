package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// durationValue is a flag that takes a Go duration ("1.5s", "200ms") or
// a plain number of seconds ("3").
type durationValue time.Duration

func (d *durationValue) String() string {
	return time.Duration(*d).String()
}

func (d *durationValue) Set(s string) error {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		*d = durationValue(f * float64(time.Second))
		return d.check(s)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: use 5s, 200ms or "+
			"a number of seconds", s)
	}
	*d = durationValue(v)
	return d.check(s)
}

func (d *durationValue) check(s string) error {
	if *d < 0 {
		return fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	return nil
}

func durationFlag(fs *flag.FlagSet, name string, def time.Duration,
	usage string) *time.Duration {
	d := def
	fs.Var((*durationValue)(&d), name, usage)
	return &d
}

// parseAddrPort accepts only an IP literal with port, so that no name is
// ever resolved and traffic goes to exactly the address given.
func parseAddrPort(flagName, s string) (netip.AddrPort, error) {
	if s == "" {
		return netip.AddrPort{}, fmt.Errorf("--%s is required "+
			"(IP:PORT, e.g. 10.200.1.2:5201 or [fd00:200:1::2]:5201)",
			flagName)
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("invalid --%s %q: want an "+
			"IP literal and port such as 10.200.1.2:5201: %w",
			flagName, s, err)
	}
	return ap, nil
}
