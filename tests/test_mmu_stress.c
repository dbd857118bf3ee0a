// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrency stress of the whole MMU: vCPU threads fault and access guest
 * memory while other threads change it underneath them, and a checker
 * verifies the invariants while everything runs.
 *
 * Guest physical layout:
 *   0        .. 16M   slot 0: anonymous 4K memory (partitioned or shared)
 *   1G       .. 1G+8M slot 1: hugetlb-2M memory
 *   64M / 96M ..+2M   slot 2: moved back and forth, deleted and recreated
 *   2G       .. 2G+16M slots 3..10: fresh huge memory, 2M each, remade every round
 *
 * Threads:
 *   vCPUs (3):   random reads/writes; partitioned (vCPU i owns a stripe of
 *                slot 0) or overlapping (all share it); MMIO exits from
 *                slot 2's absence are fine, errors are not.  At each fresh
 *                round they meet before each fresh slot and first-touch its
 *                huge page at once, then access the slots a little more.
 *   host:        migrate pages, MADV_DONTNEED ranges, swap out, age ranges.
 *   fresh:       rounds: munmap the fresh slots' memory and mmap it again
 *                (hugetlb-2M and THP in turn), each slot at a 512G-aligned
 *                HVA so that no host page table exists below the PGD, every
 *                8th round also deleting and recreating the slots, then
 *                release the vCPUs; while they touch the slots, split,
 *                collapse and migrate their pages.  Faults first-touching
 *                one fresh huge region race to link the same host tables
 *                (with sim_pt_alloc()'s re-read bug this shape failed
 *                within a run of the four variants).
 *   memslots:    move/delete/recreate slot 2, toggle dirty logging on slot 1
 *                and harvest the log.
 *   checker:     mmusim_vm_check() in a loop: every present leaf maps what
 *                the host maps (or is under an invalidation), SPTE states are
 *                legal, stats match a full walk.
 * Every vCPU checks its TLB hits against the host (stale-translation
 * checker).  Each layout runs on the TDP MMU and on the legacy MMU (shadow
 * pages and rmap, everything under mmu_lock held for write).  Duration:
 * MMUSIM_STRESS_SECONDS (default 2) per variant; the seed is printed and
 * accepted with --seed.
 */
#include <unistd.h>

#include "test_util.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define NR_VCPUS 3
#define SLOT0_SIZE (16 * MiB)
#define SLOT1_GPA GiB
#define SLOT1_SIZE (8 * MiB)
#define SLOT2_SIZE (2 * MiB)
#define FRESH_SLOT 3
#define FRESH_NR 8
#define FRESH_GPA (2 * GiB) /* + i * 2M */
#define FRESH_HVA 0x300000000000ULL /* + i * 512G: each alone in its PGD entry */
#define FRESH_HVA_STEP (512 * GiB)

struct stress {
	struct test_vm t;
	hva_t slot1_hva, slot2_hva;
	bool overlap;
	u64 seed;
	u64 deadline;
	bool stop;
	int error;
	char msg[256];
	unsigned long vcpu_accesses[NR_VCPUS];
	unsigned long host_ops, slot_ops, checks;
	/*
	 * Fresh rounds: fresh_gen is 2r - 1 while round r remakes the fresh
	 * slots, 2r once the vCPUs may touch them.  Before each slot, each
	 * vCPU bumps fresh_arrived and waits for the others; it bumps
	 * fresh_done when through, which the fresh thread waits for before the
	 * next round.
	 */
	unsigned int fresh_gen, fresh_arrived, fresh_done;
	unsigned long fresh_rounds, fresh_host_ops;
};

struct vcpu_arg {
	struct stress *s;
	int idx;
};

static bool stress_done(struct stress *s)
{
	return READ_ONCE(s->stop) || ktime_get_ns() > s->deadline;
}

static void stress_fail(struct stress *s, int err, const char *what)
{
	if (!cmpxchg(&s->error, 0, err))
		scnprintf(s->msg, sizeof(s->msg), "%s: %d", what, err);
	WRITE_ONCE(s->stop, true);
}

/* Spin until *@p reaches @v, for 200 us at most: a peer may be descheduled. */
static void wait_count(struct stress *s, unsigned int *p, unsigned int v)
{
	u64 end = ktime_get_ns() + 200000;
	unsigned int n = 0;

	while (smp_load_acquire(p) < v && !stress_done(s) && ktime_get_ns() < end)
		if (++n % 64)
			cpu_relax();
		else
			env_spin_yield();
}

