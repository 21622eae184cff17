//go:build !solution

package cache

import (
	"errors"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/engine/build"
	"github.com/mydocker/mydocker/workspace"
)

// HashFile is the hash of one file a COPY copies, which the build cache keys the COPY by:
// the sha256, in hex (64 characters), of what the copy will hold of it — meta's name, mode
// (its type bits included), owner (UID, GID), symlink target and size, and then the bytes
// content gives (nil for anything but a regular file). FileMeta has no times: a file touched
// but unchanged must hash the same, and a file changed in any way that the copy keeps must
// not. Two different files must never hash the same, however their fields are cut: the name
// "ab" with the content "c" is not the name "a" with the content "bc".
func HashFile(meta build.FileMeta, content io.Reader) (string, error) {
	return "", errors.New("not implemented: write HashFile in labs/15-build/cache.go")
}

// PickCached is the cache's lookup, Docker's classic builder's: of the images a build made
// here before (entries), the one made on parent ("" for FROM scratch) by a step with this
// cache key; the newest (Created, Unix nanoseconds) when several are; "" when none is.
func PickCached(entries []workspace.CacheEntry, parent digest.Digest, key string) digest.Digest {
	panic("not implemented: write PickCached in labs/15-build/cache.go")
}
