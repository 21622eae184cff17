package api

// routes are the endpoints served: dockerd's, for what mydocker does.
func (s *Server) routes() {
	for _, r := range []struct {
		pattern string
		h       handler
	}{
		{"GET /_ping", s.ping},
		{"HEAD /_ping", s.ping},
		{"GET /version", s.versionInfo},
		{"GET /info", s.info},
		{"GET /events", s.eventsStream},
		{"GET /system/df", s.diskUsage},

		{"GET /containers/json", s.containerList},
		{"POST /containers/create", s.containerCreate},
		{"GET /containers/{name}/json", s.containerInspect},
		{"POST /containers/{name}/start", s.containerStart},
		{"POST /containers/{name}/stop", s.containerStop},
		{"POST /containers/{name}/restart", s.containerRestart},
		{"POST /containers/{name}/kill", s.containerKill},
		{"POST /containers/{name}/wait", s.containerWait},
		{"DELETE /containers/{name}", s.containerDelete},
		{"POST /containers/{name}/rename", s.containerRename},
		{"POST /containers/{name}/pause", s.containerPause},
		{"POST /containers/{name}/unpause", s.containerUnpause},
		{"GET /containers/{name}/top", s.containerTop},
		{"GET /containers/{name}/logs", s.containerLogs},
		{"POST /containers/{name}/attach", s.containerAttach},
		{"POST /containers/{name}/resize", s.containerResize},
		{"POST /containers/prune", s.containerPrune},
		{"GET /containers/{name}/export", s.containerExport},
		{"GET /containers/{name}/changes", s.containerChanges},
		{"GET /containers/{name}/stats", s.containerStats},
		{"HEAD /containers/{name}/archive", s.archiveHead},
		{"GET /containers/{name}/archive", s.archiveGet},
		{"PUT /containers/{name}/archive", s.archivePut},
		{"POST /containers/{name}/exec", s.execCreate},
		{"POST /exec/{id}/start", s.execStart},
		{"GET /exec/{id}/json", s.execInspect},
		{"POST /exec/{id}/resize", s.execResize},

		{"GET /networks", s.networkList},
		{"GET /networks/{id}", s.networkInspect},
		{"POST /networks/create", s.networkCreate},
		{"DELETE /networks/{id}", s.networkDelete},
		{"POST /networks/{id}/connect", s.networkConnect},
		{"POST /networks/{id}/disconnect", s.networkDisconnect},
		{"POST /networks/prune", s.networkPrune},

		{"GET /images/json", s.imageList},
		{"POST /images/create", s.imageCreate},
		{"POST /images/load", s.imageLoad},
		{"GET /images/get", s.imageSave},
		{"POST /images/prune", s.imagePrune},
		{"GET /images/{rest...}", s.imageGet},
		{"POST /images/{rest...}", s.imagePost},
		{"DELETE /images/{rest...}", s.imageDelete},

		{"POST /build", s.imageBuild},
		{"POST /commit", s.containerCommit},

		{"GET /volumes", s.volumeList},
		{"POST /volumes/create", s.volumeCreate},
		{"GET /volumes/{name}", s.volumeInspect},
		{"DELETE /volumes/{name}", s.volumeDelete},
		{"POST /volumes/prune", s.volumePrune},
	} {
		s.handle(r.pattern, r.h)
	}
}
