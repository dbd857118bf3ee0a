// SPDX-License-Identifier: GPL-2.0-only
/*
 * SPTE construction, per-VM masks and the legal-state checker.
 *
 * What it does: builds every kind of SPTE the MMU installs (leaf, non-leaf,
 * MMIO, split and collapsed huge-page SPTEs, aged SPTEs) from a VM's struct
 * kvm_mmu_masks, following arch/x86/kvm/mmu/spte.c, and checks SPTE values
 * and single-store SPTE changes against the table in spte.h.
 *
 * Rules:
 *  1. Everything here is a pure function of its arguments and the masks: no
 *     lock is needed and no memory is touched except the caller's output.
 *  2. The masks are initialised before the VM is shared and never change
 *     afterwards (KVM's are __ro_after_init in spirit, except for the MMIO
 *     value which KVM sets per VM at creation).
 *  3. make_*() never produce a state spte_check_state() rejects; the unit
 *     tests hold them to that for every input they can reach.
 *  4. Caller errors (bad level, misaligned pfn) WARN: they are bugs in the
 *     MMU, not inputs from userspace.
 */
#include "mmusim_env.h"
#include <mmusim/host.h>
#include "mmu/spte.h"

/* ------------------------------------------------------------------------- */
/* Masks                                                                     */
/* ------------------------------------------------------------------------- */

void kvm_mmu_set_mmio_spte_mask(struct kvm_mmu_masks *m, u64 mmio_value, u64 mmio_mask,
				u64 access_mask)
{
	WARN_ON((u64)(unsigned int)access_mask != access_mask);
	WARN_ON(mmio_value & m->shadow_nonpresent_or_rsvd_lower_gfn_mask);

	/* The mask may only use bits set aside for it (not the generation). */
	if (WARN_ON(mmio_mask & ~SPTE_MMIO_ALLOWED_MASK))
		mmio_value = 0;

	/* The value must not collide with the L1TF-relocated GFN bits. */
	if (WARN_ON(mmio_value &
		    (m->shadow_nonpresent_or_rsvd_mask << SHADOW_NONPRESENT_OR_RSVD_MASK_LEN)))
		mmio_value = 0;

	/*
	 * The value must match itself under the mask, and a frozen SPTE must
	 * never be mistaken for an MMIO SPTE (MMIO needs some RWX bit, frozen
	 * has none, so this holds for any sane value).
	 */
	if (WARN_ON((mmio_value & mmio_mask) != mmio_value) ||
	    WARN_ON(mmio_value && (FROZEN_SPTE & mmio_mask) == mmio_value))
		mmio_value = 0;

	m->enable_mmio_caching = mmio_value != 0;
	m->shadow_mmio_value = mmio_value;
	m->shadow_mmio_mask = mmio_mask;
	m->shadow_mmio_access_mask = access_mask;
}

