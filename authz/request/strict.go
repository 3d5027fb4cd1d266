package request

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/docker/docker/api/types/strslice"
)

// StrictDecode decodes the JSON document data into v (a non-nil pointer)
// after checking that encoding/json and dockerd cannot read it differently
// from the way it is written. It rejects:
//
//   - object keys that are not exactly the JSON name of a field of the target
//     type (encoding/json would match "privileged", "PRIVILEGED", "Bindſ" with
//     U+017F or "Privileged" spelt with the Kelvin sign to real fields);
//   - unknown keys (except the few listed in ignoredKeys: fields of newer API
//     versions that dockerd 20.10 ignores);
//   - duplicate keys at any depth, inside maps and free-form values too;
//   - trailing data after the value, invalid JSON, invalid UTF-8 and lone
//     UTF-16 surrogate escapes (encoding/json would silently turn them into
//     U+FFFD);
//   - nesting deeper than maxDepth.
//
// Only then is the document decoded with encoding/json (DisallowUnknownFields),
// which also enforces the value types.
//
// The common case takes a single pass (decodeOnce): the same scanner, with
// the same checks in the same order, assigns the values as it walks them,
// as encoding/json would. Whatever that pass does not handle itself
// (a check fails, a value does not fit its type, a type with the `,string`
// option, a target that is not a zero value) is decoded again from scratch
// by the reference path (strictDecodeRef), so results and error messages are
// those of the reference path; FuzzStrictDecode compares both with
// encoding/json.
func StrictDecode(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("internal error: StrictDecode needs a non-nil pointer, got %T", v)
	}
	if rv.Elem().IsZero() {
		if err := decodeOnce(data, rv.Elem()); err == nil {
			return nil
		}
		// Anything the single pass did not accept, or could not decode
		// itself, goes through the reference path, from scratch: its
		// answer (and error text) is the contract.
		rv.Elem().SetZero()
	}
	return strictDecodeRef(data, rv)
}

// strictDecodeRef is the reference path of StrictDecode: strictCheck, then
// encoding/json.
func strictDecodeRef(data []byte, rv reflect.Value) error {
	v := rv.Interface()
	ignored, err := strictCheck(data, rv.Type().Elem())
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if !ignored {
		// The scanner has already refused every unknown key but the few
		// ignoredKeys; this is a second, independent check.
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body does not decode as %s: %v", typeLabel(rv.Type().Elem()), err)
	}
	return nil
}

// StrictCheck validates data against type t without decoding it. See StrictDecode.
func StrictCheck(data []byte, t reflect.Type) error {
	_, err := strictCheck(data, t)
	return err
}

// strictCheck is StrictCheck; it also reports whether an ignoredKeys key was seen.
func strictCheck(data []byte, t reflect.Type) (bool, error) {
	if !utf8.Valid(data) {
		return false, fmt.Errorf("body is not valid UTF-8")
	}
	if !json.Valid(data) {
		// Let encoding/json say where the syntax error is.
		var x any
		err := json.Unmarshal(data, &x)
		if err == nil {
			err = fmt.Errorf("not a single JSON value")
		}
		return false, fmt.Errorf("body is not valid JSON: %v", err)
	}
	s := scanner{data: data, path: make([]pathSeg, 0, 8)}
	s.skipWS()
	if err := s.value(t, 0, reflect.Value{}); err != nil {
		return false, err
	}
	s.skipWS()
	if s.pos != len(s.data) {
		// json.Valid already rejects this; kept so the scanner stands alone.
		return false, fmt.Errorf("trailing data after the JSON body at byte %d", s.pos)
	}
	return s.ignored, nil
}

// maxDepth bounds nesting of objects and arrays. Docker API bodies nest a
// handful of levels; free-form values (driver options, labels) add little.
const maxDepth = 64

// ignoredKeys lists JSON keys that newer docker clients send and that
// dockerd 20.10 (API 1.41) does not know and ignores, per struct type name.
// They are accepted only with this exact spelling and never raise a facet.
// Keep this list short: every entry is a key the plugin cannot reason about.
var ignoredKeys = map[string]map[string]bool{
	// API 1.43+: annotations are OCI annotations for the runtime; 20.10 ignores them.
	"container.HostConfig": {"Annotations": true},
	// API 1.44+ endpoint fields (MacAddress already exists in 1.41).
	"network.EndpointSettings": {"DNSNames": true, "GwPriority": true},
	// API 1.44+: healthcheck start interval.
	"container.HealthConfig": {"StartInterval": true},
}

type jsonField struct {
	idx    int // position in structInfo.list
	name   string
	typ    reflect.Type
	folded string
	index  []int                    // field index path from the struct, through embedded structs (for decoding)
	ti     atomic.Pointer[typeInfo] // getTypeInfo(typ), once looked up
	// How the single pass reaches the field without reflect, when direct:
	// every step of the index path is an exported field (so the field is
	// settable), and at most one step before the last is a pointer (an
	// embedded *T, like createBody's *container.Config). Without a hop the
	// field is at offset from the start of the struct; with one, the
	// pointer is at hopOffset (allocated as a new hopElem when nil, as
	// encoding/json does) and the field at offset from where it points.
	direct    bool
	hop       bool
	hopOffset uintptr
	hopElem   reflect.Type
	offset    uintptr
	// next is the field encoding/json writes after this one (fields in
	// index order): the key a client like the docker CLI sends next, tried
	// before the map lookup.
	next *jsonField
}

// typeInfo is getTypeInfo(f.typ), kept in the field after the first lookup.
func (f *jsonField) typeInfo() *typeInfo {
	if ti := f.ti.Load(); ti != nil {
		return ti
	}
	ti := getTypeInfo(f.typ)
	f.ti.Store(ti)
	return ti
}

