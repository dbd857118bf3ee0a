// SPDX-License-Identifier: GPL-2.0-only
/*
 * The simulated host's page allocator: a binary buddy allocator over RAM
 * frames [1, npages), orders 0..SIM_MAX_ORDER (4 KiB .. 1 GiB).
 *
 * Buddy invariants (checked by sim_host_check_free_lists()):
 *  1. A free block of order o starts at a PFN aligned to 2^o, lies inside
 *     RAM, and its head is in free_area[o] with flags == SIM_PG_BUDDY,
 *     order == o and refcount 0.  Every other frame inside it has flags 0,
 *     order 0 and refcount 0.
 *  2. Free blocks never overlap, and two free buddies of the same order never
 *     coexist: freeing merges a block with its buddy (pfn ^ 2^o) for as long
 *     as the buddy is a free block of the same order.
 *  3. nr_free_pages is the sum of 2^o over the free blocks; with nothing
 *     allocated it equals managed_pages (npages - 1: PFN 0 is reserved), and
 *     the free lists hold exactly the blocks sim_buddy_init() built.
 *
 * Placement.  Like ZONE_MOVABLE above ZONE_NORMAL, movable allocations are
 * taken from the high half of RAM and unmovable ones from the low half, so
 * that FOLL_LONGTERM pins, which must migrate out of movable memory, find
 * unmovable memory free.  A free area is ordered by address (a bitmap, see
 * "free lists" below): a movable allocation prefers its highest block, an
 * unmovable one its lowest, so the preferred end is a block of the
 * preferred half if the area has one.  An allocation takes the smallest
 * order whose preferred end lies in its half, else the smallest non-empty
 * order; splitting keeps the high half for movable allocations and the low
 * half otherwise.  Address-limited allocations (__GFP_DMA32,
 * sim_alloc_pages_below()) take the lowest block of the smallest order
 * whose lowest block's first 2^order frames lie below the limit.
 *
 * Creating the free lists touches one descriptor per block, O(npages / 2^18 +
 * 2 * 18), never one per frame, and a few words of the free maps: a 1 TiB
 * host is built in a few milliseconds and commits about 4 MiB (one
 * descriptor page per 1 GiB block).
 * A compound allocation writes each tail descriptor once (compound_info: the
 * tail bit and the compound order); a non-compound one writes the head
 * only, its tails staying as the free block left them (refcount 0: not
 * refcounted).
 *
 * Data.  __GFP_ZERO clears the block; blocks of 64 KiB and more are cleared
 * with env_vdiscard(), which also gives their backing back, and freed blocks
 * of that size are discarded the same way, so a big host's footprint follows
 * what is really in use.  Frames known to read as zeroes are not cleared
 * again: host->data_dirty has a bit per frame, set when the frame is handed
 * out (its owner may write it) and cleared when a free discards it; a frame
 * never allocated since the host was created, or discarded since, has it
 * clear.  So a cold demand fault on fresh memory touches no backing at all
 * (no real page fault, no 4 KiB memset, no RSS), only the descriptor and the
 * bit.  Bits of a block of fewer than BITS_PER_LONG frames share a word with
 * other blocks and change atomically; a larger block owns whole words.
 *
 * Per-CPU lists (struct sim_pcp, host_internal.h).  Order-0 allocations
 * without an address limit pop a page off the calling CPU's list of their
 * placement type, which is refilled with SIM_PCP_BATCH blocks taken by the
 * rules above under one zone-lock hold (rmqueue_bulk()), in the order the
 * buddy lists give them.  Order-0 frees push on the list of the page's half
 * and, once it holds SIM_PCP_HIGH pages, give its SIM_PCP_BATCH coldest back
 * (free_pcppages_bulk()).  So a fault takes no shared lock in the
 * allocator and writes no shared line but the frame's.  An allocation that
 * finds no memory drains every CPU's list and tries again, as
 * __alloc_pages_slowpath() does before failing; sim_host_nr_free_blocks()
 * and sim_host_check_free_lists() drain first, so they see merged blocks.
 *
 * Locking.  host->zone_lock (a spinlock) protects the free maps, the order
 * of free blocks, and nr_free_pages; it is held only for list
 * operations, never while touching tail descriptors or data.  A per-CPU
 * list's lock protects its stacks and nests outside the zone lock.  Allocation and
 * free may be called under the caller's spinlocks: pass GFP_NOWAIT/GFP_ATOMIC
 * there.  With a blocking gfp (GFP_KERNEL) allocation calls might_sleep(),
 * which WARNs in atomic context.  Freeing never sleeps.
 */
