package runconfig

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/container"
)

// PingGroupRange is the sysctl Docker (20.10 on) sets in every container with a network
// namespace of its own: any group may open ICMP echo sockets there, so a ping that uses one
// (iputils' does when it lacks CAP_NET_RAW) works for any user. It changes only the
// container's network namespace; the host's network keeps the host's setting.
var PingGroupRange = map[string]string{"net.ipv4.ping_group_range": "0 2147483647"}

// dropUnmappedGroups takes out of the spec's mounts a gid= option (devpts' gid=5, tty) that
// names a group the container's user namespace does not map — one of an ordinary user with no
// subordinate ids maps root alone — which the kernel refuses (EINVAL): the terminals are then
// root's group.
func (o *Options) dropUnmappedGroups(spec *specs.Spec) {
	top, ok := o.lastGroup()
	if !ok {
		return
	}
	for i, m := range spec.Mounts {
		spec.Mounts[i].Options = slices.DeleteFunc(slices.Clone(m.Options), func(opt string) bool {
			v, isGid := strings.CutPrefix(opt, "gid=")
			gid, err := strconv.ParseUint(v, 10, 32)
			return isGid && err == nil && uint32(gid) > top
		})
	}
}

// lastGroup is the highest group id of a container that has a user namespace: its own (UserNS),
// or the engine's, when the engine runs in one (rootless). ok is false in the host's.
func (o *Options) lastGroup() (uint32, bool) {
	var m []specs.LinuxIDMapping
	if o.UserNS != nil {
		m = o.UserNS.GIDMappings
	} else {
		m = container.OwnMappings("gid_map")
		if container.IsIdentity(m) {
			return 0, false
		}
	}
	if len(m) == 0 {
		return 0, false
	}
	top := uint32(0)
	for _, e := range m {
		top = max(top, e.ContainerID+e.Size-1)
	}
	return top, true
}

// sysctlsDocker are the sysctls Docker's command line lets --sysctl set (its ValidateSysctl):
// the IPC namespace's kernel.* settings, and prefixes for the network and mqueue namespaces.
var (
	sysctlsDocker        = []string{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}
	sysctlPrefixesDocker = []string{"net.", "fs.mqueue."}
)

// ParseSysctls reads --sysctl KEY=VALUE values, refusing what Docker's command line refuses.
func ParseSysctls(values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range values {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !(slices.Contains(sysctlsDocker, k) || slices.ContainsFunc(sysctlPrefixesDocker, func(p string) bool { return strings.HasPrefix(k, p) })) {
			return nil, fmt.Errorf("invalid argument %q for \"--sysctl\" flag: sysctl '%s' is not whitelisted", kv, kv)
		}
		out[k] = v
	}
	return out, nil
}

// setSysctls puts the container's sysctls in its spec: Docker's default for a network
// namespace of its own, then the user's, which win. What the container would not have to
// itself (net.* on the host's network) is refused here, before anything is made.
func (o *Options) setSysctls(spec *specs.Spec) error {
	sysctls := map[string]string{}
	if !o.HostNetwork {
		maps.Copy(sysctls, PingGroupRange)
		if top, ok := o.lastGroup(); ok {
			// In a user namespace the range must name mapped groups (EINVAL otherwise): its
			// groups, all of them.
			sysctls["net.ipv4.ping_group_range"] = fmt.Sprintf("0 %d", top)
		}
	}
	maps.Copy(sysctls, o.Sysctls)
	if len(sysctls) == 0 {
		return nil
	}
	spec.Linux.Sysctl = sysctls
	return container.CheckSysctls(spec)
}
