package container

import (
	"encoding/json"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultSpecMatchesDocker(t *testing.T) {
	spec := DefaultSpec()
	var dests []string
	for _, m := range spec.Mounts {
		dests = append(dests, m.Destination)
	}
	require.Equal(t, []string{"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"}, dests)
	var devs []string
	for _, d := range spec.Linux.Devices {
		devs = append(devs, d.Path)
	}
	require.Equal(t, []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}, devs)
	require.Contains(t, spec.Linux.MaskedPaths, "/proc/kcore")
	require.Contains(t, spec.Linux.ReadonlyPaths, "/proc/sys")
}

// A LinuxSpec holds every field of specs.Spec but the other platforms' sections, and makes the
// same JSON: a new field in a newer runtime-spec fails here until LinuxSpec has it.
func TestLinuxSpecIsTheSpecOnLinux(t *testing.T) {
	otherPlatforms := map[string]bool{"Solaris": true, "Windows": true, "VM": true, "ZOS": true, "FreeBSD": true}
	full, linux := reflect.TypeOf(specs.Spec{}), reflect.TypeOf(LinuxSpec{})
	for i := range full.NumField() {
		f := full.Field(i)
		if otherPlatforms[f.Name] {
			continue
		}
		g, ok := linux.FieldByName(f.Name)
		if assert.True(t, ok, "LinuxSpec lacks %s", f.Name) {
			assert.Equal(t, f.Type, g.Type, f.Name)
			assert.Equal(t, f.Tag.Get("json"), g.Tag.Get("json"), f.Name)
		}
	}
	assert.Equal(t, full.NumField()-len(otherPlatforms), linux.NumField())

	spec := DefaultSpec()
	spec.Domainname, spec.Annotations = "example.org", map[string]string{"a": "b"}
	spec.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true"}}}
	want, err := json.Marshal(spec)
	require.NoError(t, err)
	got, err := json.Marshal(OnLinux(spec))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
	var back LinuxSpec
	require.NoError(t, json.Unmarshal(got, &back))
	assert.Equal(t, spec, back.Spec())
}

// The spec an init decodes (initSpec) keeps every field of its spec but the linux section's
// cgroup settings, seccomp profile and what the runtime does not implement: the same JSON as
// the spec, those left out.
func TestInitSpecKeepsWhatTheInitReads(t *testing.T) {
	spec := DefaultSpec()
	spec.Domainname, spec.Annotations = "example.org", map[string]string{"a": "b"}
	spec.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true"}}}
	spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	spec.Linux.RootfsPropagation = "rslave"
	spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	spec.Linux.GIDMappings = spec.Linux.UIDMappings
	spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: limit(5)}}
	spec.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}
	data, err := json.Marshal(forInit(spec))
	require.NoError(t, err)
	assert.NotContains(t, string(data), `"resources"`, "the parent applies them")
	assert.NotContains(t, string(data), `"seccomp"`, "the init gets the compiled filter")
	var back initSpec
	require.NoError(t, json.Unmarshal(data, &back))
	want := *spec
	linux := *spec.Linux
	linux.Resources, linux.Seccomp, linux.CgroupsPath = nil, nil, ""
	want.Linux = &linux
	assert.Equal(t, &want, back.Spec())
}
