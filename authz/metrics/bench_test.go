package metrics_test

import (
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/authz"
	"github.com/docker-authz/docker-authz/authz/metrics"
)

// BenchmarkObserve is the metrics cost of one decision on the request path.
func BenchmarkObserve(b *testing.B) {
	m := metrics.New()
	ev := authz.DecisionEvent{Stage: "request", Result: authz.ResultDeny, DeniedFacets: []string{"privileged", "bind"}, Duration: 80 * time.Microsecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.InFlight(1)
			m.AuditWritten(2*time.Millisecond, nil)
			m.Decided(ev)
			m.InFlight(-1)
		}
	})
}
