package api

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	mobyctr "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/network"
	"github.com/mydocker/mydocker/runconfig"
)

// containerCreate is POST /containers/create?name=: the request's Config, HostConfig and
// NetworkingConfig read into the options the command line's run flags give, and the
// container made as create makes it.
func (s *Server) containerCreate(w http.ResponseWriter, r *http.Request) error {
	var req mobyctr.CreateRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Config == nil || req.Config.Image == "" {
		return badRequest("config of the container: no image given")
	}
	opts, err := createOptions(&req, r.URL.Query().Get("name"))
	if err != nil {
		return badRequest("%v", err)
	}
	id, err := s.e.Create(opts)
	if err != nil {
		return badRequestUnlessKnown(err)
	}
	writeJSON(w, http.StatusCreated, mobyctr.CreateResponse{ID: id, Warnings: []string{}})
	return nil
}

// createOptions reads a create request as the engine takes it.
func createOptions(req *mobyctr.CreateRequest, name string) (*engine.Options, error) {
	c, h := req.Config, req.HostConfig
	if h == nil {
		h = &mobyctr.HostConfig{}
	}
	if err := refuseUnsupported(c, h); err != nil {
		return nil, err
	}
	o := &engine.Options{
		Options: runconfig.Options{
			Cmd:        c.Cmd,
			Hostname:   c.Hostname,
			Env:        c.Env,
			Workdir:    c.WorkingDir,
			ReadOnly:   h.ReadonlyRootfs,
			Tty:        c.Tty,
			Entrypoint: c.Entrypoint,
			Labels:     c.Labels,
			StopSignal: c.StopSignal,
			ShmSize:    h.ShmSize,
			Sysctls:    h.Sysctls,
			Security: runconfig.Security{
				CapAdd: h.CapAdd, CapDrop: h.CapDrop, Privileged: h.Privileged,
			},
		},
		Image:       c.Image,
		Name:        strings.TrimPrefix(name, "/"),
		User:        c.User,
		Interactive: c.OpenStdin,
		Detach:      true, // under a monitor, its output logged: what attach and logs read
		AutoRemove:  h.AutoRemove,
		SecurityOpt: h.SecurityOpt,
		StopTimeout: c.StopTimeout,
		PublishAll:  h.PublishAllPorts,
		Init:        h.Init != nil && *h.Init,
		UsernsMode:  string(h.UsernsMode),
		Etc: network.EtcOptions{
			ExtraHosts: h.ExtraHosts, DNSSearch: h.DNSSearch, DNSOptions: h.DNSOptions,
		},
	}
	for _, d := range h.DNS {
		o.Etc.DNS = append(o.Etc.DNS, d.String())
	}
	for p := range c.ExposedPorts {
		o.Expose = append(o.Expose, p.String())
	}
	slices.Sort(o.Expose)
	for _, opt := range h.SecurityOpt {
		if err := o.Security.AddSecurityOpt(opt); err != nil {
			return nil, err
		}
	}
	for _, u := range h.Ulimits {
		o.Security.Rlimits = append(o.Security.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(u.Name), Soft: uint64(u.Soft), Hard: uint64(u.Hard)})
	}
	for _, d := range h.Devices {
		m, err := runconfig.ParseDevice(d.PathOnHost + ":" + d.PathInContainer + ":" + d.CgroupPermissions)
		if err != nil {
			return nil, err
		}
		o.Security.Devices = append(o.Security.Devices, m)
	}
	if err := resources(o, h); err != nil {
		return nil, err
	}
	if err := volumes(o, c, h); err != nil {
		return nil, err
	}
	if err := ports(o, h); err != nil {
		return nil, err
	}
	networks(o, h, req)
	for _, l := range h.Links { // name:alias, or as dockerd writes them, /name:/container/alias
		target, alias, _ := strings.Cut(l, ":")
		o.Links = append(o.Links, strings.TrimPrefix(target, "/")+":"+alias[strings.LastIndex(alias, "/")+1:])
	}
	if h.RestartPolicy.Name != "" {
		p, err := engine.ParseRestartPolicy(string(h.RestartPolicy.Name))
		if err != nil {
			return nil, err
		}
		p.MaxRetries = h.RestartPolicy.MaximumRetryCount
		o.RestartPolicy = p
	}
	if h.LogConfig.Type != "" && h.LogConfig.Type != "json-file" {
		return nil, fmt.Errorf("log driver %q is not supported: mydocker logs in json-file", h.LogConfig.Type)
	}
	var logOpts []string
	for _, k := range slices.Sorted(maps.Keys(h.LogConfig.Config)) {
		logOpts = append(logOpts, k+"="+h.LogConfig.Config[k])
	}
	lc, err := engine.ParseLogOpts(logOpts)
	if err != nil {
		return nil, err
	}
	o.LogConfig = lc
	return o, nil
}

// refuseUnsupported refuses what a request asks that mydocker does not do, rather than make a
// container that lacks it: a health check (compose's service_healthy would wait for ever),
// another container's volumes or namespaces, the host's PID or IPC namespace.
func refuseUnsupported(c *mobyctr.Config, h *mobyctr.HostConfig) error {
	if hc := c.Healthcheck; hc != nil && len(hc.Test) > 0 && hc.Test[0] != "NONE" {
		return fmt.Errorf("health checks are not supported by mydocker (healthcheck: %q)", hc.Test)
	}
	if len(h.VolumesFrom) > 0 {
		return fmt.Errorf("--volumes-from is not supported by mydocker: name the volumes (%q)", h.VolumesFrom)
	}
	for what, mode := range map[string]string{"pid": string(h.PidMode), "ipc": string(h.IpcMode), "uts": string(h.UTSMode), "cgroupns": string(h.CgroupnsMode)} {
		if mode != "" && mode != "private" && !(what == "ipc" && mode == "shareable") {
			return fmt.Errorf("--%s %s is not supported by mydocker: a container has namespaces of its own", what, mode)
		}
	}
	if h.Runtime != "" && h.Runtime != "runc" {
		return fmt.Errorf("runtime %q is not supported: mydocker runs containers itself", h.Runtime)
	}
	return nil
}

