package audit

import (
	"errors"
	"fmt"
	"html"
	htmltemplate "html/template"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker-authz/docker-authz/authz/request"
)

// The report is one self-contained HTML page: inline CSS and inline SVG
// charts drawn here, no script, no font, no image, no link to anything, so
// it reads the same opened from disk on a machine without network. Chart
// colours are fixed (and tested on a rendering), one set per chart:
const (
	ColorAllow      = "#2e7d32" // decisions over time: allowed
	ColorDeny       = "#c62828" // decisions over time and top routes: denied
	ColorUserDeny   = "#6a1b9a" // denials by user
	ColorFacetDeny  = "#ef6c00" // denied facets
	ColorRouteAllow = "#1565c0" // top routes: allowed
)

// EscalationKinds are the facet kinds that give a container or the caller
// more power over the host than a plain container has; the report lists
// every request that asked for one, allowed or not.
var EscalationKinds = map[string]bool{
	request.KindPrivileged: true, request.KindBind: true, request.KindCap: true,
	request.KindDevice: true, request.KindDeviceCgroup: true, request.KindDeviceRequest: true,
	request.KindHostNS: true, request.KindUnconfined: true, request.KindSysctl: true,
	request.KindCgroupParent: true, request.KindRuntime: true, request.KindOomKillDisable: true,
	request.KindVolumesFrom: true, request.KindVolumeDriver: true, request.KindPlugin: true,
	request.KindSwarm: true, request.KindImageLoad: true, request.KindImageImport: true,
	request.KindArchivePut: true, request.KindCommitChanges: true, request.KindUnknownRoute: true,
}

// escalations returns the escalation facets of fs.
func escalations(fs []request.Facet) []request.Facet {
	var out []request.Facet
	for _, f := range fs {
		if EscalationKinds[f.Kind] {
			out = append(out, f)
		}
	}
	return out
}

// ReportOptions configure WriteReport.
type ReportOptions struct {
	Title   string // default "docker-authz audit report"
	Filter  Filter
	MaxRows int              // rows per table; 0 means 500
	Now     func() time.Time // generation time; nil means time.Now
	// Verify is how the trail is verified for the banner at the top (give
	// PublicKey to check checkpoint signatures).
	Verify VerifyOptions
}

