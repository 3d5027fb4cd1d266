package policy

import "sort"

// Profile subjects. A policy grants one with `g, SUBJECT, profile:NAME`.
// Rules for profile subjects come only from this file: a policy line
// `p, profile:..., ...` is rejected, so a profile means the same everywhere.
const (
	ProfileUnrestricted = "profile:unrestricted"
	ProfileBaseline     = "profile:baseline"
	ProfileRestricted   = "profile:restricted"
)

// dockerDefaultCaps is the capability set Docker grants every container
// unless dropped; adding one of them again changes nothing.
var dockerDefaultCaps = []string{
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

// safeSysctls are namespaced sysctls that cannot affect the host or other
// containers (the Kubernetes "safe" set).
var safeSysctls = []string{
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.ping_group_range",
	"net.ipv4.tcp_syncookies",
}

// baselineAllows are the facets the baseline profile allows besides the
// lists above. Everything not listed (privileged, bind, device*, hostns,
// unconfined, unsafe sysctls, cgroup-parent, other runtimes, oom-kill-disable,
// volumes-from, plugin and swarm management, image-load, commit-changes,
// image-import, archive-put, non-default network drivers and every image)
// stays denied by default; a site policy adds trusted images and, if it
// must, bind prefixes. archive-put (`docker cp` INTO a container) is left
// out because extracting a caller's tar archive as root in the daemon has
// a history of writing to the host through symlink races (CVE-2018-15664,
// CVE-2019-14271); copying out of a container stays allowed.
var baselineAllows = [][2]string{
	{"route", "*"},
	{"volume", "*"},
	{"build", "*"},
	{"container-ns", "*"},
	{"runtime", "runc"},
	{"runtime", "io.containerd.runc.v2"},
	{"user", "*"},
	{"cap-drop", "*"},
	{"no-new-privileges", "*"},
	{"memory", "*"},
	{"cpus", "*"},
	{"pids-limit", "*"},
	// Ownership (serve --ownership; never raised otherwise): a user acts on
	// their own objects, creates them labelled as their own, may list
	// unfiltered and has no running-containers limit unless the site sets
	// one (`p, group:developers, running-containers, >5, deny`).
	{"ownership", "own"},
	{"owner-label", "self"},
	{"list-filter", "*"},
	{"running-containers", "*"},
}

// profileDenies hold for both baseline and restricted, whatever else a
// site allows: dockerd's /debug endpoints (served when the daemon runs with
// debug on) expose goroutine stacks, the daemon's command line and memory
// and CPU profiles, nothing a user's work needs.
var profileDenies = [][2]string{
	{"route", "debug:*"},
}

// restrictedAllows replace the permissive requirement facets of baseline.
// Resource limits have no allow here on purpose: restricted requires the
// site to set its maximum, e.g. `p, group:ci, memory, <=2g, allow`.
var restrictedAllows = [][2]string{
	{"user", "*"},
	{"cap-drop", "all"},
	{"no-new-privileges", "true"},
}

// restrictedDenies hold whatever a site policy allows (deny overrides).
var restrictedDenies = [][2]string{
	{"user", ""},
	{"user", "root"},
	{"user", "root:*"},
	{"user", "0"},
	{"user", "0:*"},
	{"memory", "0"},
	{"cpus", "0"},
	{"pids-limit", "0"},
}

// builtinRules returns the profile rules as Casbin rule values (without the
// leading "p"), in a stable order.
func builtinRules() [][]string {
	var out [][]string
	add := func(sub, facet, value, eft string) {
		out = append(out, []string{sub, facet, value, eft})
	}
	add(ProfileUnrestricted, "*", "*", "allow")

	for _, p := range []string{ProfileBaseline, ProfileRestricted} {
		for _, r := range baselineAllows {
			switch {
			case p == ProfileRestricted && isRequirement(r[0]):
				continue
			case p == ProfileRestricted && r[0] == "container-ns":
				continue // restricted containers do not join other containers' namespaces
			}
			add(p, r[0], r[1], "allow")
		}
		for _, s := range safeSysctls {
			add(p, "sysctl", s, "allow")
		}
		for _, r := range profileDenies {
			add(p, r[0], r[1], "deny")
		}
	}
	for _, c := range dockerDefaultCaps {
		add(ProfileBaseline, "cap", c, "allow")
	}
	add(ProfileRestricted, "cap", "NET_BIND_SERVICE", "allow")
	for _, r := range restrictedAllows {
		add(ProfileRestricted, r[0], r[1], "allow")
	}
	for _, r := range restrictedDenies {
		add(ProfileRestricted, r[0], r[1], "deny")
	}
	return out
}

func isRequirement(kind string) bool {
	switch kind {
	case "user", "cap-drop", "no-new-privileges", "memory", "cpus", "pids-limit":
		return true
	}
	return false
}

// Profiles lists the built-in profile subjects.
func Profiles() []string {
	p := []string{ProfileUnrestricted, ProfileBaseline, ProfileRestricted}
	sort.Strings(p)
	return p
}
