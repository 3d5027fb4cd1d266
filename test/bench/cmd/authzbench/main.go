// Command authzbench measures docker-authz side by side with the allow-all
// reference plugin in one run, and writes the report `make bench` shows.
//
//	authzbench [-out bench-results] [-rounds 3] [-duration 3s] [-conns 1,8,64]
//	           [-soak 300000] [-dockerd=true] [-gobench=true] [-smoke]
//
// It builds (or takes -bin) the real docker-authz binary, starts it with the
// example policy, a throw-away client CA and the durable audit trail on a
// disk-backed directory, starts the allow-all plugin (this binary, run as
// `authzbench allowall`), and drives both over their unix sockets with the
// request mix of package bench, at each concurrency, alternating the order
// of the two plugins from round to round. It samples docker-authz's RSS
// (VmRSS, VmHWM) throughout and runs a soak to a number of decisions. With
// -dockerd it starts a dockerd (TLS on loopback, temp dirs) and times the
// Docker API round trip with no plugin, the allow-all plugin and docker-authz,
// switching between them by reloading daemon.json (SIGHUP). With -gobench it
// runs the decision-path Go benchmarks. Results: a table on stdout,
// results.json and latency.svg in -out.
//
// -smoke is the CI check: short phases, no dockerd, no Go benchmarks; it
// fails unless both plugins answered every message, docker-authz allowed
// the whole mix, and results.json was written and reads back.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	out       string
	bin       string
	policy    string
	rounds    int
	duration  time.Duration
	warmup    time.Duration
	conns     []int
	soak      uint64
	dockerd   bool
	apiGets   int
	apiRuns   int
	gobench   bool
	smoke     bool
	keep      bool
	tmpfs     bool
	soakConns int
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "allowall" {
		os.Exit(runAllowAll(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	var conns string
	fs := flag.NewFlagSet("authzbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.out, "out", "bench-results", "directory for results.json and latency.svg")
	fs.StringVar(&o.bin, "bin", "", "docker-authz binary (default: go build ./cmd/docker-authz)")
	fs.StringVar(&o.policy, "policy", "examples/shared-build-host", "policy directory docker-authz serves")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each round runs both plugins at every concurrency, in alternating order")
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "measured time per plugin, concurrency and round")
	fs.DurationVar(&o.warmup, "warmup", 300*time.Millisecond, "unmeasured load before each measured phase")
	fs.StringVar(&conns, "conns", "1,8,64", "concurrent connections, comma separated")
	fs.Uint64Var(&o.soak, "soak", 150000, "run docker-authz (8 connections) until it has made this many decisions in total, sampling RSS; 1000000 for the 1M-decision target")
	fs.BoolVar(&o.dockerd, "dockerd", true, "measure the Docker API round trip through a real dockerd (root, docker.io, busybox-static)")
	fs.IntVar(&o.apiGets, "api-gets", 300, "GET /containers/json per plugin mode and round")
	fs.IntVar(&o.apiRuns, "api-creates", 25, "POST /containers/create + DELETE per plugin mode and round")
	fs.BoolVar(&o.gobench, "gobench", true, "run the decision-path Go benchmarks (go test -bench -benchmem)")
	fs.BoolVar(&o.smoke, "smoke", false, "CI smoke run: a few seconds, asserts that everything works, not timings")
	fs.IntVar(&o.soakConns, "soak-conns", 8, "connections during the soak")
	fs.BoolVar(&o.tmpfs, "tmpfs", true, "also run docker-authz with its audit trail on /dev/shm (tmpfs), to separate CPU cost from fsync cost")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (audit trail, logs)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if o.smoke {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("rounds", func() { o.rounds = 2 })
		def("duration", func() { o.duration = 250 * time.Millisecond })
		def("warmup", func() { o.warmup = 50 * time.Millisecond })
		def("conns", func() { conns = "1,8" })
		def("soak", func() { o.soak = 3000 })
		def("dockerd", func() { o.dockerd = false })
		def("gobench", func() { o.gobench = false })
	}
	for _, s := range strings.Split(conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 4096 {
			fmt.Fprintf(stderr, "authzbench: -conns: %q is not a number of connections (1..4096)\n", s)
			return 2
		}
		o.conns = append(o.conns, n)
	}
	if o.rounds < 1 || o.duration <= 0 {
		fmt.Fprintln(stderr, "authzbench: -rounds must be >= 1 and -duration > 0")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := runBench(ctx, o, stderr)
	if res != nil {
		printTable(stdout, res)
	}
	if err != nil {
		fmt.Fprintln(stderr, "authzbench:", err)
		return 1
	}
	if o.smoke {
		if err := checkSmoke(res, filepath.Join(o.out, "results.json")); err != nil {
			fmt.Fprintln(stderr, "authzbench: smoke check failed:", err)
			return 1
		}
		fmt.Fprintln(stdout, "smoke: ok (both plugins answered every message, docker-authz allowed the mix, results.json written)")
	}
	return 0
}

// checkSmoke asserts what CI relies on: it works, whatever the timings.
func checkSmoke(res *Results, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var back Results
	if err := json.Unmarshal(b, &back); err != nil {
		return fmt.Errorf("%s does not read back: %v", path, err)
	}
	if len(back.Plugin) == 0 {
		return fmt.Errorf("%s has no plugin results", path)
	}
	for _, p := range back.Plugin {
		for _, name := range []string{pluginAllowAll, pluginAuthz, pluginAuthzTmpfs} {
			s, ok := p.Plugins[name]
			if !ok && name == pluginAuthzTmpfs {
				continue
			}
			if !ok || s.Decisions == 0 {
				return fmt.Errorf("%s made no decisions at %d connections", name, p.Conns)
			}
			if s.Errors != 0 || s.Denied != 0 {
				return fmt.Errorf("%s at %d connections: %d errors, %d denies (first: %s)", name, p.Conns, s.Errors, s.Denied, s.FirstError)
			}
			if s.Responses != s.Decisions {
				return fmt.Errorf("%s at %d connections: %d AuthZRes for %d allowed AuthZReq", name, p.Conns, s.Responses, s.Decisions)
			}
		}
	}
	if back.RSS.Decisions < res.Config.Soak || back.RSS.PeakKiB == 0 || len(back.RSS.Samples) < 2 {
		return fmt.Errorf("RSS soak incomplete: %d decisions, peak %d KiB, %d samples", back.RSS.Decisions, back.RSS.PeakKiB, len(back.RSS.Samples))
	}
	if back.Audit.Records == 0 {
		return fmt.Errorf("docker-authz wrote no audit records")
	}
	if !back.Audit.Verified {
		return fmt.Errorf("the audit trail does not verify: %s", back.Audit.Verify)
	}
	return nil
}
