// SPDX-License-Identifier: GPL-2.0-only
/*
 * Self-tests of the simulated host (src/host) that run in both environments:
 * host creation and its errors, the buddy allocator (every order, compound
 * and not, __GFP_ZERO, exhaustion, concurrent use), page references, and
 * allocation-failure unwinding.
 *
 * Memory.  In the kernel a host's RAM is vmalloc'd at once (env_vreserve),
 * so hosts here are small: 64 MiB in the serial pass, 16 MiB per thread in
 * the parallel pass (st_host_mem()).  Layout of a 16 MiB host:
 *
 *   PFN 0         1 ........ 2047 | 2048 ....... 4095
 *   [reserved]    unmovable half  |  movable half
 *
 * Each test creates its own host, so ST_PARALLEL tests share nothing.
 */
#include "mmusim_env.h"

#include <mmusim/host.h>

#include "host/host_internal.h"
#include "selftest/selftest.h"

#define ST_MiB (1ULL << 20)

static u64 st_host_mem(const struct st_ctx *ctx)
{
	return (ctx->nr_threads > 1 ? 16 : 64) * ST_MiB;
}

static int st_host_new(struct st_ctx *ctx, struct sim_host **hostp)
{
	struct sim_host_config cfg = { .mem_bytes = st_host_mem(ctx) };

	*hostp = NULL;
	return sim_host_create(&cfg, hostp);
}

static u64 st_free_pages(struct sim_host *host)
{
	struct sim_host_stats s;

	sim_host_get_stats(host, &s);
	return s.free_pages;
}

ST_TEST(host_create_destroy)
{
	struct sim_host_config cfg = { .mem_bytes = st_host_mem(ctx) };
	struct sim_host_stats s;
	struct sim_host *host = NULL;

	ST_ASSERT_EQ(sim_host_create(&cfg, &host), 0);
	ST_ASSERT_NOT_NULL(host);
	sim_host_get_stats(host, &s);
	ST_EXPECT_EQ(s.ram_pages, (cfg.mem_bytes >> PAGE_SHIFT) - 1);	/* PFN 0 is reserved */
	ST_EXPECT_EQ(s.free_pages, s.ram_pages);
	ST_EXPECT_EQ(s.pinned_pages, 0ULL);
	ST_EXPECT(sim_pfn_valid(host, 1));
	ST_EXPECT(!sim_pfn_valid(host, cfg.mem_bytes >> PAGE_SHIFT));
	ST_EXPECT_NULL(sim_pfn_to_page(host, cfg.mem_bytes >> PAGE_SHIFT));
	ST_EXPECT_EQ(sim_host_check_free_lists(host), 0UL);
	sim_host_destroy(host);
	sim_host_destroy(NULL);
	return st_result(ctx);
}

/* Bad configurations fail with -EINVAL and create nothing. */
ST_TEST(host_create_rejects_bad_config)
{
	struct sim_host_config cfg = { 0 };
	struct sim_host *host = NULL;

	cfg.mem_bytes = 16 * ST_MiB + 1;
	ST_EXPECT_EQ(sim_host_create(&cfg, &host), -EINVAL);
	cfg.mem_bytes = ST_MiB;
	ST_EXPECT_EQ(sim_host_create(&cfg, &host), -EINVAL);
	cfg.mem_bytes = 16 * ST_MiB;
	ST_EXPECT_EQ(sim_host_create(&cfg, NULL), -EINVAL);
	/* The nopage region must lie above RAM. */
	cfg.nopage_base_pfn = 16;
	cfg.nopage_pages = 16;
	ST_EXPECT_EQ(sim_host_create(&cfg, &host), -EINVAL);
	ST_EXPECT_NULL(host);
	return st_result(ctx);
}

/*
 * Every order that fits, compound and not, movable and not: aligned, inside
 * RAM, refcount 1, and freeing coalesces back to the initial free count.
 */
