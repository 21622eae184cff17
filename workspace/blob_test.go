package workspace

import (
	"bytes"
	"crypto/sha512"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerifyBlob(t *testing.T) {
	blob := bytes.Repeat([]byte("layer bytes "), 5000)
	d := digest.FromBytes(blob)
	tampered := bytes.Clone(blob)
	tampered[30000] ^= 1
	for _, c := range []struct {
		name string
		r    io.Reader
		want digest.Digest
		size int64
		err  string
	}{
		{"the blob", bytes.NewReader(blob), d, int64(len(blob)), ""},
		{"in one-byte reads", iotest.OneByteReader(bytes.NewReader(blob)), d, int64(len(blob)), ""},
		{"its last bytes with io.EOF", iotest.DataErrReader(bytes.NewReader(blob)), d, int64(len(blob)), ""},
		{"sha512", bytes.NewReader(blob), digest.NewDigestFromBytes(digest.SHA512, sha512New(blob)), int64(len(blob)), ""},
		{"a byte changed", bytes.NewReader(tampered), d, int64(len(blob)), "its bytes have the digest " + digest.FromBytes(tampered).String()},
		{"cut short", bytes.NewReader(blob[:100]), d, int64(len(blob)), "100 bytes, not the 60000"},
		{"longer", bytes.NewReader(append(bytes.Clone(blob), 'x')), d, int64(len(blob)), "longer than the 60000 bytes"},
		{"smaller size", bytes.NewReader(blob), d, 10, "longer than the 10 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := io.ReadAll(VerifyBlob(c.r, c.want, c.size))
			if c.err == "" {
				require.NoError(t, err)
				assert.Equal(t, blob, got)
				return
			}
			require.ErrorIs(t, err, ErrBlobMismatch)
			assert.Contains(t, err.Error(), c.err)
		})
	}
	t.Run("the error comes at the end", func(t *testing.T) {
		r := VerifyBlob(bytes.NewReader(tampered), d, int64(len(blob)))
		buf := make([]byte, len(blob))
		n, err := io.ReadFull(r, buf)
		require.NoError(t, err, "every byte is passed on before the check")
		assert.Equal(t, len(blob), n)
		_, err = r.Read(buf)
		assert.ErrorIs(t, err, ErrBlobMismatch)
		_, err = r.Read(buf)
		assert.ErrorIs(t, err, ErrBlobMismatch, "and stays")
	})
	_, err := io.ReadAll(VerifyBlob(bytes.NewReader(blob), "sha256:nothex", 1))
	assert.ErrorContains(t, err, `blob "sha256:nothex"`)
	assert.False(t, errors.Is(err, ErrBlobMismatch))
}

func sha512New(b []byte) []byte {
	s := sha512.Sum512(b)
	return s[:]
}