void kvm_mmu_reset_all_pte_masks(struct kvm_mmu_masks *m, int max_phys_bits,
				 int l1tf_cache_bits)
{
	int low_phys_bits;
	u64 mask;

	if (WARN_ON(max_phys_bits < 32 || max_phys_bits > 52))
		max_phys_bits = MMUSIM_HOST_MAXPHYADDR;

	memset(m, 0, sizeof(*m));
	m->ept = false;
	m->ad_enabled = true;
	m->max_phys_bits = max_phys_bits;

	/*
	 * L1TF: non-present SPTEs that hold an address must point above the
	 * cached physical range, so the top SHADOW_NONPRESENT_OR_RSVD_MASK_LEN
	 * bits of the L1 cache's width are set and the GFN bits there move up.
	 */
	m->shadow_nonpresent_or_rsvd_mask = 0;
	low_phys_bits = max_phys_bits;
	if (l1tf_cache_bits &&
	    !WARN_ON_ONCE(l1tf_cache_bits >= 52 - SHADOW_NONPRESENT_OR_RSVD_MASK_LEN ||
			  l1tf_cache_bits < max_phys_bits)) {
		low_phys_bits = l1tf_cache_bits - SHADOW_NONPRESENT_OR_RSVD_MASK_LEN;
		m->shadow_nonpresent_or_rsvd_mask = GENMASK_ULL(l1tf_cache_bits - 1, low_phys_bits);
	}
	m->shadow_nonpresent_or_rsvd_lower_gfn_mask = GENMASK_ULL(low_phys_bits - 1, PAGE_SHIFT);

	m->shadow_user_mask = PT_USER_MASK;
	m->shadow_accessed_mask = PT_ACCESSED_MASK;
	m->shadow_dirty_mask = PT_DIRTY_MASK;
	m->shadow_nx_mask = PT64_NX_MASK;
	m->shadow_x_mask = 0;
	m->shadow_present_mask = PT_PRESENT_MASK;
	m->shadow_acc_track_mask = 0;
	m->shadow_me_mask = 0;
	m->shadow_me_value = 0;
	m->shadow_memtype_mask = 0;
	m->shadow_host_writable_mask = DEFAULT_SPTE_HOST_WRITABLE;
	m->shadow_mmu_writable_mask = DEFAULT_SPTE_MMU_WRITABLE;
	/* v9: every 64-bit TDP VM has bit 59 to say "refcounted page". */
	m->shadow_refcounted_mask = SPTE_MMU_PAGE_REFCOUNTED;

	/*
	 * MMIO SPTEs set a reserved PA bit so that guest accesses fault with
	 * PFEC.RSVD.  With 52 physical address bits no PA bit is reserved and
	 * MMIO caching is off.
	 */
	if (max_phys_bits < 52)
		mask = BIT_ULL(51) | PT_PRESENT_MASK;
	else
		mask = 0;
	kvm_mmu_set_mmio_spte_mask(m, mask, mask, ACC_WRITE_MASK | ACC_USER_MASK);
}

void kvm_mmu_set_ept_masks(struct kvm_mmu_masks *m, bool has_ad_bits, bool has_exec_only)
{
	m->ept = true;
	m->ad_enabled = has_ad_bits;

	m->shadow_user_mask = VMX_EPT_READABLE_MASK;
	m->shadow_accessed_mask = VMX_EPT_ACCESS_BIT;
	m->shadow_dirty_mask = VMX_EPT_DIRTY_BIT;
	m->shadow_nx_mask = 0;
	m->shadow_x_mask = VMX_EPT_EXECUTABLE_MASK;
	/*
	 * With exec-only support, R is not implied by presence (ACC_USER
	 * grants it).  SVE is set on every present SPTE so that W or X
	 * violations never become #VEs.
	 */
	m->shadow_present_mask =
		(has_exec_only ? 0ull : VMX_EPT_READABLE_MASK) | VMX_EPT_SUPPRESS_VE_BIT;
	m->shadow_acc_track_mask = VMX_EPT_RWX_MASK;
	m->shadow_host_writable_mask = EPT_SPTE_HOST_WRITABLE;
	m->shadow_mmu_writable_mask = EPT_SPTE_MMU_WRITABLE;
	m->shadow_memtype_mask = VMX_EPT_MT_MASK | VMX_EPT_IPAT_BIT;

	/* RWX = 110b makes an EPT misconfiguration exit: that is MMIO. */
	kvm_mmu_set_mmio_spte_mask(m, VMX_EPT_MISCONFIG_WX_VALUE,
				   VMX_EPT_RWX_MASK | VMX_EPT_SUPPRESS_VE_BIT, 0);
}

void kvm_mmu_init_npt_masks(struct kvm_mmu_masks *m)
{
	kvm_mmu_reset_all_pte_masks(m, MMUSIM_HOST_MAXPHYADDR, 0);
}

void kvm_mmu_init_ept_masks(struct kvm_mmu_masks *m, bool has_ad_bits, bool has_exec_only)
{
	kvm_mmu_reset_all_pte_masks(m, MMUSIM_HOST_MAXPHYADDR, 0);
	kvm_mmu_set_ept_masks(m, has_ad_bits, has_exec_only);
}

/* ------------------------------------------------------------------------- */
/* MMIO SPTEs                                                                */
/* ------------------------------------------------------------------------- */

static u64 generation_mmio_spte_mask(u64 gen)
{
	u64 mask;

	WARN_ON_ONCE(gen & ~MMIO_SPTE_GEN_MASK);

	mask = (gen << MMIO_SPTE_GEN_LOW_SHIFT) & MMIO_SPTE_GEN_LOW_MASK;
	mask |= (gen << MMIO_SPTE_GEN_HIGH_SHIFT) & MMIO_SPTE_GEN_HIGH_MASK;
	return mask;
}

