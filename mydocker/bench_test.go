package main

import (
	"archive/tar"
	"bufio"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/internal/testutil"
)

// The benchmarks answer "how long does `run --rm busybox true` take", beside the floor
// (unshare with the same namespaces + chroot), the floor of two Go programs in series
// (internal/benchfloor), runc and crun on the same rootfs; what a command costs with hundreds
// of containers on record; and what a detached container's watcher holds in memory. Each reports the median as ms/median (or kB/median); `make bench` prints them as
// one table with the ratios the project holds itself to.

// crunWrapper starts crun here: crun refuses a hybrid cgroup layout, so the unified mount is
// hidden from it alone, in a mount namespace of its own.
const crunWrapper = "umount /sys/fs/cgroup/unified 2>/dev/null; exec "

var benchScale = flag.Int("bench.scale", 500, "containers on record for BenchmarkScale")

func BenchmarkStart(b *testing.B) {
	testutil.RequiresRoot(b)
	root := b.TempDir()
	importBusybox(b, root)
	b.Cleanup(func() { exec.Command(binary, "--root", root, "network", "rm", "bridge").Run() })
	rootfs := busyboxRootfs(b)
	measures := []startMeasure{{"floor", func() *exec.Cmd {
		return exec.Command("unshare", "--pid", "--fork", "--mount", "--uts", "--ipc", "--net", "chroot", rootfs, "/bin/true")
	}}}
	// Two Go programs in series, as mydocker and its init, doing nothing else: what any start
	// made that way pays here before its first mount.
	floor := filepath.Join(b.TempDir(), "benchfloor")
	build := exec.Command("go", "build", "-o", floor, "../internal/benchfloor")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(b, err, "%s", out)
	measures = append(measures, startMeasure{"go-floor", func() *exec.Cmd { return exec.Command(floor, rootfs) }},
		// One Go program, the start prepared on a locked thread (docs/one-runtime-start.md).
		startMeasure{"go-one-floor", func() *exec.Cmd { return exec.Command(floor, "-one", rootfs) }})
	// What any Go command line pays to start here, beside mydocker's shortest command.
	dir := b.TempDir()
	require.NoError(b, os.WriteFile(filepath.Join(dir, "hello.go"), []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n"), 0o644))
	hello := filepath.Join(dir, "hello")
	build = exec.Command("go", "build", "-o", hello, filepath.Join(dir, "hello.go"))
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err = build.CombinedOutput()
	require.NoError(b, err, "%s", out)
	measures = append(measures, startMeasure{"go-hello", func() *exec.Cmd { return exec.Command(hello) }},
		startMeasure{"mydocker-version", func() *exec.Cmd { return exec.Command(binary, "--version") }})
	for _, runtime := range []string{"runc", "crun"} {
		if _, err := exec.LookPath(runtime); err != nil {
			b.Logf("no %s row: needs %s (apt-get install %s)", runtime, runtime, runtime)
			continue
		}
		bundle := ociBundle(b, rootfs)
		state := b.TempDir()
		id := testutil.UniqueName("bench")
		measures = append(measures, startMeasure{runtime, func() *exec.Cmd {
			if runtime == "crun" {
				return exec.Command("unshare", "-m", "sh", "-c", crunWrapper+"crun --root "+state+" run --bundle "+bundle+" "+id)
			}
			return exec.Command("runc", "--root", state, "run", "--bundle", bundle, id)
		}})
		if runtime == "crun" {
			// The wrapper alone, with true in crun's place: benchtable takes it off crun's time.
			measures = append(measures, startMeasure{"crun-wrapper", func() *exec.Cmd {
				return exec.Command("unshare", "-m", "sh", "-c", crunWrapper+"true")
			}})
		}
	}
	for _, net := range []string{"none", "bridge"} {
		measures = append(measures, startMeasure{"mydocker-" + net, func() *exec.Cmd {
			return exec.Command(binary, "--root", root, "run", "--rm", "--net", net, "busybox", "true")
		}})
	}
	times := interleave(b, measures, benchRounds())
	for _, m := range measures {
		b.Run(m.name, func(b *testing.B) { reportMedian(b, times[m.name]) })
	}
}

// startMeasure is a command BenchmarkStart times.
type startMeasure struct {
	name string
	cmd  func() *exec.Cmd
}

// interleave runs each measure's command once, untimed, then rounds times in turn, and returns
// each one's times: this VM's speed drifts by a fifth over minutes, and commands timed in
// blocks, one after the other, took the drift into their ratios.
func interleave(b *testing.B, measures []startMeasure, rounds int) map[string][]time.Duration {
	times := map[string][]time.Duration{}
	for round := -1; round < rounds; round++ {
		for _, m := range measures {
			c := m.cmd()
			start := time.Now()
			out, err := c.CombinedOutput()
			elapsed := time.Since(start)
			require.NoError(b, err, "%s: %s", m.name, out)
			if round >= 0 {
				times[m.name] = append(times[m.name], elapsed)
			}
		}
	}
	return times
}

// benchRounds is how many times BenchmarkStart times each command: -benchtime's count (Nx),
// or 20.
func benchRounds() int {
	if f := flag.Lookup("test.benchtime"); f != nil {
		if n, err := strconv.Atoi(strings.TrimSuffix(f.Value.String(), "x")); err == nil && strings.HasSuffix(f.Value.String(), "x") {
			return n
		}
	}
	return 20
}

// BenchmarkScale: the same commands with one container on record and with -bench.scale.
func BenchmarkScale(b *testing.B) {
	testutil.RequiresRoot(b)
	for _, n := range []int{1, *benchScale} {
		root := b.TempDir()
		importBusybox(b, root)
		for i := 0; i < n; i++ {
			out, err := exec.Command(binary, "--root", root, "run", "--net", "none", "--name", fmt.Sprintf("c%d", i), "busybox", "true").CombinedOutput()
			require.NoError(b, err, "%s", out)
		}
		b.Run(fmt.Sprintf("run-%d", n), func(b *testing.B) {
			benchCommand(b, func() *exec.Cmd {
				return exec.Command(binary, "--root", root, "run", "--rm", "--net", "none", "busybox", "true")
			})
		})
		b.Run(fmt.Sprintf("inspect-%d", n), func(b *testing.B) {
			benchCommand(b, func() *exec.Cmd { return exec.Command(binary, "--root", root, "inspect", fmt.Sprintf("c%d", n/2)) })
		})
		b.Run(fmt.Sprintf("ps-%d", n), func(b *testing.B) {
			benchCommand(b, func() *exec.Cmd { return exec.Command(binary, "--root", root, "ps", "-a") })
		})
		b.Run(fmt.Sprintf("rm-%d", n), func(b *testing.B) {
			i := 0
			benchSetup(b, func() *exec.Cmd {
				name := fmt.Sprintf("rm%d", i)
				i++
				return exec.Command(binary, "--root", root, "run", "--net", "none", "--name", name, "busybox", "true")
			}, func() *exec.Cmd {
				return exec.Command(binary, "--root", root, "rm", fmt.Sprintf("rm%d", i-1))
			})
		})
	}
}

// BenchmarkWatcherRSS reports what the watcher of a detached container holds in memory.
func BenchmarkWatcherRSS(b *testing.B) {
	testutil.RequiresRoot(b)
	root := b.TempDir()
	importBusybox(b, root)
	var rss []int
	for i := 0; i < b.N; i++ {
		out, err := exec.Command(binary, "--root", root, "run", "-d", "--net", "none", "busybox", "sleep", "60").CombinedOutput()
		require.NoError(b, err, "%s", out)
		id := strings.TrimSpace(string(out))
		time.Sleep(200 * time.Millisecond) // the monitor settles after the start
		rss = append(rss, watcherRSS(b, root, id))
		exec.Command(binary, "--root", root, "rm", "-f", id).Run()
	}
	sort.Ints(rss)
	b.ReportMetric(float64(rss[len(rss)/2]), "kB/median")
}

// watcherRSS reads VmRSS of the process that watches container id.
func watcherRSS(b *testing.B, root, id string) int {
	return procStatusInt(b, watcherPid(b, root, id), "VmRSS")
}

// procStatusInt reads a number from /proc/PID/status (PPid, VmRSS in kB).
func procStatusInt(b testing.TB, pid int, field string) int {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(b, err)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(strings.Fields(v)[0])
			require.NoError(b, err)
			return n
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// ociBundle is a bundle for runc and crun: their default spec, the busybox rootfs, true.
func ociBundle(b *testing.B, rootfs string) string {
	bundle := b.TempDir()
	out, err := exec.Command("runc", "spec", "--bundle", bundle).CombinedOutput()
	require.NoError(b, err, "%s", out)
	var spec map[string]any
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	require.NoError(b, err)
	require.NoError(b, json.Unmarshal(data, &spec))
	spec["root"] = map[string]any{"path": rootfs, "readonly": true}
	process := spec["process"].(map[string]any)
	process["terminal"] = false
	process["args"] = []string{"true"}
	data, err = json.Marshal(spec)
	require.NoError(b, err)
	require.NoError(b, os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644))
	return bundle
}

// benchSetup times measure, run b.N times, each after an untimed setup.
func benchSetup(b *testing.B, setup, measure func() *exec.Cmd) {
	times := make([]time.Duration, 0, b.N)
	for range b.N {
		b.StopTimer()
		out, err := setup().CombinedOutput()
		require.NoError(b, err, "%s", out)
		b.StartTimer()
		c := measure()
		start := time.Now()
		out, err = c.CombinedOutput()
		times = append(times, time.Since(start))
		require.NoError(b, err, "%s", out)
	}
	reportMedian(b, times)
}

// benchCommand runs the command b.N times and reports its median wall time.
func benchCommand(b *testing.B, cmd func() *exec.Cmd) {
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		c := cmd()
		start := time.Now()
		out, err := c.CombinedOutput()
		times = append(times, time.Since(start))
		require.NoError(b, err, "%s", out)
	}
	b.StopTimer()
	reportMedian(b, times)
}

func reportMedian(b *testing.B, times []time.Duration) {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms/median")
}

func importBusybox(b *testing.B, root string) {
	out, err := exec.Command(binary, "--root", root, "import", testutil.BusyboxTar(b), "busybox").CombinedOutput()
	require.NoError(b, err, "%s", out)
}

// busyboxRootfs unpacks the busybox image into a directory, for the tools that take one.
func busyboxRootfs(b *testing.B) string {
	dir := b.TempDir()
	out, err := exec.Command("tar", "-xf", testutil.BusyboxTar(b), "-C", dir).CombinedOutput()
	require.NoError(b, err, "%s", out)
	return dir
}

// BenchmarkUnpack: import and load of one layer of 200 MB (4,000 files of 50 kB, half of
// each random, half zeros) beside what the same bytes cost the standard tools: tar -x, then
// sha256sum of the tar (the store checks every layer's digest as it unpacks it).
func BenchmarkUnpack(b *testing.B) {
	testutil.RequiresRoot(b)
	dir := b.TempDir()
	layer := filepath.Join(dir, "layer.tar")
	writeBigLayer(b, layer, 4000, 50_000)
	b.Run("tar+sha256sum", func(b *testing.B) {
		out := filepath.Join(dir, "untar")
		benchSetup(b, func() *exec.Cmd {
			return exec.Command("sh", "-c", "rm -rf "+out+" && mkdir "+out)
		}, func() *exec.Cmd {
			return exec.Command("sh", "-c", "tar -xf "+layer+" -C "+out+" && sha256sum "+layer+" >/dev/null")
		})
		os.RemoveAll(out)
	})
	root := b.TempDir()
	b.Run("import", func(b *testing.B) {
		benchSetup(b, func() *exec.Cmd {
			return exec.Command("sh", "-c", binary+" --root "+root+" rmi big >/dev/null 2>&1; true")
		}, func() *exec.Cmd {
			return exec.Command(binary, "--root", root, "import", layer, "big")
		})
	})
	archive := filepath.Join(dir, "big-archive.tar")
	out, err := exec.Command(binary, "--root", root, "save", "-o", archive, "big").CombinedOutput()
	require.NoError(b, err, "%s", out)
	b.Run("load", func(b *testing.B) {
		benchSetup(b, func() *exec.Cmd {
			return exec.Command("sh", "-c", binary+" --root "+root+" rmi big >/dev/null 2>&1; true")
		}, func() *exec.Cmd {
			return exec.Command(binary, "--root", root, "load", "-q", "-i", archive)
		})
	})
}

// writeBigLayer writes a layer tar of n files of size bytes each.
func writeBigLayer(b *testing.B, path string, n, size int) {
	f, err := os.Create(path)
	require.NoError(b, err)
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	tw := tar.NewWriter(w)
	random := make([]byte, size/2)
	content := make([]byte, size)
	for i := range n {
		if i%100 == 0 {
			require.NoError(b, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: fmt.Sprintf("d%d/", i/100), Mode: 0o755}))
		}
		rand.Read(random)
		copy(content, random)
		require.NoError(b, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("d%d/f%d", i/100, i), Mode: 0o644, Size: int64(size)}))
		_, err := tw.Write(content)
		require.NoError(b, err)
	}
	require.NoError(b, tw.Close())
	require.NoError(b, w.Flush())
}

