// SPDX-License-Identifier: GPL-2.0-only
/*
 * Self-tests of the TDP MMU through the VM API (include/mmusim/vm.h) that
 * run in both environments: faults from a simulated vCPU, stats, zaps and
 * re-faults, host page migration (the MMU notifier zaps, the next fault maps
 * the new page), fast zap replacing the roots, MMIO exits, dirty logging
 * with huge-page splits, and teardown.  Every page table the MMU unlinks is
 * freed through call_rcu(): in the kernel that is the real RCU, and the
 * runner's leak check after rcu_barrier() proves each one was freed.
 *
 * Every vCPU here runs with the stale-TLB checker on, so a missing TLB flush
 * WARNs (which fails the test), and every test ends with mmusim_vm_check():
 * each present leaf maps what the host maps and the pages_* stats equal a
 * walk of the tables.
 *
 * Memory: in the kernel a host's RAM is vmalloc'd at once, so hosts are
 * small (32 MiB serially, 16 MiB per thread in the parallel pass).  Guest
 * layout of most tests, slot 0 at gpa 0:
 *
 *   gfn 0 ............ 2047     8 MiB of anonymous 4K memory
 *
 * tdp_mmu_parallel_vcpus runs three vCPU threads on one VM, each faulting
 * and writing its own stripe and hammering a small hot set that stays in its
 * TLB, while a fourth thread migrates random pages and zaps random gfn
 * ranges under them.
 */
#include "mmusim_env.h"

#include <mmusim/host.h>
#include <mmusim/vm.h>

#include "selftest/selftest.h"

#define ST_MiB (1ULL << 20)
#define ST_PAGES(bytes) ((bytes) >> PAGE_SHIFT)

struct st_vm {
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	hva_t hva;
	u64 size;
};

static u64 st_vm_host_mem(const struct st_ctx *ctx)
{
	return (ctx->nr_threads > 1 ? 16 : 32) * ST_MiB;
}

/*
 * A host, its mm, a VM on it and slot 0 = [0, @size) backed by an @size
 * mapping made with @map_flags (0: private anonymous).  Every vCPU gets the
 * TLB checker.  On failure everything is undone and *v is zeroed.
 */
static int st_vm_create(struct st_ctx *ctx, struct st_vm *v, const struct mmusim_vm_config *cfg,
			u64 size, int map_flags)
{
	struct sim_host_config hc = { .mem_bytes = st_vm_host_mem(ctx) };
	struct kvm_userspace_memory_region r = { 0 };
	int i, ret;

	memset(v, 0, sizeof(*v));
	ret = sim_host_create(&hc, &v->host);
	if (ret)
		return ret;
	ret = sim_mm_create(v->host, &v->mm);
	if (ret)
		goto err_host;
	ret = mmusim_vm_create(v->host, v->mm, cfg, &v->vm);
	if (ret)
		goto err_mm;
	for (i = 0; i < mmusim_vm_nr_vcpus(v->vm); i++)
		mmusim_vcpu_set_tlb_check(mmusim_vm_vcpu(v->vm, i), true);
	ret = sim_mmap(v->mm, 0, size, SIM_PROT_READ | SIM_PROT_WRITE,
		       map_flags ? map_flags : SIM_MAP_PRIVATE, &v->hva);
	if (ret)
		goto err_vm;
	v->size = size;
	r.memory_size = size;
	r.userspace_addr = v->hva;
	ret = st_vm_set_region(v->vm, &r);
	if (ret)
		goto err_vm;
	return 0;

err_vm:
	mmusim_vm_destroy(v->vm);
err_mm:
	sim_mm_destroy(v->mm);
err_host:
	sim_host_destroy(v->host);
	memset(v, 0, sizeof(*v));
	return ret;
}

static void st_vm_destroy(struct st_vm *v)
{
	mmusim_vm_destroy(v->vm);
	sim_mm_destroy(v->mm);
	sim_host_destroy(v->host);
	memset(v, 0, sizeof(*v));
}

/* mmusim_vm_check(), failing the test with the checker's message. */
static void st_vm_expect_check(struct st_ctx *ctx, struct st_vm *v)
{
	char msg[160];
	int r = mmusim_vm_check(v->vm, msg, sizeof(msg));

	if (r)
		__ST_FAILURE("mmusim_vm_check: %d: %s", r, msg);
}

static struct mmusim_vcpu *st_vcpu(struct st_vm *v, int idx)
{
	return mmusim_vm_vcpu(v->vm, idx);
}

/*
 * Fault in, zap, re-fault, for EPT with A/D bits (4-level), NPT (4-level)
 * and EPT without A/D bits (5-level):
 *
 *   gfn 0 ..... 511 | 512 .... 1023 | 1024 ....... 2047
 *   written         | zapped, then re-faulted by reads  | written
 *
 * 2048 4K leaves need one table per level above the PTs plus four PTs.  A
 * zap of [512, 1024) removes exactly 512 leaves and flushes remote TLBs.
 * The VM then goes away; in the serial run the live objects must be back
 * where they were, after the RCU callbacks ran.  In the parallel pass each
 * thread runs one of the three modes over 512 gfns (zapping [128, 256)).
 */
