// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/host/phys.c: host creation and its validation, PFN <-> page
 * <-> data, the nopage region, reference counts (folio rules), FOLL_PIN pins,
 * folio-style flags, refcount freezing, THP split and migration helpers.
 *
 * Default host (4 GiB), PFNs:
 *
 *   0   1                                      2^19 (mid)                 2^20
 *   |RSV|  unmovable allocations come from here  |  movable ones from here  |
 */
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

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
	assert_non_null(host);
	return host;
}

static u64 free_pages(struct sim_host *host)
{
	struct sim_host_stats st;

	assert_int_equal(sim_host_get_stats(host, &st), 0);
	return st.free_pages;
}

/* Everything allocated has been freed and the free lists are whole. */
static void assert_all_free(struct sim_host *host)
{
	struct sim_host_stats st;

	assert_int_equal(sim_host_get_stats(host, &st), 0);
	assert_int_equal(st.free_pages, st.ram_pages);
	assert_int_equal(sim_host_check_free_lists(host), 0);
}

static u64 pfn_of(struct sim_host *host, struct sim_page *page)
{
	return sim_page_to_pfn(host, page);
}

static long rss_bytes(void)
{
	long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * 4096;
}

/* ======================== creation ======================== */

static void test_host_create_defaults(void **state)
{
	struct sim_host_config zero = { 0 };
	struct sim_host_stats st;
	struct sim_host *host = NULL;
	unsigned int order;

	assert_int_equal(sim_host_create(NULL, &host), 0);
	assert_int_equal(sim_host_get_stats(host, &st), 0);
	/* 4 GiB, PFN 0 reserved. */
	assert_int_equal(st.ram_pages, (4 * GiB >> PAGE_SHIFT) - 1);
	assert_int_equal(st.free_pages, st.ram_pages);
	assert_int_equal(st.nopage_pages, 0);
	assert_int_equal(st.alloc_calls, 0);
	assert_int_equal(st.pinned_pages, 0);
	assert_int_equal(host->memlock_limit, 8 * MiB);
	assert_true(list_empty(&host->mm_list));
	/* [1, 2^18) gives one block of each order 0..17; then 3 x 1 GiB. */
	for (order = 0; order < SIM_MAX_ORDER; order++)
		assert_int_equal(sim_host_nr_free_blocks(host, order), 1);
	assert_int_equal(sim_host_nr_free_blocks(host, SIM_MAX_ORDER), 3);
	assert_int_equal(sim_host_check_free_lists(host), 0);
	assert_int_equal(sim_page_flags(host, sim_pfn_to_page(host, 0)), SIM_PG_RESERVED);
	sim_host_destroy(host);

	/* An all-zero config means the defaults too. */
	host = NULL;
	assert_int_equal(sim_host_create(&zero, &host), 0);
	assert_int_equal(sim_host_get_stats(host, &st), 0);
	assert_int_equal(st.ram_pages, (4 * GiB >> PAGE_SHIFT) - 1);
	sim_host_destroy(host);
}

static void test_host_create_custom_sizes(void **state)
{
	/* Not a multiple of 1 GiB, nor of 2 MiB: the tail is cut into small blocks. */
	static const u64 sizes[] = { 2 * MiB, 2 * MiB + 3 * 4096, 1 * GiB + 5 * MiB + 4096,
				     3 * GiB + 4096 };
	struct sim_host_config cfg = { .memlock_limit = 64 * 1024 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct sim_host *host = NULL;
		struct sim_host_stats st;

		cfg.mem_bytes = sizes[i];
		assert_int_equal(sim_host_create(&cfg, &host), 0);
		assert_int_equal(sim_host_get_stats(host, &st), 0);
		assert_int_equal(st.ram_pages, (sizes[i] >> PAGE_SHIFT) - 1);
		assert_int_equal(st.free_pages, st.ram_pages);
		assert_int_equal(host->memlock_limit, 64 * 1024);
		assert_int_equal(sim_host_check_free_lists(host), 0);
		assert_non_null(sim_pfn_to_page(host, (sizes[i] >> PAGE_SHIFT) - 1));
		assert_null(sim_pfn_to_page(host, sizes[i] >> PAGE_SHIFT));
		sim_host_destroy(host);
	}
}

/*
 * A 1 TiB host: 2^28 frames, 4 GiB of descriptors, all reserved lazily.  It
 * must be built in milliseconds, commit a few MiB, and hand out frames at both
 * ends of RAM.
 */
static void test_host_create_1tib_is_lazy(void **state)
{
	struct sim_host_config cfg = { .mem_bytes = 1ULL << 40 };
	struct sim_page *top, *bottom, *huge, *dma;
	struct sim_host *host = NULL;
	long rss_before = rss_bytes(), rss_after;
	u64 t0 = ktime_get_ns(), dt, npages = cfg.mem_bytes >> PAGE_SHIFT;
	int r;

	r = sim_host_create(&cfg, &host);
	dt = ktime_get_ns() - t0;
	if (r == -ENOMEM) {
		/* Some sanitizer runtimes cannot map 1 TiB of address space. */
		fprintf(stderr, "1 TiB reservation refused; skipped\n");
		skip();
	}
	assert_int_equal(r, 0);
	rss_after = rss_bytes();
	fprintf(stderr, "1 TiB host: created in %llu us, RSS +%ld KiB\n",
		(unsigned long long)(dt / 1000), (rss_after - rss_before) / 1024);
	assert_true(dt < 500ULL * 1000 * 1000);
	assert_true(rss_after - rss_before < (long)(16 * MiB));
	assert_int_equal(sim_host_nr_free_blocks(host, SIM_MAX_ORDER), 1023);

	top = sim_alloc_pages(host, GFP_KERNEL | __GFP_MOVABLE, 0);
	bottom = sim_alloc_pages(host, GFP_KERNEL, 0);
	huge = sim_alloc_pages(host, GFP_KERNEL | __GFP_MOVABLE | __GFP_COMP, 9);
	dma = sim_alloc_pages(host, GFP_KERNEL | __GFP_DMA32 | __GFP_MOVABLE, 0);
	assert_non_null(top);
	assert_non_null(bottom);
	assert_non_null(huge);
	assert_non_null(dma);
	assert_int_equal(pfn_of(host, top), npages - 1);
	assert_int_equal(pfn_of(host, bottom), 1);
	assert_true(pfn_of(host, huge) >= npages - (1ULL << SIM_MAX_ORDER));
	assert_true(IS_ALIGNED(pfn_of(host, huge), 512));
	assert_true(pfn_of(host, dma) < SIM_DMA32_PFN_LIMIT);

	memset(sim_page_to_virt(host, top), 0x5a, PAGE_SIZE);
	memset(sim_page_to_virt(host, bottom), 0xa5, PAGE_SIZE);
	assert_int_equal(((u8 *)sim_pfn_to_virt(host, npages - 1))[4095], 0x5a);
	assert_int_equal(((u8 *)sim_pfn_to_virt(host, 1))[0], 0xa5);

	sim_put_page(host, top);
	sim_put_page(host, bottom);
	sim_put_page(host, huge);
	sim_free_pages(host, dma, 0);
	assert_all_free(host);
	assert_int_equal(sim_host_nr_free_blocks(host, SIM_MAX_ORDER), 1023);
	sim_host_destroy(host);
}

