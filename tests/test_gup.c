// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/host/gup.c: FOLL_GET/FOLL_PIN accounting, COW on FOLL_WRITE,
 * check_vma_flags() errnos, partial results, FOLL_NOWAIT on swapped pages,
 * FOLL_LONGTERM migration out of movable memory, GUP-fast and its fallback,
 * follow_pfn, and allocation failures.
 *
 *   a: | 0 | 1 | 2 | 3 |  hole  |      GUP of 6 pages from a: 4, the hole stops it
 */
#include "mm_test_util.h"

static void test_gup_get_and_errors(void **state)
{
	struct sim_page *pages[8];
	struct mmt t;
	hva_t a, ro, none;
	int i;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 4 * PAGE_SIZE, RW, PRIV);
	/* A read GUP of untouched private memory takes the zero page. */
	assert_int_equal(sim_get_user_pages(t.mm, a, 1, 0, pages), 1);
	assert_int_equal(sim_page_to_pfn(t.host, pages[0]), t.mm->zero_pfn);
	sim_put_page(t.host, pages[0]);
	/* FOLL_WRITE breaks COW. */
	assert_int_equal(sim_get_user_pages(t.mm, a + 5, 4, SIM_FOLL_WRITE, pages), 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(sim_page_to_pfn(t.host, pages[i]), mmt_pfn(&t, a + i * PAGE_SIZE));
		assert_int_equal(sim_page_count(t.host, pages[i]), 2);
		assert_false(sim_page_maybe_dma_pinned(t.host, pages[i]));
	}
	assert_int_equal(mmt_stats(&t).cow_breaks, 1);
	for (i = 0; i < 4; i++)
		sim_put_page(t.host, pages[i]);
	/* Runs into the hole after the VMA: the pages before it. */
	assert_int_equal(sim_get_user_pages(t.mm, a + 2 * PAGE_SIZE, 6, 0, pages), 2);
	sim_put_page(t.host, pages[0]);
	sim_put_page(t.host, pages[1]);
	assert_int_equal(sim_get_user_pages(t.mm, a + 4 * PAGE_SIZE, 1, 0, pages), -EFAULT);

	ro = mmt_mmap(&t, PAGE_SIZE, SIM_PROT_READ, PRIV);
	none = mmt_mmap(&t, PAGE_SIZE, SIM_PROT_NONE, PRIV);
	assert_int_equal(sim_get_user_pages(t.mm, ro, 1, SIM_FOLL_WRITE, pages), -EFAULT);
	assert_int_equal(sim_get_user_pages(t.mm, none, 1, 0, pages), -EFAULT);
	assert_int_equal(sim_get_user_pages_fast(t.mm, none, 1, 0, pages), -EFAULT);
	assert_int_equal(sim_pin_user_pages(t.mm, ro, 1, SIM_FOLL_WRITE, pages), -EFAULT);

	/* is_valid_gup_args() */
	assert_int_equal(sim_get_user_pages(t.mm, a, 1, SIM_FOLL_PIN, pages), -EINVAL);
	assert_int_equal(sim_get_user_pages(t.mm, a, 1, SIM_FOLL_LONGTERM, pages), -EINVAL);
	assert_int_equal(sim_get_user_pages_fast(t.mm, a, 1, SIM_FOLL_PIN, pages), -EINVAL);
	assert_int_equal(sim_pin_user_pages(t.mm, a, 1, SIM_FOLL_GET, pages), -EINVAL);
	assert_int_equal(sim_pin_user_pages_fast(t.mm, a, 1, SIM_FOLL_GET, pages), -EINVAL);
	assert_int_equal(sim_get_user_pages(t.mm, a, 1, 0x8, pages), -EINVAL);
	assert_int_equal(sim_get_user_pages(t.mm, a, 1, 0, NULL), -EINVAL);
	assert_int_equal(sim_get_user_pages(NULL, a, 1, 0, pages), -EINVAL);
	assert_int_equal(sim_get_user_pages(t.mm, a, 0, 0, pages), 0);
	assert_int_equal(sim_get_user_pages(t.mm, SIM_TASK_SIZE, 1, 0, pages), -EFAULT);
	assert_int_equal(sim_get_user_pages(t.mm, SIM_TASK_SIZE - PAGE_SIZE, 2, 0, pages),
			 -EFAULT);
	/* An explicit FOLL_GET is accepted by get_* (implied anyway). */
	assert_int_equal(sim_get_user_pages(t.mm, a, 1, SIM_FOLL_GET | SIM_FOLL_HWPOISON,
					    pages), 1);
	sim_put_page(t.host, pages[0]);
	mmt_fini(&t);
}

