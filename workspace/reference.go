package workspace

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Docker's rules for repository names (lower case path components) and tags. They are
// compiled on first use, not at start-up: every mydocker process, the container's init too,
// would pay for them.
var (
	nameRegexp = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	})
	tagRegexp = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`) })
	// A registry: host name components (no leading or trailing dash, no empty one) and a port.
	hostRegexp = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$`)
	})
)

// withTag adds the default tag "latest" to a reference that has none.
func withTag(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref
	}
	return ref + ":latest"
}

// isHex reports whether s could be (a prefix of) an image id.
func isHex(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// normalizeRef turns "busybox" (or "docker.io/library/busybox") into "busybox:latest" and checks
// the name and tag. A registry
// host with a port ("localhost:5000/app") keeps its colon: the tag follows the last slash.
func normalizeRef(ref string) (string, error) {
	name, tag := ref, "latest"
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, tag = ref[:i], ref[i+1:]
	}
	host := ""
	if i := strings.Index(name, "/"); i > 0 && (strings.ContainsAny(name[:i], ".:") || name[:i] == "localhost") {
		if !hostRegexp().MatchString(name[:i]) {
			return "", fmt.Errorf("invalid reference format %q: invalid registry %q", ref, name[:i])
		}
		host, name = name[:i+1], name[i+1:]
	}
	if !nameRegexp().MatchString(name) {
		return "", fmt.Errorf("invalid reference format %q: repository names are lower case letters, digits and separators (. _ -)", ref)
	}
	// Docker Hub's full names are the short ones Docker shows: docker.io/library/busybox is
	// busybox, docker.io/someone/app is someone/app.
	if host == "docker.io/" || host == "index.docker.io/" {
		host = ""
		name = strings.TrimPrefix(name, "library/")
	}
	if !tagRegexp().MatchString(tag) {
		return "", fmt.Errorf("invalid reference format %q: invalid tag %q", ref, tag)
	}
	return host + name + ":" + tag, nil
}
