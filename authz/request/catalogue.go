package request

// Facet kinds beyond those in facts.go. The same names are used in policies,
// audit records, deny messages and `docker-authz explain`.
const (
	KindVolume         = "volume"        // value: named volume a container mounts
	KindVolumeDriver   = "volume-driver" // value: a volume driver other than local
	KindVolumesFrom    = "volumes-from"  // value: HostConfig.VolumesFrom entry as given
	KindDevice         = "device"        // value: host device path
	KindDeviceCgroup   = "device-cgroup-rule"
	KindDeviceRequest  = "device-request"    // value: driver, "gpu", or the capabilities
	KindHostNS         = "hostns"            // value: network | pid | ipc | uts | userns | cgroupns
	KindContainerNS    = "container-ns"      // value: "<ns>:container:<id>"
	KindUnconfined     = "unconfined"        // value: seccomp | seccomp-profile | apparmor | label | systempaths | maskedpaths | readonlypaths | no-new-privileges
	KindSysctl         = "sysctl"            // value: sysctl key, dotted, lower case
	KindCgroupParent   = "cgroup-parent"     // value: cgroup path
	KindRuntime        = "runtime"           // value: OCI runtime name
	KindOomKillDisable = "oom-kill-disable"  // value: true
	KindImageImport    = "image-import"      // value: fromSrc ("-" = request body)
	KindImageLoad      = "image-load"        // value: tarball
	KindBuild          = "build"             // value: context | remote:<url> | buildkit
	KindPlugin         = "plugin"            // value: install | upgrade | set | enable | disable | remove | push | create
	KindSwarm          = "swarm"             // value: init | join | leave | update | unlock
	KindCommitChanges  = "commit-changes"    // value: one Dockerfile instruction from ?changes=
	KindArchivePut     = "archive-put"       // value: destination path in the container
	KindNetworkDriver  = "network-driver"    // value: driver other than bridge/overlay
	KindUser           = "user"              // value: Config.User / exec User as given ("" = image default)
	KindCapDrop        = "cap-drop"          // value: all | partial | none
	KindNoNewPrivs     = "no-new-privileges" // value: true | false
	KindMemory         = "memory"            // value: bytes, "0" = unlimited
	KindCPUs           = "cpus"              // value: nano-CPUs, "0" = unlimited
	KindPidsLimit      = "pids-limit"        // value: limit, "0" = unlimited

	// Ownership facets: raised by package authz/owner (serve --ownership),
	// never by Normalize, so policies without ownership never see them.
	KindOwnership         = "ownership"          // value: own | other | none (object without owner label, or no such object)
	KindOwnerLabel        = "owner-label"        // value: self | other | missing (the owner label of a create)
	KindListFilter        = "list-filter"        // value: own | unfiltered
	KindRunningContainers = "running-containers" // value: the caller's running containers once this one runs
)

// KindInfo describes a facet kind for policies, documentation and messages.
type KindInfo struct {
	Kind   string
	Phrase string // completes "alice may not …"; %s is the facet value
	Where  string // where in a request the facet is found
}

