package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A container with a user namespace of its own (--userns-remap) sees the image's files as the
// host stores them: uid 0 on disk is the host's root, nobody to the container, whose root is
// uid 100000 on the host. Rather than a copy of every layer chowned to each mapping, the
// runtime shows the layers through an idmapped mount (MOUNT_ATTR_IDMAP, Linux 5.12): the
// mount maps ids the way the container's user namespace does, so that through it, uid 0 on
// disk is the container's root, and what its root writes is stored as uid 0. One image's
// layers then serve containers of any mapping and those of none, and a container's writes, in
// the container's ids, commit as they are.
//
// An idmapped mount of a host filesystem takes the host's root (CAP_SYS_ADMIN over the
// filesystem's user namespace), which the init, inside its user namespace, is not: the parent
// makes the root filesystem as a detached mount (open_tree, mount_setattr, and for overlay
// fsopen/fsconfig/fsmount with each layer given as an O_PATH descriptor, Linux 6.15) and hands its
// descriptor to the init, which attaches it with move_mount (attachMount).
//
// overlayfs does its own work (its work directory, copy-up) with the credentials of whoever
// made the mount. Made by the host's root, those would write uid 0 through a mount that has no
// place for it (EOVERFLOW, and the overlay goes read-only): so the overlay is made from a
// thread whose filesystem ids are the container's root's (setfsuid), keeping root's
// capabilities — trusted.overlay.* marks need them — and whose work is then stored as uid 0.

// detachedRootfs makes b's root filesystem as a detached mount for the init of process pid,
// which has a user namespace of its own: an overlay (RootfsMount), or a bind of Spec.Root.Path
// (a directory: an OCI bundle's rootfs, the vfs driver's copy). With b.IDMapRootfs it is seen
// through the mappings of that user namespace (an idmapped bind, an overlay of idmapped
// layers). Made here, it reaches the init whatever the directories above it allow the
// container's root: the init works from the mount itself (see prepareRoot).
func detachedRootfs(pid int, b *Bundle) (*os.File, error) {
	if !b.IDMapRootfs {
		if m := b.RootfsMount; m != nil {
			return plainMount(m)
		}
		return cloneTree(b.Spec.Root.Path)
	}
	userns, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", pid))
	if err != nil {
		return nil, fmt.Errorf("open the container's user namespace: %w", err)
	}
	defer userns.Close()
	m := b.RootfsMount
	switch {
	case m == nil:
		return idmapTree(b.Spec.Root.Path, userns)
	case m.Type == "overlay":
		uid, uok := HostID(b.Spec.Linux.UIDMappings, 0)
		gid, gok := HostID(b.Spec.Linux.GIDMappings, 0)
		if !uok || !gok {
			return nil, errors.New("the container's mappings do not map its root (uid and gid 0)")
		}
		return idmappedOverlay(m.Options, userns, int(uid), int(gid))
	default:
		return nil, fmt.Errorf("a %s root filesystem cannot be seen through the container's mappings", m.Type)
	}
}

// detachedBinds makes the sources of the spec's bind mounts (volumes, the /etc files) detached
// binds, for an init with a user namespace of its own: it may not reach them itself. Volumes
// stay as the host has them, not idmapped: their owners are their users' business, as with
// Docker.
func detachedBinds(mounts []specs.Mount) (map[int]*os.File, error) {
	out := map[int]*os.File{}
	for i, m := range mounts {
		if !isBind(m) {
			continue
		}
		flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
		if slices.Contains(m.Options, "rbind") {
			flags |= unix.AT_RECURSIVE
		}
		fd, err := unix.OpenTree(unix.AT_FDCWD, m.Source, flags)
		if err != nil {
			for _, f := range out {
				f.Close()
			}
			return nil, fmt.Errorf("clone the mount of %s for %s: %w", m.Source, m.Destination, err)
		}
		out[i] = os.NewFile(uintptr(fd), m.Source)
	}
	return out, nil
}

