package main

import (
	"math"
	"slices"
	"time"
)

const (
	pluginAllowAll = "allow-all"
	pluginAuthz    = "docker-authz"
	// docker-authz again, with its audit trail on tmpfs, where fsync costs
	// nothing: the difference to docker-authz is the disk, the difference
	// to allow-all is CPU.
	pluginAuthzTmpfs = "docker-authz-tmpfs"
)

// Results is results.json. Latencies are in microseconds, throughput in
// decisions (AuthZReq, each followed by its AuthZRes) per second.
type Results struct {
	Schema  int          `json:"schema"`
	Time    time.Time    `json:"time"`
	Machine Machine      `json:"machine"`
	Config  Config       `json:"config"`
	Plugin  []ConcResult `json:"plugin"`
	RSS     RSSResult    `json:"rss"`
	Audit   AuditResult  `json:"audit"`
	GoBench []GoBench    `json:"gobench,omitempty"`
	// Profile is `go tool pprof -top -cum` of BenchmarkServer's
	// container-create AuthZReq (server-profile.txt, server.cpu.pprof).
	Profile []string      `json:"server_profile_top,omitempty"`
	API     *APIResult    `json:"docker_api,omitempty"`
	Targets []Target      `json:"targets"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Machine is where the numbers were taken.
type Machine struct {
	NProc       int     `json:"nproc"`
	GOMAXPROCS  int     `json:"gomaxprocs"`
	Model       string  `json:"cpu_model"`
	Kernel      string  `json:"kernel"`
	Go          string  `json:"go"`
	LoadStart   float64 `json:"load1_start"`
	LoadEnd     float64 `json:"load1_end"`
	AuditFS     string  `json:"audit_fs"`
	DockerdVers string  `json:"dockerd,omitempty"`
}

// Config is how the run was made.
type Config struct {
	Rounds     int      `json:"rounds"`
	DurationS  float64  `json:"duration_s"`
	WarmupS    float64  `json:"warmup_s"`
	Conns      []int    `json:"conns"`
	Soak       uint64   `json:"soak_decisions"`
	Policy     string   `json:"policy"`
	Mix        []MixRow `json:"mix"`
	AuditSync  string   `json:"audit"`
	Smoke      bool     `json:"smoke"`
	APIGets    int      `json:"api_gets,omitempty"`
	APICreates int      `json:"api_creates,omitempty"`
}

// MixRow is one call of the mix.
type MixRow struct {
	Name     string `json:"name"`
	Weight   int    `json:"weight"`
	Request  string `json:"request"`
	BodySize int    `json:"body_bytes"`
}

// Latency summarises a latency sample, in microseconds.
type Latency struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean_us"`
	P50    float64 `json:"p50_us"`
	P90    float64 `json:"p90_us"`
	P99    float64 `json:"p99_us"`
	P999   float64 `json:"p99_9_us"`
	Max    float64 `json:"max_us"`
	sorted []int64
}

// PluginStats is one plugin at one concurrency, all rounds together.
type PluginStats struct {
	Decisions  uint64             `json:"decisions"`
	Allowed    uint64             `json:"allowed"`
	Denied     uint64             `json:"denied"`
	Responses  uint64             `json:"responses"`
	Errors     uint64             `json:"errors"`
	FirstError string             `json:"first_error,omitempty"`
	Seconds    float64            `json:"seconds"`
	Throughput float64            `json:"decisions_per_s"`
	PerRound   []float64          `json:"decisions_per_s_by_round"`
	AuthZReq   Latency            `json:"authzreq"`
	AuthZRes   Latency            `json:"authzres"`
	PerCall    map[string]Latency `json:"authzreq_by_call"`
	PeakKiB    uint64             `json:"peak_rss_kib"`
}

