// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/host/page_alloc.c, the buddy allocator: every order, split and
 * coalesce back to the initial free lists, compound vs non-compound blocks,
 * address limits, movable placement, exhaustion, __GFP_ZERO, failure
 * injection, a seeded random workload checked against a bitmap of live
 * frames, and concurrent allocation from several threads.
 *
 * Free lists of a fresh 4 GiB host (PFN 0 reserved):
 *
 *   order:  0   1   2    ...  17          18          18          18
 *   pfn:    1   2   4    ...  2^17        2^18        2^19        3*2^18
 *           `------ low half (< 2^19) ---------------'`--- high half ----'
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "test_util.h"
#include <mmusim/host.h>
#include "host/host_internal.h"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)

static struct sim_host *new_host(u64 mem_bytes)
{
	struct sim_host_config cfg = { .mem_bytes = mem_bytes };
	struct sim_host *host = NULL;

	assert_int_equal(sim_host_create(&cfg, &host), 0);
	return host;
}

static struct sim_host_stats stats(struct sim_host *host)
{
	struct sim_host_stats st;

	assert_int_equal(sim_host_get_stats(host, &st), 0);
	return st;
}

static u64 pfn_of(struct sim_host *host, struct sim_page *page)
{
	return sim_page_to_pfn(host, page);
}

struct free_snapshot {
	u64 blocks[SIM_NR_ORDERS];
};

static void snapshot(struct sim_host *host, struct free_snapshot *s)
{
	unsigned int order;

	for (order = 0; order <= SIM_MAX_ORDER; order++)
		s->blocks[order] = sim_host_nr_free_blocks(host, order);
}

/* Fully coalesced: the free lists hold exactly the blocks of @initial. */
static void assert_coalesced(struct sim_host *host, const struct free_snapshot *initial)
{
	struct free_snapshot now;
	unsigned int order;

	snapshot(host, &now);
	for (order = 0; order <= SIM_MAX_ORDER; order++)
		assert_int_equal(now.blocks[order], initial->blocks[order]);
	assert_int_equal(stats(host).free_pages, stats(host).ram_pages);
	assert_int_equal(sim_host_check_free_lists(host), 0);
}

/* Release a block the way its kind must be released. */
static void release(struct sim_host *host, struct sim_page *page, unsigned int order,
		    bool compound)
{
	if (compound)
		sim_put_page(host, page);
	else
		sim_free_pages(host, page, order);
}

/* ======================== orders, split and coalesce ======================== */

static void test_alloc_every_order_and_coalesce(void **state)
{
	struct sim_host *host = new_host(4 * GiB);
	struct free_snapshot initial;
	unsigned int order, kind;

	snapshot(host, &initial);
	for (kind = 0; kind < 4; kind++) {
		bool compound = kind & 1, movable = kind & 2;
		gfp_t gfp = GFP_KERNEL | (compound ? __GFP_COMP : 0) |
			    (movable ? __GFP_MOVABLE : 0);

		for (order = 0; order <= SIM_MAX_ORDER; order++) {
			u64 before = stats(host).free_pages;
			struct sim_page *page = sim_alloc_pages(host, gfp, order);
			u64 pfn;

			assert_non_null(page);
			pfn = pfn_of(host, page);
			assert_true(pfn != 0);
			assert_true(IS_ALIGNED(pfn, 1ULL << order));
			assert_true(pfn + (1ULL << order) <= (4 * GiB >> PAGE_SHIFT));
			assert_int_equal(stats(host).free_pages, before - (1ULL << order));
			assert_int_equal(sim_page_count(host, page), 1);
			assert_int_equal(!!(sim_page_flags(host, page) & SIM_PG_MOVABLE), movable);
			assert_int_equal(sim_compound_order(host, page), compound ? order : 0);
			assert_int_equal(sim_host_check_free_lists(host), 0);
			release(host, page, order, compound && order);
			assert_coalesced(host, &initial);
		}
	}
	/* All orders live at once, then freed in allocation order. */
	{
		struct sim_page *pages[SIM_NR_ORDERS];

		for (order = 0; order <= SIM_MAX_ORDER; order++) {
			pages[order] = sim_alloc_pages(host, GFP_KERNEL, order);
			assert_non_null(pages[order]);
		}
		assert_int_equal(sim_host_check_free_lists(host), 0);
		for (order = 0; order <= SIM_MAX_ORDER; order++)
			sim_free_pages(host, pages[order], order);
	}
	assert_coalesced(host, &initial);
	sim_host_destroy(host);
}

