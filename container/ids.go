package container

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a random 64-hex-digit container id, as Docker's. The runtime names a
// container's cgroups by it.
func NewID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ShortID is the 12-digit form ps shows and the default hostname uses.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
