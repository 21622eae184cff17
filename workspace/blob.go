package workspace

import (
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/opencontainers/go-digest"
)

// ErrBlobMismatch is the error of a blob that is not the one asked for: other bytes, or more or
// fewer of them, than its digest and size say.
var ErrBlobMismatch = errors.New("not the blob the manifest names")

// VerifyBlob returns a reader of blob that checks, as the blob ends, that it was the one asked
// for: size bytes whose digest is want (sha256, or another algorithm go-digest knows). It
// passes the bytes on as they come — a layer is unpacked while it downloads, nothing is kept
// to check first — and at the end returns, instead of io.EOF, an error wrapping
// ErrBlobMismatch when the bytes were other ones, or more or fewer than size. Whoever reads
// it commits what it made from the bytes only once the end came without an error: a registry,
// a proxy or a disk that changed one byte of a layer cannot get it into the store.
func VerifyBlob(blob io.Reader, want digest.Digest, size int64) io.Reader {
	if err := want.Validate(); err != nil {
		return &failedReader{fmt.Errorf("blob %q: %w", want, err)}
	}
	if size < 0 {
		return &failedReader{fmt.Errorf("blob %s: no size to check it against", want)}
	}
	// One byte more than size is read, so that a longer blob is seen as one.
	return &verifiedBlob{r: io.LimitReader(blob, size+1), want: want, size: size, hash: want.Algorithm().Hash()}
}

type verifiedBlob struct {
	r    io.Reader
	want digest.Digest
	size int64
	n    int64 // bytes read so far
	hash hash.Hash
	err  error // the end, once there: io.EOF or why the blob is not the one
}

func (v *verifiedBlob) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.hash.Write(p[:n])
	v.n += int64(n)
	switch {
	case v.n > v.size:
		v.err = fmt.Errorf("blob %s: longer than the %d bytes the manifest gives: %w", v.want, v.size, ErrBlobMismatch)
		return n, v.err
	case err == io.EOF && v.n < v.size:
		v.err = fmt.Errorf("blob %s: %d bytes, not the %d the manifest gives: %w", v.want, v.n, v.size, ErrBlobMismatch)
	case err == io.EOF:
		if got := digest.NewDigest(v.want.Algorithm(), v.hash); got != v.want {
			v.err = fmt.Errorf("blob %s: its bytes have the digest %s: %w", v.want, got, ErrBlobMismatch)
		} else {
			v.err = io.EOF
		}
	default:
		return n, err
	}
	return n, v.err
}

type failedReader struct{ err error }

func (f *failedReader) Read([]byte) (int, error) { return 0, f.err }

// CheckedBlob is blob read through VerifyBlob — or, in a chapter built with -tags lab, through
// the learner's (lab 14): what the registry client reads each layer it pulls through.
func CheckedBlob(blob io.Reader, want digest.Digest, size int64) io.Reader {
	if f := Seams.VerifyBlob; f != nil {
		return f(blob, want, size)
	}
	return VerifyBlob(blob, want, size)
}