static void test_gup_pin(void **state)
{
	struct sim_page *pages[2], *head;
	struct mmt t;
	hva_t a, thp;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 2 * PAGE_SIZE, RW, PRIV);
	assert_int_equal(sim_pin_user_pages(t.mm, a, 2, SIM_FOLL_WRITE, pages), 2);
	assert_int_equal(sim_page_count(t.host, pages[0]), 1 + SIM_GUP_PIN_COUNTING_BIAS);
	assert_true(sim_page_maybe_dma_pinned(t.host, pages[1]));
	assert_int_equal(mmt_stats(&t).pinned_pages, 2);
	sim_unpin_user_pages(t.host, pages, 2);
	assert_int_equal(mmt_stats(&t).pinned_pages, 0);
	assert_int_equal(sim_page_count(t.host, pages[0]), 1);

	/* A THP: the subpage is returned, the head counts the pin. */
	thp = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	assert_int_equal(sim_pin_user_pages_fast(t.mm, thp + 7 * PAGE_SIZE, 2, SIM_FOLL_WRITE,
						 pages), 2);
	assert_int_equal(sim_page_to_pfn(t.host, pages[0]), mmt_pfn(&t, thp) + 7);
	head = sim_compound_head(t.host, pages[0]);
	assert_int_equal(sim_page_pincount(t.host, head), 2);
	assert_int_equal(sim_page_count(t.host, head), 3);
	sim_unpin_user_pages(t.host, pages, 2);
	assert_int_equal(sim_page_count(t.host, head), 1);
	mmt_fini(&t);
}

/*
 * FOLL_LONGTERM: a page in movable memory is first migrated to unmovable
 * memory (new PFN, same contents); while pinned it cannot migrate.
 */
static void test_gup_longterm(void **state)
{
	struct sim_page *pages[3];
	struct mmt t;
	kvm_pfn_t old;
	hva_t a, thp;
	int i;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 3 * PAGE_SIZE, RW, PRIV);
	for (i = 0; i < 3; i++)
		mmt_fill(&t, a + i * PAGE_SIZE, i);
	old = mmt_pfn(&t, a);
	assert_true(sim_page_flags(t.host, sim_pfn_to_page(t.host, old)) & SIM_PG_MOVABLE);
	assert_int_equal(sim_pin_user_pages(t.mm, a, 3, SIM_FOLL_WRITE | SIM_FOLL_LONGTERM, pages),
			 3);
	assert_int_equal(mmt_stats(&t).migrations, 3);
	assert_int_not_equal(mmt_pfn(&t, a), old);
	for (i = 0; i < 3; i++) {
		assert_false(sim_page_flags(t.host, pages[i]) & SIM_PG_MOVABLE);
		assert_int_equal(sim_page_to_pfn(t.host, pages[i]), mmt_pfn(&t, a + i * PAGE_SIZE));
		assert_true(mmt_check(&t, a + i * PAGE_SIZE, i));
	}
	assert_int_equal(sim_migrate_page(t.mm, a), -EBUSY);
	sim_unpin_user_pages(t.host, pages, 3);
	/* Unpinned: it moves again (and stays in unmovable memory). */
	old = mmt_pfn(&t, a);
	assert_int_equal(sim_migrate_page(t.mm, a), 0);
	assert_int_not_equal(mmt_pfn(&t, a), old);
	assert_false(sim_page_flags(t.host, sim_pfn_to_page(t.host, mmt_pfn(&t, a))) &
		     SIM_PG_MOVABLE);
	/* Already unmovable: no migration this time; fast path too. */
	assert_int_equal(sim_pin_user_pages_fast(t.mm, a, 1, SIM_FOLL_LONGTERM, pages), 1);
	assert_int_equal(mmt_stats(&t).migrations, 4);
	sim_unpin_user_page(t.host, pages[0]);

	/* A THP moves whole. */
	thp = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	mmt_fill(&t, thp + 9 * PAGE_SIZE, 9);
	assert_int_equal(sim_pin_user_pages_fast(t.mm, thp + 8 * PAGE_SIZE, 2,
						 SIM_FOLL_LONGTERM, pages), 2);
	assert_int_equal(mmt_stats(&t).migrations, 5);
	assert_int_equal(mmt_level(&t, thp), PG_LEVEL_2M);
	assert_false(sim_page_flags(t.host, pages[1]) & SIM_PG_MOVABLE);
	assert_true(mmt_check(&t, thp + 9 * PAGE_SIZE, 9));
	sim_unpin_user_pages(t.host, pages, 2);

	/* A movable page someone else pinned cannot move: -ENOMEM. */
	a = mmt_mmap(&t, PAGE_SIZE, RW, PRIV);
	assert_int_equal(sim_pin_user_pages(t.mm, a, 1, SIM_FOLL_WRITE, pages), 1);
	assert_int_equal(sim_pin_user_pages(t.mm, a, 1, SIM_FOLL_LONGTERM, pages + 1), -ENOMEM);
	assert_int_equal(mmt_stats(&t).pinned_pages, 1);
	sim_unpin_user_page(t.host, pages[0]);
	mmt_fini(&t);
}

