package container

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultPath is the PATH a container gets when its image sets none (Docker's default).
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultSpec returns the runtime spec every container starts from, the same shape `runc spec`
// prints and Docker's defaults fill in: the namespaces, the mounts of /proc, /dev and /sys,
// the standard device nodes, and the /proc and /sys paths hidden or made read-only. Every `run`
// flag is a small change to this spec (see Options.Spec).
func DefaultSpec() *specs.Spec {
	var (
		umask    = uint32(0o022)
		fileMode = func(m os.FileMode) *os.FileMode { return &m }
		zero     = func() *uint32 { var z uint32; return &z }
	)
	dev := func(path string, major, minor int64) specs.LinuxDevice {
		return specs.LinuxDevice{Path: path, Type: "c", Major: major, Minor: minor, FileMode: fileMode(0o666), UID: zero(), GID: zero()}
	}
	num := func(n int64) *int64 { return &n }
	allow := func(typ string, major, minor *int64, access string) specs.LinuxDeviceCgroup {
		return specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: major, Minor: minor, Access: access}
	}
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			User: specs.User{UID: 0, GID: 0, Umask: &umask},
			Args: []string{"sh"},
			Env:  []string{DefaultPath},
			Cwd:  "/",
		},
		Root: &specs.Root{Path: "rootfs"},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.NetworkNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
			},
			Devices: []specs.LinuxDevice{
				dev("/dev/null", 1, 3),
				dev("/dev/zero", 1, 5),
				dev("/dev/full", 1, 7),
				dev("/dev/random", 1, 8),
				dev("/dev/urandom", 1, 9),
				dev("/dev/tty", 5, 0),
			},
			// Docker's lists: kernel state a container must not read, and knobs it must not turn.
			MaskedPaths: []string{
				"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
			// The device controller: nothing but the nodes above, the terminals, /dev/net/tun
			// (runc's list, and so Docker's) and mknod of any node (CAP_MKNOD decides that) — a
			// disk made with mknod cannot be opened.
			Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
				{Allow: false, Access: "rwm"},
				allow("c", nil, nil, "m"), allow("b", nil, nil, "m"),
				allow("c", num(1), num(3), "rwm"), allow("c", num(1), num(5), "rwm"), allow("c", num(1), num(7), "rwm"),
				allow("c", num(1), num(8), "rwm"), allow("c", num(1), num(9), "rwm"),
				allow("c", num(5), num(0), "rwm"), allow("c", num(5), num(1), "rwm"), allow("c", num(5), num(2), "rwm"),
				allow("c", num(136), nil, "rwm"), allow("c", num(10), num(200), "rwm"),
			}},
		},
	}
}

// NamespaceFlags turns a spec's namespaces into clone(2) flags. A namespace with a path is
// joined later (setns), not created, so it adds no flag. Nor does the cgroup namespace: its
// root is the cgroup of the process that makes it, so the init makes it itself once the parent
// has moved it into the container's cgroup (see enterCgroupNamespace).
func NamespaceFlags(namespaces []specs.LinuxNamespace) uintptr {
	var flags uintptr
	for _, ns := range namespaces {
		if ns.Path != "" || ns.Type == specs.CgroupNamespace {
			continue
		}
		flags |= cloneFlags[ns.Type]
	}
	return flags
}

// LinuxSpec is a specs.Spec without the sections of other platforms (Solaris, Windows, VMs,
// z/OS, FreeBSD), for encoding/json: the first time it encodes or decodes a type, it builds an
// encoder for every type that type reaches, and specs.Spec reaches every platform's, ~1.1 ms of
// a cold start here. A container's start encodes its spec twice (its config.json, the bundle
// sent to its init) and the init decodes it once, each in a process that starts cold. On Linux
// the JSON is the same.
type LinuxSpec struct {
	Version     string            `json:"ociVersion"`
	Process     *specs.Process    `json:"process,omitempty"`
	Root        *specs.Root       `json:"root,omitempty"`
	Hostname    string            `json:"hostname,omitempty"`
	Domainname  string            `json:"domainname,omitempty"`
	Mounts      []specs.Mount     `json:"mounts,omitempty"`
	Hooks       *specs.Hooks      `json:"hooks,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Linux       *specs.Linux      `json:"linux,omitempty"`
}

// OnLinux is s as a LinuxSpec, sharing its values.
func OnLinux(s *specs.Spec) *LinuxSpec {
	if s == nil {
		return nil
	}
	return &LinuxSpec{s.Version, s.Process, s.Root, s.Hostname, s.Domainname, s.Mounts, s.Hooks, s.Annotations, s.Linux}
}

// initSpec is a LinuxSpec as a container's init gets it (wireBundle): its linux section (which
// hides the LinuxSpec's) has only what the init reads. Not the cgroup settings (the parent
// applies them), the seccomp profile (the init gets the compiled filter) nor what the runtime
// does not implement: encoding/json builds a decoder for every type a type reaches (see
// LinuxSpec), these reach half of specs.Linux's, and the init decodes its bundle cold, on the
// critical path of every start.
type initSpec struct {
	LinuxSpec
	Linux *initLinux `json:"linux,omitempty"`
}

// initLinux is the part of specs.Linux a container's init reads.
type initLinux struct {
	Namespaces        []specs.LinuxNamespace `json:"namespaces,omitempty"`
	UIDMappings       []specs.LinuxIDMapping `json:"uidMappings,omitempty"`
	GIDMappings       []specs.LinuxIDMapping `json:"gidMappings,omitempty"`
	Devices           []specs.LinuxDevice    `json:"devices,omitempty"`
	RootfsPropagation string                 `json:"rootfsPropagation,omitempty"`
	Sysctl            map[string]string      `json:"sysctl,omitempty"`
	MaskedPaths       []string               `json:"maskedPaths,omitempty"`
	ReadonlyPaths     []string               `json:"readonlyPaths,omitempty"`
}

// forInit is s as its init gets it, sharing its values.
func forInit(s *specs.Spec) *initSpec {
	if s == nil {
		return nil
	}
	i := &initSpec{LinuxSpec: *OnLinux(s)}
	if l := s.Linux; l != nil {
		i.Linux = &initLinux{l.Namespaces, l.UIDMappings, l.GIDMappings, l.Devices, l.RootfsPropagation, l.Sysctl, l.MaskedPaths, l.ReadonlyPaths}
	}
	return i
}

// Spec is i as a specs.Spec, sharing its values.
func (i *initSpec) Spec() *specs.Spec {
	if i == nil {
		return nil
	}
	s := i.LinuxSpec.Spec()
	s.Linux = nil
	if l := i.Linux; l != nil {
		s.Linux = &specs.Linux{Namespaces: l.Namespaces, UIDMappings: l.UIDMappings, GIDMappings: l.GIDMappings, Devices: l.Devices,
			RootfsPropagation: l.RootfsPropagation, Sysctl: l.Sysctl, MaskedPaths: l.MaskedPaths, ReadonlyPaths: l.ReadonlyPaths}
	}
	return s
}

// Spec is l as a specs.Spec, sharing its values.
func (l *LinuxSpec) Spec() *specs.Spec {
	if l == nil {
		return nil
	}
	return &specs.Spec{Version: l.Version, Process: l.Process, Root: l.Root, Hostname: l.Hostname, Domainname: l.Domainname,
		Mounts: l.Mounts, Hooks: l.Hooks, Annotations: l.Annotations, Linux: l.Linux}
}
