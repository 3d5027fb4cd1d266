package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/docker-authz/docker-authz/authz"
)

// Namespace prefixes every metric name.
const Namespace = "docker_authz"

// LatencyBuckets suit decisions and audit writes: a cached decision takes
// ~10µs, a group-committed fsync a few ms, a slow disk up to the audit
// timeout (5s), which the last buckets catch.
var LatencyBuckets = []float64{
	10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3,
	250e-3, 1, 5,
}

// Metrics holds the plugin's series. Create it with New.
type Metrics struct {
	reg *prometheus.Registry

	decisions     *prometheus.CounterVec
	deniedFacets  *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	auditLatency  prometheus.Histogram
	auditFailures prometheus.Counter
	inFlight      prometheus.Gauge
	reloads       *prometheus.CounterVec
	reloadOK      prometheus.Gauge
	reloadSuccess prometheus.Gauge
	revision      *prometheus.GaugeVec

	mu sync.Mutex // serialises policy_info updates
}

var _ authz.Observer = (*Metrics)(nil)

// New registers the plugin's series, and the Go runtime and process
// collectors, in a new registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "decisions_total",
			Help: "Answered plugin requests by stage (request: AuthZReq, response: AuthZRes) and result (allow, deny, error: denied because something failed).",
		}, []string{"stage", "result"}),
		deniedFacets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "denied_facets_total",
			Help: "Facets the policy denied, by facet kind (a denied request counts once per kind it was denied for).",
		}, []string{"facet"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "decision_duration_seconds",
			Help:    "Time from receiving a plugin request to answering it, audit write included.",
			Buckets: LatencyBuckets,
		}, []string{"stage"}),
		auditLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "audit_write_duration_seconds",
			Help:    "Time to make one audit record durable (write and shared fsync), failed writes included.",
			Buckets: LatencyBuckets,
		}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "audit_write_failures_total",
			Help: "Audit records that could not be written; each one denied its request.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "in_flight_requests",
			Help: "Plugin requests being decided right now.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "policy_reloads_total",
			Help: "Policy load attempts by result (success, failure: the previous policy stayed in force).",
		}, []string{"result"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "policy_last_reload_ok",
			Help: "1 when the last policy load attempt succeeded, 0 when it was rejected.",
		}),
		reloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "policy_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful policy load.",
		}),
		revision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "policy_info",
			Help: "The policy in force: 1 for its revision (hash of model and policy text).",
		}, []string{"revision", "source"}),
	}
	// Results known up front, so that rate() works from the first scrape.
	for _, st := range []string{"request", "response"} {
		for _, r := range []string{authz.ResultAllow, authz.ResultDeny, authz.ResultError} {
			m.decisions.WithLabelValues(st, r)
		}
	}
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	m.reg.MustRegister(m.decisions, m.deniedFacets, m.latency, m.auditLatency, m.auditFailures,
		m.inFlight, m.reloads, m.reloadOK, m.reloadSuccess, m.revision,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where the series live (for extra collectors and tests).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
}

// InFlight implements authz.Observer.
func (m *Metrics) InFlight(delta int) { m.inFlight.Add(float64(delta)) }

// Decided implements authz.Observer.
func (m *Metrics) Decided(e authz.DecisionEvent) {
	stage := e.Stage
	if stage != "response" {
		stage = "request"
	}
	result := e.Result
	switch result {
	case authz.ResultAllow, authz.ResultDeny, authz.ResultError:
	default:
		result = authz.ResultError
	}
	m.decisions.WithLabelValues(stage, result).Inc()
	m.latency.WithLabelValues(stage).Observe(e.Duration.Seconds())
	for _, k := range e.DeniedFacets {
		m.deniedFacets.WithLabelValues(k).Inc()
	}
}

// AuditWritten implements authz.Observer.
func (m *Metrics) AuditWritten(d time.Duration, err error) {
	m.auditLatency.Observe(d.Seconds())
	if err != nil {
		m.auditFailures.Inc()
	}
}

// Reloaded records a policy load attempt: ok with the revision now in force
// (and where it came from), or a failure (the revision in force is
// unchanged).
func (m *Metrics) Reloaded(at time.Time, ok bool, revision, source string) {
	if !ok {
		m.reloads.WithLabelValues("failure").Inc()
		m.reloadOK.Set(0)
		return
	}
	m.reloads.WithLabelValues("success").Inc()
	m.reloadOK.Set(1)
	m.reloadSuccess.Set(float64(at.UnixNano()) / 1e9)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.revision.Reset() // one series: the policy in force
	m.revision.WithLabelValues(revision, source).Set(1)
}
