package runconfig

import (
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

func TestSpecCommand(t *testing.T) {
	for _, tc := range []struct {
		name       string
		entrypoint []string
		imageCmd   []string
		cmd        []string
		want       []string
	}{
		{"image cmd", nil, []string{"sh"}, nil, []string{"sh"}},
		{"command line wins", nil, []string{"sh"}, []string{"ls", "-l"}, []string{"ls", "-l"}},
		{"entrypoint plus image cmd", []string{"/bin/echo"}, []string{"hi"}, nil, []string{"/bin/echo", "hi"}},
		{"entrypoint plus command line", []string{"/bin/echo"}, []string{"hi"}, []string{"bye"}, []string{"/bin/echo", "bye"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &Options{Cmd: tc.cmd}
			spec, config, err := o.Spec("0123456789abcdef", ocispec.ImageConfig{Entrypoint: tc.entrypoint, Cmd: tc.imageCmd})
			require.NoError(t, err)
			require.Equal(t, tc.want, spec.Process.Args)
			require.Equal(t, tc.entrypoint, config.Entrypoint)
		})
	}
	_, _, err := (&Options{}).Spec("id", ocispec.ImageConfig{})
	require.ErrorIs(t, err, ErrNoCommand)
}

func TestSpecEnvironmentOrder(t *testing.T) {
	t.Setenv("FROM_HOST", "h")
	o := &Options{Cmd: []string{"env"}, Env: []string{"FOO=bar", "PATH=/bin", "FROM_HOST", "UNSET_ON_HOST"}, Tty: true}
	spec, config, err := o.Spec("0123456789abcdef", ocispec.ImageConfig{Env: []string{"PATH=/usr/bin:/bin", "LANG=C"}})
	require.NoError(t, err)
	// Docker's order: PATH, HOSTNAME, TERM, the image's, then -e (replacing in place).
	require.Equal(t, []string{"PATH=/bin", "HOSTNAME=0123456789ab", "TERM=xterm", "LANG=C", "FOO=bar", "FROM_HOST=h"}, spec.Process.Env)
	// The config (inspect's .Config.Env, what commit records) as Docker 20.10 has it (the CLI
	// parity test compares): the user's settings first, then the image's the user left alone.
	require.Equal(t, []string{"FOO=bar", "PATH=/bin", "FROM_HOST=h", "LANG=C"}, config.Env)
	require.Equal(t, "0123456789ab", spec.Hostname)
	require.True(t, spec.Process.Terminal)
}

func TestSpecWorkdirAndHostname(t *testing.T) {
	o := &Options{Cmd: []string{"pwd"}, Workdir: "/srv", Hostname: "web"}
	spec, _, err := o.Spec("id", ocispec.ImageConfig{WorkingDir: "/app"})
	require.NoError(t, err)
	require.Equal(t, "/srv", spec.Process.Cwd)
	require.Equal(t, "web", spec.Hostname)

	spec, _, err = (&Options{Cmd: []string{"pwd"}}).Spec("id", ocispec.ImageConfig{WorkingDir: "/app"})
	require.NoError(t, err)
	require.Equal(t, "/app", spec.Process.Cwd)

	_, _, err = (&Options{Cmd: []string{"pwd"}, Workdir: "srv"}).Spec("id", ocispec.ImageConfig{})
	require.ErrorContains(t, err, "absolute path")
}

func TestExpandEnvRejectsBadKeys(t *testing.T) {
	_, err := ExpandEnv([]string{"=value"}, func(string) (string, bool) { return "", false })
	require.ErrorContains(t, err, "KEY=VALUE")
}
