// SPDX-License-Identifier: GPL-2.0-only
/*
 * The simulated CPU: what the hardware does with the TDP tables KVM builds.
 *
 * A guest access runs "in guest mode" on a vCPU:
 *   1. Instruction boundary: handle pending requests (TLB flush, drop
 *      obsolete roots, load a root) and acknowledge the kick sequence, so a
 *      kvm_make_all_cpus_request() waiting for this vCPU can return.
 *   2. TLB lookup; on a miss, a hardware walk of the TDP tables from the
 *      lowest cached paging-structure entry, or else the vCPU's root,
 *      inside guest mode's RCU read-side section, checking permissions
 *      and setting Accessed/Dirty with a locked cmpxchg, as A/D assists do
 *      (a walk that loses the cmpxchg restarts).
 *   3. A failed walk is an EPT violation / NPT fault (or, for MMIO SPTEs, a
 *      misconfiguration / reserved-bit fault): the vCPU leaves guest mode
 *      and calls kvm_mmu_page_fault() with the synthesized error code, then
 *      retries the access.
 *
 * Translation caches (struct sim_tlb), with the lifetime rules of Intel's
 * SDM (vol. 3: "Paging-Structure Caches" in the paging chapter, "Caching
 * Translation Information" in the VMX address-translation chapter):
 *   - the TLB holds leaf translations, one array per page size (4K, 2M,
 *     1G); a lookup probes them smallest first and the first tag that
 *     matches decides (a write through an entry without D walks again);
 *   - the paging-structure caches hold the upper-level entries a walk went
 *     through: PDE (keyed by gfn >> 9, giving the 4K table), PDPTE (gfn >>
 *     18) and PML4E (gfn >> 27).  A TLB miss starts its walk from the
 *     lowest cached level, so a sequential pass over 4K pages reads one
 *     SPTE per access instead of four.  Only present non-leaf entries are
 *     cached; a 5-level root's PML5E is not.
 *   - every entry is tagged with the address space (as_id, SMM), and both
 *     caches are emptied together: by KVM_REQ_TLB_FLUSH (every remote flush,
 *     ranged ones included, is a full flush here), by a root change
 *     (kvm_mmu_load(), kvm_mmu_free_obsolete_roots()), as INVEPT empties
 *     both; and a walk that faults (EPT violation or misconfiguration)
 *     drops the entries for its gfn, as the SDM says a VM exit for an EPT
 *     violation does.
 * Entries stay valid until flushed, like hardware's: an SPTE zapped
 * without a TLB flush stays usable through the TLB, and a zapped non-leaf
 * SPTE through the paging-structure cache.  A cached table pointer stays
 * safe to read because KVM frees an unlinked table only after the remote
 * flush (which waits for vCPUs in guest mode to handle it, see
 * kvm_kick_and_wait()) and an RCU grace period; a skipped flush
 * (debug_skip_remote_flush) gives up that guarantee for tables.  With the
 * TLB checker on, every hit, and every walk that started from a cached
 * entry, is compared with what the host maps at the memslot's hva; a
 * mismatch outside an in-progress invalidation is a stale translation,
 * counted in stale_tlb_uses and reported with a WARN.
 *
 * Rules: in guest mode the vCPU takes no lock that can wait on mmu_lock
 * (only RCU and SRCU read sides), so request senders can spin under
 * mmu_lock waiting for the acknowledgement.  Guest mode is an RCU
 * read-side section (taken on entry, dropped on exit, and renewed every
 * SIM_GUEST_RCU_BOUNDARIES instruction boundaries so that a long run of
 * accesses without exits does not hold up grace periods): the hardware
 * walks run inside it, with no read-side calls of their own.  Guest mode
 * already runs with preemption off, which is a read-side section in the
 * kernel build's RCU anyway.
 */
#include "mmusim_env.h"
#include <mmusim/vm.h>
#include "mmu/tdp_mmu.h"
#include "mmu/mmutrace.h"
#include "sev/sev.h"

#define TLB_R 1
#define TLB_W 2
#define TLB_X 4

struct kvm_vcpu_arch *kvm_vcpu_arch(struct kvm_vcpu *vcpu)
{
	return &vcpu->arch;
}

/* Not an error code the hardware reports: the walk stopped for a PML-full exit. */
#define PFERR_PML_FULL (~0ULL)

/*
 * vmx_flush_pml_buffer(): every logged gfn goes to the dirty log (bitmap or
 * ring) as kvm_vcpu_mark_page_dirty() does; gfns of slots not being logged
 * are dropped there.  Outside guest mode, SRCU held.
 */
void kvm_vcpu_flush_pml(struct kvm_vcpu *vcpu)
{
	int as_id = vcpu->smm ? 1 : 0;
	unsigned int i;

	for (i = 0; i < vcpu->pml_nr; i++) {
		gfn_t gfn = vcpu->pml_buf[i];

		kvm_vcpu_mark_page_dirty_in_slot(
			vcpu, kvm_vcpu_gfn_to_memslot(&vcpu->kvm->slots, &vcpu->slot_cache, as_id, gfn),
			gfn);
	}
	vcpu->pml_nr = 0;
}

