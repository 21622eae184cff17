package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The build parity test builds a table of Dockerfiles with Docker 20.10's classic builder
// (a private dockerd, DOCKER_BUILDKIT=0) and with mydocker, and compares the images: their
// files (path, type, mode, owner, content), their configs, and their number of history
// entries. buildah's bud, where it runs, is a second reference (TestBuildahParity).

// buildCase is one Dockerfile and its context. A file's name may end in "#MODE" (octal);
// a body "-> TARGET" makes a symlink; a name ending in "/" a directory.
type buildCase struct {
	name       string
	dockerfile string
	files      map[string]string
	flags      []string                       // build's own flags: --build-arg, --target
	setup      func(t *testing.T, dir string) // what files cannot say (an archive)
}

func buildCases() []buildCase {
	return []buildCase{
		{name: "config instructions", dockerfile: `FROM busybox
LABEL org.example.name="demo app" version=1.0
ENV APP_HOME=/srv/app PATH=/srv/app/bin:$PATH
WORKDIR $APP_HOME
WORKDIR sub
USER nobody
EXPOSE 8080 9000/udp
STOPSIGNAL SIGINT
VOLUME ["/data", "/logs"]
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo hello"]
`},
		{name: "run and copy", dockerfile: `FROM busybox
COPY app.sh /usr/local/bin/
COPY conf/ /etc/app/
COPY *.txt /data/
RUN chmod 700 /usr/local/bin/app.sh && mkdir -p /var/lib/app && echo built > /var/lib/app/stamp && rm /etc/group
RUN echo "appuser:x:1234:1234::/home/appuser:/bin/sh" >> /etc/passwd && echo "appuser:x:1234:" > /etc/group
COPY --chown=1234:1234 conf /home/app/conf
COPY --chown=appuser one.txt /home/app/deep/er/one.txt
USER appuser
RUN touch /tmp/mine && ls -ln /tmp/mine
RUN true
`, files: map[string]string{"app.sh#755": "#!/bin/sh\necho app\n", "conf/a.conf": "a=1\n", "conf/sub/b.conf#600": "b=2\n",
			"conf/link": "-> a.conf", "one.txt": "one\n", "two.txt": "two\n"}},
		{name: "multi-stage, COPY --from", dockerfile: multiStage},
		{name: "--target", dockerfile: multiStage, flags: []string{"--target", "tester"}},
		{name: ".dockerignore with ! and **", dockerfile: "FROM busybox\nCOPY . /ctx/\nRUN find /ctx | sort > /listing\n",
			files: map[string]string{".dockerignore": "*.log\n**/secret*\nbuild/\n!build/keep.txt\n", "app.log": "x", "keep.txt": "k",
				"a/secret.txt": "s", "a/b/secret2": "s", "a/ok.txt": "ok", "build/x": "x", "build/keep.txt": "kept"}},
		{name: "ADD of a local tar.gz", dockerfile: "FROM busybox\nADD archive.tar.gz /opt/\nADD plain.txt /opt/plain.txt\n",
			files: map[string]string{"plain.txt": "plain\n"}, setup: writeArchive},
		{name: "build args", dockerfile: `ARG BASE=busybox
FROM $BASE
ARG GREETING=hello
ARG TARGETED
ENV FROM_ENV=$GREETING
RUN echo "$GREETING $TARGETED" > /greeting
`, flags: []string{"--build-arg", "TARGETED=world", "--label", "built.by=parity", "--label", "a=1"}},
		{name: "VOLUME, then RUN writes into it", dockerfile: `FROM busybox
RUN mkdir /data && echo before > /data/before
VOLUME /data
RUN echo after > /data/after && echo outside > /outside
`},
		{name: "SHELL, HEALTHCHECK, ONBUILD, MAINTAINER", dockerfile: `FROM busybox
MAINTAINER someone <someone@example.com>
SHELL ["/bin/sh", "-ec"]
RUN echo shell > /shell
HEALTHCHECK --interval=5s --retries=3 CMD wget -q -O- http://localhost/ || exit 1
ONBUILD RUN echo triggered > /triggered
ENTRYPOINT top -b
`},
		{name: "ONBUILD triggered by FROM of its stage", dockerfile: `FROM busybox AS base
ONBUILD RUN echo triggered > /triggered
ONBUILD ENV TRIGGERED=yes
FROM base
RUN cat /triggered
`},
		{name: "relative WORKDIR and destinations", dockerfile: `FROM busybox
WORKDIR /app
WORKDIR src
COPY hello.txt ./
COPY hello.txt renamed.txt
COPY conf conf
RUN pwd > /pwd
`, files: map[string]string{"hello.txt": "hello\n", "conf/x#640": "x\n"}},
	}
}

const multiStage = `FROM busybox AS builder
RUN mkdir /out && echo compiled > /out/app && chmod 755 /out/app && chown 1:1 /out/app
FROM busybox AS tester
RUN echo tested > /tested
FROM busybox
COPY --from=builder /out/app /usr/bin/app
COPY --from=0 /out /opt/out
`

