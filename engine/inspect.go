package engine

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	mobyctr "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	mobynet "github.com/moby/moby/api/types/network"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/network"
)

// Inspect describes a container as Docker's inspect does, in the Engine API's own type: the
// command line prints it (inspect, inspect -f) and the API server sends it, so the two fronts
// cannot differ. What the API type has no field for (the cleanup error) is in CleanupError.
func (e *Engine) Inspect(ref string) (*mobyctr.InspectResponse, error) {
	st, err := e.Get(ref)
	if err != nil {
		return nil, err
	}
	if st.Broken {
		return &mobyctr.InspectResponse{ID: st.ID, Created: rfc3339(st.Created), Name: "/",
			State: &mobyctr.State{Status: mobyctr.StateDead, Dead: true, Error: st.Error}}, nil
	}
	spec, err := e.containers.Spec(st.ID)
	if err != nil {
		return nil, err
	}
	paused := e.Paused(st)
	volumes, _ := e.containers.readHolds(st.ID, e.volumesDir())
	resp := &mobyctr.InspectResponse{
		ID:      st.ID,
		Created: rfc3339(st.Created),
		State: &mobyctr.State{
			Status: StateText(st, paused), Running: st.Status == Running, Paused: paused, OOMKilled: st.OOMKilled,
			Dead: st.Status == Dead, Pid: st.Pid, ExitCode: st.ExitCode, Error: st.Error,
			StartedAt: rfc3339(st.StartedAt), FinishedAt: rfc3339(st.FinishedAt),
		},
		Image:          st.ImageID,
		ResolvConfPath: filepath.Join(e.containers.etcDir(st.ID), "resolv.conf"),
		HostnamePath:   filepath.Join(e.containers.etcDir(st.ID), "hostname"),
		HostsPath:      filepath.Join(e.containers.etcDir(st.ID), "hosts"),
		LogPath:        e.containers.LogPath(st.ID),
		Name:           "/" + st.Name,
		RestartCount:   st.RestartCount,
		Driver:         st.Driver,
		Platform:       "linux",
		ExecIDs:        nil,
		HostConfig:     e.hostConfig(st, spec, volumes.Volumes),
		Mounts:         e.mountPoints(spec, volumes.Volumes),
		Config:         e.containerConfig(st, spec),
		NetworkSettings: &mobyctr.NetworkSettings{
			Ports:    publishedPorts(st),
			Networks: e.EndpointSettings(st),
		},
	}
	if len(spec.Process.Args) > 0 {
		resp.Path, resp.Args = spec.Process.Args[0], spec.Process.Args[1:]
	}
	return resp, nil
}

// CleanupError is what the container could not give back when it stopped, which Docker's
// inspect has no field for: the fronts add it as State.CleanupError.
func (e *Engine) CleanupError(ref string) string {
	st, err := e.Get(ref)
	if err != nil {
		return ""
	}
	return st.CleanupError
}

// StateText is a container's state as Docker names it: its status, or paused.
func StateText(st *State, paused bool) mobyctr.ContainerState {
	if paused {
		return mobyctr.StatePaused
	}
	return mobyctr.ContainerState(st.Status)
}

// StatusText is what ps says of a container's state, as Docker's: "Up 2 minutes", "Exited (3)
// 5 seconds ago".
func StatusText(st *State, paused bool, now time.Time) string {
	switch st.Status {
	case Running:
		if paused {
			return "Up " + HumanDuration(now.Sub(st.StartedAt)) + " (Paused)"
		}
		return "Up " + HumanDuration(now.Sub(st.StartedAt))
	case Exited:
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, HumanDuration(now.Sub(st.FinishedAt)))
	case Dead:
		return "Dead"
	}
	return "Created"
}

