// Package request turns a raw Docker API request, as dockerd forwards it to an
// authorization plugin, into Facts: the route dockerd will execute, the API
// version and the security-relevant facets of the request body and query.
//
// Contract: Normalize either returns Facts that describe exactly what dockerd
// will do, or an error. An error means the request was not understood and must
// be denied; the error text says why, for the operator and the caller.
//
// How it decides (dockerd 20.10.24, API 1.41):
//
//   - The URI is parsed with url.ParseRequestURI like net/http, the decoded
//     path is cleaned like gorilla/mux (dockerd redirects unclean paths
//     instead of running them, so deciding on the clean path is the
//     conservative choice), the optional /v1.N prefix must have N in
//     [12, 41], and the route table (routes.go, checked against dockerd's
//     routers by TestRouteTableMatchesDockerd) is matched in dockerd's order.
//     Unknown routes are RouteUnknown, or an error when they carry a body.
//   - Bodies are decoded by StrictDecode into the types dockerd uses; any
//     key that is not exactly a field name, any duplicate key, trailing data
//     or invalid UTF-8 is an error. A route that needs a JSON body and has
//     none, a body that was sent (Content-Length/Transfer-Encoding) but not
//     forwarded where dockerd would read it, a non-JSON Content-Type with a
//     body, and application/x-www-form-urlencoded (whose body would override
//     the query) are errors.
//   - Facets: see Catalogue. The first facet is always the route.
package request
