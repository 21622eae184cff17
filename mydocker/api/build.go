package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"

	"github.com/moby/moby/api/types/jsonstream"

	"github.com/mydocker/mydocker/engine/build"
)

// imageBuild is POST /build: the body is the context as a tar (gzip or not), the query says
// what docker build's flags do. The builder's output streams as {"stream": ...} messages, and
// the image made as {"aux": {"ID": ...}}, as dockerd's classic builder sends them.
func (s *Server) imageBuild(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if v := q.Get("version"); v != "" && v != "1" {
		return badRequest("builder version %q is not served: only the classic builder (1)", v)
	}
	opts := build.Options{
		Context:    "-",
		Dockerfile: q.Get("dockerfile"),
		Stdin:      r.Body,
		Tags:       q["t"],
		Target:     q.Get("target"),
		NoCache:    boolValue(r, "nocache"),
		Network:    q.Get("networkmode"),
		Remove:     q.Get("rm") == "" || boolValue(r, "rm") || boolValue(r, "forcerm"),
	}
	if opts.Network == "default" {
		opts.Network = ""
	}
	if err := jsonParam(q.Get("buildargs"), &opts.BuildArgs); err != nil {
		return badRequest("invalid buildargs: %v", err)
	}
	if err := jsonParam(q.Get("labels"), &opts.Labels); err != nil {
		return badRequest("invalid labels: %v", err)
	}
	// The builder writes to a file, as the RUN steps' containers do: a pipe, whose reads go
	// out as messages.
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	opts.Out = pw
	msgs := newMessages(w)
	quiet := boolValue(r, "q")
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 32<<10)
		for {
			n, err := pr.Read(buf)
			if n > 0 && !quiet {
				msgs.stream(string(buf[:n]))
			}
			if err != nil {
				return
			}
		}
	}()
	img, err := build.Build(s.e, opts)
	pw.Close()
	<-copied
	pr.Close()
	if err != nil {
		msg := message{Message: jsonstream.Message{Error: &jsonstream.Error{Message: err.Error()}}, ErrorText: err.Error()}
		var step *build.StepError
		if errors.As(err, &step) {
			msg.Error.Code = step.Code
		}
		msgs.send(msg)
		return nil
	}
	msgs.aux(map[string]string{"ID": img.ID.String()})
	if quiet {
		msgs.stream(img.ID.String() + "\n")
	}
	return nil
}

// jsonParam decodes a query parameter holding JSON, when it is there.
func jsonParam(s string, v any) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}
