package audit

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// MaxStoredBody is the largest request body stored at LevelRequest; a larger
// body is replaced by a marker (its digest and size are still recorded).
const MaxStoredBody = 64 << 10

// RedactedBody is a request body as the trail may store it: JSON with every
// secret replaced (see Redactor.Body). Its content is unexported so that no
// code outside this package can put raw data in it: Redactor.Body and
// RedactBody are its only constructors. It encodes as the redacted JSON
// value, or as a string marker for a body that is not stored (not JSON, or
// larger than MaxStoredBody).
type RedactedBody struct {
	// raw is the encoded redacted value, exactly as encoding/json would
	// marshal the decoded and redacted body: compact, object members sorted
	// by name, strings escaped as encoding/json escapes them.
	raw []byte
}

// MarshalJSON returns the redacted value; a nil or zero body encodes as
// null.
func (b *RedactedBody) MarshalJSON() ([]byte, error) {
	if b == nil || len(b.raw) == 0 {
		return []byte("null"), nil
	}
	return bytes.Clone(b.raw), nil
}

// Value returns the redacted value (map[string]any, []any, string,
// json.Number, bool or nil), decoded afresh on every call: read-only access
// for tests and tools.
func (b *RedactedBody) Value() any {
	if b == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b.raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil // cannot happen: raw is produced by Body
	}
	return v
}

// credentialURL matches the user information of a URL (scheme://user:pw@).
var credentialURL = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s"]+@`)

// redactURLCredentials replaces the user information of every URL in s.
func redactURLCredentials(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	return credentialURL.ReplaceAllString(s, "${1}REDACTED@")
}

// RedactBody is Redactor.Body with no HMAC key.
func RedactBody(route string, body []byte) *RedactedBody {
	return (*Redactor)(nil).Body(route, body)
}

// Body returns the form of a request body the trail may store, or nil for
// an empty body. route is the normalised route name (e.g. "secret:create"),
// which tells which fields are secret beyond their names. The body is read
// as JSON and every secret is replaced by the redacted form of Value:
//
//   - the value of any member whose name is a SensitiveName (password,
//     secret, token, auth, key, credential, cookie, session...), whatever
//     its type: a string becomes Value(string), an object or array becomes
//     Value of its JSON text, so equal secrets still correlate;
//   - the values of environment variables: every "NAME=value" string of an
//     array member named Env (container create, exec, service specs) keeps
//     NAME= and gets a redacted value; a body that is itself an array of
//     strings (plugin set: ["KEY=value"]) is treated the same way;
//   - the Data member of secret and config bodies (base64 of the secret);
//   - user information in any URL inside any string (https://user:pw@host).
//
// The result is what encoding/json makes of the decoded and redacted value:
// compact, the members of every object sorted by name (the last of
// duplicate members wins), strings escaped as encoding/json escapes them.
// It is produced in one pass over the body, without decoding it into Go
// values (see bodyWriter).
//
// A body that is not JSON (a build context, an image tarball) or larger than
// MaxStoredBody is not stored: the result is a string marker naming its
// size, and Record.BodySHA256 identifies it.
func (r *Redactor) Body(route string, body []byte) *RedactedBody {
	if len(body) == 0 {
		return nil
	}
	if len(body) > MaxStoredBody {
		return bodyMarker(len(body), ", larger than "+strconv.Itoa(MaxStoredBody))
	}
	w := bodyWriter{r: r, in: body, out: make([]byte, 0, len(body)+len(body)/8+16)}
	secretData := strings.HasPrefix(route, "secret:") || strings.HasPrefix(route, "config:")
	sc := w.takeScratch()
	ok := w.top(secretData)
	w.putScratch(sc)
	if !ok {
		return bodyMarker(len(body), ", not JSON")
	}
	return &RedactedBody{raw: w.out}
}

// bodyMarker is the string marker stored in place of a body that is not
// stored: "[not stored: N bytes<why>]".
func bodyMarker(n int, why string) *RedactedBody {
	return &RedactedBody{raw: []byte(`"[not stored: ` + strconv.Itoa(n) + ` bytes` + why + `]"`)}
}
