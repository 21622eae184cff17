package userns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
)

// The subordinate id files, variables for the tests.
var (
	SubUIDFile = "/etc/subuid"
	SubGIDFile = "/etc/subgid"
)

// IDs are the mappings of a container's user namespace.
type IDs struct {
	UIDs, GIDs []specs.LinuxIDMapping
}

// Root is the host uid and gid of the container's root, and whether it has one.
func (m *IDs) Root() (uid, gid uint32, ok bool) {
	u, uok := container.HostID(m.UIDs, 0)
	g, gok := container.HostID(m.GIDs, 0)
	return u, g, uok && gok
}

// DefaultUser is the user --userns-remap default remaps to, as Docker's.
const DefaultUser = "dockremap"

// defaultRangeSize is the ids the default user gets: 65,536, the uids a Linux image uses
// (nobody is 65534).
const defaultRangeSize = 65536

// ForRemap is the user namespace of a remapped root's containers (mydocker --userns-remap
// VALUE): VALUE is "default", for the dockremap user — made, with a range of its own, when
// missing — or USER[:GROUP], names or ids, whose ranges in /etc/subuid and /etc/subgid (GROUP's,
// or else USER's name's) are laid over the container's ids from 0. Its root is the first id of
// the first range: an unprivileged uid on the host.
func ForRemap(value string) (*IDs, error) {
	name, group, _ := strings.Cut(value, ":")
	if name == "" {
		return nil, fmt.Errorf("invalid --userns-remap %q: want default or USER[:GROUP]", value)
	}
	if value == "default" {
		if err := ensureDefaultUser(); err != nil {
			return nil, err
		}
		name = DefaultUser
	}
	u, err := lookupUser(name)
	if err != nil {
		return nil, fmt.Errorf("--userns-remap %s: %w", value, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid := uid
	groupName := u.Username
	if group != "" {
		g, err := lookupGroup(group)
		if err != nil {
			return nil, fmt.Errorf("--userns-remap %s: %w", value, err)
		}
		gid, _ = strconv.Atoi(g.Gid)
		groupName = g.Name
	}
	uids, err := rangesIn(SubUIDFile, u.Username, uid)
	if err != nil {
		return nil, err
	}
	gids, err := rangesIn(SubGIDFile, groupName, gid)
	if err != nil {
		return nil, err
	}
	return idsOf(nil, uids, nil, gids)
}

// idsOf lays the container's uids over ownUIDs then uids, its gids over ownGIDs then gids.
func idsOf(ownUIDs, uids, ownGIDs, gids []IDRange) (*IDs, error) {
	u, err := mappings(ownUIDs, uids)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SubUIDFile, err)
	}
	g, err := mappings(ownGIDs, gids)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SubGIDFile, err)
	}
	if len(u) == 0 || len(g) == 0 {
		return nil, errors.New("no id to map")
	}
	return &IDs{UIDs: u, GIDs: g}, nil
}

// ForUser is the user namespace of an ordinary user's containers (rootless): its root is the
// user itself (uid, gid), and the user's ranges in /etc/subuid and /etc/subgid are the
// container's other ids, from 1. Both files give ranges to the user, by its name or uid, as
// newuidmap and newgidmap read them.
func ForUser(name string, uid, gid int) (*IDs, error) {
	uids, err := rangesIn(SubUIDFile, name, uid)
	if err != nil {
		return nil, err
	}
	gids, err := rangesIn(SubGIDFile, name, uid)
	if err != nil {
		return nil, err
	}
	return idsOf([]IDRange{{Start: uint32(uid), Count: 1}}, uids, []IDRange{{Start: uint32(gid), Count: 1}}, gids)
}

// Single is the user namespace of one id: the user (uid, gid) as root, and no one else.
func Single(uid, gid int) *IDs {
	one := func(id int) []specs.LinuxIDMapping {
		return []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(id), Size: 1}}
	}
	return &IDs{UIDs: one(uid), GIDs: one(gid)}
}

