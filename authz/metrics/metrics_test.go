package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/docker-authz/docker-authz/authz"
	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/metrics"
	"github.com/docker-authz/docker-authz/policy"
)

type trail struct {
	mu sync.Mutex
	n  int
}

func (t *trail) Write(context.Context, *audit.Record) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	return nil
}

// pluginCall sends one plugin message the way dockerd does.
func pluginCall(t *testing.T, h http.Handler, path string, msg map[string]any) {
	t.Helper()
	b, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(b)))
	if rr.Code != http.StatusOK {
		t.Fatalf("%s: status %d", path, rr.Code)
	}
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, res.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("the endpoint does not serve the Prometheus text format: %v", err)
	}
	return fams
}

// value finds the sample of a family with exactly these labels.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("metric %s not exported", name)
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("metric %s has no series %v", name, labels)
	return 0
}

func TestScrapeAfterRequests(t *testing.T) {
	pol, err := policy.New("model", policy.DefaultModel, "policy.csv", []byte("p, alice, *, *, allow\np, alice, privileged, *, deny\n"))
	if err != nil {
		t.Fatal(err)
	}
	ver, err := identity.NewVerifier(identity.Config{LocalUser: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	m.Reloaded(time.Unix(1700000000, 0), true, pol.Revision, "/etc/docker-authz")
	m.Reloaded(time.Unix(1700000100, 0), false, "", "")
	srv := authz.NewServer(authz.Config{Identity: ver, Policy: authz.NewPolicyHolder(pol), Audit: &trail{}, Observer: m})
	h := srv.Handler()

	endpoint := httptest.NewServer(m.Handler())
	defer endpoint.Close()

	ps := map[string]any{"RequestMethod": "GET", "RequestUri": "/v1.41/containers/json"}
	for i := 0; i < 3; i++ {
		pluginCall(t, h, "/AuthZPlugin.AuthZReq", ps)
	}
	pluginCall(t, h, "/AuthZPlugin.AuthZRes", map[string]any{"RequestMethod": "GET", "RequestUri": "/v1.41/containers/json", "ResponseStatusCode": 200})
	pluginCall(t, h, "/AuthZPlugin.AuthZReq", map[string]any{
		"RequestMethod": "POST", "RequestUri": "/v1.41/containers/create",
		"RequestHeaders": map[string]string{"Content-Type": "application/json"},
		"RequestBody":    []byte(`{"Image":"alpine","HostConfig":{"Privileged":true}}`),
	})
	// Not JSON at all: denied as an error.
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodPost, "/AuthZPlugin.AuthZReq", bytes.NewReader([]byte("{not json"))))

	fams := scrape(t, endpoint.URL+"/metrics")
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"docker_authz_decisions_total", map[string]string{"stage": "request", "result": "allow"}, 3},
		{"docker_authz_decisions_total", map[string]string{"stage": "request", "result": "deny"}, 1},
		{"docker_authz_decisions_total", map[string]string{"stage": "request", "result": "error"}, 1},
		{"docker_authz_decisions_total", map[string]string{"stage": "response", "result": "allow"}, 1},
		{"docker_authz_decisions_total", map[string]string{"stage": "response", "result": "error"}, 0},
		{"docker_authz_denied_facets_total", map[string]string{"facet": "privileged"}, 1},
		{"docker_authz_decision_duration_seconds", map[string]string{"stage": "request"}, 5},
		{"docker_authz_decision_duration_seconds", map[string]string{"stage": "response"}, 1},
		{"docker_authz_audit_write_duration_seconds", nil, 5},
		{"docker_authz_audit_write_failures_total", nil, 0},
		{"docker_authz_in_flight_requests", nil, 0},
		{"docker_authz_policy_reloads_total", map[string]string{"result": "success"}, 1},
		{"docker_authz_policy_reloads_total", map[string]string{"result": "failure"}, 1},
		{"docker_authz_policy_last_reload_ok", nil, 0},
		{"docker_authz_policy_last_reload_success_timestamp_seconds", nil, 1700000000},
		{"docker_authz_policy_info", map[string]string{"revision": pol.Revision, "source": "/etc/docker-authz"}, 1},
	} {
		if got := value(t, fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if _, ok := fams["process_resident_memory_bytes"]; !ok {
		t.Error("process collector missing")
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("Go collector missing")
	}
	// Buckets suited to 10µs–100ms.
	h0 := fams["docker_authz_decision_duration_seconds"].GetMetric()[0].GetHistogram()
	if b := h0.GetBucket(); b[0].GetUpperBound() != 10e-6 || len(b) < 13 {
		t.Errorf("latency buckets start at %v (%d buckets)", b[0].GetUpperBound(), len(b))
	}
}

func TestPolicyInfoFollowsRevision(t *testing.T) {
	m := metrics.New()
	endpoint := httptest.NewServer(m.Handler())
	defer endpoint.Close()
	m.Reloaded(time.Now(), true, "aaaa", "/p")
	m.Reloaded(time.Now(), true, "bbbb", "/p")
	m.Reloaded(time.Now(), false, "", "")
	fams := scrape(t, endpoint.URL+"/metrics")
	if n := len(fams["docker_authz_policy_info"].GetMetric()); n != 1 {
		t.Fatalf("policy_info has %d series, want only the policy in force", n)
	}
	if v := value(t, fams, "docker_authz_policy_info", map[string]string{"revision": "bbbb", "source": "/p"}); v != 1 {
		t.Fatalf("policy_info{revision=bbbb} = %v", v)
	}
}

func TestAuditFailureCounted(t *testing.T) {
	m := metrics.New()
	m.AuditWritten(2*time.Millisecond, nil)
	m.AuditWritten(5*time.Second, context.DeadlineExceeded)
	endpoint := httptest.NewServer(m.Handler())
	defer endpoint.Close()
	fams := scrape(t, endpoint.URL+"/metrics")
	if v := value(t, fams, "docker_authz_audit_write_failures_total", nil); v != 1 {
		t.Fatalf("audit failures = %v", v)
	}
	if v := value(t, fams, "docker_authz_audit_write_duration_seconds", nil); v != 2 {
		t.Fatalf("audit writes observed = %v", v)
	}
}