/* Every exit to userspace flushes the log, as every VM exit does in KVM. */
void kvm_vcpu_flush_pml_on_exit(struct kvm_vcpu *vcpu)
{
	int idx;

	if (!vcpu->pml_nr)
		return;
	idx = srcu_read_lock(&vcpu->kvm->slots.srcu);
	kvm_vcpu_flush_pml(vcpu);
	srcu_read_unlock(&vcpu->kvm->slots.srcu, idx);
}

void kvm_vcpu_flush_tlb(struct kvm_vcpu *vcpu)
{
	memset(&vcpu->tlb, 0, sizeof(vcpu->tlb));
	kvm_vcpu_stat_inc(vcpu, tlb_flush);
}

/* A translation cache tag: the page number at @level, the address space, and 1 (0 is empty). */
static __always_inline u64 sim_tlb_tag(gfn_t gfn, int level, int as_id)
{
	return (gfn >> KVM_HPAGE_GFN_SHIFT(level)) << 2 | (u64)as_id << 1 | 1;
}

static __always_inline struct sim_tlb_entry *tlb_slot(struct kvm_vcpu *vcpu, gfn_t gfn, int level)
{
	u64 vpn = gfn >> KVM_HPAGE_GFN_SHIFT(level);

	if (level == PG_LEVEL_4K)
		return &vcpu->tlb.e4k[vpn % SIM_TLB_4K_ENTRIES];
	if (level == PG_LEVEL_2M)
		return &vcpu->tlb.e2m[vpn % SIM_TLB_2M_ENTRIES];
	return &vcpu->tlb.e1g[vpn % SIM_TLB_1G_ENTRIES];
}

/* The paging-structure cache slot for the entry of @level (PG_LEVEL_2M..PG_LEVEL_512G). */
static __always_inline struct sim_psc_entry *psc_slot(struct kvm_vcpu *vcpu, gfn_t gfn, int level)
{
	return &vcpu->tlb.psc[level - PG_LEVEL_2M]
			     [(gfn >> KVM_HPAGE_GFN_SHIFT(level)) % SIM_PSC_ENTRIES];
}

/*
 * The lowest cached table on @gfn's walk: returns its level (the level of
 * the SPTEs in it, PG_LEVEL_4K..PG_LEVEL_1G) with *@table, or 0.
 */
static __always_inline bool psc_probe(struct kvm_vcpu *vcpu, gfn_t gfn, int level, int as_id,
				      u64 **table)
{
	struct sim_psc_entry *p = psc_slot(vcpu, gfn, level);

	if (p->tag != sim_tlb_tag(gfn, level, as_id))
		return false;
	*table = p->table;
	return true;
}

static __always_inline int psc_lookup(struct kvm_vcpu *vcpu, gfn_t gfn, int as_id, u64 **table)
{
	static_assert(SIM_PSC_LEVELS == 3, "PDE, PDPTE and PML4E caches");
	if (psc_probe(vcpu, gfn, PG_LEVEL_2M, as_id, table))
		return PG_LEVEL_4K;
	if (psc_probe(vcpu, gfn, PG_LEVEL_1G, as_id, table))
		return PG_LEVEL_2M;
	if (psc_probe(vcpu, gfn, PG_LEVEL_512G, as_id, table))
		return PG_LEVEL_1G;
	return 0;
}

/*
 * A faulting walk drops what this vCPU cached for @gfn (the SDM's
 * "Operations that Invalidate Cached Mappings": an EPT violation or
 * misconfiguration invalidates the guest-physical mappings that would
 * translate the faulting address), so the retry walks from the root.
 */
static __always_inline void tlb_invalidate_level(struct kvm_vcpu *vcpu, gfn_t gfn, int level,
						 int as_id)
{
	struct sim_tlb_entry *e = tlb_slot(vcpu, gfn, level);

	if (e->tag == sim_tlb_tag(gfn, level, as_id))
		e->tag = 0;
}

static __always_inline void psc_invalidate_level(struct kvm_vcpu *vcpu, gfn_t gfn, int level,
						 int as_id)
{
	struct sim_psc_entry *p = psc_slot(vcpu, gfn, level);

	if (p->tag == sim_tlb_tag(gfn, level, as_id))
		p->tag = 0;
}

/* Spelled out level by level: each slot and tag is then a constant shift. */
static void tlb_invalidate_gfn(struct kvm_vcpu *vcpu, gfn_t gfn, int as_id)
{
	static_assert(SIM_PSC_LEVELS == 3, "PDE, PDPTE and PML4E caches");
	tlb_invalidate_level(vcpu, gfn, PG_LEVEL_4K, as_id);
	tlb_invalidate_level(vcpu, gfn, PG_LEVEL_2M, as_id);
	tlb_invalidate_level(vcpu, gfn, PG_LEVEL_1G, as_id);
	psc_invalidate_level(vcpu, gfn, PG_LEVEL_2M, as_id);
	psc_invalidate_level(vcpu, gfn, PG_LEVEL_1G, as_id);
	psc_invalidate_level(vcpu, gfn, PG_LEVEL_512G, as_id);
}

