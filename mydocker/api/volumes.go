package api

import (
	"net/http"

	"github.com/moby/moby/api/types/volume"
)

// volumeList is GET /volumes.
func (s *Server) volumeList(w http.ResponseWriter, r *http.Request) error {
	filters, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	all, err := s.e.Volumes()
	if err != nil {
		return err
	}
	resp := volume.ListResponse{Volumes: []volume.Volume{}, Warnings: []string{}}
	for _, v := range all {
		if filters.matchLabels(v.Name, v.Labels) {
			resp.Volumes = append(resp.Volumes, v.API())
		}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// volumeCreate is POST /volumes/create.
func (s *Server) volumeCreate(w http.ResponseWriter, r *http.Request) error {
	var req volume.CreateRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Driver != "" && req.Driver != "local" {
		return badRequest("volume driver %q is not supported: use local", req.Driver)
	}
	v, err := s.e.VolumeCreate(req.Name, req.Labels)
	if err != nil {
		return badRequestUnlessKnown(err)
	}
	writeJSON(w, http.StatusCreated, v.API())
	return nil
}

// volumeInspect is GET /volumes/{name}.
func (s *Server) volumeInspect(w http.ResponseWriter, r *http.Request) error {
	v, err := s.e.VolumeInspect(r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v.API())
	return nil
}

// volumeDelete is DELETE /volumes/{name}.
func (s *Server) volumeDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.e.VolumeRemove(r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// volumePrune is POST /volumes/prune.
func (s *Server) volumePrune(w http.ResponseWriter, r *http.Request) error {
	removed, err := s.e.VolumePrune()
	if err != nil && len(removed) == 0 {
		return err
	}
	if removed == nil {
		removed = []string{}
	}
	writeJSON(w, http.StatusOK, volume.PruneReport{VolumesDeleted: removed})
	return nil
}
