package policy

import (
	"fmt"
	"strings"
	"sync"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"

	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/request"
)

// Policy is a loaded, validated policy. It is safe for concurrent use and
// immutable: a reload builds a new Policy.
type Policy struct {
	Revision string // short hash of model and policy text
	Rules    []Rule // the site rules, in file order
	Model    string // the Casbin model text

	enf   *casbin.SyncedEnforcer
	cache decisionCache
}

// FacetResult is the decision about one facet.
type FacetResult struct {
	request.Facet
	Allow     bool   `json:"allow"`
	Rule      string `json:"rule,omitempty"`      // the deciding rule, "" when denied by default
	Principal string `json:"principal,omitempty"` // the user or group the rule matched for
}

// Decision is the outcome of Authorize. The zero Decision is a deny.
type Decision struct {
	Allow    bool          `json:"allow"`
	Reason   string        `json:"reason"`
	Facets   []FacetResult `json:"facets"`
	Revision string        `json:"policy_revision"`
}

// Rules lists the deciding rules of a decision: the allow rules of an allowed
// request, or the rules (or "default deny") behind each denied facet.
func (d Decision) Rules() []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range d.Facets {
		if f.Allow == d.Allow {
			r := f.Rule
			if r == "" {
				r = "default deny"
			}
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// readOnlyAdapter hands validated rules to Casbin.
type readOnlyAdapter struct{ rules [][]string }

func (a readOnlyAdapter) LoadPolicy(m model.Model) error {
	for _, r := range a.rules {
		if err := persist.LoadPolicyArray(r, m); err != nil {
			return err
		}
	}
	return nil
}
func (readOnlyAdapter) SavePolicy(model.Model) error { return errReadOnly }
func (readOnlyAdapter) AddPolicy(string, string, []string) error {
	return errReadOnly
}
func (readOnlyAdapter) RemovePolicy(string, string, []string) error {
	return errReadOnly
}
func (readOnlyAdapter) RemoveFilteredPolicy(string, string, int, ...string) error {
	return errReadOnly
}

var errReadOnly = fmt.Errorf("policy is read-only at run time: edit the policy files and reload")

func compile(m model.Model, rules []Rule, revision string) (*Policy, error) {
	var all [][]string
	for _, r := range builtinRules() {
		all = append(all, append([]string{"p"}, r...))
	}
	for _, r := range rules {
		all = append(all, append([]string{r.Type}, r.Fields...))
	}
	enf, err := casbin.NewSyncedEnforcer(m, readOnlyAdapter{all})
	if err != nil {
		return nil, fmt.Errorf("casbin: %w", err)
	}
	enf.EnableLog(false)
	enf.AddFunction("facetMatch", func(args ...interface{}) (interface{}, error) {
		a, _ := args[0].(string)
		b, _ := args[1].(string)
		return facetMatch(a, b), nil
	})
	enf.AddFunction("valueMatch", func(args ...interface{}) (interface{}, error) {
		a, _ := args[0].(string)
		b, _ := args[1].(string)
		return valueMatch(a, b), nil
	})
	p := &Policy{Revision: revision, Rules: rules, enf: enf}
	p.cache.init(1 << 16)
	// Prove the matcher evaluates before this policy is ever used.
	if _, _, err := enf.EnforceEx("anonymous", "route", "system:ping"); err != nil {
		return nil, fmt.Errorf("casbin matcher: %w", err)
	}
	return p, nil
}

// verdict is the cached outcome for one principal and facet.
type verdict struct {
	allow, denied bool // allowed by a rule / denied by a rule; neither: no rule matched
	rule          string
}

func (p *Policy) ask(principal string, f request.Facet) verdict {
	key := cacheKey{principal, f.Kind, f.Value}
	if v, ok := p.cache.get(key); ok {
		return v
	}
	ok, explain, err := p.enf.EnforceEx(principal, f.Kind, f.Value)
	var v verdict
	switch {
	case err != nil:
		v = verdict{denied: true, rule: "error: " + err.Error()}
	case ok:
		v = verdict{allow: true, rule: "p, " + strings.Join(explain, ", ")}
	case len(explain) > 0:
		v = verdict{denied: true, rule: "p, " + strings.Join(explain, ", ")}
	}
	if err == nil {
		// Copies: the request's strings may be parts of larger ones
		// (its body) that the cache must not keep alive.
		p.cache.put(cacheKey{strings.Clone(principal), strings.Clone(f.Kind), strings.Clone(f.Value)}, v)
	}
	return v
}

// Authorize decides about a request: every facet must be allowed for the
// subject's user or one of its groups, and denied for none of them.
func (p *Policy) Authorize(sub identity.Subject, facets []request.Facet) (d Decision) {
	defer func() {
		if r := recover(); r != nil {
			d = Decision{Reason: fmt.Sprintf("internal error while evaluating the policy: %v", r)}
		}
	}()
	if p == nil || p.enf == nil {
		return Decision{Reason: "no policy is loaded"}
	}
	d.Revision = p.Revision
	principals := sub.Principals()
	if len(principals) == 0 {
		d.Reason = "the request has no identity"
		return d
	}
	if len(facets) == 0 {
		d.Reason = "the request has no facets to decide about"
		return d
	}
	d.Facets = make([]FacetResult, len(facets))
	allow := true
	for i, f := range facets {
		r := FacetResult{Facet: f}
		for _, pr := range principals {
			v := p.ask(pr, f)
			if v.denied {
				r.Allow, r.Rule, r.Principal = false, v.rule, pr
				break
			}
			if v.allow && !r.Allow {
				r.Allow, r.Rule, r.Principal = true, v.rule, pr
			}
		}
		if !r.Allow {
			allow = false
		}
		d.Facets[i] = r
	}
	d.Allow = allow
	d.Reason = explainDecision(sub, d)
	return d
}

// explainDecision writes the one-line reason shown to the docker user.
func explainDecision(sub identity.Subject, d Decision) string {
	who := sub.User
	if len(sub.Groups) > 0 {
		who += " (" + strings.Join(sub.Groups, ", ") + ")"
	}
	if d.Allow {
		return who + " is allowed"
	}
	var denied []FacetResult
	for _, f := range d.Facets {
		if !f.Allow {
			denied = append(denied, f)
		}
	}
	first := denied[0]
	msg := who + " may not " + Describe(first.Kind, first.Value)
	if first.Source != "" {
		msg += " (" + first.Source + ")"
	}
	if first.Rule != "" {
		msg += " [rule: " + first.Rule + "]"
	} else {
		msg += fmt.Sprintf(" [no rule allows %s=%s; denied by default]", first.Kind, first.Value)
	}
	if len(denied) > 1 {
		var more []string
		for _, f := range denied[1:] {
			more = append(more, f.String())
		}
		msg += "; also denied: " + strings.Join(more, ", ")
	}
	return msg
}

// Describe completes "alice may not ..." for a facet, from the facet
// catalogue of package request.
func Describe(kind, value string) string {
	if kind == request.KindUnknownRoute {
		return "call " + value + ", which is not a Docker API route"
	}
	k, ok := request.LookupKind(kind)
	if !ok {
		return "use " + kind + "=" + value
	}
	if strings.Contains(k.Phrase, "%") {
		return fmt.Sprintf(k.Phrase, value)
	}
	return k.Phrase
}

// decisionCache is a bounded map; when full it is emptied (cheap, and a
// policy's answers never change, so a miss only costs time).
type decisionCache struct {
	mu  sync.RWMutex
	m   map[cacheKey]verdict
	max int
}

// cacheKey is what a verdict depends on. A struct, not a joined string:
// looking it up builds nothing, and no separator can make two questions
// collide.
type cacheKey struct{ principal, kind, value string }

func (c *decisionCache) init(max int) { c.m, c.max = make(map[cacheKey]verdict), max }

func (c *decisionCache) get(k cacheKey) (verdict, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *decisionCache) put(k cacheKey, v verdict) {
	c.mu.Lock()
	if len(c.m) >= c.max {
		c.m = make(map[cacheKey]verdict)
	}
	c.m[k] = v
	c.mu.Unlock()
}
