// Package busybox builds the project's test and default image: the host's static busybox, a
// link per applet and a minimal /etc, as a rootfs tarball ready for `mydocker import`.
// Nothing is downloaded: the image is made from Debian's busybox-static package.
package busybox

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Candidates are where Debian and Ubuntu install a static busybox.
var Candidates = []string{"/bin/busybox", "/usr/bin/busybox"}

// ErrNoBusybox is returned when no static busybox is installed.
var ErrNoBusybox = errors.New("no static busybox found; install it with: apt-get install busybox-static")

// Find returns the path of the host's busybox binary.
func Find() (string, error) {
	for _, p := range Candidates {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("busybox"); err == nil {
		return p, nil
	}
	return "", ErrNoBusybox
}

const (
	passwd = "root:x:0:0:root:/root:/bin/sh\n" +
		"daemon:x:1:1:daemon:/usr/sbin:/bin/false\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	group = "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n"
)

// WriteTar writes a busybox rootfs tarball to w, using the busybox binary at bin.
func WriteTar(w io.Writer, bin string) error {
	data, err := os.ReadFile(bin)
	if err != nil {
		return fmt.Errorf("read busybox: %w", err)
	}
	out, err := exec.Command(bin, "--list").Output()
	if err != nil {
		return fmt.Errorf("list busybox applets: %w", err)
	}
	applets := strings.Fields(string(out))

	mtime := time.Unix(0, 0)
	tw := tar.NewWriter(w)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: mtime})
	}
	file := func(name string, mode int64, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: mtime}); err != nil {
			return err
		}
		_, err := io.Copy(tw, bytes.NewReader(body))
		return err
	}
	for _, d := range []string{"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "root", "home", "var", "var/spool", "var/spool/mail", "var/www"} {
		if err := dir(d, 0o755); err != nil {
			return err
		}
	}
	if err := dir("tmp", 0o1777); err != nil {
		return err
	}
	if err := file("bin/busybox", 0o755, data); err != nil {
		return err
	}
	for _, a := range applets {
		if a == "busybox" {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: mtime}); err != nil {
			return err
		}
	}
	if err := file("etc/passwd", 0o644, []byte(passwd)); err != nil {
		return err
	}
	if err := file("etc/group", 0o644, []byte(group)); err != nil {
		return err
	}
	return tw.Close()
}

// WriteTarFile writes the busybox rootfs tarball to path, finding the host's busybox.
func WriteTarFile(path string) error {
	bin, err := Find()
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteTar(f, bin); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
