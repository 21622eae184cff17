package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/urfave/cli/v3"
)

// BuildRequest is a build as the command line asks for it: docker build's flags, parsed. The
// builder runs it, in mydocker-build (see Program.Build).
type BuildRequest struct {
	Context    string             `json:"context"`              // a directory, or "-": stdin
	Dockerfile string             `json:"dockerfile,omitempty"` // -f ("-": stdin)
	Tags       []string           `json:"tags,omitempty"`
	BuildArgs  map[string]*string `json:"build_args,omitempty"` // nil value: declared, no value
	Target     string             `json:"target,omitempty"`
	NoCache    bool               `json:"no_cache,omitempty"`
	Labels     map[string]string  `json:"labels,omitempty"`
	Network    string             `json:"network,omitempty"`
	Remove     bool               `json:"remove"`
	Quiet      bool               `json:"quiet,omitempty"`
}

func (p Program) buildCommand() *cli.Command {
	return &cli.Command{
		Name:                   "build",
		Usage:                  "build an image from a Dockerfile (PATH a directory, or - for a tar or a Dockerfile on stdin)",
		ArgsUsage:              "PATH | -",
		UseShortOptionHandling: true,
		OnUsageError:           onUsageError,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "name and optionally a tag in the 'name:tag' format"},
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "name of the Dockerfile (default: PATH/Dockerfile; - for stdin)"},
			&cli.StringSliceFlag{Name: "build-arg", Usage: "set a build-time variable (KEY=VALUE, or KEY to pass the caller's)"},
			&cli.StringFlag{Name: "target", Usage: "the build stage to build, the last one built"},
			&cli.BoolFlag{Name: "no-cache", Usage: "do not use the cache when building the image"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "suppress the build output and print the image ID on success"},
			&cli.StringSliceFlag{Name: "label", Usage: "set metadata for an image (KEY=VALUE)"},
			&cli.StringFlag{Name: "network", Usage: "the network of the RUN instructions' containers: bridge (default), none, host or a network's name"},
			&cli.BoolFlag{Name: "rm", Value: true, Usage: "remove intermediate containers after a successful build"},
			&cli.BoolFlag{Name: "force-rm", Usage: "always remove intermediate containers (mydocker always removes the container of a step that fails)"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := exactArgs(cmd, 1, "build [OPTIONS] PATH | -"); err != nil {
				return err
			}
			req := BuildRequest{
				Context:    cmd.Args().First(),
				Dockerfile: cmd.String("file"),
				Tags:       cmd.StringSlice("tag"),
				Target:     cmd.String("target"),
				NoCache:    cmd.Bool("no-cache"),
				Network:    p.buildNetwork(cmd),
				Remove:     cmd.Bool("rm") || cmd.Bool("force-rm"),
				Quiet:      cmd.Bool("quiet"),
			}
			if req.Context == "-" && req.Dockerfile == "-" {
				return usageError{msg: "invalid argument: can't use stdin for both build context and dockerfile"}
			}
			for _, a := range cmd.StringSlice("build-arg") {
				k, v, ok := strings.Cut(a, "=")
				if !ok {
					if env, set := os.LookupEnv(k); set {
						v, ok = env, true
					}
				}
				if req.BuildArgs == nil {
					req.BuildArgs = map[string]*string{}
				}
				req.BuildArgs[k] = nil
				if ok {
					req.BuildArgs[k] = &v
				}
			}
			for _, l := range cmd.StringSlice("label") {
				k, v, _ := strings.Cut(l, "=")
				if req.Labels == nil {
					req.Labels = map[string]string{}
				}
				req.Labels[k] = v
			}
			root := cmd.Root().String("root")
			if p.Build != nil {
				if code := p.Build(root, req); code != 0 {
					return &statusError{code: code}
				}
				return nil
			}
			return runBuilder(root, req)
		},
	}
}

// runBuilder runs the build in mydocker-build, beside this binary, where make builds it: the
// builder, with buildkit's Dockerfile parser, is a program of its own (see mydocker/build).
// It takes this process's place (execve), with its stdin, stdout and stderr: nothing is
// left for mydocker to do, and one process less is a millisecond or two of a build of a RUN.
func runBuilder(root string, req BuildRequest) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	helper := filepath.Join(filepath.Dir(exe), "mydocker-build")
	if _, err := os.Stat(helper); err != nil {
		return fmt.Errorf("build needs mydocker-build beside %s (make builds it): %w", exe, err)
	}
	data, err := json.Marshal(req)
	if err != nil {
		return err
	}
	return syscall.Exec(helper, []string{helper, root, string(data)}, os.Environ())
}

// buildNetwork is the RUN containers' network: --network, else Docker's default (the bridge
// network); a chapter's program keeps none as its default, as its run does.
func (p Program) buildNetwork(cmd *cli.Command) string {
	if n := cmd.String("network"); n != "" || p.Chapter == 0 {
		return n
	}
	return "none"
}