static unsigned int access_bit(int type)
{
	return type == MMUSIM_ACCESS_WRITE ? TLB_W : type == MMUSIM_ACCESS_EXEC ? TLB_X : TLB_R;
}

/*
 * Guest mode is not preemptible, as KVM's vcpu_enter_guest() makes it: a
 * vCPU in guest mode answers a kick only by reaching its next instruction
 * boundary, and a sender waits for that in kvm_kick_and_wait() under
 * mmu_lock with preemption off.  A preempted guest-mode vCPU could then wait
 * for a CPU the spinning sender holds (seen on a PREEMPT kernel with more
 * vCPU threads than CPUs).  Only the vCPU's own thread changes its mode, so
 * the preemption count follows the transitions.
 */
void kvm_vcpu_exit_guest_mode(struct kvm_vcpu *vcpu)
{
	if (READ_ONCE(vcpu->mode) != IN_GUEST_MODE)
		return;
	smp_store_release(&vcpu->mode, OUTSIDE_GUEST_MODE);
	rcu_read_unlock();
	preempt_enable();
}

/* A quiescent point of guest mode's RCU read-side section, every so many boundaries. */
static void vcpu_guest_rcu_renew(struct kvm_vcpu *vcpu)
{
	rcu_read_unlock();
	rcu_read_lock();
	vcpu->guest_rcu_budget = SIM_GUEST_RCU_BOUNDARIES;
}

/*
 * Enters guest mode at an instruction boundary.  The order (mode, then the
 * kick sequence, then the request bits) pairs with the sender's (request
 * bits, then sequence, then mode): a sender that saw this vCPU outside
 * guest mode set its bit early enough for the check below to see it.
 */
int kvm_vcpu_enter_guest(struct kvm_vcpu *vcpu)
{
	bool entry = false;
	u64 seq;
	int r;

	for (;;) {
		/*
		 * Between accesses of one run the vCPU stays in guest mode: the
		 * full barrier that followed the mode store still orders it
		 * before the loads below.
		 */
		if (READ_ONCE(vcpu->mode) != IN_GUEST_MODE) {
			preempt_disable();
			rcu_read_lock();
			vcpu->guest_rcu_budget = SIM_GUEST_RCU_BOUNDARIES;
			smp_store_mb(vcpu->mode, IN_GUEST_MODE);
			entry = true;
		} else if (!vcpu->guest_rcu_budget || !--vcpu->guest_rcu_budget) {
			vcpu_guest_rcu_renew(vcpu);
		}
		seq = atomic64_read(&vcpu->kvm->requests_seq);
		smp_rmb(); /* the request bits set before that sequence are visible */
		if (!READ_ONCE(vcpu->requests) && vcpu->root[vcpu->smm ? 1 : 0])
			break;

		kvm_vcpu_exit_guest_mode(vcpu);
		/* The ring must be harvested before the guest runs on. */
		if (kvm_dirty_ring_check_request(vcpu))
			return 1;
		if (kvm_check_request(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, vcpu))
			kvm_mmu_free_obsolete_roots(vcpu);
		if (kvm_check_request(KVM_REQ_TLB_FLUSH, vcpu))
			kvm_vcpu_flush_tlb(vcpu);
		if (kvm_check_request(KVM_REQ_MSR_FILTER_CHANGED, vcpu))
			kvm_vcpu_msr_filter_changed(vcpu);
		r = kvm_mmu_load(vcpu);
		if (r)
			return r;
	}
	/* Acknowledge the kicks seen here; unchanged sequence, nothing to publish. */
	if (seq != READ_ONCE(vcpu->requests_acked))
		smp_store_release(&vcpu->requests_acked, seq);
	/* A VM entry: the vCPU was outside guest mode (an exit, or a new run). */
	if (entry)
		trace_kvm_entry(vcpu, false);
	return 0;
}

static bool hw_present(const struct kvm_mmu_masks *m, u64 spte)
{
	return m->ept ? (spte & VMX_EPT_RWX_MASK) != 0 : (spte & PT_PRESENT_MASK) != 0;
}

static unsigned int hw_access(const struct kvm_mmu_masks *m, u64 spte)
{
	unsigned int acc = 0;

	if (m->ept) {
		acc |= (spte & VMX_EPT_READABLE_MASK) ? TLB_R : 0;
		acc |= (spte & VMX_EPT_EXECUTABLE_MASK) ? TLB_X : 0;
	} else {
		acc |= (spte & PT_PRESENT_MASK) ? TLB_R : 0;
		acc |= (spte & PT64_NX_MASK) ? 0 : TLB_X;
	}
	acc |= (spte & PT_WRITABLE_MASK) ? TLB_W : 0;
	return acc;
}

static u64 pferr_for(int type)
{
	if (type == MMUSIM_ACCESS_WRITE)
		return PFERR_WRITE_MASK;
	if (type == MMUSIM_ACCESS_EXEC)
		return PFERR_FETCH_MASK;
	return 0;
}