/*
 * gup_must_unshare(): a read-only FOLL_LONGTERM pin of a private mapping
 * does not hold the shared zero page: GUP unshares it into an exclusive
 * page mapped read-only, which a later write reuses.  A short-term pin, or
 * a shared mapping, is left alone.
 */
static void test_gup_longterm_unshares_zero_page(void **state)
{
	struct sim_host_pte_info info;
	struct sim_page *pages[2];
	struct mmt t;
	hva_t a;
	u8 b = 7;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 2 * PAGE_SIZE, RW, PRIV);
	assert_int_equal(sim_mm_touch(t.mm, a, false), 0);
	assert_int_equal(sim_mm_touch(t.mm, a + PAGE_SIZE, false), 0);
	assert_int_equal(mmt_pfn(&t, a), t.mm->zero_pfn);
	/* Short-term: the zero page itself. */
	assert_int_equal(sim_pin_user_pages(t.mm, a, 1, 0, pages), 1);
	assert_int_equal(sim_page_to_pfn(t.host, pages[0]), t.mm->zero_pfn);
	sim_unpin_user_page(t.host, pages[0]);
	/* Long-term, slow and fast paths: an exclusive page, read-only, clean. */
	assert_int_equal(sim_pin_user_pages(t.mm, a, 1, SIM_FOLL_LONGTERM, pages), 1);
	assert_int_equal(
		sim_pin_user_pages_fast(t.mm, a + PAGE_SIZE, 1, SIM_FOLL_LONGTERM, pages + 1), 1);
	assert_int_equal(mmt_stats(&t).cow_breaks, 2);
	assert_int_equal(sim_mm_lookup(t.mm, a, &info), 0);
	assert_int_not_equal(info.pfn, t.mm->zero_pfn);
	assert_int_equal(info.pfn, sim_page_to_pfn(t.host, pages[0]));
	assert_false(info.writable);
	assert_false(info.dirty);
	assert_int_equal(mmt_pfn(&t, a + PAGE_SIZE), sim_page_to_pfn(t.host, pages[1]));
	/* The first write reuses the pinned page. */
	assert_int_equal(sim_mm_write(t.mm, a, &b, 1), 0);
	assert_int_equal(mmt_pfn(&t, a), sim_page_to_pfn(t.host, pages[0]));
	assert_int_equal(mmt_stats(&t).cow_breaks, 2);
	sim_unpin_user_pages(t.host, pages, 2);
	mmt_fini(&t);
}

/* FOLL_NOWAIT: a swapped-out page needs I/O: 0 pages (Linux's __get_user_pages()). */
static void test_gup_nowait(void **state)
{
	struct sim_page *pages[2];
	struct mmt t;
	hva_t a;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 2 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 1);
	mmt_fill(&t, a + PAGE_SIZE, 2);
	assert_int_equal(sim_swap_out(t.mm, a + PAGE_SIZE), 0);
	assert_int_equal(sim_get_user_pages(t.mm, a + PAGE_SIZE, 1, SIM_FOLL_NOWAIT, pages), 0);
	assert_int_equal(sim_get_user_pages_fast(t.mm, a + PAGE_SIZE, 1, SIM_FOLL_NOWAIT, pages),
			 0);
	assert_int_equal(mmt_stats(&t).swap_ins, 0);
	/* Pages before it are returned. */
	assert_int_equal(sim_get_user_pages(t.mm, a, 2, SIM_FOLL_NOWAIT, pages), 1);
	sim_put_page(t.host, pages[0]);
	/* Without NOWAIT, it is swapped in. */
	assert_int_equal(sim_get_user_pages(t.mm, a, 2, 0, pages), 2);
	assert_int_equal(mmt_stats(&t).swap_ins, 1);
	sim_put_page(t.host, pages[0]);
	sim_put_page(t.host, pages[1]);
	assert_true(mmt_check(&t, a + PAGE_SIZE, 2));
	mmt_fini(&t);
}

