/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the host address-space tests (test_mm.c, test_pgtable.c,
 * test_fault.c, test_mm_ops.c, test_mmu_notifier.c, test_gup.c): a host+mm
 * fixture and a recording MMU-notifier listener.
 */
#ifndef _MMUSIM_MM_TEST_UTIL_H
#define _MMUSIM_MM_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include <mmusim/host.h>
#include "host/mm_internal.h"

#define SZ_1M_T (1UL << 20)

struct mmt {
	struct sim_host *host;
	struct sim_mm *mm;
};

static inline void mmt_init(struct mmt *t, u64 mem_bytes)
{
	struct sim_host_config cfg = { .mem_bytes = mem_bytes };

	assert_int_equal(sim_host_create(&cfg, &t->host), 0);
	assert_int_equal(sim_mm_create(t->host, &t->mm), 0);
}

static inline void mmt_fini(struct mmt *t)
{
	struct sim_host_stats st;

	sim_mm_destroy(t->mm);
	t->mm = NULL;
	assert_int_equal(sim_host_get_stats(t->host, &st), 0);
	assert_int_equal(st.free_pages, st.ram_pages);
	assert_int_equal(st.pgtable_pages, 0);
	assert_int_equal(st.pinned_pages, 0);
	sim_host_destroy(t->host);
	t->host = NULL;
}

static inline struct sim_host_stats mmt_stats(struct mmt *t)
{
	struct sim_host_stats st;

	assert_int_equal(sim_host_get_stats(t->host, &st), 0);
	return st;
}

static inline hva_t mmt_mmap(struct mmt *t, u64 len, int prot, int flags)
{
	hva_t addr = 0;

	assert_int_equal(sim_mmap(t->mm, 0, len, prot, flags, &addr), 0);
	assert_true(addr != 0);
	return addr;
}

#define RW (SIM_PROT_READ | SIM_PROT_WRITE)
#define PRIV SIM_MAP_PRIVATE

static inline kvm_pfn_t mmt_pfn(struct mmt *t, hva_t addr)
{
	struct sim_host_pte_info info;

	assert_int_equal(sim_mm_lookup(t->mm, addr, &info), 0);
	return info.pfn;
}

static inline int mmt_level(struct mmt *t, hva_t addr)
{
	struct sim_host_pte_info info;

	if (sim_mm_lookup(t->mm, addr, &info))
		return 0;
	return info.level;
}

/* Fill the page at @addr with a pattern derived from @tag. */
static inline void mmt_fill(struct mmt *t, hva_t addr, u64 tag)
{
	u64 *buf = malloc(PAGE_SIZE);
	unsigned int i;

	assert_non_null(buf);
	for (i = 0; i < PAGE_SIZE / 8; i++)
		buf[i] = tag * 1000003ULL + i;
	assert_int_equal(sim_mm_write(t->mm, addr & PAGE_MASK, buf, PAGE_SIZE), 0);
	free(buf);
}

static inline bool mmt_check(struct mmt *t, hva_t addr, u64 tag)
{
	u64 *buf = malloc(PAGE_SIZE);
	bool ok = true;
	unsigned int i;

	assert_non_null(buf);
	if (sim_mm_read(t->mm, addr & PAGE_MASK, buf, PAGE_SIZE))
		ok = false;
	for (i = 0; ok && i < PAGE_SIZE / 8; i++)
		if (buf[i] != tag * 1000003ULL + i)
			ok = false;
	free(buf);
	return ok;
}

/* ======================== recording listener ======================== */

enum rec_kind { REC_START, REC_END, REC_CHANGE_PTE, REC_CLEAR_YOUNG, REC_TEST_YOUNG, REC_RELEASE };

struct rec_event {
	enum rec_kind kind;
	hva_t start, end;
	int event;
	kvm_pfn_t pfn;		/* change_pte: new pfn; start/end: host pfn at start */
	int lookup;		/* start/end: sim_mm_lookup() result at start */
	bool writable;
	int in_progress;	/* sim_mm_invalidate_in_progress() in the callback */
	unsigned long seq;	/* the mm's sequence in the callback */
};

#define REC_MAX 512

struct recorder {
	struct sim_mmu_notifier mn;
	spinlock_t lock;
	unsigned int nr;
	unsigned long total;
	int young_ret;
	int active;
	int max_active;
	int releases;
	struct rec_event ev[REC_MAX];
};

static inline struct recorder *to_rec(struct sim_mmu_notifier *mn)
{
	return container_of(mn, struct recorder, mn);
}

static inline void rec_add(struct recorder *r, struct rec_event *e)
{
	spin_lock(&r->lock);
	if (r->nr < REC_MAX)
		r->ev[r->nr++] = *e;
	r->total++;
	spin_unlock(&r->lock);
}

static inline void rec_fill(struct sim_mm *mm, struct rec_event *e, enum rec_kind kind,
			    hva_t start, hva_t end)
{
	struct sim_host_pte_info info;

	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->start = start;
	e->end = end;
	e->in_progress = sim_mm_invalidate_in_progress(mm);
	e->seq = READ_ONCE(mm->inv_seq);
	e->lookup = sim_mm_lookup(mm, start, &info);
	if (!e->lookup)
		e->pfn = info.pfn;
}

