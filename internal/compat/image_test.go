package compat

import (
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/image"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// Each API version's image inspect: what the versions before a change still had, given back.
func TestImage(t *testing.T) {
	resp := &image.InspectResponse{ID: "sha256:1", Size: 42,
		Config: &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{Cmd: []string{"sh"}}}}
	for _, tc := range []struct {
		version             string
		has, hasNot         []string // top-level fields
		configHas, configNo []string
	}{
		{version: "1.41", has: []string{"Parent", "DockerVersion", "Comment", "Author", "Container", "ContainerConfig", "VirtualSize"},
			configHas: []string{"Hostname", "AttachStdin", "Image", "Entrypoint", "OnBuild", "Labels", "Cmd"}},
		{version: "1.44", has: []string{"Parent", "Container", "ContainerConfig"}, hasNot: []string{"VirtualSize"},
			configHas: []string{"Hostname", "Entrypoint"}},
		{version: "1.45", has: []string{"Parent", "DockerVersion"}, hasNot: []string{"Container", "ContainerConfig", "VirtualSize"},
			configHas: []string{"Hostname", "Entrypoint"}},
		{version: "1.50", has: []string{"Parent"}, configHas: []string{"Entrypoint", "WorkingDir"}, configNo: []string{"Hostname", "Image"}},
		{version: "1.52", hasNot: []string{"Parent", "DockerVersion", "Comment", "Author", "Container"},
			configHas: []string{"Cmd"}, configNo: []string{"Entrypoint", "Hostname"}},
		{version: "", hasNot: []string{"Parent", "VirtualSize"}, configNo: []string{"Entrypoint"}},
	} {
		t.Run("v"+tc.version, func(t *testing.T) {
			f, err := Image(resp, tc.version)
			require.NoError(t, err)
			for _, k := range tc.has {
				require.Contains(t, f, k)
			}
			for _, k := range tc.hasNot {
				require.NotContains(t, f, k)
			}
			config := f["Config"].(map[string]any)
			for _, k := range tc.configHas {
				require.Contains(t, config, k)
			}
			for _, k := range tc.configNo {
				require.NotContains(t, config, k)
			}
			require.Equal(t, []any{"sh"}, config["Cmd"], "what the image sets is kept")
		})
	}
	f, err := Image(resp, "1.41")
	require.NoError(t, err)
	require.Equal(t, f["Size"], f["VirtualSize"])
	require.Nil(t, f["ContainerConfig"].(map[string]any)["Cmd"], "a container config of nothing")
}