/*
 * More than 2^32 frames: the order-0 free map needs all six levels
 * (page_alloc.c), and a compound head above PFN 2^32 is found from its
 * tails' order.  The last 1 GiB block starts above PFN 2^32.
 */
static void test_host_create_beyond_32bit_pfns(void **state)
{
	struct sim_host_config cfg = { .mem_bytes = (16ULL << 40) + 4 * GiB };
	u64 npages = cfg.mem_bytes >> PAGE_SHIFT;
	struct sim_page *top, *next;
	struct sim_host *host = NULL;
	int r;

	r = sim_host_create(&cfg, &host);
	if (r == -ENOMEM) {
		fprintf(stderr, "16 TiB reservation refused; skipped\n");
		skip();
	}
	assert_int_equal(r, 0);
	assert_int_equal(sim_host_nr_free_blocks(host, SIM_MAX_ORDER), npages / (1 << 18) - 1);
	top = sim_alloc_pages(host, GFP_KERNEL | __GFP_MOVABLE | __GFP_COMP, SIM_MAX_ORDER);
	next = sim_alloc_pages(host, GFP_KERNEL | __GFP_MOVABLE, 0);
	assert_int_equal(pfn_of(host, top), npages - (1ULL << SIM_MAX_ORDER));
	assert_int_equal(pfn_of(host, next), npages - (1ULL << SIM_MAX_ORDER) - 1);
	assert_true(pfn_of(host, next) > (1ULL << 32));
	assert_ptr_equal(sim_compound_head(host, top + 12345), top);
	assert_int_equal(host->free_area[0].levels, SIM_FREE_LEVELS);
	assert_int_equal(sim_host_check_free_lists(host), 0);
	sim_free_pages(host, next, 0);
	sim_put_page(host, top);
	assert_all_free(host);
	assert_int_equal(sim_host_nr_free_blocks(host, SIM_MAX_ORDER), npages / (1 << 18) - 1);
	sim_host_destroy(host);
}

/* 64 TiB of RAM plus 64 TiB of nopage memory cannot be mapped in 47 bits. */
static void test_host_create_reservation_failure_unwinds(void **state)
{
	struct sim_host_config cfg = { .mem_bytes = 64ULL << 40,
				       .nopage_base_pfn = 64ULL << 40 >> PAGE_SHIFT,
				       .nopage_pages = 64ULL << 40 >> PAGE_SHIFT };
	struct sim_host *host = NULL;

	assert_int_equal(sim_host_create(&cfg, &host), -ENOMEM);
	assert_null(host);
}

static void test_host_create_rejects_bad_config(void **state)
{
	static const struct sim_host_config bad[] = {
		{ .mem_bytes = 4 * GiB + 1 },		/* not page aligned */
		{ .mem_bytes = 2 * MiB - 4096 },	/* too small */
		{ .mem_bytes = 4096 },
		{ .mem_bytes = (64ULL << 40) + 4096 },	/* absurd */
		{ .mem_bytes = 1ULL << 63 },
		/* nopage region overlapping RAM */
		{ .mem_bytes = 4 * GiB, .nopage_base_pfn = 100, .nopage_pages = 10 },
		{ .mem_bytes = 4 * GiB, .nopage_base_pfn = (4 * GiB >> PAGE_SHIFT) - 1,
		  .nopage_pages = 10 },
		/* beyond MAXPHYADDR, or wrapping */
		{ .mem_bytes = 4 * GiB, .nopage_base_pfn = 1ULL << 40, .nopage_pages = 1 },
		{ .mem_bytes = 4 * GiB, .nopage_base_pfn = (1ULL << 40) - 1, .nopage_pages = 2 },
		{ .mem_bytes = 4 * GiB, .nopage_base_pfn = 1ULL << 21, .nopage_pages = ~0ULL },
		{ .mem_bytes = 4 * GiB, .nopage_base_pfn = 1ULL << 21,
		  .nopage_pages = (64ULL << 40 >> PAGE_SHIFT) + 1 },
	};
	struct sim_host *sentinel = (struct sim_host *)0x1234, *host;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		host = sentinel;
		assert_int_equal(sim_host_create(&bad[i], &host), -EINVAL);
		assert_ptr_equal(host, sentinel);
	}
	assert_int_equal(sim_host_create(NULL, NULL), -EINVAL);
	/* The nopage region may start right after RAM. */
	host = NULL;
	{
		struct sim_host_config ok = { .mem_bytes = 4 * GiB,
					      .nopage_base_pfn = 4 * GiB >> PAGE_SHIFT,
					      .nopage_pages = 1 };

		assert_int_equal(sim_host_create(&ok, &host), 0);
		sim_host_destroy(host);
	}
}

