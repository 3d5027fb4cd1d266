package audit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestComputeStats(t *testing.T) {
	path := queryFixture(t)
	tests := []struct {
		name                                     string
		f                                        Filter
		requests, allow, deny, responses, noResp int
		byUser                                   map[string]Count
		deniedFacets                             map[string]int
		hours                                    map[string]Count
	}{
		{"all", Filter{}, 8, 4, 4, 3, 1,
			map[string]Count{"alice": {2, 1}, "bob": {1, 1}, "root-admin": {1, 0}, "(none)": {0, 1}, "mallory": {0, 1}},
			map[string]int{"privileged": 1, "bind": 1, "cap": 1, "route": 1, "(caller not identified)": 1},
			map[string]Count{"2026-11-23 10:00": {2, 1}, "2026-11-23 11:00": {1, 1}, "2026-11-23 12:00": {1, 2}}},
		{"developers", Filter{Groups: []string{"developers"}}, 5, 3, 2, 3, 0,
			map[string]Count{"alice": {2, 1}, "bob": {1, 1}},
			map[string]int{"privileged": 1, "bind": 1, "cap": 1},
			map[string]Count{"2026-11-23 10:00": {2, 1}, "2026-11-23 11:00": {0, 1}, "2026-11-23 12:00": {1, 0}}},
		{"denials after 11:00", Filter{Decision: Deny, Since: at(60)}, 3, 0, 3, 0, 0,
			map[string]Count{"bob": {0, 1}, "(none)": {0, 1}, "mallory": {0, 1}},
			map[string]int{"bind": 1, "cap": 1, "route": 1, "(caller not identified)": 1},
			map[string]Count{"2026-11-23 11:00": {0, 1}, "2026-11-23 12:00": {0, 2}}},
		{"nothing", Filter{Users: []string{"eve"}}, 0, 0, 0, 0, 0, map[string]Count{}, map[string]int{}, map[string]Count{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ComputeStats([]string{path}, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if s.Records != 12 || s.Requests != tc.requests || s.Allow != tc.allow || s.Deny != tc.deny || s.Responses != tc.responses || s.NoResponse != tc.noResp {
				t.Fatalf("records %d requests %d allow %d deny %d responses %d no-response %d", s.Records, s.Requests, s.Allow, s.Deny, s.Responses, s.NoResponse)
			}
			users := map[string]Count{}
			for k, v := range s.ByUser {
				users[k] = *v
			}
			if !reflect.DeepEqual(users, tc.byUser) {
				t.Errorf("by user %v, want %v", users, tc.byUser)
			}
			if !reflect.DeepEqual(s.DeniedFacets, tc.deniedFacets) {
				t.Errorf("denied facets %v, want %v", s.DeniedFacets, tc.deniedFacets)
			}
			hours := map[string]Count{}
			for h, c := range s.Hourly {
				hours[time.Unix(h, 0).UTC().Format("2006-01-02 15:04")] = *c
			}
			if !reflect.DeepEqual(hours, tc.hours) {
				t.Errorf("hours %v, want %v", hours, tc.hours)
			}
		})
	}
}

func TestStatsOutputs(t *testing.T) {
	s, err := ComputeStats([]string{queryFixture(t)}, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Statuses[201] != 1 || s.Statuses[200] != 1 || s.Statuses[204] != 1 || len(s.Statuses) != 3 {
		t.Errorf("statuses %v", s.Statuses)
	}
	if s.DeniedValues["bind=/"] != 1 || s.DeniedValues["privileged=container"] != 1 {
		t.Errorf("denied values %v", s.DeniedValues)
	}
	if got := Rank(s.ByUser, 2, nil); len(got) != 2 || got[0].Name != "alice" || got[1].Name != "bob" {
		t.Errorf("rank by total: %v", got)
	}
	if got := Rank(s.ByUser, 0, func(c Count) int { return c.Deny }); len(got) != 4 || got[0].Name != "(none)" {
		t.Errorf("rank by denials (ties by name, zero left out): %v", got)
	}
	var b bytes.Buffer
	if err := WriteStats(&b, s, 0); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Trail: 1 file(s), 12 records: 8 requests, 3 responses, 0 checkpoints",
		"Decisions: 4 allowed, 4 denied (50.0%); 1 allowed request(s) without a recorded response",
		"DENIED FACET", "(caller not identified)", "bind=/", "2026-11-23 11:00",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stats text lacks %q:\n%s", want, out)
		}
	}
	if !regexpMatch(`(?m)^alice\s+2\s+1\s+3\s*$`, out) {
		t.Errorf("no aligned alice row:\n%s", out)
	}
	j, err := json.Marshal(s.JSON())
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	if back["allow"].(float64) != 4 || len(back["hours"].([]any)) != 3 || back["by_user"].(map[string]any)["alice"].(map[string]any)["deny"].(float64) != 1 {
		t.Errorf("stats JSON: %s", j)
	}
}

func TestSeries(t *testing.T) {
	mk := func(times ...time.Time) *TrailStats {
		s := newTrailStats()
		for _, tm := range times {
			s.addRequest(&Entry{Request: &Record{Time: tm, Decision: Allow, User: "u"}})
		}
		return s
	}
	tests := []struct {
		name  string
		s     *TrailStats
		size  time.Duration
		n     int
		total int
	}{
		{"hours with a gap", mk(at(0), at(1), at(185)), time.Hour, 4, 3},
		{"days", mk(at(0), at(5*24*60)), 24 * time.Hour, 6, 2},
		{"weeks", mk(at(0), at(200*24*60)), 7 * 24 * time.Hour, 29, 2},
		{"empty", newTrailStats(), time.Hour, 0, 0},
	}
	for _, tc := range tests {
		b, size := tc.s.Series(0)
		total := 0
		for _, x := range b {
			total += x.Total()
		}
		if size != tc.size || len(b) != tc.n || total != tc.total {
			t.Errorf("%s: %d buckets of %v holding %d, want %d of %v holding %d", tc.name, len(b), size, total, tc.n, tc.size, tc.total)
		}
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
