/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The legacy ("shadow") MMU for direct TDP mappings: KVM with tdp_mmu=N.
 * See shadow_mmu.c for the theory of operation and docs/legacy-mmu.md.
 *
 * Every function here runs with mmu_lock held for write unless its comment
 * says otherwise.
 */
#ifndef _MMUSIM_MMU_SHADOW_MMU_H
#define _MMUSIM_MMU_SHADOW_MMU_H

#include "mmu/mmu_internal.h"
#include "mmu/rmap.h"
#include "mmu/tdp_mmu.h"	/* struct kvm_tdp_mmu_walk_cb, shared with the checker */

/* The shadow-page hash: 4096 buckets by gfn, as KVM's mmu_page_hash. */
#define KVM_MMU_HASH_SHIFT 12
#define KVM_NUM_MMU_PAGES (1 << KVM_MMU_HASH_SHIFT)

/* An rmap list longer than this is zapped whole (KVM's rmap recycling). */
#define RMAP_RECYCLE_THRESHOLD 1000

/* VM setup and teardown (no lock; uninit after kvm_shadow_mmu_zap_all()). */
int kvm_mmu_init_shadow_mmu(struct kvm *kvm);
void kvm_mmu_uninit_shadow_mmu(struct kvm *kvm);

/* A shadow page (or root) of an older generation, or zapped. Any lock. */
static inline bool is_obsolete_sp(struct kvm *kvm, struct kvm_mmu_page *sp)
{
	union kvm_mmu_page_role role = { .word = READ_ONCE(sp->role.word) };

	return role.invalid || READ_ONCE(sp->mmu_valid_gen) != READ_ONCE(kvm->mmu_valid_gen);
}

/* Roots. */
int mmu_alloc_direct_roots(struct kvm_vcpu *vcpu, int as_id);
void mmu_free_root_page(struct kvm *kvm, struct kvm_mmu_page **rootp,
			struct list_head *invalid_list);
void kvm_mmu_commit_zap_page(struct kvm *kvm, struct list_head *invalid_list);
/* Unhook @sp and queue it on @invalid_list for kvm_mmu_commit_zap_page(). */
bool kvm_mmu_prepare_zap_page(struct kvm *kvm, struct kvm_mmu_page *sp,
			      struct list_head *invalid_list);

/* The fault path: fault->goal_level and fault->pfn are final. */
int direct_map(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault);

/*
 * Lockless walk (caller holds rcu_read_lock()) of the vCPU's root for
 * @as_id: the last SPTE on the path to @gfn, its value in *@spte and its
 * level in *@level; NULL if the vCPU has no root.
 */
u64 *fast_pf_get_last_sptep(struct kvm_vcpu *vcpu, int as_id, gfn_t gfn, u64 *spte,
			    int *level);

/* Zapping through the rmap; each returns whether a TLB flush is owed. */
bool __kvm_rmap_zap_gfn_range(struct kvm *kvm, const struct kvm_memory_slot *slot, gfn_t start,
			      gfn_t end, bool can_yield, bool flush);
/*
 * Every memslot of @as_id (-1: of every address space, as 6.12's
 * kvm_rmap_zap_gfn_range()) that intersects [start, end); caller holds SRCU
 * or slots_lock.
 */
bool kvm_rmap_zap_gfn_range(struct kvm *kvm, int as_id, gfn_t start, gfn_t end);

/* Zap-all (teardown, ->release) and the fast zap (new generation). */
void kvm_shadow_mmu_zap_all(struct kvm *kvm);
void kvm_shadow_mmu_zap_all_fast(struct kvm *kvm);

/* Dirty logging: clear W (not MMU-writable) on the slot's leaves at >= @start_level. */
bool kvm_shadow_mmu_slot_remove_write_access(struct kvm *kvm, const struct kvm_memory_slot *slot,
					     int start_level);
/* The harvest: write-protect the 4K pages of @mask (bit i = base + gfn_offset + i). */
bool kvm_shadow_mmu_gfn_write_protect(struct kvm *kvm, const struct kvm_memory_slot *slot,
				      gfn_t gfn, int min_level);
void kvm_mmu_write_protect_pt_masked(struct kvm *kvm, struct kvm_memory_slot *slot,
				     gfn_t gfn_offset, unsigned long mask);

/* Aging through the rmap: clear A, or access-track (EPT without A/D bits). */
bool kvm_rmap_age_gfn_range(struct kvm *kvm, struct kvm_gfn_range *range, bool test_only);

/*
 * Checker and dump.  for_each_leaf visits every present leaf of every
 * shadow page on the active list (orphaned tables included: they stay on
 * the rmaps); invalid_root is true for obsolete pages.  The audit checks
 * that every leaf is on the rmap of its memslot, gfn and level, and that
 * the rmaps hold nothing else.  Both with mmu_lock held (write) and SRCU.
 */
/* PML-mode dirty logging: clear D on the slot's 4K leaves / on masked gfns (write lock). */
bool kvm_shadow_mmu_slot_leaf_clear_dirty(struct kvm *kvm, const struct kvm_memory_slot *slot);
void kvm_mmu_clear_dirty_pt_masked(struct kvm *kvm, struct kvm_memory_slot *slot,
				   gfn_t gfn_offset, unsigned long mask);
/* Dirty logging off: zap leaves that could now be mapped huge (mmu_lock for write). */
bool kvm_shadow_mmu_zap_collapsible_sptes(struct kvm *kvm, const struct kvm_memory_slot *slot);
/* Drops every leaf of @slot, zapped-pinned ones too (their pins go); mmu_lock for write. */
bool kvm_shadow_mmu_zap_memslot(struct kvm *kvm, const struct kvm_memory_slot *slot);
int kvm_shadow_mmu_for_each_leaf(struct kvm *kvm, struct kvm_tdp_mmu_walk_cb *cb);
int kvm_shadow_mmu_audit_rmaps(struct kvm *kvm, u64 nr_leaves, char *msg, size_t msg_size);
/* Takes mmu_lock itself. */
int kvm_shadow_mmu_dump(struct kvm *kvm, char *buf, size_t size);

#endif /* _MMUSIM_MMU_SHADOW_MMU_H */
