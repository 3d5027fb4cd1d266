package main

import (
	"bytes"
	"strings"
	"testing"
)

// Every command group answers the same way to no arguments, help and an
// unknown command.
func TestDispatchGroups(t *testing.T) {
	groups := []struct {
		prefix []string
		name   string
		sub    string // a command of the group, for "help SUB"
		usage  string // a line of the group's usage
	}{
		{nil, "docker-authz", "check", "Usage: docker-authz COMMAND"},
		{[]string{"audit"}, "docker-authz audit", "verify", "Usage: docker-authz audit COMMAND"},
		{[]string{"policy"}, "docker-authz policy", "diff", "Usage: docker-authz policy COMMAND"},
	}
	for _, g := range groups {
		for _, tc := range []struct {
			args                   []string
			rc                     int
			stdout, stderr, either string
			noStdout, noErrs       bool
		}{
			{args: nil, rc: 2, stderr: g.usage, noStdout: true},
			{args: []string{"--help"}, rc: 0, stdout: g.usage, noErrs: true},
			{args: []string{"-h"}, rc: 0, stdout: g.usage, noErrs: true},
			{args: []string{"help"}, rc: 0, stdout: g.usage, noErrs: true},
			{args: []string{"help", g.sub}, rc: 0, either: "Usage: " + g.name + " " + g.sub}, // the command's own help
			{args: []string{"frobnicate"}, rc: 2, stderr: g.name + `: unknown command "frobnicate"`, noStdout: true},
		} {
			args := append(append([]string{}, g.prefix...), tc.args...)
			t.Run(strings.Join(append([]string{g.name}, tc.args...), " "), func(t *testing.T) {
				var out, errb bytes.Buffer
				rc := run(args, &out, &errb)
				both := out.String() + errb.String()
				switch {
				case rc != tc.rc:
					t.Fatalf("exit %d, want %d\n%s", rc, tc.rc, both)
				case !strings.Contains(out.String(), tc.stdout):
					t.Fatalf("stdout lacks %q:\n%s", tc.stdout, out.String())
				case !strings.Contains(errb.String(), tc.stderr):
					t.Fatalf("stderr lacks %q:\n%s", tc.stderr, errb.String())
				case !strings.Contains(both, tc.either):
					t.Fatalf("output lacks %q:\n%s", tc.either, both)
				case tc.noStdout && out.Len() > 0:
					t.Fatalf("stdout: %s", out.String())
				case tc.noErrs && errb.Len() > 0:
					t.Fatalf("stderr: %s", errb.String())
				}
			})
		}
	}
}

// The command listings name every command of the group.
func TestUsageListsEveryCommand(t *testing.T) {
	for _, g := range []struct {
		usage func(*bytes.Buffer)
		cmds  map[string]command
	}{
		{func(b *bytes.Buffer) { usage(b) }, commands},
		{func(b *bytes.Buffer) { auditUsage(b) }, auditCommands},
		{func(b *bytes.Buffer) { policyUsage(b) }, policyCommands},
	} {
		var b bytes.Buffer
		g.usage(&b)
		for name, c := range g.cmds {
			if !strings.Contains(b.String(), "  "+name) || !strings.Contains(b.String(), c.summary) {
				t.Errorf("usage lacks %s (%s):\n%s", name, c.summary, b.String())
			}
		}
	}
}
