package engine

import (
	"bufio"
	"os"
	"runtime"
	"strings"

	"github.com/moby/moby/api/types/system"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/workspace"
)

// Info is what docker info tells of the engine and the host, in the Engine API's type, for
// both fronts; version is mydocker's.
func (e *Engine) Info(version string) (*system.Info, error) {
	info := &system.Info{
		ServerVersion: version, CgroupDriver: "cgroupfs", CgroupVersion: "1", LoggingDriver: "json-file",
		OSType: runtime.GOOS, Architecture: runtime.GOARCH, NCPU: runtime.NumCPU(),
		DockerRootDir: e.root, OperatingSystem: osName(), IndexServerAddress: "https://index.docker.io/v1/",
		MemoryLimit: true, SwapLimit: true, CPUCfsPeriod: true, CPUCfsQuota: true, CPUShares: true, CPUSet: true, PidsLimit: true,
		IPv4Forwarding: ipForwarding(), DefaultRuntime: "mydocker", Runtimes: map[string]system.RuntimeWithStatus{},
	}
	if cgroups.DetectMode() == cgroups.Unified {
		info.CgroupVersion = "2"
	}
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		info.KernelVersion = unix.ByteSliceToString(uts.Release[:])
		info.Name = unix.ByteSliceToString(uts.Nodename[:])
		info.ID = info.Name
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		info.MemTotal = int64(si.Totalram) * int64(si.Unit)
	}
	if d, err := workspace.NewDriver(""); err == nil {
		info.Driver = d.Name()
	}
	all, err := e.List()
	if err != nil {
		return nil, err
	}
	info.Containers = len(all)
	for _, st := range all {
		switch {
		case e.Paused(st):
			info.ContainersPaused++
		case st.Status == Running:
			info.ContainersRunning++
		default:
			info.ContainersStopped++
		}
	}
	if imgs, err := e.images.List(); err == nil {
		info.Images = len(imgs)
	}
	return info, nil
}

func ipForwarding() bool {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	return err == nil && strings.TrimSpace(string(data)) == "1"
}

// osName is the host's PRETTY_NAME from os-release.
func osName() string {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "unknown"
}
