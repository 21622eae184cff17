package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/internal/testutil"
)

// Several mydocker processes at once on one root, and on two roots, as users run them in
// several shells: runs with volumes while volumes are pruned, runs from an image while it is
// removed and images are pruned, renames while containers exit, pulls of one image while it is
// removed, ports wanted by both roots. Each command may fail as Docker's would (an image
// removed before a run found it), but afterwards every container that was made runs with its
// files, every image has all its layers and runs, no volume a container wrote lost its data,
// and nothing is orphaned. Bounded: a few rounds of each, every command within a minute.
func TestStressManyProcessesAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("privileged and long")
	}
	reg := startRegistry(t, registryOptions{})
	roots := []*engineEnv{newEngine(t), newEngine(t)}
	pushed := reg.addr + "/stress/busybox:1"
	roots[0].must("tag", "busybox", pushed)
	roots[0].must("push", pushed)
	roots[0].must("rmi", pushed)

	const rounds = 6
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	// try runs a command that may fail as Docker's would; a timeout, or an error that no race
	// explains, is a failure of the test.
	try := func(e *engineEnv, allowed []string, args ...string) result {
		r := runBounded(e.cmd(args...), "")
		if r.code != 0 && !containsAny(r.stderr, allowed) {
			mu.Lock()
			failures = append(failures, fmt.Sprintf("mydocker %s: %s", strings.Join(args, " "), r))
			mu.Unlock()
		}
		return r
	}
	goAll := func(fns ...func()) {
		for _, fn := range fns {
			wg.Add(1)
			go func() { defer wg.Done(); fn() }()
		}
	}
	noImage := []string{"Unable to find image", "unable to find image", "image not found"}
	inUse := []string{"is using it", "in use"}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	hostPort := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	for _, e := range roots {
		e.must("import", testutil.BusyboxTar(t), "victim")
		goAll(
			func() { // containers with named volumes, and prunes of the volumes
				for i := range rounds {
					try(e, nil, "run", "-d", "--net", "none", "--name", fmt.Sprintf("vol%d", i), "-v", fmt.Sprintf("data%d:/data", i),
						"busybox", "sh", "-c", fmt.Sprintf("echo %d > /data/f; exec sleep 1000", i))
				}
			},
			func() {
				for range rounds * 2 {
					try(e, nil, "volume", "prune", "-f")
				}
			},
			func() { // containers from an image that is removed meanwhile, and image prunes
				for i := range rounds {
					try(e, noImage, "run", "-d", "--net", "none", "--name", fmt.Sprintf("img%d", i), "victim", "sleep", "1000")
				}
			},
			func() {
				for range rounds {
					try(e, append(noImage, inUse...), "rmi", "victim")
					try(e, nil, "image", "prune", "-a", "-f")
				}
			},
			func() { // renames while the containers exit
				for i := range rounds {
					name := fmt.Sprintf("ren%d", i)
					if try(e, nil, "run", "-d", "--net", "none", "--name", name, "busybox", "sh", "-c", "exit 7").code == 0 {
						try(e, nil, "rename", name, name+"-renamed")
					}
				}
			},
			func() { // parallel pulls of one image, and its removal
				for range rounds {
					try(e, nil, "pull", "-q", pushed)
				}
			},
			func() {
				for range rounds {
					try(e, nil, "pull", "-q", pushed)
				}
			},
			func() {
				for range rounds {
					try(e, append(noImage, inUse...), "rmi", pushed)
				}
			},
		)
		if !noBridge {
			goAll(func() { // the same host port wanted by both roots: one wins
				try(e, []string{"address already in use"}, "run", "-d", "--name", "port", "-p", hostPort+":80", "busybox", "httpd", "-f", "-p", "80")
			})
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		t.Fatal("the processes did not all end within 5 minutes")
	}
	require.Empty(t, failures)

	ports := 0
	for _, e := range roots {
		for i := range rounds {
			// A container made with a volume runs and its volume holds what it wrote.
			name := fmt.Sprintf("vol%d", i)
			waitFor(t, 10*time.Second, name+" wrote its volume", func() bool {
				return e.run("exec", name, "cat", "/data/f").stdout == fmt.Sprintf("%d\n", i)
			})
			// A container of the removed image that was made runs, with its files.
			if r := e.run("inspect", fmt.Sprintf("img%d", i)); r.code == 0 {
				require.Equal(t, "ok\n", e.must("exec", fmt.Sprintf("img%d", i), "sh", "-c", "test -x /bin/busybox && echo ok"))
			}
			// A renamed container has its exit recorded under its new name.
			name = fmt.Sprintf("ren%d", i)
			require.Equal(t, "7", strings.TrimSpace(e.must("wait", name+"-renamed")))
			require.Equal(t, "/"+name+"-renamed 7", strings.TrimSpace(e.must("inspect", "-f", "{{.Name}} {{.State.ExitCode}}", name+"-renamed")))
		}
		if e.run("inspect", "port").code == 0 {
			ports++
			e.must("rm", "-f", "port")
		}
		e.requirePsMatchesProcesses(t)
		e.requireStoreSound(t)
	}
	if !noBridge {
		require.Equal(t, 1, ports, "exactly one root publishes the port")
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// requireStoreSound checks what no race or crash may break, once image prune has swept what
// crashes left: every image names layers the store has, each whole (its files add up to the
// size recorded when it was unpacked), and runs; no layer is named by no image; no lease and
// no half-unpacked layer is left.
func (e *engineEnv) requireStoreSound(t *testing.T) {
	t.Helper()
	e.must("image", "prune", "-f")
	dir := filepath.Join(e.root, "image")
	configs, err := filepath.Glob(filepath.Join(dir, "configs", "sha256", "*.json"))
	require.NoError(t, err)
	named := map[string]bool{}
	for _, path := range configs {
		var config struct {
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(data, &config), path)
		for _, d := range config.RootFS.DiffIDs {
			layer := filepath.Join(dir, "layers", "sha256", strings.TrimPrefix(d, "sha256:"))
			named[filepath.Base(layer)] = true
			size, err := os.ReadFile(filepath.Join(layer, "size"))
			require.NoError(t, err, "image %s: layer %s", filepath.Base(path), d)
			want, err := strconv.ParseInt(strings.TrimSpace(string(size)), 10, 64)
			require.NoError(t, err)
			require.Equal(t, want, filesSize(t, filepath.Join(layer, "diff")), "layer %s is whole", d)
		}
		id := strings.TrimSuffix(filepath.Base(path), ".json")
		e.must("run", "--rm", "--net", "none", id[:12], "true")
	}
	layers, err := os.ReadDir(filepath.Join(dir, "layers", "sha256"))
	require.NoError(t, err)
	for _, l := range layers {
		require.True(t, named[l.Name()], "layer %s is named by no image", l.Name())
	}
	for _, sub := range []string{"leases", "tmp"} {
		left, _ := os.ReadDir(filepath.Join(dir, sub))
		require.Empty(t, left, "nothing left in image/%s", sub)
	}
}

// filesSize is the bytes of the regular files below dir, each counted once.
func filesSize(t *testing.T, dir string) int64 {
	t.Helper()
	seen := map[uint64]bool{}
	var size int64
	require.NoError(t, filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if ino := fi.Sys().(*syscall.Stat_t).Ino; !seen[ino] {
			seen[ino] = true
			size += fi.Size()
		}
		return nil
	}))
	return size
}