static void test_host_create_enomem_unwinds(void **state)
{
	struct sim_host *host = NULL;

	env_fail_nth(1);
	assert_int_equal(sim_host_create(NULL, &host), -ENOMEM);
	assert_null(host);
	assert_int_equal(env_fail_injected(), 1);
	env_fail_clear();
	/* The teardown checks that nothing leaked. */
}

static void test_host_destroy_warns_while_pages_allocated(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct sim_page *page = sim_alloc_pages(host, GFP_KERNEL, 3);

	assert_non_null(page);
	sim_host_destroy(host);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	/* The host was left intact: free the block and destroy for real. */
	sim_free_pages(host, page, 3);
	assert_all_free(host);
	sim_host_destroy(host);
}

/*
 * The address space's PUD, PMD and PTE tables (and the PMD and PTE tables'
 * locks) go to call_rcu when it is destroyed; the host's destroy runs them,
 * so a program that exits right after it leaks nothing.
 */
static void test_host_destroy_runs_queued_table_frees(void **state)
{
	long before = env_live_objects();
	struct sim_host *host = new_host(64 * MiB);
	struct sim_mm *mm;
	hva_t hva;

	assert_int_equal(sim_mm_create(host, &mm), 0);
	assert_int_equal(
		sim_mmap(mm, 0, 2 * MiB, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &hva), 0);
	assert_int_equal(sim_mm_touch(mm, hva, true), 0);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
	/* No rcu_barrier() here: the host's destroy had to wait for the batch. */
	assert_int_equal(env_live_objects(), before);
}

/* ======================== PFNs ======================== */

static void test_pfn_page_round_trip(void **state)
{
	struct sim_host *host = new_host(4 * GiB);
	u64 npages = 4 * GiB >> PAGE_SHIFT, pfns[] = { 0, 1, 2, 511, 512, 1ULL << 18,
						       (1ULL << 20) - 1, 0x12345, 0xfedcb };
	u8 *base = sim_pfn_to_virt(host, 0);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pfns); i++) {
		struct sim_page *page = sim_pfn_to_page(host, pfns[i]);

		assert_non_null(page);
		assert_int_equal(sim_page_to_pfn(host, page), pfns[i]);
		assert_ptr_equal(sim_pfn_to_page_raw(host, pfns[i]), page);
		assert_true(sim_pfn_valid(host, pfns[i]));
		assert_ptr_equal(sim_pfn_to_virt(host, pfns[i]), base + (pfns[i] << PAGE_SHIFT));
		assert_ptr_equal(sim_page_to_virt(host, page), base + (pfns[i] << PAGE_SHIFT));
	}
	/* Frames are distinct memory. */
	memset(sim_pfn_to_virt(host, 7), 0x11, PAGE_SIZE);
	memset(sim_pfn_to_virt(host, 8), 0x22, PAGE_SIZE);
	assert_int_equal(base[7 * PAGE_SIZE + PAGE_SIZE - 1], 0x11);
	assert_int_equal(base[8 * PAGE_SIZE], 0x22);

	assert_null(sim_pfn_to_page(host, npages));
	assert_false(sim_pfn_valid(host, npages));
	assert_null(sim_pfn_to_virt(host, npages));
	assert_false(sim_pfn_valid(host, ~0ULL));
	assert_null(sim_pfn_to_page(host, ~0ULL));
	sim_host_destroy(host);
}

/*
 *   RAM [0, 16K)  gap  nopage [base, base + 256)  invalid
 */
static void test_nopage_region(void **state)
{
	const u64 base = 1ULL << 20, n = 256;
	struct sim_host_config cfg = { .mem_bytes = 64 * MiB, .nopage_base_pfn = base,
				       .nopage_pages = n };
	struct sim_host_stats st;
	struct sim_host *host = NULL;
	u8 *first, *last;

	assert_int_equal(sim_host_create(&cfg, &host), 0);
	assert_int_equal(sim_host_get_stats(host, &st), 0);
	assert_int_equal(st.nopage_pages, n);
	assert_int_equal(st.ram_pages, (64 * MiB >> PAGE_SHIFT) - 1);

	assert_true(sim_pfn_valid(host, base));
	assert_true(sim_pfn_valid(host, base + n - 1));
	assert_false(sim_pfn_valid(host, base - 1));
	assert_false(sim_pfn_valid(host, base + n));
	assert_false(sim_pfn_valid(host, 64 * MiB >> PAGE_SHIFT));
	assert_null(sim_pfn_to_page(host, base));
	assert_null(sim_pfn_to_page(host, base + n - 1));
	assert_null(sim_pfn_to_virt(host, base + n));
	assert_null(sim_pfn_to_virt(host, base - 1));

	first = sim_pfn_to_virt(host, base);
	last = sim_pfn_to_virt(host, base + n - 1);
	assert_non_null(first);
	assert_ptr_equal(last, first + (n - 1) * PAGE_SIZE);
	/* Not RAM: writing there does not touch RAM frames. */
	memset(first, 0x77, PAGE_SIZE);
	memset(last, 0x88, PAGE_SIZE);
	assert_int_equal(first[PAGE_SIZE - 1], 0x77);
	assert_int_equal(last[0], 0x88);
	assert_true(first < (u8 *)sim_pfn_to_virt(host, 0) ||
		    first >= (u8 *)sim_pfn_to_virt(host, 0) + 64 * MiB);
	assert_all_free(host);
	sim_host_destroy(host);
}

/* ======================== references ======================== */