u64 make_mmio_spte(const struct kvm_mmu_masks *m, gfn_t gfn, unsigned int access,
		   u64 memslots_gen)
{
	/* Dropping bits 19+ also drops the "update in progress" flag (bit 63). */
	u64 gen = memslots_gen & MMIO_SPTE_GEN_MASK;
	u64 spte = generation_mmio_spte_mask(gen);
	u64 gpa = gfn << PAGE_SHIFT;

	/* Callers refuse to cache MMIO beyond kvm_mmu_max_gfn() or when off. */
	KVM_MMU_WARN_ON(!m->enable_mmio_caching || gfn > kvm_mmu_max_gfn(m));

	access &= m->shadow_mmio_access_mask;
	spte |= m->shadow_mmio_value | access;
	spte |= gpa | m->shadow_nonpresent_or_rsvd_mask;
	spte |= (gpa & m->shadow_nonpresent_or_rsvd_mask) << SHADOW_NONPRESENT_OR_RSVD_MASK_LEN;
	return spte;
}

/* ------------------------------------------------------------------------- */
/* Leaf and non-leaf SPTEs                                                   */
/* ------------------------------------------------------------------------- */

bool kvm_is_mmio_pfn(struct sim_host *host, kvm_pfn_t pfn)
{
	struct sim_page *page = sim_pfn_to_page(host, pfn);

	if (page)
		return sim_page_flags(host, page) & SIM_PG_RESERVED;
	return !sim_pfn_valid(host, pfn);
}

bool __make_spte(const struct kvm_mmu_masks *m, int level, unsigned int pte_access, gfn_t gfn,
		 kvm_pfn_t pfn, u64 old_spte, bool prefetch, bool synchronizing, bool host_writable,
		 bool ad_disabled, bool is_refcounted, bool host_mmio, u64 *new_spte)
{
	u64 spte = SPTE_MMU_PRESENT_MASK;
	bool wrprot = false;

	WARN_ON_ONCE(level < PG_LEVEL_4K || level > KVM_MAX_HUGEPAGE_LEVEL);
	WARN_ON_ONCE(pfn & ~(SPTE_BASE_ADDR_MASK >> PAGE_SHIFT));
	KVM_MMU_WARN_ON(pfn & (KVM_PAGES_PER_HPAGE(level) - 1));

	/*
	 * EPT with exec-only support has no R in the present mask, so an SPTE
	 * with no access at all would be hardware-non-present: a caller bug.
	 */
	WARN_ON_ONCE((pte_access | m->shadow_present_mask) == SHADOW_NONPRESENT_VALUE);

	/*
	 * The A/D type comes from the page table's role.  NPT always has A/D
	 * bits; EPT without them must use DISABLED everywhere.
	 */
	if (WARN_ON_ONCE(ad_disabled && !m->ept))
		ad_disabled = false;
	if (WARN_ON_ONCE(!ad_disabled && !m->ad_enabled))
		ad_disabled = true;
	if (ad_disabled)
		spte |= SPTE_TDP_AD_DISABLED;

	spte |= m->shadow_present_mask;
	if (!prefetch || synchronizing)
		spte |= m->shadow_accessed_mask;

	/*
	 * NX huge page mitigation: executable huge pages are mapped NX; a
	 * fetch fault then splits them (make_small_spte() gives X back).
	 */
	if (level > PG_LEVEL_4K && (pte_access & ACC_EXEC_MASK) && m->nx_huge_pages)
		pte_access &= ~ACC_EXEC_MASK;

	if (pte_access & ACC_EXEC_MASK)
		spte |= m->shadow_x_mask;
	else
		spte |= m->shadow_nx_mask;

	if (pte_access & ACC_USER_MASK)
		spte |= m->shadow_user_mask;

	if (level > PG_LEVEL_4K)
		spte |= PT_PAGE_SIZE_MASK;

	/* vmx_get_mt_mask(); NPT has no memtype in the SPTE. */
	if (m->shadow_memtype_mask)
		spte |= host_mmio ? SPTE_EPT_MEMTYPE_UC : SPTE_EPT_MEMTYPE_WB;

	if (host_writable)
		spte |= m->shadow_host_writable_mask;
	else
		pte_access &= ~ACC_WRITE_MASK;

	if (!host_mmio)
		spte |= m->shadow_me_value;
	spte |= (u64)pfn << PAGE_SHIFT;

	if (is_refcounted)
		spte |= m->shadow_refcounted_mask;

	/*
	 * A pin is held for the pfn, not for one SPTE value: re-faulting a
	 * present leaf that maps the same pfn keeps it (as set_spte() does in
	 * the pinned-SPTE RFC), and so does the unzap of a zapped-pinned leaf.
	 * PFNs of present leaves never change in place, so a different pfn
	 * means the caller zapped first and unpinned.
	 */
	if (((is_shadow_present_pte(old_spte) && is_last_spte(old_spte, level)) ||
	     is_zapped_pinned_spte(old_spte)) &&
	    spte_to_pfn(old_spte) == pfn)
		spte |= old_spte & SPTE_PINNED_MASK;

	/*
	 * KVM would try to unsync shadow pages here and write-protect the SPTE
	 * if the gfn is write-tracked; there is no shadow paging, so a write
	 * right is always granted.  Dirty is set eagerly: the write that
	 * caused the fault is about to happen.
	 */
	if (pte_access & ACC_WRITE_MASK)
		spte |= PT_WRITABLE_MASK | m->shadow_mmu_writable_mask | m->shadow_dirty_mask;

	if (prefetch && !synchronizing)
		spte = mark_spte_for_access_track(m, spte);

	*new_spte = spte;
	return wrprot;
}

