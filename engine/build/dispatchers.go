package build

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/workspace"
)

// This file holds one function per instruction, as moby's classic builder has them
// (builder/dockerfile/dispatchers.go). Each changes the stage's config and makes the step's
// image: through commit for an instruction that only changes the config, through
// dispatchRun, dispatchCopy and dispatchWorkdir for those that write files.

// stageState is a stage being built: the image its last step made, and the config the next
// step starts from (Docker's dispatchState and its runConfig).
type stageState struct {
	name   string
	image  *workspace.Image // nil: FROM scratch, before its first step
	config ocispec.ImageConfig
	docker dockerspec.DockerOCIImageConfigExt // HEALTHCHECK, ONBUILD, SHELL
	author string                             // MAINTAINER
	cmdSet bool                               // a CMD was given: ENTRYPOINT keeps it
	args   *buildArgs
	shlex  *shell.Lex
}

// metaArg takes an ARG before the first FROM: its default expanded with those before it.
func (b *builder) metaArg(c instructions.ArgCommand, escape rune) error {
	lex := shell.NewLex(escape)
	env := shell.EnvsFromSlice(keyValues(b.args.values(b.args.allowed), nil))
	if err := c.Expand(func(w string) (string, error) { s, _, err := lex.ProcessWord(w, env); return s, err }); err != nil {
		return err
	}
	for _, a := range c.Args {
		b.args.addMeta(a.Key, a.Value)
	}
	return nil
}

// from starts a stage: its base image (a stage built before, scratch, or an image of the
// store, held by the build's lease), whose config it starts from; then the base's ONBUILD
// triggers run, as Docker runs them.
func (b *builder) from(st *instructions.Stage, escape rune) (*stageState, error) {
	b.busted = false
	s := &stageState{name: st.Name, args: b.args.forStage(), shlex: shell.NewLex(escape)}
	name, _, err := s.shlex.ProcessWord(st.BaseName, shell.EnvsFromSlice(b.args.metaValues()))
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, fmt.Errorf("base name (%s) should not be blank", st.BaseName)
	}
	if st.Platform != "" {
		return nil, fmt.Errorf("FROM --platform is not supported: the image must be of this machine's platform")
	}
	if img, ok := b.stages[strings.ToLower(name)]; ok {
		s.image = img
	} else if name != "scratch" {
		if s.image, err = b.baseImage(name); err != nil {
			return nil, err
		}
	}
	if s.image != nil {
		s.config = cloneConfig(s.image.Config.Config)
		s.docker = s.image.Docker
		s.author = s.image.Config.Author
	}
	if !slices.ContainsFunc(s.config.Env, func(kv string) bool { return strings.HasPrefix(kv, "PATH=") }) {
		s.config.Env = append(s.config.Env, container.DefaultPath)
	}
	if triggers := s.docker.OnBuild; len(triggers) > 0 {
		s.docker.OnBuild = nil
		return s, b.onBuildTriggers(s, triggers)
	}
	return s, nil
}

// onBuildTriggers runs the ONBUILD instructions of a stage's base, each one a step of its own
// (unnumbered, as Docker's).
func (b *builder) onBuildTriggers(s *stageState, triggers []string) error {
	plural := ""
	if len(triggers) > 1 {
		plural = "s"
	}
	fmt.Fprintf(b.out, "# Executing %d build trigger%s\n", len(triggers), plural)
	for _, t := range triggers {
		res, err := parser.Parse(strings.NewReader(t))
		if err != nil {
			return fmt.Errorf("ONBUILD %s: %w", t, err)
		}
		if len(res.AST.Children) != 1 {
			return errors.New("onbuild trigger should be a single expression")
		}
		cmd, err := instructions.ParseCommand(res.AST.Children[0])
		if err != nil {
			return fmt.Errorf("ONBUILD %s: %w", t, err)
		}
		if err := unsupported(cmd); err != nil {
			return fmt.Errorf("ONBUILD %s: %w", t, err)
		}
		if err := b.dispatch(s, cmd); err != nil {
			return err
		}
	}
	return nil
}