type structInfo struct {
	label  string
	fields map[string]*jsonField
	list   []*jsonField
	first  *jsonField // the first field in index order (see jsonField.next)
	ignore map[string]bool
	// skip holds the ignore keys that fold to no field name (the ones
	// object may skip): ignore[k] && !foldsToField(k), computed once.
	skip map[string]bool
	// quoted is set when a field uses the `,string` tag option, which the
	// single-pass decoder does not implement (StrictDecode then falls back
	// to encoding/json).
	quoted bool
}

var structCache sync.Map // reflect.Type -> *structInfo

func typeLabel(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "" {
		return t.String()
	}
	pkg := t.PkgPath()
	if i := strings.LastIndex(pkg, "/"); i >= 0 {
		pkg = pkg[i+1:]
	}
	if pkg == "" {
		return t.Name()
	}
	return pkg + "." + t.Name()
}

// foldName is encoding/json's key folding (Go >= 1.21): ASCII upper case,
// other runes through unicode.ToUpper(unicode.ToLower(r)).
func foldName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteByte(byte(r))
			continue
		}
		b.WriteRune(unicode.ToUpper(unicode.ToLower(r)))
	}
	return b.String()
}

type fieldCandidate struct {
	name   string
	typ    reflect.Type
	depth  int
	tagged bool
	order  int
	index  []int
	quoted bool
}

// getStructInfo computes the JSON field set of t with encoding/json's rules:
// exported fields, `json` tag names, "-" skipped, embedded structs (and
// pointers to them) promoted, and the dominance rule for clashing names
// (shallowest wins, then the tagged one, otherwise the name is dropped).
func getStructInfo(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	type queued struct {
		t     reflect.Type
		depth int
		index []int
	}
	var cands []fieldCandidate
	visited := map[reflect.Type]bool{}
	current := []queued{{t, 0, nil}}
	order := 0
	for len(current) > 0 {
		var next []queued
		countAtDepth := map[reflect.Type]int{}
		for _, q := range current {
			countAtDepth[q.t]++
		}
		for _, q := range current {
			if visited[q.t] {
				continue
			}
			visited[q.t] = true
			for i := 0; i < q.t.NumField(); i++ {
				sf := q.t.Field(i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				quoted := false
				for _, o := range strings.Split(opts, ",") {
					quoted = quoted || o == "string"
				}
				index := append(append(make([]int, 0, len(q.index)+1), q.index...), i)
				if !validTagName(name) {
					name = ""
				}
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					n := name
					if n == "" {
						n = sf.Name
					}
					cands = append(cands, fieldCandidate{name: n, typ: sf.Type, depth: q.depth, tagged: name != "", order: order, index: index, quoted: quoted})
					order++
					if countAtDepth[q.t] > 1 {
						// The same embedded type twice at one level: encoding/json
						// annihilates its fields; record a clash.
						cands = append(cands, cands[len(cands)-1])
					}
					continue
				}
				next = append(next, queued{ft, q.depth + 1, index})
			}
		}
		current = next
	}
	byName := map[string][]fieldCandidate{}
	for _, c := range cands {
		byName[c.name] = append(byName[c.name], c)
	}
	si := &structInfo{label: typeLabel(t), fields: map[string]*jsonField{}}
	var kept []fieldCandidate
	for _, cs := range byName {
		min := cs[0].depth
		for _, c := range cs {
			if c.depth < min {
				min = c.depth
			}
		}
		var top []fieldCandidate
		for _, c := range cs {
			if c.depth == min {
				top = append(top, c)
			}
		}
		if len(top) == 1 {
			kept = append(kept, top[0])
			continue
		}
		var tagged []fieldCandidate
		for _, c := range top {
			if c.tagged {
				tagged = append(tagged, c)
			}
		}
		if len(tagged) == 1 {
			kept = append(kept, tagged[0])
		}
		// otherwise ambiguous: encoding/json ignores the name entirely.
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].order < kept[j].order })
	for _, c := range kept {
		f := &jsonField{idx: len(si.list), name: c.name, typ: c.typ, folded: foldName(c.name), index: c.index}
		setDirect(f, t)
		si.quoted = si.quoted || c.quoted
		si.fields[c.name] = f
		si.list = append(si.list, f)
	}
	// Index order is encoding/json's output order.
	inOrder := append([]*jsonField(nil), si.list...)
	sort.Slice(inOrder, func(i, j int) bool { return slices.Compare(inOrder[i].index, inOrder[j].index) < 0 })
	for i, f := range inOrder {
		if i == 0 {
			si.first = f
		} else {
			inOrder[i-1].next = f
		}
	}
	si.ignore = ignoredKeys[si.label]
	for k := range si.ignore {
		if si.ignore[k] && !si.foldsToField(k) {
			if si.skip == nil {
				si.skip = map[string]bool{}
			}
			si.skip[k] = true
		}
	}
	actual, _ := structCache.LoadOrStore(t, si)
	return actual.(*structInfo)
}

// setDirect fills in how the single pass reaches field f of struct t
// through offsets (see jsonField.direct).
func setDirect(f *jsonField, t reflect.Type) {
	var off uintptr
	for i, x := range f.index {
		if t.Kind() != reflect.Struct {
			return
		}
		sf := t.Field(x)
		if !sf.IsExported() {
			return
		}
		off += sf.Offset
		t = sf.Type
		if i < len(f.index)-1 && t.Kind() == reflect.Pointer {
			if f.hop {
				return // a second pointer: reflect's way (fieldByIndex)
			}
			f.hop, f.hopOffset, f.hopElem = true, off, t.Elem()
			t, off = t.Elem(), 0
		}
	}
	f.offset, f.direct = off, true
}

