package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/internal/fsutil"
)

// prepareRoot builds the container's filesystem under Spec.Root.Path, still seen from the
// host's root: rootfs, then the spec's mounts, then the device nodes. A root of "/" keeps the
// host's filesystem (chapter 01): the mounts are then made over the host's paths, in the
// container's own mount namespace. A root filesystem the parent made (detachedRootfs, open as
// made; -1 for none) is attached and made the working directory: Spec.Root.Path is "." from
// then on; so are the sources of bind mounts it made (binds, by their place in the mounts).
func prepareRoot(b *Bundle, made int, binds map[int]int) error {
	rootfs := b.Spec.Root.Path
	if err := rootPropagation(b.Spec.Linux.RootfsPropagation, rootfs, made < 0); err != nil {
		return err
	}
	switch {
	case made >= 0:
		if err := attachRootfs(made); err != nil {
			return err
		}
		rootfs, b.Spec.Root.Path = ".", "."
	case rootfs != "/":
		if err := MountRootfs(rootfs, b.RootfsMount); err != nil {
			return err
		}
	}
	for i, m := range b.Spec.Mounts {
		if fd, ok := binds[i]; ok {
			if err := attachBind(rootfs, m, fd); err != nil {
				return err
			}
			continue
		}
		var err error
		if isBind(m) {
			err = mountVolume(rootfs, m)
		} else {
			err = mountShowing(rootfs, m, b.CgroupDirs)
		}
		if err != nil {
			return err
		}
	}
	return createDevices(rootfs, b.Spec.Linux.Devices)
}

// MakeMountsPrivate stops mount events from travelling between the container's mount
// namespace and the host's, the init's first step. A new mount namespace starts as a copy of
// the host's, and on a host where / is shared (systemd's default) the copies stay peers: without
// this, mounting /proc in the container would replace the host's /proc — the bug of the book's
// code — and pivot_root would fail with EINVAL.
func MakeMountsPrivate() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	return nil
}

// rootPropagation sets the propagation of the mounts the container's namespace copied from
// the host's: private (MakeMountsPrivate), unless the spec's linux.rootfsPropagation asks for
// another, as containerd's CRI does for a pod's volumes that share mounts with the host
// (rslave: the host's new mounts reach the container; rshared: the container's reach the
// host too). The mount that holds a root filesystem to be pivoted into (ownRoot) is made
// private whatever the rest: the root's own mounts must not travel to the host, and
// pivot_root refuses a shared one. changeRoot sets the propagation again on the new root.
func rootPropagation(propagation, rootfs string, ownRoot bool) error {
	if propagation == "" {
		return makeMountsPrivate()
	}
	flag, ok := propagationNames[propagation]
	if !ok {
		return fmt.Errorf("unknown linux.rootfsPropagation %q", propagation)
	}
	if err := unix.Mount("", "/", "", flag, ""); err != nil {
		return fmt.Errorf("make / %s: %w", propagation, err)
	}
	if !ownRoot || rootfs == "/" {
		return nil
	}
	holder, err := mountPointOf(rootfs)
	if err != nil {
		return err
	}
	if err := unix.Mount("", holder, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s, the mount that holds the root filesystem, private: %w", holder, err)
	}
	return nil
}

// mountPointOf is where the mount that holds path is mounted: the last directory on the way
// up from path that is on the same mount.
func mountPointOf(path string) (string, error) {
	mountID := func(p string) (uint64, error) {
		var st unix.Statx_t
		if err := unix.Statx(unix.AT_FDCWD, p, 0, unix.STATX_MNT_ID, &st); err != nil {
			return 0, fmt.Errorf("statx %s: %w", p, err)
		}
		return st.Mnt_id, nil
	}
	dir, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	id, err := mountID(dir)
	if err != nil {
		return "", err
	}
	for dir != "/" {
		parent, err := mountID(filepath.Dir(dir))
		if err != nil {
			return "", err
		}
		if parent != id {
			break
		}
		dir = filepath.Dir(dir)
	}
	return dir, nil
}

