/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Memslots: the guest-physical to host-virtual map of a VM, with KVM's
 * update protocol (include/linux/kvm_host.h, virt/kvm/kvm_main.c and the
 * memslot half of arch/x86/kvm/x86.c).
 *
 * The module knows nothing of the MMU.  It owns the slots, their dirty
 * bitmaps and their lpage_info arrays; the MMU plugs in through struct
 * kvm_memslot_ops (prepare/commit/free_slot/flush/...), exactly where KVM
 * calls kvm_arch_*().  struct kvm embeds one struct kvm_vm_memslots.
 *
 * Readers (fault path, MMU notifiers, dirty logging):
 *
 *	idx = srcu_read_lock(&ms->srcu);
 *	slots = kvm_memslots_as(ms, as_id);
 *	slot = __gfn_to_memslot(slots, gfn);	(or an iterator)
 *	... slot stays valid until srcu_read_unlock(&ms->srcu, idx) ...
 *
 * A slot that is being deleted or moved is first published as an INVALID
 * copy (KVM_MEMSLOT_INVALID in flags).  __gfn_to_memslot() returns it, as
 * KVM's does; the fault path must check the flag and retry (RET_PF_RETRY),
 * kvm_is_visible_memslot() is false for it and gfn_to_hva_memslot() returns
 * KVM_HVA_ERR_BAD.
 *
 * Writers hold slots_lock (kvm_set_memory_region() takes it); see the theory
 * block in kvm_memslots.c for the protocol and the lifetime rules.
 */
#ifndef _MMUSIM_MMU_KVM_MEMSLOTS_H
#define _MMUSIM_MMU_KVM_MEMSLOTS_H

#include "mmusim_env.h"
#include <linux/kvm.h> /* uapi only: kvm_userspace_memory_region, kvm_dirty_log, KVM_MEM_* */

/* ---- Limits and flags (KVM's values) ---------------------------------------------- */

#define KVM_MAX_NR_ADDRESS_SPACES 2	/* x86: as_id 1 is SMM */

#ifndef KVM_INTERNAL_MEM_SLOTS
#define KVM_INTERNAL_MEM_SLOTS 3	/* x86: TSS, APIC access page, identity page table */
#endif
#ifndef KVM_MEM_SLOTS_NUM
#define KVM_MEM_SLOTS_NUM SHRT_MAX	/* 32767; ids are "short" */
#endif
#ifndef KVM_USER_MEM_SLOTS
#define KVM_USER_MEM_SLOTS (KVM_MEM_SLOTS_NUM - KVM_INTERNAL_MEM_SLOTS) /* 32764 */
#endif
/* Dirty-bitmap operations index pages with an int. */
#ifndef KVM_MEM_MAX_NR_PAGES
#define KVM_MEM_MAX_NR_PAGES ((1UL << 31) - 1)
#endif

#ifndef KVM_MEM_LOG_DIRTY_PAGES
#define KVM_MEM_LOG_DIRTY_PAGES (1UL << 0)
#endif
#ifndef KVM_MEM_READONLY
#define KVM_MEM_READONLY (1UL << 1)
#endif
#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD (1UL << 2)	/* uapi >= 6.8; never accepted here */
#endif
/* Flags the v1 KVM_SET_USER_MEMORY_REGION ioctl accepts. */
#define KVM_SET_USER_MEMORY_REGION_V1_FLAGS (KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)
/* Bits 16-31 of slot->flags are KVM-internal. */
#ifndef KVM_MEMSLOT_INVALID
#define KVM_MEMSLOT_INVALID (1UL << 16)
#endif
/*
 * Nikunj Dadhania's SEV demand-pinning RFC v1 (2022, not merged): a slot
 * created once the VM is SEV, whose pages the fault path pins
 * (src/sev/sev_memslot.c); set and carried by the MMU's prepare hook.
 */
#ifndef KVM_MEMSLOT_ENCRYPTED
#define KVM_MEMSLOT_ENCRYPTED (1UL << 17)
#endif
#ifndef KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS
#define KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS BIT_ULL(63)
#endif

#ifndef KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE
#define KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE (1 << 0)
#endif
#ifndef KVM_DIRTY_LOG_INITIALLY_SET
#define KVM_DIRTY_LOG_INITIALLY_SET (1 << 1)
#endif
#define KVM_DIRTY_LOG_MANUAL_CAPS \
	(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET)

