package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Kubernetes' way in: the kubelet drives containerd through the CRI, and containerd's runc
// shim drives the runtime. A pod is a sandbox — a pause process holding the pod's namespaces —
// and containers that join them by path; CNI gives the sandbox its network. The same pods run
// on runc, the reference, and on mydocker-runc, and every step must see the same: logs, exec
// with and without a terminal, stats, the pod's hostname, localhost and sysctls, its address
// from the host, stop and removal, limits and their update, an OOM kill, the confinement the
// CRI asks for, volumes whose mounts propagate, a privileged container, a pod on the host's
// network, a pod run as an ordinary user with a PID namespace per container; and containerd
// must log the same troubles, none of the runtime's making.
func TestCRIPods(t *testing.T) {
	c := startCRI(t)
	seen, troubles := map[string][]string{}, map[string][]string{}
	for _, runtime := range []string{"runc", "mydocker"} {
		ok := t.Run(runtime, func(t *testing.T) {
			from := len(c.logLines())
			f := &podFlow{criEnv: c, runtime: runtime}
			f.web(t)
			f.settings(t)
			f.volumes(t)
			f.hostNetwork(t)
			f.users(t)
			seen[runtime] = f.seen
			troubles[runtime] = c.errorsSince(from)
		})
		if !ok {
			return
		}
	}
	for i := range max(len(seen["runc"]), len(seen["mydocker"])) {
		want, got := at(seen["runc"], i), at(seen["mydocker"], i)
		require.Equal(t, want, got, "the pods run on mydocker-runc as on runc")
	}
	require.Equal(t, troubles["runc"], troubles["mydocker"], "containerd's errors (ids and times left out) on runc and on mydocker-runc")
}

func at(list []string, i int) string {
	if i < len(list) {
		return list[i]
	}
	return "(nothing)"
}

// podFlow runs pods on one runtime handler and notes what each step sees.
type podFlow struct {
	*criEnv
	runtime string
	seen    []string
}

func (f *podFlow) note(what, value string) {
	f.seen = append(f.seen, what+": "+strings.TrimSpace(strings.ReplaceAll(value, "\r\n", "\n")))
}