/*
 * The hardware walk, from the lowest cached paging-structure entry or else
 * the root.  Returns 0 and fills @e (the TLB slot of the leaf's size) with
 * *@level, or -EFAULT with the error code of the TDP violation in
 * @error_code.  *@cached tells whether the walk started from a cached entry.
 */
static __always_inline int tdp_hw_walk(struct kvm_vcpu *vcpu, gfn_t gfn, int type,
				       struct sim_tlb_entry **ep, int *levelp, u64 *error_code,
				       bool *cached)
{
	struct kvm *kvm = vcpu->kvm;
	const struct kvm_mmu_masks *m = &kvm->masks;
	int as_id = vcpu->smm ? 1 : 0;
	struct kvm_mmu_page *root = vcpu->root[as_id];
	int level, ret = -EFAULT;
	u64 *table, *sptep, spte;
	struct sim_tlb_entry *e;
	unsigned int acc, shift;
	bool ad;

	/* Inside guest mode's RCU read-side section: tables are freed by RCU. */
restart:
	level = psc_lookup(vcpu, gfn, as_id, &table);
	*cached = level != 0;
	if (!level) {
		table = root->spt;
		/* role.invalid may be set meanwhile (root invalidation): read the role once. */
		level = kvm_mmu_page_role(root).level;
	}
	/* gfn bits above this level's index: stepped, not recomputed per level. */
	shift = KVM_HPAGE_GFN_SHIFT(level);
	for (;; level--, shift -= SPTE_LEVEL_BITS) {
		sptep = &table[(gfn >> shift) & (SPTE_ENT_PER_PAGE - 1)];
		/*
		 * Acquire, as kvm_tdp_mmu_read_spte(): the child table this
		 * SPTE may point to was initialised before it was linked.
		 */
		spte = smp_load_acquire(sptep);
		if (is_mmio_spte(m, spte)) {
			/*
			 * An EPT misconfiguration carries no access information:
			 * KVM's handle_ept_misconfig() passes PFERR_RSVD_MASK
			 * alone (6.12).  A reserved-bit #NPF has P, RSVD and the
			 * access bits, as any #PF error code.
			 */
			if (m->ept)
				*error_code = PFERR_RSVD_MASK;
			else
				*error_code =
					PFERR_RSVD_MASK | PFERR_PRESENT_MASK | pferr_for(type);
			goto fault;
		}
		if (!hw_present(m, spte)) {
			*error_code = pferr_for(type);
			goto fault;
		}
		if (level == PG_LEVEL_4K || (spte & PT_PAGE_SIZE_MASK))
			break;
		table = __va(spte_to_pfn(spte) << PAGE_SHIFT);
		if (level < PG_LEVEL_2M + SIM_PSC_LEVELS) {
			/* psc_slot() and sim_tlb_tag() at @level, from the running shift. */
			struct sim_psc_entry *p = &vcpu->tlb.psc[level - PG_LEVEL_2M]
								[(gfn >> shift) % SIM_PSC_ENTRIES];

			p->tag = (gfn >> shift) << 2 | (u64)as_id << 1 | 1;
			p->table = table;
		}
	}

	acc = hw_access(m, spte);
	if (!(acc & access_bit(type))) {
		*error_code = PFERR_PRESENT_MASK | pferr_for(type);
		goto fault;
	}
	ad = spte_ad_enabled(spte);
	if (ad) {
		u64 want = spte | m->shadow_accessed_mask |
			   (type == MMUSIM_ACCESS_WRITE ? m->shadow_dirty_mask : 0);

		if (want != spte) {
			bool logs = kvm->pml && !(spte & m->shadow_dirty_mask) &&
				    (want & m->shadow_dirty_mask);

			/* PML full: a VM exit before the write, to flush the log. */
			if (logs && vcpu->pml_nr == PML_ENTITY_NUM) {
				*error_code = PFERR_PML_FULL;
				goto out;
			}
			/* A locked A/D update; if the SPTE changed, walk again. */
			if (!try_cmpxchg64(sptep, &spte, want))
				goto restart;
			spte = want;
			/* The CPU logs the gfn of the access when it sets D. */
			if (logs)
				vcpu->pml_buf[vcpu->pml_nr++] = gfn;
		}
	}

	e = tlb_slot(vcpu, gfn, level);
	e->tag = sim_tlb_tag(gfn, level, as_id);
	e->pfn = spte_to_pfn(spte);
	e->access = acc;
	e->dirty = !ad || (spte & m->shadow_dirty_mask);
	if (level > PG_LEVEL_4K)
		vcpu->tlb.huge = true;
	*ep = e;
	*levelp = level;
	ret = 0;
	goto out;
fault:
	tlb_invalidate_gfn(vcpu, gfn, as_id);
out:
	return ret;
}

