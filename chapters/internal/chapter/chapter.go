// Package chapter holds what every chapter's program does the same way — start, dispatch a
// command, report an error with Docker's exit status — so that a chapter's main.go shows only
// what that chapter wires.
package chapter

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/chapters/internal/lab"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/runconfig"
	"github.com/mydocker/mydocker/workspace"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Command is one of a program's commands: it gets the arguments after its name and returns
// the exit status to leave with.
type Command struct {
	Usage string // arguments, for the usage line
	Run   func(args []string) (int, error)
}

// Main runs the program name ("ch03"): first the container's init when this process was
// re-executed as it (container.Reexec), else the command its arguments name, after the global
// flags (nil: none). An error is printed and exits 125, or 126/127 when the container's command
// could not be executed, as Docker does. Built with -tags lab, the program runs on the
// learner's functions of labs 01 to its number, the init included.
func Main(name string, global *flag.FlagSet, commands map[string]Command) {
	number, _ := strconv.Atoi(strings.TrimPrefix(name, "ch"))
	lab.Use(number)
	if container.Reexec() {
		return
	}
	if global == nil {
		global = flag.NewFlagSet(name, flag.ExitOnError)
	}
	global.Usage = func() {
		for verb, c := range commands {
			fmt.Fprintf(os.Stderr, "usage: %s %s %s\n", name, verb, c.Usage)
		}
		global.PrintDefaults()
	}
	global.Parse(os.Args[1:])
	cmd, ok := commands[global.Arg(0)]
	if !ok {
		global.Usage()
		os.Exit(125)
	}
	code, err := cmd.Run(global.Args()[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(container.ExitStatus(err))
	}
	os.Exit(code)
}

// Stdio is the program's own standard input and outputs, handed to the container as they are.
func Stdio() container.Stdio {
	return container.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}

// RunFlags are a run command's flags: chapter 04's limits, named as Docker's, and from chapter
// 05 on the storage driver.
type RunFlags struct {
	*flag.FlagSet
	limits cgroups.Limits
	// Driver is --driver, the rootfs driver (chapter 05 on).
	Driver string
}

// limitFlags name each limit's flag here, for the message of a bad value.
var limitFlags = map[string]string{"Memory": "-m", "CPUs": "--cpus", "CPUShares": "--cpu-shares", "CpusetCpus": "--cpuset-cpus", "PidsLimit": "--pids-limit"}

// NewRunFlags makes the flags of the run command name; withDriver adds --driver.
func NewRunFlags(name string, withDriver bool) *RunFlags {
	f := &RunFlags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
	// Errors are returned and printed once, by Main; -h prints the flags (Parse).
	f.SetOutput(io.Discard)
	f.StringVar(&f.limits.Memory, "m", "", "memory limit (32m, 1g)")
	f.StringVar(&f.limits.CPUs, "cpus", "", "number of CPUs (0.5)")
	f.StringVar(&f.limits.CPUShares, "cpu-shares", "", "relative CPU weight (1024 by default)")
	f.StringVar(&f.limits.CpusetCpus, "cpuset-cpus", "", "CPUs allowed (0-1, 0,2)")
	f.StringVar(&f.limits.PidsLimit, "pids-limit", "", "most processes at once")
	if withDriver {
		f.StringVar(&f.Driver, "driver", "", "storage driver: overlay, aufs or vfs (default: the first the kernel has)")
	}
	return f
}

// Parse reads args, which must leave at least min arguments (usage says which), and returns
// the spec options the flags ask for and those arguments. The limits are checked here,
// before anything is made: a bad value leaves nothing to undo.
func (f *RunFlags) Parse(args []string, min int, usage string) (*runconfig.Options, []string, error) {
	if err := f.FlagSet.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.SetOutput(os.Stderr)
			f.PrintDefaults()
		}
		return nil, nil, err
	}
	if f.NArg() < min {
		return nil, nil, fmt.Errorf("run wants %s", usage)
	}
	resources, err := cgroups.ParseResources(f.limits)
	var le *cgroups.LimitError
	if errors.As(err, &le) {
		return nil, nil, fmt.Errorf("invalid argument %q for %q flag: %w", le.Value, limitFlags[le.Limit], le.Err)
	}
	if err != nil {
		return nil, nil, err
	}
	return &runconfig.Options{Resources: resources, Security: runconfig.Unconfined()}, f.Args(), nil
}