static int rec_start(struct sim_mmu_notifier *mn, const struct sim_mmu_notifier_range *range)
{
	struct recorder *r = to_rec(mn);
	struct rec_event e;

	rec_fill(range->mm, &e, REC_START, range->start, range->end);
	e.event = range->event;
	spin_lock(&r->lock);
	r->active++;
	if (r->active > r->max_active)
		r->max_active = r->active;
	spin_unlock(&r->lock);
	rec_add(r, &e);
	return 0;
}

static void rec_end(struct sim_mmu_notifier *mn, const struct sim_mmu_notifier_range *range)
{
	struct recorder *r = to_rec(mn);
	struct rec_event e;

	rec_fill(range->mm, &e, REC_END, range->start, range->end);
	e.event = range->event;
	spin_lock(&r->lock);
	r->active--;
	spin_unlock(&r->lock);
	rec_add(r, &e);
}

static void rec_change_pte(struct sim_mmu_notifier *mn, struct sim_mm *mm, hva_t addr,
			   kvm_pfn_t pfn, bool writable)
{
	struct recorder *r = to_rec(mn);
	struct rec_event e;

	rec_fill(mm, &e, REC_CHANGE_PTE, addr, addr + PAGE_SIZE);
	e.pfn = pfn;
	e.writable = writable;
	rec_add(r, &e);
}

static int rec_clear_young(struct sim_mmu_notifier *mn, struct sim_mm *mm, hva_t start, hva_t end)
{
	struct recorder *r = to_rec(mn);
	struct rec_event e;

	rec_fill(mm, &e, REC_CLEAR_YOUNG, start, end);
	rec_add(r, &e);
	return r->young_ret;
}

static int rec_test_young(struct sim_mmu_notifier *mn, struct sim_mm *mm, hva_t start, hva_t end)
{
	struct recorder *r = to_rec(mn);
	struct rec_event e;

	rec_fill(mm, &e, REC_TEST_YOUNG, start, end);
	rec_add(r, &e);
	return r->young_ret;
}

static void rec_release(struct sim_mmu_notifier *mn, struct sim_mm *mm)
{
	struct recorder *r = to_rec(mn);
	struct rec_event e;

	memset(&e, 0, sizeof(e));
	e.kind = REC_RELEASE;
	spin_lock(&r->lock);
	r->releases++;
	spin_unlock(&r->lock);
	rec_add(r, &e);
}

static const struct sim_mmu_notifier_ops rec_ops __maybe_unused = {
	.invalidate_range_start = rec_start,
	.invalidate_range_end = rec_end,
	.clear_young = rec_clear_young,
	.test_young = rec_test_young,
	.change_pte = rec_change_pte,
	.release = rec_release,
};

static inline struct recorder *rec_register(struct sim_mm *mm)
{
	struct recorder *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	spin_lock_init(&r->lock);
	r->mn.ops = &rec_ops;
	assert_int_equal(sim_mmu_notifier_register(&r->mn, mm), 0);
	return r;
}

static inline void rec_unregister(struct recorder *r)
{
	sim_mmu_notifier_unregister(&r->mn);
	free(r);
}

static inline void rec_clear(struct recorder *r)
{
	spin_lock(&r->lock);
	r->nr = 0;
	r->total = 0;
	spin_unlock(&r->lock);
}

/* Index of the first event of @kind at or after @from, or -1. */
static inline int rec_find(struct recorder *r, enum rec_kind kind, int from)
{
	unsigned int i;

	for (i = from; i < r->nr; i++)
		if (r->ev[i].kind == kind)
			return i;
	return -1;
}

/* Every START has a matching END later, with the same range; all balanced. */
static inline void rec_assert_balanced(struct recorder *r)
{
	unsigned int i, j;

	assert_int_equal(r->active, 0);
	for (i = 0; i < r->nr; i++) {
		if (r->ev[i].kind != REC_START)
			continue;
		for (j = i + 1; j < r->nr; j++)
			if (r->ev[j].kind == REC_END && r->ev[j].start == r->ev[i].start &&
			    r->ev[j].end == r->ev[i].end && r->ev[j].event == r->ev[i].event)
				break;
		assert_true(j < r->nr);
		assert_true(r->ev[i].in_progress >= 1);
		assert_true(r->ev[i].seq & 1);
	}
}

/*
 * Run @scenario with allocation n failing, for n = 1, 2, ... until a run
 * sees no injected failure.  Each run must return 0, -ENOMEM or -EAGAIN and
 * tear down to zero live objects (the fixture's asserts).
 */
#define MMT_FAIL_NTH_LOOP(scenario)                                                   \
	do {                                                                          \
		unsigned long __n;                                                    \
		for (__n = 1; __n < 100000; __n++) {                                  \
			unsigned long __inj;                                          \
			int __r;                                                      \
			env_fail_nth(__n);                                            \
			__r = (scenario);                                             \
			__inj = env_fail_injected();                                  \
			env_fail_clear();                                             \
			if (__r != 0 && __r != -ENOMEM && __r != -EAGAIN)             \
				fail_msg("n=%lu: unexpected %d", __n, __r);           \
			assert_int_equal(env_warn_count(), 0);                        \
			rcu_barrier();                                                \
			if (!__inj) {                                                 \
				assert_int_equal(__r, 0);                             \
				break;                                                \
			}                                                             \
		}                                                                     \
		assert_true(__n > 1);                                                 \
	} while (0)

#endif /* _MMUSIM_MM_TEST_UTIL_H */
