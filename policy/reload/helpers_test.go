package reload_test

import (
	"strings"

	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/request"
)

func subject(user string) identity.Subject { return identity.Subject{User: user} }

// facets parses "kind=value" pairs.
func facets(kv ...string) []request.Facet {
	var out []request.Facet
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		out = append(out, request.Facet{Kind: k, Value: v})
	}
	return out
}
