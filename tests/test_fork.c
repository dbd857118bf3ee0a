// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/host/fork.c and the COW break it makes possible (fault.c,
 * gup.c): what a child shares and what it gets a copy of, the write
 * protection and its notifier event, COW and reuse by refcount, child
 * exit, pinned pages copied at fork, the fork advice (DONTFORK,
 * WIPEONFORK), shared and VM_PFNMAP memory, GUP breaking or unsharing COW,
 * and -ENOMEM anywhere in a fork unwinding.  Linux 6.12 semantics.
 */
#include "mm_test_util.h"
#include <mmusim/env.h>

static struct mmt child_of(struct mmt *t, struct sim_mm *mm)
{
	struct mmt c = { .host = t->host, .mm = mm };

	return c;
}

static bool mmt_writable(struct mmt *t, hva_t addr)
{
	struct sim_host_pte_info info;

	assert_int_equal(sim_mm_lookup(t->mm, addr, &info), 0);
	return info.writable;
}

static struct sim_page *mmt_page(struct mmt *t, hva_t addr)
{
	return sim_pfn_to_page(t->host, mmt_pfn(t, addr));
}

/*
 * Private anonymous memory, forked:
 *
 *   a         a+4K      a+8K      a+12K
 *   [P0 data] [P1 data] [zero]    [none]      parent before
 *   [P0 RO]   [P1 RO]   [zero]    [none]      parent after fork
 *   [P0 RO]   [P1 RO]   [zero']   [none]      child (its own zero page)
 *   [N0 RW]   [P1 RO]                         parent writes a: COW
 *   [P0 RW]                                   child writes a: reuse
 */
static void test_fork_cow_private(void **state)
{
	struct sim_page *p0, *p1;
	struct recorder *r;
	struct sim_mm *cmm;
	struct mmt t, c;
	kvm_pfn_t pfn0;
	hva_t a;
	int s, e;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 4 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 1);
	mmt_fill(&t, a + PAGE_SIZE, 2);
	assert_int_equal(sim_mm_touch(t.mm, a + 2 * PAGE_SIZE, false), 0);
	p0 = mmt_page(&t, a);
	p1 = mmt_page(&t, a + PAGE_SIZE);
	pfn0 = mmt_pfn(&t, a);
	assert_int_equal(sim_page_count(t.host, p0), 1);
	r = rec_register(t.mm);

	assert_int_equal(sim_mm_fork(t.mm, &cmm), 0);
	c = child_of(&t, cmm);
	/* copy_page_range(): a PROTECTION_PAGE invalidation of the COW VMA. */
	s = rec_find(r, REC_START, 0);
	e = rec_find(r, REC_END, 0);
	assert_true(s >= 0 && s < e);
	assert_int_equal(r->ev[s].event, SIM_MMU_NOTIFY_PROTECTION_PAGE);
	assert_int_equal(r->ev[s].start, a);
	assert_int_equal(r->ev[s].end, a + 4 * PAGE_SIZE);
	assert_true(r->ev[s].lookup == 0 && r->ev[s].pfn == pfn0);
	rec_assert_balanced(r);
	assert_int_equal(mmt_stats(&t).forks, 1);

	/* Shared, write-protected in both, no longer exclusive. */
	assert_int_equal(mmt_pfn(&c, a), pfn0);
	assert_int_equal(mmt_pfn(&c, a + PAGE_SIZE), mmt_pfn(&t, a + PAGE_SIZE));
	assert_false(mmt_writable(&t, a));
	assert_false(mmt_writable(&c, a));
	assert_int_equal(sim_page_count(t.host, p0), 2);
	assert_true(sim_page_flags(t.host, p0) & SIM_PG_ANON_SHARED);
	assert_true(mmt_check(&c, a, 1) && mmt_check(&c, a + PAGE_SIZE, 2));
	assert_true(sim_page_is_zero(c.mm, mmt_pfn(&c, a + 2 * PAGE_SIZE)));
	assert_int_equal(mmt_level(&c, a + 3 * PAGE_SIZE), 0);

	/* The parent's write copies: the child keeps the old frame and data. */
	r->nr = 0;
	mmt_fill(&t, a, 10);
	assert_int_not_equal(mmt_pfn(&t, a), pfn0);
	assert_true(mmt_writable(&t, a));
	assert_int_equal(mmt_pfn(&c, a), pfn0);
	assert_true(mmt_check(&t, a, 10));
	assert_true(mmt_check(&c, a, 1));
	assert_int_equal(mmt_stats(&t).cow_breaks, 1);
	assert_int_equal(sim_page_count(t.host, p0), 1);
	assert_false(sim_page_flags(t.host, mmt_page(&t, a)) & SIM_PG_ANON_SHARED);
	s = rec_find(r, REC_START, 0);
	assert_true(s >= 0 && r->ev[s].event == SIM_MMU_NOTIFY_CLEAR && r->ev[s].start == a);

	/* The child's mapping now holds P0's only reference: reused, no copy. */
	mmt_fill(&c, a, 11);
	assert_int_equal(mmt_pfn(&c, a), pfn0);
	assert_true(mmt_writable(&c, a));
	assert_false(sim_page_flags(t.host, p0) & SIM_PG_ANON_SHARED);
	assert_int_equal(mmt_stats(&t).cow_breaks, 1);
	assert_true(mmt_check(&t, a, 10) && mmt_check(&c, a, 11));

	/* P1 stays shared until someone writes it. */
	assert_int_equal(sim_page_count(t.host, p1), 2);
	rec_unregister(r);
	sim_mm_destroy(c.mm);
	assert_int_equal(sim_page_count(t.host, p1), 1);
	mmt_fini(&t);
}