static void test_alloc_bad_order_fails(void **state)
{
	struct sim_host *host = new_host(64 * MiB);

	assert_null(sim_alloc_pages(host, GFP_KERNEL | __GFP_NOWARN, SIM_MAX_ORDER + 1));
	assert_int_equal(env_warn_count(), 0);
	/* A caller error: NULL, and unlike Linux no WARN even without __GFP_NOWARN. */
	assert_null(sim_alloc_pages(host, GFP_KERNEL, 40));
	assert_int_equal(env_warn_count(), 0);
	assert_int_equal(stats(host).alloc_calls, 2);
	assert_int_equal(stats(host).alloc_failures, 2);
	/* 64 MiB has no 1 GiB block. */
	assert_null(sim_alloc_pages(host, GFP_KERNEL, SIM_MAX_ORDER));
	assert_int_equal(stats(host).alloc_failures, 3);
	sim_host_destroy(host);
}

/* ======================== compound and non-compound ======================== */

/*
 *   compound order 3:      [HEAD ref 1][TAIL 0][TAIL 0]...   put(any) -> freed
 *   non-compound order 3:  [head ref 1][0][0]...             sim_free_pages()
 */
static void test_alloc_compound_vs_noncompound(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct free_snapshot initial;
	struct sim_page *comp, *block;
	unsigned int i;

	snapshot(host, &initial);
	comp = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP, 3);
	block = sim_alloc_pages(host, GFP_KERNEL, 3);
	for (i = 1; i < 8; i++) {
		/* Tails of either kind hold no reference of their own. */
		assert_int_equal(atomic_read(&comp[i]._refcount), 0);
		assert_int_equal(atomic_read(&block[i]._refcount), 0);
		assert_int_equal(sim_page_flags(host, comp + i), SIM_PG_TAIL);
		assert_int_equal(sim_page_flags(host, block + i), 0);
		/* A compound tail stands for the whole page; a block tail for nothing. */
		assert_int_equal(sim_page_count(host, comp + i), 1);
		assert_int_equal(sim_page_count(host, block + i), 0);
		assert_ptr_equal(sim_compound_head(host, block + i), block + i);
		assert_false(sim_get_page_unless_zero(host, block + i));
	}
	assert_int_equal(sim_page_flags(host, block), 0);
	assert_int_equal(sim_page_flags(host, comp), SIM_PG_HEAD);

	/* A reference through a tail keeps the whole compound page. */
	assert_true(sim_get_page_unless_zero(host, comp + 5));
	sim_put_page(host, comp);
	assert_int_equal(stats(host).free_pages, stats(host).ram_pages - 16);
	sim_put_page(host, comp + 2);
	assert_int_equal(stats(host).free_pages, stats(host).ram_pages - 8);
	for (i = 1; i < 8; i++)
		assert_int_equal(sim_page_flags(host, comp + i) & SIM_PG_TAIL, 0);

	sim_free_pages(host, block, 3);
	assert_coalesced(host, &initial);

	/* Order-0 __GFP_COMP is an ordinary small page. */
	comp = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP, 0);
	assert_int_equal(sim_page_flags(host, comp), 0);
	sim_put_page(host, comp);
	assert_coalesced(host, &initial);
	sim_host_destroy(host);
}

/*
 * __free_pages() while someone else holds the head (a speculative reference,
 * as in Linux's test_free_pages): everything but the head is freed at once,
 * the head frame when the last reference goes.  Nothing leaks.
 */
static void test_free_pages_with_extra_head_ref(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct free_snapshot initial;
	unsigned int i, order;

	snapshot(host, &initial);
	for (i = 0; i < 200; i++) {
		order = i % 10;
		{
			struct sim_page *page = sim_alloc_pages(host, GFP_KERNEL, order);
			struct sim_page *comp = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP,
								order + 1);

			sim_get_page(host, page);
			sim_get_page(host, comp);
			sim_free_pages(host, page, order);
			sim_put_page(host, comp);
			assert_int_equal(stats(host).free_pages,
					 stats(host).ram_pages - 1 - (2ULL << order));
			sim_put_page(host, page);
			sim_put_page(host, comp);
		}
	}
	assert_coalesced(host, &initial);
	sim_host_destroy(host);
}

static void test_free_pages_misuse_warns(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct free_snapshot initial;
	struct sim_page *comp, *block;

	snapshot(host, &initial);
	comp = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP, 2);
	block = sim_alloc_pages(host, GFP_KERNEL, 2);
	sim_free_pages(host, comp, 2);		/* compound: must be put */
	sim_free_pages(host, block, 3);		/* wrong order */
	sim_free_pages(host, block + 1, 0);	/* a tail */
	assert_int_equal(env_warn_count(), 3);
	assert_int_equal(stats(host).free_pages, stats(host).ram_pages - 8);
	/* The last put of a non-compound block frees it all, with a WARN. */
	sim_put_page(host, block);
	assert_int_equal(env_warn_count(), 4);
	env_warn_count_reset();
	sim_put_page(host, comp);
	assert_coalesced(host, &initial);
	/* Double free. */
	block = sim_alloc_pages(host, GFP_KERNEL, 0);
	sim_free_pages(host, block, 0);
	sim_free_pages(host, block, 0);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	assert_coalesced(host, &initial);
	sim_host_destroy(host);
}

