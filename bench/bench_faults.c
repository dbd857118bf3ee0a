// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmusim-bench's workload runner: one job = one repetition of one
 * configuration on one MMU, modelled on KVM's memstress and
 * demand_paging_test.
 *
 *   sim_host_create   RAM = guest memory + slack, reserved lazily
 *   sim_mmap          the guest memory (4K, THP or hugetlb backing)
 *   mmusim_vm_create  .mmu = TDP or legacy; one memslot at GPA 0
 *   vCPU threads      created first, all parked until released (as memstress
 *                     starts every vCPU before timing, so that thread
 *                     creation stays out of the numbers)
 *   phases            the main thread releases each phase, the vCPUs run
 *                     it and time themselves; phase time = first start
 *                     to last end:
 *     cold       every page touched once: each access faults through the
 *                full path (TDP violation, memslot, GUP with host demand
 *                allocation, mmu_lock, install)
 *     warm       the same accesses again: the populated path (TLB miss and
 *                hardware walk, no fault)
 *     refault    (-t zap) after mmusim_vm_zap_all_fast(): faults whose host
 *                pages already exist, i.e. the KVM side alone
 *     dirty      (-t fast) after enabling dirty logging, which
 *                write-protects every SPTE: each write takes the lockless
 *                fast path (pf_fast)
 *   teardown   mmusim_vm_destroy() (zaps every SPTE) and sim_mm_destroy()
 *              (the host unmaps and frees every page), both timed
 *
 * vCPU i owns pages [i * n, (i + 1) * n) of the region (partitioned), or
 * every vCPU walks [0, n) (-o).  Sequential order with 0% or 100% writes
 * uses mmusim_vcpu_access_range() in chunks; random order (-a, a seeded
 * permutation per vCPU: each page exactly once per pass) and mixed writes
 * (-w) use one mmusim_vcpu_access() per page.
 *
 * Not core code: libc and pthreads are fine here.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mmusim_env.h"
#include <mmusim/env.h>
#include <mmusim/host.h>
#include <mmusim/vm.h>
#include "mmu/kvm_host.h" /* per-vCPU fault counters */

#include "bench.h"

#define CHUNK_PAGES 4096ULL /* progress granularity; divides 1 GiB of 4K pages */
#define TAIL_PAGES (1ULL << 18) /* the scale test times the last GiB on its own */

static const char *const backing_names[NR_BACKINGS] = {
	[BACK_4K] = "4k",
	[BACK_THP] = "thp",
	[BACK_HUGETLB_2M] = "hugetlb-2m",
	[BACK_HUGETLB_1G] = "hugetlb-1g",
};

const char *bench_backing_name(int backing)
{
	return backing >= 0 && backing < NR_BACKINGS ? backing_names[backing] : "?";
}

const char *bench_mmu_name(int mmu)
{
	return mmu == MMU_TDP ? "tdp" : "legacy";
}

static int backing_map_flags(int backing)
{
	switch (backing) {
	case BACK_THP:
		return SIM_MAP_PRIVATE | SIM_MAP_THP;
	case BACK_HUGETLB_2M:
		return SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M;
	case BACK_HUGETLB_1G:
		return SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_1G;
	default:
		return SIM_MAP_PRIVATE;
	}
}

struct run;

/* One vCPU thread; padded so that progress stores do not share lines. */
struct vcpu_ctx {
	struct run *run;
	int idx;
	struct mmusim_vcpu *vcpu;
	struct kvm_vcpu *kvcpu;
	pthread_t tid;
	u32 *perm; /* random order, or NULL */
	u64 first_page; /* page index of this vCPU's region */
	u64 npages;
	u64 tail_from; /* page offset where the scale test's tail starts */
	u64 rng;
	u64 t_start, t_end, t_tail;
	u64 cpu_start, cpu_end; /* thread CPU time */
	u64 f_tail; /* pf_fixed when the tail started */
	u64 done; /* pages done in this phase (progress) */
	int err;
} __attribute__((aligned(64)));

struct run {
	const struct bench_config *cfg;
	struct job_result *res;
	struct mmusim_vm *vm;
	int nr_vcpus;
	int phase; /* phase being run, or -1 to exit */
	/* The start signal: gen is bumped (under lock) to release a phase. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	u64 gen;
	int finished; /* vCPUs done with the phase (atomic) */
	struct vcpu_ctx *vc;
};

static u64 now_ns(void)
{
	return ktime_get_ns();
}

/* CPU time of the calling thread: what a fault costs when the CPU is shared. */
static u64 thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

static u64 rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (u64)resident * (u64)sysconf(_SC_PAGESIZE);
}

