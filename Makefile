# mydocker — build, run and test. Every target that needs packages installs them.
# Run as root: containers need namespaces, mounts and cgroups.

GO        ?= go
BIN       := bin/mydocker
ROOT      ?= $(or $(MYDOCKER_ROOT),/var/lib/mydocker)
APT_PKGS  := busybox-static iptables iproute2 curl docker.io containerd containernetworking-plugins qemu-system-x86 cpio skopeo docker-registry uidmap slirp4netns buildah podman docker-compose
GOFLAGS_TEST ?=
# Pure Go, statically linked: no libc to load at each start (two Go programs start per
# container: mydocker and its init), and the binaries run anywhere, the cgroup v2 VM included.
export CGO_ENABLED := 0

.PHONY: all build completion chapters chapter chapter-test deps image run test test-vm unit vet course lab progress bench parity oci-suite oci-validation fuzz faults clean

all: build

# mydocker, and beside it the small program it starts as each container's init (mydocker/init),
# the one that watches a detached container while it runs (mydocker/shim), the registry client
# pull and push run (mydocker/registry), the builder build runs (mydocker/build), the names
# resolver of user networks (mydocker/dns) and the runtime with runc's command line, for
# containerd and dockerd (mydocker/runc).
build:
	$(GO) build -ldflags "-X github.com/mydocker/mydocker/mydocker/commands.GitCommit=$$(git rev-parse --short HEAD 2>/dev/null)" -o $(BIN) ./mydocker
	$(GO) build -o $(BIN)-init ./mydocker/init
	$(GO) build -o $(BIN)-shim ./mydocker/shim
	$(GO) build -o $(BIN)-registry ./mydocker/registry
	$(GO) build -o $(BIN)-build ./mydocker/build
	$(GO) build -o $(BIN)-runc ./mydocker/runc
	$(GO) build -o $(BIN)-serve ./mydocker/serve
	$(GO) build -o $(BIN)-dns ./mydocker/dns

# The OCI runtime test suite (runtime-tools v0.9.0, pinned in internal/ocivalidation) against
# mydocker-runc, alone: its programs give a container seconds to act on a signal, which a
# machine busy with the other tests (the VM) does not always give. oci-validation runs it
# against runc too, for the count each passes on this machine.
OCI_SUITE = MYDOCKER_OCI_SUITE=1 $(GO) test -count=1 -v -run '^TestOCIValidation$$' ./mydocker/
oci-suite:
	@log=$$(mktemp); $(OCI_SUITE) > $$log 2>&1; status=$$?; \
	grep -E 'passes|fails|listed|^(--- |ok|FAIL)' $$log; rm -f $$log; exit $$status
oci-validation: deps
	@$(MAKE) --no-print-directory oci-suite
	@MYDOCKER_OCI_RUNTIME=$$(command -v runc) $(MAKE) --no-print-directory oci-suite

# Shell completion for mydocker: bash, zsh and fish, where each shell looks for it.
completion: build
	@mkdir -p /etc/bash_completion.d /usr/share/zsh/vendor-completions /usr/share/fish/vendor_completions.d
	$(BIN) completion bash > /etc/bash_completion.d/mydocker
	$(BIN) completion zsh > /usr/share/zsh/vendor-completions/_mydocker
	$(BIN) completion fish > /usr/share/fish/vendor_completions.d/mydocker.fish

# Every chapter's engine: bin/ch01 ... bin/ch18.
chapters:
	@for d in chapters/[0-9]*/; do n=$$(basename $$d); $(GO) build -o bin/ch$${n%%-*} ./$$d || exit 1; done

# Debian/Ubuntu packages the engine and its tests use, installed only when missing. No service
# may start on install (policy-rc.d): the parity tests run a private dockerd of their own, never
# the system-wide one the docker.io package would otherwise start.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		guard=""; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; guard=1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; rc=$$?; \
		[ -n "$$guard" ] && rm -f /usr/sbin/policy-rc.d; exit $$rc; \
	fi

# The default image: the host's static busybox, imported like any other rootfs tarball.
image: deps build
	@if ! $(BIN) --root $(ROOT) inspect busybox >/dev/null 2>&1; then \
		$(GO) run ./internal/busybox/mkimage -o bin/busybox.tar && \
		$(BIN) --root $(ROOT) import --change 'CMD ["sh"]' bin/busybox.tar busybox; \
	fi

# The main job: an interactive busybox container.
run: image
	$(BIN) --root $(ROOT) run -it --rm busybox sh

vet:
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff

# The privileged tests again, in a VM booting Debian's stable kernel with cgroup v2 alone
# (qemu, software emulation; the kernel is cached in /var/cache/mydocker-vm).
test-vm: deps
	$(GO) test -count=1 -v -timeout 25m -run TestCgroupV2VM ./internal/vmtest/

# The packages whose tests must pass: all but the labs, which fail until a learner solves them.
PKGS = $$($(GO) list ./... | grep -v /labs/)

# Everything: unit tests and, as root, the privileged ones (chapter transcripts included), on
# this host and in the v2 VM; then the course's own checks. One package at a time (-p 1): the
# privileged tests look at the host's links, mounts, rules and tasks, which another package's
# tests would change meanwhile.
test: deps vet
	$(GO) test -p 1 $(GOFLAGS_TEST) -count=1 -timeout 30m $(PKGS)
	@$(MAKE) --no-print-directory oci-suite
	@$(MAKE) --no-print-directory course
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3000x
	@$(MAKE) --no-print-directory bench BENCH_SCALE=5 BENCH_COUNT=1x DENSITY=5

# Only what needs no root.
unit:
	$(GO) test -short -count=1 $(PKGS)