// MountRootfs mounts the container's root filesystem on rootfs (when the driver gives a
// mount) and makes rootfs a mount point, which pivot_root and the move of --no-pivot need: a
// bind onto itself makes it one whichever driver built it.
func MountRootfs(rootfs string, m *specs.Mount) error {
	switch {
	case m == nil:
	case m.Type == "overlay":
		if err := mountOverlay(rootfs, m.Options); err != nil {
			return err
		}
	default:
		if err := unix.Mount(m.Source, rootfs, m.Type, 0, strings.Join(m.Options, ",")); err != nil {
			return fmt.Errorf("mount %s on %s (options %s): %w", m.Type, rootfs, strings.Join(m.Options, ","), err)
		}
	}
	if err := unix.Mount(rootfs, rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s onto itself: %w", rootfs, err)
	}
	return nil
}

// MountOverlay mounts overlayfs on target with options (lowerdir=, upperdir=, workdir=, as
// workspace.OverlayOptions makes them).
func MountOverlay(target string, options []string) error {
	if err := unix.Mount("overlay", target, "overlay", 0, strings.Join(options, ",")); err != nil {
		return fmt.Errorf("mount overlay on %s (options %s): %w", target, strings.Join(options, ","), err)
	}
	return nil
}

// MountProc mounts a procfs showing the caller's PID namespace on target.
func MountProc(target string) error {
	if err := unix.Mount("proc", target, "proc", unix.MS_NOSUID|unix.MS_NOEXEC|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("mount proc on %s: %w", target, err)
	}
	return nil
}

// mountOptions splits a spec mount's options into mount(2) flags and the filesystem's data.
var mountFlagNames = map[string]uintptr{
	"ro": unix.MS_RDONLY, "nosuid": unix.MS_NOSUID, "nodev": unix.MS_NODEV, "noexec": unix.MS_NOEXEC,
	"bind": unix.MS_BIND, "rbind": unix.MS_BIND | unix.MS_REC, "strictatime": unix.MS_STRICTATIME,
	"relatime": unix.MS_RELATIME, "noatime": unix.MS_NOATIME,
}

