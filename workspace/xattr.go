package workspace

import (
	"archive/tar"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Extended attributes travel in a layer tar as PAX records named SCHILY.xattr.NAME (the form
// GNU tar, bsdtar, Docker and containerd share). A file's capabilities are one of them:
// security.capability on ping is what lets a user ping without being root.
//
// Which ones a layer carries, and why:
//   - security.capability and user.*: the image's own, always kept. The kernel holds a
//     capability on regular files only and user.* on regular files and directories; on
//     anything else (a symlink, a device) no Linux file can have one, and it is skipped.
//   - trusted.* (root's own namespace): kept, when the kernel lets the store set it.
//   - security.* others (SELinux labels, IMA signatures): set when a layer brings them, as
//     far as the host's security modules allow (a label the host's policy does not know is
//     refused, and skipped). Not written from a container's files: on those they are the
//     host's labels of the file, not the image's; Docker writes security.capability alone.
//   - trusted.overlay.* and user.overlay.*: overlayfs's own marks (opaque directories,
//     redirects, copy-up origins), set on disk by whiteout.go from the layer's .wh. entries,
//     never taken from a tar: one would let a layer hide or redirect lower layers' files
//     outside the OCI rules. A tar made from an overlay directory carries them innocently, so
//     they are ignored, not refused. So are names in no namespace above (system.posix_acl_*:
//     ACLs are not part of an OCI layer).
const (
	paxXattr        = "SCHILY.xattr."
	capabilityXattr = "security.capability"
	// The kernel's limits (XATTR_NAME_MAX, XATTR_SIZE_MAX): a longer name or value is refused
	// with a clear error rather than the kernel's ERANGE or E2BIG.
	xattrNameMax = 255
	xattrSizeMax = 64 << 10
)

func isOverlayXattr(name string) bool {
	return strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.")
}

// writtenXattr reports whether a file's xattr goes into the tars written from the store and
// from containers (commit, export, save of a layer stored before tar-split).
func writtenXattr(name string) bool {
	if isOverlayXattr(name) {
		return false
	}
	return name == capabilityXattr || strings.HasPrefix(name, "user.") || strings.HasPrefix(name, "trusted.")
}

// readXattrs returns the xattrs of path that a layer tar carries, as PAX records; nil when it
// has none or its filesystem keeps none.
func readXattrs(path string) (map[string]string, error) {
	names, err := listXattrs(path)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	var records map[string]string
	for _, name := range names {
		if !writtenXattr(name) {
			continue
		}
		value, err := getXattr(path, name)
		if errors.Is(err, unix.ENODATA) {
			continue // removed since it was listed
		}
		if err != nil {
			return nil, fmt.Errorf("read xattr %s of %s: %w", name, path, err)
		}
		if name == capabilityXattr {
			value = capabilityV2(value)
		}
		if records == nil {
			records = map[string]string{}
		}
		records[paxXattr+name] = string(value)
	}
	return records, nil
}

// capabilityV2 turns a namespaced capability (revision 3: the v2 data and the uid of the root
// of the user namespace that set it) into revision 2, as Docker does: that uid is the host's,
// meaningless wherever the image goes next.
func capabilityV2(v []byte) []byte {
	const v2Size, revision3 = 20, 3
	if len(v) == v2Size+4 && v[3] == revision3 {
		out := slices.Clone(v[:v2Size])
		out[3] = 2
		return out
	}
	return v
}

// listXattrs lists the names of path's xattrs (the path itself, not a symlink's target).
func listXattrs(path string) ([]string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Llistxattr(path, buf)
		if errors.Is(err, unix.ERANGE) {
			if n, err = unix.Llistxattr(path, nil); err != nil {
				return nil, fmt.Errorf("list xattrs of %s: %w", path, err)
			}
			buf = make([]byte, n)
			continue
		}
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list xattrs of %s: %w", path, err)
		}
		var names []string
		for _, name := range strings.Split(string(buf[:n]), "\x00") {
			if name != "" {
				names = append(names, name)
			}
		}
		return names, nil
	}
}

func getXattr(path, name string) ([]byte, error) {
	buf := make([]byte, 128)
	for {
		n, err := unix.Lgetxattr(path, name, buf)
		if errors.Is(err, unix.ERANGE) {
			if n, err = unix.Lgetxattr(path, name, nil); err != nil {
				return nil, err
			}
			buf = make([]byte, n)
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

// applyXattrs sets on path the xattrs of its tar header that a layer keeps (see above). It
// runs after the owner is set: a chown clears security.capability.
func applyXattrs(path string, hdr *tar.Header) error {
	var names []string
	for key := range hdr.PAXRecords {
		if name, ok := strings.CutPrefix(key, paxXattr); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names) // the first error is the same each time
	for _, name := range names {
		value := hdr.PAXRecords[paxXattr+name]
		ok, required := unpackedXattr(name, hdr.Typeflag)
		if !ok {
			continue
		}
		if len(name) > xattrNameMax {
			return fmt.Errorf("xattr %.40q...: the name is %d bytes, the kernel takes at most %d", name, len(name), xattrNameMax)
		}
		if len(value) > xattrSizeMax {
			return fmt.Errorf("xattr %s: the value is %d bytes, the kernel holds at most %d", name, len(value), xattrSizeMax)
		}
		err := unix.Lsetxattr(path, name, []byte(value), 0)
		if err != nil && (required || !refusedByHost(err)) {
			return fmt.Errorf("set xattr %s: %w", name, err)
		}
	}
	return nil
}

// unpackedXattr says whether the xattr name is set on an unpacked file of type typ, and
// whether failing to set it fails the layer (required) or only skips it (what the host may
// refuse: trusted.* without CAP_SYS_ADMIN, a security label the host's policy does not know).
func unpackedXattr(name string, typ byte) (ok, required bool) {
	regular := typ == tar.TypeReg || typ == tar.TypeRegA
	switch {
	case isOverlayXattr(name):
		return false, false
	case name == capabilityXattr:
		return regular, true
	case strings.HasPrefix(name, "user."):
		return regular || typ == tar.TypeDir, true
	case strings.HasPrefix(name, "trusted."), strings.HasPrefix(name, "security."):
		return true, false
	}
	return false, false
}

// refusedByHost tells the errors with which a host declines an xattr it may decline.
func refusedByHost(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EACCES)
}

// copyXattrs gives dst the xattrs of src that a layer keeps (the vfs driver's copy).
func copyXattrs(src, dst string, typ byte) error {
	names, err := listXattrs(src)
	if err != nil {
		return err
	}
	hdr := &tar.Header{Typeflag: typ}
	for _, name := range names {
		if isOverlayXattr(name) {
			continue
		}
		value, err := getXattr(src, name)
		if errors.Is(err, unix.ENODATA) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read xattr %s of %s: %w", name, src, err)
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords[paxXattr+name] = string(value)
	}
	if hdr.PAXRecords == nil {
		return nil
	}
	if err := applyXattrs(dst, hdr); err != nil {
		return fmt.Errorf("%s: %w", dst, err)
	}
	return nil
}

// tarType is the tar type of a file of mode m, for the rules above.
func tarType(m os.FileMode) byte {
	switch {
	case m.IsRegular():
		return tar.TypeReg
	case m.IsDir():
		return tar.TypeDir
	case m&os.ModeSymlink != 0:
		return tar.TypeSymlink
	}
	return tar.TypeChar
}
