/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * struct kvm and struct kvm_vcpu as the simulated MMU sees them.
 *
 * Only the state the x86 MMU touches is modelled: mmu_lock, the memslots
 * (with their SRCU), the MMU-notifier invalidation protocol, the TDP MMU's
 * root list, the legacy MMU's shadow pages (hash, active list, generation),
 * stats, vCPU requests and the vCPU's view of its root.  Field
 * names follow include/linux/kvm_host.h and arch/x86/include/asm/kvm_host.h,
 * flattened (kvm->arch.tdp_mmu_roots becomes kvm->tdp_mmu_roots).
 *
 * Locking summary (details at each function):
 *  - mmu_lock (rwlock_t): read for TDP MMU faults, aging fix-ups of the
 *    fault path and fast zap of invalidated roots; write for notifier zaps,
 *    zap-all, root invalidation and dirty-log harvesting.  The legacy MMU
 *    (tdp_mmu_enabled false) takes it for write for everything, faults,
 *    root loads and aging included; see shadow_mmu.c.
 *  - slots.slots_lock (mutex) serialises memslot updates; slots.srcu
 *    protects memslot readers, and the fault path holds it across GUP.
 *  - tdp_mmu_pages_lock (spinlock) protects writes to the root list.
 *  - The invalidation counters are written under mmu_lock held for write
 *    and read by faults under mmu_lock held for read (plus one unlocked
 *    early check, as in KVM).
 */
#ifndef _MMUSIM_MMU_KVM_HOST_H
#define _MMUSIM_MMU_KVM_HOST_H

#include "mmusim_env.h"
#include <mmusim/host.h>
#include <mmusim/vm.h>
#include "mmu/spte.h"
#include "mmu/kvm_memslots.h"
#include "mmu/kvm_dirty_ring.h"
#include "vcpu/x86.h"
#include "msr/msr.h"

#define KVM_MAX_VCPUS 256
#define KVM_VCPU_MAX_MAPS 8
#define PML_ENTITY_NUM 512	/* entries of a VMX page-modification log */

struct kvm_host_map;

/* mmusim_vm_config.pfn_model: which upstream's pfn semantics (src/pfn/kvm_pfn.h). */
enum kvm_pfn_model {
	KVM_PFN_MODEL_6_13 = MMUSIM_PFN_MODEL_6_13,
	KVM_PFN_MODEL_V9 = MMUSIM_PFN_MODEL_V9,
};
#define INVALID_GPA (~(gpa_t)0)

/* Page-fault error code bits (arch/x86/include/asm/kvm_host.h). */
#define PFERR_PRESENT_MASK BIT_ULL(0)
#define PFERR_WRITE_MASK BIT_ULL(1)
#define PFERR_USER_MASK BIT_ULL(2)
#define PFERR_RSVD_MASK BIT_ULL(3)
#define PFERR_FETCH_MASK BIT_ULL(4)
#define PFERR_GUEST_FINAL_MASK BIT_ULL(32)

/* Page-fault handler results (mmu_internal.h). */
enum {
	RET_PF_CONTINUE = 0,
	RET_PF_RETRY,
	RET_PF_EMULATE,
	RET_PF_WRITE_PROTECTED,
	RET_PF_INVALID,
	RET_PF_FIXED,
	RET_PF_SPURIOUS,
	/*
	 * Pinned-SPTE RFC: mmu_set_spte() brought a zapped-pinned leaf back
	 * (same pfn, same pin, rmap kept); direct_map() reports it as FIXED.
	 */
	RET_PF_UNZAPPED,
};

/*
 * The pte_list_desc objects one legacy fault may need: the leaf's rmap, a
 * parent_ptes entry per level linked, and the prefetched neighbours'
 * rmaps (KVM's 1 + PT64_ROOT_MAX_LEVEL + PTE_PREFETCH_NUM).
 */
#define PTE_PREFETCH_NUM 8
#define KVM_PTE_LIST_DESC_CACHE_MIN (1 + PT64_ROOT_MAX_LEVEL + PTE_PREFETCH_NUM)
struct kvm_mmu_desc_cache {
	int nobjs;
	void *objects[KVM_PTE_LIST_DESC_CACHE_MIN];
};