#include "mmusim_env.h"
#include "host/host_internal.h"

/* Blocks this large are discarded on free and discarded-to-zero on alloc. */
#define SIM_DISCARD_ORDER 4 /* 64 KiB */

/* ======================== known-zero frames ======================== */

/* May a frame of [pfn, pfn + 2^order) hold nonzero data? */
static bool data_range_dirty(struct sim_host *host, u64 pfn, unsigned int order)
{
	u64 end = pfn + (1ULL << order);

	return find_next_bit(host->data_dirty, end, pfn) < end;
}

/* Record that [pfn, pfn + 2^order) may hold data (@dirty) or reads as zeroes. */
static void data_mark(struct sim_host *host, u64 pfn, unsigned int order, bool dirty)
{
	u64 i, nr = 1ULL << order;

	if (nr >= BITS_PER_LONG) {
		/* Aligned: whole words that no other block shares. */
		memset(host->data_dirty + pfn / BITS_PER_LONG, dirty ? 0xff : 0,
		       nr / BITS_PER_BYTE);
		return;
	}
	for (i = 0; i < nr; i++) {
		if (dirty && !test_bit(pfn + i, host->data_dirty))
			set_bit(pfn + i, host->data_dirty);
		else if (!dirty)
			clear_bit(pfn + i, host->data_dirty);
	}
}

static inline struct sim_page *pfn_page(struct sim_host *host, u64 pfn)
{
	return sim_pfn_to_page_raw(host, pfn);
}

/* ======================== free lists ======================== */

/*
 * A free area is a set of block indices (PFN >> order) kept in a bitmap with
 * summary levels, so that the lowest and the highest free block are found
 * in one word load per level, and adding or removing a block writes one
 * word per level at most (the levels above change only when a word becomes
 * empty or stops being empty):
 *
 *   map[2]  ...1                          one word: which words of map[1] are nonzero
 *   map[1]  ..1 0 0 1                     which words of map[0] are nonzero
 *   map[0]  [0..0 1 0][0000]..[00 1 1]    a bit per 2^order-aligned block
 *
 * No frame descriptor holds a link: the maps are one lazy reservation
 * beside the descriptors (about 2 bits per frame over all orders), of which
 * only the words that ever held a free block are touched.  All of it
 * belongs to the zone lock; nothing reads it locklessly.
 */
static void area_set(struct sim_free_area *area, u64 bit)
{
	unsigned int l;

	for (l = 0; l < area->levels; l++, bit /= BITS_PER_LONG) {
		unsigned long *w = &area->map[l][BIT_WORD(bit)];
		bool was_empty = !*w;

		*w |= BIT_MASK(bit);
		if (!was_empty)
			break;
	}
}

static void area_clear(struct sim_free_area *area, u64 bit)
{
	unsigned int l;

	for (l = 0; l < area->levels; l++, bit /= BITS_PER_LONG) {
		unsigned long *w = &area->map[l][BIT_WORD(bit)];

		*w &= ~BIT_MASK(bit);
		if (*w)
			break;
	}
}

/* The lowest (@last: highest) block index in @area, or SIM_PFN_NONE. */
static u64 area_end(const struct sim_free_area *area, bool last)
{
	unsigned int l = area->levels;
	u64 idx = 0;

	while (l--) {
		unsigned long w = area->map[l][idx];

		if (!w)
			return SIM_PFN_NONE; /* only the top word can be empty */
		idx = idx * BITS_PER_LONG + (last ? __fls(w) : __ffs(w));
	}
	return idx;
}

/* The first set bit at or after @from at level @l, or SIM_PFN_NONE. */
static u64 area_next(const struct sim_free_area *area, unsigned int l, u64 from)
{
	for (;;) {
		u64 word = BIT_WORD(from);
		unsigned long w;

		if (word >= area->words[l])
			return SIM_PFN_NONE;
		w = area->map[l][word] & (~0UL << (from % BITS_PER_LONG));
		if (w)
			return word * BITS_PER_LONG + __ffs(w);
		if (l + 1 == area->levels)
			return SIM_PFN_NONE;
		word = area_next(area, l + 1, word + 1);
		if (word == SIM_PFN_NONE)
			return SIM_PFN_NONE;
		from = word * BITS_PER_LONG;
	}
}

static bool pfn_is_low(struct sim_host *host, u64 pfn)
{
	return pfn < host->mid_pfn;
}

