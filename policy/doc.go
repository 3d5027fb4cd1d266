// Package policy decides whether a subject may perform a Docker API request,
// facet by facet, with Casbin.
//
// Contract:
//   - A request is a subject (user plus groups) and a list of facets
//     (kind=value pairs from package request). It is allowed only when every
//     facet is allowed: some rule allows it for the user or one of the groups
//     and no rule denies it for any of them. Deny overrides allow; no rule
//     means deny.
//   - Policies are Casbin CSV lines `p, SUBJECT, FACET, VALUE, allow|deny` and
//     `g, MEMBER, ROLE`. Built-in profiles (profile:unrestricted,
//     profile:baseline, profile:restricted) are rule sets a policy grants with
//     `g, group:developers, profile:baseline`.
//   - A policy is validated completely before use; an invalid one is an error
//     naming the file and line, and is never partly applied.
//   - The zero Decision is a deny. Authorize never panics on any input.
package policy
