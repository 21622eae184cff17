package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		500 * time.Millisecond: "Less than a second",
		time.Second:            "1 second",
		42 * time.Second:       "42 seconds",
		90 * time.Second:       "About a minute",
		5 * time.Minute:        "5 minutes",
		time.Hour:              "About an hour",
		5 * time.Hour:          "5 hours",
		3 * 24 * time.Hour:     "3 days",
		3 * 7 * 24 * time.Hour: "3 weeks",
	} {
		require.Equal(t, want, HumanDuration(d), d.String())
	}
}
