package api

import (
	"net/http"

	mobynet "github.com/moby/moby/api/types/network"

	"github.com/mydocker/mydocker/network"
)

// networkList is GET /networks.
func (s *Server) networkList(w http.ResponseWriter, r *http.Request) error {
	filters, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	nets, err := s.e.Networks().List()
	if err != nil {
		return err
	}
	out := []mobynet.Inspect{}
	for _, n := range nets {
		if !filters.matchLabels(n.Name, n.Labels) {
			continue
		}
		if ids := filters["id"]; len(ids) > 0 && !hasPrefixIn(n.ID, ids) {
			continue
		}
		in, err := s.e.NetworkInspect(n.Name)
		if err != nil {
			return err
		}
		out = append(out, in)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// networkInspect is GET /networks/{id}.
func (s *Server) networkInspect(w http.ResponseWriter, r *http.Request) error {
	name, err := s.networkName(r.PathValue("id"))
	if err != nil {
		return err
	}
	n, err := s.e.NetworkInspect(name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}

// networkName is the name of a network named, or given by (a prefix of) its id.
func (s *Server) networkName(ref string) (string, error) {
	nets, err := s.e.Networks().List()
	if err != nil {
		return "", err
	}
	for _, n := range nets {
		if n.Name == ref || n.ID == ref {
			return n.Name, nil
		}
	}
	for _, n := range nets {
		if len(ref) >= 3 && hasPrefixIn(n.ID, []string{ref}) {
			return n.Name, nil
		}
	}
	_, err = s.e.Networks().Get(ref) // its error, in its words
	return "", err
}

// networkCreate is POST /networks/create.
func (s *Server) networkCreate(w http.ResponseWriter, r *http.Request) error {
	var req mobynet.CreateRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	o := network.CreateOptions{Driver: req.Driver, Labels: req.Labels}
	if req.IPAM != nil && len(req.IPAM.Config) > 0 {
		c := req.IPAM.Config[0]
		if c.Subnet.IsValid() {
			o.Subnet = c.Subnet.String()
		}
		if c.Gateway.IsValid() {
			o.Gateway = c.Gateway.String()
		}
	}
	n, err := s.e.NetworkCreate(req.Name, o)
	if err != nil {
		return badRequestUnlessKnown(err)
	}
	writeJSON(w, http.StatusCreated, mobynet.CreateResponse{ID: n.ID})
	return nil
}

// networkDelete is DELETE /networks/{id}.
func (s *Server) networkDelete(w http.ResponseWriter, r *http.Request) error {
	name, err := s.networkName(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.e.NetworkRemove(name); err != nil {
		return &apiError{http.StatusForbidden, err}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// networkConnect is POST /networks/{id}/connect.
func (s *Server) networkConnect(w http.ResponseWriter, r *http.Request) error {
	var req mobynet.ConnectRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	name, err := s.networkName(r.PathValue("id"))
	if err != nil {
		return err
	}
	var aliases []string
	if req.EndpointConfig != nil {
		aliases = req.EndpointConfig.Aliases
	}
	if err := s.e.NetworkConnect(name, req.Container, aliases); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// networkDisconnect is POST /networks/{id}/disconnect.
func (s *Server) networkDisconnect(w http.ResponseWriter, r *http.Request) error {
	var req mobynet.DisconnectRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	name, err := s.networkName(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.e.NetworkDisconnect(name, req.Container); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// networkPrune is POST /networks/prune: the networks no container is on.
func (s *Server) networkPrune(w http.ResponseWriter, r *http.Request) error {
	nets, err := s.e.Networks().List()
	if err != nil {
		return err
	}
	report := mobynet.PruneReport{NetworksDeleted: []string{}}
	for _, n := range nets {
		if s.e.NetworkRemove(n.Name) == nil {
			report.NetworksDeleted = append(report.NetworksDeleted, n.Name)
		}
	}
	writeJSON(w, http.StatusOK, report)
	return nil
}
