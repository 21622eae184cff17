package container

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// capabilityNumbers are the capabilities by name, as the spec writes them.
var capabilityNumbers = map[string]int{
	"CAP_CHOWN": unix.CAP_CHOWN, "CAP_DAC_OVERRIDE": unix.CAP_DAC_OVERRIDE, "CAP_DAC_READ_SEARCH": unix.CAP_DAC_READ_SEARCH,
	"CAP_FOWNER": unix.CAP_FOWNER, "CAP_FSETID": unix.CAP_FSETID, "CAP_KILL": unix.CAP_KILL, "CAP_SETGID": unix.CAP_SETGID,
	"CAP_SETUID": unix.CAP_SETUID, "CAP_SETPCAP": unix.CAP_SETPCAP, "CAP_LINUX_IMMUTABLE": unix.CAP_LINUX_IMMUTABLE,
	"CAP_NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE, "CAP_NET_BROADCAST": unix.CAP_NET_BROADCAST,
	"CAP_NET_ADMIN": unix.CAP_NET_ADMIN, "CAP_NET_RAW": unix.CAP_NET_RAW, "CAP_IPC_LOCK": unix.CAP_IPC_LOCK,
	"CAP_IPC_OWNER": unix.CAP_IPC_OWNER, "CAP_SYS_MODULE": unix.CAP_SYS_MODULE, "CAP_SYS_RAWIO": unix.CAP_SYS_RAWIO,
	"CAP_SYS_CHROOT": unix.CAP_SYS_CHROOT, "CAP_SYS_PTRACE": unix.CAP_SYS_PTRACE, "CAP_SYS_PACCT": unix.CAP_SYS_PACCT,
	"CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN, "CAP_SYS_BOOT": unix.CAP_SYS_BOOT, "CAP_SYS_NICE": unix.CAP_SYS_NICE,
	"CAP_SYS_RESOURCE": unix.CAP_SYS_RESOURCE, "CAP_SYS_TIME": unix.CAP_SYS_TIME, "CAP_SYS_TTY_CONFIG": unix.CAP_SYS_TTY_CONFIG,
	"CAP_MKNOD": unix.CAP_MKNOD, "CAP_LEASE": unix.CAP_LEASE, "CAP_AUDIT_WRITE": unix.CAP_AUDIT_WRITE,
	"CAP_AUDIT_CONTROL": unix.CAP_AUDIT_CONTROL, "CAP_SETFCAP": unix.CAP_SETFCAP, "CAP_MAC_OVERRIDE": unix.CAP_MAC_OVERRIDE,
	"CAP_MAC_ADMIN": unix.CAP_MAC_ADMIN, "CAP_SYSLOG": unix.CAP_SYSLOG, "CAP_WAKE_ALARM": unix.CAP_WAKE_ALARM,
	"CAP_BLOCK_SUSPEND": unix.CAP_BLOCK_SUSPEND, "CAP_AUDIT_READ": unix.CAP_AUDIT_READ, "CAP_PERFMON": unix.CAP_PERFMON,
	"CAP_BPF": unix.CAP_BPF, "CAP_CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
}

// CapabilityNumber is the kernel's number of the capability name (CAP_CHOWN is 0).
func CapabilityNumber(name string) (int, bool) {
	n, ok := capabilityNumbers[name]
	return n, ok
}

// Capabilities are the names of every capability this runtime knows, in the kernel's order.
func Capabilities() []string {
	names := make([]string, 0, len(capabilityNumbers))
	for name := range capabilityNumbers {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return capabilityNumbers[a] - capabilityNumbers[b] })
	return names
}

// HostCapabilities are the capabilities this process may hand on: its bounding set. A
// privileged container gets these, not every capability there is — a host (or an outer
// container) that lacks one cannot give it.
func HostCapabilities() ([]string, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			if err != nil {
				return nil, fmt.Errorf("read CapBnd %q: %w", hex, err)
			}
			var out []string
			for _, name := range Capabilities() {
				if mask&(1<<capabilityNumbers[name]) != 0 {
					out = append(out, name)
				}
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("no CapBnd in /proc/self/status")
}

// capMask turns capability names into the kernel's bit mask.
func capMask(names []string) (uint64, error) {
	var mask uint64
	for _, n := range names {
		c, ok := capabilityNumbers[n]
		if !ok {
			return 0, fmt.Errorf("unknown capability %q", n)
		}
		mask |= 1 << c
	}
	return mask, nil
}

// capabilityMasks are a process's capability sets as bit masks.
type capabilityMasks struct {
	bounding, effective, permitted, inheritable, ambient uint64
}

func masksOf(c *specs.LinuxCapabilities) (m capabilityMasks, err error) {
	for _, set := range []struct {
		names []string
		mask  *uint64
	}{
		{c.Bounding, &m.bounding}, {c.Effective, &m.effective}, {c.Permitted, &m.permitted},
		{c.Inheritable, &m.inheritable}, {c.Ambient, &m.ambient},
	} {
		if *set.mask, err = capMask(set.names); err != nil {
			return m, err
		}
	}
	return m, nil
}

// lastCap is the highest capability the running kernel knows, read once.
var lastCap = sync.OnceValue(func() int {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return unix.CAP_LAST_CAP
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return unix.CAP_LAST_CAP
	}
	return n
})

// DropBoundingSet removes from the calling thread's bounding set every capability not in keep
// (names, CAP_CHOWN): no later execve (a setuid binary, a file with capabilities) can give them
// back. It needs CAP_SETPCAP, so it comes before the user switch.
func DropBoundingSet(keep []string) error {
	mask, err := capMask(keep)
	if err != nil {
		return err
	}
	return dropBoundingMask(mask)
}

func dropBoundingMask(keep uint64) error {
	for c := 0; c <= lastCap(); c++ {
		if keep&(1<<c) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	return nil
}

// setCapabilities sets the calling thread's effective, permitted and inheritable sets, then
// its ambient set. Capabilities belong to threads: the thread that will execve must call it.
func setCapabilities(m capabilityMasks) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(m.effective), Permitted: uint32(m.permitted), Inheritable: uint32(m.inheritable)},
		{Effective: uint32(m.effective >> 32), Permitted: uint32(m.permitted >> 32), Inheritable: uint32(m.inheritable >> 32)},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear the ambient capabilities: %w", err)
	}
	for c := 0; c <= lastCap(); c++ {
		if m.ambient&(1<<c) != 0 {
			if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
				return fmt.Errorf("raise ambient capability %d: %w", c, err)
			}
		}
	}
	return nil
}