ST_TEST(tdp_mmu_fault_zap_refault)
{
	static const struct mmusim_vm_config cfgs[] = {
		{ .tdp_mode = MMUSIM_TDP_EPT },
		{ .tdp_mode = MMUSIM_TDP_NPT },
		{ .tdp_mode = MMUSIM_TDP_EPT, .ept_ad_disabled = true, .root_level = 5 },
	};
	/* Lighter when several threads run it at once: one mode each, 2 MiB. */
	const u64 npages = ctx->nr_threads > 1 ? 512 : 2048;
	const u64 zap_start = npages / 4, zap_end = npages / 2;
#ifdef ENV_LIVE_OBJECTS
	long live = env_live_objects();	/* before the allocation below */
#endif
	struct mmusim_vm_stats st, before;
	struct st_vm *v = kzalloc(sizeof(*v), GFP_KERNEL);
	unsigned int i;
	int r;

	ST_ASSERT_NOT_NULL(v);
	for (i = 0; i < ARRAY_SIZE(cfgs) && !ctx->failures; i++) {
		int root_level = cfgs[i].root_level ? cfgs[i].root_level : 4;

		if (ctx->nr_threads > 1 && i != ctx->thread % ARRAY_SIZE(cfgs))
			continue;
		r = st_vm_create(ctx, v, &cfgs[i], npages * PAGE_SIZE, 0);
		ST_EXPECT_EQ(r, 0);
		if (r)
			break;
		ST_EXPECT_EQ(mmusim_vcpu_access_range(st_vcpu(v, 0), 0, npages, 0,
						      MMUSIM_ACCESS_WRITE, NULL), (long)npages);
		mmusim_vm_get_stats(v->vm, &st);
		ST_EXPECT_EQ(st.pages_4k, npages);
		ST_EXPECT_EQ(st.pages_2m + st.pages_1g, 0ULL);
		ST_EXPECT_EQ(st.pf_fixed, npages);
		ST_EXPECT_EQ(st.tdp_mmu_pages, (u64)(root_level - 2 + npages / 512));
		ST_EXPECT_EQ(st.root_allocs, 1ULL);
		st_vm_expect_check(ctx, v);

		before = st;
		ST_EXPECT_EQ(mmusim_vm_zap_gfn_range(v->vm, 0, zap_start, zap_end), 0);
		mmusim_vm_get_stats(v->vm, &st);
		ST_EXPECT_EQ(st.pages_4k, npages - (zap_end - zap_start));
		ST_EXPECT_GT(st.remote_tlb_flush, before.remote_tlb_flush);
		st_vm_expect_check(ctx, v);

		ST_EXPECT_EQ(mmusim_vcpu_access_range(st_vcpu(v, 0), zap_start * PAGE_SIZE,
						      zap_end - zap_start, 0, MMUSIM_ACCESS_READ,
						      NULL), (long)(zap_end - zap_start));
		mmusim_vm_get_stats(v->vm, &st);
		ST_EXPECT_EQ(st.pages_4k, npages);
		ST_EXPECT_EQ(st.pf_fixed, npages + (zap_end - zap_start));
		/* Everything mapped now: reading it all again takes no fault. */
		before = st;
		ST_EXPECT_EQ(mmusim_vcpu_access_range(st_vcpu(v, 0), 0, npages, 0,
						      MMUSIM_ACCESS_READ, NULL), (long)npages);
		mmusim_vm_get_stats(v->vm, &st);
		ST_EXPECT_EQ(st.pf_taken, before.pf_taken);
		ST_EXPECT_EQ(st.stale_tlb_uses, 0ULL);

		/* Caller errors. */
		ST_EXPECT_EQ(mmusim_vm_zap_gfn_range(v->vm, 0, 10, 10), -EINVAL);
		ST_EXPECT_EQ(mmusim_vm_zap_gfn_range(v->vm, 2, 0, 10), -EINVAL);
		ST_EXPECT_EQ(mmusim_vcpu_access(st_vcpu(v, 0), 0, 7, NULL), -EINVAL);
		st_vm_expect_check(ctx, v);
		st_vm_destroy(v);
	}
	kfree(v);
#ifdef ENV_LIVE_OBJECTS
	/* Alone, every page table must be freed once the RCU callbacks ran. */
	if (ctx->nr_threads == 1) {
		rcu_barrier();
		ST_EXPECT_EQ(env_live_objects(), live);
	}
#endif
	return st_result(ctx);
}

/*
 * Migration: the host moves a page, the MMU notifier zaps its SPTE (with a
 * TLB flush, or the TLB checker WARNs), the data moves with the page, and
 * the next access maps the new pfn (mmusim_vm_check compares every SPTE with
 * the host's mapping).
 */
