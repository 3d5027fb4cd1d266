package audit

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/docker-authz/docker-authz/authz/request"
)

// This file encodes a Record without reflection. The trail's hash chain
// commits to the exact bytes of every line, and trails written by earlier
// versions must keep verifying, so appendRecord has one contract: its output
// is byte for byte what json.Marshal(rec) returns. encoding/json stays the
// reference (marshalRecordRef) and the fallback: TestAppendRecordMatchesJSON
// and FuzzAppendRecord compare the two.

// appendRecord appends rec encoded exactly as json.Marshal(rec) encodes it
// and reports true, or returns dst unchanged and false when it cannot
// guarantee identical bytes; the caller must then use marshalRecordRef. It
// declines a Time outside the years 0-9999 or with an offset json.Marshal
// refuses (json.Marshal fails on those), a Body that encoding/json would
// compact or escape further (never produced by Redactor.Body), and every
// record while the Go types differ from the schema it was written for
// (recordLayoutErr).
func appendRecord(dst []byte, r *Record) ([]byte, bool) {
	if recordLayoutErr != nil {
		return dst, false
	}
	if r.Body != nil && !compactSafe(r.Body.raw) {
		return dst, false
	}
	b := append(dst, `{"time":"`...)
	b, err := r.Time.AppendText(b) // Time.MarshalJSON without the quotes
	if err != nil {
		return dst, false
	}
	b = append(b, `","v":`...)
	b = strconv.AppendInt(b, int64(r.V), 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, r.Seq, 10)
	b = appendMember(b, `,"id":`, r.ID)
	b = appendMember(b, `,"stage":`, r.Stage)
	b = appendOmitEmpty(b, `,"request_id":`, r.RequestID)
	b = appendOmitEmpty(b, `,"host":`, r.Host)

	b = appendMember(b, `,"user":`, r.User)
	b = appendStrings(b, `,"groups":`, r.Groups)
	b = appendOmitEmpty(b, `,"auth_method":`, r.AuthMethod)
	b = appendOmitEmpty(b, `,"cert_sha256":`, r.CertSHA256)
	b = appendOmitEmpty(b, `,"cert_serial":`, r.CertSerial)
	b = appendOmitEmpty(b, `,"claimed_user":`, r.ClaimedUser)

	b = appendMember(b, `,"method":`, r.Method)
	b = appendMember(b, `,"uri":`, r.URI)
	b = appendOmitEmpty(b, `,"route":`, r.Route)
	b = appendOmitEmpty(b, `,"api_version":`, r.APIVersion)
	b = appendOmitEmpty(b, `,"object":`, r.Object)
	b = appendOmitEmpty(b, `,"owner":`, r.Owner)
	b = appendOmitEmpty(b, `,"object_id":`, r.ObjectID)
	b = appendFacets(b, `,"facets":`, r.Facets)
	b = appendHeaders(b, `,"headers":`, r.Headers)
	b = appendOmitEmpty(b, `,"body_sha256":`, r.BodySHA256)
	if r.BodySize != 0 {
		b = append(b, `,"body_size":`...)
		b = strconv.AppendInt(b, int64(r.BodySize), 10)
	}
	b = appendOmitEmpty(b, `,"level":`, r.Level)
	if r.Body != nil {
		b = append(b, `,"body":`...)
		if len(r.Body.raw) == 0 {
			b = append(b, "null"...) // what MarshalJSON returns for it
		} else {
			b = append(b, r.Body.raw...)
		}
	}

	b = appendMember(b, `,"decision":`, r.Decision)
	b = appendOmitEmpty(b, `,"reason":`, r.Reason)
	b = appendStrings(b, `,"rules":`, r.Rules)
	b = appendFacets(b, `,"denied":`, r.Denied)
	b = appendOmitEmpty(b, `,"policy_revision":`, r.PolicyRevision)
	if r.Status != 0 {
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(r.Status), 10)
	}
	if c := r.Checkpoint; c != nil {
		b = append(b, `,"checkpoint":{"seq":`...)
		b = strconv.AppendUint(b, c.Seq, 10)
		b = appendMember(b, `,"head":`, c.Head)
		b = appendMember(b, `,"reason":`, c.Reason)
		b = appendMember(b, `,"key_id":`, c.KeyID)
		b = appendMember(b, `,"sig":`, c.Sig)
		b = append(b, '}')
	}

	b = appendMember(b, `,"prev_hash":`, r.PrevHash)
	b = appendMember(b, `,"hash":`, r.Hash)
	return append(b, '}'), true
}

