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
	"strings"
	"time"

	"github.com/moby/moby/api/types/image"
	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/internal/bars"
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
			progress := bars.OnTerminal(os.Stdout, cmd.Bool("quiet"))
			loaded, err := e.Images().LoadArchive(r, func(id string, size int64, r io.Reader) (io.Reader, func(error)) {
				l := progress.Layer(id, "Loading layer", size)
				return l.Reader(r), func(err error) { l.End(err, "Loaded") }
			})
			progress.Wait()
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
			&cli.StringFlag{Name: "format", Usage: "format output with a Go template (.ID, .CreatedSince, .CreatedAt, .CreatedBy, .Size, .Comment)"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "history [OPTIONS] IMAGE"); err != nil {
				return err
			}
			format := cmd.String("format")
			if cmd.Bool("quiet") {
				format = "{{.ID}}"
			}
			f, err := parseRowFormat(format, historyTable, historyHeaders)
			if err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			items, err := e.ImageHistory(cmd.Args().First())
			if err != nil {
				return err
			}
			rows := historyRows(items, cmd.Bool("no-trunc"), time.Now())
			out := bufio.NewWriter(os.Stdout)
			if err := f.write(out, rows); err != nil {
				return err
			}
			return out.Flush()
		},
	}
}

const historyTable = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"

var historyHeaders = map[string]string{
	"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
	"Size": "SIZE", "Comment": "COMMENT",
}

// historyRow is one line of history as --format reads it.
type historyRow struct {
	ID, CreatedSince, CreatedAt, CreatedBy, Size, Comment string
}

// historyRows are the lines history prints of items (engine.ImageHistory, newest first).
func historyRows(items []image.HistoryResponseItem, noTrunc bool, now time.Time) []any {
	var rows []any
	for _, it := range items {
		row := historyRow{ID: it.ID, CreatedSince: "N/A", CreatedBy: it.CreatedBy, Size: humanSize(it.Size), Comment: it.Comment}
		if id, ok := strings.CutPrefix(it.ID, "sha256:"); ok && !noTrunc {
			row.ID = id[:12]
		}
		if it.Created != engine.NoTime {
			c := time.Unix(it.Created, 0)
			row.CreatedSince = engine.HumanDuration(now.Sub(c)) + " ago"
			row.CreatedAt = c.Local().Format(time.RFC3339)
		}
		if r := []rune(row.CreatedBy); !noTrunc && len(r) > 45 {
			row.CreatedBy = string(r[:44]) + "…"
		}
		rows = append(rows, row)
	}
	return rows
}

func (p Program) pullCommand() *cli.Command {
	return p.registryCommand("pull", "pull an image from a registry (NAME[:TAG] or NAME@sha256:...)", "NAME[:TAG|@DIGEST]", "print only the image's name")
}

func (p Program) pushCommand() *cli.Command {
	return p.registryCommand("push", "push an image to a registry", "NAME[:TAG]", "print nothing")
}

// registryName is the registry client's program (registrycli.Name, which this package does
// not import: it would link the client into mydocker).
const registryName = "mydocker-registry"

// registryCommand runs pull or push in mydocker-registry (see runRegistry).
func (p Program) registryCommand(op, usage, args, quiet string) *cli.Command {
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
			argv := []string{op, cmd.Root().String("root"), cmd.Args().First()}
			if cmd.Bool("quiet") {
				argv = append([]string{"-q"}, argv...)
			}
			return p.runRegistry(cmd, nil, argv...)
		},
	}
}

func (p Program) loginCommand() *cli.Command {
	return &cli.Command{
		Name:         "login",
		Usage:        "log in to a registry (credentials kept where docker login keeps them)",
		ArgsUsage:    "[SERVER]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Usage: "username"},
			&cli.StringFlag{Name: "password", Aliases: []string{"p"}, Usage: "password"},
			&cli.BoolFlag{Name: "password-stdin", Usage: "take the password from stdin"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() > 1 {
				return usageError{msg: `"login" requires at most 1 argument: login [OPTIONS] [SERVER]`}
			}
			user, password := cmd.String("username"), cmd.String("password")
			switch {
			case cmd.Bool("password-stdin"):
				if password != "" {
					return usageError{msg: "--password and --password-stdin are mutually exclusive"}
				}
				if user == "" {
					return usageError{msg: "must provide --username with --password-stdin"}
				}
				data, err := io.ReadAll(os.Stdin)
				if err != nil {
					return err
				}
				password = strings.TrimRight(string(data), "\r\n")
			case password != "":
				fmt.Fprintln(os.Stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
			}
			var err error
			if user == "" {
				if user, err = prompt("Username: ", true); err != nil {
					return err
				}
			}
			if password == "" {
				if password, err = prompt("Password: ", false); err != nil {
					return err
				}
			}
			if user == "" || password == "" {
				return errors.New("username and password are required")
			}
			return p.runRegistry(cmd, strings.NewReader(password), "login", cmd.Args().First(), user)
		},
	}
}

func (p Program) logoutCommand() *cli.Command {
	return &cli.Command{
		Name:         "logout",
		Usage:        "log out from a registry",
		ArgsUsage:    "[SERVER]",
		OnUsageError: onUsageError,
		Action: func(_ context.Context, cmd *cli.Command) error {
			return p.runRegistry(cmd, nil, "logout", cmd.Args().First())
		},
	}
}

// prompt asks for a line on the terminal (echoed or not); without a terminal there is nobody
// to ask.
func prompt(question string, echo bool) (string, error) {
	fd := int(os.Stdin.Fd())
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", errors.New("cannot ask for a username or password without a terminal: use --username and --password-stdin")
	}
	fmt.Fprint(os.Stderr, question)
	if !echo {
		quiet := *saved
		quiet.Lflag &^= unix.ECHO
		unix.IoctlSetTermios(fd, unix.TCSETS, &quiet)
		defer func() {
			unix.IoctlSetTermios(fd, unix.TCSETS, saved)
			fmt.Fprintln(os.Stderr)
		}()
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// runRegistry runs mydocker-registry, beside this binary, where make builds it: the registry
// client is a program of its own (see package workspace/registry). A program that is its own
// registry client (SelfRegistry) executes itself under that name instead. The registries
// named by --insecure-registry go with it.
func (p Program) runRegistry(cmd *cli.Command, stdin io.Reader, args ...string) error {
	if err := enterRootless(cmd); err != nil { // it unpacks as the user namespace's root
		return err
	}
	helper, argv0 := "/proc/self/exe", registryName
	if !p.SelfRegistry {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		helper = filepath.Join(filepath.Dir(exe), registryName)
		if _, err := os.Stat(helper); err != nil {
			return fmt.Errorf("%s needs %s beside %s (make builds it): %w", cmd.Name, registryName, exe, err)
		}
		argv0 = helper
	}
	var argv []string
	for _, r := range cmd.Root().StringSlice("insecure-registry") {
		argv = append(argv, "--insecure-registry", r)
	}
	c := exec.Command(helper, append(argv, args...)...)
	c.Args[0] = argv0
	c.Stdin, c.Stdout, c.Stderr = stdin, os.Stdout, os.Stderr
	if err := c.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return &statusError{code: ee.ExitCode()}
		}
		return err
	}
	return nil
}
