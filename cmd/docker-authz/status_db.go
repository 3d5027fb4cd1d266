package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/docker-authz/docker-authz/policy"
)

// The database block of `docker-authz status`, for a policy kept in
// PostgreSQL (serve --policy postgres://...).
//
// Readiness: a database outage does NOT make the instance unready (/ready
// stays 200). The plugin keeps deciding every request with the last good
// policy, which is exactly what it should be doing; reporting it unready
// would only make orchestrators restart it, and a restart during the outage
// can only fall back to the same policy from the snapshot (or, without one,
// refuse to start). `docker-authz status` exits 1 instead, so monitoring
// sees that the host no longer follows policy changes.

// databaseReport is the state of a database policy source.
type databaseReport struct {
	Location             string    `json:"location"`                // database URL, password replaced by xxxxx
	Connected            bool      `json:"connected"`               // the change listener is connected
	ServingSnapshot      bool      `json:"serving_snapshot"`        // the policy in force came from the local snapshot, not the database
	Snapshot             string    `json:"snapshot,omitempty"`      // snapshot file path ("" with --policy-snapshot "")
	PolicyRevision       string    `json:"policy_revision"`         // revision (hash) of the policy in force
	StoreRevisionInForce int64     `json:"store_revision_in_force"` // the database's change counter of the policy in force
	StoreRevision        int64     `json:"store_revision"`          // the change counter last read from the database (0: not read since start)
	LastLoad             time.Time `json:"last_load,omitempty"`     // last successful load (serving the snapshot: when it was saved)
	LastAttempt          time.Time `json:"last_attempt,omitempty"`  // last load or connection attempt
	LastError            string    `json:"last_error,omitempty"`    // why the last attempt failed (never contains the password)
	Problems             []string  `json:"problems,omitempty"`      // why status exits 1 for the database ("" when it is followed normally)
}

// databaseReportOf turns the source's state into the report.
func databaseReportOf(st policy.SourceStatus) *databaseReport {
	d := &databaseReport{
		Location: st.Location, Connected: st.Connected, ServingSnapshot: st.FromSnapshot, Snapshot: st.Snapshot,
		PolicyRevision: st.Revision, StoreRevisionInForce: st.StoreRevision, StoreRevision: st.LatestStoreRevision,
		LastLoad: st.LastLoad, LastAttempt: st.LastAttempt, LastError: st.LastError,
	}
	d.Problems = d.problems()
	return d
}

// problems lists what keeps the instance from following the database: it
// is disconnected, or serves the snapshot. (A newer database revision that
// is not in force is either being loaded right now or invalid; an invalid
// one is the last error, which status already counts as a rejected reload.)
func (d *databaseReport) problems() []string {
	var out []string
	if !d.Connected {
		out = append(out, "policy database not connected")
	}
	if d.ServingSnapshot {
		out = append(out, "serving the local snapshot, not the database")
	}
	return out
}

// printDatabase writes the database lines of the status text.
func printDatabase(w io.Writer, d *databaseReport, ts func(time.Time) string) {
	conn := "connected to"
	if !d.Connected {
		conn = "DISCONNECTED from"
	}
	latest := "not read since start"
	if d.StoreRevision > 0 {
		note := "last read"
		if d.StoreRevision > d.StoreRevisionInForce && !d.ServingSnapshot {
			note += ", NOT IN FORCE" // being loaded right now, or invalid
			if d.LastError != "" {
				note += ": see the last error"
			}
		}
		latest = strconv.FormatInt(d.StoreRevision, 10) + " (" + note + ")"
	}
	fmt.Fprintf(w, "  database:   %s %s\n", conn, d.Location)
	from := "the database"
	if d.ServingSnapshot {
		from = "the LOCAL SNAPSHOT " + d.Snapshot + " (the database could not be used at start)"
	}
	fmt.Fprintf(w, "              policy from %s; store revision %s, in force %d\n", from, latest, d.StoreRevisionInForce)
	fmt.Fprintf(w, "              last successful load %s\n", ts(d.LastLoad))
	if d.LastError != "" {
		fmt.Fprintf(w, "              last error %s: %s\n", ts(d.LastAttempt), d.LastError)
	}
	if !d.Connected || d.ServingSnapshot {
		fmt.Fprintf(w, "              decisions use policy revision %s until the database is back\n", d.PolicyRevision)
	}
}
