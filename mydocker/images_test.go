package main

import (
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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

// pullNoise are the lines of Docker's pull that mydocker does not print: the stages of a
// layer's download before it is unpacked.
var pullNoise = regexp.MustCompile(`(?m)^[0-9a-f]{12}: (Pulling fs layer|Waiting|Verifying Checksum|Download complete)\n`)

// docker pull's lines as Docker 20.10 prints them, pulling from the same registry into a store
// as empty: a first pull, the same again (the image is up to date), another tag of the same
// image, the default tag, by digest, a multi-platform image (its digest is the index's), quiet,
// and a name the registry lacks.
func TestPullParity(t *testing.T) {
	reg := startRegistry(t, registryOptions{})
	e := newEngine(t)
	d := startDockerd(t)
	e.must("run", "--net", "none", "--name", "mk", "busybox", "sh", "-c", "echo pulled > /pulled")
	repo := reg.addr + "/app"
	e.must("commit", "mk", repo+":1")
	var digest string
	for _, tag := range []string{"1", "2", "latest"} {
		e.must("tag", repo+":1", repo+":"+tag)
		digest = pushDigest.FindStringSubmatch(e.must("push", repo+":"+tag))[1]
	}
	// The same image as a multi-platform index (of this machine's platform alone).
	src, err := name.ParseReference(repo+":1", name.Insecure)
	require.NoError(t, err)
	img, err := remote.Image(src)
	require.NoError(t, err)
	index := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img,
		Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}})
	multi, err := name.ParseReference(reg.addr+"/multi:1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(multi, index))
	mine := newEngine(t)
	mine.must("rmi", "busybox") // as empty as the daemon: the image's layers are all pulled

	for _, step := range []struct {
		name string
		args []string
	}{
		{"first", []string{"pull", repo + ":1"}},
		{"again", []string{"pull", repo + ":1"}},
		{"another tag", []string{"pull", repo + ":2"}},
		{"the default tag", []string{"pull", repo}},
		{"the default tag again", []string{"pull", repo}},
		{"by digest", []string{"pull", repo + "@" + digest}},
		{"quiet", []string{"pull", "-q", repo + ":1"}},
		{"a multi-platform image", []string{"pull", reg.addr + "/multi:1"}},
		{"the index's digest kept", []string{"image", "inspect", "-f", "{{.RepoDigests}}", reg.addr + "/multi:1"}},
		{"none such", []string{"pull", reg.addr + "/nosuch:1"}},
	} {
		t.Run(step.name, func(t *testing.T) {
			want, got := d.docker("", step.args...), mine.run(step.args...)
			require.Equal(t, want.code, got.code, "exit status: docker %s\nmydocker %s", want, got)
			require.Equal(t, pullNoise.ReplaceAllString(want.stdout, ""), got.stdout)
		})
	}
}

// countingProxy passes requests on to a registry, from a port of loopback of its own, and
// keeps what it passed ("GET /v2/app/manifests/1").
type countingProxy struct {
	addr     string
	mu       sync.Mutex
	requests []string
}

func startCountingProxy(t *testing.T, registry string) *countingProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	target, err := url.Parse("http://" + registry)
	require.NoError(t, err)
	forward := httputil.NewSingleHostReverseProxy(target)
	p := &countingProxy{addr: l.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests = append(p.requests, r.Method+" "+r.URL.Path)
		p.mu.Unlock()
		forward.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return p
}

// take returns the requests passed since the last take.
func (p *countingProxy) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.requests
	p.requests = nil
	return r
}

func blobRequests(requests []string) []string {
	var out []string
	for _, r := range requests {
		if strings.Contains(r, "/blobs/") {
			out = append(out, r)
		}
	}
	return out
}

// A pull of an image the store has (the manifest's config is an image's id) fetches its
// manifest and no blob, as Docker's: the config is not read again, and no layer is looked at.
// Under another name, the image is tagged with it; either way the digest is recorded.
func TestPullOfAnImageHereReadsItsManifestOnly(t *testing.T) {
	reg := startRegistry(t, registryOptions{})
	e := newEngine(t)
	e.must("run", "--net", "none", "--name", "mk", "busybox", "sh", "-c", "echo pulled > /pulled")
	e.must("commit", "mk", reg.addr+"/app:1")
	e.must("push", "-q", reg.addr+"/app:1")
	proxy := startCountingProxy(t, reg.addr)
	ref := proxy.addr + "/app:1"

	fresh := newEngine(t) // its busybox is the image's first layer
	fresh.must("pull", ref)
	first := proxy.take()
	require.Len(t, blobRequests(first), 2, "the config and the layer the store lacks: %v", first)

	out := fresh.must("pull", ref)
	require.Contains(t, out, "Status: Image is up to date for "+ref+"\n")
	again := proxy.take()
	require.Empty(t, blobRequests(again), "no blob fetched again: %v", again)
	require.Contains(t, again, "GET /v2/app/manifests/1")

	// The engine that made the image pulls it under the proxy's name.
	out = e.must("pull", ref)
	require.Contains(t, out, "Status: Downloaded newer image for "+ref+"\n")
	require.NotContains(t, out, "Pull complete")
	require.Empty(t, blobRequests(proxy.take()))
	require.Equal(t, e.must("inspect", "-f", "{{.Id}}", reg.addr+"/app:1"), e.must("inspect", "-f", "{{.Id}}", ref), "tagged")
	require.Contains(t, e.must("inspect", "-f", "{{.RepoDigests}}", ref), proxy.addr+"/app@sha256:", "its digest recorded")
}
