package engine

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
)

// ContainerFilter is ps --filter, and the filters of the API's container list: the values of
// one key match if any does, but labels, which must all match (as Docker's); every key must.
type ContainerFilter map[string][]string

var containerFilterKeys = []string{"name", "id", "status", "label", "ancestor", "exited", "network"}

// ParseContainerFilter reads ps's --filter KEY=VALUE arguments.
func ParseContainerFilter(args []string) (ContainerFilter, error) {
	f := ContainerFilter{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", a)
		}
		f[k] = append(f[k], v)
	}
	return f, f.Check()
}

// Check refuses a key, a status or an exit status Docker's filters do not know.
func (f ContainerFilter) Check() error {
	for k, values := range f {
		if !slices.Contains(containerFilterKeys, k) {
			return fmt.Errorf("invalid filter '%s'", k)
		}
		for _, v := range values {
			if k == "status" && !slices.Contains([]string{"created", "restarting", "running", "removing", "paused", "exited", "dead"}, v) {
				return fmt.Errorf("invalid filter 'status=%s'", v)
			}
			if _, err := strconv.Atoi(v); k == "exited" && err != nil {
				return fmt.Errorf("invalid filter 'exited=%s'", v)
			}
		}
	}
	return nil
}

// Has reports whether the filter has values for key.
func (f ContainerFilter) Has(key string) bool { return len(f[key]) > 0 }

// Match reports whether container st (paused or not) passes the filter.
func (f ContainerFilter) Match(st *State, paused bool) bool {
	for key, values := range f {
		if key == "label" && !HasLabels(st.Config.Labels, values) ||
			!slices.ContainsFunc(values, func(v string) bool { return matchOne(st, paused, key, v) }) {
			return false
		}
	}
	return true
}

func matchOne(st *State, paused bool, key, v string) bool {
	switch key {
	case "name":
		return strings.Contains(st.Name, strings.TrimPrefix(v, "/"))
	case "id":
		return strings.HasPrefix(st.ID, v)
	case "status":
		return StateText(st, paused) == container.ContainerState(v)
	case "label":
		return HasLabels(st.Config.Labels, []string{v})
	case "ancestor":
		return st.Image == v || strings.TrimSuffix(st.Image, ":latest") == strings.TrimSuffix(v, ":latest") ||
			strings.HasPrefix(strings.TrimPrefix(st.ImageID, "sha256:"), strings.TrimPrefix(v, "sha256:"))
	case "exited":
		code, _ := strconv.Atoi(v)
		return st.Status == Exited && st.ExitCode == code
	case "network":
		return st.Network == v || slices.ContainsFunc(st.attachments(), func(a NetworkAttachment) bool { return a.Name == v })
	}
	return false
}

// HasLabels reports whether labels has every one of want (KEY or KEY=VALUE), as Docker's label
// filters ask.
func HasLabels(labels map[string]string, want []string) bool {
	for _, v := range want {
		k, value, hasValue := strings.Cut(v, "=")
		if got, ok := labels[k]; !ok || (hasValue && got != value) {
			return false
		}
	}
	return true
}
