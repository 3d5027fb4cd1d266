package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeConfigFile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string   // YAML; "-" = no such file
		args    []string // command line besides --config
		wantErr string   // "" = no error
		check   func(t *testing.T, o serveOptions)
	}{
		{name: "sets what the command line does not", file: "socket: /run/x.sock\naudit-log: /var/log/x/a.jsonl\nlocal-user: root\nownership: true\nwatch-interval: 5s\n",
			check: func(t *testing.T, o serveOptions) {
				if o.socket != "/run/x.sock" || o.auditLog != "/var/log/x/a.jsonl" || o.localUser != "root" || !o.own.enabled || o.ops.watch != 5*time.Second {
					t.Fatalf("%+v", o)
				}
			}},
		{name: "the command line wins", file: "socket: /run/x.sock\nlocal-user: root\n", args: []string{"--socket", "/run/cli.sock"},
			check: func(t *testing.T, o serveOptions) {
				if o.socket != "/run/cli.sock" || o.localUser != "root" {
					t.Fatalf("socket %q local-user %q", o.socket, o.localUser)
				}
			}},
		{name: "keys may be written with dashes", file: "--log-level: debug\n",
			check: func(t *testing.T, o serveOptions) {
				if o.logLevel != "debug" {
					t.Fatalf("log-level %q", o.logLevel)
				}
			}},
		{name: "empty file", file: "", check: func(t *testing.T, o serveOptions) {
			if o.socket != "/run/docker/plugins/docker-authz.sock" {
				t.Fatalf("socket %q", o.socket)
			}
		}},
		{name: "comments only", file: "# nothing yet\n", check: func(*testing.T, serveOptions) {}},
		{name: "misspelt key", file: "socket: /x.sock\naudit-logg: /x\n", wantErr: `:2: "audit-logg" is not a serve option`},
		{name: "config in config", file: "config: /etc/other.yaml\n", wantErr: `"config" is not a serve option`},
		{name: "bad value", file: "watch-interval: soon\n", wantErr: ":1: watch-interval: "},
		{name: "bad bool", file: "ownership: maybe\n", wantErr: "ownership: "},
		{name: "nested", file: "audit:\n  log: /x\n", wantErr: `"audit" is not a serve option`},
		{name: "nested value", file: "socket:\n  path: /x\n", wantErr: "socket: want a plain value"},
		{name: "list", file: "socket: [/a, /b]\n", wantErr: "socket: want a plain value"},
		{name: "null", file: "client-ca:\n", wantErr: "client-ca: no value"},
		{name: "duplicate", file: "socket: /a\nsocket: /b\n", wantErr: "socket"},
		{name: "duplicate through dashes", file: "socket: /a\n--socket: /b\n", wantErr: "socket is set twice"},
		{name: "not a mapping", file: "- socket\n", wantErr: "want a mapping"},
		{name: "not YAML", file: "socket: [\n", wantErr: "cfg.yaml"},
		{name: "missing file", file: "-", wantErr: "--config: open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cfg.yaml")
			if tc.file != "-" {
				if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var o serveOptions
			fs := serveFlags(&o, io.Discard)
			if err := fs.Parse(append([]string{"--config", path}, tc.args...)); err != nil {
				t.Fatal(err)
			}
			err := applyConfigFile(fs)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), path) && tc.file != "-":
				t.Fatalf("the error does not name the file: %v", err)
			case tc.check != nil:
				tc.check(t, o)
			}
		})
	}
}

// serve refuses to start on a bad configuration file (exit 2), before it
// touches the socket, the policy or the trail.
func TestServeRefusesBadConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfg, []byte("sockett: /x.sock\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if rc := run([]string{"serve", "--config", cfg, "--socket", filepath.Join(dir, "p.sock")}, &out, &errb); rc != 2 || !strings.Contains(errb.String(), `"sockett" is not a serve option`) {
		t.Fatalf("exit %d\n%s", rc, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "p.sock")); !os.IsNotExist(err) {
		t.Fatal("serve created its socket despite the bad configuration")
	}
}
