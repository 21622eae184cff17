package container

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/require"
)

// runc's rules: a sysctl is set only in a namespace the container has to itself.
func TestCheckSysctls(t *testing.T) {
	own := []specs.LinuxNamespace{{Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace}}
	hosts := []specs.LinuxNamespace{{Type: specs.NetworkNamespace, Path: "/proc/self/ns/net"}, {Type: specs.IPCNamespace, Path: "/proc/self/ns/ipc"}}
	for _, tc := range []struct {
		name       string
		namespaces []specs.LinuxNamespace
		key        string
		err        string
	}{
		{"net in its own", own, "net.ipv4.ping_group_range", ""},
		{"net in the host's", nil, "net.ipv4.ping_group_range", `sysctl "net.ipv4.ping_group_range" not allowed in host network namespace`},
		{"net in the host's, joined by path", hosts, "net.ipv4.ip_forward", `sysctl "net.ipv4.ip_forward" not allowed in host network namespace`},
		{"ipc in its own", own, "kernel.shmmax", ""},
		{"mqueue in its own", own, "fs.mqueue.msg_max", ""},
		{"ipc in the host's", hosts, "kernel.msgmax", `sysctl "kernel.msgmax" not allowed in host IPC namespace`},
		{"domainname in its own uts", own, "kernel.domainname", ""},
		{"domainname in the host's uts", nil, "kernel.domainname", `sysctl "kernel.domainname" is not in a namespace of the container's own`},
		{"hostname", own, "kernel.hostname", `sysctl "kernel.hostname" is not allowed: the spec's hostname sets it`},
		{"not namespaced", own, "vm.swappiness", `sysctl "vm.swappiness" is not in a namespace of the container's own`},
		{"a path out of /proc/sys", own, "net.ipv4../../../x", `invalid sysctl name "net.ipv4../../../x"`},
		{"a slash", own, "net.ipv4/conf", `invalid sysctl name "net.ipv4/conf"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &specs.Spec{Linux: &specs.Linux{Namespaces: tc.namespaces, Sysctl: map[string]string{tc.key: "1"}}}
			err := CheckSysctls(spec)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.err)
		})
	}
}
