// Package runconfig turns what a user asks of `run` — a command, an environment, a working
// directory, limits, mounts — and an image's config into a container's OCI runtime spec, by
// Docker's rules: DefaultSpec first, then the image's config, then the user's choices. The
// engine calls it for mydocker, and the chapters' programs for their containers; the runtime
// (package container) then takes the spec as it is.
package runconfig

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
)

// ErrNoCommand is returned when neither the command line nor the image names a command.
var ErrNoCommand = errors.New("no command specified")

// Options are the parts of a container's spec a user chooses, already parsed.
type Options struct {
	Cmd         []string              // command and arguments; empty means the image's
	Hostname    string                // empty: the short container id
	Env         []string              // KEY=VALUE, or KEY to pass the caller's value
	Workdir     string                // empty: the image's, else /
	ReadOnly    bool                  // a read-only root filesystem
	Resources   *specs.LinuxResources // limits, already parsed (cgroups.ParseResources); nil: none
	Mounts      []specs.Mount         // volumes, already parsed
	Tty         bool                  // allocate a pseudo-terminal
	HostNetwork bool                  // share the host's network namespace
	Entrypoint  []string              // nil keeps the image's; empty, not nil, clears it (--entrypoint "")
	Labels      map[string]string     // added to the image's labels
	StopSignal  string                // the signal stop sends; empty: the image's, else SIGTERM
	Tmpfs       []string              // --tmpfs PATH[:OPTIONS]: a tmpfs mounted there
	Expose      []string              // --expose PORT[/PROTO]: added to the exposed ports
	ShmSize     int64                 // bytes of /dev/shm; 0: Docker's 64 MB
	Sysctls     map[string]string     // --sysctl, already parsed (ParseSysctls)
	// UserNS gives the container a user namespace of its own, with these mappings (the
	// engine's --userns-remap); nil: the caller's.
	UserNS   *UserNS
	Security // capabilities, seccomp, devices, rlimits
}

// UserNS are the mappings of a container's own user namespace: container ids to host ids.
type UserNS struct {
	UIDMappings []specs.LinuxIDMapping `json:"uid_mappings"`
	GIDMappings []specs.LinuxIDMapping `json:"gid_mappings"`
}

// Spec builds the container's runtime spec: DefaultSpec, then the image's config, then the
// options, in the order Docker applies them. It also returns the container's config in the
// image's terms (what commit gives the new image).
func (o *Options) Spec(id string, img ocispec.ImageConfig) (*specs.Spec, ocispec.ImageConfig, error) {
	spec := container.DefaultSpec()
	config := img
	if o.Entrypoint != nil {
		// As Docker: an entrypoint given to run drops the image's command along with its
		// entrypoint, which were written for each other.
		config.Entrypoint, config.Cmd = nil, nil
		if len(o.Entrypoint) > 0 {
			config.Entrypoint = o.Entrypoint
		}
	}
	if len(o.Cmd) > 0 {
		config.Cmd = o.Cmd
	}
	if len(o.Labels) > 0 {
		config.Labels = maps.Clone(img.Labels)
		if config.Labels == nil {
			config.Labels = map[string]string{}
		}
		maps.Copy(config.Labels, o.Labels)
	}
	if len(o.Expose) > 0 {
		config.ExposedPorts = maps.Clone(img.ExposedPorts)
		if config.ExposedPorts == nil {
			config.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range o.Expose {
			num, proto, _ := strings.Cut(p, "/")
			proto = cmp.Or(proto, "tcp")
			if n, err := strconv.ParseUint(num, 10, 16); err != nil || n == 0 || (proto != "tcp" && proto != "udp") {
				return nil, config, fmt.Errorf("invalid argument %q for \"--expose\" flag: PORT[/tcp|udp]", p)
			}
			config.ExposedPorts[num+"/"+proto] = struct{}{}
		}
	}
	if o.StopSignal != "" {
		if _, err := container.ParseSignal(o.StopSignal); err != nil {
			return nil, config, fmt.Errorf("invalid argument %q for \"--stop-signal\" flag: %w", o.StopSignal, err)
		}
		config.StopSignal = o.StopSignal
	}
	args := append(append([]string{}, config.Entrypoint...), config.Cmd...)
	if len(args) == 0 {
		return nil, config, ErrNoCommand
	}
	spec.Process.Args = args

	spec.Hostname = o.Hostname
	if spec.Hostname == "" {
		spec.Hostname = container.ShortID(id)
	}
	env := MergeEnv(DefaultEnv(spec.Hostname, o.Tty), img.Env)
	userEnv, err := ExpandEnv(o.Env, os.LookupEnv)
	if err != nil {
		return nil, config, err
	}
	spec.Process.Env = MergeEnv(env, userEnv)
	// The container's config keeps Docker's order: the user's settings, then the image's
	// that the user did not set (what inspect shows, and commit records).
	config.Env = MergeEnv(userEnv, unsetIn(userEnv, img.Env))

	spec.Process.Cwd = "/"
	if img.WorkingDir != "" {
		spec.Process.Cwd = img.WorkingDir
	}
	if o.Workdir != "" {
		if !strings.HasPrefix(o.Workdir, "/") {
			return nil, config, fmt.Errorf("the working directory %q is invalid: it needs to be an absolute path", o.Workdir)
		}
		spec.Process.Cwd = o.Workdir
		config.WorkingDir = o.Workdir
	}
	spec.Process.Terminal = o.Tty
	spec.Root.Readonly = o.ReadOnly
	if o.Resources != nil {
		// The limits, beside the default spec's device rules.
		r := *o.Resources
		r.Devices = append(slices.Clone(spec.Linux.Resources.Devices), r.Devices...)
		spec.Linux.Resources = &r
	}
	spec.Linux.CgroupsPath = cgroups.Parent + "/" + id
	spec.Linux.Namespaces = o.Namespaces()
	if o.UserNS != nil {
		spec.Linux.UIDMappings, spec.Linux.GIDMappings = o.UserNS.UIDMappings, o.UserNS.GIDMappings
	}
	if err := o.setSysctls(spec); err != nil {
		return nil, config, err
	}
	o.dropUnmappedGroups(spec)
	if o.ShmSize > 0 {
		for i, m := range spec.Mounts {
			if m.Destination == "/dev/shm" {
				opts := slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return strings.HasPrefix(o, "size=") })
				spec.Mounts[i].Options = append(opts, fmt.Sprintf("size=%dk", (o.ShmSize+1023)/1024))
			}
		}
	}
	for _, t := range o.Tmpfs {
		path, opts, _ := strings.Cut(t, ":")
		if !strings.HasPrefix(path, "/") {
			return nil, config, fmt.Errorf("invalid argument %q for \"--tmpfs\" flag: the mount point must be an absolute path", t)
		}
		options := []string{"nosuid", "nodev", "noexec"} // Docker's, before the user's
		if opts != "" {
			options = append(options, strings.Split(opts, ",")...)
		}
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: path, Type: "tmpfs", Source: "tmpfs", Options: options})
	}
	spec.Mounts = append(spec.Mounts, o.Mounts...)
	if err := o.applySecurity(spec); err != nil {
		return nil, config, err
	}
	return spec, config, nil
}