/* Put free block [pfn, pfn + 2^order) in its free area. */
static void add_free_block(struct sim_host *host, u64 pfn, unsigned int order)
{
	struct sim_free_area *area = &host->free_area[order];
	struct sim_page *page = pfn_page(host, pfn);

	lockdep_assert_held(&host->zone_lock);
	area_set(area, pfn >> order);
	area->nr_free++;
	WRITE_ONCE(page->order, order);
	WRITE_ONCE(page->flags, SIM_PG_BUDDY);
}

/* Take a block out of its free area; its head becomes an ordinary frame (all 0). */
static void del_from_free_list(struct sim_host *host, u64 pfn, unsigned int order)
{
	struct sim_free_area *area = &host->free_area[order];
	struct sim_page *page = pfn_page(host, pfn);

	lockdep_assert_held(&host->zone_lock);
	area_clear(area, pfn >> order);
	area->nr_free--;
	WRITE_ONCE(page->flags, 0);
	WRITE_ONCE(page->order, 0);
}

static bool page_is_buddy(struct sim_host *host, u64 pfn, unsigned int order)
{
	struct sim_page *page;

	if (pfn >= host->npages)
		return false;
	page = pfn_page(host, pfn);
	return (sim_page_raw_flags(page) & SIM_PG_BUDDY) && READ_ONCE(page->order) == order;
}

/* ======================== creation ======================== */

/*
 * Lay out the free areas' maps in @maps (NULL: only size them); returns the
 * bytes they take.  Order o's leaf level has a bit per 2^o frames; each
 * level above has a bit per word of the one below, up to a single word.
 */
u64 sim_buddy_layout(struct sim_host *host, unsigned long *maps)
{
	unsigned int order, l;
	u64 words = 0;

	for (order = 0; order <= SIM_MAX_ORDER; order++) {
		struct sim_free_area *area = &host->free_area[order];
		u64 bits = (host->npages + (1ULL << order) - 1) >> order;

		for (l = 0;; l++) {
			BUG_ON(l == SIM_FREE_LEVELS);
			area->words[l] = BITS_TO_LONGS(bits);
			area->map[l] = maps ? maps + words : NULL;
			words += area->words[l];
			if (area->words[l] == 1)
				break;
			bits = area->words[l];
		}
		area->levels = l + 1;
		area->nr_free = 0;
	}
	return words * sizeof(unsigned long);
}

/* The largest aligned block at @pfn that fits below @end. */
static unsigned int max_block_order(u64 pfn, u64 end)
{
	unsigned int order = min_t(unsigned int, __ffs64(pfn), SIM_MAX_ORDER);

	while (pfn + (1ULL << order) > end)
		order--;
	return order;
}

/*
 *   PFN 0 reserved; [1, npages) cut greedily into maximal aligned blocks:
 *
 *   0 1 2   4       8  ...  2^17          2^18         2^19        npages
 *   |R|0|1-|2---|3------|...|17-----------|18----------|18---...|<18 tail blocks|
 *
 * The maps were laid out by sim_buddy_layout() at reservation.
 */
void sim_buddy_init(struct sim_host *host)
{
	u64 pfn = 1, end = host->npages;
	unsigned int i;

	for (i = 0; i < SIM_PCP_SLOTS; i++)
		spin_lock_init(&host->pcp[i].lock);
	spin_lock(&host->zone_lock);
	while (pfn < end) {
		unsigned int order = max_block_order(pfn, end);

		add_free_block(host, pfn, order);
		pfn += 1ULL << order;
	}
	host->managed_pages = end - 1;
	WRITE_ONCE(host->nr_free_pages, end - 1);
	spin_unlock(&host->zone_lock);
}

/* ======================== freeing ======================== */

/* Merge [pfn, pfn + 2^order) with its free buddies and list the result. */
static void __free_one(struct sim_host *host, u64 pfn, unsigned int order)
{
	lockdep_assert_held(&host->zone_lock);
	WRITE_ONCE(host->nr_free_pages, host->nr_free_pages + (1ULL << order));
	while (order < SIM_MAX_ORDER) {
		u64 buddy = pfn ^ (1ULL << order);

		if (!page_is_buddy(host, buddy, order))
			break;
		del_from_free_list(host, buddy, order);
		pfn &= buddy;
		order++;
	}
	add_free_block(host, pfn, order);
}

/* ======================== per-CPU lists ======================== */

static u64 rmqueue(struct sim_host *host, unsigned int order, bool movable);
static u64 preferred_end(struct sim_host *host, unsigned int o, bool movable);

