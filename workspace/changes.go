package workspace

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ApplyChanges applies Docker's `import --change` and `commit --change` lines (the Dockerfile
// instructions that make sense without a build: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL,
// EXPOSE, STOPSIGNAL, VOLUME) to an image config.
func ApplyChanges(config ocispec.ImageConfig, changes []string) (ocispec.ImageConfig, error) {
	for _, change := range changes {
		instr, arg, _ := strings.Cut(strings.TrimSpace(change), " ")
		arg = strings.TrimSpace(arg)
		switch strings.ToUpper(instr) {
		case "CMD":
			config.Cmd = commandForm(arg)
		case "ENTRYPOINT":
			config.Entrypoint = commandForm(arg)
		case "ENV":
			k, v, ok := strings.Cut(arg, "=")
			if !ok {
				k, v, ok = strings.Cut(arg, " ")
			}
			if !ok || k == "" {
				return config, fmt.Errorf("invalid change %q: ENV needs KEY=VALUE", change)
			}
			config.Env = setEnv(config.Env, k, strings.Trim(strings.TrimSpace(v), `"`))
		case "WORKDIR":
			if !strings.HasPrefix(arg, "/") {
				return config, fmt.Errorf("invalid change %q: WORKDIR needs an absolute path", change)
			}
			config.WorkingDir = arg
		case "USER":
			config.User = arg
		case "STOPSIGNAL":
			config.StopSignal = arg
		case "LABEL":
			k, v, ok := strings.Cut(arg, "=")
			if !ok || k == "" {
				return config, fmt.Errorf("invalid change %q: LABEL needs KEY=VALUE", change)
			}
			config.Labels = maps.Clone(config.Labels)
			if config.Labels == nil {
				config.Labels = map[string]string{}
			}
			config.Labels[strings.Trim(k, `"`)] = strings.Trim(v, `"`)
		case "EXPOSE", "VOLUME":
			set := config.ExposedPorts
			if strings.ToUpper(instr) == "VOLUME" {
				set = config.Volumes
			}
			set = maps.Clone(set)
			if set == nil {
				set = map[string]struct{}{}
			}
			for _, f := range strings.Fields(strings.Trim(arg, "[]")) {
				f = strings.Trim(f, `",`)
				if strings.ToUpper(instr) == "EXPOSE" && !strings.Contains(f, "/") {
					f += "/tcp"
				}
				set[f] = struct{}{}
			}
			if strings.ToUpper(instr) == "VOLUME" {
				config.Volumes = set
			} else {
				config.ExposedPorts = set
			}
		default:
			return config, fmt.Errorf("invalid change %q: only CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL and VOLUME are supported", change)
		}
	}
	return config, nil
}

// commandForm reads the JSON (exec) form ["a","b"], or else the shell form, which runs under
// /bin/sh -c as Docker does.
func commandForm(arg string) []string {
	var list []string
	if strings.HasPrefix(arg, "[") && json.Unmarshal([]byte(arg), &list) == nil {
		return list
	}
	return []string{"/bin/sh", "-c", arg}
}

func setEnv(env []string, key, value string) []string {
	out := append([]string{}, env...)
	for i, kv := range out {
		if strings.HasPrefix(kv, key+"=") {
			out[i] = key + "=" + value
			return out
		}
	}
	return append(out, key+"="+value)
}