/*
 * The child exits (or unmaps) first: the parent's write reuses its page.
 *
 *   a
 *   [P RO, shared]  fork; child destroyed -> refcount 1
 *   [P RW]          parent write: same pfn, no COW
 */
static void test_fork_child_exit_reuse(void **state)
{
	struct sim_mm *cmm;
	struct mmt t;
	kvm_pfn_t pfn;
	hva_t a;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 2 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 1);
	mmt_fill(&t, a + PAGE_SIZE, 2);
	pfn = mmt_pfn(&t, a);
	assert_int_equal(sim_mm_fork(t.mm, &cmm), 0);
	assert_int_equal(sim_munmap(cmm, a + PAGE_SIZE, PAGE_SIZE), 0);
	sim_mm_destroy(cmm);
	assert_int_equal(sim_page_count(t.host, mmt_page(&t, a)), 1);
	mmt_fill(&t, a, 3);
	mmt_fill(&t, a + PAGE_SIZE, 4);
	assert_int_equal(mmt_pfn(&t, a), pfn);
	assert_int_equal(mmt_stats(&t).cow_breaks, 0);
	assert_true(mmt_check(&t, a, 3) && mmt_check(&t, a + PAGE_SIZE, 4));
	mmt_fini(&t);
}

/*
 * A pinned page is the pin holder's (page_needs_cow_for_dma()): the parent
 * keeps it writable, the child gets a copy at fork.
 *
 *   a           a+4K
 *   [pinned P]  [Q]      parent: P stays RW, Q shared RO
 *   [copy of P] [Q]      child
 */
static void test_fork_pinned_copied(void **state)
{
	struct sim_page *pin;
	struct sim_mm *cmm;
	struct mmt t, c;
	kvm_pfn_t pfn;
	u64 w = 0x5a5a;
	hva_t a;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 2 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 1);
	mmt_fill(&t, a + PAGE_SIZE, 2);
	pfn = mmt_pfn(&t, a);
	assert_int_equal(sim_pin_user_pages(t.mm, a, 1, SIM_FOLL_WRITE | SIM_FOLL_LONGTERM, &pin),
			 1);
	pfn = sim_page_to_pfn(t.host, pin); /* FOLL_LONGTERM may have moved it */
	assert_int_equal(sim_mm_fork(t.mm, &cmm), 0);
	c = child_of(&t, cmm);
	assert_int_equal(mmt_pfn(&t, a), pfn);
	assert_true(mmt_writable(&t, a));
	assert_int_not_equal(mmt_pfn(&c, a), pfn);
	assert_true(mmt_writable(&c, a));
	assert_true(mmt_check(&c, a, 1));
	assert_false(sim_page_flags(t.host, pin) & SIM_PG_ANON_SHARED);
	assert_int_equal(mmt_stats(&t).fork_copies, 1);
	assert_false(mmt_writable(&t, a + PAGE_SIZE));

	/* The parent's writes still reach the pinned page, the child's do not. */
	assert_int_equal(sim_mm_write(t.mm, a, &w, sizeof(w)), 0);
	assert_int_equal(*(u64 *)sim_pfn_to_virt(t.host, pfn), w);
	mmt_fill(&c, a, 7);
	assert_int_equal(*(u64 *)sim_pfn_to_virt(t.host, pfn), w);
	assert_int_equal(mmt_stats(&t).cow_breaks, 0);
	sim_unpin_user_page(t.host, pin);
	sim_mm_destroy(c.mm);
	mmt_fini(&t);
}