ST_TEST(tdp_mmu_migrate_follows)
{
	const u64 npages = 16;
	struct mmusim_vm_config cfg = { 0 };
	struct sim_host_pte_info old_info, new_info;
	struct mmusim_vm_stats st, before;
	struct st_vm *v = kzalloc(sizeof(*v), GFP_KERNEL);
	u64 i, val, moved = 0;
	int r;

	ST_ASSERT_NOT_NULL(v);
	r = st_vm_create(ctx, v, &cfg, 2 * ST_MiB, 0);
	if (r) {
		kfree(v);
		ST_FAIL_MSG("st_vm_create: %d", r);
	}
	for (i = 0; i < npages; i++) {
		val = ctx->seed ^ (i * 0x9e3779b97f4a7c15ULL);
		ST_EXPECT_EQ(st_vcpu_write(st_vcpu(v, 0), i * PAGE_SIZE + 8 * i, &val, sizeof(val)),
			     0);
	}
	mmusim_vm_get_stats(v->vm, &before);
	ST_EXPECT_EQ(before.pages_4k, npages);

	ST_EXPECT_EQ(sim_mm_lookup(v->mm, v->hva + 3 * PAGE_SIZE, &old_info), 0);
	ST_EXPECT_EQ(sim_migrate_page(v->mm, v->hva + 3 * PAGE_SIZE), 0);
	ST_EXPECT_EQ(sim_mm_lookup(v->mm, v->hva + 3 * PAGE_SIZE, &new_info), 0);
	ST_EXPECT_NE(new_info.pfn, old_info.pfn);
	mmusim_vm_get_stats(v->vm, &st);
	ST_EXPECT_EQ(st.pages_4k, npages - 1);			/* zapped by the notifier */
	ST_EXPECT_GT(st.mmu_invalidate_seq, before.mmu_invalidate_seq);
	ST_EXPECT_GT(st.remote_tlb_flush, before.remote_tlb_flush);
	st_vm_expect_check(ctx, v);

	/* Read back through the guest: faults the new page in. */
	val = 0;
	ST_EXPECT_EQ(st_vcpu_read(st_vcpu(v, 0), 3 * PAGE_SIZE + 24, &val, sizeof(val)), 0);
	ST_EXPECT_EQ(val, ctx->seed ^ (3 * 0x9e3779b97f4a7c15ULL));
	mmusim_vm_get_stats(v->vm, &st);
	ST_EXPECT_EQ(st.pages_4k, npages);
	st_vm_expect_check(ctx, v);

	/* The whole range moves; every value follows its page. */
	ST_EXPECT_EQ(sim_migrate_range(v->mm, v->hva, npages * PAGE_SIZE, &moved), 0);
	ST_EXPECT_EQ(moved, npages);
	st_vm_expect_check(ctx, v);
	for (i = 0; i < npages; i++) {
		val = 0;
		ST_EXPECT_EQ(st_vcpu_read(st_vcpu(v, 0), i * PAGE_SIZE + 8 * i, &val, sizeof(val)),
			     0);
		ST_EXPECT_EQ(val, ctx->seed ^ (i * 0x9e3779b97f4a7c15ULL));
	}
	mmusim_vm_get_stats(v->vm, &st);
	ST_EXPECT_EQ(st.stale_tlb_uses, 0ULL);
	st_vm_expect_check(ctx, v);
	st_vm_destroy(v);
	kfree(v);
	return st_result(ctx);
}

/*
 * Fast zap (kvm_mmu_zap_all_fast): both vCPUs share one root; the zap
 * invalidates it and drops every leaf, and the next accesses build a new
 * root.  The guest's data lives in host memory and is untouched.
 */
ST_TEST(tdp_mmu_fast_zap_replaces_roots)
{
	struct mmusim_vm_config cfg = { .nr_vcpus = 2 };
	struct mmusim_vm_stats st;
	struct st_vm *v = kzalloc(sizeof(*v), GFP_KERNEL);
	u64 val = 0x5eed ^ ctx->seed, back = 0;
	int r;

	ST_ASSERT_NOT_NULL(v);
	r = st_vm_create(ctx, v, &cfg, 4 * ST_MiB, 0);
	if (r) {
		kfree(v);
		ST_FAIL_MSG("st_vm_create: %d", r);
	}
	ST_EXPECT_EQ(st_vcpu_write(st_vcpu(v, 0), 0x10, &val, sizeof(val)), 0);
	ST_EXPECT_EQ(mmusim_vcpu_access_range(st_vcpu(v, 1), PAGE_SIZE, 64, 0,
					      MMUSIM_ACCESS_WRITE, NULL), 64L);
	mmusim_vm_get_stats(v->vm, &st);
	ST_EXPECT_EQ(st.root_allocs, 1ULL);
	ST_EXPECT_EQ(st.pages_4k, 65ULL);

	mmusim_vm_zap_all_fast(v->vm);
	mmusim_vm_get_stats(v->vm, &st);
	ST_EXPECT_EQ(st.pages_4k, 0ULL);
	ST_EXPECT_EQ(st.fast_zaps, 1ULL);
	st_vm_expect_check(ctx, v);

	ST_EXPECT_EQ(st_vcpu_read(st_vcpu(v, 1), 0x10, &back, sizeof(back)), 0);
	ST_EXPECT_EQ(back, val);
	ST_EXPECT_EQ(st_vcpu_read(st_vcpu(v, 0), 0x10, &back, sizeof(back)), 0);
	mmusim_vm_get_stats(v->vm, &st);
	ST_EXPECT_EQ(st.root_allocs, 2ULL);
	ST_EXPECT_EQ(st.pages_4k, 1ULL);
	ST_EXPECT_EQ(st.stale_tlb_uses, 0ULL);
	st_vm_expect_check(ctx, v);
	st_vm_destroy(v);
	kfree(v);
	return st_result(ctx);
}

/*
 * MMIO: a gpa with no memslot exits to userspace and caches an MMIO SPTE
 * (the second access exits without a new one); a memslot update moves the
 * generation, so the next access rebuilds it.
 *
 *   gpa 0 .. 2M: slot 0     16M: nothing (MMIO)     64M .. 66M: slot 1, added later
 */
