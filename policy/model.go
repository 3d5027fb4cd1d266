package policy

// DefaultModel is the Casbin model docker-authz is written for. A policy
// directory may carry its own model.conf; it must keep the request and policy
// definitions below (the engine passes exactly these three request values and
// reads rules with exactly these four fields), and its effect must remain
// deny-overrides-allow.
const DefaultModel = `# docker-authz Casbin model.
# r: who asks (a user or a group), which facet of the request, the facet's value.
# p: a rule for a subject; facet "*" matches every facet; value is a pattern:
#    "*" anything, a glob with * and ?, "<=N" a positive number up to N
#    (k/m/g/t suffixes are powers of 1024), or an empty string for "not set".
# Deny by default, deny overrides allow.
[request_definition]
r = sub, facet, value

[policy_definition]
p = sub, facet, value, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && facetMatch(r.facet, p.facet) && valueMatch(r.value, p.value)
`
