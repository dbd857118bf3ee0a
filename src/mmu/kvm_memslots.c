// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memslots and their update protocol, after virt/kvm/kvm_main.c and the
 * memslot half of arch/x86/kvm/x86.c.
 *
 * What it does
 * ------------
 * Keeps, per address space, the set of memslots (gfn range -> hva range)
 * and changes it with KVM_SET_USER_MEMORY_REGION semantics: create, delete,
 * move and flags-only updates, with KVM's validation order and errnos, the
 * dirty bitmap and the 2M/1G lpage_info of each slot, and the dirty-log
 * ioctls.  The MMU is reached only through struct kvm_memslot_ops.
 *
 * Rules
 * -----
 * 1. Two sets per address space.  Readers reach only the active one
 *    (ms->memslots[as_id], published with rcu_assign_pointer and read with
 *    srcu_dereference under ms->srcu).  The writer edits the inactive set,
 *    swaps, waits for an SRCU grace period, and only then edits the set that
 *    was active, so no reader ever sees a set change under it.  Both sets
 *    hold the same slot structs; each slot has one hash node per set.
 * 2. A slot struct is never modified while reachable (except dirty bits,
 *    lpage_info counts and arch_rmap, see kvm_memslots.h).  Every update
 *    allocates a new struct; the old one is freed after the grace period of
 *    the swap that made it unreachable.
 * 3. DELETE and MOVE first publish an INVALID copy of the old slot and zap
 *    the slot (flush_shadow_memslot) before the final set is published, so
 *    no SPTE can be created for the old range once the zap has run: faults
 *    see KVM_MEMSLOT_INVALID and retry.
 * 4. Generations: a swap stores old_gen | KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS
 *    in the set it publishes, and after the grace period old_gen + nr_as.
 *    Address space i starts at i, so generations never collide across
 *    address spaces and anything caching a generation (MMIO SPTEs, per-vCPU
 *    slot caches) misses during and after every update.
 * 5. Nothing can fail once the first swap has happened, except the arch
 *    prepare step, which is undone by swapping the original slot back.
 *    Array capacity for both sets is therefore reserved up front (the set
 *    that is active at that time gets a spare, installed once it becomes
 *    inactive).
 *
 * Locking
 * -------
 *  - slots_lock (mutex): held across a whole update and the dirty-log
 *    ioctls.  kvm_set_memory_region(), kvm_get/clear_dirty_log_protect()
 *    take it; kvm_set_internal_memslot() expects it held.
 *  - slots_arch_lock (mutex): taken by an update before it edits the
 *    inactive set, dropped by the swap before synchronize_srcu() (a reader
 *    may take it inside its SRCU section to allocate metadata lazily) and
 *    retaken for the next step.
 *  - srcu: readers.  kvm_memslots_as() accepts srcu or slots_lock.
 *  - mn_invalidate_lock (spinlock): the MMU-notifier handshake; a swap does
 *    not publish while invalidations are in flight.
 *  - Hooks run under slots_lock; enable_log_dirty_pt_masked runs between
 *    the mmu_lock/mmu_unlock hooks.
 */
#include "mmusim_env.h"
#include "mmu/kvm_memslots.h"

static_assert(sizeof(unsigned long) == sizeof(struct kvm_memory_slot *),
	      "the three per-set arrays share one allocation of word-sized entries");

/* ==================== Set internals ==================== */

static inline unsigned int memslot_id_bucket(int id)
{
	/* hash_32() with GOLDEN_RATIO_32, as the kernel's hash_add(). */
	return ((u32)id * 0x61C88647u) >> (32 - KVM_MEMSLOTS_ID_HASH_BITS);
}

static inline hva_t memslot_hva_last(const struct kvm_memory_slot *slot)
{
	return slot->userspace_addr + (slot->npages << PAGE_SHIFT) - 1;
}

/* The active set, for the writer (slots_lock held). */
static struct kvm_memslots *memslots_active_locked(struct kvm_vm_memslots *ms, int as_id)
{
	return rcu_dereference_protected(ms->memslots[as_id], lockdep_is_held(&ms->slots_lock));
}

static struct kvm_memslots *kvm_get_inactive_memslots(struct kvm_vm_memslots *ms, int as_id)
{
	struct kvm_memslots *active = memslots_active_locked(ms, as_id);

	return &ms->__memslots[as_id][active->node_idx ^ 1];
}

