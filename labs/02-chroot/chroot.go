//go:build !solution

package chroot

import "errors"

// LookPath finds the command a container runs, as a shell would: a name with a slash is used
// as it is; a bare name is searched in each directory of the PATH in env ("PATH=/bin:/usr/bin"
// among "KEY=VALUE" strings), in order, and the first regular file that is executable wins
// (an empty PATH entry means the current directory). Not found is an error that says
// `executable file not found in $PATH` and matches unix.ENOENT with errors.Is.
func LookPath(file string, env []string) (string, error) {
	return "", errors.New("not implemented: write LookPath in labs/02-chroot/chroot.go")
}

// ChangeRoot makes rootfs — already a mount point, in the container's own mount namespace —
// the process's root directory, and the working directory "/". A bare chroot(2) can be escaped
// by root; move the rootfs mount over "/" first (MS_MOVE), then chroot into it.
func ChangeRoot(rootfs string) error {
	return errors.New("not implemented: write ChangeRoot in labs/02-chroot/chroot.go")
}