/*
 * The fork advice, on three pages of one VMA (madvise splits it):
 *
 *   a          a+4K         a+8K
 *   [keep]     [DONTFORK]   [WIPEONFORK]   parent, all written
 *   [copy]     (no VMA)     [zero]         child
 */
static void test_fork_advice(void **state)
{
	unsigned long flags;
	struct sim_mm *cmm;
	struct mmt t, c;
	hva_t a, sh, pf;
	char z = 1;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 3 * PAGE_SIZE, RW, PRIV);
	sh = mmt_mmap(&t, PAGE_SIZE, RW, SIM_MAP_SHARED);
	assert_int_equal(sim_mmap_pfn(t.mm, 0, PAGE_SIZE, RW, 100, &pf), 0);
	mmt_fill(&t, a, 1);
	mmt_fill(&t, a + PAGE_SIZE, 2);
	mmt_fill(&t, a + 2 * PAGE_SIZE, 3);
	assert_int_equal(sim_madvise(t.mm, a + PAGE_SIZE, PAGE_SIZE, SIM_MADV_DONTFORK), 0);
	assert_int_equal(sim_madvise(t.mm, a + 2 * PAGE_SIZE, PAGE_SIZE, SIM_MADV_WIPEONFORK), 0);
	assert_int_equal(sim_mm_vma_flags(t.mm, a + PAGE_SIZE, &flags), 0);
	assert_true(flags & SIM_VM_DONTCOPY);
	assert_int_equal(sim_mm_vma_flags(t.mm, a, &flags), 0);
	assert_false(flags & (SIM_VM_DONTCOPY | SIM_VM_WIPEONFORK));
	/* madvise_vma_behavior()'s refusals. */
	assert_int_equal(sim_madvise(t.mm, pf, PAGE_SIZE, SIM_MADV_DOFORK), -EINVAL);
	assert_int_equal(sim_madvise(t.mm, sh, PAGE_SIZE, SIM_MADV_WIPEONFORK), -EINVAL);
	assert_int_equal(sim_madvise(t.mm, pf, PAGE_SIZE, SIM_MADV_WIPEONFORK), -EINVAL);

	assert_int_equal(sim_mm_fork(t.mm, &cmm), 0);
	c = child_of(&t, cmm);
	assert_true(mmt_check(&c, a, 1));
	assert_int_equal(sim_mm_vma_flags(c.mm, a + PAGE_SIZE, &flags), -EFAULT);
	assert_int_equal(sim_mm_vma_flags(c.mm, a + 2 * PAGE_SIZE, &flags), 0);
	assert_true(flags & SIM_VM_WIPEONFORK);
	assert_int_equal(sim_mm_read(c.mm, a + 2 * PAGE_SIZE, &z, 1), 0);
	assert_int_equal(z, 0);
	/* The parent keeps all three, DONTFORK and WIPEONFORK pages writable. */
	assert_true(mmt_check(&t, a + PAGE_SIZE, 2) && mmt_check(&t, a + 2 * PAGE_SIZE, 3));
	assert_true(mmt_writable(&t, a + PAGE_SIZE) && mmt_writable(&t, a + 2 * PAGE_SIZE));
	sim_mm_destroy(c.mm);

	/* DOFORK and KEEPONFORK undo them; the VMAs merge back. */
	assert_int_equal(sim_madvise(t.mm, a + PAGE_SIZE, PAGE_SIZE, SIM_MADV_DOFORK), 0);
	assert_int_equal(sim_madvise(t.mm, a + 2 * PAGE_SIZE, PAGE_SIZE, SIM_MADV_KEEPONFORK), 0);
	assert_int_equal(sim_mm_fork(t.mm, &cmm), 0);
	c = child_of(&t, cmm);
	assert_true(mmt_check(&c, a + PAGE_SIZE, 2) && mmt_check(&c, a + 2 * PAGE_SIZE, 3));
	sim_mm_destroy(c.mm);
	mmt_fini(&t);
}

