package authz

import (
	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/request"
)

// redactorSource is a Recorder that redacts what it writes itself and
// exposes its Redactor (audit.Log): the Server then hands it raw headers,
// so secrets are replaced once, with the trail's HMAC key, and redacts
// bodies with the same key.
type redactorSource interface {
	Redactor() *audit.Redactor
}

// redactor returns the Recorder's Redactor, or nil (redaction without an
// HMAC key) for a Recorder that does not redact itself.
func (s *Server) redactor() (*audit.Redactor, bool) {
	rec := s.cfg.Audit
	if o, ok := rec.(observedRecorder); ok { // metrics wrapper (observe.go)
		rec = o.next
	}
	if rs, ok := rec.(redactorSource); ok {
		return rs.Redactor(), true
	}
	return nil, false
}

// auditHeaders returns the headers to put in a record: raw for a Recorder
// that redacts them itself (with its HMAC key), redacted here otherwise.
func (s *Server) auditHeaders(h map[string]string) map[string]string {
	if _, self := s.redactor(); self {
		return h
	}
	return audit.RedactHeaders(h)
}

// applyLevel sets the record's audit level for its route class (reads:
// GET/HEAD, writes: the other methods) and, at level request, its redacted
// body. It returns false when no record is to be written: level none and an
// allowed request. A denied request is always recorded, at least at level
// metadata.
func (s *Server) applyLevel(rec *audit.Record, body []byte) bool {
	lv := s.cfg.AuditLevels.For(rec.Method)
	if lv == audit.LevelNone {
		if rec.Decision == audit.Allow && rec.Stage == audit.StageRequest {
			return false
		}
		lv = audit.LevelMetadata
	}
	rec.Level = string(lv)
	if lv == audit.LevelRequest && rec.Stage == audit.StageRequest && len(body) > 0 {
		r, _ := s.redactor()
		rec.Body = r.Body(rec.Route, body)
	}
	return true
}

// responseLevel is applyLevel for a response record: none means no record
// (its request was not recorded either).
func (s *Server) responseLevel(rec *audit.Record) bool {
	lv := s.cfg.AuditLevels.For(rec.Method)
	if lv == audit.LevelNone {
		return false
	}
	rec.Level = string(lv)
	return true
}

// auditObject names the object of a request for the record: the path's
// id or name, else the name a create request gives (?name=).
func auditObject(f *request.Facts) string {
	if o := f.ObjectName(); o != "" {
		return o
	}
	if f.Query != nil {
		return f.Query.Get("name")
	}
	return ""
}
