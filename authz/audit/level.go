package audit

import (
	"fmt"
	"net/http"
	"strings"
)

// Level is how much of a request the trail records, as in Kubernetes audit
// policies.
type Level string

// Levels, from least to most recorded.
const (
	// LevelNone writes no record for an allowed request. A denied request
	// is always recorded (at metadata level): a deny is never unaccounted
	// for. Choosing none for a route class means accepting that allowed
	// requests of that class leave no trace.
	LevelNone Level = "none"
	// LevelMetadata records who, what (method, URI, route, object, facets,
	// redacted headers, body digest and size), the decision and the
	// response, but not the body.
	LevelMetadata Level = "metadata"
	// LevelRequest records the metadata and the request body, decoded and
	// redacted (Redactor.Body).
	LevelRequest Level = "request"
)

// ParseLevel parses "none", "metadata" or "request".
func ParseLevel(s string) (Level, error) {
	switch l := Level(strings.ToLower(strings.TrimSpace(s))); l {
	case LevelNone, LevelMetadata, LevelRequest:
		return l, nil
	}
	return "", fmt.Errorf("audit level %q is not none, metadata or request", s)
}

// Levels chooses the audit level per route class. Reads are GET and HEAD
// requests; writes are every other method (mutations). The zero value is the
// safe default: metadata for reads, request for writes.
type Levels struct {
	Reads  Level // "" means LevelMetadata
	Writes Level // "" means LevelRequest
}

// For returns the level for a request with this HTTP method.
func (l Levels) For(method string) Level {
	if method == http.MethodGet || method == http.MethodHead {
		if l.Reads == "" {
			return LevelMetadata
		}
		return l.Reads
	}
	if l.Writes == "" {
		return LevelRequest
	}
	return l.Writes
}