// fieldAddr is the address of the field f of the struct at base, allocating
// the embedded struct it is in when f.hop and that is still nil, as
// fieldByIndex does. f.direct must be set.
func fieldAddr(base unsafe.Pointer, f *jsonField) unsafe.Pointer {
	if f.hop {
		pp := (*unsafe.Pointer)(unsafe.Add(base, f.hopOffset))
		if *pp == nil {
			*pp = reflect.New(f.hopElem).UnsafePointer()
		}
		base = *pp
	}
	return unsafe.Add(base, f.offset)
}

func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// scanner walks a syntactically valid JSON document (json.Valid has run)
// against a Go type. The JSON path of the current value is kept as a stack
// of segments and only rendered for error messages.
type scanner struct {
	data []byte
	pos  int
	path []pathSeg
	// ignored is set when an ignoredKeys key was skipped.
	ignored bool
	// once: this is the single pass (decodeOnce), whose errors are never
	// shown (any error sends the document to the reference path), so the
	// JSON path is not tracked; when false (strictCheck) the scanner runs
	// exactly the reference code.
	once bool
	// key is scratch space for a map key on its way into a map (once only).
	key string
}

// push appends a path segment and returns its position (no-op when once).
func (s *scanner) push(seg pathSeg) int {
	if s.once {
		return 0
	}
	s.path = append(s.path, seg)
	return len(s.path) - 1
}

// pop removes the path segment at top and the ones after it (no-op when once).
func (s *scanner) pop(top int) {
	if !s.once {
		s.path = s.path[:top]
	}
}

type pathSeg struct {
	key   []byte // object key (struct field or map key)
	index int    // array index when isIdx
	isIdx bool
	isMap bool // key of a map or free-form object: rendered as ["key"]
}

// pathString renders the current path, e.g. HostConfig.Binds[0].
func (s *scanner) pathString() string {
	var b strings.Builder
	for _, p := range s.path {
		switch {
		case p.isIdx:
			b.WriteString("[" + strconv.Itoa(p.index) + "]")
		case p.isMap:
			b.WriteString("[" + strconv.Quote(string(p.key)) + "]")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.Write(p.key)
		}
	}
	return b.String()
}

func (s *scanner) where() string {
	if len(s.path) == 0 {
		return "at the top level of the body"
	}
	return "in " + s.pathString()
}

func (s *scanner) pathOrBody() string {
	if len(s.path) == 0 {
		return "the body"
	}
	return s.pathString()
}

// skipWS skips JSON whitespace. The check for the common case (no
// whitespace: bodies are usually compact) is small enough to inline.
func (s *scanner) skipWS() {
	if s.pos < len(s.data) && s.data[s.pos] > ' ' {
		return
	}
	s.skipWSLoop()
}

func (s *scanner) skipWSLoop() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// value checks the JSON value at s.pos against type t (nil: free-form).
// When dst is valid (a settable zero value of type t) it also stores the
// value in dst as encoding/json would, or returns errSlow.
func (s *scanner) value(t reflect.Type, depth int, dst reflect.Value) error {
	return s.valueTI(t, nil, depth, dst)
}

// valueTI is value with t's typeInfo, when the caller has it (nil: look
// it up).
func (s *scanner) valueTI(t reflect.Type, known *typeInfo, depth int, dst reflect.Value) error {
	if depth > maxDepth {
		return fmt.Errorf("body nests deeper than %d levels %s", maxDepth, s.where())
	}
	c := s.peek()
	// (dst is only valid in the single pass; known, when given, is
	// getTypeInfo(t).)
	if dst.IsValid() && ((known != nil && known.strSlice) || (known == nil && t == strSliceType)) {
		return s.strSlice(dst, depth)
	}
	if c == 'n' { // null is accepted for every type, as encoding/json does
		if !s.literal("null") {
			return errSlow
		}
		if dst.IsValid() && t != nil {
			ti := known
			if ti == nil {
				ti = getTypeInfo(t)
			}
			if ti.delegate {
				return s.delegate(dst, s.pos-4, s.pos)
			}
			switch dst.Kind() {
			case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice:
				dst.SetZero()
			}
		}
		return nil
	}
	if t != nil {
		ti := known
		if ti == nil {
			ti = getTypeInfo(t)
		}
		if dst.IsValid() && ti.delegate {
			start := s.pos
			if err := s.valueTI(t, ti, depth, reflect.Value{}); err != nil {
				return err
			}
			return s.delegate(dst, start, s.pos)
		}
		switch ti.mode {
		case modeFree:
			// Types with their own UnmarshalJSON, and interface{}: checked
			// free-form (no duplicate keys, valid strings); encoding/json
			// then runs their decoder.
			t = nil
		case modeText:
			if c != '"' {
				return fmt.Errorf("%s must be a JSON string", s.pathOrBody())
			}
			_, err := s.str(false)
			return err
		case modeBad:
			return fmt.Errorf("%s: cannot decode into %s", s.pathOrBody(), t)
		}
		if t != nil {
			t = ti.t // pointers resolved
			if dst.IsValid() {
				for dst.Kind() == reflect.Pointer {
					if dst.IsNil() {
						dst.Set(reflect.New(dst.Type().Elem()))
					}
					dst = dst.Elem()
				}
			}
			switch t.Kind() {
			case reflect.Struct, reflect.Map:
				if c != '{' {
					return fmt.Errorf("%s must be a JSON object (%s)", s.pathOrBody(), typeLabel(t))
				}
				return s.object(t, ti, depth, dst)
			case reflect.Slice:
				if t.Elem().Kind() == reflect.Uint8 && c == '"' { // []byte as base64
					_, err := s.str(false)
					return err
				}
				if c != '[' {
					return fmt.Errorf("%s must be a JSON array", s.pathOrBody())
				}
				return s.array(t.Elem(), ti, depth, dst)
			case reflect.Array:
				if c != '[' {
					return fmt.Errorf("%s must be a JSON array", s.pathOrBody())
				}
				return s.array(t.Elem(), ti, depth, dst)
			case reflect.String:
				if c != '"' {
					return fmt.Errorf("%s must be a JSON string", s.pathOrBody())
				}
				v, err := s.str(dst.IsValid())
				if err == nil && dst.IsValid() && len(v) > 0 {
					dst.SetString(string(v))
				}
				return err
			case reflect.Bool:
				if c != 't' && c != 'f' {
					return fmt.Errorf("%s must be true or false", s.pathOrBody())
				}
				if dst.IsValid() && c == 't' {
					dst.SetBool(true)
				}
			default: // numbers
				if c != '-' && (c < '0' || c > '9') {
					return fmt.Errorf("%s must be a JSON number", s.pathOrBody())
				}
				if dst.IsValid() {
					start := s.pos
					if !s.number() {
						return errSlow
					}
					return setNumber(dst, s.data[start:s.pos])
				}
			}
		}
	}
	switch c {
	case '{':
		return s.object(nil, nil, depth, reflect.Value{})
	case '[':
		return s.array(nil, nil, depth, reflect.Value{})
	case '"':
		_, err := s.str(false)
		return err
	case 't':
		if !s.literal("true") {
			return errSlow
		}
	case 'f':
		if !s.literal("false") {
			return errSlow
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if !s.number() {
			return errSlow
		}
	default:
		return errSlow
	}
	return nil
}

// literal consumes lit (true, false, null) at s.pos, or reports false.
// The scanner checks JSON syntax as it goes (errSlow, never an answer of
// its own: the reference path runs json.Valid first and says what is
// wrong), so that the single pass needs no separate validation pass.
func (s *scanner) literal(lit string) bool {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return false
	}
	s.pos += len(lit)
	return true
}

