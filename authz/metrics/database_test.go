package metrics_test

import (
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/docker-authz/docker-authz/authz/metrics"
	"github.com/docker-authz/docker-authz/policy"
)

// TestPolicyDatabaseGauges: the database gauges follow the source's status
// at every scrape (fake status: connected, then an outage, then the
// snapshot at start).
func TestPolicyDatabaseGauges(t *testing.T) {
	m := metrics.New()
	var mu sync.Mutex
	st := policy.SourceStatus{Backend: "postgres", Connected: true, StoreRevision: 41, LatestStoreRevision: 42}
	m.WatchPolicyDatabase(func() policy.SourceStatus { mu.Lock(); defer mu.Unlock(); return st })
	endpoint := httptest.NewServer(m.Handler())
	defer endpoint.Close()
	for _, step := range []struct {
		name                          string
		edit                          func(*policy.SourceStatus)
		connected, snapshot, in, last float64
	}{
		{"connected, a newer invalid revision", func(*policy.SourceStatus) {}, 1, 0, 41, 42},
		{"outage", func(s *policy.SourceStatus) { s.Connected = false }, 0, 0, 41, 42},
		{"snapshot at start", func(s *policy.SourceStatus) { s.FromSnapshot, s.StoreRevision, s.LatestStoreRevision = true, 7, 0 }, 0, 1, 7, 0},
	} {
		mu.Lock()
		step.edit(&st)
		mu.Unlock()
		fams := scrape(t, endpoint.URL+"/metrics")
		for _, c := range []struct {
			name   string
			labels map[string]string
			want   float64
		}{
			{"docker_authz_policy_database_connected", nil, step.connected},
			{"docker_authz_policy_database_serving_snapshot", nil, step.snapshot},
			{"docker_authz_policy_database_store_revision", map[string]string{"state": "in_force"}, step.in},
			{"docker_authz_policy_database_store_revision", map[string]string{"state": "latest"}, step.last},
		} {
			if got := value(t, fams, c.name, c.labels); got != c.want {
				t.Errorf("%s: %s%v = %v, want %v", step.name, c.name, c.labels, got, c.want)
			}
		}
	}
}

// TestNoDatabaseGaugesWithoutDatabase: a directory policy exports none.
func TestNoDatabaseGaugesWithoutDatabase(t *testing.T) {
	m := metrics.New()
	endpoint := httptest.NewServer(m.Handler())
	defer endpoint.Close()
	if _, ok := scrape(t, endpoint.URL+"/metrics")["docker_authz_policy_database_connected"]; ok {
		t.Fatal("database gauges without a database policy")
	}
}
