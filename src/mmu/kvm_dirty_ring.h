/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The dirty ring (virt/kvm/dirty_ring.c, KVM_CAP_DIRTY_LOG_RING): per-vCPU
 * rings of struct kvm_dirty_gfn shared with userspace, instead of the
 * per-memslot dirty bitmap.
 *
 * Protocol (Documentation/virt/kvm/api.rst, "dirty ring"): the vCPU pushes
 * {slot, offset} and publishes the entry by setting KVM_DIRTY_GFN_F_DIRTY
 * (release); userspace collects it and sets KVM_DIRTY_GFN_F_RESET; then
 * KVM_RESET_DIRTY_RINGS walks each ring from reset_index, re-arms dirty
 * tracking for the collected gfns (coalesced into 64-page masks) and
 * clears the flags.  When a ring holds soft_limit entries (its size minus
 * KVM_DIRTY_RING_RSVD_ENTRIES, which absorb writes already in flight) the
 * vCPU exits with KVM_EXIT_DIRTY_RING_FULL at every entry until reset.
 *
 * Rules: only the vCPU's own thread pushes (mark_page_dirty_in_slot()
 * from vCPU context); resets run under slots_lock, concurrently with
 * pushes, and touch only entries userspace has marked reset.
 */
#ifndef _MMUSIM_MMU_KVM_DIRTY_RING_H
#define _MMUSIM_MMU_KVM_DIRTY_RING_H

#include "mmusim_env.h"
#include <linux/kvm.h>

/* include/linux/kvm_dirty_ring.h; with PML, a CPU log's worth more is reserved. */
#define KVM_DIRTY_RING_RSVD_ENTRIES 64
#define KVM_DIRTY_RING_MAX_ENTRIES 65536
#define KVM_DIRTY_LOG_PAGE_OFFSET 64	/* x86: the ring's page offset in the vCPU mmap */

struct kvm_dirty_ring {
	u32 dirty_index;	/* next entry to push */
	u32 reset_index;	/* next entry to reset */
	u32 size;		/* entries, a power of two */
	u32 soft_limit;
	struct kvm_dirty_gfn *dirty_gfns;
	int index;		/* the vCPU's index */
};

struct kvm;
struct kvm_memory_slot;

u32 kvm_dirty_ring_get_rsvd_entries(struct kvm *kvm);
int kvm_dirty_ring_alloc(struct kvm *kvm, struct kvm_dirty_ring *ring, int index, u32 size);
void kvm_dirty_ring_free(struct kvm_dirty_ring *ring);
/* Returns the number of entries reset; slots_lock held. */
int kvm_dirty_ring_reset(struct kvm *kvm, struct kvm_dirty_ring *ring);
/* Returns true when the ring has become soft full (the caller requests the exit). */
bool kvm_dirty_ring_push(struct kvm_dirty_ring *ring, u32 slot, u64 offset);
bool kvm_dirty_ring_soft_full(struct kvm_dirty_ring *ring);

#endif /* _MMUSIM_MMU_KVM_DIRTY_RING_H */
