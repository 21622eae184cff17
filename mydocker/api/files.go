package api

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	mobyctr "github.com/moby/moby/api/types/container"

	"github.com/mydocker/mydocker/engine"
)

// The container's files: commit, export, changes and the archive routes docker cp uses, and
// its usage (stats).

// containerCommit is POST /commit?container=C&repo=R&tag=T&comment=&author=&changes=.
func (s *Server) containerCommit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ref := q.Get("repo")
	if t := q.Get("tag"); ref != "" && t != "" {
		ref += ":" + t
	}
	img, err := s.e.Commit(q.Get("container"), ref, engine.CommitOptions{Comment: q.Get("comment"), Author: q.Get("author"), Changes: q["changes"]})
	if err != nil {
		return badRequestUnlessKnown(err)
	}
	writeJSON(w, http.StatusCreated, map[string]string{"Id": img.ID.String()})
	return nil
}

// containerExport is GET /containers/{name}/export: its filesystem as a tar.
func (s *Server) containerExport(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.e.Get(r.PathValue("name")); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := s.e.Export(r.PathValue("name"), bw); err != nil {
		panic(http.ErrAbortHandler) // the archive has begun: cut it short
	}
	bw.Flush()
	return nil
}

// containerChanges is GET /containers/{name}/changes: docker diff.
func (s *Server) containerChanges(w http.ResponseWriter, r *http.Request) error {
	changes, err := s.e.Diff(r.PathValue("name"))
	if err != nil {
		return err
	}
	kinds := map[string]mobyctr.ChangeType{"C": mobyctr.ChangeModify, "A": mobyctr.ChangeAdd, "D": mobyctr.ChangeDelete}
	out := []mobyctr.FilesystemChange{}
	for _, c := range changes {
		out = append(out, mobyctr.FilesystemChange{Kind: kinds[c.Kind], Path: c.Path})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// pathStat answers the stat of path in a container in the header docker cp reads.
func (s *Server) pathStat(w http.ResponseWriter, r *http.Request) (mobyctr.PathStat, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return mobyctr.PathStat{}, badRequest("path must be given")
	}
	st, err := s.e.PathStat(r.PathValue("name"), p)
	if errors.Is(err, os.ErrNotExist) {
		return st, &apiError{http.StatusNotFound, err}
	}
	if err != nil {
		return st, err
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return st, err
	}
	w.Header().Set("X-Docker-Container-Path-Stat", base64.StdEncoding.EncodeToString(raw))
	return st, nil
}

// archiveHead is HEAD /containers/{name}/archive?path=P: P's stat alone.
func (s *Server) archiveHead(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.pathStat(w, r); err != nil {
		w.WriteHeader(statusOf(err)) // a HEAD answer has no body
		return nil
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// archiveGet is GET /containers/{name}/archive?path=P: P as a tar, its stat in the header.
func (s *Server) archiveGet(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.pathStat(w, r); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := s.e.CopyFrom(r.PathValue("name"), r.URL.Query().Get("path"), bw); err != nil {
		panic(http.ErrAbortHandler)
	}
	bw.Flush()
	return nil
}

// archivePut is PUT /containers/{name}/archive?path=DIR: the body, a tar, is extracted into
// the directory DIR, which must exist, as dockerd wants.
func (s *Server) archivePut(w http.ResponseWriter, r *http.Request) error {
	dir := r.URL.Query().Get("path")
	if dir == "" {
		return badRequest("path must be given")
	}
	st, err := s.e.PathStat(r.PathValue("name"), dir)
	if errors.Is(err, os.ErrNotExist) {
		return &apiError{http.StatusNotFound, err}
	}
	if err != nil {
		return err
	}
	if !st.Mode.IsDir() {
		return badRequest("extraction point is not a directory")
	}
	if err := s.e.CopyTo(r.PathValue("name"), dir, r.Body); err != nil {
		return badRequestUnlessKnown(err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// containerStats is GET /containers/{name}/stats?stream=B&one-shot=B: the container's usage
// from its cgroups, once a second while streaming. Each sample carries the one before it
// (precpu_stats), from which the docker CLI computes CPU %; a single sample not one-shot
// waits for a second one, as dockerd's does.
func (s *Server) containerStats(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	stream := r.URL.Query().Get("stream") == "" || boolValue(r, "stream")
	first, err := s.statsSample(name)
	if err != nil {
		return err
	}
	body, flush := streamResponse(w, "application/json")
	enc := json.NewEncoder(body)
	prev := mobyctr.StatsResponse{}
	if !stream && boolValue(r, "one-shot") {
		return enc.Encode(first)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	cur := first
	for {
		if stream || !prev.Read.IsZero() {
			cur.PreRead, cur.PreCPUStats = prev.Read, prev.CPUStats
			if err := enc.Encode(cur); err != nil || !stream {
				return nil
			}
			flush()
		}
		prev = cur
		select {
		case <-r.Context().Done():
			return nil
		case <-tick.C:
		}
		if cur, err = s.statsSample(name); err != nil {
			return nil // it stopped: the stream ends
		}
	}
}

// statsSample reads the container's usage now, as the Engine API gives it.
func (s *Server) statsSample(name string) (mobyctr.StatsResponse, error) {
	st, stats, err := s.e.Stats(name)
	if err != nil {
		if st != nil && st.Status != engine.Running {
			return mobyctr.StatsResponse{}, &apiError{http.StatusConflict, err}
		}
		return mobyctr.StatsResponse{}, err
	}
	return mobyctr.StatsResponse{
		ID: st.ID, Name: "/" + st.Name, OSType: "linux", Read: time.Now(),
		CPUStats: mobyctr.CPUStats{
			CPUUsage:    mobyctr.CPUUsage{TotalUsage: stats.CPUUsage},
			SystemUsage: systemCPUUsage(),
			OnlineCPUs:  uint32(runtime.NumCPU()),
		},
		MemoryStats: mobyctr.MemoryStats{Usage: stats.MemoryUsage, Limit: stats.MemoryLimit, Stats: map[string]uint64{}},
		PidsStats:   mobyctr.PidsStats{Current: stats.Pids, Limit: stats.PidsLimit},
		Networks:    map[string]mobyctr.NetworkStats{"eth0": {RxBytes: stats.NetRx, TxBytes: stats.NetTx}},
		BlkioStats: mobyctr.BlkioStats{IoServiceBytesRecursive: []mobyctr.BlkioStatEntry{
			{Op: "read", Value: stats.BlockRead}, {Op: "write", Value: stats.BlockWrite},
		}},
	}, nil
}

// systemCPUUsage is the host's CPU time so far in nanoseconds, the first line of /proc/stat
// (in clock ticks of 1/100 s), as dockerd reports it.
func systemCPUUsage() uint64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	var ticks uint64
	for _, f := range fields[1:min(len(fields), 8)] { // user nice system idle iowait irq softirq
		v, _ := strconv.ParseUint(f, 10, 64)
		ticks += v
	}
	return ticks * uint64(time.Second/100)
}
