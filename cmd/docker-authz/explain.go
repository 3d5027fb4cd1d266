package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/docker-authz/docker-authz/authz"
	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/request"
	"github.com/docker-authz/docker-authz/policy"
	"github.com/docker-authz/docker-authz/policy/dockerargs"
)

type groupList []string

func (g *groupList) String() string     { return strings.Join(*g, ",") }
func (g *groupList) Set(v string) error { *g = append(*g, v); return nil }

const explainUsage = `Usage: docker-authz explain [OPTIONS] --user USER [--group GROUP]... -- DOCKER_ARGS...
       docker-authz explain [OPTIONS] FILE|-

Shows how the policy decides one request, exactly as the plugin would: the
route, every facet with its value and where in the request it was found,
each facet's decision with the rule that decided it, the final decision and
the message dockerd prints to the docker user.

The request is either a docker command line after -- (translated into the
request the docker CLI 20.10 sends, e.g. -- run --privileged -v /:/h alpine),
or FILE (- for stdin) holding one AuthZReq as dockerd sends it to the plugin
(RequestMethod, RequestUri, RequestBody in base64, RequestHeaders,
RequestPeerCertificates). Without --user, the caller is identified from the
AuthZReq's certificates with --client-ca.

Exit status: 0 allowed, 1 denied, 2 usage or input error.

Options:`

func runExplain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("policy", "/etc/docker-authz", "policy directory, or a PostgreSQL URL postgres://...")
	ca := fs.String("client-ca", "", "CA bundle to verify the AuthZReq's peer certificates (FILE form without --user)")
	user := fs.String("user", "", "decide for this user (the certificate CN); anonymous for callers without a certificate")
	var groups groupList
	fs.Var(&groups, "group", "a group of --user (repeatable; with or without the group: prefix)")
	plugin := fs.String("plugin-name", "docker-authz", "the plugin name dockerd knows (in daemon.json), for the message")
	asJSON := fs.Bool("json", false, "print the explanation as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, explainUsage)
		fs.PrintDefaults()
	}
	// Everything after -- is a docker command line.
	var dockerArgs []string
	hasDocker := false
	for i, a := range args {
		if a == "--" {
			dockerArgs, args, hasDocker = args[i+1:], args[:i], true
			break
		}
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	switch {
	case hasDocker && fs.NArg() > 0:
		fmt.Fprintf(stderr, "explain: unexpected %q before --\n", fs.Args())
		return 2
	case hasDocker && len(dockerArgs) == 0, !hasDocker && fs.NArg() == 0:
		fs.Usage()
		return 2
	case !hasDocker && (fs.NArg() > 1 || !isRequestFile(fs.Arg(0))):
		// explain --user alice run --privileged alpine: a command line without --.
		dockerArgs, hasDocker = fs.Args(), true
	}

	pol, err := loadPolicy(*dir) // a directory or a postgres:// URL
	if err != nil {
		fmt.Fprintln(stderr, "explain: invalid policy:", err)
		return 2
	}
	var sub identity.Subject
	if *user != "" {
		sub.User, sub.AuthMethod = *user, "explain"
		for _, g := range groups {
			sub.Groups = append(sub.Groups, identity.GroupPrefix+strings.TrimPrefix(g, identity.GroupPrefix))
		}
	} else if len(groups) > 0 {
		fmt.Fprintln(stderr, "explain: --group needs --user")
		return 2
	}

	var raw request.Raw
	var cmdline string
	if hasDocker {
		if *user == "" {
			fmt.Fprintln(stderr, "explain: a docker command line needs --user (and --group for each of the user's groups)")
			return 2
		}
		r, err := dockerargs.Translate(dockerArgs)
		if err != nil {
			fmt.Fprintln(stderr, "explain:", err)
			return 2
		}
		raw, cmdline = r.Raw(), "docker "+quoteArgs(dockerArgs)
	} else {
		in, err := readAuthZReq(fs.Arg(0))
		if err != nil {
			fmt.Fprintln(stderr, "explain:", err)
			return 2
		}
		raw = in.Request()
		if *user == "" {
			v, err := identity.NewVerifier(identity.Config{ClientCAFile: *ca})
			if err != nil {
				fmt.Fprintln(stderr, "explain:", err)
				return 2
			}
			sub, err = v.Identify(in.Caller())
			if err != nil {
				msg := "could not identify the caller: " + err.Error()
				if *asJSON {
					writeJSON(stdout, map[string]any{"decision": map[string]any{"allow": false, "reason": msg}, "message": denyMessage(*plugin, msg)})
				} else {
					fmt.Fprintf(stdout, "decision: deny\nmessage:  %s\n", denyMessage(*plugin, msg))
				}
				return 1
			}
		}
	}

	ev := pol.Evaluate(sub, raw)
	if *asJSON {
		writeJSON(stdout, explainJSON(sub, raw, cmdline, *dir, ev, *plugin))
	} else {
		printExplanation(stdout, sub, raw, cmdline, *dir, ev, *plugin)
	}
	if !ev.Decision.Allow {
		return 1
	}
	return 0
}

