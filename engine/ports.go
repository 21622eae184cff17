package engine

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// heldPorts are the sockets that hold, on the host, the ports of the containers this process
// watches (network.Endpoint.Held), by container id: opened when the container joins its
// network, handed from the monitor to mydocker-shim and back with the container, closed when
// the container's resources are given back (release). A watcher that dies takes them along.
type heldPorts struct {
	mu    sync.Mutex
	files map[string][]*os.File
}

// keep adds files to what is held for container id.
func (h *heldPorts) keep(id string, files []*os.File) {
	if len(files) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.files == nil {
		h.files = map[string][]*os.File{}
	}
	h.files[id] = append(h.files[id], files...)
}

// of is what is held for container id.
func (h *heldPorts) of(id string) []*os.File {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.files[id]
}

// drop closes what is held for container id: its ports are free again.
func (h *heldPorts) drop(id string) {
	h.mu.Lock()
	files := h.files[id]
	delete(h.files, id)
	h.mu.Unlock()
	for _, f := range files {
		f.Close()
	}
}

// formatFds and parseFds write and read the descriptors of held sockets as a monitor's
// argument ("-" for none), across the exec into mydocker-shim and back.
func formatFds(files []*os.File) string {
	if len(files) == 0 {
		return "-"
	}
	fds := make([]string, len(files))
	for i, f := range files {
		fds[i] = strconv.Itoa(int(f.Fd()))
	}
	return strings.Join(fds, ",")
}

func parseFds(s string) ([]int, error) {
	if s == "-" {
		return nil, nil
	}
	var fds []int
	for _, f := range strings.Split(s, ",") {
		fd, err := strconv.Atoi(f)
		if err != nil || fd < 3 {
			return nil, strconv.ErrSyntax
		}
		fds = append(fds, fd)
	}
	return fds, nil
}