static void test_refcount_get_put_frees_at_zero(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	u64 nr_free = free_pages(host);
	struct sim_page *page = sim_alloc_pages(host, GFP_KERNEL, 0);

	assert_non_null(page);
	assert_int_equal(sim_page_count(host, page), 1);
	assert_int_equal(free_pages(host), nr_free - 1);
	sim_get_page(host, page);
	assert_true(sim_get_page_unless_zero(host, page));
	assert_int_equal(sim_page_count(host, page), 3);
	sim_put_page(host, page);
	sim_put_page(host, page);
	assert_int_equal(free_pages(host), nr_free - 1);
	sim_put_page(host, page);
	assert_int_equal(sim_page_count(host, page), 0);
	assert_int_equal(free_pages(host), nr_free);
	/* Free, on this CPU's page list: not merged into a buddy block yet... */
	assert_false(sim_page_flags(host, page) & SIM_PG_BUDDY);
	/* ...so the next order-0 allocation here gets it back, cache-hot. */
	assert_ptr_equal(sim_alloc_pages(host, GFP_KERNEL, 0), page);
	sim_put_page(host, page);
	/* Draining the lists (the check does) merges it. */
	assert_int_equal(sim_host_check_free_lists(host), 0);
	assert_true(sim_page_flags(host, page) & SIM_PG_BUDDY);
	assert_all_free(host);
	sim_host_destroy(host);
}

static void test_get_unless_zero_fails_on_free_pages(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct sim_page *page = sim_alloc_pages(host, GFP_KERNEL, 0);

	sim_put_page(host, page);
	/* A freed page, and a frame inside a free block (PFN 3 of block [2,4)). */
	assert_false(sim_get_page_unless_zero(host, page));
	assert_false(sim_get_page_unless_zero(host, sim_pfn_to_page(host, 3)));
	assert_int_equal(sim_page_count(host, page), 0);
	assert_int_equal(env_warn_count(), 0);
	assert_all_free(host);
	sim_host_destroy(host);
}

static void test_refcount_misuse_warns_without_damage(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct sim_page *block = sim_alloc_pages(host, GFP_KERNEL, 2);
	struct sim_page *tail = block + 1;

	/* The tails of a non-compound block are not refcounted. */
	assert_int_equal(sim_page_count(host, tail), 0);
	assert_false(sim_get_page_unless_zero(host, tail));
	sim_put_page(host, tail);
	assert_int_equal(env_warn_count(), 1);
	sim_get_page(host, tail);
	assert_int_equal(env_warn_count(), 2);
	assert_int_equal(sim_page_count(host, tail), 0);
	sim_free_pages(host, block, 2);
	/* Put and get on a free page. */
	sim_put_page(host, block);
	sim_get_page(host, block);
	assert_int_equal(env_warn_count(), 4);
	assert_int_equal(sim_page_count(host, block), 0);
	env_warn_count_reset();
	assert_all_free(host);
	sim_host_destroy(host);
}

/* ======================== pins ======================== */

static u64 pinned_pages(struct sim_host *host)
{
	struct sim_host_stats st;

	assert_int_equal(sim_host_get_stats(host, &st), 0);
	return st.pinned_pages;
}

static void test_pin_small_page_uses_bias(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct sim_page *page = sim_alloc_pages(host, GFP_KERNEL, 0);

	assert_false(sim_page_maybe_dma_pinned(host, page));
	assert_int_equal(sim_page_try_pin(host, page), 0);
	assert_int_equal(sim_page_count(host, page), 1 + SIM_GUP_PIN_COUNTING_BIAS);
	assert_true(sim_page_maybe_dma_pinned(host, page));
	assert_int_equal(sim_page_pincount(host, page), 1);
	assert_int_equal(pinned_pages(host), 1);

	assert_int_equal(sim_page_try_pin(host, page), 0);
	assert_int_equal(sim_page_count(host, page), 1 + 2 * SIM_GUP_PIN_COUNTING_BIAS);
	assert_int_equal(pinned_pages(host), 2);
	sim_unpin_user_page(host, page);
	assert_true(sim_page_maybe_dma_pinned(host, page));
	sim_unpin_user_page(host, page);
	assert_false(sim_page_maybe_dma_pinned(host, page));
	assert_int_equal(sim_page_count(host, page), 1);
	assert_int_equal(pinned_pages(host), 0);

	/* Unpinning what is not pinned WARNs and changes nothing. */
	sim_unpin_user_page(host, page);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	assert_int_equal(sim_page_count(host, page), 1);
	sim_put_page(host, page);
	/* A free page cannot be pinned. */
	assert_int_equal(sim_page_try_pin(host, page), -EAGAIN);
	assert_int_equal(pinned_pages(host), 0);
	assert_all_free(host);
	sim_host_destroy(host);
}

/* The pin outlives the owner's reference: the unpin frees the page. */
static void test_unpin_after_owner_put_frees(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	u64 nr_free = free_pages(host);
	struct sim_page *pages[2];

	pages[0] = sim_alloc_pages(host, GFP_KERNEL, 0);
	pages[1] = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP, 9);
	assert_int_equal(sim_page_try_pin(host, pages[0]), 0);
	assert_int_equal(sim_page_try_pin(host, pages[1] + 100), 0);
	sim_put_page(host, pages[0]);
	sim_put_page(host, pages[1]);
	assert_int_equal(free_pages(host), nr_free - 513);
	assert_true(sim_page_maybe_dma_pinned(host, pages[0]));
	assert_true(sim_page_maybe_dma_pinned(host, pages[1] + 7));
	pages[1] += 100;
	sim_unpin_user_pages(host, pages, 2);
	assert_int_equal(pinned_pages(host), 0);
	assert_all_free(host);
	sim_host_destroy(host);
}

static void test_pin_compound_page_counts_pins(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct sim_page *head = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP, 9);
	struct sim_page *tail = head + 300;

	assert_false(sim_page_maybe_dma_pinned(host, tail));
	assert_int_equal(sim_page_try_pin(host, tail), 0);
	assert_int_equal(sim_page_try_pin(host, head), 0);
	/* One reference per pin on the head, the count in the first tail. */
	assert_int_equal(sim_page_count(host, head), 3);
	assert_int_equal(sim_page_count(host, tail), 3);
	assert_int_equal(sim_page_pincount(host, tail), 2);
	/* page.h: in the first tail's refcount word, negated. */
	assert_int_equal(atomic_read(&head[1]._neg_pincount), -2);
	assert_true(sim_page_maybe_dma_pinned(host, head));
	assert_true(sim_page_maybe_dma_pinned(host, head + 511));
	assert_int_equal(pinned_pages(host), 2);

	sim_unpin_user_page(host, head + 5);
	assert_true(sim_page_maybe_dma_pinned(host, tail));
	sim_unpin_user_page(host, tail);
	assert_false(sim_page_maybe_dma_pinned(host, tail));
	assert_int_equal(sim_page_count(host, head), 1);
	assert_int_equal(sim_page_pincount(host, head), 0);
	assert_int_equal(pinned_pages(host), 0);
	sim_unpin_user_page(host, tail);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	assert_int_equal(sim_page_count(host, head), 1);
	sim_put_page(host, tail);
	assert_all_free(host);
	sim_host_destroy(host);
}

