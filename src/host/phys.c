// SPDX-License-Identifier: GPL-2.0-only
/*
 * Simulated physical memory: the host object, PFN <-> page <-> data,
 * reference counts and FOLL_PIN pins.
 *
 * Memory.  RAM is one lazy reservation of mem_bytes and its descriptors
 * (struct sim_page, 8 bytes each) another, and a bitmap of frames whose data
 * may be nonzero (one bit each, see page_alloc.c) a third, so a 1 TiB host
 * costs a few MiB until it is used.  PFN 0 is reserved.  An optional nopage region above RAM
 * has data but no descriptors: sim_pfn_to_page() returns NULL there, as
 * pfn_to_online_page() does for memory hidden with mem= and mapped through
 * /dev/mem.
 *
 * References follow Linux's folio rules:
 *  - a compound page is counted on its head only; get/put on a tail act on
 *    the head, and tails read 0 in their own _refcount (the first tail
 *    holds minus the pin count there, never > 0: page.h);
 *  - the tails of a non-compound higher-order block are not refcounted (0):
 *    sim_get_page_unless_zero() fails on them, as KVM's non-refcounted-page
 *    path expects of TTM pool pages, and putting one WARNs;
 *  - the last put frees the page (the whole compound page).
 *
 * Pins follow FOLL_PIN: a small page takes SIM_GUP_PIN_COUNTING_BIAS
 * references per pin, so sim_page_maybe_dma_pinned() is "refcount >= bias"
 * (false positives possible, false negatives not); a compound page counts
 * pins exactly in its first tail (_neg_pincount) and takes one reference per
 * pin.  host->cnt.pinned_pages counts outstanding pins.
 *
 * Locking.  Nothing here takes a lock except through the allocator (the zone
 * lock, a spinlock, when a put frees a page).  Reference and pin operations
 * are atomic and never sleep, so they may be called under any lock.  Creation
 * and destruction may sleep.
 */
#include "mmusim_env.h"
#include "host/host_internal.h"

/* ======================== creation and destruction ======================== */

static int validate_config(const struct sim_host_config *cfg)
{
	u64 mem = cfg->mem_bytes, npages = mem >> PAGE_SHIFT;

	if (!PAGE_ALIGNED(mem) || mem < SIM_MIN_MEM_BYTES || mem > SIM_MAX_MEM_BYTES)
		return -EINVAL;
	if (cfg->sev_max_asid > SIM_SEV_ASID_LIMIT ||
	    cfg->sev_min_asid > (cfg->sev_max_asid ?: 15) + 1)
		return -EINVAL;
	if (!cfg->nopage_pages)
		return 0;
	/* The nopage region lies above RAM and below MAXPHYADDR. */
	if (cfg->nopage_base_pfn < npages || cfg->nopage_base_pfn >= SIM_MAX_PFN ||
	    cfg->nopage_pages > (SIM_MAX_MEM_BYTES >> PAGE_SHIFT) ||
	    cfg->nopage_pages > SIM_MAX_PFN - cfg->nopage_base_pfn)
		return -EINVAL;
	return 0;
}

static void host_unreserve(struct sim_host *host)
{
	env_vunreserve(host->nopage_ram, host->nopage_pages << PAGE_SHIFT);
	env_vunreserve(host->pages, host->pages_bytes);
	env_vunreserve(host->data_dirty, host->data_dirty_bytes);
	env_vunreserve(host->free_maps, host->free_maps_bytes);
	env_vunreserve(host->ram, host->npages << PAGE_SHIFT);
}

static int host_reserve(struct sim_host *host)
{
	host->ram = env_vreserve(host->npages << PAGE_SHIFT);
	host->pages = env_vreserve(host->pages_bytes);
	host->data_dirty = env_vreserve(host->data_dirty_bytes);
	host->free_maps = env_vreserve(host->free_maps_bytes);
	if (host->nopage_pages)
		host->nopage_ram = env_vreserve(host->nopage_pages << PAGE_SHIFT);
	if (!host->ram || !host->pages || !host->data_dirty || !host->free_maps ||
	    (host->nopage_pages && !host->nopage_ram)) {
		host_unreserve(host);
		return -ENOMEM;
	}
	return 0;
}

