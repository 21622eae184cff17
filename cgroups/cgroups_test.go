package cgroups

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/internal/testutil"
)

func i64(n int64) *int64   { return &n }
func u64(n uint64) *uint64 { return &n }

var limits = &specs.LinuxResources{
	Memory: &specs.LinuxMemory{Limit: i64(32 << 20)},
	CPU:    &specs.LinuxCPU{Shares: u64(512), Quota: i64(50000), Period: u64(100000), Cpus: "0"},
	Pids:   &specs.LinuxPids{Limit: i64(20)},
}

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err, path)
	return strings.TrimSpace(string(data))
}

func TestParseMountinfoAndProcCgroup(t *testing.T) {
	mounts, err := parseMountinfo(strings.NewReader(
		"30 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
			"31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n" +
			"32 25 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n" +
			"33 25 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n" +
			"34 25 0:30 /sub /mnt/cg rw - cgroup cgroup rw,pids\n" +
			"35 25 8:1 / / rw - ext4 /dev/vda rw\n"))
	require.NoError(t, err)
	require.Len(t, mounts, 5)
	own, err := parseProcCgroup(strings.NewReader("4:memory:/process_api/abc\n3:cpu,cpuacct:/\n2:pids:/sub/x\n1:name=systemd:/\n0::/user.slice\n"))
	require.NoError(t, err)
	require.Equal(t, "/user.slice", own[""])
	require.Equal(t, map[string]string{
		"memory":       "/sys/fs/cgroup/memory/process_api/abc", // this host's nested memory cgroup
		"cpu":          "/sys/fs/cgroup/cpu,cpuacct",
		"cpuacct":      "/sys/fs/cgroup/cpu,cpuacct",
		"pids":         "/mnt/cg/x", // a mount of a sub-tree shows paths relative to its root
		"name=systemd": "/sys/fs/cgroup/systemd",
	}, v1Dirs(mounts, own))
	dir, err := v2Dir(mounts, own)
	require.NoError(t, err)
	require.Equal(t, "/sys/fs/cgroup/unified/user.slice", dir)
}

// fakeV1 builds a v1 tree in a temp dir: one hierarchy per controller, this "process" in a
// nested memory cgroup and at the root of the others, as on the machine this was written on.
func fakeV1(t *testing.T, id string) (root string, m Manager) {
	root = t.TempDir()
	var mountinfo, procCgroup strings.Builder
	for i, c := range []string{"memory", "cpu", "cpuacct", "cpuset", "pids"} {
		mountinfo.WriteString("3" + strconv.Itoa(i) + " 25 0:2" + strconv.Itoa(i) + " / " + filepath.Join(root, c) + " rw - cgroup cgroup rw," + c + "\n")
		path := "/"
		if c == "memory" {
			path = "/nested"
		}
		procCgroup.WriteString(strconv.Itoa(i+1) + ":" + c + ":" + path + "\n")
	}
	// What the kernel would show: cpuset files, empty in a new cgroup.
	write(t, filepath.Join(root, "cpuset/cpuset.cpus"), "0-1\n")
	write(t, filepath.Join(root, "cpuset/cpuset.mems"), "0\n")
	for _, d := range []string{"cpuset/mydocker", "cpuset/mydocker/" + id} {
		write(t, filepath.Join(root, d, "cpuset.cpus"), "\n")
		write(t, filepath.Join(root, d, "cpuset.mems"), "\n")
	}
	return root, fakeManager(t, Legacy, mountinfo.String(), procCgroup.String(), id)
}

// fakeManager parses the given mountinfo and /proc/self/cgroup text into a manager.
func fakeManager(t *testing.T, mode Mode, mountinfo, procCgroup, id string) Manager {
	t.Helper()
	mounts, err := parseMountinfo(strings.NewReader(mountinfo))
	require.NoError(t, err)
	own, err := parseProcCgroup(strings.NewReader(procCgroup))
	require.NoError(t, err)
	m, err := newFrom(mode, mounts, own, Parent, id)
	require.NoError(t, err)
	return m
}