/*
 * Shared memory stays shared (same frames, writable in both), VM_PFNMAP
 * maps the same PFNs, a VM_LOCKED VMA is not locked in the child, a
 * swapped-out page is read back by both, a private THP is shared
 * (write-protected, one reference per mm), a private hugetlb page is
 * copied for the child (fork.c's deviation) and a shared one shared.
 *
 *   sh [S]   pf [pfn 100]   lk [L, VM_LOCKED]   sw [swapped]   th [2M THP]
 *   hp [2M hugetlb, private]   hs [2M hugetlb, shared]
 */
static void test_fork_shared_pfnmap_swap_thp(void **state)
{
	unsigned long flags;
	struct sim_mm *cmm;
	struct mmt t, c;
	hva_t sh, pf, lk, sw, th, hp, hs;

	mmt_init(&t, 0);
	assert_int_equal(sim_mm_set_cap_ipc_lock(t.mm, true), 0);
	sh = mmt_mmap(&t, PAGE_SIZE, RW, SIM_MAP_SHARED);
	assert_int_equal(sim_mmap_pfn(t.mm, 0, PAGE_SIZE, RW, 100, &pf), 0);
	lk = mmt_mmap(&t, PAGE_SIZE, RW, PRIV | SIM_MAP_LOCKED);
	sw = mmt_mmap(&t, PAGE_SIZE, RW, PRIV);
	th = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	hp = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M);
	hs = mmt_mmap(&t, SZ_2M, RW, SIM_MAP_SHARED | SIM_MAP_HUGETLB_2M);
	mmt_fill(&t, hp + PAGE_SIZE, 11);
	mmt_fill(&t, hs + PAGE_SIZE, 12);
	mmt_fill(&t, sh, 1);
	mmt_fill(&t, lk, 2);
	mmt_fill(&t, sw, 3);
	mmt_fill(&t, th + 5 * PAGE_SIZE, 4);
	assert_int_equal(mmt_level(&t, th), PG_LEVEL_2M);
	assert_int_equal(sim_swap_out(t.mm, sw), 0);

	assert_int_equal(sim_mm_fork(t.mm, &cmm), 0);
	c = child_of(&t, cmm);
	assert_int_equal(mmt_pfn(&c, sh), mmt_pfn(&t, sh));
	assert_true(mmt_writable(&c, sh) && mmt_writable(&t, sh));
	mmt_fill(&c, sh, 5);
	assert_true(mmt_check(&t, sh, 5));
	assert_int_equal(mmt_pfn(&c, pf), 100);
	assert_int_equal(sim_mm_vma_flags(c.mm, lk, &flags), 0);
	assert_false(flags & SIM_VM_LOCKED);
	assert_int_equal(sim_mm_locked_vm(c.mm), 0);
	assert_int_equal(sim_mm_locked_vm(t.mm), 1);
	assert_true(mmt_check(&c, lk, 2));
	assert_true(mmt_check(&c, sw, 3) && mmt_check(&t, sw, 3));
	assert_int_equal(mmt_level(&c, th), PG_LEVEL_2M);
	assert_int_equal(mmt_pfn(&c, th), mmt_pfn(&t, th));
	assert_false(mmt_writable(&t, th) || mmt_writable(&c, th));
	assert_int_equal(sim_page_count(t.host, mmt_page(&t, th)), 2);
	assert_true(mmt_check(&c, th + 5 * PAGE_SIZE, 4));
	/* hugetlb: the private page copied, the shared one shared (writable). */
	assert_int_equal(mmt_level(&c, hp), PG_LEVEL_2M);
	assert_int_not_equal(mmt_pfn(&c, hp), mmt_pfn(&t, hp));
	assert_true(mmt_writable(&t, hp) && mmt_check(&c, hp + PAGE_SIZE, 11));
	assert_int_equal(mmt_pfn(&c, hs), mmt_pfn(&t, hs));
	mmt_fill(&c, hs + PAGE_SIZE, 13);
	assert_true(mmt_check(&t, hs + PAGE_SIZE, 13));
	assert_int_equal(mmt_stats(&t).fork_copies, 1);
	/* The shared page's mapping references: one per mm. */
	assert_int_equal(sim_page_count(t.host, mmt_page(&t, sh)), 2);
	sim_mm_destroy(c.mm);
	assert_int_equal(sim_page_count(t.host, mmt_page(&t, sh)), 1);
	mmt_fini(&t);
}