ST_TEST(host_alloc_every_order)
{
	unsigned int order, kind, max_order;
	struct sim_host *host;
	u64 initial, npages;

	ST_ASSERT_EQ(st_host_new(ctx, &host), 0);
	initial = st_free_pages(host);
	npages = st_host_mem(ctx) >> PAGE_SHIFT;
	max_order = ilog2(npages) - 2;
	for (kind = 0; kind < 4; kind++) {
		gfp_t gfp = GFP_KERNEL | (kind & 1 ? __GFP_COMP : 0) |
			    (kind & 2 ? __GFP_MOVABLE : 0);

		for (order = 0; order <= max_order; order++) {
			struct sim_page *page = sim_alloc_pages(host, gfp, order);
			u64 pfn;

			ST_EXPECT_NOT_NULL(page);
			if (!page)
				break;
			pfn = sim_page_to_pfn(host, page);
			ST_EXPECT(pfn && IS_ALIGNED(pfn, 1ULL << order));
			ST_EXPECT_LE(pfn + (1ULL << order), npages);
			ST_EXPECT_EQ(sim_page_count(host, page), 1);
			ST_EXPECT_EQ(!!(sim_page_flags(host, page) & SIM_PG_MOVABLE), !!(kind & 2));
			ST_EXPECT_EQ(st_free_pages(host), initial - (1ULL << order));
			if ((kind & 1) && order)
				sim_put_page(host, page);
			else
				sim_free_pages(host, page, order);
			ST_EXPECT_EQ(st_free_pages(host), initial);
		}
	}
	ST_EXPECT_EQ(sim_host_check_free_lists(host), 0UL);
	sim_host_destroy(host);
	return st_result(ctx);
}

/* References: the last put frees; a free page cannot be revived speculatively. */
ST_TEST(host_page_refcount)
{
	struct sim_host *host;
	struct sim_page *page, *head;
	u64 initial;
	u8 *data;

	ST_ASSERT_EQ(st_host_new(ctx, &host), 0);
	initial = st_free_pages(host);
	page = sim_alloc_pages(host, GFP_KERNEL | __GFP_ZERO, 0);
	ST_EXPECT_NOT_NULL(page);
	if (page) {
		data = sim_pfn_to_virt(host, sim_page_to_pfn(host, page));
		ST_EXPECT(data && !data[0] && !data[PAGE_SIZE - 1]);
		if (data)
			memset(data, 0xaa, PAGE_SIZE);
		sim_get_page(host, page);
		ST_EXPECT_EQ(sim_page_count(host, page), 2);
		ST_EXPECT(sim_get_page_unless_zero(host, page));
		sim_put_page(host, page);
		sim_put_page(host, page);
		ST_EXPECT_EQ(st_free_pages(host), initial - 1);
		sim_put_page(host, page);
		ST_EXPECT_EQ(st_free_pages(host), initial);
		ST_EXPECT(!sim_get_page_unless_zero(host, page));
	}

	/* A compound page is counted on its head; a get on a tail counts there. */
	page = sim_alloc_pages(host, GFP_KERNEL | __GFP_COMP, 2);
	ST_EXPECT_NOT_NULL(page);
	if (page) {
		struct sim_page *tail = sim_pfn_to_page(host, sim_page_to_pfn(host, page) + 3);

		head = sim_compound_head(host, tail);
		ST_EXPECT_PTR_EQ(head, page);
		ST_EXPECT(sim_page_flags(host, tail) & SIM_PG_TAIL);
		sim_get_page(host, tail);
		ST_EXPECT_EQ(sim_page_count(host, page), 2);
		sim_put_page(host, tail);
		sim_put_page(host, page);
		ST_EXPECT_EQ(st_free_pages(host), initial);
	}
	ST_EXPECT_EQ(sim_host_check_free_lists(host), 0UL);
	sim_host_destroy(host);
	return st_result(ctx);
}

