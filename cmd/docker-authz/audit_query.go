package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker-authz/docker-authz/authz/audit"
)

// The auditor's commands: query, stats and report. The logic is in
// authz/audit (query.go, stats.go, report.go); these only parse flags.

func init() {
	auditCommands["query"] = command{"who ran what, when, and what was refused: requests with their outcome, filtered", runAuditQuery}
	auditCommands["stats"] = command{"counts by user, decision, route, denied facet and hour", runAuditStats}
	auditCommands["report"] = command{"write a self-contained HTML report with charts (verification result at the top)", runAuditReport}
}

// listFlag is a repeatable string flag; commas separate values too.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// filterFlags are the filters shared by query, stats and report.
type filterFlags struct {
	users, groups, routes                listFlag
	facets, denied                       []string
	decision, since, until, object, host string
}

func (f *filterFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.users, "user", "only requests by this `USER` (repeatable, or comma-separated)")
	fs.Var(&f.groups, "group", "only requests by members of this `GROUP` (developers or group:developers; repeatable)")
	fs.StringVar(&f.decision, "decision", "", "only allow or deny")
	fs.StringVar(&f.since, "since", "", "only requests at or after `TIME`: 2026-11-23T10:00:00Z, 2026-11-23, \"2026-11-23 10:00\" (UTC), or an age: 24h, 7d")
	fs.StringVar(&f.until, "until", "", "only requests before `TIME` (same forms as --since)")
	fs.Var(&f.routes, "route", "only this `ROUTE` (container:create, or a glob: container:*; repeatable)")
	fs.Func("facet", "only requests with this facet: `KIND[=VALUE]` (privileged, bind=/var/run/*, cap=SYS_ADMIN); repeatable, all must match", func(s string) error {
		if _, err := audit.ParseFacetMatch(s); err != nil {
			return err
		}
		f.facets = append(f.facets, s)
		return nil
	})
	fs.Func("denied", "only denials that refused this facet: `KIND[=VALUE]` (privileged, bind=/var/run/*); repeatable, all must match", func(s string) error {
		if _, err := audit.ParseFacetMatch(s); err != nil {
			return err
		}
		f.denied = append(f.denied, s)
		return nil
	})
	fs.StringVar(&f.object, "container", "", "only requests on this container (or other object): `NAME` or id prefix")
	fs.StringVar(&f.host, "host", "", "only records from this `HOST` (a trail collected from many hosts)")
}

func (f *filterFlags) filter(now time.Time) (audit.Filter, error) {
	out := audit.Filter{Users: f.users, Groups: f.groups, Routes: f.routes, Object: f.object, Host: f.host}
	switch f.decision {
	case "", audit.Allow, audit.Deny:
		out.Decision = f.decision
	case "allowed":
		out.Decision = audit.Allow
	case "denied":
		out.Decision = audit.Deny
	default:
		return out, fmt.Errorf("--decision must be allow or deny, not %q", f.decision)
	}
	var err error
	if f.since != "" {
		if out.Since, err = audit.ParseTime(f.since, now); err != nil {
			return out, fmt.Errorf("--since: %w", err)
		}
	}
	if f.until != "" {
		if out.Until, err = audit.ParseTime(f.until, now); err != nil {
			return out, fmt.Errorf("--until: %w", err)
		}
	}
	for _, s := range f.facets {
		m, _ := audit.ParseFacetMatch(s)
		out.Facets = append(out.Facets, m)
	}
	for _, s := range f.denied {
		m, _ := audit.ParseFacetMatch(s)
		out.Denied = append(out.Denied, m)
	}
	return out, nil
}

// trailFiles expands the arguments (files, directories, globs) and puts the
// files in chain order.
func trailFiles(args []string) ([]string, error) {
	if len(args) == 0 {
		return nil, errors.New("no trail file given")
	}
	files, err := expandTrailPaths(args)
	if err != nil {
		return nil, err
	}
	return audit.SortFiles(files)
}

func warnProblems(w io.Writer, cmd string, probs []audit.LineProblem) {
	for i, p := range probs {
		if i == 10 {
			fmt.Fprintf(w, "%s: ... %d more\n", cmd, len(probs)-10)
			break
		}
		fmt.Fprintf(w, "%s: skipped %s\n", cmd, p)
	}
	if len(probs) > 0 {
		fmt.Fprintf(w, "%s: %d line(s) are not audit records; run `docker-authz audit verify` on these files\n", cmd, len(probs))
	}
}

// filterAndFiles turns the parsed filter flags and arguments into a Filter
// and the trail files in chain order; on an error it says so and returns
// exit status 2.
func filterAndFiles(ff *filterFlags, fs *flag.FlagSet, stderr io.Writer) (audit.Filter, []string, int) {
	filter, err := ff.filter(time.Now())
	if err == nil {
		var files []string
		if files, err = trailFiles(fs.Args()); err == nil {
			return filter, files, 0
		}
	}
	fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
	return filter, nil, 2
}

func parseAuditFlags(fs *flag.FlagSet, args []string, help string) (ok bool, code int) {
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), help)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return false, 0
		}
		return false, 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return false, 2
	}
	return true, 0
}