// errSlow: the single-pass decoder leaves this document to the reference
// path (strictCheck, then encoding/json).
var errSlow = errors.New("strict decoder: take the reference path")

// decodeOnce is StrictDecode in one pass over data (after the same UTF-8
// and syntax checks as strictCheck), into dst, which must be a settable
// zero value. Any error means: use the reference path (after zeroing dst).
func decodeOnce(data []byte, dst reflect.Value) (err error) {
	defer func() {
		if recover() != nil { // a reflect corner this pass does not know: the reference path decides
			err = errSlow
		}
	}()
	if !dst.CanSet() {
		return errSlow
	}
	if !utf8.Valid(data) {
		return errSlow
	}
	// No json.Valid here: the scanner checks the syntax as it walks.
	s := scanner{data: data, once: true}
	s.skipWS()
	if err := s.value(dst.Type(), 0, dst); err != nil {
		return err
	}
	s.skipWS()
	if s.pos != len(s.data) {
		return errSlow
	}
	return nil
}

var strSliceType = reflect.TypeFor[strslice.StrSlice]()

// strSlice decodes a strslice.StrSlice (Cmd, Entrypoint: the hot path of
// every container create) as its UnmarshalJSON does, without it: an array
// of strings, or one string; [] gives an empty, non-nil slice and null a
// nil one. Anything else is left to the reference path.
func (s *scanner) strSlice(dst reflect.Value, depth int) error {
	if s.peek() == 'n' {
		if !s.literal("null") {
			return errSlow
		}
		return nil
	}
	if !dst.CanSet() {
		return errSlow
	}
	target, ok := dst.Addr().Interface().(*strslice.StrSlice)
	if !ok {
		return errSlow
	}
	var small [8][]byte
	parts := small[:0] // the elements, unescaped; views of s.data when they had no escape
	switch s.peek() {
	case '"':
		v, err := s.str(true)
		if err != nil {
			return err
		}
		parts = append(parts, v)
	case '[':
		if depth+1 > maxDepth {
			return errSlow
		}
		s.pos++
		s.skipWS()
		if s.peek() == ']' {
			s.pos++
			break
		}
		for {
			s.skipWS()
			if s.peek() != '"' {
				return errSlow
			}
			v, err := s.str(true)
			if err != nil {
				return err
			}
			parts = append(parts, v)
			more, err := s.next(']')
			if err != nil {
				return err
			}
			if !more {
				break
			}
		}
	default:
		return errSlow
	}
	*target = joinedStrings(parts)
	return nil
}

// joinedStrings copies parts into a new, non-nil slice of strings, with
// two allocations whatever their number: the slice, and one string holding
// all of their bytes, of which each element is a substring.
func joinedStrings(parts [][]byte) []string {
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	var b strings.Builder
	b.Grow(total)
	for _, p := range parts {
		b.Write(p)
	}
	all := b.String()
	out := make([]string, len(parts))
	off := 0
	for i, p := range parts {
		out[i] = all[off : off+len(p)]
		off += len(p)
	}
	return out
}

// delegate decodes data[start:end], already checked, into dst with
// encoding/json: for the types it decodes with their own methods
// (json.Unmarshaler, encoding.TextUnmarshaler), interface{}, []byte, and
// maps with keys other than plain strings. dst is a zero value, so this is
// what encoding/json does with the value in place.
func (s *scanner) delegate(dst reflect.Value, start, end int) error {
	if !dst.CanAddr() {
		return errSlow
	}
	if err := json.Unmarshal(s.data[start:end], dst.Addr().Interface()); err != nil {
		return errSlow
	}
	s.pos = end
	return nil
}