// tenSteps is the Dockerfile BenchmarkBuild builds: ten steps, two of them RUNs, two COPYs.
const tenSteps = `FROM busybox
ENV APP=/app
WORKDIR /app
COPY a.txt .
COPY dir/ ./dir/
RUN echo one > one.txt
RUN echo two > two.txt
LABEL version=1
EXPOSE 8080
CMD ["cat", "one.txt"]
`

// BenchmarkBuild: a first build of a ten-step Dockerfile (--no-cache) and a rebuild all from
// the cache; and a RUN step, a build of FROM and one RUN, beside run --rm of the same command,
// the two run in turn (-bench.pairs pairs): on a busy machine, medians taken apart drift.
// BenchmarkDockerBuild times the same builds by Docker 20.10's classic builder.
func BenchmarkBuild(b *testing.B) {
	testutil.RequiresRoot(b)
	root := b.TempDir()
	importBusybox(b, root)
	ctx := buildBenchContext(b)
	mydocker := func(args ...string) func() *exec.Cmd {
		return func() *exec.Cmd { return exec.Command(binary, append([]string{"--root", root}, args...)...) }
	}
	b.Run("build-first", func(b *testing.B) { benchCommand(b, mydocker("build", "-q", "--no-cache", "--network", "none", ctx)) })
	b.Run("build-cached", func(b *testing.B) { benchCommand(b, mydocker("build", "-q", "--network", "none", ctx)) })
	step, run := benchPairs(b, *benchPairCount, mydocker("build", "-q", "--no-cache", "--network", "none", filepath.Join(ctx, "run")),
		mydocker("run", "--rm", "--net", "none", "busybox", "touch", "/x"))
	b.Run("build-run-step", func(b *testing.B) { reportMedian(b, step) })
	b.Run("run-rm-touch", func(b *testing.B) { reportMedian(b, run) })
}

