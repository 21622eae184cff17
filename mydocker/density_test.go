package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/internal/testutil"
	"github.com/mydocker/mydocker/network"
)

// A dense host: many detached containers on one root's default network, started two at a
// time as two shells would. TestDensity holds a small count to what BenchmarkDensity measures
// at a thousand: all run, each with its own address, ps lists them, stop and rm -f of all
// leave nothing behind.
func TestDensity(t *testing.T) {
	if testing.Short() {
		t.Skip("privileged and long")
	}
	e := newEngine(t)
	requiresIptables(t)
	if noBridge {
		t.Skip("no bridge module here")
	}
	const n = 20
	names := sleeperNames("dense", n)
	_, err := startSleepers(e.bin, e.root, names, 2)
	require.NoError(t, err)
	require.Len(t, strings.Fields(e.must("ps", "-q")), n, "all run")
	require.Len(t, strings.Fields(e.must("ps", "-aq")), n)
	addrs := sleeperAddresses(t, e.bin, e.root, names)
	bridge := strings.TrimSpace(e.must("network", "inspect", "-f", `{{index .Options "com.docker.network.bridge.name"}}`, "bridge"))
	require.Equal(t, n, bridgePorts(t, bridge), "each container a port of the network's bridge")
	watchers := make([]int, n)
	for i, name := range names {
		watchers[i] = watcherPid(t, e.root, strings.TrimSpace(e.must("inspect", "-f", "{{.Id}}", name)))
	}
	ids := strings.Fields(e.must("ps", "-aq", "--no-trunc"))

	e.must(append([]string{"stop", "-t", "0"}, names[:n/2]...)...)
	require.Len(t, strings.Fields(e.must("ps", "-q")), n/2, "the stopped ones leave ps")
	require.Len(t, strings.Fields(e.must("ps", "-aq")), n, "and stay in ps -a")
	e.must(append([]string{"rm", "-f"}, names...)...)
	require.Empty(t, strings.TrimSpace(e.must("ps", "-aq")))
	require.Empty(t, e.containerDirs())
	require.Zero(t, bridgePorts(t, bridge), "no port left on the bridge")
	for _, pid := range watchers {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		require.NotContains(t, string(cmdline), "mydocker", "watcher %d is gone", pid)
	}
	for _, id := range ids {
		left, _ := filepath.Glob("/sys/fs/cgroup/*/mydocker/" + id + "*")
		require.Empty(t, left, "no cgroup left of %s", id)
	}
	require.Len(t, addrs, n)
}

// sleeperNames are n container names: prefix0, prefix1...
func sleeperNames(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return names
}