// web is a pod of two containers, a server and its client, which share the pod's network,
// PID and IPC namespaces (crictl's default), its hostname and sysctls; then containers with a
// memory limit, and one killed for going beyond it.
func (f *podFlow) web(t *testing.T) {
	sysctls := map[string]any{"sysctls": map[string]string{"net.ipv4.ip_unprivileged_port_start": "80", "kernel.shm_rmid_forced": "1"}}
	web, config := f.runPod(t, f.runtime, "web", sysctls)
	server := f.create(t, web, config, "server", nil,
		"sh", "-c", "echo serving; while true; do echo hello from server | nc -l -p 8080; done")
	client := f.create(t, web, config, "client", nil, "sleep", "1000")
	f.must(t, "start", server, client)
	waitFor(t, 10*time.Second, "the server's first words", func() bool { return f.crictlRun("logs", server).stdout != "" })
	f.note("logs", f.must(t, "logs", server))
	f.note("hostname", f.must(t, "exec", client, "hostname"))
	f.note("sysctls", f.must(t, "exec", client, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start", "/proc/sys/kernel/shm_rmid_forced"))
	var hello string
	waitFor(t, 10*time.Second, "the server, over the pod's localhost", func() bool {
		hello = f.crictlRun("exec", client, "nc", "-w", "2", "127.0.0.1", "8080").stdout
		return hello != ""
	})
	f.note("localhost", hello)
	f.note("from the host", f.dialPod(t, web, 8080))
	// The program outlives crictl's first resize — containerd logs an error when the size
	// comes after the end — by waiting for it: its terminal has the test's size (24 rows, 80
	// columns) once the resize is through, and only then does it ask for a line. (Waiting for
	// the line alone left the resize racing the test's answer: CI, once.)
	f.note("exec -it", f.onTerminal(t, "on a terminal", "exec", "-it", client, "sh", "-c",
		`until [ "$(stty size 2>/dev/null)" = "24 80" ]; do :; done; tty; echo on a terminal; read -r line; echo got $line`))
	r := runBounded(exec.Command(f.crictl, "--config", f.config, "exec", "-i", client, "cat"), "from stdin\n")
	f.note("exec -i", r.String())
	f.note("stats", f.stats(t, server))

	// The server's shell goes on SIGTERM: the kernel does not spare a PID other than 1, and
	// the pod shares its sandbox's PID namespace. Its nc goes too: the shim kills what is left
	// in the container's cgroup (kill --all) once its init has exited.
	f.must(t, "stop", "--timeout", "20", server)
	f.note("stopped", f.inspect(t, server))
	f.note("left in the pod", f.must(t, "exec", client, "ps", "-o", "comm"))
	f.must(t, "rm", server)

	memory := func(limit int) map[string]any {
		return map[string]any{"linux": map[string]any{"resources": map[string]any{"memory_limit_in_bytes": limit}}}
	}
	const showLimit = "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"
	limited := f.create(t, web, config, "limited", memory(32<<20), "sh", "-c", showLimit+"; exec sleep 1000")
	f.must(t, "start", limited)
	waitFor(t, 10*time.Second, "the limit", func() bool { return f.crictlRun("logs", limited).stdout != "" })
	f.note("memory limit", f.must(t, "logs", limited))
	f.must(t, "update", "--memory", strconv.Itoa(64<<20), limited)
	f.note("memory limit updated", f.must(t, "exec", limited, "sh", "-c", showLimit))
	oom := f.create(t, web, config, "oom", memory(16<<20), "sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done")
	f.must(t, "start", oom)
	f.waitExited(t, oom)
	f.note("OOM", f.inspect(t, oom))
	f.must(t, "stop", client, limited)
	f.must(t, "rm", client, limited, oom)
	f.removePod(t, f.runtime, web)
}

// settings is a pod of containers the CRI confines and configures: environment, working
// directory, a device, an OOM score, CPU limits, a read-only root, the runtime's default
// seccomp profile, capabilities added and dropped; a terminal for the command; and a
// privileged container.
func (f *podFlow) settings(t *testing.T) {
	pod, config := f.runPod(t, f.runtime, "settings", privilegedPod)
	confined := f.create(t, pod, config, "confined", map[string]any{
		"envs":        []map[string]string{{"key": "GREETING", "value": "hello"}},
		"working_dir": "/tmp",
		"devices":     []map[string]string{{"container_path": "/dev/mine", "host_path": "/dev/null", "permissions": "rwm"}},
		"linux": map[string]any{
			"resources": map[string]any{"oom_score_adj": 500, "cpu_shares": 512, "cpu_quota": 50000, "cpu_period": 100000},
			"security_context": map[string]any{
				"readonly_rootfs": true,
				"seccomp":         map[string]any{"profile_type": 0}, // RuntimeDefault
				"capabilities":    map[string]any{"add_capabilities": []string{"NET_ADMIN"}, "drop_capabilities": []string{"CHOWN"}},
			},
		},
	}, "sh", "-c", `echo $GREETING; pwd; echo x > /dev/mine && echo device written; cat /proc/self/oom_score_adj
cd /sys/fs/cgroup; cat cpu.weight cpu.max 2>/dev/null || cat cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us
touch /x 2>&1; grep -E '^(Seccomp|NoNewPrivs|CapEff|CapBnd):' /proc/self/status; unshare -U true 2>&1 || echo refused; echo ready; exec sleep 1000`)
	tty := f.create(t, pod, config, "tty", map[string]any{"tty": true, "stdin": true}, "sh", "-c", "tty; echo ready; exec sleep 1000")
	privileged := f.create(t, pod, config, "privileged", map[string]any{
		"linux": map[string]any{"security_context": map[string]any{"privileged": true}},
	}, "sh", "-c", "grep -E '^(CapEff|Seccomp):' /proc/self/status; mount -t tmpfs none /mnt && echo mounted; "+
		"echo 1 > /proc/sys/kernel/shm_rmid_forced && echo /proc/sys writable; echo ready; exec sleep 1000")
	f.must(t, "start", confined, tty, privileged)
	for _, c := range []struct{ name, id string }{{"confined", confined}, {"tty", tty}, {"privileged", privileged}} {
		// All of its output: the command says ready before it sleeps, unless it has exited.
		waitFor(t, 10*time.Second, c.name+"'s output", func() bool {
			return strings.Contains(f.crictlRun("logs", c.id).stdout, "ready") || f.exited(t, c.id)
		})
		r := f.crictlRun("logs", c.id)
		f.note(c.name, r.stdout+r.stderr)
		f.note(c.name+" state", f.inspect(t, c.id))
	}
	f.must(t, "stop", "--timeout", "2", confined, tty, privileged)
	f.must(t, "rm", confined, tty, privileged)
	f.removePod(t, f.runtime, pod)
}

// privilegedPod is the setting of a pod that may hold privileged containers: containerd
// refuses one in any other.
var privilegedPod = map[string]any{"security_context": map[string]any{"privileged": true}}

// volumes is a pod whose containers bind directories of the host, with the propagation of
// their mounts the CRI asks for: a mount the host makes below a volume after the start
// reaches a container that asked for it (host to container, rslave), and one a privileged
// container makes reaches the host (bidirectional, rshared). containerd wants the host's side
// on a shared mount: the test's directory, bound onto itself.
func (f *podFlow) volumes(t *testing.T) {
	shared := filepath.Join(f.dir, "volumes-"+f.runtime)
	for _, d := range []string{"private/sub", "h2c/sub", "bidi"} {
		require.NoError(t, os.MkdirAll(filepath.Join(shared, d), 0o755))
	}
	require.NoError(t, unix.Mount(shared, shared, "", unix.MS_BIND, ""))
	require.NoError(t, unix.Mount("", shared, "", unix.MS_SHARED, ""))
	pod, config := f.runPod(t, f.runtime, "volumes", privilegedPod)
	volume := func(dir string, propagation int) map[string]any {
		return map[string]any{"container_path": "/" + dir, "host_path": filepath.Join(shared, dir), "propagation": propagation}
	}
	watcher := f.create(t, pod, config, "watcher", map[string]any{
		"mounts": []map[string]any{volume("private", 0), volume("h2c", 1)},
	}, "sleep", "1000")
	mounter := f.create(t, pod, config, "mounter", map[string]any{
		"mounts": []map[string]any{volume("bidi", 2)},
		"linux":  map[string]any{"security_context": map[string]any{"privileged": true}},
	}, "sleep", "1000")
	f.must(t, "start", watcher, mounter)
	for _, d := range []string{"private/sub", "h2c/sub"} {
		sub := filepath.Join(shared, d)
		require.NoError(t, unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"))
		require.NoError(t, os.WriteFile(filepath.Join(sub, "file"), []byte("from the host\n"), 0o644))
	}
	// The mounts' propagation, without their peer groups' numbers, which the kernel deals out.
	r := f.crictlRun("exec", watcher, "sh", "-c", "cat /private/sub/file /h2c/sub/file 2>&1; grep -E ' /(private|h2c)(/sub)? ' /proc/self/mountinfo | awk '{print $5, $7}' | sed -E 's/:[0-9]+//'")
	f.note("host to container", r.stdout)
	f.must(t, "exec", mounter, "sh", "-c", "mkdir -p /bidi/sub && mount -t tmpfs -o size=1m none /bidi/sub && echo from the container > /bidi/sub/file")
	f.note("container to host", readFile(filepath.Join(shared, "bidi/sub/file")))
	f.must(t, "stop", "--timeout", "2", watcher, mounter)
	f.must(t, "rm", watcher, mounter)
	f.removePod(t, f.runtime, pod)
}

// hostNetwork is a pod on the host's network (and so its UTS namespace): no CNI, the host's
// links and name.
func (f *podFlow) hostNetwork(t *testing.T) {
	node := map[string]any{"security_context": map[string]any{"namespace_options": map[string]any{"network": nodeNamespace}}}
	pod, config := f.runPod(t, f.runtime, "host", node)
	c := f.create(t, pod, config, "c", nil, "sleep", "1000")
	f.must(t, "start", c)
	hostNet, err := os.Readlink("/proc/self/ns/net")
	require.NoError(t, err)
	host, err := os.Hostname()
	require.NoError(t, err)
	out := f.must(t, "exec", c, "sh", "-c", "readlink /proc/self/ns/net; hostname")
	out = strings.ReplaceAll(strings.ReplaceAll(out, hostNet, "the host's network"), host, "the host's name")
	f.note("host network", out)
	f.must(t, "stop", "--timeout", "2", c)
	f.must(t, "rm", c)
	f.removePod(t, f.runtime, pod)
}

// users is a pod of an ordinary user, whose containers each have a PID namespace of their
// own (the kubelet's default, which it asks of the pod and of each container): the sandbox
// and the containers run as uid 1000, in group 1000 with a supplementary group.
func (f *podFlow) users(t *testing.T) {
	ownPIDs := map[string]any{"pid": containerNamespace}
	user := map[string]any{"run_as_user": map[string]any{"value": 1000}, "run_as_group": map[string]any{"value": 1000},
		"supplemental_groups": []int{2000}, "namespace_options": ownPIDs}
	podSecurity := map[string]any{"security_context": map[string]any{
		"run_as_user": user["run_as_user"], "run_as_group": user["run_as_group"], "namespace_options": ownPIDs,
	}}
	pod, config := f.runPod(t, f.runtime, "users", podSecurity)
	c := f.create(t, pod, config, "user", map[string]any{"linux": map[string]any{"security_context": user}}, "sh", "-c", "id; exec sleep 1000")
	f.must(t, "start", c)
	waitFor(t, 10*time.Second, "the user's id", func() bool { return f.crictlRun("logs", c).stdout != "" })
	f.note("user", f.must(t, "logs", c))
	f.note("exec as the user", f.must(t, "exec", c, "id"))
	// Which numbers the processes after the first get is the runtime's affair (how many it
	// forks there); the first is the container's command.
	f.note("the container's processes", f.must(t, "exec", c, "ps", "-o", "user,comm"))
	f.note("its PID 1", f.must(t, "exec", c, "cat", "/proc/1/comm"))
	f.must(t, "stop", "--timeout", "2", c)
	f.note("user stopped", f.inspect(t, c))
	f.must(t, "rm", c)
	f.removePod(t, f.runtime, pod)
}

// The CRI's NamespaceModes: CONTAINER, a namespace of the container's own; NODE, the host's.
const (
	containerNamespace = 1
	nodeNamespace      = 2
)

// runPod starts a pod named name on the runtime handler, with linux's settings (nil: none but
// the test's cgroup parent), and returns its id and the path of its config.
func (c *criEnv) runPod(t *testing.T, runtime, name string, settings map[string]any) (string, string) {
	linux := map[string]any{"cgroup_parent": "/" + c.parent}
	for k, v := range settings {
		linux[k] = v
	}
	pod := map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "mydocker", "uid": runtime + "-" + name},
		"hostname":      name,
		"log_directory": filepath.Join(c.dir, "logs", runtime+"-"+name),
		"linux":         linux,
	}
	// A pod on the host's network has the host's name too: the runtimes refuse to set one
	// without a UTS namespace of the pod's own.
	if settings["security_context"] != nil && settings["security_context"].(map[string]any)["namespace_options"] != nil &&
		settings["security_context"].(map[string]any)["namespace_options"].(map[string]any)["network"] == nodeNamespace {
		delete(pod, "hostname")
	}
	config := c.writeJSON(t, runtime+"-"+name+".json", pod)
	id := c.must(t, "runp", "--runtime", runtime, config)
	c.pods = append(c.pods, id)
	if ns := c.inspectPod(t, id).netns(); ns != "" {
		c.netns = append(c.netns, ns)
	}
	return id, config
}

// create makes a container of busybox in pod, running args, its config extra's fields added,
// and returns its id.
func (c *criEnv) create(t *testing.T, pod, podConfig, name string, extra map[string]any, args ...string) string {
	config := map[string]any{
		"metadata": map[string]any{"name": name},
		"image":    map[string]any{"image": criImage},
		"command":  args,
		"log_path": name + ".log",
	}
	for k, v := range extra {
		config[k] = v
	}
	return c.must(t, "create", pod, c.writeJSON(t, pod[:12]+"-"+name+".json", config), podConfig)
}

// criPod is what inspectp says of a pod.
type criPod struct {
	Status struct {
		State   string `json:"state"`
		Network struct {
			IP string `json:"ip"`
		} `json:"network"`
	} `json:"status"`
	Info struct {
		RuntimeSpec struct {
			Linux struct {
				Namespaces []struct{ Type, Path string } `json:"namespaces"`
			} `json:"linux"`
		} `json:"runtimeSpec"`
	} `json:"info"`
}

// netns is the path of the pod's network namespace, which containerd made for CNI.
func (p criPod) netns() string {
	for _, ns := range p.Info.RuntimeSpec.Linux.Namespaces {
		if ns.Type == "network" {
			return ns.Path
		}
	}
	return ""
}

func (c *criEnv) inspectPod(t *testing.T, pod string) criPod {
	var p criPod
	require.NoError(t, json.Unmarshal([]byte(c.must(t, "inspectp", "-o", "json", pod)), &p))
	return p
}

// inspect is a container's state, exit code and reason, as the CRI reports them.
func (c *criEnv) inspect(t *testing.T, id string) string {
	var s struct {
		Status struct {
			State    string `json:"state"`
			ExitCode int    `json:"exitCode"`
			Reason   string `json:"reason"`
		} `json:"status"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.must(t, "inspect", "-o", "json", id)), &s))
	return fmt.Sprintf("%s %d %s", s.Status.State, s.Status.ExitCode, s.Status.Reason)
}

func (c *criEnv) exited(t *testing.T, id string) bool {
	return strings.HasPrefix(c.inspect(t, id), "CONTAINER_EXITED ")
}

func (c *criEnv) waitExited(t *testing.T, id string) {
	waitFor(t, 30*time.Second, id+"'s exit", func() bool { return c.exited(t, id) })
}

// dialPod reads what the pod serves on port, from the host, at the address CNI gave it.
func (c *criEnv) dialPod(t *testing.T, pod string, port int) string {
	ip, err := netip.ParseAddr(c.inspectPod(t, pod).Status.Network.IP)
	require.NoError(t, err)
	require.True(t, c.subnet.Contains(ip), "the pod's address %s is in the CNI network's %s", ip, c.subnet)
	var got string
	waitFor(t, 10*time.Second, "the pod, from the host", func() bool {
		conn, err := net.DialTimeout("tcp", netip.AddrPortFrom(ip, uint16(port)).String(), 2*time.Second)
		if err != nil {
			return false
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		data, _ := io.ReadAll(conn)
		got = string(data)
		return got != ""
	})
	return got
}

// onTerminal runs crictl with a terminal for its stdio, as a person at one, and returns what
// the terminal showed.
func (c *criEnv) onTerminal(t *testing.T, prompt string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	screen := converse(t, exec.CommandContext(ctx, c.crictl, append([]string{"--config", c.config}, args...)...), prompt, "hello\n")
	return strings.ReplaceAll(strings.TrimSpace(screen), "\r\n", "\n")
}

// stats says which of a container's usage figures the CRI reports (their values differ from
// run to run).
func (c *criEnv) stats(t *testing.T, id string) string {
	type value struct {
		Value string `json:"value"`
	}
	var s struct {
		Stats []struct {
			CPU struct {
				UsageCoreNanoSeconds value `json:"usageCoreNanoSeconds"`
			} `json:"cpu"`
			Memory struct {
				WorkingSetBytes value `json:"workingSetBytes"`
				UsageBytes      value `json:"usageBytes"`
			} `json:"memory"`
		} `json:"stats"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.must(t, "stats", "-o", "json", "--id", id)), &s))
	require.Len(t, s.Stats, 1)
	st := s.Stats[0]
	positive := func(v value) string {
		if v.Value != "" && v.Value != "0" {
			return "yes"
		}
		return "no"
	}
	return fmt.Sprintf("cpu %s, memory %s (working set %s)", positive(st.CPU.UsageCoreNanoSeconds), positive(st.Memory.UsageBytes), positive(st.Memory.WorkingSetBytes))
}