// propagationNames are the options that set a mount's propagation: a change made to the
// mount once it is there, not a flag of the mount itself.
var propagationNames = map[string]uintptr{
	"private": unix.MS_PRIVATE, "rprivate": unix.MS_PRIVATE | unix.MS_REC,
	"shared": unix.MS_SHARED, "rshared": unix.MS_SHARED | unix.MS_REC,
	"slave": unix.MS_SLAVE, "rslave": unix.MS_SLAVE | unix.MS_REC,
	"unbindable": unix.MS_UNBINDABLE, "runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// Options that are fine to see and need no flag here.
var ignoredOptions = map[string]bool{"rw": true}

func mountOptions(opts []string) (flags, propagation uintptr, data string) {
	var rest []string
	for _, o := range opts {
		if f, ok := mountFlagNames[o]; ok {
			flags |= f
		} else if p, ok := propagationNames[o]; ok {
			propagation = p
		} else if !ignoredOptions[o] {
			rest = append(rest, o)
		}
	}
	return flags, propagation, strings.Join(rest, ",")
}

// MountInto performs one spec mount below rootfs: the init's mounts of /proc, /dev, /sys and
// the rest, and the volumes (-v), which are binds. The mount point is found (or made) inside
// rootfs and held open (openMountpoint), and the mount goes onto that very file through
// /proc/self/fd: a symlink swapped in meanwhile cannot send it anywhere else.
func MountInto(rootfs string, m specs.Mount) error {
	return mountShowing(rootfs, m, nil)
}

// mountShowing is MountInto, a cgroup mount showing the cgroups of cgroupDirs (nil: the ones
// this process is in; see Bundle.CgroupDirs).
func mountShowing(rootfs string, m specs.Mount, cgroupDirs map[string]string) error {
	flags, propagation, data := mountOptions(m.Options)
	if err := mountInto(rootfs, m, flags, data, cgroupDirs); err != nil {
		return err
	}
	return setPropagation(rootfs, m, propagation)
}

// setPropagation gives the mount at m's destination the propagation its options ask for
// (none: nothing to do), on the mount point held open as MountInto holds it.
func setPropagation(rootfs string, m specs.Mount, propagation uintptr) error {
	if propagation == 0 {
		return nil
	}
	f, err := openInRoot(rootfs, m.Destination)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Mount("", fmt.Sprintf("/proc/self/fd/%d", f.Fd()), "", propagation, ""); err != nil {
		return fmt.Errorf("set the propagation of %s (%v): %w", m.Destination, m.Options, err)
	}
	return nil
}

func mountInto(rootfs string, m specs.Mount, flags uintptr, data string, cgroupDirs map[string]string) error {
	isBind := flags&unix.MS_BIND != 0
	fileSource := false
	if isBind {
		if fi, err := os.Stat(m.Source); err == nil && !fi.IsDir() {
			fileSource = true // a file can only be bound on a file
		}
	}
	target, err := openMountpoint(rootfs, m.Destination, fileSource)
	if err != nil {
		return fmt.Errorf("create mount point %s: %w", m.Destination, err)
	}
	defer target.Close()
	dest := fmt.Sprintf("/proc/self/fd/%d", target.Fd())
	switch m.Type {
	case "cgroup":
		if isMountPoint(int(target.Fd())) {
			// The host's /sys, bound read-only in place of a sysfs the container could not
			// mount (see below), came with the host's /sys/fs/cgroup: kept as it is.
			return nil
		}
		return mountCgroups(rootfs, m.Destination, dest, slices.Contains(m.Options, "ro"), cgroupDirs)
	case "proc":
		return mountProc(dest)
	}
	if isBind {
		// A bind ignores most flags: bind first, then remount with them (read-only etc.).
		if err := unix.Mount(m.Source, dest, "", flags&(unix.MS_BIND|unix.MS_REC), ""); err != nil {
			return fmt.Errorf("bind mount %s on %s: %w", m.Source, m.Destination, err)
		}
		if rest := flags &^ (unix.MS_BIND | unix.MS_REC); rest != 0 {
			// The fd still names the mount point below the new mount: the remount goes to
			// the mount by the path it now has, resolved in rootfs again.
			if err := remountBind(rootfs, m.Destination, rest); err != nil {
				return fmt.Errorf("remount %s with %v: %w", m.Destination, m.Options, err)
			}
		}
		return nil
	}
	err = unix.Mount(m.Source, dest, m.Type, flags, data)
	if m.Type == "sysfs" && errors.Is(err, unix.EPERM) {
		// sysfs may only be mounted by the owner of the network namespace: with --net host
		// the container sees the host's /sys, read-only, as runc does.
		if err = unix.Mount("/sys", dest, "", unix.MS_BIND|unix.MS_REC, ""); err == nil {
			err = remountBind(rootfs, m.Destination, unix.MS_RDONLY|flags)
		}
	}
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Type, m.Destination, err)
	}
	return nil
}

// isBind reports whether a spec mount is a bind mount.
func isBind(m specs.Mount) bool {
	return m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
}