/*
 * Round @round of the fresh slots: for each, meet the other vCPUs and
 * first-touch its huge page together (each at its own 4K), then a few more
 * accesses.  Every access must complete: the slots are mapped throughout.
 */
static int fresh_round(struct stress *s, struct mmusim_vcpu *v, int idx, unsigned int round,
		       u64 *rng)
{
	unsigned int base = (round - 1) * (FRESH_NR + 1) * NR_VCPUS;
	struct mmusim_exit exit;
	int i, r = 0;

	for (i = 0; i < FRESH_NR + 4 && !r; i++) {
		u64 x = test_rand(rng);
		int type = (x & 1) ? MMUSIM_ACCESS_WRITE : MMUSIM_ACCESS_READ;
		gpa_t gpa;

		if (i <= FRESH_NR) {
			__atomic_add_fetch(&s->fresh_arrived, 1, __ATOMIC_RELEASE);
			wait_count(s, &s->fresh_arrived, base + (i + 1) * NR_VCPUS);
		}
		if (i == FRESH_NR)
			continue; /* the last meeting: nobody touches the slots any more */
		if (i < FRESH_NR)
			gpa = FRESH_GPA + i * SZ_2M + (idx * 67 + round % 64) * PAGE_SIZE;
		else
			gpa = FRESH_GPA + ((x >> 8) % (FRESH_NR * SZ_2M / PAGE_SIZE)) * PAGE_SIZE;
		r = mmusim_vcpu_access(v, gpa, type, &exit);
	}
	__atomic_add_fetch(&s->fresh_done, 1, __ATOMIC_RELEASE);
	if (r)
		stress_fail(s, r < 0 ? r : -EIO, "fresh huge first touch");
	return r;
}

static int vcpu_thread(void *data)
{
	struct vcpu_arg *a = data;
	struct stress *s = a->s;
	struct mmusim_vcpu *v = mmusim_vm_vcpu(s->t.vm, a->idx);
	u64 rng = s->seed ^ (0x9e37ULL * (a->idx + 1));
	u64 stripe = SLOT0_SIZE / NR_VCPUS / PAGE_SIZE;
	unsigned int fresh_seen = 0;

	mmusim_vcpu_set_tlb_check(v, true);
	while (!stress_done(s)) {
		u64 x = test_rand(&rng);
		int type = (x & 3) ? MMUSIM_ACCESS_WRITE : MMUSIM_ACCESS_READ;
		unsigned int gen = smp_load_acquire(&s->fresh_gen);
		struct mmusim_exit exit;
		gpa_t gpa;
		int r;

		if (gen && !(gen & 1) && gen != fresh_seen) {
			fresh_seen = gen;
			r = fresh_round(s, v, a->idx, gen / 2, &rng);
			if (r)
				return r;
			continue;
		}

		switch ((x >> 8) % 8) {
		case 0:
			gpa = SLOT1_GPA + ((x >> 16) % (SLOT1_SIZE / PAGE_SIZE)) * PAGE_SIZE;
			break;
		case 1:
			gpa = ((x >> 16) & 1 ? 96 * MiB : 64 * MiB) +
			      ((x >> 20) % (SLOT2_SIZE / PAGE_SIZE)) * PAGE_SIZE;
			break;
		default:
			gpa = s->overlap ? ((x >> 16) % (SLOT0_SIZE / PAGE_SIZE)) * PAGE_SIZE :
					   (a->idx * stripe + (x >> 16) % stripe) * PAGE_SIZE;
			break;
		}
		r = mmusim_vcpu_access(v, gpa, type, &exit);
		if (r < 0) {
			stress_fail(s, r, "vcpu access");
			return r;
		}
		/* Exits only where slot 2 may be absent. */
		if (r == 1 && (gpa < 64 * MiB || gpa >= 98 * MiB)) {
			stress_fail(s, -EIO, "unexpected exit");
			return -EIO;
		}
		s->vcpu_accesses[a->idx]++;
	}
	return 0;
}

