package commands

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mydocker/mydocker/engine"
	"github.com/urfave/cli/v3"
)

func importCommand() *cli.Command {
	return &cli.Command{
		Name:         "import",
		Usage:        "create an image from a rootfs tarball (plain or gzip; - for stdin)",
		ArgsUsage:    "TARBALL [REPOSITORY[:TAG]]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "change", Aliases: []string{"c"}, Usage: "apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "import [OPTIONS] TARBALL [REPOSITORY[:TAG]]"); err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			var r io.Reader = os.Stdin
			if path := cmd.Args().First(); path != "-" {
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			img, err := e.Images().Import(r, cmd.Args().Get(1), cmd.StringSlice("change"))
			if err != nil {
				return err
			}
			fmt.Println(img.ID)
			return nil
		},
	}
}

func imagesCommand() *cli.Command {
	return &cli.Command{
		Name:                   "images",
		Usage:                  "list images",
		UseShortOptionHandling: true,
		OnUsageError:           onUsageError,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only show image ids"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			imgs, err := e.Images().List()
			if err != nil {
				return err
			}
			tw := newTable()
			if !cmd.Bool("quiet") {
				fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
			}
			now := time.Now()
			for _, img := range imgs {
				short := img.ID.Encoded()[:12]
				if cmd.Bool("quiet") {
					fmt.Fprintln(tw, short)
					continue
				}
				created := "N/A"
				if img.Config.Created != nil {
					created = humanDuration(now.Sub(*img.Config.Created)) + " ago"
				}
				tags := img.RepoTags
				if len(tags) == 0 {
					tags = []string{"<none>:<none>"}
				}
				for _, t := range tags {
					i := strings.LastIndex(t, ":")
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t[:i], t[i+1:], short, created, humanSize(img.Size))
				}
			}
			return tw.Flush()
		},
	}
}

func rmiCommand() *cli.Command {
	return &cli.Command{
		Name:         "rmi",
		Usage:        "remove images",
		ArgsUsage:    "IMAGE [IMAGE...]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "remove the image even if containers use it"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			return eachArg(cmd, "rmi [OPTIONS] IMAGE [IMAGE...]", func(e *engine.Engine, ref string) (string, error) {
				untagged, deleted, err := e.Images().Remove(ref, cmd.Bool("force"), e.ImageInUse)
				var lines []string
				for _, t := range untagged {
					lines = append(lines, "Untagged: "+t)
				}
				for _, d := range deleted {
					lines = append(lines, "Deleted: "+d.String())
				}
				return strings.Join(lines, "\n"), err
			})
		},
	}
}
