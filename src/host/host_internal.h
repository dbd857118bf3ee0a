/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * struct sim_host and the helpers the files of src/host share.  Nothing
 * outside src/host (and its tests) may include this header.
 *
 * Physical layout of a host (PFNs):
 *
 *   0    1                              npages        nopage_base_pfn   + nopage_pages
 *   |RSV|   RAM: struct sim_page each    |   (invalid)  |  nopage: no struct page  |
 *        managed by the buddy allocator                   data only (mem= + /dev/mem)
 *
 * RAM data is one lazy reservation (ram), its descriptors another (pages);
 * both cost nothing until touched.  PFN 0 is reserved so that a zero PFN is
 * never a valid allocation.
 */
#ifndef _MMUSIM_HOST_INTERNAL_H
#define _MMUSIM_HOST_INTERNAL_H

#include <mmusim/host.h>
#include "host/page.h"

#define SIM_NR_ORDERS (SIM_MAX_ORDER + 1)
/* No block: the allocator's "not found". */
#define SIM_PFN_NONE ((1ULL << 35) - 1)
/* Largest RAM accepted: 64 TiB, 2^34 frames. */
#define SIM_MAX_MEM_BYTES (64ULL << 40)
static_assert((SIM_MAX_MEM_BYTES >> PAGE_SHIFT) < SIM_PFN_NONE,
	      "RAM PFNs differ from SIM_PFN_NONE");
#define SIM_MIN_MEM_BYTES (2ULL << 20)
/* x86 MAXPHYADDR is 52: no PFN (nopage memory included) reaches 2^40. */
#define SIM_MAX_PFN (1ULL << 40)
#define SIM_DMA32_PFN_LIMIT (1ULL << (32 - PAGE_SHIFT))
#define SIM_DEFAULT_MEM_BYTES (4ULL << 30)
#define SIM_DEFAULT_MEMLOCK (8ULL << 20)

/*
 * The free blocks of one order: a bitmap of block indices (PFN >> order)
 * with summary levels above it (page_alloc.c).  64^6 = 2^36 bits cover the
 * largest RAM at order 0.
 */
#define SIM_FREE_LEVELS 6
static_assert((SIM_MAX_MEM_BYTES >> PAGE_SHIFT) <= (1ULL << (6 * SIM_FREE_LEVELS)),
	      "the free maps' levels cover RAM");

struct sim_free_area {
	/* map[0]: the blocks; map[l + 1]: the nonzero words of map[l] */
	unsigned long *map[SIM_FREE_LEVELS];
	u64 words[SIM_FREE_LEVELS]; /* length of each level */
	unsigned int levels;	    /* the top one, map[levels - 1], is one word */
	u64 nr_free;		    /* blocks in the area */
};

/*
 * Per-CPU order-0 page lists, Linux's per_cpu_pages (pcp) in front of the
 * zone lock: a CPU allocates by popping its own list and frees by pushing
 * on it; the list is refilled from the buddy lists and drained back to them
 * SIM_PCP_BATCH pages at a time, under the zone lock once per batch.  A
 * "CPU" is a slot picked by raw_smp_processor_id() (in userspace, a thread
 * number); threads that share a slot share its lock, which also lets any
 * thread drain any list (pcp->lock, as Linux since 5.19).  A list per
 * placement type (page_alloc.c): a freed page goes on the list of the half
 * its PFN lies in.  Pages on a list are free but not in the buddy lists, so
 * they neither merge nor count in nr_free_pages; sim_drain_all_pages()
 * gives them back (drain_all_pages()).
 */
#define SIM_PCP_SLOTS 16
#define SIM_PCP_BATCH_ORDER 5
#define SIM_PCP_BATCH (1U << SIM_PCP_BATCH_ORDER)
#define SIM_PCP_HIGH (4 * SIM_PCP_BATCH)
enum { SIM_PCP_UNMOVABLE, SIM_PCP_MOVABLE, SIM_PCP_NR_TYPES };

/* Buckets of the swap cache's table (struct sim_host). */
#define SIM_SWAPCACHE_BITS 8

