package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// An image pulled by Docker 20.10 and by mydocker from one registry, and busybox saved by
// mydocker and loaded by Docker: image inspect's JSON is the same, field by field, but for what
// docs/differences.md lists (GraphDriver, and Size by the bytes of the symlinks' targets); the
// templates of users' scripts print the same; inspect falls back from a container to an image
// as Docker's does; history and images --digests show the same ids, steps and digests.
func TestImageInspectParity(t *testing.T) {
	reg := startRegistry(t, registryOptions{})
	e := newEngine(t)
	d := startDockerd(t)
	d.loadImage(t, e)
	e.must("run", "--net", "none", "--name", "mk", "busybox", "sh", "-c", "echo made > /made; ln -s made /link")
	ref := reg.addr + "/app:1"
	e.must("commit", "-m", "a <message>", "-a", "A. Uthor <a@example.org>",
		"-c", `CMD ["sh", "-c", "echo hi"]`, "-c", `ENTRYPOINT ["/bin/env"]`, "-c", "ENV A=1 B=two", "-c", "EXPOSE 80 53/udp",
		"-c", "LABEL tier=web", "-c", "WORKDIR /tmp", "-c", "USER 42", "-c", "VOLUME /data", "-c", "STOPSIGNAL SIGINT", "mk", ref)
	e.must("push", "-q", ref)
	r := d.docker("", "pull", "-q", ref)
	require.Equal(t, 0, r.code, "docker pull: %s", r)
	mine := newEngine(t)
	mine.must("pull", "-q", ref)

	for _, tc := range []struct {
		name string
		e    *engineEnv
		ref  string
	}{{"pulled", mine, ref}, {"loaded", e, "busybox"}} {
		t.Run("JSON of the "+tc.name, func(t *testing.T) {
			want := inspectJSON(t, d.docker("", "image", "inspect", tc.ref))
			got := inspectJSON(t, tc.e.run("image", "inspect", tc.ref))
			require.Equal(t, "overlay2", want["GraphDriver"].(map[string]any)["Name"])
			gd := got["GraphDriver"].(map[string]any)
			require.Equal(t, "overlay", gd["Name"], "the driver a container gets")
			data := gd["Data"].(map[string]any)
			layers := []string{data["UpperDir"].(string)}
			if lower, ok := data["LowerDir"].(string); ok {
				layers = append(layers, strings.Split(lower, ":")...)
			}
			require.Len(t, layers, len(got["RootFS"].(map[string]any)["Layers"].([]any)), "a directory per layer")
			// Docker's overlay2 counts what lstat says of each file: its symlinks' targets too.
			var links int64
			for _, dir := range layers {
				links += symlinkBytes(t, dir)
			}
			for _, field := range []string{"Size", "VirtualSize"} {
				require.Equal(t, jsonInt(t, want[field]), jsonInt(t, got[field])+links, field)
			}
			for _, field := range []string{"GraphDriver", "Size", "VirtualSize"} {
				delete(want, field)
				delete(got, field)
			}
			require.Equal(t, want, got)
		})
	}
	require.Equal(t, e.must("image", "inspect", "busybox"), e.must("inspect", "busybox"), "inspect falls back to the image")

	for _, tmpl := range []string{
		"{{.Id}}", "{{json .RootFS.Layers}}", "{{.RepoDigests}}", "{{.RepoTags}}", "{{range .RepoTags}}{{.}} {{end}}",
		"{{.Config.Cmd}}", "{{.Config.Env}}", "{{.Config.Entrypoint}}", "{{json .Config.Cmd}}", "{{.Config.ExposedPorts}}",
		"{{json .Config.ExposedPorts}}", "{{.Config.Labels}}", `{{index .Config.Labels "tier"}}`, "{{.Config.Volumes}}",
		"{{.Config.WorkingDir}} {{.Config.User}} {{.Config.StopSignal}}", "{{.Config.Healthcheck}}", "{{.Config.OnBuild}}",
		"{{.Config.Hostname}}|{{.Config.Cmd}}", "{{.Created}}", "{{.Comment}}", "{{.Author}}", "{{.Os}}/{{.Architecture}}",
		"{{.Parent}}|{{.DockerVersion}}|{{.Container}}", "{{.ContainerConfig.Cmd}}", "{{.Metadata.LastTagTime}}",
		"{{len .RootFS.Layers}} {{.RootFS.Type}}",
	} {
		t.Run(tmpl, func(t *testing.T) {
			want := d.docker("", "image", "inspect", "-f", tmpl, ref)
			require.Equal(t, 0, want.code, "docker: %s", want)
			require.Equal(t, want.stdout, mine.must("image", "inspect", "-f", tmpl, ref))
			require.Equal(t, want.stdout, mine.must("inspect", "-f", tmpl, ref))
		})
	}

	for _, step := range []struct {
		name string
		args []string
	}{
		{"inspect --type image", []string{"inspect", "--type", "image", "-f", "{{.Id}}", ref}},
		{"inspect --type container of an image", []string{"inspect", "--type", "container", ref}},
		{"image inspect of an image and of none", []string{"image", "inspect", "-f", "{{.Id}}", ref, "nosuch"}},
		{"inspect of nothing", []string{"inspect", "nosuch"}},
		{"history", []string{"history", "--no-trunc", "--format", "{{.ID}} {{.CreatedBy}} {{.Comment}}", ref}},
		{"images --digests", []string{"images", "--digests", "--no-trunc", "--filter", "reference=" + reg.addr + "/*",
			"--format", "{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}"}},
	} {
		t.Run(step.name, func(t *testing.T) {
			want, got := d.docker("", step.args...), mine.run(step.args...)
			require.Equal(t, want.code, got.code, "exit status: docker %s\nmydocker %s", want, got)
			require.Equal(t, want.stdout, got.stdout)
			require.Equal(t, want.stderr, got.stderr)
		})
	}
}

// inspectJSON is the one object of an inspect's JSON.
func inspectJSON(t *testing.T, r result) map[string]any {
	t.Helper()
	require.Equal(t, 0, r.code, "%s", r)
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.UseNumber()
	var list []map[string]any
	require.NoError(t, dec.Decode(&list), r.stdout)
	require.Len(t, list, 1)
	return list[0]
}

func jsonInt(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	require.True(t, ok, "%v is not a number", v)
	i, err := n.Int64()
	require.NoError(t, err)
	return i
}

// symlinkBytes is the length of the targets of the symlinks below dir.
func symlinkBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return err
		}
		target, err := os.Readlink(path)
		n += int64(len(target))
		return err
	}))
	return n
}