// startSleepers runs a detached busybox sleep of each name on root's default network,
// parallel at a time (the first alone: it makes the network), and returns each start's time.
func startSleepers(bin, root string, names []string, parallel int) ([]time.Duration, error) {
	times := make([]time.Duration, len(names))
	start := func(i int) error {
		begin := time.Now()
		out, err := exec.Command(bin, "--root", root, "run", "-d", "--name", names[i], "busybox", "sleep", "3600").CombinedOutput()
		times[i] = time.Since(begin)
		if err != nil {
			return fmt.Errorf("run %s: %w: %s", names[i], err, out)
		}
		return nil
	}
	if len(names) == 0 {
		return nil, nil
	}
	if err := start(0); err != nil {
		return nil, err
	}
	next := make(chan int)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := start(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 1; i < len(names); i++ {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return times, first
}

// sleeperAddresses checks that each named container has an address of its own on the
// default network, and returns them.
func sleeperAddresses(tb testing.TB, bin, root string, names []string) map[netip.Addr]string {
	tb.Helper()
	out, err := exec.Command(bin, append([]string{"--root", root, "inspect", "-f", "{{.Name}} {{.NetworkSettings.IPAddress}}"}, names...)...).CombinedOutput()
	require.NoError(tb, err, "%s", out)
	addrs := map[netip.Addr]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, ip, _ := strings.Cut(line, " ")
		addr, err := netip.ParseAddr(ip)
		require.NoError(tb, err, "the address of %s", name)
		require.Empty(tb, addrs[addr], "%s has the address of %s", name, addrs[addr])
		addrs[addr] = name
	}
	require.Len(tb, addrs, len(names), "an address each")
	return addrs
}

// bridgePorts counts the links enslaved to bridge (at most network.MaxBridgePorts).
func bridgePorts(tb testing.TB, bridge string) int {
	tb.Helper()
	entries, err := os.ReadDir(filepath.Join("/sys/class/net", bridge, "brif"))
	require.NoError(tb, err)
	return len(entries)
}

// watcherPid is the process that watches container id: the parent of its init.
func watcherPid(tb testing.TB, root, id string) int {
	tb.Helper()
	var st struct {
		Pid int `json:"pid"`
	}
	data, err := os.ReadFile(filepath.Join(root, "containers", id, "state.json"))
	require.NoError(tb, err)
	require.NoError(tb, json.Unmarshal(data, &st))
	return procStatusInt(tb, st.Pid, "PPid")
}

var benchDensity = flag.Int("bench.density", 1000, "detached containers BenchmarkDensity starts")

// BenchmarkDensity: -bench.density detached busybox sleep containers on one root's default
// network, started two at a time. It reports what each costs (its watcher's memory, the host's
// memory), ps and ps -a with all of them running, a start with all running beside one with
// none, stop and rm -f; and each host limit beside what the containers used of it.
func BenchmarkDensity(b *testing.B) {
	testutil.RequiresRoot(b)
	n := *benchDensity
	root := b.TempDir()
	importBusybox(b, root)
	mydocker := func(args ...string) func() *exec.Cmd {
		return func() *exec.Cmd { return exec.Command(binary, append([]string{"--root", root}, args...)...) }
	}
	b.Cleanup(func() {
		out, _ := mydocker("ps", "-aq")().Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			mydocker(append([]string{"rm", "-f"}, ids...)...)().Run()
		}
		mydocker("network", "rm", "dense-names")().Run()
		mydocker("network", "rm", "bridge")().Run()
	})
	startNone := mydocker("run", "--rm", "--net", "none", "busybox", "true")
	startBridge := mydocker("run", "--rm", "busybox", "true") // the first makes the network
	const starts = 15
	noneIdle, bridgeIdle := benchPairs(b, starts, startNone, startBridge)
	bridge := strings.TrimSpace(mustOutput(b, mydocker("network", "inspect", "-f", `{{index .Options "com.docker.network.bridge.name"}}`, "bridge")))
	before := hostUse(b, bridge)

	names := sleeperNames("d", n)
	begin := time.Now()
	each, err := startSleepers(binary, root, names, 2)
	fill := time.Since(begin)
	require.NoError(b, err)
	require.Len(b, strings.Fields(mustOutput(b, mydocker("ps", "-q"))), n, "all run")
	sleeperAddresses(b, binary, root, names)
	var rss, threads []int
	var pss int
	watchers := map[int]bool{}
	for _, id := range strings.Fields(mustOutput(b, mydocker("ps", "-q", "--no-trunc"))) {
		pid := watcherPid(b, root, id)
		watchers[pid] = true
		rss = append(rss, procStatusInt(b, pid, "VmRSS"))
		threads = append(threads, procStatusInt(b, pid, "Threads"))
		pss += smapsPss(b, pid)
	}
	sort.Ints(rss)
	sort.Ints(threads)
	after := hostUse(b, bridge)
	notes := hostLimits(b, n, before, after, watchers)
	notes = append(notes, fmt.Sprintf("density: a watcher has %d threads (median), %d at most", threads[len(threads)/2], threads[len(threads)-1]))

	// The names resolver of a user network, with a hundred of them on it as well.
	named := names[:min(n, 100)]
	mustOutput(b, mydocker("network", "create", "dense-names"))
	for _, name := range named {
		mustOutput(b, mydocker("network", "connect", "dense-names", name))
	}
	resolver := resolverPid(b, root)
	require.NotZero(b, resolver, "a resolver answers the names of dense-names")
	resolverRSS := procStatusInt(b, resolver, "VmRSS")
	notes = append(notes, fmt.Sprintf("density: the names resolver holds %d kB with %d containers' names (%d kB proportional)", resolverRSS, len(named), smapsPss(b, resolver)))

	noneDense, bridgeDense := benchPairs(b, starts, startNone, startBridge)
	ps, psA := benchPairs(b, 5, mydocker("ps"), mydocker("ps", "-a"))
	// stop of a tenth (-t 0: sleep, as PID 1, ignores SIGTERM), then rm -f of all, most of them
	// running.
	stopped := names[:max(1, n/10)]
	stop := timeOnce(b, mydocker(append([]string{"stop", "-t", "0"}, stopped...)...))
	rm := timeOnce(b, mydocker(append([]string{"rm", "-f"}, names...)...))
	require.Empty(b, strings.TrimSpace(mustOutput(b, mydocker("ps", "-aq"))), "rm -f of all leaves none")
	require.Zero(b, bridgePorts(b, bridge), "no port left on the bridge")
	mustOutput(b, mydocker("network", "rm", "dense-names"))
	notes = append(notes, fmt.Sprintf("density: %d containers started in %.1f s (two at a time); stop -t 0 of %d took %.1f s, rm -f of all %.1f s",
		n, fill.Seconds(), len(stopped), stop.Seconds(), rm.Seconds()))

	report := func(name string, v float64, unit string) {
		b.Run(name, func(b *testing.B) { b.ReportMetric(v, unit) })
	}
	b.Run("start-none-idle", func(b *testing.B) { reportMedian(b, noneIdle) })
	b.Run("start-none-dense", func(b *testing.B) { reportMedian(b, noneDense) })
	b.Run("start-bridge-idle", func(b *testing.B) { reportMedian(b, bridgeIdle) })
	b.Run("start-bridge-dense", func(b *testing.B) { reportMedian(b, bridgeDense) })
	b.Run("dense-run-d", func(b *testing.B) { reportMedian(b, each) })
	b.Run("dense-ps", func(b *testing.B) { reportMedian(b, ps) })
	b.Run("dense-ps-a", func(b *testing.B) { reportMedian(b, psA) })
	report("dense-watcher-rss", float64(rss[len(rss)/2]), "kB/median")
	report("dense-watcher-pss", float64(pss/n), "kB/mean")
	report("dense-host-memory", float64(before.memAvailable-after.memAvailable)/float64(n), "kB/mean")
	report("dense-resolver-rss", float64(resolverRSS), "kB/median")
	report("dense-stop-each", float64(stop.Microseconds())/1000/float64(len(stopped)), "ms/mean")
	report("dense-rm-all", float64(rm.Milliseconds()), "ms/total")
	// Logged by a benchmark that runs, to be printed (what BenchmarkDensity itself logs is not).
	b.Run("host", func(b *testing.B) {
		for _, note := range notes {
			b.Log(note)
		}
	})
}

