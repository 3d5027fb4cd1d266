// Package authz is the Docker authorization plugin: it speaks dockerd's
// plugin protocol (/Plugin.Activate, /AuthZPlugin.AuthZReq,
// /AuthZPlugin.AuthZRes) over HTTP on a unix socket and runs every request
// through the pipeline
//
//	identity (verified client certificate) -> request.Normalize (route and
//	facets) -> policy (every facet allowed) -> audit record (durable)
//
// Contract:
//   - Every AuthZReq answer is HTTP 200 with {"Allow": bool, "Msg": text}.
//     Allow is true only when the caller was identified, the request was
//     understood, every facet was allowed and the audit record was durably
//     written. Anything else, including a panic anywhere in the pipeline, is
//     Allow:false with a message saying why and what to change.
//   - AuthZRes never enforces (the request already ran); it records the
//     outcome, linked to the request record. If that record cannot be
//     written the response is withheld from the client (Allow:false).
//   - Every handler is bounded in time and input size; dockerd is never
//     left waiting on a stuck plugin.
//   - The zero Server denies everything.
package authz