/* Run the allocator dry, then give everything back: no block lost. */
ST_TEST(host_alloc_exhaustion)
{
	const unsigned int order = 4;
	struct sim_page **pages;
	struct sim_host *host;
	unsigned int n = 0, max, i;
	u64 initial;

	ST_ASSERT_EQ(st_host_new(ctx, &host), 0);
	initial = st_free_pages(host);
	max = (unsigned int)(initial >> order) + 1;
	pages = kcalloc(max, sizeof(*pages), GFP_KERNEL);
	if (!pages) {
		sim_host_destroy(host);
		ST_FAIL_MSG("no memory for %u page pointers", max);
	}
	while (n < max && (pages[n] = sim_alloc_pages(host, GFP_KERNEL, order)))
		n++;
	ST_EXPECT_LT(n, max);
	ST_EXPECT_GE(n, (unsigned int)(initial >> order) - 1);
	ST_EXPECT_LT(st_free_pages(host), 1ULL << order);
	if (n < max) {
		/* Dry now; if not (a failure was injected), give the block back too. */
		pages[n] = sim_alloc_pages(host, GFP_KERNEL, order);
		ST_EXPECT_NULL(pages[n]);
		n += !!pages[n];
	}
	for (i = 0; i < n; i++)
		sim_free_pages(host, pages[i], order);
	ST_EXPECT_EQ(st_free_pages(host), initial);
	ST_EXPECT_EQ(sim_host_check_free_lists(host), 0UL);
	kfree(pages);
	sim_host_destroy(host);
	return st_result(ctx);
}

/* Injected failures: the allocator returns NULL, creation -ENOMEM, nothing leaks. */
ST_TEST(host_alloc_failure_injection)
{
#ifndef ENV_FAIL_INJECTION
	ST_SKIP_MSG("no allocation-failure schedule in this seam (the kernel's is failslab)");
#else
	struct sim_host *host = NULL;
	struct sim_page *page;
	unsigned long nth;
	u64 initial;
	int r;

	/* Every allocation sim_host_create() makes, failed in turn, unwinds. */
	for (nth = 1; nth < 8; nth++) {
		env_fail_nth(nth);
		r = st_host_new(ctx, &host);
		env_fail_clear();
		if (!r) {
			sim_host_destroy(host);
			break;
		}
		ST_EXPECT_EQ(r, -ENOMEM);
	}
	ST_EXPECT_GT(nth, 1UL);

	ST_ASSERT_EQ(st_host_new(ctx, &host), 0);
	initial = st_free_pages(host);
	env_fail_nth(1);
	page = sim_alloc_pages(host, GFP_KERNEL, 0);
	ST_EXPECT_EQ(env_fail_injected(), 1UL);
	env_fail_clear();
	ST_EXPECT_NULL(page);
	ST_EXPECT_EQ(st_free_pages(host), initial);
	page = sim_alloc_pages(host, GFP_KERNEL, 0);
	ST_EXPECT_NOT_NULL(page);
	if (page)
		sim_free_pages(host, page, 0);
	sim_host_destroy(host);
	return st_result(ctx);
#endif
}

#define ST_ALLOC_THREADS 3

struct st_alloc_ctx {
	struct sim_host *host;
	u64 seed;
	unsigned int iters;
	atomic_t ids;
	atomic_t failures;
};

