package daemon

import (
	"fmt"
	"net/netip"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/control"
)

// The daemon implements control.Handler for the control socket.
var _ control.Handler = (*Daemon)(nil)

// Status returns the daemon's identity and run-time options.
func (d *Daemon) Status() control.Status {
	version := d.cfg.Version
	if bi, ok := debug.ReadBuildInfo(); ok && version == "" {
		version = bi.Main.Version
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return control.Status{
		PID:       os.Getpid(),
		Version:   version,
		StartTime: d.started,
		Mode:      d.cfg.Mode,
		Policy:    d.cfg.Policy,
		BPF:       d.tracer != nil,
		Addresses: d.usableAddrs(),
		Options:   d.optionsLocked(),
	}
}

// Connections returns the connection table as control views.
func (d *Daemon) Connections() []control.Connection {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.connectionsLocked()
}

func (d *Daemon) connectionsLocked() []control.Connection {
	out := make([]control.Connection, 0, len(d.conns))
	for _, c := range d.conns {
		cv := control.Connection{
			Token:       c.Token,
			Local:       c.Local,
			Remote:      c.Remote,
			ServerSide:  c.ServerSide,
			Established: c.Established,
			Managed:     c.Managed,
			Since:       c.Since,
		}
		for _, sf := range c.Subflows {
			cv.Subflows = append(cv.Subflows, d.subflowView(sf))
		}
		out = append(out, cv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Token < out[j].Token })
	return out
}

func (d *Daemon) subflowView(sf *subflow) control.Subflow {
	return control.Subflow{
		Local:        sf.Local,
		Remote:       sf.Remote,
		LocalID:      sf.LocalID,
		RemoteID:     sf.RemoteID,
		Backup:       sf.Backup,
		Interface:    d.links.name(d.addrs.ifIndex(sf.Local.Addr())),
		State:        string(sf.State),
		Cookie:       sf.Cookie,
		SRTTUs:       sf.Stats.SRTTUs,
		SndCwnd:      sf.Stats.SndCwnd,
		BytesSent:    sf.Stats.BytesSent,
		BytesAcked:   sf.Stats.BytesAcked,
		BytesRetrans: sf.Stats.BytesRetrans,
		TotalRetrans: sf.Stats.TotalRetrans,
		DeliveryRate: sf.Stats.DeliveryRate,
		PacingRate:   sf.Stats.PacingRate,
		StatsSource:  sf.Stats.Source,
		StatsTime:    sf.Stats.At,
	}
}

// AddAddress lets the policy use a local address again after
// RemoveAddress, and opens its subflows.
func (d *Daemon) AddAddress(a netip.Addr) error {
	a = a.Unmap()
	if !d.addrs.has(a) {
		return fmt.Errorf("address %s is not assigned to a usable interface of this network namespace: %w", a, control.ErrNotFound)
	}
	d.mu.Lock()
	delete(d.excluded, a)
	d.mu.Unlock()
	d.addressChanged(a, true)
	return nil
}

// RemoveAddress stops the policy from using a local address and closes
// the subflows that use it.
func (d *Daemon) RemoveAddress(a netip.Addr) error {
	a = a.Unmap()
	if !d.addrs.has(a) {
		return fmt.Errorf("address %s is not a local address: %w", a, control.ErrNotFound)
	}
	d.mu.Lock()
	d.excluded[a] = true
	d.mu.Unlock()
	d.addressChanged(a, false)
	return nil
}

// runtimeOptions are the options SetOption changes, named like the flags.
var runtimeOptions = []string{"policy", "max-subflows", "ndiffports", "backup-if", "announce",
	"adaptive-loss", "adaptive-rtt-factor", "adaptive-restore"}

// SetOption changes one run-time option. New values apply to the next
// planning round; existing subflows stay.
func (d *Daemon) SetOption(key, value string) error {
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	var err error
	switch key {
	case "policy":
		cfg.Policy = value
	case "max-subflows":
		cfg.MaxSubflows, err = strconv.Atoi(value)
	case "ndiffports":
		cfg.NDiffPorts, err = strconv.Atoi(value)
	case "backup-if":
		cfg.BackupInterfaces = splitList(value)
	case "announce":
		cfg.Announce, err = strconv.ParseBool(value)
	case "adaptive-loss":
		cfg.Adaptive.LossRatio, err = strconv.ParseFloat(value, 64)
	case "adaptive-rtt-factor":
		cfg.Adaptive.RTTFactor, err = strconv.ParseFloat(value, 64)
	case "adaptive-restore":
		cfg.Adaptive.RestoreAfter, err = time.ParseDuration(value)
	default:
		return fmt.Errorf("unknown option %q: want one of %s: %w", key, strings.Join(runtimeOptions, ", "), control.ErrInvalid)
	}
	if err != nil {
		return fmt.Errorf("invalid value %q for %s: %v: %w", value, key, err, control.ErrInvalid)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%v: %w", err, control.ErrInvalid)
	}
	d.mu.Lock()
	d.cfg = cfg
	d.mu.Unlock()
	d.log.WithField("option", key).WithField("value", value).Info("option changed over the control socket")
	d.planAll()
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// optionsLocked returns the current run-time options as strings.
func (d *Daemon) optionsLocked() map[string]string {
	c := &d.cfg
	return map[string]string{
		"policy":              c.Policy,
		"max-subflows":        strconv.Itoa(c.MaxSubflows),
		"ndiffports":          strconv.Itoa(c.NDiffPorts),
		"backup-if":           strings.Join(c.BackupInterfaces, ","),
		"announce":            strconv.FormatBool(c.Announce),
		"adaptive-loss":       strconv.FormatFloat(c.Adaptive.LossRatio, 'g', -1, 64),
		"adaptive-rtt-factor": strconv.FormatFloat(c.Adaptive.RTTFactor, 'g', -1, 64),
		"adaptive-restore":    c.Adaptive.RestoreAfter.String(),
	}
}

// CreateSubflow opens one subflow of a connection on request and waits for
// the kernel's reply.
func (d *Daemon) CreateSubflow(req control.SubflowRequest) error {
	if d.cfg.Mode != ModeUserspace {
		return fmt.Errorf("subflows are created by the kernel with --pm kernel: %w", control.ErrUnsupported)
	}
	local := req.Local.Unmap()
	d.mu.Lock()
	c := d.conns[req.Token]
	if c == nil {
		d.mu.Unlock()
		return fmt.Errorf("connection token %08x: %w", req.Token, control.ErrNotFound)
	}
	id := d.addrs.id(local)
	if local == c.Local.Addr() {
		id = 0
	}
	c.Subflows = append(c.Subflows, &subflow{
		Local: netip.AddrPortFrom(local, 0), Remote: unmapAddrPort(req.Remote),
		LocalID: id, Backup: req.Backup, State: subflowPending, Requested: true, Since: time.Now(),
	})
	d.mu.Unlock()

	p := subflowPlan{Local: local, LocalID: id, Remote: unmapAddrPort(req.Remote), Backup: req.Backup}
	result := make(chan error, 1)
	d.cmds.push(job{fn: func() {
		r := p.request(req.Token)
		err := d.pm.SubflowCreate(r.Token, r.Local, r.Remote)
		d.subflowCreated(r, err, 0)
		result <- err
	}})
	select {
	case err := <-result:
		return err
	case <-time.After(5 * time.Second):
		return fmt.Errorf("subflow create for token %08x timed out after 5s", req.Token)
	}
}
