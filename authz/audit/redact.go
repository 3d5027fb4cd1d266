package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Redacted replaces a secret value when no HMAC key is configured.
const Redacted = "[REDACTED]"

// HMACPrefix starts a value replaced by its keyed HMAC.
const HMACPrefix = "hmac-sha256:"

// MinHMACKeySize is the shortest HMAC key Open accepts.
const MinHMACKeySize = 16

// maxClearHeader bounds a header value kept in clear.
const maxClearHeader = 512

// clearHeaders are the headers whose values are kept in clear: they describe
// the request and the client and never carry credentials.
var clearHeaders = map[string]bool{
	"Accept":            true,
	"Accept-Encoding":   true,
	"Connection":        true,
	"Content-Encoding":  true,
	"Content-Length":    true,
	"Content-Type":      true,
	"Host":              true,
	"Transfer-Encoding": true,
	"Upgrade":           true,
	"User-Agent":        true,
}

// clearHeaderNames is clearHeaders without any name that is also a
// SensitiveName (none today; a sensitive name is always redacted).
var clearHeaderNames = func() map[string]bool {
	m := make(map[string]bool, len(clearHeaders))
	for name, clear := range clearHeaders {
		m[name] = clear && !SensitiveName(name)
	}
	return m
}()

var sensitiveNames = map[string]bool{
	"authorization":       true,
	"proxy-authorization": true,
	"cookie":              true,
	"set-cookie":          true,
	"x-registry-auth":     true,
	"x-registry-config":   true,
}

var sensitiveWords = []string{"auth", "token", "secret", "passw", "key", "credential", "cookie", "session"}

// SensitiveName reports whether a header, query parameter or field name
// suggests its value is a secret: the known credential headers, and any name
// containing auth, token, secret, passw(ord), key, credential, cookie or
// session, case-insensitively. It over-matches on purpose.
func SensitiveName(name string) bool {
	n := strings.ToLower(name)
	if sensitiveNames[n] {
		return true
	}
	for _, w := range sensitiveWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// Redactor replaces secrets by Redacted, or, with an HMAC key, by
// "hmac-sha256:<hex>" so that equal secrets can be correlated across records
// without being revealed. A nil *Redactor redacts without a key.
type Redactor struct {
	key []byte
}

// NewRedactor returns a Redactor using hmacKey (copied); an empty key gives
// plain Redacted markers. The key must stay secret: with it, low-entropy
// secrets such as passwords can be guessed from their HMAC.
func NewRedactor(hmacKey []byte) *Redactor {
	return &Redactor{key: append([]byte(nil), hmacKey...)}
}

// Value returns the redacted form of a secret value. The marker itself is
// returned unchanged, so redacting twice is harmless.
func (r *Redactor) Value(v string) string {
	if v == Redacted || r == nil || len(r.key) == 0 {
		return Redacted
	}
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(v))
	return HMACPrefix + hex.EncodeToString(m.Sum(nil))
}

// Headers returns the headers as they may be written to the trail. Names are
// canonicalised (Content-Type). Values of the allow-listed descriptive
// headers (Content-Type, Content-Length, User-Agent, Host, ...) are kept in
// clear, cut to 512 bytes; every other value, sensitive or merely unknown, is
// redacted with Value, and its name kept, so an auditor sees that the header
// was sent. The input map is not modified. Nil or empty input gives nil.
func (r *Redactor) Headers(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	var small [16]string // no allocation for the usual few headers
	keys := small[:0]
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic when two spellings canonicalise alike
	out := make(map[string]string, len(h))
	for _, k := range keys {
		name := textproto.CanonicalMIMEHeaderKey(k)
		v := h[k]
		if clearHeaderNames[name] {
			out[name] = clip(v)
		} else {
			out[name] = r.Value(v)
		}
	}
	return out
}

// URI returns uri with secrets in its query redacted: values of parameters
// with a SensitiveName, the values (not the names) of the build arguments in
// "buildargs", and user information in URL-valued parameters such as
// "remote" (https://user:token@host/repo.git). An unparseable query is
// replaced by Redacted as a whole. A URI with nothing to redact is returned
// unchanged, byte for byte.
func (r *Redactor) URI(uri string) string {
	i := strings.IndexByte(uri, '?')
	if i < 0 {
		return uri
	}
	q, err := url.ParseQuery(uri[i+1:])
	if err != nil {
		return uri[:i+1] + Redacted
	}
	changed := false
	for k, vs := range q {
		for j, v := range vs {
			nv := r.queryValue(k, v)
			if nv != v {
				vs[j] = nv
				changed = true
			}
		}
	}
	if !changed {
		return uri
	}
	return uri[:i+1] + q.Encode()
}

func (r *Redactor) queryValue(name, v string) string {
	switch {
	case SensitiveName(name):
		return r.Value(v)
	case strings.EqualFold(name, "buildargs"):
		var args map[string]*string
		if err := json.Unmarshal([]byte(v), &args); err != nil {
			return r.Value(v)
		}
		for k, a := range args {
			if a != nil {
				s := r.Value(*a)
				args[k] = &s
			}
		}
		b, err := json.Marshal(args)
		if err != nil {
			return r.Value(v)
		}
		return string(b)
	case strings.Contains(v, "@") && strings.Contains(v, "://"):
		u, err := url.Parse(v)
		if err != nil {
			return r.Value(v) // cannot tell the credentials apart: hide it all
		}
		if u.User != nil {
			// The user part may itself be a token (https://<token>@host).
			u.User = url.User("REDACTED")
			return u.String()
		}
	}
	return v
}

// clip cuts a clear value to maxClearHeader bytes on a rune boundary; the
// result of clip is itself unchanged by clip.
func clip(v string) string {
	if len(v) <= maxClearHeader {
		return v
	}
	const mark = "...[truncated]"
	n := maxClearHeader - len(mark)
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return v[:n] + mark
}

// RedactHeaders is Headers with no HMAC key: secret and unknown values become
// Redacted. Log.Write applies the Log's own Redactor to Record.Headers, so
// callers may pass raw headers.
func RedactHeaders(h map[string]string) map[string]string {
	return (*Redactor)(nil).Headers(h)
}

// RedactURI is URI with no HMAC key.
func RedactURI(uri string) string {
	return (*Redactor)(nil).URI(uri)
}

// BodyDigest is the lowercase hex SHA-256 of a request body, for
// Record.BodySHA256: it lets an auditor match a body kept elsewhere without
// the trail storing it. An empty body gives "".
func BodyDigest(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	s := sha256.Sum256(body)
	var h [hashHexLen]byte
	hex.Encode(h[:], s[:])
	return string(h[:])
}
