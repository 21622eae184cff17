package pivot

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/labtest"
)

func TestMain(m *testing.M) {
	labtest.Main(m, map[string]func() error{
		"container": pivotInContainer,
		"host":      sharedHost,
	})
}

// TestPivotRoot needs no root: the container gets a user namespace of its own too, in which
// you are root, and new mount and PID namespaces owned by it.
func TestPivotRoot(t *testing.T) {
	rootfs := labtest.Rootfs(t)
	attr := &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	out, err := labtest.ChildAttr("container", attr, "LAB_ROOTFS="+rootfs)
	if strings.Contains(out, "test setup:") || (err != nil && strings.Contains(out, "operation not permitted") && os.Getuid() != 0) {
		labtest.RequiresRoot(t) // this machine does not let users make user namespaces
		t.Fatalf("%v\n%s", err, out)
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestPivotRootOnSharedHost runs PivotRoot below a pretend systemd host, whose / is shared.
func TestPivotRootOnSharedHost(t *testing.T) {
	labtest.RequiresRoot(t)
	rootfs := labtest.Rootfs(t)
	out, err := labtest.Child("host", unix.CLONE_NEWNS, "LAB_ROOTFS="+rootfs)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

func sharedHost() error {
	if err := labtest.PretendSharedHost(); err != nil {
		return err
	}
	if err := mountTmp(os.Getenv("LAB_ROOTFS")); err != nil {
		return err
	}
	before, err := labtest.MountPoints()
	if err != nil {
		return err
	}
	if out, err := labtest.Child("container", unix.CLONE_NEWNS|unix.CLONE_NEWPID, "LAB_ESCAPE=1"); err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	after, err := labtest.MountPoints()
	if err != nil {
		return err
	}
	if !slices.Equal(before, after) {
		return fmt.Errorf("the host's mounts changed while the container pivoted: %d mount points before, %d after: "+
			"a mount propagated; make all mounts private first (HINTS.md, \"leak\")", len(before), len(after))
	}
	return nil
}

func mountTmp(rootfs string) error {
	if err := unix.Mount("tmpfs", rootfs+"/tmp", "tmpfs", 0, ""); err != nil {
		return fmt.Errorf("test setup: mount a tmpfs on the rootfs's /tmp: %w", err)
	}
	return nil
}

func pivotInContainer() error {
	rootfs := os.Getenv("LAB_ROOTFS")
	// Opened before: /proc is gone after the pivot, and in a user namespace a new one may not
	// be mounted. What is opened through it after the pivot sees the new root.
	proc, err := os.Open("/proc")
	if err != nil {
		return err
	}
	defer proc.Close()
	// In the engine, the container's /proc, /dev and the rest are mounted below rootfs by the
	// time it pivots: a tmpfs on /tmp stands for them (on the pretend host, mounted there).
	if os.Getenv("LAB_ESCAPE") == "" {
		if err := mountTmp(rootfs); err != nil {
			return err
		}
	}
	if err := PivotRoot(rootfs); err != nil {
		return err
	}
	if data, err := os.ReadFile("/etc/lab-rootfs"); err != nil || string(data) != "inside\n" {
		return fmt.Errorf("after PivotRoot, / is not the rootfs: /etc/lab-rootfs: %v", err)
	}
	// Compared as files: a working directory left in the old root reads as "/" once that is
	// unmounted, and os.Getwd trusts $PWD.
	dot, err1 := os.Stat(".")
	root, err2 := os.Stat("/")
	if err1 != nil || err2 != nil || !os.SameFile(dot, root) {
		return fmt.Errorf("after PivotRoot the working directory is not the new root: chdir(\"/\") at the end (HINTS.md)")
	}
	fd, err := unix.Openat(int(proc.Fd()), "self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("test check: open mountinfo: %w", err)
	}
	mountinfo := os.NewFile(uintptr(fd), "mountinfo")
	defer mountinfo.Close()
	data, err := io.ReadAll(mountinfo)
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		points = append(points, strings.Fields(line)[4])
	}
	if !slices.Contains(points, "/tmp") {
		return fmt.Errorf("after PivotRoot the rootfs's /tmp, mounted below it before the pivot, is gone: %v; "+
			"the bind of rootfs onto itself must take its mounts along, MS_REC (HINTS.md, \"recursive\")", points)
	}
	if !slices.Equal(points, []string{"/", "/tmp"}) {
		return fmt.Errorf("after PivotRoot the container's mount namespace holds %d mounts, want only its root and its /tmp: %v; "+
			"the old root is still mounted — unmount it with MNT_DETACH (HINTS.md, \"old root\")", len(points), points)
	}
	if os.Getenv("LAB_ESCAPE") == "" {
		return nil
	}
	if err := unix.Mount("proc", "/proc", "proc", 0, ""); err != nil {
		return fmt.Errorf("test check: mount /proc after PivotRoot: %w", err)
	}
	escape := exec.Command("/bin/nsenter", "--mount=/proc/self/ns/mnt", "/bin/cat", "/etc/lab-rootfs")
	escape.Stdin = strings.NewReader("")
	if out, err := escape.CombinedOutput(); err != nil || string(out) != "inside\n" {
		return fmt.Errorf("escaped: after setns into its own mount namespace the process left the rootfs (%v: %s)", err, out)
	}
	return nil
}