// dispatch expands the instruction's words with the stage's environment and build args, then
// runs it.
func (b *builder) dispatch(s *stageState, cmd instructions.Command) error {
	envs := append(slices.Clone(s.config.Env), s.args.filterAllowed(s.config.Env)...)
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		env := shell.EnvsFromSlice(envs)
		err := ex.Expand(func(w string) (string, error) { out, _, err := s.shlex.ProcessWord(w, env); return out, err })
		if err != nil {
			return err
		}
	}
	switch c := cmd.(type) {
	case *instructions.EnvCommand:
		return b.dispatchEnv(s, c)
	case *instructions.MaintainerCommand:
		s.author = c.Maintainer
		return b.commit(s, "MAINTAINER "+c.Maintainer)
	case *instructions.LabelCommand:
		return b.dispatchLabel(s, c)
	case *instructions.AddCommand:
		return b.dispatchCopy(s, copyInstruction{name: "ADD", args: c.SourcesAndDest, chown: c.Chown, chmod: c.Chmod, add: true})
	case *instructions.CopyCommand:
		return b.dispatchCopy(s, copyInstruction{name: "COPY", args: c.SourcesAndDest, chown: c.Chown, chmod: c.Chmod, from: c.From})
	case *instructions.OnbuildCommand:
		s.docker.OnBuild = append(slices.Clone(s.docker.OnBuild), c.Expression)
		return b.commit(s, "ONBUILD "+c.Expression)
	case *instructions.WorkdirCommand:
		return b.dispatchWorkdir(s, c)
	case *instructions.RunCommand:
		return b.dispatchRun(s, c)
	case *instructions.CmdCommand:
		s.config.Cmd = s.commandLine(c.ShellDependantCmdLine)
		if len(c.CmdLine) != 0 {
			s.cmdSet = true
		}
		return b.commit(s, fmt.Sprintf("CMD %q", s.config.Cmd))
	case *instructions.HealthCheckCommand:
		if old := s.docker.Healthcheck; old != nil && len(old.Test) > 0 && old.Test[0] != "NONE" {
			fmt.Fprintf(b.out, "Note: overriding previous HEALTHCHECK: %v\n", old.Test)
		}
		s.docker.Healthcheck = c.Health
		h := c.Health
		// Docker's words: its HealthConfig printed with %q.
		return b.commit(s, fmt.Sprintf("HEALTHCHECK &{%q %q %q %q %q}", h.Test, h.Interval, h.Timeout, h.StartPeriod, rune(h.Retries)))
	case *instructions.EntrypointCommand:
		s.config.Entrypoint = s.commandLine(c.ShellDependantCmdLine)
		if !s.cmdSet {
			s.config.Cmd = nil
		}
		return b.commit(s, fmt.Sprintf("ENTRYPOINT %q", s.config.Entrypoint))
	case *instructions.ExposeCommand:
		return b.dispatchExpose(s, c, envs)
	case *instructions.UserCommand:
		s.config.User = c.User
		return b.commit(s, "USER "+c.User)
	case *instructions.VolumeCommand:
		return b.dispatchVolume(s, c)
	case *instructions.StopSignalCommand:
		if _, err := container.ParseSignal(c.Signal); err != nil {
			return err
		}
		s.config.StopSignal = c.Signal
		return b.commit(s, "STOPSIGNAL "+c.Signal)
	case *instructions.ArgCommand:
		return b.dispatchArg(s, c)
	case *instructions.ShellCommand:
		s.docker.Shell = slices.Clone(c.Shell)
		return b.commit(s, fmt.Sprintf("SHELL %v", s.docker.Shell))
	}
	return fmt.Errorf("unsupported instruction %s", cmd.Name())
}

