//go:build solution

package whiteout

import (
	"os"

	"github.com/mydocker/mydocker/workspace"
)

// The reference: the image store's own functions.

func WhiteoutTarget(name string) (target string, opaque, ok bool, err error) {
	return workspace.WhiteoutTarget(name)
}

func IsWhiteout(fi os.FileInfo) bool { return workspace.IsWhiteout(fi) }