// HumanDuration writes a duration the way Docker's ps and images do.
func HumanDuration(d time.Duration) string {
	seconds := int(d.Seconds())
	switch {
	case seconds < 1:
		return "Less than a second"
	case seconds == 1:
		return "1 second"
	case seconds < 60:
		return fmt.Sprintf("%d seconds", seconds)
	}
	minutes := int(d.Minutes())
	switch {
	case minutes == 1:
		return "About a minute"
	case minutes < 60:
		return fmt.Sprintf("%d minutes", minutes)
	}
	hours := int(d.Hours() + 0.5)
	switch {
	case hours == 1:
		return "About an hour"
	case hours < 48:
		return fmt.Sprintf("%d hours", hours)
	case hours < 24*7*2:
		return fmt.Sprintf("%d days", hours/24)
	case hours < 24*30*2:
		return fmt.Sprintf("%d weeks", hours/24/7)
	case hours < 24*365*2:
		return fmt.Sprintf("%d months", hours/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}

// rfc3339 is a time as Docker's inspect writes it; the zero time as Docker's zero.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// containerConfig is the container's Config: the image's, as run changed it.
func (e *Engine) containerConfig(st *State, spec *specs.Spec) *mobyctr.Config {
	c := &mobyctr.Config{
		Hostname:     spec.Hostname,
		User:         st.Config.User,
		Tty:          spec.Process.Terminal,
		OpenStdin:    st.OpenStdin,
		StdinOnce:    st.OpenStdin && !spec.Process.Terminal,
		AttachStdin:  st.OpenStdin,
		AttachStdout: !st.Detached,
		AttachStderr: !st.Detached,
		Env:          st.Config.Env,
		Cmd:          st.Config.Cmd,
		Entrypoint:   st.Config.Entrypoint,
		Image:        st.Image,
		WorkingDir:   spec.Process.Cwd,
		Labels:       st.Config.Labels,
		StopSignal:   st.Config.StopSignal,
		StopTimeout:  st.StopTimeout,
	}
	if c.Labels == nil {
		c.Labels = map[string]string{} // Docker's {}: templates index it
	}
	if len(st.Config.ExposedPorts) > 0 {
		c.ExposedPorts = mobynet.PortSet{}
		for p := range st.Config.ExposedPorts {
			if port, err := mobynet.ParsePort(p); err == nil {
				c.ExposedPorts[port] = struct{}{}
			}
		}
	}
	if len(st.Config.Volumes) > 0 {
		c.Volumes = maps.Clone(st.Config.Volumes)
	}
	return c
}

// hostConfig is the container's HostConfig: what run asked of the host, read back from its
// state and spec.
func (e *Engine) hostConfig(st *State, spec *specs.Spec, volumes []string) *mobyctr.HostConfig {
	h := &mobyctr.HostConfig{
		NetworkMode:    mobyctr.NetworkMode(st.Network),
		PortBindings:   portBindings(st.PortBindings),
		RestartPolicy:  mobyctr.RestartPolicy{Name: mobyctr.RestartPolicyMode(cmp.Or(st.RestartPolicy.Name, "no")), MaximumRetryCount: st.RestartPolicy.MaxRetries},
		AutoRemove:     st.AutoRemove,
		CapAdd:         st.HostConfig.CapAdd,
		CapDrop:        st.HostConfig.CapDrop,
		Privileged:     st.HostConfig.Privileged,
		UsernsMode:     mobyctr.UsernsMode(st.HostConfig.UsernsMode),
		SecurityOpt:    st.HostConfig.SecurityOpt,
		DNSOptions:     st.Etc.DNSOptions,
		DNSSearch:      st.Etc.DNSSearch,
		ExtraHosts:     st.Etc.ExtraHosts,
		LogConfig:      mobyctr.LogConfig{Type: "json-file", Config: logConfigMap(st.LogConfig)},
		Init:           &st.Init,
		Sysctls:        spec.Linux.Sysctl,
		ReadonlyRootfs: spec.Root.Readonly,
	}
	for _, d := range st.Etc.DNS {
		if a, err := netip.ParseAddr(d); err == nil {
			h.DNS = append(h.DNS, a)
		}
	}
	for _, l := range st.Links { // Docker writes them /NAME:/CONTAINER/ALIAS
		name, alias, _ := strings.Cut(l, ":")
		h.Links = append(h.Links, "/"+name+":/"+st.Name+"/"+cmp.Or(alias, name))
	}
	for _, m := range userMounts(spec) {
		ro := slices.Contains(m.Options, "ro")
		switch {
		case m.Type == "tmpfs":
			if h.Tmpfs == nil {
				h.Tmpfs = map[string]string{}
			}
			h.Tmpfs[m.Destination] = strings.Join(m.Options, ",")
		default:
			source := m.Source
			if v, ok := e.volumeOf(m.Source, volumes); ok {
				source = v
			}
			bind := source + ":" + m.Destination
			if ro {
				bind += ":ro"
			}
			h.Binds = append(h.Binds, bind)
		}
	}
	if r := spec.Linux.Resources; r != nil {
		if r.Memory != nil {
			h.Memory = derefInt64(r.Memory.Limit)
			h.MemorySwap = derefInt64(r.Memory.Swap)
		}
		if r.CPU != nil {
			h.CPUShares = int64(derefUint64(r.CPU.Shares))
			h.CPUQuota = derefInt64(r.CPU.Quota)
			h.CPUPeriod = int64(derefUint64(r.CPU.Period))
			h.CpusetCpus, h.CpusetMems = r.CPU.Cpus, r.CPU.Mems
		}
		if r.Pids != nil && r.Pids.Limit != nil {
			limit := *r.Pids.Limit
			h.PidsLimit = &limit
		}
	}
	return h
}

// mountPoints are the container's mounts as inspect lists them: binds, named volumes (by
// name, with their directory) and tmpfs, not the /etc files the engine writes.
func (e *Engine) mountPoints(spec *specs.Spec, volumes []string) []mobyctr.MountPoint {
	out := []mobyctr.MountPoint{}
	for _, m := range userMounts(spec) {
		rw := !slices.Contains(m.Options, "ro")
		switch {
		case m.Type == "tmpfs":
			out = append(out, mobyctr.MountPoint{Type: mount.TypeTmpfs, Destination: m.Destination, RW: rw})
		default:
			p := mobyctr.MountPoint{Type: mount.TypeBind, Source: m.Source, Destination: m.Destination, RW: rw, Propagation: mount.PropagationRPrivate}
			if name, ok := e.volumeOf(m.Source, volumes); ok {
				p = mobyctr.MountPoint{Type: mount.TypeVolume, Name: name, Source: m.Source, Destination: m.Destination, Driver: "local", RW: rw}
			}
			if !rw {
				p.Mode = "ro"
			}
			out = append(out, p)
		}
	}
	return out
}

// userMounts are the spec's mounts the user asked for (-v, --mount, --tmpfs): the binds and
// tmpfs after the default ones and the /etc files.
func userMounts(spec *specs.Spec) []specs.Mount {
	defaults := map[string]bool{"/proc": true, "/dev": true, "/dev/pts": true, "/dev/shm": true, "/dev/mqueue": true, "/sys": true, "/sys/fs/cgroup": true}
	var out []specs.Mount
	for _, m := range spec.Mounts {
		if defaults[m.Destination] || slices.Contains(etcMountPoints, m.Destination) {
			continue
		}
		if m.Type == "bind" || m.Type == "tmpfs" {
			out = append(out, m)
		}
	}
	return out
}

// volumeOf names the volume whose directory source is, when it is one of volumes.
func (e *Engine) volumeOf(source string, volumes []string) (string, bool) {
	for _, v := range volumes {
		if source == filepath.Join(e.volumesDir(), v, "_data") {
			return v, true
		}
	}
	return "", false
}

// portBindings are the ports a container asked to publish, as HostConfig.PortBindings has them.
func portBindings(bindings []network.PortMapping) mobynet.PortMap {
	out := mobynet.PortMap{}
	for _, b := range bindings {
		port, err := mobynet.ParsePort(fmt.Sprintf("%d/%s", b.ContainerPort, b.Proto))
		if err != nil {
			continue
		}
		pb := mobynet.PortBinding{}
		if b.HostIP != "" {
			pb.HostIP, _ = netip.ParseAddr(b.HostIP)
		}
		if b.HostPort != 0 {
			pb.HostPort = strconv.Itoa(int(b.HostPort))
		}
		out[port] = append(out[port], pb)
	}
	return out
}

// publishedPorts are NetworkSettings.Ports: while the container runs, each exposed or
// published port with its host address and port (none for one only exposed), as Docker's.
func publishedPorts(st *State) mobynet.PortMap {
	out := mobynet.PortMap{}
	if st.Status != Running {
		return out
	}
	for p := range st.Config.ExposedPorts {
		if port, err := mobynet.ParsePort(p); err == nil {
			out[port] = nil
		}
	}
	for _, p := range st.Ports {
		port, err := mobynet.ParsePort(fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto))
		if err != nil {
			continue
		}
		ip := netip.IPv4Unspecified()
		if p.HostIP != "" {
			ip, _ = netip.ParseAddr(p.HostIP)
		}
		out[port] = append(out[port], mobynet.PortBinding{HostIP: ip, HostPort: strconv.Itoa(int(p.HostPort))})
	}
	return out
}

func logConfigMap(c LogConfig) map[string]string {
	m := map[string]string{}
	if c.MaxSize > 0 {
		m["max-size"] = strconv.FormatInt(c.MaxSize, 10)
	}
	if c.MaxFile > 0 {
		m["max-file"] = strconv.Itoa(c.MaxFile)
	}
	return m
}

func derefInt64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func derefUint64(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

// ShortID is a container id as ps writes it.
var ShortID = container.ShortID

// Summary describes a container as the API's container list (and ps) does.
func (e *Engine) Summary(st *State, paused bool, now time.Time) mobyctr.Summary {
	args := append(slices.Clone(st.Config.Entrypoint), st.Config.Cmd...)
	sum := mobyctr.Summary{
		ID: st.ID, Names: []string{"/" + st.Name}, Image: st.Image, ImageID: st.ImageID,
		Command: strings.Join(args, " "), Created: st.Created.Unix(), Labels: st.Config.Labels,
		State: StateText(st, paused), Status: StatusText(st, paused, now),
		Ports:           []mobyctr.PortSummary{},
		NetworkSettings: &mobyctr.NetworkSettingsSummary{Networks: e.EndpointSettings(st)},
		Mounts:          []mobyctr.MountPoint{},
	}
	if sum.Labels == nil {
		sum.Labels = map[string]string{}
	}
	sum.HostConfig.NetworkMode = st.Network
	if st.Status == Running {
		for _, p := range st.Ports {
			ps := mobyctr.PortSummary{PrivatePort: p.ContainerPort, PublicPort: p.HostPort, Type: p.Proto, IP: netip.IPv4Unspecified()}
			if p.HostIP != "" {
				ps.IP, _ = netip.ParseAddr(p.HostIP)
			}
			sum.Ports = append(sum.Ports, ps)
		}
	}
	return sum
}
