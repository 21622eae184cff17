package userns

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/require"
)

func TestSubIDRanges(t *testing.T) {
	file := []byte("# ranges\nalice:100000:65536\n\nbob:165536:65536\n1001:300000:10\nalice:400000:1000\ncarol:not:a:line\n")
	for _, tc := range []struct {
		name string
		user string
		id   int
		want []IDRange
		err  string
	}{
		{name: "by name, in order", user: "alice", id: 1000, want: []IDRange{{100000, 65536}, {400000, 1000}}},
		{name: "by uid", user: "dave", id: 1001, want: []IDRange{{300000, 10}}},
		{name: "none", user: "erin", id: 1002},
		{name: "another user's bad line is not mine", user: "bob", id: 1003, want: []IDRange{{165536, 65536}}},
		{name: "my bad line", user: "carol", id: 1004, err: `line 7 "carol:not:a:line"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SubIDRanges(file, tc.user, tc.id)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	_, err := SubIDRanges([]byte("zed:0:0\n"), "zed", 5)
	require.Error(t, err, "an empty range")
	_, err = SubIDRanges([]byte("zed:4294967295:2\n"), "zed", 5)
	require.Error(t, err, "a range past the last id")
}

func TestMappings(t *testing.T) {
	for _, tc := range []struct {
		name        string
		own, ranges []IDRange
		want        []specs.LinuxIDMapping
	}{
		{"a remapped root: the range from 0", nil, []IDRange{{100000, 65536}}, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}},
		{"an ordinary user: itself as root, its range after", []IDRange{{1000, 1}}, []IDRange{{100000, 65536}},
			[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}},
		{"ranges one after the other", nil, []IDRange{{100000, 10}, {200000, 5}},
			[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 10}, {ContainerID: 10, HostID: 200000, Size: 5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Mappings(tc.own, tc.ranges)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	_, err := Mappings(nil, []IDRange{{100000, 4294967295}, {1, 1}})
	require.ErrorContains(t, err, "more than")
}

func TestFirstFree(t *testing.T) {
	start, err := firstFree(nil, 100000, 65536)
	require.NoError(t, err)
	require.EqualValues(t, 100000, start)
	start, err = firstFree([]IDRange{{165536, 65536}, {100000, 65536}}, 100000, 65536)
	require.NoError(t, err)
	require.EqualValues(t, 231072, start, "after the taken ones")
	start, err = firstFree([]IDRange{{300000, 65536}}, 100000, 65536)
	require.NoError(t, err)
	require.EqualValues(t, 100000, start, "the gap before")
	_, err = firstFree([]IDRange{{0, 4294967295}}, 100000, 65536)
	require.Error(t, err)
}

func TestForUser(t *testing.T) {
	dir := t.TempDir()
	SubUIDFile, SubGIDFile = filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
	t.Cleanup(func() { SubUIDFile, SubGIDFile = "/etc/subuid", "/etc/subgid" })
	require.NoError(t, os.WriteFile(SubUIDFile, []byte("alice:100000:65536\n"), 0o644))
	require.NoError(t, os.WriteFile(SubGIDFile, []byte("alice:200000:65536\n"), 0o644))
	ids, err := ForUser("alice", 1000, 1000)
	require.NoError(t, err)
	require.Equal(t, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}, ids.UIDs)
	require.Equal(t, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 200000, Size: 65536}}, ids.GIDs)
	uid, gid, ok := ids.Root()
	require.True(t, ok)
	require.EqualValues(t, 1000, uid)
	require.EqualValues(t, 1000, gid)
	_, err = ForUser("bob", 1001, 1001)
	var none *NoRangeError
	require.ErrorAs(t, err, &none)
	require.ErrorContains(t, err, "usermod --add-subuids")
}