/* The stale-translation checker: does the host still map what the TLB says? */
static void tlb_check_hit(struct kvm_vcpu *vcpu, const struct sim_tlb_entry *e, int level,
			  gfn_t gfn)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_memory_slot *slot;
	struct sim_host_pte_info info;
	kvm_pfn_t pfn = e->pfn + (gfn & (KVM_PAGES_PER_HPAGE(level) - 1));
	int idx, as_id = (e->tag >> 1) & 1;

	idx = srcu_read_lock(&kvm->slots.srcu);
	slot = __gfn_to_memslot(kvm_memslots_as(&kvm->slots, as_id), gfn);
	if (slot && !(slot->flags & KVM_MEMSLOT_INVALID) &&
	    (sim_mm_lookup(kvm->mm, gfn_to_hva_memslot(slot, gfn), &info) || info.pfn != pfn) &&
	    !READ_ONCE(kvm->mmu_invalidate_in_progress)) {
		kvm_vcpu_stat_inc(vcpu, stale_tlb_uses);
		WARN_ONCE(1, "vCPU %d: stale TLB translation gfn %#llx -> pfn %#llx",
			  vcpu->vcpu_id, (unsigned long long)gfn, (unsigned long long)pfn);
	}
	srcu_read_unlock(&kvm->slots.srcu, idx);
}

/*
 * One TLB probe at @level: 1 with *@pfn on a hit, 0 if the tag differs, -1
 * if the entry translates @gfn but does not allow @type (or a write finds
 * it clean: the walk must set D), which ends the lookup with a walk.
 */
static __always_inline int tlb_probe(const struct sim_tlb_entry *e, gfn_t gfn, int level,
				     u64 as_bits, int type, kvm_pfn_t *pfn)
{
	if (e->tag != ((gfn >> KVM_HPAGE_GFN_SHIFT(level)) << 2 | as_bits))
		return 0;
	if (!(e->access & access_bit(type)) || (type == MMUSIM_ACCESS_WRITE && !e->dirty))
		return -1;
	*pfn = e->pfn + (gfn & (KVM_PAGES_PER_HPAGE(level) - 1));
	return 1;
}

/*
 * Translates @gpa for @type in guest mode; 0 with *pfn, or -EFAULT with
 * *error_code.  The TLB is probed smallest page size first and the first
 * entry whose tag matches decides.
 */
static __always_inline int vcpu_translate(struct kvm_vcpu *vcpu, gpa_t gpa, int type,
					  kvm_pfn_t *pfn, u64 *error_code)
{
	gfn_t gfn = gpa >> PAGE_SHIFT;
	u64 as_bits = (vcpu->smm ? 2 : 0) | 1;
	struct sim_tlb_entry *e;
	int level, r;
	bool cached;

	level = PG_LEVEL_4K;
	r = tlb_probe(tlb_slot(vcpu, gfn, level), gfn, level, as_bits, type, pfn);
	/* No huge entry since the last flush: nothing to probe at 2M and 1G. */
	if (!r && vcpu->tlb.huge) {
		level = PG_LEVEL_2M;
		r = tlb_probe(tlb_slot(vcpu, gfn, level), gfn, level, as_bits, type, pfn);
		if (!r) {
			level = PG_LEVEL_1G;
			r = tlb_probe(tlb_slot(vcpu, gfn, level), gfn, level, as_bits, type, pfn);
		}
	}
	if (r > 0) {
		kvm_vcpu_stat_inc(vcpu, tlb_hits);
		if (unlikely(vcpu->check_tlb))
			tlb_check_hit(vcpu, tlb_slot(vcpu, gfn, level), level, gfn);
		return 0;
	}
	if (tdp_hw_walk(vcpu, gfn, type, &e, &level, error_code, &cached))
		return -EFAULT;
	if (cached) {
		kvm_vcpu_stat_inc(vcpu, psc_walks);
		if (unlikely(vcpu->check_tlb))
			tlb_check_hit(vcpu, e, level, gfn);
	}
	*pfn = e->pfn + (gfn & (KVM_PAGES_PER_HPAGE(level) - 1));
	return 0;
}

/*
 * The VM exit of an access that failed its walk, as vmx.c traces it: a
 * full PML buffer, an EPT misconfiguration (an MMIO SPTE: the reserved-bit
 * fault) or an EPT violation, which also gets kvm_page_fault.  info1 is
 * the exit qualification's access bits (0 read, 1 write, 2 fetch) and bit
 * 3 when the translation was present; kvm_page_fault's error_code is the
 * PFERR_* code the simulated CPU synthesized (KVM's VMX passes the exit
 * qualification there, SVM the same PFERR_* code).
 */
static noinline void __trace_vcpu_access_exit(struct kvm_vcpu *vcpu, u64 error_code)
{
	u64 qual;

	if (error_code == PFERR_PML_FULL) {
		trace_kvm_exit(vcpu, EXIT_REASON_PML_FULL, 0);
		return;
	}
	if (error_code & PFERR_RSVD_MASK) {
		trace_kvm_exit(vcpu, EXIT_REASON_EPT_MISCONFIG, 0);
		return;
	}
	qual = error_code & PFERR_WRITE_MASK ? EPT_VIOLATION_ACC_WRITE :
	       error_code & PFERR_FETCH_MASK ? EPT_VIOLATION_ACC_INSTR :
					       EPT_VIOLATION_ACC_READ;
	if (error_code & PFERR_PRESENT_MASK)
		qual |= EPT_VIOLATION_READABLE;
	trace_kvm_exit(vcpu, EXIT_REASON_EPT_VIOLATION, qual);
}