// WriteReport verifies the trail files, counts them and writes the HTML
// report: the verification result first, then the summary, the charts
// (decisions over time, denials by user, denied facets, top routes) and the
// tables of denials and of requests for escalation facets. A trail that
// fails verification still gets its report, under a red banner that says
// where the chain breaks.
func WriteReport(w io.Writer, paths []string, opt ReportOptions) error {
	if len(paths) == 0 {
		return errors.New("audit: no trail files for the report")
	}
	if opt.Title == "" {
		opt.Title = "docker-authz audit report"
	}
	if opt.MaxRows <= 0 {
		opt.MaxRows = 500
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	paths, err := SortFiles(paths)
	if err != nil {
		return err
	}
	sum, verr := VerifyFilesWith(opt.Verify, paths...)
	stats, err := ComputeStats(paths, opt.Filter)
	if err != nil {
		return err
	}
	q, err := query(paths, opt.Filter, func(r *Record) bool {
		return r.Decision != Allow || len(escalations(r.Facets)) > 0
	})
	if err != nil {
		return err
	}
	d := reportData{
		Title:     opt.Title,
		Generated: now().UTC().Format("2006-01-02 15:04:05 UTC"),
		Files:     paths,
		Stats:     stats,
		Filtered:  !filterEmpty(opt.Filter),
		Problems:  stats.Problems,
	}
	if verr != nil {
		d.VerifyState, d.VerifyText = "bad", verr.Error()
	} else {
		d.VerifyState = "ok"
		d.VerifyText = fmt.Sprintf("%d records in %d file(s), seq %d..%d, chain head %s", sum.Records, sum.Files, sum.FirstSeq, sum.LastSeq, sum.LastHash)
		switch {
		case sum.Records == 0:
		case sum.Checkpoints == 0:
			d.Warnings = append(d.Warnings, "unsigned: the trail has no checkpoint, so records cut from its end, or a trail rewritten with recomputed hashes, cannot be detected")
		case opt.Verify.PublicKey == nil:
			d.VerifyText += fmt.Sprintf("; %d checkpoint(s), the last sealing seq %d", sum.Checkpoints, sum.SealedSeq)
			d.Warnings = append(d.Warnings, "checkpoint signatures not checked: give the public key (audit report --key) to prove the plugin signed them")
		default:
			d.VerifyText += fmt.Sprintf("; %d checkpoint(s) signed by key %s, the last sealing seq %d", sum.Checkpoints, KeyID(opt.Verify.PublicKey), sum.SealedSeq)
		}
		if sum.Checkpoints > 0 && sum.Unsealed > 0 {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%d record(s) after the last checkpoint (seq %d..%d) are not sealed yet", sum.Unsealed, sum.SealedSeq+1, sum.LastSeq))
		}
		if sum.FirstSeq > 1 {
			d.Warnings = append(d.Warnings, fmt.Sprintf("partial: the files start at seq %d; records 1..%d are not in them", sum.FirstSeq, sum.FirstSeq-1))
		}
		if len(d.Warnings) > 0 {
			d.VerifyState = "warn"
		}
	}
	if stats.Requests > 0 {
		d.Period = stats.First.UTC().Format("2006-01-02 15:04") + " – " + stats.Last.UTC().Format("2006-01-02 15:04") + " UTC"
		d.DenyRate = fmt.Sprintf("%.1f%%", 100*float64(stats.Deny)/float64(stats.Requests))
	}

	buckets, size := stats.Series(0)
	d.ChartTime = timeChart(buckets, size)
	var users, facets, routes []barItem
	for _, r := range Rank(stats.ByUser, 12, func(c Count) int { return c.Deny }) {
		users = append(users, barItem{r.Name, []int{r.Deny}})
	}
	for _, r := range RankInts(stats.DeniedFacets, 12) {
		facets = append(facets, barItem{r.Name, []int{r.Deny}})
	}
	for _, r := range Rank(stats.ByRoute, 12, nil) {
		routes = append(routes, barItem{r.Name, []int{r.Allow, r.Deny}})
	}
	d.ChartUsers = hbarChart("chart-users", "Denials by user", users, []string{ColorUserDeny}, []string{"denied"}, 560, "No denials.")
	d.ChartFacets = hbarChart("chart-facets", "Denied facets", facets, []string{ColorFacetDeny}, []string{"denials"}, 560, "No denials.")
	d.ChartRoutes = hbarChart("chart-routes", "Top routes", routes, []string{ColorRouteAllow, ColorDeny}, []string{"allowed", "denied"}, 1140, "No requests.")
	d.Users = Rank(stats.ByUser, 0, nil)

	for i := range q.Entries {
		e := &q.Entries[i]
		if e.Request.Decision != Allow {
			d.DenialsTotal++
			if len(d.Denials) < opt.MaxRows {
				d.Denials = append(d.Denials, rowOf(e))
			}
		}
		if esc := escalations(e.Request.Facets); len(esc) > 0 {
			d.EscalationsTotal++
			if len(d.Escalations) < opt.MaxRows {
				row := rowOf(e)
				row.Facets = facetList(esc)
				d.Escalations = append(d.Escalations, row)
			}
		}
	}
	return reportTemplate.Execute(w, d)
}

func filterEmpty(f Filter) bool {
	return len(f.Users) == 0 && len(f.Groups) == 0 && f.Decision == "" && f.Since.IsZero() && f.Until.IsZero() &&
		len(f.Routes) == 0 && len(f.Facets) == 0 && len(f.Denied) == 0 && f.Object == "" && f.Host == ""
}

type reportRow struct {
	Time, User, Groups, Decision, Outcome, Route, Object, Facets, Denied, Reason string
	Seq                                                                          uint64
}

func rowOf(e *Entry) reportRow {
	r := e.Request
	return reportRow{
		Time: r.Time.UTC().Format("2006-01-02 15:04:05"), User: r.User, Groups: strings.Join(r.Groups, ", "),
		Decision: r.Decision, Outcome: e.Outcome(), Route: r.Route, Object: shortObject(r.Object),
		Facets: facetList(r.Facets), Denied: facetList(e.Denied), Reason: r.Reason, Seq: r.Seq,
	}
}

type reportData struct {
	Title, Generated     string
	Files                []string
	VerifyState          string // ok, warn, bad
	VerifyText           string
	Warnings             []string
	Stats                *TrailStats
	Filtered             bool
	Period, DenyRate     string
	ChartTime            htmltemplate.HTML
	ChartUsers           htmltemplate.HTML
	ChartFacets          htmltemplate.HTML
	ChartRoutes          htmltemplate.HTML
	Users                []Ranked
	Denials, Escalations []reportRow
	DenialsTotal         int
	EscalationsTotal     int
	Problems             []LineProblem
}

// --- SVG charts -------------------------------------------------------

type barItem struct {
	Label  string
	Values []int // stacked segments, coloured in order
}

func esc(s string) string { return html.EscapeString(s) }

// niceMax rounds m up to 1, 2 or 5 times a power of ten.
func niceMax(m int) int {
	if m <= 0 {
		return 1
	}
	p := 1
	for p*10 <= m {
		p *= 10
	}
	for _, k := range []int{1, 2, 5, 10} {
		if k*p >= m {
			return k * p
		}
	}
	return 10 * p
}

func legend(b *strings.Builder, x, y int, colors, names []string) {
	for i, c := range colors {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" class="lg">%s</text>`, x, y, c, x+14, y+9, esc(names[i]))
		x += 24 + 7*len(names[i])
	}
}

// hbarChart draws horizontal bars, one per item, segments stacked.
func hbarChart(id, title string, items []barItem, colors, names []string, width int, empty string) htmltemplate.HTML {
	const rowH, top, labelW = 22, 34, 190
	height := top + rowH*max(len(items), 1) + 24
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="%s" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`, id, width, height, width, height, esc(title))
	fmt.Fprintf(&b, `<text x="0" y="16" class="ct">%s</text>`, esc(title))
	legend(&b, width-24-len(names)*60-7*len(strings.Join(names, "")), 6, colors, names)
	if len(items) == 0 {
		fmt.Fprintf(&b, `<text x="0" y="%d" class="empty">%s</text></svg>`, top+16, esc(empty))
		return htmltemplate.HTML(b.String())
	}
	maxV := 0
	for _, it := range items {
		t := 0
		for _, v := range it.Values {
			t += v
		}
		maxV = max(maxV, t)
	}
	scaleMax := niceMax(maxV)
	plotW := width - labelW - 60
	for i, it := range items {
		y := top + i*rowH
		label := it.Label
		if len([]rune(label)) > 28 {
			label = string([]rune(label)[:27]) + "…"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="bl" text-anchor="end">%s</text>`, labelW-8, y+14, esc(label))
		x, total := labelW, 0
		for j, v := range it.Values {
			if v <= 0 {
				continue
			}
			w := max(v*plotW/scaleMax, 2)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s: %d %s</title></rect>`, x, y+3, w, rowH-6, colors[j], esc(it.Label), v, esc(names[j]))
			x += w
			total += v
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="bv">%d</text>`, x+6, y+14, total)
	}
	axisY := top + rowH*len(items) + 4
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="ax"/>`, labelW, axisY, labelW+plotW, axisY)
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="tk">0</text><text x="%d" y="%d" class="tk" text-anchor="end">%d</text>`, labelW, axisY+14, labelW+plotW, axisY+14, scaleMax)
	b.WriteString(`</svg>`)
	return htmltemplate.HTML(b.String())
}

