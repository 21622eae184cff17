package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	mobyctr "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/storage"
	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/workspace"
)

// The images as Docker's images, inspect and history show them, in the Engine API's types: the
// command line prints them, the API server sends them.

// NoTime is the Created of an image, or of a step of its history, whose config gives no time:
// the zero time's seconds, as Docker 20.10 sends it. The command line shows it as N/A.
var NoTime = time.Time{}.Unix()

// ImageSummaries lists the images, newest first; with all, a build's intermediate images too
// (untagged, with images built on them), which images hides as Docker's does.
func (e *Engine) ImageSummaries(all bool) ([]image.Summary, error) {
	imgs, err := e.images.List()
	if err != nil {
		return nil, err
	}
	parents, err := e.images.WithChildren()
	if err != nil {
		return nil, err
	}
	held, _, err := e.holders()
	if err != nil {
		return nil, err
	}
	digests := e.repoDigests()
	out := []image.Summary{}
	for _, img := range imgs {
		if len(img.RepoTags) == 0 && parents[img.ID] && !all {
			continue
		}
		s := image.Summary{
			ID: img.ID.String(), RepoTags: emptyIfNil(img.RepoTags), RepoDigests: emptyIfNil(digests[img.ID]),
			Size: img.Size, SharedSize: -1, Labels: img.Config.Config.Labels, Containers: int64(len(held[img.ID])),
			Created: NoTime,
		}
		if p := e.images.Parent(img.ID); p != "" {
			s.ParentID = p.String()
		}
		if c := img.Config.Created; c != nil {
			s.Created = c.Unix()
		}
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		out = append(out, s)
	}
	return out, nil
}

// ImageDetails is an image as docker image inspect describes it: the Engine API's response,
// and beside it what older versions of the API also said, which the response's type no longer
// holds (moby's image backend keeps the same beside it). Those are read from the image's config
// when Docker's classic builder or commit wrote them there, and its Parent from the chain a
// build made; compat.Image writes the whole as the API version asked for shows it.
type ImageDetails struct {
	image.InspectResponse
	Parent          string          `json:",omitempty"`
	DockerVersion   string          `json:",omitempty"`
	Container       string          `json:",omitempty"`
	ContainerConfig *mobyctr.Config `json:",omitempty"`
}

// legacyConfig is what Docker's image configs hold beyond the OCI's that inspect shows.
type legacyConfig struct {
	Comment         string          `json:"comment"`
	Container       string          `json:"container"`
	ContainerConfig *mobyctr.Config `json:"container_config"`
	DockerVersion   string          `json:"docker_version"`
}

// ImageInspect describes an image as docker image inspect does.
func (e *Engine) ImageInspect(ref string) (*ImageDetails, error) {
	img, err := e.images.Get(ref)
	if err != nil {
		return nil, err
	}
	raw, err := e.images.RawConfig(img)
	if err != nil {
		return nil, err
	}
	var legacy legacyConfig
	if err := json.Unmarshal(raw, &legacy); err != nil {
		return nil, fmt.Errorf("image %s: decode config: %w", img.ID, err)
	}
	resp := image.InspectResponse{
		ID: img.ID.String(), RepoTags: emptyIfNil(img.RepoTags), RepoDigests: emptyIfNil(e.repoDigests()[img.ID]),
		Comment: legacy.Comment, Author: img.Config.Author,
		Architecture: img.Config.Architecture, Variant: img.Config.Variant, Os: img.Config.OS, OsVersion: img.Config.OSVersion,
		Size:        img.Size,
		Config:      &dockerspec.DockerOCIImageConfig{ImageConfig: img.Config.Config, DockerOCIImageConfigExt: img.Docker},
		GraphDriver: e.imageGraphDriver(img),
		RootFS:      image.RootFS{Type: img.Config.RootFS.Type},
	}
	// Docker's: a commit's -m, or else what the last step of the history says (an import's
	// "Imported from tarball"). The time as the config writes it, in its own zone.
	if n := len(img.Config.History); resp.Comment == "" && n > 0 {
		resp.Comment = img.Config.History[n-1].Comment
	}
	if c := img.Config.Created; c != nil {
		resp.Created = c.Format(time.RFC3339Nano)
	}
	for _, d := range img.Config.RootFS.DiffIDs {
		resp.RootFS.Layers = append(resp.RootFS.Layers, d.String())
	}
	details := &ImageDetails{InspectResponse: resp, DockerVersion: legacy.DockerVersion,
		Container: legacy.Container, ContainerConfig: legacy.ContainerConfig}
	if p := e.images.Parent(img.ID); p != "" {
		details.Parent = p.String()
	}
	return details, nil
}

