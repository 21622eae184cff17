package names

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	for _, good := range []string{"web", "web-1.a_b", "A9"} {
		require.NoError(t, Validate("container", good), good)
	}
	for _, bad := range []string{"", "a", "-web", ".hidden", "../../image/repositories", "a/b", "a b", "é-name", strings.Repeat("x", 1) + "\x00"} {
		require.Error(t, Validate("network", bad), bad)
	}
}

func TestIDs(t *testing.T) {
	id := strings.Repeat("ab", 32)
	require.True(t, IsID(id))
	require.False(t, IsID(id[:63]))
	require.False(t, IsID(strings.ToUpper(id)))
	require.False(t, IsID("../"+id[3:]))
	require.True(t, IsHex("0f"))
	require.False(t, IsHex(""))
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"web", "../x", "a/b", ".", "ab\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Validate("container", s) == nil && (strings.ContainsAny(s, "/\x00") || strings.HasPrefix(s, ".")) {
			t.Fatalf("%q passed, but it could leave its directory", s)
		}
	})
}
