package policy

import (
	"fmt"
	"strings"

	"github.com/docker-authz/docker-authz/authz/request"
)

// FacetDoc documents one facet kind: where requests carry it and what each
// built-in profile does with it, derived from the rules themselves so the
// documentation cannot drift from the code.
type FacetDoc struct {
	Kind       string
	Where      string
	Baseline   string
	Restricted string
}

// FacetDocs lists every facet kind the policy can see, in catalogue order,
// followed by the unknown-route facet.
func FacetDocs() []FacetDoc {
	rules := builtinRules()
	var out []FacetDoc
	add := func(kind, where string) {
		out = append(out, FacetDoc{
			Kind:       kind,
			Where:      where,
			Baseline:   profileSummary(rules, ProfileBaseline, kind),
			Restricted: profileSummary(rules, ProfileRestricted, kind),
		})
	}
	for _, k := range request.Catalogue {
		add(k.Kind, k.Where)
	}
	add(request.KindUnknownRoute, "any method and path that is not a Docker API 1.41 route (value: METHOD PATH); only a `*` facet grant covers it")
	return out
}

// profileSummary says in a few words what profile does with kind.
func profileSummary(rules [][]string, profile, kind string) string {
	var allow, deny []string
	for _, r := range rules {
		if r[0] != profile || r[1] != kind {
			continue
		}
		v := r[2]
		if v == "" {
			v = `"" (unset)`
		}
		if r[3] == "deny" {
			deny = append(deny, v)
		} else {
			allow = append(allow, v)
		}
	}
	var s string
	switch {
	case len(allow) == 0 && requiredBySite(profile, kind):
		s = "site sets the maximum (`<=N`)"
	case len(allow) == 0:
		s = "denied"
	case len(allow) == 1 && allow[0] == "*":
		s = "allowed"
	default:
		s = "only " + strings.Join(allow, ", ")
	}
	if len(deny) > 0 {
		s += "; never " + strings.Join(deny, ", ")
	}
	return s
}

// requiredBySite reports whether a profile requires the facet but leaves
// its allowed range to the site policy (restricted's resource limits).
func requiredBySite(profile, kind string) bool {
	if profile != ProfileRestricted {
		return false
	}
	switch kind {
	case request.KindMemory, request.KindCPUs, request.KindPidsLimit:
		return true
	}
	return false
}

// FacetTableMarkdown renders FacetDocs as a Markdown table (the README's
// facet table is this output).
func FacetTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| facet | where it hides | `baseline` | `restricted` |\n")
	b.WriteString("| --- | --- | --- | --- |\n")
	for _, d := range FacetDocs() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", d.Kind, cell(d.Where), cell(d.Baseline), cell(d.Restricted))
	}
	b.WriteString("\n`profile:unrestricted` allows every facet. A site policy adds rules on top of a profile; a deny rule always wins.\n")
	return b.String()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