// InitLinux is what a caller that forks the init before the spec exists (container.StartInit)
// needs of the spec's linux section: the namespaces, and a user namespace's mappings.
func (o *Options) InitLinux() *specs.Linux {
	l := &specs.Linux{Namespaces: o.Namespaces()}
	if o.UserNS != nil {
		l.UIDMappings, l.GIDMappings = o.UserNS.UIDMappings, o.UserNS.GIDMappings
	}
	return l
}

// Namespaces are the namespaces the container gets: Spec puts them in the spec.
func (o *Options) Namespaces() []specs.LinuxNamespace {
	var out []specs.LinuxNamespace
	if o.UserNS != nil {
		// First: the namespaces made with it are its own.
		out = append(out, specs.LinuxNamespace{Type: specs.UserNamespace})
	}
	for _, ns := range container.DefaultSpec().Linux.Namespaces {
		if ns.Type != specs.NetworkNamespace || !o.HostNetwork {
			out = append(out, ns)
		}
	}
	// On cgroup v2, as Docker: a private cgroup namespace, so that the container's
	// /sys/fs/cgroup is its own cgroup. v1 keeps the host's (its /sys/fs/cgroup is binds).
	if cgroups.DetectMode() == cgroups.Unified {
		out = append(out, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return out
}

// DefaultEnv is the environment every process of a container starts from, the image's and
// the user's settings then merged over it (Docker's CreateDaemonEnvironment): the default PATH,
// HOSTNAME, and with a terminal (run -t, exec -t) TERM=xterm.
func DefaultEnv(hostname string, tty bool) []string {
	env := []string{container.DefaultPath, "HOSTNAME=" + hostname}
	if tty {
		env = append(env, "TERM=xterm")
	}
	return env
}

// MergeEnv returns base with each KEY=VALUE of overrides replacing the same key in place,
// or appended when base lacks it (Docker's ReplaceOrAppendEnvValues).
func MergeEnv(base, overrides []string) []string {
	out := append([]string{}, base...)
	index := make(map[string]int, len(out))
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		index[k] = i
	}
	for _, kv := range overrides {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := index[k]; ok {
			out[i] = kv
			continue
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	return out
}

// unsetIn returns the KEY=VALUE settings of env whose key set does not set.
func unsetIn(set, env []string) []string {
	keys := make(map[string]bool, len(set))
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		keys[k] = true
	}
	var out []string
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !keys[k] {
			out = append(out, kv)
		}
	}
	return out
}

// ExpandEnv validates KEY=VALUE settings; a bare KEY takes the caller's value (lookup) and is
// dropped when the caller has none, as Docker does.
func ExpandEnv(env []string, lookup func(string) (string, bool)) ([]string, error) {
	var out []string
	for _, e := range env {
		k, v, hasValue := strings.Cut(e, "=")
		if k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("invalid environment variable %q: want KEY=VALUE", e)
		}
		if !hasValue {
			var ok bool
			if v, ok = lookup(k); !ok {
				continue
			}
		}
		out = append(out, k+"="+v)
	}
	return out, nil
}
