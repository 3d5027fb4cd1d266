package audit

import (
	"bytes"
	"slices"
	"sync"
)

// maxBodyDepth is the nesting limit of encoding/json's decoder: a body
// nested deeper is not JSON to the reference implementation either.
const maxBodyDepth = 10000

// bodyWriter redacts a JSON body in one pass, writing the redacted value as
// encoding/json would encode the body decoded into map[string]any (with
// UseNumber), walked by the redaction rules of Redactor.Body and marshalled
// again: the result is byte for byte the same (FuzzRedactBody checks it
// against that reference), without building the Go values.
//
// It accepts exactly what json.Decoder.Decode followed by a false
// Decoder.More accepts: one JSON value, optionally followed by white space
// and then either nothing or a ']' or '}' (and anything after it).
//
// Members of an object are written in their input order, each remembered as
// a span of out; when they are not already sorted by name and unique, the
// spans are rewritten sorted, keeping the last of duplicate names.
type bodyWriter struct {
	r     *Redactor
	in    []byte
	pos   int
	out   []byte
	depth int
	keys  []byte   // decoded names of the members of open objects
	mems  []member // members of open objects, innermost last
	str   []byte   // scratch: a decoded string
	tmp   []byte   // scratch: an object's members while they are sorted
}

// bodyScratch holds the scratch buffers of a bodyWriter between bodies.
type bodyScratch struct {
	keys []byte
	mems []member
	str  []byte
	tmp  []byte
}

var bodyScratchPool = sync.Pool{New: func() any { return new(bodyScratch) }}

// maxPooledScratch bounds the scratch kept for the next body.
const maxPooledScratch = 64 << 10

func (w *bodyWriter) takeScratch() *bodyScratch {
	sc := bodyScratchPool.Get().(*bodyScratch)
	w.keys, w.mems, w.str, w.tmp = sc.keys[:0], sc.mems[:0], sc.str[:0], sc.tmp[:0]
	return sc
}

func (w *bodyWriter) putScratch(sc *bodyScratch) {
	if cap(w.keys)+cap(w.str)+cap(w.tmp) > maxPooledScratch || cap(w.mems) > maxPooledScratch/64 {
		return
	}
	sc.keys, sc.mems, sc.str, sc.tmp = w.keys, w.mems, w.str, w.tmp
	bodyScratchPool.Put(sc)
}

// member is one object member: its decoded name keys[keyOff:keyEnd] and its
// encoded form out[start:end] (`"name":value`).
type member struct {
	keyOff, keyEnd, start, end int
	prefix                     uint64 // the name's first 8 bytes, big-endian, zero-padded
}

// namePrefix packs the first 8 bytes of a name for quick comparison.
func namePrefix(name []byte) uint64 {
	var p uint64
	for i := 0; i < 8; i++ {
		p <<= 8
		if i < len(name) {
			p |= uint64(name[i])
		}
	}
	return p
}

// compare orders members by name, then by position (so that the last of
// equal names sorts last).
func (w *bodyWriter) compare(a, b member) int {
	if a.prefix != b.prefix {
		if a.prefix < b.prefix {
			return -1
		}
		return 1
	}
	if c := bytes.Compare(w.key(a), w.key(b)); c != 0 {
		return c
	}
	return a.start - b.start
}

// walk modes.
const (
	modeRedact = iota // apply the redaction rules
	modeCanon         // copy canonically: the JSON text of a secret value
)

// top writes the redacted body; false means the body is not JSON.
func (w *bodyWriter) top(secretData bool) bool {
	w.skipSpace()
	if w.pos < len(w.in) && w.in[w.pos] == '[' {
		// A body that is an array of strings (plugin set) is an Env list.
		start := w.pos
		ok, allStrings := w.envArray(true)
		if !ok {
			return false
		}
		if !allStrings {
			w.pos, w.out, w.depth = start, w.out[:0], 0
			if !w.value(modeRedact, false) {
				return false
			}
		}
	} else if !w.value(modeRedact, secretData) {
		return false
	}
	w.skipSpace()
	return w.pos == len(w.in) || w.in[w.pos] == ']' || w.in[w.pos] == '}'
}

func (w *bodyWriter) skipSpace() {
	for w.pos < len(w.in) {
		switch w.in[w.pos] {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return
		}
	}
}

