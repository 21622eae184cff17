// Package preflight looks at this machine the way the errors learners and users meet most
// often ask for: no root, a kernel without overlayfs or namespaces, / mounted shared (the
// EINVAL of pivot_root, a host /proc replaced after a run), a root filesystem that is itself
// overlay (inside Docker), an iptables FORWARD policy of DROP, and mounts or cgroups left over
// from an earlier run. mydocker doctor and make progress print it.
package preflight

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/workspace"
)

// Level says how much a finding matters.
type Level int

const (
	OK      Level = iota
	Warn          // works, but something to know (and the fix for it)
	Missing       // containers will not run as they should
)

func (l Level) String() string { return [...]string{"ok", "warning", "MISSING"}[l] }

// Check is one finding.
type Check struct {
	What, Found string
	Level       Level
	Fix         string // what to do, when Level is not OK
}

// Run makes every check; run by an ordinary user, those of rootless mydocker too.
func Run() []Check {
	var uts unix.Utsname
	unix.Uname(&uts)
	checks := []Check{
		{What: "kernel", Found: unix.ByteSliceToString(uts.Release[:])},
		root(),
		{What: "cgroups", Found: cgroups.DetectMode().String()},
		namespaces(),
	}
	checks = append(checks, filesystems()...)
	checks = append(checks, propagation(), forwardPolicy(), leftovers(), busybox())
	if os.Geteuid() != 0 {
		if u, err := user.Current(); err == nil {
			checks = append(checks, rootlessChecks(u)...)
		}
	}
	return checks
}

func root() Check {
	c := Check{What: "root", Found: fmt.Sprintf("uid %d", os.Geteuid())}
	if os.Geteuid() != 0 {
		c.Found += ": rootless (see the checks below)"
		c.Level, c.Fix = Warn, "as root (sudo -i) every chapter and bridge networks work; as yourself, mydocker runs rootless (chapter 16) where the checks below pass"
	}
	return c
}

func namespaces() Check {
	var have []string
	c := Check{What: "namespaces"}
	for _, n := range []string{"pid", "net", "mnt", "uts", "ipc", "user", "cgroup"} {
		if _, err := os.Stat("/proc/self/ns/" + n); err == nil {
			have = append(have, n)
		} else if n != "user" && n != "cgroup" {
			c.Level, c.Fix = Missing, "a kernel with CONFIG_NAMESPACES and the PID, net, mount, UTS and IPC namespaces"
		}
	}
	c.Found = strings.Join(have, " ")
	return c
}

func filesystems() []Check {
	var out []Check
	for _, fs := range []string{"overlay", "aufs"} {
		c := Check{What: fs, Found: "not in this kernel"}
		if workspace.KernelHas(fs) {
			c.Found = "supported"
		} else if fs == "overlay" {
			c.Level, c.Fix = Warn, "modprobe overlay (without it the slow vfs driver copies every image)"
		}
		out = append(out, c)
	}
	driver, _ := workspace.NewDriver("")
	out = append(out, Check{What: "storage driver", Found: driver.Name()})
	if fstype := rootFilesystem(); fstype == "overlay" {
		out = append(out, Check{What: "root filesystem", Found: "overlay (inside a container?)", Level: Warn,
			Fix: "overlayfs cannot use a directory on overlayfs as its upper layer: keep the root (--root) on another filesystem (a tmpfs, a volume), or use the vfs driver"})
	}
	return out
}

// rootFilesystem is the type of the filesystem mounted on /.
func rootFilesystem() string {
	for _, m := range mountinfo() {
		if m.point == "/" {
			return m.fstype
		}
	}
	return ""
}

func propagation() Check {
	c := Check{What: "mount propagation", Found: "/ private"}
	for _, m := range mountinfo() {
		if m.point == "/" && strings.Contains(m.optional, "shared:") {
			c.Found = "/ shared (systemd's default)"
			c.Level = Warn
			c.Fix = "nothing to change: but a container's init must make every mount private first (chapter 01), or pivot_root fails with EINVAL and a /proc it mounts replaces the host's"
		}
	}
	return c
}

