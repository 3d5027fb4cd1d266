package syslog

import (
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600000000, time.UTC)
	f := formatter{facility: FacilityLogAudit, hostname: "fallback", procID: "42", sdID: DefaultSDID, now: func() time.Time { return now }}
	tests := []struct {
		name string
		fmt  formatter
		line string
		want string
	}{
		{"allow request", f,
			`{"time":"2026-11-23T10:00:01.123456789Z","seq":7,"stage":"request","host":"build-1","decision":"allow","hash":"h"}` + "\n",
			`<110>1 2026-11-23T10:00:01.123456Z build-1 docker-authz 42 request [audit@32473 seq="7" host="build-1"] {"time":"2026-11-23T10:00:01.123456789Z","seq":7,"stage":"request","host":"build-1","decision":"allow","hash":"h"}`},
		{"deny is notice", f,
			`{"time":"2026-11-23T10:00:01Z","seq":8,"stage":"request","host":"b","decision":"deny"}`,
			`<109>1 2026-11-23T10:00:01.000000Z b docker-authz 42 request [audit@32473 seq="8" host="b"] {"time":"2026-11-23T10:00:01Z","seq":8,"stage":"request","host":"b","decision":"deny"}`},
		{"time zone converted to UTC", f,
			`{"time":"2026-11-23T12:00:01+02:00","seq":1,"stage":"response","host":"b","decision":"allow"}`,
			`<110>1 2026-11-23T10:00:01.000000Z b docker-authz 42 response [audit@32473 seq="1" host="b"] {"time":"2026-11-23T12:00:01+02:00","seq":1,"stage":"response","host":"b","decision":"allow"}`},
		{"no host: fallback", f,
			`{"time":"2026-11-23T10:00:01Z","seq":2,"stage":"checkpoint"}`,
			`<110>1 2026-11-23T10:00:01.000000Z fallback docker-authz 42 checkpoint [audit@32473 seq="2" host="fallback"] {"time":"2026-11-23T10:00:01Z","seq":2,"stage":"checkpoint"}`},
		{"hostile host cannot break the header", f,
			`{"time":"2026-11-23T10:00:01Z","seq":3,"stage":"request","host":"a b]\"\\"}`,
			`<110>1 2026-11-23T10:00:01.000000Z a_b]"\ docker-authz 42 request [audit@32473 seq="3" host="a b\]\"\\"] {"time":"2026-11-23T10:00:01Z","seq":3,"stage":"request","host":"a b]\"\\"}`},
		{"not JSON: sent with defaults", f,
			`garbage`,
			`<110>1 2026-01-02T03:04:05.600000Z fallback docker-authz 42 - [audit@32473 host="fallback"] garbage`},
		{"NILVALUE structured data", formatter{facility: 10, hostname: "h", procID: "1", now: f.now},
			`{"time":"2026-11-23T10:00:01Z","seq":3,"stage":"request","host":"x","decision":"deny"}`,
			`<85>1 2026-11-23T10:00:01.000000Z x docker-authz 1 request - {"time":"2026-11-23T10:00:01Z","seq":3,"stage":"request","host":"x","decision":"deny"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(tc.fmt.format(nil, []byte(tc.line)))
			if got != tc.want {
				t.Fatalf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestValidSDID(t *testing.T) {
	for id, want := range map[string]bool{
		"audit@32473": true, "x": true, "": false, "a b": false, "a=b": false, `a"`: false, "a]": false,
		"0123456789012345678901234567890123": false, "é": false,
	} {
		if got := validSDID(id); got != want {
			t.Errorf("validSDID(%q) = %v, want %v", id, got, want)
		}
	}
}