/*
 * A gfn range of one memslot that an MMU-wide operation (notifier zap,
 * aging) applies to (include/linux/kvm_host.h).
 */
struct kvm_gfn_range {
	struct kvm_memory_slot *slot;
	gfn_t start;
	gfn_t end;
	bool may_block;
};

/* vCPU requests. */
#define KVM_REQ_TLB_FLUSH 0
#define KVM_REQ_MMU_FREE_OBSOLETE_ROOTS 1
#define KVM_REQ_DIRTY_RING_SOFT_FULL 2
#define KVM_REQ_MSR_FILTER_CHANGED 3

enum { OUTSIDE_GUEST_MODE, IN_GUEST_MODE };

struct kvm_vm_stat {
	atomic64_t pages[KVM_NR_PAGE_SIZES]; /* pages_4k, pages_2m, pages_1g: leaf SPTEs */
	atomic64_t remote_tlb_flush;
	atomic64_t remote_tlb_flush_requests;
	atomic64_t mmu_shadow_zapped;
	atomic64_t root_allocs;
	atomic64_t fast_zaps;	  /* kvm_mmu_zap_all_fast() calls */
	atomic64_t huge_splits;	  /* huge SPTEs split by the fault path */
	atomic64_t huge_recoveries; /* tables replaced by a huge leaf after dirty logging */
	atomic64_t mmio_gen_wraps;
	atomic64_t max_mmu_rmap_size;	  /* legacy: longest rmap list seen */
	atomic64_t pinned_sptes_skipped; /* pinned leaves dirty logging/collapsing left alone */
};

/*
 * Per-vCPU counters.  Only the thread running the vCPU writes them (a vCPU
 * is used by one thread at a time, see mmusim/vm.h), with
 * kvm_vcpu_stat_inc(): a WRITE_ONCE() of the incremented value, which a
 * single writer makes exact.  Anyone may read them at any time with
 * READ_ONCE() (mmusim_vm_get_stats() while vCPUs run), and sees each
 * counter whole, if not all of them at the same instant.  The VM-wide
 * counters (struct kvm_vm_stat) have many writers and are atomic64_t.
 */
struct kvm_vcpu_stat {
	u64 pf_taken;
	u64 pf_fixed;
	u64 pf_emulate;
	u64 pf_spurious;
	u64 pf_fast;
	u64 pf_mmio_spte_created;
	u64 pf_retry;
	u64 tlb_flush;
	u64 accesses;
	u64 tlb_hits;
	u64 stale_tlb_uses; /* accesses through a stale translation (checker) */
	u64 psc_walks; /* TLB misses walked from a paging-structure cache entry */
	u64 mmio_exits; /* KVM_RUN's KVM_EXIT_MMIO exits (x86_emulate_instruction()) */
	u64 halt_exits; /* HLT (__kvm_emulate_halt()) */
	u64 signal_exits; /* KVM_EXIT_INTR (kvm_handle_signal_exit()) */
};

#define kvm_vcpu_stat_inc(vcpu, field) WRITE_ONCE((vcpu)->stat.field, (vcpu)->stat.field + 1)

struct kvm_mmu_page;
struct sim_tlb_entry;

/* Pre-allocated page-table pages, topped up before mmu_lock is taken. */
#define KVM_MMU_CACHE_CAPACITY 8
struct kvm_mmu_memory_cache {
	int nobjs;
	struct kvm_mmu_page *objects[KVM_MMU_CACHE_CAPACITY];
};

/*
 * The simulated CPU's translation caches (src/vcpu/vcpu.c has the rules):
 * a TLB per page size, as hardware splits its L1 TLBs, and paging-structure
 * caches of the walk's upper-level entries (PDE, PDPTE, PML4E), so that a
 * TLB miss need not walk from the root.  Direct-mapped, indexed by the low
 * bits of the page number at the entry's level; a tag of 0 is empty.
 */
