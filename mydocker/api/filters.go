package api

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/events"

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
			case "label":
				k, want, hasValue := strings.Cut(v, "=")
				got, ok := m.Actor.Attributes[k]
				return ok && (!hasValue || got == want)
			}
			return true
		}
		if !slices.ContainsFunc(values, match) {
			return false
		}
	}
	return true
}

// matchLabels reports whether labels pass the filters' label key (and names its name key).
func (f filters) matchLabels(name string, labels map[string]string) bool {
	for _, v := range f["label"] {
		k, want, hasValue := strings.Cut(v, "=")
		if got, ok := labels[k]; !ok || (hasValue && got != want) {
			return false
		}
	}
	if names := f["name"]; len(names) > 0 && !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(name, n) }) {
		return false
	}
	return true
}