static void test_gup_fast(void **state)
{
	struct sim_page *pages[4];
	struct mmt t;
	hva_t a;
	int i;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 4 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 0);
	mmt_fill(&t, a + PAGE_SIZE, 1);
	/* fast_only: present pages only, nothing faulted. */
	assert_int_equal(sim_get_user_pages_fast_only(t.mm, a, 4, SIM_FOLL_WRITE, pages), 2);
	sim_put_page(t.host, pages[0]);
	sim_put_page(t.host, pages[1]);
	assert_int_equal(sim_get_user_pages_fast_only(t.mm, a + 2 * PAGE_SIZE, 1, 0, pages), 0);
	assert_int_equal(mmt_level(&t, a + 2 * PAGE_SIZE), 0);
	/* The full one falls back to the slow path for the rest. */
	assert_int_equal(sim_get_user_pages_fast(t.mm, a, 4, SIM_FOLL_WRITE, pages), 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(sim_page_to_pfn(t.host, pages[i]), mmt_pfn(&t, a + i * PAGE_SIZE));
		sim_put_page(t.host, pages[i]);
	}
	/* Read-only entries for a write: slow path (COW of the zero page). */
	assert_int_equal(sim_mprotect(t.mm, a, 4 * PAGE_SIZE, SIM_PROT_READ), 0);
	assert_int_equal(sim_get_user_pages_fast_only(t.mm, a, 1, SIM_FOLL_WRITE, pages), 0);
	assert_int_equal(sim_get_user_pages_fast(t.mm, a, 1, SIM_FOLL_WRITE, pages), -EFAULT);
	assert_int_equal(sim_get_user_pages_fast(t.mm, a, 1, 0, pages), 1);
	sim_put_page(t.host, pages[0]);
	assert_int_equal(sim_get_user_pages_fast(t.mm, SIM_TASK_SIZE, 1, 0, pages), -EFAULT);
	assert_int_equal(sim_get_user_pages_fast_only(t.mm, SIM_TASK_SIZE, 1, 0, pages), 0);
	assert_int_equal(sim_get_user_pages_fast(t.mm, a, 0, 0, pages), 0);
	mmt_fini(&t);
}

static void test_follow_pfn(void **state)
{
	struct mmt t;
	kvm_pfn_t pfn;
	bool w;
	hva_t a, p, pr;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, PAGE_SIZE, RW, PRIV);
	assert_int_equal(sim_mmap_pfn(t.mm, 0, 2 * PAGE_SIZE, RW, 1000, &p), 0);
	assert_int_equal(sim_mmap_pfn(t.mm, 0, PAGE_SIZE, SIM_PROT_READ, 2000, &pr), 0);
	assert_int_equal(sim_follow_pfn(t.mm, p + PAGE_SIZE + 5, true, &pfn, &w), 0);
	assert_int_equal(pfn, 1001);
	assert_true(w);
	assert_int_equal(sim_follow_pfn(t.mm, pr, false, &pfn, &w), 0);
	assert_int_equal(pfn, 2000);
	assert_false(w);
	assert_int_equal(sim_follow_pfn(t.mm, pr, false, &pfn, NULL), 0);
	assert_int_equal(sim_follow_pfn(t.mm, pr, true, &pfn, &w), -EFAULT);
	assert_int_equal(sim_follow_pfn(t.mm, a, false, &pfn, &w), -EINVAL);
	assert_int_equal(sim_follow_pfn(t.mm, 0x10000, false, &pfn, &w), -EFAULT);
	assert_int_equal(sim_follow_pfn(t.mm, p, false, NULL, &w), -EINVAL);
	assert_int_equal(sim_mprotect(t.mm, p, 2 * PAGE_SIZE, SIM_PROT_NONE), 0);
	assert_int_equal(sim_follow_pfn(t.mm, p, false, &pfn, &w), -EFAULT);
	assert_int_equal(sim_mprotect(t.mm, p, 2 * PAGE_SIZE, RW), 0);
	assert_int_equal(sim_follow_pfn(t.mm, p, true, &pfn, &w), 0);
	assert_int_equal(pfn, 1000);
	mmt_fini(&t);
}

