package main

import (
	"encoding/json"
	"fmt"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// eventJSON is one --json line of monitor. Fields whose attribute the
// kernel did not send are left out.
type eventJSON struct {
	Type        string            `json:"type"`
	Token       string            `json:"token,omitempty"`
	Family      *uint16           `json:"family,omitempty"`
	LocalID     *uint8            `json:"locid,omitempty"`
	RemoteID    *uint8            `json:"remid,omitempty"`
	Saddr       string            `json:"saddr,omitempty"`
	Daddr       string            `json:"daddr,omitempty"`
	Sport       *uint16           `json:"sport,omitempty"`
	Dport       *uint16           `json:"dport,omitempty"`
	Backup      *bool             `json:"backup,omitempty"`
	Error       *uint8            `json:"error,omitempty"`
	Flags       *uint16           `json:"flags,omitempty"`
	Timeout     *uint32           `json:"timeout,omitempty"`
	IfIndex     *int32            `json:"ifindex,omitempty"`
	ResetReason *uint32           `json:"reset_reason,omitempty"`
	ResetFlags  *uint32           `json:"reset_flags,omitempty"`
	ServerSide  *bool             `json:"server_side,omitempty"`
	Unknown     map[string]string `json:"unknown,omitempty"`
}

// ptr returns &v when the attribute is present.
func ptr[T any](e *pm.Event, attr uint16, v T) *T {
	if !e.Has(attr) {
		return nil
	}
	return &v
}

func jsonLine(e *pm.Event) ([]byte, error) {
	j := eventJSON{
		Type:        e.Type.String(),
		Family:      ptr(e, pm.AttrFamily, e.Family),
		LocalID:     ptr(e, pm.AttrLocID, e.LocalID),
		RemoteID:    ptr(e, pm.AttrRemID, e.RemoteID),
		Sport:       ptr(e, pm.AttrSport, e.Local.Port()),
		Dport:       ptr(e, pm.AttrDport, e.Remote.Port()),
		Backup:      ptr(e, pm.AttrBackup, e.Backup),
		Error:       ptr(e, pm.AttrError, e.Error),
		Flags:       ptr(e, pm.AttrFlags, e.Flags),
		Timeout:     ptr(e, pm.AttrTimeout, e.Timeout),
		IfIndex:     ptr(e, pm.AttrIfIdx, e.IfIndex),
		ResetReason: ptr(e, pm.AttrResetReason, e.ResetReason),
		ResetFlags:  ptr(e, pm.AttrResetFlags, e.ResetFlags),
		ServerSide:  ptr(e, pm.AttrServerSide, e.ServerSide),
	}
	if e.Has(pm.AttrToken) {
		j.Token = fmt.Sprintf("%08x", e.Token)
	}
	if e.Has(pm.AttrSaddr4) || e.Has(pm.AttrSaddr6) {
		j.Saddr = e.Local.Addr().String()
	}
	if e.Has(pm.AttrDaddr4) || e.Has(pm.AttrDaddr6) {
		j.Daddr = e.Remote.Addr().String()
	}
	for _, a := range e.Unknown {
		if j.Unknown == nil {
			j.Unknown = map[string]string{}
		}
		j.Unknown[fmt.Sprint(a.Type)] = fmt.Sprintf("%x", a.Data)
	}
	b, err := json.Marshal(j)
	return append(b, '\n'), err
}
