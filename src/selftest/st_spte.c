// SPDX-License-Identifier: GPL-2.0-only
/*
 * Self-tests of the SPTE encoding (src/mmu/spte.c) that run in both
 * environments: leaf and non-leaf constructors, MMIO SPTEs with their
 * memslot generation, access tracking, huge-page split and collapse, and the
 * legal-state checker, in every mask set the simulator supports:
 *
 *   NPT              AMD nested paging (x86 PTE format, A/D bits)
 *   EPT A/D          Intel EPT with accessed/dirty bits
 *   EPT no A/D       Intel EPT without them: aging by access tracking
 *   EPT A/D + XO     EPT with execute-only support
 *   EPT no A/D + XO
 *
 * Everything here is computation on values, except non-leaf SPTEs, which
 * point at a real page: in the kernel its physical address is a real one
 * (__pa of the direct map), which is the point of running these there.
 * tests/test_spte.c has the exhaustive userspace version; these bodies keep
 * the loops small enough for a TCG guest.
 */
#include "mmusim_env.h"

#include "mmu/spte.h"
#include "mmu/tdp_iter.h"
#include "selftest/selftest.h"

enum { ST_NPT, ST_EPT_AD, ST_EPT_NOAD, ST_EPT_AD_XO, ST_EPT_NOAD_XO, ST_NR_MODES };

static void st_init_mode(struct kvm_mmu_masks *m, int mode)
{
	switch (mode) {
	case ST_NPT:
		kvm_mmu_init_npt_masks(m);
		break;
	case ST_EPT_AD:
		kvm_mmu_init_ept_masks(m, true, false);
		break;
	case ST_EPT_NOAD:
		kvm_mmu_init_ept_masks(m, false, false);
		break;
	case ST_EPT_AD_XO:
		kvm_mmu_init_ept_masks(m, true, true);
		break;
	default:
		kvm_mmu_init_ept_masks(m, false, true);
		break;
	}
}

/* A fault-made leaf: not prefetched, refcounted, A/D as the VM's TDP tables. */
static u64 st_leaf(const struct kvm_mmu_masks *m, int level, unsigned int access, kvm_pfn_t pfn,
		   bool host_writable)
{
	u64 spte = 0;

	make_spte(m, level, access, 0, pfn, SHADOW_NONPRESENT_VALUE, false, false, host_writable,
		  !m->ad_enabled, true, &spte);
	return spte;
}

/* The checker's verdict, with the SPTE in the message when it is not @want. */
#define ST_EXPECT_STATE(m, spte, level, want)                                         \
	do {                                                                          \
		int __r = spte_check_state(m, spte, level);                           \
		if (__r != (want))                                                    \
			__ST_FAILURE("spte %#llx level %d: '%s', want '%s'",          \
				     (unsigned long long)(spte), (int)(level),        \
				     spte_check_reason(__r), spte_check_reason(want)); \
	} while (0)

#define ST_EXPECT_TRANSITION(m, old, new, level, want)                                \
	do {                                                                          \
		int __r = spte_check_transition(m, old, new, level);                  \
		if (__r != (want))                                                    \
			__ST_FAILURE("%#llx -> %#llx level %d: '%s', want '%s'",      \
				     (unsigned long long)(old),                       \
				     (unsigned long long)(new), (int)(level),         \
				     spte_check_reason(__r), spte_check_reason(want)); \
	} while (0)

/*
 * make_spte() at every level in every mode: the SPTE decodes to what was
 * asked for and the checker accepts it.  Writable SPTEs are created Dirty
 * and MMU-writable; a page the host does not let us write gives a read-only
 * SPTE with neither writable bit.
 */
