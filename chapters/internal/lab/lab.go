//go:build lab

// Package lab puts the learner's lab functions in place of the engine's: a chapter's program
// built with -tags lab runs its containers on the learner's code from labs/01 to its own
// number (with -tags 'lab solution', on the labs' reference adapters, which call the engine).
// It only sets the engine's seams (container.Seams and the like): there is no copy of the
// engine here. Without -tags lab, Use does nothing.
package lab

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/engine/build"
	"github.com/mydocker/mydocker/internal/fsutil"
	namespaces "github.com/mydocker/mydocker/labs/01-namespaces"
	chroot "github.com/mydocker/mydocker/labs/02-chroot"
	pivot "github.com/mydocker/mydocker/labs/03-pivot-root"
	limits "github.com/mydocker/mydocker/labs/04-cgroups"
	overlay "github.com/mydocker/mydocker/labs/05-images-overlay"
	volumes "github.com/mydocker/mydocker/labs/06-volumes"
	whiteout "github.com/mydocker/mydocker/labs/07-commit-export"
	detach "github.com/mydocker/mydocker/labs/08-detach"
	labexec "github.com/mydocker/mydocker/labs/09-exec"
	ipam "github.com/mydocker/mydocker/labs/10-networks"
	ports "github.com/mydocker/mydocker/labs/11-port-mapping"
	hardening "github.com/mydocker/mydocker/labs/12-hardening"
	layers "github.com/mydocker/mydocker/labs/13-layers"
	blobs "github.com/mydocker/mydocker/labs/14-registry"
	cache "github.com/mydocker/mydocker/labs/15-build"
	subid "github.com/mydocker/mydocker/labs/16-userns"
	ociruntime "github.com/mydocker/mydocker/labs/17-oci-runtime"
	engineapi "github.com/mydocker/mydocker/labs/18-engine-api"
	"github.com/mydocker/mydocker/mydocker/api"
	"github.com/mydocker/mydocker/mydocker/runccli"
	"github.com/mydocker/mydocker/network"
	"github.com/mydocker/mydocker/runconfig"
	"github.com/mydocker/mydocker/subsystems"
	"github.com/mydocker/mydocker/userns"
	"github.com/mydocker/mydocker/workspace"
)

// Only lists the labs whose functions the program runs, as numbers separated by commas
// ("07", "04,07"); the engine's own functions serve for the others, so that a learner can run
// a chapter on one lab of theirs before the earlier ones are done. Empty: every lab up to the
// chapter. make chapter-test N=07 LAB=07 sets it at build time (go build -ldflags "-X
// .../chapters/internal/lab.Only=07"): the container's init, the same binary re-executed,
// then makes the same choice.
var Only string

// Off is the environment variable that, set to 1, makes Use do nothing: the program runs on
// the engine's own functions. A chapter's transcript test cleans up with it, so that a broken
// lab (a Lock that fails) cannot stop the cleanup of what it left.
const Off = "MYDOCKER_LABS_OFF"

// Use puts the functions of the labs up to chapter in place (those Only names, when set).
func Use(chapter int) {
	if os.Getenv(Off) == "1" {
		return
	}
	chosen, err := parseOnly(Only, chapter)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lab.Only=%q: %v\n", Only, err)
		os.Exit(125)
	}
	for _, n := range chosen {
		labs[n]()
	}
}

// parseOnly returns the labs to use, in order: those only names, or every one up to chapter.
func parseOnly(only string, chapter int) ([]int, error) {
	if only == "" {
		return numbers(chapter), nil
	}
	var chosen []int
	for _, f := range strings.Split(only, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a lab number", f)
		}
		if _, ok := labs[n]; !ok || n > chapter {
			var have []string
			for _, n := range numbers(chapter) {
				have = append(have, fmt.Sprintf("%02d", n))
			}
			return nil, fmt.Errorf("no lab %02d in a chapter %02d program (its labs: %s)", n, chapter, strings.Join(have, " "))
		}
		chosen = append(chosen, n)
	}
	return chosen, nil
}

// numbers are the labs a chapter's program can run.
func numbers(chapter int) []int {
	var all []int
	for n := range labs {
		if n <= chapter {
			all = append(all, n)
		}
	}
	slices.Sort(all)
	return all
}

// labs, by number: what each one's functions replace. Keyed by number, since the course's
// chapters are not all written in order (15 and 16 come after 17).
var labs = map[int]func(){
	1: func() { // namespaces
		container.Seams.NamespaceFlags = namespaces.CloneFlags
		container.Seams.MakeMountsPrivate = namespaces.MakeMountsPrivate
		container.Seams.MountProc = namespaces.MountProc
	},
	2: func() { // chroot
		container.Seams.LookPath = chroot.LookPath
		container.Seams.MoveRoot = chroot.ChangeRoot
	},
	3: func() { // pivot-root
		container.Seams.PivotRoot = pivot.PivotRoot
	},
	4: func() { // cgroups
		subsystems.Seams.SetMemory = limits.SetMemory
		subsystems.Seams.SetCPU = limits.SetCPU
		subsystems.Seams.SetPids = limits.SetPids
	},
	5: func() { // images-overlay
		workspace.Seams.OverlayOptions = overlay.OverlayOptions
		container.Seams.MountOverlay = overlay.MountOverlay
	},
	6: func() { // volumes
		workspace.Seams.ParseVolume = volumes.ParseVolume
		container.Seams.MountVolume = volumes.MountVolume
	},
	7: func() { // commit-export
		workspace.Seams.WhiteoutTarget = whiteout.WhiteoutTarget
		workspace.Seams.IsWhiteout = whiteout.IsWhiteout
	},
	8: func() { // detach
		fsutil.Seams.WriteFileAtomic = detach.WriteFileAtomic
		fsutil.Seams.Lock = detach.Lock
	},
	9: func() { // exec
		container.Seams.JoinNamespaces = labexec.JoinNamespaces
		container.Seams.EnterMountNamespace = labexec.EnterMountNamespace
	},
	10: func() { // networks
		network.Seams.Allocate = ipam.Allocate
		network.Seams.Release = ipam.Release
		network.Seams.Lookup = ipam.Lookup
	},
	11: func() { // port-mapping
		network.Seams.PortRules = ports.PortRules
	},
	12: func() { // hardening
		runconfig.Seams.Capabilities = hardening.Capabilities
		container.Seams.DropBoundingSet = hardening.DropBoundingSet
	},
	13: func() { // layers
		workspace.Seams.ReadDockerManifest = layers.ReadDockerManifest
	},
	14: func() { // registry
		workspace.Seams.VerifyBlob = blobs.VerifyBlob
	},
	15: func() { // build
		build.Seams.HashFile = cache.HashFile
		workspace.Seams.PickCached = cache.PickCached
	},
	16: func() { // userns
		userns.Seams.SubIDRanges = subid.SubIDRanges
		userns.Seams.Mappings = subid.Mappings
	},
	17: func() { // oci-runtime
		runccli.Seams.State = ociruntime.State
		runccli.Seams.ReleaseInit = ociruntime.ReleaseInit
	},
	18: func() { // engine-api
		api.Seams.WriteFrame = engineapi.WriteFrame
	},
}