static u64 modify_spte_protections(const struct kvm_mmu_masks *m, u64 spte, u64 set, u64 clear)
{
	bool is_access_track = is_access_track_spte(m, spte);

	if (is_access_track)
		spte = restore_acc_track_spte(m, spte);

	KVM_MMU_WARN_ON(set & clear);
	spte = (spte | set) & ~clear;

	if (is_access_track)
		spte = mark_spte_for_access_track(m, spte);

	return spte;
}

static u64 make_spte_executable(const struct kvm_mmu_masks *m, u64 spte)
{
	return modify_spte_protections(m, spte, m->shadow_x_mask, m->shadow_nx_mask);
}

static u64 make_spte_nonexecutable(const struct kvm_mmu_masks *m, u64 spte)
{
	return modify_spte_protections(m, spte, m->shadow_nx_mask, m->shadow_x_mask);
}

u64 make_small_spte(const struct kvm_mmu_masks *m, u64 huge_spte, int child_level, int index)
{
	u64 child_spte = huge_spte;

	WARN_ON_ONCE(!is_shadow_present_pte(huge_spte) || !is_large_pte(huge_spte));
	WARN_ON_ONCE(child_level < PG_LEVEL_4K || child_level >= KVM_MAX_HUGEPAGE_LEVEL);
	WARN_ON_ONCE(index < 0 || index >= SPTE_ENT_PER_PAGE);

	/* The huge SPTE holds the base pfn; add the child's offset. */
	child_spte |= ((u64)index * KVM_PAGES_PER_HPAGE(child_level)) << PAGE_SHIFT;
	/*
	 * A pin is one reference held by one leaf (the pinned-SPTE RFC): the
	 * huge leaf's goes with it, and no child inherits it.
	 */
	child_spte &= ~SPTE_PINNED_MASK;

	if (child_level == PG_LEVEL_4K) {
		child_spte &= ~PT_PAGE_SIZE_MASK;

		/*
		 * TDP tables are ACC_ALL, so a 4K page may execute: give back
		 * the X the NX huge page mitigation took from the huge page.
		 */
		if (m->nx_huge_pages)
			child_spte = make_spte_executable(m, child_spte);
	}

	return child_spte;
}

u64 make_huge_spte(const struct kvm_mmu_masks *m, u64 small_spte, int level)
{
	u64 huge_spte;

	WARN_ON_ONCE(!is_shadow_present_pte(small_spte) || level <= PG_LEVEL_4K ||
		     level > KVM_MAX_HUGEPAGE_LEVEL);

	huge_spte = small_spte | PT_PAGE_SIZE_MASK;

	/* Keep everything but the PFN bits below the huge page size, and the pin. */
	huge_spte &= (KVM_HPAGE_MASK(level) | ~PAGE_MASK) & ~SPTE_PINNED_MASK;

	if (m->nx_huge_pages)
		huge_spte = make_spte_nonexecutable(m, huge_spte);

	return huge_spte;
}

