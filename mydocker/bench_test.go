package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/internal/testutil"
)

// The start-up benchmarks answer "how long does `run --rm busybox true` take", beside the
// floor (unshare with the same namespaces + chroot) and runc on the same rootfs. Each reports
// the median wall time as ms/median; run them with `make bench`.

func BenchmarkRunTrue(b *testing.B) {
	testutil.RequiresRoot(b)
	root := b.TempDir()
	importBusybox(b, root)
	benchCommand(b, func() *exec.Cmd {
		return exec.Command(binary, "--root", root, "run", "--rm", "busybox", "true")
	})
}

func BenchmarkUnshareChrootTrue(b *testing.B) {
	testutil.RequiresRoot(b)
	rootfs := busyboxRootfs(b)
	benchCommand(b, func() *exec.Cmd {
		return exec.Command("unshare", "--pid", "--fork", "--mount", "--uts", "--ipc", "--net", "chroot", rootfs, "/bin/true")
	})
}

func BenchmarkRuncTrue(b *testing.B) {
	testutil.RequiresRoot(b)
	if _, err := exec.LookPath("runc"); err != nil {
		b.Skip("needs runc (apt-get install runc)")
	}
	bundle := b.TempDir()
	rootfs := busyboxRootfs(b)
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
	runcRoot := b.TempDir()
	id := testutil.UniqueName("bench")
	benchCommand(b, func() *exec.Cmd {
		return exec.Command("runc", "--root", runcRoot, "run", "--bundle", bundle, id)
	})
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
