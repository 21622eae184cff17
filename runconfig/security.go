package runconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
)

// DefaultCapabilities are what a container's root gets, Docker's set: enough to own files,
// bind low ports and change user, not to mount, load modules, trace others or change the
// network. CapEff 00000000a80425fb.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// Security are what a container may do beyond the defaults, or may not.
type Security struct {
	CapAdd, CapDrop []string // names with or without CAP_, any case, or ALL (what the host has)
	// Privileged: every capability the host can give, every host device, no seccomp filter,
	// no masked or read-only paths, /sys writable.
	Privileged bool
	// Seccomp is "" for Docker's default profile, "unconfined" for none, or a profile's JSON.
	Seccomp         string
	NoNewPrivileges bool
	Rlimits         []specs.POSIXRlimit // ParseUlimit
	Devices         []DeviceMapping     // ParseDevice
}

// AddSecurityOpt adds one --security-opt value, as the Engine API carries it:
// seccomp=unconfined, seccomp=PROFILE (the profile's JSON: a command line reads a file's
// first, as Docker's client does), no-new-privileges[=true|false] (or the older :true).
func (s *Security) AddSecurityOpt(opt string) error {
	key, value, _ := strings.Cut(opt, "=")
	if k, v, ok := strings.Cut(opt, ":"); ok && key == opt {
		key, value = k, v // the older form, no-new-privileges:true
	}
	switch key {
	case "seccomp":
		if value == "" {
			return fmt.Errorf("invalid --security-opt %q: want seccomp=unconfined or seccomp=PROFILE.json", opt)
		}
		s.Seccomp = value
	case "no-new-privileges":
		switch value {
		case "", "true":
			s.NoNewPrivileges = true
		case "false":
			s.NoNewPrivileges = false
		default:
			return fmt.Errorf("invalid --security-opt %q: no-new-privileges takes true or false", opt)
		}
	default:
		return fmt.Errorf("invalid --security-opt %q: mydocker knows seccomp= and no-new-privileges (no AppArmor or SELinux)", opt)
	}
	return nil
}

// Unconfined is what the course's containers keep until chapter 12 takes it away: every
// capability the host has, and no seccomp filter. The engine (mydocker) confines by default.
func Unconfined() Security { return Security{CapAdd: []string{"ALL"}, Seccomp: "unconfined"} }

// Capabilities works out a container's capabilities from Docker's defaults and the options:
// --privileged and --cap-add ALL give what the host has, --cap-drop ALL starts from nothing,
// names come with or without CAP_ and in any case.
func (s *Security) Capabilities() ([]string, error) {
	if s.Privileged {
		return container.HostCapabilities()
	}
	add, addAll, err := normalizeCaps(s.CapAdd)
	if err != nil {
		return nil, err
	}
	drop, dropAll, err := normalizeCaps(s.CapDrop)
	if err != nil {
		return nil, err
	}
	var out []string
	switch {
	case addAll:
		// What the host can give: asking for a capability it lacks would only fail.
		if out, err = container.HostCapabilities(); err != nil {
			return nil, err
		}
	case dropAll:
		out = nil
	default:
		out = slices.Clone(DefaultCapabilities)
	}
	if !dropAll {
		out = slices.DeleteFunc(out, func(c string) bool { return slices.Contains(drop, c) })
	}
	for _, c := range add {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// normalizeCaps reads capability names as Docker takes them ("net_admin", "CAP_NET_ADMIN",
// "ALL") and checks them.
func normalizeCaps(names []string) (caps []string, all bool, err error) {
	known := container.Capabilities()
	for _, n := range names {
		c := strings.ToUpper(n)
		if c == "ALL" {
			all = true
			continue
		}
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		if !slices.Contains(known, c) {
			return nil, false, fmt.Errorf("unknown capability: %q", n)
		}
		caps = append(caps, c)
	}
	return caps, all, nil
}

// applySecurity puts the security options into spec: capabilities, no_new_privs, rlimits,
// devices, and what privileged lifts or seccomp adds.
func (s *Security) applySecurity(spec *specs.Spec) error {
	caps, err := capabilities(s)
	if err != nil {
		return err
	}
	spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
	spec.Process.NoNewPrivileges = s.NoNewPrivileges
	spec.Process.Rlimits = s.Rlimits
	if s.Privileged {
		return privileged(spec)
	}
	for _, d := range s.Devices {
		dev, rule, err := d.spec()
		if err != nil {
			return err
		}
		spec.Linux.Devices = append(spec.Linux.Devices, dev)
		spec.Linux.Resources.Devices = append(spec.Linux.Resources.Devices, rule)
	}
	switch s.Seccomp {
	case "unconfined":
		spec.Linux.Seccomp = nil
	case "":
		spec.Linux.Seccomp, err = mobyseccomp.GetDefaultProfile(spec)
	default:
		spec.Linux.Seccomp, err = mobyseccomp.LoadProfile(s.Seccomp, spec)
	}
	if err != nil {
		return fmt.Errorf("seccomp profile: %w", err)
	}
	return nil
}

// privileged lifts the default confinement, as Docker's --privileged does.
func privileged(spec *specs.Spec) error {
	spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths = nil, nil
	spec.Linux.Seccomp = nil
	for i, m := range spec.Mounts {
		if m.Type == "sysfs" || m.Type == "cgroup" {
			spec.Mounts[i].Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return o == "ro" })
		}
	}
	devices, err := hostDevices("/dev")
	if err != nil {
		return err
	}
	spec.Linux.Devices = devices
	spec.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	return nil
}