static __always_inline void trace_vcpu_access_exit(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code)
{
	if (trace_event_enabled(kvm_exit))
		__trace_vcpu_access_exit(vcpu, error_code);
	if (trace_event_enabled(kvm_page_fault) && error_code != PFERR_PML_FULL &&
	    !(error_code & PFERR_RSVD_MASK))
		trace_kvm_page_fault(vcpu, gpa, error_code);
}

/*
 * The instruction boundary of a vCPU already in guest mode with nothing to
 * do there: no request, a root, no kick since the last acknowledgement
 * (the same loads, in the same order, as kvm_vcpu_enter_guest()), and no
 * RCU renewal due.  False sends the access through kvm_vcpu_enter_guest().
 */
static __always_inline bool vcpu_boundary_is_clear(struct kvm_vcpu *vcpu)
{
	u64 seq;

	if (READ_ONCE(vcpu->mode) != IN_GUEST_MODE || vcpu->guest_rcu_budget <= 1)
		return false;
	seq = atomic64_read(&vcpu->kvm->requests_seq);
	smp_rmb(); /* as kvm_vcpu_enter_guest() */
	if (READ_ONCE(vcpu->requests) || !vcpu->root[vcpu->smm ? 1 : 0] ||
	    seq != READ_ONCE(vcpu->requests_acked))
		return false;
	vcpu->guest_rcu_budget--;
	return true;
}

static noinline int vcpu_translate_slow(struct kvm_vcpu *vcpu, gpa_t gpa, int type, kvm_pfn_t *pfn,
					u64 *error_code)
{
	return vcpu_translate(vcpu, gpa, type, pfn, error_code);
}

/*
 * kvm_vcpu_access_one() after its first try: the boundary had work to do
 * (@error_code is then unset and @walked false), or the walk failed with
 * @error_code.  Handles the exit and retries until the access completes.
 */
static noinline int vcpu_access_slow(struct kvm_vcpu *vcpu, gpa_t gpa, int type,
				     struct mmusim_exit *exit, kvm_pfn_t *pfn, bool *faulted,
				     bool walked, u64 error_code)
{
	int r, idx;

	for (;; walked = false) {
		if (!walked) {
			r = kvm_vcpu_enter_guest(vcpu);
			if (r > 0 && exit) {
				exit->reason = vcpu->exit_reason; /* KVM_EXIT_DIRTY_RING_FULL */
				exit->gpa = gpa;
				exit->is_write = type == MMUSIM_ACCESS_WRITE;
			}
			if (r)
				return r;
			if (!vcpu_translate_slow(vcpu, gpa, type, pfn, &error_code)) {
				kvm_vcpu_stat_inc(vcpu, accesses);
				return 0;
			}
		}

		kvm_vcpu_exit_guest_mode(vcpu);
		trace_vcpu_access_exit(vcpu, gpa, error_code);
		if (faulted && error_code != PFERR_PML_FULL)
			*faulted = true;
		idx = srcu_read_lock(&vcpu->kvm->slots.srcu);
		if (error_code == PFERR_PML_FULL) {
			kvm_vcpu_flush_pml(vcpu);
			srcu_read_unlock(&vcpu->kvm->slots.srcu, idx);
			continue;
		}
		r = kvm_mmu_page_fault(vcpu, gpa, error_code);
		srcu_read_unlock(&vcpu->kvm->slots.srcu, idx);
		if (r < 0)
			return r;
		if (r == RET_PF_EMULATE) {
			if (exit) {
				exit->reason = KVM_EXIT_MMIO;
				exit->gpa = gpa;
				exit->is_write = type == MMUSIM_ACCESS_WRITE;
			}
			return 1;
		}
		/*
		 * A retry waits for an invalidation or another fault to finish,
		 * often on a thread that is not running: let it run.
		 */
		if (r == RET_PF_RETRY)
			env_spin_yield();
		cond_resched();
	}
}

/*
 * One access, faulting as needed.  Called and returns in guest mode;
 * returns 0, 1 for an exit to userspace, or a negative errno.  *@faulted
 * (if given) tells whether a TDP violation left guest mode on the way, for
 * the VM exit KVM_RUN reports with it (src/vcpu/run.c).  The common case,
 * a boundary with nothing to do and a translation that completes, stays
 * in this small function; everything else goes on in vcpu_access_slow().
 */