func TestV1FakeTree(t *testing.T) {
	root, m := fakeV1(t, "c1")
	require.Equal(t, filepath.Join(root, "memory/nested/mydocker/c1"), m.Paths()["memory"], "memory follows this process's nested cgroup")
	require.Equal(t, filepath.Join(root, "pids/mydocker/c1"), m.Paths()["pids"])

	require.NoError(t, m.Apply(4242))
	for _, c := range []string{"memory/nested", "cpu", "cpuacct", "cpuset", "pids"} {
		require.Equal(t, "4242", read(t, filepath.Join(root, c, "mydocker/c1/cgroup.procs")), c)
	}
	require.Equal(t, "0-1", read(t, filepath.Join(root, "cpuset/mydocker/cpuset.cpus")), "the parent's cpuset is copied down")
	require.Equal(t, "0", read(t, filepath.Join(root, "cpuset/mydocker/c1/cpuset.mems")))

	require.NoError(t, m.Set(limits))
	for file, want := range map[string]string{
		"memory/nested/mydocker/c1/memory.limit_in_bytes": "33554432",
		"cpu/mydocker/c1/cpu.shares":                      "512",
		"cpu/mydocker/c1/cpu.cfs_quota_us":                "50000",
		"cpu/mydocker/c1/cpu.cfs_period_us":               "100000",
		"cpuset/mydocker/c1/cpuset.cpus":                  "0",
		"pids/mydocker/c1/pids.max":                       "20",
	} {
		require.Equal(t, want, read(t, filepath.Join(root, file)), file)
	}
	require.NoError(t, m.Join(4343))
	require.Equal(t, "4343", read(t, filepath.Join(root, "pids/mydocker/c1/cgroup.procs")))
	require.ElementsMatch(t, []string{
		filepath.Join(root, "memory/nested/mydocker/c1/tasks"),
		filepath.Join(root, "cpu/mydocker/c1/tasks"),
		filepath.Join(root, "cpuacct/mydocker/c1/tasks"),
		filepath.Join(root, "cpuset/mydocker/c1/tasks"),
		filepath.Join(root, "pids/mydocker/c1/tasks"),
	}, ThreadFiles(m), "a thread moves itself through each hierarchy's tasks file")

	reloaded := Load(m.Paths())
	require.Equal(t, m.Paths(), reloaded.Paths(), "a saved manager comes back the same")
}

func TestV1MissingController(t *testing.T) {
	m := fakeManager(t, Legacy, "30 25 0:26 / /x/memory rw - cgroup cgroup rw,memory\n", "1:memory:/\n", "c1")
	err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(5)}})
	require.ErrorContains(t, err, "the pids cgroup controller is not mounted")
}

func TestV2FakeTree(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma\n")
	m := fakeManager(t, Unified, "30 25 0:26 / "+root+" rw - cgroup2 cgroup2 rw\n", "0::/\n", "c2")
	dir := filepath.Join(root, "mydocker/c2")
	require.Equal(t, map[string]string{"unified": dir}, m.Paths())

	require.NoError(t, m.Apply(4242))
	require.Equal(t, "+cpu +cpuset +memory +pids", read(t, filepath.Join(root, "cgroup.subtree_control")), "controllers are handed down from the top")
	require.Equal(t, "+cpu +cpuset +memory +pids", read(t, filepath.Join(root, "mydocker/cgroup.subtree_control")))
	require.Equal(t, "4242", read(t, filepath.Join(dir, "cgroup.procs")))
	require.NoFileExists(t, filepath.Join(root, "mydocker/cgroup.procs"), "no process in an inner cgroup")
	require.Nil(t, ThreadFiles(m), "v2 moves whole processes")

	// The kernel lists enabled controllers without the '+'.
	write(t, filepath.Join(root, "mydocker/cgroup.subtree_control"), "cpuset cpu memory pids\n")
	r := *limits
	r.Memory = &specs.LinuxMemory{Limit: i64(32 << 20), Swap: i64(64 << 20)}
	write(t, filepath.Join(dir, "memory.swap.max"), "max\n")
	require.NoError(t, m.Set(&r))
	for file, want := range map[string]string{
		"memory.max":      "33554432",
		"memory.swap.max": "33554432",
		"cpu.weight":      "59",
		"cpu.max":         "50000 100000",
		"cpuset.cpus":     "0",
		"pids.max":        "20",
	} {
		require.Equal(t, want, read(t, filepath.Join(dir, file)), file)
	}
}

