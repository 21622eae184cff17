// Package names is the one rule for the names users give containers and networks, and for the
// ids the engine makes, checked at every public entry of the stores that turn them into paths:
// a name is never a path ("../../image"), whichever caller passes it.
package names

import (
	"fmt"
	"regexp"
	"sync"
)

// valid is Docker's rule, compiled on first use: every mydocker process would pay at start-up.
var valid = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

// Validate explains why name is not a valid name for a kind ("container", "network").
func Validate(kind, name string) error {
	if !valid().MatchString(name) {
		return fmt.Errorf("invalid %s name (%s): only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least two of them", kind, name)
	}
	return nil
}

// IsID reports whether s is a full id as the engine makes them: 64 lower-case hex digits.
func IsID(s string) bool {
	return len(s) == 64 && IsHex(s)
}

// IsHex reports whether s is made of lower-case hex digits only (an id or a prefix of one).
func IsHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
