/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * struct kvm_mmu_page and the page-fault descriptor shared by the fault path
 * (mmu.c) and the TDP MMU (tdp_mmu.c).
 *
 * A kvm_mmu_page ("sp") describes one 4 KiB page-table page (sp->spt).  As
 * in KVM, the table page's struct page points back at the sp
 * (page_private), which is how a table reached through an SPTE is mapped to
 * its sp (sptep_to_sp()).
 */
#ifndef _MMUSIM_MMU_INTERNAL_H
#define _MMUSIM_MMU_INTERNAL_H

#include "mmu/kvm_host.h"

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

struct kvm_mmu_page {
	struct list_head link;		/* in kvm->tdp_mmu_roots, for roots */
	struct rcu_head rcu_head;	/* deferred free of spt and this header */
	bool tdp_mmu_page;
	bool tdp_mmu_scheduled_root_to_zap;
	union kvm_mmu_page_role role;
	gfn_t gfn;			/* first gfn mapped by this table */
	u64 *spt;			/* the table: 512 SPTEs */
	refcount_t tdp_mmu_root_count;	/* roots only */
	tdp_ptep_t ptep;		/* parent SPTE pointing at this table */
};

static inline int kvm_mmu_role_as_id(union kvm_mmu_page_role role)
{
	return role.smm ? 1 : 0;
}

static inline int kvm_mmu_page_as_id(struct kvm_mmu_page *sp)
{
	return kvm_mmu_role_as_id(sp->role);
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

	gfn_t gfn;
	int as_id;
	struct kvm_memory_slot *slot;

	/* Outputs of kvm_mmu_faultin_pfn(). */
	unsigned long mmu_seq;
	kvm_pfn_t pfn;
	hva_t hva;
	bool map_writable;
	bool refcounted_page;
	struct sim_page *page;	/* reference dropped after the fault */
	bool noslot;		/* no memslot: MMIO */
};

static inline struct kvm_mmu_page *sptep_to_sp(u64 *sptep)
{
	return (struct kvm_mmu_page *)page_private(virt_to_page(sptep));
}

static inline bool is_invalid_root(struct kvm_mmu_page *root)
{
	union kvm_mmu_page_role role = { .word = READ_ONCE(root->role.word) };

	return role.invalid;
}

#define KVM_PFN_NOSLOT (~(kvm_pfn_t)0)

#endif /* _MMUSIM_MMU_INTERNAL_H */