static int host_thread(void *data)
{
	struct stress *s = data;
	u64 rng = s->seed ^ 0x5151;

	while (!stress_done(s)) {
		u64 x = test_rand(&rng);
		hva_t hva = s->t.hva + ((x >> 8) % (SLOT0_SIZE / PAGE_SIZE)) * PAGE_SIZE;
		int r = 0;

		switch (x % 5) {
		case 0:
		case 1:
			r = sim_migrate_page(s->t.mm, hva);
			break;
		case 2:
			r = sim_madvise(s->t.mm, ALIGN_DOWN(hva, 64 * 1024), 64 * 1024,
					SIM_MADV_DONTNEED);
			break;
		case 3:
			r = sim_swap_out(s->t.mm, hva);
			break;
		case 4:
			r = sim_mm_age_range(s->t.mm, s->t.hva, SLOT0_SIZE) < 0 ? -EIO : 0;
			break;
		}
		/* Pages not present, pinned or busy are legitimate refusals. */
		if (r && r != -EFAULT && r != -EBUSY && r != -EAGAIN && r != -ENOENT) {
			stress_fail(s, r, "host op");
			return r;
		}
		s->host_ops++;
	}
	return 0;
}

/* A host event on a fresh slot's memory; refusals are fine, as in host_thread(). */
static int fresh_host_op(struct stress *s, u64 x)
{
	hva_t hva = FRESH_HVA + ((x >> 4) % FRESH_NR) * FRESH_HVA_STEP +
		    ((x >> 8) % (SZ_2M / PAGE_SIZE)) * PAGE_SIZE;
	int r;

	switch (x % 3) {
	case 0:
		r = sim_split_thp(s->t.mm, hva);
		break;
	case 1:
		r = sim_collapse_thp(s->t.mm, hva);
		break;
	default:
		r = sim_migrate_page(s->t.mm, hva);
		break;
	}
	/* Nothing mapped there yet, hugetlb (no split or collapse), busy pages. */
	if (r && r != -EFAULT && r != -EBUSY && r != -EAGAIN && r != -ENOENT && r != -EINVAL &&
	    r != -ENOMEM) {
		stress_fail(s, r, "fresh host op");
		return r;
	}
	return 0;
}

/*
 * Remake the fresh slots' memory, one VMA over all of them (hugetlb-2M or
 * THP, alternately), and every 8th round the slots.
 */
static int fresh_remake(struct stress *s, unsigned int round)
{
	int kind = round % 2 ? SIM_MAP_HUGETLB_2M : SIM_MAP_THP;
	bool slots = round % 8 == 1;
	hva_t hva;
	int i, r = 0;

	for (i = 0; i < FRESH_NR && !r && round > 1 && slots; i++) {
		struct kvm_userspace_memory_region m = { .slot = FRESH_SLOT + i };

		r = mmusim_vm_set_user_memory_region(s->t.vm, &m);
	}
	if (!r && round > 1)
		r = sim_munmap(s->t.mm, FRESH_HVA, FRESH_NR * FRESH_HVA_STEP);
	if (!r)
		r = sim_mmap(s->t.mm, FRESH_HVA, FRESH_NR * FRESH_HVA_STEP,
			     SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE | SIM_MAP_FIXED | kind,
			     &hva);
	for (i = 0; i < FRESH_NR && !r && slots; i++) {
		struct kvm_userspace_memory_region m = {
			.slot = FRESH_SLOT + i,
			.guest_phys_addr = FRESH_GPA + i * SZ_2M,
			.memory_size = SZ_2M,
			.userspace_addr = FRESH_HVA + i * FRESH_HVA_STEP,
		};

		r = mmusim_vm_set_user_memory_region(s->t.vm, &m);
	}
	return r;
}

static int fresh_thread(void *data)
{
	struct stress *s = data;
	u64 rng = s->seed ^ 0xf5e5;
	unsigned int round, ops;
	int r;

	for (round = 1; !stress_done(s); round++) {
		smp_store_release(&s->fresh_gen, 2 * round - 1);
		r = fresh_remake(s, round);
		if (r) {
			stress_fail(s, r, "fresh slot");
			return r;
		}
		smp_store_release(&s->fresh_gen, 2 * round);
		/*
		 * The host works on the slots while the vCPUs first-touch
		 * them: a few events per round, or the vCPUs' faults would
		 * retry behind an endless stream of invalidations.
		 */
		for (ops = 0;
		     smp_load_acquire(&s->fresh_done) < round * NR_VCPUS && !stress_done(s);
		     ops++) {
			if (ops < 4) {
				r = fresh_host_op(s, test_rand(&rng));
				if (r)
					return r;
				s->fresh_host_ops++;
			}
			usleep(20);
		}
		s->fresh_rounds++;
	}
	return 0;
}