// Volumes adds chapter 06's -v HOST:CONTAINER[:ro], each checked as it is parsed (by the
// learner's ParseVolume in a chapter built with -tags lab) into one bind mount of the spec.
func (f *RunFlags) Volumes() *[]specs.Mount {
	var volumes []specs.Mount
	f.Func("v", "bind mount a volume: HOST:CONTAINER[:ro]", func(s string) error {
		m, err := workspace.ParseVolumeFlag(s)
		volumes = append(volumes, m)
		return err
	})
	return &volumes
}

// RootfsArgs splits ROOTFS COMMAND [ARG...], the arguments of chapters 02 to 04, making the
// rootfs path absolute: the container's init mounts it from a working directory of its own.
func RootfsArgs(args []string) (rootfs string, cmd []string, err error) {
	if len(args) < 2 {
		return "", nil, fmt.Errorf("run wants ROOTFS COMMAND [ARG...]")
	}
	rootfs, err = filepath.Abs(args[0])
	return rootfs, args[1:], err
}

// ImageCommands are chapter 05's image commands over the image store in root: import a
// rootfs tarball as an image, and list the images.
func ImageCommands(root *string) map[string]Command {
	return map[string]Command{
		"import": {Usage: "TARBALL NAME", Run: func(args []string) (int, error) {
			if len(args) != 2 {
				return 0, fmt.Errorf("import wants TARBALL NAME")
			}
			store, err := workspace.Open(*root)
			if err != nil {
				return 0, err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return 0, err
			}
			defer f.Close()
			img, err := store.Import(f, args[1], nil)
			if err != nil {
				return 0, err
			}
			fmt.Println(img.ID)
			return 0, nil
		}},
		"images": {Usage: "", Run: func(args []string) (int, error) {
			store, err := workspace.Open(*root)
			if err != nil {
				return 0, err
			}
			images, err := store.List()
			if err != nil {
				return 0, err
			}
			for _, img := range images {
				fmt.Printf("%s\t%s\t%d layer(s)\n", img.RepoTags, img.ID.Encoded()[:12], len(img.Config.RootFS.DiffIDs))
			}
			return 0, nil
		}},
	}
}

// RunImage runs image from the store in root in the foreground: the image's layers under a
// copy-on-write layer of the container's own (made by the rootfs driver driver, "" for the
// first the kernel has), removed when it exits.
func RunImage(root, image, driverName string, opts *runconfig.Options) (int, error) {
	return RunKept(root, "", image, driverName, opts)
}

// RunKept is RunImage for a container named name whose writable layer outlives it, in
// KeptDir(root, name), for chapter 07's commit and export; "" is RunImage's throwaway one.
func RunKept(root, name, image, driverName string, opts *runconfig.Options) (int, error) {
	// Absolute: the container's init mounts the layers from a working directory of its own.
	root, err := filepath.Abs(root)
	if err != nil {
		return 0, err
	}
	store, err := workspace.Open(root)
	if err != nil {
		return 0, err
	}
	img, err := store.Get(image)
	if err != nil {
		return 0, err
	}
	layers, err := store.LayerDirs(img)
	if err != nil {
		return 0, err
	}
	id := container.NewID()
	spec, _, err := opts.Spec(id, img.Config.Config)
	if err != nil {
		return 0, err
	}
	driver, err := workspace.NewDriver(driverName)
	if err != nil {
		return 0, err
	}
	dir := filepath.Join(root, "rootfs", id)
	if name != "" {
		if err := CheckName(name); err != nil {
			return 0, err
		}
		dir = KeptDir(root, name)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return 0, fmt.Errorf("create the container's layer: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); os.IsExist(err) && name != "" {
		return 0, fmt.Errorf("the container name %q is in use: rm it first", name)
	} else if err != nil {
		return 0, fmt.Errorf("create the container's layer: %w", err)
	}
	if name == "" {
		defer driver.Remove(dir)
	}
	rootfs, err := driver.Prepare(dir, layers)
	if err == nil && name != "" {
		err = writeKept(dir, keptRecord{Image: img.ID.String(), Driver: driver.Name()})
	}
	if err != nil {
		if name != "" {
			driver.Remove(dir)
		}
		return 0, err
	}
	spec.Root.Path = rootfs.Path
	made, err := workspace.MakeVolumeSources(opts.Mounts)
	if err != nil {
		return 0, err
	}
	code, err := container.RunBundle(id, &container.Bundle{Spec: spec, RootfsMount: rootfs.Mount}, Stdio())
	if err != nil {
		workspace.RemoveVolumeSources(made)
	}
	return code, err
}
