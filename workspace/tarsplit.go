package workspace

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/opencontainers/go-digest"
	tarsplittar "github.com/vbatts/tar-split/archive/tar"
	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"
)

// A layer is stored unpacked, but its id is the digest of the tar it came as: the same files
// tarred again are other bytes (other header fields, order, padding), so another diff id, and
// the image that names the layer another image id. tar-split (the library Docker uses for
// this) keeps what the files do not hold — every header, the padding, the order, each file's
// size and crc64 — and puts the very bytes together again from it and the layer's files.
//
//	<root>/image/layers/sha256/<diff id>/tar-split.json.gz
//
// A layer stored before mydocker kept these has none, nor has one whose tar cannot be put
// together from its files (an entry replaced by a later one of the same name, content carried
// by a whiteout, a sparse file: unpacked.rewritten), nor one tar-split cannot record (a name
// the tar holds twice, which Docker refuses to load at all): save and push tar such a layer
// again from its files, under another diff id.
const tarSplitFile = "tar-split.json.gz"

// tarSplitRecorder reads a layer's tar a second time, as tar-split does, beside the unpacking:
// it is written what the unpacker reads (an io.TeeReader), keeps a copy in chunks, and
// another goroutine parses them with tar-split's reader (which keeps each header's raw
// bytes) and writes the record. The unpacker never waits on it but for a free chunk: through
// a pipe, each of its reads waited for tar-split's (an import of 200 MB in 21,000 files took
// twice as long). Its parse has no say over the layer, which Go's own reader unpacks: a tar
// it cannot record, it does not record.
type tarSplitRecorder struct {
	chunks chan []byte // filled, to the parser
	free   chan []byte // parsed, back to Write
	buf    []byte      // the chunk Write fills
	done   chan error
	file   *os.File
	out    *bufio.Writer // flate writes in pieces of some 250 bytes: a syscall each, unbuffered
	zw     *gzip.Writer
	ended  bool
}

const tarSplitChunk, tarSplitChunks = 256 << 10, 8

// recordTarSplit starts a record to be written to path. Write it the tar, then call finish;
// abort (deferred) ends it otherwise.
func recordTarSplit(path string) (*tarSplitRecorder, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("record the layer's tar: %w", err)
	}
	t := &tarSplitRecorder{chunks: make(chan []byte, tarSplitChunks), free: make(chan []byte, tarSplitChunks+1), done: make(chan error, 1), file: f}
	for range tarSplitChunks + 1 {
		t.free <- make([]byte, 0, tarSplitChunk)
	}
	t.out = bufio.NewWriterSize(f, 64<<10)
	t.zw = gzip.NewWriter(t.out)
	go func() {
		err := recordTar(&chunkReader{chunks: t.chunks, free: t.free}, storage.NewJSONPacker(t.zw))
		for c := range t.chunks { // what an early end left: Write must not wait for it
			t.free <- c[:0]
		}
		t.done <- err
	}()
	return t, nil
}

// Write keeps a copy of p for the parser. It never fails.
func (t *tarSplitRecorder) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if t.buf == nil {
			t.buf = <-t.free
		}
		k := copy(t.buf[len(t.buf):cap(t.buf)], p)
		t.buf, p = t.buf[:len(t.buf)+k], p[k:]
		if len(t.buf) == cap(t.buf) {
			t.chunks <- t.buf
			t.buf = nil
		}
	}
	return n, nil
}

// end hands the parser the last chunk and the end of the stream, and waits for its verdict.
func (t *tarSplitRecorder) end() error {
	t.ended = true
	if t.buf != nil {
		t.chunks <- t.buf
		t.buf = nil
	}
	close(t.chunks)
	return <-t.done
}

// finish ends the record, once the whole stream was written, and keeps it when keep says the
// layer's files can give the tar back and tar-split could read it all; else it removes it.
func (t *tarSplitRecorder) finish(keep bool) error {
	parsed := t.end()
	err := t.zw.Close()
	if ferr := t.out.Flush(); err == nil {
		err = ferr
	}
	if cerr := t.file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("record the layer's tar: %w", err)
	}
	if !keep || parsed != nil {
		if err := os.Remove(t.file.Name()); err != nil {
			return fmt.Errorf("record the layer's tar: %w", err)
		}
	}
	return nil
}

// abort ends the record unless finish did (the layer's directory, and the file with it, go).
func (t *tarSplitRecorder) abort() {
	if !t.ended {
		t.end()
		t.file.Close()
	}
}

// chunkReader reads the chunks Write filled, handing each back once read.
type chunkReader struct {
	chunks <-chan []byte
	free   chan<- []byte
	cur    []byte
	off    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for c.cur == nil || c.off == len(c.cur) {
		if c.cur != nil {
			c.free <- c.cur[:0]
		}
		next, ok := <-c.chunks
		if !ok {
			c.cur = nil
			return 0, io.EOF
		}
		c.cur, c.off = next, 0
	}
	n := copy(p, c.cur[c.off:])
	c.off += n
	return n, nil
}

