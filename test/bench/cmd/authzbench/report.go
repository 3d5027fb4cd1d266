package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// goBenchArgs are the Go benchmarks the report includes: the decision path
// per call of the mix and the whole handler (package test/bench), and
// request.Normalize alone for the container-create body.
var goBenchArgs = [][]string{
	{"-bench", "^(BenchmarkDecisionPath|BenchmarkServer)$", "./test/bench"},
	{"-bench", "^BenchmarkNormalizeCreate$", "./authz/request"},
}

// profileServer takes a CPU profile of docker-authz's handler answering
// the container-create AuthZReq (wire decoding, decision path, audit record
// on tmpfs, answer) and writes it, with `go tool pprof -top`, to dir.
func profileServer(ctx context.Context, dir string) ([]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	prof, bin := filepath.Join(abs, "server.cpu.pprof"), filepath.Join(abs, "bench.test")
	defer os.Remove(bin)
	args := []string{"test", "-run", "^$", "-bench", "^BenchmarkServer$/^container-create$/^AuthZReq$", "-benchtime", "2s", "-cpuprofile", prof, "-o", bin, "./test/bench"}
	if b, err := exec.CommandContext(ctx, "go", args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	b, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-cum", "-nodecount", "40", bin, prof).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go tool pprof: %v\n%s", err, b)
	}
	if err := os.WriteFile(filepath.Join(abs, "server-profile.txt"), b, 0o644); err != nil {
		return nil, err
	}
	var top []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "%") && !strings.HasPrefix(strings.TrimSpace(l), "Showing") {
			top = append(top, strings.TrimSpace(l))
		}
	}
	return top, nil
}