static void host_init_fields(struct sim_host *host, const struct sim_host_config *cfg)
{
	host->npages = cfg->mem_bytes >> PAGE_SHIFT;
	host->pages_bytes = ALIGN(host->npages * sizeof(struct sim_page), PAGE_SIZE);
	host->data_dirty_bytes = ALIGN(BITS_TO_LONGS(host->npages) * sizeof(long), PAGE_SIZE);
	host->free_maps_bytes = ALIGN(sim_buddy_layout(host, NULL), PAGE_SIZE);
	host->nopage_base_pfn = cfg->nopage_pages ? cfg->nopage_base_pfn : 0;
	host->nopage_pages = cfg->nopage_pages;
	host->memlock_limit = cfg->memlock_limit ? cfg->memlock_limit : SIM_DEFAULT_MEMLOCK;
	host->kvm_allow_unsafe_mappings = cfg->kvm_allow_unsafe_mappings;
	host->sev_max_asid = cfg->sev_max_asid ?: 15;
	host->sev_min_asid = cfg->sev_min_asid ?: 1;
	spin_lock_init(&host->memremap_lock);
	INIT_LIST_HEAD(&host->memremap_list);
	host->mid_pfn = host->npages / 2;
	spin_lock_init(&host->zone_lock);
	spin_lock_init(&host->mm_list_lock);
	INIT_LIST_HEAD(&host->mm_list);
	spin_lock_init(&host->swapcache_lock);
}

/* PFN 0 is never handed out: it holds a permanent reference. */
static void host_reserve_pfn0(struct sim_host *host)
{
	struct sim_page *page = sim_pfn_to_page_raw(host, 0);

	WRITE_ONCE(page->flags, SIM_PG_RESERVED);
	sim_page_ref_set(page, 1);
}

int sim_host_create(const struct sim_host_config *cfg, struct sim_host **hostp)
{
	struct sim_host_config c = { 0 };
	struct sim_host *host;
	int r;

	might_sleep();
	if (!hostp)
		return -EINVAL;
	if (cfg)
		c = *cfg;
	if (!c.mem_bytes)
		c.mem_bytes = SIM_DEFAULT_MEM_BYTES;
	r = validate_config(&c);
	if (r)
		return r;

	host = kzalloc(sizeof(*host), GFP_KERNEL);
	if (!host)
		return -ENOMEM;
	host_init_fields(host, &c);
	r = host_reserve(host);
	if (r) {
		kfree(host);
		return r;
	}
	host_reserve_pfn0(host);
	sim_buddy_layout(host, host->free_maps);
	sim_buddy_init(host);
	*hostp = host;
	return 0;
}

void sim_host_destroy(struct sim_host *host)
{
	u64 nr_free;
	bool mms;

	if (!host)
		return;
	might_sleep();
	/*
	 * Page tables of its address spaces are freed by call_rcu batches
	 * (pgtable.c, rule 3); the last of them may still be queued.  Run them
	 * now, or a caller that exits next leaves them, and their locks, behind.
	 */
	rcu_barrier();
	/* The observer's records go first: nothing will tell it more. */
	if (host->frame_ops && host->frame_ops->release)
		host->frame_ops->release(host->frame_priv);
	sim_drain_all_pages(host);
	spin_lock(&host->zone_lock);
	nr_free = host->nr_free_pages;
	spin_unlock(&host->zone_lock);
	spin_lock(&host->mm_list_lock);
	mms = !list_empty(&host->mm_list);
	spin_unlock(&host->mm_list_lock);

	/* Leak rather than unmap memory that someone still uses. */
	if (WARN(nr_free != host->managed_pages, "sim_host_destroy: %llu pages still allocated",
		 (unsigned long long)(host->managed_pages - nr_free)))
		return;
	if (WARN(mms, "sim_host_destroy: address spaces still exist"))
		return;
	/* A memremap() user still reads the frames: keep them, and the records. */
	if (WARN(atomic64_read(&host->cnt.memremap_live),
		 "sim_host_destroy: %lld memremap()s not unmapped",
		 (long long)atomic64_read(&host->cnt.memremap_live)))
		return;
	host_unreserve(host);
	kfree(host);
}

int sim_host_set_frame_observer(struct sim_host *host, const struct sim_frame_observer_ops *ops,
				void *priv)
{
	if (!host || !ops || !ops->event)
		return -EINVAL;
	spin_lock(&host->mm_list_lock);
	if (host->frame_ops) {
		spin_unlock(&host->mm_list_lock);
		return -EBUSY;
	}
	host->frame_priv = priv;
	smp_store_release(&host->frame_ops, ops);
	spin_unlock(&host->mm_list_lock);
	return 0;
}