u64 make_nonleaf_spte(const struct kvm_mmu_masks *m, u64 *child_pt, bool ad_disabled)
{
	u64 spte = SPTE_MMU_PRESENT_MASK;

	KVM_MMU_WARN_ON(!PAGE_ALIGNED(child_pt));

	/* Non-leaf entries grant everything; leaves decide. */
	spte |= __pa(child_pt) | m->shadow_present_mask | PT_WRITABLE_MASK | m->shadow_user_mask |
		m->shadow_x_mask | m->shadow_me_value;

	if (ad_disabled)
		spte |= SPTE_TDP_AD_DISABLED;
	else
		spte |= m->shadow_accessed_mask;

	return spte;
}

u64 mark_spte_for_access_track(const struct kvm_mmu_masks *m, u64 spte)
{
	if (spte_ad_enabled(spte))
		return spte & ~m->shadow_accessed_mask;

	if (is_access_track_spte(m, spte))
		return spte;

	check_spte_writable_invariants(m, spte);

	WARN_ONCE(spte & SHADOW_ACC_TRACK_SAVED_MASK,
		  "mmusim: access-tracking saved bits are not zero: %llx",
		  (unsigned long long)spte);

	spte |= (spte & SHADOW_ACC_TRACK_SAVED_BITS_MASK) << SHADOW_ACC_TRACK_SAVED_BITS_SHIFT;
	spte &= ~(m->shadow_acc_track_mask | m->shadow_accessed_mask);
	return spte;
}

/* ------------------------------------------------------------------------- */
/* The checker                                                               */
/* ------------------------------------------------------------------------- */

static const char *const spte_check_reasons[SPTE_ERR_NR] = {
	[0] = "ok",
	[-SPTE_ERR_LEVEL] = "level out of range",
	[-SPTE_ERR_NONPRESENT_JUNK] =
		"non-present SPTE that is neither SHADOW_NONPRESENT_VALUE, FROZEN_SPTE nor MMIO",
	[-SPTE_ERR_MMIO_LEVEL] = "MMIO SPTE above 4K",
	[-SPTE_ERR_MMIO_BITS] = "MMIO SPTE with bits outside gen/value/access/GPA",
	[-SPTE_ERR_LOOKS_MMIO] = "present SPTE matches the MMIO value",
	[-SPTE_ERR_NONLEAF_BITS] = "non-leaf SPTE not in make_nonleaf_spte() form",
	[-SPTE_ERR_NONLEAF_PA] = "non-leaf SPTE points at physical address 0",
	[-SPTE_ERR_HUGE_LEVEL] = "leaf SPTE above KVM_MAX_HUGEPAGE_LEVEL",
	[-SPTE_ERR_PS_4K] = "PS bit set on a 4K SPTE",
	[-SPTE_ERR_HUGE_ALIGN] = "huge SPTE's pfn not aligned to its level",
	[-SPTE_ERR_PFN_RANGE] = "pfn beyond the host MAXPHYADDR",
	[-SPTE_ERR_AD_TYPE] = "A/D type illegal for this MMU",
	[-SPTE_ERR_UNKNOWN_BITS] = "leaf SPTE has bits KVM never sets",
	[-SPTE_ERR_HW_NOT_PRESENT] = "leaf not present to hardware yet not access-tracked",
	[-SPTE_ERR_EPT_MISCONFIG] = "EPT misconfiguration (W without R, or reserved memtype)",
	[-SPTE_ERR_ACC_TRACK_A] = "access-tracked SPTE has the Accessed bit",
	[-SPTE_ERR_ACC_TRACK_SAVED] = "saved access-tracking bits on an SPTE that is not tracked",
	[-SPTE_ERR_MMU_W_NOT_HOST_W] = "MMU-writable SPTE is not Host-writable",
	[-SPTE_ERR_W_NOT_MMU_W] = "Writable SPTE is not MMU-writable",
	[-SPTE_ERR_PRESENT_TO_MMIO] = "present SPTE turned into an MMIO SPTE without a zap",
	[-SPTE_ERR_PFN_CHANGED] = "present leaf changed its pfn in place",
	[-SPTE_ERR_CHILD_CHANGED] = "non-leaf SPTE changed in place (different child)",
	[-SPTE_ERR_LEAF_NONLEAF] = "leaf <-> non-leaf replacement without a zap",
	[-SPTE_ERR_AD_TYPE_CHANGED] = "present SPTE changed its A/D type",
	[-SPTE_ERR_HOST_W_CHANGED] = "Host-writable changed on a present SPTE",
	[-SPTE_ERR_PINNED_CHANGED] = "pinned bit changed on a present leaf",
	[-SPTE_ERR_REFCOUNTED_CHANGED] = "refcounted bit changed on a present leaf",
	[-SPTE_ERR_ZAPPED_PINNED] =
		"zapped-pinned SPTE made from or turned into anything but the pinned leaf of its pfn",
};

