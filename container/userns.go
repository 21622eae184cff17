package container

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A user namespace maps the ids of its processes and files to the ids of the namespace it was
// made in: with the mapping "0 100000 65536" the container's root is uid 100000 on the host,
// root over its own namespaces and their mounts, nobody to the host's files. The mapping is
// written once, in /proc/PID/uid_map and gid_map, by a process of the parent namespace — not by
// the process itself, which has no say over the host's ids.
//
// A process that unshares a user namespace must be alone (one thread), and a Go program never
// is: the init gets its user namespace when it is forked (CLONE_NEWUSER with the other
// namespaces, which the new user namespace then owns). Its mappings must be written while it
// waits: a process executes its program with the capabilities of its user only when that user
// is mapped (an unmapped root is nobody, and keeps nothing across execve).
//
//   - A parent that may write any mapping (root with CAP_SETUID and CAP_SETGID in its own
//     user namespace) has Go write them between the fork and the init's execve
//     (SysProcAttr.UidMappings), with setgroups(2) left allowed.
//   - An ordinary user may map only itself, one id, and only once setgroups is denied to the
//     namespace: Go does that too, for a spec that asks no more.
//   - Anything more (an ordinary user's range in /etc/subuid) is written by newuidmap and
//     newgidmap, the setuid helpers of shadow's uidmap package, which check the ranges
//     against /etc/subuid and /etc/subgid. Go cannot run a program between the fork and the
//     execve, so the init starts unmapped, waits for the parent's word that its mappings are
//     written ("mapped", awaitMappings), and executes itself again: now root of its
//     namespace, with its capabilities. runc does the same in C, before its Go runtime starts.

// newUserNamespace reports whether the spec's namespaces create a user namespace.
func newUserNamespace(namespaces []specs.LinuxNamespace) bool {
	for _, ns := range namespaces {
		if ns.Type == specs.UserNamespace && ns.Path == "" {
			return true
		}
	}
	return false
}

// mapper says how a new user namespace gets its mappings.
type mapper int

const (
	mapByGo      mapper = iota + 1 // SysProcAttr: root, or an ordinary user mapping itself
	mapByHelpers                   // newuidmap and newgidmap, while the init waits
)

// chooseMapper picks how the mappings of a new user namespace are written, and checks them.
func chooseMapper(uids, gids []specs.LinuxIDMapping) (mapper, error) {
	if len(uids) == 0 || len(gids) == 0 {
		return 0, errors.New("a new user namespace needs linux.uidMappings and linux.gidMappings")
	}
	if mayMapAnything() {
		return mapByGo, nil
	}
	if mapsOnlySelf(uids, os.Geteuid()) && mapsOnlySelf(gids, os.Getegid()) {
		return mapByGo, nil
	}
	for _, helper := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(helper); err != nil {
			return 0, fmt.Errorf("mapping ids other than your own (uid %d) in a user namespace takes %s: install the uidmap package (apt-get install uidmap) and give your user a range in /etc/subuid and /etc/subgid", os.Geteuid(), helper)
		}
	}
	return mapByHelpers, nil
}

// mayMapAnything reports whether this process may write any mapping into a child user
// namespace: CAP_SETUID and CAP_SETGID in its own (root, in the host's namespace or in one of
// its own).
func mayMapAnything() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	const need = 1<<unix.CAP_SETUID | 1<<unix.CAP_SETGID
	return data[0].Effective&need == need
}

// mayMount reports whether this process may make mounts (CAP_SYS_ADMIN): root, not an ordinary
// user.
func mayMount() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	return unix.Capget(&hdr, &data[0]) == nil && data[0].Effective&(1<<unix.CAP_SYS_ADMIN) != 0
}

// mapsOnlySelf reports whether m maps one id, to id.
func mapsOnlySelf(m []specs.LinuxIDMapping, id int) bool {
	return len(m) == 1 && m[0].Size == 1 && int(m[0].HostID) == id
}

// sysProcIDMaps are the spec's mappings as SysProcAttr takes them.
func sysProcIDMaps(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, e := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID), Size: int(e.Size)}
	}
	return out
}

// WriteMappings writes the mappings of process pid's user namespace, made by this process's
// user and not mapped yet: directly when they map only that user (setgroups(2) denied first, as
// the kernel asks of a user), with newuidmap and newgidmap otherwise.
func WriteMappings(pid int, uids, gids []specs.LinuxIDMapping) error {
	if !mapsOnlySelf(uids, os.Geteuid()) || !mapsOnlySelf(gids, os.Getegid()) {
		return writeMappingsWithHelpers(pid, uids, gids)
	}
	proc := fmt.Sprintf("/proc/%d/", pid)
	for _, w := range []struct{ file, data string }{
		{"setgroups", "deny"},
		{"uid_map", fmt.Sprintf("%d %d 1\n", uids[0].ContainerID, uids[0].HostID)},
		{"gid_map", fmt.Sprintf("%d %d 1\n", gids[0].ContainerID, gids[0].HostID)},
	} {
		if err := os.WriteFile(proc+w.file, []byte(w.data), 0); err != nil {
			return fmt.Errorf("write the mappings of process %d: %w", pid, err)
		}
	}
	return nil
}