ST_TEST(spte_make_spte)
{
	static const unsigned int accesses[] = {
		ACC_ALL, ACC_USER_MASK, ACC_USER_MASK | ACC_WRITE_MASK,
		ACC_USER_MASK | ACC_EXEC_MASK,
	};
	struct kvm_mmu_masks m;
	int mode, level;
	unsigned int i;

	for (mode = 0; mode < ST_NR_MODES; mode++) {
		st_init_mode(&m, mode);
		for (level = PG_LEVEL_4K; level <= PG_LEVEL_1G; level++) {
			kvm_pfn_t pfn = 3 * KVM_PAGES_PER_HPAGE(level);
			u64 spte = st_leaf(&m, level, ACC_ALL, pfn, true);

			ST_EXPECT_STATE(&m, spte, level, 0);
			ST_EXPECT(is_shadow_present_pte(spte));
			ST_EXPECT(is_last_spte(spte, level));
			ST_EXPECT_EQ(is_large_pte(spte), level > PG_LEVEL_4K);
			ST_EXPECT_EQ(spte_to_pfn(spte), pfn);
			ST_EXPECT(is_writable_pte(spte));
			ST_EXPECT(is_mmu_writable_spte(&m, spte));
			ST_EXPECT(is_host_writable_spte(&m, spte));
			ST_EXPECT(is_accessed_spte(&m, spte));
			ST_EXPECT(is_dirty_spte(&m, spte));
			ST_EXPECT(is_executable_pte(&m, spte));
			ST_EXPECT(is_refcounted_page_spte(spte));
			ST_EXPECT(!is_pinned_spte(spte));
			ST_EXPECT(!is_mmio_spte(&m, spte));
			ST_EXPECT(!is_access_track_spte(&m, spte));
			ST_EXPECT_EQ(spte_ad_enabled(spte), m.ad_enabled);
			if (m.ept) {
				ST_EXPECT_EQ(spte & VMX_EPT_RWX_MASK, VMX_EPT_RWX_MASK);
				ST_EXPECT_EQ(spte & (VMX_EPT_MT_MASK | VMX_EPT_IPAT_BIT),
					     SPTE_EPT_MEMTYPE_WB);
				ST_EXPECT(spte & VMX_EPT_SUPPRESS_VE_BIT);
				ST_EXPECT(spte & EPT_SPTE_HOST_WRITABLE);
				ST_EXPECT(spte & EPT_SPTE_MMU_WRITABLE);
				ST_EXPECT(!is_ept_ve_possible(&m, spte));
			} else {
				/* NPT: exactly these bits. */
				ST_EXPECT_EQ(spte, SPTE_MMU_PRESENT_MASK | PT_PRESENT_MASK |
						   PT_WRITABLE_MASK | PT_USER_MASK |
						   PT_ACCESSED_MASK | PT_DIRTY_MASK |
						   (level > PG_LEVEL_4K ? PT_PAGE_SIZE_MASK : 0) |
						   DEFAULT_SPTE_HOST_WRITABLE |
						   DEFAULT_SPTE_MMU_WRITABLE |
						   SPTE_MMU_PAGE_REFCOUNTED | (pfn << PAGE_SHIFT));
			}

			/* Read-only host page. */
			spte = st_leaf(&m, level, ACC_ALL, pfn, false);
			ST_EXPECT_STATE(&m, spte, level, 0);
			ST_EXPECT(!is_writable_pte(spte));
			ST_EXPECT(!is_mmu_writable_spte(&m, spte));
			ST_EXPECT(!is_host_writable_spte(&m, spte));

			/* Narrower rights are legal too. */
			for (i = 0; i < ARRAY_SIZE(accesses); i++) {
				spte = st_leaf(&m, level, accesses[i], pfn, true);
				ST_EXPECT_STATE(&m, spte, level, 0);
				ST_EXPECT_EQ(is_writable_pte(spte),
					     !!(accesses[i] & ACC_WRITE_MASK));
				ST_EXPECT_EQ(is_executable_pte(&m, spte),
					     !!(accesses[i] & ACC_EXEC_MASK));
			}

			/* Prefetched: not accessed (access-tracked without A/D bits). */
			make_spte(&m, level, ACC_ALL, 0, pfn, SHADOW_NONPRESENT_VALUE, true, false,
				  true, !m.ad_enabled, false, &spte);
			ST_EXPECT_STATE(&m, spte, level, 0);
			ST_EXPECT(!is_accessed_spte(&m, spte));
			ST_EXPECT(!is_refcounted_page_spte(spte));
			ST_EXPECT_EQ(is_access_track_spte(&m, spte), !m.ad_enabled);
		}
	}
	return st_result(ctx);
}

/*
 * Non-leaf SPTEs point at a real page table: the PFN field is its physical
 * address (in the kernel, a real one), spte_to_child_pt() gives the table
 * back, and the checker accepts them at every non-leaf level but not at 4K.
 */