// recordTar reads a tar as tar-split's disassembler does and packs what it needs to write the
// same bytes again: each header's raw bytes and the padding as segments, each file as its
// name, size and crc64 (its content is the layer's). A name the tar holds twice is refused by
// the packer (tar-split's reader would refuse its record too).
func recordTar(r io.Reader, p storage.Packer) error {
	tr := tarsplittar.NewReader(r)
	tr.RawAccounting = true
	segment := func(b []byte) error {
		if len(b) == 0 {
			return nil
		}
		_, err := p.AddEntry(storage.Entry{Type: storage.SegmentType, Payload: b})
		return err
	}
	crc := crc64.New(storage.CRCTable)
	buf := make([]byte, 32<<10)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if err := segment(tr.RawBytes()); err != nil { // the end-of-archive blocks
				return err
			}
			break
		}
		if err != nil {
			return err
		}
		if err := segment(tr.RawBytes()); err != nil {
			return err
		}
		e := storage.Entry{Type: storage.FileType, Size: hdr.Size}
		e.SetName(hdr.Name)
		if hdr.Size > 0 {
			crc.Reset()
			if _, err := io.CopyBuffer(crc, tr, buf); err != nil {
				return err
			}
			e.Payload = crc.Sum(nil)
		}
		if _, err := p.AddEntry(e); err != nil {
			return err
		}
		if err := segment(tr.RawBytes()); err != nil {
			return err
		}
	}
	// Past the end: tar(1)'s padding to its record size, or anything else the stream held.
	for {
		n, err := r.Read(buf)
		if serr := segment(buf[:n]); serr != nil {
			return serr
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// originalTar is a stored layer's tar as it came, put together from its tar-split record.
type originalTar struct {
	id         digest.Digest
	dir, split string
}

// originalTar returns layer d's original tar, when the store keeps a record of it.
func (s *Store) originalTar(d digest.Digest) (*originalTar, bool) {
	split := filepath.Join(s.layerDir(d), tarSplitFile)
	if _, err := os.Stat(split); err != nil {
		return nil, false
	}
	return &originalTar{id: d, dir: filepath.Join(s.layerDir(d), "diff"), split: split}, true
}

// unpacker reads the record.
func (o *originalTar) unpacker() (storage.Unpacker, io.Closer, error) {
	f, err := os.Open(o.split)
	if err != nil {
		return nil, nil, fmt.Errorf("layer %s: %w", o.id, err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("layer %s: read %s: %w", o.id, tarSplitFile, err)
	}
	return storage.NewJSONUnpacker(zr), f, nil
}

// Size is the tar's length, from the record alone: what a tar entry holding it needs first.
func (o *originalTar) Size() (int64, error) {
	up, f, err := o.unpacker()
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var size int64
	for {
		e, err := up.Next()
		if errors.Is(err, io.EOF) {
			return size, nil
		}
		if err != nil {
			return 0, fmt.Errorf("layer %s: read %s: %w", o.id, tarSplitFile, err)
		}
		if e.Type == storage.SegmentType {
			size += int64(len(e.Payload))
		} else {
			size += e.Size
		}
	}
}

// WriteTo writes the tar to w, and fails, naming the layer, unless its digest is the layer's
// diff id: never other bytes under the layer's name.
func (o *originalTar) WriteTo(w io.Writer) (int64, error) {
	up, f, err := o.unpacker()
	if err != nil {
		return 0, err
	}
	defer f.Close()
	root, err := os.OpenRoot(o.dir)
	if err != nil {
		return 0, fmt.Errorf("layer %s: %w", o.id, err)
	}
	defer root.Close()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(w, h)}
	if err := asm.WriteOutputTarStream(layerFiles{root}, up, cw); err != nil {
		return cw.n, fmt.Errorf("layer %s: put its tar together again: %w", o.id, err)
	}
	if got := digest.NewDigest(digest.SHA256, h); got != o.id {
		return cw.n, fmt.Errorf("layer %s: its files no longer make the tar it came as (they make %s)", o.id, got)
	}
	return cw.n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// layerFiles hands tar-split a file's content by its name in the tar, from the unpacked
// layer, never from outside it (os.Root) nor from what is not a regular file.
type layerFiles struct{ root *os.Root }

func (l layerFiles) Get(name string) (io.ReadCloser, error) {
	clean, err := localName(name)
	if err != nil {
		return nil, err
	}
	f, err := l.root.OpenFile(clean, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file in the layer", clean)
	}
	return f, nil
}