/*
 * A lockless reader whose compound_info load is stale (from before the
 * compound page was made) takes the first tail for an order-0 page: that
 * word holds the negated pin count, so the speculative get, the pin and a
 * freeze all fail, and the count stays as it was (page.h).
 */
static void test_first_tail_refuses_stale_readers(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct sim_page *head = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP, 9);
	u8 info;

	assert_int_equal(sim_page_try_pin(host, head), 0);
	info = READ_ONCE(head[1].compound_info);
	WRITE_ONCE(head[1].compound_info, 0);
	assert_false(sim_get_page_unless_zero(host, head + 1));
	assert_int_equal(sim_page_try_pin(host, head + 1), -EAGAIN);
	assert_false(sim_page_ref_freeze(host, head + 1, 1));
	WRITE_ONCE(head[1].compound_info, info);
	assert_int_equal(sim_page_pincount(host, head), 1);
	assert_int_equal(sim_page_count(host, head), 2);
	assert_int_equal(pinned_pages(host), 1);
	assert_int_equal(env_warn_count(), 0);
	sim_unpin_user_page(host, head);
	sim_put_page(host, head);
	assert_all_free(host);
	sim_host_destroy(host);
}

/* ======================== compound pages and flags ======================== */

static void test_compound_head_and_folio_flags(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct sim_page *head = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP | __GFP_MOVABLE, 4);
	struct sim_page *small = sim_alloc_pages(host, GFP_KERNEL, 0);
	unsigned int i;

	assert_int_equal(sim_page_flags(host, head), SIM_PG_HEAD | SIM_PG_MOVABLE);
	assert_int_equal(sim_compound_order(host, head), 4);
	for (i = 1; i < 16; i++) {
		assert_ptr_equal(sim_compound_head(host, head + i), head);
		assert_int_equal(sim_compound_order(host, head + i), 4);
		assert_int_equal(sim_page_flags(host, head + i), SIM_PG_TAIL | SIM_PG_MOVABLE);
	}
	assert_ptr_equal(sim_compound_head(host, small), small);
	assert_int_equal(sim_compound_order(host, small), 0);

	/* mm flags act on the folio: set on a tail, seen on every page. */
	sim_page_set_flags(host, head + 9, SIM_PG_ANON | SIM_PG_DIRTY);
	assert_int_equal(sim_page_flags(host, head),
			 SIM_PG_HEAD | SIM_PG_MOVABLE | SIM_PG_ANON | SIM_PG_DIRTY);
	assert_true(sim_page_flags(host, head + 3) & SIM_PG_DIRTY);
	sim_page_clear_flags(host, head, SIM_PG_DIRTY);
	assert_int_equal(sim_page_flags(host, head + 15),
			 SIM_PG_TAIL | SIM_PG_MOVABLE | SIM_PG_ANON);

	/* Allocator flags are not the mm's to change. */
	sim_page_set_flags(host, small, SIM_PG_MOVABLE);
	sim_page_clear_flags(host, head, SIM_PG_HEAD);
	assert_int_equal(env_warn_count(), 2);
	env_warn_count_reset();
	assert_int_equal(sim_page_flags(host, small), 0);
	sim_page_set_flags(host, small, SIM_PG_SWAPCACHE | SIM_PG_HUGETLB);
	assert_int_equal(sim_page_flags(host, small), SIM_PG_SWAPCACHE | SIM_PG_HUGETLB);

	/* Freeing clears the mm flags. */
	sim_put_page(host, head);
	sim_put_page(host, small);
	assert_all_free(host);
	head = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP, 4);
	small = sim_alloc_pages(host, GFP_KERNEL, 0);
	assert_int_equal(sim_page_flags(host, head), SIM_PG_HEAD);
	assert_int_equal(sim_page_flags(host, small), 0);
	sim_put_page(host, head);
	sim_put_page(host, small);
	assert_all_free(host);
	sim_host_destroy(host);
}

/*
 * compound_head() against the allocator reusing a compound page's tails, as
 * GUP-fast meets it: it reads the head of a page it found in a PTE while the
 * page may be freed and reused.  A writer cycles one order-4 block at PFN P:
 * a compound page, freed, then split by an order-0 allocation, which lists
 * the tail P+1 as a free block whose buddy links overlay the descriptor
 * word that encodes the head.  A reader calls sim_compound_head() on P+1
 * and must get P+1 or P, never a pointer computed from a link.
 *
 * The reader's window lies between two instructions, so it is held open
 * with a data breakpoint (perf_event_open, synchronous SIGTRAP) on P+1's
 * descriptor: after the reader's first load from it while the compound page
 * exists, the handler keeps the reader stopped until the writer has listed
 * P+1 as a free block, as an interrupt or a preemption may on a real host,
 * and the writer keeps the block there until the reader made its next load.
 * With tail-ness and head read in one load there is no second load to go
 * wrong.  Without perf breakpoints the threads run free (a weaker test).
 */
enum { HR_OTHER, HR_COMPOUND, HR_LISTED };

struct head_race {
	struct sim_host *host;
	struct sim_page *base;
	int phase; /* HR_*, set by the writer */
	int stopped, resumed; /* set by the reader's SIGTRAP handler */
	bool ready, lockstep, stop;
	unsigned long cycles, reads, bad, hits;
	long bad_off;
};