// isRequestFile reports whether arg names an AuthZReq file (or stdin).
func isRequestFile(arg string) bool {
	if arg == "-" || strings.HasSuffix(arg, ".json") {
		return true
	}
	st, err := os.Stat(arg)
	return err == nil && st.Mode().IsRegular()
}

func readAuthZReq(name string) (*authz.Message, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(io.LimitReader(os.Stdin, 4<<20))
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, err
	}
	var in authz.Message
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("%s is not an AuthZReq JSON object: %v", name, err)
	}
	if in.RequestMethod == "" || in.RequestURI == "" {
		return nil, errors.New(name + ": an AuthZReq needs RequestMethod and RequestUri")
	}
	return &in, nil
}

func denyMessage(plugin, reason string) string {
	return policy.Evaluation{Decision: policy.Decision{Reason: reason}}.Message(plugin)
}

// quoteArgs prints a command line so that it can be pasted into a shell.
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

func ruleText(f policy.FacetResult) string {
	if f.Rule == "" {
		return "no rule: denied by default"
	}
	s := f.Rule
	if f.Principal != "" {
		s += " (for " + f.Principal + ")"
	}
	return s
}

func printExplanation(w io.Writer, sub identity.Subject, raw request.Raw, cmdline, dir string, ev policy.Evaluation, plugin string) {
	fmt.Fprintf(w, "subject:  %s\n", policy.Who(sub))
	if cmdline != "" {
		fmt.Fprintf(w, "command:  %s\n", cmdline)
	}
	fmt.Fprintf(w, "request:  %s %s\n", raw.Method, raw.URI)
	if ev.Facts != nil {
		v := ev.Facts.APIVersion
		if v == "" {
			v = "none"
		}
		fmt.Fprintf(w, "route:    %s (API version %s)\n", ev.Facts.Route, v)
	}
	fmt.Fprintf(w, "policy:   %s (revision %s)\n", dir, ev.Decision.Revision)
	if ev.Refused != nil {
		fmt.Fprintf(w, "\nrefused before the policy: %v\n", ev.Refused)
	} else {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FACET\tVALUE\tFOUND IN\tDECISION\tRULE")
		for _, f := range ev.Decision.Facets {
			src := f.Source
			if src == "" {
				src = "-"
			}
			val := f.Value
			if val == "" {
				val = `""`
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Kind, val, src, decisionWord(f.Allow), ruleText(f))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\ndecision: %s\n", decisionWord(ev.Decision.Allow))
	fmt.Fprintf(w, "reason:   %s\n", ev.Decision.Reason)
	if !ev.Decision.Allow {
		fmt.Fprintf(w, "message:  %s\n", ev.Message(plugin))
	}
}

type explainFacet struct {
	Kind     string `json:"kind"`
	Value    string `json:"value"`
	Source   string `json:"source,omitempty"`
	Decision string `json:"decision"`
	Rule     string `json:"rule,omitempty"`
	For      string `json:"for,omitempty"`
}

func explainJSON(sub identity.Subject, raw request.Raw, cmdline, dir string, ev policy.Evaluation, plugin string) any {
	out := map[string]any{
		"subject": map[string]any{"user": sub.User, "groups": orEmptyList(sub.Groups)},
		"request": map[string]any{"method": raw.Method, "uri": raw.URI},
		"policy":  map[string]any{"dir": dir, "revision": ev.Decision.Revision},
		"decision": map[string]any{
			"allow":  ev.Decision.Allow,
			"reason": ev.Decision.Reason,
		},
	}
	if cmdline != "" {
		out["command"] = cmdline
	}
	if ev.Facts != nil {
		out["route"] = ev.Facts.Route
		out["api_version"] = ev.Facts.APIVersion
	}
	if ev.Refused != nil {
		out["refused"] = ev.Refused.Error()
	}
	facets := []explainFacet{}
	for _, f := range ev.Decision.Facets {
		e := explainFacet{Kind: f.Kind, Value: f.Value, Source: f.Source, Decision: decisionWord(f.Allow), Rule: f.Rule, For: f.Principal}
		if f.Rule == "" {
			e.Rule = "default deny"
		}
		facets = append(facets, e)
	}
	out["facets"] = facets
	if !ev.Decision.Allow {
		out["message"] = ev.Message(plugin)
	}
	return out
}

func orEmptyList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