static struct sim_pcp *this_pcp(struct sim_host *host)
{
	return &host->pcp[raw_smp_processor_id() % SIM_PCP_SLOTS];
}

static int pcp_type(bool movable)
{
	return movable ? SIM_PCP_MOVABLE : SIM_PCP_UNMOVABLE;
}

/*
 * A stack entry: the PFN, and whether the frame may hold data.  The
 * data_dirty bits of a whole batch are set when it is refilled, by this
 * CPU in one pass, rather than one locked bit operation per allocation on
 * lines that other CPUs' batches share; so the entry keeps what the bit
 * said before, and a drain clears the bits of frames that are still clean.
 */
#define PCP_DIRTY BIT_ULL(63)

static u64 pcp_entry_pfn(u64 e)
{
	return e & ~PCP_DIRTY;
}

/* free_pcppages_bulk(): the @n coldest pages of a stack back to the buddy lists. */
static void pcp_free_bulk(struct sim_host *host, struct sim_pcp *pcp, int type, unsigned int n)
{
	u64 *stack = pcp->pfns[type];
	unsigned int i;

	lockdep_assert_held(&pcp->lock);
	n = min(n, pcp->count[type]);
	/* Before the frames are listed: once listed, another CPU may take them. */
	for (i = 0; i < n; i++)
		if (!(stack[i] & PCP_DIRTY))
			clear_bit(pcp_entry_pfn(stack[i]), host->data_dirty);
	spin_lock(&host->zone_lock);
	for (i = 0; i < n; i++)
		__free_one(host, pcp_entry_pfn(stack[i]), 0);
	spin_unlock(&host->zone_lock);
	pcp->count[type] -= n;
	memmove(stack, stack + n, pcp->count[type] * sizeof(*stack));
}

/* Does the half @movable prefers hold a block smaller than a batch? */
static bool has_small_block(struct sim_host *host, bool movable)
{
	unsigned int o;

	for (o = 0; o < SIM_PCP_BATCH_ORDER; o++) {
		u64 pfn = preferred_end(host, o, movable);

		if (pfn != SIM_PFN_NONE && pfn_is_low(host, pfn) != movable)
			return true;
	}
	return false;
}

/*
 * rmqueue_bulk(): refill an empty stack with up to SIM_PCP_BATCH order-0
 * pages, in the order SIM_PCP_BATCH rmqueue() calls would hand them out
 * (the first one ends on top).  When the preferred half has no block
 * smaller than a batch, those calls would take one batch-sized block and
 * split it page by page from its preferred end: take that block whole.
 */
static void pcp_refill(struct sim_host *host, struct sim_pcp *pcp, int type)
{
	bool movable = type == SIM_PCP_MOVABLE;
	u64 *stack = pcp->pfns[type];
	unsigned int n, i;
	u64 pfn;

	lockdep_assert_held(&pcp->lock);
	spin_lock(&host->zone_lock);
	if (!has_small_block(host, movable)) {
		pfn = rmqueue(host, SIM_PCP_BATCH_ORDER, movable);
		if (pfn != SIM_PFN_NONE) {
			spin_unlock(&host->zone_lock);
			/* Movable pages go from the top of the block down, unmovable up. */
			for (i = 0; i < SIM_PCP_BATCH; i++)
				stack[i] = movable ? pfn + i : pfn + SIM_PCP_BATCH - 1 - i;
			n = SIM_PCP_BATCH;
			goto mark;
		}
	}
	for (n = 0; n < SIM_PCP_BATCH; n++) {
		pfn = rmqueue(host, 0, movable);
		if (pfn == SIM_PFN_NONE)
			break;
		stack[n] = pfn;
	}
	spin_unlock(&host->zone_lock);
	for (i = 0; i < n / 2; i++)
		swap(stack[i], stack[n - 1 - i]);
mark:
	for (i = 0; i < n; i++) {
		if (test_bit(stack[i], host->data_dirty))
			stack[i] |= PCP_DIRTY;
		else
			set_bit(stack[i], host->data_dirty);
	}
	pcp->count[type] = n;
}

static u64 pcp_alloc(struct sim_host *host, bool movable)
{
	struct sim_pcp *pcp = this_pcp(host);
	int type = pcp_type(movable);
	u64 pfn = SIM_PFN_NONE;

	spin_lock(&pcp->lock);
	if (!pcp->count[type])
		pcp_refill(host, pcp, type);
	if (pcp->count[type])
		pfn = pcp->pfns[type][--pcp->count[type]];
	spin_unlock(&pcp->lock);
	return pfn; /* an entry: PCP_DIRTY says whether it may hold data */
}

