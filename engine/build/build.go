// Package build builds images from a Dockerfile on the engine, the way Docker's classic
// builder does (moby's builder/dockerfile): the Dockerfile is parsed with buildkit's parser,
// the one independent builders share (kaniko, buildah, openshift/imagebuilder), and each
// instruction is a step that makes an image on the one before:
//
//   - RUN is an ordinary container of the engine (engine.RunStep: confined as any, on the
//     network asked for), whose writes become a layer;
//   - COPY and ADD write a layer from the build context (or another image) themselves;
//   - WORKDIR writes the directories it needs; every other instruction only changes the
//     image's config, and makes an image with an empty layer in its history.
//
// Before a step runs, the cache is asked (cache.go): an image made here before from the same
// parent by a step with the same config and instruction is that step's image, and COPY's
// instruction names its sources by a hash of their content, not their times. One lease
// (workspace.Lease) holds every image and layer the build uses or makes until it ends, so
// that no rmi or prune of another process takes them; each step's image is recorded as soon
// as it is made, so that a build that fails leaves only whole images, dangling and prunable,
// as Docker's does.
package build

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/workspace"
)

// Options are what a build is asked to do: docker build's flags, parsed.
type Options struct {
	Context    string    // a directory, or "-": stdin holds a tar of the context or a Dockerfile
	Dockerfile string    // -f: the Dockerfile ("": Dockerfile in the context; "-": stdin)
	Stdin      io.Reader // for "-"
	Tags       []string  // -t
	BuildArgs  map[string]*string
	Target     string // --target: the last stage built
	NoCache    bool
	Labels     map[string]string // --label: set on the image built
	Network    string            // for the RUN containers: none, host, bridge or a network's name
	// Remove removes each RUN's container once its step succeeds (--rm, the default); the
	// container of a step that fails is always removed.
	Remove bool
	// Out is where the build says what it does, and where the RUN containers' output goes.
	Out *os.File
}

// Build builds the image the Dockerfile describes and returns it, tagged as opts ask. What
// it prints is what Docker's classic builder prints ("Step 2/5 : RUN ...", " ---> Using
// cache", "Successfully built ...").
func Build(e *engine.Engine, opts Options) (img *workspace.Image, retErr error) {
	if opts.Out == nil {
		return nil, errors.New("build: Options.Out is where the build's output goes, and must be set")
	}
	store := e.Images()
	var tags []string
	for _, t := range opts.Tags {
		norm, err := workspace.NormalizeRef(t)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"-t, --tag\" flag: %w", t, err)
		}
		tags = append(tags, norm)
	}
	lease, err := store.NewLease()
	if err != nil {
		return nil, err
	}
	// The images made stay (recorded, dangling until tagged); the layers only a failed
	// step held go.
	defer func() {
		end := lease.Release
		if retErr != nil {
			end = lease.Discard
		}
		if err := end(); err != nil && retErr == nil {
			retErr = err
		}
	}()
	ctx, err := openContext(&opts, lease)
	if err != nil {
		return nil, err
	}
	defer ctx.close()
	df, err := parseDockerfile(ctx.dockerfile, ctx.dockerfileName, opts.Target, opts.Labels, opts.Out)
	if err != nil {
		return nil, err
	}
	b := &builder{e: e, store: store, lease: lease, opts: &opts, ctx: ctx, out: opts.Out,
		args: newBuildArgs(opts.BuildArgs), stages: map[string]*workspace.Image{}, total: df.steps()}
	img, err = b.run(df)
	if err != nil {
		return nil, err
	}
	b.warnUnusedArgs()
	fmt.Fprintf(b.out, "Successfully built %s\n", img.ID.Encoded()[:12])
	for _, t := range tags {
		if err := store.Tag(img.ID, t); err != nil {
			return nil, err
		}
		fmt.Fprintf(b.out, "Successfully tagged %s\n", t)
	}
	return img, nil
}

