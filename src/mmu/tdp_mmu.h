/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _MMUSIM_MMU_TDP_MMU_H
#define _MMUSIM_MMU_TDP_MMU_H

#include "mmu/mmu_internal.h"
#include "mmu/tdp_iter.h"

void kvm_mmu_init_tdp_mmu(struct kvm *kvm);
void kvm_mmu_uninit_tdp_mmu(struct kvm *kvm);

static inline __must_check bool kvm_tdp_mmu_get_root(struct kvm_mmu_page *root)
{
	return refcount_inc_not_zero(&root->tdp_mmu_root_count);
}

int kvm_tdp_mmu_alloc_root(struct kvm_vcpu *vcpu, int as_id);
void kvm_tdp_mmu_put_root(struct kvm *kvm, struct kvm_mmu_page *root);

int kvm_tdp_mmu_map(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault);

bool kvm_tdp_mmu_zap_leafs(struct kvm *kvm, int as_id, gfn_t start, gfn_t end, bool flush);
bool kvm_tdp_mmu_zap_memslot(struct kvm *kvm, const struct kvm_memory_slot *slot);
bool kvm_tdp_mmu_unmap_gfn_range(struct kvm *kvm, int as_id, gfn_t start, gfn_t end,
				 bool may_block, bool flush);
void kvm_tdp_mmu_zap_all(struct kvm *kvm);
void kvm_tdp_mmu_invalidate_roots(struct kvm *kvm);
void kvm_tdp_mmu_zap_invalidated_roots(struct kvm *kvm, bool shared);

bool kvm_tdp_mmu_age_gfn_range(struct kvm *kvm, int as_id, gfn_t start, gfn_t end);
bool kvm_tdp_mmu_test_age_gfn(struct kvm *kvm, int as_id, gfn_t start, gfn_t end);

bool kvm_tdp_mmu_wrprot_slot(struct kvm *kvm, const struct kvm_memory_slot *slot, int min_level);
bool kvm_tdp_mmu_write_protect_gfn(struct kvm *kvm, const struct kvm_memory_slot *slot, gfn_t gfn,
				   int min_level);
/* PML-mode logging: clear D on every leaf of @slot (mmu_lock for read). */
bool kvm_tdp_mmu_clear_dirty_slot(struct kvm *kvm, const struct kvm_memory_slot *slot);
/* NX recovery: zap the table @sp (mmu_lock for write, RCU). */
bool kvm_tdp_mmu_zap_sp(struct kvm *kvm, struct kvm_mmu_page *sp);
/*
 * After dirty logging: tables that could be huge pages become huge leaves
 * again (@in_place, 6.13) or are zapped for faults to rebuild (6.12).
 */
void kvm_tdp_mmu_recover_huge_pages(struct kvm *kvm, const struct kvm_memory_slot *slot,
				    bool in_place);
/* Eager page splitting: huge leaves of @slot in [start, end) down to @target_level. */
void kvm_tdp_mmu_try_split_huge_pages(struct kvm *kvm, const struct kvm_memory_slot *slot,
				      gfn_t start, gfn_t end, int target_level, bool shared);
void kvm_tdp_mmu_clear_dirty_pt_masked(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t gfn,
				       unsigned long mask, bool wrprot);

/* Lockless walk for fast_page_fault() and the MMIO path: caller holds RCU. */
u64 *kvm_tdp_mmu_fast_pf_get_last_sptep(struct kvm_vcpu *vcpu, int as_id, gfn_t gfn, u64 *spte,
					int *level);

/* Debug and checker helpers. */
struct kvm_tdp_mmu_walk_cb {
	/* Called for each present leaf; return nonzero to stop the walk. */
	int (*leaf)(struct kvm_tdp_mmu_walk_cb *cb, int as_id, gfn_t gfn, u64 spte, int level,
		    bool invalid_root);
};
int kvm_tdp_mmu_for_each_leaf(struct kvm *kvm, struct kvm_tdp_mmu_walk_cb *cb);
int kvm_tdp_mmu_dump(struct kvm *kvm, char *buf, size_t size);

#endif /* _MMUSIM_MMU_TDP_MMU_H */