static void pcp_free(struct sim_host *host, u64 pfn)
{
	struct sim_pcp *pcp = this_pcp(host);
	int type = pcp_type(!pfn_is_low(host, pfn));

	spin_lock(&pcp->lock);
	pcp->pfns[type][pcp->count[type]++] = pfn | PCP_DIRTY; /* its bit is set */
	if (pcp->count[type] == SIM_PCP_HIGH)
		pcp_free_bulk(host, pcp, type, SIM_PCP_BATCH);
	spin_unlock(&pcp->lock);
}

/* drain_all_pages(): every CPU's lists back to the buddy lists. */
void sim_drain_all_pages(struct sim_host *host)
{
	unsigned int i;
	int type;

	for (i = 0; i < SIM_PCP_SLOTS; i++) {
		struct sim_pcp *pcp = &host->pcp[i];

		spin_lock(&pcp->lock);
		for (type = 0; type < SIM_PCP_NR_TYPES; type++)
			pcp_free_bulk(host, pcp, type, pcp->count[type]);
		spin_unlock(&pcp->lock);
	}
}

u64 sim_pcp_nr_pages(struct sim_host *host)
{
	unsigned int i;
	u64 n = 0;
	int type;

	for (i = 0; i < SIM_PCP_SLOTS; i++) {
		spin_lock(&host->pcp[i].lock);
		for (type = 0; type < SIM_PCP_NR_TYPES; type++)
			n += host->pcp[i].count[type];
		spin_unlock(&host->pcp[i].lock);
	}
	return n;
}

/* Return a block whose descriptors are already clean except the head's. */
static void free_block(struct sim_host *host, u64 pfn, unsigned int order)
{
	struct sim_page *page = pfn_page(host, pfn);

	if (WARN(sim_page_raw_flags(page) & (SIM_PG_BUDDY | SIM_PG_RESERVED),
		 "sim_page: freeing free or reserved pfn %llu", (unsigned long long)pfn))
		return;
	/* While the data is still the last owner's. */
	sim_frame_event(host, SIM_FRAME_FREE, pfn, SIM_FRAME_NO_PFN, 1ULL << order, 0);
	WRITE_ONCE(page->flags, 0);
	WRITE_ONCE(page->order, 0);
	/* Before it is listed: once listed, it may be reallocated and written. */
	if (order >= SIM_DISCARD_ORDER) {
		env_vdiscard(sim_pfn_to_virt(host, pfn), PAGE_SIZE << order);
		data_mark(host, pfn, order, false);
	}
	if (!order) {
		pcp_free(host, pfn);
		return;
	}
	spin_lock(&host->zone_lock);
	__free_one(host, pfn, order);
	spin_unlock(&host->zone_lock);
}

/* Undo prep_compound(): every tail back to the all-zero free state. */
static void free_compound(struct sim_host *host, struct sim_page *head)
{
	unsigned int order = READ_ONCE(head->order);
	u64 i, nr = 1ULL << order;

	WARN(__sim_compound_pincount(head) != 0, "sim_page: freeing a pinned compound page");
	__sim_compound_pincount_reset(head);
	for (i = 1; i < nr; i++) {
		struct sim_page *tail = head + i;

		WARN_ONCE(sim_page_ref_count(tail), "sim_page: refcounted compound tail");
		sim_page_ref_set(tail, 0);
		__sim_clear_compound_tail(tail);
	}
	free_block(host, sim_page_to_pfn_raw(host, head), order);
}

void sim_page_free_refcounted(struct sim_host *host, struct sim_page *head)
{
	unsigned int flags = sim_page_raw_flags(head), order;

	if (WARN(flags & SIM_PG_RESERVED, "sim_page: last reference to a reserved page dropped"))
		return;
	if (flags & SIM_PG_HEAD) {
		free_compound(host, head);
		return;
	}
	order = READ_ONCE(head->order);
	/* Linux would free only the first frame and leak the rest. */
	WARN(order, "sim_put_page freed a non-compound order-%u block: use sim_free_pages", order);
	free_block(host, sim_page_to_pfn_raw(host, head), order);
}

/*
 * __free_pages() with another holder of the head (a speculative reference):
 * free everything but the head now, leaving the head an order-0 page that
 * its last sim_put_page() frees.
 *
 *   [H|1|2 3|4 5 6 7]   order 3, H still referenced:
 *      ^ ^   ^           free order-0 at 1, order-1 at 2, order-2 at 4
 */
