package registry

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/stretchr/testify/require"
)

// The names docker pull's lines give a reference: its status line the short name, its last
// line the full one.
func TestPullNames(t *testing.T) {
	digest := "sha256:" + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"
	for ref, want := range map[string][2]string{
		"busybox":                      {"busybox:latest", "docker.io/library/busybox:latest"},
		"someone/app:1":                {"someone/app:1", "docker.io/someone/app:1"},
		"localhost:5000/team/app":      {"localhost:5000/team/app:latest", "localhost:5000/team/app:latest"},
		"127.0.0.1:5000/app@" + digest: {"127.0.0.1:5000/app@" + digest, "127.0.0.1:5000/app@" + digest},
	} {
		r, err := name.ParseReference(ref)
		require.NoError(t, err)
		require.Equal(t, want, [2]string{familiarName(r), fullName(r)}, ref)
	}
}