func mustOutput(tb testing.TB, cmd func() *exec.Cmd) string {
	tb.Helper()
	c := cmd()
	out, err := c.Output()
	require.NoError(tb, err, "%s", c.Args)
	return string(out)
}

// timeOnce runs the command once and returns its wall time.
func timeOnce(tb testing.TB, cmd func() *exec.Cmd) time.Duration {
	tb.Helper()
	c := cmd()
	begin := time.Now()
	out, err := c.CombinedOutput()
	took := time.Since(begin)
	require.NoError(tb, err, "%s", out)
	return took
}

// smapsPss is the proportional set size of process pid in kB: its private pages, and its
// share of those it shares (the watchers' program text).
func smapsPss(tb testing.TB, pid int) int {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	require.NoError(tb, err)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Pss:"); ok {
			kb, err := strconv.Atoi(strings.Fields(v)[0])
			require.NoError(tb, err)
			return kb
		}
	}
	tb.Fatalf("no Pss in /proc/%d/smaps_rollup", pid)
	return 0
}

// hostCount is what the host holds of each thing a container may use up.
type hostCount struct {
	tasks, mounts, rules, ports, memAvailable int
}

func hostUse(tb testing.TB, bridge string) hostCount {
	tb.Helper()
	var c hostCount
	procs, err := os.ReadDir("/proc")
	require.NoError(tb, err)
	for _, p := range procs {
		if tasks, err := os.ReadDir("/proc/" + p.Name() + "/task"); err == nil {
			c.tasks += len(tasks)
		}
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(tb, err)
	c.mounts = strings.Count(string(mountinfo), "\n")
	rules, err := exec.Command("iptables-save").Output()
	require.NoError(tb, err)
	c.rules = strings.Count(string(rules), "\n-A ")
	c.ports = bridgePorts(tb, bridge)
	c.memAvailable = procMeminfo(tb, "MemAvailable")
	return c
}

func procMeminfo(tb testing.TB, field string) int {
	data, err := os.ReadFile("/proc/meminfo")
	require.NoError(tb, err)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.Atoi(strings.Fields(v)[0])
			require.NoError(tb, err)
			return kb
		}
	}
	tb.Fatalf("no %s in /proc/meminfo", field)
	return 0
}