void *sim_host_frame_observer(struct sim_host *host, const struct sim_frame_observer_ops *ops)
{
	if (!host || !ops || smp_load_acquire(&host->frame_ops) != ops)
		return NULL;
	return host->frame_priv;
}

const char *sim_frame_event_name(int ev)
{
	static const char *const names[SIM_FRAME_NR_EVENTS] = {
		[SIM_FRAME_ALLOC] = "alloc",
		[SIM_FRAME_FREE] = "free",
		[SIM_FRAME_MIGRATE] = "migration",
		[SIM_FRAME_COMPACT] = "compaction",
		[SIM_FRAME_LONGTERM] = "FOLL_LONGTERM migration",
		[SIM_FRAME_SWAP_OUT] = "swap-out",
		[SIM_FRAME_SWAP_IN] = "swap",
		[SIM_FRAME_COLLAPSE] = "THP collapse",
		[SIM_FRAME_COW] = "COW break",
	};

	return ev >= 0 && ev < SIM_FRAME_NR_EVENTS ? names[ev] : "?";
}

bool sim_host_kvm_allow_unsafe_mappings(struct sim_host *host)
{
	return host && host->kvm_allow_unsafe_mappings;
}

int sim_host_sev_asids(struct sim_host *host, u32 *min_sev_asid, u32 *max_sev_asid)
{
	if (!host || !min_sev_asid || !max_sev_asid)
		return -EINVAL;
	*min_sev_asid = host->sev_min_asid;
	*max_sev_asid = host->sev_max_asid;
	return 0;
}

/* ======================== PFNs, pages and data ======================== */

static bool pfn_is_nopage(struct sim_host *host, kvm_pfn_t pfn)
{
	return host->nopage_pages && pfn >= host->nopage_base_pfn &&
	       pfn - host->nopage_base_pfn < host->nopage_pages;
}

kvm_pfn_t sim_page_to_pfn(struct sim_host *host, const struct sim_page *page)
{
	if (!sim_page_ok(host, page))
		return (kvm_pfn_t)-1;
	return sim_page_to_pfn_raw(host, page);
}

struct sim_page *sim_pfn_to_page(struct sim_host *host, kvm_pfn_t pfn)
{
	return host && pfn < host->npages ? sim_pfn_to_page_raw(host, pfn) : NULL;
}

bool sim_pfn_valid(struct sim_host *host, kvm_pfn_t pfn)
{
	return host && (pfn < host->npages || pfn_is_nopage(host, pfn));
}

void *sim_pfn_to_virt(struct sim_host *host, kvm_pfn_t pfn)
{
	if (!host)
		return NULL;
	if (pfn < host->npages)
		return host->ram + (pfn << PAGE_SHIFT);
	if (pfn_is_nopage(host, pfn))
		return host->nopage_ram + ((pfn - host->nopage_base_pfn) << PAGE_SHIFT);
	return NULL;
}

struct sim_page *sim_compound_head(struct sim_host *host, struct sim_page *page)
{
	if (!sim_page_ok(host, page))
		return NULL;
	return __sim_compound_head(host->pages, page);
}

unsigned int sim_compound_order(struct sim_host *host, struct sim_page *page)
{
	return __sim_compound_order(__sim_compound_head(host->pages, page));
}

/* ======================== flags ======================== */

unsigned int sim_page_flags(struct sim_host *host, struct sim_page *page)
{
	if (!sim_page_ok(host, page))
		return 0;
	return __sim_page_flags(host, page);
}

static struct sim_page *mm_flags_target(struct sim_host *host, struct sim_page *page,
					unsigned int flags)
{
	struct sim_page *head = __sim_compound_head(host->pages, page);

	if (WARN(flags & ~SIM_PG_MM_FLAGS, "sim_page: flags %#x belong to the allocator", flags))
		return NULL;
	if (WARN(sim_page_raw_flags(head) & SIM_PG_BUDDY, "sim_page: flags on a free page"))
		return NULL;
	return head;
}

void sim_page_set_flags(struct sim_host *host, struct sim_page *page, unsigned int flags)
{
	struct sim_page *head = mm_flags_target(host, page, flags);
	u16 old;

	if (!head)
		return;
	old = READ_ONCE(head->flags);
	while (!try_cmpxchg(&head->flags, &old, (u16)(old | flags)))
		;
}

