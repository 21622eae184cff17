package api

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	apiregistry "github.com/moby/moby/api/types/registry"

	"github.com/mydocker/mydocker/internal/bars"
	"github.com/mydocker/mydocker/internal/compat"
	"github.com/mydocker/mydocker/workspace/registry"
)

// imageList is GET /images/json: the images, filtered by dangling, reference and label.
func (s *Server) imageList(w http.ResponseWriter, r *http.Request) error {
	filters, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	all, err := s.e.ImageSummaries(boolValue(r, "all"))
	if err != nil {
		return err
	}
	out := []image.Summary{}
	for _, img := range all {
		if filters.matchImage(img) {
			out = append(out, img)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// The routes under /images/NAME: a name may hold slashes (localhost:5000/team/app), so what
// follows it is read from the end, as dockerd's router does.

// imageGet is GET /images/NAME/json, /images/NAME/history and /images/NAME/get.
func (s *Server) imageGet(w http.ResponseWriter, r *http.Request) error {
	rest := r.PathValue("rest")
	switch name, what := splitLast(rest); what {
	case "json":
		details, err := s.e.ImageInspect(name)
		if err != nil {
			return err
		}
		fields, err := compat.Image(details, apiVersion(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, fields)
	case "history":
		resp, err := s.e.ImageHistory(name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, resp)
	case "get":
		return s.saveImages(w, []string{name})
	default:
		return &apiError{http.StatusNotFound, errPageNotFound}
	}
	return nil
}

// imagePost is POST /images/NAME/tag and /images/NAME/push.
func (s *Server) imagePost(w http.ResponseWriter, r *http.Request) error {
	switch name, what := splitLast(r.PathValue("rest")); what {
	case "tag":
		return s.imageTag(w, r, name)
	case "push":
		return s.imagePush(w, r, name)
	}
	return &apiError{http.StatusNotFound, errPageNotFound}
}

func splitLast(path string) (string, string) {
	i := strings.LastIndex(path, "/")
	if i < 0 {
		return path, ""
	}
	return path[:i], path[i+1:]
}

// imageTag is POST /images/NAME/tag?repo=R&tag=T.
func (s *Server) imageTag(w http.ResponseWriter, r *http.Request, name string) error {
	q := r.URL.Query()
	repo := q.Get("repo")
	if repo == "" {
		return badRequest("repository name (repo) must have a value")
	}
	if t := q.Get("tag"); t != "" {
		repo += ":" + t
	}
	if err := s.e.TagImage(name, repo); err != nil {
		return badRequestUnlessKnown(err)
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// imageDelete is DELETE /images/NAME?force=B.
func (s *Server) imageDelete(w http.ResponseWriter, r *http.Request) error {
	untagged, deleted, err := s.e.RemoveImage(r.PathValue("rest"), boolValue(r, "force"))
	if err != nil && len(untagged)+len(deleted) == 0 {
		return err
	}
	resp := []image.DeleteResponse{}
	for _, t := range untagged {
		resp = append(resp, image.DeleteResponse{Untagged: t})
	}
	for _, d := range deleted {
		resp = append(resp, image.DeleteResponse{Deleted: d.String()})
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// imagePrune is POST /images/prune: filters dangling=false prunes every image unused.
func (s *Server) imagePrune(w http.ResponseWriter, r *http.Request) error {
	filters, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	all := false
	for _, v := range filters["dangling"] {
		all = all || v == "false" || v == "0"
	}
	untagged, deleted, err := s.e.PruneImages(all)
	if err != nil && len(untagged)+len(deleted) == 0 {
		return err
	}
	report := image.PruneReport{ImagesDeleted: []image.DeleteResponse{}}
	for _, t := range untagged {
		report.ImagesDeleted = append(report.ImagesDeleted, image.DeleteResponse{Untagged: t})
	}
	for _, d := range deleted {
		report.ImagesDeleted = append(report.ImagesDeleted, image.DeleteResponse{Deleted: d.String()})
	}
	writeJSON(w, http.StatusOK, report)
	return nil
}

// imageCreate is POST /images/create: a pull (fromImage, tag) or an import (fromSrc=- with
// the tarball as the body; repo, tag, changes). Progress streams as JSON messages.
func (s *Server) imageCreate(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if src := q.Get("fromSrc"); src != "" {
		if src != "-" {
			return badRequest("fromSrc %q: only - (the request's body) is supported, not a URL", src)
		}
		ref := q.Get("repo")
		if t := q.Get("tag"); ref != "" && t != "" {
			ref += ":" + t
		}
		msgs := newMessages(w)
		img, err := s.e.Images().Import(r.Body, ref, q["changes"])
		if err != nil {
			msgs.fail(err)
			return nil
		}
		msgs.status(img.ID.String(), "")
		return nil
	}
	ref := q.Get("fromImage")
	if ref == "" {
		return badRequest("fromImage or fromSrc must be given")
	}
	if t := q.Get("tag"); t != "" && !strings.Contains(ref, "@") {
		if strings.HasPrefix(t, "sha256:") {
			ref += "@" + t
		} else {
			ref += ":" + t
		}
	}
	access, err := s.registryAccess(r)
	if err != nil {
		return err
	}
	msgs := newMessages(w)
	if _, err := access.Pull(s.e.Images(), s.e.Root(), ref, msgs.progress()); err != nil {
		msgs.fail(err)
	}
	return nil
}

// imagePush is POST /images/NAME/push?tag=T.
func (s *Server) imagePush(w http.ResponseWriter, r *http.Request, name string) error {
	if t := r.URL.Query().Get("tag"); t != "" {
		name += ":" + t
	}
	access, err := s.registryAccess(r)
	if err != nil {
		return err
	}
	if _, err := s.e.Images().Get(name); err != nil {
		return err
	}
	msgs := newMessages(w)
	if _, err := access.Push(s.e.Images(), s.e.Root(), name, msgs.progress()); err != nil {
		msgs.fail(err)
	}
	return nil
}

// saveImages writes a docker-archive of the images names (GET /images/get?names=...).
func (s *Server) saveImages(w http.ResponseWriter, names []string) error {
	for _, n := range names {
		if _, err := s.e.Images().Get(n); err != nil {
			return err
		}
	}
	w.Header().Set("Content-Type", "application/x-tar")
	// Once the archive has begun there is no status left to fail with: a broken archive is
	// cut short, which its reader sees.
	if err := s.e.Images().SaveDockerArchive(w, names...); err != nil {
		panic(http.ErrAbortHandler)
	}
	return nil
}

// imageSave is GET /images/get?names=A&names=B.
func (s *Server) imageSave(w http.ResponseWriter, r *http.Request) error {
	names := r.URL.Query()["names"]
	if len(names) == 0 {
		return badRequest("names must name at least one image")
	}
	return s.saveImages(w, names)
}

// imageLoad is POST /images/load: the body is an archive docker save or an OCI layout wrote.
func (s *Server) imageLoad(w http.ResponseWriter, r *http.Request) error {
	msgs := newMessages(w)
	loaded, err := s.e.Images().LoadArchive(r.Body, func(id string, size int64, r io.Reader) (io.Reader, func(error)) {
		return r, func(error) {}
	})
	if err != nil {
		msgs.fail(err)
		return nil
	}
	for _, l := range loaded {
		if len(l.Tags) == 0 {
			msgs.stream("Loaded image ID: " + l.ID.String() + "\n")
		}
		for _, t := range l.Tags {
			msgs.stream("Loaded image: " + t + "\n")
		}
	}
	return nil
}

// registryAccess is how this request reaches registries: the server's insecure registries,
// and the client's credentials when it sent them (X-Registry-Auth, base64url JSON).
func (s *Server) registryAccess(r *http.Request) (registry.Access, error) {
	access := s.access
	header := r.Header.Get("X-Registry-Auth")
	if header == "" {
		return access, nil
	}
	raw, err := base64.URLEncoding.DecodeString(header)
	if err != nil {
		if raw, err = base64.StdEncoding.DecodeString(header); err != nil {
			return access, badRequest("invalid X-Registry-Auth header: %v", err)
		}
	}
	var cfg apiregistry.AuthConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return access, badRequest("invalid X-Registry-Auth header: %v", err)
	}
	if cfg.Username != "" || cfg.Auth != "" || cfg.IdentityToken != "" || cfg.RegistryToken != "" {
		access.Auth = authn.FromConfig(authn.AuthConfig{Username: cfg.Username, Password: cfg.Password, Auth: cfg.Auth,
			IdentityToken: cfg.IdentityToken, RegistryToken: cfg.RegistryToken})
	}
	return access, nil
}

// messages is a stream of JSON messages, the body of a pull, a push, a load or a build: each
// message goes to the client at once. Once it began, the status is sent: an error is a message
// too, which clients print and exit on.
type messages struct {
	mu    sync.Mutex
	enc   *json.Encoder
	flush func()
}

// message is jsonstream's, with the "error" older clients read (docker-compose 1.29).
type message struct {
	jsonstream.Message
	ErrorText string `json:"error,omitempty"`
}

func newMessages(w http.ResponseWriter) *messages {
	body, flush := streamResponse(w, "application/json")
	return &messages{enc: json.NewEncoder(body), flush: flush}
}

func (m *messages) send(msg message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.enc.Encode(msg)
	m.flush()
}

func (m *messages) status(status, id string) {
	m.send(message{Message: jsonstream.Message{Status: status, ID: id}})
}

func (m *messages) stream(text string) {
	m.send(message{Message: jsonstream.Message{Stream: text}})
}

func (m *messages) aux(v any) {
	raw, _ := json.Marshal(v)
	rm := json.RawMessage(raw)
	m.send(message{Message: jsonstream.Message{Aux: &rm}})
}

func (m *messages) fail(err error) {
	m.send(message{Message: jsonstream.Message{Error: &jsonstream.Error{Message: err.Error()}}, ErrorText: err.Error()})
}

// progress shows a pull's or a push's progress as messages.
func (m *messages) progress() *bars.Progress {
	return bars.Messages(m.status)
}
