package audit

import (
	"bytes"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// readString reads the JSON string at w.pos and returns its decoded value as
// encoding/json decodes it (invalid UTF-8 and unpaired surrogates become
// U+FFFD). raw is the string as written, quotes included, when it can be
// copied to the output unchanged (printable ASCII that encoding/json does not
// escape, no escapes); otherwise nil. The decoded value may alias the input
// or w.str and is valid until the next readString.
func (w *bodyWriter) readString() (s, raw []byte, ok bool) {
	in := w.in
	start := w.pos + 1
	i := start
	for i < len(in) && htmlSafe[in[i]] {
		i++
	}
	if i < len(in) && in[i] == '"' {
		w.pos = i + 1
		return in[start:i], in[start-1 : i+1], true
	}
	b := append(w.str[:0], in[start:i]...)
	for {
		if i >= len(in) {
			return nil, nil, false
		}
		c := in[i]
		switch {
		case c == '"':
			w.pos = i + 1
			w.str = b
			return b, nil, true
		case c < 0x20:
			return nil, nil, false
		case c == '\\':
			if i+1 >= len(in) {
				return nil, nil, false
			}
			switch e := in[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := hex4(in[i:])
				if rr < 0 {
					return nil, nil, false
				}
				i += 6
				if utf16.IsSurrogate(rr) {
					if rr1 := hex4(in[i:]); rr1 >= 0 {
						if d := utf16.DecodeRune(rr, rr1); d != utf8.RuneError {
							b = utf8.AppendRune(b, d)
							i += 6
							continue
						}
					}
					rr = utf8.RuneError
				}
				b = utf8.AppendRune(b, rr)
				continue
			default:
				return nil, nil, false
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(in[i:])
			b = utf8.AppendRune(b, r) // an invalid byte becomes U+FFFD
			i += size
		}
	}
}

// hex4 decodes `\uXXXX` at the start of s, or returns -1.
func hex4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// writeString writes a decoded string: raw unchanged when it has one.
func (w *bodyWriter) writeString(s, raw []byte) {
	if raw != nil {
		w.out = append(w.out, raw...)
		return
	}
	w.out = appendJSONString(w.out, s)
}

// htmlSafe holds the ASCII bytes encoding/json writes unescaped in a string
// (with HTML escaping, as json.Marshal does).
var htmlSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as json.Marshal encodes a string (with HTML
// escaping): <, > and & as \u003c..., U+2028 and U+2029 escaped, each byte
// of invalid UTF-8 as \ufffd.
func appendJSONString[S []byte | string](dst []byte, s S) []byte {
	return append(appendJSONStringBody(append(dst, '"'), s), '"')
}

// appendJSONStringBody is appendJSONString without the quotes.
func appendJSONStringBody[S []byte | string](dst []byte, s S) []byte {
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if htmlSafe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		// Decode from a copy of at most 4 bytes, which stays on the stack
		// for a []byte (utf8 has no generic decoder).
		r, size := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(dst, s[start:]...)
}

// sensitiveKey is SensitiveName for a decoded member name, without
// allocating for the usual short ASCII names.
func sensitiveKey(name []byte) bool {
	var buf [64]byte
	if len(name) > len(buf) {
		return SensitiveName(string(name))
	}
	for i, c := range name {
		if c >= utf8.RuneSelf {
			return SensitiveName(string(name)) // Unicode case mapping
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	n := buf[:len(name)]
	for i, c := range n {
		var w string
		switch c {
		case 'a':
			w = "auth"
		case 't':
			w = "token"
		case 's':
			if bytes.HasPrefix(n[i:], []byte("session")) {
				return true
			}
			w = "secret"
		case 'p':
			w = "passw"
		case 'k':
			w = "key"
		case 'c':
			if bytes.HasPrefix(n[i:], []byte("cookie")) {
				return true
			}
			w = "credential"
		default:
			continue
		}
		if bytes.HasPrefix(n[i:], []byte(w)) {
			return true
		}
	}
	for _, x := range sensitiveNamesWithoutWord {
		if string(n) == x {
			return true
		}
	}
	return false
}

// sensitiveNamesWithoutWord are the sensitiveNames that contain none of the
// sensitiveWords (x-registry-config).
var sensitiveNamesWithoutWord = func() (out []string) {
	for n := range sensitiveNames {
		if !slices.ContainsFunc(sensitiveWords, func(w string) bool { return strings.Contains(n, w) }) {
			out = append(out, n)
		}
	}
	return out
}()