/*
 * access_ok() bound on x86-64 with 4-level paging: the last user page ends
 * at 0x7ffffffff000.
 */
#ifndef TASK_SIZE_MAX
#define TASK_SIZE_MAX ((1UL << 47) - PAGE_SIZE)
#endif

/* Error hvas (kvm_host.h): above every user address. */
#define KVM_HVA_ERR_BAD (0xffff888000000000UL)
#define KVM_HVA_ERR_RO_BAD (KVM_HVA_ERR_BAD + PAGE_SIZE)
static inline bool kvm_is_error_hva(unsigned long addr)
{
	return addr >= KVM_HVA_ERR_BAD;
}

/* ---- Huge-page geometry (arch/x86/include/asm/kvm_host.h) -------------------------- */

#ifndef KVM_NR_PAGE_SIZES
#define KVM_NR_PAGE_SIZES 3		/* 4K, 2M, 1G */
#endif
#ifndef KVM_MAX_HUGEPAGE_LEVEL
#define KVM_MAX_HUGEPAGE_LEVEL PG_LEVEL_1G
#endif
#ifndef KVM_HPAGE_GFN_SHIFT
#define KVM_HPAGE_GFN_SHIFT(level) (((level) - PG_LEVEL_4K) * 9)
#endif
#ifndef KVM_PAGES_PER_HPAGE
#define KVM_PAGES_PER_HPAGE(level) (1UL << KVM_HPAGE_GFN_SHIFT(level))
#endif

/* Index of @gfn's huge page of @level, counted from the one holding @base_gfn. */
static inline gfn_t gfn_to_index(gfn_t gfn, gfn_t base_gfn, int level)
{
	return (gfn >> KVM_HPAGE_GFN_SHIFT(level)) - (base_gfn >> KVM_HPAGE_GFN_SHIFT(level));
}

/*
 * disallow_lpage > 0 forbids mapping the huge page with a huge SPTE: the
 * slot does not cover it entirely, gpa and hva are misaligned, or
 * kvm_mmu_gfn_disallow_lpage() was called for a gfn inside it (shadowed
 * guest page tables).
 */
struct kvm_lpage_info {
	int disallow_lpage;
};

/* ---- The slot ---------------------------------------------------------------------- */

/*
 * One memslot.  Immutable once published, except: the dirty bitmap's bits,
 * lpage_info's counts (MMU, under mmu_lock held for write) and arch_rmap
 * (MMU, under slots_arch_lock).  An update replaces a slot by a new struct;
 * the old one is freed only after an SRCU grace period.
 */
struct kvm_memory_slot {
	/* Linkage: index [node_idx] belongs to memslot set __memslots[as][node_idx]. */
	struct hlist_node id_node[2];

	gfn_t base_gfn;
	unsigned long npages;
	/*
	 * 2 * kvm_dirty_bitmap_bytes(): the live bitmap, then a buffer for
	 * KVM_GET/CLEAR_DIRTY_LOG.  NULL unless KVM_MEM_LOG_DIRTY_PAGES.
	 */
	unsigned long *dirty_bitmap;
	/* [level - 2] for 2M and 1G; indexed by gfn_to_index(). */
	struct kvm_lpage_info *lpage_info[KVM_NR_PAGE_SIZES - 1];
	/* Per-level arrays owned by the MMU hooks (legacy rmap); NULL by default. */
	void *arch_rmap[KVM_NR_PAGE_SIZES];
	/*
	 * Vendor pin metadata (SEV demand pinning: pinned_bitmap and pfns[]),
	 * owned by the hooks; NULL by default, shared by the slot's copies.
	 */
	void *arch_pins;
	unsigned long userspace_addr;
	u32 flags;
	short id;
	u16 as_id;
};

static inline bool kvm_slot_dirty_track_enabled(const struct kvm_memory_slot *slot)
{
	return slot->flags & KVM_MEM_LOG_DIRTY_PAGES;
}

static inline unsigned long kvm_dirty_bitmap_bytes(const struct kvm_memory_slot *memslot)
{
	return ALIGN(memslot->npages, BITS_PER_LONG) / 8;
}

static inline unsigned long *kvm_second_dirty_bitmap(struct kvm_memory_slot *memslot)
{
	unsigned long len = kvm_dirty_bitmap_bytes(memslot);

	return memslot->dirty_bitmap + len / sizeof(*memslot->dirty_bitmap);
}