static struct head_race *head_race;

/* Wait until *@p is @v or 10 ms passed; yield, the other thread may share our CPU. */
static void head_race_wait(int *p, int v)
{
	u64 end = ktime_get_ns() + 10000000;

	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) != v && ktime_get_ns() < end)
		sched_yield();
}

static void head_race_trap(int sig, siginfo_t *si, void *uc)
{
	struct head_race *hr = head_race;

	(void)sig, (void)si, (void)uc;
	if (smp_load_acquire(&hr->phase) == HR_COMPOUND && !READ_ONCE(hr->stopped)) {
		smp_store_release(&hr->stopped, 1);
		head_race_wait(&hr->phase, HR_LISTED);
	} else if (smp_load_acquire(&hr->phase) == HR_LISTED && READ_ONCE(hr->stopped) &&
		   !READ_ONCE(hr->resumed)) {
		hr->hits++;
		smp_store_release(&hr->resumed, 1);
	}
}

/* A read/write breakpoint on 8 bytes at @addr, for the calling thread; -1 if none. */
static int head_race_watch(void *addr)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_BREAKPOINT,
		.size = sizeof(a),
		.bp_type = HW_BREAKPOINT_RW,
		.bp_addr = (unsigned long)addr,
		.bp_len = HW_BREAKPOINT_LEN_8,
		.sample_period = 1,
		.exclude_kernel = 1,
		.exclude_hv = 1,
		.sigtrap = 1,
		.remove_on_exec = 1,
	};

	return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static int head_race_reader(void *arg)
{
	struct head_race *hr = arg;
	struct sim_page *page = hr->base + 1;
	unsigned long reads = 0;
	int fd[2];

	fd[0] = head_race_watch(page);
	fd[1] = head_race_watch((char *)page + 8);
	hr->lockstep = fd[0] >= 0 && fd[1] >= 0;
	smp_store_release(&hr->ready, true);
	while (!READ_ONCE(hr->stop)) {
		struct sim_page *head;

		/* Each trap costs a signal: stay off the page between cycles. */
		if (hr->lockstep &&
		    (smp_load_acquire(&hr->phase) == HR_OTHER || smp_load_acquire(&hr->resumed))) {
			cpu_relax();
			continue;
		}
		head = sim_compound_head(hr->host, page);

		if (head != page && head != hr->base) {
			hr->bad_off = page - head;
			hr->bad = 1;
			WRITE_ONCE(hr->stop, true);
		}
		reads++;
	}
	if (fd[0] >= 0)
		close(fd[0]);
	if (fd[1] >= 0)
		close(fd[1]);
	hr->reads = reads;
	return 0;
}

static void test_compound_head_vs_buddy_reuse(void **state)
{
	struct sim_host *host = new_host(16 * MiB);
	struct head_race hr = { .host = host };
	struct sigaction sa = { .sa_sigaction = head_race_trap, .sa_flags = SA_SIGINFO }, old;
	struct sim_page *page, *small[4];
	struct env_thread *rd;
	u64 deadline;
	unsigned int i;

	/*
	 * Take the smaller blocks below the first order-4 one (PFNs 1..15),
	 * from the buddy lists (an address limit: no per-CPU list refill).
	 */
	for (i = 0; i < ARRAY_SIZE(small); i++)
		assert_non_null(small[i] = sim_alloc_pages_below(host, GFP_KERNEL, i,
								 16 * MiB - PAGE_SIZE));
	page = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP, 4);
	assert_non_null(page);
	hr.base = page;
	sim_put_page(host, page);
	head_race = &hr;
	assert_int_equal(sigaction(SIGTRAP, &sa, &old), 0);
	rd = env_thread_start(head_race_reader, &hr, "reader");
	assert_non_null(rd);
	while (!smp_load_acquire(&hr.ready))
		cpu_relax();
	deadline = ktime_get_ns() + 250000000ULL * mmusim_test_stress_seconds();
	while (!READ_ONCE(hr.stop) && ktime_get_ns() < deadline) {
		page = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP, 4);
		assert_ptr_equal(page, hr.base);
		if (hr.lockstep) {
			smp_store_release(&hr.phase, HR_COMPOUND);
			head_race_wait(&hr.stopped, 1);
		}
		sim_put_page(host, page);
		/*
		 * The order-0 page is the block's first frame; its buddies are
		 * listed.  An address limit takes it from the buddy lists, not
		 * from this CPU's page list.
		 */
		page = sim_alloc_pages_below(host, GFP_KERNEL, 0, 16 * MiB - PAGE_SIZE);
		assert_ptr_equal(page, hr.base);
		assert_true(sim_page_flags(host, page + 1) & SIM_PG_BUDDY);
		if (hr.lockstep) {
			smp_store_release(&hr.phase, HR_LISTED);
			head_race_wait(&hr.resumed, 1);
			smp_store_release(&hr.phase, HR_OTHER);
			WRITE_ONCE(hr.resumed, 0);
			WRITE_ONCE(hr.stopped, 0);
		}
		sim_free_pages(host, page, 0);
		/* Back from this CPU's page list into the order-4 block. */
		assert_int_equal(sim_host_check_free_lists(host), 0);
		hr.cycles++;
	}
	WRITE_ONCE(hr.stop, true);
	assert_int_equal(env_thread_join(rd), 0);
	assert_int_equal(sigaction(SIGTRAP, &old, NULL), 0);
	head_race = NULL;
	print_message("compound head race (%s): %lu cycles, %lu held open, %lu reads\n",
		      hr.lockstep ? "breakpoints" : "free-running", hr.cycles, hr.hits, hr.reads);
	for (i = 0; i < ARRAY_SIZE(small); i++)
		sim_free_pages(host, small[i], i);
	if (hr.bad)
		fail_msg("sim_compound_head() of a tail returned page - %ld", hr.bad_off);
	assert_all_free(host);
	sim_host_destroy(host);
}

/*
 * set_page_dirty() / mark_page_accessed() by a reference holder: the flag
 * goes on the folio (a tail's mark is the head's); without a reference,
 * they WARN and change nothing.
 */
