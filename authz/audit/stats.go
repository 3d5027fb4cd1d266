package audit

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Count is a number of allowed and denied requests.
type Count struct {
	Allow int `json:"allow"`
	Deny  int `json:"deny"`
}

// Total is Allow + Deny.
func (c Count) Total() int { return c.Allow + c.Deny }

func (c *Count) add(decision string) {
	if decision == Allow {
		c.Allow++
	} else {
		c.Deny++
	}
}

// Ranked is a named count, for sorted listings.
type Ranked struct {
	Name string `json:"name"`
	Count
}

// Bucket is the count of one time interval starting at Start.
type Bucket struct {
	Start time.Time `json:"start"`
	Count
}

// TrailStats counts the requests of a trail (those passing the filter it
// was computed with): by user, route, host, denied facet and hour.
type TrailStats struct {
	Files       int `json:"files"`
	Records     int `json:"records"`     // every record read, any stage
	Requests    int `json:"requests"`    // request records passing the filter
	Responses   int `json:"responses"`   // response records of those requests
	Checkpoints int `json:"checkpoints"` // checkpoint records read
	Count
	NoResponse int       `json:"no_response"` // allowed requests without a response record
	First      time.Time `json:"first"`       // time of the first and last counted request
	Last       time.Time `json:"last"`

	ByUser  map[string]*Count `json:"by_user"`
	ByRoute map[string]*Count `json:"by_route"`
	ByHost  map[string]*Count `json:"by_host"`
	// DeniedFacets counts denials by denied facet kind (or, for a deny
	// without a facet, its cause in parentheses, e.g. "(caller not
	// identified)"); a request denied on two kinds counts for both.
	DeniedFacets map[string]int `json:"denied_facets"`
	// DeniedValues counts denials by denied KIND=VALUE.
	DeniedValues map[string]int `json:"denied_values"`
	Statuses     map[int]int    `json:"statuses"` // response status codes
	// Hourly holds the counts of each UTC hour with requests, keyed by the
	// hour's Unix time.
	Hourly map[int64]*Count `json:"-"`

	Problems []LineProblem `json:"problems,omitempty"`
}

func newTrailStats() *TrailStats {
	return &TrailStats{
		ByUser: map[string]*Count{}, ByRoute: map[string]*Count{}, ByHost: map[string]*Count{},
		DeniedFacets: map[string]int{}, DeniedValues: map[string]int{}, Statuses: map[int]int{},
		Hourly: map[int64]*Count{},
	}
}

func bump(m map[string]*Count, k, decision string) {
	c := m[k]
	if c == nil {
		c = &Count{}
		m[k] = c
	}
	c.add(decision)
}

// addRequest counts one request (its denied facets resolved in e).
func (s *TrailStats) addRequest(e *Entry) {
	r := e.Request
	s.Requests++
	s.Count.add(r.Decision)
	if s.First.IsZero() || r.Time.Before(s.First) {
		s.First = r.Time
	}
	if r.Time.After(s.Last) {
		s.Last = r.Time
	}
	user := r.User
	if user == "" {
		user = "(none)"
	}
	bump(s.ByUser, user, r.Decision)
	route := r.Route
	if route == "" {
		route = "(none)"
	}
	bump(s.ByRoute, route, r.Decision)
	if r.Host != "" {
		bump(s.ByHost, r.Host, r.Decision)
	}
	h := r.Time.UTC().Truncate(time.Hour).Unix()
	c := s.Hourly[h]
	if c == nil {
		c = &Count{}
		s.Hourly[h] = c
	}
	c.add(r.Decision)
	if r.Decision != Allow {
		for _, k := range e.DenyCause() {
			s.DeniedFacets[k]++
		}
		for _, f := range e.Denied {
			s.DeniedValues[f.String()]++
		}
	}
}

// ComputeStats reads the trail files (oldest first) and counts the requests
// that pass f, in one pass (memory grows with users, routes, hours and
// allowed requests still waiting for their response, not with the trail).
func ComputeStats(paths []string, f Filter) (*TrailStats, error) {
	s := newTrailStats()
	s.Files = len(paths)
	waiting := map[string]bool{} // allowed request ids without a response yet
	probs, err := scanTrail(paths, func(r *Record, _ string, _ int) error {
		s.Records++
		switch r.Stage {
		case StageRequest:
			if !f.Match(r) {
				return nil
			}
			e := Entry{Request: r}
			if r.Decision != Allow {
				e.Denied = deniedFacets(r)
			} else {
				waiting[r.ID] = true
			}
			s.addRequest(&e)
		case StageResponse:
			if waiting[r.RequestID] {
				delete(waiting, r.RequestID)
				s.Responses++
				s.Statuses[r.Status]++
			}
		case StageCheckpoint:
			s.Checkpoints++
		}
		return nil
	})
	s.NoResponse = len(waiting)
	s.Problems = probs
	return s, err
}

