package cgroups

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// mount is one cgroup filesystem of /proc/self/mountinfo.
type mount struct {
	root, point string
	v2          bool
	controllers []string // v1: the controllers this hierarchy carries
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
			var ctrls []string
			for _, o := range strings.Split(g[2], ",") {
				if o != "rw" && o != "ro" && !strings.HasPrefix(o, "name=") && !strings.Contains(o, "=") {
					ctrls = append(ctrls, o)
				}
			}
			out = append(out, mount{root: f[3], point: f[4], controllers: ctrls})
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

// v1Dirs maps each controller to this process's cgroup directory in its hierarchy.
func v1Dirs(mounts []mount, own map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range mounts {
		if m.v2 {
			continue
		}
		for _, c := range m.controllers {
			if path, ok := own[c]; ok {
				if dir, err := ownDir(m, path); err == nil {
					out[c] = dir
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
