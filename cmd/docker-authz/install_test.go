package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeInstall runs `make install` from the repository root with vars. The
// binary is built by the first call only (later ones pass -o build).
func makeInstall(t *testing.T, vars ...string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make not found: the install test needs it (Debian: apt-get install make)")
	}
	args := []string{"-s", "install", "BIN=" + installBin}
	if _, err := os.Stat(installBin); err == nil {
		args = append(args, "-o", "build")
	}
	cmd := exec.Command("make", append(args, vars...)...)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make install %v: %v\n%s", vars, err, out)
	}
	return string(out)
}

// installBin is where the install tests build the binary: never the work
// tree's bin/.
var installBin string

func TestMakeInstall(t *testing.T) {
	tmp := t.TempDir()
	installBin = filepath.Join(tmp, "build", "docker-authz")
	defer func() { installBin = "" }()
	t.Run("DESTDIR", testInstallDestdir)
	t.Run("systemd-analyze", testSystemdUnitsVerify)
}

func testInstallDestdir(t *testing.T) {
	tmp := t.TempDir()
	dest := filepath.Join(tmp, "dest")
	makeInstall(t, "DESTDIR="+dest)

	for path, mode := range map[string]os.FileMode{
		"usr/local/bin/docker-authz":                               0o755,
		"etc/systemd/system/docker-authz.service":                  0o644,
		"etc/systemd/system/docker.service.d/10-docker-authz.conf": 0o644,
		"usr/local/share/man/man8/docker-authz.8":                  0o644,
		"etc/docker-authz/policy.csv":                              0o644,
	} {
		fi, err := os.Stat(filepath.Join(dest, path))
		if err != nil {
			t.Errorf("not installed: %v", err)
			continue
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), mode)
		}
	}
	unit, _ := os.ReadFile(filepath.Join(dest, "etc/systemd/system/docker-authz.service"))
	if !bytes.Contains(unit, []byte("ExecStart=/usr/local/bin/docker-authz serve")) || !bytes.Contains(unit, []byte("--policy /etc/docker-authz")) {
		t.Errorf("installed unit does not run the installed binary on /etc/docker-authz:\n%s", unit)
	}
	man, _ := os.ReadFile(filepath.Join(dest, "usr/local/share/man/man8/docker-authz.8"))
	if !bytes.HasPrefix(man, []byte(".TH DOCKER-AUTHZ 8")) || !bytes.Contains(man, []byte("SIGHUP")) {
		t.Errorf("man page:\n%.300s", man)
	}
	out, err := exec.Command(filepath.Join(dest, "usr/local/bin/docker-authz"), "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "docker-authz ") {
		t.Errorf("installed binary: %q %v", out, err)
	}

	// A second install keeps the site's policy.
	pol := filepath.Join(dest, "etc/docker-authz/policy.csv")
	writeFile(t, pol, "g, group:admins, profile:unrestricted\n")
	if out := makeInstall(t, "DESTDIR="+dest); !strings.Contains(out, "keeping the existing policy") {
		t.Errorf("second install: %s", out)
	}
	if b, _ := os.ReadFile(pol); string(b) != "g, group:admins, profile:unrestricted\n" {
		t.Errorf("make install overwrote the site policy: %q", b)
	}
}

// testSystemdUnitsVerify installs the units with paths that exist on this
// machine and runs `systemd-analyze verify` on them: unknown keys, bad
// values and missing executables are errors. .ci/run installs systemd, so
// this never skips in CI.
func testSystemdUnitsVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed (Debian: apt-get install systemd; .ci/run does)")
	}
	tmp := t.TempDir()
	units := filepath.Join(tmp, "units")
	makeInstall(t, "PREFIX="+filepath.Join(tmp, "usr"), "SYSCONFDIR="+filepath.Join(tmp, "etc"), "UNITDIR="+units)
	names := []string{"docker-authz.service"}
	// The drop-in is checked as part of docker.service (Debian's docker.io).
	if _, err := os.Stat("/lib/systemd/system/docker.service"); err == nil {
		names = append(names, "docker.service")
	} else {
		t.Log("docker.service not installed: the drop-in is not verified")
	}
	cmd := exec.Command("systemd-analyze", append([]string{"verify"}, names...)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+units+":", "SYSTEMD_LOG_COLOR=0")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify %v: %v\n%s", names, err, out)
	}

	// The verification sees mistakes (the test can fail).
	unit := filepath.Join(units, "docker-authz.service")
	b, _ := os.ReadFile(unit)
	writeFile(t, unit, strings.Replace(string(b), "ProtectHome=yes", "ProtectHome=perhaps", 1))
	cmd = exec.Command("systemd-analyze", "verify", "docker-authz.service")
	cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+units+":")
	if out, _ := cmd.CombinedOutput(); !bytes.Contains(out, []byte("perhaps")) {
		t.Fatalf("systemd-analyze did not report a bad value: %s", out)
	}
}

// TestUnitHardening keeps the unit's promises (issue: operate it like a
// real system service).
func TestUnitHardening(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "systemd", "docker-authz.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{
		"\nType=notify\n", "\nBefore=docker.service\n", "\nRestart=on-failure\n", "\nExecReload=/bin/kill -HUP $MAINPID\n",
		"\nProtectSystem=strict\n", "\nProtectHome=yes\n", "\nPrivateTmp=yes\n", "\nNoNewPrivileges=yes\n",
		"\nCapabilityBoundingSet=\n", "\nReadWritePaths=-/run/docker/plugins /var/log/docker-authz\n",
		"\nRuntimeDirectory=docker-authz\n", "--admin-socket /run/docker-authz/docker-authz.sock",
		"--socket /run/docker/plugins/docker-authz.sock",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("docker-authz.service lacks %q", strings.TrimSpace(want))
		}
	}
	drop, _ := os.ReadFile(filepath.Join("..", "..", "systemd", "docker.service.d", "10-docker-authz.conf"))
	for _, want := range []string{"\nAfter=docker-authz.service\n", "\nWants=docker-authz.service\n"} {
		if !strings.Contains(string(drop), want) {
			t.Errorf("docker.service drop-in lacks %q", strings.TrimSpace(want))
		}
	}
	if strings.Contains(string(drop), "\nRequires=") {
		t.Error("docker.service must not Require the plugin: restarting the plugin would restart dockerd and its containers")
	}
	// The admin socket the unit names is the one status finds by default.
	if adminSocketFor("/run/docker/plugins/docker-authz.sock") != "/run/docker-authz/docker-authz.sock" {
		t.Error("unit's --admin-socket and status's default differ")
	}
}
