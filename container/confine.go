package container

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container/seccomp"
)

// Seccomp is a compiled seccomp filter, as the init loads it: the parent compiles the spec's
// profile (seccomp.Compile) so that the init neither decodes nor compiles it on its way to
// the command.
type Seccomp struct {
	Program []byte                   `json:"program"`
	Flags   []specs.LinuxSeccompFlag `json:"flags,omitempty"`
}

// CompileSeccomp compiles a spec's seccomp profile for the init or an exec'd process to load;
// nil for no profile.
func CompileSeccomp(profile *specs.LinuxSeccomp) (*Seccomp, error) {
	if profile == nil {
		return nil, nil
	}
	prog, err := seccomp.Compile(profile)
	if err != nil {
		return nil, err
	}
	return &Seccomp{Program: prog, Flags: profile.Flags}, nil
}

// closeInheritedFds marks every descriptor above stderr close-on-exec, first thing in the
// init and the exec helper: whatever the caller of mydocker had open (a `7< /etc/shadow` of
// its shell, a leaked socket) must not reach the container. runc does the same since
// CVE-2024-21626. The descriptors this process still needs (the config pipe, the sync socket)
// stay usable until execve.
func closeInheritedFds() error {
	err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	if err == nil || !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return err
	}
	// Kernels before 5.11: one descriptor at a time.
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list open descriptors: %w", err)
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}

// rlimitNumbers are the resource limits by the spec's names.
var rlimitNumbers = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}

// IsRlimit reports whether name (RLIMIT_NOFILE) is a resource limit this runtime sets.
func IsRlimit(name string) bool {
	_, ok := rlimitNumbers[name]
	return ok
}

// setRlimits sets the process's resource limits. Raising a hard limit takes CAP_SYS_RESOURCE;
// the error says what the limit is now, so a user knows how far they can go.
func setRlimits(limits []specs.POSIXRlimit) error {
	for _, l := range limits {
		res, ok := rlimitNumbers[l.Type]
		if !ok {
			return fmt.Errorf("unknown resource limit %q", l.Type)
		}
		var cur unix.Rlimit
		unix.Getrlimit(res, &cur)
		if err := unix.Setrlimit(res, &unix.Rlimit{Cur: l.Soft, Max: l.Hard}); err != nil {
			if errors.Is(err, unix.EPERM) && l.Hard > cur.Max {
				return fmt.Errorf("set %s to %d:%d: %w (a hard limit above the host's, %d, takes CAP_SYS_RESOURCE, which mydocker does not have here)",
					l.Type, l.Soft, l.Hard, err, cur.Max)
			}
			return fmt.Errorf("set %s to %d:%d: %w", l.Type, l.Soft, l.Hard, err)
		}
	}
	return nil
}

// confine takes away from the process what its spec does not grant, in runc's order, before
// it executes the command: resource limits; no_new_privs; the seccomp filter while
// CAP_SYS_ADMIN is still held; the bounding set; the user; the capability sets. asUser then
// runs as the container's user. With no_new_privs the filter is loaded as late as can be,
// right before execve, by the caller: confine returns it ready (late). Capabilities,
// no_new_privs and seccomp filters belong to a thread, so the caller's goroutine is locked to
// the thread that will call execve.
func confine(p *specs.Process, filter *Seccomp, asUser func() error) (late *seccomp.Filter, err error) {
	runtime.LockOSThread()
	if err := setRlimits(p.Rlimits); err != nil {
		return nil, err
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return nil, fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	if filter != nil {
		f, err := seccomp.Prepare(filter.Program, filter.Flags)
		if err != nil {
			return nil, err
		}
		if p.NoNewPrivileges {
			late = f
		} else if errno := f.Install(); errno != 0 {
			return nil, fmt.Errorf("load seccomp filter: %w", errno)
		}
	}
	var caps *capabilityMasks
	if p.Capabilities != nil {
		m, err := masksOf(p.Capabilities)
		if err != nil {
			return nil, err
		}
		caps = &m
		// Keep the permitted set across the switch to another user: setCapabilities then
		// sets exactly what the spec says.
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return nil, fmt.Errorf("keep capabilities: %w", err)
		}
		if err := dropBoundingSet(p.Capabilities.Bounding); err != nil {
			return nil, err
		}
	}
	// A change of user clears the parent-death signal, which ends the container when its
	// watcher dies (StartInit, not StartDetachedInit): set it again, as runc does.
	var deathSig int
	if err := unix.Prctl(unix.PR_GET_PDEATHSIG, uintptr(unsafe.Pointer(&deathSig)), 0, 0, 0); err != nil {
		return nil, fmt.Errorf("read the parent-death signal: %w", err)
	}
	if err := switchUser(p.User); err != nil {
		return nil, err
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(deathSig), 0, 0, 0); err != nil {
		return nil, fmt.Errorf("set the parent-death signal: %w", err)
	}
	if caps != nil {
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
			return nil, fmt.Errorf("stop keeping capabilities: %w", err)
		}
		if err := setCapabilities(*caps); err != nil {
			return nil, err
		}
	}
	if err := asUser(); err != nil {
		return nil, err
	}
	return late, nil
}

// switchUser drops from root to the spec's user: groups first, while still allowed to set them.
// The raw system calls change the calling thread only — the locked one that will execve; the
// other threads go with the execve. (Go's syscall.Setuid stops every thread of the process to
// change them all, which costs more than the rest of confine.)
func switchUser(u specs.User) error {
	gids := make([]int, len(u.AdditionalGids))
	for i, g := range u.AdditionalGids {
		gids[i] = int(g)
	}
	// A user namespace that maps only the user who made it denies setgroups(2): with no
	// group to set beyond the user's own, there is nothing it could do.
	onlyOwn := !slices.ContainsFunc(u.AdditionalGids, func(g uint32) bool { return g != u.GID })
	if err := unix.Setgroups(gids); err != nil && !(onlyOwn && errors.Is(err, unix.EPERM) && setgroupsDenied()) {
		return fmt.Errorf("setgroups %v: %w", gids, err)
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID)); errno != 0 {
		return fmt.Errorf("setgid %d: %w", u.GID, errno)
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID)); errno != 0 {
		return fmt.Errorf("setuid %d: %w", u.UID, errno)
	}
	return nil
}
