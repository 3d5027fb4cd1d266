// Package metrics exports what the plugin does as Prometheus metrics.
//
// Contract:
//   - Metrics implements authz.Observer (decisions, latency, audit writes,
//     in-flight requests) and the reload observer (reload results, policy
//     revision); it is safe for concurrent use and cheap on the request path.
//   - Every series lives in the Metrics' own registry, never the global one,
//     so two instances (tests) never collide. Handler serves that registry.
//   - Label values are bounded: results, stages and facet kinds from the
//     request catalogue; never user names, paths or other request data.
//   - WatchPolicyDatabase adds the gauges of a PostgreSQL policy source
//     (connected, serving the snapshot, store revisions), read from the
//     source's status at every scrape; a directory policy has none.
//   - The listener (serve --metrics-addr) is the command's business; it is
//     off unless an address is given.
package metrics
