// Package api serves the Docker Engine API over the engine, as a second front beside the
// command line: the docker CLI, docker-compose, testcontainers and the rest of the tools that
// speak to dockerd speak to mydocker-serve. Handlers decode a request into the API module's
// types, call the engine, and encode what it returns (moby's api/server/router shape); what they
// call is the engine the command line calls, so the two fronts cannot differ.
//
// There is no daemon behind it: each request is served by the engine in this process, and the
// containers it starts run under their own monitors, as those mydocker run -d starts, so they
// outlive the server. Requests are served at once, each on its goroutine; what they share is
// on disk, under the engine's locks.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/network"
	"github.com/mydocker/mydocker/workspace"
	"github.com/mydocker/mydocker/workspace/registry"
)

// The API versions served. The newest is Docker 20.10's, whose clients are the ones in use
// (docker-compose 1.29, testcontainers); today's docker CLI negotiates down to it.
const (
	MaxVersion = "1.41"
	MinVersion = "1.24"
)

// maxBody bounds a JSON request body: a create request is a few kilobytes.
const maxBody = 4 << 20

// Server is the API's handler.
type Server struct {
	e       *engine.Engine
	version string          // mydocker's
	access  registry.Access // how pulls and pushes reach registries
	mux     *http.ServeMux
	execs   execs
	mu      sync.Mutex // around activity
	active  int        // requests being served
	idle    chan struct{}
}

// New serves the API over the engine e; version is mydocker's, for /version and /info; access
// says which registries may be reached over plain http.
func New(e *engine.Engine, version string, access registry.Access) *Server {
	s := &Server{e: e, version: version, access: access, mux: http.NewServeMux(), idle: make(chan struct{}, 1)}
	s.routes()
	return s
}

type ctxKey int

const versionKey ctxKey = 0

// apiVersion is the version a request asked for (its /vX.Y prefix), or the newest.
func apiVersion(r *http.Request) string {
	if v, ok := r.Context().Value(versionKey).(string); ok {
		return v
	}
	return MaxVersion
}

var versionPrefix = regexp.MustCompile(`^/v(\d+\.\d+)(/.*)$`)

// ServeHTTP strips the /vX.Y prefix a client puts before each path, refuses a version this
// server does not speak, and serves the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.begin()
	defer s.end()
	w.Header().Set("Api-Version", MaxVersion)
	w.Header().Set("Server", "mydocker/"+s.version+" (linux)")
	w.Header().Set("Docker-Experimental", "false")
	w.Header().Set("Ostype", "linux")
	version := MaxVersion
	if m := versionPrefix.FindStringSubmatch(r.URL.Path); m != nil {
		version = m[1]
		if versionLess(MaxVersion, version) {
			writeError(w, badRequest("client version %s is too new. Maximum supported API version is %s", version, MaxVersion))
			return
		}
		if versionLess(version, MinVersion) {
			writeError(w, badRequest("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", version, MinVersion))
			return
		}
		r.URL.Path = m[2]
	}
	r = r.WithContext(context.WithValue(r.Context(), versionKey, version))
	logrus.Debugf("%s %s", r.Method, r.URL)
	start := time.Now()
	s.mux.ServeHTTP(w, r)
	logrus.Debugf("served in %s: %s %s", time.Since(start).Round(time.Microsecond), r.Method, r.URL.Path)
}

// begin and end count the requests being served, for Idle.
func (s *Server) begin() {
	s.mu.Lock()
	s.active++
	s.mu.Unlock()
}

func (s *Server) end() {
	s.mu.Lock()
	s.active--
	if s.active == 0 {
		select {
		case s.idle <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
}

// Busy reports whether a request is being served; Idle receives each time none is.
func (s *Server) Busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active > 0
}

// Idle receives when the last request being served ends.
func (s *Server) Idle() <-chan struct{} { return s.idle }

func versionLess(a, b string) bool {
	as, bs := strings.SplitN(a, ".", 2), strings.SplitN(b, ".", 2)
	am, _ := strconv.Atoi(as[0])
	bm, _ := strconv.Atoi(bs[0])
	if am != bm {
		return am < bm
	}
	an, bn := 0, 0
	if len(as) > 1 {
		an, _ = strconv.Atoi(as[1])
	}
	if len(bs) > 1 {
		bn, _ = strconv.Atoi(bs[1])
	}
	return an < bn
}

// apiError is an error with the HTTP status the API answers it with.
type apiError struct {
	status int
	err    error
}

func (e *apiError) Error() string { return e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, fmt.Errorf(format, args...)}
}

// errPageNotFound answers a path no route serves.
var errPageNotFound = errors.New("page not found")

func notModified() error {
	return &apiError{status: http.StatusNotModified, err: errors.New("not modified")}
}

// statusOf is the HTTP status of an error, as dockerd answers the same: 404 for what does not
// exist, 409 for a conflict, 400 for a bad request, else 500.
func statusOf(err error) int {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae.status
	case errors.Is(err, engine.ErrNotFound), errors.Is(err, workspace.ErrImageNotFound), errors.Is(err, network.ErrNotFound),
		errors.Is(err, engine.ErrNoSuchVolume), errors.Is(err, errNoSuchExec):
		return http.StatusNotFound
	case errors.Is(err, engine.ErrNameInUse), errors.Is(err, engine.ErrRunning), errors.Is(err, workspace.ErrImageInUse),
		errors.Is(err, engine.ErrVolumeInUse), errors.Is(err, errNotRunning):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// writeError answers err as dockerd does: its status and {"message": ...}.
func writeError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	if status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "no such"); ok && status == http.StatusNotFound {
		msg = "No such" + rest // Docker's words: "No such container: web"
	}
	var noImage *workspace.ImageNotFoundError
	if errors.As(err, &noImage) && status == http.StatusNotFound {
		msg = "No such image: " + noImage.Name()
	}
	writeJSON(w, status, map[string]string{"message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decodeBody reads a JSON request body into v: at most maxBody bytes, and nothing but v.
func decodeBody(r *http.Request, v any) error {
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return badRequest("invalid JSON: %v", err)
	}
	return nil
}

// handler is a route's function: it answers, or returns the error to answer.
type handler func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(pattern string, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			logrus.WithError(err).Debugf("%s %s", r.Method, r.URL.Path)
			writeError(w, err)
		}
	})
}

// boolValue reads a query parameter Docker's way: 1, true, True... are true; absent is false.
func boolValue(r *http.Request, name string) bool {
	v := strings.ToLower(r.URL.Query().Get(name))
	return v != "" && v != "0" && v != "false" && v != "no"
}

// jsonEncode writes v as the JSON body of a response whose status is sent.
func jsonEncode(w http.ResponseWriter, v any) error {
	if err := json.NewEncoder(w).Encode(v); err != nil {
		logrus.WithError(err).Debug("write a response")
	}
	return nil
}

// badRequestUnlessKnown is err as a create answers it: what it has no status for is the
// request's fault (a name, a subnet, a driver refused), 400, not the server's.
func badRequestUnlessKnown(err error) error {
	if statusOf(err) == http.StatusInternalServerError {
		return &apiError{http.StatusBadRequest, err}
	}
	return err
}

func hasPrefixIn(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
