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
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
)

// Kubernetes' way in: the kubelet drives containerd through the CRI, and containerd's runc
// shim drives the runtime. A pod is a sandbox — a pause process holding the pod's namespaces —
// and containers that join them by path; CNI gives the sandbox its network. The same pods run
// on runc, the reference, and on mydocker-runc, and every step must see the same: logs, exec
// with and without a terminal, stats, the pod's hostname and localhost, its address from the
// host, stop and removal, a memory limit, an OOM kill, a pod run as an ordinary user; and
// containerd must log the same troubles, none of the runtime's making.
func TestCRIPods(t *testing.T) {
	c := startCRI(t)
	seen, troubles := map[string][]string{}, map[string][]string{}
	for _, runtime := range []string{"runc", "mydocker"} {
		ok := t.Run(runtime, func(t *testing.T) {
			from := len(c.logLines())
			seen[runtime] = c.podFlow(t, runtime)
			t.Logf("seen:\n%s", strings.Join(seen[runtime], "\n"))
			troubles[runtime] = c.errorsSince(from)
		})
		if !ok {
			return
		}
	}
	require.Equal(t, seen["runc"], seen["mydocker"], "the pods run on mydocker-runc as on runc")
	require.Equal(t, troubles["runc"], troubles["mydocker"], "containerd's errors (ids and times left out) on runc and on mydocker-runc")
}

// podFlow runs the pods on the runtime handler and returns what each step saw.
func (c *criEnv) podFlow(t *testing.T, runtime string) []string {
	var seen []string
	note := func(what, value string) { seen = append(seen, what+": "+value) }

	web, webConfig := c.runPod(t, runtime, "web", nil)
	server := c.create(t, web, webConfig, "server", nil,
		"sh", "-c", "echo serving; while true; do echo hello from server | nc -l -p 8080; done")
	client := c.create(t, web, webConfig, "client", nil, "sleep", "1000")
	c.must(t, "start", server, client)
	waitFor(t, 10*time.Second, "the server's first words", func() bool { return c.crictlRun("logs", server).stdout != "" })
	note("logs", c.must(t, "logs", server))
	note("hostname", c.must(t, "exec", client, "hostname"))
	var hello string
	waitFor(t, 10*time.Second, "the server, over the pod's localhost", func() bool {
		hello = c.crictlRun("exec", client, "nc", "-w", "2", "127.0.0.1", "8080").stdout
		return hello != ""
	})
	note("localhost", hello)
	note("from the host", c.dialPod(t, web, 8080))
	note("exec -it", c.onTerminal(t, "exec", "-it", client, "sh", "-c", "tty; echo on a terminal"))
	note("stats", c.stats(t, server))

	// The server's shell goes on SIGTERM: the kernel does not spare a PID other than 1, and
	// the pod shares its sandbox's PID namespace. Its nc goes too: the shim kills what is left
	// in the container's cgroup (kill --all) once its init has exited.
	c.must(t, "stop", "--timeout", "20", server)
	note("stopped", c.inspect(t, server))
	note("left in the pod", c.must(t, "exec", client, "ps", "-o", "comm"))
	c.must(t, "rm", server)

	memory := func(limit int) map[string]any {
		return map[string]any{"linux": map[string]any{"resources": map[string]any{"memory_limit_in_bytes": limit}}}
	}
	limited := c.create(t, web, webConfig, "limited", memory(32<<20),
		"sh", "-c", "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
	c.must(t, "start", limited)
	c.waitExited(t, limited)
	note("memory limit", c.must(t, "logs", limited))
	note("memory limit exit", c.inspect(t, limited))
	oom := c.create(t, web, webConfig, "oom", memory(16<<20), "sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done")
	c.must(t, "start", oom)
	c.waitExited(t, oom)
	note("OOM", c.inspect(t, oom))
	c.must(t, "stop", client)
	c.must(t, "rm", client, limited, oom)
	c.removePod(t, runtime, web)

	// A pod of an ordinary user: the sandbox and the containers run as uid 1000.
	asUser := map[string]any{"security_context": map[string]any{"run_as_user": map[string]any{"value": 1000}}}
	users, usersConfig := c.runPod(t, runtime, "users", asUser)
	user := c.create(t, users, usersConfig, "user", map[string]any{"linux": asUser}, "sh", "-c", "id; exec sleep 1000")
	c.must(t, "start", user)
	waitFor(t, 10*time.Second, "the user's id", func() bool { return c.crictlRun("logs", user).stdout != "" })
	note("user", c.must(t, "logs", user))
	note("exec as the user", c.must(t, "exec", user, "id"))
	note("the pod's processes", c.must(t, "exec", user, "ps", "-o", "user,comm"))
	c.must(t, "stop", "--timeout", "2", user)
	note("user stopped", c.inspect(t, user))
	c.must(t, "rm", user)
	c.removePod(t, runtime, users)
	return seen
}

// runPod starts a pod named name on the runtime handler, with the pod's security context
// (nil: root's), and returns its id and the path of its config.
func (c *criEnv) runPod(t *testing.T, runtime, name string, security map[string]any) (string, string) {
	linux := map[string]any{"cgroup_parent": "/" + c.parent}
	for k, v := range security {
		linux[k] = v
	}
	config := c.writeJSON(t, runtime+"-"+name+".json", map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "mydocker", "uid": runtime + "-" + name},
		"hostname":      name,
		"log_directory": filepath.Join(c.dir, "logs", runtime+"-"+name),
		"linux":         linux,
	})
	pod := c.must(t, "runp", "--runtime", runtime, config)
	c.pods = append(c.pods, pod)
	if ns := c.inspectPod(t, pod).netns(); ns != "" {
		c.netns = append(c.netns, ns)
	}
	return pod, config
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

func (c *criEnv) waitExited(t *testing.T, id string) {
	waitFor(t, 30*time.Second, id+"'s exit", func() bool { return strings.HasPrefix(c.inspect(t, id), "CONTAINER_EXITED ") })
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
func (c *criEnv) onTerminal(t *testing.T, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	screen := onTerminal(t, exec.CommandContext(ctx, c.crictl, append([]string{"--config", c.config}, args...)...))
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
