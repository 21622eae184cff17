package blobs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/workspace"
	"github.com/mydocker/mydocker/workspace/registry"
)

// readAll reads your reader to its end, as the engine does, and returns what it passed on and
// how it ended.
func readAll(r io.Reader) ([]byte, error) {
	var out bytes.Buffer
	buf := make([]byte, 32<<10)
	for range 1 << 22 { // bounded: a reader that never ends fails the test, not the machine
		n, err := r.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.Bytes(), err
		}
	}
	return out.Bytes(), errNoEnd
}

var errNoEnd = errors.New(`four million reads returned no error, not even io.EOF: your reader never ends (HINTS.md, "no end")`)

var blob = bytes.Repeat([]byte("a layer's bytes. "), 4000) // 68,000 bytes

func TestAGoodBlob(t *testing.T) {
	d := digest.FromBytes(blob)
	for _, c := range []struct {
		name string
		r    io.Reader
		want digest.Digest
		hint string
	}{
		{"read at once", bytes.NewReader(blob), d, "pass on"},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(blob)), d, "pass on"},
		{"its last bytes come with io.EOF", iotest.DataErrReader(bytes.NewReader(blob)), d, "data and EOF"},
		{"a sha512 digest", bytes.NewReader(blob), digest.NewDigestFromBytes(digest.SHA512, sum512(blob)), "algorithm"},
	} {
		got, err := readAll(VerifyBlob(c.r, c.want, int64(len(blob))))
		if err != io.EOF {
			t.Errorf("%s: the blob is the one asked for, and its reader ended with %v, not io.EOF (HINTS.md, %q)", c.name, err, c.hint)
		} else if !bytes.Equal(got, blob) {
			t.Errorf("%s: your reader passed on %d bytes, not the blob's %d as they are (HINTS.md, %q)", c.name, len(got), len(blob), c.hint)
		}
	}
}

func TestABlobThatIsNotTheOne(t *testing.T) {
	d, size := digest.FromBytes(blob), int64(len(blob))
	tampered := bytes.Clone(blob)
	tampered[40000] = 'A'
	for _, c := range []struct {
		name string
		r    io.Reader
		hint string
	}{
		{"one byte changed", bytes.NewReader(tampered), "digest"},
		{"one byte changed, the last bytes with io.EOF", iotest.DataErrReader(bytes.NewReader(tampered)), "data and EOF"},
		{"cut short", bytes.NewReader(blob[:50000]), "size"},
		{"a byte longer", io.MultiReader(bytes.NewReader(blob), strings.NewReader("!")), "size"},
	} {
		got, err := readAll(VerifyBlob(c.r, d, size))
		switch {
		case errors.Is(err, errNoEnd):
			t.Errorf("%s: %v", c.name, err)
		case err == io.EOF || err == nil:
			t.Errorf("%s: your reader ended with %v: the engine would commit the layer of a blob that is not the one the manifest names (HINTS.md, %q)", c.name, err, c.hint)
		case !errors.Is(err, workspace.ErrBlobMismatch):
			t.Errorf("%s: the error %q does not wrap workspace.ErrBlobMismatch: fmt.Errorf(\"...: %%w\", workspace.ErrBlobMismatch) (HINTS.md, \"wrap\")", c.name, err)
		case !strings.Contains(err.Error(), d.String()):
			t.Errorf("%s: the error %q does not name the blob, %s (HINTS.md, \"wrap\")", c.name, err, d)
		case c.name == "one byte changed" && len(got) != len(blob):
			t.Errorf("%s: your reader passed on %d bytes before its error, want all %d: it cannot know before the end (HINTS.md, \"end\")", c.name, len(got), len(blob))
		}
	}
}

// TestTheErrorStays: a caller that reads again after the error must not see an end.
func TestTheErrorStays(t *testing.T) {
	d := digest.FromBytes(blob)
	r := VerifyBlob(bytes.NewReader(blob[:100]), d, int64(len(blob)))
	_, err := readAll(r)
	if err == nil || err == io.EOF {
		t.Fatalf("a blob cut short ended with %v (HINTS.md, \"size\")", err)
	}
	if n, again := r.Read(make([]byte, 10)); again == nil || again == io.EOF || n != 0 {
		t.Errorf("read again after %q: %d, %v; want 0 and the same error (HINTS.md, \"again\")", err, n, again)
	}
}