#define SIM_TLB_4K_ENTRIES 64
#define SIM_TLB_2M_ENTRIES 32
#define SIM_TLB_1G_ENTRIES 4
#define SIM_PSC_LEVELS 3 /* PG_LEVEL_2M (PDE) .. PG_LEVEL_512G (PML4E) */
#define SIM_PSC_ENTRIES 16
#define SIM_GUEST_RCU_BOUNDARIES 64

struct sim_tlb_entry {
	u64 tag; /* sim_tlb_tag(): page number at the level, as_id; 0 = empty */
	kvm_pfn_t pfn; /* base pfn */
	u8 access; /* access granted by the leaf (vcpu.c's TLB_R/W/X) */
	u8 dirty; /* the D bit was set by this vCPU for this entry */
};

/* A cached non-leaf entry: the table it points to. */
struct sim_psc_entry {
	u64 tag;
	u64 *table;
};

struct sim_tlb {
	struct sim_tlb_entry e4k[SIM_TLB_4K_ENTRIES];
	struct sim_tlb_entry e2m[SIM_TLB_2M_ENTRIES];
	struct sim_tlb_entry e1g[SIM_TLB_1G_ENTRIES];
	/* psc[level - PG_LEVEL_2M]: entries of that level, keyed by gfn >> 9 * (level - 1) */
	struct sim_psc_entry psc[SIM_PSC_LEVELS][SIM_PSC_ENTRIES];
	bool huge; /* e2m or e1g may hold an entry (a lookup shortcut) */
};

struct kvm_vcpu {
	struct kvm *kvm;
	int vcpu_id;
	bool smm;			/* accesses go to address space 1 */
	u32 guest_debug;		/* KVM_SET_GUEST_DEBUG's control */
	int mode;			/* OUTSIDE_GUEST_MODE / IN_GUEST_MODE */
	/* Boundaries left before guest mode's RCU section is renewed (vcpu.c). */
	unsigned int guest_rcu_budget;
	unsigned long requests;
	/*
	 * The "IPI": kvm->requests_seq as read at this vCPU's last instruction
	 * boundary, published once the requests seen there were handled.
	 */
	u64 requests_acked;
	struct kvm_mmu_page *root[KVM_MAX_NR_ADDRESS_SPACES]; /* mmu->root.hpa per as_id */
	struct kvm_memslot_cache slot_cache;
	struct kvm_mmu_memory_cache mmu_page_cache;
	struct kvm_mmu_desc_cache mmu_pte_list_desc_cache; /* legacy MMU only */
	struct sim_tlb tlb;
	bool check_tlb;			/* verify each TLB hit against the host (checker) */
	struct kvm_vcpu_stat stat;
	/* Last exit to userspace: KVM_EXIT_* and the gpa involved. */
	u32 exit_reason;
	gpa_t exit_gpa;
	/*
	 * kvm_vcpu_map()s made through mmusim_vcpu_map(), by id; the checker
	 * looks at them.  Changed by the thread running the vCPU and by vCPU
	 * teardown, under maps_lock, which the checker takes to read them.
	 */
	spinlock_t maps_lock;
	struct kvm_host_map *maps[KVM_VCPU_MAX_MAPS];
	struct kvm_dirty_ring dirty_ring;	/* KVM_CAP_DIRTY_LOG_RING */
	/*
	 * KVM_RUN: the area KVM mmaps at offset 0 of the vCPU fd (src/vcpu/
	 * run.c allocates it), and the registers the guest program runs on.
	 */
	struct kvm_run *run;
	struct kvm_vcpu_arch arch;
	struct kvm_vcpu_msrs msrs;	/* src/msr: the MSRs KVM emulates */
	struct kvm_vcpu_guest *guest; /* the guest program and its state (run.c) */
	/*
	 * Page-modification log (VMX PML): gfns whose D bit the simulated
	 * CPU set, flushed into the dirty log when the vCPU leaves a public
	 * call or the buffer fills (kvm_vcpu_flush_pml()).
	 */
	gfn_t pml_buf[PML_ENTITY_NUM];	/* of the vCPU's address space at the time */
	u16 pml_nr;
	/*
	 * mmusim_vcpu_read/write()'s bounce buffer: guest mode does not sleep,
	 * and a user copy may fault (might_fault()), so the caller's memory is
	 * copied outside it, one page at a time (vcpu_copy()).
	 */
	u8 copy_buf[PAGE_SIZE];
};