// A mydocker killed with SIGKILL at any moment of an import, load, pull, commit or create (as
// a crash or the OOM killer would) leaves a store that the next commands repair or report:
// never an image with a missing or partial layer, never a layer nobody names once image prune
// has swept, and the same command then succeeds. Each named point is hit once; then imports of
// a larger archive are killed after random delays.
func TestCrashAtAnyMoment(t *testing.T) {
	if testing.Short() {
		t.Skip("privileged")
	}
	reg := startRegistry(t, registryOptions{})
	e := newEngine(t)
	// An image of its own, removed once pushed: a pull of an image the store has reads only
	// its manifest, and would reach no point below.
	pushed := reg.addr + "/crash/app:1"
	e.must("run", "--name", "pushsrc", "--net", "none", "busybox", "sh", "-c", "echo pushed > /pushed")
	e.must("commit", "pushsrc", pushed)
	e.must("rm", "pushsrc")
	e.must("push", pushed)
	e.must("rmi", pushed)
	archive := filepath.Join(t.TempDir(), "saved.tar")
	e.must("run", "--name", "src", "--net", "none", "busybox", "sh", "-c", "echo changed > /etc/motd")
	e.must("commit", "src", "committed")
	e.must("save", "-o", archive, "committed")
	e.must("rm", "src")
	e.must("rmi", "committed")

	kill := func(point string, args ...string) {
		t.Helper()
		c := e.cmd(args...)
		c.Env = append(os.Environ(), "MYDOCKER_FAULT="+point)
		err := c.Run()
		ee, ok := err.(*exec.ExitError)
		require.True(t, ok, "mydocker %s was to die at %s: %v", strings.Join(args, " "), point, err)
		if args[0] == "pull" { // the one that died is mydocker-registry, which pulls for it
			return
		}
		require.Equal(t, syscall.SIGKILL, ee.Sys().(syscall.WaitStatus).Signal(), "mydocker %s died at %s", strings.Join(args, " "), point)
	}
	for _, tc := range []struct {
		point string
		args  []string
		then  func()
	}{
		{"layer:unpacked", []string{"import", testutil.BusyboxTar(t), "imported"}, func() { e.must("rmi", "imported") }},
		{"import:stored", []string{"import", testutil.BusyboxTar(t), "imported"}, func() { e.must("rmi", "imported") }},
		{"load:stored", []string{"load", "-i", archive}, func() { e.must("rmi", "committed") }},
		{"pull:stored", []string{"pull", "-q", pushed}, func() { e.must("rmi", pushed) }},
		{"commit:stored", []string{"commit", "victim", "committed"}, func() { e.must("rmi", "committed") }},
		{"create:held", []string{"run", "--net", "none", "--name", "made", "busybox", "true"}, func() { e.must("rm", "made") }},
	} {
		t.Run(tc.point, func(t *testing.T) {
			if tc.args[0] == "commit" {
				e.must("run", "--name", "victim", "--net", "none", "busybox", "sh", "-c", "echo x > /x")
				defer e.must("rm", "victim")
			}
			kill(tc.point, tc.args...)
			e.run("rm", "-f", "made") // a run's half-made container: gone, its name free
			e.requireStoreSound(t)
			e.must(tc.args...) // and the same command then succeeds
			tc.then()
			e.requireStoreSound(t)
		})
	}

	// Random moments of an import that takes a while (a layer of some 64 MB).
	big := filepath.Join(t.TempDir(), "big.tar")
	makeBigLayer(t, big, 64<<20)
	start := time.Now()
	e.must("import", big, "big")
	took := time.Since(start)
	e.must("rmi", "big")
	for i := range 8 {
		c := e.cmd("import", big, "big")
		require.NoError(t, c.Start())
		// The moment of the crash, spread over the import's length: not a wait for anything.
		time.Sleep(time.Duration(i+1) * took / 9)
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
		e.requireStoreSound(t)
		if e.run("inspect", "big").code == 0 {
			e.must("rmi", "big")
		}
	}
}

// makeBigLayer writes a tar of busybox and one more file of size bytes.
func makeBigLayer(t *testing.T, path string, size int64) {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("tar", "-C", dir, "-xf", testutil.BusyboxTar(t)).CombinedOutput()
	require.NoError(t, err, "%s", out)
	f, err := os.Create(filepath.Join(dir, "big"))
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size)) // zeros, sparse
	require.NoError(t, f.Close())
	out, err = exec.Command("tar", "-C", dir, "-cf", path, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
}