// shell is what a shell-form command runs under: SHELL's, or /bin/sh -c.
func (s *stageState) shell() []string {
	if len(s.docker.Shell) > 0 {
		return slices.Clone(s.docker.Shell)
	}
	return []string{"/bin/sh", "-c"}
}

// commandLine is a RUN, CMD or ENTRYPOINT as it runs: the exec form as written, the shell
// form one argument of the stage's shell.
func (s *stageState) commandLine(c instructions.ShellDependantCmdLine) []string {
	if c.PrependShell {
		return append(s.shell(), strings.Join(c.CmdLine, " "))
	}
	return slices.Clone(c.CmdLine)
}

func (b *builder) dispatchEnv(s *stageState, c *instructions.EnvCommand) error {
	msg := "ENV"
	for _, kv := range c.Env {
		msg += " " + kv.String()
		i := slices.IndexFunc(s.config.Env, func(e string) bool { k, _, _ := strings.Cut(e, "="); return k == kv.Key })
		if i >= 0 {
			s.config.Env[i] = kv.String()
		} else {
			s.config.Env = append(s.config.Env, kv.String())
		}
	}
	return b.commit(s, msg)
}

func (b *builder) dispatchLabel(s *stageState, c *instructions.LabelCommand) error {
	if s.config.Labels == nil {
		s.config.Labels = map[string]string{}
	}
	msg := "LABEL"
	for _, kv := range c.Labels {
		s.config.Labels[kv.Key] = kv.Value
		msg += " " + kv.String()
	}
	return b.commit(s, msg)
}

// dispatchExpose adds the ports: N, N/proto or a range N-M, each word expanded into words
// (EXPOSE $PORTS with PORTS="80 443" is two ports, as Docker has it).
func (b *builder) dispatchExpose(s *stageState, c *instructions.ExposeCommand, envs []string) error {
	var ports []string
	for _, p := range c.Ports {
		words, err := s.shlex.ProcessWords(p, shell.EnvsFromSlice(envs))
		if err != nil {
			return err
		}
		ports = append(ports, words...)
	}
	if s.config.ExposedPorts == nil {
		s.config.ExposedPorts = map[string]struct{}{}
	}
	for _, p := range ports {
		specs, err := portSpecs(p)
		if err != nil {
			return err
		}
		for _, spec := range specs {
			s.config.ExposedPorts[spec] = struct{}{}
		}
	}
	return b.commit(s, "EXPOSE "+strings.Join(ports, " "))
}

// portSpecs reads one EXPOSE word: PORT[-END][/tcp|udp|sctp].
func portSpecs(p string) ([]string, error) {
	num, proto, _ := strings.Cut(p, "/")
	proto = strings.ToLower(cmp.Or(proto, "tcp"))
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, fmt.Errorf("invalid proto: %s", proto)
	}
	lo, hi, isRange := strings.Cut(num, "-")
	start, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("invalid containerPort: %s", num)
	}
	end := start
	if isRange {
		if end, err = strconv.ParseUint(hi, 10, 16); err != nil || end < start {
			return nil, fmt.Errorf("invalid range specified for container port: %s", num)
		}
	}
	var out []string
	for n := start; n <= end; n++ {
		out = append(out, fmt.Sprintf("%d/%s", n, proto))
	}
	return out, nil
}

func (b *builder) dispatchVolume(s *stageState, c *instructions.VolumeCommand) error {
	s.config.Volumes = maps.Clone(s.config.Volumes)
	if s.config.Volumes == nil {
		s.config.Volumes = map[string]struct{}{}
	}
	for _, v := range c.Volumes {
		if v == "" {
			return errors.New("VOLUME specified can not be an empty string")
		}
		s.config.Volumes[v] = struct{}{}
	}
	return b.commit(s, fmt.Sprintf("VOLUME %v", c.Volumes))
}