/* vcpu.c: flush the PML buffer into the dirty log; SRCU held, outside guest mode. */
void kvm_vcpu_flush_pml(struct kvm_vcpu *vcpu);

/* src/vcpu/regs.c: the reset values of the registers KVM_SET_DEBUGREGS sets. */
void kvm_vcpu_regs_reset(struct kvm_vcpu *vcpu);

/* src/vcpu/vcpu_map.c: unmap (clean) what mmusim_vcpu_map() left mapped. */
void kvm_vcpu_unmap_all(struct kvm_vcpu *vcpu);
/* ... and the checker's view of them: a map holding nothing whose pfn the host no longer maps. */
int kvm_vcpu_check_maps(struct kvm_vcpu *vcpu, char *msg, size_t msg_size);

struct kvm_sev_info;

/*
 * The kvm_x86_ops hooks of Sean Christopherson's pinned-SPTE RFC (2020, not
 * merged; docs/sev.md), per VM: NULL for a VM whose vendor pins nothing.
 * Called by the legacy MMU under mmu_lock (write), and by the TDP MMU under
 * mmu_lock held for read (fault path) or write (zaps).  pin_spte() decides
 * whether the new leaf mapping @pfn at @level is pinned (true: the leaf
 * gets SPTE_PINNED_MASK and the vendor holds the pin); drop_pinned_spte()
 * releases it when the leaf goes.  zap/unzap_pinned_spte() are the RFC's
 * optional notifications.
 */
struct kvm_x86_pin_ops {
	bool (*pin_spte)(struct kvm_vcpu *vcpu, gfn_t gfn, int level, kvm_pfn_t pfn);
	void (*drop_pinned_spte)(struct kvm *kvm, gfn_t gfn, int level, kvm_pfn_t pfn);
	void (*zap_pinned_spte)(struct kvm *kvm, gfn_t gfn, int level);
	void (*unzap_pinned_spte)(struct kvm *kvm, gfn_t gfn, int level);
};

/*
 * The kvm_x86_ops hooks of Nikunj Dadhania's SEV demand-pinning RFC v1
 * (2022, not merged; docs/sev.md), per VM: NULL unless the VM pins that way.
 * pin_pfn() runs on both MMUs' fault paths after kvm_mmu_hugepage_adjust(),
 * under mmu_lock, for a slot with KVM_MEMSLOT_ENCRYPTED (false: do not map,
 * the vCPU retries); the memslot hooks run under slots_lock from
 * kvm_arch_prepare/commit_memory_region() and kvm_arch_free_memslot().
 */
struct kvm_x86_demand_pin_ops {
	bool (*pin_pfn)(struct kvm_vcpu *vcpu, struct kvm_memory_slot *slot, kvm_pfn_t pfn,
			hva_t hva, bool write, int level);
	int (*alloc_memslot_metadata)(struct kvm *kvm, const struct kvm_memory_slot *old,
				      struct kvm_memory_slot *new, enum kvm_mr_change change);
	void (*commit_memslot)(struct kvm *kvm, const struct kvm_memory_slot *new,
			       enum kvm_mr_change change);
	void (*free_memslot)(struct kvm *kvm, struct kvm_memory_slot *slot);
};

struct kvm {
	struct sim_host *host;
	struct sim_mm *mm;
	struct sim_mmu_notifier mmu_notifier;
	bool notifier_registered;

	rwlock_t mmu_lock;
	struct kvm_vm_memslots slots;
	struct kvm_mmu_masks masks;
	int root_level;			/* 4 or 5 */
	bool ept;

	/* MMU-notifier invalidation protocol (kvm_main.c). */
	unsigned long mmu_invalidate_seq;
	long mmu_invalidate_in_progress;
	gfn_t mmu_invalidate_range_start;
	gfn_t mmu_invalidate_range_end;

