#!/bin/bash -eu
# SPDX-License-Identifier: GPL-2.0-only
#
# ClusterFuzzLite / OSS-Fuzz build.  $CC, $CFLAGS (sanitizer and
# -fsanitize=fuzzer-no-link) and $LIB_FUZZING_ENGINE come from the base
# image; fuzz/CMakeLists.txt uses them when LIB_FUZZING_ENGINE is set.  This
# script only configures with MMUSIM_FUZZ=ON and copies each target, its
# dictionary and its zipped seed corpus to $OUT.
cd "$SRC/mmusim"
cmake -S . -B build-cfl -G Ninja -DMMUSIM_FUZZ=ON -DMMUSIM_JEMALLOC=OFF -DMMUSIM_TESTS=OFF \
      -DMMUSIM_WERROR=OFF
cmake --build build-cfl --target mmusim_fuzzers

for t in fuzz_spte fuzz_mmu_ops fuzz_mmu_ops_failinj fuzz_memslot_uapi; do
	cp "build-cfl/fuzz/$t" "$OUT/"
	if [ -f "fuzz/$t.dict" ]; then
		cp "fuzz/$t.dict" "$OUT/$t.dict"
	fi
	(cd "fuzz/corpus/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
done