// marshalRecordRef is the reference encoding of a record: encoding/json.
// It takes a copy so that only this path moves the record to the heap.
func marshalRecordRef(r Record) ([]byte, error) {
	return json.Marshal(&r)
}

// appendMember appends key (`,"name":`) and s as a JSON string.
func appendMember(b []byte, key, s string) []byte {
	return appendJSONString(append(b, key...), s)
}

// appendOmitEmpty is appendMember for an omitempty string: nothing for "".
func appendOmitEmpty(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendMember(b, key, s)
}

// appendStrings appends an omitempty []string member: nothing when empty
// (nil or not).
func appendStrings(b []byte, key string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(b, key...)
	for i, s := range ss {
		if i == 0 {
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendFacets appends an omitempty []request.Facet member.
func appendFacets(b []byte, key string, fs []request.Facet) []byte {
	if len(fs) == 0 {
		return b
	}
	b = append(b, key...)
	for i := range fs {
		f := &fs[i]
		if i == 0 {
			b = append(b, `[{"kind":`...)
		} else {
			b = append(b, `,{"kind":`...)
		}
		b = appendJSONString(b, f.Kind)
		b = appendMember(b, `,"value":`, f.Value)
		b = appendOmitEmpty(b, `,"source":`, f.Source)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendHeaders appends an omitempty map[string]string member with its keys
// sorted, as encoding/json writes maps.
func appendHeaders(b []byte, key string, h map[string]string) []byte {
	if len(h) == 0 {
		return b
	}
	var small [16]string
	keys := small[:0]
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, key...)
	for i, k := range keys {
		if i == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, h[k])
	}
	return append(b, '}')
}

// compactSafe reports whether encoding/json, which compacts the output of
// every MarshalJSON and escapes <, >, &, U+2028 and U+2029 in it, would
// leave raw as it is: no whitespace outside strings and none of those
// characters anywhere. raw must be valid JSON, as RedactedBody.raw is by
// construction; the check guards the invariant that it is also compact and
// escaped, at a fraction of the cost of compacting it again.
func compactSafe(raw []byte) bool {
	inString := false
	for i := 0; i < len(raw); i++ {
		for i < len(raw) && !compactStop[raw[i]] {
			i++
		}
		if i == len(raw) {
			break
		}
		switch c := raw[i]; c {
		case '<', '>', '&':
			return false
		case 0xE2: // U+2028 and U+2029 are E2 80 A8 and E2 80 A9
			if i+2 < len(raw) && raw[i+1] == 0x80 && raw[i+2]&^1 == 0xA8 {
				return false
			}
		case '\\':
			i++ // in a string: skip the escaped byte (", \, /, b, f, n, r, t or u)
		case '"':
			inString = !inString
		default: // whitespace
			if !inString {
				return false
			}
		}
	}
	return true
}

// compactStop marks the bytes compactSafe looks at.
var compactStop = func() (t [256]bool) {
	for _, c := range []byte("<>&\xE2\\\" \t\n\r") {
		t[c] = true
	}
	return t
}()

// recordLayoutErr is non-nil when Record, Checkpoint or request.Facet no
// longer have the members appendRecord writes (names, types, tags, order)
// or gained their own JSON or text marshalling. Records are then encoded by
// encoding/json only, and TestRecordLayout fails: update appendRecord
// together with the types.
var recordLayoutErr = checkRecordLayout()

type fieldSpec struct {
	name, tag string
	typ       reflect.Type
}

func checkRecordLayout() error {
	str, facets, strs := reflect.TypeFor[string](), reflect.TypeFor[[]request.Facet](), reflect.TypeFor[[]string]()
	integer, u64 := reflect.TypeFor[int](), reflect.TypeFor[uint64]()
	record := []fieldSpec{
		{"Time", "time", reflect.TypeFor[time.Time]()}, {"V", "v", integer}, {"Seq", "seq", u64},
		{"ID", "id", str}, {"Stage", "stage", str}, {"RequestID", "request_id,omitempty", str}, {"Host", "host,omitempty", str},
		{"User", "user", str}, {"Groups", "groups,omitempty", strs}, {"AuthMethod", "auth_method,omitempty", str},
		{"CertSHA256", "cert_sha256,omitempty", str}, {"CertSerial", "cert_serial,omitempty", str}, {"ClaimedUser", "claimed_user,omitempty", str},
		{"Method", "method", str}, {"URI", "uri", str}, {"Route", "route,omitempty", str}, {"APIVersion", "api_version,omitempty", str},
		{"Object", "object,omitempty", str}, {"Owner", "owner,omitempty", str}, {"ObjectID", "object_id,omitempty", str},
		{"Facets", "facets,omitempty", facets}, {"Headers", "headers,omitempty", reflect.TypeFor[map[string]string]()},
		{"BodySHA256", "body_sha256,omitempty", str}, {"BodySize", "body_size,omitempty", integer}, {"Level", "level,omitempty", str},
		{"Body", "body,omitempty", reflect.TypeFor[*RedactedBody]()},
		{"Decision", "decision", str}, {"Reason", "reason,omitempty", str}, {"Rules", "rules,omitempty", strs},
		{"Denied", "denied,omitempty", facets}, {"PolicyRevision", "policy_revision,omitempty", str}, {"Status", "status,omitempty", integer},
		{"Checkpoint", "checkpoint,omitempty", reflect.TypeFor[*Checkpoint]()},
		{"PrevHash", "prev_hash", str}, {"Hash", "hash", str},
	}
	checkpoint := []fieldSpec{{"Seq", "seq", u64}, {"Head", "head", str}, {"Reason", "reason", str}, {"KeyID", "key_id", str}, {"Sig", "sig", str}}
	facet := []fieldSpec{{"Kind", "kind", str}, {"Value", "value", str}, {"Source", "source,omitempty", str}}
	for _, c := range []struct {
		t     reflect.Type
		specs []fieldSpec
	}{{reflect.TypeFor[Record](), record}, {reflect.TypeFor[Checkpoint](), checkpoint}, {reflect.TypeFor[request.Facet](), facet}} {
		if err := checkFields(c.t, c.specs); err != nil {
			return err
		}
	}
	// The encoder relies on these two marshalling as it assumes:
	// Time.MarshalJSON is `"` + Time.AppendText + `"`, and RedactedBody
	// marshals as its raw bytes (checked by the equivalence tests).
	if !reflect.PointerTo(reflect.TypeFor[RedactedBody]()).Implements(reflect.TypeFor[json.Marshaler]()) {
		return fmt.Errorf("audit: *RedactedBody does not implement json.Marshaler")
	}
	return nil
}

// checkFields checks that t has exactly the fields of specs, in order, and
// no marshalling methods of its own.
func checkFields(t reflect.Type, specs []fieldSpec) error {
	for _, tt := range []reflect.Type{t, reflect.PointerTo(t)} {
		if tt.Implements(reflect.TypeFor[json.Marshaler]()) || tt.Implements(reflect.TypeFor[encoding.TextMarshaler]()) {
			return fmt.Errorf("audit: %v has its own JSON or text marshalling", tt)
		}
	}
	if t.NumField() != len(specs) {
		return fmt.Errorf("audit: %v has %d fields, the record encoder knows %d", t, t.NumField(), len(specs))
	}
	for i, s := range specs {
		f := t.Field(i)
		if f.Name != s.name || f.Type != s.typ || f.Tag.Get("json") != s.tag || f.Anonymous {
			return fmt.Errorf("audit: field %d of %v is %s %v `json:%q`, the record encoder knows %s %v `json:%q`",
				i, t, f.Name, f.Type, f.Tag.Get("json"), s.name, s.typ, s.tag)
		}
	}
	return nil
}
