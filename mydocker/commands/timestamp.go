package commands

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseTimestamp reads a time as Docker's --since and --until do (docker/cli's
// GetTimestamp): a duration before now (10m, 1h30m), a Unix time in seconds (1700000000,
// with a fraction if wished), or an RFC 3339 date or time (2024-01-02, 2024-01-02T15:04:05,
// with a zone or in the local one). "" and "0" are no time (zero), as the daemon takes them.
func parseTimestamp(value string, now time.Time) (time.Time, error) {
	if value == "" || value == "0" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(value); err == nil {
		return now.Add(-d), nil
	}
	// With Z, a + or a third dash, the zone is given; else the time is local.
	local := !(strings.ContainsAny(value, "zZ+") || strings.Count(value, "-") == 3)
	var layout string
	switch {
	case strings.Contains(value, "."):
		layout = "2006-01-02T15:04:05.999999999"
	case strings.Contains(value, "T"):
		colons := strings.Count(value, ":")
		if !local && !strings.ContainsAny(value, "zZ") && colons > 0 {
			colons-- // the zone's own, as in +01:00
		}
		layout = [...]string{"2006-01-02T15", "2006-01-02T15:04", "2006-01-02T15:04:05"}[min(colons, 2)]
	default:
		layout = "2006-01-02"
	}
	var t time.Time
	var err error
	if local {
		t, err = time.ParseInLocation(layout, value, now.Location())
	} else {
		t, err = time.Parse(layout+"Z07:00", value)
	}
	if err == nil {
		return t, nil
	}
	if strings.Contains(value, "-") {
		return time.Time{}, fmt.Errorf("invalid time %q: %w", value, err)
	}
	sec, frac, _ := strings.Cut(value, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("failed to parse value as time or duration: %q", value)
	}
	var ns int64
	if frac != "" {
		if ns, err = strconv.ParseInt((frac + "000000000")[:9], 10, 64); err != nil {
			return time.Time{}, fmt.Errorf("failed to parse value as time or duration: %q", value)
		}
	}
	return time.Unix(s, ns), nil
}
