package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The OCI whiteout names (image-spec layer.md).
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
	// userOpaqueXattr is the mark overlayfs reads instead, mounted with userxattr in a user
	// namespace (a rootless engine's), where trusted.* is root's alone.
	userOpaqueXattr = "user.overlay.opaque"
)

// IsWhiteout reports whether fi is overlayfs's mark of a deleted file: a character device
// with number 0/0.
func IsWhiteout(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode()&os.ModeCharDevice != 0 && st.Rdev == 0
}

// isOpaqueDir reports whether a directory hides everything below it in lower layers, by either
// of overlay's marks.
func isOpaqueDir(path string) bool {
	buf := make([]byte, 1)
	for _, name := range []string{opaqueXattr, userOpaqueXattr} {
		if n, err := unix.Lgetxattr(path, name, buf); err == nil && n == 1 && buf[0] == 'y' {
			return true
		}
	}
	return false
}

// writeWhiteout records, in overlay's form, that name is deleted.
func writeWhiteout(path string) error {
	if err := os.RemoveAll(path); err != nil {
		return err
	}
	return unix.Mknod(path, unix.S_IFCHR|0o000, 0)
}

// markOpaque records, in overlay's form, that dir hides what lower layers have below it: with
// both of overlay's marks, so that the layer serves an overlay mounted by root and one mounted
// in a user namespace alike. Only root may set the trusted one: in a user namespace, the other
// is enough.
func markOpaque(dir string) error {
	terr := unix.Lsetxattr(dir, opaqueXattr, []byte("y"), 0)
	uerr := unix.Lsetxattr(dir, userOpaqueXattr, []byte("y"), 0)
	switch {
	case terr == nil:
		return nil
	case uerr == nil && errors.Is(terr, unix.EPERM):
		return nil
	default:
		return terr
	}
}

// WhiteoutTarget parses an OCI whiteout entry name: for "a/.wh.b" it returns "a/b"; for
// "a/.wh..wh..opq" it returns "a" and opaque. ok is false for an ordinary name; a ".wh." that
// names no file is an error.
func WhiteoutTarget(name string) (target string, opaque, ok bool, err error) {
	dir, base := filepath.Split(name)
	if base == whiteoutOpaque {
		return filepath.Clean(dir), true, true, nil
	}
	if deleted, isWhiteout := strings.CutPrefix(base, whiteoutPrefix); isWhiteout {
		if deleted == "" || deleted == "." || deleted == ".." {
			return "", false, false, fmt.Errorf("invalid whiteout %q: it names no file", name)
		}
		return filepath.Join(dir, deleted), false, true, nil
	}
	return "", false, false, nil
}

// errNoXattr tells whether a filesystem refused the opaque xattr (tmpfs before 6.6 does).
func errNoXattr(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP)
}
