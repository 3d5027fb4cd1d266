package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/docker-authz/docker-authz/authz/request"
)

// Severity of a lint finding.
type Severity string

const (
	// SeverityError: the policy certainly does not do what it says (a rule
	// that can never match). `check` fails.
	SeverityError Severity = "error"
	// SeverityWarning: the policy works, but a line is useless or suspect.
	// `check --strict` fails.
	SeverityWarning Severity = "warning"
)

// Finding is one lint result about a policy line.
type Finding struct {
	Severity Severity `json:"severity"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Rule     string   `json:"rule"`
	Message  string   `json:"message"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s: %s (%s)", f.File, f.Line, f.Severity, f.Message, f.Rule)
}

// numericKinds are the facets whose values are whole numbers ("0" = unlimited).
var numericKinds = map[string]bool{request.KindMemory: true, request.KindCPUs: true, request.KindPidsLimit: true, "running-containers": true}

// isLimit reports whether a value pattern is a numeric limit (<=N or >N).
func isLimit(pattern string) bool {
	return strings.HasPrefix(pattern, "<=") || strings.HasPrefix(pattern, ">") && !strings.HasPrefix(pattern, ">=")
}

// facetDomains are the values Normalize can raise for facets with a closed
// set of values.
var facetDomains = map[string][]string{
	request.KindPrivileged:     {"container", "exec", "plugin"},
	request.KindHostNS:         {"network", "pid", "ipc", "uts", "userns", "cgroupns"},
	request.KindUnconfined:     {"seccomp", "seccomp-profile", "apparmor", "label", "systempaths", "maskedpaths", "readonlypaths", "no-new-privileges"},
	request.KindPlugin:         {"install", "upgrade", "set", "enable", "disable", "remove", "push", "create"},
	request.KindSwarm:          {"init", "join", "leave", "update", "unlock"},
	request.KindCapDrop:        {"all", "partial", "none"},
	request.KindNoNewPrivs:     {"true", "false"},
	request.KindOomKillDisable: {"true"},
	request.KindImageLoad:      {"tarball"},
}

// neverMatches explains why a p rule's value pattern can match no value
// Normalize produces for the facet, or returns "".
func neverMatches(facet, pattern string) string {
	if facet == "*" || pattern == "*" {
		return ""
	}
	if isLimit(pattern) && !numericKinds[facet] {
		return fmt.Sprintf("%q is a numeric limit, but %s values are not numbers (<=N and >N fit only memory, cpus, pids-limit and running-containers)", pattern, facet)
	}
	if numericKinds[facet] {
		if isLimit(pattern) {
			return ""
		}
		if pattern == "" {
			return fmt.Sprintf("%s always has a value (0 when no limit is set); use 0 for \"no limit\"", facet)
		}
		for _, c := range pattern {
			if (c < '0' || c > '9') && c != '*' && c != '?' {
				return fmt.Sprintf("%s values are whole numbers of bytes/nano-CPUs/pids; %q is not (use <=N for a maximum such as <=2g)", facet, pattern)
			}
		}
		return ""
	}
	if dom, ok := facetDomains[facet]; ok {
		for _, v := range dom {
			if valueMatch(v, pattern) {
				return ""
			}
		}
		return fmt.Sprintf("%s values are one of %s; %q matches none of them", facet, strings.Join(dom, ", "), pattern)
	}
	switch facet {
	case request.KindRoute:
		for _, r := range request.RouteNames() {
			if valueMatch(r, pattern) {
				return ""
			}
		}
		return fmt.Sprintf("%q matches no route name (routes look like container:create, image:pull; see docker-authz explain)", pattern)
	case request.KindCap:
		if pattern != strings.ToUpper(pattern) || strings.HasPrefix(pattern, "CAP_") {
			return fmt.Sprintf("capabilities are matched upper case without the CAP_ prefix (SYS_ADMIN, ALL); %q never matches", pattern)
		}
	case request.KindBind, request.KindDevice, request.KindCgroupParent:
		if pattern == "" {
			return fmt.Sprintf("%s always has a path value", facet)
		}
		if pattern[0] != '/' && pattern[0] != '*' && pattern[0] != '?' && facet != request.KindCgroupParent {
			return fmt.Sprintf("%s values are absolute host paths; %q does not start with /", facet, pattern)
		}
	case request.KindImage:
		lit := literalPrefix(pattern)
		if pattern == "" {
			return "image always has a value"
		}
		if first, _, hasSlash := strings.Cut(lit, "/"); hasSlash {
			if !strings.ContainsAny(first, ".:") && first != "localhost" {
				return fmt.Sprintf("images are matched by their full name with the registry (docker.io/library/alpine:latest); %q never matches", pattern)
			}
		} else if lit == pattern {
			return fmt.Sprintf("images are matched by their full name with the registry (docker.io/library/alpine:latest); %q never matches", pattern)
		}
	case request.KindBuild:
		lit := literalPrefix(pattern)
		if !valueMatch("context", pattern) && !valueMatch("buildkit", pattern) &&
			!strings.HasPrefix(pattern, "remote:") && !(lit != pattern && strings.HasPrefix("remote:", lit)) {
			return fmt.Sprintf("build values are context, buildkit or remote:URL; %q matches none", pattern)
		}
	}
	return ""
}

// literalPrefix is the part of a glob before its first wildcard.
func literalPrefix(pattern string) string {
	if i := strings.IndexAny(pattern, "*?"); i >= 0 {
		return pattern[:i]
	}
	return pattern
}

// subjectGraph answers "does every holder of a also hold b" from g rules.
type subjectGraph map[string][]string