/* A user slot that is not being deleted or moved. */
static inline bool kvm_is_visible_memslot(const struct kvm_memory_slot *memslot)
{
	return memslot && memslot->id < KVM_USER_MEM_SLOTS &&
	       !(memslot->flags & KVM_MEMSLOT_INVALID);
}

static inline bool is_gfn_in_memslot(const struct kvm_memory_slot *slot, gfn_t gfn)
{
	return gfn >= slot->base_gfn && gfn < slot->base_gfn + slot->npages;
}

/* No INVALID/NULL check: the caller has a slot that contains @gfn. */
static inline hva_t __gfn_to_hva_memslot(const struct kvm_memory_slot *slot, gfn_t gfn)
{
	return slot->userspace_addr + (gfn - slot->base_gfn) * PAGE_SIZE;
}

/*
 * KVM's gfn_to_hva_memslot(): KVM_HVA_ERR_BAD for a NULL or INVALID slot,
 * otherwise the hva of @gfn (the caller looked the slot up for @gfn).
 */
static inline hva_t gfn_to_hva_memslot(const struct kvm_memory_slot *slot, gfn_t gfn)
{
	if (!slot || (slot->flags & KVM_MEMSLOT_INVALID))
		return KVM_HVA_ERR_BAD;
	return __gfn_to_hva_memslot(slot, gfn);
}

static inline gfn_t hva_to_gfn_memslot(hva_t hva, const struct kvm_memory_slot *slot)
{
	return slot->base_gfn + ((hva - slot->userspace_addr) >> PAGE_SHIFT);
}

static inline unsigned long __kvm_mmu_slot_lpages(const struct kvm_memory_slot *slot,
						  unsigned long npages, int level)
{
	return gfn_to_index(slot->base_gfn + npages - 1, slot->base_gfn, level) + 1;
}

static inline unsigned long kvm_mmu_slot_lpages(const struct kvm_memory_slot *slot, int level)
{
	return __kvm_mmu_slot_lpages(slot, slot->npages, level);
}

/* @level is PG_LEVEL_2M or PG_LEVEL_1G and @gfn lies in @slot. */
static inline struct kvm_lpage_info *lpage_info_slot(gfn_t gfn,
						     const struct kvm_memory_slot *slot,
						     int level)
{
	unsigned long idx = gfn_to_index(gfn, slot->base_gfn, level);

	return &slot->lpage_info[level - 2][idx];
}

/* ---- A memslot set ------------------------------------------------------------------ */

#define KVM_MEMSLOTS_ID_HASH_BITS 7	/* 128 buckets, as KVM's id_hash */

/*
 * One memslot set.  Each address space has two; readers see the active one
 * (ms->memslots[as_id]) and the writer edits only the inactive one, so a
 * set's arrays and hash never change while a reader can reach it.
 *
 * Lookup structures, all built from the same slots:
 *  - gfn_slots[]: sorted by base_gfn (slots of a set never overlap in gfn);
 *    binary search, O(log n).
 *  - hva_slots[]: sorted by userspace_addr, with hva_max_last[i] = the
 *    highest "last hva" among hva_slots[0..i].  hvas may alias (two slots on
 *    the same host memory), so an hva range query finds the first i whose
 *    prefix maximum reaches the range, the end by binary search on the
 *    start, and filters in between: O(log n + candidates), candidates ==
 *    hits when slots do not nest in hva.
 *  - id_hash[]: hlist buckets of id_node[node_idx]; O(1 + n/128).
 * Updates are O(n) (array insert/remove); KVM's rb/interval trees make them
 * O(log n), which matters only for tens of thousands of slots.
 */
struct kvm_memslots {
	u64 generation;			/* READ_ONCE: written at the end of a swap */
	atomic_long_t last_used_slot;	/* VM-wide lookup cache, for __gfn_to_memslot() */
	int node_idx;			/* which id_node[] of the slots this set uses */
	int nr_slots;
	int capacity;			/* entries in each array below */
	struct kvm_memory_slot **gfn_slots;
	struct kvm_memory_slot **hva_slots;
	unsigned long *hva_max_last;
	struct hlist_head id_hash[1 << KVM_MEMSLOTS_ID_HASH_BITS];
};

static inline u64 kvm_memslots_generation(struct kvm_memslots *slots)
{
	return READ_ONCE(slots->generation);
}