int kvm_vcpu_access_one(struct kvm_vcpu *vcpu, gpa_t gpa, int type, struct mmusim_exit *exit,
			kvm_pfn_t *pfn, bool *faulted)
{
	u64 error_code = 0;

	if (unlikely(!vcpu_boundary_is_clear(vcpu)))
		return vcpu_access_slow(vcpu, gpa, type, exit, pfn, faulted, false, error_code);
	if (unlikely(vcpu_translate(vcpu, gpa, type, pfn, &error_code)))
		return vcpu_access_slow(vcpu, gpa, type, exit, pfn, faulted, true, error_code);
	kvm_vcpu_stat_inc(vcpu, accesses);
	return 0;
}

int kvm_vcpu_check_access_args(struct kvm_vcpu *vcpu, gpa_t gpa, int type)
{
	if (type < MMUSIM_ACCESS_READ || type > MMUSIM_ACCESS_EXEC)
		return -EINVAL;
	if ((gpa >> PAGE_SHIFT) > kvm_guest_max_gfn(vcpu->kvm))
		return -EINVAL;
	return 0;
}

/*
 * The public calls below run as one "call" on the VM (kvm_vm_call_begin()),
 * so mmusim_vm_destroy() waits for them; a NULL vCPU is -EINVAL.
 */
int mmusim_vcpu_access(struct mmusim_vcpu *v, gpa_t gpa, int type, struct mmusim_exit *exit)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);
	kvm_pfn_t pfn;
	int r;

	if (exit)
		memset(exit, 0, sizeof(*exit));
	if (!vcpu)
		return -EINVAL;
	r = kvm_vm_call_begin(vcpu->kvm);
	if (r)
		return r;
	r = kvm_vcpu_check_access_args(vcpu, gpa, type);
	if (!r) {
		r = kvm_vcpu_access_one(vcpu, gpa, type, exit, &pfn, NULL);
		kvm_vcpu_exit_guest_mode(vcpu);
		kvm_vcpu_flush_pml_on_exit(vcpu);
	}
	kvm_vm_call_end(vcpu->kvm);
	return r;
}

static long vcpu_access_range(struct kvm_vcpu *vcpu, gpa_t gpa, u64 npages, u64 stride, int type,
			      struct mmusim_exit *exit)
{
	gfn_t max_gfn = kvm_guest_max_gfn(vcpu->kvm);
	kvm_pfn_t pfn;
	u64 i;
	int r = 0;

	r = kvm_vcpu_check_access_args(vcpu, gpa, type);
	if (r)
		return r;
	if (!stride)
		stride = PAGE_SIZE;
	/*
	 * Every address is checked as mmusim_vcpu_access() checks its one
	 * (the type was checked above): a GPA above the maximum (or wrapped
	 * past 2^64) must not reach the walk, whose index slices would alias
	 * it to a lower one.
	 */
	for (i = 0; i < npages; i++, gpa += stride) {
		/* gpa < stride: adding the stride wrapped past 2^64. */
		if (i && (gpa < stride || (gpa >> PAGE_SHIFT) > max_gfn)) {
			r = -EINVAL;
			break;
		}
		r = kvm_vcpu_access_one(vcpu, gpa, type, exit, &pfn, NULL);
		if (r)
			break;
	}
	kvm_vcpu_exit_guest_mode(vcpu);
	kvm_vcpu_flush_pml_on_exit(vcpu);
	if (r < 0 && !i)
		return r;
	return (long)i;
}

long mmusim_vcpu_access_range(struct mmusim_vcpu *v, gpa_t gpa, u64 npages, u64 stride, int type,
			      struct mmusim_exit *exit)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);
	long r;

	if (exit)
		memset(exit, 0, sizeof(*exit));
	if (!vcpu)
		return -EINVAL;
	r = kvm_vm_call_begin(vcpu->kvm);
	if (r)
		return r;
	r = vcpu_access_range(vcpu, gpa, npages, stride, type, exit);
	kvm_vm_call_end(vcpu->kvm);
	return r;
}

/*
 * Copies through the guest translation, one page at a time.  @buf is the
 * caller's memory: it is read and written with the user copies, so a bad
 * buffer is -EFAULT (bytes before the fault may have been copied).  A user
 * copy may fault and sleep, and guest mode may not: each page goes through
 * vcpu->copy_buf, copied in before the access and out after guest mode is
 * left.
 */
