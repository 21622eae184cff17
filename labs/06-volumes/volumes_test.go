package volumes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/labtest"
)

func TestMain(m *testing.M) {
	labtest.Main(m, map[string]func() error{"container": mountVolumes})
}

func TestParseVolume(t *testing.T) {
	host := t.TempDir()
	tests := []struct {
		in      string
		dest    string
		options []string
	}{
		{host + ":/data", "/data", []string{"rbind", "rprivate", "rw"}},
		{host + ":/data:ro", "/data", []string{"rbind", "rprivate", "ro"}},
		{host + "/:/srv/www/:rw", "/srv/www", []string{"rbind", "rprivate", "rw"}},
	}
	for _, tt := range tests {
		m, err := ParseVolume(tt.in)
		if err != nil {
			t.Errorf("ParseVolume(%q): %v", tt.in, err)
			continue
		}
		want := specs.Mount{Type: "bind", Source: host, Destination: tt.dest, Options: tt.options}
		if m.Type != want.Type || m.Source != want.Source || m.Destination != want.Destination || !slices.Equal(m.Options, want.Options) {
			t.Errorf("ParseVolume(%q) = %+v,\nwant %+v", tt.in, m, want)
		}
	}

	bad := []struct{ in, says string }{
		{"data:/data", "absolute"},
		{host + ":data", "absolute"},
		{host + ":/", "root"},
		{host + ":/data:rx", "mode"},
		{host, "HOST:CONTAINER"},
		{host + ":/a:ro:extra", "HOST:CONTAINER"},
	}
	for _, b := range bad {
		_, err := ParseVolume(b.in)
		if err == nil {
			t.Errorf("ParseVolume(%q) accepted a bad volume", b.in)
			continue
		}
		if !strings.Contains(err.Error(), b.in) || !strings.Contains(err.Error(), b.says) {
			t.Errorf("ParseVolume(%q) = error %q: it should quote the volume and say what is wrong (%q)", b.in, err, b.says)
		}
	}

	missing := filepath.Join(t.TempDir(), "new", "dir")
	if _, err := ParseVolume(missing + ":/data"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("ParseVolume created the host directory %s: parsing only reads (the engine makes it when the container is created, so a refused run leaves nothing behind)", missing)
	}
}

// TestMountVolume mounts volumes with your code in a throwaway mount namespace.
func TestMountVolume(t *testing.T) {
	labtest.RequiresRoot(t)
	root := t.TempDir()
	for _, d := range []string{"rootfs/etc", "host", "ro"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"host/file", "ro/file", "config"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("from the host\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A hostile image: /evil points at the host's root, /etc/up climbs out of the rootfs.
	if err := os.Symlink("/", filepath.Join(root, "rootfs/evil")); err != nil {
		t.Fatal(err)
	}
	climb := strings.Repeat("../", strings.Count(root, "/")+3)
	if err := os.Symlink(climb, filepath.Join(root, "rootfs/etc/up")); err != nil {
		t.Fatal(err)
	}
	escapee := "/" + filepath.Base(root) + "-lab06"
	t.Cleanup(func() { os.Remove(escapee); os.Remove(escapee + "-up") })
	out, err := labtest.Child("container", unix.CLONE_NEWNS, "LAB_ROOT="+root, "LAB_ESCAPEE="+escapee)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if data, err := os.ReadFile(filepath.Join(root, "host/written")); err != nil || string(data) != "from the container\n" {
		t.Errorf("a file written in the volume is not on the host (%q, %v)", data, err)
	}
	if _, err := os.Stat(escapee); err == nil {
		t.Errorf("the mount through the symlink /evil created %s on the host: resolve symlinks inside rootfs (HINTS.md, \"symlink\")", escapee)
	}
	if _, err := os.Stat(escapee + "-up"); err == nil {
		t.Errorf("the mount through the relative symlink /etc/up (%s) created %s on the host: \"..\" must stop at the rootfs (HINTS.md, \"symlink\")", climb, escapee+"-up")
	}
}

func mountVolumes() error {
	root := os.Getenv("LAB_ROOT")
	rootfs := filepath.Join(root, "rootfs")
	if err := container.MakeMountsPrivate(); err != nil {
		return err
	}
	volumes := []specs.Mount{
		{Type: "bind", Source: filepath.Join(root, "host"), Destination: "/data", Options: []string{"rbind", "rprivate", "rw"}},
		{Type: "bind", Source: filepath.Join(root, "ro"), Destination: "/srv/ro", Options: []string{"rbind", "rprivate", "ro"}},
		{Type: "bind", Source: filepath.Join(root, "config"), Destination: "/etc/app.conf", Options: []string{"rbind", "rprivate", "ro"}},
		{Type: "bind", Source: filepath.Join(root, "host"), Destination: "/evil" + os.Getenv("LAB_ESCAPEE"), Options: []string{"rbind", "rprivate", "rw"}},
		{Type: "bind", Source: filepath.Join(root, "host"), Destination: "/etc/up" + os.Getenv("LAB_ESCAPEE") + "-up", Options: []string{"rbind", "rprivate", "rw"}},
	}
	for _, m := range volumes {
		if err := MountVolume(rootfs, m); err != nil {
			return fmt.Errorf("MountVolume(%s): %w", m.Destination, err)
		}
	}
	if data, err := os.ReadFile(filepath.Join(rootfs, "data/file")); err != nil || string(data) != "from the host\n" {
		return fmt.Errorf("the volume's file is not at /data/file in the container (%q, %v)", data, err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "data/written"), []byte("from the container\n"), 0o644); err != nil {
		return fmt.Errorf("write into the volume: %w", err)
	}
	err := os.WriteFile(filepath.Join(rootfs, "srv/ro/new"), nil, 0o644)
	if !errors.Is(err, unix.EROFS) {
		return fmt.Errorf("writing into a :ro volume gave %v, want read-only file system: bind, then remount read-only (HINTS.md, \"ro\")", err)
	}
	if data, err := os.ReadFile(filepath.Join(rootfs, "etc/app.conf")); err != nil || string(data) != "from the host\n" {
		return fmt.Errorf("a single file as a volume: /etc/app.conf reads %q (%v): mount it on a file, not a directory (HINTS.md, \"file\")", data, err)
	}
	if data, err := os.ReadFile(filepath.Join(rootfs, os.Getenv("LAB_ESCAPEE"), "file")); err != nil || string(data) != "from the host\n" {
		return fmt.Errorf("the volume under the symlink /evil is not inside the rootfs (%q, %v): resolve symlinks as if rootfs were / (HINTS.md, \"symlink\")", data, err)
	}
	if data, err := os.ReadFile(filepath.Join(rootfs, os.Getenv("LAB_ESCAPEE")+"-up", "file")); err != nil || string(data) != "from the host\n" {
		return fmt.Errorf("the volume under the relative symlink /etc/up is not inside the rootfs (%q, %v): \"..\" never climbs above the rootfs (HINTS.md, \"symlink\")", data, err)
	}
	return nil
}