/*
 *   a: | p0 | p1 poisoned |      thp: [ 2M THP, poisoned ]
 * GUP-fast stops at a poisoned page; slow GUP fails it with -EHWPOISON
 * under FOLL_HWPOISON, -EFAULT without; pages before it are returned.
 */
static void test_gup_hwpoison(void **state)
{
	struct sim_page *pages[2];
	struct mmt t;
	hva_t a, thp;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 2 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 0);
	mmt_fill(&t, a + PAGE_SIZE, 1);
	assert_int_equal(sim_madvise(t.mm, a + PAGE_SIZE, PAGE_SIZE, SIM_MADV_HWPOISON), 0);
	assert_int_equal(sim_get_user_pages_fast_only(t.mm, a + PAGE_SIZE, 1, 0, pages), 0);
	assert_int_equal(sim_get_user_pages(t.mm, a + PAGE_SIZE, 1, 0, pages), -EFAULT);
	assert_int_equal(sim_get_user_pages(t.mm, a + PAGE_SIZE, 1, SIM_FOLL_HWPOISON, pages),
			 -EHWPOISON);
	assert_int_equal(sim_get_user_pages_fast(t.mm, a + PAGE_SIZE, 1,
						 SIM_FOLL_HWPOISON | SIM_FOLL_WRITE, pages),
			 -EHWPOISON);
	assert_int_equal(sim_pin_user_pages(t.mm, a + PAGE_SIZE, 1, SIM_FOLL_HWPOISON, pages),
			 -EHWPOISON);
	assert_int_equal(sim_page_count(t.host, sim_pfn_to_page(t.host, mmt_pfn(&t, a + PAGE_SIZE))),
			 1);
	assert_int_equal(sim_get_user_pages(t.mm, a, 2, SIM_FOLL_HWPOISON, pages), 1);
	sim_put_page(t.host, pages[0]);
	assert_int_equal(mmt_stats(&t).pinned_pages, 0);

	thp = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP | SIM_MAP_POPULATE);
	assert_int_equal(sim_madvise(t.mm, thp, PAGE_SIZE, SIM_MADV_HWPOISON), 0);
	assert_int_equal(sim_get_user_pages_fast_only(t.mm, thp + 9 * PAGE_SIZE, 1, 0, pages), 0);
	assert_int_equal(sim_get_user_pages_fast(t.mm, thp + 9 * PAGE_SIZE, 1, SIM_FOLL_HWPOISON,
						 pages), -EHWPOISON);
	assert_int_equal(sim_get_user_pages_fast(t.mm, thp + 9 * PAGE_SIZE, 1, 0, pages), -EFAULT);
	mmt_fini(&t);
}

/*
 *   a: | p0 | p1 | p2 swapped out | p3 untouched |
 * A fatal signal stops slow GUP before every page, present or not; GUP-fast
 * takes present pages without looking (as Linux's does).  A pending
 * signal stops only a fault that waits for I/O, and only with
 * FOLL_INTERRUPTIBLE.
 */