ST_TEST(spte_nonleaf)
{
	unsigned long page = get_zeroed_page(GFP_KERNEL);
	u64 *pt = (u64 *)page;
	struct kvm_mmu_masks m;
	int mode, level;

	ST_ASSERT(page);
	for (mode = 0; mode < ST_NR_MODES; mode++) {
		u64 spte;

		st_init_mode(&m, mode);
		spte = make_nonleaf_spte(&m, pt, !m.ad_enabled);
		ST_EXPECT(is_shadow_present_pte(spte));
		ST_EXPECT(!is_large_pte(spte));
		ST_EXPECT_EQ(spte_to_pfn(spte), (u64)(__pa(pt) >> PAGE_SHIFT));
		ST_EXPECT_EQ(spte, SPTE_MMU_PRESENT_MASK | (u64)__pa(pt) | m.shadow_present_mask |
				   PT_WRITABLE_MASK | m.shadow_user_mask | m.shadow_x_mask |
				   (m.ad_enabled ? m.shadow_accessed_mask : SPTE_TDP_AD_DISABLED));
		ST_EXPECT(!is_mmio_spte(&m, spte));
		for (level = PG_LEVEL_2M; level <= PT64_ROOT_MAX_LEVEL; level++) {
			ST_EXPECT_STATE(&m, spte, level, 0);
			ST_EXPECT_PTR_EQ((u64 *)spte_to_child_pt(spte, level), pt);
		}
		/* At 4K every SPTE is a leaf, and this one is no legal leaf. */
		ST_EXPECT(is_last_spte(spte, PG_LEVEL_4K));
		ST_EXPECT_NE(spte_check_state(&m, spte, PG_LEVEL_4K), 0);
		ST_EXPECT_NULL((u64 *)spte_to_child_pt(spte, PG_LEVEL_4K));
		ST_EXPECT_NULL((u64 *)spte_to_child_pt(SHADOW_NONPRESENT_VALUE, PG_LEVEL_2M));
	}
	free_page(page);
	return st_result(ctx);
}

/*
 * MMIO SPTEs: the gfn, the access bits and all 19 generation bits survive
 * encoding, for NPT, EPT and an L1TF-affected host (whose top GFN bits are
 * relocated).  The in-progress flag (bit 63) is not encoded.
 */
ST_TEST(spte_mmio_roundtrip)
{
	static const u64 gens[] = { 0, 1, 0xff, 0x100, 0x3ffff, 0x40000, 0x7fffe, 0x7ffff };
	struct kvm_mmu_masks m;
	int cfg;

	for (cfg = 0; cfg < 3; cfg++) {
		gfn_t gfns[4];
		unsigned int i, j, a;

		if (cfg == 0)
			st_init_mode(&m, ST_NPT);
		else if (cfg == 1)
			st_init_mode(&m, ST_EPT_AD);
		else
			kvm_mmu_reset_all_pte_masks(&m, 42, 44);	/* L1TF */
		ST_ASSERT(m.enable_mmio_caching);
		gfns[0] = 0;
		gfns[1] = 0x12345;
		gfns[2] = (1ULL << 27) + 3;	/* gpa bit 39: relocated with L1TF */
		gfns[3] = kvm_mmu_max_gfn(&m);

		for (i = 0; i < ARRAY_SIZE(gfns); i++) {
			for (a = 0; a <= ACC_ALL; a++) {
				for (j = 0; j < ARRAY_SIZE(gens) + 19; j++) {
					u64 gen = j < ARRAY_SIZE(gens) ?
						  gens[j] : 1ULL << (j - ARRAY_SIZE(gens));
					u64 spte = make_mmio_spte(&m, gfns[i], a, gen);

					ST_EXPECT(is_mmio_spte(&m, spte));
					ST_EXPECT(!is_shadow_present_pte(spte));
					ST_EXPECT(!is_frozen_spte(spte));
					ST_EXPECT_STATE(&m, spte, PG_LEVEL_4K, 0);
					ST_EXPECT_EQ(get_mmio_spte_gfn(&m, spte), gfns[i]);
					ST_EXPECT_EQ(get_mmio_spte_access(&m, spte),
						     a & (unsigned int)m.shadow_mmio_access_mask);
					ST_EXPECT_EQ(get_mmio_spte_generation(spte), gen);
				}
				if (ctx->failures)
					return ST_FAIL;
			}
		}
		ST_EXPECT_STATE(&m, make_mmio_spte(&m, 1, 0, 0), PG_LEVEL_2M, SPTE_ERR_MMIO_LEVEL);
		ST_EXPECT_EQ(make_mmio_spte(&m, 5, 0, BIT_ULL(63) | 7),
			     make_mmio_spte(&m, 5, 0, 7));
		ST_EXPECT_EQ(get_mmio_spte_generation(make_mmio_spte(&m, 5, 0, 1ULL << 19)), 0ULL);
	}

	/* Neither the empty nor the frozen value is MMIO, in any mode. */
	for (cfg = 0; cfg < ST_NR_MODES; cfg++) {
		st_init_mode(&m, cfg);
		ST_EXPECT(!is_mmio_spte(&m, SHADOW_NONPRESENT_VALUE));
		ST_EXPECT(!is_mmio_spte(&m, FROZEN_SPTE));
		ST_EXPECT_STATE(&m, FROZEN_SPTE, PG_LEVEL_1G, 0);
		ST_EXPECT_STATE(&m, SHADOW_NONPRESENT_VALUE, PT64_ROOT_MAX_LEVEL, 0);
	}
	return st_result(ctx);
}