/* ======================== placement ======================== */

/*
 *   8 GiB host:  0 ... 512K (2 GiB) ... 1M (4 GiB, DMA32) ... 2M
 */
static void test_alloc_dma32_and_below_limit(void **state)
{
	struct sim_host *host = new_host(8 * GiB);
	struct sim_page *p[SIM_NR_ORDERS], *q[SIM_NR_ORDERS], *tiny[4];
	struct free_snapshot initial;
	unsigned int order, i;

	snapshot(host, &initial);
	/* Below 16 KiB there are only PFNs 1, 2 and 3. */
	for (i = 0; i < 4; i++)
		tiny[i] = sim_alloc_pages_below(host, GFP_KERNEL, 0, 16 * 1024);
	assert_null(tiny[3]);
	for (i = 0; i < 3; i++)
		assert_int_equal(pfn_of(host, tiny[i]), i + 1);
	assert_null(sim_alloc_pages_below(host, GFP_KERNEL, 0, 0));
	assert_null(sim_alloc_pages_below(host, GFP_KERNEL, 2, 16 * 1024));
	/* The combination takes the lower limit. */
	assert_null(sim_alloc_pages_below(host, GFP_KERNEL | __GFP_DMA32, 0, 16 * 1024));

	/* Movable would prefer the top of RAM: the limit wins. */
	for (order = 0; order < SIM_MAX_ORDER; order++) {
		q[order] = sim_alloc_pages_below(host, GFP_KERNEL | __GFP_MOVABLE, order, 2 * GiB);
		assert_non_null(q[order]);
		assert_true(pfn_of(host, q[order]) + (1ULL << order) <= (2 * GiB >> PAGE_SHIFT));
	}
	for (order = 0; order <= SIM_MAX_ORDER; order++) {
		p[order] = sim_alloc_pages(host, GFP_KERNEL | __GFP_DMA32 | __GFP_MOVABLE, order);
		assert_non_null(p[order]);
		assert_true(pfn_of(host, p[order]) + (1ULL << order) <= SIM_DMA32_PFN_LIMIT);
		assert_true(sim_page_flags(host, p[order]) & SIM_PG_MOVABLE);
	}
	/* Limits above RAM mean no limit. */
	q[SIM_MAX_ORDER] = sim_alloc_pages_below(host, GFP_KERNEL | __GFP_MOVABLE,
						 SIM_MAX_ORDER, 1ULL << 50);
	assert_non_null(q[SIM_MAX_ORDER]);
	assert_true(pfn_of(host, q[SIM_MAX_ORDER]) >= SIM_DMA32_PFN_LIMIT);
	assert_int_equal(sim_host_check_free_lists(host), 0);

	for (i = 0; i < 3; i++)
		sim_free_pages(host, tiny[i], 0);
	for (order = 0; order <= SIM_MAX_ORDER; order++) {
		sim_free_pages(host, p[order], order);
		sim_free_pages(host, q[order], order);
	}
	assert_coalesced(host, &initial);
	sim_host_destroy(host);
}

static void test_alloc_movable_high_unmovable_low(void **state)
{
	struct sim_host *host = new_host(1 * GiB);
	const unsigned int n = 256;
	struct sim_page **mov = calloc(n, sizeof(*mov)), **unmov = calloc(n, sizeof(*unmov));
	struct free_snapshot initial;
	u64 mid = host->mid_pfn;
	unsigned int i;

	snapshot(host, &initial);
	for (i = 0; i < n; i++) {
		unsigned int order = i % 8;
		gfp_t comp = i & 1 ? __GFP_COMP : 0;

		mov[i] = sim_alloc_pages(host, GFP_KERNEL | __GFP_MOVABLE | comp, order);
		unmov[i] = sim_alloc_pages(host, GFP_KERNEL, order);
		assert_true(pfn_of(host, mov[i]) >= mid);
		assert_true(pfn_of(host, unmov[i]) + (1ULL << order) <= mid);
		assert_true(sim_page_flags(host, mov[i]) & SIM_PG_MOVABLE);
		assert_false(sim_page_flags(host, unmov[i]) & SIM_PG_MOVABLE);
	}
	assert_int_equal(sim_host_check_free_lists(host), 0);
	for (i = 0; i < n; i++) {
		release(host, mov[i], i % 8, (i & 1) && (i % 8));
		sim_free_pages(host, unmov[i], i % 8);
	}
	assert_coalesced(host, &initial);
	free(mov);
	free(unmov);
	sim_host_destroy(host);
}