// timeChart draws allowed and denied requests per bucket, stacked.
func timeChart(buckets []Bucket, size time.Duration) htmltemplate.HTML {
	const width, height, left, top, bottom, right = 1140, 300, 56, 34, 48, 16
	var b strings.Builder
	unit := "hour"
	switch {
	case size >= 7*24*time.Hour:
		unit = "week"
	case size >= 24*time.Hour:
		unit = "day"
	}
	title := "Decisions over time (per " + unit + ", UTC)"
	fmt.Fprintf(&b, `<svg id="chart-time" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`, width, height, width, height, esc(title))
	fmt.Fprintf(&b, `<text x="0" y="16" class="ct">%s</text>`, esc(title))
	legend(&b, width-200, 6, []string{ColorAllow, ColorDeny}, []string{"allowed", "denied"})
	if len(buckets) == 0 {
		fmt.Fprintf(&b, `<text x="0" y="%d" class="empty">No requests.</text></svg>`, top+20)
		return htmltemplate.HTML(b.String())
	}
	maxV := 0
	for _, bk := range buckets {
		maxV = max(maxV, bk.Total())
	}
	scaleMax := niceMax(maxV)
	plotW, plotH := width-left-right, height-top-bottom
	// grid and y ticks
	ticks := 1
	for _, n := range []int{5, 4, 2} {
		if scaleMax%n == 0 {
			ticks = n
			break
		}
	}
	for i := 0; i <= ticks; i++ {
		y := top + plotH - i*plotH/ticks
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="gr"/><text x="%d" y="%d" class="tk" text-anchor="end">%s</text>`,
			left, y, left+plotW, y, left-6, y+4, strconv.Itoa(scaleMax*i/ticks))
	}
	n := len(buckets)
	slot := float64(plotW) / float64(n)
	barW := max(slot*0.8, 1)
	layout := "2006-01-02 15:00"
	if size >= 24*time.Hour {
		layout = "2006-01-02"
	}
	every := max(1, n/8)
	for i, bk := range buckets {
		x := float64(left) + float64(i)*slot + (slot-barW)/2
		base := float64(top + plotH)
		tip := fmt.Sprintf("%s: %d allowed, %d denied", bk.Start.Format(layout), bk.Allow, bk.Deny)
		for _, seg := range []struct {
			v     int
			color string
		}{{bk.Allow, ColorAllow}, {bk.Deny, ColorDeny}} {
			if seg.v <= 0 {
				continue
			}
			h := max(float64(seg.v)*float64(plotH)/float64(scaleMax), 2)
			base -= h
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`, x, base, barW, h, seg.color, esc(tip))
		}
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="tk" text-anchor="middle">%s</text>`, x+barW/2, top+plotH+16, esc(bk.Start.Format(layout)))
		}
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="ax"/>`, left, top+plotH, left+plotW, top+plotH)
	b.WriteString(`</svg>`)
	return htmltemplate.HTML(b.String())
}