# The course proves itself: every chapter builds, every lab has its README and HINTS, every lab
# passes with the reference solution and fails on its untouched stub (one that passes unsolved
# tests nothing).
course: chapters
	@for d in labs/[0-9]*/; do for f in README.md HINTS.md; do \
		[ -f $$d$$f ] || { echo "$$d has no $$f"; exit 1; }; done; done
	@for d in chapters/[0-9]*/; do [ $$(wc -l < $$d/README.md) -ge 60 ] || { echo "$$d: a lesson of fewer than 60 lines"; exit 1; }; done
	$(GO) test -count=1 -tags solution ./labs/...
	@for d in labs/[0-9]*/; do \
		if $(GO) test -count=1 ./$$d >/dev/null 2>&1; then echo "$$d passes on its untouched stub"; exit 1; fi; \
	done; echo "every lab fails on its stub, as it should"
	@# Run as nobody, a lab must not pass while its privileged tests skip.
	@t=$$(mktemp -d); chmod 755 $$t; for d in labs/[0-9]*/; do \
		$(GO) test -c -tags solution -o $$t/lab.test ./$$d >/dev/null && chmod 755 $$t/lab.test; \
		out=$$(cd $$t && setpriv --reuid=65534 --regid=65534 --clear-groups ./lab.test -test.v 2>&1); rc=$$?; \
		if [ $$rc = 0 ] && echo "$$out" | grep -q -- '--- SKIP'; then echo "$$d passes without root while skipping tests"; rm -rf $$t; exit 1; fi; \
	done; rm -rf $$t; echo "no lab passes without root by skipping its privileged tests"
	@# The learner's code runs the chapters: each transcript passes on the reference adapters
	@# (-tags 'lab solution') and fails on the untouched stubs (-tags lab).
	@for d in chapters/[0-9]*/; do n=$$(basename $$d); n=$${n%%-*}; ls -d labs/$$n-*/ >/dev/null 2>&1 || continue; \
		$(GO) test -count=1 -tags 'lab solution' ./$$d >/dev/null 2>&1 || { echo "$$d fails on the labs' reference adapters"; $(GO) test -count=1 -tags 'lab solution' ./$$d | tail -20; exit 1; }; \
		if $(GO) test -count=1 -tags lab ./$$d >/dev/null 2>&1; then echo "$$d passes on the labs' untouched stubs"; exit 1; fi; \
	done; echo "every chapter runs on the learner's lab code: it passes with the reference, fails with the stubs"

# Where a learner is: per chapter, whether its lab passes and whether the chapter runs on the
# learner's code; then the machine checks (mydocker doctor's).
progress:
	@$(GO) run ./internal/progress

# One lab's tests, as a learner runs them: make lab N=03 (as root for the privileged ones).
lab:
	$(GO) test -count=1 ./labs/$(N)-*/

# One chapter's program, bin/chNN: make chapter N=03; with LAB=1, on your lab code (labs/01 to
# NN in place of the engine's functions); with LAB=07 (or LAB=04,07), on those labs of yours
# alone, the engine's own functions serving for the others. chapter-test runs its lesson's
# transcript.
LABTAGS = $(if $(LAB),-tags lab $(if $(filter 1,$(LAB)),,-ldflags '-X github.com/mydocker/mydocker/chapters/internal/lab.Only=$(LAB)'),)
chapter:
	$(GO) build $(LABTAGS) -o bin/ch$(N) ./chapters/$(N)-*/
chapter-test:
	$(GO) test -count=1 $(LABTAGS) ./chapters/$(N)-*/

# Go's fuzzing, each target for FUZZTIME: the tar unpacker, whiteouts and the parsers of what
# users type. Their seed corpora run with every go test. make test gives a count of inputs
# (3000x), not a duration: Go before 1.27 may fail a duration's last moment with "context
# deadline exceeded" on a busy machine (golang/go#75804).
FUZZTIME ?= 15s
FUZZ_TARGETS = ./workspace:FuzzUnpackLayer ./workspace:FuzzWhiteoutTarget ./workspace:FuzzParseVolume \
	./workspace:FuzzNormalizeRef ./network:FuzzParsePort ./cgroups:FuzzRAMInBytes ./internal/names:FuzzValidate \
	./internal/jsonlog:FuzzAppendEntry
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t#*:}; echo "== $$fn ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; done

# The fault suite (also part of every go test run): mydocker killed with SIGKILL at each phase
# of a run, a detached container's monitor killed, a store on a full disk.
faults: deps
	$(GO) test -count=1 -v -run 'TestFault|TestCrash' ./mydocker/

# Speed, as one table: run --rm busybox true beside the floor (unshare + chroot), runc and crun
# (its wrapper timed alone and taken off), on --net none and on the default bridge; --version
# beside a Go hello world; run, inspect, rm and ps -a with BENCH_SCALE containers on record
# against one; a detached container's watcher's memory; DENSITY detached containers running at
# once on one root (what each costs, ps, a start among them, stop and rm -f of all, the host's
# limits). make test runs them once each at a small scale, only to see that they work.
BENCH_SCALE ?= 500
BENCH_COUNT ?= 20x
DENSITY ?= 1000
bench: deps
	@$(GO) test -run '^$$' -bench . -benchtime $(BENCH_COUNT) -timeout 45m ./mydocker/ -args -bench.scale=$(BENCH_SCALE) -bench.density=$(DENSITY) | $(GO) run ./internal/benchtable

# The same commands under Docker 20.10 (a private dockerd) and mydocker, side by side.
parity: deps
	$(GO) test -count=1 -v -run 'TestDocker(CLI)?Parity' ./mydocker/ -parity.table | grep -E '^(\||--- |ok|FAIL)'

clean:
	rm -rf bin
