package subid

import (
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/userns"
)

// subuid is an /etc/subuid as a host has it: comments, blank lines, users by name and by uid,
// and a broken line of someone else's.
const subuid = `# /etc/subuid
alice:100000:65536

bob:165536:65536
1001:231072:65536
alice:400000:1000
carol:lots:of:ids
`

func TestSubIDRanges(t *testing.T) {
	for _, c := range []struct {
		name, user string
		id         int
		want       []userns.IDRange
		hint       string
	}{
		{"alice's two lines, in order", "alice", 1000, []userns.IDRange{{Start: 100000, Count: 65536}, {Start: 400000, Count: 1000}}, "fields"},
		{"a user by its uid", "dave", 1001, []userns.IDRange{{Start: 231072, Count: 65536}}, "uid"},
		{"bob, beside carol's broken line", "bob", 1002, []userns.IDRange{{Start: 165536, Count: 65536}}, "others"},
		{"a user with no line", "erin", 1003, nil, "none"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := SubIDRanges([]byte(subuid), c.user, c.id)
			if err != nil {
				t.Fatalf("SubIDRanges(%s, %d): %v (HINTS.md, %q)", c.user, c.id, err, c.hint)
			}
			if len(got) != len(c.want) || len(got) > 0 && !reflect.DeepEqual(got, c.want) {
				t.Errorf("SubIDRanges(%s, %d) = %v, want %v (HINTS.md, %q)", c.user, c.id, got, c.want, c.hint)
			}
		})
	}
}

func TestSubIDRangesRefuses(t *testing.T) {
	for _, c := range []struct {
		name, line string
	}{
		{"a start that is no number", "carol:lots:65536"},
		{"two fields", "carol:100000"},
		{"four fields", "carol:100000:65536:1"},
		{"no ids", "carol:100000:0"},
		{"past the last id", "carol:4294967000:65536"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := "alice:100000:65536\n" + c.line + "\n"
			got, err := SubIDRanges([]byte(data), "carol", 1004)
			if err == nil {
				t.Fatalf("carol's line %q gave %v, <nil>: a line of the user's that does not read is an error (HINTS.md, \"broken\")", c.line, got)
			}
			if !strings.Contains(err.Error(), c.line) || !strings.Contains(err.Error(), "2") {
				t.Errorf("the error %q does not say which line: its number (2) and its text %q (HINTS.md, \"broken\")", err, c.line)
			}
		})
	}
}

func TestMappings(t *testing.T) {
	for _, c := range []struct {
		name        string
		own, ranges []userns.IDRange
		want        []specs.LinuxIDMapping
		hint        string
	}{
		{"a remapped root's containers: the range from 0", nil, []userns.IDRange{{Start: 100000, Count: 65536}},
			[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}, "order"},
		{"an ordinary user's: itself as root, its range after", []userns.IDRange{{Start: 1000, Count: 1}}, []userns.IDRange{{Start: 100000, Count: 65536}},
			[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}, "order"},
		{"two ranges, one after the other", nil, []userns.IDRange{{Start: 100000, Count: 10}, {Start: 200000, Count: 5}},
			[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 10}, {ContainerID: 10, HostID: 200000, Size: 5}}, "count"},
		{"an empty range adds nothing", []userns.IDRange{{Start: 1000, Count: 1}}, []userns.IDRange{{Start: 5, Count: 0}, {Start: 100000, Count: 2}},
			[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 2}}, "count"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Mappings(c.own, c.ranges)
			if err != nil {
				t.Fatalf("Mappings: %v (HINTS.md, %q)", err, c.hint)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Mappings(%v, %v) = %v,\nwant %v (HINTS.md, %q)", c.own, c.ranges, got, c.want, c.hint)
			}
		})
	}
	if got, err := Mappings(nil, []userns.IDRange{{Start: 1, Count: 4294967295}, {Start: 1, Count: 1}}); err == nil {
		t.Errorf("ranges of 4294967296 ids gave %v, <nil>: a namespace has 4294967295 (HINTS.md, \"overflow\")", got)
	}
}

// TestTheEngineWithYourCode puts your functions in the engine (as a chapter built with -tags
// lab does) and asks it the user namespaces of this user's containers, from subordinate id
// files of the test's: remapped (--userns-remap, as root) and rootless (mydocker run by the
// user).
func TestTheEngineWithYourCode(t *testing.T) {
	userns.Seams.SubIDRanges, userns.Seams.Mappings = SubIDRanges, Mappings
	t.Cleanup(func() { userns.Seams.SubIDRanges, userns.Seams.Mappings = nil, nil })
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(me.Uid)
	gid, _ := strconv.Atoi(me.Gid)
	dir := t.TempDir()
	userns.SubUIDFile, userns.SubGIDFile = filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
	t.Cleanup(func() { userns.SubUIDFile, userns.SubGIDFile = "/etc/subuid", "/etc/subgid" })
	for _, f := range []string{userns.SubUIDFile, userns.SubGIDFile} {
		if err := os.WriteFile(f, []byte("someone:300000:65536\n"+me.Username+":100000:65536\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	remapped, err := userns.ForRemap(me.Username)
	if err != nil {
		t.Fatalf("--userns-remap %s: %v", me.Username, err)
	}
	if want := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}; !reflect.DeepEqual(remapped.UIDs, want) {
		t.Errorf("--userns-remap %s maps %v, want %v: the container's root is the range's first id", me.Username, remapped.UIDs, want)
	}
	rootless, err := userns.ForUser(me.Username, uid, gid)
	if err != nil {
		t.Fatalf("rootless, as %s: %v", me.Username, err)
	}
	if want := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(uid), Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}; !reflect.DeepEqual(rootless.UIDs, want) {
		t.Errorf("rootless, as %s, maps %v, want %v: the user is the container's root, its range the others", me.Username, rootless.UIDs, want)
	}
}
