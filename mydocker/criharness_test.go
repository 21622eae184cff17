package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/mydocker/mydocker/internal/critest"
	"github.com/mydocker/mydocker/internal/testutil"
)

// The CRI harness: a private containerd 1.6 with its CRI plugin on, as the kubelet finds it,
// driven by crictl. Everything it makes is its own and goes after the test: containerd's root,
// state, sockets and config in a temporary directory, the pods' cgroups under a parent of the
// test's own, a CNI bridge network of its own name and subnet with its IPAM data beside the
// config, and the images imported offline (busybox, and a pause image built here).

const (
	criImage = "docker.io/library/busybox:latest"
	cniBin   = "/usr/lib/cni" // Debian's containernetworking-plugins
)

// criEnv is one test's containerd and the crictl that drives it.
type criEnv struct {
	t       *testing.T
	dir     string // containerd's root, state, sockets, config; CNI config and IPAM data
	crictl  string
	config  string       // crictl's
	parent  string       // the pods' cgroup parent
	bridge  string       // the CNI network's bridge, and the network's name
	subnet  netip.Prefix // the CNI network's
	daemon  *exec.Cmd
	logPath string
	pods    []string // every pod made, for the shims' sockets should one be left
	netns   []string // the pods' network namespaces, should one be left
}

// startCRI starts the test's containerd, with the runtime handlers runc and mydocker (whose
// BinaryName is mydocker-runc), the pause and busybox images imported. It skips where
// containerd is not installed; what else it needs, it builds or says how to install.
func startCRI(t *testing.T) *criEnv {
	testutil.RequiresRoot(t)
	for _, bin := range []string{"containerd", "ctr", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s (apt-get install containerd)", bin)
		}
	}
	runc, err := exec.LookPath("runc")
	require.NoError(t, err, "containerd's runc, the reference runtime (apt-get install runc)")
	for _, plugin := range []string{"bridge", "host-local", "loopback"} {
		require.FileExists(t, filepath.Join(cniBin, plugin), "the CNI plugins (apt-get install containernetworking-plugins)")
	}
	c := &criEnv{t: t, crictl: critest.Crictl(t), parent: testutil.UniqueName("mdcri"), bridge: testutil.UniqueName("mdcri"), subnet: criSubnet(t)}
	// Not t.TempDir: the unix socket paths must stay under 108 bytes.
	c.dir, err = os.MkdirTemp("", "mydocker-cri-")
	require.NoError(t, err)
	// Cleanups run last first: the containerd and what it made go before the cgroup parent
	// and /run/containerd, which they use.
	cleanRunContainerd(t)
	cleanCgroupParent(t, c.parent)
	cleanCNICache(t, c.bridge)
	t.Cleanup(c.stop)

	c.writeConfigs(t, runc)
	c.logPath = filepath.Join(c.dir, "containerd.log")
	logFile, err := os.Create(c.logPath)
	require.NoError(t, err)
	c.daemon = exec.Command("containerd", "--config", filepath.Join(c.dir, "config.toml"))
	c.daemon.Stdout, c.daemon.Stderr = logFile, logFile
	require.NoError(t, c.daemon.Start())
	logFile.Close()
	var info result
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if info = c.crictlRun("info"); info.code == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "containerd's CRI did not answer in 30 s: %s\ncontainerd said:\n%s", info, c.logTail(30))
	}

	archive := critest.Images(t)
	r := runBounded(exec.Command("ctr", "--address", c.socket(), "--namespace", "k8s.io", "images", "import", archive), "")
	require.Equal(t, 0, r.code, "ctr images import: %s", r)
	return c
}

func (c *criEnv) socket() string { return filepath.Join(c.dir, "containerd.sock") }

// writeConfigs writes containerd's config (the CRI plugin's runtime handlers, sandbox image,
// CNI and stream server), the CNI network's and crictl's.
func (c *criEnv) writeConfigs(t *testing.T, runc string) {
	// The stream server (exec, attach) listens on loopback, on a port free now: containerd
	// 1.6 puts the configured port, not the one it gets, in the URLs it hands out.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cri := `plugins."io.containerd.grpc.v1.cri"`
	config := containerdConfig(c.dir) + fmt.Sprintf(`[%[2]s]
  sandbox_image = "%[3]s"
  # This host lacks CAP_SYS_RESOURCE: an OOM score below containerd's own is refused.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "%[4]d"
[%[2]s.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[%[2]s.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[%[2]s.containerd.runtimes.runc.options]
  BinaryName = "%[5]s"
  Root = "%[1]s/runc"
[%[2]s.containerd.runtimes.mydocker]
  runtime_type = "io.containerd.runc.v2"
[%[2]s.containerd.runtimes.mydocker.options]
  BinaryName = "%[6]s"
  Root = "%[1]s/mydocker-runc"
[%[2]s.cni]
  bin_dir = "%[7]s"
  conf_dir = "%[1]s/cni"
`, c.dir, cri, critest.PauseImage, port, runc, binary+"-runc", cniBin)
	require.NoError(t, os.WriteFile(filepath.Join(c.dir, "config.toml"), []byte(config), 0o644))

	// A bridge with the gateway's address, so that the host reaches the pods; no NAT, no
	// iptables rule: the pods reach nothing beyond the host.
	network := map[string]any{
		"cniVersion": "1.0.0", "name": c.bridge,
		"plugins": []any{map[string]any{
			"type": "bridge", "bridge": c.bridge, "isGateway": true, "ipMasq": false,
			"ipam": map[string]any{"type": "host-local", "ranges": [][]map[string]string{{{"subnet": c.subnet.String()}}},
				"dataDir": filepath.Join(c.dir, "ipam")},
		}},
	}
	require.NoError(t, os.Mkdir(filepath.Join(c.dir, "cni"), 0o755))
	c.writeJSON(t, "cni/10-"+c.bridge+".conflist", network)
	c.config = filepath.Join(c.dir, "crictl.yaml")
	crictl := fmt.Sprintf("runtime-endpoint: unix://%[1]s\nimage-endpoint: unix://%[1]s\ntimeout: 30\n", c.socket())
	require.NoError(t, os.WriteFile(c.config, []byte(crictl), 0o644))
}