static void test_gup_signals(void **state)
{
	struct sim_page *pages[4];
	struct mmt t;
	hva_t a;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 4 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 0);
	mmt_fill(&t, a + PAGE_SIZE, 1);
	mmt_fill(&t, a + 2 * PAGE_SIZE, 2);
	assert_int_equal(sim_swap_out(t.mm, a + 2 * PAGE_SIZE), 0);

	assert_int_equal(sim_mm_set_signal(t.mm, SIM_SIGNAL_FATAL), 0);
	assert_int_equal(sim_get_user_pages(t.mm, a, 1, 0, pages), -EINTR);
	assert_int_equal(sim_pin_user_pages(t.mm, a, 1, 0, pages), -EINTR);
	assert_int_equal(sim_get_user_pages(t.mm, a + 3 * PAGE_SIZE, 1, 0, pages), -EINTR);
	assert_int_equal(mmt_level(&t, a + 3 * PAGE_SIZE), 0);
	assert_int_equal(sim_get_user_pages_fast(t.mm, a, 4, 0, pages), 2);
	sim_put_page(t.host, pages[0]);
	sim_put_page(t.host, pages[1]);
	assert_int_equal(sim_get_user_pages_fast(t.mm, a + 2 * PAGE_SIZE, 1, 0, pages), -EINTR);
	assert_int_equal(mmt_stats(&t).swap_ins, 0);
	/* The VMA is checked first: no VMA, or no access, is still -EFAULT. */
	assert_int_equal(sim_get_user_pages(t.mm, 0x10000, 1, 0, pages), -EFAULT);
	assert_int_equal(sim_mprotect(t.mm, a + 3 * PAGE_SIZE, PAGE_SIZE, SIM_PROT_READ), 0);
	assert_int_equal(sim_get_user_pages(t.mm, a + 3 * PAGE_SIZE, 1, SIM_FOLL_WRITE, pages),
			 -EFAULT);
	assert_int_equal(sim_mprotect(t.mm, a + 3 * PAGE_SIZE, PAGE_SIZE, RW), 0);

	assert_int_equal(sim_mm_set_signal(t.mm, SIM_SIGNAL_PENDING), 0);
	assert_int_equal(sim_get_user_pages(t.mm, a, 1, SIM_FOLL_INTERRUPTIBLE, pages), 1);
	sim_put_page(t.host, pages[0]);
	assert_int_equal(sim_get_user_pages(t.mm, a + 3 * PAGE_SIZE, 1, SIM_FOLL_INTERRUPTIBLE,
					    pages), 1);
	sim_put_page(t.host, pages[0]);
	assert_int_equal(sim_get_user_pages(t.mm, a + 2 * PAGE_SIZE, 1, SIM_FOLL_INTERRUPTIBLE,
					    pages), -EINTR);
	assert_int_equal(sim_pin_user_pages_fast(t.mm, a, 3, SIM_FOLL_INTERRUPTIBLE, pages), 2);
	sim_unpin_user_pages(t.host, pages, 2);
	assert_int_equal(mmt_stats(&t).swap_ins, 0);
	/* FOLL_NOWAIT does not wait at all: 0 pages, not -EINTR. */
	assert_int_equal(sim_get_user_pages(t.mm, a + 2 * PAGE_SIZE, 1,
					    SIM_FOLL_INTERRUPTIBLE | SIM_FOLL_NOWAIT, pages), 0);
	assert_int_equal(sim_get_user_pages(t.mm, a + 2 * PAGE_SIZE, 1, 0, pages), 1);
	sim_put_page(t.host, pages[0]);
	assert_int_equal(mmt_stats(&t).swap_ins, 1);
	assert_true(mmt_check(&t, a + 2 * PAGE_SIZE, 2));

	/* SIM_SIGNAL_NONE clears. */
	assert_int_equal(sim_swap_out(t.mm, a + 2 * PAGE_SIZE), 0);
	assert_int_equal(sim_mm_set_signal(t.mm, SIM_SIGNAL_NONE), 0);
	assert_int_equal(sim_get_user_pages(t.mm, a + 2 * PAGE_SIZE, 1, SIM_FOLL_INTERRUPTIBLE,
					    pages), 1);
	sim_put_page(t.host, pages[0]);
	assert_int_equal(sim_mm_set_signal(t.mm, 3), -EINVAL);
	assert_int_equal(sim_mm_set_signal(t.mm, -1), -EINVAL);
	assert_int_equal(sim_mm_set_signal(NULL, SIM_SIGNAL_NONE), -EINVAL);
	mmt_fini(&t);
}

/*
 *   p: | 1000 | 1001 |  VM_PFNMAP, RW      ro: | 2000 |
 * follow_pte never faults: a zapped PTE is -EFAULT until
 * fixup_user_fault() brings the same PFN back.
 */