ST_TEST(tdp_mmu_mmio_exit)
{
	struct kvm_userspace_memory_region r1 = { 0 };
	struct mmusim_vm_config cfg = { 0 };
	struct mmusim_vm_stats st;
	struct mmusim_exit exit;
	struct st_vm *v = kzalloc(sizeof(*v), GFP_KERNEL);
	hva_t hva2 = 0;
	int r;

	ST_ASSERT_NOT_NULL(v);
	r = st_vm_create(ctx, v, &cfg, 2 * ST_MiB, 0);
	if (r) {
		kfree(v);
		ST_FAIL_MSG("st_vm_create: %d", r);
	}
	ST_EXPECT_EQ(mmusim_vcpu_access(st_vcpu(v, 0), 16 * ST_MiB, MMUSIM_ACCESS_WRITE, &exit), 1);
	ST_EXPECT_EQ(exit.reason, (u32)KVM_EXIT_MMIO);
	ST_EXPECT_EQ(exit.gpa, 16 * ST_MiB);
	ST_EXPECT(exit.is_write);
	ST_EXPECT_EQ(mmusim_vcpu_access(st_vcpu(v, 0), 16 * ST_MiB, MMUSIM_ACCESS_READ, &exit), 1);
	mmusim_vm_get_stats(v->vm, &st);
	ST_EXPECT_EQ(st.pf_mmio_spte_created, 1ULL);
	/* The second access hits the MMIO SPTE: emulated, not a taken fault (6.12). */
	ST_EXPECT_EQ(st.pf_emulate, 1ULL);
	ST_EXPECT_EQ(st.pf_taken, 1ULL);

	ST_EXPECT_EQ(sim_mmap(v->mm, 0, 2 * ST_MiB, SIM_PROT_READ | SIM_PROT_WRITE,
			      SIM_MAP_PRIVATE, &hva2), 0);
	r1.slot = 1;
	r1.guest_phys_addr = 64 * ST_MiB;
	r1.memory_size = 2 * ST_MiB;
	r1.userspace_addr = hva2;
	ST_EXPECT_EQ(st_vm_set_region(v->vm, &r1), 0);
	ST_EXPECT_EQ(mmusim_vcpu_access(st_vcpu(v, 0), 16 * ST_MiB, MMUSIM_ACCESS_READ, &exit), 1);
	ST_EXPECT_EQ(mmusim_vcpu_access(st_vcpu(v, 0), 64 * ST_MiB, MMUSIM_ACCESS_WRITE, &exit), 0);
	mmusim_vm_get_stats(v->vm, &st);
	ST_EXPECT_EQ(st.pf_mmio_spte_created, 2ULL);
	ST_EXPECT_EQ(st.pages_4k, 1ULL);

	/* Deleting the slot makes its gpa MMIO again and drops its SPTE. */
	r1.memory_size = 0;
	ST_EXPECT_EQ(st_vm_set_region(v->vm, &r1), 0);
	mmusim_vm_get_stats(v->vm, &st);
	ST_EXPECT_EQ(st.pages_4k, 0ULL);
	ST_EXPECT_EQ(mmusim_vcpu_access(st_vcpu(v, 0), 64 * ST_MiB, MMUSIM_ACCESS_READ, &exit), 1);
	ST_EXPECT_EQ(exit.reason, (u32)KVM_EXIT_MMIO);
	st_vm_expect_check(ctx, v);
	st_vm_destroy(v);
	kfree(v);
	return st_result(ctx);
}

struct st_race {
	struct st_vm *v;
	int calls, ret;
	gfn_t gfn;
};

static void st_race_dontneed(void *arg, int point, gfn_t gfn)
{
	struct st_race *race = arg;

	race->calls++;
	race->gfn = gfn;
	race->ret = sim_madvise(race->v->mm, race->v->hva + (gfn << PAGE_SHIFT), PAGE_SIZE,
				SIM_MADV_DONTNEED);
}

/*
 * MADV_DONTNEED inside a fault (mmusim_vm_race_next_fault()), at both race
 * points, on both MMUs:
 *
 *   gfn 3   written ("old"), zapped, re-read while DONTNEED drops its page
 *
 * The invalidation bumps mmu_seq after the fault's snapshot, so the fault
 * retries and maps the new zero page: the read returns 0, never "old".
 */
