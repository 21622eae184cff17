package container

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ipcSysctls are the kernel.* settings an IPC namespace has to itself (runc's list).
var ipcSysctls = []string{
	"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
	"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
}

// CheckSysctls refuses, as runc does and in its words, a sysctl of the spec that the container would not have
// to itself: a setting of a namespace it shares with the host would change the host's. net.*
// need a network namespace of the container's own, kernel.msg*, sem, shm* and fs.mqueue.* an
// IPC namespace, kernel.domainname a UTS namespace; kernel.hostname is the spec's hostname.
func CheckSysctls(spec *specs.Spec) error {
	if spec.Linux == nil {
		return nil
	}
	for key := range spec.Linux.Sysctl {
		if err := checkSysctlName(key); err != nil {
			return err
		}
		switch {
		case slices.Contains(ipcSysctls, key) || strings.HasPrefix(key, "fs.mqueue."):
			if !ownNamespace(spec, specs.IPCNamespace) {
				return fmt.Errorf("sysctl %q not allowed in host IPC namespace", key)
			}
		case strings.HasPrefix(key, "net."):
			if !ownNamespace(spec, specs.NetworkNamespace) {
				return fmt.Errorf("sysctl %q not allowed in host network namespace", key)
			}
		case key == "kernel.domainname" && ownNamespace(spec, specs.UTSNamespace):
		case key == "kernel.hostname":
			return fmt.Errorf("sysctl %q is not allowed: the spec's hostname sets it", key)
		default:
			return fmt.Errorf("sysctl %q is not in a namespace of the container's own", key)
		}
	}
	return nil
}

// checkSysctlName refuses a name that is not a path below /proc/sys once its dots are slashes.
func checkSysctlName(key string) error {
	for _, part := range strings.Split(key, ".") {
		if part == "" || strings.Contains(part, "/") {
			return fmt.Errorf("invalid sysctl name %q", key)
		}
	}
	return nil
}

// ownNamespace reports whether the container has a namespace of type t that is not the one
// its runtime runs in: a new one, or one joined by a path that is not the runtime's own.
func ownNamespace(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type != t {
			continue
		}
		if ns.Path == "" {
			return true
		}
		// This thread's, not /proc/self's: the process's first thread may be the one that
		// started the container's init, in its namespaces (startSealed).
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var joined, own unix.Stat_t
		if unix.Stat(ns.Path, &joined) != nil || unix.Stat("/proc/thread-self/ns/"+nsFile[t], &own) != nil {
			return false
		}
		return joined.Dev != own.Dev || joined.Ino != own.Ino
	}
	return false
}

var nsFile = map[specs.LinuxNamespaceType]string{specs.IPCNamespace: "ipc", specs.NetworkNamespace: "net", specs.UTSNamespace: "uts"}

// writeSysctls sets the container's sysctls (init side, in its namespaces, its /proc mounted
// and before /proc/sys is made read-only), sorted so that a failure is the same each time.
func writeSysctls(sysctls map[string]string) error {
	keys := make([]string, 0, len(sysctls))
	for k := range sysctls {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
		f, err := os.OpenFile(path, os.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == nil {
			_, err = f.WriteString(sysctls[key])
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("set sysctl %s to %q: %w", key, sysctls[key], err)
		}
	}
	return nil
}