/*
 * Aging and its undo.  With A/D bits only Accessed goes; without them the
 * SPTE is access-tracked (RWX cleared, R and X saved in bits 54/56, W gone,
 * MMU-writable kept so a write fault restores W without mmu_lock).  Every
 * step is a legal state and a legal transition.
 */
ST_TEST(spte_access_track_roundtrip)
{
	static const unsigned int accesses[] = {
		ACC_ALL, ACC_USER_MASK, ACC_USER_MASK | ACC_EXEC_MASK, ACC_EXEC_MASK,
	};
	struct kvm_mmu_masks m;
	int mode, level;
	unsigned int i;

	for (mode = 0; mode < ST_NR_MODES; mode++) {
		st_init_mode(&m, mode);
		for (level = PG_LEVEL_4K; level <= PG_LEVEL_1G; level++) {
			for (i = 0; i < ARRAY_SIZE(accesses); i++) {
				kvm_pfn_t pfn = 11 * KVM_PAGES_PER_HPAGE(level);
				u64 spte, tracked, restored;

				spte = st_leaf(&m, level, accesses[i], pfn, true);
				ST_EXPECT_STATE(&m, spte, level, 0);
				tracked = mark_spte_for_access_track(&m, spte);
				ST_EXPECT_STATE(&m, tracked, level, 0);
				ST_EXPECT_TRANSITION(&m, spte, tracked, level, 0);
				ST_EXPECT(!is_accessed_spte(&m, tracked));
				ST_EXPECT_EQ(mark_spte_for_access_track(&m, tracked), tracked);
				ST_EXPECT_EQ(spte_to_pfn(tracked), pfn);

				if (m.ad_enabled) {
					ST_EXPECT_EQ(tracked, spte & ~m.shadow_accessed_mask);
					ST_EXPECT(!is_access_track_spte(&m, tracked));
					continue;
				}
				ST_EXPECT(is_access_track_spte(&m, tracked));
				ST_EXPECT_EQ(tracked & VMX_EPT_RWX_MASK, 0ULL);
				ST_EXPECT_EQ((tracked >> SHADOW_ACC_TRACK_SAVED_BITS_SHIFT) &
						     SHADOW_ACC_TRACK_SAVED_BITS_MASK,
					     spte & SHADOW_ACC_TRACK_SAVED_BITS_MASK);
				ST_EXPECT_EQ(is_mmu_writable_spte(&m, tracked),
					     is_mmu_writable_spte(&m, spte));
				ST_EXPECT(spte_needs_atomic_update(&m, tracked));

				restored = restore_acc_track_spte(&m, tracked);
				ST_EXPECT_STATE(&m, restored, level, 0);
				ST_EXPECT_TRANSITION(&m, tracked, restored, level, 0);
				ST_EXPECT(!is_access_track_spte(&m, restored));
				/* R and X come back; W and A do not. */
				ST_EXPECT_EQ(restored, spte & ~(PT_WRITABLE_MASK |
								m.shadow_accessed_mask));
			}
		}
	}
	return st_result(ctx);
}

/*
 * Huge-page split and collapse:
 *
 *   1G SPTE, pfn P                           level 3
 *    split -> 512 x 2M, pfn P + i * 512      level 2, PS kept
 *      split -> 512 x 4K, pfn P + i * 512 + j level 1, PS cleared
 *    make_huge_spte(any child, 3) == the 1G SPTE again
 *
 * With the NX huge page mitigation the huge SPTEs lose X and the 4K ones
 * get it back.
 */