const queryHelp = `Usage: docker-authz audit query [FILTERS] [--json|--csv] PATH...

Lists the requests of the audit trail (files, a directory, or a glob; rotated
files in any order) with who made them, the decision, the response status of
allowed requests ("no response": allowed but no outcome was recorded), the
route, the object and, for denials, the reason. Filters combine with "and".

Examples:
  docker-authz audit query --decision deny --since 24h /var/log/docker-authz/
  docker-authz audit query --user alice --route 'container:*' audit.jsonl
  docker-authz audit query --facet privileged --facet bind=/var/run/docker.sock --json audit.jsonl
  docker-authz audit query --denied 'bind=/var/run/*' --since 7d /var/log/docker-authz/

Options:`

func runAuditQuery(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit query", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ff filterFlags
	ff.register(fs)
	asJSON := fs.Bool("json", false, "one JSON object per request (JSON Lines), with every field")
	asCSV := fs.Bool("csv", false, "CSV with a header line")
	width := fs.Int("reason-width", 100, "cut reasons in the table to `N` characters (0: never)")
	if ok, code := parseAuditFlags(fs, args, queryHelp); !ok {
		return code
	}
	if *asJSON && *asCSV {
		fmt.Fprintln(stderr, "audit query: --json and --csv exclude each other")
		return 2
	}
	filter, files, code := filterAndFiles(&ff, fs, stderr)
	if code != 0 {
		return code
	}
	res, err := audit.Query(files, filter)
	if err != nil {
		fmt.Fprintln(stderr, "audit query:", err)
		return 1
	}
	warnProblems(stderr, "audit query", res.Problems)
	bw := bufio.NewWriter(stdout)
	switch {
	case *asJSON:
		err = audit.WriteJSON(bw, res.Entries)
	case *asCSV:
		err = audit.WriteCSV(bw, res.Entries)
	default:
		if len(res.Entries) == 0 {
			fmt.Fprintf(stderr, "audit query: no matching request in %d record(s)\n", res.Records)
			return 0
		}
		err = audit.WriteTable(bw, res.Entries, *width)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		fmt.Fprintln(stderr, "audit query:", err)
		return 1
	}
	return 0
}

const statsHelp = `Usage: docker-authz audit stats [FILTERS] [--json] PATH...

Counts the requests of the audit trail: allowed and denied, by user, host,
route, denied facet (and facet value), response status, and per hour (UTC).

Options:`

func runAuditStats(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ff filterFlags
	ff.register(fs)
	asJSON := fs.Bool("json", false, "the counts as one JSON object")
	top := fs.Int("top", 20, "rows in the user, route and facet value tables (0: all)")
	if ok, code := parseAuditFlags(fs, args, statsHelp); !ok {
		return code
	}
	filter, files, code := filterAndFiles(&ff, fs, stderr)
	if code != 0 {
		return code
	}
	s, err := audit.ComputeStats(files, filter)
	if err != nil {
		fmt.Fprintln(stderr, "audit stats:", err)
		return 1
	}
	warnProblems(stderr, "audit stats", s.Problems)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(s.JSON())
	} else {
		err = audit.WriteStats(stdout, s, *top)
	}
	if err != nil {
		fmt.Fprintln(stderr, "audit stats:", err)
		return 1
	}
	return 0
}

const reportHelp = `Usage: docker-authz audit report [FILTERS] -o report.html PATH...

Writes one self-contained HTML page (inline CSS and SVG, no script, nothing
fetched from the network) to read in any browser from disk: the verification
result of the trail at the top, a summary, charts of decisions over time,
denials by user, denied facets and top routes, the table of denials, the
table of every request for an escalation facet (privileged, host mounts,
capabilities, devices, host namespaces, ...), per-user counts and response
statuses.

Options:`

func runAuditReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ff filterFlags
	ff.register(fs)
	var out string
	fs.StringVar(&out, "o", "", "write the report to `FILE` (required)")
	fs.StringVar(&out, "html", "", "same as -o")
	title := fs.String("title", "", "report title (default \"docker-authz audit report\")")
	keyFile := fs.String("key", "", "Ed25519 public key `FILE` to verify the checkpoint signatures (as audit verify --key)")
	maxRows := fs.Int("max-rows", 500, "rows per table")
	if ok, code := parseAuditFlags(fs, args, reportHelp); !ok {
		return code
	}
	if out == "" {
		fmt.Fprintln(stderr, "audit report: -o FILE is required")
		return 2
	}
	filter, files, code := filterAndFiles(&ff, fs, stderr)
	if code != 0 {
		return code
	}
	opts := audit.ReportOptions{Title: *title, Filter: filter, MaxRows: *maxRows, Verify: audit.VerifyOptions{AllowPartialStart: true}}
	if *keyFile != "" {
		pub, err := audit.LoadPublicKey(*keyFile)
		if err != nil {
			fmt.Fprintln(stderr, "audit report:", err)
			return 2
		}
		opts.Verify.PublicKey = pub
	}
	// Write next to the target and rename, so a failed run never leaves a
	// half report under the requested name.
	tmp, err := os.CreateTemp(filepath.Dir(out), ".report-*.html")
	if err != nil {
		fmt.Fprintln(stderr, "audit report:", err)
		return 1
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriter(tmp)
	err = audit.WriteReport(bw, files, opts)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o640)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), out)
	}
	if err != nil {
		fmt.Fprintln(stderr, "audit report:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s\n", out)
	return 0
}