static inline bool kvm_memslots_empty(struct kvm_memslots *slots)
{
	return !slots->nr_slots;
}

/* ---- Hooks into the MMU / arch ------------------------------------------------------ */

enum kvm_mr_change {
	KVM_MR_CREATE,
	KVM_MR_DELETE,
	KVM_MR_MOVE,
	KVM_MR_FLAGS_ONLY,
};

/*
 * All optional; @arch is kvm_vm_memslots.arch (the struct kvm).  Called with
 * slots_lock held unless stated otherwise.
 */
struct kvm_memslot_ops {
	/*
	 * MMU part of kvm_arch_prepare_memory_region(), after this module's
	 * own checks (max_gfn) and before it allocates lpage_info.  @new is
	 * NULL for DELETE.  For CREATE/MOVE new->arch_rmap[] are NULL; for
	 * FLAGS_ONLY they are copied from @old.  On error, leave nothing
	 * allocated.  If lpage_info allocation fails afterwards, free_slot(new)
	 * is called to undo a successful prepare (CREATE/MOVE only).
	 */
	int (*prepare)(void *arch, const struct kvm_memory_slot *old, struct kvm_memory_slot *new,
		       enum kvm_mr_change change);
	/*
	 * kvm_arch_commit_memory_region()'s MMU part (kvm_mmu_slot_apply_flags:
	 * logging enabled -> write-protect, disabled -> recover huge pages).
	 * @new is active; @old is unreachable for readers (NULL for CREATE,
	 * @new NULL for DELETE).  Metadata of @old is freed after this returns.
	 */
	void (*commit)(void *arch, struct kvm_memory_slot *old, const struct kvm_memory_slot *new,
		       enum kvm_mr_change change);
	/* Free MMU-owned metadata (arch_rmap) of a slot going away; must accept NULLs. */
	void (*free_slot)(void *arch, struct kvm_memory_slot *slot);
	/*
	 * kvm_arch_flush_shadow_memslot(): zap every SPTE of @slot.  Called for
	 * DELETE and MOVE with the INVALID copy already active (lookups by gfn
	 * or id in the active set return the copy, which has KVM_MEMSLOT_INVALID)
	 * and @slot the original, as KVM passes it.  slots_arch_lock is not held.
	 */
	void (*flush_shadow_memslot)(void *arch, struct kvm_memory_slot *slot);
	/* kvm_arch_guest_memory_reclaimed(): after the flush (SEV: WBINVD). */
	void (*guest_memory_reclaimed)(void *arch);
	/*
	 * kvm_arch_memslots_updated(): after the SRCU grace period of every
	 * swap, with @gen the new generation; the active set still carries
	 * @gen's predecessor | KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS until it
	 * returns.  Used for the MMIO-generation wrap check.
	 */
	void (*memslots_updated)(void *arch, int as_id, u64 gen);
	/* Re-protect the pages of @mask (bit i = gfn base_gfn + gfn_offset + i). */
	void (*enable_log_dirty_pt_masked)(void *arch, struct kvm_memory_slot *slot,
					   gfn_t gfn_offset, unsigned long mask);
	/* After re-protecting, outside mmu_lock. */
	void (*flush_remote_tlbs_memslot)(void *arch, const struct kvm_memory_slot *slot);
	/* kvm_arch_sync_dirty_log(): flush hardware dirty logs (PML) into the bitmap. */
	void (*sync_dirty_log)(void *arch, struct kvm_memory_slot *slot);
	/* KVM_MMU_LOCK/UNLOCK around the enable_log_dirty_pt_masked calls. */
	void (*mmu_lock)(void *arch);
	void (*mmu_unlock)(void *arch);
};

/* ---- Per-VM state, embedded in struct kvm ---------------------------------------- */

struct kvm_vm_memslots {
	struct kvm_memslots __memslots[KVM_MAX_NR_ADDRESS_SPACES][2];
	struct kvm_memslots __rcu *memslots[KVM_MAX_NR_ADDRESS_SPACES]; /* active sets */
	/* Serialises updates and the dirty-log ioctls. */
	struct mutex slots_lock;
	/*
	 * Held by an update from before it edits the inactive set until the
	 * new set is published; held by anyone changing slot metadata outside
	 * slots_lock (lazy arch_rmap allocation) so that no change is lost.
	 */
	struct mutex slots_arch_lock;
	/* Readers; the fault path holds it across GUP, so it must be sleepable. */
	struct srcu_struct srcu;