ST_TEST(tdp_mmu_invalidation_inside_fault)
{
	static const u64 old = 0x6f6c64;
	struct mmusim_vm_config cfg = { 0 };
	struct mmusim_vm_stats before, after;
	struct st_vm *v = kzalloc(sizeof(*v), GFP_KERNEL);
	struct st_race race;
	int point, mmu, r;
	u64 val;

	ST_ASSERT_NOT_NULL(v);
	for (mmu = MMUSIM_MMU_TDP; mmu <= MMUSIM_MMU_LEGACY && !ctx->failures; mmu++) {
		for (point = 0; point < MMUSIM_FAULT_RACE_NR && !ctx->failures; point++) {
			cfg.mmu = mmu;
			r = st_vm_create(ctx, v, &cfg, 2 * ST_MiB, 0);
			ST_EXPECT_EQ(r, 0);
			if (r)
				break;
			memset(&race, 0, sizeof(race));
			race.v = v;
			val = old;
			ST_EXPECT_EQ(st_vcpu_write(st_vcpu(v, 0), 0x3000, &val, sizeof(val)), 0);
			ST_EXPECT_EQ(mmusim_vm_zap_gfn_range(v->vm, 0, 3, 4), 0);
			ST_EXPECT_EQ(mmusim_vm_race_next_fault(v->vm, point, st_race_dontneed, &race),
				     0);
			mmusim_vm_get_stats(v->vm, &before);
			ST_EXPECT_EQ(st_vcpu_read(st_vcpu(v, 0), 0x3000, &val, sizeof(val)), 0);
			mmusim_vm_get_stats(v->vm, &after);
			ST_EXPECT_EQ(val, 0ULL);
			ST_EXPECT_EQ(race.calls, 1);
			ST_EXPECT_EQ(race.ret, 0);
			ST_EXPECT_EQ(race.gfn, (gfn_t)3);
			ST_EXPECT_EQ(after.pf_retry - before.pf_retry, 1ULL);
			st_vm_expect_check(ctx, v);
			st_vm_destroy(v);
		}
	}
	kfree(v);
	return st_result(ctx);
}

/*
 * Dirty logging over 2M hugetlb memory:
 *
 *   gpa 0 ........ 2M ........ 4M      slot 0, two 2M leaves
 *       ^5 ^7        ^612 (gfns written while logging)
 *
 * Enabling logging write-protects the slot (and flushes, or the vCPU's TLB
 * would let writes through unlogged); a write into a 2M leaf splits it into
 * 512 4K leaves under mmu_lock held for read and is logged.  A harvest
 * returns exactly the written gfns and re-protects them; the next harvest
 * is empty until they are written again.
 */
ST_TEST(tdp_mmu_dirty_log)
{
	struct kvm_userspace_memory_region r = { 0 };
	unsigned long bitmap[1024 / BITS_PER_LONG];
	struct mmusim_vm_config cfg = { 0 };
	struct mmusim_vm_stats st;
	struct st_vm *v = kzalloc(sizeof(*v), GFP_KERNEL);
	u64 val = ctx->seed;
	int r0;

	ST_ASSERT_NOT_NULL(v);
	r0 = st_vm_create(ctx, v, &cfg, 4 * ST_MiB, SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M);
	if (r0) {
		kfree(v);
		ST_FAIL_MSG("st_vm_create: %d", r0);
	}
	ST_EXPECT_EQ(mmusim_vcpu_access(st_vcpu(v, 0), 0, MMUSIM_ACCESS_WRITE, NULL), 0);
	ST_EXPECT_EQ(mmusim_vcpu_access(st_vcpu(v, 0), 2 * ST_MiB, MMUSIM_ACCESS_WRITE, NULL), 0);
	mmusim_vm_get_stats(v->vm, &st);
	ST_EXPECT_EQ(st.pages_2m, 2ULL);
	ST_EXPECT_EQ(st.pages_4k, 0ULL);
	/* Not logging yet. */
	ST_EXPECT_EQ(st_vm_get_dirty_log(v->vm, 0, bitmap, sizeof(bitmap)), -ENOENT);

	r.flags = KVM_MEM_LOG_DIRTY_PAGES;
	r.memory_size = v->size;
	r.userspace_addr = v->hva;
	ST_EXPECT_EQ(st_vm_set_region(v->vm, &r), 0);
	st_vm_expect_check(ctx, v);

	ST_EXPECT_EQ(st_vcpu_write(st_vcpu(v, 0), 5 * PAGE_SIZE, &val, sizeof(val)), 0);
	ST_EXPECT_EQ(st_vcpu_write(st_vcpu(v, 0), 7 * PAGE_SIZE, &val, sizeof(val)), 0);
	ST_EXPECT_EQ(mmusim_vcpu_access(st_vcpu(v, 0), 612 * PAGE_SIZE, MMUSIM_ACCESS_WRITE, NULL),
		     0);
	ST_EXPECT_EQ(mmusim_vcpu_access(st_vcpu(v, 0), 9 * PAGE_SIZE, MMUSIM_ACCESS_READ, NULL), 0);
	mmusim_vm_get_stats(v->vm, &st);
	ST_EXPECT_EQ(st.huge_splits, 2ULL);
	ST_EXPECT_EQ(st.pages_2m, 0ULL);
	ST_EXPECT_EQ(st.pages_4k, 1024ULL);
	st_vm_expect_check(ctx, v);

	memset(bitmap, 0, sizeof(bitmap));
	ST_EXPECT_EQ(st_vm_get_dirty_log(v->vm, 0, bitmap, sizeof(bitmap)), 0);
	ST_EXPECT(test_bit(5, bitmap) && test_bit(7, bitmap) && test_bit(612, bitmap));
	ST_EXPECT_EQ(bitmap_weight(bitmap, 1024), 3U);

	/* Harvested and re-protected: empty until written again. */
	ST_EXPECT_EQ(st_vm_get_dirty_log(v->vm, 0, bitmap, sizeof(bitmap)), 0);
	ST_EXPECT_EQ(bitmap_weight(bitmap, 1024), 0U);
	ST_EXPECT_EQ(mmusim_vcpu_access(st_vcpu(v, 0), 7 * PAGE_SIZE, MMUSIM_ACCESS_WRITE, NULL), 0);
	ST_EXPECT_EQ(st_vm_get_dirty_log(v->vm, 0, bitmap, sizeof(bitmap)), 0);
	ST_EXPECT(test_bit(7, bitmap));
	ST_EXPECT_EQ(bitmap_weight(bitmap, 1024), 1U);

	/* Logging off: the bitmap is gone. */
	r.flags = 0;
	ST_EXPECT_EQ(st_vm_set_region(v->vm, &r), 0);
	ST_EXPECT_EQ(st_vm_get_dirty_log(v->vm, 0, bitmap, sizeof(bitmap)), -ENOENT);
	mmusim_vm_get_stats(v->vm, &st);
	ST_EXPECT_EQ(st.stale_tlb_uses, 0ULL);
	st_vm_expect_check(ctx, v);
	st_vm_destroy(v);
	kfree(v);
	return st_result(ctx);
}

