package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"

	mobyctr "github.com/moby/moby/api/types/container"
	"github.com/urfave/cli/v3"

	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/internal/compat"
)

// imageInspectCommand is docker image inspect: the images' JSON, or a template over each.
func imageInspectCommand() *cli.Command {
	return &cli.Command{
		Name:         "inspect",
		Usage:        "show low-level information on images",
		ArgsUsage:    "IMAGE [IMAGE...]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format the output with a Go template"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "image inspect [OPTIONS] IMAGE [IMAGE...]"); err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			var out []any
			var failed error
			for _, ref := range cmd.Args().Slice() {
				img, err := inspectImage(e, ref)
				if err != nil {
					fmt.Fprintf(os.Stderr, "Error: No such image: %s\n", ref)
					failed = &statusError{code: 1}
					continue
				}
				out = append(out, img)
			}
			return printInspected(cmd.String("format"), out, failed)
		},
	}
}

// inspectImage describes an image as docker image inspect (and inspect) print it.
func inspectImage(e *engine.Engine, ref string) (any, error) {
	details, err := e.ImageInspect(ref)
	if err != nil {
		return nil, err
	}
	fields, err := compat.Image(details, compat.CLIVersion)
	if err != nil {
		return nil, err
	}
	typed := &imageTyped{ImageDetails: details, Config: &mobyctr.Config{}, ContainerConfig: details.ContainerConfig, VirtualSize: details.Size}
	// The image's config as a container's config: the same fields, by the same names.
	if data, err := json.Marshal(details.Config); err != nil {
		return nil, err
	} else if err := json.Unmarshal(data, typed.Config); err != nil {
		return nil, err
	}
	if typed.ContainerConfig == nil {
		typed.ContainerConfig = &mobyctr.Config{}
	}
	return inspectedImage{typed: typed, fields: fields}, nil
}

// inspectedImage is an image as inspect prints it: its JSON as the API version the command
// line writes (Docker 20.10's), and a typed value, which a template reads first (see
// typedValue).
type inspectedImage struct {
	typed  *imageTyped
	fields compat.Fields
}

func (i inspectedImage) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as printInspected writes the rest
	err := enc.Encode(i.fields)
	return buf.Bytes(), err
}

func (i inspectedImage) typedValue() any { return i.typed }

// imageTyped is the engine's image as the type Docker 20.10's inspect templates read: Config
// and ContainerConfig a container's config (a field an image leaves empty is there, and a
// list it leaves empty prints []), and VirtualSize.
type imageTyped struct {
	*engine.ImageDetails
	Config          *mobyctr.Config
	ContainerConfig *mobyctr.Config
	VirtualSize     int64
}