void sim_page_clear_flags(struct sim_host *host, struct sim_page *page, unsigned int flags)
{
	struct sim_page *head = mm_flags_target(host, page, flags);
	u16 old;

	if (!head)
		return;
	old = READ_ONCE(head->flags);
	while (!try_cmpxchg(&head->flags, &old, (u16)(old & ~flags)))
		;
}

/*
 * set_page_dirty() / mark_page_accessed() for whoever holds a reference
 * (GUP users such as KVM): the flag goes on the folio.  Reclaim reads
 * SIM_PG_DIRTY only after freezing the refcount, so a flag set before the
 * setter's reference was dropped is always seen (both are full barriers).
 */
static void set_page_state(struct sim_host *host, struct sim_page *page, unsigned int flag)
{
	struct sim_page *head;

	if (!sim_page_ok(host, page))
		return;
	head = __sim_compound_head(host->pages, page);
	if (WARN(!sim_page_ref_count(head), "sim_page: state set on a page without a reference"))
		return;
	if (!(sim_page_raw_flags(head) & flag))
		__sim_page_set_mm_flags(head, flag);
}

void sim_set_page_dirty(struct sim_host *host, struct sim_page *page)
{
	set_page_state(host, page, SIM_PG_DIRTY);
}

void sim_mark_page_accessed(struct sim_host *host, struct sim_page *page)
{
	set_page_state(host, page, SIM_PG_REFERENCED);
}

/* ======================== references ======================== */

int sim_page_count(struct sim_host *host, struct sim_page *page)
{
	if (!sim_page_ok(host, page))
		return -EINVAL;
	return sim_page_ref_count(__sim_compound_head(host->pages, page));
}

void sim_get_page(struct sim_host *host, struct sim_page *page)
{
	if (sim_page_ok(host, page))
		__sim_get_page(host, page);
}

void __sim_get_page(struct sim_host *host, struct sim_page *page)
{
	struct sim_page *head = __sim_compound_head(host->pages, page);

	/* A reference can only be copied from one the caller holds. */
	WARN(!sim_page_ref_tryget(head),
	     "sim_get_page: page %llu has no reference (free or unrefcounted tail)",
	     (unsigned long long)sim_page_to_pfn_raw(host, page));
}

bool sim_get_page_unless_zero(struct sim_host *host, struct sim_page *page)
{
	struct sim_page *head;

	if (!sim_page_ok(host, page))
		return false;
	head = __sim_compound_head(host->pages, page);
	if (!sim_page_ref_tryget(head))
		return false;
	/* The page may have been freed and reused meanwhile: recheck the head. */
	if (likely(__sim_compound_head(host->pages, page) == head))
		return true;
	sim_put_page(host, head);
	return false;
}

void sim_put_page(struct sim_host *host, struct sim_page *page)
{
	struct sim_page *head;

	if (!sim_page_ok(host, page))
		return;
	head = __sim_compound_head(host->pages, page);
	if (sim_page_ref_dec_and_test(head))
		sim_page_free_refcounted(host, head);
}

/* ======================== pins ======================== */

static int pin_small(struct sim_page *page)
{
	int old = sim_page_ref_count(page);

	do {
		if (old <= 0)
			return -EAGAIN;
		if (old > INT_MAX - SIM_GUP_PIN_COUNTING_BIAS)
			return -ENOMEM;
	} while (!atomic_try_cmpxchg(&page->_refcount, &old, old + SIM_GUP_PIN_COUNTING_BIAS));
	return 0;
}

static int pin_compound(struct sim_page *head)
{
	int old = sim_page_ref_count(head);

	do {
		if (old <= 0)
			return -EAGAIN;
		if (old == INT_MAX)
			return -ENOMEM;
	} while (!atomic_try_cmpxchg(&head->_refcount, &old, old + 1));
	__sim_compound_pin(head);
	return 0;
}

int sim_page_try_pin(struct sim_host *host, struct sim_page *page)
{
	struct sim_page *head = __sim_compound_head(host->pages, page);
	int r;

	r = sim_page_is_head(head) ? pin_compound(head) : pin_small(head);
	if (!r)
		atomic64_inc(&host->cnt.pinned_pages);
	return r;
}

bool sim_page_maybe_dma_pinned(struct sim_host *host, struct sim_page *page)
{
	struct sim_page *head;

	if (!sim_page_ok(host, page))
		return false;
	head = __sim_compound_head(host->pages, page);
	if (sim_page_is_head(head))
		return __sim_compound_pincount(head) > 0;
	return sim_page_ref_count(head) >= SIM_GUP_PIN_COUNTING_BIAS;
}