func TestV2ControllerNotAvailable(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "cgroup.controllers"), "cpu pids\n")
	m := fakeManager(t, Unified, "30 25 0:26 / "+root+" rw - cgroup2 cgroup2 rw\n", "0::/\n", "c3")
	require.NoError(t, m.Apply(1))
	require.Equal(t, "+cpu +pids", read(t, filepath.Join(root, "cgroup.subtree_control")), "only what the kernel offers is enabled")
	write(t, filepath.Join(root, "mydocker/cgroup.subtree_control"), "cpu pids\n")
	err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(32 << 20)}})
	require.ErrorContains(t, err, "the memory controller is not enabled")
}

// Real cgroup v1 on this machine: the limits reach the kernel's files, and Destroy removes
// every directory.
func TestRealV1(t *testing.T) {
	testutil.RequiresRoot(t)
	if DetectMode() == Unified {
		t.Skip("needs cgroup v1 (the cgroup v2 side runs in the VM tests)")
	}
	sleep := exec.Command("sleep", "60")
	require.NoError(t, sleep.Start())
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	id := testutil.UniqueName("test")
	m, err := New(id)
	require.NoError(t, err)
	t.Cleanup(func() { m.Destroy() })

	require.NoError(t, m.Apply(sleep.Process.Pid))
	require.NoError(t, m.Set(limits))
	own := readProcCgroup(t, sleep.Process.Pid)
	for controller, files := range map[string]map[string]string{
		"memory": {"memory.limit_in_bytes": "33554432"},
		"cpu":    {"cpu.shares": "512", "cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000"},
		"cpuset": {"cpuset.cpus": "0"},
		"pids":   {"pids.max": "20"},
	} {
		require.True(t, strings.HasSuffix(own[controller], "/mydocker/"+id), "%s: the process is in %s", controller, own[controller])
		for file, want := range files {
			require.Equal(t, want, read(t, filepath.Join(m.Paths()[controller], file)), file)
		}
	}
	st, err := m.Stats()
	require.NoError(t, err)
	require.EqualValues(t, 1, st.Pids)
	require.EqualValues(t, 32<<20, st.MemoryLimit)

	require.NoError(t, m.Destroy(), "Destroy kills what is left")
	for _, dir := range m.Paths() {
		require.NoDirExists(t, dir)
	}
	require.NoError(t, m.Destroy(), "Destroy is idempotent")
}

// A thread that writes "0" to ThreadFiles is in the container's cgroups, alone: the other
// threads of its process stay where they were (the init moves itself so, see ThreadFiles).
func TestRealV1ThreadMovesItselfAlone(t *testing.T) {
	testutil.RequiresRoot(t)
	if DetectMode() == Unified {
		t.Skip("needs cgroup v1: v2's cgroups take whole processes")
	}
	id := testutil.UniqueName("test")
	m, err := New(id)
	require.NoError(t, err)
	t.Cleanup(func() { m.Destroy() })
	require.NoError(t, m.Create())
	tasks := ThreadFiles(m)
	require.NotEmpty(t, tasks)
	mounts, own, err := readSelf()
	require.NoError(t, err)
	home := ThreadFiles(&v1Manager{paths: v1Dirs(mounts, own)})

	moved := make(chan map[string]string, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		join := func(files []string) {
			for _, f := range files {
				if err := os.WriteFile(f, []byte("0"), 0); err != nil {
					t.Error(err)
				}
			}
		}
		join(tasks)
		own, err := parseProcCgroupFile("/proc/thread-self/cgroup")
		if err != nil {
			t.Error(err)
		}
		// Back where it came from, before Destroy finds the cgroups busy and kills what is
		// in them: this process.
		join(home)
		moved <- own
	}()
	there := <-moved
	for controller := range m.Paths() {
		require.True(t, strings.HasSuffix(there[controller], "/mydocker/"+id), "%s: the thread is in %s", controller, there[controller])
	}
	rest := readProcCgroup(t, os.Getpid())
	require.False(t, strings.HasSuffix(rest["pids"], "/mydocker/"+id), "the process's main thread stays where it was: %s", rest["pids"])
	require.NoError(t, m.Destroy())
}

