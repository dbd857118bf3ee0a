// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmusim-bench-map: the cost of one kvm_vcpu_map() + kvm_vcpu_unmap() of a
 * guest page, through kmap (the page has a struct page) against memremap
 * (PFN-only memory: a mapping record per map), as KarimAllah Ahmed's cover
 * letter warns ("memremap is slow").  The kernel side is timed directly
 * (__kvm_vcpu_map() + kvm_vcpu_unmap() under the memslot SRCU read side, as
 * KVM's nested code calls them), without the public wrapper's copies to
 * user memory, which are syscalls here.  Both run on one host in one
 * process, interleaved run by run, with a control measured the same way:
 * the pfn lookup alone (__kvm_follow_pfn() of the RAM page and its release),
 * which every map includes and which uses neither mapping.  Each figure is
 * the median over -r runs of -n operations; the ratios are taken run by
 * run, then their median.
 *
 *   mmusim-bench-map [-n OPS] [-r RUNS] [-m v9|6.13] [-o kmap|memremap|control]
 *
 * -o runs one operation only (no ratio): for instruction counts, run it
 * under callgrind at two -n and divide the difference.
 *
 * Not core code: libc is fine here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mmusim_env.h"
#include <mmusim/host.h>
#include <mmusim/vm.h>
#include "bench_stats.h"
#include "cli.h"
#include "pfn/kvm_pfn.h"

#define MiB (1ULL << 20)
#define NOPAGE_BASE (1ULL << 20)
#define MAX_RUNS 101

enum { OP_KMAP, OP_MEMREMAP, OP_CONTROL, NR_OPS };
static const char *const op_keys[NR_OPS] = { "kmap", "memremap", "control" };
static const char *const op_names[NR_OPS] = { "map+unmap, kmap (struct page)",
					      "map+unmap, memremap (PFN-only)",
					      "control: pfn lookup + release" };

/* ns per operation of @n ops of kind @op on @gfn. */
static double run_ops(struct mmusim_vcpu *v, int op, u64 gfn, long n)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);
	struct kvm *kvm = vcpu->kvm;
	struct kvm_host_map map;
	struct kvm_follow_pfn foll;
	int idx = srcu_read_lock(&kvm->slots.srcu);
	double t0 = bench_now_ns();
	long i;

	for (i = 0; i < n; i++) {
		if (op == OP_CONTROL) {
			foll = (struct kvm_follow_pfn){
				.kvm = kvm,
				.slot = __gfn_to_memslot(kvm_memslots_as(&kvm->slots, 0), gfn),
				.gfn = gfn,
				.flags = FOLL_WRITE,
			};
			if (is_error_noslot_pfn(__kvm_follow_pfn(&foll)))
				break;
			kvm_release_page_clean(kvm, foll.refcounted_page);
			continue;
		}
		if (__kvm_vcpu_map(vcpu, gfn, &map, true))
			break;
		kvm_vcpu_unmap(vcpu, &map, false);
	}
	srcu_read_unlock(&kvm->slots.srcu, idx);
	return i < n ? -1 : (bench_now_ns() - t0) / n;
}