static void free_all_but_head(struct sim_host *host, u64 pfn, unsigned int order)
{
	while (order-- > 0)
		free_block(host, pfn + (1ULL << order), order);
}

void sim_free_pages(struct sim_host *host, struct sim_page *page, unsigned int order)
{
	unsigned int flags;
	u64 pfn;

	/* NULL, another host's page or a bad order: nothing to free (no WARN). */
	if (!sim_page_ok(host, page) || order > SIM_MAX_ORDER)
		return;
	flags = sim_page_raw_flags(page);
	if (WARN((flags & SIM_PG_HEAD) || sim_page_is_tail(page),
		 "sim_free_pages: compound page (use put)"))
		return;
	if (WARN(flags & (SIM_PG_BUDDY | SIM_PG_RESERVED), "sim_free_pages: free or reserved page"))
		return;
	if (WARN(READ_ONCE(page->order) != order, "sim_free_pages: order %u, allocated as %u",
		 order, READ_ONCE(page->order)))
		return;
	if (WARN(sim_page_ref_count(page) <= 0, "sim_free_pages: page has no reference"))
		return;
	pfn = sim_page_to_pfn_raw(host, page);
	/* First, so that a concurrent last put frees just the head frame. */
	WRITE_ONCE(page->order, 0);
	if (sim_page_ref_dec_and_test(page))
		free_block(host, pfn, order);
	else
		free_all_but_head(host, pfn, order);
}

/* ======================== allocation ======================== */

/*
 * Split free block [pfn, pfn + 2^high), already off its list, down to
 * 2^low frames, listing the halves not kept.  Returns the kept block.
 */
static u64 expand(struct sim_host *host, u64 pfn, unsigned int high, unsigned int low,
		  bool keep_high)
{
	while (high > low) {
		u64 half;

		high--;
		half = 1ULL << high;
		if (keep_high) {
			add_free_block(host, pfn, high);
			pfn += half;
		} else {
			add_free_block(host, pfn + half, high);
		}
	}
	return pfn;
}

static u64 take_block(struct sim_host *host, u64 pfn, unsigned int high, unsigned int order,
		      bool keep_high)
{
	del_from_free_list(host, pfn, high);
	pfn = expand(host, pfn, high, order, keep_high);
	WRITE_ONCE(host->nr_free_pages, host->nr_free_pages - (1ULL << order));
	return pfn;
}

/*
 * A block whose first 2^order frames end at or below @limit_pfn: the lowest
 * block of order @o is the only candidate.
 */
static u64 find_block_below(struct sim_host *host, unsigned int o, unsigned int order,
			    u64 limit_pfn)
{
	u64 idx = area_end(&host->free_area[o], false);

	if (idx != SIM_PFN_NONE && (idx << o) + (1ULL << order) <= limit_pfn)
		return idx << o;
	return SIM_PFN_NONE;
}

static u64 rmqueue_below(struct sim_host *host, unsigned int order, u64 limit_pfn)
{
	unsigned int o;

	for (o = order; o <= SIM_MAX_ORDER; o++) {
		u64 pfn = find_block_below(host, o, order, limit_pfn);

		if (pfn != SIM_PFN_NONE)
			return take_block(host, pfn, o, order, false);
	}
	return SIM_PFN_NONE;
}

/* The free block of order @o that @movable prefers: the highest, or the lowest. */
static u64 preferred_end(struct sim_host *host, unsigned int o, bool movable)
{
	struct sim_free_area *area = &host->free_area[o];
	u64 idx;

	if (!area->nr_free)
		return SIM_PFN_NONE;
	idx = area_end(area, movable);
	return idx == SIM_PFN_NONE ? SIM_PFN_NONE : idx << o;
}

static u64 rmqueue(struct sim_host *host, unsigned int order, bool movable)
{
	unsigned int o;
	u64 pfn;

	/* Smallest block in the preferred half... */
	for (o = order; o <= SIM_MAX_ORDER; o++) {
		pfn = preferred_end(host, o, movable);
		if (pfn != SIM_PFN_NONE && pfn_is_low(host, pfn) != movable)
			return take_block(host, pfn, o, order, movable);
	}
	/* ...else the smallest block anywhere. */
	for (o = order; o <= SIM_MAX_ORDER; o++) {
		pfn = preferred_end(host, o, movable);
		if (pfn != SIM_PFN_NONE)
			return take_block(host, pfn, o, order, movable);
	}
	return SIM_PFN_NONE;
}

