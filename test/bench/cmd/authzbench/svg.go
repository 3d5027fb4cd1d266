package main

import (
	"bytes"
	"fmt"
	"html"
	"math"
)

// latencySVG draws the latency distributions as percentile plots: one
// panel per concurrency (AuthZReq, both plugins) and one per Docker API
// operation (three modes). X is the percentile on a "nines" scale (50, 90,
// 99, 99.9, 99.99), Y the latency on a log scale.
func latencySVG(res *Results) []byte {
	type series struct {
		name, color, dash string
		sorted            []int64
	}
	type panel struct {
		title string
		s     []series
	}
	var panels []panel
	for _, c := range res.Plugin {
		panels = append(panels, panel{
			title: fmt.Sprintf("AuthZReq round trip, %d connection(s)", c.Conns),
			s: []series{
				{pluginAllowAll, "#888888", "6 4", c.Plugins[pluginAllowAll].AuthZReq.sorted},
				{pluginAuthz, "#1f5fbf", "", c.Plugins[pluginAuthz].AuthZReq.sorted},
			},
		})
		if t := c.Plugins[pluginAuthzTmpfs]; t != nil {
			p := &panels[len(panels)-1]
			p.s = append(p.s, series{"authz, trail on tmpfs", "#d0802a", "2 3", t.AuthZReq.sorted})
		}
	}
	if res.API != nil {
		for _, op := range []string{opList, opCreate} {
			m := res.API.Ops[op]
			p := panel{title: "Docker API: " + op}
			for _, x := range []struct{ mode, color, dash string }{
				{modeNone, "#2a9d3a", "2 3"}, {pluginAllowAll, "#888888", "6 4"}, {pluginAuthz, "#1f5fbf", ""},
			} {
				if l := m[x.mode]; l != nil {
					p.s = append(p.s, series{x.mode, x.color, x.dash, l.sorted})
				}
			}
			panels = append(panels, p)
		}
	}
	const (
		pw, ph     = 380.0, 270.0 // panel
		ml, mr     = 58.0, 14.0   // plot margins inside a panel
		mt, mb     = 34.0, 44.0
		perRow     = 3
		headerH    = 40.0
		maxNines   = 4.0 // 99.99th percentile
		minNinesPt = 0.30103
	)
	n := len(panels)
	if len(res.RSS.Samples) > 1 {
		n++ // the RSS panel
	}
	rows := (n + perRow - 1) / perRow
	w, h := pw*perRow, headerH+ph*float64(max(rows, 1))
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="18" font-size="14" font-weight="bold">docker-authz latency distributions</text>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="33" fill="#555">%s, %d CPUs, %s; audit trail on (%s). X: percentile, Y: latency (log).</text>`+"\n",
		res.Time.Format("2006-01-02 15:04 UTC"), res.Machine.NProc, html.EscapeString(res.Machine.Model), html.EscapeString(res.Machine.AuditFS))
	for i, p := range panels {
		ox, oy := float64(i%perRow)*pw, headerH+float64(i/perRow)*ph
		x0, x1, y0, y1 := ox+ml, ox+pw-mr, oy+ph-mb, oy+mt
		// X range: from the median to the highest percentile the data supports.
		top := maxNines
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, s := range p.s {
			if len(s.sorted) == 0 {
				continue
			}
			top = math.Min(top, math.Log10(float64(len(s.sorted))))
			lo = math.Min(lo, float64(s.sorted[0]))
			hi = math.Max(hi, float64(s.sorted[len(s.sorted)-1]))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-weight="bold">%s</text>`+"\n", ox+ml, oy+20, html.EscapeString(p.title))
		if math.IsInf(lo, 0) || top <= minNinesPt {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">no data</text>`+"\n", x0, (y0+y1)/2)
			continue
		}
		ylo := math.Floor(math.Log10(math.Max(lo, 1e3))) // ns, at least 1 µs
		yhi := math.Ceil(math.Log10(math.Max(hi, 1e4)))
		if yhi <= ylo {
			yhi = ylo + 1
		}
		px := func(n float64) float64 { return x0 + (n-minNinesPt)/(top-minNinesPt)*(x1-x0) }
		py := func(ns float64) float64 { return y0 - (math.Log10(math.Max(ns, 1))-ylo)/(yhi-ylo)*(y0-y1) }
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#ccc"/>`+"\n", x0, y1, x1-x0, y0-y1)
		for d := ylo; d <= yhi; d++ {
			y := py(math.Pow(10, d))
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n",
				x0, y, x1, y, x0-4, y+4, nsLabel(math.Pow(10, d)))
		}
		for _, t := range []struct {
			n     float64
			label string
		}{{minNinesPt, "p50"}, {1, "p90"}, {2, "p99"}, {3, "p99.9"}, {4, "p99.99"}} {
			if t.n > top+1e-9 {
				continue
			}
			x := px(t.n)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n",
				x, y0, x, y1, x, y0+14, t.label)
		}
		for j, s := range p.s {
			if len(s.sorted) == 0 {
				continue
			}
			var path bytes.Buffer
			const steps = 160
			for k := 0; k <= steps; k++ {
				n := minNinesPt + (top-minNinesPt)*float64(k)/steps
				q := 1 - math.Pow(10, -n)
				v := float64(quantile(s.sorted, q))
				cmd := "L"
				if k == 0 {
					cmd = "M"
				}
				fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, px(n), py(v))
			}
			dash := ""
			if s.dash != "" {
				dash = ` stroke-dasharray="` + s.dash + `"`
			}
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.8"%s/>`+"\n", path.String(), s.color, dash)
			ly := y0 + 30
			lx := x0 + float64(j)*110 - 30
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/><text x="%.1f" y="%.1f">%s</text>`+"\n",
				lx, ly-4, lx+18, ly-4, s.color, dash, lx+22, ly, html.EscapeString(s.name))
		}
	}
	if len(res.RSS.Samples) > 1 {
		i := len(panels)
		rssPanel(&b, res.RSS, float64(i%perRow)*pw+ml, headerH+float64(i/perRow)*ph, pw-ml-mr, ph)
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// rssPanel plots docker-authz's RSS and peak RSS (MiB, linear) against the
// decisions it had made (linear): a leak is a rising line.
func rssPanel(b *bytes.Buffer, r RSSResult, x0, oy, width, ph float64) {
	const mt, mb = 34.0, 44.0
	y0, y1 := oy+ph-mb, oy+mt
	x1 := x0 + width
	last := r.Samples[len(r.Samples)-1]
	maxD := math.Max(float64(last.Decisions), 1)
	maxM := 0.0
	for _, s := range r.Samples {
		maxM = math.Max(maxM, float64(s.HWMKiB)/1024)
	}
	maxM = math.Max(60, math.Ceil(maxM/10)*10) // the 50 MiB target always in view
	px := func(d float64) float64 { return x0 + d/maxD*(x1-x0) }
	py := func(m float64) float64 { return y0 - m/maxM*(y0-y1) }
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-weight="bold">docker-authz RSS over %d decisions</text>`+"\n", x0, oy+20, last.Decisions)
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#ccc"/>`+"\n", x0, y1, x1-x0, y0-y1)
	for m := 0.0; m <= maxM; m += math.Ceil(maxM/60) * 10 {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/><text x="%.1f" y="%.1f" text-anchor="end">%.0f MiB</text>`+"\n", x0, py(m), x1, py(m), x0-4, py(m)+4, m)
	}
	for k := 0; k <= 4; k++ {
		d := maxD * float64(k) / 4
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", px(d), y0+14, countLabel(d))
	}
	for _, l := range []struct {
		name, color string
		v           func(RSSSample) uint64
	}{{"RSS", "#1f5fbf", func(s RSSSample) uint64 { return s.RSSKiB }}, {"peak (VmHWM)", "#c0392b", func(s RSSSample) uint64 { return s.HWMKiB }}} {
		var path bytes.Buffer
		for i, s := range r.Samples {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, px(float64(s.Decisions)), py(float64(l.v(s))/1024))
		}
		fmt.Fprintf(b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.6"/>`+"\n", path.String(), l.color)
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="#1f5fbf">RSS</text><text x="%.1f" y="%.1f" fill="#c0392b">peak (VmHWM)</text><text x="%.1f" y="%.1f" fill="#555">50 MiB target</text>`+"\n", x0, y0+30, x0+40, y0+30, x0+140, y0+30)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#555" stroke-dasharray="4 3"/>`+"\n", x0, py(50), x1, py(50))
}

func countLabel(n float64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.2gM", n/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.3gk", n/1e3)
	}
	return fmt.Sprintf("%.0f", n)
}

func nsLabel(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%gs", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%gms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%gµs", ns/1e3)
	}
	return fmt.Sprintf("%gns", ns)
}
