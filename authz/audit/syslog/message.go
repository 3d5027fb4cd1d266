package syslog

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// Facility and severities (RFC 5424 6.2.1).
const (
	FacilityLogAudit = 13
	severityNotice   = 5
	severityInfo     = 6
)

// AppName is the APP-NAME of every message.
const AppName = "docker-authz"

// DefaultSDID is the structured data ID used when Config.SDID is empty.
const DefaultSDID = "audit@32473"

// recordHead is the part of a record line the header is made from.
type recordHead struct {
	Time     time.Time `json:"time"`
	Seq      uint64    `json:"seq"`
	Stage    string    `json:"stage"`
	Host     string    `json:"host"`
	Decision string    `json:"decision"`
}

// formatter builds RFC 5424 messages.
type formatter struct {
	facility int
	hostname string // fallback when a record has no host
	procID   string
	sdID     string // "" = NILVALUE
	now      func() time.Time
}

// format appends the RFC 5424 message for one record line to dst.
func (f *formatter) format(dst, line []byte) []byte {
	var h recordHead
	_ = json.Unmarshal(line, &h) // a line that does not parse is still sent, with defaults

	sev := severityInfo
	if h.Decision == "deny" {
		sev = severityNotice
	}
	t := h.Time
	if t.IsZero() {
		t = f.now()
	}
	host := h.Host
	if host == "" {
		host = f.hostname
	}

	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(f.facility*8+sev), 10)
	dst = append(dst, ">1 "...)
	dst = t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z07:00")
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, host, 255)
	dst = append(dst, ' ')
	dst = append(dst, AppName...)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, f.procID, 128)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, h.Stage, 32)
	dst = append(dst, ' ')
	if f.sdID == "" {
		dst = append(dst, '-')
	} else {
		dst = append(dst, '[')
		dst = append(dst, f.sdID...)
		if h.Seq != 0 {
			dst = append(dst, ` seq="`...)
			dst = strconv.AppendUint(dst, h.Seq, 10)
			dst = append(dst, '"')
		}
		if host != "" {
			dst = append(dst, ` host="`...)
			dst = appendParamValue(dst, host)
			dst = append(dst, '"')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, ' ')
	return append(dst, bytes.TrimRight(line, "\r\n")...)
}

// appendHeaderField writes a header field as RFC 5424 wants it: printable
// US-ASCII without spaces, at most max bytes; NILVALUE when empty. Other
// bytes become '_' so a hostile host name cannot break the header.
func appendHeaderField(dst []byte, s string, max int) []byte {
	if s == "" {
		return append(dst, '-')
	}
	if len(s) > max {
		s = s[:max]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendParamValue escapes '"', '\' and ']' (RFC 5424 6.3.3).
func appendParamValue(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', ']':
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// validSDID reports whether id is a valid SD-ID (RFC 5424 6.3.2).
func validSDID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c < 33 || c > 126 || c == '=' || c == ' ' || c == ']' || c == '"' {
			return false
		}
	}
	return true
}