const char *spte_check_reason(int err)
{
	if (err > 0 || err <= -SPTE_ERR_NR || !spte_check_reasons[-err])
		return "unknown SPTE check result";
	return spte_check_reasons[-err];
}

static int check_mmio_state(const struct kvm_mmu_masks *m, u64 spte, int level)
{
	u64 rsvd = m->shadow_nonpresent_or_rsvd_mask;
	u64 allowed;

	/* No memslot means no huge page: MMIO SPTEs are 4K. */
	if (level != PG_LEVEL_4K)
		return SPTE_ERR_MMIO_LEVEL;

	allowed = MMIO_SPTE_GEN_LOW_MASK | MMIO_SPTE_GEN_HIGH_MASK | m->shadow_mmio_mask |
		  m->shadow_mmio_access_mask | m->shadow_nonpresent_or_rsvd_lower_gfn_mask |
		  rsvd | (rsvd << SHADOW_NONPRESENT_OR_RSVD_MASK_LEN);
	if (spte & ~allowed)
		return SPTE_ERR_MMIO_BITS;
	if ((spte & rsvd) != rsvd)
		return SPTE_ERR_MMIO_BITS;
	return 0;
}

static int check_nonleaf_state(const struct kvm_mmu_masks *m, u64 spte)
{
	u64 rest = spte & ~SPTE_BASE_ADDR_MASK;
	u64 expect = SPTE_MMU_PRESENT_MASK | m->shadow_present_mask | PT_WRITABLE_MASK |
		     m->shadow_user_mask | m->shadow_x_mask | m->shadow_me_value;

	if (!(spte & SPTE_BASE_ADDR_MASK))
		return SPTE_ERR_NONLEAF_PA;

	switch (rest & SPTE_TDP_AD_MASK) {
	case SPTE_TDP_AD_ENABLED:
		if (!m->ad_enabled)
			return SPTE_ERR_AD_TYPE;
		expect |= m->shadow_accessed_mask;
		break;
	case SPTE_TDP_AD_DISABLED:
		if (!m->ept)
			return SPTE_ERR_AD_TYPE;
		expect |= SPTE_TDP_AD_DISABLED;
		break;
	default:
		/* Write protection for L2 is a leaf matter; 3 is unused. */
		return SPTE_ERR_AD_TYPE;
	}

	return rest == expect ? 0 : SPTE_ERR_NONLEAF_BITS;
}

/* Every bit KVM may set in a present leaf of this MMU. */
static u64 leaf_allowed_bits(const struct kvm_mmu_masks *m)
{
	u64 allowed = SPTE_MMU_PRESENT_MASK | SPTE_BASE_ADDR_MASK | PT_PAGE_SIZE_MASK |
		      PT_WRITABLE_MASK | m->shadow_present_mask | m->shadow_user_mask |
		      m->shadow_x_mask | m->shadow_nx_mask | m->shadow_accessed_mask |
		      m->shadow_dirty_mask | m->shadow_host_writable_mask |
		      m->shadow_mmu_writable_mask | m->shadow_memtype_mask | SPTE_LEAF_SW_MASK;

	if (m->ept)
		allowed |= SPTE_TDP_AD_MASK | SHADOW_ACC_TRACK_SAVED_MASK;
	return allowed;
}