// hostDevices lists the device nodes below dir, as a privileged container gets them.
func hostDevices(dir string) ([]specs.LinuxDevice, error) {
	var out []specs.LinuxDevice
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil // a directory that went away or we cannot read: skip it
		}
		if d.IsDir() {
			switch d.Name() {
			case "pts", "shm", "mqueue", ".lxc", ".udev":
				return filepath.SkipDir // the container has its own, or they hold no devices
			}
			return nil
		}
		if path == "/dev/console" {
			return nil // the container's terminal, when it has one
		}
		dev, err := deviceAt(path)
		if err == nil {
			out = append(out, dev)
		}
		return nil
	})
	return out, err
}

// deviceAt describes the device node at path.
func deviceAt(path string) (specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return specs.LinuxDevice{}, err
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	default:
		return specs.LinuxDevice{}, fmt.Errorf("%s is not a device", path)
	}
	mode := os.FileMode(st.Mode & 0o777)
	uid, gid := st.Uid, st.Gid
	return specs.LinuxDevice{
		Path: path, Type: typ, Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)),
		FileMode: &mode, UID: &uid, GID: &gid,
	}, nil
}

// DeviceMapping is one --device: a host device node, where the container sees it, and what
// the container may do with it (r, w, m: read, write, mknod).
type DeviceMapping struct {
	Host, Container, Access string
}

// ParseDevice reads /dev/X[:/dev/Y][:rwm], as Docker's --device.
func ParseDevice(s string) (DeviceMapping, error) {
	parts := strings.Split(s, ":")
	d := DeviceMapping{Host: parts[0], Container: parts[0], Access: "rwm"}
	switch len(parts) {
	case 1:
	case 2:
		if isAccess(parts[1]) {
			d.Access = parts[1]
		} else {
			d.Container = parts[1]
		}
	case 3:
		d.Container, d.Access = parts[1], parts[2]
	default:
		return d, fmt.Errorf("invalid device %q: want HOST[:CONTAINER][:PERMISSIONS]", s)
	}
	if !filepath.IsAbs(d.Host) || !filepath.IsAbs(d.Container) {
		return d, fmt.Errorf("invalid device %q: paths must be absolute", s)
	}
	if !isAccess(d.Access) {
		return d, fmt.Errorf("invalid device %q: permissions %q are not a combination of r, w and m", s, d.Access)
	}
	return d, nil
}

func isAccess(s string) bool {
	return s != "" && strings.Trim(s, "rwm") == "" && len(s) <= 3
}

// spec describes the mapping's node for the container's /dev and its device cgroup rule.
func (d DeviceMapping) spec() (specs.LinuxDevice, specs.LinuxDeviceCgroup, error) {
	dev, err := deviceAt(d.Host)
	if err != nil {
		return dev, specs.LinuxDeviceCgroup{}, fmt.Errorf("device %s: %w", d.Host, err)
	}
	dev.Path = d.Container
	major, minor := dev.Major, dev.Minor
	return dev, specs.LinuxDeviceCgroup{Allow: true, Type: dev.Type, Major: &major, Minor: &minor, Access: d.Access}, nil
}

// ulimitNames are the resources --ulimit knows, by Docker's names.
var ulimitNames = map[string]string{
	"core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
	"locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE", "nice": "RLIMIT_NICE",
	"nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO",
	"rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK", "as": "RLIMIT_AS",
}

// ParseUlimit reads NAME=SOFT[:HARD] (nofile=1024:2048), as Docker's --ulimit; -1 is unlimited.
func ParseUlimit(s string) (specs.POSIXRlimit, error) {
	name, values, ok := strings.Cut(s, "=")
	typ, known := ulimitNames[name]
	if !ok || !known || !container.IsRlimit(typ) {
		return specs.POSIXRlimit{}, fmt.Errorf("invalid ulimit %q: want NAME=SOFT[:HARD] with a name among core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack", s)
	}
	softText, hardText, hasHard := strings.Cut(values, ":")
	if !hasHard {
		hardText = softText
	}
	soft, err1 := parseLimit(softText)
	hard, err2 := parseLimit(hardText)
	if err1 != nil || err2 != nil {
		return specs.POSIXRlimit{}, fmt.Errorf("invalid ulimit %q: the values must be numbers (or -1: unlimited)", s)
	}
	if soft > hard {
		return specs.POSIXRlimit{}, fmt.Errorf("invalid ulimit %q: the soft limit %d is above the hard limit %d", s, soft, hard)
	}
	return specs.POSIXRlimit{Type: typ, Soft: soft, Hard: hard}, nil
}

func parseLimit(s string) (uint64, error) {
	if s == "-1" {
		return unix.RLIM_INFINITY, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// SetUser makes u the container's user. A user other than root starts with no effective or
// permitted capability, as after an execve (Docker does the same since 20.10.14); the bounding
// set stays, for a setuid binary to use.
func SetUser(spec *specs.Spec, u specs.User) {
	u.Umask = spec.Process.User.Umask
	spec.Process.User = u
	if c := spec.Process.Capabilities; c != nil && u.UID != 0 {
		c.Effective, c.Permitted = nil, nil
	}
}
