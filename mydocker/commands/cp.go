package commands

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/mydocker/mydocker/engine"
)

func cpCommand() *cli.Command {
	return &cli.Command{
		Name:         "cp",
		Usage:        "copy files between a container, running or not, and the host (- for a tar stream on stdin or stdout)",
		ArgsUsage:    "CONTAINER:SRC_PATH DEST_PATH|-  or  SRC_PATH|- CONTAINER:DEST_PATH",
		OnUsageError: onUsageError,
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := exactArgs(cmd, 2, "cp CONTAINER:SRC_PATH DEST_PATH|- or SRC_PATH|- CONTAINER:DEST_PATH"); err != nil {
				return err
			}
			src, dst := cmd.Args().Get(0), cmd.Args().Get(1)
			sref, spath, sIn := splitContainerPath(src)
			dref, dpath, dIn := splitContainerPath(dst)
			if sIn == dIn {
				return usageError{msg: "copying between containers, or on the host, is not supported: one side must be CONTAINER:PATH"}
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			if sIn {
				return copyOut(e, sref, spath, dst)
			}
			return copyIn(e, src, dref, dpath)
		},
	}
}

// splitContainerPath reads CONTAINER:PATH; a path that starts with / or . is the host's, as
// docker cp reads it.
func splitContainerPath(arg string) (ref, p string, ok bool) {
	if strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, ".") {
		return "", arg, false
	}
	ref, p, ok = strings.Cut(arg, ":")
	return ref, p, ok
}

func copyOut(e *engine.Engine, ref, src, dst string) error {
	if dst == "-" {
		return e.CopyFrom(ref, src, os.Stdout)
	}
	// Into an existing directory under the source's name; else as dst itself.
	dir, rename := dst, ""
	if fi, err := os.Stat(dst); err != nil || !fi.IsDir() {
		dir, rename = filepath.Dir(dst), filepath.Base(dst)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(e.CopyFrom(ref, src, pw)) }()
	err := extractOnHost(pr, dir, rename)
	pr.CloseWithError(err)
	return err
}

func copyIn(e *engine.Engine, src, ref, dst string) error {
	if src == "-" {
		return e.CopyTo(ref, dst, os.Stdin)
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	// Into an existing directory under the source's name; else as dst itself.
	stat, err := e.PathStat(ref, dst)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	dir, name := dst, filepath.Base(src)
	if err != nil || !stat.Mode.IsDir() {
		// A dst ending in / names a directory: Docker's words when it is missing and a
		// file would have to make it.
		if err != nil && strings.HasSuffix(dst, "/") && !fi.IsDir() {
			return errors.New("no such directory")
		}
		clean := filepath.Clean(dst)
		dir, name = filepath.Dir(clean), filepath.Base(clean)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarHostTree(pw, src, name, fi)) }()
	err = e.CopyTo(ref, dir, pr)
	pr.CloseWithError(err)
	return err
}

// tarHostTree writes the host's file or tree at src to w, its entries named from name.
func tarHostTree(w io.Writer, src, name string, top fs.FileInfo) error {
	tw := tar.NewWriter(w)
	err := filepath.Walk(src, func(p string, fi fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(filepath.Join(name, rel))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, fi.Size())
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// extractOnHost extracts a tar from CopyFrom into dir, the first element of each name
// replaced by rename when set. Names stay below dir, and nothing is written through a symlink.
func extractOnHost(r io.Reader, dir, rename string) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(hdr.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("refused the archive entry %q: it leaves %s", hdr.Name, dir)
		}
		if rename != "" {
			_, rest, _ := strings.Cut(name, "/")
			name = filepath.Join(rename, rest)
		}
		target := filepath.Join(dir, name)
		for p := filepath.Dir(target); p != dir && strings.HasPrefix(p, dir); p = filepath.Dir(p) {
			if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
				return fmt.Errorf("refused to write %s through the symlink %s", target, p)
			}
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, fs.FileMode(hdr.Mode)&fs.ModePerm); err != nil {
				return err
			}
		case tar.TypeSymlink:
			os.Remove(target)
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
		case tar.TypeReg:
			os.Remove(target)
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fs.FileMode(hdr.Mode)&fs.ModePerm)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}
