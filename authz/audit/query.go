package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker-authz/docker-authz/authz/request"
)

// This file answers the auditor's question "who ran what, when, and what
// was refused": it reads trail files, pairs each request record with its
// response record, and filters. It reads, never verifies: `audit verify`
// (VerifyFiles) proves the files first; a line that is not a record is
// reported as a LineProblem and skipped, never guessed at.

// Entry is one API request as the auditor sees it: its request record and,
// for an allowed request that ran, the response record that refers to it.
type Entry struct {
	Request  *Record
	Response *Record // nil: denied, or allowed but no outcome recorded (dockerd or plugin stopped, stream still open, or its file not given)
	// Denied lists the facets the policy refused, on a deny: the record's
	// "denied" member when present, otherwise read from its reason.
	Denied []request.Facet
	File   string // file and 1-based line of the request record
	Line   int
}

// Outcome says in a word or two what happened to the request.
func (e *Entry) Outcome() string {
	switch {
	case e.Request.Decision != Allow:
		return "denied"
	case e.Response == nil:
		return "no response"
	default:
		return strconv.Itoa(e.Response.Status)
	}
}

// LineProblem is a line of a trail file that is not a readable record.
type LineProblem struct {
	File   string
	Line   int
	Detail string
}

func (p LineProblem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Detail) }

// scanTrail calls fn for each record of the files, in order. Lines that are
// not records are collected as problems; fn's error stops the scan.
func scanTrail(paths []string, fn func(r *Record, file string, line int) error) ([]LineProblem, error) {
	var problems []LineProblem
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return problems, fmt.Errorf("audit: %w", err)
		}
		br := bufio.NewReaderSize(f, 64<<10)
		lineNo := 0
		for {
			line, err := readLine(br)
			if len(line) > 0 {
				lineNo++
				var r Record
				if jerr := json.Unmarshal(line, &r); jerr != nil {
					problems = append(problems, LineProblem{p, lineNo, "not a record: " + jerr.Error()})
				} else if r.Stage == "" || r.Seq == 0 {
					problems = append(problems, LineProblem{p, lineNo, "not a record: no stage or seq"})
				} else if ferr := fn(&r, p, lineNo); ferr != nil {
					f.Close()
					return problems, ferr
				}
			}
			if err != nil {
				f.Close()
				if errors.Is(err, io.EOF) {
					break
				}
				return problems, fmt.Errorf("audit: reading %s: %w", p, err)
			}
		}
	}
	return problems, nil
}

// readLine returns the next line without its newline; a line longer than
// MaxLineSize is returned cut, and fails to parse.
func readLine(br *bufio.Reader) ([]byte, error) {
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long) <= MaxLineSize {
				long = append(long, chunk...)
			}
			continue
		}
		if long != nil {
			chunk = append(long, chunk...)
		}
		return []byte(strings.TrimRight(string(chunk), "\r\n")), err
	}
}

// FacetMatch selects records with a facet of Kind and, when Value is not
// empty, a value matching it (a glob: * matches anything, / included).
type FacetMatch struct {
	Kind, Value string
}

// ParseFacetMatch reads KIND or KIND=VALUE.
func ParseFacetMatch(s string) (FacetMatch, error) {
	k, v, _ := strings.Cut(s, "=")
	if k == "" {
		return FacetMatch{}, fmt.Errorf("facet filter %q: want KIND or KIND=VALUE (e.g. privileged, bind=/var/run/*)", s)
	}
	return FacetMatch{Kind: k, Value: v}, nil
}

func (m FacetMatch) match(fs []request.Facet) bool {
	for _, f := range fs {
		if f.Kind == m.Kind && (m.Value == "" || wildcardMatch(m.Value, f.Value)) {
			return true
		}
	}
	return false
}

// Filter selects request records; a zero Filter selects all. Every set
// field must match (and); within Users, Groups and Routes any value may
// match (or).
type Filter struct {
	Users    []string
	Groups   []string // with or without the "group:" prefix
	Decision string   // Allow, Deny or "" for both
	Since    time.Time
	Until    time.Time // exclusive
	Routes   []string  // route names or globs: container:create, container:*
	Facets   []FacetMatch
	Denied   []FacetMatch // only denials that refused such a facet (the record's "denied", or its reason for older records)
	Object   string       // container (or other object) id or name: exact, or a prefix of an id of at least 3 characters
	Host     string
}

