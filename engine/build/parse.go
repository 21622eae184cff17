package build

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// dockerfile is a Dockerfile parsed: its stages, with their instructions, and the ARGs
// before the first FROM.
type dockerfile struct {
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	escape   rune
}

// steps counts the steps the build prints: every instruction, FROM and the ARGs before
// the first included.
func (d *dockerfile) steps() int {
	n := len(d.metaArgs) + len(d.stages)
	for _, s := range d.stages {
		n += len(s.Commands)
	}
	return n
}

// ParseError is a Dockerfile that cannot be read: it names the file and the line.
type ParseError struct {
	File string
	Line int // 0: no line in particular
	Err  error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("dockerfile parse error on line %d of %s: %v", e.Line, e.File, e.Err)
	}
	return fmt.Sprintf("dockerfile parse error in %s: %v", e.File, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// parseDockerfile parses data (the Dockerfile named name) with buildkit's parser into stages,
// the last one target (when set), the --label labels added to it as LABEL instructions, as
// Docker's classic builder does. The parser's warnings (an empty continuation line) go to warn.
func parseDockerfile(data []byte, name, target string, labels map[string]string, warn io.Writer) (*dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, parseError(name, err)
	}
	res.PrintWarnings(warn)
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, parseError(name, err)
	}
	for _, s := range stages {
		for _, c := range s.Commands {
			if err := unsupported(c); err != nil {
				return nil, &ParseError{File: name, Line: line(c.Location()), Err: err}
			}
		}
	}
	if target != "" {
		i, ok := instructions.HasStage(stages, target)
		if !ok {
			return nil, fmt.Errorf("failed to reach build target %s in Dockerfile", target)
		}
		stages = stages[:i+1]
	}
	if len(stages) > 0 {
		last := &stages[len(stages)-1]
		keys := make([]string, 0, len(labels))
		for k := range labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			last.AddCommand(instructions.NewLabelCommand(k, labels[k], true))
		}
	}
	return &dockerfile{stages: stages, metaArgs: metaArgs, escape: res.EscapeToken}, nil
}

// parseError names the file and the line of a parser's error.
func parseError(name string, err error) error {
	var loc *parser.LocationError
	n := 0
	if errors.As(err, &loc) && len(loc.Locations) > 0 && len(loc.Locations[0]) > 0 {
		n = loc.Locations[0][0].Start.Line
	}
	msg := err.Error()
	// buildkit says "dockerfile parse error on line N: ..." for some errors: the line is ours
	// to say, with the file.
	if i := strings.Index(msg, "parse error on line "); i >= 0 {
		rest := msg[i+len("parse error on line "):]
		if j := strings.Index(rest, ": "); j >= 0 {
			fmt.Sscanf(rest[:j], "%d", &n)
			msg = rest[j+2:]
		}
	}
	return &ParseError{File: name, Line: n, Err: errors.New(msg)}
}

// line is the first line of an instruction.
func line(r []parser.Range) int {
	if len(r) == 0 {
		return 0
	}
	return r[0].Start.Line
}

// unsupported refuses what buildkit parses and Docker's classic builder cannot do: RUN's
// flags (--mount, --network, --security), here-documents, COPY --link and --parents, ADD's
// checksums, git sources and --keep-git-dir.
func unsupported(c instructions.Command) error {
	switch c := c.(type) {
	case *instructions.RunCommand:
		if len(c.FlagsUsed) > 0 {
			return fmt.Errorf("RUN --%s is not supported (it needs BuildKit)", c.FlagsUsed[0])
		}
		if len(c.Files) > 0 {
			return errors.New("here-documents are not supported (they need BuildKit)")
		}
	case *instructions.CmdCommand:
		if len(c.Files) > 0 {
			return errors.New("here-documents are not supported (they need BuildKit)")
		}
	case *instructions.EntrypointCommand:
		if len(c.Files) > 0 {
			return errors.New("here-documents are not supported (they need BuildKit)")
		}
	case *instructions.CopyCommand:
		switch {
		case c.Link:
			return errors.New("COPY --link is not supported (it needs BuildKit)")
		case c.Parents:
			return errors.New("COPY --parents is not supported (it needs BuildKit)")
		case len(c.ExcludePatterns) > 0:
			return errors.New("COPY --exclude is not supported (it needs BuildKit)")
		case len(c.SourceContents) > 0:
			return errors.New("here-documents are not supported (they need BuildKit)")
		}
	case *instructions.AddCommand:
		switch {
		case c.Link:
			return errors.New("ADD --link is not supported (it needs BuildKit)")
		case c.Checksum != "" || c.KeepGitDir != nil || c.Unpack != nil || len(c.ExcludePatterns) > 0:
			return errors.New("ADD --checksum, --keep-git-dir, --unpack and --exclude are not supported (they need BuildKit)")
		case len(c.SourceContents) > 0:
			return errors.New("here-documents are not supported (they need BuildKit)")
		}
	}
	return nil
}