int sim_page_pincount(struct sim_host *host, struct sim_page *page)
{
	struct sim_page *head = __sim_compound_head(host->pages, page);

	if (sim_page_is_head(head))
		return __sim_compound_pincount(head);
	return sim_page_ref_count(head) / SIM_GUP_PIN_COUNTING_BIAS;
}

/* Drop @nr references at once; frees the page if they were the last. */
static void put_page_refs(struct sim_host *host, struct sim_page *head, int nr)
{
	int old = sim_page_ref_count(head);

	do {
		if (WARN(old < nr, "sim_page: dropping %d refs of %d", nr, old))
			return;
	} while (!atomic_try_cmpxchg(&head->_refcount, &old, old - nr));
	if (old == nr)
		sim_page_free_refcounted(host, head);
}

void sim_unpin_user_page(struct sim_host *host, struct sim_page *page)
{
	struct sim_page *head;

	if (!sim_page_ok(host, page))
		return;
	head = __sim_compound_head(host->pages, page);
	if (sim_page_is_head(head)) {
		if (WARN(__sim_compound_unpin(head) < 0, "sim_unpin_user_page: not pinned")) {
			__sim_compound_pin(head);
			return;
		}
		/* The pin count goes first: a freed page must read unpinned. */
		put_page_refs(host, head, 1);
	} else {
		if (WARN(sim_page_ref_count(head) < SIM_GUP_PIN_COUNTING_BIAS,
			 "sim_unpin_user_page: not pinned"))
			return;
		put_page_refs(host, head, SIM_GUP_PIN_COUNTING_BIAS);
	}
	atomic64_dec(&host->cnt.pinned_pages);
}

void sim_unpin_user_pages(struct sim_host *host, struct sim_page **pages, unsigned long n)
{
	unsigned long i;

	if (!pages)
		return;
	for (i = 0; i < n; i++)
		sim_unpin_user_page(host, pages[i]);
}

/* ======================== freeze, split, copy ======================== */

bool sim_page_ref_freeze(struct sim_host *host, struct sim_page *page, int count)
{
	struct sim_page *head = __sim_compound_head(host->pages, page);

	return atomic_cmpxchg(&head->_refcount, count, 0) == count;
}

void sim_page_ref_unfreeze(struct sim_host *host, struct sim_page *page, int count)
{
	struct sim_page *head = __sim_compound_head(host->pages, page);

	WARN_ON(count <= 0);
	/* Release: what the caller wrote while frozen is visible to the next getter. */
	WARN(atomic_xchg(&head->_refcount, count) != 0, "sim_page_ref_unfreeze: not frozen");
}

/* Turn compound page @head (frozen) into order-0 pages with @refs each. */
static void split_frozen_compound(struct sim_page *head, int refs)
{
	unsigned int order = READ_ONCE(head->order), flags;
	u64 i, nr = 1ULL << order;

	flags = sim_page_raw_flags(head) & ~SIM_PG_HEAD;
	__sim_compound_pincount_reset(head);
	for (i = 1; i < nr; i++) {
		struct sim_page *tail = head + i;

		__sim_clear_compound_tail(tail);
		WRITE_ONCE(tail->order, 0);
		sim_page_ref_set(tail, refs);
		WRITE_ONCE(tail->flags, flags);
	}
	WRITE_ONCE(head->order, 0);
	WRITE_ONCE(head->flags, flags);
}

int sim_split_compound_page(struct sim_host *host, struct sim_page *page, int refs)
{
	struct sim_page *head = __sim_compound_head(host->pages, page);

	if (!sim_page_is_head(head) || (sim_page_raw_flags(head) & SIM_PG_HUGETLB) || refs <= 0)
		return -EINVAL;
	if (__sim_compound_pincount(head) > 0)
		return -EBUSY;
	if (!sim_page_ref_freeze(host, head, refs))
		return -EAGAIN;
	/* A pin may have slipped in between the check and the freeze. */
	if (__sim_compound_pincount(head) > 0) {
		sim_page_ref_unfreeze(host, head, refs);
		return -EBUSY;
	}
	split_frozen_compound(head, refs);
	/* The unfreeze is a fully ordered xchg: the new layout is visible first. */
	sim_page_ref_unfreeze(host, head, refs);
	return 0;
}

