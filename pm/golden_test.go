package pm

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdlayher/genetlink"
)

// goldenEvents decodes every event datagram of testdata/events.hex.
func goldenEvents(t *testing.T) ([]GoldenRecord, [][]Event) {
	t.Helper()
	recs, err := ReadGolden(filepath.Join("testdata", "events.hex"))
	if err != nil {
		t.Fatalf("read golden events: %v", err)
	}
	all := make([][]Event, len(recs))
	for i, r := range recs {
		msgs, err := splitMessages(r.Data)
		if err != nil {
			t.Fatalf("%s: split: %v", r.Label, err)
		}
		for _, m := range msgs {
			var g genetlink.Message
			if err := g.UnmarshalBinary(m.Data); err != nil {
				t.Fatalf("%s: generic netlink header: %v", r.Label, err)
			}
			ev, err := DecodeEvent(g)
			if err != nil {
				t.Errorf("%s: decode: %v", r.Label, err)
			}
			all[i] = append(all[i], ev)
		}
	}
	return recs, all
}

// TestGoldenEventsText compares the decoded events with
// testdata/events.golden, which -update rewrites.
func TestGoldenEventsText(t *testing.T) {
	recs, all := goldenEvents(t)
	var sb strings.Builder
	for i, evs := range all {
		for _, ev := range evs {
			sb.WriteString(recs[i].Label + ": " + ev.String() + "\n")
		}
	}

	path := filepath.Join("testdata", "events.golden")
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if got := sb.String(); got != string(want) {
		t.Errorf("decoded events differ from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestGoldenEventsFields checks facts of the captured run that do not
// depend on the decoder: the type is the command byte, the server port
// is 7100 (big-endian on the wire), and the attributes each type has.
func TestGoldenEventsFields(t *testing.T) {
	recs, all := goldenEvents(t)
	seen := map[EventType]int{}
	for i, evs := range all {
		label := recs[i].Label
		if len(evs) != 1 {
			t.Errorf("%s: %d events in one datagram, want 1", label, len(evs))
			continue
		}
		ev := evs[0]
		seen[ev.Type]++
		if want := recs[i].Data[16]; uint8(ev.Type) != want {
			t.Errorf("%s: type %d, want command byte %d", label, ev.Type, want)
		}
		if len(ev.Unknown) != 0 {
			t.Errorf("%s: unknown attributes %v", label, ev.Unknown)
		}
		checkGoldenEvent(t, label, &ev)
	}
	for _, typ := range []EventType{EventCreated, EventEstablished,
		EventClosed, EventAnnounced, EventRemoved, EventSubEstablished,
		EventSubClosed, EventSubPriority, EventListenerCreated,
		EventListenerClosed} {
		if seen[typ] == 0 {
			t.Errorf("no %s event in the golden file", typ)
		}
	}
}

func checkGoldenEvent(t *testing.T, label string, ev *Event) {
	t.Helper()
	server := strings.HasPrefix(label, "server")
	switch ev.Type {
	case EventCreated, EventEstablished:
		port := ev.Remote.Port()
		if server {
			port = ev.Local.Port()
		}
		if port != 7100 {
			t.Errorf("%s: server port %d, want 7100", label, port)
		}
		if server != (ev.Flags == EventFlagServerSide && ev.ServerSide) {
			t.Errorf("%s: flags %#x server_side %v", label, ev.Flags, ev.ServerSide)
		}
	case EventSubEstablished, EventSubPriority:
		if !ev.Has(AttrBackup) || !ev.Has(AttrLocID) || !ev.Has(AttrRemID) {
			t.Errorf("%s: missing backup or ids: %s", label, ev)
		}
		if ev.Type == EventSubPriority && !ev.Backup {
			t.Errorf("%s: backup = false after MP_PRIO backup", label)
		}
	case EventSubClosed:
		if ev.Has(AttrError) && ev.Error != 111 {
			t.Errorf("%s: error %d, want 111 (ECONNREFUSED)", label, ev.Error)
		}
	case EventListenerCreated, EventListenerClosed:
		if ev.Has(AttrToken) || ev.Local.Port() == 0 {
			t.Errorf("%s: listener event %s", label, ev)
		}
		return
	}
	if ev.Token == 0 || !ev.Has(AttrToken) {
		t.Errorf("%s: no token", label)
	}
}

// BenchmarkDecodeEvent decodes the captured SUB_ESTABLISHED events.
func BenchmarkDecodeEvent(b *testing.B) {
	recs, err := ReadGolden(filepath.Join("testdata", "events.hex"))
	if err != nil {
		b.Fatal(err)
	}
	var msgs []genetlink.Message
	for _, r := range recs {
		if r.Data[16] != uint8(EventSubEstablished) {
			continue
		}
		var g genetlink.Message
		if err := g.UnmarshalBinary(r.Data[16:]); err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, g)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := DecodeEvent(msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
