package owner

import (
	"container/list"
	"strings"
	"sync"
	"time"
)

// cache is a bounded LRU of resolved objects, keyed by kind and the
// reference a request used (name, id, id prefix, exec id). Entries carry
// the generation they were stored in: a flush (events stream lost or
// reconnected) bumps the generation, which drops everything at once.
type cache struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	clock func() time.Time
	gen   uint64
	ll    *list.List // front = most recently used
	m     map[string]*list.Element
}

type cacheEntry struct {
	key  string
	kind string // container, exec, volume, network
	ref  string
	obj  Object
	at   time.Time
	gen  uint64
}

func newCache(max int, ttl time.Duration, clock func() time.Time) *cache {
	return &cache{max: max, ttl: ttl, clock: clock, ll: list.New(), m: map[string]*list.Element{}}
}

func cacheKey(kind, ref string) string { return kind + "\x00" + ref }

func (c *cache) get(kind, ref string) (Object, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[cacheKey(kind, ref)]
	if !ok {
		return Object{}, false
	}
	e := el.Value.(*cacheEntry)
	if e.gen != c.gen || c.clock().Sub(e.at) > c.ttl {
		c.remove(el)
		return Object{}, false
	}
	c.ll.MoveToFront(el)
	return e.obj, true
}

// put stores obj unless the cache was flushed since gen was read (the
// lookup may have raced an invalidation).
func (c *cache) put(kind, ref string, obj Object, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || c.max <= 0 {
		return
	}
	k := cacheKey(kind, ref)
	if el, ok := c.m[k]; ok {
		c.remove(el)
	}
	c.m[k] = c.ll.PushFront(&cacheEntry{key: k, kind: kind, ref: ref, obj: obj, at: c.clock(), gen: gen})
	for c.ll.Len() > c.max {
		c.remove(c.ll.Back())
	}
}

func (c *cache) remove(el *list.Element) {
	c.ll.Remove(el)
	delete(c.m, el.Value.(*cacheEntry).key)
}

// generation returns the current generation, read before a lookup starts.
func (c *cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// flush drops every entry and makes lookups in flight not store theirs.
func (c *cache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.ll.Init()
	c.m = map[string]*list.Element{}
}

// invalidate drops the entries an event on an object may have made wrong:
// those resolved to its id, and those whose reference is one of its names
// or a prefix of its id (a new or renamed object can take over a name or
// make a prefix resolve elsewhere). kinds are the entry kinds concerned.
// It also bumps the generation, so that a lookup that started before the
// event cannot store what it saw.
func (c *cache) invalidate(kinds []string, id string, names ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	n := 0
	for el := c.ll.Front(); el != nil; {
		next := el.Next()
		e := el.Value.(*cacheEntry)
		if hasKind(kinds, e.kind) && affected(e, id, names) {
			c.remove(el)
			n++
		}
		el = next
	}
	// Entries of other kinds survive; their generation is refreshed so
	// that the bump above does not drop them.
	for el := c.ll.Front(); el != nil; el = el.Next() {
		el.Value.(*cacheEntry).gen = c.gen
	}
	return n
}

func hasKind(kinds []string, k string) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

func affected(e *cacheEntry, id string, names []string) bool {
	if id != "" && (e.obj.ID == id || strings.HasPrefix(id, e.ref)) {
		return true
	}
	ref := strings.TrimPrefix(e.ref, "/")
	for _, n := range names {
		if n != "" && ref == strings.TrimPrefix(n, "/") {
			return true
		}
	}
	return false
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