// bindFdName names the source of the spec's mount i in the "go" message.
func bindFdName(i int) string { return "bind:" + strconv.Itoa(i) }

// cloneTree returns a detached bind of the mount tree at path.
func cloneTree(path string) (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return nil, fmt.Errorf("open_tree %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// plainMount makes the filesystem m describes (an overlay, with its options as given) as a
// detached mount.
func plainMount(m *specs.Mount) (*os.File, error) {
	fsfd, err := unix.Fsopen(m.Type, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fsopen %s: %w", m.Type, err)
	}
	defer unix.Close(fsfd)
	if m.Source != "" {
		if err := unix.FsconfigSetString(fsfd, "source", m.Source); err != nil {
			return nil, fmt.Errorf("%s: source %s: %w", m.Type, m.Source, err)
		}
	}
	for _, o := range splitEscaped(strings.Join(m.Options, ","), ',') {
		key, value, hasValue := strings.Cut(o, "=")
		if hasValue {
			err = unix.FsconfigSetString(fsfd, key, value)
		} else {
			err = unix.FsconfigSetFlag(fsfd, key)
		}
		if err != nil {
			return nil, fmt.Errorf("%s option %s: %w", m.Type, key, err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, fmt.Errorf("mount %s (options %s): %w", m.Type, strings.Join(m.Options, ","), err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("fsmount %s: %w", m.Type, err)
	}
	return os.NewFile(uintptr(mfd), m.Type), nil
}

// idmapTree returns a detached copy of the mount at path (from path down) that maps ids as
// the user namespace userns does.
func idmapTree(path string, userns *os.File) (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open_tree %s: %w", path, err)
	}
	tree := os.NewFile(uintptr(fd), path)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		tree.Close()
		return nil, fmt.Errorf("idmap a mount of %s: %w (an idmapped mount needs Linux 5.12 and a filesystem that allows it)", path, err)
	}
	return tree, nil
}

// idmappedOverlay makes an overlay of idmapped layers from overlay options (lowerdir=,
// upperdir=, workdir=, as workspace.OverlayOptions writes them), as a detached mount made with
// the filesystem ids of the container's root (uid, gid on the host).
func idmappedOverlay(options []string, userns *os.File, uid, gid int) (*os.File, error) {
	var lower []string
	var upper, work string
	var rest [][2]string
	for _, o := range splitEscaped(strings.Join(options, ","), ',') {
		key, value, _ := strings.Cut(o, "=")
		switch key {
		case "lowerdir":
			for _, l := range splitEscaped(value, ':') {
				lower = append(lower, unescapeOverlay(l))
			}
		case "upperdir":
			upper = unescapeOverlay(value)
		case "workdir":
			work = unescapeOverlay(value)
		default:
			rest = append(rest, [2]string{key, value})
		}
	}
	if len(lower) == 0 || upper == "" || work == "" {
		return nil, fmt.Errorf("overlay options %v: lowerdir, upperdir and workdir are needed", options)
	}
	// overlayfs wants its upper and work directories on one mount.
	if filepath.Dir(upper) != filepath.Dir(work) {
		return nil, fmt.Errorf("overlay: the upper (%s) and work (%s) directories must share a parent", upper, work)
	}
	var opened []*os.File
	defer func() {
		for _, f := range opened {
			f.Close()
		}
	}()
	var layers []*os.File
	for _, l := range lower {
		f, err := idmapTree(l, userns)
		if err != nil {
			return nil, err
		}
		opened = append(opened, f)
		layers = append(layers, f)
	}
	parent, err := idmapTree(filepath.Dir(upper), userns)
	if err != nil {
		return nil, err
	}
	opened = append(opened, parent)
	var dirs [2]*os.File
	for i, d := range []string{upper, work} {
		fd, err := unix.Openat(int(parent.Fd()), filepath.Base(d), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", d, err)
		}
		dirs[i] = os.NewFile(uintptr(fd), d)
		opened = append(opened, dirs[i])
	}
	type result struct {
		f   *os.File
		err error
	}
	var mount *os.File
	err = WithFilesystemIDs(uid, gid, func() error {
		var err error
		mount, err = detachedOverlay(layers, dirs[0], dirs[1], rest)
		return err
	})
	return mount, err
}

// WithFilesystemIDs runs fn on a thread of its own whose filesystem ids are uid and gid (a
// remapped container's root's, on the host), with this process's capabilities kept: what fn
// makes through an idmapped mount is then stored as the container's root's, where the
// process's own ids, unmapped there, would be refused (EOVERFLOW). The thread is thrown away
// after.
func WithFilesystemIDs(uid, gid int, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, its ids changed, ends with the goroutine.
		runtime.LockOSThread()
		unix.Setfsgid(gid)
		unix.Setfsuid(uid)
		// A change of fsuid from 0 takes the filesystem capabilities out of the effective
		// set: they are put back, from the permitted set, which keeps them.
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var caps [2]unix.CapUserData
		if err := unix.Capget(&hdr, &caps[0]); err != nil {
			done <- fmt.Errorf("capget: %w", err)
			return
		}
		caps[0].Effective, caps[1].Effective = caps[0].Permitted, caps[1].Permitted
		if err := unix.Capset(&hdr, &caps[0]); err != nil {
			done <- fmt.Errorf("capset: %w", err)
			return
		}
		done <- fn()
	}()
	return <-done
}

// detachedOverlay makes the overlay as a detached mount (from the thread WithFilesystemIDs set).
func detachedOverlay(lower []*os.File, upper, work *os.File, rest [][2]string) (*os.File, error) {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fsfd)
	for _, l := range lower { // top-most first, as lowerdir= lists them
		if err := unix.FsconfigSetFd(fsfd, "lowerdir+", int(l.Fd())); err != nil {
			return nil, fmt.Errorf("overlay: add the layer %s: %w (layers given as O_PATH descriptors need Linux 6.15)", l.Name(), err)
		}
	}
	if err := unix.FsconfigSetFd(fsfd, "upperdir", int(upper.Fd())); err != nil {
		return nil, fmt.Errorf("overlay: upper directory %s: %w", upper.Name(), err)
	}
	if err := unix.FsconfigSetFd(fsfd, "workdir", int(work.Fd())); err != nil {
		return nil, fmt.Errorf("overlay: work directory %s: %w", work.Name(), err)
	}
	for _, kv := range rest {
		if kv[1] == "" {
			err = unix.FsconfigSetFlag(fsfd, kv[0])
		} else {
			err = unix.FsconfigSetString(fsfd, kv[0], kv[1])
		}
		if err != nil {
			return nil, fmt.Errorf("overlay option %s: %w", kv[0], err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, fmt.Errorf("make the overlay of idmapped layers: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("fsmount overlay: %w", err)
	}
	return os.NewFile(uintptr(mfd), "overlay"), nil
}

// attachRootfs attaches the detached mount open as mount, the init's root filesystem, and
// makes its root the working directory: from there, "." is the root filesystem, whatever the
// directories above its path allow the container's root. It goes on top of "/" — a place in
// the init's own mount namespace it can always reach (a descriptor the parent opened names a
// directory of the parent's namespace, where nothing of the init's may be mounted), and one
// pivot_root then puts it in place of, as it would any new root.
func attachRootfs(mount int) error {
	defer unix.Close(mount)
	if err := unix.MoveMount(mount, "", unix.AT_FDCWD, "/", unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach the root filesystem: %w", err)
	}
	if err := unix.Fchdir(mount); err != nil {
		return fmt.Errorf("enter the root filesystem: %w", err)
	}
	return nil
}

// splitEscaped splits s at each sep not escaped by a backslash, keeping the escapes.
func splitEscaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unescapeOverlay undoes workspace's escaping of a path in overlay options (\\, \, and \:).
func unescapeOverlay(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