	/* KVM's tdp_mmu module parameter, chosen per VM (mmusim_vm_config.mmu). */
	bool tdp_mmu_enabled;

	/* TDP MMU. */
	struct list_head tdp_mmu_roots;
	spinlock_t tdp_mmu_pages_lock;
	atomic64_t tdp_mmu_pages;	/* page-table pages, roots included */

	/* NX huge pages: shadow pages NX recovery may zap, oldest first. */
	struct list_head possible_nx_huge_pages;
	unsigned long nx_lpage_splits;		/* its length (KVM's stat); read racily */
	u32 nx_huge_pages_recovery_ratio;	/* zap 1/ratio of them per pass; 0: none */
	u32 nx_huge_pages_recovery_period_ms;	/* the worker's period; 0: no worker */
	struct env_thread *nx_recovery_thread;
	bool nx_recovery_stop;

	/* Legacy (shadow) MMU: shadow_mmu.c, everything under mmu_lock (write). */
	struct list_head active_mmu_pages;	/* every valid shadow page, newest first */
	struct hlist_head *mmu_page_hash;	/* by gfn: KVM_NUM_MMU_PAGES buckets */
	unsigned long mmu_valid_gen;		/* flipped by kvm_mmu_zap_all_fast() */
	unsigned long n_used_mmu_pages;		/* shadow pages, roots included */
	struct list_head zapped_obsolete_pages;	/* zapped, freed after the flush */
	struct kmem_cache *pte_list_desc_cache;	/* the one shared by legacy VMs (rmap.c) */
	u64 nr_rmap_sptes;			/* SPTEs on memslot rmaps (checker) */

	/* Bumped by every kvm_make_all_cpus_request(); vCPUs ack it. */
	atomic64_t requests_seq;
	bool slot_zap_all;		/* KVM_X86_QUIRK_SLOT_ZAP_ALL: fast zap on delete/move */

	/*
	 * Public vCPU calls in flight, and whether mmusim_vm_destroy() has
	 * begun (kvm_vm_call_begin()): the destroyer waits for the former.
	 */
	atomic_t calls_in_flight;
	bool destroying;
	/*
	 * kvm_vm_freeze_calls(): new vCPU calls wait (6.12 holds every
	 * vcpu->mutex across an intra-host migration); vm_dead: they fail
	 * with -EIO (kvm_vm_dead(), the migrated source).
	 */
	bool calls_frozen;
	bool vm_dead;
	/* sev_lock_two_vms()'s migration_in_progress (src/sev/sev_migrate.c). */
	atomic_t migration_in_progress;

	struct mutex vcpu_lock;
	/* SEV guest state (src/sev/sev.h); NULL for a VM that is not SEV. */
	struct kvm_sev_info *sev;
	/*
	 * KVM_CREATE_VM's type (kvm->arch.vm_type), and 6.12's
	 * arch.has_protected_state: set for KVM_X86_SEV_ES_VM at creation.
	 */
	u32 vm_type;
	bool has_protected_state;
	/* Pinned-SPTE hooks (set before the vCPUs exist, then constant). */
	const struct kvm_x86_pin_ops *pin_ops;
	/* Demand-pinning hooks (set before the vCPUs exist, then constant). */
	const struct kvm_x86_demand_pin_ops *demand_pin_ops;
	int nr_vcpus;
	struct kvm_vcpu *vcpus[KVM_MAX_VCPUS];

	struct kvm_vm_stat stat;

	/* KVM's kvm->lock: VM-wide settings (the MSR filter swap, src/msr; SEV ioctls). */
	struct mutex lock;
	struct kvm_msr_vm_state msr;	/* kvm->arch.msr_filter and friends */

