package runconfig

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ResolveUser turns "user[:group]" (names or numbers) into the numeric user the spec
// carries, the way Docker does it with the image's /etc/passwd and /etc/group: a name must
// exist; a number need not (its group is then 0 and its home "/"). The supplementary groups are
// the primary group and every group that lists the user as a member.
func ResolveUser(spec string, passwd, group []byte) (specs.User, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		userPart = "0"
	}
	var u specs.User
	name := ""
	if uid, err := strconv.ParseUint(userPart, 10, 32); err == nil {
		u.UID = uint32(uid)
		if entry := findEntry(passwd, 2, userPart); entry != nil {
			name = entry[0]
			u.GID = parseID(entry[3])
		}
	} else {
		entry := findEntry(passwd, 0, userPart)
		if entry == nil {
			return u, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userPart)
		}
		name = entry[0]
		u.UID, u.GID = parseID(entry[2]), parseID(entry[3])
	}
	if hasGroup {
		if gid, err := strconv.ParseUint(groupPart, 10, 32); err == nil {
			u.GID = uint32(gid)
		} else {
			entry := findEntry(group, 0, groupPart)
			if entry == nil {
				return u, fmt.Errorf("unable to find group %s: no matching entries in group file", groupPart)
			}
			u.GID = parseID(entry[2])
		}
	}
	u.AdditionalGids = []uint32{u.GID}
	if name != "" && !hasGroup {
		for _, entry := range entries(group) {
			if len(entry) < 4 || parseID(entry[2]) == u.GID {
				continue
			}
			for _, member := range strings.Split(entry[3], ",") {
				if member == name {
					u.AdditionalGids = append(u.AdditionalGids, parseID(entry[2]))
				}
			}
		}
	}
	return u, nil
}

// LookupUser resolves "user[:group]" against the container's /etc/passwd and /etc/group as they
// were read, with the errors of reading them. A file that could not be read (missing, a FIFO,
// too large, a link out of the root) counts as empty, unless the user is given by name: then
// the reason it could not be read is the error.
func LookupUser(spec string, passwd []byte, passwdErr error, group []byte, groupErr error) (specs.User, error) {
	if namesUsers(spec) {
		for _, err := range []error{passwdErr, groupErr} {
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return specs.User{}, fmt.Errorf("unable to find user %s: %w", spec, err)
			}
		}
	}
	return ResolveUser(spec, passwd, group)
}

// namesUsers reports whether a "user[:group]" names a user or group (rather than giving
// numbers), so that /etc/passwd or /etc/group must be read.
func namesUsers(spec string) bool {
	for _, part := range strings.Split(spec, ":") {
		if _, err := strconv.ParseUint(part, 10, 32); part != "" && err != nil {
			return true
		}
	}
	return false
}

// entries splits a passwd- or group-style file into its colon-separated lines.
func entries(file []byte) [][]string {
	var out [][]string
	s := bufio.NewScanner(bytes.NewReader(file))
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out
}

// findEntry returns the first line whose field number field equals value.
func findEntry(file []byte, field int, value string) []string {
	for _, e := range entries(file) {
		if len(e) > 3 && e[field] == value {
			return e
		}
	}
	return nil
}

func parseID(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

// LookupName is the id (the third field) of the entry of a passwd- or group-style file named
// name.
func LookupName(file []byte, name string) (int, bool) {
	if e := findEntry(file, 0, name); e != nil {
		return int(parseID(e[2])), true
	}
	return 0, false
}