/* Lay out compound page [head, head + 2^order): tails record the order. */
static void prep_compound(struct sim_page *head, unsigned int order)
{
	u64 i, nr = 1ULL << order;

	__sim_compound_pincount_reset(head);
	for (i = 1; i < nr; i++)
		__sim_set_compound_tail(&head[i], order);
}

/* Clear the frames of the block that may hold data; the others read as zeroes. */
static void zero_block(struct sim_host *host, u64 pfn, unsigned int order)
{
	u64 i;

	if (order >= SIM_DISCARD_ORDER) {
		if (data_range_dirty(host, pfn, order))
			env_vdiscard(sim_pfn_to_virt(host, pfn), PAGE_SIZE << order);
		return;
	}
	for (i = 0; i < (1ULL << order); i++)
		if (test_bit(pfn + i, host->data_dirty))
			memset(sim_pfn_to_virt(host, pfn + i), 0, PAGE_SIZE);
}

/* How prep_new_page() learns whether the frames may hold data. */
enum { FROM_BUDDY, FROM_PCP_CLEAN, FROM_PCP_DIRTY };

/*
 * @from: FROM_BUDDY (the data_dirty bits say, and are set here), or a
 * per-CPU list entry's record (its bit is set already).
 */
static struct sim_page *prep_new_page(struct sim_host *host, u64 pfn, unsigned int order, gfp_t gfp,
				      int from)
{
	struct sim_page *page = pfn_page(host, pfn);
	bool compound = (gfp & __GFP_COMP) && order > 0;
	unsigned int flags = 0;

	if (from != FROM_BUDDY) {
		if ((gfp & __GFP_ZERO) && from == FROM_PCP_DIRTY)
			memset(sim_pfn_to_virt(host, pfn), 0, PAGE_SIZE);
	} else {
		if (gfp & __GFP_ZERO)
			zero_block(host, pfn, order);
		data_mark(host, pfn, order, true);
	}
	if (compound)
		prep_compound(page, order);
	if (gfp & __GFP_MOVABLE)
		flags |= SIM_PG_MOVABLE;
	if (compound)
		flags |= SIM_PG_HEAD;
	WRITE_ONCE(page->order, order);
	sim_page_ref_set(page, 1);
	/* Publish the head last: tails are valid once the head says HEAD. */
	smp_store_release(&page->flags, (u16)flags);
	/* After the zeroing: what the new owner finds is what the observer leaves. */
	sim_frame_event(host, SIM_FRAME_ALLOC, pfn, SIM_FRAME_NO_PFN, 1ULL << order, gfp);
	return page;
}

static u64 limit_pfn_for(struct sim_host *host, gfp_t gfp, u64 limit)
{
	u64 limit_pfn = limit >> PAGE_SHIFT;

	if (gfp & __GFP_DMA32)
		limit_pfn = min(limit_pfn, SIM_DMA32_PFN_LIMIT);
	return limit_pfn;
}

static u64 alloc_pfn(struct sim_host *host, gfp_t gfp, unsigned int order, u64 limit_pfn)
{
	u64 pfn;

	if (!order && limit_pfn >= host->npages)
		return pcp_alloc(host, gfp & __GFP_MOVABLE);
	spin_lock(&host->zone_lock);
	if (limit_pfn < host->npages)
		pfn = rmqueue_below(host, order, limit_pfn);
	else
		pfn = rmqueue(host, order, gfp & __GFP_MOVABLE);
	spin_unlock(&host->zone_lock);
	return pfn;
}

struct sim_page *sim_alloc_pages_below(struct sim_host *host, unsigned int gfp,
				       unsigned int order, u64 limit)
{
	u64 limit_pfn = limit_pfn_for(host, gfp, limit), pfn;

	if (!host)
		return NULL;
	if (gfpflags_allow_blocking(gfp))
		might_sleep();
	atomic64_inc(&this_pcp(host)->alloc_calls);
#ifdef ENV_FAIL_INJECTION /* the userspace seam's; the kernel's allocators have failslab */
	if (env_should_fail_alloc(gfp))
		goto fail;
#endif
	/* A caller error, not a kernel bug here: NULL without Linux's WARN. */
	if (order > SIM_MAX_ORDER)
		goto fail;

	pfn = alloc_pfn(host, gfp, order, limit_pfn);
	if (pfn == SIM_PFN_NONE) {
		/* Free pages may sit on the per-CPU lists: give them back, retry. */
		sim_drain_all_pages(host);
		pfn = alloc_pfn(host, gfp, order, limit_pfn);
	}
	if (pfn == SIM_PFN_NONE)
		goto fail;
	if (!order && limit_pfn >= host->npages)
		return prep_new_page(host, pcp_entry_pfn(pfn), 0, gfp,
				     (pfn & PCP_DIRTY) ? FROM_PCP_DIRTY : FROM_PCP_CLEAN);
	return prep_new_page(host, pfn, order, gfp, FROM_BUDDY);

fail:
	atomic64_inc(&this_pcp(host)->alloc_failures);
	return NULL;
}