// leafValue is valueTI for a scalar of kind k (typeInfo.leaf) stored at p,
// in the single pass: the same checks, with the value written through p
// instead of through reflect. p points to a settable zero value of the
// scalar's type.
func (s *scanner) leafValue(k leafKind, depth int, p unsafe.Pointer) error {
	if depth > maxDepth {
		return errSlow
	}
	switch c := s.peek(); {
	case c == 'n': // null leaves a scalar as it is, as encoding/json does
		if !s.literal("null") {
			return errSlow
		}
		return nil
	case k == leafString:
		if c != '"' {
			return errSlow
		}
		v, err := s.str(true)
		if err == nil && len(v) > 0 {
			*(*string)(p) = string(v)
		}
		return err
	case k == leafBool:
		switch {
		case c == 't' && s.literal("true"):
			*(*bool)(p) = true
			return nil
		case c == 'f' && s.literal("false"):
			return nil
		}
		return errSlow
	case c == '-' || (c >= '0' && c <= '9'):
		start := s.pos
		if !s.number() {
			return errSlow
		}
		return storeNumber(k, p, s.data[start:s.pos])
	}
	return errSlow
}

// storeNumber is setNumber for a scalar of kind k at p: the same parsing and
// range checks as reflect's OverflowInt, OverflowUint and OverflowFloat.
func storeNumber(k leafKind, p unsafe.Pointer, num []byte) error {
	switch k {
	case leafInt8, leafInt16, leafInt32, leafInt64:
		neg := num[0] == '-'
		digits := num
		if neg {
			digits = num[1:]
		}
		u, ok := parseDigits(digits)
		if !ok || u > 1<<63 || (!neg && u == 1<<63) {
			return errSlow
		}
		n := int64(u)
		if neg {
			n = -n
		}
		switch k {
		case leafInt8:
			if n != int64(int8(n)) {
				return errSlow
			}
			*(*int8)(p) = int8(n)
		case leafInt16:
			if n != int64(int16(n)) {
				return errSlow
			}
			*(*int16)(p) = int16(n)
		case leafInt32:
			if n != int64(int32(n)) {
				return errSlow
			}
			*(*int32)(p) = int32(n)
		default:
			*(*int64)(p) = n
		}
	case leafUint8, leafUint16, leafUint32, leafUint64:
		u, ok := parseDigits(num)
		if !ok {
			return errSlow
		}
		switch k {
		case leafUint8:
			if u != uint64(uint8(u)) {
				return errSlow
			}
			*(*uint8)(p) = uint8(u)
		case leafUint16:
			if u != uint64(uint16(u)) {
				return errSlow
			}
			*(*uint16)(p) = uint16(u)
		case leafUint32:
			if u != uint64(uint32(u)) {
				return errSlow
			}
			*(*uint32)(p) = uint32(u)
		default:
			*(*uint64)(p) = u
		}
	case leafFloat32:
		f, err := strconv.ParseFloat(string(num), 32)
		if err != nil || math.Abs(f) > math.MaxFloat32 {
			return errSlow
		}
		*(*float32)(p) = float32(f)
	case leafFloat64:
		f, err := strconv.ParseFloat(string(num), 64)
		if err != nil {
			return errSlow
		}
		*(*float64)(p) = f
	default:
		return errSlow
	}
	return nil
}

// setNumber stores a JSON number (valid JSON syntax) in an int, uint or
// float value as encoding/json does; anything encoding/json refuses is
// errSlow.
func setNumber(dst reflect.Value, num []byte) error {
	switch dst.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		neg := len(num) > 0 && num[0] == '-'
		digits := num
		if neg {
			digits = num[1:]
		}
		u, ok := parseDigits(digits)
		if !ok || u > 1<<63 || (!neg && u == 1<<63) {
			return errSlow
		}
		n := int64(u)
		if neg {
			n = -n
		}
		if dst.OverflowInt(n) {
			return errSlow
		}
		dst.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u, ok := parseDigits(num)
		if !ok || dst.OverflowUint(u) {
			return errSlow
		}
		dst.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(string(num), dst.Type().Bits())
		if err != nil || dst.OverflowFloat(f) {
			return errSlow
		}
		dst.SetFloat(f)
	default:
		return errSlow
	}
	return nil
}

// parseDigits parses a non-empty run of decimal digits into a uint64.
func parseDigits(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if u > (math.MaxUint64-d)/10 {
			return 0, false
		}
		u = u*10 + d
	}
	return u, true
}

type typeMode int

const (
	modeValue typeMode = iota // walk by kind
	modeFree                  // free-form JSON (json.Unmarshaler, interface{})
	modeText                  // encoding.TextUnmarshaler: a string
	modeBad                   // not decodable (non-empty interface, func, chan)
)

type typeInfo struct {
	t    reflect.Type // pointers stripped
	mode typeMode
	si   *structInfo
	// delegate: the single-pass decoder leaves values of this type to
	// encoding/json (after checking them): types with their own decoding
	// methods, interface{}, json.Number, []byte and maps whose keys are not
	// plain strings.
	delegate bool
	// strSlice: the type is strslice.StrSlice, decoded in place by
	// scanner.strSlice.
	strSlice bool
	// leaf: the type itself (not a pointer to it) is a string, bool or
	// number kind that the single pass stores through a pointer
	// (scanner.leafValue); leafNone for everything else.
	leaf leafKind
	// empty is an empty, non-nil slice of a slice type: what [] decodes to.
	// Its capacity is 0, so sharing it between values is safe (appending
	// to it always allocates); it is what reflect.MakeSlice(t, 0, 0) gives.
	empty reflect.Value
}

