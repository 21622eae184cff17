package commands

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseTimestamp(t *testing.T) {
	zone := time.FixedZone("UTC+2", 2*3600)
	now := time.Date(2024, 5, 6, 12, 0, 0, 0, zone)
	for _, tc := range []struct {
		value string
		want  time.Time
		err   string
	}{
		{value: "", want: time.Time{}},
		{value: "0", want: time.Time{}},
		{value: "10m", want: now.Add(-10 * time.Minute)},
		{value: "1h30m", want: now.Add(-90 * time.Minute)},
		{value: "-5s", want: now.Add(5 * time.Second)},
		{value: "1700000000", want: time.Unix(1700000000, 0)},
		{value: "1700000000.25", want: time.Unix(1700000000, 250000000)},
		{value: "2024-01-02", want: time.Date(2024, 1, 2, 0, 0, 0, 0, zone)},
		{value: "2024-01-02T15", want: time.Date(2024, 1, 2, 15, 0, 0, 0, zone)},
		{value: "2024-01-02T15:04", want: time.Date(2024, 1, 2, 15, 4, 0, 0, zone)},
		{value: "2024-01-02T15:04:05", want: time.Date(2024, 1, 2, 15, 4, 5, 0, zone)},
		{value: "2024-01-02T15:04:05.5", want: time.Date(2024, 1, 2, 15, 4, 5, 500000000, zone)},
		{value: "2024-01-02T15:04:05Z", want: time.Date(2024, 1, 2, 15, 4, 5, 0, time.UTC)},
		{value: "2024-01-02T15:04:05.123456789Z", want: time.Date(2024, 1, 2, 15, 4, 5, 123456789, time.UTC)},
		{value: "2024-01-02T15:04:05+01:00", want: time.Date(2024, 1, 2, 14, 4, 5, 0, time.UTC)},
		{value: "2024-01-02T15:04:05-01:00", want: time.Date(2024, 1, 2, 16, 4, 5, 0, time.UTC)},
		{value: "2024-01-02T15+01:00", want: time.Date(2024, 1, 2, 14, 0, 0, 0, time.UTC)},
		{value: "2024-01-02Z", want: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
		{value: "yesterday", err: `failed to parse value as time or duration: "yesterday"`},
		{value: "2024-13-02", err: `invalid time "2024-13-02"`},
		{value: "17000.x", err: `failed to parse value as time or duration: "17000.x"`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			got, err := parseTimestamp(tc.value, now)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.True(t, tc.want.Equal(got), "want %s, got %s", tc.want, got)
		})
	}
}
