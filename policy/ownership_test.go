package policy

import (
	"testing"

	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/request"
)

func TestGreaterThanPattern(t *testing.T) {
	for _, tc := range []struct {
		value, pattern string
		want           bool
	}{
		{"4", ">3", true}, {"3", ">3", false}, {"0", ">3", false}, {"x", ">3", false},
		{"3221225472", ">2g", true}, {"2147483648", ">2g", false}, {"-5", ">3", false},
		{">=3", ">=3", true}, // not a comparison: a literal glob (and refused at load)
	} {
		if got := valueMatch(tc.value, tc.pattern); got != tc.want {
			t.Errorf("valueMatch(%q, %q) = %v, want %v", tc.value, tc.pattern, got, tc.want)
		}
	}
	for _, bad := range []string{">", ">x", ">0", ">=3", ">-1"} {
		if checkPattern(bad) == nil {
			t.Errorf("pattern %q must be refused at load time", bad)
		}
	}
}

func TestOwnershipFacetsInProfilesAndCaps(t *testing.T) {
	p, err := New("m", DefaultModel, "p.csv", []byte(`
g, group:admins, profile:unrestricted
g, group:developers, profile:baseline
g, group:ci, profile:restricted
p, group:developers, running-containers, >3, deny
p, group:developers, list-filter, unfiltered, deny
`))
	if err != nil {
		t.Fatal(err)
	}
	dev := identity.Subject{User: "alice", Groups: []string{"group:developers"}}
	ci := identity.Subject{User: "bot", Groups: []string{"group:ci"}}
	admin := identity.Subject{User: "root", Groups: []string{"group:admins"}}
	route := request.Facet{Kind: "route", Value: "container:stop"}
	for _, tc := range []struct {
		sub   identity.Subject
		kind  string
		value string
		allow bool
	}{
		{dev, "ownership", "own", true},
		{dev, "ownership", "other", false},
		{dev, "ownership", "none", false},
		{ci, "ownership", "own", true},
		{ci, "ownership", "other", false},
		{admin, "ownership", "other", true},
		{admin, "ownership", "none", true},
		{dev, "owner-label", "self", true},
		{dev, "owner-label", "missing", false},
		{dev, "owner-label", "other", false},
		{admin, "owner-label", "missing", true},
		{dev, "running-containers", "3", true},
		{dev, "running-containers", "4", false},
		{ci, "running-containers", "40", true},
		{dev, "list-filter", "own", true},
		{dev, "list-filter", "unfiltered", false},
		{ci, "list-filter", "unfiltered", true},
	} {
		d := p.Authorize(tc.sub, []request.Facet{route, {Kind: tc.kind, Value: tc.value}})
		if d.Allow != tc.allow {
			t.Errorf("%s %s=%s: allow=%v, want %v (%s)", tc.sub.User, tc.kind, tc.value, d.Allow, tc.allow, d.Reason)
		}
	}
}