var benchPairCount = flag.Int("bench.pairs", 20, "pairs of commands BenchmarkBuild times in turn")

// benchPairs runs a then b, n times, and returns the times of each.
func benchPairs(tb testing.TB, n int, a, b func() *exec.Cmd) (ta, tb2 []time.Duration) {
	for range n {
		for i, cmd := range []func() *exec.Cmd{a, b} {
			c := cmd()
			start := time.Now()
			out, err := c.CombinedOutput()
			require.NoError(tb, err, "%s", out)
			if i == 0 {
				ta = append(ta, time.Since(start))
			} else {
				tb2 = append(tb2, time.Since(start))
			}
		}
	}
	return ta, tb2
}

func BenchmarkDockerBuild(b *testing.B) {
	testutil.RequiresRoot(b)
	root := b.TempDir()
	importBusybox(b, root)
	ctx := buildBenchContext(b)
	d := startDockerd(b)
	d.loadImageFrom(b, root)
	docker := func(args ...string) func() *exec.Cmd {
		return func() *exec.Cmd { return d.cmdEnv(args, "DOCKER_BUILDKIT=0") }
	}
	b.Run("docker-build-first", func(b *testing.B) { benchCommand(b, docker("build", "-q", "--no-cache", "--network", "none", ctx)) })
	b.Run("docker-build-cached", func(b *testing.B) { benchCommand(b, docker("build", "-q", "--network", "none", ctx)) })
}