static int vcpu_copy(struct kvm_vcpu *vcpu, gpa_t gpa, void __user *buf, u64 len, bool write)
{
	int type = write ? MMUSIM_ACCESS_WRITE : MMUSIM_ACCESS_READ;
	u8 *bounce = vcpu->copy_buf;
	struct mmusim_exit exit;
	int r = 0;

	while (len) {
		u64 off = gpa & ~PAGE_MASK, n = min_t(u64, len, PAGE_SIZE - off);
		kvm_pfn_t pfn;
		u8 *data;

		r = kvm_vcpu_check_access_args(vcpu, gpa, type);
		if (r)
			break;
		if (write && copy_from_user(bounce, buf, n)) {
			r = -EFAULT;
			break;
		}
		r = kvm_vcpu_access_one(vcpu, gpa, type, &exit, &pfn, NULL);
		if (r) {
			/* A full dirty ring: harvest and reset, then copy again. */
			if (r > 0)
				r = exit.reason == KVM_EXIT_DIRTY_RING_FULL ? -EBUSY : -EFAULT;
			break;
		}
		if (sev_private_access(vcpu->kvm, gpa >> PAGE_SHIFT)) {
			/* Through the memory controller, which encrypts by physical address. */
			r = sev_mem_access(vcpu->kvm, gpa >> PAGE_SHIFT, pfn, off, bounce, n,
					   write);
		} else {
			data = sim_pfn_to_virt(vcpu->kvm->host, pfn);
			if (!data)
				r = -EFAULT;
			else if (write)
				memcpy(data + off, bounce, n);
			else
				memcpy(bounce, data + off, n);
		}
		kvm_vcpu_exit_guest_mode(vcpu);
		if (r)
			break;
		if (!write && copy_to_user(buf, bounce, n)) {
			r = -EFAULT;
			break;
		}
		buf = (u8 __user *)buf + n;
		gpa += n;
		len -= n;
	}
	kvm_vcpu_exit_guest_mode(vcpu);
	kvm_vcpu_flush_pml_on_exit(vcpu);
	return r;
}

static int vcpu_copy_call(struct mmusim_vcpu *v, gpa_t gpa, void *buf, u64 len, bool write)
{
	struct kvm_vcpu *vcpu;
	int r = kvm_vcpu_call_begin(v, &vcpu);

	if (r)
		return r;
	r = vcpu_copy(vcpu, gpa, buf, len, write);
	kvm_vm_call_end(vcpu->kvm);
	return r;
}

int mmusim_vcpu_write(struct mmusim_vcpu *v, gpa_t gpa, const void *buf, u64 len)
{
	return vcpu_copy_call(v, gpa, (void *)buf, len, true);
}

int mmusim_vcpu_read(struct mmusim_vcpu *v, gpa_t gpa, void *buf, u64 len)
{
	return vcpu_copy_call(v, gpa, buf, len, false);
}

int mmusim_vcpu_set_smm(struct mmusim_vcpu *v, bool smm)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);

	if (!vcpu)
		return -EINVAL;
	/* A kernel without SMM has no address space 1 to enter. */
	if (smm && kvm_arch_nr_memslot_as_ids(vcpu->kvm) < 2)
		return -EINVAL;
	vcpu->smm = smm;
	return 0;
}

int mmusim_vcpu_set_tlb_check(struct mmusim_vcpu *v, bool on)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);

	if (!vcpu)
		return -EINVAL;
	vcpu->check_tlb = on;
	return 0;
}

int mmusim_vcpu_pre_fault_memory(struct mmusim_vcpu *v, struct kvm_pre_fault_memory *urange)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);
	struct kvm_pre_fault_memory range;
	int r;

	if (!vcpu)
		return -EINVAL;
	if (copy_from_user(&range, urange, sizeof(range)))
		return -EFAULT;
	r = kvm_vm_call_begin(vcpu->kvm);
	if (r)
		return r;
	r = kvm_vcpu_pre_fault_memory(vcpu, &range);
	kvm_vcpu_exit_guest_mode(vcpu);
	kvm_vm_call_end(vcpu->kvm);
	/* The part not done goes back, whatever the outcome. */
	if (copy_to_user(urange, &range, sizeof(range)))
		r = -EFAULT;
	return r;
}

/*
 * The fault the pinned-SPTE RFC's SEV patch 8/8 makes from
 * LAUNCH_UPDATE_DATA on vCPU 0: a user write (a read for a read-only
 * memslot, which a write could never map), through kvm_mmu_map_tdp_page().
 */
int mmusim_vcpu_map_tdp_page(struct mmusim_vcpu *v, gpa_t gpa, u64 *pfn)
{
	u64 error_code = PFERR_USER_MASK | PFERR_WRITE_MASK;
	struct kvm_memory_slot *slot;
	struct kvm_vcpu *vcpu;
	kvm_pfn_t p = 0;
	int r, idx;

	if (!pfn)
		return -EINVAL;
	r = kvm_vcpu_call_begin(v, &vcpu);
	if (r)
		return r;
	if ((gpa >> PAGE_SHIFT) > kvm_mmu_max_gfn(&vcpu->kvm->masks)) {
		r = -EINVAL;
		goto out;
	}
	idx = srcu_read_lock(&vcpu->kvm->slots.srcu);
	slot = kvm_vcpu_gfn_to_memslot(&vcpu->kvm->slots, &vcpu->slot_cache, vcpu->smm ? 1 : 0,
				       gpa >> PAGE_SHIFT);
	if (slot && (slot->flags & KVM_MEM_READONLY))
		error_code &= ~PFERR_WRITE_MASK;
	r = kvm_mmu_map_tdp_page(vcpu, gpa, error_code, KVM_MAX_HUGEPAGE_LEVEL, &p);
	srcu_read_unlock(&vcpu->kvm->slots.srcu, idx);
	kvm_vcpu_exit_guest_mode(vcpu);
out:
	kvm_vm_call_end(vcpu->kvm);
	if (!r)
		*pfn = p;
	return r;
}
