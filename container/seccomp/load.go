package seccomp

import (
	"fmt"
	"runtime"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// filterFlags are the seccomp(2) flags a profile may ask for.
var filterFlags = map[specs.LinuxSeccompFlag]uintptr{
	specs.LinuxSeccompFlagLog:              unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow:        unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	specs.LinuxSeccompFlagWaitKillableRecv: unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
}

// Load installs a program made by Compile on the calling thread, which must be locked to its
// goroutine and is meant to execve next: the filter goes with it into the new program, and
// from then on can never be removed. The caller must have set no_new_privs or hold
// CAP_SYS_ADMIN.
func Load(prog []byte, flags []specs.LinuxSeccompFlag) error {
	if len(prog) == 0 || len(prog)%8 != 0 {
		return fmt.Errorf("load seccomp filter: a program of %d bytes", len(prog))
	}
	var f uintptr
	for _, name := range flags {
		bit, ok := filterFlags[name]
		if !ok {
			return fmt.Errorf("load seccomp filter: unsupported flag %q", name)
		}
		f |= bit
	}
	fprog := unix.SockFprog{Len: uint16(len(prog) / 8), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, f, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return fmt.Errorf("load seccomp filter: %w", errno)
	}
	return nil
}
