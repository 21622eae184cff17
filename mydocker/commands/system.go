package commands

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"text/template"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v3"
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
			info, err := e.Info(Version)
			if err != nil {
				return err
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

func (p Program) systemCommand() *cli.Command {
	cmd := &cli.Command{
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
	if p.taught(18) {
		cmd.Commands = append([]*cli.Command{p.serviceCommand()}, cmd.Commands...)
	}
	return cmd
}

// serviceCommand is system service: the Docker Engine API on a socket, served by
// mydocker-serve beside this binary (where make builds it), or by Program.Serve in this
// process, which calls the engine as this command line does. It runs in the foreground, as
// podman system service does.
func (p Program) serviceCommand() *cli.Command {
	return &cli.Command{
		Name:         "service",
		Usage:        "serve the Docker Engine API (unix:///run/mydocker.sock unless told a URI): the docker CLI and docker-compose drive mydocker through it",
		ArgsUsage:    "[URI]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Value: 5, Usage: "seconds without a request before it exits; 0: never"},
			&cli.StringFlag{Name: "group", Value: "docker", Usage: "the group of the unix socket (mode 0660), when it exists"},
			&cli.BoolFlag{Name: "tlsverify", Usage: "on tcp://, require TLS and a client certificate signed by --tlscacert"},
			&cli.StringFlag{Name: "tlscacert", Usage: "the CA that signs the clients' certificates"},
			&cli.StringFlag{Name: "tlscert", Usage: "the server's certificate"},
			&cli.StringFlag{Name: "tlskey", Usage: "the server's key"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			args := []string{"--root", cmd.Root().String("root"), "--time", strconv.Itoa(cmd.Int("time")), "--group", cmd.String("group"),
				"--version", Version, "--log-level", logrus.GetLevel().String()}
			if cmd.Bool("tlsverify") {
				args = append(args, "--tlsverify", "--tlscacert", cmd.String("tlscacert"), "--tlscert", cmd.String("tlscert"), "--tlskey", cmd.String("tlskey"))
			}
			for _, r := range cmd.Root().StringSlice("insecure-registry") {
				args = append(args, "--insecure-registry", r)
			}
			args = append(args, cmd.Args().Slice()...)
			if p.Serve != nil {
				if code := p.Serve(args); code != 0 {
					return &statusError{code: code}
				}
				return nil
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			serve := filepath.Join(filepath.Dir(exe), "mydocker-serve")
			if _, err := os.Stat(serve); err != nil {
				return fmt.Errorf("system service needs mydocker-serve beside %s (make builds it): %w", exe, err)
			}
			// In this process's place: signals reach the server itself, and its pid is this
			// one, which systemd's socket activation (LISTEN_PID) names.
			err = syscall.Exec(serve, append([]string{"mydocker-serve"}, args...), os.Environ())
			return fmt.Errorf("run %s: %w", serve, err)
		},
	}
}
