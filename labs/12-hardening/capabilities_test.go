package hardening

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/labtest"
	"github.com/mydocker/mydocker/runconfig"
)

func TestMain(m *testing.M) {
	labtest.Main(m, map[string]func() error{"drop": drop})
}

func TestCapabilities(t *testing.T) {
	host, err := container.HostCapabilities()
	if err != nil {
		t.Fatal(err)
	}
	defaults := slices.Clone(runconfig.DefaultCapabilities)
	without := func(list []string, names ...string) []string {
		return slices.DeleteFunc(slices.Clone(list), func(c string) bool { return slices.Contains(names, c) })
	}
	for _, c := range []struct {
		name string
		s    runconfig.Security
		want []string
		hint string
	}{
		{"the defaults", runconfig.Security{}, runconfig.DefaultCapabilities, "defaults"},
		{"--cap-drop NET_RAW", runconfig.Security{CapDrop: []string{"NET_RAW"}}, without(runconfig.DefaultCapabilities, "CAP_NET_RAW"), "names"},
		{"--cap-add net_admin", runconfig.Security{CapAdd: []string{"net_admin"}}, append(slices.Clone(runconfig.DefaultCapabilities), "CAP_NET_ADMIN"), "names"},
		{"--cap-add CAP_SYS_TIME --cap-add sys_time", runconfig.Security{CapAdd: []string{"CAP_SYS_TIME", "sys_time"}}, append(slices.Clone(runconfig.DefaultCapabilities), "CAP_SYS_TIME"), "names"},
		{"--cap-add CHOWN (a default)", runconfig.Security{CapAdd: []string{"CHOWN"}}, runconfig.DefaultCapabilities, "names"},
		{"--cap-drop ALL", runconfig.Security{CapDrop: []string{"ALL"}}, nil, "ALL"},
		{"--cap-drop ALL --cap-add CHOWN --cap-add KILL", runconfig.Security{CapDrop: []string{"all"}, CapAdd: []string{"CHOWN", "KILL"}}, []string{"CAP_CHOWN", "CAP_KILL"}, "ALL"},
		{"--cap-add ALL", runconfig.Security{CapAdd: []string{"ALL"}}, host, "ALL"},
		{"--cap-add ALL --cap-drop MKNOD", runconfig.Security{CapAdd: []string{"ALL"}, CapDrop: []string{"MKNOD"}}, without(host, "CAP_MKNOD"), "ALL"},
		{"--privileged", runconfig.Security{Privileged: true}, host, "privileged"},
	} {
		got, err := Capabilities(c.s)
		if now := slices.Clone(DefaultCapabilities); !slices.Equal(now, defaults) {
			copy(runconfig.DefaultCapabilities, defaults) // back, for the other tests
			t.Fatalf("%s: DefaultCapabilities is now %q: your Capabilities changed the engine's own list (a slice shares its array), and the next container would get that; start from a copy (HINTS.md, \"defaults\")", c.name, now)
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !sameSet(got, c.want) {
			t.Errorf("%s: %v,\nwant %v (HINTS.md, %q)", c.name, got, c.want, c.hint)
		}
	}
	for _, bad := range []string{"CAP_FLY", "sys_fly", ""} {
		if got, err := Capabilities(runconfig.Security{CapAdd: []string{bad}}); err == nil {
			t.Errorf("--cap-add %q gave %v, <nil>: an unknown capability is an error (HINTS.md, \"unknown\")", bad, got)
		} else if bad != "" && !strings.Contains(err.Error(), bad) {
			t.Errorf("--cap-add %q: the error %q does not quote the name", bad, err)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), b) && len(a) == len(b)
}

// TestDropBoundingSet runs your DropBoundingSet in a process of its own, then a program from
// the same thread, and reads what they can still have.
func TestDropBoundingSet(t *testing.T) {
	labtest.RequiresRoot(t)
	out, err := labtest.Child("drop", 0)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

func drop() error {
	runtime.LockOSThread() // never unlocked: the process ends with it
	keep := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	if err := DropBoundingSet(keep); err != nil {
		return fmt.Errorf("DropBoundingSet(%v): %v (HINTS.md, \"prctl\")", keep, err)
	}
	want := uint64(1<<0 | 1<<5 | 1<<10)
	if got, err := boundingSet("/proc/thread-self/status"); err != nil || got != want {
		return fmt.Errorf("after DropBoundingSet(%v) this thread's CapBnd is %016x (%v), want %016x (HINTS.md, \"bits\")", keep, got, err, want)
	}
	// A program executed from this thread keeps the bounding set, whatever its file says.
	out, err := exec.Command("/bin/sh", "-c", "grep CapBnd /proc/self/status").Output()
	if err != nil {
		return err
	}
	if !strings.Contains(string(out), fmt.Sprintf("%016x", want)) {
		return fmt.Errorf("a program executed after DropBoundingSet has %s, want %016x (HINTS.md, \"thread\")", strings.TrimSpace(string(out)), want)
	}
	if err := DropBoundingSet([]string{"CAP_FLY"}); err == nil {
		return fmt.Errorf("DropBoundingSet([CAP_FLY]) = <nil>: an unknown name is an error (HINTS.md, \"unknown\")")
	}
	return nil
}

func boundingSet(status string) (uint64, error) {
	data, err := os.ReadFile(status)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			return strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		}
	}
	return 0, fmt.Errorf("no CapBnd in %s", status)
}