// TestItStreams: the first bytes come before the blob has been read to its end.
func TestItStreams(t *testing.T) {
	big := bytes.Repeat([]byte{7}, 4<<20)
	src := &counter{r: bytes.NewReader(big)}
	r := VerifyBlob(src, digest.FromBytes(big), int64(len(big)))
	n, err := r.Read(make([]byte, 4096))
	if n == 0 && err != nil {
		t.Fatalf("the first Read of a good blob: %v", err)
	}
	if src.n > 1<<20 {
		t.Errorf("to pass on its first %d bytes, your reader read %d bytes of the blob: a layer can be gigabytes, and the engine unpacks it as it downloads (HINTS.md, \"stream\")", n, src.n)
	}
	// A blob that never ends is read only one byte past its size.
	endless := &counter{r: iotest.OneByteReader(repeat('x'))}
	_, err = readAll(VerifyBlob(io.LimitReader(endless, 8<<20), digest.FromString("x"), 1000))
	if err == nil || err == io.EOF {
		t.Errorf("a blob longer than its 1,000 bytes ended with %v (HINTS.md, \"size\")", err)
	}
	if endless.n > 1001 {
		t.Errorf("for a blob of 1,000 bytes your reader read %d: read no more than size+1, a server could send forever (HINTS.md, \"size\")", endless.n)
	}
}

func TestAnInvalidDigest(t *testing.T) {
	for _, want := range []digest.Digest{"sha256:nothex", "md5:d41d8cd98f00b204e9800998ecf8427e", ""} {
		_, err := readAll(VerifyBlob(bytes.NewReader(blob), want, int64(len(blob))))
		if err == nil || err == io.EOF {
			t.Errorf("VerifyBlob(%q): ended with %v, want an error: want.Validate() (HINTS.md, \"invalid\")", want, err)
		}
	}
}

// TestTheStoreKeepsNothing runs the engine's AddBlob, which a pull unpacks each layer with,
// on your reader: a tampered blob must leave no layer in the store, a good one must be there.
func TestTheStoreKeepsNothing(t *testing.T) {
	workspace.Seams.VerifyBlob = VerifyBlob
	defer func() { workspace.Seams.VerifyBlob = nil }()
	layer := layerTar(t)
	gz := gzipped(t, layer)
	// The gzip header's OS byte: the same tar inside, other bytes. Only the digest tells.
	otherHeader := bytes.Clone(gz)
	otherHeader[9] ^= 0xff
	// One byte of the file in the tar: a plain tar has no checksum over the file's contents.
	otherFile := bytes.Clone(layer)
	otherFile[bytes.Index(otherFile, []byte("hello from the layer"))] = 'j'
	for _, c := range []struct {
		name       string
		got, named []byte
	}{
		{"gzip, another header", otherHeader, gz},
		{"a plain tar, one byte of a file changed", otherFile, layer},
	} {
		store := openStore(t)
		d := digest.FromBytes(c.named)
		if id, err := registry.AddBlob(leaseOf(t, store), bytes.NewReader(c.got), d, int64(len(c.named))); err == nil {
			t.Errorf("%s: the store took the layer %s from a blob whose digest is not %s (HINTS.md, \"end\")", c.name, id, d)
		} else if !errors.Is(err, workspace.ErrBlobMismatch) {
			t.Errorf("%s: %v, want your error wrapping workspace.ErrBlobMismatch (HINTS.md, \"wrap\")", c.name, err)
		}
		if layers := storedLayers(t, store); len(layers) > 0 {
			t.Errorf("%s: the store keeps the layers %v: your reader must return its error before io.EOF, or the layer is committed (HINTS.md, \"end\")", c.name, layers)
		}
	}
	store := openStore(t)
	id, err := registry.AddBlob(leaseOf(t, store), bytes.NewReader(gz), digest.FromBytes(gz), int64(len(gz)))
	if err != nil {
		t.Fatalf("the blob as pushed: %v", err)
	}
	if id != digest.FromBytes(layer) || !store.HasLayer(id) {
		t.Errorf("the blob as pushed made the layer %s, want %s, in the store", id, digest.FromBytes(layer))
	}
}

var storeRoots = map[*workspace.Store]string{}

func openStore(t *testing.T) *workspace.Store {
	root := t.TempDir()
	s, err := workspace.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	storeRoots[s] = root
	return s
}

// leaseOf starts a lease on the store, as a pull does: what it adds is held until it ends.
func leaseOf(t *testing.T, s *workspace.Store) *workspace.Lease {
	l, err := s.NewLease()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Release() })
	return l
}

func storedLayers(t *testing.T, s *workspace.Store) []string {
	entries, err := os.ReadDir(filepath.Join(storeRoots[s], "image", "layers", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func layerTar(t *testing.T) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	content := "hello from the layer\n"
	for _, h := range []*tar.Header{
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "etc/motd", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))},
	} {
		h.Uid, h.Gid = os.Getuid(), os.Getgid()
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			io.WriteString(tw, content)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sum512(b []byte) []byte {
	s := sha512.Sum512(b)
	return s[:]
}

type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type repeat byte

func (r repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}
