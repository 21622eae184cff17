package build

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"

	"github.com/klauspost/compress/zstd"
)

// decompressor is how to read a stream whose first bytes are head: gzip, bzip2 or zstd (nil:
// none of them).
func decompressor(head []byte) func(io.Reader) (io.Reader, error) {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
	case bytes.HasPrefix(head, []byte("BZh")):
		return func(r io.Reader) (io.Reader, error) { return bzip2.NewReader(r), nil }
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return func(r io.Reader) (io.Reader, error) {
			d, err := zstd.NewReader(r)
			if err != nil {
				return nil, err
			}
			return d.IOReadCloser(), nil
		}
	}
	return nil
}

// decompress undoes the compression r starts with, if any.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(4)
	open := decompressor(head)
	if open == nil {
		return br, nil
	}
	d, err := open(br)
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	return d, nil
}

// tarMode is a tar header's mode as Go's file modes say it: permissions and the setuid,
// setgid and sticky bits.
func tarMode(m int64) fs.FileMode {
	mode := fs.FileMode(m).Perm()
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
