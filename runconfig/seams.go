package runconfig

import "fmt"

// Seams are the spec builder's functions the course's labs ask a learner to write (see
// container.Seams for how a chapter's program uses them): nil, runconfig's own run.
var Seams struct {
	Capabilities func(s Security) ([]string, error) // lab 12
}

// capabilities calls the learner's Capabilities when there is one; a panic (a stub's "not
// implemented") becomes an error, so that no container is made.
func capabilities(s *Security) (caps []string, err error) {
	if f := Seams.Capabilities; f != nil {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%v", r)
			}
		}()
		return f(*s)
	}
	return s.Capabilities()
}