/* ======================== One VM, several threads ======================== */

#define ST_PAR_VCPUS 3
#define ST_PAR_STRIPE 512	/* pages per vCPU */
#define ST_PAR_HOT 16		/* the first pages of each stripe: stay in the vCPU's TLB */
#define ST_PAR_HOT_ITERS 16
#define ST_PAR_HOT_OFF 2048	/* where hot-set values live in a page */
#define ST_PAR_ROUNDS 6
#define ST_PAR_HOST_OPS_PER_ROUND 48	/* host thread iterations before each round */
#define ST_PAR_HOST_SLACK 64		/* host iterations ahead of the vCPUs' demand */
#define ST_PAR_MAX_MS 20000		/* bound on any wait; reaching it is a failure */

struct st_par {
	struct st_vm v;
	u64 seed;
	bool go;		/* every thread was started: run */
	bool abort;		/* a thread could not be started: stop at once */
	atomic_t vcpus_done;
	atomic_t errors;
	atomic_long_t host_iters;	/* host thread loop iterations, refusals included */
	atomic_long_t host_demand;	/* iterations the vCPUs asked for, in total */
	atomic_long_t migrations, refused, zaps, accesses;
	char msg[96];
};

struct st_par_vcpu {
	struct st_par *p;
	int idx;
	int last_round;		/* the round whose values the stripe holds, -1 if none */
};

static void st_par_fail(struct st_par *p, int err, const char *what, u64 where)
{
	if (atomic_inc_return(&p->errors) == 1)
		scnprintf(p->msg, sizeof(p->msg), "%s at %#llx: %d", what,
			  (unsigned long long)where, err);
}

static u64 st_par_value(const struct st_par *p, int idx, u64 page, int round)
{
	return p->seed ^ ((u64)round << 56) ^ ((u64)idx << 48) ^ (page * 0x9e3779b97f4a7c15ULL);
}

static u64 st_par_hot_value(const struct st_par *p, int idx, u64 page, int round, int iter)
{
	return ~st_par_value(p, idx, page, round) ^ ((u64)iter << 40);
}

/* Waits (yielding) until the test starts everybody; false to quit at once. */
static bool st_par_wait_go(struct st_par *p)
{
	st_wait_until(smp_load_acquire(&p->go), ST_PAR_MAX_MS);
	return smp_load_acquire(&p->go) && !READ_ONCE(p->abort);
}

/* Yields until the host thread has gone round @n more times; false if it did not. */
static bool st_par_wait_host(struct st_par *p, long n)
{
	long target = atomic_long_read(&p->host_iters) + n;

	atomic_long_add(n, &p->host_demand);

	return st_wait_until(atomic_long_read(&p->host_iters) >= target ||
			     atomic_read(&p->errors), ST_PAR_MAX_MS);
}

/*
 * The hot set: write and read back the first ST_PAR_HOT pages of the stripe
 * over and over, so their translations stay in the vCPU's TLB, and let the
 * host thread (which mostly migrates hot pages) go round between two passes.
 * A migration whose TLB flush went missing leaves a stale entry here, which
 * the TLB checker reports (WARN) and through which a write would land in
 * the old, freed page.
 */
static void st_par_hot_set(struct st_par *p, struct mmusim_vcpu *vcpu, int idx, int round,
			   struct st_ubuf *ub)
{
	u64 *val = ub->k;

	gpa_t base = (gpa_t)idx * ST_PAR_STRIPE * PAGE_SIZE + ST_PAR_HOT_OFF + 8 * idx;
	int it;
	u64 i;

	for (it = 0; it < ST_PAR_HOT_ITERS; it++) {
		for (i = 0; i < ST_PAR_HOT; i++) {
			int r;

			*val = st_par_hot_value(p, idx, i, round, it);
			r = mmusim_vcpu_write(vcpu, base + i * PAGE_SIZE, ub->u, sizeof(*val));

			if (r)
				st_par_fail(p, r, "hot write", base + i * PAGE_SIZE);
		}
		for (i = 0; i < ST_PAR_HOT; i++) {
			int r;

			*val = 0;
			r = mmusim_vcpu_read(vcpu, base + i * PAGE_SIZE, ub->u, sizeof(*val));
			if (r)
				st_par_fail(p, r, "hot read", base + i * PAGE_SIZE);
			else if (*val != st_par_hot_value(p, idx, i, round, it))
				st_par_fail(p, -EIO, "hot data lost", base + i * PAGE_SIZE);
		}
		if (!st_par_wait_host(p, 1))
			st_par_fail(p, -ETIMEDOUT, "host thread stuck in hot set", round);
	}
}

