// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmusim-bench-dirty: the phases of KVM's dirty_log_perf_test on one VM.
 *
 *   populate      every vCPU writes each page of its share once
 *   enable        KVM_MEM_LOG_DIRTY_PAGES on (eager splitting here, unless -E;
 *                 nothing with -m, INITIALLY_SET)
 *   iterations    -i times: every vCPU dirties its share, then the log is
 *                 fetched (and cleared, with -m, in 64-page chunks)
 *   disable       logging off (huge pages recovered in place, or zapped
 *                 with -z), then every vCPU reads its share again: the
 *                 faults this takes are the cost of the recovery strategy
 *
 * With -a it runs access_tracking_perf_test's phases instead: populate,
 * then -i iterations of marking all memory idle (the host's page aging:
 * clear_young through the MMU notifier, as the selftest's idle-page
 * bitmap writes do) and of every vCPU touching its share again; with -A
 * (EPT without A/D bits) aging access-tracks SPTEs, so every touch after
 * it is a fast-path fault.
 *
 * Times are wall-clock per phase, medians over -r repetitions (a fresh VM
 * each); the eager split rate is the split SPTEs (512 per split 2M page)
 * over the enable phase's time.  Guest memory is hugetlb 2M by default
 * (-s 4k / thp / 2m / 1g).  Not core code: libc is fine here.
 *
 *   mmusim-bench-dirty [-v VCPUS] [-g GIB_PER_VCPU] [-i ITERS] [-r REPS]
 *                      [-s 4k|thp|2m|1g] [-E] [-m] [-p] [-z] [-l] [-a [-A]]
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

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define MAX_VCPUS 16
#define MAX_REPS 31

enum { PH_POPULATE, PH_ENABLE, PH_DIRTY, PH_GET_LOG, PH_DISABLE, PH_REACCESS, NR_PH };
static const char *const ph_names[NR_PH] = {
	"populate", "enable logging", "dirty (per iteration)", "get/clear log (per iteration)",
	"disable logging", "re-access after",
};

struct opts {
	int vcpus, iters, reps, map_flags;
	u64 bytes_per_vcpu;
	bool no_eager, manual, pml, zap, legacy, aging, no_ad;
};

struct vcpu_job {
	struct mmusim_vcpu *vcpu;
	gpa_t gpa;
	u64 npages;
	int type;
	long done;
};

static int vcpu_worker(void *arg)
{
	struct vcpu_job *j = arg;
	struct mmusim_exit exit;

	j->done = mmusim_vcpu_access_range(j->vcpu, j->gpa, j->npages, 0, j->type, &exit);
	return 0;
}

/* All vCPUs run their share at once; returns the wall time in ns. */
static double run_vcpus(struct mmusim_vm *vm, const struct opts *o, int type)
{
	struct env_thread *th[MAX_VCPUS];
	struct vcpu_job jobs[MAX_VCPUS];
	double t0 = bench_now_ns();
	int i;

	for (i = 0; i < o->vcpus; i++) {
		jobs[i] = (struct vcpu_job){
			.vcpu = mmusim_vm_vcpu(vm, i),
			.gpa = i * o->bytes_per_vcpu,
			.npages = o->bytes_per_vcpu >> 12,
			.type = type,
		};
		th[i] = env_thread_start(vcpu_worker, &jobs[i], "vcpu");
		if (!th[i])
			return -1;
	}
	for (i = 0; i < o->vcpus; i++) {
		env_thread_join(th[i]);
		if (jobs[i].done != (long)jobs[i].npages)
			return -1;
	}
	return bench_now_ns() - t0;
}

static int set_logging(struct mmusim_vm *vm, hva_t hva, u64 size, bool on)
{
	struct kvm_userspace_memory_region r = {
		.slot = 0, .flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0, .memory_size = size,
		.userspace_addr = hva,
	};

	return mmusim_vm_set_user_memory_region(vm, &r);
}