// writeMappingsWithHelpers writes the mappings of process pid's user namespace with newuidmap
// and newgidmap, which check them against /etc/subuid and /etc/subgid.
func writeMappingsWithHelpers(pid int, uids, gids []specs.LinuxIDMapping) error {
	for _, h := range []struct {
		helper string
		m      []specs.LinuxIDMapping
	}{{"newuidmap", uids}, {"newgidmap", gids}} {
		args := []string{strconv.Itoa(pid)}
		for _, e := range h.m {
			args = append(args, strconv.FormatUint(uint64(e.ContainerID), 10), strconv.FormatUint(uint64(e.HostID), 10), strconv.FormatUint(uint64(e.Size), 10))
		}
		out, err := exec.Command(h.helper, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %s: %w: %s (are the ranges yours in /etc/subuid and /etc/subgid?)", h.helper, strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	return nil
}

// awaitMappingsArg, the init's first argument, tells it that it starts in a user namespace
// the parent maps meanwhile (mapByHelpers).
const awaitMappingsArg = "--await-mappings"

// awaitMappings is the init's first step when it started in a user namespace nobody had
// mapped yet (awaitMappingsArg): it waits for the parent's word that the mappings are written,
// and executes itself again, as the root of its namespace now. It returns at once for an init
// that has nothing to wait for.
func awaitMappings() error {
	if len(os.Args) < 2 || os.Args[1] != awaitMappingsArg {
		return nil
	}
	m, fds, ok, err := recvMsg(initSyncFd)
	closeAll(fds)
	if err != nil {
		return err
	}
	if !ok || m.Type != "mapped" {
		return fmt.Errorf("wait for the user namespace's mappings: got %q", m.Type)
	}
	// The descriptors the init inherited (3, 4) stay open across this execve.
	return fmt.Errorf("execute the init again in its mapped user namespace: %w", unix.Exec("/proc/self/exe", os.Args[:1], os.Environ()))
}

// setgroupsDenied reports whether this process's user namespace forbids setgroups(2), as an
// ordinary user's namespace that maps only itself does.
func setgroupsDenied() bool {
	data, err := os.ReadFile("/proc/self/setgroups")
	return err == nil && strings.TrimSpace(string(data)) == "deny"
}

// sameUserNamespace reports whether process pid is in this process's user namespace.
func sameUserNamespace(pid int) bool {
	var a, b unix.Stat_t
	return unix.Stat(fmt.Sprintf("/proc/%d/ns/user", pid), &a) == nil &&
		unix.Stat("/proc/self/ns/user", &b) == nil && a.Ino == b.Ino && a.Dev == b.Dev
}

// ContainerID is the id that host id is in the container under m; the overflow id (65534,
// nobody) when m does not map it, as the kernel shows it.
func ContainerID(m []specs.LinuxIDMapping, host uint32) uint32 {
	for _, e := range m {
		if host >= e.HostID && host-e.HostID < e.Size {
			return e.ContainerID + host - e.HostID
		}
	}
	return 65534
}

// HostID is the id that container id maps to on the host under m, and whether it is mapped.
func HostID(m []specs.LinuxIDMapping, id uint32) (uint32, bool) {
	for _, e := range m {
		if id >= e.ContainerID && id-e.ContainerID < e.Size {
			return e.HostID + id - e.ContainerID, true
		}
	}
	return 0, false
}

// roleEnv names the runtime's role for a process whose argv[0] nsenter sets (to the path it
// executes): Reexec reads it there.
const roleEnv = "MYDOCKER_ROLE"

// enterUserNamespace makes cmd (this binary in one of the runtime's roles, with its namespaces
// otherwise joined) start through nsenter(1), which joins the user namespace userns and
// becomes its root before it executes cmd's program in place: same process, same parent. A
// process joins a user namespace only while it has one thread, which a Go program never has
// (runc joins it in C before its Go runtime starts; util-linux's nsenter is that C here).
func enterUserNamespace(cmd *exec.Cmd, userns string) error {
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return fmt.Errorf("joining the container's user namespace takes nsenter (util-linux): %w", err)
	}
	cmd.Env = append(cmd.Env, roleEnv+"="+cmd.Args[0])
	cmd.Args = append([]string{"nsenter", "--user=" + userns, "--", cmd.Path}, cmd.Args[1:]...)
	cmd.Path = nsenter
	return nil
}

// OwnMappings reads this process's user namespace's mappings: file is "uid_map" or "gid_map".
// In the host's namespace, the identity of every id.
func OwnMappings(file string) []specs.LinuxIDMapping {
	data, err := os.ReadFile("/proc/self/" + file)
	if err != nil {
		return nil
	}
	var out []specs.LinuxIDMapping
	for _, line := range strings.Split(string(data), "\n") {
		var e specs.LinuxIDMapping
		if n, _ := fmt.Sscan(line, &e.ContainerID, &e.HostID, &e.Size); n == 3 {
			out = append(out, e)
		}
	}
	return out
}

// IsIdentity reports whether m maps every id to itself: the host's user namespace.
func IsIdentity(m []specs.LinuxIDMapping) bool {
	return len(m) == 1 && m[0].ContainerID == 0 && m[0].HostID == 0 && m[0].Size == 4294967295
}
