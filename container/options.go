package container

import (
	"errors"
	"fmt"
	"os"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/network"
)

// ErrNoCommand is returned when neither the command line nor the image names a command.
var ErrNoCommand = errors.New("no command specified")

// Options are what `mydocker run` asks for, already parsed. Each becomes a change to the spec
// (Spec) or to how the container is started (Run).
type Options struct {
	Image       string   // image reference as the user typed it
	Cmd         []string // command and arguments; empty means the image's
	Name        string   // empty: a generated name
	Hostname    string   // empty: the short container id
	Env         []string // -e KEY=VALUE, or -e KEY to pass the caller's value
	Workdir     string
	User        string                // -u user[:group], names or ids; empty: root
	ReadOnly    bool                  // --read-only root filesystem
	Resources   *specs.LinuxResources // limits, already parsed (cgroups.ParseResources); nil: none
	Network     string                // --net: a network's name, "bridge", "host" or "none"; "": none, or bridge with -p
	Ports       []network.PortMapping // -p, already parsed
	Mounts      []specs.Mount         // volumes, already parsed
	Interactive bool                  // -i: keep stdin open
	Tty         bool                  // -t: allocate a pseudo-terminal
	Detach      bool
	AutoRemove  bool // --rm
	NoPivot     bool // chroot instead of pivot_root
	Driver      string
}

// Spec builds the container's runtime spec: DefaultSpec, then the image's config, then the
// flags, in the order Docker applies them. It also returns the container's config in the
// image's terms (what commit gives the new image).
func (o *Options) Spec(id string, img ocispec.ImageConfig) (*specs.Spec, ocispec.ImageConfig, error) {
	spec := DefaultSpec()
	config := img
	if len(o.Cmd) > 0 {
		config.Cmd = o.Cmd
	}
	args := append(append([]string{}, config.Entrypoint...), config.Cmd...)
	if len(args) == 0 {
		return nil, config, ErrNoCommand
	}
	spec.Process.Args = args

	spec.Hostname = o.Hostname
	if spec.Hostname == "" {
		spec.Hostname = ShortID(id)
	}
	env := []string{DefaultPath, "HOSTNAME=" + spec.Hostname}
	if o.Tty {
		env = append(env, "TERM=xterm")
	}
	env = mergeEnv(env, img.Env)
	userEnv, err := expandEnv(o.Env, os.LookupEnv)
	if err != nil {
		return nil, config, err
	}
	spec.Process.Env = mergeEnv(env, userEnv)
	config.Env = mergeEnv(img.Env, userEnv)

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
	spec.Linux.Resources = o.Resources
	spec.Linux.CgroupsPath = cgroups.Parent + "/" + id
	spec.Linux.Namespaces = o.namespaces()
	spec.Mounts = append(spec.Mounts, o.Mounts...)
	return spec, config, nil
}

// namespaces are the namespaces the container gets: Spec puts them in the spec, and Run forks
// the init in them before the spec exists.
func (o *Options) namespaces() []specs.LinuxNamespace {
	var out []specs.LinuxNamespace
	for _, ns := range DefaultSpec().Linux.Namespaces {
		if ns.Type != specs.NetworkNamespace || o.Network != "host" {
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

// networkName is the network the container joins: --net, or with -p and no --net the default
// bridge network, else none.
func (o *Options) networkName() (string, error) {
	name := o.Network
	if name == "" {
		name = "none"
		if len(o.Ports) > 0 {
			name = network.DefaultName
		}
	}
	if len(o.Ports) > 0 && (name == "none" || name == "host") {
		return "", fmt.Errorf("-p publishes ports on a bridge network, not with --net %s", name)
	}
	return name, nil
}

// mergeEnv returns base with each KEY=VALUE of overrides replacing the same key in place,
// or appended when base lacks it (Docker's ReplaceOrAppendEnvValues).
func mergeEnv(base, overrides []string) []string {
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

// expandEnv validates -e values; a bare KEY takes the caller's value and is dropped when the
// caller has none, as Docker does.
func expandEnv(env []string, lookup func(string) (string, bool)) ([]string, error) {
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
