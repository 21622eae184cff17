package preflight

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/userns"
)

// rootlessChecks are what mydocker run by an ordinary user needs (package rootless): user
// namespaces the user may make, the uidmap helpers and a range of subordinate ids to map its
// containers' users, nsenter to join its namespace, user-mode networking (slirp4netns, and a
// /dev/net/tun the user may open), and a delegated cgroup v2 tree for limits.
func rootlessChecks(u *user.User) []Check {
	uid, _ := strconv.Atoi(u.Uid)
	checks := []Check{userNamespaces()}
	checks = append(checks, tools()...)
	checks = append(checks, subIDs(u.Username, uid), tun(), delegation(), runtimeDir())
	return checks
}

// userNamespaces says whether this kernel lets an ordinary user make user namespaces.
func userNamespaces() Check {
	c := Check{What: "user namespaces", Found: "an ordinary user may make them"}
	for _, s := range []struct{ path, want, fix string }{
		{"/proc/sys/user/max_user_namespaces", "", "sysctl -w user.max_user_namespaces=28633 (and in /etc/sysctl.d)"},
		// Debian's kernels before 5.10, and Ubuntu's, have switches of their own.
		{"/proc/sys/kernel/unprivileged_userns_clone", "1", "sysctl -w kernel.unprivileged_userns_clone=1 (and in /etc/sysctl.d)"},
		{"/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "0", "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile for mydocker allowing userns"},
	} {
		data, err := os.ReadFile(s.path)
		if err != nil {
			continue // not this kernel's
		}
		v := strings.TrimSpace(string(data))
		if s.want == "" && v == "0" || s.want != "" && v != s.want {
			c.Found, c.Level, c.Fix = fmt.Sprintf("%s is %s", strings.TrimPrefix(s.path, "/proc/sys/"), v), Missing, s.fix
		}
	}
	return c
}

// tools are the programs rootless needs: newuidmap and newgidmap (setuid root, or with their
// file capabilities), nsenter, slirp4netns.
func tools() []Check {
	var out []Check
	for _, t := range []struct{ name, pkg, why string }{
		{"newuidmap", "uidmap", "maps your subordinate uids to your containers' users"},
		{"newgidmap", "uidmap", "maps your subordinate gids"},
		{"nsenter", "util-linux", "joins your user namespace"},
		{"slirp4netns", "slirp4netns", "gives your containers a network (else --net none or --net host)"},
	} {
		c := Check{What: t.name, Found: "not installed"}
		path, err := exec.LookPath(t.name)
		switch {
		case err != nil:
			c.Level, c.Fix = Missing, fmt.Sprintf("apt-get install %s: it %s", t.pkg, t.why)
		case strings.HasPrefix(t.name, "new") && !privilegedHelper(path):
			c.Found, c.Level, c.Fix = path+" (neither setuid root nor with capabilities)", Missing, "apt-get install --reinstall uidmap (it installs newuidmap and newgidmap setuid root)"
		default:
			c.Found = path
		}
		out = append(out, c)
	}
	return out
}

// privilegedHelper reports whether the program at path runs with root's rights: setuid root,
// or file capabilities (security.capability), as distributions ship newuidmap.
func privilegedHelper(path string) bool {
	var st unix.Stat_t
	if unix.Stat(path, &st) == nil && st.Mode&unix.S_ISUID != 0 && st.Uid == 0 {
		return true
	}
	n, err := unix.Getxattr(path, "security.capability", nil)
	return err == nil && n > 0
}

// subIDs says whether /etc/subuid and /etc/subgid give the user a range.
func subIDs(name string, uid int) Check {
	c := Check{What: "subordinate ids"}
	ids, err := userns.ForUser(name, uid, uid)
	var none *userns.NoRangeError
	switch {
	case errors.As(err, &none):
		c.Found, c.Level = err.Error(), Warn
		c.Fix = fmt.Sprintf("as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s (a range no other user has): without one, your containers have root alone, and images with files of other users do not unpack", name)
	case err != nil:
		c.Found, c.Level, c.Fix = err.Error(), Missing, "fix the line of /etc/subuid or /etc/subgid it names"
	default:
		n := uint32(0)
		for _, m := range ids.UIDs[1:] {
			n += m.Size
		}
		c.Found = fmt.Sprintf("%d uids after your own (%d)", n, uid)
	}
	return c
}

// tun says whether the user may open /dev/net/tun, where slirp4netns makes its device.
func tun() Check {
	c := Check{What: "/dev/net/tun", Found: "yours to open"}
	if err := unix.Access("/dev/net/tun", unix.R_OK|unix.W_OK); err != nil {
		c.Found, c.Level = fmt.Sprintf("not yours to open (%v)", err), Missing
		c.Fix = "as root: chmod 0666 /dev/net/tun (distributions ship it so; a udev rule keeps it), or run containers with --net none or --net host"
	}
	return c
}

// delegation says whether the user's containers can have limits.
func delegation() Check {
	c := Check{What: "cgroup limits"}
	root, err := cgroups.Delegation()
	if err != nil {
		c.Found, c.Level = "none: -m, --cpus, --pids-limit and the rest are refused", Warn
		c.Fix = strings.TrimPrefix(err.Error(), cgroups.ErrNoDelegation.Error()+": ")
		return c
	}
	c.Found = "delegated: " + root
	return c
}

// runtimeDir says where the user's engine keeps its runtime files.
func runtimeDir() Check {
	c := Check{What: "XDG_RUNTIME_DIR", Found: os.Getenv("XDG_RUNTIME_DIR")}
	if c.Found == "" {
		c.Found, c.Level = "not set", Warn
		c.Fix = "log in through a session that sets it (pam_systemd), or export XDG_RUNTIME_DIR=/run/user/$(id -u): without it, runtime files go to /tmp"
	}
	return c
}