// buildBenchContext writes the contexts BenchmarkBuild builds: tenSteps, and in run/ a
// Dockerfile of one RUN.
func buildBenchContext(b *testing.B) string {
	ctx := b.TempDir()
	for name, body := range map[string]string{"Dockerfile": tenSteps, "a.txt": "a\n", "dir/b": "b\n", "run/Dockerfile": "FROM busybox\nRUN touch /x\n"} {
		require.NoError(b, os.MkdirAll(filepath.Dir(filepath.Join(ctx, name)), 0o755))
		require.NoError(b, os.WriteFile(filepath.Join(ctx, name), []byte(body), 0o644))
	}
	return ctx
}

// BenchmarkAPI: docker run --rm --net none busybox true, by Debian's docker CLI, through
// mydocker's service and through a private dockerd (Docker 20.10), in turn (-bench.pairs
// pairs): the API costs what the engine costs, and a daemon's containerd and shim do not.
func BenchmarkAPI(b *testing.B) {
	testutil.RequiresRoot(b)
	cli := "/usr/bin/docker"
	if _, err := os.Stat(cli); err != nil {
		b.Skip("needs the docker client (apt-get install docker.io)")
	}
	root := b.TempDir()
	importBusybox(b, root)
	s := startServiceOn(b, root)
	d := startDockerd(b)
	d.loadImageFrom(b, root)
	run := func(host string) func() *exec.Cmd {
		return func() *exec.Cmd {
			return exec.Command(cli, "-H", host, "run", "--rm", "--net", "none", "busybox", "true")
		}
	}
	api, dockerd := benchPairs(b, *benchPairCount, run(s.host()), run(d.host()))
	b.Run("api-run", func(b *testing.B) { reportMedian(b, api) })
	b.Run("dockerd-run", func(b *testing.B) { reportMedian(b, dockerd) })
}
