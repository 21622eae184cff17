//go:build lab

package lab

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseOnly(t *testing.T) {
	for _, c := range []struct {
		only    string
		chapter int
		want    []int
	}{
		{"", 3, []int{1, 2, 3}},
		{"", 12, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"07", 7, []int{7}},
		{"04,07", 10, []int{4, 7}},
		{" 4, 7 ", 7, []int{4, 7}},
	} {
		t.Run(c.only, func(t *testing.T) {
			got, err := parseOnly(c.only, c.chapter)
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
	for _, c := range []struct {
		only    string
		chapter int
	}{{"08", 7}, {"x", 7}, {"99", 99}, {"7,", 7}} {
		t.Run("refused "+c.only, func(t *testing.T) {
			_, err := parseOnly(c.only, c.chapter)
			assert.Error(t, err)
		})
	}
}
