package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/stretchr/testify/require"
)

// Events from a moment on are those recorded then or later, found without decoding the whole
// log: in the rotated log and the current one, with an event recorded out of its order.
func TestEventsSince(t *testing.T) {
	root := t.TempDir()
	e := &Engine{root: root}
	base := time.Now().Add(-time.Hour)
	var all []events.Message
	write := func(path string, from, to int) {
		f, err := os.Create(path)
		require.NoError(t, err)
		defer f.Close()
		for i := from; i < to; i++ {
			at := base.Add(time.Duration(i) * 10 * time.Millisecond)
			if i%500 == 7 {
				at = at.Add(-300 * time.Millisecond) // its time taken before it waited for the lock
			}
			m := events.Message{Type: events.ContainerEventType, Action: events.ActionStart,
				Actor: events.Actor{ID: strconv.Itoa(i)}, Time: at.Unix(), TimeNano: at.UnixNano()}
			line, err := json.Marshal(m)
			require.NoError(t, err)
			_, err = f.Write(append(line, '\n'))
			require.NoError(t, err)
			all = append(all, m)
		}
	}
	write(filepath.Join(root, "events.log.1"), 0, 3000)
	write(filepath.Join(root, "events.log"), 3000, 6000)
	for _, i := range []int{0, 1, 7, 1500, 2999, 3000, 3007, 4321, 5999, 6000} {
		since := base.Add(time.Duration(i) * 10 * time.Millisecond)
		var want, got []string
		for _, m := range all {
			if !time.Unix(0, m.TimeNano).Before(since) {
				want = append(want, m.Actor.ID)
			}
		}
		require.NoError(t, e.Events(EventOptions{Since: since, Until: time.Now()}, func(m events.Message) error {
			got = append(got, m.Actor.ID)
			return nil
		}))
		require.Equal(t, want, got, "since event %d", i)
	}
}