func newSubjectGraph(rules []Rule) subjectGraph {
	g := subjectGraph{}
	for _, r := range rules {
		if r.Type == "g" {
			g[r.Fields[0]] = append(g[r.Fields[0]], r.Fields[1])
		}
	}
	return g
}

// inherits reports whether rules for b apply to every request to which
// rules for a apply (a == b or a is a member of b, transitively).
func (g subjectGraph) inherits(a, b string) bool {
	seen := map[string]bool{}
	stack := []string{a}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if x == b {
			return true
		}
		if seen[x] {
			continue
		}
		seen[x] = true
		stack = append(stack, g[x]...)
	}
	return false
}

// covers reports whether every value pattern b matches is matched by a.
func covers(a, b string) bool {
	switch {
	case a == "*" || a == b:
		return true
	case b == "*":
		return false
	case strings.HasPrefix(a, "<=") && strings.HasPrefix(b, "<="):
		x, err1 := parseQuantity(a[2:])
		y, err2 := parseQuantity(b[2:])
		return err1 == nil && err2 == nil && x >= y
	case strings.HasPrefix(a, ">") && strings.HasPrefix(b, ">") && isLimit(a) && isLimit(b):
		x, err1 := parseQuantity(a[1:])
		y, err2 := parseQuantity(b[1:])
		return err1 == nil && err2 == nil && x <= y
	case isLimit(a) || isLimit(b):
		return false
	case !strings.ContainsAny(b, "*?"):
		return valueMatch(b, a)
	case strings.HasSuffix(a, "*") && !strings.ContainsAny(a[:len(a)-1], "*?"):
		// a is PREFIX*: it covers any pattern that starts with PREFIX literally.
		return strings.HasPrefix(literalPrefix(b), a[:len(a)-1])
	}
	return false
}

// builtinAsRules returns the built-in profile rules as Rules, for shadowing.
func builtinAsRules() []Rule {
	var out []Rule
	for _, r := range builtinRules() {
		out = append(out, Rule{Type: "p", Fields: r, File: "(built-in " + r[0] + ")"})
	}
	return out
}

// Lint reports rules that can never match, roles nobody has, allow rules a
// broader deny makes pointless, deny rules a broader deny already covers,
// and duplicate lines. Findings are sorted by file and line.
func Lint(p *Policy) []Finding {
	if p == nil {
		return nil
	}
	var out []Finding
	add := func(sev Severity, r Rule, format string, args ...any) {
		out = append(out, Finding{Severity: sev, File: r.File, Line: r.Line, Rule: r.String(), Message: fmt.Sprintf(format, args...)})
	}
	graph := newSubjectGraph(p.Rules)

	// Duplicates.
	seen := map[string]Rule{}
	for _, r := range p.Rules {
		key := r.Type + "\x00" + strings.Join(r.Fields, "\x00")
		if prev, ok := seen[key]; ok {
			add(SeverityWarning, r, "duplicate of line %d", prev.Line)
			continue
		}
		seen[key] = r
	}

	// Rules that can never match.
	for _, r := range p.Rules {
		if r.Type != "p" {
			continue
		}
		if why := neverMatches(r.Fields[1], r.Fields[2]); why != "" {
			add(SeverityError, r, "this rule can never match: %s", why)
		}
	}

	// Roles nobody has: role:X with rules or grants but no member.
	members := map[string]bool{}
	used := map[string]Rule{}
	for _, r := range p.Rules {
		switch r.Type {
		case "g":
			if strings.HasPrefix(r.Fields[1], "role:") {
				members[r.Fields[1]] = true
			}
			if strings.HasPrefix(r.Fields[0], "role:") {
				if _, ok := used[r.Fields[0]]; !ok {
					used[r.Fields[0]] = r
				}
			}
		case "p":
			if strings.HasPrefix(r.Fields[0], "role:") {
				if _, ok := used[r.Fields[0]]; !ok {
					used[r.Fields[0]] = r
				}
			}
		}
	}
	var roles []string
	for role := range used {
		if !members[role] {
			roles = append(roles, role)
		}
	}
	sort.Strings(roles)
	for _, role := range roles {
		add(SeverityWarning, used[role], "nobody has %s: no `g, MEMBER, %s` line puts a user, group or role in it, so its rules apply to no request", role, role)
	}

	// Shadowing: a deny rule D covers rule R when every request R applies
	// to, D applies to as well (same subject or one R's subject inherits,
	// facet * or the same, a value pattern at least as broad).
	denies := append(builtinAsRules(), p.Rules...)
	for _, r := range p.Rules {
		if r.Type != "p" {
			continue
		}
		for _, d := range denies {
			if d.Type != "p" || d.Fields[3] != "deny" || (d.File == r.File && d.Line == r.Line) {
				continue
			}
			if d.Fields[1] != "*" && d.Fields[1] != r.Fields[1] {
				continue
			}
			if !covers(d.Fields[2], r.Fields[2]) || !graph.inherits(r.Fields[0], d.Fields[0]) {
				continue
			}
			if r.Fields[3] == "deny" && strings.Join(d.Fields, ",") == strings.Join(r.Fields, ",") {
				continue // duplicates are reported above
			}
			where := fmt.Sprintf("line %d", d.Line)
			if d.Line == 0 {
				where = d.File
			}
			if r.Fields[3] == "allow" {
				add(SeverityWarning, r, "this allow never takes effect: the deny rule `%s` (%s) covers every request it allows", d.String(), where)
			} else {
				add(SeverityWarning, r, "this deny is redundant: the broader deny rule `%s` (%s) already covers it", d.String(), where)
			}
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}