/* When its half is full, an allocation falls back to the other half. */
static void test_alloc_falls_back_to_other_half(void **state)
{
	struct sim_host *host = new_host(4 * MiB); /* 1024 frames, mid 512 */
	struct sim_page **low = calloc(511, sizeof(*low)), *more;
	struct free_snapshot initial;
	unsigned int i;

	snapshot(host, &initial);
	for (i = 0; i < 511; i++) {
		low[i] = sim_alloc_pages(host, GFP_KERNEL, 0);
		assert_true(pfn_of(host, low[i]) < 512);
	}
	more = sim_alloc_pages(host, GFP_KERNEL, 0);
	assert_non_null(more);
	assert_true(pfn_of(host, more) >= 512);
	sim_free_pages(host, more, 0);
	for (i = 0; i < 511; i++)
		sim_free_pages(host, low[i], 0);
	assert_coalesced(host, &initial);
	free(low);
	sim_host_destroy(host);
}

/* ======================== exhaustion, zeroing, injection ======================== */

static void test_alloc_exhaustion_returns_null_without_leak(void **state)
{
	struct sim_host *host = new_host(4 * MiB);
	const unsigned int max = 1024;
	struct sim_page **pages = calloc(max, sizeof(*pages));
	struct free_snapshot initial;
	unsigned int n = 0, i;

	snapshot(host, &initial);
	while (n < max &&
	       (pages[n] = sim_alloc_pages(host, GFP_NOWAIT | (n & 1 ? __GFP_MOVABLE : 0), 0)))
		n++;
	assert_int_equal(n, 1023);
	assert_int_equal(stats(host).free_pages, 0);
	assert_int_equal(stats(host).alloc_failures, 1);
	assert_null(sim_alloc_pages(host, GFP_KERNEL, 1));
	assert_null(sim_alloc_pages(host, GFP_KERNEL | __GFP_DMA32, 0));
	assert_int_equal(stats(host).alloc_failures, 3);
	assert_int_equal(stats(host).alloc_calls, 1026);
	assert_int_equal(sim_host_check_free_lists(host), 0);
	/* Free in a scattered order: coalescing must still be complete. */
	for (i = 0; i < n; i += 2)
		sim_free_pages(host, pages[i], 0);
	for (i = 1; i < n; i += 2)
		sim_free_pages(host, pages[i], 0);
	assert_coalesced(host, &initial);
	free(pages);
	sim_host_destroy(host);
}

static bool all_bytes(const u8 *p, u64 len, u8 v)
{
	u64 i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* Both clearing paths: memset below 64 KiB, discard from 64 KiB up. */
static void test_alloc_zero_clears_dirty_data(void **state)
{
	static const unsigned int orders[] = { 0, 2, 3, 4, 9 };
	struct sim_host *host = new_host(64 * MiB);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(orders); i++) {
		unsigned int order = orders[i];
		u64 len = PAGE_SIZE << order, pfn;
		struct sim_page *page = sim_alloc_pages(host, GFP_KERNEL, order);
		u8 *data = sim_page_to_virt(host, page);

		pfn = pfn_of(host, page);
		memset(data, 0xcd, len);
		sim_free_pages(host, page, order);
		/* LIFO: the same unmovable block comes back. */
		page = sim_alloc_pages(host, GFP_KERNEL | __GFP_ZERO, order);
		assert_int_equal(pfn_of(host, page), pfn);
		assert_true(all_bytes(sim_page_to_virt(host, page), len, 0));
		sim_free_pages(host, page, order);
	}
	/*
	 * A big block made of small dirty frames is cleared as a whole:
	 *   hold [1, 16), dirty [16, 32) frame by frame, free, then one
	 *   order-4 __GFP_ZERO block below 32 must be [16, 32) and all zero.
	 */
	{
		struct sim_page *hold[15], *small[16], *big;

		for (i = 0; i < 15; i++) {
			hold[i] = sim_alloc_pages_below(host, GFP_KERNEL, 0, 16 * PAGE_SIZE);
			assert_non_null(hold[i]);
		}
		for (i = 0; i < 16; i++) {
			small[i] = sim_alloc_pages_below(host, GFP_KERNEL, 0, 32 * PAGE_SIZE);
			assert_true(pfn_of(host, small[i]) >= 16 && pfn_of(host, small[i]) < 32);
			memset(sim_page_to_virt(host, small[i]), 0xee, PAGE_SIZE);
		}
		for (i = 0; i < 16; i++)
			sim_free_pages(host, small[i], 0);
		big = sim_alloc_pages_below(host, GFP_KERNEL | __GFP_ZERO | __GFP_COMP, 4,
					    32 * PAGE_SIZE);
		assert_non_null(big);
		assert_int_equal(pfn_of(host, big), 16);
		assert_true(all_bytes(sim_page_to_virt(host, big), 16 * PAGE_SIZE, 0));
		sim_put_page(host, big);
		for (i = 0; i < 15; i++)
			sim_free_pages(host, hold[i], 0);
	}
	assert_int_equal(sim_host_check_free_lists(host), 0);
	assert_int_equal(stats(host).free_pages, stats(host).ram_pages);
	sim_host_destroy(host);
}

