package commands

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/image"
	"github.com/urfave/cli/v3"

	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/internal/bars"
)

func importCommand() *cli.Command {
	return &cli.Command{
		Name:         "import",
		Usage:        "create an image from a rootfs tarball (plain or gzip; - for stdin)",
		ArgsUsage:    "TARBALL [REPOSITORY[:TAG]]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "change", Aliases: []string{"c"}, Usage: "apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL, VOLUME"},
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
			size := int64(0)
			if path := cmd.Args().First(); path != "-" {
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				defer f.Close()
				if info, err := f.Stat(); err == nil {
					size = info.Size()
				}
				r = f
			}
			progress := bars.OnTerminal(os.Stdout, false)
			bar := progress.Layer(filepath.Base(cmd.Args().First()), "Importing", size)
			img, err := e.Images().Import(bar.Reader(r), cmd.Args().Get(1), cmd.StringSlice("change"))
			bar.End(err, "Imported")
			progress.Wait()
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
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all images (default hides intermediate images)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only show image ids"},
			&cli.StringFlag{Name: "format", Usage: "format output with a Go template (table for columns)"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
			&cli.BoolFlag{Name: "digests", Usage: "show digests"},
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "filter output: dangling=true|false, reference=PATTERN"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			format := cmd.String("format")
			if cmd.Bool("quiet") {
				format = "{{.ID}}"
			}
			table := imagesTable
			if cmd.Bool("digests") {
				table = imagesDigestsTable
			}
			keep, err := parseImageFilter(cmd.StringSlice("filter"))
			dangling := slices.Contains(cmd.StringSlice("filter"), "dangling=true")
			if err != nil {
				return &statusError{code: 125, err: err}
			}
			f, err := parseRowFormat(format, table, imagesHeaders)
			if err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			imgs, err := e.ImageSummaries(cmd.Bool("all"))
			if err != nil {
				return err
			}
			rows := imageRows(imgs, keep, dangling, cmd.Bool("no-trunc"), cmd.Bool("quiet"), time.Now())
			out := bufio.NewWriter(os.Stdout)
			if err := f.write(out, rows); err != nil {
				return err
			}
			return out.Flush()
		},
	}
}

const (
	imagesTable        = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	imagesDigestsTable = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
)

// parseImageFilter reads images --filter into a test on each REPOSITORY:TAG row
// ("<none>:<none>" for an untagged image).
func parseImageFilter(args []string) (func(tag string) bool, error) {
	var tests []func(string) bool
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "dangling":
			if v != "true" && v != "false" {
				return nil, fmt.Errorf("invalid filter 'dangling=%s': true or false", v)
			}
			want := v == "true"
			tests = append(tests, func(t string) bool { return (t == "<none>:<none>") == want })
		case "reference":
			tests = append(tests, func(t string) bool {
				repo := t[:strings.LastIndex(t, ":")] // the tag follows the last colon
				ok1, _ := path.Match(v, t)
				ok2, _ := path.Match(v, repo)
				return ok1 || ok2
			})
		default:
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
	}
	return func(tag string) bool {
		for _, test := range tests {
			if !test(tag) {
				return false
			}
		}
		return true
	}, nil
}

var imagesHeaders = map[string]string{
	"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "CreatedSince": "CREATED",
	"CreatedAt": "CREATED AT", "Size": "SIZE", "Digest": "DIGEST",
}

// imageRow is one image tag as images --format reads it.
type imageRow struct {
	Repository, Tag, ID, CreatedSince, CreatedAt, Size, Digest string
}

// imageRows are the rows images prints of imgs (engine.ImageSummaries): a row per tag that
// keep keeps, with the digest recorded for its repository; an untagged image as <none>, unless
// images were built on it and only dangling ones are asked for; with quiet, one row per image.
func imageRows(imgs []image.Summary, keep func(tag string) bool, dangling, noTrunc, quiet bool, now time.Time) []any {
	parents := map[string]bool{} // the images others were built on
	for _, img := range imgs {
		parents[img.ParentID] = true
	}
	var rows []any
	seen := map[string]bool{}
	for _, img := range imgs {
		id := img.ID
		if !noTrunc {
			id = strings.TrimPrefix(id, "sha256:")[:12]
		}
		tags := slices.DeleteFunc(slices.Clone(img.RepoTags), func(t string) bool { return !keep(t) })
		if len(img.RepoTags) == 0 && keep("<none>:<none>") && (!parents[img.ID] || !dangling) {
			tags = []string{"<none>:<none>"}
		}
		if quiet { // one id per image, however many tags
			if len(tags) > 0 && !seen[id] {
				seen[id] = true
				rows = append(rows, imageRow{ID: id})
			}
			continue
		}
		created, createdAt := "N/A", ""
		if img.Created != engine.NoTime {
			c := time.Unix(img.Created, 0)
			created = engine.HumanDuration(now.Sub(c)) + " ago"
			createdAt = c.Local().Format("2006-01-02 15:04:05 -0700 MST")
		}
		digests := map[string]string{} // repository -> the manifest digest recorded for it
		for _, ref := range img.RepoDigests {
			repo, d, _ := strings.Cut(ref, "@")
			digests[repo] = cmp.Or(digests[repo], d)
		}
		for _, t := range tags {
			i := strings.LastIndex(t, ":")
			rows = append(rows, imageRow{Repository: t[:i], Tag: t[i+1:], ID: id, CreatedSince: created,
				CreatedAt: createdAt, Size: humanSize(img.Size), Digest: cmp.Or(digests[t[:i]], "<none>")})
		}
	}
	return rows
}

func tagCommand() *cli.Command {
	return &cli.Command{
		Name:         "tag",
		Usage:        "create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		ArgsUsage:    "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		OnUsageError: onUsageError,
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() != 2 {
				return exactArgs(cmd, 2, "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			img, err := e.Images().Get(cmd.Args().First())
			if err != nil {
				return err
			}
			return e.Images().Tag(img.ID, cmd.Args().Get(1))
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
				untagged, deleted, err := e.RemoveImage(ref, cmd.Bool("force"))
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
