package runconfig

import (
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// A container with a network namespace of its own gets Docker's ping_group_range; on the
// host's network it gets none; a user's --sysctl wins; what is not the container's own is
// refused before anything is made.
func TestSpecSysctls(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    Options
		want    map[string]string
		wantErr string
	}{
		{name: "own network", want: map[string]string{"net.ipv4.ping_group_range": "0 2147483647"}},
		{name: "host network", opts: Options{HostNetwork: true}},
		{name: "the user's wins", opts: Options{Sysctls: map[string]string{"net.ipv4.ping_group_range": "1 0", "kernel.shmmax": "4096"}},
			want: map[string]string{"net.ipv4.ping_group_range": "1 0", "kernel.shmmax": "4096"}},
		{name: "host network and the user's kernel.* setting", opts: Options{HostNetwork: true, Sysctls: map[string]string{"kernel.msgmax": "8192"}},
			want: map[string]string{"kernel.msgmax": "8192"}},
		{name: "net.* on the host's network", opts: Options{HostNetwork: true, Sysctls: map[string]string{"net.ipv4.ip_forward": "1"}},
			wantErr: `sysctl "net.ipv4.ip_forward" not allowed in host network namespace`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Cmd = []string{"true"}
			spec, _, err := tc.opts.Spec("0123456789abcdef", ocispec.ImageConfig{})
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, spec.Linux.Sysctl)
		})
	}
}

func TestParseSysctls(t *testing.T) {
	got, err := ParseSysctls([]string{"net.ipv4.ping_group_range=0 0", "kernel.sem=250 32000 32 128", "fs.mqueue.msg_max=20", "net.core.somaxconn=a=b"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"net.ipv4.ping_group_range": "0 0", "kernel.sem": "250 32000 32 128", "fs.mqueue.msg_max": "20", "net.core.somaxconn": "a=b"}, got)
	for _, bad := range []string{"kernel.panic=1", "vm.swappiness=0", "net.ipv4.ip_forward", "kernel.hostname=x"} {
		_, err := ParseSysctls([]string{bad})
		require.EqualError(t, err, `invalid argument "`+bad+`" for "--sysctl" flag: sysctl '`+bad+`' is not whitelisted`, bad)
	}
}