// leafKind says how the single pass stores a scalar value.
type leafKind uint8

const (
	leafNone leafKind = iota
	leafString
	leafBool
	leafInt8
	leafInt16
	leafInt32
	leafInt64
	leafUint8
	leafUint16
	leafUint32
	leafUint64
	leafFloat32
	leafFloat64
)

// leafOf is the leafKind of a type that is not a pointer and has no
// decoding method of its own (typeInfo.mode is modeValue, not delegated).
func leafOf(t reflect.Type) leafKind {
	sized := func(k1, k2, k4, k8 leafKind) leafKind {
		switch t.Size() {
		case 1:
			return k1
		case 2:
			return k2
		case 4:
			return k4
		case 8:
			return k8
		}
		return leafNone
	}
	switch t.Kind() {
	case reflect.String:
		return leafString
	case reflect.Bool:
		return leafBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return sized(leafInt8, leafInt16, leafInt32, leafInt64)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return sized(leafUint8, leafUint16, leafUint32, leafUint64)
	case reflect.Float32:
		return leafFloat32
	case reflect.Float64:
		return leafFloat64
	}
	return leafNone
}

var numberType = reflect.TypeFor[json.Number]()

var typeCache sync.Map // reflect.Type -> *typeInfo

func getTypeInfo(t reflect.Type) *typeInfo {
	if ti, ok := typeCache.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{t: t}
	for {
		if ti.t.Implements(unmarshalerType) || (ti.t.Kind() != reflect.Pointer && reflect.PointerTo(ti.t).Implements(unmarshalerType)) {
			ti.mode = modeFree
			break
		}
		if ti.t.Implements(textUnmarshalerType) || (ti.t.Kind() != reflect.Pointer && reflect.PointerTo(ti.t).Implements(textUnmarshalerType)) {
			ti.mode = modeText
			break
		}
		if ti.t.Kind() == reflect.Pointer {
			ti.t = ti.t.Elem()
			continue
		}
		switch ti.t.Kind() {
		case reflect.Interface:
			if ti.t.NumMethod() == 0 {
				ti.mode = modeFree
			} else {
				ti.mode = modeBad
			}
		case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
			ti.mode = modeBad
		case reflect.Struct:
			ti.si = getStructInfo(ti.t)
		case reflect.Map:
			kt := ti.t.Key()
			switch kt.Kind() {
			case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			default:
				if !reflect.PointerTo(kt).Implements(textUnmarshalerType) {
					ti.mode = modeBad
				}
			}
		}
		break
	}
	switch {
	case ti.mode != modeValue, ti.t == numberType:
		ti.delegate = true
	case ti.t.Kind() == reflect.Slice && ti.t.Elem().Kind() == reflect.Uint8:
		ti.delegate = true
	case ti.t.Kind() == reflect.Map:
		kt := ti.t.Key()
		ti.delegate = kt.Kind() != reflect.String || reflect.PointerTo(kt).Implements(textUnmarshalerType)
	}
	ti.strSlice = t == strSliceType
	if ti.mode == modeValue && !ti.delegate && t.Kind() != reflect.Pointer {
		ti.leaf = leafOf(t)
	}
	if ti.mode == modeValue && ti.t.Kind() == reflect.Slice {
		ti.empty = reflect.MakeSlice(ti.t, 0, 0)
	}
	actual, _ := typeCache.LoadOrStore(t, ti)
	return actual.(*typeInfo)
}

// number consumes a JSON number and reports whether it follows the JSON
// grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	start := s.pos
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			s.pos++
		default:
			return validNumber(s.data[start:s.pos])
		}
	}
	return validNumber(s.data[start:s.pos])
}

func validNumber(b []byte) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

// array checks (and in the single pass, stores) a JSON array of elem
// values (elem nil: free-form). ti is the typeInfo of the slice or array
// type when there is one.
func (s *scanner) array(elem reflect.Type, ti *typeInfo, depth int, dst reflect.Value) error {
	s.pos++ // [
	s.skipWS()
	if s.peek() == ']' {
		s.pos++
		if dst.IsValid() && dst.Kind() == reflect.Slice {
			if ti != nil && ti.empty.IsValid() && ti.empty.Type() == dst.Type() {
				dst.Set(ti.empty) // [] is an empty slice, not nil
			} else {
				dst.Set(reflect.MakeSlice(dst.Type(), 0, 0)) // [] is an empty slice, not nil
			}
		}
		return nil
	}
	var eti *typeInfo
	if elem != nil {
		eti = getTypeInfo(elem)
	}
	top := s.push(pathSeg{isIdx: true})
	for i := 0; ; i++ {
		if !s.once {
			s.path[top].index = i
		}
		s.skipWS()
		var ev reflect.Value
		if dst.IsValid() {
			switch {
			case dst.Kind() == reflect.Slice:
				if i >= dst.Cap() {
					dst.Grow(max(4, dst.Cap()))
				}
				dst.SetLen(i + 1)
				ev = dst.Index(i)
			case i < dst.Len(): // arrays: elements past the end are dropped
				ev = dst.Index(i)
			}
		}
		if eti != nil && eti.leaf != leafNone && ev.IsValid() && ev.CanSet() {
			if err := s.leafValue(eti.leaf, depth+1, ev.Addr().UnsafePointer()); err != nil {
				return err
			}
		} else if err := s.valueTI(elem, eti, depth+1, ev); err != nil {
			return err
		}
		more, err := s.next(']')
		if err != nil {
			return err
		}
		if more {
			continue
		}
		s.pop(top)
		return nil
	}
}

