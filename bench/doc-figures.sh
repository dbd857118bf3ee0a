#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Re-measures every figure of docs/benchmarks.md.  Takes a few minutes and
# wants a quiet machine: the figures are medians, but a busy neighbour on a
# 2-CPU box still moves them.
#
#   bench/doc-figures.sh [build-dir] [out-dir]
#
# Writes <out-dir>/*.txt (the tables), *.json, *.csv, bench-sweep.png and
# bench-sev-boot.png.
# Exits 1 at the first mmusim-bench run that fails (2 if there is none to run).
set -eu

BUILD=${1:-build}
OUT=${2:-out/bench}
BENCH=$BUILD/bench/mmusim-bench

if [ ! -x "$BENCH" ]; then
	echo "doc-figures.sh: no $BENCH (build it first: make build)" >&2
	exit 2
fi
mkdir -p "$OUT"
run() {
	name=$1
	shift
	echo "== $name: mmusim-bench $*" | tee "$OUT/$name.txt"
	# tee would hide the status: keep it in a file.
	{
		rc=0
		"$BENCH" -q "$@" -j "$OUT/$name.json" -c "$OUT/$name.csv" || rc=$?
		echo "$rc" >"$OUT/$name.rc"
	} | tee -a "$OUT/$name.txt"
	rc=$(cat "$OUT/$name.rc")
	rm -f "$OUT/$name.rc"
	if [ "$rc" != 0 ]; then
		echo "doc-figures.sh: mmusim-bench $* failed (exit $rc)" >&2
		exit 1
	fi
}

# 1 vCPU: cold 4K faults through the full path, populated path, refault
# after zap_all_fast, dirty-log fast path, zap and teardown rates, RSS.
run single -v 1 -b 1G -r 5 -t fault,fast,zap
# 2 vCPUs, partitioned, with and without the modelled exit + GUP cost.
run two-exit -v 2 -b 256M -r 5 --exit-ns 1000
run two-zero -v 2 -b 256M -r 5
# 2 vCPUs on the same memory.
run two-overlap -v 2 -b 256M -r 5 -o
# Random order, half reads.
run random -v 1 -b 256M -r 5 -a -w 50
# Huge-page backings.
run thp -v 1 -b 4G -r 3 -s thp
run hugetlb-2m -v 1 -b 4G -r 3 -s hugetlb-2m
run hugetlb-1g -v 1 -b 4G -r 3 -s hugetlb-1g
# faults/s against vCPUs, plotted.
run sweep --sweep 1,2,4,8 -b 128M -r 5 --exit-ns 1000 -p "$OUT/bench-sweep.png"
# Guest size 1 GiB .. 64 GiB, every page faulted.
run scale -t scale --scale-max 64G -r 3
# SEV boot, up-front vs demand pinning, 1..4 GiB (no CSV: its own JSON).
echo "== sev-boot: mmusim-bench -t sev-boot --sizes 1G,2G,3G,4G -r 5" | tee "$OUT/sev-boot.txt"
"$BENCH" -t sev-boot --sizes 1G,2G,3G,4G -r 5 -j "$OUT/sev-boot.json" \
	-p "$OUT/bench-sev-boot.png" >>"$OUT/sev-boot.txt" || {
	echo "doc-figures.sh: mmusim-bench -t sev-boot failed" >&2
	exit 1
}
cat "$OUT/sev-boot.txt"