void sim_copy_page_data(struct sim_host *host, struct sim_page *dst, struct sim_page *src)
{
	struct sim_page *shead = __sim_compound_head(host->pages, src);
	struct sim_page *dhead = __sim_compound_head(host->pages, dst);
	unsigned int order = __sim_compound_order(shead);

	WARN_ON(__sim_compound_order(dhead) != order);
	memcpy(sim_page_to_virt(host, dhead), sim_page_to_virt(host, shead), PAGE_SIZE << order);
}

/* ======================== memremap ======================== */

/*
 * One record per live memremap(), as the vmap area of an ioremap_cache():
 * allocating, registering and later finding it again is what makes
 * memremap the slow way to reach a frame, against kmap's direct map.
 */
struct sim_memremap {
	struct list_head node;
	void *virt;
	kvm_pfn_t pfn;
};

int sim_memremap(struct sim_host *host, kvm_pfn_t pfn, void **virtp)
{
	struct sim_memremap *m;
	void *virt;

	if (!host || !virtp)
		return -EINVAL;
	virt = sim_pfn_to_virt(host, pfn);
	if (!virt)
		return -EINVAL;
	m = kmalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	m->virt = virt;
	m->pfn = pfn;
	spin_lock(&host->memremap_lock);
	list_add(&m->node, &host->memremap_list);
	spin_unlock(&host->memremap_lock);
	atomic64_inc(&host->cnt.memremaps);
	atomic64_inc(&host->cnt.memremap_live);
	*virtp = virt;
	return 0;
}

void sim_memunmap(struct sim_host *host, void *virt)
{
	struct sim_memremap *m, *found = NULL;

	if (!host || !virt)
		return;
	spin_lock(&host->memremap_lock);
	list_for_each_entry(m, &host->memremap_list, node) {
		if (m->virt == virt) {
			found = m;
			list_del(&m->node);
			break;
		}
	}
	spin_unlock(&host->memremap_lock);
	if (WARN(!found, "sim_memunmap: %p is not memremap()ed", virt))
		return;
	atomic64_dec(&host->cnt.memremap_live);
	kfree(found);
}

/* ======================== statistics ======================== */

int sim_host_get_stats(struct sim_host *host, struct sim_host_stats *stats)
{
	unsigned int i;

	if (!host || !stats)
		return -EINVAL;
	memset(stats, 0, sizeof(*stats));
	stats->ram_pages = host->managed_pages;
	/* Pages on the per-CPU lists count as free (Linux's NR_FREE_PAGES leaves them out). */
	stats->free_pages = READ_ONCE(host->nr_free_pages) + sim_pcp_nr_pages(host);
	stats->nopage_pages = host->nopage_pages;
	for (i = 0; i < SIM_PCP_SLOTS; i++) {
		stats->alloc_calls += atomic64_read(&host->pcp[i].alloc_calls);
		stats->alloc_failures += atomic64_read(&host->pcp[i].alloc_failures);
	}
	stats->pinned_pages = atomic64_read(&host->cnt.pinned_pages);
	stats->migrations = atomic64_read(&host->cnt.migrations);
	stats->migrate_busy = atomic64_read(&host->cnt.migrate_busy);
	stats->thp_splits = atomic64_read(&host->cnt.thp_splits);
	stats->thp_collapses = atomic64_read(&host->cnt.thp_collapses);
	stats->swap_outs = atomic64_read(&host->cnt.swap_outs);
	stats->swap_writes = atomic64_read(&host->cnt.swap_writes);
	stats->swap_ins = atomic64_read(&host->cnt.swap_ins);
	stats->cow_breaks = atomic64_read(&host->cnt.cow_breaks);
	stats->forks = atomic64_read(&host->cnt.forks);
	stats->fork_copies = atomic64_read(&host->cnt.fork_copies);
	stats->notifier_invalidates = atomic64_read(&host->cnt.notifier_invalidates);
	stats->notifier_young = atomic64_read(&host->cnt.notifier_young);
	stats->notifier_change_pte = atomic64_read(&host->cnt.notifier_change_pte);
	stats->memremaps = atomic64_read(&host->cnt.memremaps);
	stats->memremap_live = atomic64_read(&host->cnt.memremap_live);
	stats->hwpoisoned_pages = atomic64_read(&host->cnt.hwpoisoned_pages);
	stats->pgtable_pages = atomic64_read(&host->cnt.pgtable_pages);
	return 0;
}