// rangesIn reads name's (or id's) ranges in the subordinate id file path; none is an error
// that says how to give some.
func rangesIn(path, name string, id int) ([]IDRange, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ranges, err := subIDRanges(data, name, id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(ranges) == 0 {
		return nil, &NoRangeError{File: path, Name: name}
	}
	return ranges, nil
}

// NoRangeError says that a user has no subordinate ids.
type NoRangeError struct{ File, Name string }

func (e *NoRangeError) Error() string {
	return fmt.Sprintf("%s gives %s no range of ids (as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s)", e.File, e.Name, e.Name)
}

// lookupUser finds a user by name or uid.
func lookupUser(s string) (*user.User, error) {
	if _, err := strconv.Atoi(s); err == nil {
		return user.LookupId(s)
	}
	return user.Lookup(s)
}

// lookupGroup finds a group by name or gid.
func lookupGroup(s string) (*user.Group, error) {
	if _, err := strconv.Atoi(s); err == nil {
		return user.LookupGroupId(s)
	}
	return user.LookupGroup(s)
}

// ensureDefaultUser makes the dockremap user (a system user, its own group, no home, no
// shell) and, when it has none, a range of 65,536 subordinate uids and gids the files give no
// one else: the first free one from 100000, as Docker finds it. Two mydocker processes do it
// one at a time.
func ensureDefaultUser() error {
	lock, err := os.OpenFile("/run/mydocker-userns.lock", os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("make the %s user: %w", DefaultUser, err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("make the %s user: %w", DefaultUser, err)
	}
	if _, err := user.Lookup(DefaultUser); err != nil {
		out, err := exec.Command("useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
			"--shell", "/usr/sbin/nologin", DefaultUser).CombinedOutput()
		if err != nil {
			return fmt.Errorf("make the %s user (useradd): %w: %s", DefaultUser, err, strings.TrimSpace(string(out)))
		}
	}
	u, err := user.Lookup(DefaultUser)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	_, uerr := rangesIn(SubUIDFile, DefaultUser, uid)
	_, gerr := rangesIn(SubGIDFile, DefaultUser, uid)
	for _, err := range []error{uerr, gerr} {
		var none *NoRangeError
		if err != nil && !errors.As(err, &none) {
			return err
		}
	}
	if uerr == nil && gerr == nil {
		return nil
	}
	start, err := freeRange(defaultRangeSize)
	if err != nil {
		return err
	}
	span := fmt.Sprintf("%d-%d", start, start+defaultRangeSize-1)
	var args []string
	if uerr != nil {
		args = append(args, "--add-subuids", span)
	}
	if gerr != nil {
		args = append(args, "--add-subgids", span)
	}
	if out, err := exec.Command("usermod", append(args, DefaultUser)...).CombinedOutput(); err != nil {
		return fmt.Errorf("give %s the ids %s (usermod): %w: %s", DefaultUser, span, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// freeRange finds the first start from 100000 of size ids that no line of /etc/subuid or
// /etc/subgid gives anyone.
func freeRange(size uint32) (uint32, error) {
	var taken []IDRange
	for _, path := range []string{SubUIDFile, SubGIDFile} {
		data, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Split(strings.TrimSpace(line), ":")
			if len(f) != 3 {
				continue
			}
			start, err1 := strconv.ParseUint(f[1], 10, 32)
			count, err2 := strconv.ParseUint(f[2], 10, 32)
			if err1 == nil && err2 == nil {
				taken = append(taken, IDRange{Start: uint32(start), Count: uint32(count)})
			}
		}
	}
	return firstFree(taken, 100000, size)
}

// firstFree is the first start at or after from where size ids overlap none of taken.
func firstFree(taken []IDRange, from, size uint32) (uint32, error) {
	slices.SortFunc(taken, func(a, b IDRange) int { return int(int64(a.Start) - int64(b.Start)) })
	start := uint64(from)
	for _, r := range taken {
		end := uint64(r.Start) + uint64(r.Count)
		if start+uint64(size) <= uint64(r.Start) {
			break
		}
		if end > start {
			start = end
		}
	}
	if start+uint64(size) > 1<<32-1 {
		return 0, errors.New("no free range of subordinate ids is left")
	}
	return uint32(start), nil
}