/*
 * A THP shared by fork (do_huge_pmd_wp_page()): a write splits the writer's
 * PMD, the folio stays whole (the child maps it) and the 4K page is copied;
 * a page of a PTE-mapped THP is never reused (wp_can_reuse_anon_folio():
 * large folios), even once the child is gone; a PMD-mapped THP is reused
 * when the writer's mapping holds its only reference; a pinned THP is
 * copied for the child at fork; a read-only pin unshares 4K.
 *
 *   th  [THP: page 5 = 4, page 6 = 6]   shared, then the parent writes 5, 6
 *   th2 [THP]                           shared; child gone; parent writes: reused
 *   th3 [THP, one page pinned]          copied for the child
 *   th4 [THP]                           shared; read-only pin of page 1
 */
static void test_fork_thp(void **state)
{
	struct sim_page *head, *pin, *rpin;
	struct sim_mm *cmm, *cmm2;
	hva_t th, th2, th3, th4;
	kvm_pfn_t hpfn, pfn2;
	struct mmt t, c;

	mmt_init(&t, 0);
	th = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	th2 = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	th3 = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	th4 = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	mmt_fill(&t, th + 5 * PAGE_SIZE, 4);
	mmt_fill(&t, th + 6 * PAGE_SIZE, 6);
	mmt_fill(&t, th2, 7);
	mmt_fill(&t, th3, 8);
	mmt_fill(&t, th4 + PAGE_SIZE, 9);
	hpfn = mmt_pfn(&t, th);
	pfn2 = mmt_pfn(&t, th2);
	head = mmt_page(&t, th);
	assert_int_equal(sim_pin_user_pages(t.mm, th3 + PAGE_SIZE, 1, SIM_FOLL_WRITE, &pin), 1);

	assert_int_equal(sim_mm_fork(t.mm, &cmm), 0);
	c = child_of(&t, cmm);
	assert_int_equal(sim_page_count(t.host, head), 2);
	assert_true(sim_page_flags(t.host, head) & SIM_PG_ANON_SHARED);
	/* The pinned THP: a whole copy for the child, the parent's untouched. */
	assert_int_equal(mmt_level(&c, th3), PG_LEVEL_2M);
	assert_int_not_equal(mmt_pfn(&c, th3), mmt_pfn(&t, th3));
	assert_true(mmt_writable(&t, th3) && mmt_writable(&c, th3));
	assert_true(mmt_check(&c, th3, 8));
	assert_int_equal(mmt_stats(&t).fork_copies, 1);

	/* The parent writes page 5: PMD split, 4K COW; the child keeps the THP. */
	mmt_fill(&t, th + 5 * PAGE_SIZE, 40);
	assert_int_equal(mmt_level(&t, th + 5 * PAGE_SIZE), PG_LEVEL_4K);
	assert_int_not_equal(mmt_pfn(&t, th + 5 * PAGE_SIZE), hpfn + 5);
	assert_int_equal(mmt_pfn(&t, th + 6 * PAGE_SIZE), hpfn + 6);
	assert_int_equal(mmt_level(&c, th), PG_LEVEL_2M);
	assert_int_equal(mmt_pfn(&c, th), hpfn);
	assert_int_equal(sim_page_count(t.host, head), 2); /* one per mm still */
	assert_int_equal(mmt_stats(&t).cow_breaks, 1);
	assert_true(mmt_check(&t, th + 5 * PAGE_SIZE, 40) && mmt_check(&t, th + 6 * PAGE_SIZE, 6));
	assert_true(mmt_check(&c, th + 5 * PAGE_SIZE, 4) && mmt_check(&c, th + 6 * PAGE_SIZE, 6));

	/* A read-only pin of a shared THP page unshares it: a 4K copy, read-only. */
	assert_int_equal(sim_pin_user_pages(t.mm, th4 + PAGE_SIZE, 1, 0, &rpin), 1);
	assert_int_equal(mmt_level(&t, th4 + PAGE_SIZE), PG_LEVEL_4K);
	assert_int_equal(mmt_pfn(&t, th4 + PAGE_SIZE), sim_page_to_pfn(t.host, rpin));
	assert_int_not_equal(sim_page_to_pfn(t.host, rpin), mmt_pfn(&c, th4 + PAGE_SIZE));
	assert_false(mmt_writable(&t, th4 + PAGE_SIZE));
	assert_int_equal(mmt_stats(&t).cow_breaks, 2);
	sim_unpin_user_page(t.host, rpin);

	sim_mm_destroy(c.mm);
	assert_int_equal(sim_page_count(t.host, head), 1);
	/* PTE-mapped and large: copied again, though nobody else maps it. */
	mmt_fill(&t, th + 6 * PAGE_SIZE, 60);
	assert_int_not_equal(mmt_pfn(&t, th + 6 * PAGE_SIZE), hpfn + 6);
	assert_int_equal(mmt_stats(&t).cow_breaks, 3);
	assert_int_equal(sim_page_count(t.host, head), 1);
	/* PMD-mapped, the only reference: reused whole. */
	mmt_fill(&t, th2, 70);
	assert_int_equal(mmt_level(&t, th2), PG_LEVEL_2M);
	assert_int_equal(mmt_pfn(&t, th2), pfn2);
	assert_true(mmt_writable(&t, th2));
	assert_int_equal(mmt_stats(&t).cow_breaks, 3);

	/* A second fork of the PTE-mapped THP: one folio reference for the child's table. */
	assert_int_equal(sim_mm_fork(t.mm, &cmm2), 0);
	assert_int_equal(sim_page_count(t.host, head), 2);
	sim_mm_destroy(cmm2);
	assert_int_equal(sim_page_count(t.host, head), 1);
	sim_unpin_user_page(t.host, pin);
	mmt_fini(&t);
}

