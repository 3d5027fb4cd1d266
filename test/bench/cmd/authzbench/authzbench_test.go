package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/test/bench"
)

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
BenchmarkDecisionPath/container-create-2   	   80000	     14567 ns/op	    5256 B/op	      71 allocs/op
BenchmarkNormalizeCreate-16   	   30748	     39385 ns/op	  40.65 MB/s	    6479 B/op	      84 allocs/op
BenchmarkBroken-2 notanumber
PASS
ok  	x	1.2s`
	got := parseGoBench(out)
	want := []GoBench{
		{Name: "BenchmarkDecisionPath/container-create", N: 80000, NsPerOp: 14567, BytesPerOp: 5256, AllocsPerOp: 71},
		{Name: "BenchmarkNormalizeCreate", N: 30748, NsPerOp: 39385, BytesPerOp: 6479, AllocsPerOp: 84},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseMem(t *testing.T) {
	m, err := parseMem([]byte("Name:\tdocker-authz\nVmPeak:\t 1255476 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   18432 kB\n"))
	if err != nil || m.HWM != 20480 || m.RSS != 18432 {
		t.Fatalf("got %+v, %v", m, err)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\nVmHWM:\t1 kB\n", "VmRSS:\tx kB\nVmHWM:\t1 kB\n"} {
		if _, err := parseMem([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	// This process has a status file: the sampler reads real numbers.
	if m, err := readMem(os.Getpid()); err != nil || m.RSS == 0 || m.HWM < m.RSS {
		t.Fatalf("own status: %+v, %v", m, err)
	}
}

func TestSummarize(t *testing.T) {
	var ns []int64
	for i := 1000; i >= 1; i-- {
		ns = append(ns, int64(i)*1000) // 1..1000 µs, unsorted
	}
	l := summarize(ns)
	if l.N != 1000 || l.P50 != 500 || l.P99 != 990 || l.P999 != 999 || l.Max != 1000 || l.Mean != 500.5 {
		t.Fatalf("got %+v", l)
	}
	if ns[0] != 1000000 {
		t.Fatal("summarize sorted its input in place")
	}
	if l := summarize(nil); l.N != 0 || l.P99 != 0 || l.sorted != nil {
		t.Fatal("empty sample")
	}
	if got := ratio(3, 0); got != 0 {
		t.Fatalf("ratio by zero = %v", got)
	}
	if s := linearSlope([]float64{0, 1, 2, 3}, []float64{10, 12, 14, 16}); s != 2 {
		t.Fatalf("slope %v", s)
	}
}

func TestScheduleFollowsTheMix(t *testing.T) {
	sched := schedule(bench.Caller{User: "alice", CertPEM: []byte("pem")})
	count := map[string]int{}
	total := 0
	for _, m := range sched {
		count[m.call]++
		if !strings.HasPrefix(string(m.req), "POST /AuthZPlugin.AuthZReq HTTP/1.1\r\n") || !strings.HasPrefix(string(m.res), "POST /AuthZPlugin.AuthZRes HTTP/1.1\r\n") {
			t.Fatalf("%s: not a plugin request", m.call)
		}
	}
	for _, c := range bench.Mix() {
		total += c.Weight
		if count[c.Name] != c.Weight {
			t.Errorf("%s: %d in the schedule, weight %d", c.Name, count[c.Name], c.Weight)
		}
	}
	if len(sched) != total {
		t.Fatalf("schedule has %d messages, weights sum to %d", len(sched), total)
	}
}

// serveUnix serves h on a unix socket for the test.
func serveUnix(t *testing.T, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "p.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return sock
}

func TestDriveAgainstAllowAll(t *testing.T) {
	sock := serveUnix(t, bench.AllowAll())
	sched := schedule(bench.Caller{User: "alice", CertPEM: []byte("pem")})
	ph, err := drive(context.Background(), loadSpec{sock: sock, conns: 4, warmup: 10 * time.Millisecond, duration: 100 * time.Millisecond, sched: sched, record: true})
	if err != nil {
		t.Fatal(err)
	}
	if ph.decisions == 0 || ph.errors != 0 || ph.allowed != ph.decisions || ph.responses != ph.allowed || len(ph.reqLat) != int(ph.decisions) {
		t.Fatalf("%+v", ph)
	}
	// A limit stops the soak.
	ph, err = drive(context.Background(), loadSpec{sock: sock, conns: 2, limit: 50, sched: sched})
	if err != nil || ph.responses < 50 || ph.responses > 60 {
		t.Fatalf("limit 50: %d responses, %v", ph.responses, err)
	}
}

func TestDriveCountsDenies(t *testing.T) {
	sock := serveUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"Allow":false,"Msg":"no"}`)
	}))
	ph, err := drive(context.Background(), loadSpec{sock: sock, conns: 1, duration: 50 * time.Millisecond, sched: schedule(bench.Caller{}), record: true})
	if err != nil {
		t.Fatal(err)
	}
	if ph.decisions == 0 || ph.allowed != 0 || ph.responses != 0 || !strings.Contains(ph.firstErr, "denied") {
		t.Fatalf("%+v", ph)
	}
}