// Rank sorts a count map, largest total first (then by name), keeping at
// most n entries (n <= 0: all).
func Rank(m map[string]*Count, n int, by func(Count) int) []Ranked {
	if by == nil {
		by = Count.Total
	}
	out := make([]Ranked, 0, len(m))
	for k, c := range m {
		if by(*c) > 0 {
			out = append(out, Ranked{k, *c})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := by(out[i].Count), by(out[j].Count); a != b {
			return a > b
		}
		return out[i].Name < out[j].Name
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// RankInts sorts a plain count map, largest first, keeping at most n.
func RankInts(m map[string]int, n int) []Ranked {
	cm := make(map[string]*Count, len(m))
	for k, v := range m {
		cm[k] = &Count{Deny: v}
	}
	return Rank(cm, n, nil)
}

// Series returns consecutive buckets of size d (a multiple of an hour)
// from the first to the last counted request, empty buckets included.
// d <= 0 chooses: hours for up to 72 hours, days up to 120 days, weeks
// beyond.
func (s *TrailStats) Series(d time.Duration) ([]Bucket, time.Duration) {
	if s.Requests == 0 {
		return nil, time.Hour
	}
	first, last := s.First.UTC().Truncate(time.Hour), s.Last.UTC().Truncate(time.Hour)
	if d <= 0 {
		span := last.Sub(first)
		switch {
		case span <= 72*time.Hour:
			d = time.Hour
		case span <= 120*24*time.Hour:
			d = 24 * time.Hour
		default:
			d = 7 * 24 * time.Hour
		}
	}
	start := first
	if d >= 24*time.Hour {
		start = time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, time.UTC)
	}
	var out []Bucket
	for t := start; !t.After(last); t = t.Add(d) {
		out = append(out, Bucket{Start: t})
	}
	for h, c := range s.Hourly {
		i := int(time.Unix(h, 0).UTC().Sub(start) / d)
		if i >= 0 && i < len(out) {
			out[i].Allow += c.Allow
			out[i].Deny += c.Deny
		}
	}
	return out, d
}

// WriteStats writes the counts as text tables; top limits the user, route
// and value tables (0: all).
func WriteStats(w io.Writer, s *TrailStats, top int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "Trail: %d file(s), %d records: %d requests, %d responses, %d checkpoints\n", s.Files, s.Records, s.Requests, s.Responses, s.Checkpoints)
	if s.Requests == 0 {
		fmt.Fprintln(w, "No requests match.")
		return nil
	}
	fmt.Fprintf(w, "Period: %s .. %s UTC\n", s.First.UTC().Format("2006-01-02 15:04:05"), s.Last.UTC().Format("2006-01-02 15:04:05"))
	fmt.Fprintf(w, "Decisions: %d allowed, %d denied (%.1f%%); %d allowed request(s) without a recorded response\n\n", s.Allow, s.Deny, 100*float64(s.Deny)/float64(s.Requests), s.NoResponse)

	table := func(title string, rows []Ranked) {
		fmt.Fprintf(tw, "%s\tALLOW\tDENY\tTOTAL\n", title)
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", clean(r.Name), r.Allow, r.Deny, r.Total())
		}
		fmt.Fprintln(tw)
	}
	table("USER", Rank(s.ByUser, top, nil))
	if len(s.ByHost) > 1 {
		table("HOST", Rank(s.ByHost, top, nil))
	}
	table("ROUTE", Rank(s.ByRoute, top, nil))
	if len(s.DeniedFacets) > 0 {
		fmt.Fprintln(tw, "DENIED FACET\tDENIALS")
		for _, r := range RankInts(s.DeniedFacets, 0) {
			fmt.Fprintf(tw, "%s\t%d\n", clean(r.Name), r.Deny)
		}
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "DENIED FACET=VALUE\tDENIALS")
		for _, r := range RankInts(s.DeniedValues, top) {
			fmt.Fprintf(tw, "%s\t%d\n", clean(r.Name), r.Deny)
		}
		fmt.Fprintln(tw)
	}
	if len(s.Statuses) > 0 {
		fmt.Fprintln(tw, "RESPONSE STATUS\tCOUNT")
		var codes []int
		for c := range s.Statuses {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		for _, c := range codes {
			fmt.Fprintf(tw, "%d\t%d\n", c, s.Statuses[c])
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, "HOUR (UTC)\tALLOW\tDENY\tTOTAL")
	hours := make([]int64, 0, len(s.Hourly))
	for h := range s.Hourly {
		hours = append(hours, h)
	}
	sort.Slice(hours, func(i, j int) bool { return hours[i] < hours[j] })
	for _, h := range hours {
		c := s.Hourly[h]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", time.Unix(h, 0).UTC().Format("2006-01-02 15:00"), c.Allow, c.Deny, c.Total())
	}
	return tw.Flush()
}

// hourlyJSON is Hourly in a JSON-friendly order.
func (s *TrailStats) hourlyJSON() []Bucket {
	out := make([]Bucket, 0, len(s.Hourly))
	for h, c := range s.Hourly {
		out = append(out, Bucket{Start: time.Unix(h, 0).UTC(), Count: *c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// StatsJSON is the JSON form of TrailStats (`audit stats --json`).
type StatsJSON struct {
	*TrailStats
	Hours []Bucket `json:"hours"`
}

// JSON returns the JSON form.
func (s *TrailStats) JSON() StatsJSON { return StatsJSON{s, s.hourlyJSON()} }

// String summarises the counts in one line.
func (s *TrailStats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests (%d allowed, %d denied) by %d user(s)", s.Requests, s.Allow, s.Deny, len(s.ByUser))
	return b.String()
}