/*
 * GUP after fork: FOLL_WRITE breaks COW (as KVM's write fault does through
 * __kvm_follow_pfn()); a read-only pin unshares (gup_must_unshare()), in
 * the slow path and through GUP-fast's fallback; a plain read reference
 * does not.
 *
 *   a       a+4K    a+8K    a+12K
 *   [P0]    [P1]    [P2]    [P3]     all shared with the child
 *   get     W-get   R-pin   R-pin-fast
 */
static void test_fork_gup(void **state)
{
	struct sim_page *pg[4];
	kvm_pfn_t old[4];
	struct sim_mm *cmm;
	struct mmt t, c;
	hva_t a;
	int i;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 4 * PAGE_SIZE, RW, PRIV);
	for (i = 0; i < 4; i++) {
		mmt_fill(&t, a + i * PAGE_SIZE, i + 1);
		old[i] = mmt_pfn(&t, a + i * PAGE_SIZE);
	}
	assert_int_equal(sim_mm_fork(t.mm, &cmm), 0);
	c = child_of(&t, cmm);

	assert_int_equal(sim_get_user_pages(t.mm, a, 1, 0, &pg[0]), 1);
	assert_int_equal(sim_page_to_pfn(t.host, pg[0]), old[0]);
	assert_int_equal(sim_get_user_pages(t.mm, a + PAGE_SIZE, 1, SIM_FOLL_WRITE, &pg[1]), 1);
	assert_int_not_equal(sim_page_to_pfn(t.host, pg[1]), old[1]);
	assert_int_equal(mmt_pfn(&t, a + PAGE_SIZE), sim_page_to_pfn(t.host, pg[1]));
	assert_true(mmt_writable(&t, a + PAGE_SIZE));
	assert_int_equal(sim_pin_user_pages(t.mm, a + 2 * PAGE_SIZE, 1, 0, &pg[2]), 1);
	assert_int_equal(sim_pin_user_pages_fast(t.mm, a + 3 * PAGE_SIZE, 1, 0, &pg[3]), 1);
	for (i = 2; i < 4; i++) {
		/* Unshared: a copy, exclusive, still read-only; the child keeps the old. */
		assert_int_not_equal(sim_page_to_pfn(t.host, pg[i]), old[i]);
		assert_int_equal(mmt_pfn(&t, a + i * PAGE_SIZE), sim_page_to_pfn(t.host, pg[i]));
		assert_false(mmt_writable(&t, a + i * PAGE_SIZE));
		assert_false(sim_page_flags(t.host, pg[i]) & SIM_PG_ANON_SHARED);
		assert_int_equal(mmt_pfn(&c, a + i * PAGE_SIZE), old[i]);
	}
	assert_int_equal(mmt_stats(&t).cow_breaks, 3);
	/* A later write reuses the pinned copy: the pin sees it. */
	mmt_fill(&t, a + 2 * PAGE_SIZE, 9);
	assert_int_equal(mmt_pfn(&t, a + 2 * PAGE_SIZE), sim_page_to_pfn(t.host, pg[2]));
	assert_int_equal(mmt_stats(&t).cow_breaks, 3);
	for (i = 0; i < 4; i++)
		assert_true(mmt_check(&c, a + i * PAGE_SIZE, i + 1));

	sim_put_page(t.host, pg[0]);
	sim_put_page(t.host, pg[1]);
	sim_unpin_user_page(t.host, pg[2]);
	sim_unpin_user_page(t.host, pg[3]);
	sim_mm_destroy(c.mm);
	mmt_fini(&t);
}

