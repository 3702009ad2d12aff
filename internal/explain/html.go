package explain

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// WriteHTML writes the explanation as one self-contained HTML page: the
// charts are inline SVG, the style inline CSS; nothing is fetched.
func WriteHTML(w io.Writer, e *Explanation) error {
	type item struct {
		Item
		Heading, Facts string
		Chart          template.HTML
	}
	var items []item
	for i, it := range e.Items {
		items = append(items, item{Item: it, Heading: heading(&it.Finding), Facts: facts(&it.Finding), Chart: svgChart(i, &it)})
	}
	return page.Execute(w, struct {
		E     *Explanation
		Items []item
	}{e, items})
}

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"when":  func(t interface{ Format(string) string }) string { return t.Format("2006-01-02 15:04:05") },
	"lines": func(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>oomdoctor explain {{.E.Target}}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:2em;border-top:1px solid #ccc;padding-top:1em}
.facts{color:#555} table{border-collapse:collapse} td{padding:2px 8px;vertical-align:top}
.cause{border-left:4px solid #888;padding:4px 12px;margin:12px 0}
.cause.high{border-color:#c62828} .cause.medium{border-color:#ef6c00} .cause.low{border-color:#9e9e9e}
pre{background:#f5f5f5;padding:8px} .muted{color:#777}
svg text{font:11px sans-serif;fill:#444}
</style></head><body>
<h1>Why {{.E.Target}} was killed</h1>
<p class="muted">oomdoctor explain, data as of {{when .E.AsOf}} UTC</p>
{{if not .Items}}<p>No OOM kill, eviction, SIGKILL or runtime out-of-memory error found.</p>{{end}}
{{range $i, $it := .Items}}
<section class="finding" id="finding-{{$i}}">
<h2>{{$it.Heading}}</h2>
<p class="facts">{{$it.Facts}}</p>
<p><strong>{{$it.Finding.Type}}</strong>: {{$it.Finding.Explanation}}</p>
<h3>Timeline (UTC)</h3>
<table class="timeline">{{range $it.Timeline}}<tr><td>{{when .At}}</td><td>{{.What}}</td><td class="muted">{{.Source}}</td></tr>{{else}}<tr><td>no times known</td></tr>{{end}}</table>
<h3>Memory</h3>
{{if $it.History}}{{$it.Chart}}<p class="muted">From {{$it.History.Source}}, step {{$it.History.Step}}: each point is the highest value of its step.</p>{{else}}<p class="muted">No usage history: give --prometheus-url to see the working set against the limit.</p>{{end}}
<h3>Causes</h3>
{{range $it.Finding.Causes}}<div class="cause {{.Confidence}}"><p><strong>{{.ID}}{{if .Runtime}} ({{.Runtime}}){{end}}</strong>, {{.Confidence}} confidence: {{.Summary}}</p>
<p class="muted">Why {{.Confidence}}: {{.ConfidenceWhy}}</p>
<ul>{{range .Evidence}}<li>{{.What}}: {{.Value}}{{if .At}} at {{when .At}}{{end}}{{if .Source}} <span class="muted">[{{.Source}}]</span>{{end}}</li>{{end}}</ul>
<p><strong>Fix</strong>: {{.Fix.Text}}{{if .Fix.Flag}} Set <code>{{.Fix.Flag}}</code>.{{end}}</p>
{{if .Fix.YAML}}<pre>{{.Fix.YAML}}</pre>{{end}}{{if .Fix.Command}}<p>On the cluster (or <code>-f</code> with your manifests instead of <code>--apply</code>): <code>{{.Fix.Command}}</code></p>{{end}}{{if .Fix.ChartCommand}}<p>In the Helm chart's values (the next <code>helm upgrade</code> undoes a change made on the cluster): <code>{{.Fix.ChartCommand}}</code></p>{{end}}</div>{{else}}<p>None shown by the data at hand.</p>{{end}}
{{if $it.Finding.Undecided}}<h3>Not decided</h3><ul>{{range $it.Finding.Undecided}}<li><strong>{{.ID}}</strong>: needs {{.Needs}}</li>{{end}}</ul>{{end}}
</section>
{{end}}
</body></html>
`))

// svgChart draws the working set (and RSS, cache) against the request and
// limit, with a red line at each kill.
func svgChart(idx int, it *Item) template.HTML {
	h := it.History
	if h == nil || len(h.WorkingSet) == 0 {
		return ""
	}
	const W, H, left, right, top, bottom = 960.0, 320.0, 64.0, 16.0, 12.0, 36.0
	t0, t1 := h.WorkingSet[0].T, h.WorkingSet[len(h.WorkingSet)-1].T
	if t1 <= t0 {
		t1 = t0 + 1
	}
	maxV := 0.0
	for _, s := range [][]model.Point{h.WorkingSet, h.RSS, h.Cache, h.Limit, h.Request} {
		for _, p := range s {
			maxV = math.Max(maxV, p.V)
		}
	}
	if f := it.Finding.MemoryLimitBytes; f != nil {
		maxV = math.Max(maxV, float64(*f))
	}
	if maxV == 0 {
		maxV = 1
	}
	maxV *= 1.08
	x := func(t int64) float64 { return left + float64(t-t0)/float64(t1-t0)*(W-left-right) }
	y := func(v float64) float64 { return top + (1-v/maxV)*(H-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="memory-chart-%d" class="memory-chart" xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="memory over time">`, idx, W, H, W, H)
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="#fafafa" stroke="#ddd"/>`, left, top, W-left-right, H-top-bottom)
	// y ticks
	for i := 0; i <= 4; i++ {
		v := maxV / 1.08 * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%.0f" y="%.1f" text-anchor="end">%s</text>`, left, W-right, y(v), y(v), left-6, y(v)+4, size(v))
	}
	// x ticks
	for i := 0; i <= 5; i++ {
		t := t0 + (t1-t0)*int64(i)/5
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case 5:
			anchor = "end"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="%s">%s</text>`, x(t), H-bottom+16, anchor, timeOf(t).Format("01-02 15:04"))
	}
	line := func(class, color, dash string, ps []model.Point, width float64) {
		if len(ps) == 0 {
			return
		}
		var pts strings.Builder
		for _, p := range ps {
			fmt.Fprintf(&pts, "%.1f,%.1f ", x(p.T), y(p.V))
		}
		fmt.Fprintf(&b, `<polyline class="%s" fill="none" stroke="%s" stroke-width="%.1f"%s points="%s"/>`, class, color, width, dash, strings.TrimSpace(pts.String()))
	}
	level := func(class, color, dash string, ps []model.Point, fallback *int64) {
		if len(ps) == 0 && fallback != nil {
			ps = []model.Point{{T: t0, V: float64(*fallback)}}
		}
		if len(ps) == 0 {
			return
		}
		// a step line that holds each value until the next
		var pts []model.Point
		for i, p := range ps {
			if i > 0 {
				pts = append(pts, model.Point{T: p.T, V: ps[i-1].V})
			}
			pts = append(pts, p)
		}
		pts[0].T = t0
		pts = append(pts, model.Point{T: t1, V: ps[len(ps)-1].V})
		line(class, color, dash, pts, 1.5)
	}
	level("limit", "#c62828", "", h.Limit, it.Finding.MemoryLimitBytes)
	level("request", "#757575", ` stroke-dasharray="6 4"`, h.Request, it.Finding.MemoryRequestBytes)
	line("cache", "#ef6c00", ` stroke-dasharray="2 2"`, h.Cache, 1)
	line("rss", "#2e7d32", "", h.RSS, 1)
	line("ws", "#1565c0", "", h.WorkingSet, 1.8)
	for _, k := range h.Kills {
		if k < t0 || k > t1 {
			continue
		}
		fmt.Fprintf(&b, `<line class="kill" x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" stroke="#c62828" stroke-width="1.5"><title>OOM kill at %s UTC</title></line>`, x(k), x(k), top, H-bottom, timeOf(k).Format("2006-01-02 15:04"))
	}
	// legend
	lx := left + 8
	for _, l := range []struct{ name, color string }{{"working set", "#1565c0"}, {"RSS", "#2e7d32"}, {"page cache", "#ef6c00"}, {"limit", "#c62828"}, {"request", "#757575"}, {"kill", "#c62828"}} {
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`, lx, top+6, l.color, lx+14, top+15, l.name)
		lx += 14 + float64(len(l.name))*6.5 + 14
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
