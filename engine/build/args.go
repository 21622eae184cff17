package build

import (
	"maps"
	"slices"
	"strings"
)

// builtinArgs are the build args every Dockerfile may be given without declaring them (the
// proxies): passed to RUN, but left out of its history and cache key unless declared, so that
// a proxy changes no image.
var builtinArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true, "NO_PROXY": true, "no_proxy": true,
}

// buildArgs are the ARGs of a build as Docker's classic builder keeps them (its BuildArgs):
// those the stage declared (allowed), those before the first FROM (meta), those declared
// anywhere (referenced, for the warning about the unused ones), and --build-arg's values.
type buildArgs struct {
	allowed, meta map[string]*string
	referenced    map[string]bool
	fromOptions   map[string]*string
}

func newBuildArgs(fromOptions map[string]*string) *buildArgs {
	return &buildArgs{allowed: map[string]*string{}, meta: map[string]*string{}, referenced: map[string]bool{}, fromOptions: fromOptions}
}

// forStage is a copy for a new stage: the meta args and what was referenced, no ARG allowed.
func (a *buildArgs) forStage() *buildArgs {
	return &buildArgs{allowed: map[string]*string{}, meta: maps.Clone(a.meta), referenced: maps.Clone(a.referenced), fromOptions: a.fromOptions}
}

func (a *buildArgs) mergeReferenced(other *buildArgs) { maps.Copy(a.referenced, other.referenced) }

// addArg declares an ARG (value its default, nil for none).
func (a *buildArgs) addArg(key string, value *string) {
	a.allowed[key] = value
	a.referenced[key] = true
}

// addMeta declares an ARG before the first FROM.
func (a *buildArgs) addMeta(key string, value *string) {
	a.addArg(key, value)
	a.meta[key] = value
}

// referencedOrNotBuiltin: the arg goes in RUN's history and cache key.
func (a *buildArgs) referencedOrNotBuiltin(key string) bool {
	_, allowed := a.allowed[key]
	return allowed || !builtinArgs[key]
}

// value is an arg's value: --build-arg's, else its default, else the meta arg's.
func (a *buildArgs) value(key string, source map[string]*string) (string, bool) {
	def, declared := source[key]
	if v, ok := a.fromOptions[key]; ok && v != nil {
		return *v, true
	}
	if def == nil {
		if v, ok := a.meta[key]; ok && v != nil {
			return *v, true
		}
		return "", false
	}
	return *def, declared
}

// values are the args of source (and the builtin ones) that have a value, as KEY=VALUE.
func (a *buildArgs) values(source map[string]*string) map[string]string {
	out := map[string]string{}
	for _, key := range append(slices.Collect(maps.Keys(source)), slices.Collect(maps.Keys(builtinArgs))...) {
		if v, ok := a.value(key, source); ok {
			out[key] = v
		}
	}
	return out
}

// metaValues are the meta args' values: what FROM's image name is expanded with.
func (a *buildArgs) metaValues() []string { return keyValues(a.values(a.meta), nil) }

// filterAllowed are the declared args' values that env does not set, as KEY=VALUE, sorted:
// what RUN gets beside its environment, and what words are expanded with.
func (a *buildArgs) filterAllowed(env []string) []string {
	return keyValues(a.values(a.allowed), env)
}

// unused are the --build-args no ARG declared.
func (a *buildArgs) unused() []string {
	var out []string
	for key := range a.fromOptions {
		if !a.referenced[key] && !builtinArgs[key] {
			out = append(out, key)
		}
	}
	return out
}

// keyValues is m as sorted KEY=VALUE, less the keys env sets.
func keyValues(m map[string]string, env []string) []string {
	set := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !set[k] {
			out = append(out, k+"="+m[k])
		}
	}
	return out
}
