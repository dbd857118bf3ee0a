/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * struct kvm_mmu_page and the page-fault descriptor shared by the fault path
 * (mmu.c) and the TDP MMU (tdp_mmu.c).
 *
 * A kvm_mmu_page ("sp") describes one 4 KiB page-table page (sp->spt).  As
 * in KVM, the table page's struct page points back at the sp
 * (page_private), which is how a table reached through an SPTE is mapped to
 * its sp (sptep_to_sp()).
 *
 * The same struct serves both MMUs.  TDP MMU pages use link (roots only),
 * tdp_mmu_root_count and ptep; legacy (shadow MMU) pages use link (on
 * kvm->active_mmu_pages or a list of zapped pages), hash_link, root_count,
 * mmu_valid_gen and parent_ptes, all under mmu_lock held for write.
 */
#ifndef _MMUSIM_MMU_INTERNAL_H
#define _MMUSIM_MMU_INTERNAL_H

#include "mmu/kvm_host.h"
#include "pfn/kvm_pfn.h"

union kvm_mmu_page_role {
	u32 word;
	struct {
		unsigned level : 4;
		unsigned direct : 1;
		unsigned access : 3;
		unsigned invalid : 1;
		unsigned ad_disabled : 1;
		unsigned guest_mode : 1;
		unsigned smm : 8;
	};
};

/*
 * The head of a reverse-map list (rmap.h): 0 = empty, a u64 *sptep, or a
 * struct pte_list_desc pointer with KVM_RMAP_MANY set.  KVM before 6.15 (no
 * rmap bit-lock).  Used per gfn and level in memslots, and for the
 * parent_ptes of a shadow page.
 */
struct kvm_rmap_head {
	unsigned long val;
};

struct kvm_mmu_page {
	/*
	 * TDP MMU: in kvm->tdp_mmu_roots, for roots.  Legacy MMU: in
	 * kvm->active_mmu_pages (newest first), or on an invalid list once
	 * zapped, or on neither when it is an invalid root still in use.
	 */
	struct list_head link;
	struct hlist_node hash_link;	/* legacy: in kvm->mmu_page_hash */
	struct rcu_head rcu_head;	/* deferred free of spt and this header */
	bool tdp_mmu_page;
	bool tdp_mmu_scheduled_root_to_zap;
	/*
	 * Made by an exec fault with the NX huge page workaround on, where a
	 * huge page could have been: faults must not map a huge page over it
	 * (disallowed_hugepage_adjust()).  If it is the only thing keeping a
	 * huge page out, it is also on kvm->possible_nx_huge_pages (linked
	 * here), where NX recovery finds it to zap.  The list is changed under
	 * mmu_lock for write, or for read plus tdp_mmu_pages_lock.
	 */
	bool nx_huge_page_disallowed;
	struct list_head possible_nx_huge_page_link;
	union kvm_mmu_page_role role;
	gfn_t gfn;			/* first gfn mapped by this table */
	u64 *spt;			/* the table: 512 SPTEs */
	union {
		int root_count;			/* legacy: vCPUs using it as a root */
		refcount_t tdp_mmu_root_count;	/* TDP MMU roots only */
	};
	unsigned long mmu_valid_gen;	/* legacy: kvm->mmu_valid_gen when created */
	struct kvm_rmap_head parent_ptes; /* legacy: SPTEs pointing at this table */
	tdp_ptep_t ptep;		/* TDP MMU: parent SPTE pointing at this table */
};

static inline bool is_tdp_mmu_page(struct kvm_mmu_page *sp)
{
	return sp->tdp_mmu_page;
}

static inline int kvm_mmu_role_as_id(union kvm_mmu_page_role role)
{
	return role.smm ? 1 : 0;
}

/*
 * The role of a page that other threads may walk while role.invalid is
 * being set (root invalidation, zapping a root in use): read the word once.
 */
static inline union kvm_mmu_page_role kvm_mmu_page_role(struct kvm_mmu_page *sp)
{
	union kvm_mmu_page_role role = { .word = READ_ONCE(sp->role.word) };

	return role;
}

static inline int kvm_mmu_page_as_id(struct kvm_mmu_page *sp)
{
	return kvm_mmu_role_as_id(kvm_mmu_page_role(sp));
}