struct sim_pcp {
	spinlock_t lock;
	unsigned int count[SIM_PCP_NR_TYPES];
	u64 pfns[SIM_PCP_NR_TYPES][SIM_PCP_HIGH]; /* stacks: the top is the hottest page */
	/*
	 * This CPU's allocation events, summed on read (vm_event_states): a
	 * locked increment of a line no other CPU writes, as threads may share
	 * a slot.
	 */
	atomic64_t alloc_calls, alloc_failures;
	/*
	 * Keeps the next slot's lock and counts off this slot's lines, as
	 * ____cacheline_aligned would; not an alignment attribute, because
	 * struct sim_host comes from kmalloc(), which aligns to 16 bytes here.
	 */
	u8 _pad[64];
};

struct sim_host {
	/* Set at creation, constant afterwards. */
	struct sim_page *pages;	/* descriptors of RAM frames [0, npages) */
	u8 *ram;		/* their data, npages << PAGE_SHIFT bytes */
	u64 npages;
	u64 pages_bytes;	/* size of the pages reservation */
	u8 *nopage_ram;		/* data of [nopage_base_pfn, + nopage_pages) */
	u64 nopage_base_pfn;
	u64 nopage_pages;
	u64 managed_pages;	/* RAM frames the allocator hands out */
	/*
	 * One bit per RAM frame, set while its data may be nonzero (from
	 * allocation until a discarding free); a clear bit means the frame
	 * reads as zeroes, so __GFP_ZERO may skip it (page_alloc.c).
	 */
	unsigned long *data_dirty;
	u64 data_dirty_bytes;
	u64 mid_pfn;		/* low/high split for unmovable/movable placement */
	unsigned long *free_maps; /* the free areas' bitmaps (sim_buddy_layout()) */
	u64 free_maps_bytes;

	/* Default RLIMIT_MEMLOCK for new mms (bytes). */
	u64 memlock_limit;
	bool kvm_allow_unsafe_mappings;	/* kvm.allow_unsafe_mappings= at boot */
	u32 sev_min_asid, sev_max_asid; /* CPUID 0x8000001F EDX, ECX */

	/* memremap() records, under memremap_lock (the vmap area tree's place). */
	spinlock_t memremap_lock;
	struct list_head memremap_list;

	/* The zone lock: a spinning lock; it protects what follows it. */
	spinlock_t zone_lock;
	struct sim_free_area free_area[SIM_NR_ORDERS];
	u64 nr_free_pages; /* in the buddy lists; under zone_lock, read with READ_ONCE */

	/* Per-CPU page lists in front of the zone lock (page_alloc.c). */
	struct sim_pcp pcp[SIM_PCP_SLOTS];

	/*
	 * The swap cache's slots by PFN (mm_ops.c), under swapcache_lock, an
	 * innermost lock: struct sim_page has no room for folio->swap.
	 */
	spinlock_t swapcache_lock;
	struct hlist_head swapcache[1 << SIM_SWAPCACHE_BITS];

	/* Address spaces, maintained by src/host/mm.c. */
	spinlock_t mm_list_lock;
	struct list_head mm_list; /* struct sim_mm list */

	/*
	 * The frame observer (mmusim/host.h): set once, with ops published
	 * last (smp_store_release), never cleared before sim_host_destroy().
	 */
	const struct sim_frame_observer_ops *frame_ops;
	void *frame_priv;

	/* Event counters, reported by sim_host_get_stats(). */
	struct {
		atomic64_t migrations, migrate_busy, thp_splits, thp_collapses, swap_outs,
			swap_writes, swap_ins, cow_breaks, notifier_invalidates, notifier_young,
			notifier_change_pte, pgtable_pages, pinned_pages, memremaps, memremap_live,
			hwpoisoned_pages, forks, fork_copies;
	} cnt;
};

/* ---------------- frames (phys.c, inline) ---------------- */

/* The free pages on the per-CPU lists, under each list's lock. */
u64 sim_pcp_nr_pages(struct sim_host *host);
void sim_drain_all_pages(struct sim_host *host);

