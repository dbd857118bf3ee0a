// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dirty ring: allocation, push, and the reset that re-arms dirty
 * tracking for what userspace collected (see kvm_dirty_ring.h for the
 * protocol).  As Linux 6.12's virt/kvm/dirty_ring.c.
 */
#include "mmusim_env.h"
#include "mmu/mmu_internal.h"

/*
 * The entries a soft-full ring keeps free: the writes in flight, plus a
 * whole CPU log (PML) that one flush may push (kvm_cpu_dirty_log_size()).
 */
u32 kvm_dirty_ring_get_rsvd_entries(struct kvm *kvm)
{
	return KVM_DIRTY_RING_RSVD_ENTRIES + (kvm->pml ? PML_ENTITY_NUM : 0);
}

static u32 kvm_dirty_ring_used(struct kvm_dirty_ring *ring)
{
	return READ_ONCE(ring->dirty_index) - READ_ONCE(ring->reset_index);
}

bool kvm_dirty_ring_soft_full(struct kvm_dirty_ring *ring)
{
	return kvm_dirty_ring_used(ring) >= ring->soft_limit;
}

static bool kvm_dirty_ring_full(struct kvm_dirty_ring *ring)
{
	return kvm_dirty_ring_used(ring) >= ring->size;
}

int kvm_dirty_ring_alloc(struct kvm *kvm, struct kvm_dirty_ring *ring, int index, u32 size)
{
	ring->dirty_gfns = vzalloc(size);
	if (!ring->dirty_gfns)
		return -ENOMEM;
	ring->size = size / sizeof(struct kvm_dirty_gfn);
	ring->soft_limit = ring->size - kvm_dirty_ring_get_rsvd_entries(kvm);
	ring->dirty_index = 0;
	ring->reset_index = 0;
	ring->index = index;
	return 0;
}

void kvm_dirty_ring_free(struct kvm_dirty_ring *ring)
{
	vfree(ring->dirty_gfns);
	ring->dirty_gfns = NULL;
}

static void kvm_dirty_gfn_set_invalid(struct kvm_dirty_gfn *gfn)
{
	smp_store_release(&gfn->flags, 0);
}

static bool kvm_dirty_gfn_harvested(struct kvm_dirty_gfn *gfn)
{
	return smp_load_acquire(&gfn->flags) & KVM_DIRTY_GFN_F_RESET;
}

/*
 * Re-arm tracking for @mask at @offset of @slot ((as_id << 16) | id).
 * Userspace wrote the entry: a slot or offset that no longer exists (the
 * slot was deleted or shrunk since) is ignored, as KVM does.
 */
static void kvm_reset_dirty_gfn(struct kvm *kvm, u32 slot, u64 offset, u64 mask)
{
	struct kvm_memory_slot *memslot;
	int as_id = slot >> 16, id = (u16)slot;

	if (!mask)
		return;
	if (as_id >= kvm_arch_nr_memslot_as_ids(kvm) || id >= KVM_USER_MEM_SLOTS)
		return;
	memslot = id_to_memslot(kvm_memslots_as(&kvm->slots, as_id), id);
	if (!memslot || offset >= memslot->npages || offset + __fls(mask) >= memslot->npages)
		return;
	kvm_mmu_reset_dirty_gfns(kvm, memslot, offset, mask);
}

int kvm_dirty_ring_reset(struct kvm *kvm, struct kvm_dirty_ring *ring)
{
	u32 cur_slot = 0, next_slot;
	u64 cur_offset = 0, next_offset;
	unsigned long mask = 0;
	struct kvm_dirty_gfn *entry;
	bool first_round = true;
	int count = 0;

	lockdep_assert_held(&kvm->slots.slots_lock);
	for (;;) {
		entry = &ring->dirty_gfns[ring->reset_index & (ring->size - 1)];
		if (!kvm_dirty_gfn_harvested(entry))
			break;
		next_slot = READ_ONCE(entry->slot);
		next_offset = READ_ONCE(entry->offset);
		kvm_dirty_gfn_set_invalid(entry);
		WRITE_ONCE(ring->reset_index, ring->reset_index + 1);
		count++;

		/* Coalesce a scan of one slot into masks of 64 pages. */
		if (!first_round && next_slot == cur_slot) {
			s64 delta = next_offset - cur_offset;

			if (delta >= 0 && delta < BITS_PER_LONG) {
				mask |= 1ull << delta;
				continue;
			}
			/* Backwards, as long as no bit falls off the top. */
			if (delta > -BITS_PER_LONG && delta < 0 && (mask << -delta >> -delta) == mask) {
				cur_offset = next_offset;
				mask = (mask << -delta) | 1;
				continue;
			}
		}
		kvm_reset_dirty_gfn(kvm, cur_slot, cur_offset, mask);
		cur_slot = next_slot;
		cur_offset = next_offset;
		mask = 1;
		first_round = false;
	}
	kvm_reset_dirty_gfn(kvm, cur_slot, cur_offset, mask);
	return count;
}

bool kvm_dirty_ring_push(struct kvm_dirty_ring *ring, u32 slot, u64 offset)
{
	struct kvm_dirty_gfn *entry;

	/* The reserved entries keep it from ever filling up. */
	WARN_ON_ONCE(kvm_dirty_ring_full(ring));
	entry = &ring->dirty_gfns[ring->dirty_index & (ring->size - 1)];
	entry->slot = slot;
	entry->offset = offset;
	/*
	 * The entry is complete before userspace can see it dirty: KVM's
	 * smp_wmb() and plain store, as a release (which the sanitizers see).
	 */
	smp_store_release(&entry->flags, KVM_DIRTY_GFN_F_DIRTY);
	WRITE_ONCE(ring->dirty_index, ring->dirty_index + 1);
	return kvm_dirty_ring_soft_full(ring);
}