static void test_page_dirty_and_accessed(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct sim_page *head = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP, 2);
	struct sim_page *small = sim_alloc_pages(host, GFP_KERNEL, 0);

	sim_set_page_dirty(host, head + 3);
	assert_int_equal(sim_page_flags(host, head), SIM_PG_HEAD | SIM_PG_DIRTY);
	assert_true(sim_page_flags(host, head + 1) & SIM_PG_DIRTY);
	sim_mark_page_accessed(host, small);
	sim_mark_page_accessed(host, small);
	assert_int_equal(sim_page_flags(host, small), SIM_PG_REFERENCED);

	assert_true(sim_page_ref_freeze(host, small, 1));
	sim_set_page_dirty(host, small);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	sim_page_ref_unfreeze(host, small, 1);
	assert_int_equal(sim_page_flags(host, small), SIM_PG_REFERENCED);

	sim_put_page(host, head);
	sim_put_page(host, small);
	assert_all_free(host);
	sim_host_destroy(host);
}

static void test_ref_freeze_blocks_speculative_refs(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct sim_page *page = sim_alloc_pages(host, GFP_KERNEL, 0);

	sim_get_page(host, page);
	assert_false(sim_page_ref_freeze(host, page, 1)); /* an extra reference */
	assert_true(sim_page_ref_freeze(host, page, 2));
	assert_false(sim_get_page_unless_zero(host, page));
	assert_int_equal(sim_page_try_pin(host, page), -EAGAIN);
	sim_page_ref_unfreeze(host, page, 2);
	assert_true(sim_get_page_unless_zero(host, page));
	assert_int_equal(sim_page_count(host, page), 3);
	sim_put_page(host, page);
	sim_put_page(host, page);
	sim_put_page(host, page);
	assert_all_free(host);
	sim_host_destroy(host);
}

/*
 * A 2 MiB THP split into 512 small pages:
 *
 *   before: [HEAD ref=1 ANON|MOVABLE][TAIL]...[TAIL]
 *   after:  [ref=1 ANON|MOVABLE] x 512, each freed on its own
 */
static void test_split_compound_page(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	struct sim_page *head = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP | __GFP_MOVABLE, 9);
	struct sim_page *hugetlb = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP, 9);
	struct sim_page *small = sim_alloc_pages(host, GFP_KERNEL, 0);
	unsigned int i;

	sim_page_set_flags(host, head, SIM_PG_ANON);
	sim_page_set_flags(host, hugetlb, SIM_PG_HUGETLB);
	assert_int_equal(sim_split_compound_page(host, hugetlb, 1), -EINVAL);
	assert_int_equal(sim_split_compound_page(host, small, 1), -EINVAL);

	assert_int_equal(sim_page_try_pin(host, head + 10), 0);
	assert_int_equal(sim_split_compound_page(host, head, 2), -EBUSY);
	sim_unpin_user_page(host, head + 10);
	sim_get_page(host, head + 1);
	assert_int_equal(sim_split_compound_page(host, head, 1), -EAGAIN);
	sim_put_page(host, head);
	assert_int_equal(sim_page_count(host, head), 1);

	assert_int_equal(sim_split_compound_page(host, head + 77, 1), 0);
	for (i = 0; i < 512; i++) {
		assert_int_equal(sim_page_flags(host, head + i), SIM_PG_ANON | SIM_PG_MOVABLE);
		assert_int_equal(sim_page_count(host, head + i), 1);
		assert_ptr_equal(sim_compound_head(host, head + i), head + i);
		assert_int_equal(sim_compound_order(host, head + i), 0);
	}
	/* Now every small page pins and frees on its own. */
	assert_int_equal(sim_page_try_pin(host, head + 3), 0);
	assert_int_equal(sim_page_count(host, head + 3), 1 + SIM_GUP_PIN_COUNTING_BIAS);
	sim_unpin_user_page(host, head + 3);
	for (i = 0; i < 512; i++)
		sim_put_page(host, head + i);
	sim_put_page(host, hugetlb);
	sim_put_page(host, small);
	assert_all_free(host);
	sim_host_destroy(host);
}

static void test_migration_target_and_copy(void **state)
{
	struct sim_host *host = new_host(256 * MiB);
	struct sim_page *src = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP | __GFP_MOVABLE, 9);
	struct sim_page *small = sim_alloc_pages(host, GFP_KERNEL | __GFP_MOVABLE, 0);
	struct sim_page *pinned_dst, *dst, *small_dst;
	u8 *s = sim_page_to_virt(host, src);

	memset(s, 0x3c, 2 * MiB);
	s[12345] = 0x99;
	assert_true(pfn_of(host, src) >= host->mid_pfn);

	/* FOLL_LONGTERM: unmovable, from the low half. */
	pinned_dst = sim_alloc_migration_target(host, src, GFP_KERNEL, true);
	assert_non_null(pinned_dst);
	assert_int_equal(sim_page_flags(host, pinned_dst), SIM_PG_HEAD);
	assert_int_equal(sim_compound_order(host, pinned_dst), 9);
	assert_true(pfn_of(host, pinned_dst) < host->mid_pfn);
	sim_copy_page_data(host, pinned_dst, src);
	assert_memory_equal(sim_page_to_virt(host, pinned_dst), s, 2 * MiB);

	/* Compaction: stays movable. */
	dst = sim_alloc_migration_target(host, src + 4, GFP_NOWAIT, false);
	assert_int_equal(sim_page_flags(host, dst), SIM_PG_HEAD | SIM_PG_MOVABLE);
	small_dst = sim_alloc_migration_target(host, small, GFP_KERNEL, false);
	assert_int_equal(sim_page_flags(host, small_dst), SIM_PG_MOVABLE);
	assert_int_equal(sim_compound_order(host, small_dst), 0);

	sim_put_page(host, src);
	sim_put_page(host, small);
	sim_put_page(host, pinned_dst);
	sim_put_page(host, dst);
	sim_put_page(host, small_dst);
	assert_all_free(host);
	sim_host_destroy(host);
}