/* No checks: @pfn must be a RAM PFN (< host->npages). */
static inline struct sim_page *sim_pfn_to_page_raw(struct sim_host *host, kvm_pfn_t pfn)
{
	return &host->pages[pfn];
}

static inline kvm_pfn_t sim_page_to_pfn_raw(struct sim_host *host, const struct sim_page *page)
{
	return (kvm_pfn_t)(page - host->pages);
}

/* The data of a RAM frame. */
static inline void *sim_page_to_virt(struct sim_host *host, const struct sim_page *page)
{
	return host->ram + (sim_page_to_pfn_raw(host, page) << PAGE_SHIFT);
}

/* True if @page is one of @host's descriptors. */
static inline bool sim_page_in_host(struct sim_host *host, const struct sim_page *page)
{
	return page >= host->pages && page < host->pages + host->npages;
}

/*
 * The argument check of the public page calls: @host exists and @page is one
 * of its descriptors (not NULL, not another host's, not a misaligned pointer).
 */
static inline bool sim_page_ok(struct sim_host *host, const struct sim_page *page)
{
	unsigned long off;

	if (unlikely(!host))
		return false;
	/*
	 * One unsigned compare covers NULL and pointers below or above the
	 * array (the difference wraps to a huge offset), the remainder a
	 * pointer into the middle of a descriptor: every page call pays it.
	 */
	off = (unsigned long)page - (unsigned long)host->pages;
	return off < host->npages * sizeof(*page) && !(off % sizeof(*page));
}

/*
 * The public page calls without their argument check, for src/host code
 * that got @page from its own tables or allocator (Linux's page helpers
 * check nothing either).  Same semantics as sim_page_flags(),
 * sim_get_page() and sim_page_to_pfn().
 */
static inline unsigned int __sim_page_flags(struct sim_host *host, struct sim_page *page)
{
	unsigned int flags = sim_page_raw_flags(page);
	struct sim_page *head = __sim_compound_head(host->pages, page);

	/* A tail reports its compound page's state, as folio flags do. */
	if (head != page)
		flags |= SIM_PG_TAIL | (sim_page_raw_flags(head) & ~SIM_PG_HEAD);
	return flags;
}

void __sim_get_page(struct sim_host *host, struct sim_page *page);

/* sim_pfn_to_page() for a non-NULL @host. */
static inline struct sim_page *__sim_pfn_to_page(struct sim_host *host, kvm_pfn_t pfn)
{
	return pfn < host->npages ? sim_pfn_to_page_raw(host, pfn) : NULL;
}

/*
 * sim_page_set_flags() of mm flags on a head the caller just allocated or
 * holds a reference on (an allocated head, which the checks there would
 * confirm).
 */
static inline void __sim_page_set_mm_flags(struct sim_page *head, unsigned int flags)
{
	u16 old = READ_ONCE(head->flags);

	while (!try_cmpxchg(&head->flags, &old, (u16)(old | flags)))
		;
}

/*
 * Tell the frame observer, if any: one predictable branch when there is none.
 * Never sleeps; callers may hold a page-table lock.
 */
static inline void sim_frame_event(struct sim_host *host, enum sim_frame_event ev,
				   kvm_pfn_t old_pfn, kvm_pfn_t new_pfn, u64 nr, gfp_t gfp)
{
	const struct sim_frame_observer_ops *ops = smp_load_acquire(&host->frame_ops);

	if (unlikely(ops))
		ops->event(host->frame_priv, ev, old_pfn, new_pfn, nr, gfp);
}

/* ---------------- page state for the mm layer (phys.c) ---------------- */

/*
 * Set/clear mm-owned flags (SIM_PG_MM_FLAGS: ANON, HUGETLB, DIRTY, SWAPCACHE,
 * REFERENCED) atomically.  On a compound tail they act on the head (folio
 * semantics).
 * Other flags belong to the allocator: asking for them WARNs and is ignored,
 * as is flagging a free page.  The allocator clears the mm flags of a page
 * (of every page of a compound page) when it is freed; do not flag the
 * unrefcounted tails of a non-compound block.
 */
