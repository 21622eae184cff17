package engine

import (
	"errors"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/image"
	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/workspace"
)

// The images as Docker's images, inspect and history show them, in the Engine API's types: the
// command line prints them, the API server sends them.

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
			Size: img.Size, Labels: img.Config.Config.Labels, Containers: int64(len(held[img.ID])),
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

// ImageInspect describes an image as docker image inspect does.
func (e *Engine) ImageInspect(ref string) (*image.InspectResponse, error) {
	img, err := e.images.Get(ref)
	if err != nil {
		return nil, err
	}
	resp := &image.InspectResponse{
		ID: img.ID.String(), RepoTags: emptyIfNil(img.RepoTags), RepoDigests: emptyIfNil(e.repoDigests()[img.ID]),
		Author: img.Config.Author, Architecture: img.Config.Architecture, Os: img.Config.OS, Variant: img.Config.Variant,
		Size:   img.Size,
		Config: &dockerspec.DockerOCIImageConfig{ImageConfig: img.Config.Config, DockerOCIImageConfigExt: img.Docker},
		RootFS: image.RootFS{Type: img.Config.RootFS.Type},
	}
	if c := img.Config.Created; c != nil {
		resp.Created = c.UTC().Format(time.RFC3339Nano)
	}
	if n := len(img.Config.History); n > 0 {
		resp.Comment = img.Config.History[n-1].Comment
	}
	for _, d := range img.Config.RootFS.DiffIDs {
		resp.RootFS.Layers = append(resp.RootFS.Layers, d.String())
	}
	return resp, nil
}

// ImageHistory is docker history: each step of the image's history, newest first, with the
// image it made when the store knows it (a build's chain of parents) and the bytes its layer
// holds.
func (e *Engine) ImageHistory(ref string) ([]image.HistoryResponseItem, error) {
	img, err := e.images.Get(ref)
	if err != nil {
		return nil, err
	}
	sizes := e.images.LayerSizes(img)
	h := img.Config.History
	layer := len(img.Config.RootFS.DiffIDs) - 1
	chain := img.ID
	tags := e.tagsByID()
	out := []image.HistoryResponseItem{}
	for i := len(h) - 1; i >= 0; i-- {
		item := image.HistoryResponseItem{ID: "<missing>", CreatedBy: h[i].CreatedBy, Comment: h[i].Comment, Tags: []string{}}
		if chain != "" {
			item.ID = chain.String()
			item.Tags = emptyIfNil(tags[chain])
			chain = e.images.Parent(chain)
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
	return out
}

// tagsByID are the images' tags, by image.
func (e *Engine) tagsByID() map[digest.Digest][]string {
	out := map[digest.Digest][]string{}
	imgs, err := e.images.List()
	if err != nil {
		return out
	}
	for _, img := range imgs {
		out[img.ID] = img.RepoTags
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