// attachBind performs a bind mount whose source the parent made, a detached mount open as fd
// (see detachedBinds), as MountInto performs one from a path.
func attachBind(rootfs string, m specs.Mount, fd int) error {
	defer unix.Close(fd)
	flags, propagation, _ := mountOptions(m.Options)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("bind mount %s on %s: %w", m.Source, m.Destination, err)
	}
	target, err := openMountpoint(rootfs, m.Destination, st.Mode&unix.S_IFMT != unix.S_IFDIR)
	if err != nil {
		return fmt.Errorf("create mount point %s: %w", m.Destination, err)
	}
	defer target.Close()
	if err := unix.MoveMount(fd, "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach the bind mount of %s on %s: %w", m.Source, m.Destination, err)
	}
	if rest := flags &^ (unix.MS_BIND | unix.MS_REC); rest != 0 {
		if err := remountBind(rootfs, m.Destination, rest); err != nil {
			return fmt.Errorf("remount %s with %v: %w", m.Destination, m.Options, err)
		}
	}
	return setPropagation(rootfs, m, propagation)
}

// isMountPoint reports whether the directory open as fd is the root of a mount: its mount
// differs from its parent's.
func isMountPoint(fd int) bool {
	var self, parent unix.Statx_t
	if unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &self) != nil ||
		unix.Statx(fd, "..", 0, unix.STATX_MNT_ID, &parent) != nil {
		return false
	}
	return self.Mnt_id != parent.Mnt_id
}

// remountBind remounts the bind now on dest (inside rootfs) with flags.
func remountBind(rootfs, dest string, flags uintptr) error {
	f, err := openInRoot(rootfs, dest)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Mount("", fmt.Sprintf("/proc/self/fd/%d", f.Fd()), "", unix.MS_BIND|unix.MS_REMOUNT|flags, "")
}