void sim_page_set_flags(struct sim_host *host, struct sim_page *page, unsigned int flags);
void sim_page_clear_flags(struct sim_host *host, struct sim_page *page, unsigned int flags);

/* Order of @page's compound page (0 for order-0 and non-compound pages). */
unsigned int sim_compound_order(struct sim_host *host, struct sim_page *page);

/*
 * FOLL_PIN count of @page's compound page (exact), or, for a small page,
 * refcount / SIM_GUP_PIN_COUNTING_BIAS (an estimate, as for Linux's small
 * folios: FOLL_GET references could mimic pins).
 */
int sim_page_pincount(struct sim_host *host, struct sim_page *page);

/*
 * Take one FOLL_PIN reference on @page (any page of a compound page): a small
 * page gets refcount += SIM_GUP_PIN_COUNTING_BIAS; a compound page refcount
 * += 1 on the head and pincount += 1.  Counts host->cnt.pinned_pages.
 * Returns 0, -EAGAIN if the page has no reference (free, being freed, an
 * unrefcounted tail: GUP-fast would fall back), or -ENOMEM if the refcount
 * would overflow.  Released with sim_unpin_user_page().  Never sleeps.
 */
int sim_page_try_pin(struct sim_host *host, struct sim_page *page);

/*
 * folio_ref_freeze()/unfreeze(): atomically replace an expected refcount of
 * @count on @page's head with 0, so that speculative references
 * (sim_get_page_unless_zero(), sim_page_try_pin()) fail while the caller
 * rewrites the page (migration, THP split).  Freeze fails if the refcount is
 * not exactly @count (someone holds an extra reference or a pin).
 */
bool sim_page_ref_freeze(struct sim_host *host, struct sim_page *page, int count);
void sim_page_ref_unfreeze(struct sim_host *host, struct sim_page *page, int count);

/*
 * Split the compound page containing @page into order-0 pages, as
 * split_huge_page() does.  The caller holds exactly @refs references on the
 * compound page (its mapping's and its own); afterwards each of the 2^order
 * pages carries @refs references and the head's MOVABLE and mm flags.
 * Returns 0; -EINVAL if @page is not compound or is HUGETLB; -EBUSY if it is
 * pinned; -EAGAIN if someone else holds a reference.
 */
int sim_split_compound_page(struct sim_host *host, struct sim_page *page, int refs);

/* Copy the data of @src's compound page (4 KiB << order) to @dst's. */
void sim_copy_page_data(struct sim_host *host, struct sim_page *dst, struct sim_page *src);

/* ---------------- allocator internals (page_alloc.c) ---------------- */

/*
 * A replacement page for migrating @src: same order and compound-ness,
 * movable unless @longterm (FOLL_LONGTERM pins must land in unmovable memory,
 * which the allocator places at the low end of RAM).  @gfp adds e.g.
 * GFP_NOWAIT vs GFP_KERNEL.  Data is not copied (sim_copy_page_data()).
 */
struct sim_page *sim_alloc_migration_target(struct sim_host *host, struct sim_page *src,
					    gfp_t gfp, bool longterm);

/*
 * Point the free areas' maps into @maps, which holds the returned number of
 * bytes (NULL: only compute it).  Needs host->npages.
 */
u64 sim_buddy_layout(struct sim_host *host, unsigned long *maps);
/* Build the free lists over [1, npages) at creation (O(blocks), not O(pages)). */
void sim_buddy_init(struct sim_host *host);
/* Free the page whose head refcount just dropped to zero. */
void sim_page_free_refcounted(struct sim_host *host, struct sim_page *head);
/* Number of free blocks of @order (for tests). */
u64 sim_host_nr_free_blocks(struct sim_host *host, unsigned int order);
/* Walk the free lists and check every buddy invariant; returns the number of
 * violations found (each one also WARNs). */
unsigned long sim_host_check_free_lists(struct sim_host *host);

#endif /* _MMUSIM_HOST_INTERNAL_H */