/* Is the backing of @p (page aligned) resident in this process? */
static bool backing_resident(const void *p)
{
	unsigned char vec = 0;

	assert_int_equal(mincore((void *)p, PAGE_SIZE, &vec), 0);
	return vec & 1;
}

/*
 * Known-zero frames are not cleared again: a __GFP_ZERO page fresh from the
 * reservation keeps no backing; once written, freed and reallocated it is
 * cleared; a discarding free makes its frames known-zero again.
 *
 *   fresh order-0 ZERO     -> not resident, reads 0
 *   write 0xab, free (o0)  -> bit stays set: next ZERO alloc memsets it
 *   order-4 block written, freed (discarded) -> its frames known-zero again
 */
static void test_alloc_zero_skips_known_zero_frames(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct sim_page *page, *big;
	u64 pfn;
	u8 *data;

	page = sim_alloc_pages(host, GFP_KERNEL | __GFP_ZERO, 0);
	assert_non_null(page);
	data = sim_page_to_virt(host, page);
	assert_false(backing_resident(data));
	assert_true(test_bit(pfn_of(host, page), host->data_dirty));
	pfn = pfn_of(host, page);
	memset(data, 0xab, PAGE_SIZE);
	sim_free_pages(host, page, 0);
	page = sim_alloc_pages(host, GFP_KERNEL | __GFP_ZERO, 0);
	assert_int_equal(pfn_of(host, page), pfn);
	assert_true(all_bytes(sim_page_to_virt(host, page), PAGE_SIZE, 0));
	sim_free_pages(host, page, 0);

	big = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP | __GFP_ZERO, 9);
	assert_non_null(big);
	pfn = pfn_of(host, big);
	assert_false(backing_resident(sim_page_to_virt(host, big)));
	memset(sim_page_to_virt(host, big), 0x5a, PAGE_SIZE << 9);
	sim_put_page(host, big);
	assert_true(find_next_bit(host->data_dirty, pfn + 512, pfn) >= pfn + 512);
	assert_false(backing_resident(sim_pfn_to_virt(host, pfn)));

	assert_int_equal(sim_host_check_free_lists(host), 0);
	assert_int_equal(stats(host).free_pages, stats(host).ram_pages);
	sim_host_destroy(host);
}

static void test_alloc_failure_injection(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct sim_page *pages[10];
	unsigned int i, nulls = 0;

	env_fail_nth(1);
	assert_null(sim_alloc_pages(host, GFP_KERNEL, 0));
	assert_int_equal(env_fail_injected(), 1);
	assert_int_equal(stats(host).alloc_failures, 1);
	pages[0] = sim_alloc_pages(host, GFP_KERNEL, 0);
	assert_non_null(pages[0]);
	sim_free_pages(host, pages[0], 0);

	env_fail_every(2);
	for (i = 0; i < 10; i++) {
		pages[i] = sim_alloc_pages(host, GFP_NOWAIT | __GFP_COMP, i);
		nulls += !pages[i];
	}
	assert_int_equal(nulls, 5);
	assert_int_equal(env_fail_injected(), 5);
	assert_int_equal(stats(host).alloc_failures, 6);
	assert_int_equal(stats(host).alloc_calls, 12);
	for (i = 0; i < 10; i++)
		if (pages[i])
			sim_put_page(host, pages[i]);

	/* __GFP_NOFAIL is never failed on purpose. */
	env_fail_every(1);
	pages[0] = sim_alloc_pages(host, GFP_KERNEL | __GFP_NOFAIL, 0);
	assert_non_null(pages[0]);
	assert_null(sim_alloc_pages(host, GFP_KERNEL, 0));
	env_fail_clear();
	sim_free_pages(host, pages[0], 0);
	assert_int_equal(stats(host).free_pages, stats(host).ram_pages);
	sim_host_destroy(host);
}

