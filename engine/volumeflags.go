package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/workspace"
)

// Volumes are what a container mounts beside its image, as -v and --mount (and the Engine
// API's Binds and Mounts, which say the same) ask for it: bind mounts, named and anonymous
// volumes, tmpfs (--tmpfs's PATH[:OPTIONS]).
type Volumes struct {
	Binds []specs.Mount
	Named []NamedVolume
	Tmpfs []string
}

// AddVolumeFlag adds a -v value: HOST:CONTAINER[:ro|rw], a bind mount; NAME:CONTAINER[:ro|rw],
// a named volume; /CONTAINER, an anonymous one.
func (v *Volumes) AddVolumeFlag(s string) error {
	if nv, ok, err := parseNamedVolume(s); ok || err != nil {
		if err == nil {
			v.Named = append(v.Named, nv)
		}
		return err
	}
	m, err := workspace.ParseVolumeFlag(s)
	if err != nil {
		return err
	}
	v.Binds = append(v.Binds, m)
	return nil
}

// AddMountFlag adds a --mount value (type=bind|volume|tmpfs,source=...,target=...).
func (v *Volumes) AddMountFlag(s string) error {
	kind, m, nv, tmpfs, err := parseMount(s)
	if err != nil {
		return err
	}
	switch kind {
	case "bind":
		v.Binds = append(v.Binds, m)
	case "volume":
		v.Named = append(v.Named, nv)
	case "tmpfs":
		v.Tmpfs = append(v.Tmpfs, tmpfs)
	}
	return nil
}

// parseMount reads --mount type=bind|volume|tmpfs,source=...,target=...[,readonly] into a
// bind mount, a named volume or a --tmpfs value, by kind. Unlike -v, a bind's source must exist.
func parseMount(s string) (kind string, m specs.Mount, nv NamedVolume, tmpfs string, err error) {
	kind = "volume"
	var source, target, size, mode string
	readonly := false
	for _, field := range strings.Split(s, ",") {
		k, v, hasValue := strings.Cut(field, "=")
		switch strings.ToLower(k) {
		case "type":
			kind = v
		case "source", "src":
			source = v
		case "target", "destination", "dst":
			target = v
		case "readonly", "ro":
			readonly = !hasValue || v == "true" || v == "1"
		case "tmpfs-size":
			size = v
		case "tmpfs-mode":
			mode = v
		case "bind-propagation", "consistency", "volume-nocopy":
		default:
			return "", m, nv, "", fmt.Errorf("invalid argument %q for \"--mount\" flag: unknown option %q", s, k)
		}
	}
	if !filepath.IsAbs(target) {
		return "", m, nv, "", fmt.Errorf("invalid argument %q for \"--mount\" flag: target must be an absolute path", s)
	}
	rw := "rw"
	if readonly {
		rw = "ro"
	}
	switch kind {
	case "bind":
		if !filepath.IsAbs(source) {
			return "", m, nv, "", fmt.Errorf("invalid argument %q for \"--mount\" flag: a bind's source must be an absolute path", s)
		}
		if _, err := os.Stat(source); err != nil {
			return "", m, nv, "", fmt.Errorf("invalid mount config for type \"bind\": bind source path does not exist: %s", source)
		}
		m = specs.Mount{Type: "bind", Source: filepath.Clean(source), Destination: filepath.Clean(target), Options: []string{"rbind", "rprivate", rw}}
	case "volume":
		// No source: an anonymous volume, named by VolumeCreate.
		if source != "" && !IsVolumeName(source) {
			return "", m, nv, "", fmt.Errorf("invalid argument %q for \"--mount\" flag: %q is not a volume name", s, source)
		}
		nv = NamedVolume{Name: source, Destination: filepath.Clean(target), ReadOnly: readonly}
	case "tmpfs":
		var opts []string
		if size != "" {
			n, err := cgroups.RAMInBytes(size)
			if err != nil {
				return "", m, nv, "", fmt.Errorf("invalid argument %q for \"--mount\" flag: tmpfs-size: %w", s, err)
			}
			opts = append(opts, fmt.Sprintf("size=%dk", (n+1023)/1024))
		}
		if mode != "" {
			opts = append(opts, "mode="+mode)
		}
		if readonly {
			opts = append(opts, "ro")
		}
		tmpfs = target
		if len(opts) > 0 {
			tmpfs += ":" + strings.Join(opts, ",")
		}
	default:
		return "", m, nv, "", fmt.Errorf("invalid argument %q for \"--mount\" flag: type must be bind, volume or tmpfs", s)
	}
	return kind, m, nv, tmpfs, nil
}

// parseNamedVolume reads -v NAME:/path[:ro|rw], a named volume, or -v /path, an anonymous
// one; ok is false for a host path.
func parseNamedVolume(s string) (nv NamedVolume, ok bool, err error) {
	parts := strings.Split(s, ":")
	if len(parts) == 1 && filepath.IsAbs(s) {
		if nv.Destination = filepath.Clean(s); nv.Destination == "/" {
			return nv, true, fmt.Errorf("invalid volume %q: cannot mount a volume over the container's root", s)
		}
		return nv, true, nil
	}
	if len(parts) < 2 || len(parts) > 3 || filepath.IsAbs(parts[0]) {
		return nv, false, nil
	}
	if !IsVolumeName(parts[0]) {
		return nv, true, fmt.Errorf("invalid volume %q: %q is neither an absolute host path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)", s, parts[0])
	}
	nv = NamedVolume{Name: parts[0], Destination: filepath.Clean(parts[1])}
	if !filepath.IsAbs(parts[1]) || nv.Destination == "/" {
		return nv, true, fmt.Errorf("invalid volume %q: the container path %q must be absolute, and not /", s, parts[1])
	}
	if len(parts) == 3 {
		if parts[2] != "ro" && parts[2] != "rw" {
			return nv, true, fmt.Errorf("invalid volume %q: unknown mode %q, want ro or rw", s, parts[2])
		}
		nv.ReadOnly = parts[2] == "ro"
	}
	return nv, true, nil
}
