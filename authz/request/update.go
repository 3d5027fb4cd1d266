package request

import (
	"strconv"

	"github.com/docker/docker/api/types/container"
)

// updateResources raises memory, cpus and pids-limit for POST
// /containers/{name}/update. Unlike create, a zero field there means
// "leave unchanged" (dockerd 20.10 container.UpdateContainer: Memory != 0,
// NanoCPUs != 0, CPUQuota != 0, PidsLimit != nil), so only the limits the
// update changes are raised; the unchanged ones were checked at create.
// A changed CpuPeriod alone changes the CPU share by an amount the request
// does not tell, so it is raised as cpus=0 (unlimited), which quota rules
// refuse.
func (c *collector) updateResources(r *container.Resources) {
	if r.Memory != 0 {
		c.add(KindMemory, strconv.FormatInt(max(r.Memory, 0), 10), "Memory")
	}
	switch {
	case r.NanoCPUs != 0:
		c.add(KindCPUs, strconv.FormatInt(max(r.NanoCPUs, 0), 10), "NanoCpus")
	case r.CPUQuota > 0 && r.CPUPeriod > 0:
		c.add(KindCPUs, strconv.FormatInt(r.CPUQuota*1_000_000_000/r.CPUPeriod, 10), "CpuQuota")
	case r.CPUQuota != 0 || r.CPUPeriod != 0:
		// quota without period (or the reverse) depends on the container's
		// current values; -1 quota is unlimited.
		c.add(KindCPUs, "0", "CpuQuota/CpuPeriod")
	}
	if r.PidsLimit != nil {
		c.add(KindPidsLimit, strconv.FormatInt(max(*r.PidsLimit, 0), 10), "PidsLimit")
	}
}
