package container

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/cgroups"
)

func limit(n int64) *int64 { return &n }

// watchedCgroups is a manager whose Set also checks, and counts, what the init has done.
type watchedCgroups struct {
	cgroups.Manager
	t       *testing.T
	goneOn  *atomic.Bool // the init got the word to go on
	sets    int
	failSet error
}

func (w *watchedCgroups) Set(r *specs.LinuxResources) error {
	w.sets++
	require.False(w.t, w.goneOn.Load(), "the init waits while its limits are set")
	if w.failSet != nil {
		return w.failSet
	}
	return w.Manager.Set(r)
}

// fakeInit plays the init's side of Start over sock: it waits for the word to go on, then
// takes its last steps up to the exec fifo, as the init does (lastSteps.await), and reports
// how that ended.
func fakeInit(t *testing.T, sock *os.File, fifo int, goneOn *atomic.Bool) <-chan error {
	done := make(chan error, 1)
	go func() {
		m, _, ok, err := recvMsg(int(sock.Fd()))
		if err != nil || !ok || m.Type != "go" {
			done <- errors.New("no word to go on")
			return
		}
		steps, err := newLastSteps("/bin/true", []string{"true"}, nil, nil)
		if err != nil {
			done <- err
			return
		}
		steps.sync, steps.fifo = int(sock.Fd()), fifo
		err = steps.err(steps.await())
		goneOn.Store(err == nil)
		done <- err
	}()
	return done
}

// The limits wait for the init: JoinCgroups puts it in its cgroups and writes only the
// device rules; Start writes the others once the init says it is ready — its threads in the
// cgroup by then, pids.max below their number — and only then lets it go on. On fake cgroup
// trees of both versions.
func TestLimitsWaitForTheInit(t *testing.T) {
	for _, tc := range []struct {
		name string
		// tree makes a fake tree and a manager of a container's cgroups in it; pids is where
		// its pids.max is, procs its cgroup.procs, devices its device rules (v1 only).
		tree func(t *testing.T) (m cgroups.Manager, pids, procs, devices string)
		// kernel does what the kernel would between the cgroups' making and the limits.
		kernel func(t *testing.T, m cgroups.Manager)
		r      *specs.LinuxResources
	}{
		{
			name: "v1",
			tree: func(t *testing.T) (cgroups.Manager, string, string, string) {
				root := t.TempDir()
				m := cgroups.Load(map[string]string{
					"pids":    filepath.Join(root, "pids/mydocker/c1"),
					"memory":  filepath.Join(root, "memory/mydocker/c1"),
					"devices": filepath.Join(root, "devices/mydocker/c1"),
				})
				return m, filepath.Join(root, "pids/mydocker/c1/pids.max"), filepath.Join(root, "pids/mydocker/c1/cgroup.procs"),
					filepath.Join(root, "devices/mydocker/c1/devices.deny")
			},
			kernel: func(*testing.T, cgroups.Manager) {},
			r: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
				Memory:  &specs.LinuxMemory{Limit: limit(32 << 20)},
				Pids:    &specs.LinuxPids{Limit: limit(1)},
			},
		},
		{
			name: "v2",
			tree: func(t *testing.T) (cgroups.Manager, string, string, string) {
				root := t.TempDir()
				require.NoError(t, os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpu memory pids\n"), 0o644))
				m := cgroups.Load(map[string]string{"unified": filepath.Join(root, "mydocker/c1")})
				return m, filepath.Join(root, "mydocker/c1/pids.max"), filepath.Join(root, "mydocker/c1/cgroup.procs"), ""
			},
			// The kernel lists the controllers it hands down without the '+'.
			kernel: func(t *testing.T, m cgroups.Manager) {
				enabled := filepath.Join(filepath.Dir(m.Dir("pids")), "cgroup.subtree_control")
				require.NoError(t, os.WriteFile(enabled, []byte("cpu memory pids\n"), 0o644))
			},
			// No device rules: v2 has them as an eBPF program, which takes a real cgroup.
			r: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: limit(32 << 20)}, Pids: &specs.LinuxPids{Limit: limit(1)}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, pidsMax, procs, devices := tc.tree(t)
			var goneOn atomic.Bool
			w := &watchedCgroups{Manager: m, t: t, goneOn: &goneOn}
			parent, child, err := socketPair()
			require.NoError(t, err)
			defer child.Close()
			fifo := make([]int, 2)
			require.NoError(t, unix.Pipe2(fifo, unix.O_CLOEXEC))
			defer unix.Close(fifo[0])
			defer unix.Close(fifo[1])

			p := &Init{sync: parent, proc: Process{Pid: 4242}}
			require.NoError(t, p.JoinCgroups(w, tc.r))
			require.Equal(t, "4242", readTrimmed(t, procs))
			require.NoFileExists(t, pidsMax, "no pids limit while the init works")
			if devices != "" {
				require.Equal(t, "a *:* rwm", readTrimmed(t, devices), "the device rules go first")
			}
			tc.kernel(t, m)

			done := fakeInit(t, child, fifo[0], &goneOn)
			require.NoError(t, p.Start(), "Start returns once the init waits on its exec fifo")
			require.Equal(t, "1", readTrimmed(t, pidsMax))
			require.False(t, goneOn.Load())
			_, err = unix.Write(fifo[1], []byte{0}) // start's byte
			require.NoError(t, err)
			require.NoError(t, <-done)
			require.True(t, goneOn.Load())
			wantSets := 1
			if devices != "" {
				wantSets = 2
			}
			require.Equal(t, wantSets, w.sets)
		})
	}
}