// Catalogue lists every facet kind Normalize can raise, in documentation order.
var Catalogue = []KindInfo{
	{KindRoute, "call %s", "every request: the route name (container:create, image:pull, ...; unknown for anything not in the API 1.41 route table)"},
	{KindPrivileged, "run privileged %s", "HostConfig.Privileged (container; also legacy top-level and start body on API < 1.24), exec create Privileged (exec), plugin privileges on install/upgrade and service plugin runtimes (plugin)"},
	{KindBind, "bind-mount host path %s", "HostConfig.Binds with an absolute source, HostConfig.Mounts type=bind, volume mounts and volume create with local driver options type=none/o=bind/device=, service Mounts, start body on API < 1.24, Config.Volumes keys with a host part, checkpoint dirs"},
	{KindVolume, "mount the named volume %s", "HostConfig.Binds with a volume name, HostConfig.Mounts type=volume, service Mounts type=volume"},
	{KindVolumeDriver, "use the volume driver %s", "volume create Driver, Mounts VolumeOptions.DriverConfig.Name, HostConfig.VolumeDriver: any driver other than local"},
	{KindVolumesFrom, "mount the volumes of container %s", "HostConfig.VolumesFrom"},
	{KindCap, "add capability %s", "HostConfig.CapAdd (upper case, CAP_ prefix stripped, ALL kept), service CapabilityAdd"},
	{KindDevice, "access host device %s", "HostConfig.Devices PathOnHost; local volume with a device and a filesystem type"},
	{KindDeviceCgroup, "add device cgroup rule %s", "HostConfig.DeviceCgroupRules"},
	{KindDeviceRequest, "request devices from %s", "HostConfig.DeviceRequests (driver, gpu, or capabilities)"},
	{KindHostNS, "use the host %s namespace", "NetworkMode/PidMode/IpcMode/UTSMode/UsernsMode/CgroupnsMode host, build networkmode=host, network connect to host, service networks host"},
	{KindContainerNS, "join the namespace %s", "NetworkMode/PidMode/IpcMode/Cgroup container:<id>"},
	{KindUnconfined, "disable confinement: %s", "SecurityOpt seccomp=unconfined, custom seccomp profile, apparmor other than docker-default, label=disable/type:, systempaths=unconfined, MaskedPaths/ReadonlyPaths weakened, build securityopt, service SELinuxContext.Disable, SecurityOpt no-new-privileges=false (overrides a daemon-wide no-new-privileges)"},
	{KindSysctl, "set sysctl %s", "HostConfig.Sysctls, service ContainerSpec.Sysctls"},
	{KindCgroupParent, "use cgroup parent %s", "HostConfig.CgroupParent, container update, build cgroupparent"},
	{KindRuntime, "use the runtime %s", "HostConfig.Runtime when set"},
	{KindOomKillDisable, "disable the OOM killer", "HostConfig.OomKillDisable true (create, update)"},
	{KindImage, "use the image %s", "container create Image, pull fromImage(+tag), build t, commit repo/tag, image tag target, push, import repo/tag, service image"},
	{KindImageImport, "import an image from %s", "POST /images/create with fromSrc"},
	{KindImageLoad, "load images from a %s", "POST /images/load"},
	{KindBuild, "build from %s", "POST /build (context or remote URL), POST /grpc (buildkit)"},
	{KindPlugin, "%s plugins", "plugin install/pull, upgrade, set, enable, disable, remove, push, create"},
	{KindSwarm, "%s a swarm", "swarm init, join, leave, update, unlock"},
	{KindCommitChanges, "commit with the change %s", "POST /commit?changes="},
	{KindArchivePut, "write files into a container at %s", "PUT /containers/{name}/archive?path="},
	{KindNetworkDriver, "create networks with the driver %s", "network create Driver other than bridge/overlay"},
	{KindUser, "run as user %q", "container create Config.User, exec create User (restricted profile)"},
	{KindCapDrop, "run containers with cap-drop %s", "container create HostConfig.CapDrop: all, partial or none (restricted profile)"},
	{KindNoNewPrivs, "run containers with no-new-privileges=%s", "container create SecurityOpt no-new-privileges (restricted profile)"},
	{KindMemory, "run containers with memory limit %s", "HostConfig.Memory, create and update (on update only when set: 0 there means unchanged) (restricted profile)"},
	{KindCPUs, "run containers with CPU limit %s nano-CPUs", "HostConfig.NanoCpus or CpuQuota/CpuPeriod, create and update (on update only when set) (restricted profile)"},
	{KindPidsLimit, "run containers with pids limit %s", "HostConfig.PidsLimit, create and update (on update only when set) (restricted profile)"},
	{KindOwnership, "act on an object whose ownership is %s", "serve --ownership: every request on one container (by name, id or id prefix; execs through their container; commit ?container=; network connect/disconnect Container), volume or network, the named volumes, container namespaces, legacy links, volumes-from containers and user-defined networks of a container create (and of an old-API start body), the volumes and networks of a service spec, and prune: own = its owner label is the caller, other = another user (also raised when a name is a prefix of another user's id), none = no owner label or no such object"},
	{KindOwnerLabel, "create an object whose owner label is %s", "serve --ownership: Labels[\"com.docker-authz.owner\"] of container, volume and network create: self = the caller, other = another user, missing = not set"},
	{KindListFilter, "list objects %s", "serve --ownership: container, volume and network list: own = filters has label=com.docker-authz.owner=<caller>, unfiltered = it does not"},
	{KindRunningContainers, "run %s containers at once", "serve --ownership: container start, restart and unpause: the caller's running containers (owner label) counted through the Docker API, plus this one"},
}

// LookupKind returns the catalogue entry for kind.
func LookupKind(kind string) (KindInfo, bool) {
	for _, k := range Catalogue {
		if k.Kind == kind {
			return k, true
		}
	}
	return KindInfo{}, false
}
