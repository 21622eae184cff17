package namespaces

import (
	"fmt"
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/labtest"
)

func TestMain(m *testing.M) {
	labtest.Main(m, map[string]func() error{
		"print-namespaces": printNamespaces,
		"host":             sharedHost,
		"init":             runInitMounts,
	})
}

var containerNamespaces = []specs.LinuxNamespace{
	{Type: specs.UTSNamespace}, {Type: specs.PIDNamespace}, {Type: specs.MountNamespace},
	{Type: specs.IPCNamespace}, {Type: specs.NetworkNamespace},
}

func TestCloneFlags(t *testing.T) {
	tests := []struct {
		name string
		ns   []specs.LinuxNamespace
		want uintptr
	}{
		{"the five of a container", containerNamespaces,
			unix.CLONE_NEWUTS | unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET},
		{"none", nil, 0},
		{"user", []specs.LinuxNamespace{{Type: specs.UserNamespace}}, unix.CLONE_NEWUSER},
		{"a path means join, not create", []specs.LinuxNamespace{
			{Type: specs.NetworkNamespace, Path: "/proc/42/ns/net"}, {Type: specs.UTSNamespace}}, unix.CLONE_NEWUTS},
		{"the cgroup namespace is the init's to make", []specs.LinuxNamespace{
			{Type: specs.CgroupNamespace}, {Type: specs.PIDNamespace}}, unix.CLONE_NEWPID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CloneFlags(tt.ns)
			if err != nil {
				t.Fatalf("CloneFlags: %v", err)
			}
			if got != tt.want {
				t.Errorf("CloneFlags(%v) = %#x, want %#x (see HINTS.md, \"wrong flags\")", tt.ns, got, tt.want)
			}
		})
	}
}

// TestNewNamespaces starts a process with your flags and compares its namespaces with ours.
func TestNewNamespaces(t *testing.T) {
	labtest.RequiresRoot(t)
	flags, err := CloneFlags(containerNamespaces)
	if err != nil {
		t.Fatalf("CloneFlags: %v", err)
	}
	out, err := labtest.Child("print-namespaces", flags)
	if err != nil {
		t.Fatalf("start a process with flags %#x: %v\n%s", flags, err, out)
	}
	for _, ns := range []string{"uts", "pid", "mnt", "ipc", "net"} {
		ours, _ := os.Readlink("/proc/self/ns/" + ns)
		if strings.Contains(out, ours+"\n") {
			t.Errorf("the child is still in our %s namespace (%s): its flags lack that namespace's", ns, ours)
		}
	}
}

func printNamespaces() error {
	for _, ns := range []string{"uts", "pid", "mnt", "ipc", "net"} {
		link, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			return err
		}
		fmt.Println(link)
	}
	return nil
}

// TestInitMounts runs your MakeMountsPrivate and MountProc("/proc") as a container's init on a
// host whose / is shared, as on any systemd machine: the "host" is a mount namespace of its own
// (so nothing here can harm the real host), the init a child of it in new mount and PID
// namespaces.
func TestInitMounts(t *testing.T) {
	labtest.RequiresRoot(t)
	out, err := labtest.Child("host", unix.CLONE_NEWNS)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// sharedHost plays the host: / shared, then the container's init started below it.
func sharedHost() error {
	if err := labtest.PretendSharedHost(); err != nil {
		return err
	}
	before, err := os.Readlink("/proc/self")
	if err != nil {
		return fmt.Errorf("test setup: %w", err)
	}
	out, err := labtest.Child("init", unix.CLONE_NEWNS|unix.CLONE_NEWPID)
	if err != nil {
		return fmt.Errorf("the container's init failed: %v\n%s", err, out)
	}
	after, err := os.Readlink("/proc/self")
	if err != nil || after != before {
		return fmt.Errorf("the host's /proc changed when the container mounted its own (/proc/self is now %q, was %q): "+
			"the mount propagated to the host; make / private (MS_REC|MS_PRIVATE) before mounting (HINTS.md, \"the host's /proc broke\")", after, before)
	}
	return nil
}

func runInitMounts() error {
	if err := MakeMountsPrivate(); err != nil {
		return err
	}
	if err := MountProc("/proc"); err != nil {
		return err
	}
	self, err := os.Readlink("/proc/self")
	if err != nil {
		return fmt.Errorf("after MountProc(\"/proc\"), /proc/self: %w (is a procfs mounted on /proc?)", err)
	}
	if self != "1" {
		return fmt.Errorf("after MountProc(\"/proc\"), /proc/self is %q, want \"1\": /proc is still the host's procfs, mount a new one", self)
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(mountinfo), "\n") {
		if strings.Contains(line, " shared:") {
			return fmt.Errorf("a mount is still shared after MakeMountsPrivate: %s", line)
		}
	}
	return nil
}