/*
 * vCPU @idx owns gfns [idx * STRIPE, (idx + 1) * STRIPE).  Each round it
 * faults the whole stripe in (the host thread keeps zapping it), writes a
 * round-specific value into every page and reads them all back: a write
 * that went to a page the host has already replaced would read back stale.
 * Before each round it waits (yielding) for the host thread to have gone
 * round ST_PAR_HOST_OPS_PER_ROUND more times, so the two really overlap even
 * where kernel threads are not preempted, and neither can starve the other.
 */
static int st_par_vcpu_thread(void *arg)
{
	struct st_par_vcpu *a = arg;
	struct st_par *p = a->p;
	struct mmusim_vcpu *vcpu = st_vcpu(&p->v, a->idx);
	gpa_t base = (gpa_t)a->idx * ST_PAR_STRIPE * PAGE_SIZE;
	struct st_ubuf ub; /* the vcpu_read/write buffer: user memory */
	u64 *val = NULL;
	int round;
	u64 i;

	a->last_round = -1;
	if (st_ubuf_alloc(&ub, sizeof(*val))) {
		st_par_fail(p, -ENOMEM, "user memory", 0);
		goto out;
	}
	val = ub.k;
	if (!st_par_wait_go(p))
		goto out;
	for (round = 0; round < ST_PAR_ROUNDS && !atomic_read(&p->errors); round++) {
		long n;

		if (!st_par_wait_host(p, ST_PAR_HOST_OPS_PER_ROUND)) {
			st_par_fail(p, -ETIMEDOUT, "host thread stuck before round", round);
			break;
		}
		n = mmusim_vcpu_access_range(vcpu, base, ST_PAR_STRIPE, 0,
					     round & 1 ? MMUSIM_ACCESS_READ : MMUSIM_ACCESS_WRITE,
					     NULL);
		if (n != ST_PAR_STRIPE)
			st_par_fail(p, (int)n, "access_range", base);
		for (i = 0; i < ST_PAR_STRIPE; i++) {
			int r;

			*val = st_par_value(p, a->idx, i, round);
			r = mmusim_vcpu_write(vcpu, base + i * PAGE_SIZE + 8 * a->idx, ub.u,
					      sizeof(*val));

			if (r)
				st_par_fail(p, r, "write", base + i * PAGE_SIZE);
			if (!(i % 64))
				cond_resched();
		}
		a->last_round = round;
		for (i = 0; i < ST_PAR_STRIPE; i++) {
			int r;

			*val = 0;
			r = mmusim_vcpu_read(vcpu, base + i * PAGE_SIZE + 8 * a->idx, ub.u,
					     sizeof(*val));
			if (r)
				st_par_fail(p, r, "read", base + i * PAGE_SIZE);
			else if (*val != st_par_value(p, a->idx, i, round))
				st_par_fail(p, -EIO, "data lost", base + i * PAGE_SIZE);
			if (!(i % 64))
				cond_resched();
		}
		st_par_hot_set(p, vcpu, a->idx, round, &ub);
		atomic_long_add(3 * ST_PAR_STRIPE + 2 * ST_PAR_HOT * ST_PAR_HOT_ITERS,
				&p->accesses);
	}
out:
	st_ubuf_free(&ub);
	atomic_inc(&p->vcpus_done);
	return 0;
}

/*
 * Until every vCPU is done: migrate a random page (the MMU notifier zaps
 * its SPTE under mmu_lock, flushes, and waits for vCPUs in guest mode), and
 * now and then zap a random 64-page range through the VM.  It runs no more
 * than ST_PAR_HOST_SLACK iterations ahead of what the vCPUs asked for, so
 * the amount of work does not depend on how the threads are scheduled.
 */
static int st_par_host_thread(void *arg)
{
	struct st_par *p = arg;
	const u64 npages = ST_PAR_VCPUS * ST_PAR_STRIPE;
	u64 rng = p->seed | 1;
	unsigned long n = 0;

	if (!st_par_wait_go(p))
		return 0;
	while (atomic_read(&p->vcpus_done) < ST_PAR_VCPUS) {
		u64 page;
		int r;

		if (!st_wait_until(atomic_long_read(&p->host_iters) <
					   atomic_long_read(&p->host_demand) + ST_PAR_HOST_SLACK ||
				   atomic_read(&p->vcpus_done) == ST_PAR_VCPUS, ST_PAR_MAX_MS))
			continue;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		page = (rng >> 8) % npages;
		/* Three operations in four hit some vCPU's hot set. */
		if (n % 4)
			page = page / ST_PAR_STRIPE * ST_PAR_STRIPE + page % ST_PAR_HOT;
		if (++n % 16 == 0) {
			r = mmusim_vm_zap_gfn_range(p->v.vm, 0, page & ~63ULL, (page & ~63ULL) + 64);
			if (r)
				st_par_fail(p, r, "zap", page);
			atomic_long_inc(&p->zaps);
		} else {
			r = sim_migrate_page(p->v.mm, p->v.hva + page * PAGE_SIZE);
			/* Not faulted in yet (-EFAULT) or busy: legitimate refusals. */
			if (!r)
				atomic_long_inc(&p->migrations);
			else
				atomic_long_inc(&p->refused);
			if (r && r != -EFAULT && r != -EBUSY && r != -EAGAIN && r != -ENOENT)
				st_par_fail(p, r, "migrate", page);
		}
		atomic_long_inc(&p->host_iters);
		cond_resched();
	}
	return 0;
}

