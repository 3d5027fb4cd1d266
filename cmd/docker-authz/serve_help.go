package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// serveUsage is serve's --help: a manual page on stdout when help was asked
// for, a one-line hint on stderr after a flag error.
func serveUsage(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) func() {
	asked := false
	for _, a := range args {
		if a == "--" {
			break
		}
		switch a {
		case "-h", "-help", "--help", "--h":
			asked = true
		}
	}
	return func() {
		if !asked {
			fmt.Fprintln(stderr, "Run 'docker-authz help serve' for the manual.")
			return
		}
		serveManual(stdout, fs)
	}
}

func serveManual(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `NAME
    docker-authz serve - the Docker Engine authorization plugin

SYNOPSIS
    docker-authz serve [--socket PATH] [--policy DIR] [--client-ca FILE]
                       [--audit-log FILE] [OPTIONS]

DESCRIPTION
    Answers dockerd's authorization requests (/AuthZPlugin.AuthZReq and
    AuthZRes) on a unix socket. Every API request is identified by the
    caller's verified TLS client certificate (CN = user, O and OU = groups),
    split into facets (route, privileged, bind, cap, image, ...) and allowed
    only when the policy allows every facet; deny by default, deny overrides
    allow. Every decision is written, durably and hash-chained, to the audit
    trail before the answer; if the trail cannot be written, requests are
    denied.

    dockerd finds the plugin by the socket's name: with the default socket,
    /etc/docker/daemon.json needs "authorization-plugins": ["docker-authz"].
    Start the plugin before dockerd (the systemd unit does).

    The policy is validated, and its test cases (DIR/cases.yaml) run, before
    it is used: serve does not start on a bad policy, and a reload that fails
    keeps the last good policy in force (logged at error level, counted in
    the metrics, shown by 'docker-authz status').

OPTIONS
`)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "    --" + f.Name
		if name != "" {
			line += " " + name
		}
		if f.DefValue != "" && f.DefValue != "false" {
			line += "  (default " + f.DefValue + ")"
		}
		fmt.Fprintln(w, line)
		for _, l := range wrap(usage, 68) {
			fmt.Fprintln(w, "        "+l)
		}
	})
	fmt.Fprint(w, `
SIGNALS
    SIGHUP    reload the policy now (also done automatically when the policy
              files change, see --watch-interval). A policy that fails
              validation or its test cases is rejected; the previous one
              stays in force. Requests in flight finish with the policy they
              started with; each request sees exactly one policy.
    SIGTERM, SIGINT
              stop accepting requests, drain those in flight (up to 20s),
              write the last audit records, fsync and exit. Readiness turns
              to "shutting down" at once.

FILES
    --config FILE                     optional YAML: option names as keys,
                                      e.g. "audit-log: /srv/audit/a.jsonl";
                                      the command line wins
    /etc/docker-authz/policy.csv      the policy (Casbin CSV: p and g lines)
    /etc/docker-authz/model.conf      optional Casbin model (built-in default)
    /etc/docker-authz/cases.yaml      optional policy test cases, run on load
    /run/docker/plugins/NAME.sock     plugin socket (0600), where dockerd looks
    /run/docker-authz/NAME.sock       admin socket (0600): GET /status, /ready
    /var/log/docker-authz/audit.jsonl audit trail (0640, directory 0750)

ENDPOINTS
    admin socket   GET /status (JSON, what 'docker-authz status' prints),
                   GET /ready (200 "ready" or 503 with the reasons; a
                   PostgreSQL policy whose database is unreachable stays
                   ready: the last good policy decides, and status exits 1)
    --metrics-addr GET /metrics (Prometheus), GET /ready

EXIT STATUS
    0   stopped by SIGTERM or SIGINT after draining
    1   could not start (bad policy, failing cases, audit trail, socket in
        use by another instance, ...) or the listener failed; the log says why
    2   bad command line

LOGGING
    logrus on stderr: text on a terminal, JSON otherwise (journald). Every
    deny is logged at info with user, route and reason; request bodies,
    environment values and credentials are never logged.

SEE ALSO
    docker-authz status, docker-authz check, docker-authz explain,
    docker-authz audit verify; systemd unit docker-authz.service; README.md
`)
}

// wrap breaks text into lines of at most width characters.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
