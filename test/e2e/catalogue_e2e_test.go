//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestEscalationCatalogue drives every escalation the docker CLI can express
// through a real dockerd: each must be refused for alice (baseline profile)
// with the plugin's message naming the facet, and must get past the plugin
// for the admin (the daemon itself may still fail where the sandbox cannot
// run it: that error is not the plugin's).
func TestEscalationCatalogue(t *testing.T) {
	e := start(t, filepath.Join(repoRoot(t), "examples", "shared-build-host"))
	e.importBusybox("root-admin", "busybox:e2e")
	denied := "authorization denied by plugin " + e.plugin + ": "

	// A running container of alice's own, for exec and volumes-from.
	if _, stderr, err := e.docker("alice", "run", "-d", "--name", "alice-box", "--network", "none", "busybox:e2e", "sleep", "600"); err != nil {
		t.Fatalf("alice's detached run: %v %s", err, stderr)
	}
	if _, stderr, err := e.docker("root-admin", "run", "-d", "--name", "admin-box", "--network", "none", "busybox:e2e", "sleep", "600"); err != nil {
		t.Fatalf("admin's detached run: %v %s", err, stderr)
	}

	create := func(flags ...string) []string {
		return append(append([]string{"create", "--network", "none"}, flags...), "busybox:e2e", "true")
	}
	cases := []struct {
		name  string
		alice []string // alice's command
		admin []string // the admin's command, nil to skip
		facet string   // substring the deny message must contain
	}{
		{"device", create("--device", "/dev/null:/dev/xnull"), create("--device", "/dev/null:/dev/xnull"), "access host device /dev/null"},
		{"pid host", create("--pid", "host"), create("--pid", "host"), "use the host pid namespace"},
		{"network host", []string{"create", "--network", "host", "busybox:e2e", "true"}, []string{"create", "--network", "host", "busybox:e2e", "true"}, "use the host network namespace"},
		{"ipc host", create("--ipc", "host"), create("--ipc", "host"), "use the host ipc namespace"},
		{"uts host", create("--uts", "host"), create("--uts", "host"), "use the host uts namespace"},
		{"userns host", create("--userns", "host"), create("--userns", "host"), "use the host userns namespace"},
		{"seccomp unconfined", create("--security-opt", "seccomp=unconfined"), create("--security-opt", "seccomp=unconfined"), "disable confinement: seccomp"},
		{"apparmor unconfined", create("--security-opt", "apparmor=unconfined"), create("--security-opt", "apparmor=unconfined"), "disable confinement: apparmor"},
		{"label disable", create("--security-opt", "label=disable"), create("--security-opt", "label=disable"), "disable confinement: label"},
		{"systempaths unconfined", create("--security-opt", "systempaths=unconfined"), create("--security-opt", "systempaths=unconfined"), "disable confinement: maskedpaths"}, // the CLI sends empty MaskedPaths/ReadonlyPaths,
		{"unsafe sysctl", create("--sysctl", "net.ipv4.ip_forward=1"), create("--sysctl", "net.ipv4.ip_forward=1"), "set sysctl net.ipv4.ip_forward"},
		{"cgroup parent", create("--cgroup-parent", "/evil"), create("--cgroup-parent", "/evil"), "use cgroup parent /evil"},
		{"volumes-from", create("--volumes-from", "alice-box"), create("--volumes-from", "admin-box"), "mount the volumes of container"},
		{"cap-add ALL", create("--cap-add", "ALL"), create("--cap-add", "ALL"), "add capability ALL"},
		{"cap-add lower case with prefix", create("--cap-add", "cap_sys_admin"), create("--cap-add", "cap_sys_admin"), "add capability SYS_ADMIN"},
		{"device cgroup rule", create("--device-cgroup-rule", "c 1:3 rwm"), create("--device-cgroup-rule", "c 1:3 rwm"), "add device cgroup rule"},
		{"oom kill disable", create("--oom-kill-disable"), create("--oom-kill-disable"), "disable the OOM killer"},
		{"runtime", create("--runtime", "io.containerd.runtime.v1.linux"), create("--runtime", "io.containerd.runtime.v1.linux"), "use the runtime io.containerd.runtime.v1.linux"},
		{"bind read-only with options", create("-v", "/etc:/h:ro,z"), create("-v", "/etc:/h:ro"), "bind-mount host path /etc"},
		{"bind via path tricks", create("-v", "//var//run/../run/docker.sock:/s"), nil, "bind-mount host path /var/run/docker.sock"},
		{"exec privileged", []string{"exec", "--privileged", "alice-box", "true"}, []string{"exec", "--privileged", "admin-box", "true"}, "run privileged exec"},
		{"volume bind driver opts", []string{"volume", "create", "-o", "o=bind", "-o", "type=none", "-o", "device=/", "hostroot"}, []string{"volume", "create", "-o", "o=bind", "-o", "type=none", "-o", "device=/tmp", "admin-hosttmp"}, "bind-mount host path /"},
		{"untrusted image pull", []string{"pull", "evil.example.invalid/x:1"}, []string{"pull", "evil.example.invalid/x:1"}, "use the image evil.example.invalid/x:1"},
		{"untrusted image run", []string{"create", "--network", "none", "evil.example.invalid/x:1"}, nil, "use the image evil.example.invalid/x:1"},
		{"plugin install", []string{"plugin", "install", "--grant-all-permissions", "vieux/sshfs"}, nil, "plugins"},
		{"swarm init", []string{"swarm", "init", "--advertise-addr", "127.0.0.1"}, nil, "a swarm"},
		{"cp into container", []string{"cp", "/etc/hostname", "alice-box:/"}, []string{"cp", "/etc/hostname", "admin-box:/"}, "write files into a container at /"},
		{"no-new-privileges false", create("--security-opt", "no-new-privileges=false"), create("--security-opt", "no-new-privileges=false"), "disable confinement: no-new-privileges"},
		{"cgroupns host", create("--cgroupns", "host"), create("--cgroupns", "host"), "use the host cgroupns namespace"},
		{"docker load", []string{"load", "-i", "/dev/null"}, nil, "load images"},
		{"image import", []string{"import", "/dev/null", "x:y"}, nil, "import an image"},
	}
	for _, cli := range clis(t) {
		t.Run(strings.ReplaceAll(strings.TrimPrefix(cli, "/"), "/", "_"), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					_, stderr, err := e.dockerWith(cli, "alice", tc.alice...)
					if err == nil {
						t.Fatalf("alice's docker %v was allowed", tc.alice)
					}
					if !contains(stderr, denied+"alice (group:developers) may not", tc.facet) {
						t.Fatalf("alice's docker %v: want the plugin's refusal naming %q, got: %s", tc.alice, tc.facet, stderr)
					}
					if tc.admin == nil {
						return
					}
					_, stderr, _ = e.dockerWith(cli, "root-admin", tc.admin...)
					if strings.Contains(stderr, "authorization denied") {
						t.Fatalf("admin's docker %v was refused by the plugin: %s", tc.admin, stderr)
					}
				})
			}
		})
	}
	// Every refusal is in the audit trail as a deny with its reason.
	var denies int
	for _, r := range e.audit() {
		if r.User == "alice" && r.Decision == "deny" {
			denies++
			if !strings.Contains(r.Reason, "may not") && !strings.Contains(r.Reason, "refused") {
				t.Errorf("deny record without a reason: %s", r.Raw)
			}
		}
	}
	if denies < len(cases) {
		t.Errorf("%d deny records for alice, want at least %d", denies, len(cases))
	}
}