/* xorshift64*: deterministic per (seed, vCPU). */
static u64 rng_next(u64 *s)
{
	u64 x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void rng_seed(u64 *s, u64 seed, int idx)
{
	*s = (seed + 1) * 0x9E3779B97F4A7C15ULL ^ ((u64)idx << 32 | 0x5bd1e995);
	if (!*s)
		*s = 1;
	rng_next(s);
}

static u32 *make_perm(u64 n, u64 *rng)
{
	u32 *p = malloc(n * sizeof(*p));
	u64 i;

	if (!p)
		return NULL;
	for (i = 0; i < n; i++)
		p[i] = (u32)i;
	for (i = n - 1; i > 0; i--) {
		u64 j = rng_next(rng) % (i + 1);
		u32 t = p[i];

		p[i] = p[j];
		p[j] = t;
	}
	return p;
}

static int access_type(struct vcpu_ctx *c, int write_pct)
{
	if (write_pct >= 100)
		return MMUSIM_ACCESS_WRITE;
	if (write_pct <= 0)
		return MMUSIM_ACCESS_READ;
	return (int)(rng_next(&c->rng) % 100) < write_pct ? MMUSIM_ACCESS_WRITE :
							    MMUSIM_ACCESS_READ;
}

/* One pass over the vCPU's pages; returns 0 or a negative errno / 1 (exit). */
static int run_pass(struct vcpu_ctx *c, int phase)
{
	const struct bench_config *cfg = c->run->cfg;
	int write_pct = phase == PH_DIRTY ? 100 : cfg->write_pct;
	bool ranged = !c->perm && (write_pct == 0 || write_pct == 100);
	u64 i, k, j;

	for (i = 0; i < c->npages; i += k) {
		k = min_t(u64, CHUNK_PAGES, c->npages - i);
		if (phase == PH_SCALE && i >= c->tail_from && !c->t_tail) {
			c->t_tail = now_ns();
			c->f_tail = READ_ONCE(c->kvcpu->stat.pf_fixed);
		}
		if (ranged) {
			gpa_t gpa = (c->first_page + i) << PAGE_SHIFT;
			long r = mmusim_vcpu_access_range(c->vcpu, gpa, k, 0,
							  access_type(c, write_pct), NULL);

			if (r != (long)k)
				return r < 0 ? (int)r : 1;
		} else {
			for (j = i; j < i + k; j++) {
				u64 page = c->perm ? c->perm[j] : j;
				int r = mmusim_vcpu_access(c->vcpu,
							   (c->first_page + page) << PAGE_SHIFT,
							   access_type(c, write_pct), NULL);

				if (r)
					return r;
			}
		}
		__atomic_store_n(&c->done, i + k, __ATOMIC_RELAXED);
	}
	return 0;
}

/*
 * The populated pass has an entry of its own so that callgrind can count
 * it alone (--toggle-collect=bench_populated_pass; bench/callgrind-fault).
 */
int bench_populated_pass(struct vcpu_ctx *c);
noinline int bench_populated_pass(struct vcpu_ctx *c)
{
	return run_pass(c, PH_WARM);
}

/* Parked vCPUs wait here for the main thread to release the next phase. */
static int wait_phase(struct run *run, u64 *gen)
{
	int phase;

	pthread_mutex_lock(&run->lock);
	while (run->gen == *gen)
		pthread_cond_wait(&run->cond, &run->lock);
	*gen = run->gen;
	phase = run->phase;
	pthread_mutex_unlock(&run->lock);
	return phase;
}

static void release_phase(struct run *run, int phase)
{
	pthread_mutex_lock(&run->lock);
	run->phase = phase;
	run->gen++;
	pthread_cond_broadcast(&run->cond);
	pthread_mutex_unlock(&run->lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu_ctx *c = arg;
	struct run *run = c->run;
	u64 gen = 0;

	env_thread_register();
	for (;;) {
		int phase, r;

		phase = wait_phase(run, &gen);
		if (phase < 0)
			break;
		__atomic_store_n(&c->done, 0, __ATOMIC_RELAXED);
		c->t_tail = 0;
		c->cpu_start = thread_cpu_ns();
		c->t_start = now_ns();
		r = phase == PH_WARM ? bench_populated_pass(c) : run_pass(c, phase);
		c->t_end = now_ns();
		c->cpu_end = thread_cpu_ns();
		if (r && !c->err)
			c->err = r;
		__atomic_add_fetch(&run->finished, 1, __ATOMIC_RELEASE);
	}
	env_thread_unregister();
	return NULL;
}

static const char *const phase_names[NR_PHASES] = {
	[PH_COLD] = "cold",	  [PH_WARM] = "populated", [PH_REFAULT] = "refault",
	[PH_DIRTY] = "dirty-log", [PH_SCALE] = "scale",
};

static void draw_progress(struct run *run, int phase, u64 total, bool final)
{
	const struct bench_config *cfg = run->cfg;
	u64 done = 0;
	int i, pct, bar;
	char buf[41];

	if (!cfg->progress)
		return;
	if (final) {
		fprintf(stderr, "\r\033[K");
		return;
	}
	for (i = 0; i < run->nr_vcpus; i++)
		done += __atomic_load_n(&run->vc[i].done, __ATOMIC_RELAXED);
	pct = total ? (int)(done * 100 / total) : 100;
	bar = pct * 40 / 100;
	memset(buf, '#', bar);
	memset(buf + bar, '.', 40 - bar);
	buf[40] = '\0';
	fprintf(stderr, "\r\033[K%s %-9s [%s] %3d%%", cfg->label ? cfg->label : "",
		phase_names[phase], buf, pct);
	fflush(stderr);
}

/* Releases the vCPUs into @phase, waits for all of them, records the result. */
static int run_phase(struct run *run, int phase)
{
	struct phase_result *ph = &run->res->ph[phase];
	struct mmusim_vm_stats s0, s1;
	u64 total = 0, t_first = ~0ULL, t_last = 0, tail_first = ~0ULL, f_tail = 0;
	u64 hold0, holds0, holds1;
	int i, polls = 0;

	for (i = 0; i < run->nr_vcpus; i++) {
		struct vcpu_ctx *c = &run->vc[i];

		total += c->npages;
		c->err = 0;
		ph->vcpu_faults[i] = READ_ONCE(c->kvcpu->stat.pf_fixed);
		ph->vcpu_accesses[i] = READ_ONCE(c->kvcpu->stat.accesses);
	}
	mmusim_vm_get_stats(run->vm, &s0);
	hold0 = env_rwlock_hold_ns(&mmusim_to_kvm(run->vm)->mmu_lock, &holds0);
	__atomic_store_n(&run->finished, 0, __ATOMIC_RELAXED);
	release_phase(run, phase);
	while (__atomic_load_n(&run->finished, __ATOMIC_ACQUIRE) < run->nr_vcpus) {
		usleep(1000);
		if (++polls % 100 == 0)
			draw_progress(run, phase, total, false);
	}
	if (polls >= 100)
		draw_progress(run, phase, total, true);
	mmusim_vm_get_stats(run->vm, &s1);
	ph->lock_hold_ns = env_rwlock_hold_ns(&mmusim_to_kvm(run->vm)->mmu_lock, &holds1) - hold0;
	ph->lock_holds = holds1 - holds0;

	ph->ran = true;
	for (i = 0; i < run->nr_vcpus; i++) {
		struct vcpu_ctx *c = &run->vc[i];

		if (c->err) {
			snprintf(run->res->err, sizeof(run->res->err),
				 "%s phase: vCPU %d access failed (%d)", phase_names[phase], i,
				 c->err);
			return -EIO;
		}
		t_first = min(t_first, c->t_start);
		t_last = max(t_last, c->t_end);
		ph->vcpu_ns[i] = c->t_end - c->t_start;
		ph->vcpu_cpu_ns[i] = c->cpu_end - c->cpu_start;
		ph->vcpu_faults[i] = READ_ONCE(c->kvcpu->stat.pf_fixed) - ph->vcpu_faults[i];
		ph->vcpu_accesses[i] = READ_ONCE(c->kvcpu->stat.accesses) - ph->vcpu_accesses[i];
		if (c->t_tail) {
			tail_first = min(tail_first, c->t_tail);
			f_tail += READ_ONCE(c->kvcpu->stat.pf_fixed) - c->f_tail;
		}
	}
	ph->wall_ns = t_last - t_first;
	ph->accesses = s1.accesses - s0.accesses;
	ph->pf_taken = s1.pf_taken - s0.pf_taken;
	ph->pf_spurious = s1.pf_spurious - s0.pf_spurious;
	ph->pf_retry = s1.pf_retry - s0.pf_retry;
	ph->pf_fast = s1.pf_fast - s0.pf_fast;
	ph->tlb_hits = s1.tlb_hits - s0.tlb_hits;
	ph->psc_walks = s1.psc_walks - s0.psc_walks;
	ph->faults = phase == PH_DIRTY ? ph->pf_fast : s1.pf_fixed - s0.pf_fixed;
	ph->lock_wait_ns = s1.mmu_lock_wait_ns - s0.mmu_lock_wait_ns;
	if (tail_first != ~0ULL) {
		ph->tail_ns = t_last - tail_first;
		ph->tail_faults = f_tail;
	}
	return 0;
}

static u64 leaf_sptes(const struct mmusim_vm_stats *st)
{
	return st->pages_4k + st->pages_2m + st->pages_1g;
}

static int set_slot(struct mmusim_vm *vm, hva_t hva, u64 size, u32 flags)
{
	struct kvm_userspace_memory_region mr = {
		.slot = 0,
		.flags = flags,
		.guest_phys_addr = 0,
		.memory_size = size,
		.userspace_addr = hva,
	};

	return mmusim_vm_set_user_memory_region(vm, &mr);
}

static void record_memory(struct run *run, struct sim_host *host)
{
	struct job_result *res = run->res;
	struct mmusim_vm_stats st;
	struct sim_host_stats hs;

	mmusim_vm_get_stats(run->vm, &st);
	sim_host_get_stats(host, &hs);
	res->rss_after = rss_bytes();
	res->leaf_sptes = leaf_sptes(&st);
	res->mapped_4k = st.pages_4k + (st.pages_2m << 9) + (st.pages_1g << 18);
	res->spt_pages = st.tdp_mmu_pages + st.shadow_mmu_pages;
	res->host_pt_pages = hs.pgtable_pages;
	res->host_frames = hs.ram_pages - hs.free_pages;
}

static int start_vcpus(struct run *run)
{
	const struct bench_config *cfg = run->cfg;
	u64 npages = cfg->bytes >> PAGE_SHIFT;
	int i;

	for (i = 0; i < run->nr_vcpus; i++) {
		struct vcpu_ctx *c = &run->vc[i];

		c->run = run;
		c->idx = i;
		c->vcpu = mmusim_vm_vcpu(run->vm, i);
		c->kvcpu = mmusim_to_kvm_vcpu(c->vcpu);
		c->npages = npages;
		c->first_page = cfg->overlap ? 0 : (u64)i * npages;
		c->tail_from = ~0ULL;
		rng_seed(&c->rng, cfg->seed, i);
		if (cfg->random) {
			c->perm = make_perm(npages, &c->rng);
			if (!c->perm) {
				run->nr_vcpus = 0; /* no thread to stop yet */
				return -ENOMEM;
			}
		}
	}
	for (i = 0; i < run->nr_vcpus; i++) {
		if (pthread_create(&run->vc[i].tid, NULL, vcpu_thread, &run->vc[i])) {
			/* stop_vcpus() releases and joins those already parked. */
			run->nr_vcpus = i;
			return -EAGAIN;
		}
	}
	return 0;
}

static void stop_vcpus(struct run *run)
{
	int i;

	release_phase(run, -1);
	for (i = 0; i < run->nr_vcpus; i++)
		pthread_join(run->vc[i].tid, NULL);
}

static int run_phases(struct run *run, struct sim_host *host, hva_t hva, u64 region)
{
	const struct bench_config *cfg = run->cfg;
	struct job_result *res = run->res;
	struct mmusim_vm_stats st;
	u64 t;
	int r;

	if (cfg->tests & TEST_SCALE) {
		/* One vCPU over [size - sample, size); the last GiB timed on its own. */
		struct vcpu_ctx *c = &run->vc[0];
		u64 n = cfg->bytes >> PAGE_SHIFT;
		u64 sample = cfg->scale_sample ? min_t(u64, cfg->scale_sample >> PAGE_SHIFT, n) : n;

		c->first_page = n - sample;
		c->npages = sample;
		c->tail_from = sample > TAIL_PAGES ? sample - TAIL_PAGES : 0;
		r = run_phase(run, PH_SCALE);
		record_memory(run, host);
		return r;
	}

	r = run_phase(run, PH_COLD);
	if (r)
		return r;
	record_memory(run, host);
	r = run_phase(run, PH_WARM);
	if (r)
		return r;

	if (cfg->tests & TEST_ZAP) {
		mmusim_vm_get_stats(run->vm, &st);
		res->zap_sptes = leaf_sptes(&st);
		t = now_ns();
		mmusim_vm_zap_all_fast(run->vm);
		res->zap_ns = now_ns() - t;
		mmusim_vm_get_stats(run->vm, &st);
		res->zap_sptes -= leaf_sptes(&st);
		r = run_phase(run, PH_REFAULT);
		if (r)
			return r;
	}

	if (cfg->tests & TEST_FAST) {
		mmusim_vm_get_stats(run->vm, &st);
		res->dirty_sptes = leaf_sptes(&st);
		t = now_ns();
		r = set_slot(run->vm, hva, region, KVM_MEM_LOG_DIRTY_PAGES);
		res->dirty_enable_ns = now_ns() - t;
		if (r) {
			snprintf(res->err, sizeof(res->err), "enabling dirty logging: %d", r);
			return r;
		}
		r = run_phase(run, PH_DIRTY);
		if (r)
			return r;
	}
	return 0;
}

void bench_run_job(const struct bench_config *cfg, struct job_result *res)
{
	struct run run = { .cfg = cfg, .res = res };
	struct sim_host_config hc = { 0 };
	struct mmusim_vm_config vc = { 0 };
	struct mmusim_vm_stats st;
	struct sim_host *host = NULL;
	struct sim_mm *mm = NULL;
	u64 region, t;
	hva_t hva;
	int r;

	memset(res, 0, sizeof(*res));
	res->status = JOB_FAILED;
	env_thread_register();

	run.nr_vcpus = cfg->nr_vcpus;
	region = cfg->overlap ? cfg->bytes : cfg->bytes * (u64)cfg->nr_vcpus;
	/* Slack for the zero page, and whole free 1 GiB blocks for hugetlb-1g. */
	hc.mem_bytes = ALIGN(region + (2ULL << 30), 1ULL << 30);
	vc.nr_vcpus = cfg->nr_vcpus;
	vc.mmu = cfg->mmu == MMU_LEGACY ? MMUSIM_MMU_LEGACY : MMUSIM_MMU_TDP;

	r = sim_host_create(&hc, &host);
	if (!r)
		r = sim_mm_create(host, &mm);
	if (r) {
		snprintf(res->err, sizeof(res->err), "creating the host: %d", r);
		goto out_host;
	}
	r = mmusim_vm_create(host, mm, &vc, &run.vm);
	if (r) {
		if (cfg->mmu == MMU_LEGACY && r == -EINVAL) {
			res->status = JOB_UNAVAILABLE;
			snprintf(res->err, sizeof(res->err),
				 "legacy MMU unavailable (mmusim_vm_create: -EINVAL)");
		} else {
			snprintf(res->err, sizeof(res->err), "mmusim_vm_create: %d", r);
		}
		goto out_host;
	}
	r = mmusim_vm_set_fault_exit_ns(run.vm, cfg->exit_ns);
	if (cfg->time_holds)
		env_rwlock_time_holds(&mmusim_to_kvm(run.vm)->mmu_lock, true);
	if (!r)
		r = sim_mmap(mm, 0, region, SIM_PROT_READ | SIM_PROT_WRITE,
			     backing_map_flags(cfg->backing), &hva);
	if (!r)
		r = set_slot(run.vm, hva, region, 0);
	if (r) {
		snprintf(res->err, sizeof(res->err), "setting up guest memory: %d", r);
		goto out_vm;
	}

	run.vc = aligned_alloc(64, sizeof(*run.vc) * cfg->nr_vcpus);
	if (!run.vc) {
		snprintf(res->err, sizeof(res->err), "out of memory");
		goto out_vm;
	}
	memset(run.vc, 0, sizeof(*run.vc) * cfg->nr_vcpus);
	pthread_mutex_init(&run.lock, NULL);
	pthread_cond_init(&run.cond, NULL);
	r = start_vcpus(&run);
	if (r) {
		snprintf(res->err, sizeof(res->err), "starting vCPU threads: %d", r);
		stop_vcpus(&run);
		goto out_vc;
	}
	res->rss_before = rss_bytes();
	r = run_phases(&run, host, hva, region);
	stop_vcpus(&run);
	if (r) {
		if (!res->err[0])
			snprintf(res->err, sizeof(res->err), "run failed: %d", r);
		goto out_vc;
	}

	mmusim_vm_get_stats(run.vm, &st);
	res->destroy_sptes = leaf_sptes(&st);
	t = now_ns();
	mmusim_vm_destroy(run.vm);
	res->destroy_ns = now_ns() - t;
	run.vm = NULL;
	t = now_ns();
	sim_mm_destroy(mm);
	res->munmap_ns = now_ns() - t;
	mm = NULL;
	res->status = JOB_OK;
out_vc:
	pthread_cond_destroy(&run.cond);
	pthread_mutex_destroy(&run.lock);
	for (r = 0; r < cfg->nr_vcpus; r++)
		free(run.vc[r].perm);
	free(run.vc);
out_vm:
	mmusim_vm_destroy(run.vm);
out_host:
	sim_mm_destroy(mm);
	sim_host_destroy(host);
	env_thread_unregister();
}