// Real cgroup v2 (the VM tests): controllers handed down subtree_control, v2's files written,
// everything removed.
func TestRealV2(t *testing.T) {
	testutil.RequiresRoot(t)
	if DetectMode() != Unified {
		t.Skip("needs cgroup v2 alone (runs in the VM tests)")
	}
	sleep := exec.Command("sleep", "60")
	require.NoError(t, sleep.Start())
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	id := testutil.UniqueName("test")
	m, err := New(id)
	require.NoError(t, err)
	t.Cleanup(func() { m.Destroy() })
	require.NoError(t, m.Apply(sleep.Process.Pid))
	require.NoError(t, m.Set(limits))
	dir := m.Paths()[unifiedKey]
	require.Equal(t, "0::/"+Parent+"/"+id, strings.TrimSpace(read(t, "/proc/"+strconv.Itoa(sleep.Process.Pid)+"/cgroup")))
	for file, want := range map[string]string{
		"memory.max": "33554432", "cpu.max": "50000 100000", "cpu.weight": "59", "cpuset.cpus": "0", "pids.max": "20",
	} {
		require.Equal(t, want, read(t, filepath.Join(dir, file)), file)
	}
	enabled := read(t, filepath.Join(filepath.Dir(dir), "cgroup.subtree_control"))
	for _, c := range []string{"cpu", "cpuset", "memory", "pids"} {
		require.Contains(t, strings.Fields(enabled), c, "enabled on the way down")
	}
	st, err := m.Stats()
	require.NoError(t, err)
	require.EqualValues(t, 1, st.Pids)
	require.EqualValues(t, 32<<20, st.MemoryLimit)
	require.NoError(t, m.Destroy())
	require.NoDirExists(t, dir)
	require.NoDirExists(t, filepath.Dir(dir), "the mydocker parent goes with the last container")
}

func readProcCgroup(t *testing.T, pid int) map[string]string {
	own, err := parseProcCgroupFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	require.NoError(t, err)
	return own
}

func parseProcCgroupFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseProcCgroup(f)
}

func BenchmarkApplySetDestroy(b *testing.B) {
	testutil.RequiresRoot(b)
	if DetectMode() == Unified {
		b.Skip("measured on cgroup v1")
	}
	sleep := exec.Command("sleep", "600")
	if err := sleep.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { sleep.Process.Kill(); sleep.Wait() }()
	for range b.N {
		m, err := New(testutil.UniqueName("bench"))
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Apply(sleep.Process.Pid); err != nil {
			b.Fatal(err)
		}
		if err := m.Set(limits); err != nil {
			b.Fatal(err)
		}
		// Move the process out again so the cgroup can go without killing it.
		for _, dir := range m.Paths() {
			os.WriteFile(filepath.Join(filepath.Dir(filepath.Dir(dir)), "cgroup.procs"), []byte(strconv.Itoa(sleep.Process.Pid)), 0o644)
		}
		if err := m.Destroy(); err != nil {
			b.Fatal(err)
		}
	}
}

// Containers come and go under one parent cgroup, which the last to leave removes: engines
// making and removing theirs side by side never find the parent gone under them (ENOENT) or
// back without its cpuset's CPUs (ENOSPC), as they did before the parents' lock.
func TestParentSharedByParallelContainers(t *testing.T) {
	testutil.RequiresRoot(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 60; i++ {
				m, err := New(testutil.UniqueName("par"))
				if err == nil {
					err = createLocked(m.(interface{ create() error }))
				}
				if err == nil && DetectMode() != Unified {
					// A first process needs the cpuset's CPUs: check they were inherited.
					if dir := m.Dir("cpuset"); dir != "" && !hasCPUs(dir) {
						err = fmt.Errorf("%s has no CPUs", dir)
					}
				}
				if derr := m.Destroy(); err == nil {
					err = derr
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
