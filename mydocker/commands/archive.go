package commands

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"
)

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func saveCommand() *cli.Command {
	return &cli.Command{
		Name:         "save",
		Usage:        "save images to a tar archive (docker-archive, the format docker load reads; stdout by default)",
		ArgsUsage:    "IMAGE [IMAGE...]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to a file instead of stdout"},
			&cli.StringFlag{Name: "format", Value: "docker", Usage: "docker (docker save's archive) or oci (an OCI image layout)"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "save [OPTIONS] IMAGE [IMAGE...]"); err != nil {
				return err
			}
			save := map[string]func(io.Writer, ...string) error{}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			save["docker"], save["oci"] = e.Images().SaveDockerArchive, e.Images().SaveOCIArchive
			write, ok := save[cmd.String("format")]
			if !ok {
				return usageError{msg: fmt.Sprintf("invalid --format %q: docker or oci", cmd.String("format"))}
			}
			out := cmd.String("output")
			if out == "" || out == "-" {
				if isTerminal(os.Stdout) {
					return fmt.Errorf("cowardly refusing to save to a terminal. Use the -o flag or redirect")
				}
				w := bufio.NewWriterSize(os.Stdout, 1<<20)
				if err := write(w, cmd.Args().Slice()...); err != nil {
					return err
				}
				return w.Flush()
			}
			// Written beside, then renamed: a failed save leaves no half archive.
			tmp, err := os.CreateTemp(filepath.Dir(out), ".save-*.tar")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			w := bufio.NewWriterSize(tmp, 1<<20)
			if err := write(w, cmd.Args().Slice()...); err != nil {
				tmp.Close()
				return err
			}
			if err := w.Flush(); err != nil {
				tmp.Close()
				return err
			}
			if err := tmp.Close(); err != nil {
				return err
			}
			return os.Rename(tmp.Name(), out)
		},
	}
}

func loadCommand() *cli.Command {
	return &cli.Command{
		Name:         "load",
		Usage:        "load images from a docker-archive or an OCI layout tar (gzip or not; stdin by default)",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "read from a file instead of stdin"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			var r io.Reader = os.Stdin
			if in := cmd.String("input"); in != "" && in != "-" {
				f, err := os.Open(in)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			} else if isTerminal(os.Stdin) {
				return fmt.Errorf("requested load from stdin, but stdin is empty")
			}
			loaded, err := e.Images().LoadArchive(r)
			if err != nil {
				return err
			}
			if cmd.Bool("quiet") {
				return nil
			}
			for _, l := range loaded {
				if len(l.Tags) == 0 {
					fmt.Println("Loaded image ID: " + l.ID.String())
				}
				for _, t := range l.Tags {
					fmt.Println("Loaded image: " + t)
				}
			}
			return nil
		},
	}
}

func historyCommand() *cli.Command {
	return &cli.Command{
		Name:         "history",
		Usage:        "show how an image was made",
		ArgsUsage:    "IMAGE",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only show image ids"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "history [OPTIONS] IMAGE"); err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			img, err := e.Images().Get(cmd.Args().First())
			if err != nil {
				return err
			}
			sizes := e.Images().LayerSizes(img)
			tw := newTable()
			if !cmd.Bool("quiet") {
				fmt.Fprintln(tw, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT")
			}
			h := img.Config.History
			layer := len(img.Config.RootFS.DiffIDs) - 1
			for i := len(h) - 1; i >= 0; i-- { // newest first, as docker history
				id := "<missing>"
				if i == len(h)-1 {
					id = img.ID.Encoded()[:12]
					if cmd.Bool("no-trunc") {
						id = img.ID.String()
					}
				}
				var size int64
				if !h[i].EmptyLayer && layer >= 0 {
					size = sizes[layer]
					layer--
				}
				if cmd.Bool("quiet") {
					fmt.Fprintln(tw, id)
					continue
				}
				created := "N/A"
				if h[i].Created != nil {
					created = humanDuration(time.Since(*h[i].Created)) + " ago"
				}
				by := h[i].CreatedBy
				if r := []rune(by); !cmd.Bool("no-trunc") && len(r) > 45 {
					by = string(r[:44]) + "…"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", id, created, by, humanSize(size), h[i].Comment)
			}
			return tw.Flush()
		},
	}
}

func pullCommand() *cli.Command {
	return registryCommand("pull", "pull an image from a registry (NAME[:TAG] or NAME@sha256:...)", "NAME[:TAG|@DIGEST]", "print only the image's name")
}

func pushCommand() *cli.Command {
	return registryCommand("push", "push an image to a registry", "NAME[:TAG]", "print nothing")
}

// registryCommand runs pull or push in mydocker-registry, beside this binary, where make builds
// it: the registry client is a program of its own (see package workspace/registry).
func registryCommand(op, usage, args, quiet string) *cli.Command {
	return &cli.Command{
		Name:         op,
		Usage:        usage,
		ArgsUsage:    args,
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: quiet},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, op+" [OPTIONS] "+args); err != nil {
				return err
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			helper := filepath.Join(filepath.Dir(exe), "mydocker-registry")
			if _, err := os.Stat(helper); err != nil {
				return fmt.Errorf("%s needs mydocker-registry beside %s (make builds it): %w", op, exe, err)
			}
			argv := []string{cmd.Root().String("root"), op, cmd.Args().First()}
			if cmd.Bool("quiet") {
				argv = append(argv, "-q")
			}
			c := exec.Command(helper, argv...)
			c.Stdout, c.Stderr = os.Stdout, os.Stderr
			if err := c.Run(); err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					return &statusError{code: ee.ExitCode()}
				}
				return err
			}
			return nil
		},
	}
}
