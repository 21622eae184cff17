package cgroups

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// mount is one cgroup filesystem of /proc/self/mountinfo.
type mount struct {
	root, point string
	v2          bool
	controllers []string // v1: the controllers this hierarchy carries
	name        string   // v1: a named hierarchy without controllers (name=systemd)
}

// parseMountinfo lists the cgroup mounts. A line reads:
//
//	36 25 0:31 / /sys/fs/cgroup/memory rw,relatime shared:14 - cgroup cgroup rw,memory
//
// fields 4 and 5 are the mount's root and mount point; after " - " come the type, the source
// and the super options, which for v1 name the controllers.
func parseMountinfo(r io.Reader) ([]mount, error) {
	var out []mount
	s := bufio.NewScanner(r)
	for s.Scan() {
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		switch g[0] {
		case "cgroup2":
			out = append(out, mount{root: f[3], point: f[4], v2: true})
		case "cgroup":
			m := mount{root: f[3], point: f[4]}
			for _, o := range strings.Split(g[2], ",") {
				if name, ok := strings.CutPrefix(o, "name="); ok {
					m.name = name
				} else if o != "rw" && o != "ro" && !strings.Contains(o, "=") {
					m.controllers = append(m.controllers, o)
				}
			}
			out = append(out, m)
		}
	}
	return out, s.Err()
}

// parseProcCgroup reads /proc/self/cgroup ("4:memory:/process_api/26d0", "0::/" for v2) into
// controller -> path, with "" for the v2 tree.
func parseProcCgroup(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	s := bufio.NewScanner(r)
	for s.Scan() {
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out, s.Err()
}

// ownDir is the directory of this process's cgroup in a mounted hierarchy. A mount whose root
// is not "/" (inside a cgroup namespace, or a bind of a sub-tree) shows only part of the tree.
func ownDir(m mount, path string) (string, error) {
	rel, err := filepath.Rel(m.root, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("this process's cgroup %s is outside the hierarchy mounted at %s", path, m.point)
	}
	return filepath.Join(m.point, rel), nil
}

// v1Dirs maps each controller (and each named hierarchy, as "name=systemd") to this process's
// cgroup directory in its hierarchy. A container gets a cgroup in every hierarchy, as with
// Docker: its /sys/fs/cgroup then shows its own cgroups, not the host's.
func v1Dirs(mounts []mount, own map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range mounts {
		if m.v2 {
			continue
		}
		keys := m.controllers
		if m.name != "" {
			keys = append(keys, "name="+m.name)
		}
		for _, k := range keys {
			if path, ok := own[k]; ok {
				if dir, err := ownDir(m, path); err == nil {
					out[k] = dir
				}
			}
		}
	}
	return out
}

// v2Dir is this process's cgroup directory in the v2 tree.
func v2Dir(mounts []mount, own map[string]string) (string, error) {
	path, ok := own[""]
	if !ok {
		return "", fmt.Errorf("no cgroup v2 entry in /proc/self/cgroup")
	}
	for _, m := range mounts {
		if m.v2 {
			return ownDir(m, path)
		}
	}
	return "", fmt.Errorf("no cgroup2 filesystem is mounted")
}

// Hierarchy is this process's cgroup in one v1 hierarchy.
type Hierarchy struct {
	Name        string   // as mounted on the host: "memory", "cpu,cpuacct", "systemd"
	Controllers []string // what it carries; empty for a named hierarchy
	Dir         string   // this process's cgroup directory in it
}

// V1Hierarchies lists this process's cgroups in every v1 hierarchy, for the container's own
// /sys/fs/cgroup: the init, already in its cgroups, shows each one as the root of its tree.
// dirs, when given, are the cgroups the init is to be in (Manager.Paths), which are shown
// instead.
func V1Hierarchies(dirs map[string]string) ([]Hierarchy, error) {
	mounts, own, err := readSelf()
	if err != nil {
		return nil, err
	}
	var out []Hierarchy
	for _, m := range mounts {
		if m.v2 {
			continue
		}
		key := "name=" + m.name
		if len(m.controllers) > 0 {
			key = m.controllers[0]
		}
		path, ok := own[key]
		if !ok {
			continue
		}
		dir, ok := dirs[key]
		if !ok {
			if dir, err = ownDir(m, path); err != nil {
				return nil, err
			}
		}
		out = append(out, Hierarchy{Name: filepath.Base(m.point), Controllers: m.controllers, Dir: dir})
	}
	return out, nil
}

// readSelf reads where the cgroup filesystems are mounted and where this process sits in them.
func readSelf() ([]mount, map[string]string, error) {
	mountinfo, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, nil, err
	}
	defer mountinfo.Close()
	mounts, err := parseMountinfo(mountinfo)
	if err != nil {
		return nil, nil, fmt.Errorf("read /proc/self/mountinfo: %w", err)
	}
	procCgroup, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, nil, err
	}
	defer procCgroup.Close()
	own, err := parseProcCgroup(procCgroup)
	if err != nil {
		return nil, nil, fmt.Errorf("read /proc/self/cgroup: %w", err)
	}
	return mounts, own, nil
}