// builder is one build under way.
type builder struct {
	e      *engine.Engine
	store  *workspace.Store
	lease  *workspace.Lease
	opts   *Options
	ctx    *buildContext
	out    io.Writer
	args   *buildArgs
	stages map[string]*workspace.Image // each stage built, by name and by index
	built  []*workspace.Image
	step   int // the last step printed
	total  int
	// busted: a step of this stage missed the cache, and so will every later one (its
	// parent is new), as Docker's prober says without asking.
	busted bool
}

// run builds the stages in order and returns the last one's image.
func (b *builder) run(df *dockerfile) (*workspace.Image, error) {
	for i := range df.metaArgs {
		b.printStep(&df.metaArgs[i])
		if err := b.metaArg(df.metaArgs[i], df.escape); err != nil {
			return nil, err
		}
	}
	var last *stageState
	for i := range df.stages {
		st := &df.stages[i]
		if st.Name != "" {
			if _, ok := b.stages[strings.ToLower(st.Name)]; ok {
				return nil, fmt.Errorf("%s stage name already used", st.Name)
			}
		}
		b.step++
		fmt.Fprintf(b.out, "Step %d/%d : %s\n", b.step, b.total, st.SourceCode)
		s, err := b.from(st, df.escape)
		if err != nil {
			return nil, err
		}
		b.printImage(s)
		for _, cmd := range st.Commands {
			b.printStep(cmd)
			if err := b.dispatch(s, cmd); err != nil {
				return nil, err
			}
			b.printImage(s)
		}
		b.args.mergeReferenced(s.args)
		if s.name != "" {
			b.stages[strings.ToLower(s.name)] = s.image
		}
		b.built = append(b.built, s.image)
		last = s
	}
	if last == nil || last.image == nil {
		return nil, errors.New("No image was generated. Is your Dockerfile empty?")
	}
	return last.image, nil
}

// printStep prints "Step N/M : INSTRUCTION" as Docker does.
func (b *builder) printStep(cmd any) {
	b.step++
	fmt.Fprintf(b.out, "Step %d/%d : %v\n", b.step, b.total, cmd)
}

// printImage prints the image a step left the stage on.
func (b *builder) printImage(s *stageState) {
	id := ""
	if s.image != nil {
		id = s.image.ID.Encoded()[:12]
	}
	fmt.Fprintf(b.out, " ---> %s\n", id)
}

// warnUnusedArgs says which --build-arg no ARG asked for, in Docker's words.
func (b *builder) warnUnusedArgs() {
	if unused := b.args.unused(); len(unused) > 0 {
		sort.Strings(unused)
		fmt.Fprintf(b.out, "[Warning] One or more build-args %v were not consumed\n", unused)
	}
}

// parentID is the image the stage's next step builds on ("" before the first, FROM scratch).
func (s *stageState) parentID() digest.Digest {
	if s.image == nil {
		return ""
	}
	return s.image.ID
}

// stageByRef finds a stage built so far by name or index, for COPY --from and FROM.
func (b *builder) stageByRef(ref string) (*workspace.Image, bool, error) {
	if img, ok := b.stages[strings.ToLower(ref)]; ok {
		return img, true, nil
	}
	if i, err := strconv.Atoi(ref); err == nil {
		if i < 0 || i >= len(b.built) {
			if i == len(b.built) {
				return nil, false, fmt.Errorf("invalid from flag value %s: refers to current build stage", ref)
			}
			return nil, false, fmt.Errorf("invalid from flag value %s: index out of bounds", ref)
		}
		return b.built[i], true, nil
	}
	return nil, false, nil
}

// StepError is a RUN whose command failed: the build stops, with its status.
type StepError struct {
	Command string
	Code    int
}

func (e *StepError) Error() string {
	return fmt.Sprintf("The command '%s' returned a non-zero code: %d", e.Command, e.Code)
}