// removePod stops and removes a pod whose containers are gone, and checks that nothing of it
// is left: the runtime's state, cgroups, the network namespace, its veth and address.
func (c *criEnv) removePod(t *testing.T, runtime, pod string) {
	ns := c.inspectPod(t, pod).netns()
	c.must(t, "stopp", pod)
	c.must(t, "rmp", pod)
	root := filepath.Join(c.dir, map[string]string{"runc": "runc", "mydocker": "mydocker-runc"}[runtime], "k8s.io")
	waitFor(t, 10*time.Second, "the pod's shim to go", func() bool {
		_, err := os.Stat(shimSocket(c.socket(), "k8s.io", pod))
		return os.IsNotExist(err)
	})
	entries, _ := os.ReadDir(root)
	require.Empty(t, entries, "the runtime's state in %s", root)
	require.Empty(t, cgroupChildren(c.parent), "the containers' cgroups")
	require.NoFileExists(t, ns, "the pod's network namespace")
	bridge, err := netlink.LinkByName(c.bridge)
	require.NoError(t, err)
	links, err := netlink.LinkList()
	require.NoError(t, err)
	for _, l := range links {
		require.NotEqual(t, bridge.Attrs().Index, l.Attrs().MasterIndex, "%s is left on the pods' bridge", l.Attrs().Name)
	}
	allocated, _ := filepath.Glob(filepath.Join(c.dir, "ipam", c.bridge, "[0-9]*"))
	require.Empty(t, allocated, "the pod's address is released")
}

// cgroupChildren are the cgroups below parent, in every hierarchy.
func cgroupChildren(parent string) []string {
	v1, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent + "/*/")
	v2, _ := filepath.Glob("/sys/fs/cgroup/" + parent + "/*/")
	return append(v1, v2...)
}

func (c *criEnv) logLines() []string {
	return strings.Split(readFile(c.logPath), "\n")
}

var (
	logNoise = regexp.MustCompile(`time="[^"]*"|\b[0-9a-f]{64}\b|/proc/self/fd/\d+|pid=\d+|\d{4}-\d\d-\d\dT[0-9:.]+Z`)
	logError = regexp.MustCompile(`level=error`)
	// A terminal's size set as its exec ends: crictl and containerd race, whatever the runtime.
	logRace = regexp.MustCompile(`Failed to resize process .* cannot resize a stopped container`)
)

// errorsSince are containerd's error lines from line from on, without what differs from run
// to run.
func (c *criEnv) errorsSince(from int) []string {
	var errs []string
	for _, line := range c.logLines()[from:] {
		if logError.MatchString(line) && !logRace.MatchString(line) {
			errs = append(errs, logNoise.ReplaceAllString(line, "<>"))
		}
	}
	return errs
}