static int slots_thread(void *data)
{
	struct stress *s = data;
	struct kvm_userspace_memory_region r2 = {
		.slot = 2, .memory_size = SLOT2_SIZE, .userspace_addr = s->slot2_hva,
		.guest_phys_addr = 64 * MiB,
	};
	struct kvm_userspace_memory_region r1 = {
		.slot = 1, .memory_size = SLOT1_SIZE, .userspace_addr = s->slot1_hva,
		.guest_phys_addr = SLOT1_GPA,
	};
	unsigned long bitmap[SLOT1_SIZE / PAGE_SIZE / BITS_PER_LONG];
	struct kvm_dirty_log log = { .slot = 1, .dirty_bitmap = bitmap };
	u64 rng = s->seed ^ 0x7777;
	bool present = true;

	while (!stress_done(s)) {
		u64 x = test_rand(&rng);
		int r = 0;

		switch (x % 4) {
		case 0: /* move */
			if (!present)
				break;
			r2.guest_phys_addr = r2.guest_phys_addr == 64 * MiB ? 96 * MiB : 64 * MiB;
			r = mmusim_vm_set_user_memory_region(s->t.vm, &r2);
			break;
		case 1: /* delete or recreate */
			r2.memory_size = present ? 0 : SLOT2_SIZE;
			r = mmusim_vm_set_user_memory_region(s->t.vm, &r2);
			if (!r)
				present = !present;
			break;
		case 2: /* toggle dirty logging */
			r1.flags ^= KVM_MEM_LOG_DIRTY_PAGES;
			r = mmusim_vm_set_user_memory_region(s->t.vm, &r1);
			break;
		case 3:
			r = mmusim_vm_get_dirty_log(s->t.vm, &log);
			if (r == -ENOENT && !(r1.flags & KVM_MEM_LOG_DIRTY_PAGES))
				r = 0;
			break;
		}
		if (r) {
			stress_fail(s, r, "memslot op");
			return r;
		}
		s->slot_ops++;
	}
	return 0;
}

static int checker_thread(void *data)
{
	struct stress *s = data;
	char msg[256];

	while (!stress_done(s)) {
		int r = mmusim_vm_check(s->t.vm, msg, sizeof(msg));

		if (r) {
			if (!cmpxchg(&s->error, 0, r))
				scnprintf(s->msg, sizeof(s->msg), "checker: %s", msg);
			WRITE_ONCE(s->stop, true);
			return r;
		}
		s->checks++;
		/* The check holds mmu_lock for write: leave the others room. */
		msleep(2);
	}
	return 0;
}