static int get_log(struct mmusim_vm *vm, const struct opts *o, unsigned long *bitmap, u64 npages)
{
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	u64 first;
	int r;

	r = mmusim_vm_get_dirty_log(vm, &log);
	if (r || !o->manual)
		return r;
	/* Manual protect: clear what was fetched, as the selftest does. */
	for (first = 0; first < npages; first += 64 * 1024) {
		struct kvm_clear_dirty_log c = {
			.slot = 0, .first_page = first,
			.num_pages = npages - first < 64 * 1024 ? npages - first : 64 * 1024,
			.dirty_bitmap = bitmap + first / (8 * sizeof(long)),
		};

		r = mmusim_vm_clear_dirty_log(vm, &c);
		if (r)
			return r;
	}
	return 0;
}

struct rep_result {
	double ns[NR_PH];
	u64 splits, refaults, recoveries;
	double age_ns, touch_ns;	/* -a: per iteration */
	u64 touch_faults, young;	/* -a: per iteration */
};

/* access_tracking_perf_test: age everything, then touch everything, -i times. */
static int run_aging(struct mmusim_vm *vm, struct sim_mm *mm, hva_t hva, u64 size,
		     const struct opts *o, struct rep_result *res)
{
	struct mmusim_vm_stats st0, st1;
	double t;
	int i;

	for (i = 0; i < o->iters; i++) {
		long young;

		t = bench_now_ns();
		young = sim_mm_age_range(mm, hva, size);
		res->age_ns += bench_now_ns() - t;
		if (young < 0)
			return -1;
		res->young += young;
		mmusim_vm_get_stats(vm, &st0);
		t = run_vcpus(vm, o, MMUSIM_ACCESS_WRITE);
		if (t < 0)
			return -1;
		res->touch_ns += t;
		mmusim_vm_get_stats(vm, &st1);
		res->touch_faults += st1.pf_taken - st0.pf_taken;
	}
	res->age_ns /= o->iters;
	res->touch_ns /= o->iters;
	res->touch_faults /= o->iters;
	res->young /= o->iters;
	return 0;
}

static int run_rep(const struct opts *o, struct rep_result *res)
{
	u64 size = o->bytes_per_vcpu * o->vcpus, npages = size >> 12;
	struct sim_host_config hc = { .mem_bytes = size + 512 * MiB };
	struct mmusim_vm_config cfg = {
		.nr_vcpus = o->vcpus, .mmu = o->legacy ? MMUSIM_MMU_LEGACY : MMUSIM_MMU_TDP,
		.no_eager_page_split = o->no_eager, .zap_collapsible = o->zap,
		.dirty_log_pml = o->pml, .ept_ad_disabled = o->no_ad,
	};
	struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = size };
	struct mmusim_vm_stats st0, st1;
	unsigned long *bitmap;
	struct sim_host *host;
	struct mmusim_vm *vm;
	struct sim_mm *mm;
	double t;
	int i, ret = -1;
	hva_t hva;

	memset(res, 0, sizeof(*res));
	bitmap = calloc((npages + 63) / 64, sizeof(long));
	if (!bitmap || sim_host_create(&hc, &host) || sim_mm_create(host, &mm) ||
	    mmusim_vm_create(host, mm, &cfg, &vm))
		return -1;
	if (o->manual && mmusim_vm_enable_manual_dirty_log_protect(
				 vm, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET))
		goto out;
	if (sim_mmap(mm, 0, size, SIM_PROT_READ | SIM_PROT_WRITE, o->map_flags, &hva))
		goto out;
	r.userspace_addr = hva;
	if (mmusim_vm_set_user_memory_region(vm, &r))
		goto out;

	res->ns[PH_POPULATE] = run_vcpus(vm, o, MMUSIM_ACCESS_WRITE);
	if (o->aging) {
		ret = res->ns[PH_POPULATE] < 0 ? -1 : run_aging(vm, mm, hva, size, o, res);
		goto out;
	}
	mmusim_vm_get_stats(vm, &st0);
	t = bench_now_ns();
	if (set_logging(vm, hva, size, true))
		goto out;
	res->ns[PH_ENABLE] = bench_now_ns() - t;
	mmusim_vm_get_stats(vm, &st1);
	res->splits = st1.huge_splits - st0.huge_splits;
	for (i = 0; i < o->iters; i++) {
		res->ns[PH_DIRTY] += run_vcpus(vm, o, MMUSIM_ACCESS_WRITE);
		t = bench_now_ns();
		if (get_log(vm, o, bitmap, npages))
			goto out;
		res->ns[PH_GET_LOG] += bench_now_ns() - t;
	}
	res->ns[PH_DIRTY] /= o->iters;
	res->ns[PH_GET_LOG] /= o->iters;
	t = bench_now_ns();
	if (set_logging(vm, hva, size, false))
		goto out;
	res->ns[PH_DISABLE] = bench_now_ns() - t;
	mmusim_vm_get_stats(vm, &st0);
	res->ns[PH_REACCESS] = run_vcpus(vm, o, MMUSIM_ACCESS_READ);
	mmusim_vm_get_stats(vm, &st1);
	res->refaults = st1.pf_taken - st0.pf_taken;
	res->recoveries = st1.huge_recoveries;
	ret = 0;
	for (i = 0; i < NR_PH; i++)
		if (res->ns[i] < 0)
			ret = -1;
