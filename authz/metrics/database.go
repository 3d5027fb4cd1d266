package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/docker-authz/docker-authz/policy"
)

// WatchPolicyDatabase exports the state of a database policy source (serve
// --policy postgres://...), read from status at every scrape:
//
//	docker_authz_policy_database_connected         1 while the change listener is connected
//	docker_authz_policy_database_serving_snapshot  1 while the policy in force came from the local snapshot
//	docker_authz_policy_database_store_revision{state="in_force"|"latest"}
//	    the database's change counter of the policy in force, and the one
//	    last read from the database (latest > in_force for long: a newer
//	    policy there is invalid)
//
// Call it at most once per Metrics.
func (m *Metrics) WatchPolicyDatabase(status func() policy.SourceStatus) {
	m.reg.MustRegister(&databaseCollector{status: status})
}

var (
	dbConnectedDesc = prometheus.NewDesc(Namespace+"_policy_database_connected",
		"1 while the policy database's change listener is connected, 0 during an outage (the last good policy stays in force).", nil, nil)
	dbSnapshotDesc = prometheus.NewDesc(Namespace+"_policy_database_serving_snapshot",
		"1 while the policy in force came from the local snapshot because the database could not be used at start.", nil, nil)
	dbRevisionDesc = prometheus.NewDesc(Namespace+"_policy_database_store_revision",
		"The policy database's change counter: of the policy in force (state=\"in_force\"), and as last read from the database (state=\"latest\", 0 before the first read).", []string{"state"}, nil)
)

type databaseCollector struct {
	status func() policy.SourceStatus
}

func (c *databaseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dbConnectedDesc
	ch <- dbSnapshotDesc
	ch <- dbRevisionDesc
}

func (c *databaseCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.status()
	ch <- prometheus.MustNewConstMetric(dbConnectedDesc, prometheus.GaugeValue, bool01(st.Connected))
	ch <- prometheus.MustNewConstMetric(dbSnapshotDesc, prometheus.GaugeValue, bool01(st.FromSnapshot))
	ch <- prometheus.MustNewConstMetric(dbRevisionDesc, prometheus.GaugeValue, float64(st.StoreRevision), "in_force")
	ch <- prometheus.MustNewConstMetric(dbRevisionDesc, prometheus.GaugeValue, float64(st.LatestStoreRevision), "latest")
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
