package workspace

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Docker's rules for repository names (lower case path components), tags and ids. They are
// compiled on first use, not at start-up: every mydocker process, the container's init too,
// would pay for them.
var (
	nameRegexp = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	})
	tagRegexp = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`) })
	hexRegexp = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-f0-9]{1,64}$`) })
)

// normalizeRef turns "busybox" into "busybox:latest" and checks the name and tag. A registry
// host with a port ("localhost:5000/app") keeps its colon: the tag follows the last slash.
func normalizeRef(ref string) (string, error) {
	name, tag := ref, "latest"
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, tag = ref[:i], ref[i+1:]
	}
	host := ""
	if i := strings.Index(name, "/"); i > 0 && strings.ContainsAny(name[:i], ".:") {
		host, name = name[:i+1], name[i+1:]
	}
	if !nameRegexp().MatchString(name) {
		return "", fmt.Errorf("invalid reference format %q: repository names are lower case letters, digits and separators (. _ -)", ref)
	}
	if !tagRegexp().MatchString(tag) {
		return "", fmt.Errorf("invalid reference format %q: invalid tag %q", ref, tag)
	}
	return host + name + ":" + tag, nil
}
