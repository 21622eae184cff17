package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Containers get Docker's sysctls (ping_group_range in a network namespace of their own) and
// the user's --sysctl, with Docker 20.10 as the oracle: the same output and exit status, and
// the same refusals.
func TestSysctlParity(t *testing.T) {
	e := newEngine(t)
	d := startDockerd(t)
	d.loadImage(t, e)
	const pingRange = "/proc/sys/net/ipv4/ping_group_range"
	for _, tc := range []struct {
		name      string
		args      []string
		stderrHas string
	}{
		{"own network", []string{"--net", "none", "busybox", "cat", pingRange}, ""},
		{"the user's wins", []string{"--net", "none", "--sysctl", "net.ipv4.ping_group_range=1 0", "busybox", "cat", pingRange}, ""},
		{"host network", []string{"--net", "host", "busybox", "cat", pingRange}, ""},
		{"an IPC setting", []string{"--net", "none", "--sysctl", "kernel.shmmax=4096", "busybox", "cat", "/proc/sys/kernel/shmmax"}, ""},
		{"not namespaced", []string{"--net", "none", "--sysctl", "kernel.panic=1", "busybox", "true"}, "is not whitelisted"},
		{"net.* on the host's network", []string{"--net", "host", "--sysctl", "net.ipv4.ip_forward=1", "busybox", "true"}, "not allowed in host network namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := d.docker("", append([]string{"run", "--rm"}, tc.args...)...)
			got := e.run(append([]string{"run", "--rm"}, tc.args...)...)
			t.Logf("docker: %s\nmydocker: %s", want, got)
			require.Equal(t, want.code, got.code, "exit status: docker %s\nmydocker %s", want, got)
			require.Equal(t, want.stdout, got.stdout)
			if tc.stderrHas != "" {
				require.Contains(t, want.stderr, tc.stderrHas, "docker")
				require.Contains(t, got.stderr, tc.stderrHas, "mydocker")
			}
		})
	}
}