/*
 * -ENOMEM at every allocation of a fork (child mm, VMAs, tables, a pinned
 * page's copy, a THP's copy, a swap slot): the child is gone, nothing
 * leaks, the parent's pages and data are where they were, and its next
 * write reuses its (write-protected) page without a copy.
 *
 *   a        a+4K       a+8K        th          th2
 *   [data]   [pinned]   [swapped]   [2M THP]    [2M THP, pinned: copied]
 */
static void test_fork_enomem(void **state)
{
	struct sim_host_stats before;
	struct sim_page *pin, *pin2;
	kvm_pfn_t pfn[3];
	unsigned long n;
	long live;
	struct mmt t;
	hva_t a, th, th2;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 3 * PAGE_SIZE, RW, PRIV);
	th = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	th2 = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	mmt_fill(&t, th2, 6);
	assert_int_equal(sim_pin_user_pages(t.mm, th2, 1, SIM_FOLL_WRITE, &pin2), 1);
	pfn[2] = mmt_pfn(&t, th2);
	mmt_fill(&t, a, 1);
	mmt_fill(&t, a + PAGE_SIZE, 2);
	mmt_fill(&t, a + 2 * PAGE_SIZE, 3);
	mmt_fill(&t, th, 4);
	assert_int_equal(sim_pin_user_pages(t.mm, a + PAGE_SIZE, 1, SIM_FOLL_WRITE, &pin), 1);
	assert_int_equal(sim_swap_out(t.mm, a + 2 * PAGE_SIZE), 0);
	pfn[0] = mmt_pfn(&t, a);
	pfn[1] = mmt_pfn(&t, th);
	rcu_barrier();
	before = mmt_stats(&t);
	live = env_live_objects();

	for (n = 1; n < 10000; n++) {
		struct sim_mm *cmm = NULL;
		unsigned long inj;
		int r;

		env_fail_nth(n);
		r = sim_mm_fork(t.mm, &cmm);
		inj = env_fail_injected();
		env_fail_clear();
		if (!r) {
			struct mmt c = child_of(&t, cmm);

			assert_true(mmt_check(&c, a, 1) && mmt_check(&c, a + PAGE_SIZE, 2) &&
				    mmt_check(&c, a + 2 * PAGE_SIZE, 3) && mmt_check(&c, th, 4) &&
				    mmt_check(&c, th2, 6));
			sim_mm_destroy(cmm);
			if (!inj)
				break;
		} else {
			assert_int_equal(r, -ENOMEM);
			assert_true(inj);
		}
		assert_int_equal(env_warn_count(), 0);
		rcu_barrier();
		assert_int_equal(env_live_objects(), live);
		assert_int_equal(mmt_stats(&t).free_pages, before.free_pages);
		assert_int_equal(mmt_stats(&t).pgtable_pages, before.pgtable_pages);
		assert_int_equal(mmt_pfn(&t, a), pfn[0]);
		assert_int_equal(mmt_pfn(&t, a + PAGE_SIZE), sim_page_to_pfn(t.host, pin));
		assert_int_equal(mmt_pfn(&t, th), pfn[1]);
		assert_int_equal(mmt_pfn(&t, th2), pfn[2]);
		assert_int_equal(sim_page_count(t.host, mmt_page(&t, a)), 1);
	}
	print_message("fork: %lu allocations, each failed once\n", n - 1);
	assert_true(n > 5);
	/* Write-protected by a failed fork, but exclusive again: reused. */
	mmt_fill(&t, a, 5);
	assert_int_equal(mmt_pfn(&t, a), pfn[0]);
	assert_int_equal(mmt_stats(&t).cow_breaks, 0);
	assert_true(mmt_check(&t, a + PAGE_SIZE, 2) && mmt_check(&t, a + 2 * PAGE_SIZE, 3) &&
		    mmt_check(&t, th, 4) && mmt_check(&t, th2, 6));
	/* The THP too: its PMD was write-protected, its mapping holds the only reference. */
	mmt_fill(&t, th, 7);
	assert_int_equal(mmt_pfn(&t, th), pfn[1]);
	assert_int_equal(mmt_level(&t, th), PG_LEVEL_2M);
	assert_int_equal(mmt_stats(&t).cow_breaks, 0);
	sim_unpin_user_page(t.host, pin);
	sim_unpin_user_page(t.host, pin2);
	mmt_fini(&t);
}