func (b *builder) dispatchArg(s *stageState, c *instructions.ArgCommand) error {
	msg := "ARG "
	for i, a := range c.Args {
		if i > 0 {
			msg += " "
		}
		msg += a.Key
		if a.Value != nil {
			msg += "=" + *a.Value
		}
		s.args.addArg(a.Key, a.Value)
	}
	return b.commit(s, msg)
}

// dispatchRun runs the command in a container of the stage's image (engine.RunStep) and
// makes its writes the step's layer. Its history, and its cache key, name the build args it
// ran with ("|1 GREETING=hi /bin/sh -c ..."), as Docker's do.
func (b *builder) dispatchRun(s *stageState, c *instructions.RunCommand) error {
	if s.image == nil || len(s.image.Config.RootFS.DiffIDs) == 0 {
		return errors.New("RUN needs an image with files to run in: this stage has none yet (FROM scratch)")
	}
	cmd := s.commandLine(c.ShellDependantCmdLine)
	args := s.args.filterAllowed(s.config.Env)
	saved := cmd
	if len(args) > 0 {
		saved = s.args.prependOnCmd(args, cmd)
	}
	probe := cloneConfig(s.config)
	probe.Cmd = saved
	if len(saved) > 0 {
		probe.Entrypoint = nil
	}
	if hit, err := b.probe(s, probe); err != nil || hit {
		return err
	}
	layer, err := b.runStep(s, cmd, args)
	if err != nil {
		return err
	}
	return b.record(s, probe, layer)
}

// prependOnCmd is Docker's record of the build args a RUN had: "|N K=V ..." before the
// command, the declared (or not builtin) args sorted, so that a RUN given other values is
// another step for the cache, and its history says which.
func (a *buildArgs) prependOnCmd(args, cmd []string) []string {
	var kept []string
	for _, kv := range args {
		k, _, _ := strings.Cut(kv, "=")
		if a.referencedOrNotBuiltin(k) {
			kept = append(kept, kv)
		}
	}
	slices.Sort(kept)
	return append(append([]string{fmt.Sprintf("|%d", len(kept))}, kept...), cmd...)
}

// dispatchWorkdir sets the working directory (relative to the one before) and writes the
// directories it needs that the image lacks, as Docker's builder makes them: 0755, root's.
func (b *builder) dispatchWorkdir(s *stageState, c *instructions.WorkdirCommand) error {
	wd := c.Path
	if !path.IsAbs(wd) {
		wd = path.Join("/", s.config.WorkingDir, wd)
	}
	s.config.WorkingDir = path.Clean(wd)
	probe := cloneConfig(s.config)
	probe.Cmd = append(s.shell(), "#(nop) WORKDIR "+s.config.WorkingDir)
	if hit, err := b.probe(s, probe); err != nil || hit {
		return err
	}
	layer, err := b.writeLayer(s, func(w *layerWriter) error {
		dest, err := w.resolve(s.config.WorkingDir)
		if err != nil {
			return err
		}
		return w.mkdirAll(dest, 0, 0)
	})
	if err != nil {
		return err
	}
	return b.record(s, probe, layer)
}

// commit makes the image of an instruction that only changes the config: its history says
// "/bin/sh -c #(nop)  INSTRUCTION", with an empty layer.
func (b *builder) commit(s *stageState, comment string) error {
	probe := cloneConfig(s.config)
	probe.Cmd = append(s.shell(), "#(nop) ", comment)
	if hit, err := b.probe(s, probe); err != nil || hit {
		return err
	}
	return b.record(s, probe, "")
}

// cloneConfig is a copy of c that shares nothing with it.
func cloneConfig(c ocispec.ImageConfig) ocispec.ImageConfig {
	c.Env = slices.Clone(c.Env)
	c.Cmd = slices.Clone(c.Cmd)
	c.Entrypoint = slices.Clone(c.Entrypoint)
	c.ExposedPorts = maps.Clone(c.ExposedPorts)
	c.Volumes = maps.Clone(c.Volumes)
	c.Labels = maps.Clone(c.Labels)
	return c
}
