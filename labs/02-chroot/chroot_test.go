package chroot

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/labtest"
)

func TestMain(m *testing.M) {
	labtest.Main(m, map[string]func() error{"container": changeRootInContainer})
}

func writeFile(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first"), filepath.Join(dir, "second")
	writeFile(t, filepath.Join(second, "tool"), 0o755)
	writeFile(t, filepath.Join(first, "tool"), 0o755)
	writeFile(t, filepath.Join(first, "data"), 0o644)
	writeFile(t, filepath.Join(second, "data"), 0o755)
	if err := os.MkdirAll(filepath.Join(first, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := "PATH=" + first + ":" + second

	tests := []struct {
		file, want string
		env        []string
	}{
		{"tool", filepath.Join(first, "tool"), []string{"HOME=/", path}},
		{"data", filepath.Join(second, "data"), []string{path}}, // not executable in first
		{filepath.Join(first, "tool"), filepath.Join(first, "tool"), nil},
	}
	for _, tt := range tests {
		got, err := LookPath(tt.file, tt.env)
		if err != nil {
			t.Fatalf("LookPath(%q, %q): %v", tt.file, tt.env, err)
		}
		if got != tt.want {
			t.Errorf("LookPath(%q, %q) = %q, want %q: take the first executable regular file, PATH in order", tt.file, tt.env, got, tt.want)
		}
	}

	for _, missing := range []string{"nothing", "adir"} {
		_, err := LookPath(missing, []string{path})
		if err == nil || !strings.Contains(err.Error(), "executable file not found in $PATH") {
			t.Errorf("LookPath(%q) = error %v, want one that says \"executable file not found in $PATH\"", missing, err)
		}
		if !errors.Is(err, unix.ENOENT) {
			t.Errorf("LookPath(%q): errors.Is(err, unix.ENOENT) is false: the engine exits 127 on ENOENT (HINTS.md, \"127\")", missing)
		}
	}
	if _, err := LookPath(filepath.Join(first, "data"), nil); err == nil {
		t.Errorf("LookPath of a path to a file that is not executable gave no error")
	}
}

// TestChangeRoot runs your ChangeRoot in a throwaway mount namespace, on a small busybox root,
// then tries the classic escape: setns into the process's own mount namespace, which resets
// the root to the namespace's root.
func TestChangeRoot(t *testing.T) {
	labtest.RequiresRoot(t)
	rootfs := labtest.Rootfs(t)
	out, err := labtest.Child("container", unix.CLONE_NEWNS, "LAB_ROOTFS="+rootfs)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

func changeRootInContainer() error {
	rootfs := os.Getenv("LAB_ROOTFS")
	// What the engine does before: private mounts, rootfs a mount point, /proc below it.
	if err := container.MakeMountsPrivate(); err != nil {
		return err
	}
	if err := container.MountRootfs(rootfs, nil); err != nil {
		return err
	}
	if err := unix.Mount("proc", filepath.Join(rootfs, "proc"), "proc", 0, ""); err != nil {
		return fmt.Errorf("test setup: mount proc: %w", err)
	}
	if err := ChangeRoot(rootfs); err != nil {
		return err
	}
	if data, err := os.ReadFile("/etc/lab-rootfs"); err != nil || string(data) != "inside\n" {
		return fmt.Errorf("after ChangeRoot, / is not the rootfs: /etc/lab-rootfs: %v", err)
	}
	if wd, _ := os.Getwd(); wd != "/" {
		return fmt.Errorf("after ChangeRoot the working directory is %q, want \"/\" (a working directory outside the root is a way out)", wd)
	}
	escape := exec.Command("/bin/nsenter", "--mount=/proc/self/ns/mnt", "/bin/cat", "/etc/lab-rootfs")
	escape.Stdin = strings.NewReader("") // the rootfs has no /dev/null
	if out, err := escape.CombinedOutput(); err != nil || string(out) != "inside\n" {
		return fmt.Errorf("escaped: after setns into its own mount namespace, the process no longer sees the rootfs (%v: %s). "+
			"A bare chroot is escapable: move the rootfs mount over / first (HINTS.md, \"escaped\")", err, out)
	}
	return nil
}
