# SPDX-License-Identifier: GPL-2.0-only
#
# Thin wrapper over CMake.  `make demo` and `make check` install what is
# missing (scripts/install-deps), configure, build and run.
#
#   make demo        run the main job on its embedded default configuration
#   make check       every test: gcc build, fast-environment build, ASan+UBSan build,
#                    TSan build, core include rules, and the self-tests inside a kernel
#   make kmod        build kernel/mmusim.ko into out/kmod (W=1, -Werror)
#   make kmod-check  boot Debian 12's 6.1 and 6.12 kernels under qemu, run the self-tests (KTAP)
#   make kmod-check-debug  the same on a lockdep+KASAN+kmemleak kernel built from
#                    linux-source-6.12, cached in /var/cache/mmusim/kdebug
#                    (scripts/kmod-debug-kernel; the first build is long)
#   make build       configure and build ./build (RelWithDebInfo, jemalloc)
#   make build-fast  the same in ./build-fast with the production environment
#                    (-DMMUSIM_ENV=fast: kernel-like locks, no checks; docs/benchmarks.md)
#   make check-fast  build-fast's tests (those of the checks themselves skip)
#   make bench       short TDP-vs-legacy fault benchmark and the SEV boot benchmark on
#                    build-fast (docs/benchmarks.md)
#   make bench-targets  issue 18's targets, checked and fast build side by side, met or not:
#                    $(BUILD_FAST)/targets.{json,md,png} (bench/targets; TARGET_ROUNDS=5)
#   make fuzz        run each libFuzzer target FUZZ_TIME seconds (default 60; docs/fuzzing.md)
#   make fuzz-corpus keep an edge-covering subset of the campaign corpora in fuzz/corpus
#   make check-fresh the README's first lines in a fresh debootstrap minbase Debian 12
#                    chroot, up to `make demo` (scripts/check-fresh; root, network)
#   make check-all   check + check-fresh + kmod-check-debug (what .ci/run runs)
#   make install     install headers, libmmusim.{a,so}, mmusim.pc, the CMake package and
#                    the commands under $(DESTDIR)$(PREFIX) (PREFIX=/usr/local)
#   make check-install  install to a scratch prefix, build examples/ against it with
#                    find_package and pkg-config, C and C++ (scripts/check-install)
#   make check-docs  run the docs' runnable blocks, check the paths they name (scripts/check-docs)
#   make deb         Debian packages libmmusim-dev and mmusim in out/deb (dpkg-buildpackage; debian/)
#   make format      clang-format the lines changed since FORMAT_BASE (default HEAD: the
#                    uncommitted ones; for a branch, FORMAT_BASE=$$(git merge-base HEAD main):
#                    a commit the branch contains); never whole files
#   make check-format  fail if `make format` would change anything
#   make clean

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_TSAN ?= build-tsan
BUILD_FUZZ ?= build-fuzz
BUILD_FAST ?= build-fast
FUZZ_TIME  ?= 60
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=
PREFIX     ?= /usr/local
FORMAT_BASE ?= HEAD
CLANG_FORMAT := git clang-format --binary clang-format-14
DESTDIR    ?=
CTEST      := ctest --output-on-failure -j $(JOBS)

.PHONY: all deps deps-build build demo check check-plain check-asan check-tsan format clean
.PHONY: check-includes kmod kmod-check kmod-check-debug bench bench-targets
.PHONY: fuzz fuzz-build fuzz-corpus check-fuzz check-fresh check-all install check-install
.PHONY: check-docs check-format deb build-fast check-fast

all: build

deps:
	@scripts/install-deps

deps-build:
	@scripts/install-deps build

define configure
	cmake -S . -B $(1) -G Ninja $(2) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(1) -j $(JOBS)
endef

build: deps-build
	$(call configure,$(BUILD),-DCMAKE_BUILD_TYPE=RelWithDebInfo)

build-fast: deps-build
	$(call configure,$(BUILD_FAST),-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMUSIM_ENV=fast)

# Ends with one verdict line, PASS or the step that failed.
demo: build
	@t0=$$(date +%s); for step in "tools/mmusim demo" "tools/mmusim pfn-demo" "tools/mmusim sev-demo" \
		"bench/mmusim-bench --demo"; do \
		echo "./$(BUILD)/$$step"; \
		./$(BUILD)/$$step || { echo "make demo: FAIL: ./$(BUILD)/$$step exited $$?"; exit 1; }; \
		echo; \
	done; \
	echo "make demo: PASS: demo, pfn-demo, sev-demo and mmusim-bench --demo ran clean (invariants held," \
		"no leaked object, no WARN) in $$(($$(date +%s) - t0)) s"

