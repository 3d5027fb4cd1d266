package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// bodyRef is the original implementation of Redactor.Body (decode into
// map[string]any, walk, re-encode with encoding/json), kept as the reference
// the streaming redactor must match byte for byte. It returns the bytes
// RedactedBody.MarshalJSON wrote, or nil for an empty body.
func bodyRef(r *Redactor, route string, body []byte) []byte {
	if len(body) == 0 {
		return nil
	}
	var v any
	if len(body) > MaxStoredBody {
		v = fmt.Sprintf("[not stored: %d bytes, larger than %d]", len(body), MaxStoredBody)
	} else {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil || dec.More() {
			v = fmt.Sprintf("[not stored: %d bytes, not JSON]", len(body))
		} else if arr, ok := v.([]any); ok && refAllStrings(arr) {
			v = refEnv(r, arr)
		} else {
			secretData := strings.HasPrefix(route, "secret:") || strings.HasPrefix(route, "config:")
			v = refWalk(r, v, secretData)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func refAllStrings(a []any) bool {
	for _, x := range a {
		if _, ok := x.(string); !ok {
			return false
		}
	}
	return true
}

func refWalk(r *Redactor, v any, secretData bool) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			switch {
			case SensitiveName(k), secretData && strings.EqualFold(k, "Data"):
				out[k] = refSecret(r, val)
			case strings.EqualFold(k, "Env"):
				if arr, ok := val.([]any); ok {
					out[k] = refEnv(r, arr)
				} else {
					out[k] = refSecret(r, val)
				}
			default:
				out[k] = refWalk(r, val, false)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = refWalk(r, e, false)
		}
		return out
	case string:
		return redactURLCredentials(x)
	default: // json.Number, bool, nil
		return x
	}
}

func refSecret(r *Redactor, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if x == "" {
			return ""
		}
		return r.Value(x)
	default:
		b, _ := json.Marshal(x)
		return r.Value(string(b))
	}
}

func refEnv(r *Redactor, arr []any) []any {
	out := make([]any, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			out[i] = refSecret(r, e)
			continue
		}
		if k, _, found := strings.Cut(s, "="); found {
			out[i] = k + "=" + r.Value(s[len(k)+1:])
		} else {
			out[i] = s
		}
	}
	return out
}
