package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/docker-authz/docker-authz/test/bench"
)

// stack is the two plugins under test and what the run keeps about them.
type stack struct {
	dir        string
	pki        *bench.PKI
	bin        string
	authz      *proc
	allowAll   *proc
	authzSock  string
	allowSock  string
	tmpfs      *proc // docker-authz with its trail on tmpfs: the cost without the disk
	tmpfsSock  string
	tmpfsDir   string
	authzName  string // plugin names as dockerd knows them
	allowName  string
	auditLog   string
	decisions  atomic.Uint64 // docker-authz AuthZReq answered, whole run
	sampler    *rssSampler
	allowPeak  uint64
	pluginsDir string
}

func runBench(ctx context.Context, o options, logw io.Writer) (*Results, error) {
	began := time.Now()
	logf := func(format string, args ...any) { fmt.Fprintf(logw, "authzbench: "+format+"\n", args...) }
	res := &Results{Schema: 1, Time: began.UTC().Truncate(time.Second), Machine: machine()}
	res.Config = Config{
		Rounds: o.rounds, DurationS: o.duration.Seconds(), WarmupS: o.warmup.Seconds(), Conns: o.conns,
		Soak: o.soak, Policy: o.policy, Smoke: o.smoke,
		AuditSync: "docker-authz serve --audit-log on a disk-backed directory: group commit, fsync before every answer",
	}
	for _, c := range bench.Mix() {
		res.Config.Mix = append(res.Config.Mix, MixRow{Name: c.Name, Weight: c.Weight, Request: c.Method + " " + c.URI, BodySize: len(c.Body)})
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return nil, err
	}
	st, err := startStack(o, logf)
	if st != nil {
		defer st.close(o.keep, logf)
	}
	if err != nil {
		return nil, err
	}
	res.Machine.AuditFS = fsType(filepath.Dir(st.auditLog))

	if err := pluginRounds(ctx, o, st, res, logf); err != nil {
		return res, err
	}
	if err := soak(ctx, o, st, logf); err != nil {
		return res, err
	}
	if ctx.Err() != nil { // interrupted in the soak: report what there is
		o.dockerd, o.gobench = false, false
	}
	if o.dockerd {
		api, err := dockerAPI(ctx, o, st, logf)
		if err != nil {
			return res, fmt.Errorf("docker API round trip: %w", err)
		}
		res.API = api
		res.Machine.DockerdVers = api.Dockerd
		res.Config.APIGets, res.Config.APICreates = o.apiGets, o.apiRuns
	}
	// RSS: the whole series, then stop docker-authz so the trail is complete.
	res.RSS = st.sampler.stop(st.decisions.Load())
	if m, err := readMem(st.allowAll.pid()); err == nil {
		res.RSS.AllowAllPeak = m.HWM
	}
	st.allowAll.stop(5 * time.Second)
	st.authz.stop(20 * time.Second)
	st.tmpfs.stop(20 * time.Second)
	res.Audit = verifyAudit(st.bin, st.auditLog)
	if !res.Audit.Verified {
		logf("audit verify failed: %s", res.Audit.Verify)
	}

	if o.gobench {
		logf("go test -bench (decision path, server handler, Normalize)")
		gb, err := runGoBench(ctx)
		if err != nil {
			return res, err
		}
		res.GoBench = gb
		logf("CPU profile of the handler (container create AuthZReq)")
		if res.Profile, err = profileServer(ctx, o.out); err != nil {
			return res, err
		}
	}
	res.Machine.LoadEnd = load1()
	res.Targets = targets(res)
	res.Elapsed = time.Since(began).Round(time.Millisecond)
	if err := writeResults(o.out, res); err != nil {
		return res, err
	}
	return res, nil
}

