package workspace

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Driver stacks a container's writable layer over an image's layers.
type Driver interface {
	// Name is "overlay", "aufs" or "vfs".
	Name() string
	// Prepare makes the container's writable layer in dir (which exists) over layers
	// (bottom-most first) and says how to mount the root filesystem.
	Prepare(dir string, layers []string) (*Rootfs, error)
	// Changes streams the container's writes as an OCI layer tar.
	Changes(dir string, layers []string) (io.ReadCloser, error)
	// Export writes the merged filesystem, image and writes, as a tar.
	Export(dir string, layers []string, w io.Writer) error
	// Remove deletes what Prepare made; it is not an error if it is gone already.
	Remove(dir string) error
}

// Rootfs is how a container gets its root filesystem.
type Rootfs struct {
	// Path is the directory that becomes the container's /.
	Path string
	// Mount, when set, is the mount to make on Path inside the container's mount namespace;
	// nil when Path is ready as it is (vfs).
	Mount *specs.Mount
}

// Drivers lists the driver names in order of preference.
func Drivers() []string { return []string{"overlay", "aufs", "vfs"} }

// NewDriver returns the named driver; "" picks the first one the kernel supports.
func NewDriver(name string) (Driver, error) {
	if name == "" {
		for _, n := range Drivers() {
			if n == "vfs" || KernelHas(n) && usable(n) {
				name = n
				break
			}
		}
	}
	switch name {
	case "overlay":
		return overlayDriver{}, nil
	case "aufs":
		return aufsDriver{}, nil
	case "vfs":
		return vfsDriver{}, nil
	}
	return nil, fmt.Errorf("unknown storage driver %q: choose one of %s", name, strings.Join(Drivers(), ", "))
}

// usable reports whether this process can mount the filesystem fs for its containers: in a
// user namespace of its own (a rootless engine), overlay mounts only from Linux 5.11, and
// aufs never.
func usable(fs string) bool {
	if !inUserNamespace() {
		return true
	}
	return fs == "overlay" && KernelAtLeast(5, 11)
}

// KernelAtLeast reports whether the running kernel's version is major.minor or later.
func KernelAtLeast(major, minor int) bool {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return false
	}
	var maj, min int
	fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &maj, &min)
	return maj > major || maj == major && min >= minor
}

// KernelHas reports whether /proc/filesystems lists the filesystem type fs.
func KernelHas(fs string) bool {
	f, err := os.Open("/proc/filesystems")
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 0 && fields[len(fields)-1] == fs {
			return true
		}
	}
	return false
}

// pipeTar runs write in a goroutine and returns the tar it writes as a stream.
func pipeTar(write func(io.Writer) error) io.ReadCloser {
	r, w := io.Pipe()
	go func() { w.CloseWithError(write(w)) }()
	return r
}

// reversed returns the layers top-most first, as overlay and the union walk want them.
func reversed(layers []string) []string {
	out := make([]string, len(layers))
	for i, l := range layers {
		out[len(layers)-1-i] = l
	}
	return out
}
