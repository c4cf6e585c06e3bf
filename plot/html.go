package plot

import (
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"slices"
)

var page = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mptcp-bpf-pm run {{.Start}}</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 1100px; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: left; font-size: 90%; }
img { width: 100%; border: 1px solid #eee; }
.swatch { display: inline-block; width: 1em; height: 1em; vertical-align: middle; }
</style>
</head>
<body>
<h1>mptcp-bpf-pm run</h1>
<h2>Metadata</h2>
<table>
{{range .Meta}}<tr><th>{{.Key}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
<h2>Subflows</h2>
<table>
<tr><th></th><th>subflow (local -> remote, ids)</th><th>token</th><th>socket cookie</th><th>source</th><th>samples</th></tr>
{{range .Subflows}}<tr><td><span class="swatch" style="background:{{.Color}}"></span></td><td>{{.Name}}</td><td>{{.Token}}</td><td>{{.Cookie}}</td><td>{{.Source}}</td><td>{{.Samples}}</td></tr>
{{end}}</table>
{{range .Figures}}<h2>{{.Title}}</h2>
<p><a href="{{.Stem}}.png">PNG</a> · <a href="{{.Stem}}.svg">SVG</a></p>
<img src="{{.Stem}}.svg" alt="{{.Title}}">
{{end}}
<h2>Events</h2>
<table>
<tr><th>time</th><th>type</th><th>token</th><th>local</th><th>remote</th><th>ids</th><th>result</th></tr>
{{range .Events}}<tr><td>{{.At}}</td><td>{{.Type}}</td><td>{{.Token}}</td><td>{{.Local}}</td><td>{{.Remote}}</td><td>{{.IDs}}</td><td>{{.Result}}</td></tr>
{{end}}</table>
</body>
</html>
`))

type kv struct{ Key, Value string }

type htmlSubflow struct {
	Color       template.CSS
	Name, Token string
	Cookie      uint64
	Source      string
	Samples     int
}

type htmlEvent struct{ At, Type, Token, Local, Remote, IDs, Result string }

type htmlFigure struct{ Stem, Title string }

func writeHTML(r *Run, res *Result) error {
	data := struct {
		Start    string
		Meta     []kv
		Subflows []htmlSubflow
		Figures  []htmlFigure
		Events   []htmlEvent
	}{Start: r.Start.Format("2006-01-02 15:04:05 MST"), Meta: metaRows(r.Meta)}
	for i, s := range res.Subflows {
		c := Palette[i%len(Palette)]
		data.Subflows = append(data.Subflows, htmlSubflow{
			Color: template.CSS(fmt.Sprintf("rgb(%d,%d,%d)", c.R, c.G, c.B)),
			Name:  s.Name, Token: fmt.Sprintf("%08x", s.Token), Cookie: s.Cookie,
			Source: s.Source, Samples: len(s.Samples),
		})
	}
	data.Figures = []htmlFigure{
		{"throughput", "Throughput"}, {"srtt", "Smoothed RTT"}, {"cwnd", "Congestion window"},
	}
	for _, e := range r.Evts {
		data.Events = append(data.Events, htmlEvent{
			At: offset(r, e.Time), Type: e.Type, Token: fmt.Sprintf("%08x", e.Token),
			Local: e.Local, Remote: e.Remote, IDs: eventIDs(e), Result: e.Result,
		})
	}
	f, err := os.Create(filepath.Join(res.Dir, "index.html"))
	if err != nil {
		return fmt.Errorf("create index.html: %w", err)
	}
	if err := page.Execute(f, data); err != nil {
		f.Close()
		return fmt.Errorf("write index.html: %w", err)
	}
	return f.Close()
}

func eventIDs(e Event) string {
	switch {
	case e.LocalID != nil && e.RemoteID != nil:
		return fmt.Sprintf("%d/%d", *e.LocalID, *e.RemoteID)
	case e.LocalID != nil:
		return fmt.Sprintf("%d/-", *e.LocalID)
	case e.RemoteID != nil:
		return fmt.Sprintf("-/%d", *e.RemoteID)
	}
	return ""
}

// metaRows flattens meta.json into sorted rows; nested objects such as
// options become "options.KEY".
func metaRows(meta map[string]any) []kv {
	var out []kv
	for k, v := range meta {
		if m, ok := v.(map[string]any); ok {
			for k2, v2 := range m {
				out = append(out, kv{k + "." + k2, jsonText(v2)})
			}
			continue
		}
		out = append(out, kv{k, jsonText(v)})
	}
	slices.SortFunc(out, func(a, b kv) int {
		if a.Key < b.Key {
			return -1
		}
		if a.Key > b.Key {
			return 1
		}
		return 0
	})
	return out
}

func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
