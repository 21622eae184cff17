//go:build !solution

package hardening

import (
	"errors"

	"github.com/mydocker/mydocker/runconfig"
)

// DefaultCapabilities are Docker's: what a container's root gets unless told otherwise.
var DefaultCapabilities = runconfig.DefaultCapabilities

// Capabilities works out the capabilities of a container from its security options, as
// docker run does:
//
//   - s.Privileged, or "ALL" in s.CapAdd: every capability the host has
//     (container.HostCapabilities), then the rest of CapAdd and CapDrop as below;
//   - "ALL" in s.CapDrop: start from none;
//   - otherwise start from DefaultCapabilities;
//   - then remove the names in s.CapDrop, and add the names in s.CapAdd (once each).
//
// Names come as users type them — "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" — and the result
// has the kernel's: "CAP_NET_ADMIN". A name the kernel does not know is an error that quotes
// it (container.CapabilityNumber knows every name). The order of the result does not matter.
func Capabilities(s runconfig.Security) ([]string, error) {
	return nil, errors.New("not implemented: write Capabilities in labs/12-hardening/capabilities.go")
}

// DropBoundingSet removes from the calling thread's bounding set every capability that is not
// in keep (the kernel's names, "CAP_CHOWN"), with prctl(PR_CAPBSET_DROP): no program the
// container executes later — a setuid binary, a file with capabilities — can get them back.
// Capabilities belong to threads: the caller has locked its goroutine to the thread.
func DropBoundingSet(keep []string) error {
	return errors.New("not implemented: write DropBoundingSet in labs/12-hardening/capabilities.go")
}