// imageGraphDriver says where the image's layers are, as Docker's overlay2 says it: the top
// layer's directory as UpperDir, the others, top-most first, as LowerDir. The driver named is
// the one a container would get; an image has no merged or work directory here (Docker's
// overlay2 keeps them, unmounted, for each image).
func (e *Engine) imageGraphDriver(img *workspace.Image) *storage.DriverData {
	gd := &storage.DriverData{Data: map[string]string{}}
	if d, err := workspace.NewDriver(""); err == nil {
		gd.Name = d.Name()
	}
	dirs, err := e.images.LayerDirs(img)
	if err != nil || len(dirs) == 0 {
		return gd
	}
	gd.Data["UpperDir"] = dirs[len(dirs)-1]
	if len(dirs) > 1 {
		lower := slices.Clone(dirs[:len(dirs)-1])
		slices.Reverse(lower)
		gd.Data["LowerDir"] = strings.Join(lower, ":")
	}
	return gd
}

// ImageHistory is docker history: each step of the image's history, newest first, with the
// image it made when the store knows it (a build's chain of parents) and its tags, and the
// bytes its layer holds.
func (e *Engine) ImageHistory(ref string) ([]image.HistoryResponseItem, error) {
	img, err := e.images.Get(ref)
	if err != nil {
		return nil, err
	}
	sizes := e.images.LayerSizes(img)
	h := img.Config.History
	layer := len(img.Config.RootFS.DiffIDs) - 1
	chain, tags := img.ID, img.RepoTags
	out := []image.HistoryResponseItem{}
	for i := len(h) - 1; i >= 0; i-- {
		item := image.HistoryResponseItem{ID: "<missing>", CreatedBy: h[i].CreatedBy, Comment: h[i].Comment, Tags: []string{}, Created: NoTime}
		if chain != "" {
			item.ID, item.Tags = chain.String(), emptyIfNil(tags)
			if chain, tags = e.images.Parent(chain), nil; chain != "" {
				if parent, err := e.images.Get(chain.String()); err == nil {
					tags = parent.RepoTags
				}
			}
		}
		if !h[i].EmptyLayer && layer >= 0 {
			item.Size = sizes[layer]
			layer--
		}
		if c := h[i].Created; c != nil {
			item.Created = c.Unix()
		}
		out = append(out, item)
	}
	return out, nil
}

// repoDigests are the NAME@sha256 references pulls and pushes recorded, by image.
func (e *Engine) repoDigests() map[digest.Digest][]string {
	out := map[digest.Digest][]string{}
	for ref, id := range e.images.RepoDigests() {
		out[id] = append(out[id], ref)
	}
	for _, refs := range out {
		slices.Sort(refs) // Docker's order
	}
	return out
}

func emptyIfNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TagImage tags an image (tag): ref is the image, name REPOSITORY[:TAG] the new tag.
func (e *Engine) TagImage(ref, name string) error {
	img, err := e.images.Get(ref)
	if err != nil {
		return err
	}
	return e.images.Tag(img.ID, name)
}

// IsImageNotFound reports whether err says an image is not in the store.
func IsImageNotFound(err error) bool {
	return errors.Is(err, workspace.ErrImageNotFound)
}
