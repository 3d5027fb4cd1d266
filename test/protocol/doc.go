// Package protocol replays a corpus of plugin-protocol messages against the
// real docker-authz binary serving examples/shared-build-host on a real
// unix socket, as an adversary (or dockerd) would send them.
//
// Contract of the corpus: every case names the request exactly as dockerd
// forwards it (method, URI, body, headers, peer certificates) and the
// decision for a developer (alice, O=developers) and an administrator
// (root-admin, O=admins). Bypass spellings must be denied to alice; the
// benign requests of a developer's day must be allowed to her (a false deny
// is a failure too); callers without a trusted certificate get nothing.
// After the replay the audit trail must hold one request record per
// decision and `docker-authz audit verify` must accept it.
//
// The tests need no dockerd: they run in `make unit`.
package protocol