# BENCH_ARGS adds mmusim-bench options to both runs, e.g. BENCH_ARGS="-r 5 -q".
# Benchmarks run the production environment; every result line says env=fast.
bench: build-fast
	@scripts/install-deps bench
	./$(BUILD_FAST)/bench/mmusim-bench -t fault,fast,zap $(BENCH_ARGS)
	./$(BUILD_FAST)/bench/mmusim-bench -v 2 --exit-ns 1000 $(BENCH_ARGS)
	./$(BUILD_FAST)/bench/mmusim-bench-map
	./$(BUILD_FAST)/bench/mmusim-bench-dirty -r 3
	./$(BUILD_FAST)/bench/mmusim-bench -t sev-boot --sizes 512M,1G,2G -r 3 \
		-p $(BUILD_FAST)/bench-sev-boot.png

# Every target of issue 18 in both builds: the README's table (docs/benchmarks.md).
TARGET_ROUNDS ?= 5
bench-targets: build build-fast
	@scripts/install-deps bench
	bench/targets $(BUILD) $(BUILD_FAST) $(TARGET_ROUNDS) $(BUILD_FAST)/targets

check-plain: build
	cd $(BUILD) && $(CTEST)

check-fast: build-fast
	cd $(BUILD_FAST) && $(CTEST)

install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

check-install: build
	scripts/check-install $(BUILD)

check-asan: deps
	$(call configure,$(BUILD_ASAN),-DCMAKE_BUILD_TYPE=Debug -DMMUSIM_SANITIZE=address)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(CTEST)

# TSan's runtime needs a fixed address-space layout on kernels with large mmap ASLR.
check-tsan: deps
	$(call configure,$(BUILD_TSAN),-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMUSIM_SANITIZE=thread)
	cd $(BUILD_TSAN) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		setarch $$(uname -m) -R $(CTEST)

check-includes:
	scripts/check-core-includes

kmod:
	@scripts/install-deps kmod
	$(MAKE) -C kernel

# Then 6.12 again, fully preemptible on one CPU: a vCPU preempted in guest
# mode would leave a sender spinning under mmu_lock (docs/kernel-module.md).
kmod-check:
	scripts/kmod-check
	KMOD_SERIES=6.12 KMOD_SMP=1 KMOD_APPEND="preempt=full slub_debug=FZPU page_poison=1" \
		OUT=$(CURDIR)/out/kmod-preempt scripts/kmod-check

kmod-check-debug:
	scripts/kmod-debug-kernel

# libFuzzer needs clang; jemalloc is inert under ASan.  Seeds replay in every ctest run.
fuzz-build: deps-build
	CC=clang-14 cmake -S . -B $(BUILD_FUZZ) -G Ninja -DMMUSIM_FUZZ=ON -DMMUSIM_JEMALLOC=OFF \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target mmusim_fuzzers

fuzz: fuzz-build
	fuzz/run-fuzzers $(BUILD_FUZZ) $(FUZZ_TIME)

fuzz-corpus: fuzz-build
	fuzz/refresh-cov-corpus $(BUILD_FUZZ)

check-fuzz: fuzz-build
	FUZZ_FRESH=1 fuzz/run-fuzzers $(BUILD_FUZZ) 5

deb:
	@scripts/install-deps deb
	DEB_BUILD_OPTIONS="nocheck parallel=$(JOBS)" dpkg-buildpackage -us -uc -b
	mkdir -p out/deb
	mv ../libmmusim-dev*_amd64.deb ../mmusim*_amd64.deb ../mmusim_*_amd64.buildinfo \
		../mmusim_*_amd64.changes out/deb/
	@echo "make deb: $$(ls out/deb/*.deb | tr '\n' ' ')"

check-docs: build
	scripts/check-docs $(BUILD)

check: check-plain check-fast check-install check-docs check-format check-asan check-tsan \
	check-includes check-fuzz kmod-check
	@echo "make check: all test configurations passed"

check-fresh:
	scripts/check-fresh

check-all: check check-fresh kmod-check-debug
	@echo "make check-all: all checks passed"

# Whole files are never reformatted: the tree predates .clang-format in places (a
# whole-tree clang-format-14 would change 104 of 143 files), and others edit them.
format:
	@scripts/install-deps format
	$(CLANG_FORMAT) $(FORMAT_BASE)

check-format:
	@scripts/install-deps format
	@out=$$($(CLANG_FORMAT) --diff $(FORMAT_BASE) 2>&1); \
	case "$$out" in \
	"no modified files to format"|"clang-format did not modify any files") \
		echo "check-format: the lines changed since $(FORMAT_BASE) are formatted" ;; \
	*) echo "$$out"; echo "check-format: run make format FORMAT_BASE=$(FORMAT_BASE)"; exit 1 ;; \
	esac

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN) build-* out obj-*