func forwardPolicy() Check {
	c := Check{What: "iptables FORWARD"}
	if os.Geteuid() != 0 {
		c.Found = "not needed: a rootless engine makes no bridge"
		return c
	}
	out, err := exec.Command("iptables", "-S", "FORWARD").Output()
	if err != nil {
		c.Found, c.Level, c.Fix = "no iptables", Warn, "apt-get install iptables (bridge networks need it)"
		return c
	}
	policy, _, _ := strings.Cut(string(out), "\n")
	c.Found = strings.TrimSpace(strings.TrimPrefix(policy, "-P FORWARD "))
	if c.Found == "DROP" {
		c.Level = Warn
		c.Fix = "packets between a bridge and the world are dropped unless a rule accepts them (Docker sets this policy): mydocker adds ACCEPT rules for its bridges; code of your own must too, or MASQUERADE seems not to work"
	}
	return c
}

// leftovers finds what a killed or buggy engine can leave: container cgroups that hold no
// process, overlay mounts of an image store of ours in the host's mount namespace.
func leftovers() Check {
	var empty []string
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/mydocker/*")
	more, _ := filepath.Glob("/sys/fs/cgroup/mydocker/*")
	deep, _ := filepath.Glob("/sys/fs/cgroup/*/*/*/mydocker/*")
	for _, d := range append(append(dirs, more...), deep...) {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			continue
		}
		if procs, err := os.ReadFile(filepath.Join(d, "cgroup.procs")); err == nil && len(strings.TrimSpace(string(procs))) == 0 {
			empty = append(empty, d)
		}
	}
	overlays := ourOverlays(mountinfo())
	c := Check{What: "left over", Found: "nothing"}
	if len(empty) > 0 || len(overlays) > 0 {
		c.Found = fmt.Sprintf("%d empty container cgroups, %d overlay mounts on the host", len(empty), len(overlays))
		c.Level = Warn
		c.Fix = "from a run that was killed or a lab's code: rmdir the cgroups (" + first(empty) + "...), umount the mounts (" + first(overlays) + "...); mydocker itself never mounts a root filesystem on the host"
	}
	return c
}

func busybox() Check {
	c := Check{What: "busybox (the test image)", Found: "not installed", Level: Warn, Fix: "apt-get install busybox-static"}
	if p, err := exec.LookPath("busybox"); err == nil {
		c.Found, c.Level, c.Fix = p, OK, ""
	}
	return c
}

func first(list []string) string {
	if len(list) == 0 {
		return "-"
	}
	return list[0]
}

// ourOverlays are the mount points of the overlay mounts whose lower directories are layers of
// an image store of ours (ROOT/image/layers/sha256/ID, beside ROOT/image/configs): not a
// dockerd's (/var/lib/docker/overlay2/...), a container runtime's or anyone else's, which are
// none of our business.
func ourOverlays(mounts []mount) []string {
	var ours []string
	for _, m := range mounts {
		if m.fstype == "overlay" && m.point != "/" && layersOfOurs(m.options) {
			ours = append(ours, m.point)
		}
	}
	return ours
}

// layersOfOurs reports whether overlay mount options name a lower directory in an image store.
func layersOfOurs(options string) bool {
	for _, opt := range strings.Split(options, ",") {
		_, lower, ok := strings.Cut(opt, "=")
		if !ok || !strings.HasPrefix(opt, "lowerdir") {
			continue
		}
		for _, dir := range strings.Split(lower, ":") {
			root, _, found := strings.Cut(dir, "/image/layers/")
			if fi, err := os.Stat(filepath.Join(root, "image", "configs")); found && err == nil && fi.IsDir() {
				return true
			}
		}
	}
	return false
}

type mount struct{ point, fstype, optional, options string }

// mountinfo reads this process's mount table.
func mountinfo() []mount {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseMountinfo(f)
}

// parseMountinfo reads a mount table: mount point, filesystem type, optional fields and the
// filesystem's own options (an overlay's lowerdir, upperdir and workdir).
func parseMountinfo(r io.Reader) []mount {
	var out []mount
	s := bufio.NewScanner(r)
	s.Buffer(nil, 1<<20) // an overlay of many layers makes a long line
	for s.Scan() {
		pre, post, ok := strings.Cut(s.Text(), " - ")
		fields, after := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 6 || len(after) < 1 {
			continue
		}
		m := mount{point: fields[4], fstype: after[0], optional: strings.Join(fields[6:], " ")}
		if len(after) > 2 {
			m.options = after[2]
		}
		out = append(out, m)
	}
	return out
}
