package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Exit codes of `docker-authz status`.
const (
	statusOK          = 0 // ready, last reload succeeded
	statusUnhealthy   = 1 // running, but not ready or the last reload was rejected
	statusUsage       = 2
	statusUnreachable = 3 // no instance answered on the admin socket
)

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "/run/docker/plugins/docker-authz.sock", "plugin socket of the instance (its admin socket is derived as serve --admin-socket auto does)")
	admin := fs.String("admin-socket", "", "admin socket of the instance (overrides --socket)")
	asJSON := fs.Bool("json", false, "print the full status as JSON")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: docker-authz status [--socket PATH | --admin-socket PATH] [--json]

Asks the running plugin over its admin socket: readiness, policy revision and
source, uptime, decisions counted, audit trail counters, the result of the
last policy reload and, for a policy in PostgreSQL, the database: connected,
serving the snapshot, store revision against the one in force, last load
and last error.

Exit status: 0 ready and the last reload succeeded; 1 running but not ready
(no policy, audit trail failing, shutting down), the last reload was
rejected, or a PostgreSQL policy is not followed (database disconnected, or
serving the local snapshot: the instance stays ready and decides with the
last good policy); 2 usage; 3 no instance answered.

Options:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return statusOK
		}
		return statusUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "status: unexpected argument %q\n", fs.Arg(0))
		return statusUsage
	}
	path := *admin
	if path == "" {
		path = adminSocketFor(*socket)
	}
	rep, raw, err := fetchStatus(path, *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "status: no answer from %s: %v\n(is `docker-authz serve` running? `systemctl status docker-authz`; it must run with --admin-socket, default auto)\n", path, err)
		return statusUnreachable
	}
	if *asJSON {
		stdout.Write(raw)
	} else {
		printStatus(stdout, rep)
	}
	if !rep.Ready || !rep.Policy.Reload.LastOK {
		return statusUnhealthy
	}
	if db := rep.Policy.Database; db != nil && len(db.Problems) > 0 {
		return statusUnhealthy // ready (deciding with the last good policy) but not following the database
	}
	return statusOK
}

// fetchStatus GETs /status from the admin socket.
func fetchStatus(path string, timeout time.Duration) (statusReport, []byte, error) {
	var rep statusReport
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}
	res, err := c.Get("http://docker-authz/status")
	if err != nil {
		return rep, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return rep, nil, err
	}
	if res.StatusCode != http.StatusOK {
		return rep, nil, fmt.Errorf("%s: %s", res.Status, strings.TrimSpace(string(raw)))
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return rep, nil, fmt.Errorf("not a docker-authz status answer: %v", err)
	}
	return rep, raw, nil
}

func printStatus(w io.Writer, r statusReport) {
	ready := "ready"
	if !r.Ready {
		ready = "NOT READY: " + strings.Join(r.NotReady, "; ")
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.Local().Format(time.RFC3339) + " (" + time.Since(t).Round(time.Second).String() + " ago)"
	}
	fmt.Fprintf(w, "docker-authz %s (pid %d): %s\n", r.Version, r.PID, ready)
	fmt.Fprintf(w, "  plugin:     %s on %s\n", r.Plugin, r.Socket)
	fmt.Fprintf(w, "  uptime:     %s (since %s)\n", (time.Duration(r.UptimeSeconds * float64(time.Second))).Round(time.Second), r.Started.Local().Format(time.RFC3339))
	fmt.Fprintf(w, "  policy:     revision %s from %s, loaded %s\n", r.Policy.Revision, r.Policy.Source, ts(r.Policy.Reload.Loaded))
	if r.Policy.Database != nil {
		printDatabase(w, r.Policy.Database, ts)
	}
	rl := r.Policy.Reload
	switch {
	case rl.LastAttempt.IsZero():
		fmt.Fprintf(w, "  reload:     none yet\n")
	case rl.LastOK:
		fmt.Fprintf(w, "  reload:     ok (%s, %s); %d attempts, %d rejected\n", rl.LastTrigger, ts(rl.LastAttempt), rl.Attempts, rl.Failures)
	default:
		fmt.Fprintf(w, "  reload:     REJECTED (%s, %s): %s\n", rl.LastTrigger, ts(rl.LastAttempt), rl.LastError)
		fmt.Fprintf(w, "              revision %s stays in force; %d attempts, %d rejected\n", r.Policy.Revision, rl.Attempts, rl.Failures)
	}
	if r.WatchIntervalS > 0 {
		fmt.Fprintf(w, "  watch:      policy files checked every %gs\n", r.WatchIntervalS)
	}
	fmt.Fprintf(w, "  decisions:  %d allowed, %d denied, %d errors; %d in flight\n", r.Decisions.Allowed, r.Decisions.Denied, r.Decisions.Errors, r.InFlight)
	fmt.Fprintf(w, "  audit:      %s: %d records written since start, last seq %d, %d failed records\n", r.Audit.Path, r.Audit.Records, r.Audit.LastSeq, r.Audit.FailedRecords)
	if r.Audit.LastError != "" {
		fmt.Fprintf(w, "              last failure %s: %s\n", ts(r.Audit.LastFailure), r.Audit.LastError)
	}
	if r.MetricsAddr != "" {
		fmt.Fprintf(w, "  metrics:    http://%s/metrics\n", r.MetricsAddr)
	}
}