	/*
	 * MMU-notifier invalidations in flight (kvm->mn_active_invalidate_count):
	 * a swap waits for zero so that invalidate_range_start() and _end()
	 * see the same memslots.
	 */
	spinlock_t mn_invalidate_lock;
	long mn_active_invalidate_count;

	unsigned long nr_memslot_pages;		/* all user slots of all address spaces */
	int nr_memslots_dirty_logging;		/* slots with KVM_MEM_LOG_DIRTY_PAGES */
	int nr_as;				/* 1, or 2 with SMM */
	/*
	 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 bits: KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE
	 * (so "true" means manual protect) | KVM_DIRTY_LOG_INITIALLY_SET.
	 */
	u64 manual_dirty_log_protect;
	/* KVM_CAP_DIRTY_LOG_RING without a bitmap: !kvm_use_dirty_bitmap(). */
	bool dirty_ring;
	/* Host MAXPHYADDR bound: CREATE/MOVE with a last gfn above it is -EINVAL. */
	gfn_t max_gfn;
	/* !kvm_arch_has_readonly_mem(): a VM with protected state, no KVM_MEM_READONLY. */
	bool no_readonly_mem;

	const struct kvm_memslot_ops *ops;
	void *arch;

	/* Preallocated arrays for the set that becomes inactive mid-update. */
	void *spare_arrays;
	int spare_capacity;
};

/* ---- API --------------------------------------------------------------------------- */

/*
 * @nr_as: 1 or 2 (KVM_MAX_NR_ADDRESS_SPACES); -EINVAL otherwise.  Initial
 * generation of address space i is i, as in KVM.
 */
int kvm_memslots_init(struct kvm_vm_memslots *ms, int nr_as, gfn_t max_gfn,
		      const struct kvm_memslot_ops *ops, void *arch);
/*
 * Before the first update: address space i starts at generation @first + i
 * instead of i.  @first must be a multiple of nr_as below the IN_PROGRESS bit.
 */
int kvm_memslots_set_first_generation(struct kvm_vm_memslots *ms, u64 first);
/* No readers or writers may remain.  Frees every slot (free_slot hook). */
void kvm_memslots_destroy(struct kvm_vm_memslots *ms);

/* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: -EINVAL for unknown bits. */
int kvm_memslots_enable_manual_dirty_log_protect(struct kvm_vm_memslots *ms, u64 flags);

/*
 * KVM_SET_USER_MEMORY_REGION: takes slots_lock.  Returns 0 or KVM's errno
 * for the same input, checked in KVM's order; every failure unwinds fully.
 * @mem NULL stands for a faulting user pointer: -EFAULT.
 */
int kvm_set_memory_region(struct kvm_vm_memslots *ms,
			  const struct kvm_userspace_memory_region *mem);
/* KVM's kvm_set_internal_memslot(): caller holds slots_lock; id >= KVM_USER_MEM_SLOTS. */
int kvm_set_internal_memslot(struct kvm_vm_memslots *ms,
			     const struct kvm_userspace_memory_region *mem);

/* The active set: under srcu_read_lock(&ms->srcu) or slots_lock. */
int kvm_get_user_memory_region(struct kvm_vm_memslots *ms, u32 slot,
			       struct kvm_userspace_memory_region *out);
struct kvm_memslots *kvm_memslots_as(struct kvm_vm_memslots *ms, int as_id);

struct kvm_memory_slot *id_to_memslot(struct kvm_memslots *slots, int id);
/* Slot containing @gfn (INVALID ones included) or NULL, without touching the cache. */
struct kvm_memory_slot *search_memslots(struct kvm_memslots *slots, gfn_t gfn, bool approx);
/* Same, through the set's last_used_slot cache. */
struct kvm_memory_slot *__gfn_to_memslot(struct kvm_memslots *slots, gfn_t gfn);

/* Per-vCPU cache, reset whenever the generation of the looked-up set changes. */
struct kvm_memslot_cache {
	struct kvm_memory_slot *last_used_slot;
	u64 last_used_slot_gen;
};
/* Caller is an SRCU reader (or holds slots_lock). */
struct kvm_memory_slot *kvm_vcpu_gfn_to_memslot(struct kvm_vm_memslots *ms,
						struct kvm_memslot_cache *cache, int as_id,
						gfn_t gfn);

