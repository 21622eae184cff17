package limits

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/internal/busybox"
	"github.com/mydocker/mydocker/internal/labtest"
	"github.com/mydocker/mydocker/internal/testutil"
)

// readFake reads what a Set function wrote into a fake cgroup directory.
func readFake(t *testing.T, dir, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, file))
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s was not written (HINTS.md, \"file names\")", file)
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func version(v2 bool) string {
	if v2 {
		return "v2"
	}
	return "v1"
}

func TestFiles(t *testing.T) {
	tests := []struct {
		name       string
		v2         bool
		set        func(dir string, v2 bool) error
		file, want string
	}{
		{"memory", false, func(d string, v2 bool) error { return SetMemory(d, v2, 32<<20) }, "memory.limit_in_bytes", "33554432"},
		{"memory", true, func(d string, v2 bool) error { return SetMemory(d, v2, 32<<20) }, "memory.max", "33554432"},
		{"memory unlimited", false, func(d string, v2 bool) error { return SetMemory(d, v2, -1) }, "memory.limit_in_bytes", "-1"},
		{"memory unlimited", true, func(d string, v2 bool) error { return SetMemory(d, v2, -1) }, "memory.max", "max"},
		{"cpu quota", false, func(d string, v2 bool) error { return SetCPU(d, v2, 50000, 100000) }, "cpu.cfs_quota_us", "50000"},
		{"cpu period", false, func(d string, v2 bool) error { return SetCPU(d, v2, 50000, 100000) }, "cpu.cfs_period_us", "100000"},
		{"cpu", true, func(d string, v2 bool) error { return SetCPU(d, v2, 50000, 100000) }, "cpu.max", "50000 100000"},
		{"cpu unlimited", true, func(d string, v2 bool) error { return SetCPU(d, v2, -1, 100000) }, "cpu.max", "max 100000"},
		{"pids", false, func(d string, v2 bool) error { return SetPids(d, v2, 10) }, "pids.max", "10"},
		{"pids", true, func(d string, v2 bool) error { return SetPids(d, v2, 10) }, "pids.max", "10"},
		{"pids unlimited (0)", true, func(d string, v2 bool) error { return SetPids(d, v2, 0) }, "pids.max", "max"},
		{"pids unlimited (-1)", false, func(d string, v2 bool) error { return SetPids(d, v2, -1) }, "pids.max", "max"},
	}
	for _, tt := range tests {
		t.Run(version(tt.v2)+" "+tt.name, func(t *testing.T) {
			dir := t.TempDir() // a fake cgroup directory
			if err := tt.set(dir, tt.v2); err != nil {
				t.Fatal(err)
			}
			if got := readFake(t, dir, tt.file); got != tt.want {
				t.Errorf("cgroup %s: %s holds %q, want %q", version(tt.v2), tt.file, got, tt.want)
			}
		})
	}
}

// realCgroup makes a real cgroup for the test and a busybox shell in it, waiting for run to
// let it go on; run returns the shell's output and exit status.
func realCgroup(t *testing.T, controller, script string) (dir string, v2 bool, run func() (string, int)) {
	t.Helper()
	labtest.RequiresRoot(t)
	bb, err := busybox.Find()
	if err != nil {
		t.Fatalf("needs busybox-static (apt-get install busybox-static): %v", err)
	}
	cg, err := cgroups.New(testutil.UniqueName("lab04-"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cg.Destroy() })
	cmd := exec.Command(bb, "sh", "-c", "read go; "+script)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if err := cg.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	v2 = cgroups.DetectMode() == cgroups.Unified
	paths := cg.Paths()
	dir = paths[controller]
	if v2 {
		dir = paths["unified"]
	}
	if dir == "" {
		t.Fatalf("this machine has no %s cgroup controller: the lab cannot check your code here", controller)
	}
	return dir, v2, func() (string, int) {
		fmt.Fprintln(stdin, "go")
		stdin.Close()
		cmd.Wait()
		return out.String(), cmd.ProcessState.ExitCode()
	}
}

func TestMemoryLimitKills(t *testing.T) {
	dir, v2, run := realCgroup(t, "memory", `x=$(head -c 50000000 /dev/zero | tr "\0" a); echo survived`)
	if err := SetMemory(dir, v2, 16<<20); err != nil {
		t.Fatal(err)
	}
	out, code := run()
	if strings.Contains(out, "survived") || code == 0 {
		t.Errorf("a shell holding 50 MB survived a 16 MiB limit: the limit is not in force (HINTS.md, \"not enforced\")")
	}
}

func TestPidsLimitStopsForks(t *testing.T) {
	dir, v2, run := realCgroup(t, "pids", `for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait`)
	if err := SetPids(dir, v2, 4); err != nil {
		t.Fatal(err)
	}
	out, _ := run()
	if !strings.Contains(out, "can't fork") {
		t.Errorf("a shell started 8 sleeps in a cgroup limited to 4 processes without an error (output %q): the limit is not in force (HINTS.md, \"not enforced\")", out)
	}
}
