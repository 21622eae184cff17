package transcript

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/internal/testutil"
)

func TestParse(t *testing.T) {
	readme := "text\n$ not a command\n```console\n$ sudo ./ch01 run sh -c 'echo $$'\n1\n$ echo a \\\n  b\na b\n```\n```sh\n$ ignored\n```\n" +
		"```console containerd\n$ ctr version\n```\n```consoles\n$ ignored\n```\n"
	steps := Parse([]byte(readme))
	assert.Equal(t, []Step{
		{Line: 4, Command: "./ch01 run sh -c 'echo $$'", Output: []string{"1"}},
		{Line: 6, Command: "echo a \\\n  b", Output: []string{"a b"}},
		{Line: 14, Command: "ctr version", Tag: "containerd"},
	}, steps)
}

func TestMatch(t *testing.T) {
	tests := []struct {
		want, got []string
		ok        bool
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, true},
		{[]string{"a", "b"}, []string{"a", "c"}, false},
		{[]string{"a"}, []string{"a", "b"}, false},
		{[]string{"a", ""}, []string{"a"}, true},
		{[]string{"id [...]"}, []string{"id 4e1f"}, true},
		{[]string{"[...] MiB"}, []string{"12 KiB"}, false},
		{[]string{"a", "...", "z"}, []string{"a", "b", "c", "z"}, true},
		{[]string{"a", "...", "z"}, []string{"a", "z"}, true},
		{[]string{"a", "..."}, []string{"a"}, true},
		{[]string{"a", "...", "z"}, []string{"a", "b"}, false},
		{[]string{"a.b"}, []string{"axb"}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.ok, Match(tt.want, tt.got), "Match(%q, %q)", tt.want, tt.got)
	}
}

// TestMain: started with TRANSCRIPT_TEST_WAIT=1, the test binary stands for a process a
// chapter's program left (a monitor): it waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv("TRANSCRIPT_TEST_WAIT") == "1" {
		fmt.Println("waiting")
		// A bare select{} can end in "all goroutines are asleep"; a timer keeps the runtime waiting.
		time.Sleep(time.Hour)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// What a broken program leaves — a process of its own binary, a process working in the
// transcript's directory, a container in its cgroup — the sweeps find, kill and remove.
func TestSweep(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	id := testutil.UniqueName("sweep")
	require.NoError(t, os.MkdirAll(filepath.Join(state, "containers", id), 0o700))

	monitor := exec.Command("/proc/self/exe")
	monitor.Env = append(os.Environ(), "TRANSCRIPT_TEST_WAIT=1")
	out, err := monitor.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, monitor.Start())
	t.Cleanup(func() { monitor.Process.Kill(); monitor.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "waiting\n", line)

	server := exec.Command("sleep", "1000") // a registry the transcript started
	server.Dir = dir
	require.NoError(t, server.Start())
	t.Cleanup(func() { server.Process.Kill(); server.Wait() })

	inside := exec.Command("sleep", "1001")
	require.NoError(t, inside.Start())
	t.Cleanup(func() { inside.Process.Kill(); inside.Wait() })
	cg, err := cgroups.New(id)
	require.NoError(t, err)
	t.Cleanup(func() { cg.Destroy() })
	require.NoError(t, cg.Apply(inside.Process.Pid))

	left := sweepProcesses(dir)
	assert.ElementsMatch(t, []string{
		fmt.Sprintf("process %d (/proc/self/exe)", monitor.Process.Pid),
		fmt.Sprintf("process %d (sleep 1000)", server.Process.Pid),
	}, left)
	left = sweepCgroups(state)
	require.Len(t, left, 1, "%q", left)
	assert.Contains(t, left[0], fmt.Sprintf("processes [%d] in ", inside.Process.Pid))
	for _, c := range []*exec.Cmd{monitor, server, inside} {
		err := c.Wait()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, "signal: killed", ee.Error())
	}
	for _, d := range cg.Paths() {
		assert.NoDirExists(t, d)
	}
	assert.Empty(t, sweepProcesses(dir), "nothing left the second time")
	assert.Empty(t, sweepCgroups(state))
}

// A process the transcript has just told to go gets its moment; a zombie is gone already.
func TestSweepWaitsForWhatIsEnding(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := t.TempDir()
	ending := exec.Command("sh", "-c", "trap 'sleep 0.3; exit 0' TERM; echo ready; while :; do sleep 0.05; done")
	ending.Dir = dir
	out, err := ending.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, ending.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line, "its trap is set")
	done := make(chan error, 1)
	go func() { done <- ending.Wait() }()
	require.NoError(t, ending.Process.Signal(syscall.SIGTERM))
	assert.Empty(t, sweepProcesses(dir))
	select {
	case err := <-done:
		require.NoError(t, err, "it exited by itself")
	case <-time.After(5 * time.Second):
		ending.Process.Kill()
		t.Fatal("the shell did not exit on its SIGTERM")
	}

	zombie := exec.Command("true")
	zombie.Dir = dir
	require.NoError(t, zombie.Start())
	t.Cleanup(func() { zombie.Wait() })
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", zombie.Process.Pid)); err == nil && zombieStat(st) {
			break
		}
	}
	assert.Empty(t, sweepProcesses(dir))
}

func zombieStat(st []byte) bool { return zombie(st) }
func TestParseUserCommands(t *testing.T) {
	readme := "```console\n$ sudo ./ch16 ps\nuser$ ./ch16 run busybox id -u\n0\n```\n"
	assert.Equal(t, []Step{
		{Line: 2, Command: "./ch16 ps"},
		{Line: 3, Command: "./ch16 run busybox id -u", Output: []string{"0"}, User: true},
	}, Parse([]byte(readme)))
}