struct sim_page *sim_alloc_pages(struct sim_host *host, unsigned int gfp, unsigned int order)
{
	return sim_alloc_pages_below(host, gfp, order, U64_MAX);
}

struct sim_page *sim_alloc_migration_target(struct sim_host *host, struct sim_page *src,
					    gfp_t gfp, bool longterm)
{
	struct sim_page *head = __sim_compound_head(host->pages, src);
	unsigned int order = __sim_compound_order(head);

	gfp &= ~(__GFP_MOVABLE | __GFP_COMP);
	if (order)
		gfp |= __GFP_COMP;
	if ((sim_page_raw_flags(head) & SIM_PG_MOVABLE) && !longterm)
		gfp |= __GFP_MOVABLE;
	return sim_alloc_pages(host, gfp, order);
}

/* ======================== introspection ======================== */

u64 sim_host_nr_free_blocks(struct sim_host *host, unsigned int order)
{
	u64 nr;

	if (order > SIM_MAX_ORDER)
		return 0;
	sim_drain_all_pages(host);
	spin_lock(&host->zone_lock);
	nr = host->free_area[order].nr_free;
	spin_unlock(&host->zone_lock);
	return nr;
}

/* Invariant 1 for one free block. */
static unsigned long check_block(struct sim_host *host, u64 pfn, unsigned int order)
{
	struct sim_page *page = pfn_page(host, pfn);
	unsigned long bad = 0;

	bad += WARN(pfn == 0 || pfn + (1ULL << order) > host->npages,
		    "free block %llu/%u out of place", (unsigned long long)pfn, order);
	if (bad)
		return bad;
	bad += WARN(sim_page_raw_flags(page) != SIM_PG_BUDDY || page->order != order ||
			    sim_page_ref_count(page),
		    "free block %llu/%u: bad head", (unsigned long long)pfn, order);
	bad += WARN(order < SIM_MAX_ORDER && page_is_buddy(host, pfn ^ (1ULL << order), order),
		    "free block %llu/%u has a free buddy", (unsigned long long)pfn, order);
	return bad;
}

/*
 * Every block of the area is a good free block, the count is right, and
 * every summary bit stands for a nonzero word (a stale one would make
 * area_end() descend into an empty word).
 */
static unsigned long check_free_area(struct sim_host *host, unsigned int order, u64 *pages)
{
	struct sim_free_area *area = &host->free_area[order];
	unsigned long bad = 0;
	unsigned int l;
	u64 idx, n = 0;

	for (idx = area_next(area, 0, 0); idx != SIM_PFN_NONE && n <= area->nr_free;
	     idx = area_next(area, 0, idx + 1), n++)
		bad += check_block(host, idx << order, order);
	bad += WARN(n != area->nr_free, "free area %u: %llu blocks, %llu counted", order,
		    (unsigned long long)n, (unsigned long long)area->nr_free);
	for (l = 1; l < area->levels; l++)
		for (idx = area_next(area, l, 0); idx != SIM_PFN_NONE;
		     idx = area_next(area, l, idx + 1))
			bad += WARN(!area->map[l - 1][idx], "free area %u: stale summary bit",
				    order);
	*pages += n << order;
	return bad;
}

unsigned long sim_host_check_free_lists(struct sim_host *host)
{
	unsigned long bad = 0;
	unsigned int order;
	u64 pages = 0;

	sim_drain_all_pages(host);
	spin_lock(&host->zone_lock);
	for (order = 0; order <= SIM_MAX_ORDER; order++)
		bad += check_free_area(host, order, &pages);
	bad += WARN(pages != host->nr_free_pages, "free lists hold %llu pages, counted %llu",
		    (unsigned long long)pages, (unsigned long long)host->nr_free_pages);
	spin_unlock(&host->zone_lock);
	return bad;
}