	enum kvm_pfn_model pfn_model;
	u32 dirty_ring_size;		/* bytes per vCPU ring; 0: the dirty bitmap */
	bool eager_page_split;		/* KVM's eager_page_split, per VM */
	bool zap_collapsible;		/* 6.12 zap instead of 6.13 in-place recovery */
	/* kvm_x86_ops.cpu_dirty_log_size != 0: dirty logging by D bits and PML. */
	bool pml;
	/*
	 * Bus-lock VM exits: the host CPU's VMX bus-lock detection
	 * (kvm_caps.has_bus_lock_exit, per VM here) and KVM_CAP_X86_BUS_LOCK_EXIT's
	 * KVM_BUS_LOCK_DETECTION_EXIT (kvm->arch.bus_lock_detection_enabled).
	 */
	bool has_bus_lock_exit;
	bool bus_lock_detection_enabled;

	/* Test-only fault injection: "forget" remote TLB flushes. */
	bool debug_skip_remote_flush;
	/*
	 * Test-only fault injection: "forget" to mark pages dirty
	 * (kvm_set_page_dirty() does nothing), so guest writes are lost when
	 * the host reclaims a page it thinks clean.
	 */
	bool debug_skip_page_dirty;
	/*
	 * Benchmark knob: each fault first spins this long outside every lock,
	 * standing in for the VM exit and GUP work a real fault does.
	 */
	u64 fault_exit_ns;
	/* mmusim_vm_race_next_fault(): fn is published last and taken by cmpxchg. */
	struct {
		mmusim_fault_race_fn fn;
		void *arg;
		int point;
	} fault_race;
};

static inline void kvm_update_page_stats(struct kvm *kvm, int level, s64 count)
{
	atomic64_add(count, &kvm->stat.pages[level - 1]);
}

static inline void kvm_make_request(int req, struct kvm_vcpu *vcpu)
{
	set_bit(req, &vcpu->requests);
}

static inline bool kvm_check_request(int req, struct kvm_vcpu *vcpu)
{
	return test_bit(req, &vcpu->requests) && test_and_clear_bit(req, &vcpu->requests);
}

/*
 * mark_page_dirty_in_slot() from vCPU context.  KVM finds the vCPU with
 * kvm_get_running_vcpu() and pushes to its dirty ring if the VM has rings;
 * mmusim's callers name the vCPU.  A soft-full ring requests the exit.
 */
static inline void kvm_vcpu_mark_page_dirty_in_slot(struct kvm_vcpu *vcpu,
						    const struct kvm_memory_slot *slot, gfn_t gfn)
{
	if (!slot || !kvm_slot_dirty_track_enabled(slot))
		return;
	if (!vcpu->kvm->dirty_ring_size) {
		mark_page_dirty_in_slot(&vcpu->kvm->slots, slot, gfn);
		return;
	}
	if (kvm_dirty_ring_push(&vcpu->dirty_ring, ((u32)slot->as_id << 16) | (u16)slot->id,
				gfn - slot->base_gfn))
		kvm_make_request(KVM_REQ_DIRTY_RING_SOFT_FULL, vcpu);
}

/*
 * kvm_dirty_ring_check_request(): at entry, a soft-full ring exits to
 * userspace (KVM_EXIT_DIRTY_RING_FULL), and keeps the request set so every
 * entry exits again until KVM_RESET_DIRTY_RINGS makes room.
 */
static inline bool kvm_dirty_ring_check_request(struct kvm_vcpu *vcpu)
{
	if (kvm_check_request(KVM_REQ_DIRTY_RING_SOFT_FULL, vcpu) &&
	    kvm_dirty_ring_soft_full(&vcpu->dirty_ring)) {
		kvm_make_request(KVM_REQ_DIRTY_RING_SOFT_FULL, vcpu);
		vcpu->exit_reason = KVM_EXIT_DIRTY_RING_FULL;
		return true;
	}
	return false;
}

/*
 * Arbitrarily returns true so it can sit inside iterator macros, like KVM's
 * kvm_lockdep_assert_mmu_lock_held().
 */
static inline bool kvm_lockdep_assert_mmu_lock_held(struct kvm *kvm, bool shared)
{
	if (shared)
		lockdep_assert_held_read(&kvm->mmu_lock);
	else
		lockdep_assert_held_write(&kvm->mmu_lock);
	return true;
}

/* 1 on a kernel built without SMM (mmusim_vm_config.nr_address_spaces), else 2. */
static inline int kvm_arch_nr_memslot_as_ids(struct kvm *kvm)
{
	return kvm->slots.nr_as;
}

