package authz

import (
	"sync/atomic"

	"github.com/docker-authz/docker-authz/policy"
)

// PolicyHolder is a PolicySource whose policy can be swapped atomically: a
// request sees either the old or the new policy, never a mix.
type PolicyHolder struct {
	p atomic.Pointer[policy.Policy]
}

// NewPolicyHolder returns a holder serving p.
func NewPolicyHolder(p *policy.Policy) *PolicyHolder {
	h := &PolicyHolder{}
	h.p.Store(p)
	return h
}

// Current returns the policy in force, or nil when none is loaded (which the
// server treats as deny).
func (h *PolicyHolder) Current() Authorizer {
	if h == nil {
		return nil
	}
	p := h.p.Load()
	if p == nil {
		return nil
	}
	return p
}

// Swap installs a new policy and returns the previous one.
func (h *PolicyHolder) Swap(p *policy.Policy) *policy.Policy { return h.p.Swap(p) }

// Policy returns the policy in force.
func (h *PolicyHolder) Policy() *policy.Policy { return h.p.Load() }