/* First index in gfn_slots[0..n) whose base_gfn is >= @gfn (> @gfn if @upper). */
static int gfn_slots_bound(struct kvm_memslots *slots, int n, gfn_t gfn, bool upper)
{
	int lo = 0, hi = n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		gfn_t base = slots->gfn_slots[mid]->base_gfn;

		if (base < gfn || (upper && base == gfn))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* First index in hva_slots[0..n) whose userspace_addr is >= @hva. */
static int hva_slots_lower(struct kvm_memslots *slots, int n, hva_t hva)
{
	int lo = 0, hi = n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (slots->hva_slots[mid]->userspace_addr < hva)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int gfn_slots_find(struct kvm_memslots *slots, int n, struct kvm_memory_slot *slot)
{
	int pos = gfn_slots_bound(slots, n, slot->base_gfn, false);

	BUG_ON(pos >= n || slots->gfn_slots[pos] != slot);
	return pos;
}

static int hva_slots_find(struct kvm_memslots *slots, int n, struct kvm_memory_slot *slot)
{
	int pos = hva_slots_lower(slots, n, slot->userspace_addr);

	/* Aliased hvas: several entries may share the start. */
	while (pos < n && slots->hva_slots[pos] != slot) {
		BUG_ON(slots->hva_slots[pos]->userspace_addr != slot->userspace_addr);
		pos++;
	}
	BUG_ON(pos >= n);
	return pos;
}

static void slot_array_insert(struct kvm_memory_slot **a, int n, int pos,
			      struct kvm_memory_slot *slot)
{
	memmove(&a[pos + 1], &a[pos], (n - pos) * sizeof(*a));
	a[pos] = slot;
}

static void slot_array_remove(struct kvm_memory_slot **a, int n, int pos)
{
	memmove(&a[pos], &a[pos + 1], (n - pos - 1) * sizeof(*a));
}

static void hva_max_last_update(struct kvm_memslots *slots, int from)
{
	unsigned long max_last = from ? slots->hva_max_last[from - 1] : 0;
	int i;

	for (i = from; i < slots->nr_slots; i++) {
		max_last = max(max_last, (unsigned long)memslot_hva_last(slots->hva_slots[i]));
		slots->hva_max_last[i] = max_last;
	}
}

static void *memslots_alloc_arrays(int capacity)
{
	return kvmalloc_array(capacity, 3 * sizeof(unsigned long), GFP_KERNEL_ACCOUNT);
}

/* Move @slots onto the arrays @mem of @capacity entries; no reader may see @slots. */
static void memslots_install_arrays(struct kvm_memslots *slots, void *mem, int capacity)
{
	struct kvm_memory_slot **gfn_slots = mem;
	struct kvm_memory_slot **hva_slots = gfn_slots + capacity;
	unsigned long *hva_max_last = (unsigned long *)(hva_slots + capacity);
	int n = slots->nr_slots;

	if (n) {
		memcpy(gfn_slots, slots->gfn_slots, n * sizeof(*gfn_slots));
		memcpy(hva_slots, slots->hva_slots, n * sizeof(*hva_slots));
		memcpy(hva_max_last, slots->hva_max_last, n * sizeof(*hva_max_last));
	}
	kvfree(slots->gfn_slots);
	slots->gfn_slots = gfn_slots;
	slots->hva_slots = hva_slots;
	slots->hva_max_last = hva_max_last;
	slots->capacity = capacity;
}

static int memslots_new_capacity(int capacity, int need)
{
	int cap = max(max(capacity * 2, 8), need);

	return min(cap, (int)KVM_MEM_SLOTS_NUM);
}

/*
 * Reserve room for one more slot in both sets of @as_id (rule 5).  The
 * inactive set is grown now; the active one gets a spare installed by
 * kvm_replace_memslot() once it has become inactive.
 */
static int memslots_reserve_one(struct kvm_vm_memslots *ms, int as_id)
{
	struct kvm_memslots *active = memslots_active_locked(ms, as_id);
	struct kvm_memslots *inactive = kvm_get_inactive_memslots(ms, as_id);
	int need = active->nr_slots + 1;
	void *mem;
	int cap;

	WARN_ON_ONCE(active->nr_slots != inactive->nr_slots || ms->spare_arrays);

	if (inactive->capacity < need) {
		cap = memslots_new_capacity(inactive->capacity, need);
		mem = memslots_alloc_arrays(cap);
		if (!mem)
			return -ENOMEM;
		memslots_install_arrays(inactive, mem, cap);
	}
	if (active->capacity < need) {
		cap = memslots_new_capacity(active->capacity, need);
		mem = memslots_alloc_arrays(cap);
		if (!mem)
			return -ENOMEM;
		ms->spare_arrays = mem;
		ms->spare_capacity = cap;
	}
	return 0;
}

static int kvm_memslots_get_as_id(struct kvm_memory_slot *a, struct kvm_memory_slot *b)
{
	if (WARN_ON_ONCE(!a && !b))
		return 0;
	if (!a)
		return b->as_id;
	if (!b)
		return a->as_id;
	WARN_ON_ONCE(a->as_id != b->as_id);
	return a->as_id;
}

/*
 * Replace @old with @new in the inactive set of their address space: NULL
 * @old adds @new, NULL @new removes @old.  Cannot fail: room for an added
 * slot was reserved by memslots_reserve_one().
 */
static void kvm_replace_memslot(struct kvm_vm_memslots *ms, struct kvm_memory_slot *old,
				struct kvm_memory_slot *new)
{
	int as_id = kvm_memslots_get_as_id(old, new);
	struct kvm_memslots *slots = kvm_get_inactive_memslots(ms, as_id);
	int idx = slots->node_idx;
	int n = slots->nr_slots;
	int hva_from = n;
	int pos;

	if (old) {
		hlist_del(&old->id_node[idx]);
		pos = hva_slots_find(slots, n, old);
		slot_array_remove(slots->hva_slots, n, pos);
		hva_from = pos;

		if ((long)old == atomic_long_read(&slots->last_used_slot))
			atomic_long_set(&slots->last_used_slot, (long)new);

		if (!new) {
			slot_array_remove(slots->gfn_slots, n, gfn_slots_find(slots, n, old));
			slots->nr_slots = n - 1;
			hva_max_last_update(slots, hva_from);
			return;
		}
	} else if (n + 1 > slots->capacity) {
		BUG_ON(!ms->spare_arrays || ms->spare_capacity < n + 1);
		memslots_install_arrays(slots, ms->spare_arrays, ms->spare_capacity);
		ms->spare_arrays = NULL;
		ms->spare_capacity = 0;
	}

	hlist_add_head(&new->id_node[idx], &slots->id_hash[memslot_id_bucket(new->id)]);

	/* hva_slots[] holds n - 1 entries if @old was removed above, else n. */
	pos = hva_slots_lower(slots, old ? n - 1 : n, new->userspace_addr);
	slot_array_insert(slots->hva_slots, old ? n - 1 : n, pos, new);
	hva_from = min(hva_from, pos);

	if (old && old->base_gfn == new->base_gfn) {
		/* Same position: the INVALID copy or a flags-only update. */
		slots->gfn_slots[gfn_slots_find(slots, n, old)] = new;
	} else {
		int nr = n;

		if (old) {
			slot_array_remove(slots->gfn_slots, n, gfn_slots_find(slots, n, old));
			nr--;
		}
		pos = gfn_slots_bound(slots, nr, new->base_gfn, false);
		/* Sets never hold two slots with the same base gfn (overlap check). */
		BUG_ON(pos < nr && slots->gfn_slots[pos]->base_gfn == new->base_gfn);
		slot_array_insert(slots->gfn_slots, nr, pos, new);
	}

	slots->nr_slots = old ? n : n + 1;
	hva_max_last_update(slots, hva_from);
}

/* ==================== Swap, prepare, commit ==================== */

/*
 * Publish the inactive set of @as_id.  Called with slots_arch_lock held;
 * returns with it released (KVM drops it before the grace period because a
 * reader may take it inside its SRCU section).
 */
static void kvm_swap_active_memslots(struct kvm_vm_memslots *ms, int as_id)
{
	struct kvm_memslots *slots = kvm_get_inactive_memslots(ms, as_id);
	u64 gen = memslots_active_locked(ms, as_id)->generation;

	lockdep_assert_held(&ms->slots_arch_lock);
	WARN_ON(gen & KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS);
	WRITE_ONCE(slots->generation, gen | KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS);

	/*
	 * An invalidation that saw the old set at range_start must see it at
	 * range_end too, or its in-progress accounting would not balance.
	 */
	spin_lock(&ms->mn_invalidate_lock);
	while (ms->mn_active_invalidate_count) {
		spin_unlock(&ms->mn_invalidate_lock);
		schedule();
		spin_lock(&ms->mn_invalidate_lock);
	}
	rcu_assign_pointer(ms->memslots[as_id], slots);
	spin_unlock(&ms->mn_invalidate_lock);

	mutex_unlock(&ms->slots_arch_lock);

	synchronize_srcu_expedited(&ms->srcu);

	/*
	 * Second step: drop IN_PROGRESS and advance by the number of address
	 * spaces, so each address space keeps its own residue class.
	 */
	gen = (slots->generation & ~KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS) + ms->nr_as;

	if (ms->ops && ms->ops->memslots_updated)
		ms->ops->memslots_updated(ms->arch, as_id, gen);

	WRITE_ONCE(slots->generation, gen);
}

static void kvm_destroy_dirty_bitmap(struct kvm_memory_slot *memslot)
{
	if (!memslot->dirty_bitmap)
		return;
	kvfree(memslot->dirty_bitmap);
	memslot->dirty_bitmap = NULL;
}

/* Twice the bitmap: the second half is the GET/CLEAR_DIRTY_LOG buffer. */
static int kvm_alloc_dirty_bitmap(struct kvm_memory_slot *memslot)
{
	unsigned long dirty_bytes = kvm_dirty_bitmap_bytes(memslot);

	memslot->dirty_bitmap = kvcalloc(2, dirty_bytes, GFP_KERNEL_ACCOUNT);
	if (!memslot->dirty_bitmap)
		return -ENOMEM;
	return 0;
}

static void kvm_free_lpage_info(struct kvm_memory_slot *slot)
{
	int i;

	for (i = 0; i < KVM_NR_PAGE_SIZES - 1; i++) {
		kvfree(slot->lpage_info[i]);
		slot->lpage_info[i] = NULL;
	}
}

/* kvm_arch_free_memslot(): lpage_info here, arch_rmap via the hook. */
static void kvm_arch_free_memslot(struct kvm_vm_memslots *ms, struct kvm_memory_slot *slot)
{
	kvm_free_lpage_info(slot);
	if (ms->ops && ms->ops->free_slot)
		ms->ops->free_slot(ms->arch, slot);
}

/* Frees @slot and everything it owns; it must be unreachable. */
static void kvm_free_memslot(struct kvm_vm_memslots *ms, struct kvm_memory_slot *slot)
{
	kvm_destroy_dirty_bitmap(slot);
	kvm_arch_free_memslot(ms, slot);
	kfree(slot);
}

/*
 * lpage_info for 2M and 1G (x86 kvm_alloc_memslot_metadata()).  A huge page
 * is disallowed where the slot covers it only partly (first and last
 * entries when base or end is unaligned), and everywhere when gpa and hva
 * are misaligned relative to each other at that level: no huge host page
 * could then back a huge guest page.
 */
static int kvm_alloc_memslot_metadata(struct kvm_memory_slot *slot)
{
	unsigned long npages = slot->npages;
	int level;

	for (level = PG_LEVEL_2M; level <= KVM_MAX_HUGEPAGE_LEVEL; level++) {
		unsigned long lpages = __kvm_mmu_slot_lpages(slot, npages, level);
		unsigned long mask = KVM_PAGES_PER_HPAGE(level) - 1;
		unsigned long ugfn = slot->userspace_addr >> PAGE_SHIFT;
		struct kvm_lpage_info *linfo;
		unsigned long j;

		linfo = kvcalloc(lpages, sizeof(*linfo), GFP_KERNEL_ACCOUNT);
		if (!linfo)
			goto out_free;
		slot->lpage_info[level - 2] = linfo;

		if (slot->base_gfn & mask)
			linfo[0].disallow_lpage = 1;
		if ((slot->base_gfn + npages) & mask)
			linfo[lpages - 1].disallow_lpage = 1;
		if ((slot->base_gfn ^ ugfn) & mask) {
			for (j = 0; j < lpages; j++)
				linfo[j].disallow_lpage = 1;
		}
	}
	return 0;

out_free:
	kvm_free_lpage_info(slot);
	return -ENOMEM;
}

/*
 * kvm_arch_prepare_memory_region() (x86): the gfn bound and lpage_info here,
 * the MMU's part through ops->prepare.  Order of failures as in x86: MMU
 * validation / max_gfn (-EINVAL), MMU metadata (rmap), then lpage_info.
 */
static int kvm_arch_prepare_memory_region(struct kvm_vm_memslots *ms,
					  const struct kvm_memory_slot *old,
					  struct kvm_memory_slot *new, enum kvm_mr_change change)
{
	const struct kvm_memslot_ops *ops = ms->ops;
	int r;

	if (change == KVM_MR_CREATE || change == KVM_MR_MOVE) {
		if (new->base_gfn + new->npages - 1 > ms->max_gfn)
			return -EINVAL;

		memset(new->lpage_info, 0, sizeof(new->lpage_info));
		memset(new->arch_rmap, 0, sizeof(new->arch_rmap));
		new->arch_pins = NULL;
		if (ops && ops->prepare) {
			r = ops->prepare(ms->arch, old, new, change);
			if (r)
				return r;
		}
		r = kvm_alloc_memslot_metadata(new);
		if (r && ops && ops->free_slot)
			ops->free_slot(ms->arch, new);
		return r;
	}

	if (change == KVM_MR_FLAGS_ONLY) {
		/* The metadata follows the slot; only its flags change. */
		memcpy(new->lpage_info, old->lpage_info, sizeof(new->lpage_info));
		memcpy(new->arch_rmap, old->arch_rmap, sizeof(new->arch_rmap));
		new->arch_pins = old->arch_pins;
	}
	if (ops && ops->prepare)
		return ops->prepare(ms->arch, old, new, change);
	return 0;
}

static int kvm_prepare_memory_region(struct kvm_vm_memslots *ms,
				     const struct kvm_memory_slot *old,
				     struct kvm_memory_slot *new, enum kvm_mr_change change)
{
	int r;

	/*
	 * Logging off: no bitmap (the old one is freed at commit).  On in
	 * both: keep the old bitmap, bits included.  Newly on: allocate.
	 */
	if (change != KVM_MR_DELETE) {
		if (!(new->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
			new->dirty_bitmap = NULL;
		} else if (old && old->dirty_bitmap) {
			new->dirty_bitmap = old->dirty_bitmap;
		} else if (!ms->dirty_ring) {
			r = kvm_alloc_dirty_bitmap(new);
			if (r)
				return r;
			if (ms->manual_dirty_log_protect & KVM_DIRTY_LOG_INITIALLY_SET)
				bitmap_set(new->dirty_bitmap, 0, new->npages);
		}
	}

	r = kvm_arch_prepare_memory_region(ms, old, new, change);

	/* Free the bitmap on failure only if it was allocated above. */
	if (r && new && new->dirty_bitmap && (!old || !old->dirty_bitmap))
		kvm_destroy_dirty_bitmap(new);
	return r;
}

static void kvm_commit_memory_region(struct kvm_vm_memslots *ms, struct kvm_memory_slot *old,
				     const struct kvm_memory_slot *new,
				     enum kvm_mr_change change)
{
	u32 old_flags = old ? old->flags : 0;
	u32 new_flags = new ? new->flags : 0;

	/* Updated before the hook so that it can consume the new total. */
	if (change == KVM_MR_DELETE)
		ms->nr_memslot_pages -= old->npages;
	else if (change == KVM_MR_CREATE)
		ms->nr_memslot_pages += new->npages;

	if ((old_flags ^ new_flags) & KVM_MEM_LOG_DIRTY_PAGES)
		ms->nr_memslots_dirty_logging += (new_flags & KVM_MEM_LOG_DIRTY_PAGES) ? 1 : -1;

	if (ms->ops && ms->ops->commit)
		ms->ops->commit(ms->arch, old, new, change);

	/* x86: a moved slot's metadata was rebuilt for the new gfns. */
	if (change == KVM_MR_MOVE)
		kvm_arch_free_memslot(ms, old);

	switch (change) {
	case KVM_MR_CREATE:
		break;
	case KVM_MR_DELETE:
		kvm_free_memslot(ms, old);
		break;
	case KVM_MR_MOVE:
	case KVM_MR_FLAGS_ONLY:
		/* Logging turned off (or never on) in @new: the bitmap dies with @old. */
		if (old->dirty_bitmap && !new->dirty_bitmap)
			kvm_destroy_dirty_bitmap(old);
		/* Only the struct: metadata still in use moved to @new. */
		kfree(old);
		break;
	}
}

/*
 * Swap in @new (already in the inactive set), then make the now-inactive set
 * match: both sets converge.  Releases slots_arch_lock (via the swap).
 */
static void kvm_activate_memslot(struct kvm_vm_memslots *ms, struct kvm_memory_slot *old,
				 struct kvm_memory_slot *new)
{
	int as_id = kvm_memslots_get_as_id(old, new);

	kvm_swap_active_memslots(ms, as_id);
	kvm_replace_memslot(ms, old, new);
}

/* Everything but the set linkage. */
static void kvm_copy_memslot(struct kvm_memory_slot *dest, const struct kvm_memory_slot *src)
{
	dest->base_gfn = src->base_gfn;
	dest->npages = src->npages;
	dest->dirty_bitmap = src->dirty_bitmap;
	memcpy(dest->lpage_info, src->lpage_info, sizeof(dest->lpage_info));
	memcpy(dest->arch_rmap, src->arch_rmap, sizeof(dest->arch_rmap));
	dest->arch_pins = src->arch_pins;
	dest->userspace_addr = src->userspace_addr;
	dest->flags = src->flags;
	dest->id = src->id;
	dest->as_id = src->as_id;
}

static void kvm_invalidate_memslot(struct kvm_vm_memslots *ms, struct kvm_memory_slot *old,
				   struct kvm_memory_slot *invalid_slot)
{
	const struct kvm_memslot_ops *ops = ms->ops;

	/* Work on an unreachable copy; @old stays intact for a rollback. */
	kvm_copy_memslot(invalid_slot, old);
	invalid_slot->flags |= KVM_MEMSLOT_INVALID;
	kvm_replace_memslot(ms, old, invalid_slot);

	/* Publish the INVALID copy only; the other set keeps @old for now. */
	kvm_swap_active_memslots(ms, old->as_id);

	/* Faults now retry on the range, so the zap cannot be undone by them. */
	if (ops && ops->flush_shadow_memslot)
		ops->flush_shadow_memslot(ms->arch, old);
	if (ops && ops->guest_memory_reclaimed)
		ops->guest_memory_reclaimed(ms->arch);

	mutex_lock(&ms->slots_arch_lock);

	/*
	 * Metadata may have been attached to the active (INVALID) slot while
	 * slots_arch_lock was free (lazy rmap allocation): carry it back.
	 */
	memcpy(old->lpage_info, invalid_slot->lpage_info, sizeof(old->lpage_info));
	memcpy(old->arch_rmap, invalid_slot->arch_rmap, sizeof(old->arch_rmap));
}

static void kvm_create_memslot(struct kvm_vm_memslots *ms, struct kvm_memory_slot *new)
{
	kvm_replace_memslot(ms, NULL, new);
	kvm_activate_memslot(ms, NULL, new);
}

static void kvm_delete_memslot(struct kvm_vm_memslots *ms, struct kvm_memory_slot *old,
			       struct kvm_memory_slot *invalid_slot)
{
	/* @old is in the inactive set, the INVALID copy in the active one. */
	kvm_replace_memslot(ms, old, NULL);
	kvm_activate_memslot(ms, invalid_slot, NULL);
}

static void kvm_move_memslot(struct kvm_vm_memslots *ms, struct kvm_memory_slot *old,
			     struct kvm_memory_slot *new, struct kvm_memory_slot *invalid_slot)
{
	kvm_replace_memslot(ms, old, new);
	kvm_activate_memslot(ms, invalid_slot, new);
}

static void kvm_update_flags_memslot(struct kvm_vm_memslots *ms, struct kvm_memory_slot *old,
				     struct kvm_memory_slot *new)
{
	/* No zap needed: same gfns, same hvas. */
	kvm_replace_memslot(ms, old, new);
	kvm_activate_memslot(ms, old, new);
}

static void memslots_free_spare(struct kvm_vm_memslots *ms)
{
	kvfree(ms->spare_arrays);
	ms->spare_arrays = NULL;
	ms->spare_capacity = 0;
}

static int kvm_set_memslot(struct kvm_vm_memslots *ms, struct kvm_memory_slot *old,
			   struct kvm_memory_slot *new, enum kvm_mr_change change)
{
	struct kvm_memory_slot *invalid_slot = NULL;
	int r;

	/* Released by the swaps; held whenever the inactive set is edited. */
	mutex_lock(&ms->slots_arch_lock);

	if (change == KVM_MR_CREATE) {
		r = memslots_reserve_one(ms, new->as_id);
		if (r)
			goto out_unlock;
	}

	if (change == KVM_MR_DELETE || change == KVM_MR_MOVE) {
		invalid_slot = kzalloc(sizeof(*invalid_slot), GFP_KERNEL_ACCOUNT);
		if (!invalid_slot) {
			r = -ENOMEM;
			goto out_unlock;
		}
		kvm_invalidate_memslot(ms, old, invalid_slot);
	}

	r = kvm_prepare_memory_region(ms, old, new, change);
	if (r) {
		/*
		 * DELETE/MOVE: put @old back in place of the INVALID copy; the
		 * other set still holds @old, so this only swaps and converges.
		 */
		if (invalid_slot) {
			kvm_activate_memslot(ms, invalid_slot, old);
			kfree(invalid_slot);
			goto out;
		}
		goto out_unlock;
	}

	if (change == KVM_MR_CREATE)
		kvm_create_memslot(ms, new);
	else if (change == KVM_MR_DELETE)
		kvm_delete_memslot(ms, old, invalid_slot);
	else if (change == KVM_MR_MOVE)
		kvm_move_memslot(ms, old, new, invalid_slot);
	else
		kvm_update_flags_memslot(ms, old, new);

	/* Unreachable since the last swap's grace period. */
	kfree(invalid_slot);

	kvm_commit_memory_region(ms, old, new, change);
	memslots_free_spare(ms);
	return 0;

out_unlock:
	mutex_unlock(&ms->slots_arch_lock);
out:
	memslots_free_spare(ms);
	return r;
}

/* ==================== KVM_SET_USER_MEMORY_REGION ==================== */

static bool kvm_check_memslot_overlap(struct kvm_memslots *slots, int id, gfn_t start, gfn_t end)
{
	struct kvm_memslot_iter iter;

	kvm_for_each_memslot_in_gfn_range(&iter, slots, start, end) {
		if (iter.slot->id != id)
			return true;
	}
	return false;
}

static int check_memory_region_flags(struct kvm_vm_memslots *ms,
				     const struct kvm_userspace_memory_region *mem)
{
	/*
	 * No private memory in the simulation, so never GUEST_MEMFD; x86 has
	 * read-only memory for VMs without protected state.
	 */
	u32 valid_flags = KVM_MEM_LOG_DIRTY_PAGES;

	if (!ms->no_readonly_mem)
		valid_flags |= KVM_MEM_READONLY;

	if (mem->flags & ~valid_flags)
		return -EINVAL;
	return 0;
}

/* x86-64 access_ok(): the range neither wraps nor passes TASK_SIZE_MAX. */
static bool memslot_access_ok(u64 addr, u64 size)
{
	u64 end = addr + size;

	return end >= addr && end <= TASK_SIZE_MAX;
}

static int __kvm_set_memory_region(struct kvm_vm_memslots *ms,
				   const struct kvm_userspace_memory_region *mem)
{
	struct kvm_memory_slot *old, *new;
	struct kvm_memslots *slots;
	enum kvm_mr_change change;
	unsigned long npages;
	gfn_t base_gfn;
	int as_id, id;
	int r;

	lockdep_assert_held(&ms->slots_lock);

	r = check_memory_region_flags(ms, mem);
	if (r)
		return r;

	as_id = mem->slot >> 16;
	id = (u16)mem->slot;

	/* General sanity checks. */
	if ((mem->memory_size & (PAGE_SIZE - 1)) ||
	    (mem->memory_size != (unsigned long)mem->memory_size))
		return -EINVAL;
	if (mem->guest_phys_addr & (PAGE_SIZE - 1))
		return -EINVAL;
	/* No tagged pointers in the simulation: untagged_addr() is the identity. */
	if ((mem->userspace_addr & (PAGE_SIZE - 1)) ||
	    !memslot_access_ok(mem->userspace_addr, mem->memory_size))
		return -EINVAL;
	if (as_id >= ms->nr_as || id >= KVM_MEM_SLOTS_NUM)
		return -EINVAL;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr)
		return -EINVAL;
	/* Dirty-bitmap indices are ints; internal slots never log. */
	if (id < KVM_USER_MEM_SLOTS && (mem->memory_size >> PAGE_SHIFT) > KVM_MEM_MAX_NR_PAGES)
		return -EINVAL;

	slots = memslots_active_locked(ms, as_id);

	/* Note, @old is freed by kvm_set_memslot() for DELETE and MOVE. */
	old = id_to_memslot(slots, id);

	if (!mem->memory_size) {
		if (!old || !old->npages)
			return -EINVAL;
		if (WARN_ON_ONCE(ms->nr_memslot_pages < old->npages))
			return -EIO;
		return kvm_set_memslot(ms, old, NULL, KVM_MR_DELETE);
	}

	base_gfn = mem->guest_phys_addr >> PAGE_SHIFT;
	npages = mem->memory_size >> PAGE_SHIFT;

	if (!old || !old->npages) {
		change = KVM_MR_CREATE;
		/* The total over all slots must fit an unsigned long. */
		if (ms->nr_memslot_pages + npages < ms->nr_memslot_pages)
			return -EINVAL;
	} else {
		/* Size, hva and read-only-ness of a slot are immutable. */
		if (mem->userspace_addr != old->userspace_addr || npages != old->npages ||
		    ((mem->flags ^ old->flags) & KVM_MEM_READONLY))
			return -EINVAL;

		if (base_gfn != old->base_gfn)
			change = KVM_MR_MOVE;
		else if (mem->flags != old->flags)
			change = KVM_MR_FLAGS_ONLY;
		else
			return 0;	/* nothing to change */
	}

	if ((change == KVM_MR_CREATE || change == KVM_MR_MOVE) &&
	    kvm_check_memslot_overlap(slots, id, base_gfn, base_gfn + npages))
		return -EEXIST;

	/* The struct that will live in the sets. */
	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return -ENOMEM;

	new->as_id = as_id;
	new->id = id;
	new->base_gfn = base_gfn;
	new->npages = npages;
	new->flags = mem->flags;
	new->userspace_addr = mem->userspace_addr;

	r = kvm_set_memslot(ms, old, new, change);
	if (r)
		kfree(new);
	return r;
}

int kvm_set_internal_memslot(struct kvm_vm_memslots *ms,
			     const struct kvm_userspace_memory_region *mem)
{
	if (WARN_ON_ONCE(mem->slot < KVM_USER_MEM_SLOTS))
		return -EINVAL;
	if (WARN_ON_ONCE(mem->flags))
		return -EINVAL;
	return __kvm_set_memory_region(ms, mem);
}

/**
 * kvm_set_memory_region - KVM_SET_USER_MEMORY_REGION
 * @ms:		the VM's memslots
 * @mem:	the uapi request (NULL stands for a faulting user pointer)
 *
 * Creates, deletes, moves or changes the flags of a user memslot.  Takes
 * slots_lock; calls the ops hooks; may sleep.
 *
 * Return: 0 (also for a request identical to the current slot), or KVM's
 * errno for the first rule of the reference's section 5.9 that the request
 * breaks: -EFAULT, -EINVAL, -EIO, -EEXIST, -ENOMEM, or a prepare hook's
 * error.  On failure the memslots are left as they were (a failed DELETE or
 * MOVE has swapped twice, so only the generation moved on).
 */
int kvm_set_memory_region(struct kvm_vm_memslots *ms,
			  const struct kvm_userspace_memory_region *mem)
{
	int r;

	/* copy_from_user() of the argument. */
	if (!mem)
		return -EFAULT;
	/* The v1 ioctl cannot carry the fields of newer flags. */
	if (mem->flags & ~KVM_SET_USER_MEMORY_REGION_V1_FLAGS)
		return -EINVAL;
	if ((u16)mem->slot >= KVM_USER_MEM_SLOTS)
		return -EINVAL;

	mutex_lock(&ms->slots_lock);
	r = __kvm_set_memory_region(ms, mem);
	mutex_unlock(&ms->slots_lock);
	return r;
}

/**
 * kvm_get_user_memory_region - a user memslot as userspace last set it
 * @ms:		the VM's memslots
 * @slot:	(as_id << 16) | id, as in KVM_SET_USER_MEMORY_REGION
 * @out:	filled with the slot's fields (slot, flags, gpa, size, hva)
 *
 * Takes slots_lock, so an update in flight is seen whole or not at all.
 * KVM has no ioctl for this; the answer is what its memslot holds.
 *
 * Return: 0; -EINVAL for an as_id the VM lacks or a non-user id; -ENOENT if
 * no such slot exists.
 */
int kvm_get_user_memory_region(struct kvm_vm_memslots *ms, u32 slot,
			       struct kvm_userspace_memory_region *out)
{
	int as_id = slot >> 16, id = (u16)slot, r = -ENOENT;
	struct kvm_memory_slot *memslot;

	if (as_id >= ms->nr_as || id >= KVM_USER_MEM_SLOTS)
		return -EINVAL;
	mutex_lock(&ms->slots_lock);
	memslot = id_to_memslot(memslots_active_locked(ms, as_id), id);
	if (memslot) {
		*out = (struct kvm_userspace_memory_region){
			.slot = slot,
			.flags = memslot->flags & ~KVM_MEMSLOT_ENCRYPTED,
			.guest_phys_addr = (u64)memslot->base_gfn << PAGE_SHIFT,
			.memory_size = (u64)memslot->npages << PAGE_SHIFT,
			.userspace_addr = memslot->userspace_addr,
		};
		r = 0;
	}
	mutex_unlock(&ms->slots_lock);
	return r;
}

/* ==================== Lookups ==================== */

/**
 * kvm_memslots_as - the active memslot set of an address space
 * @ms:		the VM's memslots
 * @as_id:	0, or 1 for SMM
 *
 * The caller holds srcu_read_lock(&ms->srcu) or slots_lock; the set and its
 * slots stay valid until it drops them.
 *
 * Return: the set (never NULL).
 */
struct kvm_memslots *kvm_memslots_as(struct kvm_vm_memslots *ms, int as_id)
{
	if (WARN_ON_ONCE(as_id < 0 || as_id >= KVM_MAX_NR_ADDRESS_SPACES))
		as_id = 0;
	return srcu_dereference_check(ms->memslots[as_id], &ms->srcu,
				      lockdep_is_held(&ms->slots_lock));
}

struct kvm_memory_slot *id_to_memslot(struct kvm_memslots *slots, int id)
{
	struct kvm_memory_slot *slot;
	int idx = slots->node_idx;

	hlist_for_each_entry(slot, &slots->id_hash[memslot_id_bucket(id)], id_node[idx]) {
		if (slot->id == id)
			return slot;
	}
	return NULL;
}

struct kvm_memory_slot *search_memslots(struct kvm_memslots *slots, gfn_t gfn, bool approx)
{
	int n = slots->nr_slots;
	int pos;

	if (!n)
		return NULL;
	/* The last slot starting at or below @gfn is the only candidate. */
	pos = gfn_slots_bound(slots, n, gfn, true) - 1;
	if (pos >= 0 && is_gfn_in_memslot(slots->gfn_slots[pos], gfn))
		return slots->gfn_slots[pos];
	/* @gfn is in a hole: a slot bordering it. */
	return approx ? slots->gfn_slots[max(pos, 0)] : NULL;
}

struct kvm_memory_slot *__gfn_to_memslot(struct kvm_memslots *slots, gfn_t gfn)
{
	struct kvm_memory_slot *slot;

	slot = (struct kvm_memory_slot *)atomic_long_read(&slots->last_used_slot);
	if (slot && is_gfn_in_memslot(slot, gfn))
		return slot;

	slot = search_memslots(slots, gfn, false);
	if (slot)
		atomic_long_set(&slots->last_used_slot, (long)slot);
	return slot;
}

/**
 * kvm_vcpu_gfn_to_memslot - memslot lookup through a per-vCPU cache
 * @ms:		the VM's memslots
 * @cache:	the vCPU's cache (zero-initialised before first use)
 * @as_id:	the vCPU's address space
 * @gfn:	guest frame to look up
 *
 * Caller is an SRCU reader.  INVALID slots are returned like any other.
 *
 * Return: the slot containing @gfn, or NULL.
 */
struct kvm_memory_slot *kvm_vcpu_gfn_to_memslot(struct kvm_vm_memslots *ms,
						struct kvm_memslot_cache *cache, int as_id,
						gfn_t gfn)
{
	struct kvm_memslots *slots = kvm_memslots_as(ms, as_id);
	u64 gen = kvm_memslots_generation(slots);
	struct kvm_memory_slot *slot;

	/*
	 * Generations differ across address spaces and across every update,
	 * so a cached slot from another set or a freed slot is never used.
	 */
	if (unlikely(gen != cache->last_used_slot_gen)) {
		cache->last_used_slot = NULL;
		cache->last_used_slot_gen = gen;
	}

	slot = cache->last_used_slot;
	if (slot && is_gfn_in_memslot(slot, gfn))
		return slot;

	/* Not __gfn_to_memslot(): don't thrash the VM-wide cache. */
	slot = search_memslots(slots, gfn, false);
	if (slot)
		cache->last_used_slot = slot;
	return slot;
}

void kvm_memslot_iter_start(struct kvm_memslot_iter *iter, struct kvm_memslots *slots,
			    gfn_t start)
{
	int pos;

	iter->slots = slots;
	iter->slot = NULL;

	/* The slot starting at or below @start may still reach into the range. */
	pos = gfn_slots_bound(slots, slots->nr_slots, start, true);
	if (pos > 0) {
		struct kvm_memory_slot *slot = slots->gfn_slots[pos - 1];

		if (slot->base_gfn + slot->npages > start)
			pos--;
	}
	iter->idx = pos;
}

void kvm_memslot_hva_iter_start(struct kvm_memslot_hva_iter *iter, struct kvm_memslots *slots,
				hva_t start, hva_t end)
{
	int lo, hi;

	iter->slots = slots;
	iter->start = start;
	iter->slot = NULL;
	if (start >= end) {
		iter->idx = iter->end_idx = 0;
		return;
	}

	/* Entries at or past end_idx start at or after @end. */
	iter->end_idx = hva_slots_lower(slots, slots->nr_slots, end);

	/* Entries before the first prefix maximum >= @start all end before it. */
	lo = 0;
	hi = iter->end_idx;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (slots->hva_max_last[mid] < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	iter->idx = lo;
}

bool kvm_memslot_hva_iter_next(struct kvm_memslot_hva_iter *iter)
{
	while (iter->idx < iter->end_idx) {
		struct kvm_memory_slot *slot = iter->slots->hva_slots[iter->idx++];

		/* Skip slots nested in hva before a longer one: they end early. */
		if (memslot_hva_last(slot) >= iter->start) {
			iter->slot = slot;
			return true;
		}
	}
	iter->slot = NULL;
	return false;
}

/* ==================== Huge pages ==================== */

static void update_gfn_disallow_lpage_count(const struct kvm_memory_slot *slot, gfn_t gfn,
					    int count)
{
	int level;

	if (WARN_ON_ONCE(!is_gfn_in_memslot(slot, gfn)))
		return;
	for (level = PG_LEVEL_2M; level <= KVM_MAX_HUGEPAGE_LEVEL; level++) {
		struct kvm_lpage_info *linfo = lpage_info_slot(gfn, slot, level);
		int val = READ_ONCE(linfo->disallow_lpage) + count;

		WARN_ON_ONCE(val < 0);
		WRITE_ONCE(linfo->disallow_lpage, val);
	}
}

void kvm_mmu_gfn_disallow_lpage(const struct kvm_memory_slot *slot, gfn_t gfn)
{
	update_gfn_disallow_lpage_count(slot, gfn, 1);
}

void kvm_mmu_gfn_allow_lpage(const struct kvm_memory_slot *slot, gfn_t gfn)
{
	update_gfn_disallow_lpage_count(slot, gfn, -1);
}

int kvm_lpage_max_level(const struct kvm_memory_slot *slot, gfn_t gfn, int max_level)
{
	if (WARN_ON_ONCE(!is_gfn_in_memslot(slot, gfn)))
		return PG_LEVEL_4K;

	for (max_level = min_t(int, max_level, KVM_MAX_HUGEPAGE_LEVEL); max_level > PG_LEVEL_4K;
	     max_level--) {
		if (!READ_ONCE(lpage_info_slot(gfn, slot, max_level)->disallow_lpage))
			return max_level;
	}
	return PG_LEVEL_4K;
}

/* ==================== Dirty logging ==================== */

void mark_page_dirty_in_slot(struct kvm_vm_memslots *ms, const struct kvm_memory_slot *slot,
			     gfn_t gfn)
{
	if (!slot || !kvm_slot_dirty_track_enabled(slot))
		return;
	if (WARN_ON_ONCE(!is_gfn_in_memslot(slot, gfn)))
		return;
	/* No dirty ring in the simulation: always the bitmap. */
	if (slot->dirty_bitmap)
		set_bit(gfn - slot->base_gfn, slot->dirty_bitmap);
}

static void memslots_mmu_lock(struct kvm_vm_memslots *ms)
{
	if (ms->ops && ms->ops->mmu_lock)
		ms->ops->mmu_lock(ms->arch);
}

static void memslots_mmu_unlock(struct kvm_vm_memslots *ms)
{
	if (ms->ops && ms->ops->mmu_unlock)
		ms->ops->mmu_unlock(ms->arch);
}

static void memslots_reprotect(struct kvm_vm_memslots *ms, struct kvm_memory_slot *slot,
			       gfn_t offset, unsigned long mask)
{
	if (ms->ops && ms->ops->enable_log_dirty_pt_masked)
		ms->ops->enable_log_dirty_pt_masked(ms->arch, slot, offset, mask);
}

static void memslots_flush_slot(struct kvm_vm_memslots *ms, struct kvm_memory_slot *slot)
{
	if (ms->ops && ms->ops->flush_remote_tlbs_memslot)
		ms->ops->flush_remote_tlbs_memslot(ms->arch, slot);
}

static void memslots_sync_dirty_log(struct kvm_vm_memslots *ms, struct kvm_memory_slot *slot)
{
	if (ms->ops && ms->ops->sync_dirty_log)
		ms->ops->sync_dirty_log(ms->arch, slot);
}

/*
 * Without manual protect: snapshot and clear each word, re-protect what it
 * held, flush, then copy the snapshot out.  A write after the re-protect
 * faults and is logged for the next call.  With manual protect: copy the
 * live bitmap; clearing and re-protecting is KVM_CLEAR_DIRTY_LOG's job.
 */
static int __kvm_get_dirty_log_protect(struct kvm_vm_memslots *ms, struct kvm_dirty_log *log)
{
	struct kvm_memory_slot *memslot;
	unsigned long *dirty_bitmap, *dirty_bitmap_buffer;
	unsigned long i, n;
	int as_id, id;
	bool flush = false;

	/* Dirty ring tracking is exclusive to dirty log tracking. */
	if (ms->dirty_ring)
		return -ENXIO;

	as_id = log->slot >> 16;
	id = (u16)log->slot;
	if (as_id >= ms->nr_as || id >= KVM_USER_MEM_SLOTS)
		return -EINVAL;

	memslot = id_to_memslot(memslots_active_locked(ms, as_id), id);
	if (!memslot || !memslot->dirty_bitmap)
		return -ENOENT;

	dirty_bitmap = memslot->dirty_bitmap;
	memslots_sync_dirty_log(ms, memslot);

	n = kvm_dirty_bitmap_bytes(memslot);
	dirty_bitmap_buffer = kvm_second_dirty_bitmap(memslot);
	if (ms->manual_dirty_log_protect) {
		/*
		 * KVM copies the live bitmap to user memory while vCPUs set bits
		 * in it.  A byte copy of words others update atomically is a
		 * data race in C, so snapshot each word once; the copy is as
		 * fresh as KVM's, a racing bit is in this one or the next.
		 */
		for (i = 0; i < n / sizeof(long); i++)
			dirty_bitmap_buffer[i] = READ_ONCE(dirty_bitmap[i]);
	} else {
		memset(dirty_bitmap_buffer, 0, n);

		memslots_mmu_lock(ms);
		for (i = 0; i < n / sizeof(long); i++) {
			unsigned long mask;

			if (!READ_ONCE(dirty_bitmap[i]))
				continue;
			flush = true;
			mask = xchg(&dirty_bitmap[i], 0);
			dirty_bitmap_buffer[i] = mask;
			memslots_reprotect(ms, memslot, i * BITS_PER_LONG, mask);
		}
		memslots_mmu_unlock(ms);
	}

	if (flush)
		memslots_flush_slot(ms, memslot);

	/* Bits reaped above are lost on a fault here, as in KVM. */
	if (copy_to_user(log->dirty_bitmap, dirty_bitmap_buffer, n))
		return -EFAULT;
	return 0;
}

/**
 * kvm_get_dirty_log_protect - KVM_GET_DIRTY_LOG
 * @ms:		the VM's memslots
 * @log:	slot and destination bitmap (kvm_dirty_bitmap_bytes() long)
 *
 * Takes slots_lock.  Without manual protect, reaps the bits, calls
 * enable_log_dirty_pt_masked per dirty word between mmu_lock/mmu_unlock,
 * then flush_remote_tlbs_memslot once if anything was dirty.
 *
 * Return: 0; -EINVAL for a bad as_id or id; -ENOENT if the slot does not
 * exist or does not log; -EFAULT for a NULL @log or bitmap.
 */
int kvm_get_dirty_log_protect(struct kvm_vm_memslots *ms, struct kvm_dirty_log *log)
{
	int r;

	if (!log)
		return -EFAULT;
	mutex_lock(&ms->slots_lock);
	r = __kvm_get_dirty_log_protect(ms, log);
	mutex_unlock(&ms->slots_lock);
	return r;
}

static int __kvm_clear_dirty_log_protect(struct kvm_vm_memslots *ms,
					 struct kvm_clear_dirty_log *log)
{
	struct kvm_memory_slot *memslot;
	unsigned long *dirty_bitmap, *dirty_bitmap_buffer;
	unsigned long i, n;
	gfn_t offset;
	int as_id, id;
	bool flush = false;

	if (ms->dirty_ring)
		return -ENXIO;

	as_id = log->slot >> 16;
	id = (u16)log->slot;
	if (as_id >= ms->nr_as || id >= KVM_USER_MEM_SLOTS)
		return -EINVAL;

	/* Whole words only, so that the mask arithmetic below stays aligned. */
	if (log->first_page & 63)
		return -EINVAL;

	memslot = id_to_memslot(memslots_active_locked(ms, as_id), id);
	if (!memslot || !memslot->dirty_bitmap)
		return -ENOENT;

	dirty_bitmap = memslot->dirty_bitmap;

	n = ALIGN((unsigned long)log->num_pages, BITS_PER_LONG) / 8;

	/* A partial last word is allowed only when it is the slot's last. */
	if (log->first_page > memslot->npages ||
	    log->num_pages > memslot->npages - log->first_page ||
	    (log->num_pages < memslot->npages - log->first_page && (log->num_pages & 63)))
		return -EINVAL;

	memslots_sync_dirty_log(ms, memslot);

	dirty_bitmap_buffer = kvm_second_dirty_bitmap(memslot);
	if (copy_from_user(dirty_bitmap_buffer, log->dirty_bitmap, n))
		return -EFAULT;

	memslots_mmu_lock(ms);
	for (offset = log->first_page, i = offset / BITS_PER_LONG,
	     n = DIV_ROUND_UP(log->num_pages, BITS_PER_LONG); n--;
	     i++, offset += BITS_PER_LONG) {
		unsigned long mask = *dirty_bitmap_buffer++;
		atomic_long_t *p = (atomic_long_t *)&dirty_bitmap[i];

		if (!mask)
			continue;

		/*
		 * Only the bits this call really cleared; never bits past the
		 * slot's end, so garbage there in the user's bitmap is harmless.
		 */
		mask &= (unsigned long)atomic_long_fetch_andnot((long)mask, p);
		if (mask) {
			flush = true;
			memslots_reprotect(ms, memslot, offset, mask);
		}
	}
	memslots_mmu_unlock(ms);

	if (flush)
		memslots_flush_slot(ms, memslot);
	return 0;
}

/**
 * kvm_clear_dirty_log_protect - KVM_CLEAR_DIRTY_LOG
 * @ms:		the VM's memslots
 * @log:	slot, page range and the bits to clear
 *
 * Takes slots_lock.  Clears the requested bits that are set and re-protects
 * exactly those pages, then flushes once if any was cleared.
 *
 * Return: 0 or, checked in this order: -EFAULT for a NULL @log; -EINVAL for
 * a bad as_id or id, then for first_page not a multiple of 64; -ENOENT if
 * the slot does not exist or does not log; -EINVAL for a range that leaves
 * the slot or ends mid-word before the slot's end; -EFAULT for a NULL bitmap.
 */
int kvm_clear_dirty_log_protect(struct kvm_vm_memslots *ms, struct kvm_clear_dirty_log *log)
{
	int r;

	if (!log)
		return -EFAULT;
	mutex_lock(&ms->slots_lock);
	r = __kvm_clear_dirty_log_protect(ms, log);
	mutex_unlock(&ms->slots_lock);
	return r;
}

int kvm_memslots_enable_manual_dirty_log_protect(struct kvm_vm_memslots *ms, u64 flags)
{
	u64 allowed = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;

	/* INITIALLY_SET only makes sense with manual protection. */
	if (flags & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
		allowed = KVM_DIRTY_LOG_MANUAL_CAPS;
	if (flags & ~allowed)
		return -EINVAL;

	mutex_lock(&ms->slots_lock);
	ms->manual_dirty_log_protect = flags;
	mutex_unlock(&ms->slots_lock);
	return 0;
}

/* ==================== MMU-notifier handshake ==================== */

void kvm_memslots_mn_invalidate_begin(struct kvm_vm_memslots *ms)
{
	spin_lock(&ms->mn_invalidate_lock);
	ms->mn_active_invalidate_count++;
	spin_unlock(&ms->mn_invalidate_lock);
}

void kvm_memslots_mn_invalidate_end(struct kvm_vm_memslots *ms)
{
	spin_lock(&ms->mn_invalidate_lock);
	if (!WARN_ON_ONCE(!ms->mn_active_invalidate_count))
		ms->mn_active_invalidate_count--;
	spin_unlock(&ms->mn_invalidate_lock);
}

/* ==================== Init / destroy ==================== */

int kvm_memslots_init(struct kvm_vm_memslots *ms, int nr_as, gfn_t max_gfn,
		      const struct kvm_memslot_ops *ops, void *arch)
{
	int i, j, r;

	if (nr_as < 1 || nr_as > KVM_MAX_NR_ADDRESS_SPACES)
		return -EINVAL;

	memset(ms, 0, sizeof(*ms));
	mutex_init(&ms->slots_lock);
	mutex_init(&ms->slots_arch_lock);
	spin_lock_init(&ms->mn_invalidate_lock);
	r = init_srcu_struct(&ms->srcu);
	if (r) {
		mutex_destroy(&ms->slots_arch_lock);
		mutex_destroy(&ms->slots_lock);
		return r;
	}

	/* Every address space gets its sets, so lookups in an unused one are empty. */
	for (i = 0; i < KVM_MAX_NR_ADDRESS_SPACES; i++) {
		for (j = 0; j < 2; j++) {
			struct kvm_memslots *slots = &ms->__memslots[i][j];

			atomic_long_set(&slots->last_used_slot, 0);
			slots->node_idx = j;
			/* Generations must differ across address spaces. */
			slots->generation = i;
		}
		RCU_INIT_POINTER(ms->memslots[i], &ms->__memslots[i][0]);
	}

	ms->nr_as = nr_as;
	ms->max_gfn = max_gfn;
	ms->ops = ops;
	ms->arch = arch;
	return 0;
}

int kvm_memslots_set_first_generation(struct kvm_vm_memslots *ms, u64 first)
{
	int i, j;

	if (first % ms->nr_as || first >= KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS)
		return -EINVAL;
	mutex_lock(&ms->slots_lock);
	/* Only before the first update: a cached generation would go stale. */
	for (i = 0; i < KVM_MAX_NR_ADDRESS_SPACES; i++) {
		for (j = 0; j < 2; j++) {
			if (ms->__memslots[i][j].generation != (u64)i) {
				mutex_unlock(&ms->slots_lock);
				return -EBUSY;
			}
		}
	}
	for (i = 0; i < KVM_MAX_NR_ADDRESS_SPACES; i++)
		for (j = 0; j < 2; j++)
			WRITE_ONCE(ms->__memslots[i][j].generation, first + i);
	mutex_unlock(&ms->slots_lock);
	return 0;
}

void kvm_memslots_destroy(struct kvm_vm_memslots *ms)
{
	int i, j;

	for (i = 0; i < KVM_MAX_NR_ADDRESS_SPACES; i++) {
		/* Both sets hold the same slots once an update has completed. */
		struct kvm_memslots *slots = rcu_access_pointer(ms->memslots[i]);
		int n = slots->nr_slots;

		for (j = 0; j < n; j++)
			kvm_free_memslot(ms, slots->gfn_slots[j]);

		for (j = 0; j < 2; j++) {
			kvfree(ms->__memslots[i][j].gfn_slots);
			ms->__memslots[i][j].gfn_slots = NULL;
			ms->__memslots[i][j].nr_slots = 0;
			ms->__memslots[i][j].capacity = 0;
		}
	}
	memslots_free_spare(ms);
	cleanup_srcu_struct(&ms->srcu);
	mutex_destroy(&ms->slots_arch_lock);
	mutex_destroy(&ms->slots_lock);
}