static void test_follow_pfn_zap_and_fixup(void **state)
{
	struct mmt t;
	kvm_pfn_t pfn;
	bool w;
	hva_t p, ro, a, none;

	mmt_init(&t, 0);
	assert_int_equal(sim_mmap_pfn(t.mm, 0, 2 * PAGE_SIZE, RW, 1000, &p), 0);
	assert_int_equal(sim_mmap_pfn(t.mm, 0, PAGE_SIZE, SIM_PROT_READ, 2000, &ro), 0);
	assert_int_equal(sim_zap_vma_ptes(t.mm, p + PAGE_SIZE, PAGE_SIZE), 0);
	assert_int_equal(sim_follow_pfn(t.mm, p + PAGE_SIZE, false, &pfn, &w), -EFAULT);
	assert_int_equal(sim_follow_pfn(t.mm, p, true, &pfn, &w), 0);
	assert_int_equal(pfn, 1000);
	assert_int_equal(sim_fixup_user_fault(t.mm, p + PAGE_SIZE + 8, false), 0);
	assert_int_equal(sim_follow_pfn(t.mm, p + PAGE_SIZE, true, &pfn, &w), 0);
	assert_int_equal(pfn, 1001);
	assert_true(w);
	assert_int_equal(sim_zap_vma_ptes(t.mm, p, 2 * PAGE_SIZE), 0);
	assert_int_equal(sim_fixup_user_fault(t.mm, p, true), 0);
	assert_int_equal(sim_follow_pfn(t.mm, p, true, &pfn, NULL), 0);
	assert_int_equal(pfn, 1000);
	assert_int_equal(sim_follow_pfn(t.mm, p + PAGE_SIZE, false, &pfn, NULL), -EFAULT);

	assert_int_equal(sim_zap_vma_ptes(t.mm, ro, PAGE_SIZE), 0);
	assert_int_equal(sim_fixup_user_fault(t.mm, ro, true), -EFAULT);
	assert_int_equal(sim_follow_pfn(t.mm, ro, false, &pfn, &w), -EFAULT);
	assert_int_equal(sim_fixup_user_fault(t.mm, ro, false), 0);
	assert_int_equal(sim_follow_pfn(t.mm, ro, false, &pfn, &w), 0);
	assert_int_equal(pfn, 2000);
	assert_false(w);

	/* Ordinary memory: a demand fault and a swap-in, no reference taken. */
	a = mmt_mmap(&t, 2 * PAGE_SIZE, RW, PRIV);
	assert_int_equal(sim_fixup_user_fault(t.mm, a, true), 0);
	assert_int_equal(mmt_level(&t, a), PG_LEVEL_4K);
	assert_int_equal(sim_page_count(t.host, sim_pfn_to_page(t.host, mmt_pfn(&t, a))), 1);
	mmt_fill(&t, a + PAGE_SIZE, 5);
	assert_int_equal(sim_swap_out(t.mm, a + PAGE_SIZE), 0);
	assert_int_equal(sim_fixup_user_fault(t.mm, a + PAGE_SIZE, false), 0);
	assert_int_equal(mmt_stats(&t).swap_ins, 1);
	none = mmt_mmap(&t, PAGE_SIZE, SIM_PROT_NONE, PRIV);
	assert_int_equal(sim_fixup_user_fault(t.mm, none, false), -EFAULT);
	assert_int_equal(sim_fixup_user_fault(t.mm, 0x10000, false), -EFAULT);
	assert_int_equal(sim_fixup_user_fault(t.mm, SIM_TASK_SIZE, false), -EFAULT);
	assert_int_equal(sim_fixup_user_fault(NULL, a, false), -EINVAL);
	/* A fatal signal stops it, after the VMA checks (fixup_user_fault()). */
	assert_int_equal(sim_mm_set_signal(t.mm, SIM_SIGNAL_FATAL), 0);
	assert_int_equal(sim_zap_vma_ptes(t.mm, p, PAGE_SIZE), 0);
	assert_int_equal(sim_fixup_user_fault(t.mm, p, false), -EINTR);
	assert_int_equal(sim_follow_pfn(t.mm, p, false, &pfn, NULL), -EFAULT);
	assert_int_equal(sim_fixup_user_fault(t.mm, none, false), -EFAULT);
	assert_int_equal(sim_mm_set_signal(t.mm, SIM_SIGNAL_PENDING), 0);
	assert_int_equal(sim_fixup_user_fault(t.mm, p, false), 0);
	assert_int_equal(sim_mm_set_signal(t.mm, SIM_SIGNAL_NONE), 0);
	mmt_fini(&t);
}