// hostLimits says, for each limit of the host a container uses some of, the limit, what n
// containers used of it, and how many it leaves room for; the first to run out last.
func hostLimits(b *testing.B, n int, before, after hostCount, watchers map[int]bool) (notes []string) {
	var fds, inotify int
	for pid := range watchers {
		entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		require.NoError(b, err)
		fds += len(entries)
		for _, e := range entries {
			if target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name())); target == "anon_inode:inotify" {
				inotify++
			}
		}
	}
	sysctl := func(name string) int {
		data, err := os.ReadFile("/proc/sys/" + name)
		require.NoError(b, err)
		v, err := strconv.Atoi(strings.Fields(string(data))[0])
		require.NoError(b, err)
		return v
	}
	type limit struct {
		what        string
		limit, used int // used: by the n containers
		inUse       int // by the host before them
	}
	limits := []limit{
		{"bridge ports (kernel)", network.MaxBridgePorts, after.ports - before.ports, before.ports},
		{"kernel.pid_max (tasks)", sysctl("kernel/pid_max"), after.tasks - before.tasks, before.tasks},
		{"kernel.threads-max", sysctl("kernel/threads-max"), after.tasks - before.tasks, before.tasks},
		{"fs.file-max (watchers' fds)", sysctl("fs/file-max"), fds, 0},
		{"inotify instances", sysctl("fs/inotify/max_user_instances"), inotify, 0},
		{"fs.mount-max (host namespace)", sysctl("fs/mount-max"), after.mounts - before.mounts, before.mounts},
		{"iptables rules (no set limit)", 0, after.rules - before.rules, before.rules},
		{"memory (MemAvailable, kB)", before.memAvailable, before.memAvailable - after.memAvailable, 0},
	}
	first, room := "", -1
	var unused []string
	for _, l := range limits {
		if l.used <= 0 {
			unused = append(unused, fmt.Sprintf("%s (%d before them)", l.what, l.inUse))
			continue
		}
		if l.limit == 0 {
			notes = append(notes, fmt.Sprintf("limit %-30s: %d containers used %d (%d before them)", l.what, n, l.used, l.inUse))
			continue
		}
		r := (l.limit - l.inUse) * n / l.used
		notes = append(notes, fmt.Sprintf("limit %-30s %10d: %d containers used %d (%.2f each), room for %d", l.what, l.limit, n, l.used, float64(l.used)/float64(n), r))
		if room < 0 || r < room {
			first, room = l.what, r
		}
	}
	// Ten lines in all: go test keeps no more of what a benchmark logs.
	return append(notes, "limit none used: "+strings.Join(unused, ", "),
		fmt.Sprintf("limit first reached: %s, at about %d containers on one network", first, room))
}
