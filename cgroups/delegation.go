package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/subsystems"
)

// Limited lists what r limits beside the device rules (memory, cpu, pids...): what a container
// needs cgroups of its own for. The device rules alone need none where devices are the host's
// nodes bound in, as in a container of an ordinary user.
func Limited(r *specs.LinuxResources) []string {
	var out []string
	for _, s := range subsystems.All {
		if _, isDevices := s.(subsystems.Devices); !isDevices && s.Wanted(r) {
			out = append(out, s.Name())
		}
	}
	return out
}

// ErrNoDelegation is why an ordinary user's containers get no cgroups: its limits cannot be set.
var ErrNoDelegation = errors.New("no cgroup is delegated to this user")

// Privileged reports whether this process manages cgroups as the host's root does: root in
// the host's user namespace. Anyone else — an ordinary user, or root in a user namespace of
// its own (a rootless engine) — gets cgroups only where the host delegates a cgroup v2 tree
// to them (Delegation).
func Privileged() bool {
	return os.Geteuid() == 0 && initialUserNamespace()
}

// initialUserNamespace reports whether this process is in the host's user namespace: its
// uid_map is the identity of all ids. A process never changes its own, so it is read once.
var initialUserNamespace = sync.OnceValue(func() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return true
	}
	var inside, outside, size uint64
	n, _ := fmt.Sscan(string(data), &inside, &outside, &size)
	return n == 3 && inside == 0 && outside == 0 && size == 4294967295
})

// Delegation finds the cgroup v2 tree the host delegated to this process's user: the highest
// cgroup above (or at) its own that its user owns, with a cgroup.procs it may write — as
// systemd makes user@UID.service with Delegate=yes, or an administrator with chown. The
// containers' cgroups go below it, beside this process's own (which holds processes, so
// that no controller can be handed down from it). ErrNoDelegation says why there is none.
func Delegation() (string, error) {
	if DetectMode() != Unified {
		return "", fmt.Errorf("%w: this host runs cgroup v1 (%s), whose hierarchies belong to root; cgroup v2 alone (systemd.unified_cgroup_hierarchy=1) can delegate a tree to a user", ErrNoDelegation, DetectMode())
	}
	mounts, own, err := readSelf()
	if err != nil {
		return "", err
	}
	dir, err := v2Dir(mounts, own)
	if err != nil {
		return "", err
	}
	return delegationRoot(dir, os.Geteuid())
}

// delegationRoot is the highest directory from dir up that uid owns and whose cgroup.procs
// it may write.
func delegationRoot(dir string, uid int) (string, error) {
	root := ""
	for d := dir; ; d = filepath.Dir(d) {
		if !ownedBy(d, uid) || unix.Access(filepath.Join(d, "cgroup.procs"), unix.W_OK) != nil {
			break
		}
		root = d
		if filepath.Dir(d) == d {
			break
		}
	}
	if root == "" {
		return "", fmt.Errorf("%w: this process's cgroup %s is not its user's (systemd delegates user@UID.service with Delegate=yes; or, as root: chown -R the user a cgroup and start its shell in a child of it)", ErrNoDelegation, dir)
	}
	return root, nil
}

// ownedBy reports whether uid owns path.
func ownedBy(path string, uid int) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == uid
}

// Needed decides whether a container limited by r gets cgroups of its own: always for a
// privileged process; for another, where the host delegates it a tree. Without one, a
// container that limits nothing runs without cgroups, in its creator's (as runc and podman
// run an ordinary user's); one that asks for a limit is refused, saying why — never run
// without the limit it asked for.
func Needed(r *specs.LinuxResources) (bool, error) {
	if Privileged() {
		return true, nil
	}
	_, err := Delegation()
	if err == nil {
		return true, nil
	}
	if limited := Limited(r); len(limited) > 0 {
		return false, fmt.Errorf("cannot limit %s: %w", strings.Join(limited, ", "), err)
	}
	return false, nil
}