// writeArchive writes archive.tar.gz: a directory, a file of uid 1000 and mode 0600, a
// symlink to it and a hard link (whose header repeats the file's mode and owner, as tar
// writes it: Docker applies it to the file, which shares its inode).
func writeArchive(t *testing.T, dir string) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeDir, Name: "pkg/", Mode: 0o750},
		{Typeflag: tar.TypeReg, Name: "pkg/data", Mode: 0o600, Uid: 1000, Gid: 1000, Size: 5},
		{Typeflag: tar.TypeSymlink, Name: "pkg/link", Linkname: "data", Mode: 0o777},
		{Typeflag: tar.TypeLink, Name: "pkg/hard", Linkname: "pkg/data", Mode: 0o600, Uid: 1000, Gid: 1000},
	} {
		require.NoError(t, tw.WriteHeader(h))
		if h.Size > 0 {
			tw.Write([]byte("data\n"))
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "archive.tar.gz"), buf.Bytes(), 0o644))
}

// writeContext makes the context of c in a new directory.
func writeContext(t *testing.T, c buildCase) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(c.dockerfile), 0o644))
	for name, body := range c.files {
		mode := os.FileMode(0o644)
		if n, m, ok := strings.Cut(name, "#"); ok {
			var perm uint32
			fmt.Sscanf(m, "%o", &perm)
			name, mode = n, os.FileMode(perm)
		}
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		switch {
		case strings.HasSuffix(name, "/"):
			require.NoError(t, os.MkdirAll(p, 0o755))
		case strings.HasPrefix(body, "-> "):
			require.NoError(t, os.Symlink(strings.TrimPrefix(body, "-> "), p))
		default:
			require.NoError(t, os.WriteFile(p, []byte(body), mode))
			require.NoError(t, os.Chmod(p, mode))
		}
	}
	if c.setup != nil {
		c.setup(t, dir)
	}
	return dir
}

// imageFile is one file of an image, as the comparison sees it.
type imageFile struct {
	Type          byte
	Mode          int64
	UID, GID      int
	Link, Content string
}

// ignoredPaths are what each engine puts in a container for its runtime.
var ignoredPaths = []string{"etc/hostname", "etc/hosts", "etc/resolv.conf", ".dockerenv"}

// imageFiles flattens a docker-archive of one image (what save writes) into its files.
func imageFiles(t *testing.T, archive []byte) map[string]imageFile {
	entries := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		data, err := io.ReadAll(tr)
		require.NoError(t, err)
		entries[path.Clean(hdr.Name)] = data
	}
	var manifest []struct{ Layers []string }
	require.NoError(t, json.Unmarshal(entries["manifest.json"], &manifest))
	require.Len(t, manifest, 1)
	files := map[string]imageFile{}
	for _, l := range manifest[0].Layers {
		lr := tar.NewReader(bytes.NewReader(entries[path.Clean(l)]))
		for {
			hdr, err := lr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			name := strings.TrimPrefix(path.Clean(hdr.Name), "/")
			dir, base := path.Split(name)
			if base == ".wh..wh..opq" {
				for p := range files {
					if strings.HasPrefix(p, dir) && p != strings.TrimSuffix(dir, "/") {
						delete(files, p)
					}
				}
				continue
			}
			if deleted, ok := strings.CutPrefix(base, ".wh."); ok {
				target := path.Join(dir, deleted)
				for p := range files {
					if p == target || strings.HasPrefix(p, target+"/") {
						delete(files, p)
					}
				}
				continue
			}
			if name == "." || slices.Contains(ignoredPaths, name) {
				continue
			}
			f := imageFile{Type: hdr.Typeflag, Mode: hdr.Mode & 0o7777, UID: hdr.Uid, GID: hdr.Gid, Link: hdr.Linkname}
			switch hdr.Typeflag {
			case tar.TypeReg:
				data, err := io.ReadAll(lr)
				require.NoError(t, err)
				sum := sha256.Sum256(data)
				f.Content = hex.EncodeToString(sum[:])
			case tar.TypeLink:
				target := files[strings.TrimPrefix(path.Clean(hdr.Linkname), "/")]
				f.Type, f.Link, f.Content = tar.TypeReg, "", target.Content
			case tar.TypeSymlink:
			default:
				f.Link = ""
			}
			if f.Type == tar.TypeRegA {
				f.Type = tar.TypeReg
			}
			files[name] = f
		}
	}
	return files
}

// imageConfig is what the comparison reads of an image's config.
type imageConfig struct {
	Env, Cmd, Entrypoint []string
	WorkingDir, User     string
	ExposedPorts         map[string]struct{}
	Labels               map[string]string
	StopSignal           string
	Volumes              map[string]struct{}
	Healthcheck          *healthcheck
	OnBuild, Shell       []string
}

