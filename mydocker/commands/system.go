package commands

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"text/template"

	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/workspace"
)

// Version is mydocker's version, and GitCommit the commit it was built from: make sets it
// with -ldflags -X (the Go toolchain's own stamp is not there when GOFLAGS has -buildvcs=false).
var (
	Version   = "0.4.0-dev"
	GitCommit = ""
)

// versionInfo is what version prints, in the shape of Docker's (--format '{{.Client.Version}}').
type versionInfo struct {
	Client versionDetail
	Server versionDetail
}

type versionDetail struct {
	Version, GoVersion, GitCommit, Os, Arch string
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:         "version",
		Usage:        "show the mydocker version information",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format the output with a Go template"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			d := versionDetail{Version: Version, GoVersion: runtime.Version(), Os: runtime.GOOS, Arch: runtime.GOARCH, GitCommit: cmp.Or(GitCommit, "unknown")}
			if bi, ok := debug.ReadBuildInfo(); ok && GitCommit == "" {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 7 {
						d.GitCommit = s.Value[:7]
					}
				}
			}
			// No daemon: the engine is this program, so client and server are one.
			v := versionInfo{Client: d, Server: d}
			if f := cmd.String("format"); f != "" {
				return executeOn(os.Stdout, f, v)
			}
			for i, part := range []struct {
				title string
				d     versionDetail
			}{{"Client:", v.Client}, {"Server: mydocker Engine (no daemon: each command is the engine)", v.Server}} {
				if i > 0 {
					fmt.Println()
				}
				fmt.Printf("%s\n Version:           %s\n Go version:        %s\n Git commit:        %s\n OS/Arch:           %s/%s\n",
					part.title, part.d.Version, part.d.GoVersion, part.d.GitCommit, part.d.Os, part.d.Arch)
			}
			return nil
		},
	}
}

// systemInfo is what info prints, with the field names of Docker's info (--format).
type systemInfo struct {
	ID                                                         string
	Containers, ContainersRunning, ContainersStopped, Images   int
	Driver, CgroupDriver, CgroupVersion, KernelVersion         string
	OperatingSystem, OSType, Architecture, DockerRootDir, Name string
	ServerVersion                                              string
	NCPU                                                       int
	MemTotal                                                   int64
}

func infoCommand() *cli.Command {
	return &cli.Command{
		Name:         "info",
		Usage:        "display system-wide information",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format the output with a Go template"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			info := systemInfo{
				ServerVersion: Version, CgroupDriver: "cgroupfs", CgroupVersion: "1",
				OSType: runtime.GOOS, Architecture: runtime.GOARCH, NCPU: runtime.NumCPU(),
				DockerRootDir: cmd.Root().String("root"), OperatingSystem: osName(),
			}
			if cgroups.DetectMode() == cgroups.Unified {
				info.CgroupVersion = "2"
			}
			var uts unix.Utsname
			if unix.Uname(&uts) == nil {
				info.KernelVersion = unix.ByteSliceToString(uts.Release[:])
				info.Name = unix.ByteSliceToString(uts.Nodename[:])
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
				return err
			}
			info.Containers = len(all)
			for _, st := range all {
				if st.Status == engine.Running {
					info.ContainersRunning++
				} else {
					info.ContainersStopped++
				}
			}
			if imgs, err := e.Images().List(); err == nil {
				info.Images = len(imgs)
			}
			if f := cmd.String("format"); f != "" {
				return executeOn(os.Stdout, f, info)
			}
			return infoText.Execute(os.Stdout, info)
		},
	}
}

var infoText = template.Must(template.New("info").Funcs(template.FuncMap{
	"gib": func(n int64) string { return fmt.Sprintf("%.2fGiB", float64(n)/(1<<30)) },
}).Parse(`Server:
 Containers: {{.Containers}}
  Running: {{.ContainersRunning}}
  Stopped: {{.ContainersStopped}}
 Images: {{.Images}}
 Server Version: {{.ServerVersion}}
 Storage Driver: {{.Driver}}
 Cgroup Driver: {{.CgroupDriver}}
 Cgroup Version: {{.CgroupVersion}}
 Kernel Version: {{.KernelVersion}}
 Operating System: {{.OperatingSystem}}
 OSType: {{.OSType}}
 Architecture: {{.Architecture}}
 CPUs: {{.NCPU}}
 Total Memory: {{gib .MemTotal}}
 Name: {{.Name}}
 Docker Root Dir: {{.DockerRootDir}}
`))

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

func systemCommand() *cli.Command {
	return &cli.Command{
		Name:  "system",
		Usage: "manage mydocker",
		Commands: []*cli.Command{
			{
				Name:         "df",
				Usage:        "show the disk images, containers and volumes use",
				OnUsageError: onUsageError,
				Action: func(_ context.Context, cmd *cli.Command) error {
					e, err := openEngine(cmd)
					if err != nil {
						return err
					}
					usage, err := e.DiskUsage()
					if err != nil {
						return err
					}
					tw := newTable()
					fmt.Fprintln(tw, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
					for _, u := range usage {
						pct := 0
						if u.Size > 0 {
							pct = int(u.Reclaimable * 100 / u.Size)
						}
						fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s (%d%%)\n", u.Type, u.Total, u.Active, humanSize(u.Size), humanSize(u.Reclaimable), pct)
					}
					return tw.Flush()
				},
			},
		},
	}
}
