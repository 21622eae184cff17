// Command ch01 is chapter 01's engine: it runs a command in new UTS, PID, mount, IPC and
// network namespaces, still on the host's filesystem, with a /proc of its own.
//
//	ch01 run COMMAND [ARG...]
package main

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/chapters/internal/chapter"
	"github.com/mydocker/mydocker/container"
)

func main() {
	chapter.Main("ch01", nil, map[string]chapter.Command{
		"run": {Usage: "COMMAND [ARG...]", Run: run},
	})
}

func run(args []string) (int, error) {
	if len(args) == 0 {
		return 0, fmt.Errorf("run wants a COMMAND")
	}
	spec := &specs.Spec{
		Hostname: "container",
		// "/" keeps the host's filesystem: the root changes in chapters 02 and 03.
		Root: &specs.Root{Path: "/"},
		Process: &specs.Process{
			Args: args,
			Env:  []string{container.DefaultPath, "TERM=" + os.Getenv("TERM")},
			Cwd:  "/",
		},
		// A /proc of the new PID namespace, mounted in the new mount namespace only.
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.UTSNamespace},
				{Type: specs.PIDNamespace},
				{Type: specs.MountNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.NetworkNamespace},
			},
		},
	}
	return container.RunBundle(container.NewID(), &container.Bundle{Spec: spec}, chapter.Stdio())
}
