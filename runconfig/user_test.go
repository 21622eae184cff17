package runconfig

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolveUser(t *testing.T) {
	passwd := []byte("root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
	group := []byte("root:x:0:\nwww:x:33:\nstaff:x:50:www,other\nnogroup:x:65534:\n")
	for _, tc := range []struct {
		spec      string
		uid, gid  uint32
		additions []uint32
	}{
		{"", 0, 0, []uint32{0}},
		{"root", 0, 0, []uint32{0}},
		{"www", 33, 33, []uint32{33, 50}},
		{"www:staff", 33, 50, []uint32{50}},
		{"nobody", 65534, 65534, []uint32{65534}},
		{"1000", 1000, 0, []uint32{0}},
		{"1000:1000", 1000, 1000, []uint32{1000}},
		{"33:0", 33, 0, []uint32{0}},
	} {
		u, err := ResolveUser(tc.spec, passwd, group)
		require.NoError(t, err, tc.spec)
		require.Equal(t, tc.uid, u.UID, tc.spec)
		require.Equal(t, tc.gid, u.GID, tc.spec)
		require.Equal(t, tc.additions, u.AdditionalGids, tc.spec)
	}
	_, err := ResolveUser("nosuch", passwd, group)
	require.ErrorContains(t, err, "unable to find user nosuch")
	_, err = ResolveUser("www:nosuch", passwd, group)
	require.ErrorContains(t, err, "unable to find group nosuch")
}
