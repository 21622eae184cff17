package build

import "io"

// Seams are the builder's functions the course's lab 15 asks a learner to write (see
// container.Seams for how a chapter's program uses them): nil, the builder's own run.
var Seams struct {
	HashFile func(meta FileMeta, content io.Reader) (string, error) // lab 15
}

func hashFile(meta FileMeta, content io.Reader) (string, error) {
	if f := Seams.HashFile; f != nil {
		return f(meta, content)
	}
	return HashFile(meta, content)
}