struct kvm_page_fault {
	/* Arguments to the fault handler. */
	gpa_t addr;
	u64 error_code;
	bool prefetch;
	bool exec;
	bool write;
	bool present;
	bool rsvd;

	/* Derived from error_code and the memslot. */
	int max_level;		/* highest level allowed by the caller */
	int req_level;		/* min(max_level, lpage_info, host mapping level) */
	int goal_level;		/* level the SPTE is installed at */
	bool nx_huge_page_workaround_enabled;	/* is_nx_huge_page_enabled() */
	bool huge_page_disallowed;		/* exec fault with the workaround on */

	gfn_t gfn;
	int as_id;
	struct kvm_memory_slot *slot;

	/* Outputs of kvm_mmu_faultin_pfn(). */
	unsigned long mmu_seq;
	kvm_pfn_t pfn;
	hva_t hva;
	bool map_writable;
	bool is_refcounted_page;		/* v9: KVM holds refcounted_page */
	struct sim_page *refcounted_page;	/* released after the fault; NULL: none held */
	bool noslot;		/* no memslot: MMIO */
};

static inline struct kvm_mmu_page *sptep_to_sp(u64 *sptep)
{
	return (struct kvm_mmu_page *)page_private(virt_to_page(sptep));
}

/* The table a present non-leaf SPTE points to. */
static inline struct kvm_mmu_page *spte_to_child_sp(u64 spte)
{
	return sptep_to_sp((u64 *)__va(spte_to_pfn(spte) << PAGE_SHIFT));
}

static inline bool is_invalid_root(struct kvm_mmu_page *root)
{
	return kvm_mmu_page_role(root).invalid;
}

/* mmu.c */
void disallowed_hugepage_adjust(struct kvm_page_fault *fault, u64 spte, int cur_level);
void track_possible_nx_huge_page(struct kvm *kvm, struct kvm_mmu_page *sp);
void kvm_recover_nx_huge_pages(struct kvm *kvm);
/* The recovery worker thread, if the VM has a period (kvm_main.c create/destroy). */
int kvm_mmu_start_nx_recovery(struct kvm *kvm);
void kvm_mmu_stop_nx_recovery(struct kvm *kvm);
void untrack_possible_nx_huge_page(struct kvm *kvm, struct kvm_mmu_page *sp);
/* The largest level @gfn may be mapped at: lpage_info and the host mapping (mmu_lock held). */
int kvm_mmu_max_mapping_level(struct kvm *kvm, const struct kvm_memory_slot *slot, gfn_t gfn,
			      int max_level);
/*
 * v9 (and 6.6): an SPTE change that drops an accessed or dirty state tells
 * the page, if the SPTE says KVM may touch it (SPTE_MMU_PAGE_REFCOUNTED).
 * Nothing in the 6.13 model, where pages learn their state at release.
 */
void kvm_spte_set_pfn_accessed(struct kvm *kvm, u64 old_spte);
void kvm_spte_set_pfn_dirty(struct kvm *kvm, u64 old_spte);
/* Both at once, for a leaf that goes away or changes pfn (mmu_spte_clear_track_bits()). */
void kvm_spte_release_ad(struct kvm *kvm, u64 old_spte);
/* Runs the hook mmusim_vm_race_next_fault() armed for @point, once (mmu.c). */
void kvm_mmu_fault_race_point(struct kvm *kvm, int point, gfn_t gfn);
/*
 * A race point past the public ones, for the unit tests (which arm it
 * through kvm->fault_race directly): lockless aging has read a young leaf
 * and is about to age it.  The hook runs inside aging's RCU read side, so it
 * must not sleep; public race hooks may (they run host events).
 */
#define KVM_MMU_RACE_AGE MMUSIM_FAULT_RACE_NR
/*
 * Likewise: the dirty-log harvest (clear_dirty_pt_masked()) has read a 4K
 * leaf it will write-protect.  mmu_lock is held for write and RCU for read:
 * the hook may only do what lockless paths do (aging, the CPU's A/D).
 */
#define KVM_MMU_RACE_HARVEST (MMUSIM_FAULT_RACE_NR + 1)

#endif /* _MMUSIM_MMU_INTERNAL_H */
