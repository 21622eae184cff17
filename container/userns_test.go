package container

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/require"
)

func TestHostID(t *testing.T) {
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
	for _, tc := range []struct {
		name   string
		id     uint32
		want   uint32
		mapped bool
	}{
		{"root is the user", 0, 1000, true},
		{"the range starts at 1", 1, 100000, true},
		{"its last id", 65536, 165535, true},
		{"past the range", 65537, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := HostID(m, tc.id)
			require.Equal(t, tc.mapped, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestOverlayOptionsSplit(t *testing.T) {
	// As workspace.OverlayOptions escapes a root of /srv/a,b:c.
	opts := `lowerdir=/srv/a\,b\:c/l2:/srv/a\,b\:c/l1,upperdir=/srv/a\,b\:c/upper,workdir=/w,index=off`
	parts := splitEscaped(opts, ',')
	require.Equal(t, []string{`lowerdir=/srv/a\,b\:c/l2:/srv/a\,b\:c/l1`, `upperdir=/srv/a\,b\:c/upper`, "workdir=/w", "index=off"}, parts)
	lower := splitEscaped(parts[0][len("lowerdir="):], ':')
	require.Equal(t, []string{"/srv/a,b:c/l2", "/srv/a,b:c/l1"}, []string{unescapeOverlay(lower[0]), unescapeOverlay(lower[1])})
	require.Equal(t, `a\b`, unescapeOverlay(`a\\b`))
}

func TestNewUserNamespace(t *testing.T) {
	require.True(t, newUserNamespace([]specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.UserNamespace}}))
	require.False(t, newUserNamespace([]specs.LinuxNamespace{{Type: specs.UserNamespace, Path: "/proc/1/ns/user"}}), "joined, not made")
	require.False(t, newUserNamespace(nil))
}
