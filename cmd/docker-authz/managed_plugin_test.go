package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types"
)

// The managed plugin's config.json is read by dockerd into
// types.PluginConfig; its entrypoint must be a serve command line this
// binary accepts, on the paths the config mounts and names.
func TestManagedPluginConfig(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "packaging", "managed-plugin", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg types.PluginConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields() // a misspelt key would be silently ignored by dockerd
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("config.json is not a plugin config: %v", err)
	}
	if len(cfg.Interface.Types) != 1 || cfg.Interface.Types[0].String() != "docker.authz/1.0" {
		t.Fatalf("interface types %v: dockerd uses the plugin for authorization only with docker.authz/1.0", cfg.Interface.Types)
	}
	if cfg.Interface.Socket == "" || strings.Contains(cfg.Interface.Socket, "/") {
		t.Fatalf("interface socket %q: a file name in /run/docker/plugins", cfg.Interface.Socket)
	}
	if len(cfg.Linux.Capabilities) != 0 || cfg.Linux.AllowAllDevices || len(cfg.Linux.Devices) != 0 || cfg.PidHost || cfg.IpcHost {
		t.Fatalf("the plugin asks for more than it needs: %+v pid host %v ipc host %v", cfg.Linux, cfg.PidHost, cfg.IpcHost)
	}
	if len(cfg.Entrypoint) < 2 || cfg.Entrypoint[0] != "/docker-authz" || cfg.Entrypoint[1] != "serve" {
		t.Fatalf("entrypoint %q: /docker-authz serve ...", cfg.Entrypoint)
	}
	var o serveOptions
	fs := serveFlags(&o, io.Discard)
	if err := fs.Parse(append(cfg.Entrypoint[2:], cfg.Args.Value...)); err != nil || fs.NArg() > 0 {
		t.Fatalf("serve does not accept the entrypoint %q: %v", cfg.Entrypoint, err)
	}
	if want := "/run/docker/plugins/" + cfg.Interface.Socket; o.socket != want {
		t.Errorf("--socket %q, but dockerd connects to %s", o.socket, want)
	}
	if o.ops.adminSocket == "auto" || !strings.HasPrefix(o.ops.adminSocket, "/run/docker/plugins/") {
		t.Errorf("--admin-socket %q: only /run/docker/plugins is shared with the host", o.ops.adminSocket)
	}
	// On the host the plugin's /run/docker/plugins is /run/docker/plugins/ID
	// (64 hex digits), and a unix socket path has at most 107 bytes.
	for _, sock := range []string{o.socket, o.ops.adminSocket} {
		if host := "/run/docker/plugins/" + strings.Repeat("0", 64) + "/" + strings.TrimPrefix(sock, "/run/docker/plugins/"); len(host) > 107 {
			t.Errorf("%s is %d bytes long on the host (%s): too long for a unix socket", sock, len(host), host)
		}
	}
	mounted := func(path string, rw bool) bool {
		for _, m := range cfg.Mounts {
			if (path == m.Destination || strings.HasPrefix(path, m.Destination+"/")) && m.Type == "bind" {
				ro := false
				for _, opt := range m.Options {
					ro = ro || opt == "ro"
				}
				return !rw || !ro
			}
		}
		return false
	}
	for _, p := range []struct {
		flag, path string
		rw         bool
	}{
		{"--policy", o.policyDir, false},
		{"--client-ca", o.clientCA, false},
		{"--audit-log", o.auditLog, true},
	} {
		if !mounted(p.path, p.rw) {
			t.Errorf("%s %s is not on a bind mount from the host (writable: %v)", p.flag, p.path, p.rw)
		}
	}
	for _, m := range cfg.Mounts {
		if m.Name == "" || len(m.Settable) != 1 || m.Settable[0] != "source" {
			t.Errorf("mount %s: name it and make its source settable (docker plugin set NAME %s.source=DIR)", m.Destination, m.Name)
		}
	}
}