static int check_leaf_state(const struct kvm_mmu_masks *m, u64 spte, int level)
{
	kvm_pfn_t pfn = spte_to_pfn(spte);
	u64 ad = spte & SPTE_TDP_AD_MASK;
	u64 required;
	bool tracked;

	if (level == PG_LEVEL_4K) {
		if (is_large_pte(spte))
			return SPTE_ERR_PS_4K;
	} else if (level > KVM_MAX_HUGEPAGE_LEVEL) {
		return SPTE_ERR_HUGE_LEVEL;
	}

	if (pfn & (KVM_PAGES_PER_HPAGE(level) - 1))
		return SPTE_ERR_HUGE_ALIGN;
	if (pfn >> (m->max_phys_bits - PAGE_SHIFT))
		return SPTE_ERR_PFN_RANGE;

	if (!m->ept) {
		if (ad != SPTE_TDP_AD_ENABLED)
			return SPTE_ERR_AD_TYPE;
	} else if (ad == SPTE_TDP_AD_MASK) {
		return SPTE_ERR_AD_TYPE;
	} else if (ad != SPTE_TDP_AD_DISABLED && !m->ad_enabled) {
		return SPTE_ERR_AD_TYPE;
	}

	if (spte & ~leaf_allowed_bits(m))
		return SPTE_ERR_UNKNOWN_BITS;

	tracked = is_access_track_spte(m, spte);
	if (tracked) {
		if (spte & m->shadow_accessed_mask)
			return SPTE_ERR_ACC_TRACK_A;
	} else if (spte & SHADOW_ACC_TRACK_SAVED_MASK) {
		return SPTE_ERR_ACC_TRACK_SAVED;
	}

	required = m->shadow_present_mask & ~(tracked ? m->shadow_acc_track_mask : 0);
	if ((spte & required) != required)
		return SPTE_ERR_HW_NOT_PRESENT;

	if (m->ept) {
		u64 rwx = spte & VMX_EPT_RWX_MASK;
		u64 mt = (spte & VMX_EPT_MT_MASK) >> VMX_EPT_MT_EPTE_SHIFT;

		/* RWX == 0 without tracking: the CPU would fault forever. */
		if (!tracked && !rwx)
			return SPTE_ERR_HW_NOT_PRESENT;
		if ((rwx & VMX_EPT_WRITABLE_MASK) && !(rwx & VMX_EPT_READABLE_MASK))
			return SPTE_ERR_EPT_MISCONFIG;
		if (mt == 2 || mt == 3 || mt == 7)
			return SPTE_ERR_EPT_MISCONFIG;
	}

	if (is_mmu_writable_spte(m, spte)) {
		if (!is_host_writable_spte(m, spte))
			return SPTE_ERR_MMU_W_NOT_HOST_W;
	} else if (is_writable_pte(spte)) {
		return SPTE_ERR_W_NOT_MMU_W;
	}
	return 0;
}

int spte_check_state(const struct kvm_mmu_masks *m, u64 spte, int level)
{
	if (level < PG_LEVEL_4K || level > PT64_ROOT_MAX_LEVEL)
		return SPTE_ERR_LEVEL;

	if (spte == SHADOW_NONPRESENT_VALUE || is_frozen_spte(spte))
		return 0;

	if (is_zapped_pinned_spte(spte)) {
		if (level > KVM_MAX_HUGEPAGE_LEVEL)
			return SPTE_ERR_HUGE_LEVEL;
		if (spte_to_pfn(spte) & (KVM_PAGES_PER_HPAGE(level) - 1))
			return SPTE_ERR_HUGE_ALIGN;
		if (spte_to_pfn(spte) >> (m->max_phys_bits - PAGE_SHIFT))
			return SPTE_ERR_PFN_RANGE;
		return 0;
	}

	if (!is_shadow_present_pte(spte)) {
		if (!is_mmio_spte(m, spte))
			return SPTE_ERR_NONPRESENT_JUNK;
		return check_mmio_state(m, spte, level);
	}

	/* Hardware and the fault path must never confuse the two. */
	if (is_mmio_spte(m, spte))
		return SPTE_ERR_LOOKS_MMIO;

	if (!is_last_spte(spte, level))
		return check_nonleaf_state(m, spte);
	return check_leaf_state(m, spte, level);
}

