package engine

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mydocker/mydocker/network"
	"github.com/mydocker/mydocker/runconfig"
)

// Options are what `mydocker run` asks for, already parsed: the spec's part (runconfig), and
// what the engine does around the container.
type Options struct {
	runconfig.Options
	Image string // image reference as the user typed it
	Name  string // empty: a generated name
	User  string // user[:group], names or ids, resolved in the image; empty: root
	// Networks are the networks the container joins, in order: user networks' names, bridge
	// (Docker's default one), host or none; none given: the default bridge network. The first
	// has the container's default route and its published ports.
	Networks []string
	// NetworkAliases are more names the container answers to on its first network
	// (--network-alias); Links are --link NAME[:ALIAS], /etc/hosts entries for containers.
	NetworkAliases []string
	Links          []string
	Ports          []network.PortMapping // published ports, already parsed
	Interactive    bool                  // keep stdin open
	Detach         bool
	AutoRemove     bool      // remove the container when it exits
	NoPivot        bool      // chroot instead of pivot_root
	Driver         string    // rootfs driver; empty: the first the kernel supports
	SecurityOpt    []string  // the security options as the user gave them, for inspect
	LogConfig      LogConfig // the log's rotation (ParseLogOpts)
	// Etc is what the user adds to the container's /etc/hosts and /etc/resolv.conf.
	Etc network.EtcOptions
	// StopTimeout is the seconds stop waits before SIGKILL; nil: stop's own (10).
	StopTimeout *int
	// CIDFile, when set, is a file create writes the container's id to; it must not exist.
	CIDFile string
	// Init keeps the runtime's init as PID 1, the command its child (run --init).
	Init bool
	// PublishAll publishes every port the container exposes on a free host port (-P).
	PublishAll bool
	// RestartPolicy says when the container's monitor starts it again (detached and
	// started containers: a foreground run's container has no monitor).
	RestartPolicy RestartPolicy
	// NamedVolumes are -v NAME:/path mounts: the volume is made on first use.
	NamedVolumes []NamedVolume
	// UsernsMode is run --userns: "host" keeps the container in the host's user namespace
	// when the engine remaps its containers' users (RemapUsers); "" lets it.
	UsernsMode string
}

// NamedVolume is one -v NAME:/path[:ro]; an empty name is an anonymous volume (--mount
// type=volume without a source), given a random name when made.
type NamedVolume struct {
	Name, Destination string
	ReadOnly          bool
}

// networkNames are the networks the container joins (Networks, or Docker's default, the
// bridge network, made on first use), checked as Docker's run checks them.
func (o *Options) networkNames() ([]string, error) {
	names := o.Networks
	if len(names) == 0 {
		names = []string{network.DefaultName}
	}
	first := names[0]
	for i, n := range names {
		if (n == "none" || n == "host") && len(names) > 1 {
			return nil, errors.New("conflicting options: cannot attach both user-defined and non-user-defined network-modes")
		}
		if slices.Contains(names[:i], n) {
			return nil, fmt.Errorf("conflicting options: network %s is given twice", n)
		}
	}
	if len(o.Ports) > 0 && (first == "none" || first == "host") {
		return nil, fmt.Errorf("conflicting options: port publishing and the container type network mode %s", first)
	}
	if len(o.NetworkAliases) > 0 && (!isBridgeNetwork(first) || first == network.DefaultName) {
		return nil, errors.New("network-scoped aliases are only supported for user-defined networks")
	}
	if len(o.Links) > 0 && first == "host" {
		return nil, errors.New("conflicting options: host type networking can't be used with links")
	}
	for _, l := range o.Links {
		if name, alias, _ := strings.Cut(l, ":"); name == "" || strings.Contains(alias, ":") {
			return nil, fmt.Errorf("invalid argument %q for \"--link\" flag: want NAME[:ALIAS]", l)
		}
	}
	return names, nil
}

// RestartPolicy is --restart: no, always, unless-stopped or on-failure[:MaxRetries].
type RestartPolicy struct {
	Name       string `json:"name,omitempty"`
	MaxRetries int    `json:"max_retries,omitempty"`
}

// ParseRestartPolicy reads --restart as Docker does.
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	name, retries, hasRetries := strings.Cut(s, ":")
	p := RestartPolicy{Name: name}
	switch name {
	case "", "no", "always", "unless-stopped":
		if hasRetries {
			return p, fmt.Errorf("invalid restart policy %q: maximum retry count only for on-failure", s)
		}
		if name == "no" {
			p.Name = ""
		}
	case "on-failure":
		if hasRetries {
			n, err := strconv.Atoi(retries)
			if err != nil || n < 0 {
				return p, fmt.Errorf("invalid restart policy %q: maximum retry count must be a number of 0 or more", s)
			}
			p.MaxRetries = n
		}
	default:
		return p, fmt.Errorf("invalid restart policy %q: no, always, unless-stopped or on-failure[:N]", s)
	}
	return p, nil
}
