package main

import (
	"debug/buildinfo"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// What a container start pays before main, in its two programs: every package linked into
// mydocker and mydocker-init runs its init at each start (and each command's), whatever the
// command needs. The budgets are what the packages' inits allocate and how many packages have
// an init to run, the same at every run of the same binary (a regular expression compiled at
// init, a template parsed, a table built show there at once), and, as a coarse second check,
// the time they take in the quickest of nine runs. Past a budget: make the new init lazy
// (sync.OnceValue), or keep the package to the program that needs it, as mydocker-registry,
// -build, -serve and -dns are.
var initBudgets = []struct {
	program  string // beside the test's mydocker
	args     []string
	packages int     // with an init to run (now: 77 and 47)
	bytes    int     // allocated by all inits (now: mydocker 184 kB, of which go-digest's regular expressions 92; the init 25 kB)
	allocs   int     // (now: 1,202 and 122)
	ms       float64 // all inits, quickest of nine runs (now: 0.8-1.2 and 0.3 on the project's VM)
}{
	{"mydocker", []string{"--version"}, 85, 200 << 10, 1300, 3.0},
	{"mydocker-init", nil, 52, 32 << 10, 160, 1.5},
}

// startPathForbidden are what the other programs link, kept out of the start path: packages
// (seen by their init) and modules.
var startPathForbidden = []string{
	"crypto/tls", "crypto/x509", "net/http", // a registry's or the API server's
	"github.com/miekg/dns",                                            // the names resolver's (mydocker-dns)
	"github.com/google/go-containerregistry", "github.com/docker/cli", // the registry client's
	"github.com/moby/buildkit", "google.golang.org/protobuf", // the builder's
}

func TestStartPathInitBudget(t *testing.T) {
	if binary == "" {
		t.Skip("needs the programs TestMain builds as root")
	}
	for _, b := range initBudgets {
		t.Run(b.program, func(t *testing.T) {
			path := binary + strings.TrimPrefix(b.program, "mydocker")
			info, err := buildinfo.ReadFile(path)
			require.NoError(t, err)
			for _, dep := range info.Deps {
				require.False(t, slices.Contains(startPathForbidden, dep.Path), "%s links module %s", b.program, dep.Path)
			}
			var quickest float64
			for run := 0; run < 9; run++ {
				inits := initTrace(t, path, b.args...)
				var bytes, allocs int
				var ms float64
				for _, in := range inits {
					require.False(t, slices.Contains(startPathForbidden, in.pkg), "%s links %s", b.program, in.pkg)
					bytes += in.bytes
					allocs += in.allocs
					ms += in.ms
				}
				if run == 0 {
					t.Logf("%s: %d packages initialised, %d bytes, %d allocations", b.program, len(inits), bytes, allocs)
					require.LessOrEqual(t, len(inits), b.packages, "packages with an init in %s", b.program)
					require.LessOrEqual(t, bytes, b.bytes, "bytes allocated by %s's package inits", b.program)
					require.LessOrEqual(t, allocs, b.allocs, "allocations of %s's package inits", b.program)
				}
				if run == 0 || ms < quickest {
					quickest = ms
				}
			}
			t.Logf("%s: inits take %.2f ms (quickest of nine)", b.program, quickest)
			if os.Getenv("MYDOCKER_BINARY") != "" {
				return // the cgroup v2 VM emulates its CPU: its times are not this budget's
			}
			require.LessOrEqual(t, quickest, b.ms, "time of %s's package inits, quickest of nine runs", b.program)
		})
	}
}

// packageInit is one line of GODEBUG=inittrace=1:
// "init github.com/x/y @1.2 ms, 0.05 ms clock, 4096 bytes, 12 allocs".
type packageInit struct {
	pkg           string
	ms            float64
	bytes, allocs int
}

// initTrace runs the program with the runtime's init trace on and returns its packages' inits.
func initTrace(t *testing.T, path string, args ...string) []packageInit {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, _ := cmd.CombinedOutput() // mydocker-init, run by hand, exits 125 after its inits
	var inits []packageInit
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 11 || f[0] != "init" {
			continue
		}
		ms, err1 := strconv.ParseFloat(f[4], 64)
		bytes, err2 := strconv.Atoi(f[7])
		allocs, err3 := strconv.Atoi(f[9])
		require.NoError(t, errors.Join(err1, err2, err3), "%q", line)
		inits = append(inits, packageInit{pkg: f[1], ms: ms, bytes: bytes, allocs: allocs})
	}
	require.NotEmpty(t, inits, "no init trace from %s: %s", path, out)
	return inits
}