static u64 st_rand(u64 *s)
{
	u64 x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Random orders, a small window of live blocks, each stamped and checked. */
static int st_alloc_thread(void *arg)
{
	struct st_alloc_ctx *c = arg;
	struct sim_page *live[8] = { NULL };
	unsigned int order[8] = { 0 };
	u64 s = c->seed ^ ((u64)atomic_inc_return(&c->ids) * 0x9e3779b97f4a7c15ULL);
	unsigned int i, slot;

	for (i = 0; i < c->iters; i++) {
		slot = st_rand(&s) % ARRAY_SIZE(live);
		if (live[slot]) {
			u64 *data = sim_pfn_to_virt(c->host, sim_page_to_pfn(c->host, live[slot]));

			if (!data || *data != (u64)(unsigned long)&live[slot])
				atomic_inc(&c->failures);
			sim_free_pages(c->host, live[slot], order[slot]);
			live[slot] = NULL;
		} else {
			order[slot] = st_rand(&s) % 6;
			live[slot] = sim_alloc_pages(c->host, GFP_KERNEL |
						     (i & 1 ? __GFP_MOVABLE : 0), order[slot]);
			if (live[slot]) {
				u64 *data = sim_pfn_to_virt(c->host,
							    sim_page_to_pfn(c->host, live[slot]));

				if (data)
					*data = (u64)(unsigned long)&live[slot];
			}
		}
		if (!(i % 32))
			cond_resched();
	}
	for (slot = 0; slot < ARRAY_SIZE(live); slot++)
		if (live[slot])
			sim_free_pages(c->host, live[slot], order[slot]);
	return 0;
}

/* Several threads on one host: the zone lock keeps the free lists whole. */
ST_TEST(host_alloc_concurrent)
{
	struct env_thread *t[ST_ALLOC_THREADS];
	struct st_alloc_ctx *c = kzalloc(sizeof(*c), GFP_KERNEL);
	u64 initial = 0;
	int i;

	ST_ASSERT_NOT_NULL(c);
	if (st_host_new(ctx, &c->host)) {
		kfree(c);
		ST_FAIL_MSG("sim_host_create failed");
	}
	initial = st_free_pages(c->host);
	c->seed = ctx->seed;
	c->iters = 3000;
	for (i = 0; i < ST_ALLOC_THREADS; i++) {
		t[i] = env_thread_start(st_alloc_thread, c, "alloc");
		ST_EXPECT_NOT_NULL(t[i]);
	}
	for (i = 0; i < ST_ALLOC_THREADS; i++)
		if (t[i])
			env_thread_join(t[i]);
	ST_EXPECT_EQ(atomic_read(&c->failures), 0);
	ST_EXPECT_EQ(st_free_pages(c->host), initial);
	ST_EXPECT_EQ(sim_host_check_free_lists(c->host), 0UL);
	sim_host_destroy(c->host);
	kfree(c);
	return st_result(ctx);
}

/* ======================== Address spaces, notifiers, GUP ======================== */

/*
 * A secondary MMU that only counts what the host tells it.  Callbacks may
 * run concurrently (pairs may nest), hence the atomics.
 */
struct st_listener {
	struct sim_mmu_notifier mn;
	atomic_t starts, ends, unmaps, migrates, young, change_pte, release;
	hva_t lo, hi;	/* the smallest range covering every invalidation seen */
	spinlock_t lock;
};

static struct st_listener *to_listener(struct sim_mmu_notifier *mn)
{
	return container_of(mn, struct st_listener, mn);
}

static int st_mn_start(struct sim_mmu_notifier *mn, const struct sim_mmu_notifier_range *r)
{
	struct st_listener *l = to_listener(mn);

	atomic_inc(&l->starts);
	if (r->event == SIM_MMU_NOTIFY_UNMAP)
		atomic_inc(&l->unmaps);
	if (r->event == SIM_MMU_NOTIFY_MIGRATE)
		atomic_inc(&l->migrates);
	spin_lock(&l->lock);
	if (!l->hi || r->start < l->lo)
		l->lo = r->start;
	if (r->end > l->hi)
		l->hi = r->end;
	spin_unlock(&l->lock);
	return 0;
}

static void st_mn_end(struct sim_mmu_notifier *mn, const struct sim_mmu_notifier_range *r)
{
	atomic_inc(&to_listener(mn)->ends);
}

static int st_mn_young(struct sim_mmu_notifier *mn, struct sim_mm *mm, hva_t start, hva_t end)
{
	atomic_inc(&to_listener(mn)->young);
	return 0;
}

static void st_mn_change_pte(struct sim_mmu_notifier *mn, struct sim_mm *mm, hva_t addr,
			     kvm_pfn_t pfn, bool writable)
{
	atomic_inc(&to_listener(mn)->change_pte);
}

static void st_mn_release(struct sim_mmu_notifier *mn, struct sim_mm *mm)
{
	atomic_inc(&to_listener(mn)->release);
}

static const struct sim_mmu_notifier_ops st_mn_ops = {
	.invalidate_range_start = st_mn_start,
	.invalidate_range_end = st_mn_end,
	.clear_young = st_mn_young,
	.test_young = st_mn_young,
	.change_pte = st_mn_change_pte,
	.release = st_mn_release,
};

/* One host, one mm, one listener: what every mm test starts from. */
struct st_mm_env {
	struct sim_host *host;
	struct sim_mm *mm;
	struct st_listener l;
	u64 initial_free;
	bool registered;
};

static int st_mm_env_init(struct st_ctx *ctx, struct st_mm_env *e)
{
	int r;

	memset(e, 0, sizeof(*e));
	spin_lock_init(&e->l.lock);
	e->l.mn.ops = &st_mn_ops;
	r = st_host_new(ctx, &e->host);
	if (r)
		return r;
	e->initial_free = st_free_pages(e->host);
	r = sim_mm_create(e->host, &e->mm);
	if (!r) {
		r = sim_mmu_notifier_register(&e->l.mn, e->mm);
		e->registered = !r;
	}
	return r;
}

/* Tears down in the only legal order; fails @ctx if host memory leaked. */
static void st_mm_env_fini(struct st_ctx *ctx, struct st_mm_env *e)
{
	if (e->registered)
		sim_mmu_notifier_unregister(&e->l.mn);
	if (e->mm)
		sim_mm_destroy(e->mm);
	if (!e->host)
		return;
	rcu_barrier();
	ST_EXPECT_EQ(st_free_pages(e->host), e->initial_free);
	sim_host_destroy(e->host);
}

/*
 * mmap, demand faults, data through the mapping, a partial munmap seen by
 * the listener as one UNMAP pair over exactly the unmapped range:
 *
 *   addr          addr + 32 pages         addr + 64 pages
 *   [ unmapped by munmap |   still mapped    ]
 */
ST_TEST(host_mm_mmap_touch_munmap)
{
	const u64 len = 64 * PAGE_SIZE, half = len / 2;
	struct sim_host_pte_info info;
	struct st_mm_env *e = kzalloc(sizeof(*e), GFP_KERNEL);
	unsigned long vm_flags = 0;
	char buf[16] = "mmusim-in-kernel";
	char back[16] = { 0 };
	hva_t addr = 0;
	u64 off;
	int r;

	ST_ASSERT_NOT_NULL(e);
	r = st_mm_env_init(ctx, e);
	ST_EXPECT_EQ(r, 0);
	if (!r)
		r = sim_mmap(e->mm, 0, len, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &addr);
	ST_EXPECT_EQ(r, 0);
	for (off = 0; !r && off < len; off += PAGE_SIZE) {
		r = sim_mm_touch(e->mm, addr + off, true);
		ST_EXPECT_EQ(r, 0);
	}
	if (!r) {
		ST_EXPECT(PAGE_ALIGNED(addr));
		ST_EXPECT_EQ(sim_mm_lookup(e->mm, addr + half, &info), 0);
		ST_EXPECT_EQ(info.level, PG_LEVEL_4K);
		ST_EXPECT(info.writable && sim_pfn_valid(e->host, info.pfn));
		ST_EXPECT_EQ(sim_mm_write(e->mm, addr + PAGE_SIZE - 8, buf, sizeof(buf)), 0);
		ST_EXPECT_EQ(sim_mm_read(e->mm, addr + PAGE_SIZE - 8, back, sizeof(back)), 0);
		ST_EXPECT(!memcmp(buf, back, sizeof(buf)));
		ST_EXPECT_EQ(atomic_read(&e->l.starts), 0);	/* faults invalidate nothing */

		ST_EXPECT_EQ(sim_munmap(e->mm, addr, half), 0);
		ST_EXPECT_EQ(atomic_read(&e->l.unmaps), 1);
		ST_EXPECT_EQ(atomic_read(&e->l.ends), atomic_read(&e->l.starts));
		ST_EXPECT_EQ(e->l.lo, addr);
		ST_EXPECT_EQ(e->l.hi, addr + half);
		ST_EXPECT_EQ(sim_mm_lookup(e->mm, addr, &info), -EFAULT);
		ST_EXPECT_EQ(sim_mm_vma_flags(e->mm, addr, &vm_flags), -EFAULT);
		ST_EXPECT_EQ(sim_mm_lookup(e->mm, addr + half, &info), 0);
		ST_EXPECT_EQ(sim_mm_vma_flags(e->mm, addr + half, &vm_flags), 0);
		ST_EXPECT_EQ(vm_flags & (SIM_VM_READ | SIM_VM_WRITE), SIM_VM_READ | SIM_VM_WRITE);
	}
	/* Unregistering a live mm's notifier calls ->release, once. */
	if (e->registered) {
		sim_mmu_notifier_unregister(&e->l.mn);
		e->registered = false;
		ST_EXPECT_EQ(atomic_read(&e->l.release), 1);
	}
	st_mm_env_fini(ctx, e);
	kfree(e);
	return st_result(ctx);
}

/* Migration moves the frame, keeps the data, and invalidates with MIGRATE. */
ST_TEST(host_mm_migrate)
{
	const u64 len = 16 * PAGE_SIZE;
	struct sim_host_pte_info before, after;
	struct st_mm_env *e = kzalloc(sizeof(*e), GFP_KERNEL);
	u64 pattern = 0x0123456789abcdefULL ^ ctx->seed, back = 0;
	unsigned long seq;
	hva_t addr = 0, a;
	int r;

	ST_ASSERT_NOT_NULL(e);
	r = st_mm_env_init(ctx, e);
	if (!r)
		r = sim_mmap(e->mm, 0, len, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &addr);
	ST_EXPECT_EQ(r, 0);
	a = addr + 3 * PAGE_SIZE;
	if (!r)
		r = sim_mm_write(e->mm, a + 24, &pattern, sizeof(pattern));
	ST_EXPECT_EQ(r, 0);
	if (!r)
		r = sim_mm_lookup(e->mm, a, &before);
	ST_EXPECT_EQ(r, 0);
	if (!r) {
		seq = sim_mm_invalidate_read_begin(e->mm);
		ST_EXPECT(!sim_mm_invalidate_read_retry(e->mm, seq));
		ST_EXPECT_EQ(sim_migrate_page(e->mm, a), 0);
		ST_EXPECT(sim_mm_invalidate_read_retry(e->mm, seq));
		ST_EXPECT_EQ(atomic_read(&e->l.migrates), 1);
		ST_EXPECT_EQ(atomic_read(&e->l.ends), atomic_read(&e->l.starts));
		ST_EXPECT_EQ(sim_mm_lookup(e->mm, a, &after), 0);
		ST_EXPECT_NE(after.pfn, before.pfn);
		ST_EXPECT_EQ(sim_mm_read(e->mm, a + 24, &back, sizeof(back)), 0);
		ST_EXPECT_EQ(back, pattern);
		ST_EXPECT_EQ(sim_migrate_page(e->mm, addr + len + 64 * PAGE_SIZE), -EFAULT);
	}
	st_mm_env_fini(ctx, e);
	kfree(e);
	return st_result(ctx);
}

/*
 * GUP: FOLL_GET references and FOLL_PIN pins, which make a page unmovable
 * (migration -EBUSY) until unpinned; the argument and permission errors.
 */
ST_TEST(host_gup_pin)
{
	const unsigned long nr = 8;
	struct sim_host_stats s;
	struct sim_page *pages[8] = { NULL };
	struct st_mm_env *e = kzalloc(sizeof(*e), GFP_KERNEL);
	hva_t addr = 0, ro = 0;
	unsigned long i;
	long n;
	int r;

	ST_ASSERT_NOT_NULL(e);
	r = st_mm_env_init(ctx, e);
	if (!r)
		r = sim_mmap(e->mm, 0, nr * PAGE_SIZE, SIM_PROT_READ | SIM_PROT_WRITE,
			     SIM_MAP_PRIVATE, &addr);
	if (!r)
		r = sim_mmap(e->mm, 0, PAGE_SIZE, SIM_PROT_READ, SIM_MAP_PRIVATE, &ro);
	ST_EXPECT_EQ(r, 0);
	if (r)
		goto out;

	n = sim_pin_user_pages(e->mm, addr, nr, SIM_FOLL_WRITE, pages);
	ST_EXPECT_EQ(n, (long)nr);
	for (i = 0; n == (long)nr && i < nr; i++)
		ST_EXPECT(sim_page_maybe_dma_pinned(e->host, pages[i]));
	sim_host_get_stats(e->host, &s);
	ST_EXPECT_EQ(s.pinned_pages, (u64)(n > 0 ? n : 0));
	if (n > 0) {
		ST_EXPECT_EQ(sim_migrate_page(e->mm, addr), -EBUSY);
		sim_unpin_user_pages(e->host, pages, n);
	}
	sim_host_get_stats(e->host, &s);
	ST_EXPECT_EQ(s.pinned_pages, 0ULL);
	ST_EXPECT_EQ(sim_migrate_page(e->mm, addr), 0);

	n = sim_get_user_pages(e->mm, addr, 2, 0, pages);
	ST_EXPECT_EQ(n, 2L);
	for (i = 0; i < 2 && n == 2; i++) {
		ST_EXPECT_GE(sim_page_count(e->host, pages[i]), 2);	/* mapping + GUP */
		ST_EXPECT(!sim_page_maybe_dma_pinned(e->host, pages[i]));
		sim_put_page(e->host, pages[i]);
	}
	n = sim_get_user_pages_fast(e->mm, addr + PAGE_SIZE, 1, SIM_FOLL_WRITE, pages);
	ST_EXPECT_EQ(n, 1L);
	if (n == 1)
		sim_put_page(e->host, pages[0]);

	/* Errors, as Linux reports them. */
	ST_EXPECT_EQ(sim_pin_user_pages(e->mm, ro, 1, SIM_FOLL_WRITE, pages), -EFAULT);
	ST_EXPECT_EQ(sim_get_user_pages(e->mm, ro, 1, 0, pages), 1L);
	sim_put_page(e->host, pages[0]);
	ST_EXPECT_EQ(sim_get_user_pages(e->mm, addr, 1, SIM_FOLL_PIN, pages), -EINVAL);
	ST_EXPECT_EQ(sim_get_user_pages(e->mm, addr, 1, 0, NULL), -EINVAL);
	ST_EXPECT_EQ(sim_get_user_pages(e->mm, addr, 1, SIM_FOLL_LONGTERM, pages), -EINVAL);
	ST_EXPECT_EQ(sim_munmap(e->mm, addr, nr * PAGE_SIZE), 0);
	ST_EXPECT_EQ(sim_get_user_pages(e->mm, addr, 1, 0, pages), -EFAULT);
out:
	st_mm_env_fini(ctx, e);
	kfree(e);
	return st_result(ctx);
}

/* Caller errors get Linux's errno and change nothing. */
ST_TEST(host_mm_errors)
{
	struct st_mm_env *e = kzalloc(sizeof(*e), GFP_KERNEL);
	hva_t addr = 0;
	int r;

	ST_ASSERT_NOT_NULL(e);
	r = st_mm_env_init(ctx, e);
	ST_EXPECT_EQ(r, 0);
	if (!r) {
		ST_EXPECT_EQ(sim_mmap(e->mm, 0, 0, SIM_PROT_READ, SIM_MAP_PRIVATE, &addr), -EINVAL);
		ST_EXPECT_EQ(sim_mmap(e->mm, 0, PAGE_SIZE, SIM_PROT_READ, 0, &addr), -EINVAL);
		ST_EXPECT_EQ(sim_mmap(e->mm, 0, PAGE_SIZE, SIM_PROT_READ,
				      SIM_MAP_SHARED | SIM_MAP_PRIVATE, &addr), -EINVAL);
		ST_EXPECT_EQ(sim_mmap(e->mm, 0, PAGE_SIZE, 0x80, SIM_MAP_PRIVATE, &addr), -EINVAL);
		ST_EXPECT_EQ(sim_mmap(e->mm, 0, PAGE_SIZE, SIM_PROT_READ, SIM_MAP_PRIVATE, NULL),
			     -EINVAL);
		ST_EXPECT_EQ(sim_munmap(e->mm, PAGE_SIZE + 1, PAGE_SIZE), -EINVAL);
		/* Nothing mapped there: not an error for munmap, a fault for a touch. */
		ST_EXPECT_EQ(sim_munmap(e->mm, 0x10000000UL, PAGE_SIZE), 0);
		ST_EXPECT_EQ(sim_mm_touch(e->mm, 0x10000000UL, false), -EFAULT);
		ST_EXPECT_EQ(sim_mmap(e->mm, 0, PAGE_SIZE, SIM_PROT_READ, SIM_MAP_PRIVATE, &addr),
			     0);
		/* A write to a read-only mapping faults; a read maps the page. */
		ST_EXPECT_EQ(sim_mm_touch(e->mm, addr, true), -EFAULT);
		ST_EXPECT_EQ(sim_mm_touch(e->mm, addr, false), 0);
		ST_EXPECT_EQ(atomic_read(&e->l.starts), 0);
	}
	st_mm_env_fini(ctx, e);
	kfree(e);
	return st_result(ctx);
}
