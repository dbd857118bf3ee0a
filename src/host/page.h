/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * struct sim_page: the simulator's struct page, and inline helpers for the
 * files of src/host.  Nothing outside src/host may include this header.
 *
 * A 1 TiB host has 2^28 frames, so the descriptor is kept at 8 bytes, one
 * word of state per frame and nothing the simulator does not model:
 *
 *   off  size  field          meaning
 *    0    4    union:
 *                _refcount      references; 0 = free, or an unrefcounted tail
 *                _neg_pincount  first tail of a compound page: minus the
 *                               FOLL_PIN count of the whole compound page
 *    4    2    flags          SIM_PG_* (mmusim/host.h)
 *    6    1    order          block order: free block head (with SIM_PG_BUDDY),
 *                             allocated block head (compound or not)
 *    7    1    compound_info  bit 0 set for a compound tail, whose bits 7:1
 *                             are then its compound page's order; 0 for a
 *                             frame that is no tail
 *
 * What Linux keeps in struct page and this descriptor does not:
 *  - the buddy free-list links: the free areas are bitmaps of block indices
 *    beside the descriptor array (page_alloc.c), and the per-CPU lists are
 *    arrays of PFNs (struct sim_pcp);
 *  - the compound head pointer: compound pages are naturally aligned buddy
 *    blocks, so a tail's head is its PFN aligned down to the order that
 *    compound_info records;
 *  - folio->swap: the swap-cache slot of an order-0 page is found in a
 *    table keyed by PFN (sim_swapcache_slot(), mm_ops.c), as swap-cache
 *    pages are few;
 *  - mapping, index, LRU, mapcount, memcg: not modelled.
 *
 * compound_info is Linux's compound_head word: tail-ness and the head are
 * read together, with one READ_ONCE(), so a lockless reader (GUP-fast,
 * sim_get_page_unless_zero()) that races with the page being freed and
 * reused gets either a head that was this page's at some point (and
 * rechecks it after taking its reference) or "no tail", never a head
 * computed from a stale tail flag and the next owner's order.
 *
 * The pin count of a compound page lives in its first tail, as Linux keeps
 * _pincount in the folio's second page, but in the word that would be the
 * tail's _refcount: a tail has no references of its own.  It is stored
 * negated, so the word is never positive.  That keeps the lockless rule
 * that a speculative reference on a tail fails: a reader whose stale
 * compound_info said "no tail" tries page[1]'s own word, and every way of
 * taking a reference (sim_page_ref_tryget(), the pin's cmpxchg) refuses a
 * count <= 0, while every way of dropping one WARNs on it.  So a racing
 * reader can neither raise the pin count nor take a reference through it.
 *
 * States of a frame and what its fields hold:
 *
 *   state                       flags             refcount  order  compound_info
 *   head of a free block        BUDDY             0         block  0
 *   inside a free block         0                 0         0      0
 *   reserved (PFN 0)            RESERVED          1         0      0
 *   order-0 page, or head of a  [MOVABLE] [mm]    >= 1      alloc  0
 *     non-compound block
 *   tail of a non-compound      0                 0         0      0
 *     block (not refcounted, as TTM's pool pages)
 *   compound head               HEAD [MOVABLE]    >= 1      order  0
 *                               [mm]
 *   first compound tail         0                 -pins     0      order << 1 | 1
 *   other compound tail         0                 0         0      order << 1 | 1
 *
 * sim_page_flags() reports SIM_PG_TAIL for a compound tail (from
 * compound_info), as Linux's PageTail() reads it from compound_head.
 *
 * [mm] are the flags the host mm layer owns (SIM_PG_MM_FLAGS).  For a
 * compound page they live on the head only; sim_page_flags() of a tail
 * reports the head's, as Linux's folio flags do.
 *
 * Field access rules: flags are read with READ_ONCE() and changed with
 * WRITE_ONCE() by the allocator (which owns free frames and frames it is
 * handing out or taking back) and with cmpxchg by the owner of an allocated
 * page (sim_page_set_flags()); the allocator reads the flags of neighbouring
 * blocks under the zone lock while their owners may change mm flags.  The
 * order of free blocks belongs to the zone lock; compound_info is written
 * with WRITE_ONCE() by the allocator and by a THP split (refcount frozen),
 * as lockless readers may load it at any time.  The first tail's pin count
 * changes atomically, under a reference on the head.
 */
#ifndef _MMUSIM_HOST_PAGE_H
#define _MMUSIM_HOST_PAGE_H

#include <mmusim/host.h>

struct sim_page {
	union {
		atomic_t _refcount;
		atomic_t _neg_pincount;
	};
	u16 flags;
	u8 order;
	u8 compound_info;
};
static_assert(sizeof(struct sim_page) == 8, "struct sim_page must stay 8 bytes");

#define SIM_COMPOUND_TAIL 1u

/* Flags the host mm layer may set and clear (sim_page_set_flags()). */
#define SIM_PG_MM_FLAGS                                                                       \
	(SIM_PG_ANON | SIM_PG_HUGETLB | SIM_PG_DIRTY | SIM_PG_SWAPCACHE | SIM_PG_REFERENCED | \
	 SIM_PG_HWPOISON | SIM_PG_ANON_SHARED)
/* Flags only the allocator changes. */
#define SIM_PG_ALLOC_FLAGS                                                           \
	(SIM_PG_RESERVED | SIM_PG_MOVABLE | SIM_PG_HEAD | SIM_PG_TAIL | SIM_PG_BUDDY)
static_assert((SIM_PG_MM_FLAGS & SIM_PG_ALLOC_FLAGS) == 0, "flag sets overlap");
static_assert(((SIM_PG_MM_FLAGS | SIM_PG_ALLOC_FLAGS) & ~0xffffu) == 0, "flags fit u16");

static inline unsigned int sim_page_raw_flags(const struct sim_page *page)
{
	return READ_ONCE(page->flags);
}

static inline bool sim_page_is_head(const struct sim_page *page)
{
	return sim_page_raw_flags(page) & SIM_PG_HEAD;
}

static inline bool sim_page_is_tail(const struct sim_page *page)
{
	return READ_ONCE(page->compound_info) & SIM_COMPOUND_TAIL;
}

/*
 * The head of @page's compound page, or @page itself if it is not a tail.
 * One load: see compound_info above.  @pages is the host's descriptor array
 * (the PFN of @page is its index there).
 */
static inline struct sim_page *__sim_compound_head(struct sim_page *pages, struct sim_page *page)
{
	u8 info = READ_ONCE(page->compound_info);

	if (!(info & SIM_COMPOUND_TAIL))
		return page;
	return page - ((unsigned long)(page - pages) & ((1UL << (info >> 1)) - 1));
}

/* Make @tail a tail of a compound page of @order. */
static inline void __sim_set_compound_tail(struct sim_page *tail, unsigned int order)
{
	WRITE_ONCE(tail->compound_info, (u8)((order << 1) | SIM_COMPOUND_TAIL));
}

static inline void __sim_clear_compound_tail(struct sim_page *tail)
{
	WRITE_ONCE(tail->compound_info, 0);
}

/* Compound order of a head page (0 for anything but a compound head). */
static inline unsigned int __sim_compound_order(const struct sim_page *head)
{
	return sim_page_is_head(head) ? READ_ONCE(head->order) : 0;
}

/* The FOLL_PIN count of compound page @head (in its first tail, negated). */
static inline int __sim_compound_pincount(const struct sim_page *head)
{
	return -atomic_read(&head[1]._neg_pincount);
}

static inline void __sim_compound_pin(struct sim_page *head)
{
	atomic_dec(&head[1]._neg_pincount);
}

/* Drops one pin; returns the pins left (negative: there was none). */
static inline int __sim_compound_unpin(struct sim_page *head)
{
	return -atomic_inc_return(&head[1]._neg_pincount);
}

/* The first tail's word back to an ordinary tail's refcount of 0. */
static inline void __sim_compound_pincount_reset(struct sim_page *head)
{
	atomic_set(&head[1]._neg_pincount, 0);
}

static inline int sim_page_ref_count(const struct sim_page *page)
{
	return atomic_read(&page->_refcount);
}

static inline void sim_page_ref_set(struct sim_page *page, int v)
{
	atomic_set(&page->_refcount, v);
}

/*
 * Takes a reference unless @page has none: free, frozen, an unrefcounted
 * tail, or the first tail of a compound page, whose word holds the negated
 * pin count (page_ref_add_unless(page, 1, 0) in Linux, whose tails read 0).
 */
static inline bool sim_page_ref_tryget(struct sim_page *page)
{
	int old = atomic_read(&page->_refcount);

	do {
		if (old <= 0)
			return false;
	} while (!atomic_try_cmpxchg(&page->_refcount, &old, old + 1));
	return true;
}

/*
 * Drops one reference; true if it was the last.  Dropping a reference that
 * does not exist (a free page, an unrefcounted tail) WARNs and changes
 * nothing, so the bug cannot also corrupt the free lists.
 */
static inline bool sim_page_ref_dec_and_test(struct sim_page *page)
{
	int old = atomic_read(&page->_refcount);

	do {
		if (WARN(old <= 0, "sim_page: put on a page with refcount %d", old))
			return false;
	} while (!atomic_try_cmpxchg(&page->_refcount, &old, old - 1));
	return old == 1;
}

#endif /* _MMUSIM_HOST_PAGE_H */