// value writes one value at w.pos (after optional white space).
// secretData says whether the Data member of this object is secret.
func (w *bodyWriter) value(mode int, secretData bool) bool {
	w.skipSpace()
	if w.pos >= len(w.in) {
		return false
	}
	switch c := w.in[w.pos]; {
	case c == '{':
		return w.object(mode, secretData)
	case c == '[':
		return w.array(mode)
	case c == '"':
		s, raw, ok := w.readString()
		if !ok {
			return false
		}
		if mode == modeRedact && bytes.Contains(s, []byte("://")) && bytes.IndexByte(s, '@') >= 0 {
			if red := redactURLCredentials(string(s)); red != string(s) {
				w.out = appendJSONString(w.out, red)
				return true
			}
		}
		w.writeString(s, raw)
		return true
	case c == '-' || c >= '0' && c <= '9':
		return w.number()
	case c == 't':
		return w.literal("true")
	case c == 'f':
		return w.literal("false")
	case c == 'n':
		return w.literal("null")
	}
	return false
}

func (w *bodyWriter) literal(lit string) bool {
	if !bytes.HasPrefix(w.in[w.pos:], []byte(lit)) {
		return false
	}
	w.out = append(w.out, lit...)
	w.pos += len(lit)
	return true
}

// number copies a number literal, checked against the JSON grammar.
func (w *bodyWriter) number() bool {
	in, i := w.in, w.pos
	if i < len(in) && in[i] == '-' {
		i++
	}
	switch {
	case i < len(in) && in[i] == '0':
		i++
	case i < len(in) && in[i] >= '1' && in[i] <= '9':
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(in) && in[i] == '.' {
		i++
		d := i
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		d := i
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	w.out = append(w.out, in[w.pos:i]...)
	w.pos = i
	return true
}

func (w *bodyWriter) enter() bool {
	w.depth++
	return w.depth <= maxBodyDepth
}

func (w *bodyWriter) array(mode int) bool {
	if !w.enter() {
		return false
	}
	w.pos++ // '['
	w.out = append(w.out, '[')
	w.skipSpace()
	if w.pos < len(w.in) && w.in[w.pos] == ']' {
		w.pos++
		w.out = append(w.out, ']')
		w.depth--
		return true
	}
	for {
		if !w.value(mode, false) {
			return false
		}
		w.skipSpace()
		if w.pos >= len(w.in) {
			return false
		}
		switch w.in[w.pos] {
		case ',':
			w.pos++
			w.out = append(w.out, ',')
		case ']':
			w.pos++
			w.out = append(w.out, ']')
			w.depth--
			return true
		default:
			return false
		}
	}
}

func (w *bodyWriter) object(mode int, secretData bool) bool {
	if !w.enter() {
		return false
	}
	w.pos++ // '{'
	w.out = append(w.out, '{')
	keyBase, memBase := len(w.keys), len(w.mems)
	w.skipSpace()
	if w.pos < len(w.in) && w.in[w.pos] == '}' {
		w.pos++
		w.out = append(w.out, '}')
		w.depth--
		return true
	}
	for {
		w.skipSpace()
		if w.pos >= len(w.in) || w.in[w.pos] != '"' {
			return false
		}
		name, raw, ok := w.readString()
		if !ok {
			return false
		}
		m := member{keyOff: len(w.keys), start: len(w.out)}
		w.keys = append(w.keys, name...)
		m.keyEnd = len(w.keys)
		m.prefix = namePrefix(name)
		w.writeString(name, raw)
		w.skipSpace()
		if w.pos >= len(w.in) || w.in[w.pos] != ':' {
			return false
		}
		w.pos++
		w.out = append(w.out, ':')
		key := w.keys[m.keyOff:m.keyEnd]
		switch {
		case mode == modeCanon:
			ok = w.value(modeCanon, false)
		case sensitiveKey(key), secretData && bytes.EqualFold(key, []byte("Data")):
			ok = w.secret()
		case bytes.EqualFold(key, []byte("Env")):
			w.skipSpace()
			if w.pos < len(w.in) && w.in[w.pos] == '[' {
				ok, _ = w.envArray(false)
			} else {
				ok = w.secret()
			}
		default:
			ok = w.value(modeRedact, false)
		}
		if !ok {
			return false
		}
		m.end = len(w.out)
		w.mems = append(w.mems, m)
		w.skipSpace()
		if w.pos >= len(w.in) {
			return false
		}
		switch w.in[w.pos] {
		case ',':
			w.pos++
			w.out = append(w.out, ',')
			continue
		case '}':
			w.pos++
		default:
			return false
		}
		break
	}
	w.sortMembers(w.mems[memBase:])
	w.out = append(w.out, '}')
	w.keys, w.mems = w.keys[:keyBase], w.mems[:memBase]
	w.depth--
	return true
}

// sortMembers rewrites the members of the object being written (the last
// thing in out) sorted by name, keeping the last of equal names, as
// encoding/json writes a map[string]any decoded from them.
func (w *bodyWriter) sortMembers(ms []member) {
	sorted := true
	for i := 1; i < len(ms); i++ {
		if ms[i-1].prefix > ms[i].prefix || ms[i-1].prefix == ms[i].prefix && bytes.Compare(w.key(ms[i-1]), w.key(ms[i])) >= 0 {
			sorted = false
			break
		}
	}
	if sorted {
		return
	}
	base := ms[0].start
	w.tmp = append(w.tmp[:0], w.out[base:]...)
	if len(ms) <= 64 {
		// Insertion sort: the objects of Docker bodies are small, and
		// their names mostly differ in their first 8 bytes.
		for i := 1; i < len(ms); i++ {
			m := ms[i]
			j := i
			for ; j > 0 && (ms[j-1].prefix > m.prefix || ms[j-1].prefix == m.prefix && w.compare(ms[j-1], m) > 0); j-- {
				ms[j] = ms[j-1]
			}
			ms[j] = m
		}
	} else {
		slices.SortFunc(ms, w.compare)
	}
	w.out = w.out[:base]
	first := true
	for i, m := range ms {
		if i+1 < len(ms) && m.prefix == ms[i+1].prefix && bytes.Equal(w.key(m), w.key(ms[i+1])) {
			continue // a later member of the same name wins
		}
		if !first {
			w.out = append(w.out, ',')
		}
		first = false
		w.out = append(w.out, w.tmp[m.start-base:m.end-base]...)
	}
}

func (w *bodyWriter) key(m member) []byte { return w.keys[m.keyOff:m.keyEnd] }

// secret writes the redacted form of a value whose name says it is secret:
// null and "" stay as they are, a string becomes Value(string), anything
// else Value of its canonical JSON text.
func (w *bodyWriter) secret() bool {
	w.skipSpace()
	if w.pos >= len(w.in) {
		return false
	}
	switch w.in[w.pos] {
	case 'n':
		return w.literal("null")
	case '"':
		s, _, ok := w.readString()
		if !ok {
			return false
		}
		if len(s) == 0 {
			w.out = append(w.out, `""`...)
		} else {
			w.out = w.appendRedacted(w.out, s)
		}
		return true
	}
	start := len(w.out)
	if !w.value(modeCanon, false) {
		return false
	}
	if w.r == nil || len(w.r.key) == 0 {
		w.out = append(w.out[:start], `"`+Redacted+`"`...)
		return true
	}
	v := w.r.Value(string(w.out[start:]))
	w.out = append(append(append(w.out[:start], '"'), v...), '"')
	return true
}

// appendRedacted appends Value(s) as a JSON string.
func (w *bodyWriter) appendRedacted(dst, s []byte) []byte {
	return append(w.appendValue(append(dst, '"'), s), '"')
}

// appendValue appends Value(s), whose forms need no escaping in JSON.
func (w *bodyWriter) appendValue(dst, s []byte) []byte {
	if w.r == nil || len(w.r.key) == 0 || string(s) == Redacted {
		return append(dst, Redacted...)
	}
	return append(dst, w.r.Value(string(s))...)
}

// envArray writes an array of environment variables: NAME=value strings
// keep NAME= and get a redacted value, strings without '=' are kept, other
// elements are secrets. With onlyStrings it stops at the first element that
// is not a string and reports allStrings false (the caller starts again).
func (w *bodyWriter) envArray(onlyStrings bool) (ok, allStrings bool) {
	if !w.enter() {
		return false, true
	}
	w.pos++ // '['
	w.out = append(w.out, '[')
	w.skipSpace()
	if w.pos < len(w.in) && w.in[w.pos] == ']' {
		w.pos++
		w.out = append(w.out, ']')
		w.depth--
		return true, true
	}
	for {
		w.skipSpace()
		if w.pos >= len(w.in) {
			return false, true
		}
		if w.in[w.pos] == '"' {
			s, raw, ok := w.readString()
			if !ok {
				return false, true
			}
			if i := bytes.IndexByte(s, '='); i >= 0 {
				w.out = appendJSONStringBody(append(w.out, '"'), s[:i+1])
				w.out = append(w.appendValue(w.out, s[i+1:]), '"')
			} else {
				w.writeString(s, raw)
			}
		} else if onlyStrings {
			return true, false
		} else if !w.secret() {
			return false, true
		}
		w.skipSpace()
		if w.pos >= len(w.in) {
			return false, true
		}
		switch w.in[w.pos] {
		case ',':
			w.pos++
			w.out = append(w.out, ',')
		case ']':
			w.pos++
			w.out = append(w.out, ']')
			w.depth--
			return true, true
		default:
			return false, true
		}
	}
}