/*
 * The last gfn a guest can address: its MAXPHYADDR is at most the host's,
 * and at most 48 bits under a 4-level root (KVM picks a 5-level TDP root
 * only for a guest MAXPHYADDR above 48, kvm_mmu_get_tdp_level()).  Memslots
 * may still extend to kvm_mmu_max_gfn(), as in KVM.
 */
static inline gfn_t kvm_guest_max_gfn(struct kvm *kvm)
{
	gfn_t root_max = (1ULL << (SPTE_LEVEL_BITS * kvm->root_level)) - 1;

	return min(kvm_mmu_max_gfn(&kvm->masks), root_max);
}

/* KVM_DIRTY_LOG_INITIALLY_SET: a new log starts all dirty; slots_lock held. */
static inline bool kvm_dirty_log_manual_protect_and_init_set(struct kvm *kvm)
{
	return kvm->slots.manual_dirty_log_protect & KVM_DIRTY_LOG_INITIALLY_SET;
}

/* kvm_main.c */
void kvm_make_all_cpus_request(struct kvm *kvm, int req);
void kvm_flush_remote_tlbs(struct kvm *kvm);
void kvm_flush_remote_tlbs_range(struct kvm *kvm, gfn_t gfn, u64 nr_pages);
void kvm_mmu_invalidate_begin(struct kvm *kvm);
void kvm_mmu_invalidate_range_add(struct kvm *kvm, gfn_t start, gfn_t end);
void kvm_mmu_invalidate_end(struct kvm *kvm);
int mmu_invalidate_retry_gfn(struct kvm *kvm, unsigned long mmu_seq, gfn_t gfn);
int mmu_invalidate_retry_gfn_unsafe(struct kvm *kvm, unsigned long mmu_seq, gfn_t gfn);

/* mmu.c */
int kvm_mmu_page_fault(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code);
bool kvm_unmap_gfn_range(struct kvm *kvm, struct kvm_gfn_range *range);
bool kvm_age_gfn(struct kvm *kvm, struct kvm_gfn_range *range);
bool kvm_test_age_gfn(struct kvm *kvm, struct kvm_gfn_range *range);
int kvm_mmu_load(struct kvm_vcpu *vcpu);
/* kvm_main.c: KVM_RESET_DIRTY_RINGS. */
int kvm_vm_ioctl_reset_dirty_pages(struct kvm *kvm);
/* KVM_CREATE_VCPU after creation: the next vcpu_id (-EINVAL past KVM_MAX_VCPUS). */
int kvm_vm_ioctl_create_vcpu(struct kvm *kvm, struct kvm_vcpu **vcpup);
/* mmu.c: KVM_RESET_DIRTY_RINGS re-arms tracking for @mask at @offset of @slot. */
void kvm_mmu_reset_dirty_gfns(struct kvm *kvm, struct kvm_memory_slot *slot, u64 offset,
			      unsigned long mask);
/* mmu.c: KVM_PRE_FAULT_MEMORY's x86 half and the map-one-gpa path under it. */
int kvm_tdp_map_page(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code, u8 *level);
/* The pinned-SPTE RFC's kvm_mmu_map_tdp_page() (mmu.c): 0 and the pfn, or -errno. */
int kvm_mmu_map_tdp_page(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code, int max_level,
			 kvm_pfn_t *pfn);
long kvm_arch_vcpu_pre_fault_memory(struct kvm_vcpu *vcpu, struct kvm_pre_fault_memory *range);
/* kvm_main.c: the generic KVM_PRE_FAULT_MEMORY loop; SRCU taken inside. */
int kvm_vcpu_pre_fault_memory(struct kvm_vcpu *vcpu, struct kvm_pre_fault_memory *range);
void kvm_mmu_unload(struct kvm_vcpu *vcpu);
void kvm_mmu_free_obsolete_roots(struct kvm_vcpu *vcpu);
void kvm_mmu_zap_all_fast(struct kvm *kvm);
void kvm_mmu_zap_all(struct kvm *kvm);
void kvm_zap_gfn_range(struct kvm *kvm, gfn_t gfn_start, gfn_t gfn_end);
void __kvm_zap_gfn_range(struct kvm *kvm, int as_id, gfn_t gfn_start, gfn_t gfn_end);
extern const struct kvm_memslot_ops kvm_x86_memslot_ops;

