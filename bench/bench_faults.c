// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmusim-bench: fault-rate benchmark in the style of KVM's
 * demand_paging_test.  Each vCPU thread touches every 4K page of its own
 * range once (cold faults through the full simulated path: TDP violation,
 * memslot lookup, GUP with host demand allocation, mmu_lock read, cmpxchg
 * install), then touches them again (populated path).  Rates are medians of
 * -r repetitions, each on a fresh VM and host.
 *
 *   mmusim-bench [-v vcpus] [-b bytes_per_vcpu] [-r reps] [-w 0|1] [-q]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmusim_env.h"
#include <mmusim/host.h>
#include <mmusim/vm.h>

struct run {
	struct mmusim_vm *vm;
	int idx;
	u64 bytes;
	int type;
	u64 t_cold, t_warm;
	long done_cold, done_warm;
};

static int vcpu_fn(void *arg)
{
	struct run *r = arg;
	struct mmusim_vcpu *v = mmusim_vm_vcpu(r->vm, r->idx);
	gpa_t gpa = (gpa_t)r->idx * r->bytes;
	u64 n = r->bytes / PAGE_SIZE, t0;

	t0 = ktime_get_ns();
	r->done_cold = mmusim_vcpu_access_range(v, gpa, n, 0, r->type, NULL);
	r->t_cold = ktime_get_ns() - t0;
	t0 = ktime_get_ns();
	r->done_warm = mmusim_vcpu_access_range(v, gpa, n, 0, r->type, NULL);
	r->t_warm = ktime_get_ns() - t0;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static int one_rep(int nr_vcpus, u64 bytes, int type, u64 *cold_ns, u64 *warm_ns)
{
	struct sim_host_config hc = { .mem_bytes = ALIGN(nr_vcpus * bytes + (256ULL << 20), 1ULL << 30) };
	struct mmusim_vm_config cfg = { .nr_vcpus = nr_vcpus };
	struct kvm_userspace_memory_region mr = { 0 };
	struct run runs[64];
	struct env_thread *th[64];
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	hva_t hva;
	int i, ret = 0;

	if (sim_host_create(&hc, &host) || sim_mm_create(host, &mm) ||
	    mmusim_vm_create(host, mm, &cfg, &vm))
		return -1;
	if (sim_mmap(mm, 0, nr_vcpus * bytes, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &hva))
		return -1;
	mr.memory_size = nr_vcpus * bytes;
	mr.userspace_addr = hva;
	if (mmusim_vm_set_user_memory_region(vm, &mr))
		return -1;
	for (i = 0; i < nr_vcpus; i++) {
		runs[i] = (struct run){ .vm = vm, .idx = i, .bytes = bytes, .type = type };
		th[i] = env_thread_start(vcpu_fn, &runs[i], "vcpu");
	}
	*cold_ns = *warm_ns = 0;
	for (i = 0; i < nr_vcpus; i++) {
		env_thread_join(th[i]);
		if (runs[i].done_cold != (long)(bytes / PAGE_SIZE))
			ret = -1;
		*cold_ns = max(*cold_ns, runs[i].t_cold);
		*warm_ns = max(*warm_ns, runs[i].t_warm);
	}
	mmusim_vm_destroy(vm);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
	return ret;
}

int main(int argc, char **argv)
{
	int nr_vcpus = 1, reps = 5, type = MMUSIM_ACCESS_WRITE, opt, i;
	u64 bytes = 256ULL << 20, cold[32], warm[32], pages;

	while ((opt = getopt(argc, argv, "v:b:r:w:")) != -1) {
		switch (opt) {
		case 'v': nr_vcpus = atoi(optarg); break;
		case 'b': bytes = strtoull(optarg, NULL, 0) << 20; break;
		case 'r': reps = atoi(optarg); break;
		case 'w': type = atoi(optarg) ? MMUSIM_ACCESS_WRITE : MMUSIM_ACCESS_READ; break;
		default:
			fprintf(stderr, "usage: %s [-v vcpus] [-b MiB_per_vcpu] [-r reps] [-w 0|1]\n",
				argv[0]);
			return 2;
		}
	}
	if (nr_vcpus < 1 || nr_vcpus > 64 || reps < 1 || reps > 32 || !bytes)
		return 2;
	env_thread_register();
	pages = bytes / PAGE_SIZE;
	for (i = 0; i < reps; i++) {
		if (one_rep(nr_vcpus, bytes, type, &cold[i], &warm[i])) {
			fprintf(stderr, "run %d failed\n", i);
			return 1;
		}
	}
	qsort(cold, reps, sizeof(u64), cmp_u64);
	qsort(warm, reps, sizeof(u64), cmp_u64);
	printf("vcpus %d, %llu pages per vcpu, %d reps (median)\n", nr_vcpus,
	       (unsigned long long)pages, reps);
	printf("cold faults: %.2f M faults/s aggregate, %.1f ns per fault per vcpu\n",
	       (double)pages * nr_vcpus / cold[reps / 2] * 1e3, (double)cold[reps / 2] / pages);
	printf("populated:   %.2f M accesses/s aggregate, %.1f ns per access per vcpu\n",
	       (double)pages * nr_vcpus / warm[reps / 2] * 1e3, (double)warm[reps / 2] / pages);
	return 0;
}
