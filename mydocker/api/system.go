package api

import (
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/system"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/engine"
)

// ping is GET and HEAD /_ping: the headers a client negotiates its version from.
func (s *Server) ping(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Builder-Version", "1")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.WriteString(w, "OK")
	}
	return nil
}

// version is GET /version.
func (s *Server) versionInfo(w http.ResponseWriter, r *http.Request) error {
	var uts unix.Utsname
	unix.Uname(&uts)
	v := system.VersionResponse{
		Platform:      struct{ Name string }{"mydocker Engine"},
		Version:       s.version,
		APIVersion:    MaxVersion,
		MinAPIVersion: MinVersion,
		Os:            runtime.GOOS,
		Arch:          runtime.GOARCH,
		GoVersion:     runtime.Version(),
		KernelVersion: unix.ByteSliceToString(uts.Release[:]),
		Components:    []system.ComponentVersion{{Name: "Engine", Version: s.version, Details: map[string]string{"ApiVersion": MaxVersion, "MinAPIVersion": MinVersion, "Os": runtime.GOOS, "Arch": runtime.GOARCH}}},
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// info is GET /info.
func (s *Server) info(w http.ResponseWriter, r *http.Request) error {
	info, err := s.e.Info(s.version)
	if err != nil {
		return err
	}
	info.SystemTime = time.Now().Format(time.RFC3339Nano)
	writeJSON(w, http.StatusOK, info)
	return nil
}

// eventsStream is GET /events?since=&until=&filters=: the engine's events, followed until the
// client goes (or until until), each a JSON object.
func (s *Server) eventsStream(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	since, err := unixTime(q.Get("since"))
	if err != nil {
		return err
	}
	until, err := unixTime(q.Get("until"))
	if err != nil {
		return err
	}
	filters, err := parseFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	body, flush := streamResponse(w, "application/json")
	enc := json.NewEncoder(body)
	legacy := versionLess(apiVersion(r), "1.52")
	s.e.Events(engine.EventOptions{Since: since, Until: until, Done: r.Context().Done()}, func(m events.Message) error {
		if !filters.matchEvent(m) {
			return nil
		}
		var err error
		if legacy {
			err = enc.Encode(legacyEvent(m))
		} else {
			err = enc.Encode(m)
		}
		flush()
		return err
	})
	return nil
}

// legacyEvent is an event as clients before API 1.52 read it too: its status, id and from at
// the top (docker-compose 1.29 reads status).
func legacyEvent(m events.Message) any {
	type legacy struct {
		Status string `json:"status,omitempty"`
		ID     string `json:"id,omitempty"`
		From   string `json:"from,omitempty"`
		events.Message
	}
	l := legacy{Message: m}
	if m.Type == events.ContainerEventType || m.Type == events.ImageEventType {
		l.Status, l.ID, l.From = string(m.Action), m.Actor.ID, m.Actor.Attributes["image"]
	}
	return l
}

// diskUsage is GET /system/df, the totals of each kind as system df prints them.
func (s *Server) diskUsage(w http.ResponseWriter, r *http.Request) error {
	usage, err := s.e.DiskUsage()
	if err != nil {
		return err
	}
	var total int64
	for _, u := range usage {
		if strings.HasPrefix(u.Type, "Images") {
			total = u.Size
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"LayersSize": total, "Images": []any{}, "Containers": []any{}, "Volumes": []any{}, "BuildCache": []any{}})
	return nil
}
