package api

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	mobyctr "github.com/moby/moby/api/types/container"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/internal/compat"
)

var errNotRunning = errors.New("container is not running")

// containerList is GET /containers/json.
func (s *Server) containerList(w http.ResponseWriter, r *http.Request) error {
	filters, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	all, err := s.e.List()
	if err != nil {
		return err
	}
	out := []mobyctr.Summary{}
	now := time.Now()
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	for _, st := range all {
		paused := s.e.Paused(st)
		if !boolValue(r, "all") && st.Status != engine.Running && len(filters["status"]) == 0 && limit <= 0 {
			continue
		}
		if !filters.matchContainer(st, paused) {
			continue
		}
		out = append(out, s.e.Summary(st, paused, now))
		if limit > 0 && len(out) == limit {
			break
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// containerInspect is GET /containers/{name}/json.
func (s *Server) containerInspect(w http.ResponseWriter, r *http.Request) error {
	resp, err := s.e.Inspect(r.PathValue("name"))
	if err != nil {
		return err
	}
	fields, err := compat.Container(resp, apiVersion(r), s.e.CleanupError(resp.ID))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fields)
	return nil
}

// containerStart is POST /containers/{name}/start: 304 for one that runs already.
func (s *Server) containerStart(w http.ResponseWriter, r *http.Request) error {
	st, err := s.e.Get(r.PathValue("name"))
	if err != nil {
		return err
	}
	if st.Status == engine.Running {
		return notModified()
	}
	if err := s.e.Start(st.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// stopTimeout reads ?t= (seconds; -1: no SIGKILL); none: the container's own.
func stopTimeout(r *http.Request) (*time.Duration, error) {
	t := r.URL.Query().Get("t")
	if t == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(t)
	if err != nil {
		return nil, badRequest("invalid stop timeout %q", t)
	}
	d := time.Duration(n) * time.Second
	return &d, nil
}

// containerStop is POST /containers/{name}/stop: 304 for one that does not run.
func (s *Server) containerStop(w http.ResponseWriter, r *http.Request) error {
	timeout, err := stopTimeout(r)
	if err != nil {
		return err
	}
	st, err := s.e.Get(r.PathValue("name"))
	if err != nil {
		return err
	}
	if st.Status != engine.Running {
		return notModified()
	}
	if err := s.e.Stop(st.ID, timeout); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerRestart is POST /containers/{name}/restart.
func (s *Server) containerRestart(w http.ResponseWriter, r *http.Request) error {
	timeout, err := stopTimeout(r)
	if err != nil {
		return err
	}
	if err := s.e.Restart(r.PathValue("name"), timeout); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerKill is POST /containers/{name}/kill?signal=.
func (s *Server) containerKill(w http.ResponseWriter, r *http.Request) error {
	sig := unix.SIGKILL
	if name := r.URL.Query().Get("signal"); name != "" {
		var err error
		if sig, err = container.ParseSignal(name); err != nil {
			return badRequest("%v", err)
		}
	}
	st, err := s.e.Get(r.PathValue("name"))
	if err != nil {
		return err
	}
	if st.Status != engine.Running {
		return &apiError{http.StatusConflict, fmt.Errorf("cannot kill container: %s: container %s is not running", r.PathValue("name"), st.ID)}
	}
	if err := s.e.Kill(st.ID, sig); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerWait is POST /containers/{name}/wait?condition=: a long poll, answered with the
// exit status.
func (s *Server) containerWait(w http.ResponseWriter, r *http.Request) error {
	condition := engine.WaitCondition(r.URL.Query().Get("condition"))
	switch condition {
	case "":
		condition = engine.WaitNotRunning
	case engine.WaitNotRunning, engine.WaitNextExit, engine.WaitRemoved:
	default:
		return badRequest("invalid condition %q", condition)
	}
	if _, err := s.e.Get(r.PathValue("name")); err != nil {
		return err
	}
	// The status line goes at once, as dockerd's: a client may wait for it before it starts
	// the container (docker run).
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	code, err := s.e.WaitFor(r.PathValue("name"), condition, r.Context().Done())
	resp := mobyctr.WaitResponse{StatusCode: int64(code)}
	if err != nil {
		resp.Error = &mobyctr.WaitExitError{Message: err.Error()}
	}
	return jsonEncode(w, resp)
}

// containerDelete is DELETE /containers/{name}?force=&v=.
func (s *Server) containerDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.e.Remove(r.PathValue("name"), boolValue(r, "force")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerRename is POST /containers/{name}/rename?name=.
func (s *Server) containerRename(w http.ResponseWriter, r *http.Request) error {
	if err := s.e.Rename(r.PathValue("name"), r.URL.Query().Get("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerPause and containerUnpause are POST /containers/{name}/pause and /unpause.
func (s *Server) containerPause(w http.ResponseWriter, r *http.Request) error {
	if err := s.e.Pause(r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) containerUnpause(w http.ResponseWriter, r *http.Request) error {
	if err := s.e.Unpause(r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerTop is GET /containers/{name}/top?ps_args=: the host's ps with ps_args (-ef when
// not given), the container's rows kept.
func (s *Server) containerTop(w http.ResponseWriter, r *http.Request) error {
	procs, err := s.e.Top(r.PathValue("name"), r.URL.Query().Get("ps_args"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, procs)
	return nil
}

// containerPrune is POST /containers/prune.
func (s *Server) containerPrune(w http.ResponseWriter, r *http.Request) error {
	removed, err := s.e.PruneContainers()
	if err != nil && len(removed) == 0 {
		return err
	}
	writeJSON(w, http.StatusOK, mobyctr.PruneReport{ContainersDeleted: removed})
	return nil
}

// containerLogs is GET /containers/{name}/logs: the json-file log, multiplexed unless the
// container has a terminal, followed with follow=1 until it stops or the client goes.
func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if !boolValue(r, "stdout") && !boolValue(r, "stderr") {
		return badRequest("bad parameters: you must choose at least one stream")
	}
	st, err := s.e.Get(r.PathValue("name"))
	if err != nil {
		return err
	}
	resp, err := s.e.Inspect(st.ID)
	if err != nil {
		return err
	}
	opts := engine.LogOptions{Follow: boolValue(r, "follow"), Tail: -1, Timestamps: boolValue(r, "timestamps"), Done: r.Context().Done()}
	if t := q.Get("tail"); t != "" && t != "all" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return badRequest("invalid tail %q", t)
		}
		opts.Tail = n
	}
	if opts.Since, err = unixTime(q.Get("since")); err != nil {
		return err
	}
	if opts.Until, err = unixTime(q.Get("until")); err != nil {
		return err
	}
	framed := !resp.Config.Tty
	body, flush := streamResponse(w, "application/vnd.docker.raw-stream")
	out := newOutput(body, flush, framed)
	stdout, stderr := io.Discard, io.Discard
	if boolValue(r, "stdout") {
		stdout = out.stdout
	}
	if boolValue(r, "stderr") {
		stderr = out.stderrW
	}
	if err := s.e.Logs(st.ID, opts, stdout, stderr); err != nil {
		logrus.WithError(err).Debug("logs") // the status is sent: the client sees the stream end
	}
	return nil
}

// unixTime reads a time as the API gives one: seconds since 1970, perhaps with a fraction.
func unixTime(s string) (time.Time, error) {
	if s == "" || s == "0" {
		return time.Time{}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
		return time.Time{}, badRequest("invalid time %q", s)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// containerAttach is POST /containers/{name}/attach: the connection taken over, the
// container's output from now on going to the client (framed unless it has a terminal) until
// it stops, and, with stdin=1, what the client sends going to its stdin (a container made with
// -i). docker run attaches before it starts the container: the output then starts with it.
func (s *Server) containerAttach(w http.ResponseWriter, r *http.Request) error {
	st, err := s.e.Get(r.PathValue("name"))
	if err != nil {
		return err
	}
	resp, err := s.e.Inspect(st.ID)
	if err != nil {
		return err
	}
	if !boolValue(r, "stream") && !boolValue(r, "logs") {
		return badRequest("bad parameters: you must choose at least one stream")
	}
	withStdin := boolValue(r, "stdin") && st.OpenStdin
	framed := !resp.Config.Tty
	h, err := hijack(w, r, framed)
	if err != nil {
		return err
	}
	defer h.conn.Close()
	s.e.AttachEvent(st.ID)
	out := h.output(framed)
	if withStdin {
		go func() {
			conn, err := s.attachStdin(st.ID, out.gone)
			if err != nil {
				out.stderrW.Write([]byte(err.Error() + "\n"))
				return
			}
			io.Copy(conn, h.stdin())
			conn.CloseWrite()
		}()
	}
	// From now on: what is logged before the log is opened counts too (a container started
	// at once may have written and even exited by then). Not the request's context, which ends
	// when the client closes its side (its stdin's end): a client that went away is one the
	// output can no longer reach.
	opts := engine.LogOptions{Follow: boolValue(r, "stream"), Tail: -1, Since: time.Now(), Done: out.gone}
	if boolValue(r, "logs") {
		opts.Since = time.Time{}
	}
	stdout, stderr := io.Discard, io.Discard
	if boolValue(r, "stdout") {
		stdout = out.stdout
	}
	if boolValue(r, "stderr") {
		stderr = out.stderrW
	}
	if err := s.e.Logs(st.ID, opts, stdout, stderr); err != nil {
		logrus.WithError(err).Debug("attach")
	}
	h.closeWrite()
	return nil
}

// attachStdin connects to the stdin of container id, waiting for it to be served when the
// container has not started yet (docker run attaches before it starts it): its monitor serves
// it once the container runs.
func (s *Server) attachStdin(id string, done <-chan struct{}) (*net.UnixConn, error) {
	for {
		conn, err := s.e.AttachStdin(id)
		if err == nil {
			return conn, nil
		}
		if st, serr := s.e.Get(id); serr != nil || (st.Status != engine.Created && st.Status != engine.Running) {
			return nil, err
		}
		select {
		case <-done:
			return nil, err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// containerResize is POST /containers/{name}/resize?h=&w=: the size of its terminal.
func (s *Server) containerResize(w http.ResponseWriter, r *http.Request) error {
	rows, cols, err := size(r)
	if err != nil {
		return err
	}
	if err := s.e.ResizeTerminal(r.PathValue("name"), rows, cols); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func size(r *http.Request) (rows, cols uint16, err error) {
	h, err1 := strconv.ParseUint(r.URL.Query().Get("h"), 10, 16)
	w, err2 := strconv.ParseUint(r.URL.Query().Get("w"), 10, 16)
	if err1 != nil || err2 != nil {
		return 0, 0, badRequest("invalid terminal size: h=%q w=%q", r.URL.Query().Get("h"), r.URL.Query().Get("w"))
	}
	return uint16(h), uint16(w), nil
}