func runGoBench(ctx context.Context) ([]GoBench, error) {
	var out []GoBench
	for _, a := range goBenchArgs {
		args := append([]string{"test", "-run", "^$", "-benchmem", "-count", "3", "-benchtime", "1s"}, a...)
		cmd := exec.CommandContext(ctx, "go", args...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			return out, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		gb := minByName(parseGoBench(string(b)))
		if len(gb) == 0 {
			return out, fmt.Errorf("go %s printed no benchmark results:\n%s", strings.Join(args, " "), b)
		}
		out = append(out, gb...)
	}
	return out, nil
}

// parseGoBench reads the result lines of `go test -bench -benchmem`:
//
//	BenchmarkX/sub-2   123   4567 ns/op   890 B/op   12 allocs/op
func parseGoBench(s string) []GoBench {
	var out []GoBench
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		g := GoBench{Name: trimProcs(f[0]), N: n}
		ok := false
		for i := 2; i+1 < len(f); i += 2 {
			v, unit := f[i], f[i+1]
			switch unit {
			case "ns/op":
				g.NsPerOp, _ = strconv.ParseFloat(v, 64)
				ok = true
			case "B/op":
				g.BytesPerOp, _ = strconv.ParseInt(v, 10, 64)
			case "allocs/op":
				g.AllocsPerOp, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		if ok {
			out = append(out, g)
		}
	}
	return out
}

// minByName keeps, per benchmark, the fastest of the -count runs (noise on
// a shared machine only adds time) and the median beside it.
func minByName(in []GoBench) []GoBench {
	var order []string
	runs := map[string][]GoBench{}
	for _, g := range in {
		if _, ok := runs[g.Name]; !ok {
			order = append(order, g.Name)
		}
		runs[g.Name] = append(runs[g.Name], g)
	}
	var out []GoBench
	for _, name := range order {
		rs := runs[name]
		sort.Slice(rs, func(i, j int) bool { return rs[i].NsPerOp < rs[j].NsPerOp })
		best := rs[0]
		best.Runs = len(rs)
		best.MedianNsPerOp = rs[len(rs)/2].NsPerOp
		out = append(out, best)
	}
	return out
}

// trimProcs drops the -GOMAXPROCS suffix go test appends.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

func findBench(res *Results, name string) (GoBench, bool) {
	for _, g := range res.GoBench {
		if g.Name == name {
			return g, true
		}
	}
	return GoBench{}, false
}

// targets checks the run against the goals of issue 7 (8 connections,
// audit on).
func targets(res *Results) []Target {
	var ts []Target
	var at8 *ConcResult
	for i := range res.Plugin {
		if res.Plugin[i].Conns == 8 {
			at8 = &res.Plugin[i]
		}
	}
	if at8 != nil {
		z := at8.Plugins[pluginAuthz]
		ts = append(ts,
			Target{Name: "throughput vs allow-all (8 conns)", Goal: ">= 0.85", Value: at8.ThroughputRatio, Unit: "x", Met: at8.ThroughputRatio >= 0.85},
			Target{Name: "AuthZReq p99 (8 conns)", Goal: "< 1000 µs", Value: z.AuthZReq.P99, Unit: "µs", Met: z.AuthZReq.P99 < 1000},
			Target{Name: "AuthZReq p99.9 (8 conns)", Goal: "< 5000 µs", Value: z.AuthZReq.P999, Unit: "µs", Met: z.AuthZReq.P999 < 5000},
		)
	}
	if res.API != nil {
		for _, op := range []string{"GET /containers/json", "POST /containers/create + DELETE"} {
			if r, ok := res.API.MeanRatio[op][pluginAuthz]; ok {
				ts = append(ts, Target{Name: "Docker API " + op + " vs no plugin", Goal: "<= 1.15", Value: r, Unit: "x", Met: r <= 1.15, Note: "mean round trip through dockerd"})
			}
		}
	}
	mib := float64(res.RSS.PeakKiB) / 1024
	t := Target{Name: fmt.Sprintf("peak RSS after %d decisions", res.RSS.Decisions), Goal: "< 50 MiB", Value: round1(mib), Unit: "MiB", Met: mib < 50}
	if res.RSS.Decisions < 1000000 {
		t.Note = "fewer than 1M decisions: run with -soak 1000000 for the target as stated"
	}
	ts = append(ts, t)
	grow := float64(res.RSS.GrowthKiB) / 1024
	ts = append(ts, Target{Name: "RSS growth over the second half of the decisions", Goal: "no growth (< 2 MiB)", Value: round1(grow), Unit: "MiB", Met: grow < 2})
	if g, ok := findBench(res, "BenchmarkDecisionPath/container-create"); ok {
		ts = append(ts,
			Target{Name: "decision path, container create (go test -bench, best of 3)", Goal: "< 20 µs", Value: round1(g.NsPerOp / 1e3 * 10 / 10), Unit: "µs", Met: g.NsPerOp < 20000},
			Target{Name: "decision path allocations, container create", Goal: "< 100", Value: float64(g.AllocsPerOp), Unit: "allocs", Met: g.AllocsPerOp < 100},
		)
	}
	return ts
}

func printTable(w io.Writer, res *Results) {
	fmt.Fprintf(w, "\ndocker-authz benchmark  %s  (%d CPUs, %s, %s, load %.2f -> %.2f)\n", res.Time.Format("2006-01-02 15:04 UTC"), res.Machine.NProc, res.Machine.Model, res.Machine.Kernel, res.Machine.LoadStart, res.Machine.LoadEnd)
	fmt.Fprintf(w, "plugin protocol over unix sockets, mix of %d calls + AuthZRes, %d rounds x %.1fs per plugin and concurrency, audit trail on %s\n\n", len(res.Config.Mix), res.Config.Rounds, res.Config.DurationS, res.Machine.AuditFS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "conns\tplugin\tdecisions/s\tp50 µs\tp99 µs\tp99.9 µs\tAuthZRes p99 µs\terrors\tdenied\t")
	for _, c := range res.Plugin {
		for _, name := range []string{pluginAllowAll, pluginAuthz, pluginAuthzTmpfs} {
			p := c.Plugins[name]
			if p == nil {
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t%d\t\n", c.Conns, name, p.Throughput, p.AuthZReq.P50, p.AuthZReq.P99, p.AuthZReq.P999, p.AuthZRes.P99, p.Errors, p.Denied)
		}
		fmt.Fprintf(tw, "%d\tdocker-authz/allow-all\t%.3f\t%.2f\t%.2f\t%.2f\t\t\t\t\n", c.Conns, c.ThroughputRatio, c.P50Ratio, c.P99Ratio, c.P999Ratio)
		if c.TmpfsThroughputRatio > 0 {
			fmt.Fprintf(tw, "%d\ttmpfs/allow-all\t%.3f\t\t%.2f\t\t\t\t\t\n", c.Conns, c.TmpfsThroughputRatio, c.TmpfsP99Ratio)
		}
	}
	tw.Flush()

	fmt.Fprintf(w, "\ndocker-authz RSS: peak (VmHWM) %.1f MiB after %d decisions; RSS %.1f MiB after warm-up, %.1f MiB at the end; second half: %+.1f MiB (slope %+.0f KiB per 1M decisions); allow-all peak %.1f MiB\n",
		float64(res.RSS.PeakKiB)/1024, res.RSS.Decisions, float64(res.RSS.StartKiB)/1024, float64(res.RSS.EndKiB)/1024, float64(res.RSS.GrowthKiB)/1024, res.RSS.SlopeKiBPer1M, float64(res.RSS.AllowAllPeak)/1024)
	first, _, _ := strings.Cut(res.Audit.Verify, "\n")
	fmt.Fprintf(w, "audit trail: %d records, %.1f MiB, verified %v: %s\n", res.Audit.Records, float64(res.Audit.Bytes)/(1<<20), res.Audit.Verified, first)

	if res.API != nil {
		fmt.Fprintf(w, "\nDocker API round trip through dockerd %s (TLS, user alice), µs:\n", res.API.Dockerd)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "operation\tplugin\tn\tmean\tp50\tp99\tmean ratio\tp50 ratio\t")
		ops := make([]string, 0, len(res.API.Ops))
		for op := range res.API.Ops {
			ops = append(ops, op)
		}
		sort.Strings(ops)
		for _, op := range ops {
			for _, mode := range apiModes {
				l := res.API.Ops[op][mode]
				if l == nil {
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.0f\t%.0f\t%.3f\t%.3f\t\n", op, mode, l.N, l.Mean, l.P50, l.P99, res.API.MeanRatio[op][mode], res.API.MedianRatio[op][mode])
			}
		}
		tw.Flush()
	}
	if len(res.GoBench) > 0 {
		fmt.Fprintln(w, "\ngo test -bench -benchmem:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "benchmark\tµs/op (best)\tµs/op (median)\tB/op\tallocs/op\t")
		for _, g := range res.GoBench {
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%d\t%d\t\n", g.Name, g.NsPerOp/1e3, g.MedianNsPerOp/1e3, g.BytesPerOp, g.AllocsPerOp)
		}
		tw.Flush()
	}
	if len(res.Targets) > 0 {
		if res.Config.Smoke {
			fmt.Fprintln(w, "\ntargets (issue 7; informative only: -smoke checks that it works, not timings):")
		} else {
			fmt.Fprintln(w, "\ntargets (issue 7):")
		}
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, t := range res.Targets {
			mark := "MET"
			if !t.Met {
				mark = "MISSED"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%g %s\t%s\t%s\n", mark, t.Name, t.Value, t.Unit, t.Goal, t.Note)
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
}
