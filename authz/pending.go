package authz

import (
	"sync"
	"time"
)

// pendingRequests remembers allowed requests (record id, route, API version,
// object) until their AuthZRes arrives, so the response record can name its
// request without normalising the request a second time. Bounded in
// size and age: a request whose response never comes (a crashed dockerd, a
// stream cut off) is simply forgotten here and shows in the trail as a
// request record no response refers to.
type pendingRequests struct {
	mu    sync.Mutex
	m     map[string][]pendingEntry
	n     int
	max   int
	ttl   time.Duration
	clock func() time.Time
}

type pendingEntry struct {
	req pendingRequest
	at  time.Time
}

// pendingRequest is what a response record takes from its request record.
type pendingRequest struct {
	ID, Route, APIVersion, Object string
}

func (p *pendingRequests) init(max int, ttl time.Duration) {
	p.m, p.max, p.ttl, p.clock = make(map[string][]pendingEntry), max, ttl, time.Now
}

func (p *pendingRequests) put(key string, req pendingRequest) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n >= p.max {
		p.expire()
		if p.n >= p.max { // still full of fresh entries: start over rather than grow
			p.m, p.n = make(map[string][]pendingEntry), 0
		}
	}
	p.m[key] = append(p.m[key], pendingEntry{req, p.clock()})
	p.n++
}

// take returns the oldest request waiting under key, if any.
func (p *pendingRequests) take(key string) (pendingRequest, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.m[key]
	if len(q) == 0 {
		return pendingRequest{}, false
	}
	e := q[0]
	if len(q) == 1 {
		delete(p.m, key)
	} else {
		p.m[key] = q[1:]
	}
	p.n--
	if p.clock().Sub(e.at) > p.ttl {
		return pendingRequest{}, false
	}
	return e.req, true
}

func (p *pendingRequests) expire() {
	now := p.clock()
	for k, q := range p.m {
		i := 0
		for i < len(q) && now.Sub(q[i].at) > p.ttl {
			i++
		}
		p.n -= i
		if i == len(q) {
			delete(p.m, k)
		} else {
			p.m[k] = q[i:]
		}
	}
}