static int scenario_gup(void)
{
	struct sim_page *pages[8];
	struct sim_host *host;
	struct sim_mm *mm;
	hva_t a, thp;
	long n, i;
	int r;

	r = sim_host_create(NULL, &host);
	if (r)
		return r;
	r = sim_mm_create(host, &mm);
	if (r)
		goto out_host;
	r = sim_mmap(mm, 0, 8 * PAGE_SIZE, RW, PRIV, &a);
	if (!r)
		r = sim_mmap(mm, 0, SZ_2M, RW, PRIV | SIM_MAP_THP, &thp);
	if (r)
		goto out_mm;
	n = sim_get_user_pages(mm, a, 8, SIM_FOLL_WRITE, pages);
	for (i = 0; i < n; i++)
		sim_put_page(host, pages[i]);
	if (n < 0)
		r = (int)n;
	if (!r) {
		n = sim_pin_user_pages_fast(mm, a, 8, SIM_FOLL_WRITE | SIM_FOLL_LONGTERM, pages);
		if (n > 0)
			sim_unpin_user_pages(host, pages, n);
		if (n < 0)
			r = (int)n;
	}
	if (!r) {
		n = sim_pin_user_pages(mm, thp, 2, SIM_FOLL_LONGTERM, pages);
		if (n > 0)
			sim_unpin_user_pages(host, pages, n);
		if (n < 0)
			r = (int)n;
	}
out_mm:
	sim_mm_destroy(mm);
out_host:
	sim_host_destroy(host);
	return r;
}

static void test_gup_fail_nth(void **state)
{
	MMT_FAIL_NTH_LOOP(scenario_gup());
}

/*
 * GUP-fast racing with migration: a page it returns was mapped when its
 * reference was taken, and holding it makes migration fail (-EBUSY) rather
 * than move the page under us.
 */
struct gup_race {
	struct sim_mm *mm;
	struct sim_host *host;
	hva_t a;
	bool stop;
	long got, bad;
};

static int gup_race_thread(void *arg)
{
	struct gup_race *g = arg;
	u64 rnd = 99;

	while (!READ_ONCE(g->stop)) {
		hva_t addr = g->a + (test_rand(&rnd) % 16) * PAGE_SIZE;
		struct sim_host_pte_info info;
		struct sim_page *page;

		if (sim_get_user_pages_fast(g->mm, addr, 1, 0, &page) != 1) {
			g->bad += 1000000;
			continue;
		}
		/*
		 * Holding the reference, the mapping cannot move.  (A failed
		 * migration clears and restores the entry: a lockless lookup
		 * may see it missing for a moment.)
		 */
		while (sim_mm_lookup(g->mm, addr, &info))
			cpu_relax();
		if (info.pfn != sim_page_to_pfn(g->host, page))
			g->bad++;
		sim_put_page(g->host, page);
		g->got++;
	}
	return 0;
}

static void test_gup_fast_vs_migration(void **state)
{
	struct gup_race g = { 0 };
	struct env_thread *th;
	struct mmt t;
	u64 deadline;
	int i = 0;

	mmt_init(&t, 0);
	g.mm = t.mm;
	g.host = t.host;
	g.a = mmt_mmap(&t, 16 * PAGE_SIZE, RW, PRIV | SIM_MAP_POPULATE);
	th = env_thread_start(gup_race_thread, &g, "gup");
	assert_non_null(th);
	deadline = ktime_get_ns() + 250000000ULL * mmusim_test_stress_seconds();
	while (ktime_get_ns() < deadline) {
		int r = sim_migrate_page(t.mm, g.a + (i++ % 16) * PAGE_SIZE);

		assert_true(r == 0 || r == -EBUSY);
	}
	WRITE_ONCE(g.stop, true);
	assert_int_equal(env_thread_join(th), 0);
	assert_int_equal(g.bad, 0);
	assert_true(g.got > 0);
	mmt_fini(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_gup_get_and_errors),
		MMUSIM_TEST(test_gup_pin),
		MMUSIM_TEST(test_gup_longterm),
		MMUSIM_TEST(test_gup_longterm_unshares_zero_page),
		MMUSIM_TEST(test_gup_nowait),
		MMUSIM_TEST(test_gup_fast),
		MMUSIM_TEST(test_follow_pfn),
		MMUSIM_TEST(test_gup_hwpoison),
		MMUSIM_TEST(test_gup_signals),
		MMUSIM_TEST(test_follow_pfn_zap_and_fixup),
		MMUSIM_TEST(test_gup_fail_nth),
		MMUSIM_TEST(test_gup_fast_vs_migration),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("gup", tests);
}
