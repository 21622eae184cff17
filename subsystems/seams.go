package subsystems

// Seams are the limit writers the course's lab 04 asks a learner to write. A chapter's program
// built with -tags lab sets them to the learner's functions (chapters/internal/lab), so that
// the learner's code limits the chapter's containers; nil, the ones below run. The subsystems
// call them through memoryLimit, cpuQuota and pidsLimit; the lab's reference solution calls
// the exported functions.
var Seams struct {
	SetMemory func(dir string, v2 bool, limit int64) error
	SetCPU    func(dir string, v2 bool, quota int64, period uint64) error
	SetPids   func(dir string, v2 bool, max int64) error
}

func memoryLimit(dir string, v2 bool, limit int64) error {
	if f := Seams.SetMemory; f != nil {
		return f(dir, v2, limit)
	}
	return SetMemoryLimit(dir, v2, limit)
}

func cpuQuota(dir string, v2 bool, quota int64, period uint64) error {
	if f := Seams.SetCPU; f != nil {
		return f(dir, v2, quota, period)
	}
	return SetCPUQuota(dir, v2, quota, period)
}

func pidsLimit(dir string, v2 bool, max int64) error {
	if f := Seams.SetPids; f != nil {
		return f(dir, v2, max)
	}
	return SetPidsMax(dir, v2, max)
}