static void run_stress(bool overlap, int mmu)
{
	struct test_vm_opts o = { .size = SLOT0_SIZE };
	struct kvm_userspace_memory_region r = { 0 };
	struct env_thread *th[NR_VCPUS + 4];
	struct vcpu_arg args[NR_VCPUS];
	struct mmusim_vm_stats st;
	struct stress *s = kzalloc(sizeof(*s), GFP_KERNEL);
	int i, n = 0;

	assert_non_null(s);
	s->overlap = overlap;
	s->seed = mmusim_test_seed();
	o.cfg.nr_vcpus = NR_VCPUS;
	o.cfg.mmu = mmu;
	test_vm_create(&s->t, &o);

	assert_int_equal(sim_mmap(s->t.mm, 0, SLOT1_SIZE, SIM_PROT_READ | SIM_PROT_WRITE,
				  SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M, &s->slot1_hva),
			 0);
	r.slot = 1;
	r.guest_phys_addr = SLOT1_GPA;
	r.memory_size = SLOT1_SIZE;
	r.userspace_addr = s->slot1_hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(s->t.vm, &r), 0);
	assert_int_equal(sim_mmap(s->t.mm, 0, SLOT2_SIZE, SIM_PROT_READ | SIM_PROT_WRITE,
				  SIM_MAP_PRIVATE, &s->slot2_hva),
			 0);
	r.slot = 2;
	r.guest_phys_addr = 64 * MiB;
	r.memory_size = SLOT2_SIZE;
	r.userspace_addr = s->slot2_hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(s->t.vm, &r), 0);

	s->deadline = ktime_get_ns() + (u64)mmusim_test_stress_seconds() * 1000000000ULL;
	for (i = 0; i < NR_VCPUS; i++) {
		args[i].s = s;
		args[i].idx = i;
		th[n++] = env_thread_start(vcpu_thread, &args[i], "vcpu");
	}
	th[n++] = env_thread_start(host_thread, s, "host");
	th[n++] = env_thread_start(fresh_thread, s, "fresh");
	th[n++] = env_thread_start(slots_thread, s, "slots");
	th[n++] = env_thread_start(checker_thread, s, "checker");
	for (i = 0; i < n; i++) {
		assert_non_null(th[i]);
		env_thread_join(th[i]);
	}
	if (s->error)
		fail_msg("stress (%s, %s MMU, seed %llu): %s", overlap ? "overlap" : "partitioned",
			 mmu == MMUSIM_MMU_LEGACY ? "legacy" : "TDP", (unsigned long long)s->seed,
			 s->msg);

	test_vm_check(&s->t);
	mmusim_vm_get_stats(s->t.vm, &st);
	print_message("stress %s %s: %lu+%lu+%lu accesses, %llu faults fixed (%llu fast), "
		      "%llu retries, %lu host ops, %lu memslot ops, %lu checks, "
		      "%llu remote flushes, %lu fresh huge rounds (%lu host ops)\n",
		      overlap ? "overlap" : "partitioned",
		      mmu == MMUSIM_MMU_LEGACY ? "legacy" : "tdp", s->vcpu_accesses[0],
		      s->vcpu_accesses[1], s->vcpu_accesses[2], (unsigned long long)st.pf_fixed,
		      (unsigned long long)st.pf_fast, (unsigned long long)st.pf_retry, s->host_ops,
		      s->slot_ops, s->checks, (unsigned long long)st.remote_tlb_flush,
		      s->fresh_rounds, s->fresh_host_ops);
	assert_int_equal(st.stale_tlb_uses, 0);
	assert_true(s->checks > 0);
	assert_true(s->fresh_rounds > 0);
	for (i = 0; i < NR_VCPUS; i++)
		assert_true(s->vcpu_accesses[i] > 0);
	test_vm_destroy(&s->t);
	kfree(s);
}

static void test_mmu_stress_partitioned(void **state)
{
	run_stress(false, MMUSIM_MMU_TDP);
}

static void test_mmu_stress_overlapping(void **state)
{
	run_stress(true, MMUSIM_MMU_TDP);
}

static void test_mmu_stress_partitioned_legacy(void **state)
{
	run_stress(false, MMUSIM_MMU_LEGACY);
}

static void test_mmu_stress_overlapping_legacy(void **state)
{
	run_stress(true, MMUSIM_MMU_LEGACY);
}

/*
 * No lost dirty page (KVM's dirty_log_test, in miniature): a vCPU writes
 * the current iteration number into random pages of a logged hugetlb-2M
 * slot while the main thread, each iteration, advances the number, waits
 * for the vCPU to have seen it, harvests the log and checks every page:
 * one not reported dirty must still hold what it held at its last harvest,
 * or the new number (a write after the harvest re-protected it, which the
 * next harvest must report).  Eager splitting runs when logging starts,
 * huge pages split under the writes; each mode of tracking is run.
 *
 *   gpa 0 .. 8M: slot 0, hugetlb 2M, 2048 pages, logging on
 */
#define DL_PAGES 2048

struct dirty_stress {
	struct test_vm t;
	u64 iteration, seen;
	bool stop;
	u64 seed;
};

static int dirty_writer(void *arg)
{
	struct dirty_stress *d = arg;
	struct mmusim_vcpu *v = mmusim_vm_vcpu(d->t.vm, 0);
	u64 x = d->seed;

	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		u64 it = __atomic_load_n(&d->iteration, __ATOMIC_ACQUIRE);
		gfn_t p = test_rand(&x) % DL_PAGES;

		if (mmusim_vcpu_write(v, p << 12, &it, sizeof(it)))
			return -EFAULT;
		__atomic_store_n(&d->seen, it, __ATOMIC_RELEASE);
	}
	return 0;
}