/*
 * Three vCPU threads fault, write and read their own stripes of ONE VM while
 * a host thread migrates pages and zaps ranges under them:
 *
 *   gfn 0 ...... 511 | 512 ..... 1023 | 1024 .... 1535
 *       vCPU 0       |     vCPU 1     |     vCPU 2
 *       [hot]        |     [hot]      |     [hot]       first 16 pages of each
 *   host thread: migrate any page (every other one in a hot set), zap any
 *                64-page range
 *
 * Afterwards: no error, no data lost, no stale TLB use (the checker WARNs),
 * mmusim_vm_check() passes, and every page still holds its last value.
 */
ST_TEST(tdp_mmu_parallel_vcpus)
{
	struct mmusim_vm_config cfg = { .nr_vcpus = ST_PAR_VCPUS };
	struct st_par_vcpu args[ST_PAR_VCPUS];
	struct env_thread *th[ST_PAR_VCPUS + 1];
	struct st_par *p = kzalloc(sizeof(*p), GFP_KERNEL);
	struct mmusim_vm_stats st;
	int i, r, nth = 0;
	u64 pg;

	ST_ASSERT_NOT_NULL(p);
	p->seed = ctx->seed;
	r = st_vm_create(ctx, &p->v, &cfg, (u64)ST_PAR_VCPUS * ST_PAR_STRIPE * PAGE_SIZE, 0);
	if (r) {
		kfree(p);
		ST_FAIL_MSG("st_vm_create: %d", r);
	}
	/* The host thread first: creating kthreads needs kthreadd to get a CPU. */
	th[nth] = env_thread_start(st_par_host_thread, p, "host");
	ST_EXPECT_NOT_NULL(th[nth]);
	nth += !!th[nth];
	for (i = 0; i < ST_PAR_VCPUS; i++) {
		args[i].p = p;
		args[i].idx = i;
		args[i].last_round = -1;
		th[nth] = env_thread_start(st_par_vcpu_thread, &args[i], "vcpu");
		ST_EXPECT_NOT_NULL(th[nth]);
		nth += !!th[nth];
	}
	if (nth != ST_PAR_VCPUS + 1) {
		WRITE_ONCE(p->abort, true);
		atomic_set(&p->vcpus_done, ST_PAR_VCPUS);
	}
	smp_store_release(&p->go, true);
	for (i = 0; i < nth; i++)
		env_thread_join(th[i]);
	if (nth != ST_PAR_VCPUS + 1)
		goto out;

	if (atomic_read(&p->errors))
		__ST_FAILURE("%d errors, first: %s", atomic_read(&p->errors), p->msg);
	ST_EXPECT_GE(atomic_long_read(&p->host_iters),
		     (long)ST_PAR_ROUNDS * (ST_PAR_HOST_OPS_PER_ROUND + ST_PAR_HOT_ITERS));
	ST_EXPECT_GT(atomic_long_read(&p->migrations), 0L);
	ST_EXPECT_GT(atomic_long_read(&p->zaps), 0L);
	st_vm_expect_check(ctx, &p->v);
	mmusim_vm_get_stats(p->v.vm, &st);
	ST_EXPECT_EQ(st.stale_tlb_uses, 0ULL);
	pr_info("mmusim: %s: %ld accesses, %ld migrations (%ld refused), %ld zaps; "
		"%llu faults fixed (%llu retried), %llu remote TLB flushes\n", ctx->name,
		atomic_long_read(&p->accesses), atomic_long_read(&p->migrations),
		atomic_long_read(&p->refused), atomic_long_read(&p->zaps), (unsigned long long)st.pf_fixed,
		(unsigned long long)st.pf_retry, (unsigned long long)st.remote_tlb_flush);

	/* Every page still holds its owner's last value, read by another vCPU. */
	for (pg = 0; pg < ST_PAR_VCPUS * ST_PAR_STRIPE && !ctx->failures; pg++) {
		int owner = pg / ST_PAR_STRIPE;
		u64 val = 0;

		ST_EXPECT_GE(args[owner].last_round, 0);
		ST_EXPECT_EQ(st_vcpu_read(st_vcpu(&p->v, (owner + 1) % ST_PAR_VCPUS),
					  pg * PAGE_SIZE + 8 * owner, &val, sizeof(val)),
			     0);
		ST_EXPECT_EQ(val, st_par_value(p, owner, pg % ST_PAR_STRIPE,
					       args[owner].last_round));
		if (pg % ST_PAR_STRIPE >= ST_PAR_HOT)
			continue;
		ST_EXPECT_EQ(st_vcpu_read(st_vcpu(&p->v, (owner + 1) % ST_PAR_VCPUS),
					  pg * PAGE_SIZE + ST_PAR_HOT_OFF + 8 * owner, &val,
					  sizeof(val)),
			     0);
		ST_EXPECT_EQ(val, st_par_hot_value(p, owner, pg % ST_PAR_STRIPE,
						   args[owner].last_round, ST_PAR_HOT_ITERS - 1));
	}
	st_vm_expect_check(ctx, &p->v);
out:
	st_vm_destroy(&p->v);
	kfree(p);
	return st_result(ctx);
}