// next consumes what follows a value in an array or an object: ',' (more
// values follow: true) or the closing bracket (false). Anything else is not
// JSON: errSlow.
func (s *scanner) next(closing byte) (bool, error) {
	// The common case, no whitespace before the separator, small enough
	// to inline.
	if s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ',':
			s.pos++
			return true, nil
		case closing:
			s.pos++
			return false, nil
		}
	}
	return s.nextAfterWS(closing)
}

// nextAfterWS is next when whitespace (or anything else) comes first.
func (s *scanner) nextAfterWS(closing byte) (bool, error) {
	s.skipWS()
	switch s.peek() {
	case ',':
		s.pos++
		return true, nil
	case closing:
		s.pos++
		return false, nil
	}
	return false, errSlow
}

// keySet detects duplicate keys of one object without allocating for
// small objects.
type keySet struct {
	small [16][]byte
	n     int
	big   map[string]struct{}
}

// add reports whether k was already present.
func (ks *keySet) add(k []byte) bool {
	if ks.big != nil {
		if _, ok := ks.big[string(k)]; ok {
			return true
		}
		ks.big[string(k)] = struct{}{}
		return false
	}
	for i := 0; i < ks.n; i++ {
		if bytes.Equal(ks.small[i], k) {
			return true
		}
	}
	if ks.n < len(ks.small) {
		ks.small[ks.n] = k
		ks.n++
		return false
	}
	ks.big = make(map[string]struct{}, 2*len(ks.small))
	for _, x := range ks.small {
		ks.big[string(x)] = struct{}{}
	}
	ks.big[string(k)] = struct{}{}
	return false
}

func (s *scanner) object(t reflect.Type, ti *typeInfo, depth int, dst reflect.Value) error {
	s.pos++ // {
	var si *structInfo
	var elem reflect.Type
	isMap := false
	if ti != nil {
		if ti.si != nil {
			si = ti.si
		} else {
			isMap = true
			elem = t.Elem()
		}
	}
	var mapElem reflect.Value
	var elemTI *typeInfo
	// base is the address of the struct being decoded, for the fields the
	// single pass writes through their offset (jsonField.direct).
	var base unsafe.Pointer
	if dst.IsValid() {
		switch {
		case si != nil && si.quoted:
			return errSlow
		case isMap:
			if dst.IsNil() {
				dst.Set(reflect.MakeMap(dst.Type())) // {} is an empty map, not nil
			}
		case si == nil:
			return errSlow
		case dst.CanAddr() && dst.CanSet():
			base = dst.Addr().UnsafePointer()
		}
	}
	s.skipWS()
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	// Duplicate detection: a bit per field for structs, a key set otherwise.
	var fieldSeen []uint64
	var seen *keySet
	if si != nil {
		fieldSeen = make([]uint64, (len(si.list)+64)/64)
	} else {
		seen = &keySet{}
	}
	top := s.push(pathSeg{isMap: si == nil})
	var prev *jsonField // the previous key's field (single pass only)
	for {
		s.skipWS()
		if s.peek() != '"' {
			return errSlow
		}
		key, err := s.str(true)
		if err != nil {
			return err
		}
		var f *jsonField
		dup := false
		if si != nil {
			if s.once {
				// Clients write fields in encoding/json's order: try the
				// field after the previous one first. Field names are the
				// keys of si.fields, so a match is the field the lookup
				// would find.
				cand := si.first
				if prev != nil {
					cand = prev.next
				}
				if cand != nil && cand.name == string(key) {
					f = cand
				} else {
					f = si.fields[string(key)]
				}
				prev = f
			} else {
				f = si.fields[string(key)]
			}
			if f != nil {
				dup = fieldSeen[uint(f.idx)/64]&(1<<(uint(f.idx)%64)) != 0
				fieldSeen[uint(f.idx)/64] |= 1 << (uint(f.idx) % 64)
			} else {
				if seen == nil {
					seen = &keySet{}
				}
				dup = seen.add(key)
			}
		} else {
			dup = seen.add(key)
		}
		if dup {
			s.pop(top)
			if si == nil {
				return fmt.Errorf("duplicate key %q %s: refusing (JSON decoders disagree on which one wins)", key, s.where())
			}
			return fmt.Errorf("duplicate body key %q %s: refusing (JSON decoders disagree on which one wins)", key, s.where())
		}
		if !s.once {
			s.path[top].key = key
		}
		s.skipWS()
		if s.peek() != ':' {
			return errSlow
		}
		s.pos++
		s.skipWS()
		var vt reflect.Type
		var vti *typeInfo
		var fv reflect.Value
		switch {
		case si != nil:
			if f == nil {
				if s.once && si.skip[string(key)] || !s.once && si.ignore[string(key)] && !si.foldsToField(string(key)) {
					// A newer API field dockerd 20.10 ignores: its value is
					// still checked free-form (duplicate keys, strings).
					s.ignored = true
					break
				}
				s.pop(top)
				return si.unknownKey(string(key), s.where())
			}
			vt, vti = f.typ, f.ti.Load()
			if vti == nil {
				vti = f.typeInfo()
			}
			if dst.IsValid() {
				if vti.leaf != leafNone && f.direct && base != nil {
					// A scalar field inside this struct: stored in place.
					if err := s.leafValue(vti.leaf, depth+1, fieldAddr(base, f)); err != nil {
						return err
					}
					goto after
				}
				var err error
				if fv, err = fieldByIndex(dst, f.index); err != nil {
					return err
				}
			}
		case isMap:
			vt = elem
			if elemTI == nil {
				elemTI = getTypeInfo(elem)
			}
			vti = elemTI
			if dst.IsValid() {
				if mapElem.IsValid() {
					mapElem.SetZero()
				} else {
					mapElem = reflect.New(elem).Elem()
				}
				fv = mapElem
			}
		}
		if err := s.valueTI(vt, vti, depth+1, fv); err != nil {
			return err
		}
		if isMap && dst.IsValid() {
			s.setMapIndex(dst, t.Key(), key, mapElem)
		}
	after:
		more, err := s.next('}')
		if err != nil {
			return err
		}
		if more {
			continue
		}
		s.pop(top)
		return nil
	}
}

