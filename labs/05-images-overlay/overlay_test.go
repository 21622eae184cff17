package overlay

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/labtest"
	"github.com/mydocker/mydocker/internal/testutil"
)

func TestMain(m *testing.M) {
	labtest.Main(m, map[string]func() error{"container": copyOnWrite})
}

func TestOverlayOptions(t *testing.T) {
	got, err := OverlayOptions("/c", []string{"/layers/base", "/layers/middle", "/layers/top"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"lowerdir=/layers/top:/layers/middle:/layers/base", "upperdir=/c/upper", "workdir=/c/work"}
	slices.Sort(got)
	sorted := slices.Clone(want)
	slices.Sort(sorted)
	if !slices.Equal(got, sorted) {
		t.Errorf("OverlayOptions = %q,\nwant %q: overlayfs reads lowerdir top-most first (HINTS.md, \"order\")", got, want)
	}
}

// TestCopyOnWrite mounts your overlay in a throwaway mount namespace over two layers, then
// reads, writes and deletes through it.
func TestCopyOnWrite(t *testing.T) {
	labtest.RequiresRoot(t)
	testutil.RequiresFilesystem(t, "overlay")
	root := t.TempDir()
	files := map[string]string{"base/a": "a from base", "base/b": "b from base", "top/b": "b from top", "top/c": "c from top"}
	for name, content := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "container"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := labtest.Child("container", unix.CLONE_NEWNS, "LAB_ROOT="+root)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for name, content := range files {
		if data, err := os.ReadFile(filepath.Join(root, name)); err != nil || string(data) != content {
			t.Errorf("the image's layer file %s changed (%q, %v): writes must go to the upper directory only", name, data, err)
		}
	}
}

func copyOnWrite() error {
	root := os.Getenv("LAB_ROOT")
	if err := container.MakeMountsPrivate(); err != nil {
		return err
	}
	dir := filepath.Join(root, "container")
	for _, d := range []string{"upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return fmt.Errorf("test setup: %w", err)
		}
	}
	options, err := OverlayOptions(dir, []string{filepath.Join(root, "base"), filepath.Join(root, "top")})
	if err != nil {
		return err
	}
	merged := filepath.Join(dir, "merged")
	if err := MountOverlay(merged, options); err != nil {
		return err
	}
	for name, want := range map[string]string{"a": "a from base", "b": "b from top", "c": "c from top"} {
		data, err := os.ReadFile(filepath.Join(merged, name))
		if err != nil || string(data) != want {
			return fmt.Errorf("merged/%s reads %q (%v), want %q: the top layer must win (HINTS.md, \"order\")", name, data, err, want)
		}
	}
	if err := os.WriteFile(filepath.Join(merged, "new"), []byte("written"), 0o644); err != nil {
		return fmt.Errorf("write through the overlay: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "upper/new")); err != nil {
		return fmt.Errorf("a new file is not in upper: %w", err)
	}
	if err := os.WriteFile(filepath.Join(merged, "a"), []byte("changed"), 0o644); err != nil {
		return fmt.Errorf("change a lower file through the overlay: %w", err)
	}
	if err := os.Remove(filepath.Join(merged, "c")); err != nil {
		return fmt.Errorf("delete a lower file through the overlay: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "upper/c"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		return fmt.Errorf("deleting c left no whiteout (a 0/0 character device) in upper: %v", err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "upper/a")); err != nil || string(data) != "changed" {
		return fmt.Errorf("changing a lower file did not copy it up into upper (%q, %v)", data, err)
	}
	return nil
}