/* Every slot of @slots, in gfn order; @bkt is an int cursor. */
#define kvm_for_each_memslot(memslot, bkt, slots)                                      \
	for ((bkt) = 0; (bkt) < (slots)->nr_slots && ((memslot) = (slots)->gfn_slots[bkt]); \
	     (bkt)++)

/* Slots intersecting the gfn range [start, end), in gfn order. */
struct kvm_memslot_iter {
	struct kvm_memslots *slots;
	int idx;
	struct kvm_memory_slot *slot;
};
void kvm_memslot_iter_start(struct kvm_memslot_iter *iter, struct kvm_memslots *slots,
			    gfn_t start);
static inline bool kvm_memslot_iter_is_valid(struct kvm_memslot_iter *iter, gfn_t end)
{
	if (iter->idx >= iter->slots->nr_slots)
		return false;
	iter->slot = iter->slots->gfn_slots[iter->idx];
	return iter->slot->base_gfn < end;
}
static inline void kvm_memslot_iter_next(struct kvm_memslot_iter *iter)
{
	iter->idx++;
}
#define kvm_for_each_memslot_in_gfn_range(iter, slots, start, end)                     \
	for (kvm_memslot_iter_start(iter, slots, start); kvm_memslot_iter_is_valid(iter, end); \
	     kvm_memslot_iter_next(iter))

/*
 * Slots whose hva range [userspace_addr, userspace_addr + npages * 4K)
 * intersects [start, end), in userspace_addr order.  Note: KVM's macro takes
 * an inclusive "last"; this one takes an exclusive end.
 */
struct kvm_memslot_hva_iter {
	struct kvm_memslots *slots;
	int idx;		/* next candidate in slots->hva_slots[] */
	int end_idx;		/* first entry starting at or after @end */
	hva_t start;
	struct kvm_memory_slot *slot;
};
void kvm_memslot_hva_iter_start(struct kvm_memslot_hva_iter *iter, struct kvm_memslots *slots,
				hva_t start, hva_t end);
bool kvm_memslot_hva_iter_next(struct kvm_memslot_hva_iter *iter);
#define kvm_for_each_memslot_in_hva_range(iter, slots, start, end)                     \
	for (kvm_memslot_hva_iter_start(iter, slots, start, end);                      \
	     kvm_memslot_hva_iter_next(iter);)

/*
 * Huge pages.  disallow/allow adjust the count at every huge level for @gfn
 * (account_shadowed); callers hold mmu_lock for write.
 */
void kvm_mmu_gfn_disallow_lpage(const struct kvm_memory_slot *slot, gfn_t gfn);
void kvm_mmu_gfn_allow_lpage(const struct kvm_memory_slot *slot, gfn_t gfn);
/*
 * Highest level <= @max_level (clamped to KVM_MAX_HUGEPAGE_LEVEL) whose
 * lpage_info allows a huge mapping of @gfn; PG_LEVEL_4K if none.  The slot
 * part of __kvm_mmu_max_mapping_level().
 */
int kvm_lpage_max_level(const struct kvm_memory_slot *slot, gfn_t gfn, int max_level);

/*
 * Dirty logging.  mark_page_dirty_in_slot(): lockless (atomic set_bit), a
 * no-op unless @slot logs dirty pages; the caller is an SRCU reader.
 */
void mark_page_dirty_in_slot(struct kvm_vm_memslots *ms, const struct kvm_memory_slot *slot,
			     gfn_t gfn);
/*
 * KVM_GET_DIRTY_LOG / KVM_CLEAR_DIRTY_LOG (take slots_lock).  log->dirty_bitmap
 * is a plain pointer here; NULL stands for a faulting user pointer (-EFAULT).
 */
int kvm_get_dirty_log_protect(struct kvm_vm_memslots *ms, struct kvm_dirty_log *log);
int kvm_clear_dirty_log_protect(struct kvm_vm_memslots *ms, struct kvm_clear_dirty_log *log);

/*
 * MMU-notifier side of the swap handshake: invalidate_range_start() calls
 * begin before walking memslots, invalidate_range_end() calls end after.
 */
void kvm_memslots_mn_invalidate_begin(struct kvm_vm_memslots *ms);
void kvm_memslots_mn_invalidate_end(struct kvm_vm_memslots *ms);

#endif /* _MMUSIM_MMU_KVM_MEMSLOTS_H */