func startStack(o options, logf func(string, ...any)) (*stack, error) {
	base := "/var/tmp" // disk-backed on Debian, unlike a tmpfs /tmp: fsync must mean something
	if st, err := os.Stat(base); err != nil || !st.IsDir() {
		base = os.TempDir()
	}
	dir, err := os.MkdirTemp(base, "authzbench-")
	if err != nil {
		return nil, err
	}
	st := &stack{dir: dir}
	if st.pki, err = bench.NewPKI(filepath.Join(dir, "pki")); err != nil {
		return st, err
	}
	st.bin = o.bin
	if st.bin == "" {
		st.bin = filepath.Join(dir, "docker-authz")
		logf("building docker-authz")
		cmd := exec.Command("go", "build", "-trimpath", "-o", st.bin, "./cmd/docker-authz")
		if out, err := cmd.CombinedOutput(); err != nil {
			return st, fmt.Errorf("go build ./cmd/docker-authz (run from the repository root): %v\n%s", err, out)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return st, err
	}
	suffix := randHex(4)
	st.authzName, st.allowName = "authzbench-"+suffix+"-authz", "authzbench-"+suffix+"-allowall"
	st.pluginsDir = filepath.Join(dir, "sock")
	if o.dockerd {
		st.pluginsDir = "/run/docker/plugins" // where dockerd looks plugins up
	}
	if err := os.MkdirAll(st.pluginsDir, 0o755); err != nil {
		return st, err
	}
	st.authzSock = filepath.Join(st.pluginsDir, st.authzName+".sock")
	st.allowSock = filepath.Join(st.pluginsDir, st.allowName+".sock")
	st.auditLog = filepath.Join(dir, "audit", "audit.jsonl")

	if st.allowAll, err = startProc(pluginAllowAll, filepath.Join(dir, "allowall.log"), self, "allowall", "-socket", st.allowSock); err != nil {
		return st, err
	}
	if st.authz, err = startProc(pluginAuthz, filepath.Join(dir, "docker-authz.log"), st.bin, "serve",
		"--socket", st.authzSock, "--policy", o.policy, "--client-ca", st.pki.CAFile,
		"--audit-log", st.auditLog, "--log-level", "warn", "--log-format", "json"); err != nil {
		return st, err
	}
	waits := []struct {
		p    *proc
		sock string
	}{{st.allowAll, st.allowSock}, {st.authz, st.authzSock}}
	if fs := fsType("/dev/shm"); o.tmpfs && !strings.HasPrefix(fs, "tmpfs") {
		logf("/dev/shm is %s, not tmpfs: no docker-authz-tmpfs run", fs)
	} else if o.tmpfs {
		if st.tmpfsDir, err = os.MkdirTemp("/dev/shm", "authzbench-"); err != nil {
			return st, err
		}
		st.tmpfsSock = filepath.Join(st.pluginsDir, "authzbench-"+suffix+"-tmpfs.sock")
		if st.tmpfs, err = startProc(pluginAuthzTmpfs, filepath.Join(dir, "docker-authz-tmpfs.log"), st.bin, "serve",
			"--socket", st.tmpfsSock, "--policy", o.policy, "--client-ca", st.pki.CAFile,
			"--audit-log", filepath.Join(st.tmpfsDir, "audit.jsonl"), "--log-level", "warn", "--log-format", "json"); err != nil {
			return st, err
		}
		waits = append(waits, struct {
			p    *proc
			sock string
		}{st.tmpfs, st.tmpfsSock})
	}
	for _, w := range waits {
		if err := waitSocket(w.p, w.sock, 15*time.Second); err != nil {
			return st, err
		}
	}
	interval := 250 * time.Millisecond
	if o.smoke {
		interval = 25 * time.Millisecond
	}
	st.sampler = startSampler(st.authz.pid(), &st.decisions, interval)
	logf("docker-authz pid %d (%s), allow-all pid %d, audit trail %s", st.authz.pid(), st.authzSock, st.allowAll.pid(), st.auditLog)
	return st, nil
}

func (st *stack) close(keep bool, logf func(string, ...any)) {
	if st.sampler != nil {
		st.sampler.stop(0)
	}
	st.allowAll.stop(5 * time.Second)
	st.authz.stop(20 * time.Second)
	st.tmpfs.stop(20 * time.Second)
	for _, s := range []string{st.authzSock, st.allowSock, st.tmpfsSock} {
		if s != "" {
			os.Remove(s)
		}
	}
	if st.tmpfsDir != "" {
		os.RemoveAll(st.tmpfsDir)
	}
	if keep {
		logf("kept %s", st.dir)
		return
	}
	os.RemoveAll(st.dir)
}

// plugins are the plugins measured side by side, the reference first.
func (st *stack) plugins() []string {
	if st.tmpfs != nil {
		return []string{pluginAllowAll, pluginAuthz, pluginAuthzTmpfs}
	}
	return []string{pluginAllowAll, pluginAuthz}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// pluginRounds runs both plugins at every concurrency for o.rounds rounds,
// alternating which plugin goes first, and fills res.Plugin.
func pluginRounds(ctx context.Context, o options, st *stack, res *Results, logf func(string, ...any)) error {
	sched := schedule(st.pki.Users["alice"].Caller("alice"))
	type acc struct {
		phases []*phaseResult
	}
	names := st.plugins()
	all := map[int]map[string]*acc{}
	for _, n := range o.conns {
		all[n] = map[string]*acc{}
		for _, name := range names {
			all[n][name] = &acc{}
		}
	}
	for r := 0; r < o.rounds; r++ {
		for ci, n := range o.conns {
			// Rotate the order, so that no plugin always runs first (or
			// right after the disk-heavy one).
			order := make([]string, len(names))
			for i := range names {
				order[i] = names[(i+r+ci)%len(names)]
			}
			for _, name := range order {
				spec := loadSpec{sock: st.allowSock, conns: n, warmup: o.warmup, duration: o.duration, sched: sched, record: true}
				switch name {
				case pluginAuthz:
					spec.sock, spec.counter = st.authzSock, &st.decisions
				case pluginAuthzTmpfs:
					spec.sock = st.tmpfsSock
				}
				ph, err := drive(ctx, spec)
				if err != nil {
					return err
				}
				all[n][name].phases = append(all[n][name].phases, ph)
				logf("round %d/%d  %-12s %3d conns  %8.0f decisions/s  p99 %s  errors %d", r+1, o.rounds, name, n,
					float64(ph.decisions)/ph.elapsed.Seconds(), fmtDur(quantileUnsorted(ph.reqLat, 0.99)), ph.errors)
			}
		}
	}
	for _, n := range o.conns {
		cr := ConcResult{Conns: n, Plugins: map[string]*PluginStats{}}
		for _, name := range names {
			ps := &PluginStats{PerCall: map[string]Latency{}}
			var req, resl []int64
			perCall := map[string][]int64{}
			for _, ph := range all[n][name].phases {
				ps.Decisions += ph.decisions
				ps.Allowed += ph.allowed
				ps.Responses += ph.responses
				ps.Errors += ph.errors
				if ps.FirstError == "" {
					ps.FirstError = ph.firstErr
				}
				ps.Seconds += ph.elapsed.Seconds()
				ps.PerRound = append(ps.PerRound, round1(float64(ph.decisions)/ph.elapsed.Seconds()))
				req = append(req, ph.reqLat...)
				resl = append(resl, ph.resLat...)
				for k, v := range ph.perCall {
					perCall[k] = append(perCall[k], v...)
				}
			}
			ps.Denied = ps.Decisions - ps.Allowed
			ps.Throughput = round1(float64(ps.Decisions) / ps.Seconds)
			ps.AuthZReq, ps.AuthZRes = summarize(req), summarize(resl)
			for k, v := range perCall {
				l := summarize(v)
				l.sorted = nil
				ps.PerCall[k] = l
			}
			cr.Plugins[name] = ps
		}
		a, z := cr.Plugins[pluginAllowAll], cr.Plugins[pluginAuthz]
		cr.ThroughputRatio = ratio(z.Throughput, a.Throughput)
		cr.P50Ratio = ratio(z.AuthZReq.P50, a.AuthZReq.P50)
		cr.P99Ratio = ratio(z.AuthZReq.P99, a.AuthZReq.P99)
		cr.P999Ratio = ratio(z.AuthZReq.P999, a.AuthZReq.P999)
		if t := cr.Plugins[pluginAuthzTmpfs]; t != nil {
			cr.TmpfsThroughputRatio = ratio(t.Throughput, a.Throughput)
			cr.TmpfsP99Ratio = ratio(t.AuthZReq.P99, a.AuthZReq.P99)
		}
		res.Plugin = append(res.Plugin, cr)
	}
	return nil
}

// soak drives docker-authz at o.soakConns connections until it has made
// o.soak decisions in the whole run, so the RSS series covers that many.
// An interrupt (SIGINT, SIGTERM) ends the soak early; the report is still
// written, with the decisions reached.
func soak(ctx context.Context, o options, st *stack, logf func(string, ...any)) error {
	done := st.decisions.Load()
	if o.soak <= done {
		return nil
	}
	logf("soak: docker-authz to %d decisions (%d so far) at %d connections, RSS sampled; interrupt to stop early", o.soak, done, o.soakConns)
	sched := schedule(st.pki.Users["alice"].Caller("alice"))
	start := time.Now()
	soakCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-soakCtx.Done():
		}
	}()
	progress := time.NewTicker(30 * time.Second)
	defer progress.Stop()
	go func() {
		for {
			select {
			case <-soakCtx.Done():
				return
			case <-progress.C:
				m, _ := readMem(st.authz.pid())
				logf("soak: %d decisions, RSS %.1f MiB, peak %.1f MiB", st.decisions.Load(), float64(m.RSS)/1024, float64(m.HWM)/1024)
			}
		}
	}()
	ph, err := drive(soakCtx, loadSpec{sock: st.authzSock, conns: o.soakConns, limit: o.soak - done, sched: sched, counter: &st.decisions})
	if err != nil && ctx.Err() != nil {
		logf("soak interrupted at %d decisions", st.decisions.Load())
		return nil
	}
	if err != nil {
		return err
	}
	if ph.errors > 0 || ph.allowed != ph.decisions {
		return fmt.Errorf("soak: %d errors, %d of %d allowed (first: %s)", ph.errors, ph.allowed, ph.decisions, ph.firstErr)
	}
	logf("soak: %d decisions in %s (%.0f/s)", ph.decisions, time.Since(start).Round(time.Millisecond), float64(ph.decisions)/ph.elapsed.Seconds())
	return nil
}

