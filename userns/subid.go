// Package userns decides who a container's users are on the host: the ranges of subordinate
// ids /etc/subuid and /etc/subgid give a user, the mappings a container's user namespace gets
// from them — the whole range for a remapped root's containers (--userns-remap), the user
// itself as root and its range for the rest for an ordinary user's (rootless) — and the
// remap user "default" names, made on first use. The runtime (package container) writes the
// mappings; the engine only chooses them, here.
package userns

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// IDRange is one range of subordinate ids: Count ids from Start, on the host.
type IDRange struct {
	Start, Count uint32
}

// SubIDRanges reads the ranges a subordinate id file (/etc/subuid or /etc/subgid) gives the
// user named name, whose id is id: the lines "name:start:count", or "id:start:count", in the
// file's order. Blank lines and comments (#) are skipped, and so are other users' lines, good
// or bad; a line of the user's that does not read is an error naming it. No range is no
// error: the caller says what is missing.
func SubIDRanges(data []byte, name string, id int) ([]IDRange, error) {
	var out []IDRange
	s := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		owner, rest, _ := strings.Cut(line, ":")
		if owner != name && owner != strconv.Itoa(id) {
			continue
		}
		start, count, ok := strings.Cut(rest, ":")
		first, err1 := strconv.ParseUint(start, 10, 32)
		size, err2 := strconv.ParseUint(count, 10, 32)
		if !ok || err1 != nil || err2 != nil || size == 0 || first+size-1 > 1<<32-2 {
			return nil, fmt.Errorf("line %d %q: want %s:START:COUNT, a range of 32-bit ids", n, line, owner)
		}
		out = append(out, IDRange{Start: uint32(first), Count: uint32(size)})
	}
	return out, s.Err()
}

// Mappings lays a container's ids over host ids: first the ids own gives (the user itself, for
// an ordinary user's container: its root is the user), then each range in order, so that
// container ids 0, 1, 2... count up through them all, as Docker and podman map them. Ranges
// that add up past the last id (4294967294: -1 is no id) are an error.
func Mappings(own []IDRange, ranges []IDRange) ([]specs.LinuxIDMapping, error) {
	var out []specs.LinuxIDMapping
	next := uint64(0)
	for _, r := range append(append([]IDRange{}, own...), ranges...) {
		if r.Count == 0 {
			continue
		}
		if next+uint64(r.Count) > 1<<32-1 {
			return nil, fmt.Errorf("the ranges add up to more than the %d ids a namespace has", uint64(1<<32-1))
		}
		out = append(out, specs.LinuxIDMapping{ContainerID: uint32(next), HostID: r.Start, Size: r.Count})
		next += uint64(r.Count)
	}
	return out, nil
}

// Seams are the functions lab 16 asks a learner to write (see container.Seams for how a
// chapter's program uses them): nil, this package's own run. The package calls each through
// the function of the same name in lower case below; the lab's reference solution calls the
// exported ones.
var Seams struct {
	SubIDRanges func(data []byte, name string, id int) ([]IDRange, error)             // lab 16
	Mappings    func(own []IDRange, ranges []IDRange) ([]specs.LinuxIDMapping, error) // lab 16
}

func subIDRanges(data []byte, name string, id int) ([]IDRange, error) {
	if f := Seams.SubIDRanges; f != nil {
		return f(data, name, id)
	}
	return SubIDRanges(data, name, id)
}

func mappings(own []IDRange, ranges []IDRange) ([]specs.LinuxIDMapping, error) {
	if f := Seams.Mappings; f != nil {
		return f(own, ranges)
	}
	return Mappings(own, ranges)
}
