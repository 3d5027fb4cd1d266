// Package bench holds what the docker-authz benchmarks share: the request
// mix (captured from the docker CLI), the AuthZReq/AuthZRes messages dockerd
// would send for it, a throw-away PKI (CA, dockerd server certificate, users
// alice O=developers and root-admin O=admins), and the allow-all reference
// plugin every measurement of docker-authz is compared with.
//
// Contract:
//   - Messages are byte-for-byte what dockerd 20.10 sends a plugin: the
//     fields of go-plugins-helpers' authorization.Request, every one present,
//     the peer certificate as base64 of its PEM, request headers as the
//     docker CLI 28.2.2 sent them.
//   - Every call of the mix is allowed for alice by
//     examples/shared-build-host; the benchmark treats any deny as a failure.
//   - The allow-all plugin does the least a plugin can: it reads each message
//     and answers {"Allow":true}. It is the floor, not a competitor.
//
// cmd/authzbench (`make bench`, `make bench-smoke`) drives both plugins and
// a real dockerd and writes the report (BENCHMARKS.md explains it); the Go
// benchmarks in this directory measure the decision path (identity,
// normalisation, policy: BenchmarkDecisionPath) and the whole handler with
// its audit record (BenchmarkServer).
package bench