int main(int argc, char **argv)
{
	struct sim_host_config hc = {
		.mem_bytes = 64 * MiB,
		.nopage_base_pfn = NOPAGE_BASE,
		.nopage_pages = 16,
		.kvm_allow_unsafe_mappings = true,
	};
	struct mmusim_vm_config cfg = { .pfn_model = MMUSIM_PFN_MODEL_V9 };
	int rw = SIM_PROT_READ | SIM_PROT_WRITE;
	double ns[NR_OPS][MAX_RUNS], ratio[MAX_RUNS];
	struct kvm_userspace_memory_region rg = { .memory_size = 16 * 4096 };
	static const u64 gfns[NR_OPS] = { 0, 16, 0 };
	struct mmusim_vcpu *vcpu;
	struct sim_host *host;
	struct mmusim_vm *vm;
	struct sim_mm *mm;
	long n = 200000;
	int runs = 7, only = -1, i, op, c;
	hva_t ram, nopage;
	char *end;

	/* tools/cli.h's conventions: --help is -h, --version. */
	cli_set_prog("mmusim-bench-map");
	if (argc > 1 && !strcmp(argv[1], "--version"))
		return cli_print_version(), 0;
	if (argc > 1 && !strcmp(argv[1], "--help"))
		argv[1] = "-h";
	while ((c = getopt(argc, argv, "n:r:m:o:h")) != -1) {
		switch (c) {
		case 'o':
			for (only = 0; only < NR_OPS; only++)
				if (!strncmp(optarg, op_keys[only], strlen(optarg) + 1))
					break;
			if (only == NR_OPS)
				goto usage;
			break;
		case 'n':
			n = strtol(optarg, &end, 0);
			if (*end || n < 1)
				goto usage;
			break;
		case 'r':
			runs = strtol(optarg, &end, 0);
			if (*end || runs < 1 || runs > MAX_RUNS)
				goto usage;
			break;
		case 'm':
			if (!strcmp(optarg, "v9"))
				cfg.pfn_model = MMUSIM_PFN_MODEL_V9;
			else if (!strcmp(optarg, "6.13"))
				cfg.pfn_model = MMUSIM_PFN_MODEL_6_13;
			else
				goto usage;
			break;
		case 'h':
			printf("usage: mmusim-bench-map [-n OPS] [-r RUNS 1..%d] [-m v9|6.13] "
			       "[-o kmap|memremap|control]\n", MAX_RUNS);
			return 0;
		default:
			goto usage;
		}
	}

	env_thread_register();
	if (sim_host_create(&hc, &host) || sim_mm_create(host, &mm) ||
	    mmusim_vm_create(host, mm, &cfg, &vm) ||
	    sim_mmap(mm, 0, 16 * 4096, rw, SIM_MAP_PRIVATE | SIM_MAP_POPULATE, &ram) ||
	    sim_mmap_pfn(mm, 0, 16 * 4096, rw, NOPAGE_BASE, &nopage)) {
		fprintf(stderr, "mmusim-bench-map: set-up failed\n");
		return 1;
	}
	rg.slot = 0;
	rg.guest_phys_addr = 0;
	rg.userspace_addr = ram;
	if (mmusim_vm_set_user_memory_region(vm, &rg))
		return 1;
	rg.slot = 1;
	rg.guest_phys_addr = 16 * 4096;
	rg.userspace_addr = nopage;
	if (mmusim_vm_set_user_memory_region(vm, &rg))
		return 1;
	vcpu = mmusim_vm_vcpu(vm, 0);
	/* Warm up: faults, the map table, allocator caches. */
	for (op = 0; op < NR_OPS; op++)
		if (run_ops(vcpu, op, gfns[op], 1000) < 0)
			return 1;

	for (i = 0; i < runs; i++) {
		for (op = 0; op < NR_OPS; op++) {
			if (only >= 0 && op != only) {
				ns[op][i] = 1;
				continue;
			}
			ns[op][i] = run_ops(vcpu, op, gfns[op], n);
			if (ns[op][i] < 0) {
				fprintf(stderr, "mmusim-bench-map: %s failed\n", op_names[op]);
				return 1;
			}
		}
		ratio[i] = ns[OP_MEMREMAP][i] / ns[OP_KMAP][i];
	}

	printf("mmusim-bench-map: pfn model %s, %d runs x %ld ops, medians (ns per op), env=%s\n",
	       cfg.pfn_model == MMUSIM_PFN_MODEL_V9 ? "v9" : "6.13", runs, n, bench_env());
	for (op = 0; op < NR_OPS; op++)
		if (only < 0 || op == only)
			printf("  %-34s %8.1f ns\n", op_names[op],
			       bench_median_double(ns[op], runs));
	if (only < 0)
		printf("  %-34s %8.2f\n", "memremap / kmap ratio",
		       bench_median_double(ratio, runs));

	mmusim_vm_destroy(vm);
	sim_mm_destroy(mm);
	sim_host_destroy(host); /* runs the RCU callbacks still queued */
	env_thread_unregister();
	return env_live_objects() || env_warn_count() ? 1 : 0;
usage:
	fprintf(stderr, "mmusim-bench-map: bad option (try -h)\n");
	return 2;
}