// setMapIndex stores elem under key in the map m (with string-kind keys:
// getTypeInfo delegates the others), as encoding/json does. The key value
// is built in the scanner's scratch string, which SetMapIndex copies.
func (s *scanner) setMapIndex(m reflect.Value, kt reflect.Type, key []byte, elem reflect.Value) {
	s.key = string(key)
	m.SetMapIndex(reflect.NewAt(kt, unsafe.Pointer(&s.key)).Elem(), elem)
	s.key = ""
}

// fieldByIndex is the field at index in struct v, allocating embedded
// struct pointers on the way as encoding/json does.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, error) {
	for _, i := range index {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() { // embedded pointer to an unexported struct: encoding/json errors
					return reflect.Value{}, errSlow
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	return v, nil
}

func (si *structInfo) foldsToField(key string) bool {
	k := foldName(key)
	for _, f := range si.list {
		if f.folded == k || strings.EqualFold(f.name, key) {
			return true
		}
	}
	return false
}

func (si *structInfo) unknownKey(key, where string) error {
	k := foldName(key)
	for _, f := range si.list {
		if f.folded == k || strings.EqualFold(f.name, key) {
			how := "only in case"
			for _, r := range key {
				if r >= utf8.RuneSelf {
					how = "only by Unicode case folding"
					break
				}
			}
			return fmt.Errorf("body key %q %s differs from the API field %q %s: refusing", key, where, f.name, how)
		}
	}
	return fmt.Errorf("unknown body key %q %s (%s has no such field): refusing", key, where, si.label)
}

// str reads a JSON string at s.pos and returns its unescaped bytes (a slice
// of the input when there is no escape). It rejects lone UTF-16 surrogate
// escapes, which encoding/json would silently turn into U+FFFD. When need is
// false the caller only wants validation.
func (s *scanner) str(need bool) ([]byte, error) {
	if s.once {
		// The loop below, with the position in a register, eight bytes
		// at a time (straight to the first byte that is not plain), then
		// one table lookup per byte for the last few.
		data := s.data
		start := s.pos + 1
		i := start
		for {
			if i+8 > len(data) {
				for i < len(data) && plainStringByte[data[i]] {
					i++
				}
				break
			}
			if m := specialStringMask(binary.LittleEndian.Uint64(data[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i < len(data) && data[i] == '"' {
			s.pos = i + 1
			return data[start:i], nil
		}
		// An escape, a control character or the end of the data: the
		// loop below, from the start of the string.
	}
	s.pos++ // opening quote
	start := s.pos
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		if c == '"' {
			v := s.data[start:s.pos]
			s.pos++
			return v, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 { // not allowed raw in a JSON string
			return nil, errSlow
		}
		s.pos++
	}
	// Slow path with escapes.
	var buf []byte
	if need {
		buf = append([]byte(nil), s.data[start:s.pos]...)
	}
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return buf, nil
		case c < 0x20:
			return nil, errSlow
		case c != '\\':
			if need {
				buf = append(buf, c)
			}
			s.pos++
			continue
		}
		s.pos++
		if s.pos >= len(s.data) {
			return nil, errSlow
		}
		e := s.data[s.pos]
		s.pos++
		var r rune
		switch e {
		case '"', '\\', '/':
			r = rune(e)
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		default:
			if e != 'u' {
				return nil, errSlow
			}
			var ok bool
			if r, ok = s.hex4(); !ok {
				return nil, errSlow
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xDC00 || s.pos+6 > len(s.data) || s.data[s.pos] != '\\' || s.data[s.pos+1] != 'u' {
					return nil, fmt.Errorf("lone UTF-16 surrogate escape in a string %s: refusing", s.where())
				}
				s.pos += 2
				r2, ok := s.hex4()
				if !ok {
					return nil, errSlow
				}
				dec := utf16.DecodeRune(r, r2)
				if dec == unicode.ReplacementChar {
					return nil, fmt.Errorf("invalid UTF-16 surrogate pair escape in a string %s: refusing", s.where())
				}
				r = dec
			}
		}
		if need {
			buf = utf8.AppendRune(buf, r)
		}
	}
	return nil, fmt.Errorf("unterminated string %s", s.where())
}

// plainStringByte[c]: c stands for itself inside a JSON string (not '"',
// not '\\', not a control character).
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// specialStringMask has the high bit of byte k set when byte k of w (little
// endian) is '"', '\\' or a control character (< 0x20), for the lowest
// such byte and possibly for higher bytes after it, and is zero when there
// is none: the zero-byte and less-than tests of "Bit Twiddling Hacks",
// whose borrows only run upwards from a matching byte, so the lowest set
// bit is exact.
func specialStringMask(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := w ^ (ones * '"')
	backslash := w ^ (ones * '\\')
	return ((quote-ones)&^quote | (backslash-ones)&^backslash | (w-ones*0x20)&^w) & highs
}

// hex4 reads the four hex digits of a \u escape.
func (s *scanner) hex4() (rune, bool) {
	if len(s.data)-s.pos < 4 {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		c := s.data[s.pos]
		s.pos++
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