// ConcResult compares the two plugins at one concurrency.
type ConcResult struct {
	Conns   int                     `json:"conns"`
	Plugins map[string]*PluginStats `json:"plugins"`
	// docker-authz / allow-all
	ThroughputRatio float64 `json:"throughput_ratio"`
	P50Ratio        float64 `json:"p50_ratio"`
	P99Ratio        float64 `json:"p99_ratio"`
	P999Ratio       float64 `json:"p99_9_ratio"`
	// docker-authz-tmpfs / allow-all
	TmpfsThroughputRatio float64 `json:"tmpfs_throughput_ratio,omitempty"`
	TmpfsP99Ratio        float64 `json:"tmpfs_p99_ratio,omitempty"`
}

// RSSResult is docker-authz's memory over the whole run.
type RSSResult struct {
	Decisions     uint64      `json:"decisions"`
	PeakKiB       uint64      `json:"peak_kib"` // VmHWM at the end
	StartKiB      uint64      `json:"rss_after_warmup_kib"`
	EndKiB        uint64      `json:"rss_end_kib"`
	GrowthKiB     int64       `json:"growth_second_half_kib"`
	SlopeKiBPer1M float64     `json:"slope_second_half_kib_per_1m"`
	AllowAllPeak  uint64      `json:"allow_all_peak_kib"`
	Samples       []RSSSample `json:"samples"`
}

// RSSSample is one reading of /proc/PID/status.
type RSSSample struct {
	T         float64 `json:"t_s"`
	Decisions uint64  `json:"decisions"`
	RSSKiB    uint64  `json:"rss_kib"`
	HWMKiB    uint64  `json:"hwm_kib"`
}

// AuditResult is the trail docker-authz wrote during the run.
type AuditResult struct {
	Records  uint64 `json:"records"`
	Bytes    int64  `json:"bytes"`
	Verified bool   `json:"verified"`
	Verify   string `json:"verify_output,omitempty"`
}

// GoBench is one line of `go test -bench -benchmem`.
type GoBench struct {
	Name        string  `json:"name"`
	N           int64   `json:"n"`
	NsPerOp     float64 `json:"ns_per_op"`
	BytesPerOp  int64   `json:"bytes_per_op"`
	AllocsPerOp int64   `json:"allocs_per_op"`
	// With -count > 1: NsPerOp is the best run, MedianNsPerOp the median.
	Runs          int     `json:"runs,omitempty"`
	MedianNsPerOp float64 `json:"median_ns_per_op,omitempty"`
}

// APIResult is the Docker API round trip through dockerd.
type APIResult struct {
	Dockerd string                         `json:"dockerd"`
	Ops     map[string]map[string]*Latency `json:"ops"` // op -> mode -> latency
	// op -> mode -> mean(mode)/mean(none), median likewise
	MeanRatio   map[string]map[string]float64 `json:"mean_ratio"`
	MedianRatio map[string]map[string]float64 `json:"median_ratio"`
}

// Target is one goal of issue 7 and where the run stands.
type Target struct {
	Name  string  `json:"name"`
	Goal  string  `json:"goal"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	Met   bool    `json:"met"`
	Note  string  `json:"note,omitempty"`
}

func summarize(ns []int64) Latency {
	l := Latency{N: len(ns)}
	if len(ns) == 0 {
		return l
	}
	s := slices.Clone(ns)
	slices.Sort(s)
	var sum float64
	for _, v := range s {
		sum += float64(v)
	}
	us := func(v float64) float64 { return math.Round(v/1e3*100) / 100 }
	l.Mean = us(sum / float64(len(s)))
	l.P50 = us(float64(quantile(s, 0.50)))
	l.P90 = us(float64(quantile(s, 0.90)))
	l.P99 = us(float64(quantile(s, 0.99)))
	l.P999 = us(float64(quantile(s, 0.999)))
	l.Max = us(float64(s[len(s)-1]))
	l.sorted = s
	return l
}

// quantile of a sorted sample: the smallest value with at least q of the
// sample at or below it (nearest rank).
func quantile(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(a/b*1000) / 1000
}

// linearSlope fits y = a + b x by least squares and returns b.
func linearSlope(x, y []float64) float64 {
	n := float64(len(x))
	if len(x) < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}