type healthcheck struct {
	Test                           []string
	Interval, Timeout, StartPeriod int64
	Retries                        int
}

func (h *healthcheck) String() string {
	if h == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%+v", *h)
}

// inspectConfig reads the config of the image an inspect printed.
func inspectConfig(t *testing.T, out string) imageConfig {
	var imgs []struct{ Config imageConfig }
	require.NoError(t, json.Unmarshal([]byte(out), &imgs), out)
	require.Len(t, imgs, 1)
	c := imgs[0].Config
	for _, m := range []*map[string]struct{}{&c.ExposedPorts, &c.Volumes} {
		if len(*m) == 0 {
			*m = nil
		}
	}
	if len(c.Labels) == 0 {
		c.Labels = nil
	}
	for _, l := range []*[]string{&c.Env, &c.Cmd, &c.Entrypoint, &c.OnBuild, &c.Shell} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return c
}

// builtImage is what an engine made of a build case.
type builtImage struct {
	files     map[string]imageFile
	config    imageConfig
	createdBy []string // history, newest first, a COPY's hash of its sources left out
}

// sourceHash is how a COPY's history names its sources: each engine hashes them its own way.
var sourceHash = regexp.MustCompile(`(file|dir|multi):[0-9a-f]{64}`)

// engineCLI runs one engine's command line: mydocker's or the private dockerd's.
type engineCLI func(stdin string, args ...string) result

// buildWith builds c with an engine's command line, as image tag, and reads the image back.
func buildWith(t *testing.T, cli engineCLI, c buildCase, tag string) builtImage {
	dir := writeContext(t, c)
	args := append([]string{"build", "--network", "none", "-t", tag}, c.flags...)
	r := cli("", append(args, dir)...)
	require.Equal(t, 0, r.code, "build %s: %s", c.name, r)
	archive := filepath.Join(t.TempDir(), "image.tar")
	r = cli("", "save", "-o", archive, tag)
	require.Equal(t, 0, r.code, "save: %s", r)
	data, err := os.ReadFile(archive)
	require.NoError(t, err)
	r = cli("", "inspect", tag)
	require.Equal(t, 0, r.code, "inspect: %s", r)
	img := builtImage{files: imageFiles(t, data), config: inspectConfig(t, r.stdout)}
	r = cli("", "history", "--no-trunc", "--format", "{{.CreatedBy}}", tag)
	require.Equal(t, 0, r.code, "history: %s", r)
	img.createdBy = strings.Split(strings.TrimSuffix(sourceHash.ReplaceAllString(r.stdout, "$1:<hash>"), "\n"), "\n")
	return img
}

// imageDiffs lists every way got (mydocker's image) differs from want (the reference's).
func imageDiffs(want, got builtImage) []string {
	var diffs []string
	for p, w := range want.files {
		g, ok := got.files[p]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("/%s: only in the reference's image: %+v", p, w))
		case g != w:
			diffs = append(diffs, fmt.Sprintf("/%s: the reference's %+v, mydocker's %+v", p, w, g))
		}
	}
	for p, g := range got.files {
		if _, ok := want.files[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("/%s: only in mydocker's image: %+v", p, g))
		}
	}
	wc, gc := reflect.ValueOf(want.config), reflect.ValueOf(got.config)
	for i := range wc.NumField() {
		if w, g := wc.Field(i).Interface(), gc.Field(i).Interface(); !reflect.DeepEqual(w, g) {
			diffs = append(diffs, fmt.Sprintf("config %s: the reference's %v, mydocker's %v", wc.Type().Field(i).Name, w, g))
		}
	}
	if want.createdBy != nil && !slices.Equal(want.createdBy, got.createdBy) {
		diffs = append(diffs, fmt.Sprintf("history: the reference's %q, mydocker's %q", want.createdBy, got.createdBy))
	}
	slices.Sort(diffs)
	return diffs
}

func TestBuildParity(t *testing.T) {
	e := newEngine(t)
	d := startDockerd(t)
	d.loadImage(t, e)
	docker := func(stdin string, args ...string) result {
		c := d.cmdEnv(args, "DOCKER_BUILDKIT=0")
		return runBounded(c, stdin)
	}
	for i, c := range buildCases() {
		t.Run(c.name, func(t *testing.T) {
			tag := fmt.Sprintf("parity%d", i)
			want := buildWith(t, docker, c, tag)
			got := buildWith(t, e.runStdin, c, tag)
			for _, d := range imageDiffs(want, got) {
				t.Error(d)
			}
		})
	}
}

// cmdEnv prepares docker ARGS against the private daemon, with env added to the environment.
func (d *dockerd) cmdEnv(args []string, env ...string) *exec.Cmd {
	c := exec.Command(d.client, append([]string{"-H", d.host()}, args...)...)
	c.Env = append(os.Environ(), env...)
	return c
}
