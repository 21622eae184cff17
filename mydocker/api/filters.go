package api

import (
	"encoding/json"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/image"

	"github.com/mydocker/mydocker/engine"
)

// filters is a request's filters parameter: for each key, the values any of which matches.
type filters map[string][]string

// parseFilters reads the JSON of a filters parameter, in either of its forms:
// {"label":{"a=b":true}}, or the older {"label":["a=b"]}.
func parseFilters(s string) (filters, error) {
	f := filters{}
	if s == "" {
		return f, nil
	}
	var sets map[string]map[string]bool
	if err := json.Unmarshal([]byte(s), &sets); err == nil {
		for k, set := range sets {
			f[k] = slices.Sorted(maps.Keys(set))
		}
		return f, nil
	}
	var lists map[string][]string
	if err := json.Unmarshal([]byte(s), &lists); err != nil {
		return nil, badRequest("invalid filters %q: %v", s, err)
	}
	return lists, nil
}

// matchContainer reports whether container st passes the filters (engine.ContainerFilter's
// keys).
func (f filters) matchContainer(st *engine.State, paused bool) bool {
	return engine.ContainerFilter(f).Match(st, paused)
}

// matchEvent reports whether an event passes the filters: type, event (its action),
// container, image, network, volume, label.
func (f filters) matchEvent(m events.Message) bool {
	for key, values := range f {
		match := func(v string) bool {
			switch key {
			case "type":
				return string(m.Type) == v
			case "event":
				return string(m.Action) == v || strings.HasPrefix(string(m.Action), v+":")
			case "container", "image", "network", "volume":
				return string(m.Type) == key && (m.Actor.ID == v || strings.HasPrefix(m.Actor.ID, v) || m.Actor.Attributes["name"] == v)
			}
			return true
		}
		if key == "label" && !engine.HasLabels(m.Actor.Attributes, values) || !slices.ContainsFunc(values, match) {
			return false
		}
	}
	return true
}

// matchLabels reports whether labels pass the filters' label key (and names its name key).
func (f filters) matchLabels(name string, labels map[string]string) bool {
	if !engine.HasLabels(labels, f["label"]) {
		return false
	}
	if names := f["name"]; len(names) > 0 && !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(name, n) }) {
		return false
	}
	return true
}

// matchImage reports whether an image passes the filters: dangling, reference (a pattern of
// NAME or NAME:TAG), label, before and since are dockerd's keys; the first three are served.
func (f filters) matchImage(img image.Summary) bool {
	for _, v := range f["dangling"] {
		if (v == "true" || v == "1") != (len(img.RepoTags) == 0) {
			return false
		}
	}
	if refs := f["reference"]; len(refs) > 0 {
		match := func(pattern string) bool {
			for _, t := range img.RepoTags {
				repo := t[:strings.LastIndex(t, ":")]
				if ok, _ := path.Match(pattern, t); ok {
					return true
				}
				if ok, _ := path.Match(pattern, repo); ok {
					return true
				}
			}
			return false
		}
		if !slices.ContainsFunc(refs, match) {
			return false
		}
	}
	return f.matchLabels("", img.Labels)
}