// openMountpoint returns, open as O_PATH, the directory (or for a file bind the file) at dest
// inside rootfs, made if missing. Every component, symlinks included, is resolved as if rootfs
// were "/" (fsutil.OpenInRoot): a symlink in the image (say /proc -> /, or up -> ../../..)
// cannot send a mount outside the container's root.
func openMountpoint(rootfs, dest string, file bool) (*os.File, error) {
	root, err := os.OpenFile(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if !file {
		return fsutil.MkdirAllInRoot(root, dest, 0o755)
	}
	dest = filepath.Clean("/" + dest)
	for hops := 0; hops <= 40; hops++ {
		if f, err := fsutil.OpenInRoot(root, dest); err == nil {
			return f, nil
		}
		dir, err := fsutil.MkdirAllInRoot(root, filepath.Dir(dest), 0o755)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(dest)
		fd, err := unix.Openat(int(dir.Fd()), name, unix.O_CREAT|unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err == nil || errors.Is(err, unix.EEXIST) {
			if err == nil {
				unix.Close(fd)
			}
			dir.Close()
			continue // made: the next round opens it
		}
		if !errors.Is(err, unix.ELOOP) {
			dir.Close()
			return nil, err
		}
		// A symlink whose target is missing: make the target, inside rootfs.
		target, err := readlinkat(int(dir.Fd()), name)
		dir.Close()
		if err != nil {
			return nil, err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(dest), target)
		}
		dest = filepath.Clean("/" + target)
	}
	return nil, fmt.Errorf("resolve %s in %s: too many symlinks", dest, rootfs)
}

// openInRoot opens dest inside rootfs as an O_PATH descriptor (fsutil.OpenInRoot).
func openInRoot(rootfs, dest string) (*os.File, error) {
	root, err := os.OpenFile(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return fsutil.OpenInRoot(root, dest)
}

func readlinkat(dir int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dir, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// deviceKinds are the spec's device types as mknod(2) takes them.
var deviceKinds = map[string]uint32{"c": unix.S_IFCHR, "u": unix.S_IFCHR, "b": unix.S_IFBLK, "p": unix.S_IFIFO}

// createDevices makes the spec's device nodes in the container's /dev (a fresh tmpfs) and
// the symlinks every Linux program expects there. A spec without devices (chapters 01 and 02)
// has no /dev of its own, and nothing is written to the image's. Each node is made in its
// directory held open, found inside rootfs as mount points are (a --device may name any path).
func createDevices(rootfs string, devices []specs.LinuxDevice) error {
	if len(devices) == 0 {
		return nil
	}
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, d := range devices {
		mode := uint32(0o666)
		if d.FileMode != nil {
			mode = uint32(d.FileMode.Perm())
		}
		kind, ok := deviceKinds[d.Type]
		if !ok {
			return fmt.Errorf("mknod %s: unknown device type %q", d.Path, d.Type)
		}
		uid, gid := 0, 0
		if d.UID != nil {
			uid = int(*d.UID)
		}
		if d.GID != nil {
			gid = int(*d.GID)
		}
		err := inDir(rootfs, d.Path, func(dir int, name string) error {
			err := unix.Mknodat(dir, name, kind|mode, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor))))
			if errors.Is(err, unix.EPERM) {
				// A device controller that denies mknod (the spec's, already applied), or
				// no CAP_MKNOD: the host's node bound in its place, as runc does.
				return bindHostDevice(dir, name, d.Path)
			}
			if err != nil {
				return fmt.Errorf("mknod %s: %w", d.Path, err)
			}
			if err := unix.Fchownat(dir, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return fmt.Errorf("chown %s: %w", d.Path, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	links := [][2]string{
		{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
	}
	for _, l := range links {
		err := inDir(rootfs, "/dev/"+l[1], func(dir int, name string) error {
			if err := unix.Symlinkat(l[0], dir, name); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("symlink /dev/%s: %w", l[1], err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// bindHostDevice binds the host's device node at path onto a new empty file name in dir.
func bindHostDevice(dir int, name, path string) error {
	fd, err := unix.Openat(dir, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("create %s to bind the host's node on: %w", path, err)
	}
	defer unix.Close(fd)
	if err := unix.Mount(path, fmt.Sprintf("/proc/self/fd/%d", fd), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind the host's %s: %w", path, err)
	}
	return nil
}

// inDir runs fn with the directory of path (made if missing, resolved inside rootfs) open,
// and the last component of path.
func inDir(rootfs, path string, fn func(dir int, name string) error) error {
	clean := filepath.Clean("/" + path)
	dir, err := openMountpoint(rootfs, filepath.Dir(clean), false)
	if err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(clean), err)
	}
	defer dir.Close()
	return fn(int(dir.Fd()), filepath.Base(clean))
}

// PivotRoot makes rootfs the root of the mount namespace and detaches the old root, so
// nothing of the host's filesystem stays reachable (unlike chroot).
//
// pivot_root(".", ".") stacks the old root on top of the new one at "/"; we then unmount it
// from there. This avoids a temporary directory for the old root (a trick from LXC, also used
// by runc).
func PivotRoot(rootfs string) error {
	oldroot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open old root: %w", err)
	}
	defer unix.Close(oldroot)
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir to %s: %w", rootfs, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return &os.PathError{Op: "pivot_root", Path: rootfs, Err: err}
	}
	if err := unix.Fchdir(oldroot); err != nil {
		return fmt.Errorf("chdir to old root: %w", err)
	}
	// Keep the unmount below from reaching any copy of these mounts elsewhere.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root slave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir to new root: %w", err)
	}
	return nil
}

// MoveRoot is --no-pivot: move the rootfs mount over "/" and chroot into it. The host's
// mounts stay in this namespace below the chroot, which is why pivot_root is the default.
func MoveRoot(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir to %s: %w", rootfs, err)
	}
	if err := unix.Mount(rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move %s to /: %w", rootfs, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot to %s: %w", rootfs, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir to new root: %w", err)
	}
	return nil
}

// maskPaths hides kernel files from the container: /dev/null over a file, an empty
// read-only tmpfs over a directory.
func maskPaths(paths []string) error {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
		if fi.IsDir() {
			err = unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "")
		} else {
			err = unix.Mount("/dev/null", p, "", unix.MS_BIND, "")
		}
		if err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	return nil
}

// readonlyPaths makes each path a read-only bind of itself.
func readonlyPaths(paths []string) error {
	for _, p := range paths {
		if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return fmt.Errorf("bind %s read-only: %w", p, err)
		}
		if err := remountReadonly(p); err != nil {
			return err
		}
	}
	return nil
}

// remountReadonly remounts a mount point read-only, keeping the flags the kernel locked on it.
func remountReadonly(p string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", p, err)
	}
	keep := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Mount("", p, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|keep, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", p, err)
	}
	return nil
}

// remountInRoot remounts what was just mounted on destination (resolved in rootfs again: a
// descriptor opened before the mount names the directory beneath it).
func remountInRoot(rootfs, destination string, flags uintptr) error {
	f, err := openInRoot(rootfs, destination)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Mount("", fmt.Sprintf("/proc/self/fd/%d", f.Fd()), "", flags, "")
}

// mountCgroups gives the container its /sys/fs/cgroup as Docker does, read-only (but for a
// privileged container), showing the container's own cgroup as the root, where programs look
// for their limits. On cgroup v2 it is
// a cgroup2 mount seen from the container's cgroup namespace (or the host's hierarchy bound,
// where a user namespace may not mount it). On v1 it is a tmpfs holding, for
// each hierarchy, a bind of the container's cgroup in it: of dirs (controller -> directory),
// or where this process is.
func mountCgroups(rootfs, destination, dest string, readonly bool, dirs map[string]string) error {
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RELATIME)
	ro := uintptr(0)
	if readonly {
		ro = unix.MS_RDONLY
	}
	if cgroups.DetectMode() == cgroups.Unified {
		err := unix.Mount("cgroup2", dest, "cgroup2", flags|ro, "")
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY) {
			// A user namespace without a cgroup namespace of its own may not mount cgroup2
			// (the cgroup namespace is the host's): the host's hierarchy is bound instead,
			// read-only, where the paths /proc/self/cgroup shows are, as runc does.
			if err = unix.Mount("/sys/fs/cgroup", dest, "", unix.MS_BIND|unix.MS_REC, ""); err == nil {
				err = remountInRoot(rootfs, destination, unix.MS_BIND|unix.MS_REMOUNT|flags|ro)
			}
		}
		if err != nil {
			return fmt.Errorf("mount cgroup2 on /sys/fs/cgroup: %w", err)
		}
		return nil
	}
	hierarchies, err := cgroups.V1Hierarchies(dirs)
	if err != nil {
		return fmt.Errorf("list cgroup hierarchies: %w", err)
	}
	if err := unix.Mount("tmpfs", dest, "tmpfs", flags, "mode=755"); err != nil {
		return fmt.Errorf("mount tmpfs on /sys/fs/cgroup: %w", err)
	}
	// The tmpfs is new and the container's processes are yet to come: below it, paths are
	// safe. It is reached by the path of its mount point, resolved in rootfs again: dest still
	// names the directory under it.
	tmpfs, err := openInRoot(rootfs, destination)
	if err != nil {
		return fmt.Errorf("open /sys/fs/cgroup: %w", err)
	}
	defer tmpfs.Close()
	base := fmt.Sprintf("/proc/self/fd/%d", tmpfs.Fd())
	for _, h := range hierarchies {
		target := filepath.Join(base, h.Name)
		if err := os.Mkdir(target, 0o755); err != nil {
			return fmt.Errorf("create /sys/fs/cgroup/%s: %w", h.Name, err)
		}
		if err := unix.Mount(h.Dir, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s on /sys/fs/cgroup/%s: %w", h.Dir, h.Name, err)
		}
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|ro|flags, ""); err != nil {
			return fmt.Errorf("remount /sys/fs/cgroup/%s: %w", h.Name, err)
		}
		// Co-mounted controllers ("cpu,cpuacct") are also reachable by each name.
		for _, c := range h.Controllers {
			if c != h.Name {
				os.Symlink(h.Name, filepath.Join(base, c))
			}
		}
	}
	return nil
}
