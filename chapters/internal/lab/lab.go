//go:build lab

// Package lab puts the learner's lab functions in place of the engine's: a chapter's program
// built with -tags lab runs its containers on the learner's code from labs/01 to its own
// number (with -tags 'lab solution', on the labs' reference adapters, which call the engine).
// It only sets the engine's seams (container.Seams and the like): there is no copy of the
// engine here. Without -tags lab, Use does nothing.
package lab

import (
	"github.com/mydocker/mydocker/container"
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
	"github.com/mydocker/mydocker/network"
	"github.com/mydocker/mydocker/runconfig"
	"github.com/mydocker/mydocker/subsystems"
	"github.com/mydocker/mydocker/workspace"
)

// Use puts the functions of labs 01 to chapter in place.
func Use(chapter int) {
	for n, use := range labs {
		if n+1 <= chapter {
			use()
		}
	}
}

// labs, by number: what each one's functions replace.
var labs = []func(){
	func() { // 01 namespaces
		container.Seams.NamespaceFlags = namespaces.CloneFlags
		container.Seams.MakeMountsPrivate = namespaces.MakeMountsPrivate
		container.Seams.MountProc = namespaces.MountProc
	},
	func() { // 02 chroot
		container.Seams.LookPath = chroot.LookPath
		container.Seams.MoveRoot = chroot.ChangeRoot
	},
	func() { // 03 pivot-root
		container.Seams.PivotRoot = pivot.PivotRoot
	},
	func() { // 04 cgroups
		subsystems.Seams.SetMemory = limits.SetMemory
		subsystems.Seams.SetCPU = limits.SetCPU
		subsystems.Seams.SetPids = limits.SetPids
	},
	func() { // 05 images-overlay
		workspace.Seams.OverlayOptions = overlay.OverlayOptions
		container.Seams.MountOverlay = overlay.MountOverlay
	},
	func() { // 06 volumes
		workspace.Seams.ParseVolume = volumes.ParseVolume
		container.Seams.MountVolume = volumes.MountVolume
	},
	func() { // 07 commit-export
		workspace.Seams.WhiteoutTarget = whiteout.WhiteoutTarget
		workspace.Seams.IsWhiteout = whiteout.IsWhiteout
	},
	func() { // 08 detach
		fsutil.Seams.WriteFileAtomic = detach.WriteFileAtomic
		fsutil.Seams.Lock = detach.Lock
	},
	func() { // 09 exec
		container.Seams.JoinNamespaces = labexec.JoinNamespaces
		container.Seams.EnterMountNamespace = labexec.EnterMountNamespace
	},
	func() { // 10 networks
		network.Seams.Allocate = ipam.Allocate
		network.Seams.Release = ipam.Release
	},
	func() { // 11 port-mapping
		network.Seams.PortRules = ports.PortRules
	},
	func() { // 12 hardening
		runconfig.Seams.Capabilities = hardening.Capabilities
		container.Seams.DropBoundingSet = hardening.DropBoundingSet
	},
	func() { // 13 layers
		workspace.Seams.ReadDockerManifest = layers.ReadDockerManifest
	},
}