// writeJSON writes v as name in the test's directory and returns its path.
func (c *criEnv) writeJSON(t *testing.T, name string, v any) string {
	data, err := json.Marshal(v)
	require.NoError(t, err)
	path := filepath.Join(c.dir, name)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}

// crictlRun runs crictl against the test's containerd, bounded in time.
func (c *criEnv) crictlRun(args ...string) result {
	return runBounded(exec.Command(c.crictl, append([]string{"--config", c.config}, args...)...), "")
}

// must runs crictl and returns its trimmed output; a failure shows containerd's last words.
func (c *criEnv) must(t *testing.T, args ...string) string {
	t.Helper()
	r := c.crictlRun(args...)
	require.Equal(t, 0, r.code, "crictl %s: %s\ncontainerd said:\n%s", strings.Join(args, " "), r, c.logTail(30))
	return strings.TrimSpace(r.stdout)
}

// logTail is the end of containerd's log.
func (c *criEnv) logTail(lines int) string {
	all := strings.Split(strings.TrimRight(readFile(c.logPath), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// stop removes every pod, stops containerd and removes whatever it and its shims left:
// processes, mounts, network namespaces, the bridge, the shims' sockets, its directory.
func (c *criEnv) stop() {
	if c.daemon != nil && c.daemon.Process != nil {
		c.crictlRun("rmp", "--all", "--force")
		endDaemon(c.daemon)
	}
	// A shim names the daemon's socket; a container the pods' cgroup parent.
	killNaming(c.dir)
	for _, pid := range cgroupPids(c.parent) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	unmountWhere(func(mountPoint string) bool {
		return strings.HasPrefix(mountPoint, c.dir+"/") || slices.Contains(c.netns, mountPoint)
	})
	for _, ns := range c.netns {
		os.Remove(ns)
	}
	if link, err := netlink.LinkByName(c.bridge); err == nil {
		netlink.LinkDel(link)
	}
	for _, pod := range c.pods {
		os.Remove(shimSocket(c.socket(), "k8s.io", pod))
	}
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}

// shimSocket is where containerd 1.6 puts the socket of the shim of task id: named by the
// sha256 of its address, namespace and id, whatever its root and state.
func shimSocket(address, namespace, id string) string {
	sum := sha256.Sum256([]byte(filepath.Join(address, namespace, id)))
	return "/run/containerd/s/" + hex.EncodeToString(sum[:])
}

// cgroupPids are the processes in the cgroups below parent, in every hierarchy.
func cgroupPids(parent string) []int {
	var pids []int
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
	dirs = append(dirs, "/sys/fs/cgroup/"+parent)
	for _, d := range dirs {
		filepath.WalkDir(d, func(path string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() && e.Name() == "cgroup.procs" {
				data, _ := os.ReadFile(path)
				for _, f := range strings.Fields(string(data)) {
					if pid, err := strconv.Atoi(f); err == nil {
						pids = append(pids, pid)
					}
				}
			}
			return nil
		})
	}
	return pids
}

// cleanCNICache removes, after the test, the results the CNI library caches in /var/lib/cni
// for the network's attachments, and the directory when the test made it.
func cleanCNICache(t *testing.T, network string) {
	_, err := os.Stat("/var/lib/cni")
	made := os.IsNotExist(err)
	t.Cleanup(func() {
		results, _ := filepath.Glob("/var/lib/cni/results/" + network + "-*")
		for _, r := range results {
			os.Remove(r)
		}
		if made {
			os.Remove("/var/lib/cni/results")
			os.Remove("/var/lib/cni")
		}
	})
}

// criSubnet is a /24 in 10.200.0.0/13 that no route of the host overlaps, for the pods' bridge.
func criSubnet(t *testing.T) netip.Prefix {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	require.NoError(t, err)
	for range 100 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(200 + rand.IntN(8)), byte(rand.IntN(256)), 0}), 24)
		free := true
		for _, r := range routes {
			if r.Dst == nil {
				continue
			}
			ones, _ := r.Dst.Mask.Size()
			if addr, ok := netip.AddrFromSlice(r.Dst.IP.To4()); ok && ones > 0 && netip.PrefixFrom(addr, ones).Overlaps(p) {
				free = false
			}
		}
		if free {
			return p
		}
	}
	t.Fatal("no /24 of 10.200.0.0/13 is free of the host's routes")
	return netip.Prefix{}
}