static void dirty_log_stress(int mmu, bool pml, bool manual, bool eager)
{
	struct test_vm_opts o = { .size = DL_PAGES * 4096ULL,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M,
				  .cfg = { .mmu = mmu, .dirty_log_pml = pml,
					   .no_eager_page_split = !eager } };
	struct kvm_userspace_memory_region r = { .slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
						 .memory_size = DL_PAGES * 4096ULL };
	unsigned long bitmap[DL_PAGES / BITS_PER_LONG];
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	struct kvm_clear_dirty_log clear = { .slot = 0, .num_pages = DL_PAGES,
					     .dirty_bitmap = bitmap };
	struct dirty_stress *d = kzalloc(sizeof(*d), GFP_KERNEL);
	static u64 last[DL_PAGES];
	u64 deadline, dirty_total = 0, i, p;
	struct env_thread *th;

	assert_non_null(d);
	d->seed = mmusim_test_seed();
	test_vm_create(&d->t, &o);
	if (manual)
		assert_int_equal(mmusim_vm_enable_manual_dirty_log_protect(
					 d->t.vm, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE), 0);
	/* Map everything huge first, all pages holding 0. */
	assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(d->t.vm, 0), 0, DL_PAGES, 0,
						  MMUSIM_ACCESS_WRITE, NULL), DL_PAGES);
	memset(last, 0, sizeof(last));
	r.userspace_addr = d->t.hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(d->t.vm, &r), 0);

	d->iteration = 1;
	th = env_thread_start(dirty_writer, d, "vcpu");
	assert_non_null(th);
	deadline = ktime_get_ns() + (u64)mmusim_test_stress_seconds() * 1000000000ULL / 2;
	for (i = 1; ktime_get_ns() < deadline || i < 4; i++) {
		/* Every write of a number <= i has completed once the vCPU sees i + 1. */
		__atomic_store_n(&d->iteration, i + 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&d->seen, __ATOMIC_ACQUIRE) < i + 1)
			env_spin_yield();
		memset(bitmap, 0, sizeof(bitmap));
		assert_int_equal(mmusim_vm_get_dirty_log(d->t.vm, &log), 0);
		if (manual)
			assert_int_equal(mmusim_vm_clear_dirty_log(d->t.vm, &clear), 0);
		for (p = 0; p < DL_PAGES; p++) {
			u64 val;

			assert_int_equal(sim_mm_read(d->t.mm, d->t.hva + p * 4096, &val, 8), 0);
			if (test_bit(p, bitmap)) {
				last[p] = val;
				dirty_total++;
			} else if (val != last[p] && val != i + 1) {
				__atomic_store_n(&d->stop, true, __ATOMIC_RELEASE);
				env_thread_join(th);
				fail_msg("lost dirty page %llu (iteration %llu): holds %llu, "
					 "held %llu at its last harvest, seed %llu",
					 (unsigned long long)p, (unsigned long long)i,
					 (unsigned long long)val, (unsigned long long)last[p],
					 (unsigned long long)d->seed);
			}
		}
	}
	__atomic_store_n(&d->stop, true, __ATOMIC_RELEASE);
	assert_int_equal(env_thread_join(th), 0);
	print_message("dirty log %s%s%s%s: %llu iterations, %llu dirty pages harvested\n",
		      mmu == MMUSIM_MMU_LEGACY ? "legacy" : "tdp", pml ? " pml" : "",
		      manual ? " manual" : "", eager ? " eager" : "", (unsigned long long)i,
		      (unsigned long long)dirty_total);
	test_vm_check(&d->t);
	test_vm_destroy(&d->t);
	kfree(d);
}

static void test_mmu_stress_dirty_log(void **state)
{
	dirty_log_stress(MMUSIM_MMU_TDP, false, false, true);
	dirty_log_stress(MMUSIM_MMU_TDP, false, false, false);
	dirty_log_stress(MMUSIM_MMU_TDP, true, false, true);
	dirty_log_stress(MMUSIM_MMU_TDP, false, true, true);
	dirty_log_stress(MMUSIM_MMU_LEGACY, false, false, false);
	dirty_log_stress(MMUSIM_MMU_LEGACY, true, true, false);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_mmu_stress_partitioned),
		MMUSIM_TEST(test_mmu_stress_overlapping),
		MMUSIM_TEST(test_mmu_stress_partitioned_legacy),
		MMUSIM_TEST(test_mmu_stress_overlapping_legacy),
		MMUSIM_TEST(test_mmu_stress_dirty_log),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("mmu_stress", tests);
}