/* Under a spinlock only non-blocking allocations are allowed. */
static void test_alloc_in_atomic_context(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct sim_page *page;
	spinlock_t lock;

	spin_lock_init(&lock);
	spin_lock(&lock);
	page = sim_alloc_pages(host, GFP_NOWAIT | __GFP_ZERO, 2);
	assert_non_null(page);
	sim_free_pages(host, page, 2);
	page = sim_alloc_pages(host, GFP_ATOMIC | __GFP_COMP, 2);
	sim_put_page(host, page);
	assert_int_equal(env_warn_count(), 0);
	page = sim_alloc_pages(host, GFP_KERNEL, 0); /* might_sleep() WARNs */
	assert_int_equal(env_warn_count(), ENV_CHECKED);
	sim_free_pages(host, page, 0);
	spin_unlock(&lock);
	env_warn_count_reset();
	sim_host_destroy(host);
}

/* ======================== randomized ======================== */

struct live_block {
	struct sim_page *page;
	u64 pfn, tag;
	unsigned int order;
	bool compound;
};

static unsigned int random_order(u64 *rng)
{
	u64 r = test_rand(rng) % 100;

	if (r < 60)
		return test_rand(rng) % 4;
	if (r < 95)
		return 4 + test_rand(rng) % 6;
	return 10 + test_rand(rng) % (SIM_MAX_ORDER - 9);
}

/* Tags go in the first and last frame only: big blocks stay uncommitted. */
static void tag_block(struct sim_host *host, struct live_block *b)
{
	u64 *first = sim_pfn_to_virt(host, b->pfn);
	u64 *last = sim_pfn_to_virt(host, b->pfn + (1ULL << b->order) - 1);

	first[0] = b->tag;
	last[PAGE_SIZE / 8 - 1] = ~b->tag;
}

static void check_tag(struct sim_host *host, struct live_block *b)
{
	u64 *first = sim_pfn_to_virt(host, b->pfn);
	u64 *last = sim_pfn_to_virt(host, b->pfn + (1ULL << b->order) - 1);

	assert_int_equal(first[0], b->tag);
	assert_int_equal(last[PAGE_SIZE / 8 - 1], ~b->tag);
}

struct random_run {
	struct sim_host *host;
	unsigned long *live_map;
	struct live_block *live;
	unsigned int nr_live, max_live;
	u64 live_pages, rng, failures;
};

static void random_alloc(struct random_run *rr)
{
	struct live_block *b = &rr->live[rr->nr_live];
	unsigned int order = random_order(&rr->rng), flags = test_rand(&rr->rng);
	gfp_t gfp = (flags & 1 ? GFP_KERNEL : GFP_NOWAIT) | (flags & 2 ? __GFP_COMP : 0) |
		    (flags & 4 ? __GFP_MOVABLE : 0) | (flags & 8 ? __GFP_ZERO : 0) |
		    ((flags & 0x30) == 0x30 ? __GFP_DMA32 : 0);
	u64 limit = (flags & 0xc0) == 0xc0 ? (test_rand(&rr->rng) % (4 * GiB)) : U64_MAX;
	u64 n = 1ULL << order;

	b->page = sim_alloc_pages_below(rr->host, gfp, order, limit);
	if (!b->page) {
		rr->failures++;
		return;
	}
	b->pfn = pfn_of(rr->host, b->page);
	b->order = order;
	b->compound = (gfp & __GFP_COMP) && order;
	b->tag = test_rand(&rr->rng);
	assert_true(IS_ALIGNED(b->pfn, n));
	assert_true(b->pfn + n <= (limit >> PAGE_SHIFT));
	if (gfp & __GFP_DMA32)
		assert_true(b->pfn + n <= SIM_DMA32_PFN_LIMIT);
	if (gfp & __GFP_ZERO)
		assert_true(all_bytes(sim_page_to_virt(rr->host, b->page), 64, 0));
	/* No live frame may be handed out twice. */
	assert_true(find_next_bit(rr->live_map, b->pfn + n, b->pfn) >= b->pfn + n);
	bitmap_set(rr->live_map, b->pfn, n);
	tag_block(rr->host, b);
	rr->live_pages += n;
	rr->nr_live++;
}

static void random_free(struct random_run *rr, unsigned int i)
{
	struct live_block *b = &rr->live[i];

	check_tag(rr->host, b);
	bitmap_clear(rr->live_map, b->pfn, 1U << b->order);
	rr->live_pages -= 1ULL << b->order;
	release(rr->host, b->page, b->order, b->compound);
	rr->live[i] = rr->live[--rr->nr_live];
}