/* tdp_mmu.c */
int mmu_topup_memory_caches(struct kvm_vcpu *vcpu);
void mmu_free_memory_cache(struct kvm_mmu_memory_cache *mc);

/* vcpu/ */
void kvm_vcpu_flush_tlb(struct kvm_vcpu *vcpu);
/*
 * The simulated CPU's guest access path (vcpu.c), shared by the access API
 * and KVM_RUN: an instruction boundary (requests, kicks acknowledged; 1 for
 * a dirty-ring-full exit), one access with its faults, leaving guest mode.
 */
int kvm_vcpu_enter_guest(struct kvm_vcpu *vcpu);
int kvm_vcpu_check_access_args(struct kvm_vcpu *vcpu, gpa_t gpa, int type);
int kvm_vcpu_access_one(struct kvm_vcpu *vcpu, gpa_t gpa, int type, struct mmusim_exit *exit,
			kvm_pfn_t *pfn, bool *faulted);
void kvm_vcpu_exit_guest_mode(struct kvm_vcpu *vcpu);
void kvm_vcpu_flush_pml_on_exit(struct kvm_vcpu *vcpu);
/* src/vcpu/run.c: the vCPU's struct kvm_run page (vCPU creation and teardown). */
int kvm_vcpu_alloc_run(struct kvm_vcpu *vcpu);
void kvm_vcpu_free_run(struct kvm_vcpu *vcpu);

long kvm_vm_ioctl_check_extension_generic(struct kvm *kvm, long ext);
u32 kvm_supported_vm_types(struct sim_host *host);
int kvm_vm_ioctl_enable_cap_generic(struct kvm *kvm, struct kvm_enable_cap *cap);
int kvm_vm_call_begin(struct kvm *kvm);
void kvm_vm_call_end(struct kvm *kvm);
/* Wait for the vCPU calls in flight and hold new ones back (may sleep); thaw lets them go. */
void kvm_vm_freeze_calls(struct kvm *kvm);
void kvm_vm_thaw_calls(struct kvm *kvm);
int kvm_create_vm(struct sim_host *host, struct sim_mm *mm, const struct mmusim_vm_config *cfg,
		  struct kvm **kvmp);
void kvm_destroy_vm(struct kvm *kvm);

/*
 * The public API's opaque handles are the structures themselves: a
 * struct mmusim_vm * is a struct kvm *, a struct mmusim_vcpu * a struct
 * kvm_vcpu * (the handle types are never completed).
 */
static inline struct kvm *mmusim_to_kvm(struct mmusim_vm *vm)
{
	return (struct kvm *)vm;
}

static inline struct mmusim_vm *kvm_to_mmusim(struct kvm *kvm)
{
	return (struct mmusim_vm *)kvm;
}

static inline struct kvm_vcpu *mmusim_to_kvm_vcpu(struct mmusim_vcpu *vcpu)
{
	return (struct kvm_vcpu *)vcpu;
}

static inline struct mmusim_vcpu *kvm_vcpu_to_mmusim(struct kvm_vcpu *vcpu)
{
	return (struct mmusim_vcpu *)vcpu;
}

/*
 * The start of a public call on vCPU @v: -EINVAL for NULL, -EIO once the
 * VM's destruction began, else 0 with the vCPU in *@vcpup, inside the
 * VM's call window until kvm_vm_call_end(vcpu->kvm).
 */
static inline int kvm_vcpu_call_begin(struct mmusim_vcpu *v, struct kvm_vcpu **vcpup)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);

	if (!vcpu)
		return -EINVAL;
	*vcpup = vcpu;
	return kvm_vm_call_begin(vcpu->kvm);
}

#endif /* _MMUSIM_MMU_KVM_HOST_H */