ST_TEST(spte_split_merge)
{
	struct kvm_mmu_masks m;
	int mode, nx;

	for (mode = 0; mode < ST_NR_MODES; mode++) {
		for (nx = 0; nx < 2; nx++) {
			kvm_pfn_t base = 7ULL << 18;
			u64 huge, mid, small;
			int i, j;

			st_init_mode(&m, mode);
			m.nx_huge_pages = nx;
			huge = st_leaf(&m, PG_LEVEL_1G, ACC_ALL, base, true);
			ST_EXPECT_STATE(&m, huge, PG_LEVEL_1G, 0);
			ST_EXPECT_EQ(is_executable_pte(&m, huge), !nx);

			for (i = 0; i < SPTE_ENT_PER_PAGE; i += (i < 2 ? 1 : 170)) {
				mid = make_small_spte(&m, huge, PG_LEVEL_2M, i);
				ST_EXPECT_STATE(&m, mid, PG_LEVEL_2M, 0);
				ST_EXPECT(is_large_pte(mid));
				ST_EXPECT_EQ(spte_to_pfn(mid), base + (u64)i * 512);
				ST_EXPECT_EQ(mid & ~SPTE_BASE_ADDR_MASK, huge & ~SPTE_BASE_ADDR_MASK);
				ST_EXPECT_EQ(make_huge_spte(&m, mid, PG_LEVEL_1G), huge);

				for (j = 0; j < SPTE_ENT_PER_PAGE; j += (j < 2 ? 1 : 255)) {
					small = make_small_spte(&m, mid, PG_LEVEL_4K, j);
					ST_EXPECT_STATE(&m, small, PG_LEVEL_4K, 0);
					ST_EXPECT(!is_large_pte(small));
					ST_EXPECT_EQ(spte_to_pfn(small), base + (u64)i * 512 + j);
					ST_EXPECT(is_executable_pte(&m, small));
					ST_EXPECT_EQ(make_huge_spte(&m, small, PG_LEVEL_2M), mid);
					ST_EXPECT_EQ(make_huge_spte(&m, small, PG_LEVEL_1G), huge);
				}
			}
		}
	}
	return st_result(ctx);
}

/*
 * The checker rejects what KVM never writes, with the right reason, and
 * the transition rules hold: a present leaf keeps its pfn and never turns
 * into an MMIO SPTE, a non-leaf never changes its child in place.
 */