static void test_alloc_random_no_overlap(void **state)
{
	const u64 npages = 4 * GiB >> PAGE_SHIFT;
	struct random_run rr = { .max_live = 4096 };
	struct free_snapshot initial;
	unsigned int op;

	rr.rng = mmusim_test_seed();
	rr.host = new_host(4 * GiB);
	rr.live_map = calloc(BITS_TO_LONGS(npages), sizeof(unsigned long));
	rr.live = calloc(rr.max_live, sizeof(*rr.live));
	snapshot(rr.host, &initial);

	for (op = 0; op < 20000; op++) {
		bool full = rr.nr_live == rr.max_live || rr.live_pages > npages / 2;

		if (rr.nr_live && (full || test_rand(&rr.rng) % 5 < 2))
			random_free(&rr, test_rand(&rr.rng) % rr.nr_live);
		else
			random_alloc(&rr);
		if (op % 4096 == 0)
			assert_int_equal(sim_host_check_free_lists(rr.host), 0);
	}
	fprintf(stderr, "random: %u live blocks, %llu failed allocations\n", rr.nr_live,
		(unsigned long long)rr.failures);
	assert_int_equal(stats(rr.host).free_pages, stats(rr.host).ram_pages - rr.live_pages);
	while (rr.nr_live)
		random_free(&rr, test_rand(&rr.rng) % rr.nr_live);
	assert_true(bitmap_empty(rr.live_map, npages));
	assert_coalesced(rr.host, &initial);
	free(rr.live_map);
	free(rr.live);
	sim_host_destroy(rr.host);
}

/* ======================== concurrency ======================== */

#define NR_THREADS 3
#define THREAD_MAX_LIVE 32

struct conc_ctx {
	struct sim_host *host;
	unsigned long *owner_map; /* frames currently handed out, set atomically */
	u64 deadline, seed;
	atomic_t overlaps, bad_tags;
	atomic64_t ops;
};

struct conc_thread {
	struct conc_ctx *ctx;
	unsigned int id;
};

static void conc_release(struct conc_ctx *c, struct live_block *b)
{
	u64 *data = sim_pfn_to_virt(c->host, b->pfn), i;

	if (data[0] != b->tag)
		atomic_inc(&c->bad_tags);
	for (i = 0; i < (1ULL << b->order); i++)
		clear_bit(b->pfn + i, c->owner_map);
	release(c->host, b->page, b->order, b->compound);
}

static void conc_alloc(struct conc_ctx *c, struct live_block *b, u64 *rng)
{
	unsigned int r = test_rand(rng), order = r % 7;
	gfp_t gfp = (r & 0x100 ? GFP_KERNEL : GFP_NOWAIT) | (r & 0x200 ? __GFP_COMP : 0) |
		    (r & 0x400 ? __GFP_MOVABLE : 0) | (r & 0x800 ? __GFP_DMA32 : 0);
	u64 i;

	b->page = sim_alloc_pages(c->host, gfp, order);
	if (!b->page)
		return;
	b->pfn = sim_page_to_pfn(c->host, b->page);
	b->order = order;
	b->compound = (gfp & __GFP_COMP) && order;
	b->tag = test_rand(rng);
	for (i = 0; i < (1ULL << order); i++)
		if (test_and_set_bit(b->pfn + i, c->owner_map))
			atomic_inc(&c->overlaps);
	*(u64 *)sim_pfn_to_virt(c->host, b->pfn) = b->tag;
	/* Exercise the reference and pin atomics alongside the allocator. */
	if (r & 0x1000) {
		sim_get_page(c->host, b->page);
		if (!sim_page_try_pin(c->host, b->page))
			sim_unpin_user_page(c->host, b->page);
		sim_put_page(c->host, b->page);
	}
}

static int conc_worker(void *arg)
{
	struct conc_thread *t = arg;
	struct conc_ctx *c = t->ctx;
	struct live_block live[THREAD_MAX_LIVE];
	unsigned int nr = 0, i;
	u64 rng = c->seed + t->id * 0x9e3779b97f4a7c15ULL;

	while (ktime_get_ns() < c->deadline) {
		if (nr == THREAD_MAX_LIVE || (nr && test_rand(&rng) % 2)) {
			i = test_rand(&rng) % nr;
			conc_release(c, &live[i]);
			live[i] = live[--nr];
		} else {
			conc_alloc(c, &live[nr], &rng);
			nr += live[nr].page != NULL;
		}
		atomic64_inc(&c->ops);
	}
	while (nr)
		conc_release(c, &live[--nr]);
	return 0;
}