out:
	mmusim_vm_destroy(vm);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
	free(bitmap);
	return ret;
}

static int usage(const char *msg)
{
	fprintf(stderr, "mmusim-bench-dirty: %s\n"
		"usage: mmusim-bench-dirty [-v VCPUS 1..%d] [-g GIB_PER_VCPU] [-i ITERS] "
		"[-r REPS 1..%d] [-s 4k|thp|2m|1g] [-E no eager split] [-m manual+initially-set] "
		"[-p PML] [-z zap collapsible] [-l legacy MMU] [-a aging mode [-A no EPT A/D]]\n",
		msg, MAX_VCPUS, MAX_REPS);
	return 2;
}

int main(int argc, char **argv)
{
	struct opts o = { .vcpus = 1, .iters = 2, .reps = 5, .bytes_per_vcpu = GiB,
			  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M };
	double ph[NR_PH][MAX_REPS], rate[MAX_REPS], age[MAX_REPS], touch[MAX_REPS];
	u64 touch_faults = 0, young = 0;
	struct rep_result res;
	u64 refaults = 0, splits = 0, recoveries = 0;
	char *end;
	int c, i, p;

	/* tools/cli.h's conventions: --help is -h, --version. */
	cli_set_prog("mmusim-bench-dirty");
	if (argc > 1 && !strcmp(argv[1], "--version"))
		return cli_print_version(), 0;
	if (argc > 1 && !strcmp(argv[1], "--help"))
		argv[1] = "-h";
	while ((c = getopt(argc, argv, "v:g:i:r:s:EmpzlaAh")) != -1) {
		switch (c) {
		case 'a':
			o.aging = true;
			break;
		case 'A':
			o.no_ad = true;
			break;
		case 'v':
			o.vcpus = strtol(optarg, &end, 0);
			if (*end || o.vcpus < 1 || o.vcpus > MAX_VCPUS)
				return usage("-v: 1..16");
			break;
		case 'g':
			o.bytes_per_vcpu = strtod(optarg, &end) * GiB;
			if (*end || o.bytes_per_vcpu < 2 * MiB || o.bytes_per_vcpu > 64 * GiB)
				return usage("-g: 0.002..64");
			o.bytes_per_vcpu &= ~(2 * MiB - 1);	/* whole huge pages */
			break;
		case 'i':
			o.iters = strtol(optarg, &end, 0);
			if (*end || o.iters < 1 || o.iters > 100)
				return usage("-i: 1..100");
			break;
		case 'r':
			o.reps = strtol(optarg, &end, 0);
			if (*end || o.reps < 1 || o.reps > MAX_REPS)
				return usage("-r: 1..31");
			break;
		case 's':
			if (!strcmp(optarg, "4k"))
				o.map_flags = SIM_MAP_PRIVATE;
			else if (!strcmp(optarg, "thp"))
				o.map_flags = SIM_MAP_PRIVATE | SIM_MAP_THP;
			else if (!strcmp(optarg, "2m"))
				o.map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M;
			else if (!strcmp(optarg, "1g"))
				o.map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_1G;
			else
				return usage("-s: 4k, thp, 2m or 1g");
			break;
		case 'E':
			o.no_eager = true;
			break;
		case 'm':
			o.manual = true;
			break;
		case 'p':
			o.pml = true;
			break;
		case 'z':
			o.zap = true;
			break;
		case 'l':
			o.legacy = true;
			break;
		case 'h':
			usage("help");
			return 0;
		default:
			return usage("unknown option");
		}
	}

	env_thread_register();
	for (i = 0; i < o.reps; i++) {
		if (run_rep(&o, &res)) {
			fprintf(stderr, "mmusim-bench-dirty: repetition %d failed\n", i);
			return 1;
		}
		for (p = 0; p < NR_PH; p++)
			ph[p][i] = res.ns[p];
		age[i] = res.age_ns;
		touch[i] = res.touch_ns;
		touch_faults = res.touch_faults;
		young = res.young;
		rate[i] = res.splits ? res.ns[PH_ENABLE] / (res.splits * 512.0) : 0;
		refaults = res.refaults;
		splits = res.splits;
		recoveries = res.recoveries;
	}
	if (o.aging) {
		printf("mmusim-bench-dirty -a: %s MMU, %d vCPU(s) x %.3f GiB, %d iterations, %d reps, "
		       "EPT A/D %s, env=%s\n",
		       o.legacy ? "legacy" : "TDP", o.vcpus, (double)o.bytes_per_vcpu / GiB,
		       o.iters, o.reps, o.no_ad ? "off" : "on", bench_env());
		printf("  %-32s %10.3f ms\n", ph_names[PH_POPULATE],
		       bench_median_double(ph[PH_POPULATE], o.reps) / 1e6);
		printf("  %-32s %10.3f ms (%llu young 4K pages)\n",
		       "mark idle (age), per iteration", bench_median_double(age, o.reps) / 1e6,
		       (unsigned long long)young);
		printf("  %-32s %10.3f ms (%llu faults)\n", "touch all, per iteration",
		       bench_median_double(touch, o.reps) / 1e6, (unsigned long long)touch_faults);
		rcu_barrier();
		env_thread_unregister();
		return 0;
	}
	printf("mmusim-bench-dirty: %s MMU, %d vCPU(s) x %.3f GiB, %d iterations, %d reps; "
	       "eager split %s, %s, %s, logging off: %s, env=%s\n",
	       o.legacy ? "legacy" : "TDP", o.vcpus, (double)o.bytes_per_vcpu / GiB, o.iters,
	       o.reps, o.no_eager ? "off" : "on",
	       o.manual ? "manual+INITIALLY_SET" : "GET_DIRTY_LOG",
	       o.pml ? "PML (D bits)" : "write protection",
	       o.zap ? "zap collapsible (6.12)" : "recover in place (6.13)", bench_env());
	for (p = 0; p < NR_PH; p++)
		printf("  %-32s %10.3f ms\n", ph_names[p],
		       bench_median_double(ph[p], o.reps) / 1e6);
	printf("  huge pages split at enable       %10llu (%llu 4K SPTEs)\n",
	       (unsigned long long)splits, (unsigned long long)splits * 512);
	if (splits)
		printf("  eager split, per 4K SPTE         %10.1f ns\n",
		       bench_median_double(rate, o.reps));
	printf("  faults after logging off         %10llu (huge pages recovered in place: %llu)\n",
	       (unsigned long long)refaults, (unsigned long long)recoveries);
	rcu_barrier();
	env_thread_unregister();
	return 0;
}
