package seccomp

import (
	"fmt"
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
	f, err := Prepare(prog, flags)
	if err != nil {
		return err
	}
	if errno := f.Install(); errno != 0 {
		return fmt.Errorf("load seccomp filter: %w", errno)
	}
	return nil
}

// Filter is a program made by Compile, with its flags, as seccomp(2) takes them: loading it is
// one system call, which Install makes and which a caller may make itself.
type Filter struct {
	Flags uintptr
	Prog  unix.SockFprog // points into prog
	prog  []byte
}

// Prepare checks a program made by Compile and its flags, and makes them a Filter.
func Prepare(prog []byte, flags []specs.LinuxSeccompFlag) (*Filter, error) {
	if len(prog) == 0 || len(prog)%8 != 0 {
		return nil, fmt.Errorf("load seccomp filter: a program of %d bytes", len(prog))
	}
	f := &Filter{prog: prog}
	for _, name := range flags {
		bit, ok := filterFlags[name]
		if !ok {
			return nil, fmt.Errorf("load seccomp filter: unsupported flag %q", name)
		}
		f.Flags |= bit
	}
	f.Prog = unix.SockFprog{Len: uint16(len(prog) / 8), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	return f, nil
}

// Install loads the filter on the calling thread (see Load): a raw system call, nothing else,
// which may be made once the process can no longer start a thread (container's last steps).
//
//go:nosplit
func (f *Filter) Install() unix.Errno {
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, f.Flags, uintptr(unsafe.Pointer(&f.Prog)))
	return errno
}