// resources reads the limits, in the words of run's flags (cgroups.ParseResources).
func resources(o *engine.Options, h *mobyctr.HostConfig) error {
	l := cgroups.Limits{CpusetCpus: h.CpusetCpus, CpusetMems: h.CpusetMems}
	if h.Memory > 0 {
		l.Memory = strconv.FormatInt(h.Memory, 10)
	}
	if h.MemorySwap != 0 {
		l.MemorySwap = strconv.FormatInt(h.MemorySwap, 10)
	}
	if h.NanoCPUs > 0 {
		l.CPUs = strconv.FormatFloat(float64(h.NanoCPUs)/1e9, 'f', -1, 64)
	} else if h.CPUQuota > 0 {
		period := h.CPUPeriod
		if period == 0 {
			period = 100000
		}
		l.CPUs = strconv.FormatFloat(float64(h.CPUQuota)/float64(period), 'f', -1, 64)
	}
	if h.CPUShares > 0 {
		l.CPUShares = strconv.FormatInt(h.CPUShares, 10)
	}
	if h.PidsLimit != nil && *h.PidsLimit > 0 {
		l.PidsLimit = strconv.FormatInt(*h.PidsLimit, 10)
	}
	r, err := cgroups.ParseResources(l)
	o.Resources = r
	return err
}

// volumes reads Binds (-v's words), Mounts (--mount's), Tmpfs, and the anonymous volumes of
// Config.Volumes.
func volumes(o *engine.Options, c *mobyctr.Config, h *mobyctr.HostConfig) error {
	var v engine.Volumes
	for _, b := range h.Binds {
		if err := v.AddVolumeFlag(b); err != nil {
			return err
		}
	}
	for _, m := range h.Mounts {
		spec := fmt.Sprintf("type=%s,target=%s", m.Type, m.Target)
		if m.Source != "" {
			spec += ",source=" + m.Source
		}
		if m.ReadOnly {
			spec += ",readonly"
		}
		if m.Type == mount.TypeTmpfs && m.TmpfsOptions != nil && m.TmpfsOptions.SizeBytes > 0 {
			spec += ",tmpfs-size=" + strconv.FormatInt(m.TmpfsOptions.SizeBytes, 10)
		}
		if err := v.AddMountFlag(spec); err != nil {
			return err
		}
	}
	for dest := range c.Volumes {
		if !slices.ContainsFunc(v.Named, func(n engine.NamedVolume) bool { return n.Destination == dest }) &&
			!slices.ContainsFunc(v.Binds, func(b specs.Mount) bool { return b.Destination == dest }) {
			if err := v.AddVolumeFlag(dest); err != nil {
				return err
			}
		}
	}
	for path, opts := range h.Tmpfs {
		t := path
		if opts != "" {
			t += ":" + opts
		}
		v.Tmpfs = append(v.Tmpfs, t)
	}
	o.Mounts, o.NamedVolumes, o.Tmpfs = v.Binds, v.Named, v.Tmpfs
	return nil
}

// ports reads PortBindings: for each container port, the host ports it is published on.
func ports(o *engine.Options, h *mobyctr.HostConfig) error {
	for port, bindings := range h.PortBindings {
		for _, b := range bindings {
			spec := port.Port() + "/" + string(port.Proto())
			hostPort := b.HostPort
			if hostPort == "" {
				hostPort = "0"
			}
			if b.HostIP.IsValid() {
				spec = b.HostIP.String() + ":" + hostPort + ":" + spec
			} else {
				spec = hostPort + ":" + spec
			}
			if hostPort == "0" { // any port: -P's way
				num, err := strconv.ParseUint(port.Port(), 10, 16)
				if err != nil {
					return fmt.Errorf("invalid port %q", port)
				}
				pm := network.PortMapping{ContainerPort: uint16(num), Proto: string(port.Proto())}
				if b.HostIP.IsValid() && !b.HostIP.IsUnspecified() {
					pm.HostIP = b.HostIP.String()
				}
				o.Ports = append(o.Ports, pm)
				continue
			}
			pm, err := network.ParsePort(spec)
			if err != nil {
				return err
			}
			o.Ports = append(o.Ports, pm)
		}
	}
	return nil
}

// networks reads NetworkMode and NetworkingConfig: the networks to join, the first with the
// aliases its endpoint config names.
func networks(o *engine.Options, h *mobyctr.HostConfig, req *mobyctr.CreateRequest) {
	given := string(h.NetworkMode)
	mode := given
	if mode == "" || mode == "default" {
		mode = network.DefaultName
	}
	o.Networks = []string{mode}
	if req.NetworkingConfig == nil {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(req.NetworkingConfig.EndpointsConfig)) {
		ep := req.NetworkingConfig.EndpointsConfig[name]
		// The docker CLI names the first network's endpoint as NetworkMode was given: "default".
		if name == mode || name == given {
			if ep != nil {
				o.NetworkAliases = ep.Aliases
			}
			continue
		}
		o.Networks = append(o.Networks, name)
	}
}