ST_TEST(spte_checker)
{
	unsigned long page = get_zeroed_page(GFP_KERNEL), page2 = get_zeroed_page(GFP_KERNEL);
	struct kvm_mmu_masks npt, ept, noad;
	u64 n4k, e4k, a4k, n2m, n2m_other, nl, nl2;

	if (!page || !page2) {
		free_page(page);
		free_page(page2);
		ST_FAIL_MSG("no page for the non-leaf SPTEs");
	}
	st_init_mode(&npt, ST_NPT);
	st_init_mode(&ept, ST_EPT_AD);
	st_init_mode(&noad, ST_EPT_NOAD);
	n4k = st_leaf(&npt, PG_LEVEL_4K, ACC_ALL, 0x1234, true);
	e4k = st_leaf(&ept, PG_LEVEL_4K, ACC_ALL, 0x1234, true);
	a4k = st_leaf(&noad, PG_LEVEL_4K, ACC_ALL, 0x1234, true);
	n2m = st_leaf(&npt, PG_LEVEL_2M, ACC_ALL, 0x1200, true);
	n2m_other = st_leaf(&npt, PG_LEVEL_2M, ACC_ALL, 0x1400, true);
	nl = make_nonleaf_spte(&npt, (u64 *)page, false);
	nl2 = make_nonleaf_spte(&npt, (u64 *)page2, false);

	ST_EXPECT_STATE(&npt, n4k, 0, SPTE_ERR_LEVEL);
	ST_EXPECT_STATE(&npt, 0, PG_LEVEL_4K, SPTE_ERR_NONPRESENT_JUNK);
	ST_EXPECT_STATE(&ept, 0, PG_LEVEL_4K, SPTE_ERR_NONPRESENT_JUNK);
	ST_EXPECT_STATE(&npt, n4k & ~SPTE_MMU_PRESENT_MASK, PG_LEVEL_4K,
			SPTE_ERR_NONPRESENT_JUNK);
	ST_EXPECT_STATE(&npt, n4k | BIT_ULL(51), PG_LEVEL_4K, SPTE_ERR_LOOKS_MMIO);
	ST_EXPECT_STATE(&npt, nl | PT_DIRTY_MASK, PG_LEVEL_2M, SPTE_ERR_NONLEAF_BITS);
	ST_EXPECT_STATE(&npt, nl & ~SPTE_BASE_ADDR_MASK, PG_LEVEL_2M, SPTE_ERR_NONLEAF_PA);
	ST_EXPECT_STATE(&npt, n4k | PT_PAGE_SIZE_MASK, PG_LEVEL_4K, SPTE_ERR_PS_4K);
	ST_EXPECT_STATE(&npt, n2m | (1ULL << PAGE_SHIFT), PG_LEVEL_2M, SPTE_ERR_HUGE_ALIGN);
	ST_EXPECT_STATE(&npt, n4k | (1ULL << 46), PG_LEVEL_4K, SPTE_ERR_PFN_RANGE);
	ST_EXPECT_STATE(&npt, n4k | SPTE_TDP_AD_DISABLED, PG_LEVEL_4K, SPTE_ERR_AD_TYPE);
	ST_EXPECT_STATE(&npt, n4k | PT_GLOBAL_MASK, PG_LEVEL_4K, SPTE_ERR_UNKNOWN_BITS);
	ST_EXPECT_STATE(&npt, n4k & ~PT_PRESENT_MASK, PG_LEVEL_4K, SPTE_ERR_HW_NOT_PRESENT);
	ST_EXPECT_STATE(&ept, e4k & ~VMX_EPT_READABLE_MASK, PG_LEVEL_4K,
			SPTE_ERR_HW_NOT_PRESENT);
	ST_EXPECT_STATE(&ept, (e4k & ~VMX_EPT_MT_MASK) | (2ULL << VMX_EPT_MT_EPTE_SHIFT),
			PG_LEVEL_4K, SPTE_ERR_EPT_MISCONFIG);
	ST_EXPECT_STATE(&noad, mark_spte_for_access_track(&noad, a4k) | VMX_EPT_ACCESS_BIT,
			PG_LEVEL_4K, SPTE_ERR_ACC_TRACK_A);
	ST_EXPECT_STATE(&npt, n4k & ~DEFAULT_SPTE_HOST_WRITABLE, PG_LEVEL_4K,
			SPTE_ERR_MMU_W_NOT_HOST_W);
	ST_EXPECT_STATE(&npt, n4k & ~DEFAULT_SPTE_MMU_WRITABLE, PG_LEVEL_4K,
			SPTE_ERR_W_NOT_MMU_W);

	/* Transitions. */
	ST_EXPECT_TRANSITION(&npt, SHADOW_NONPRESENT_VALUE, n4k, PG_LEVEL_4K, 0);
	ST_EXPECT_TRANSITION(&npt, n4k, SHADOW_NONPRESENT_VALUE, PG_LEVEL_4K, 0);
	ST_EXPECT_TRANSITION(&npt, n4k, FROZEN_SPTE, PG_LEVEL_4K, 0);
	ST_EXPECT_TRANSITION(&npt, FROZEN_SPTE, n4k, PG_LEVEL_4K, 0);
	ST_EXPECT_TRANSITION(&npt, nl, SHADOW_NONPRESENT_VALUE, PG_LEVEL_2M, 0);
	ST_EXPECT_TRANSITION(&npt, n4k, n4k & ~PT_DIRTY_MASK, PG_LEVEL_4K, 0);
	ST_EXPECT_TRANSITION(&npt, n4k, make_mmio_spte(&npt, 0x1234, ACC_ALL, 3), PG_LEVEL_4K,
			     SPTE_ERR_PRESENT_TO_MMIO);
	ST_EXPECT_TRANSITION(&npt, n2m, n2m_other, PG_LEVEL_2M, SPTE_ERR_PFN_CHANGED);
	ST_EXPECT_TRANSITION(&npt, nl, nl2, PG_LEVEL_2M, SPTE_ERR_CHILD_CHANGED);
	ST_EXPECT_TRANSITION(&npt, n2m, nl, PG_LEVEL_2M, SPTE_ERR_LEAF_NONLEAF);
	ST_EXPECT_EQ(__spte_check_transition(&npt, n2m, nl, PG_LEVEL_2M,
					     SPTE_TRANSITION_ALLOW_REPLACE), 0);
	free_page(page);
	free_page(page2);
	return st_result(ctx);
}