// sortedKeys is used by the template for stable output.
func sortedKeys(m map[int]int) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

var reportTemplate = htmltemplate.Must(htmltemplate.New("report").Funcs(htmltemplate.FuncMap{
	"statuses": func(s *TrailStats) []int { return sortedKeys(s.Statuses) },
	"status":   func(s *TrailStats, c int) int { return s.Statuses[c] },
	"pct": func(a, b int) string {
		if b == 0 {
			return "–"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(a)/float64(b))
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px;color:#212121;background:#fff;max-width:1160px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#616161;font-size:13px}
.verify{padding:12px 16px;border-radius:6px;margin:16px 0;font-size:15px;border:2px solid}
.verify.ok{background:#e8f5e9;border-color:#81c784}
.verify.bad{background:#ffebee;border-color:#e57373}
.verify.warn{background:#fff8e1;border-color:#ffb74d}
.verify ul{margin:6px 0 0;padding-left:20px;font-size:13px}
.verify b{font-size:17px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:120px}
.card .n{font-size:22px;font-weight:600}
.card .l{font-size:12px;color:#616161}
.charts{display:grid;grid-template-columns:570px 570px;gap:16px 20px}
.charts .wide{grid-column:1 / span 2}
svg{font-family:inherit;overflow:visible}
svg .ct{font-size:14px;font-weight:600;fill:#212121}
svg .lg,svg .tk,svg .bv{font-size:11px;fill:#424242}
svg .bl{font-size:12px;fill:#212121}
svg .empty{font-size:13px;fill:#757575}
svg .ax{stroke:#9e9e9e;stroke-width:1}
svg .gr{stroke:#eeeeee;stroke-width:1}
table{border-collapse:collapse;font-size:12px;width:100%}
th,td{border:1px solid #e0e0e0;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f5f5f5}
td.num{text-align:right}
td.deny{color:#b71c1c;font-weight:600}
td.wrap{word-break:break-word;max-width:420px}
.note{font-size:12px;color:#616161}
code{font-size:12px}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<div class="meta">Generated {{.Generated}} from {{range $i, $f := .Files}}{{if $i}}, {{end}}<code>{{$f}}</code>{{end}}{{if .Filtered}} — <b>filtered</b>: only matching requests are counted{{end}}</div>

{{if eq .VerifyState "bad"}}<div class="verify bad" id="verify"><b>✘ Trail verification FAILED</b>: {{.VerifyText}}. The counts below include records after the break, which cannot be trusted.</div>
{{else}}<div class="verify {{.VerifyState}}" id="verify"><b>✔ Trail verified</b>: {{.VerifyText}}. Every record's hash, the sequence and the chain are intact.{{if .Warnings}}<ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}</div>{{end}}
{{if .Problems}}<div class="verify bad"><b>{{len .Problems}} line(s) are not records</b> and were left out, first: {{(index .Problems 0).String}}</div>{{end}}

<h2>Summary</h2>
<div class="cards">
<div class="card"><div class="n">{{.Stats.Requests}}</div><div class="l">requests</div></div>
<div class="card"><div class="n">{{.Stats.Allow}}</div><div class="l">allowed</div></div>
<div class="card"><div class="n">{{.Stats.Deny}}</div><div class="l">denied{{if .DenyRate}} ({{.DenyRate}}){{end}}</div></div>
<div class="card"><div class="n">{{len .Stats.ByUser}}</div><div class="l">users</div></div>
<div class="card"><div class="n">{{.Stats.NoResponse}}</div><div class="l">allowed, no response recorded</div></div>
<div class="card"><div class="n">{{.Stats.Checkpoints}}</div><div class="l">checkpoints</div></div>
</div>
<div class="meta">{{if .Period}}Period: {{.Period}}. {{end}}{{.Stats.Records}} records read: {{.Stats.Requests}} requests and {{.Stats.Responses}} responses counted.</div>

<h2>Charts</h2>
<div class="charts">
<div class="wide">{{.ChartTime}}</div>
<div>{{.ChartUsers}}</div>
<div>{{.ChartFacets}}</div>
<div class="wide">{{.ChartRoutes}}</div>
</div>

<h2 id="denials">Denials ({{.DenialsTotal}})</h2>
{{if .Denials}}<table>
<tr><th>time (UTC)</th><th>seq</th><th>user</th><th>groups</th><th>route</th><th>object</th><th>denied</th><th>reason</th></tr>
{{range .Denials}}<tr><td>{{.Time}}</td><td class="num">{{.Seq}}</td><td>{{.User}}</td><td>{{.Groups}}</td><td>{{.Route}}</td><td>{{.Object}}</td><td class="wrap">{{.Denied}}</td><td class="wrap">{{.Reason}}</td></tr>
{{end}}</table>
{{if gt .DenialsTotal (len .Denials)}}<p class="note">{{len .Denials}} of {{.DenialsTotal}} shown; <code>docker-authz audit query --decision deny FILE...</code> lists them all.</p>{{end}}
{{else}}<p class="note">No request was denied.</p>{{end}}

<h2 id="escalations">Requests for escalation facets ({{.EscalationsTotal}})</h2>
<p class="note">Every request, allowed or denied, that asked for privileged mode, host bind mounts, added capabilities, devices, host namespaces, unconfined security options, kernel settings, plugins, swarm, image loads or imports, archive writes, or an unknown route.</p>
{{if .Escalations}}<table>
<tr><th>time (UTC)</th><th>seq</th><th>user</th><th>decision</th><th>status</th><th>route</th><th>object</th><th>escalation facets</th></tr>
{{range .Escalations}}<tr><td>{{.Time}}</td><td class="num">{{.Seq}}</td><td>{{.User}}</td>{{if eq .Decision "allow"}}<td>allow</td>{{else}}<td class="deny">deny</td>{{end}}<td>{{.Outcome}}</td><td>{{.Route}}</td><td>{{.Object}}</td><td class="wrap">{{.Facets}}</td></tr>
{{end}}</table>
{{if gt .EscalationsTotal (len .Escalations)}}<p class="note">{{len .Escalations}} of {{.EscalationsTotal}} shown.</p>{{end}}
{{else}}<p class="note">None.</p>{{end}}

<h2 id="users">Users</h2>
{{if .Users}}<table>
<tr><th>user</th><th>allowed</th><th>denied</th><th>total</th><th>denied share</th></tr>
{{range .Users}}<tr><td>{{.Name}}</td><td class="num">{{.Allow}}</td><td class="num">{{.Deny}}</td><td class="num">{{.Total}}</td><td class="num">{{pct .Deny .Total}}</td></tr>
{{end}}</table>{{else}}<p class="note">No requests.</p>{{end}}

{{if .Stats.Statuses}}<h2 id="statuses">Response status codes</h2>
<table style="width:auto"><tr><th>status</th><th>responses</th></tr>
{{$s := .Stats}}{{range statuses .Stats}}<tr><td>{{.}}</td><td class="num">{{status $s .}}</td></tr>
{{end}}</table>{{end}}

<p class="note" style="margin-top:32px">docker-authz audit report. The verification covers the files above in the order given; signed checkpoints, when the trail has them, bound its end. Re-run <code>docker-authz audit verify</code> on the original files to check independently.</p>
</body>
</html>
`))