/*
 * Forks racing with GUP-fast pins and with writes (write_protect_seq): two
 * threads pin pages of the region locklessly (FOLL_WRITE) and, while they
 * hold a pin, check that the parent still maps the pinned page and that no
 * fork shared it; a third rewrites pages and reads its own data back; the
 * main thread forks and destroys children meanwhile.
 *
 *   r [16 pages, private]   pinners: pages 0..15   writer: pages 0..15
 */
#define RACE_PAGES 16

struct fork_race {
	struct mmt *t;
	hva_t r;
	int stop;
	int bad;
};

static int race_pinner(void *arg)
{
	struct fork_race *fr = arg;
	unsigned int i = 0;

	while (!READ_ONCE(fr->stop)) {
		hva_t addr = fr->r + (i++ % RACE_PAGES) * PAGE_SIZE;
		struct sim_host_pte_info info;
		struct sim_page *page;
		int k;

		if (sim_pin_user_pages_fast(fr->t->mm, addr, 1, SIM_FOLL_WRITE, &page) != 1) {
			WRITE_ONCE(fr->bad, 1);
			break;
		}
		for (k = 0; k < 8; k++) {
			if (sim_mm_lookup(fr->t->mm, addr, &info) ||
			    info.pfn != sim_page_to_pfn(fr->t->host, page) ||
			    (sim_page_flags(fr->t->host, page) & SIM_PG_ANON_SHARED))
				WRITE_ONCE(fr->bad, 2);
		}
		sim_unpin_user_page(fr->t->host, page);
	}
	return 0;
}

static int race_writer(void *arg)
{
	struct fork_race *fr = arg;
	u64 n = 0;

	while (!READ_ONCE(fr->stop)) {
		hva_t addr = fr->r + (n % RACE_PAGES) * PAGE_SIZE;
		u64 v = n++, got = ~0ULL;

		if (sim_mm_write(fr->t->mm, addr + 8, &v, sizeof(v)) ||
		    sim_mm_read(fr->t->mm, addr + 8, &got, sizeof(got)) || got != v) {
			WRITE_ONCE(fr->bad, 3);
			break;
		}
	}
	return 0;
}

static void test_fork_concurrent(void **state)
{
	struct fork_race fr = { 0 };
	struct env_thread *th[3];
	struct mmt t;
	int i;

	mmt_init(&t, 0);
	fr.t = &t;
	fr.r = mmt_mmap(&t, RACE_PAGES * PAGE_SIZE, RW, PRIV | SIM_MAP_POPULATE);
	th[0] = env_thread_start(race_pinner, &fr, "pinner");
	th[1] = env_thread_start(race_pinner, &fr, "pinner");
	th[2] = env_thread_start(race_writer, &fr, "writer");
	for (i = 0; i < 3; i++)
		assert_non_null(th[i]);
	for (i = 0; i < 300 && !READ_ONCE(fr.bad); i++) {
		struct sim_mm *cmm;

		assert_int_equal(sim_mm_fork(t.mm, &cmm), 0);
		sim_mm_destroy(cmm);
	}
	WRITE_ONCE(fr.stop, 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(env_thread_join(th[i]), 0);
	assert_int_equal(fr.bad, 0);
	assert_true(mmt_stats(&t).forks == 300);
	mmt_fini(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_fork_cow_private),
		MMUSIM_TEST(test_fork_child_exit_reuse),
		MMUSIM_TEST(test_fork_pinned_copied),
		MMUSIM_TEST(test_fork_advice),
		MMUSIM_TEST(test_fork_shared_pfnmap_swap_thp),
		MMUSIM_TEST(test_fork_thp),
		MMUSIM_TEST(test_fork_gup),
		MMUSIM_TEST(test_fork_enomem),
		MMUSIM_TEST(test_fork_concurrent),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("fork", tests);
}
