package audit

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker-authz/docker-authz/authz/request"
)

// EntryJSON is the JSON form of an Entry (`audit query --json`): the
// request's fields, the denied facets, and the outcome from the response.
type EntryJSON struct {
	Time         time.Time       `json:"time"`
	Seq          uint64          `json:"seq"`
	ID           string          `json:"id"`
	Host         string          `json:"host,omitempty"`
	User         string          `json:"user"`
	Groups       []string        `json:"groups,omitempty"`
	CertSHA256   string          `json:"cert_sha256,omitempty"`
	Method       string          `json:"method"`
	URI          string          `json:"uri"`
	Route        string          `json:"route,omitempty"`
	Object       string          `json:"object,omitempty"`
	Facets       []request.Facet `json:"facets,omitempty"`
	Decision     string          `json:"decision"`
	Reason       string          `json:"reason,omitempty"`
	Rules        []string        `json:"rules,omitempty"`
	Denied       []request.Facet `json:"denied,omitempty"`
	Outcome      string          `json:"outcome"` // "denied", "no response", or the HTTP status
	Status       int             `json:"status,omitempty"`
	ResponseSeq  uint64          `json:"response_seq,omitempty"`
	ResponseTime *time.Time      `json:"response_time,omitempty"`
	File         string          `json:"file"`
	Line         int             `json:"line"`
}

// JSON returns the entry's JSON form.
func (e *Entry) JSON() EntryJSON {
	r := e.Request
	j := EntryJSON{
		Time: r.Time, Seq: r.Seq, ID: r.ID, Host: r.Host, User: r.User, Groups: r.Groups, CertSHA256: r.CertSHA256,
		Method: r.Method, URI: r.URI, Route: r.Route, Object: r.Object, Facets: r.Facets,
		Decision: r.Decision, Reason: r.Reason, Rules: r.Rules, Denied: e.Denied,
		Outcome: e.Outcome(), File: e.File, Line: e.Line,
	}
	if e.Response != nil {
		t := e.Response.Time
		j.Status, j.ResponseSeq, j.ResponseTime = e.Response.Status, e.Response.Seq, &t
	}
	return j
}

// WriteJSON writes one JSON object per entry (JSON Lines).
func WriteJSON(w io.Writer, entries []Entry) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range entries {
		if err := enc.Encode(entries[i].JSON()); err != nil {
			return err
		}
	}
	return nil
}

// csvHeader are the columns of WriteCSV.
var csvHeader = []string{"time", "seq", "id", "host", "user", "groups", "decision", "outcome", "method", "route", "object", "uri", "facets", "denied", "reason", "rules"}

// WriteCSV writes the entries as CSV with a header line.
func WriteCSV(w io.Writer, entries []Entry) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for i := range entries {
		e := &entries[i]
		r := e.Request
		if err := cw.Write([]string{
			r.Time.UTC().Format(time.RFC3339Nano), strconv.FormatUint(r.Seq, 10), r.ID, r.Host, r.User,
			strings.Join(r.Groups, " "), r.Decision, e.Outcome(), r.Method, r.Route, r.Object, r.URI,
			facetList(r.Facets), facetList(e.Denied), r.Reason, strings.Join(r.Rules, "; "),
		}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteTable writes the entries as an aligned table: time (UTC), user,
// decision, outcome, route, object and, for denials, the reason (cut to
// reasonWidth characters when reasonWidth > 0).
func WriteTable(w io.Writer, entries []Entry, reasonWidth int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tUSER\tDECISION\tSTATUS\tROUTE\tOBJECT\tREASON")
	for i := range entries {
		e := &entries[i]
		r := e.Request
		reason := ""
		if r.Decision != Allow {
			reason = r.Reason
			if reasonWidth > 0 && len([]rune(reason)) > reasonWidth {
				reason = string([]rune(reason)[:reasonWidth-1]) + "…"
			}
		}
		status := e.Outcome()
		if status == "denied" {
			status = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.UTC().Format("2006-01-02 15:04:05"), cell(r.User), r.Decision, status, cell(r.Route), cell(shortObject(r.Object)), clean(reason))
	}
	return tw.Flush()
}

func facetList(fs []request.Facet) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = f.String()
	}
	return strings.Join(s, " ")
}

// cell makes a table cell: "-" for empty, no tabs or newlines.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return clean(s)
}

// clean removes control characters, so a hostile value cannot forge table
// rows or terminal escapes.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

// shortObject shortens a 64-hex id to 12 characters, as docker does.
func shortObject(o string) string {
	if len(o) == 64 && hexID.MatchString(o) {
		return o[:12]
	}
	return o
}