static void test_alloc_concurrent_threads(void **state)
{
	struct conc_thread threads[NR_THREADS];
	struct env_thread *handles[NR_THREADS];
	struct free_snapshot initial;
	struct conc_ctx c = { 0 };
	unsigned int i;

	/* A small host, so the threads contend for the same blocks. */
	c.host = new_host(16 * MiB);
	c.owner_map = calloc(BITS_TO_LONGS(16 * MiB >> PAGE_SHIFT), sizeof(unsigned long));
	c.seed = mmusim_test_seed();
	c.deadline = ktime_get_ns() + mmusim_test_stress_seconds() * 1000000000ULL / 2;
	snapshot(c.host, &initial);
	for (i = 0; i < NR_THREADS; i++) {
		threads[i].ctx = &c;
		threads[i].id = i;
		handles[i] = env_thread_start(conc_worker, &threads[i], "page_alloc");
		assert_non_null(handles[i]);
	}
	for (i = 0; i < NR_THREADS; i++)
		assert_int_equal(env_thread_join(handles[i]), 0);
	fprintf(stderr, "concurrent: %lld operations\n", (long long)atomic64_read(&c.ops));
	assert_int_equal(atomic_read(&c.overlaps), 0);
	assert_int_equal(atomic_read(&c.bad_tags), 0);
	assert_int_equal(stats(c.host).pinned_pages, 0);
	assert_coalesced(c.host, &initial);
	free(c.owner_map);
	sim_host_destroy(c.host);
}

/*
 * Per-CPU page lists: pages freed on another CPU's list are still free, and
 * an allocation that finds the buddy lists empty drains every list and
 * retries.  A helper thread (another "CPU") allocates and frees one page,
 * which leaves a refilled batch on its list; this thread then allocates
 * every page of RAM one by one, which succeeds only through the drain.
 */
struct pcp_helper {
	struct sim_host *host;
	unsigned int slot;
};

static int pcp_helper_fn(void *arg)
{
	struct pcp_helper *h = arg;
	struct sim_page *page = sim_alloc_pages(h->host, GFP_KERNEL, 0);

	h->slot = raw_smp_processor_id() % SIM_PCP_SLOTS;
	if (page)
		sim_put_page(h->host, page);
	return page ? 0 : -ENOMEM;
}

static void test_pcp_lists_drained_when_memory_runs_out(void **state)
{
	struct sim_host *host = new_host(16 * MiB);
	struct pcp_helper h = { .host = host };
	struct sim_host_stats st;
	struct sim_page **pages;
	u64 n = 0, i, ram;
	struct env_thread *th;

	assert_int_equal(sim_host_get_stats(host, &st), 0);
	ram = st.ram_pages;
	/* A helper on a slot of its own (thread numbers are never reused). */
	do {
		th = env_thread_start(pcp_helper_fn, &h, "pcp-helper");
		assert_non_null(th);
		assert_int_equal(env_thread_join(th), 0);
	} while (h.slot == raw_smp_processor_id() % SIM_PCP_SLOTS);
	/* Its batch sits on its list: free, but not in the buddy lists. */
	assert_int_equal(sim_pcp_nr_pages(host), SIM_PCP_BATCH);
	assert_int_equal(sim_host_get_stats(host, &st), 0);
	assert_int_equal(st.free_pages, ram);

	pages = calloc(ram, sizeof(*pages));
	assert_non_null(pages);
	while (n < ram && (pages[n] = sim_alloc_pages(host, GFP_KERNEL | __GFP_NOWARN, 0)))
		n++;
	assert_int_equal(n, ram);
	assert_null(sim_alloc_pages(host, GFP_KERNEL | __GFP_NOWARN, 0));
	for (i = 0; i < n; i++)
		sim_put_page(host, pages[i]);
	free(pages);
	assert_int_equal(sim_host_check_free_lists(host), 0);
	assert_int_equal(sim_pcp_nr_pages(host), 0);
	sim_host_destroy(host);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_alloc_every_order_and_coalesce),
		MMUSIM_TEST(test_alloc_bad_order_fails),
		MMUSIM_TEST(test_alloc_compound_vs_noncompound),
		MMUSIM_TEST(test_free_pages_with_extra_head_ref),
		MMUSIM_TEST(test_free_pages_misuse_warns),
		MMUSIM_TEST(test_alloc_dma32_and_below_limit),
		MMUSIM_TEST(test_alloc_movable_high_unmovable_low),
		MMUSIM_TEST(test_alloc_falls_back_to_other_half),
		MMUSIM_TEST(test_alloc_exhaustion_returns_null_without_leak),
		MMUSIM_TEST(test_alloc_zero_clears_dirty_data),
		MMUSIM_TEST(test_alloc_zero_skips_known_zero_frames),
		MMUSIM_TEST(test_alloc_failure_injection),
		MMUSIM_TEST(test_alloc_in_atomic_context),
		MMUSIM_TEST(test_alloc_random_no_overlap),
		MMUSIM_TEST(test_alloc_concurrent_threads),
		MMUSIM_TEST(test_pcp_lists_drained_when_memory_runs_out),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("page_alloc", tests);
}