/* ======================== memremap ======================== */

/*
 * One record per memremap() (RAM or nopage frames, the address being the
 * frame's own); each memunmap() takes one back, one too many WARNs.
 *
 *   RAM  1 .. 2^14 - 1        nopage  2^20 .. 2^20 + 15
 */
static void test_memremap(void **state)
{
	struct sim_host_config cfg = { .mem_bytes = 64 * MiB, .nopage_base_pfn = 1ULL << 20,
				       .nopage_pages = 16 };
	struct sim_host_stats st;
	struct sim_host *host = NULL;
	void *v1, *v2, *vn, *bad = (void *)0x1;

	assert_int_equal(sim_host_create(&cfg, &host), 0);
	assert_int_equal(sim_memremap(host, 100, &v1), 0);
	assert_ptr_equal(v1, sim_pfn_to_virt(host, 100));
	assert_int_equal(sim_memremap(host, 100, &v2), 0);
	assert_ptr_equal(v2, v1);
	assert_int_equal(sim_memremap(host, (1ULL << 20) + 15, &vn), 0);
	assert_ptr_equal(vn, sim_pfn_to_virt(host, (1ULL << 20) + 15));
	assert_int_equal(sim_host_get_stats(host, &st), 0);
	assert_int_equal(st.memremaps, 3);
	assert_int_equal(st.memremap_live, 3);

	/* Neither RAM nor nopage, bad arguments, no memory: nothing recorded. */
	assert_int_equal(sim_memremap(host, 64 * MiB >> PAGE_SHIFT, &bad), -EINVAL);
	assert_int_equal(sim_memremap(host, (1ULL << 20) + 16, &bad), -EINVAL);
	assert_ptr_equal(bad, (void *)0x1);
	assert_int_equal(sim_memremap(NULL, 100, &bad), -EINVAL);
	assert_int_equal(sim_memremap(host, 100, NULL), -EINVAL);
	env_fail_nth(1);
	assert_int_equal(sim_memremap(host, 100, &bad), -ENOMEM);
	env_fail_clear();
	assert_int_equal(sim_host_get_stats(host, &st), 0);
	assert_int_equal(st.memremaps, 3);
	assert_int_equal(st.memremap_live, 3);

	sim_memunmap(host, v1);
	sim_memunmap(host, vn);
	assert_int_equal(sim_host_get_stats(host, &st), 0);
	assert_int_equal(st.memremap_live, 1);
	sim_memunmap(host, v2);
	assert_int_equal(env_warn_count(), 0);
	/* A double memunmap WARNs and changes nothing. */
	sim_memunmap(host, v1);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	assert_int_equal(sim_host_get_stats(host, &st), 0);
	assert_int_equal(st.memremaps, 3);
	assert_int_equal(st.memremap_live, 0);
	sim_memunmap(host, NULL);
	sim_memunmap(NULL, v1);
	assert_int_equal(env_warn_count(), 0);
	sim_host_destroy(host);
}

/* A live memremap() keeps the host (and its frames) from going away. */
static void test_host_destroy_warns_while_memremapped(void **state)
{
	struct sim_host *host = new_host(64 * MiB);
	u64 *v;

	assert_int_equal(sim_memremap(host, 7, (void **)&v), 0);
	sim_host_destroy(host);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	v[0] = 42; /* still mapped */
	sim_memunmap(host, v);
	assert_int_equal(env_warn_count(), 0);
	sim_host_destroy(host);
}

static void test_host_kvm_allow_unsafe_mappings(void **state)
{
	struct sim_host_config cfg = { .kvm_allow_unsafe_mappings = true };
	struct sim_host *host = NULL;

	assert_int_equal(sim_host_create(&cfg, &host), 0);
	assert_true(sim_host_kvm_allow_unsafe_mappings(host));
	sim_host_destroy(host);
	assert_int_equal(sim_host_create(NULL, &host), 0);
	assert_false(sim_host_kvm_allow_unsafe_mappings(host));
	sim_host_destroy(host);
	assert_false(sim_host_kvm_allow_unsafe_mappings(NULL));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_host_create_defaults),
		MMUSIM_TEST(test_host_create_custom_sizes),
		MMUSIM_TEST(test_host_create_1tib_is_lazy),
		MMUSIM_TEST(test_host_create_beyond_32bit_pfns),
		MMUSIM_TEST(test_host_create_reservation_failure_unwinds),
		MMUSIM_TEST(test_host_create_rejects_bad_config),
		MMUSIM_TEST(test_host_create_enomem_unwinds),
		MMUSIM_TEST(test_host_destroy_warns_while_pages_allocated),
		MMUSIM_TEST(test_host_destroy_runs_queued_table_frees),
		MMUSIM_TEST(test_pfn_page_round_trip),
		MMUSIM_TEST(test_nopage_region),
		MMUSIM_TEST(test_refcount_get_put_frees_at_zero),
		MMUSIM_TEST(test_get_unless_zero_fails_on_free_pages),
		MMUSIM_TEST(test_refcount_misuse_warns_without_damage),
		MMUSIM_TEST(test_pin_small_page_uses_bias),
		MMUSIM_TEST(test_unpin_after_owner_put_frees),
		MMUSIM_TEST(test_pin_compound_page_counts_pins),
		MMUSIM_TEST(test_first_tail_refuses_stale_readers),
		MMUSIM_TEST(test_compound_head_and_folio_flags),
		MMUSIM_TEST(test_compound_head_vs_buddy_reuse),
		MMUSIM_TEST(test_page_dirty_and_accessed),
		MMUSIM_TEST(test_ref_freeze_blocks_speculative_refs),
		MMUSIM_TEST(test_split_compound_page),
		MMUSIM_TEST(test_migration_target_and_copy),
		MMUSIM_TEST(test_memremap),
		MMUSIM_TEST(test_host_destroy_warns_while_memremapped),
		MMUSIM_TEST(test_host_kvm_allow_unsafe_mappings),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("phys", tests);
}