// rssSampler reads docker-authz's /proc status at an interval.
type rssSampler struct {
	pid       int
	decisions *atomic.Uint64
	start     time.Time
	quit      chan struct{}
	wg        sync.WaitGroup
	mu        sync.Mutex
	samples   []RSSSample
	once      sync.Once
}

func startSampler(pid int, decisions *atomic.Uint64, every time.Duration) *rssSampler {
	s := &rssSampler{pid: pid, decisions: decisions, start: time.Now(), quit: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.quit:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() {
	m, err := readMem(s.pid)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.samples = append(s.samples, RSSSample{T: math.Round(time.Since(s.start).Seconds()*10) / 10, Decisions: s.decisions.Load(), RSSKiB: m.RSS, HWMKiB: m.HWM})
	s.mu.Unlock()
}

// stop ends sampling (taking a last sample) and summarises the series:
// growth and slope are taken over the second half of the decisions, after
// the heap has reached its working size.
func (s *rssSampler) stop(decisions uint64) RSSResult {
	s.once.Do(func() {
		s.sample()
		close(s.quit)
		s.wg.Wait()
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	r := RSSResult{Decisions: decisions}
	if len(s.samples) == 0 {
		return r
	}
	last := s.samples[len(s.samples)-1]
	r.PeakKiB, r.EndKiB = last.HWMKiB, last.RSSKiB
	var xs, ys []float64
	var mid *RSSSample
	for i := range s.samples {
		x := s.samples[i]
		if r.StartKiB == 0 && x.Decisions >= 1000 {
			r.StartKiB = x.RSSKiB
		}
		if x.Decisions >= last.Decisions/2 {
			if mid == nil {
				mid = &s.samples[i]
			}
			xs = append(xs, float64(x.Decisions))
			ys = append(ys, float64(x.RSSKiB))
		}
	}
	if mid != nil {
		r.GrowthKiB = int64(last.RSSKiB) - int64(mid.RSSKiB)
	}
	r.SlopeKiBPer1M = round1(linearSlope(xs, ys) * 1e6)
	r.Samples = thin(s.samples, 400)
	return r
}

// thin keeps at most n samples, evenly spread, always the last.
func thin(s []RSSSample, n int) []RSSSample {
	if len(s) <= n {
		return append([]RSSSample(nil), s...)
	}
	out := make([]RSSSample, 0, n)
	for i := 0; i < n-1; i++ {
		out = append(out, s[i*len(s)/(n-1)])
	}
	return append(out, s[len(s)-1])
}

// verifyAudit runs `docker-authz audit verify` on the trail's directory
// (the live file and any rotated ones) and counts its records. Exit status
// 3 is "verified, with warnings" (e.g. an unsigned trail): verified.
func verifyAudit(bin, path string) AuditResult {
	var a AuditResult
	dir := filepath.Dir(path)
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		a.Bytes += fi.Size()
		if b, err := os.ReadFile(f); err == nil {
			a.Records += uint64(bytes.Count(b, []byte{'\n'}))
		}
	}
	out, err := exec.Command(bin, "audit", "verify", dir).CombinedOutput()
	a.Verify = strings.TrimSpace(string(out))
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	a.Verified = (code == 0 || code == 3) && strings.HasPrefix(a.Verify, "OK")
	return a
}

func writeResults(dir string, res *Results) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "latency.svg"), latencySVG(res), 0o644)
}

func machine() Machine {
	m := Machine{NProc: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(), LoadStart: load1()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.Kernel = utsString(u.Sysname[:]) + " " + utsString(u.Release[:]) + " " + utsString(u.Machine[:])
	}
	return m
}

func utsString(b []int8) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func fsType(dir string) string {
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		return "unknown"
	}
	switch s.Type {
	case 0xEF53:
		return "ext4"
	case 0x01021994:
		return "tmpfs (fsync is free: numbers flatter docker-authz)"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	case 0x794c7630:
		return "overlayfs"
	}
	return fmt.Sprintf("0x%x", s.Type)
}

func round1(v float64) float64 {
	if v > 1e15 || v < -1e15 {
		return v
	}
	return float64(int64(v*10+0.5*sign(v))) / 10
}

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

func quantileUnsorted(ns []int64, q float64) time.Duration {
	l := summarize(ns)
	return time.Duration(quantile(l.sorted, q))
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	}
}

var errNoDockerd = errors.New("dockerd, containerd, runc or busybox not found: install Debian's docker.io and busybox-static, or run with -dockerd=false")