// Match reports whether the request record r passes the filter.
func (f *Filter) Match(r *Record) bool {
	if len(f.Users) > 0 && !inList(f.Users, r.User) {
		return false
	}
	if len(f.Groups) > 0 {
		ok := false
		for _, g := range f.Groups {
			g = strings.TrimPrefix(g, "group:")
			for _, rg := range r.Groups {
				if strings.TrimPrefix(rg, "group:") == g {
					ok = true
				}
			}
		}
		if !ok {
			return false
		}
	}
	if f.Decision != "" && r.Decision != f.Decision {
		return false
	}
	if !f.Since.IsZero() && r.Time.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !r.Time.Before(f.Until) {
		return false
	}
	if len(f.Routes) > 0 {
		ok := false
		for _, p := range f.Routes {
			if wildcardMatch(p, r.Route) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, m := range f.Facets {
		if !m.match(r.Facets) {
			return false
		}
	}
	for _, m := range f.Denied {
		if r.Decision == Allow || !m.match(deniedFacets(r)) {
			return false
		}
	}
	if f.Object != "" && !objectMatch(f.Object, r.Object, r.URI) {
		return false
	}
	if f.Host != "" && r.Host != f.Host {
		return false
	}
	return true
}

func inList(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var hexID = regexp.MustCompile(`^[0-9a-f]{3,64}$`)

// objectMatch matches the record's object, or failing that the object in
// its URI (/containers/ID/...), by name or id prefix.
func objectMatch(want, object, uri string) bool {
	cands := []string{object}
	if parts := strings.Split(strings.SplitN(uri, "?", 2)[0], "/"); len(parts) > 3 {
		// /v1.41/containers/ID/... or /containers/ID/...
		for i := 0; i+1 < len(parts); i++ {
			switch parts[i] {
			case "containers", "exec", "images", "volumes", "networks":
				cands = append(cands, parts[i+1])
			}
		}
	}
	want = strings.TrimPrefix(want, "/")
	for _, c := range cands {
		c = strings.TrimPrefix(c, "/")
		if c == "" {
			continue
		}
		if c == want || (hexID.MatchString(want) && strings.HasPrefix(c, want)) {
			return true
		}
	}
	return false
}

// globMatch matches s against pattern, where * matches any run of
// characters (including / and :) and everything else is literal.
func wildcardMatch(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, p) && len(s) >= len(p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return true
}

// ParseTime reads a --since/--until value: RFC 3339 (2026-11-23T10:00:00Z),
// a date (2026-11-23, UTC midnight), a date and time in UTC
// (2026-11-23 10:00 or 2026-11-23T10:00), or a duration before now (24h,
// 90m, 7d).
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("time %q: use RFC 3339 (2026-11-23T10:00:00Z), a date (2026-11-23), a UTC date and time (2026-11-23 10:00) or an age (24h, 7d)", s)
}

// QueryResult is what Query found.
type QueryResult struct {
	Entries  []Entry       // matching requests, in trail order
	Records  int           // records read
	Problems []LineProblem // lines skipped because they are not records
}

// Query reads the trail files (oldest first) and returns the requests that
// match f, each with its response. Responses are paired by request_id; a
// response whose request is not in the files is not shown.
func Query(paths []string, f Filter) (*QueryResult, error) {
	return query(paths, f, nil)
}

// query is Query keeping only the request records keep accepts (nil: all).
func query(paths []string, f Filter, keep func(*Record) bool) (*QueryResult, error) {
	res := &QueryResult{}
	byID := map[string]int{}
	probs, err := scanTrail(paths, func(r *Record, file string, line int) error {
		res.Records++
		switch r.Stage {
		case StageRequest:
			if !f.Match(r) || (keep != nil && !keep(r)) {
				return nil
			}
			rec := *r
			e := Entry{Request: &rec, File: file, Line: line}
			if rec.Decision != Allow {
				e.Denied = deniedFacets(r)
			}
			byID[rec.ID] = len(res.Entries)
			res.Entries = append(res.Entries, e)
		case StageResponse:
			if i, ok := byID[r.RequestID]; ok && res.Entries[i].Response == nil {
				rec := *r
				res.Entries[i].Response = &rec
			}
		}
		return nil
	})
	res.Problems = probs
	return res, err
}

var (
	ruleRe    = regexp.MustCompile(`\[rule: p, [^,]*, ([^,\]]+), ([^\]]*?), deny\]`)
	defaultRe = regexp.MustCompile(`\[no rule allows ([^=\]]+)=([^\]]*?); denied by default\]`)
)

// deniedFacets returns the facets a deny refused: the record's "denied"
// member (written since it exists), or else, for older records, what its
// reason names. A deny with no facet (caller not identified, malformed
// request, no policy) returns nil.
func deniedFacets(r *Record) []request.Facet {
	if len(r.Denied) > 0 {
		return r.Denied
	}
	var out []request.Facet
	reason := r.Reason
	first := ""
	if m := ruleRe.FindStringSubmatch(reason); m != nil {
		// The rule names a pattern; the facets it refused are those of
		// its kind that the pattern matches (all of its kind if the
		// pattern is not a glob, e.g. a limit).
		var kind, all []request.Facet
		for _, f := range r.Facets {
			if f.Kind == m[1] {
				all = append(all, f)
				if wildcardMatch(m[2], f.Value) {
					kind = append(kind, f)
				}
			}
		}
		if len(kind) == 0 {
			kind = all
		}
		if len(kind) == 0 {
			kind = []request.Facet{{Kind: m[1], Value: m[2]}}
		}
		out = append(out, kind...)
		first = m[0]
	} else if m := defaultRe.FindStringSubmatch(reason); m != nil {
		out = append(out, request.Facet{Kind: m[1], Value: m[2]})
		first = m[0]
	}
	if first == "" {
		return nil
	}
	if _, more, ok := strings.Cut(reason, "; also denied: "); ok {
		for _, kv := range strings.Split(more, ", ") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				continue
			}
			f := request.Facet{Kind: k, Value: v}
			if !slices.ContainsFunc(out, func(x request.Facet) bool { return x.Kind == k && x.Value == v }) {
				out = append(out, f)
			}
		}
	}
	return out
}

// DenyCause names why a request was denied, for counting: the denied facet
// kinds, or the kind of refusal when no facet was involved.
func (e *Entry) DenyCause() []string {
	if e.Request.Decision == Allow {
		return nil
	}
	if len(e.Denied) > 0 {
		var kinds []string
		for _, f := range e.Denied {
			if !inList(kinds, f.Kind) {
				kinds = append(kinds, f.Kind)
			}
		}
		return kinds
	}
	r := e.Request.Reason
	switch {
	case strings.HasPrefix(r, "could not identify"):
		return []string{"(caller not identified)"}
	case strings.Contains(r, ": request refused: "):
		return []string{"(request not understood)"}
	case strings.HasPrefix(r, "overrides the allow record"):
		return []string{"(audit not confirmed)"}
	case strings.Contains(r, "no policy"):
		return []string{"(no policy)"}
	}
	return []string{"(other)"}
}