int __spte_check_transition(const struct kvm_mmu_masks *m, u64 old_spte, u64 new_spte,
			    int level, unsigned int flags)
{
	bool was_leaf, is_leaf;
	u64 changed;
	int r;

	r = spte_check_state(m, old_spte, level);
	if (r)
		return r;
	r = spte_check_state(m, new_spte, level);
	if (r)
		return r;

	if (old_spte == new_spte)
		return 0;

	/*
	 * The pin stays with its pfn: dropped (empty, or a table linked in its
	 * place by the TDP MMU), frozen, or unzapped.
	 */
	if (is_zapped_pinned_spte(old_spte)) {
		if (new_spte == SHADOW_NONPRESENT_VALUE || is_frozen_spte(new_spte) ||
		    (is_shadow_present_pte(new_spte) && !is_last_spte(new_spte, level)))
			return 0;
		if (!is_pinned_spte(new_spte) || !is_last_spte(new_spte, level) ||
		    spte_to_pfn(new_spte) != spte_to_pfn(old_spte))
			return SPTE_ERR_ZAPPED_PINNED;
		return 0;
	}

	/*
	 * Empty, frozen (by its owner) and MMIO SPTEs may become anything but
	 * zapped-pinned, which only a pinned leaf (or its freezer) becomes.
	 */
	if (!is_shadow_present_pte(old_spte)) {
		if (is_zapped_pinned_spte(new_spte) && !is_frozen_spte(old_spte))
			return SPTE_ERR_ZAPPED_PINNED;
		return 0;
	}

	if (is_zapped_pinned_spte(new_spte)) {
		if (!is_pinned_spte(old_spte) || !is_last_spte(old_spte, level) ||
		    spte_to_pfn(old_spte) != spte_to_pfn(new_spte))
			return SPTE_ERR_ZAPPED_PINNED;
		return 0;
	}

	if (!is_shadow_present_pte(new_spte))
		return is_mmio_spte(m, new_spte) ? SPTE_ERR_PRESENT_TO_MMIO : 0;

	/* The A/D scheme belongs to the page table's role. */
	if (spte_ad_enabled(old_spte) != spte_ad_enabled(new_spte))
		return SPTE_ERR_AD_TYPE_CHANGED;

	was_leaf = is_last_spte(old_spte, level);
	is_leaf = is_last_spte(new_spte, level);
	if (was_leaf != is_leaf)
		return (flags & SPTE_TRANSITION_ALLOW_REPLACE) ? 0 : SPTE_ERR_LEAF_NONLEAF;

	/* Non-leaf SPTEs have a single legal form per child: any change re-points. */
	if (!was_leaf)
		return SPTE_ERR_CHILD_CHANGED;

	if (spte_to_pfn(old_spte) != spte_to_pfn(new_spte))
		return SPTE_ERR_PFN_CHANGED;

	changed = old_spte ^ new_spte;
	if (changed & SPTE_TDP_AD_MASK)
		return SPTE_ERR_AD_TYPE_CHANGED;
	/*
	 * Host-writable may be gained in place: a host write fault that reuses
	 * an exclusively owned page upgrades the host PTE without an MMU
	 * notifier, and KVM's next write fault rebuilds the SPTE over the old
	 * one.  Losing it needs a zap (the host sends an invalidation first).
	 */
	if ((changed & m->shadow_host_writable_mask) && !(new_spte & m->shadow_host_writable_mask))
		return SPTE_ERR_HOST_W_CHANGED;
	if (changed & SPTE_PINNED_MASK)
		return SPTE_ERR_PINNED_CHANGED;
	if (changed & SPTE_MMU_PAGE_REFCOUNTED)
		return SPTE_ERR_REFCOUNTED_CHANGED;
	return 0;
}

int spte_check_transition(const struct kvm_mmu_masks *m, u64 old_spte, u64 new_spte, int level)
{
	return __spte_check_transition(m, old_spte, new_spte, level, 0);
}

#ifdef MMUSIM_PROVE
void __spte_check_change(const struct kvm_mmu_masks *m, u64 old_spte, u64 new_spte, int level,
			 unsigned int flags)
{
	int r = __spte_check_transition(m, old_spte, new_spte, level, flags);
	const char *which = "transition";

	if (likely(!r))
		return;

	if (spte_check_state(m, old_spte, level))
		which = "old value";
	else if (spte_check_state(m, new_spte, level))
		which = "new value";

	WARN(1, "mmusim: illegal SPTE change (%s): old=%#llx new=%#llx level=%d (%s, %s): %s",
	     which, (unsigned long long)old_spte, (unsigned long long)new_spte, level,
	     m->ept ? "EPT" : "NPT", m->ad_enabled ? "A/D" : "no A/D", spte_check_reason(r));
}
#endif