// Limits that cannot be set fail the start, and the init never goes on: it finds its parent
// gone instead.
func TestInitNeverGoesOnWithoutItsLimits(t *testing.T) {
	var goneOn atomic.Bool
	w := &watchedCgroups{Manager: cgroups.Load(map[string]string{"pids": filepath.Join(t.TempDir(), "pids/c1")}), t: t, goneOn: &goneOn,
		failSet: errors.New("write \"1\" to pids.max: invalid argument")}
	parent, child, err := socketPair()
	require.NoError(t, err)
	defer child.Close()
	p := &Init{sync: parent, proc: Process{Pid: 4242}}
	require.NoError(t, p.JoinCgroups(w, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: limit(1)}}))
	done := fakeInit(t, child, -1, &goneOn)
	err = p.Start()
	require.ErrorContains(t, err, "set the container's limits: write \"1\" to pids.max")
	require.ErrorIs(t, <-done, unix.ECONNRESET)
	require.False(t, goneOn.Load())
}

func readTrimmed(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.TrimSpace(string(data))
}

// orderedCgroups is a manager that records the order of Create and Join.
type orderedCgroups struct {
	cgroups.Manager
	calls chan string
}

func (o *orderedCgroups) Create() error  { o.calls <- "create"; return nil }
func (o *orderedCgroups) Join(int) error { o.calls <- "join"; return nil }

// An init the parent moves into its cgroups (not one that moves itself: --init here) is moved
// once they are made, before it goes on when it enters a cgroup namespace of its own — and
// waiting for that does not wait on itself.
func TestJoinCgroupsMeanwhileMovesAfterMaking(t *testing.T) {
	for _, cgroupns := range []bool{false, true} {
		spec := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}}}}
		if cgroupns {
			spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
		}
		o := &orderedCgroups{Manager: cgroups.Load(map[string]string{"unified": t.TempDir()}), calls: make(chan string, 2)}
		p := &Init{proc: Process{Pid: 4242}}
		require.NoError(t, p.JoinCgroupsMeanwhile(o, spec, true))
		waited := make(chan error, 1)
		go func() {
			if err := p.made(); err != nil {
				waited <- err
				return
			}
			waited <- p.WaitCgroups()
		}()
		select {
		case err := <-waited:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("cgroup namespace %v: waiting for the cgroups never returns", cgroupns)
		}
		require.Equal(t, "create", <-o.calls)
		require.Equal(t, "join", <-o.calls)
		require.False(t, p.joinsItself, "moved by its parent")
	}
}