func sampleResults() *Results {
	st := func(n uint64) *PluginStats {
		return &PluginStats{Decisions: n, Allowed: n, Responses: n, Seconds: 1, Throughput: float64(n),
			AuthZReq: summarize([]int64{100e3, 200e3, 300e3, 5e6}), PerCall: map[string]Latency{}}
	}
	res := &Results{Time: time.Unix(0, 0).UTC(), Machine: Machine{NProc: 2, Model: "CPU <&>", AuditFS: "ext4"}}
	res.Plugin = []ConcResult{{Conns: 8, Plugins: map[string]*PluginStats{pluginAllowAll: st(100), pluginAuthz: st(90), pluginAuthzTmpfs: st(95)}, ThroughputRatio: 0.9}}
	res.RSS = RSSResult{Decisions: 5000, PeakKiB: 20000, Samples: []RSSSample{{T: 0, Decisions: 0, RSSKiB: 1}, {T: 1, Decisions: 5000, RSSKiB: 2}}}
	res.Audit = AuditResult{Records: 10000, Verified: true}
	res.Config.Soak = 5000
	lat := summarize([]int64{1e6, 2e6})
	res.API = &APIResult{Ops: map[string]map[string]*Latency{opList: {modeNone: &lat, pluginAuthz: &lat}}}
	return res
}

func TestWriteResultsAndSmokeCheck(t *testing.T) {
	dir := t.TempDir()
	res := sampleResults()
	res.Targets = targets(res)
	if err := writeResults(dir, res); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "latency.svg"))
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(string(svg)))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("latency.svg is not well-formed XML: %v", err)
		}
	}
	if !strings.Contains(string(svg), "<path") || !strings.Contains(string(svg), "Docker API") {
		t.Fatal("latency.svg has no curves")
	}
	path := filepath.Join(dir, "results.json")
	if err := checkSmoke(res, path); err != nil {
		t.Fatalf("good results refused: %v", err)
	}
	// Every failure the smoke check exists for.
	for name, spoil := range map[string]func(r *Results){
		"a deny":           func(r *Results) { r.Plugin[0].Plugins[pluginAuthz].Denied = 1 },
		"an error":         func(r *Results) { r.Plugin[0].Plugins[pluginAllowAll].Errors = 1 },
		"silent plugin":    func(r *Results) { r.Plugin[0].Plugins[pluginAuthz].Decisions = 0 },
		"missing plugin":   func(r *Results) { delete(r.Plugin[0].Plugins, pluginAllowAll) },
		"missing AuthZRes": func(r *Results) { r.Plugin[0].Plugins[pluginAuthz].Responses = 3 },
		"no audit":         func(r *Results) { r.Audit.Records = 0 },
		"unverified":       func(r *Results) { r.Audit.Verified = false },
		"short soak":       func(r *Results) { r.RSS.Decisions = 10 },
	} {
		r := sampleResults()
		spoil(r)
		b, _ := json.Marshal(r)
		p := filepath.Join(dir, "spoilt.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := checkSmoke(r, p); err == nil {
			t.Errorf("%s: smoke check passed", name)
		}
	}
	if err := checkSmoke(res, filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing results.json passed")
	}
}

func TestTargets(t *testing.T) {
	res := sampleResults()
	res.GoBench = []GoBench{{Name: "BenchmarkDecisionPath/container-create", NsPerOp: 25000, AllocsPerOp: 60}}
	got := map[string]Target{}
	for _, x := range targets(res) {
		got[x.Name] = x
	}
	if x := got["throughput vs allow-all (8 conns)"]; !x.Met || x.Value != 0.9 {
		t.Errorf("throughput: %+v", x)
	}
	if x := got["decision path, container create (go test -bench, best of 3)"]; x.Met || x.Value != 25 {
		t.Errorf("decision path: %+v", x)
	}
	if x := got["decision path allocations, container create"]; !x.Met {
		t.Errorf("allocs: %+v", x)
	}
	if x := got["AuthZReq p99.9 (8 conns)"]; x.Met {
		t.Errorf("p99.9 of 5 ms met: %+v", x)
	}
}
