/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SPTE encoding: the 64-bit entries of the simulated TDP page tables.
 *
 * This mirrors arch/x86/kvm/mmu/spte.h: one SPTE format whose vendor-specific
 * bits are parameterised by a set of shadow_*_mask values.  KVM keeps those
 * masks in globals because one host runs either VMX (EPT) or SVM (NPT); the
 * simulator runs EPT and NPT VMs side by side, so the masks live in a per-VM
 * struct kvm_mmu_masks and every predicate whose answer depends on the mode
 * takes it as its first argument.  Predicates that only look at mode-neutral
 * bits (MMU-present, PS, the PFN field, the A/D type) take the SPTE alone.
 *
 * Bit layout (non-EPT = AMD NPT; both formats share bits 1, 7, 11, 51:12):
 *
 *   bit    non-EPT (NPT)             EPT
 *   0      P                          R
 *   1      W                          W
 *   2      U/S                        X
 *   5:3    PWT, PCD, A (bit 5)        memtype (WB for RAM)
 *   6      D                          IPAT
 *   7      PS                         PS
 *   8      G (unused)                 A
 *   9      Host-writable (SW)         D
 *   10     MMU-writable (SW)          user-exec (unused, must be 0)
 *   11     MMU-present (SW)           MMU-present (SW)
 *   51:12  PFN                        PFN
 *   53:52  A/D type, always 0         A/D type (enabled/disabled/wrprot-only)
 *   54,56  -                          saved R, X of an access-tracked SPTE
 *   57     -                          Host-writable (SW)
 *   58     -                          MMU-writable (SW)
 *   59     refcounted page (SW)       refcounted page (SW)
 *   62     pinned pfn (SW)            pinned pfn (SW)
 *   63     NX                         suppress #VE (set on every present SPTE)
 *   MMIO SPTEs reuse 10:3 and 62:52 for a 19-bit memslot generation.
 *
 * Legal SPTE states (checked by spte_check_state(); "m" is the VM's masks):
 *
 *  state               | value / rules
 *  --------------------+-------------------------------------------------------
 *  empty               | exactly SHADOW_NONPRESENT_VALUE (tables are filled with
 *                      | it; a zap writes it).  0 is NOT a legal empty SPTE.
 *  frozen              | exactly FROZEN_SPTE, any level: a thread that does not
 *                      | hold mmu_lock for write owns the slot until it writes
 *                      | the final value; everybody else must leave it alone.
 *  zapped-pinned       | exactly SHADOW_NONPRESENT_VALUE | SPTE_PINNED_MASK |
 *                      | pfn, level 1..3, pfn aligned to the level and below
 *                      | 2^(max_phys_bits - 12): not present, pin kept (RFC).
 *  MMIO                | not MMU-present, is_mmio_spte(m), 4K level only, no
 *                      | bits outside generation | mmio value | access | GPA
 *                      | (| the L1TF relocation bits, which must all be set).
 *  present non-leaf    | level 2..5, exactly make_nonleaf_spte()'s form:
 *                      | MMU-present | PA of the child | present | W | user | X
 *                      | | (A/D enabled ? Accessed : SPTE_TDP_AD_DISABLED).
 *  present leaf        | level 1..3 (PS set iff level > 4K); huge PFNs aligned
 *                      | to the level; PFN below 2^(max_phys_bits - 12); no
 *                      | bit outside the mode's leaf bits; must not look like
 *                      | an MMIO SPTE; hardware-present (NPT: P; EPT: SVE and
 *                      | R unless exec-only) unless access-tracked.
 *    writability       | (Host-writable, MMU-writable, W) is one of
 *                      |   1,1,1 writable
 *                      |   1,1,0 write-protected for dirty logging or access
 *                      |         tracking: fast_page_fault may set W without
 *                      |         mmu_lock
 *                      |   1,0,0 write-tracked (shadowed guest page table)
 *                      |   0,0,0 read-only memslot or VMA
 *    A/D type          | NPT: always ENABLED (0).  EPT with A/D bits: ENABLED,
 *                      | DISABLED or WRPROT_ONLY.  EPT without: DISABLED.
 *                      | The value 3 is never legal.
 *    access-tracked    | EPT, A/D DISABLED and RWX == 0: Accessed clear, the
 *                      | original R and X saved at bits 54/56, W dropped (W
 *                      | comes back through a write fault because MMU-writable
 *                      | survives).  Not tracked: bits 54/56 are zero.
 *    EPT hardware      | not tracked: RWX != 0, W implies R (else EPT
 *                      | misconfiguration), memtype is UC/WC/WT/WP/WB.
 *    pinned/refcounted | only meaningful on present leaves; they never appear
 *                      | on non-leaf SPTEs (the same bit positions do carry
 *                      | MMIO generation bits in MMIO SPTEs).
 *
 * Legal changes of one SPTE (spte_check_transition(); mirrors the rules that
 * KVM's handle_changed_spte() enforces or documents, plus the invariants
 * above): both values must be legal states, and
 *  - a non-present SPTE (empty, frozen, MMIO) may become anything legal,
 *    except that a zapped-pinned one becomes only empty (the pin dropped),
 *    frozen, or the pinned present leaf of the same pfn (the unzap), and
 *    only a pinned present leaf becomes zapped-pinned, keeping its pfn;
 *  - a present SPTE may be zapped (empty) or frozen, never turned directly
 *    into an MMIO SPTE;
 *  - a present leaf keeps its PFN (PFNs never change in place: the MMU
 *    notifier zaps first), its Host-writable bit (set once at creation), its
 *    A/D type, and its pinned and refcounted bits;
 *  - a present non-leaf never changes in place (re-pointing it at another
 *    child would leak and skip the removed-table bookkeeping);
 *  - leaf <-> non-leaf at one level without going through non-present is a
 *    huge-page split (huge leaf -> table) or a replacement of a table by a
 *    huge leaf (fault path, huge page recovery).  KVM does both with a
 *    single atomic exchange, under mmu_lock held for read as well as for
 *    write, so the check allows them only with SPTE_TRANSITION_ALLOW_REPLACE.
 *    spte_check_change(), the hook called on every SPTE change, passes that
 *    flag because it cannot tell a split from a mistake.
 *
 * Who calls what: everything here is pure computation on values, so any
 * thread may call it without locks.  The masks are written once, by
 * kvm_mmu_init_*_masks() before the VM is visible to other threads, and are
 * read-only afterwards.
 */
#ifndef _MMUSIM_MMU_SPTE_H
#define _MMUSIM_MMU_SPTE_H

#include "mmusim_env.h"

/*
 * KVM's MMU sanity checks: real WARNs in "prove" builds (MMUSIM_PROVE, like
 * CONFIG_KVM_PROVE_MMU), and compiled (type-checked) but never evaluated
 * otherwise.  Usable only as a statement.
 */
#ifndef KVM_MMU_WARN_ON
#ifdef MMUSIM_PROVE
#define KVM_MMU_WARN_ON(x) WARN_ON_ONCE(x)
#else
#define KVM_MMU_WARN_ON(x) BUILD_BUG_ON_INVALID(x)
#endif
#endif

/* A pointer to an SPTE, dereferenced under RCU (KVM: mmu_internal.h). */
typedef u64 __rcu *tdp_ptep_t;

/* ---------------------------------------------------------------------------
 * Levels and indexing.  KVM keeps some of these in asm/kvm_host.h, which a
 * kernel-module build might see, hence the guards.
 */
#ifndef PT64_ROOT_MAX_LEVEL
#define PT64_ROOT_MAX_LEVEL 5
#endif
#define PT64_ROOT_4LEVEL 4
#define PT64_ROOT_5LEVEL 5
#ifndef KVM_NR_PAGE_SIZES
#define KVM_NR_PAGE_SIZES 3 /* 4K, 2M, 1G */
#endif
#ifndef KVM_MAX_HUGEPAGE_LEVEL
#define KVM_MAX_HUGEPAGE_LEVEL PG_LEVEL_1G
#endif
#ifndef KVM_HPAGE_GFN_SHIFT
#define KVM_HPAGE_GFN_SHIFT(x) (((x) - 1) * 9)
#define KVM_HPAGE_SHIFT(x) (PAGE_SHIFT + KVM_HPAGE_GFN_SHIFT(x))
#define KVM_HPAGE_SIZE(x) (1ULL << KVM_HPAGE_SHIFT(x))
#define KVM_HPAGE_MASK(x) (~(KVM_HPAGE_SIZE(x) - 1))
#define KVM_PAGES_PER_HPAGE(x) (KVM_HPAGE_SIZE(x) / PAGE_SIZE)
#endif

#define SPTE_LEVEL_BITS 9
#define SPTE_ENT_PER_PAGE (1 << SPTE_LEVEL_BITS)
#define SPTE_LEVEL_SHIFT(level) (PAGE_SHIFT + ((level) - 1) * SPTE_LEVEL_BITS)
/* Index of @address's entry in the table of level @level. */
#define SPTE_INDEX(address, level) \
	(((address) >> SPTE_LEVEL_SHIFT(level)) & (SPTE_ENT_PER_PAGE - 1))

/* First gfn of the level-@level region that contains @gfn. */
static inline gfn_t gfn_round_for_level(gfn_t gfn, int level)
{
	return gfn & -KVM_PAGES_PER_HPAGE(level);
}

/* An SPTE's index in its table (tables are page aligned). */
static inline int spte_index(u64 *sptep)
{
	return ((unsigned long)sptep / sizeof(*sptep)) & (SPTE_ENT_PER_PAGE - 1);
}

/* ---------------------------------------------------------------------------
 * x86 page-table bits (KVM: arch/x86/kvm/mmu.h).  Used for NPT SPTEs; bits 1
 * and 7 (W and PS) have the same meaning in EPT SPTEs.
 */
#define PT_PRESENT_MASK BIT_ULL(0)
#define PT_WRITABLE_SHIFT 1
#define PT_WRITABLE_MASK BIT_ULL(PT_WRITABLE_SHIFT)
#define PT_USER_MASK BIT_ULL(2)
#define PT_PWT_MASK BIT_ULL(3)
#define PT_PCD_MASK BIT_ULL(4)
#define PT_ACCESSED_SHIFT 5
#define PT_ACCESSED_MASK BIT_ULL(PT_ACCESSED_SHIFT)
#define PT_DIRTY_SHIFT 6
#define PT_DIRTY_MASK BIT_ULL(PT_DIRTY_SHIFT)
#define PT_PAGE_SIZE_SHIFT 7
#define PT_PAGE_SIZE_MASK BIT_ULL(PT_PAGE_SIZE_SHIFT)
#define PT_GLOBAL_MASK BIT_ULL(8)
#define PT64_NX_SHIFT 63
#define PT64_NX_MASK BIT_ULL(PT64_NX_SHIFT)

/*
 * EPT entry bits (KVM: arch/x86/include/asm/vmx.h).  A kernel-module build
 * may include <asm/vmx.h>, which defines the same names with the same values;
 * each is guarded so that whichever comes first wins without a clash.
 */
#ifndef VMX_EPT_READABLE_MASK
#define VMX_EPT_READABLE_MASK 0x1ull
#endif
#ifndef VMX_EPT_WRITABLE_MASK
#define VMX_EPT_WRITABLE_MASK 0x2ull
#endif
#ifndef VMX_EPT_EXECUTABLE_MASK
#define VMX_EPT_EXECUTABLE_MASK 0x4ull
#endif
#ifndef VMX_EPT_RWX_MASK
#define VMX_EPT_RWX_MASK (VMX_EPT_READABLE_MASK | VMX_EPT_WRITABLE_MASK | VMX_EPT_EXECUTABLE_MASK)
#endif
#ifndef VMX_EPT_MT_EPTE_SHIFT
#define VMX_EPT_MT_EPTE_SHIFT 3
#endif
#ifndef VMX_EPT_MT_MASK
#define VMX_EPT_MT_MASK (7ull << VMX_EPT_MT_EPTE_SHIFT)
#endif
#ifndef VMX_EPT_IPAT_BIT
#define VMX_EPT_IPAT_BIT (1ull << 6)
#endif
#ifndef VMX_EPT_ACCESS_BIT
#define VMX_EPT_ACCESS_BIT (1ull << 8)
#endif
#ifndef VMX_EPT_DIRTY_BIT
#define VMX_EPT_DIRTY_BIT (1ull << 9)
#endif
#ifndef VMX_EPT_SUPPRESS_VE_BIT
#define VMX_EPT_SUPPRESS_VE_BIT (1ull << 63)
#endif
/* RWX = 110b is an EPT misconfiguration: KVM's MMIO SPTE value for EPT. */
#ifndef VMX_EPT_MISCONFIG_WX_VALUE
#define VMX_EPT_MISCONFIG_WX_VALUE (VMX_EPT_WRITABLE_MASK | VMX_EPT_EXECUTABLE_MASK)
#endif

/*
 * The memory types KVM's vmx_get_mt_mask() gives (6.12): guest RAM when no
 * non-coherent DMA device is assigned, write-back (MTRR type 6) ignoring the
 * guest PAT; host MMIO, uncachable (MTRR type 0, guest PAT not ignored),
 * since cacheable accesses to MMIO can machine-check.
 */
#define SPTE_EPT_MEMTYPE_WB ((6ull << VMX_EPT_MT_EPTE_SHIFT) | VMX_EPT_IPAT_BIT)
#define SPTE_EPT_MEMTYPE_UC (0ull << VMX_EPT_MT_EPTE_SHIFT)

/* Access rights inside KVM (pte_access); TDP maps everything with ACC_ALL. */
#define ACC_EXEC_MASK 1
#define ACC_WRITE_MASK PT_WRITABLE_MASK
#define ACC_USER_MASK PT_USER_MASK
#define ACC_ALL (ACC_EXEC_MASK | ACC_WRITE_MASK | ACC_USER_MASK)

/* ---------------------------------------------------------------------------
 * Software bits shared by both formats.
 */

/*
 * MMU-present: the SPTE is backed by memory (leaf) or by a child table
 * (non-leaf), whether or not hardware sees it as present.  Access-tracked EPT
 * SPTEs have RWX == 0 yet are MMU-present; MMIO and frozen SPTEs are not.
 * Bit 11 is ignored by every flavour of paging entry, and a low bit makes
 * the most frequent test in the MMU a short instruction.
 */
#define SPTE_MMU_PRESENT_MASK BIT_ULL(11)

/*
 * A/D type of a TDP SPTE.  EPT may lack A/D bits (or L1 may disable them for
 * L2), and write protection may be forced for L2 when PML is in use; the two
 * bits record which scheme the SPTE follows.  ENABLED must be 0: bits 62:52
 * are reserved in PAE entries, and NPT/shadow paging always have A/D bits.
 */
#define SPTE_TDP_AD_SHIFT 52
#define SPTE_TDP_AD_MASK (3ULL << SPTE_TDP_AD_SHIFT)
#define SPTE_TDP_AD_ENABLED (0ULL << SPTE_TDP_AD_SHIFT)
#define SPTE_TDP_AD_DISABLED (1ULL << SPTE_TDP_AD_SHIFT)
#define SPTE_TDP_AD_WRPROT_ONLY (2ULL << SPTE_TDP_AD_SHIFT)
static_assert(SPTE_TDP_AD_ENABLED == 0, "A/D enabled must be 0");

/* The PFN field (KVM without CONFIG_DYNAMIC_PHYSICAL_MASK). */
#define SPTE_BASE_ADDR_MASK (((1ULL << 52) - 1) & ~(u64)(PAGE_SIZE - 1))

/*
 * Where an access-tracked SPTE (EPT without A/D bits) keeps the R and X bits
 * it had before aging cleared RWX.  W is not saved: access-tracked SPTEs are
 * dirty-tracked too, and W comes back through a write fault (fast page
 * fault, thanks to MMU-writable).  Bits 54 and 56; bit 55 (where W would go)
 * stays unused.
 */
#define SHADOW_ACC_TRACK_SAVED_BITS_MASK (VMX_EPT_READABLE_MASK | VMX_EPT_EXECUTABLE_MASK)
#define SHADOW_ACC_TRACK_SAVED_BITS_SHIFT 54
#define SHADOW_ACC_TRACK_SAVED_MASK \
	(SHADOW_ACC_TRACK_SAVED_BITS_MASK << SHADOW_ACC_TRACK_SAVED_BITS_SHIFT)
static_assert(!(SPTE_TDP_AD_MASK & SHADOW_ACC_TRACK_SAVED_MASK), "A/D type vs saved bits");

/*
 * Host-writable: the host allows writes to the page (clear for read-only
 * memslots and read-only VMAs).  Set once when the SPTE is created, never
 * changed while it is present.
 * MMU-writable: KVM allows writes (clear while the gfn is write-tracked).
 * Invariants: W implies MMU-writable; MMU-writable implies Host-writable.
 * See the table above and check_spte_writable_invariants().
 *
 * Bits 9 and 10 are ignored by non-EPT entries; EPT has few free low bits, so
 * it uses 57 and 58, away from the A/D type and the saved R/X bits.
 */
#define DEFAULT_SPTE_HOST_WRITABLE BIT_ULL(9)
#define DEFAULT_SPTE_MMU_WRITABLE BIT_ULL(10)
#define EPT_SPTE_HOST_WRITABLE BIT_ULL(57)
#define EPT_SPTE_MMU_WRITABLE BIT_ULL(58)
static_assert(!(EPT_SPTE_HOST_WRITABLE & SPTE_TDP_AD_MASK), "EPT Host-writable vs A/D type");
static_assert(!(EPT_SPTE_MMU_WRITABLE & SPTE_TDP_AD_MASK), "EPT MMU-writable vs A/D type");
static_assert(!(EPT_SPTE_HOST_WRITABLE & SHADOW_ACC_TRACK_SAVED_MASK),
	      "EPT Host-writable vs saved bits");
static_assert(!(EPT_SPTE_MMU_WRITABLE & SHADOW_ACC_TRACK_SAVED_MASK),
	      "EPT MMU-writable vs saved bits");

/*
 * MMIO SPTE generation: a 19-bit slice of the memslot generation.  Bits 0-7
 * go to SPTE bits 3-10, bits 8-18 to SPTE bits 52-62.  The memslot
 * generation's "update in progress" flag (bit 63) is not encoded: stealing a
 * generation bit for it would halve the generations between wraps, so the
 * fault path checks the flag itself.
 */
#define MMIO_SPTE_GEN_LOW_START 3
#define MMIO_SPTE_GEN_LOW_END 10
#define MMIO_SPTE_GEN_HIGH_START 52
#define MMIO_SPTE_GEN_HIGH_END 62
#define MMIO_SPTE_GEN_LOW_MASK GENMASK_ULL(MMIO_SPTE_GEN_LOW_END, MMIO_SPTE_GEN_LOW_START)
#define MMIO_SPTE_GEN_HIGH_MASK GENMASK_ULL(MMIO_SPTE_GEN_HIGH_END, MMIO_SPTE_GEN_HIGH_START)
static_assert(!(SPTE_MMU_PRESENT_MASK & (MMIO_SPTE_GEN_LOW_MASK | MMIO_SPTE_GEN_HIGH_MASK)),
	      "MMIO generation vs MMU-present");

/*
 * Bits an MMIO value/mask may use: the EPT RWX bits, the PA bits and bit 63.
 * Never the generation bits or MMU-present.
 */
#define SPTE_MMIO_ALLOWED_MASK (BIT_ULL(63) | GENMASK_ULL(51, 12) | GENMASK_ULL(2, 0))
static_assert(!(SPTE_MMIO_ALLOWED_MASK &
		(SPTE_MMU_PRESENT_MASK | MMIO_SPTE_GEN_LOW_MASK | MMIO_SPTE_GEN_HIGH_MASK)),
	      "MMIO mask vs generation");

#define MMIO_SPTE_GEN_LOW_BITS (MMIO_SPTE_GEN_LOW_END - MMIO_SPTE_GEN_LOW_START + 1)
#define MMIO_SPTE_GEN_HIGH_BITS (MMIO_SPTE_GEN_HIGH_END - MMIO_SPTE_GEN_HIGH_START + 1)
static_assert(MMIO_SPTE_GEN_LOW_BITS == 8 && MMIO_SPTE_GEN_HIGH_BITS == 11, "update the comment");
#define MMIO_SPTE_GEN_LOW_SHIFT (MMIO_SPTE_GEN_LOW_START - 0)
#define MMIO_SPTE_GEN_HIGH_SHIFT (MMIO_SPTE_GEN_HIGH_START - MMIO_SPTE_GEN_LOW_BITS)
#define MMIO_SPTE_GEN_MASK GENMASK_ULL(MMIO_SPTE_GEN_LOW_BITS + MMIO_SPTE_GEN_HIGH_BITS - 1, 0)
static_assert(MMIO_SPTE_GEN_MASK == 0x7ffff, "19-bit MMIO generation");

/*
 * The value of every empty SPTE.  Bit 63 suppresses #VE for non-present EPT
 * entries (TDX needs it); NPT ignores every other bit of a non-present entry,
 * and EPT without #VE ignores bit 63, so one value serves both.
 */
#define SHADOW_NONPRESENT_VALUE BIT_ULL(63)
static_assert(!(SHADOW_NONPRESENT_VALUE & SPTE_MMU_PRESENT_MASK),
	      "non-present value is MMU-present");

/*
 * L1TF: on affected hosts, non-present SPTEs that hold a GFN (MMIO SPTEs)
 * set the top SHADOW_NONPRESENT_OR_RSVD_MASK_LEN bits of the L1 cache's
 * address width and move the GFN bits found there 5 bits up.
 */
#define SHADOW_NONPRESENT_OR_RSVD_MASK_LEN 5

/*
 * FROZEN_SPTE: a non-present placeholder written (by atomic exchange) by a
 * thread that does not hold mmu_lock for write while it finishes a
 * multi-step change, e.g. a zap that must flush TLBs before the slot may be
 * reused, or the teardown of a removed table.  Other threads must not
 * modify a frozen SPTE; faults that meet one retry.
 *
 * The value must set no RWX bit (non-present for Intel and AMD), no PFN bit
 * (no L1TF gadget), not MMU-present, and must not match the MMIO mask.  It
 * must also set no Accessed or Dirty bit of either format: lockless aging
 * clears Accessed with an atomic AND (6.15's kvm_tdp_mmu_age_spte() via
 * tdp_mmu_clear_spte_bits_atomic()) on a leaf it read as present, and the
 * leaf may have been frozen in between by the removal of its table; the
 * AND must then leave the frozen value intact.  KVM 6.10-6.12 uses
 * SHADOW_NONPRESENT_VALUE | 0x5a0, which has bit 5 (NPT A) and bit 8 (EPT
 * A); this is the value of Sean Christopherson's 2024 patch, 0x498 (bits 3,
 * 4, 7, 10), which sets none of bits 5, 6, 8 and 9.
 */
#define FROZEN_SPTE (SHADOW_NONPRESENT_VALUE | 0x498ULL)
static_assert(!(FROZEN_SPTE & SPTE_MMU_PRESENT_MASK), "frozen SPTE is MMU-present");
static_assert(!(FROZEN_SPTE & VMX_EPT_RWX_MASK), "frozen SPTE has RWX bits");
static_assert(!(FROZEN_SPTE & PT_PRESENT_MASK), "frozen SPTE has P");
static_assert(!(FROZEN_SPTE & SPTE_BASE_ADDR_MASK), "frozen SPTE has PFN bits");
static_assert(FROZEN_SPTE != SHADOW_NONPRESENT_VALUE, "frozen SPTE is the empty value");
static_assert(!(FROZEN_SPTE & (PT_ACCESSED_MASK | VMX_EPT_ACCESS_BIT)), "frozen SPTE has an A bit");
static_assert(!(FROZEN_SPTE & (PT_DIRTY_MASK | VMX_EPT_DIRTY_BIT)), "frozen SPTE has a D bit");

/*
 * Software bits of present leaf SPTEs for features in flight:
 *
 * SPTE_MMU_PAGE_REFCOUNTED: the pfn is a refcounted page (David Stevens'
 * series that lets KVM map non-refcounted pfns, which chose bit 59 too).
 * SPTE_PINNED_MASK: the pfn is pinned on behalf of the VM (SEV on-demand
 * pinning; bit 62 as in Sean Christopherson's pinned-SPTE RFC).
 *
 * Both positions are ignored by EPT (bits 59 and 62 have no meaning even with
 * the optional EPT features; 60 and 61 do) and available in 64-bit NPT
 * entries.  In MMIO SPTEs the same positions hold generation bits, which is
 * why both are only meaningful on present leaves.
 */
#define SPTE_MMU_PAGE_REFCOUNTED BIT_ULL(59)
#define SPTE_PINNED_MASK BIT_ULL(62)
#define SPTE_LEAF_SW_MASK (SPTE_MMU_PAGE_REFCOUNTED | SPTE_PINNED_MASK)
static_assert(!(SPTE_MMU_PAGE_REFCOUNTED & SPTE_PINNED_MASK), "pinned vs refcounted");
static_assert(!(SPTE_LEAF_SW_MASK & SPTE_MMU_PRESENT_MASK), "leaf SW bits vs MMU-present");
static_assert(!(SPTE_LEAF_SW_MASK & (DEFAULT_SPTE_HOST_WRITABLE | DEFAULT_SPTE_MMU_WRITABLE)),
	      "leaf SW bits vs NPT writable bits");
static_assert(!(SPTE_LEAF_SW_MASK & (EPT_SPTE_HOST_WRITABLE | EPT_SPTE_MMU_WRITABLE)),
	      "leaf SW bits vs EPT writable bits");
static_assert(!(SPTE_LEAF_SW_MASK & SPTE_TDP_AD_MASK), "leaf SW bits vs A/D type");
static_assert(!(SPTE_LEAF_SW_MASK & SHADOW_ACC_TRACK_SAVED_MASK), "leaf SW bits vs saved bits");
static_assert(!(SPTE_LEAF_SW_MASK & SPTE_BASE_ADDR_MASK), "leaf SW bits vs PFN");
static_assert(!(SPTE_LEAF_SW_MASK & FROZEN_SPTE), "leaf SW bits vs frozen SPTE");
static_assert(!(SPTE_LEAF_SW_MASK & SHADOW_NONPRESENT_VALUE), "leaf SW bits vs non-present value");
static_assert(!(SPTE_LEAF_SW_MASK & SPTE_MMIO_ALLOWED_MASK), "leaf SW bits vs MMIO value bits");
static_assert(!(SPTE_LEAF_SW_MASK & (PT64_NX_MASK | VMX_EPT_SUPPRESS_VE_BIT)),
	      "leaf SW bits vs NX/SVE");

/*
 * The zapped-but-pinned leaf of Sean Christopherson's pinned-SPTE RFC (2020,
 * patch 4/8): a pinned leaf that an MMU-notifier or gfn-range zap took
 * away from the hardware while the vendor keeps the pin.  Not MMU-present
 * and no RWX/P bit, so the CPU faults on it; it keeps its pfn (the refault
 * must map the same one) and its rmap entry, and only dropping it (a shadow
 * page freed, a memslot going away) releases the pin.  The RFC wrote
 * SPTE_PINNED_MASK | pfn and detected "present" by bits 2:0; mmusim's
 * present test is MMU-present (bit 11), so the value is the empty SPTE's
 * bit 63 (suppress #VE) | SPTE_PINNED_MASK | pfn.  An MMIO SPTE always has
 * its mmio value and access bits below bit 12, so it never has this form.
 * (Such an entry holds a PA while not present: an L1TF gadget on Intel,
 * which the RFC, written for SEV, did not have to care about.)
 */
#define SPTE_ZAPPED_PINNED_BASE (SHADOW_NONPRESENT_VALUE | SPTE_PINNED_MASK)
static_assert(!(SPTE_ZAPPED_PINNED_BASE &
		(SPTE_MMU_PRESENT_MASK | (SPTE_MMIO_ALLOWED_MASK & GENMASK_ULL(11, 0)))),
	      "zapped-pinned SPTE looks present or MMIO");
static_assert(SPTE_ZAPPED_PINNED_BASE != FROZEN_SPTE, "zapped-pinned vs frozen");

static inline u64 make_zapped_pinned_spte(kvm_pfn_t pfn)
{
	return SPTE_ZAPPED_PINNED_BASE | ((u64)pfn << PAGE_SHIFT);
}

/* Exactly the RFC's zapped-but-pinned form (any pfn). */
static inline bool is_zapped_pinned_spte(u64 spte)
{
	return (spte & ~SPTE_BASE_ADDR_MASK) == SPTE_ZAPPED_PINNED_BASE;
}

/* ---------------------------------------------------------------------------
 * Per-VM masks: KVM's shadow_* globals, one set per simulated VM.
 */
struct kvm_mmu_masks {
	bool ept;			/* EPT format (else NPT) */
	bool ad_enabled;		/* kvm_ad_enabled: hardware A/D bits in use */
	u64 shadow_user_mask;		/* NPT U/S; EPT R */
	u64 shadow_accessed_mask;
	u64 shadow_dirty_mask;
	u64 shadow_nx_mask;		/* NPT only; exclusive with shadow_x_mask */
	u64 shadow_x_mask;		/* EPT only */
	u64 shadow_present_mask;	/* set in every present SPTE */
	u64 shadow_acc_track_mask;	/* bits aging clears (EPT without A/D) */
	u64 shadow_host_writable_mask;
	u64 shadow_mmu_writable_mask;
	u64 shadow_refcounted_mask;	/* v9: SPTE_MMU_PAGE_REFCOUNTED, 0 without a spare bit */
	/*
	 * Memory-encryption (SME/SEV C-bit) value and mask.  Kept for parity
	 * and always 0: spte_to_pfn() and spte_to_child_pt() use the fixed
	 * SPTE_BASE_ADDR_MASK (KVM without CONFIG_DYNAMIC_PHYSICAL_MASK), which
	 * would not strip a C-bit.
	 */
	u64 shadow_me_value;
	u64 shadow_me_mask;
	u64 shadow_mmio_value;		/* kvm->arch.shadow_mmio_value */
	u64 shadow_mmio_mask;
	u64 shadow_mmio_access_mask;	/* ACC_* bits an MMIO SPTE may record */
	u64 shadow_nonpresent_or_rsvd_mask;	/* L1TF; 0 when not affected */
	bool enable_mmio_caching;
	int max_phys_bits;		/* host MAXPHYADDR */
	/* Additions to KVM's set: */
	u64 shadow_nonpresent_or_rsvd_lower_gfn_mask;	/* GFN bits kept in place */
	u64 shadow_memtype_mask;	/* EPT: memtype and IPAT bits of leaves */
	/*
	 * is_nx_huge_page_enabled(): huge SPTEs are made non-executable (the
	 * iTLB multihit mitigation).  Off by default; tests turn it on.
	 */
	bool nx_huge_pages;
};

/*
 * The simulated host's default MAXPHYADDR (no L1TF: MMIO caching uses bit
 * 51), and the smallest a machine profile may choose (x86-64 CPUs have at
 * least 36 physical address bits).
 */
#define MMUSIM_HOST_MAXPHYADDR 46
#define MMUSIM_HOST_MAXPHYADDR_MIN 36

/*
 * Initialise @m like KVM's kvm_mmu_reset_all_pte_masks() for a host with
 * @max_phys_bits physical address bits.  @l1tf_cache_bits is the L1 cache's
 * address width on an L1TF-affected host (at least @max_phys_bits), 0 for
 * an unaffected one.  Leaves @m in the NPT (non-EPT) format.
 */
void kvm_mmu_reset_all_pte_masks(struct kvm_mmu_masks *m, int max_phys_bits,
				 int l1tf_cache_bits);
/* Switch @m to EPT, like kvm_mmu_set_ept_masks(). */
void kvm_mmu_set_ept_masks(struct kvm_mmu_masks *m, bool has_ad_bits, bool has_exec_only);
/*
 * Install the MMIO SPTE value/mask, like kvm_mmu_set_mmio_spte_mask():
 * invalid combinations WARN and disable MMIO caching; a zero value disables
 * it silently.
 */
void kvm_mmu_set_mmio_spte_mask(struct kvm_mmu_masks *m, u64 mmio_value, u64 mmio_mask,
				u64 access_mask);

/* An NPT VM on the default simulated host (MAXPHYADDR 46, no L1TF). */
void kvm_mmu_init_npt_masks(struct kvm_mmu_masks *m);
/* An EPT VM on the default simulated host. */
void kvm_mmu_init_ept_masks(struct kvm_mmu_masks *m, bool has_ad_bits, bool has_exec_only);

/*
 * Largest gfn an SPTE may map: the host MAXPHYADDR bounds TDP (hardware
 * faults on larger GPAs with RSVD set before KVM ever sees them).
 */
static inline gfn_t kvm_mmu_max_gfn(const struct kvm_mmu_masks *m)
{
	return (1ULL << (m->max_phys_bits - PAGE_SHIFT)) - 1;
}

/* ---------------------------------------------------------------------------
 * Predicates.
 */
static inline bool is_shadow_present_pte(u64 pte)
{
	return !!(pte & SPTE_MMU_PRESENT_MASK);
}

static inline bool is_frozen_spte(u64 spte)
{
	return spte == FROZEN_SPTE;
}

static inline bool is_mmio_spte(const struct kvm_mmu_masks *m, u64 spte)
{
	return (spte & m->shadow_mmio_mask) == m->shadow_mmio_value &&
	       likely(m->enable_mmio_caching);
}

/*
 * True if writing @spte could raise a #VE: an EPT present mask with SVE,
 * yet the SPTE lacks SVE and is not an MMIO (misconfig) SPTE.
 */
static inline bool is_ept_ve_possible(const struct kvm_mmu_masks *m, u64 spte)
{
	return (m->shadow_present_mask & VMX_EPT_SUPPRESS_VE_BIT) &&
	       !(spte & VMX_EPT_SUPPRESS_VE_BIT) &&
	       (spte & VMX_EPT_RWX_MASK) != VMX_EPT_MISCONFIG_WX_VALUE;
}

static inline bool spte_ad_enabled(u64 spte)
{
	KVM_MMU_WARN_ON(!is_shadow_present_pte(spte));
	return (spte & SPTE_TDP_AD_MASK) != SPTE_TDP_AD_DISABLED;
}

/* Writes must be caught by write protection, not the D bit (L2 with PML). */
static inline bool spte_ad_need_write_protect(u64 spte)
{
	KVM_MMU_WARN_ON(!is_shadow_present_pte(spte));
	/* Benign for NPT, whose SPTEs keep these bits 0. */
	return (spte & SPTE_TDP_AD_MASK) != SPTE_TDP_AD_ENABLED;
}

/* The A/D bits a present SPTE really has: none when its A/D type is DISABLED. */
static inline u64 spte_shadow_accessed_mask(const struct kvm_mmu_masks *m, u64 spte)
{
	KVM_MMU_WARN_ON(!is_shadow_present_pte(spte));
	return spte_ad_enabled(spte) ? m->shadow_accessed_mask : 0;
}

static inline u64 spte_shadow_dirty_mask(const struct kvm_mmu_masks *m, u64 spte)
{
	KVM_MMU_WARN_ON(!is_shadow_present_pte(spte));
	return spte_ad_enabled(spte) ? m->shadow_dirty_mask : 0;
}

/* Aged out by clearing RWX (EPT without A/D bits). */
static inline bool is_access_track_spte(const struct kvm_mmu_masks *m, u64 spte)
{
	return !spte_ad_enabled(spte) && (spte & m->shadow_acc_track_mask) == 0;
}

static inline bool is_large_pte(u64 pte)
{
	return pte & PT_PAGE_SIZE_MASK;
}

static inline bool is_last_spte(u64 pte, int level)
{
	return level == PG_LEVEL_4K || is_large_pte(pte);
}

static inline bool is_executable_pte(const struct kvm_mmu_masks *m, u64 spte)
{
	return (spte & (m->shadow_x_mask | m->shadow_nx_mask)) == m->shadow_x_mask;
}

static inline kvm_pfn_t spte_to_pfn(u64 pte)
{
	return (pte & SPTE_BASE_ADDR_MASK) >> PAGE_SHIFT;
}

/*
 * Accessed: aging clears the A bit (A/D enabled) or RWX and A together
 * (access tracking), so the A bit answers for both.
 */
static inline bool is_accessed_spte(const struct kvm_mmu_masks *m, u64 spte)
{
	return spte & m->shadow_accessed_mask;
}

/* Dirty: the D bit with A/D bits, else "writable" (the write was let through). */
static inline bool is_dirty_spte(const struct kvm_mmu_masks *m, u64 spte)
{
	u64 dirty_mask = spte_shadow_dirty_mask(m, spte);

	return dirty_mask ? spte & dirty_mask : spte & PT_WRITABLE_MASK;
}

/*
 * The W bit.  A present leaf may lack it because of (1) dirty logging,
 * (2) write tracking of a shadowed guest page table, (3) a read-only memslot
 * or VMA, or (4) access tracking.  Cases 1 and 4 keep MMU-writable and may be
 * made writable again without mmu_lock; see the state table at the top.
 */
static inline bool is_writable_pte(u64 pte)
{
	return pte & PT_WRITABLE_MASK;
}

static inline bool is_mmu_writable_spte(const struct kvm_mmu_masks *m, u64 spte)
{
	return spte & m->shadow_mmu_writable_mask;
}

static inline bool is_host_writable_spte(const struct kvm_mmu_masks *m, u64 spte)
{
	return spte & m->shadow_host_writable_mask;
}

/* The pfn behind this present leaf is pinned for the VM. */
static inline bool is_pinned_spte(u64 spte)
{
	return is_shadow_present_pte(spte) && (spte & SPTE_PINNED_MASK);
}

/* The SPTE holds a pin: a pinned present leaf, or a zapped-pinned one. */
static inline bool spte_holds_pin(u64 spte)
{
	return is_pinned_spte(spte) || is_zapped_pinned_spte(spte);
}

/* The pfn behind this present leaf is a refcounted page. */
static inline bool is_refcounted_page_spte(u64 spte)
{
	return is_shadow_present_pte(spte) && (spte & SPTE_MMU_PAGE_REFCOUNTED);
}

/* Note: @spte must be a shadow-present leaf SPTE. */
static inline void check_spte_writable_invariants(const struct kvm_mmu_masks *m, u64 spte)
{
	if (spte & m->shadow_mmu_writable_mask)
		WARN_ONCE(!(spte & m->shadow_host_writable_mask),
			  "mmusim: MMU-writable SPTE is not Host-writable: %llx",
			  (unsigned long long)spte);
	else
		WARN_ONCE(is_writable_pte(spte),
			  "mmusim: Writable SPTE is not MMU-writable: %llx",
			  (unsigned long long)spte);
}

/*
 * True if the SPTE has bits that change without mmu_lock and must not be
 * lost, so an update must be an atomic read-modify-write:
 *  - MMU-writable but not writable: fast_page_fault may set W;
 *  - A/D disabled: aging may access-track it and fast_page_fault restore it;
 *  - writable but not dirty: the CPU may set D.
 * A lost Accessed bit is tolerated (aging is approximate anyway).  The caller
 * checks that the SPTE is a present leaf.
 */
static inline bool spte_needs_atomic_update(const struct kvm_mmu_masks *m, u64 spte)
{
	if (!is_writable_pte(spte) && is_mmu_writable_spte(m, spte))
		return true;
	if (!spte_ad_enabled(spte))
		return true;
	return is_writable_pte(spte) && !(spte & m->shadow_dirty_mask);
}

/*
 * A present leaf change needs a TLB flush before mmu_lock is dropped iff it
 * clears MMU-writable (write tracking tolerates no stale writable TLB
 * entry).  Clearing W for dirty logging is flushed by the dirty-log code
 * depending on what it reaped; clearing A or D never needs one.
 */
static inline bool leaf_spte_change_needs_tlb_flush(const struct kvm_mmu_masks *m,
						    u64 old_spte, u64 new_spte)
{
	return is_mmu_writable_spte(m, old_spte) && !is_mmu_writable_spte(m, new_spte);
}

/* ---------------------------------------------------------------------------
 * MMIO SPTEs.
 */
static inline u64 get_mmio_spte_generation(u64 spte)
{
	u64 gen;

	gen = (spte & MMIO_SPTE_GEN_LOW_MASK) >> MMIO_SPTE_GEN_LOW_SHIFT;
	gen |= (spte & MMIO_SPTE_GEN_HIGH_MASK) >> MMIO_SPTE_GEN_HIGH_SHIFT;
	return gen;
}

static inline gfn_t get_mmio_spte_gfn(const struct kvm_mmu_masks *m, u64 spte)
{
	u64 gpa = spte & m->shadow_nonpresent_or_rsvd_lower_gfn_mask;

	gpa |= (spte >> SHADOW_NONPRESENT_OR_RSVD_MASK_LEN) & m->shadow_nonpresent_or_rsvd_mask;
	return gpa >> PAGE_SHIFT;
}

static inline unsigned int get_mmio_spte_access(const struct kvm_mmu_masks *m, u64 spte)
{
	return spte & m->shadow_mmio_access_mask;
}

/*
 * Encode an MMIO SPTE for @gfn with @access (ACC_*), stamped with the low 19
 * bits of the memslot generation @memslots_gen.
 */
u64 make_mmio_spte(const struct kvm_mmu_masks *m, gfn_t gfn, unsigned int access,
		   u64 memslots_gen);

/* ---------------------------------------------------------------------------
 * Constructors.
 */

/**
 * __make_spte() - build a present leaf SPTE.
 * @m:			the VM's masks
 * @level:		level of the SPTE (PG_LEVEL_4K .. KVM_MAX_HUGEPAGE_LEVEL)
 * @pte_access:		ACC_* rights (TDP: ACC_ALL)
 * @gfn:		first gfn mapped (unused by the encoding; kept for KVM parity)
 * @pfn:		first pfn mapped, aligned to @level
 * @old_spte:		the SPTE being replaced (SHADOW_NONPRESENT_VALUE if none)
 * @prefetch:		prefetched, not faulted: created "not accessed"
 * @synchronizing:	shadow-paging sync (keeps prefetched SPTEs accessed)
 * @host_writable:	the host lets the guest write the page
 * @ad_disabled:	the page table's role has A/D bits disabled
 * @is_refcounted:	@pfn is a refcounted page
 * @host_mmio:		@pfn is host MMIO (kvm_is_mmio_pfn())
 * @new_spte:		out: the SPTE
 *
 * Follows KVM's make_spte() (6.12) minus shadow-paging unsync.  KVM asks
 * kvm_is_mmio_pfn() itself; here the caller, which knows the host, does.
 * EPT memtype as vmx_get_mt_mask() with guest PAT ignored: UC for host
 * MMIO, else WB | IPAT; host MMIO gets no shadow_me_value either.  A
 * writable SPTE is created MMU-writable and Dirty.  If @old_spte is a
 * present leaf at @level mapping @pfn and is pinned, the pin carries over
 * (it belongs to the pfn mapping, not to the SPTE value).
 *
 * Return: true if the SPTE had to be write-protected (KVM: the gfn could not
 * be unsynced); always false here, there is no write tracking.
 */
bool __make_spte(const struct kvm_mmu_masks *m, int level, unsigned int pte_access, gfn_t gfn,
		 kvm_pfn_t pfn, u64 old_spte, bool prefetch, bool synchronizing, bool host_writable,
		 bool ad_disabled, bool is_refcounted, bool host_mmio, u64 *new_spte);

/* __make_spte() for a pfn that is not host MMIO (RAM: every refcounted page). */
static inline bool make_spte(const struct kvm_mmu_masks *m, int level, unsigned int pte_access,
			     gfn_t gfn, kvm_pfn_t pfn, u64 old_spte, bool prefetch,
			     bool synchronizing, bool host_writable, bool ad_disabled,
			     bool is_refcounted, u64 *new_spte)
{
	return __make_spte(m, level, pte_access, gfn, pfn, old_spte, prefetch, synchronizing,
			   host_writable, ad_disabled, is_refcounted, false, new_spte);
}

struct sim_host;
/*
 * KVM's kvm_is_mmio_pfn() (6.12) on the simulated host: a pfn with a struct
 * page is MMIO if the page is reserved (PageReserved; the host has no PAT,
 * so no memtype check); a pfn without one is MMIO unless it is RAM (the
 * host's nopage memory, "mem=" RAM that e820 still lists).
 */
bool kvm_is_mmio_pfn(struct sim_host *host, kvm_pfn_t pfn);

/* A non-leaf SPTE pointing at the table @child_pt. */
u64 make_nonleaf_spte(const struct kvm_mmu_masks *m, u64 *child_pt, bool ad_disabled);

/*
 * Huge-page split: the SPTE for entry @index of the new table (level
 * @child_level) that replaces @huge_spte.  Same bits, pfn advanced by
 * @index pages of @child_level; at 4K, PS is cleared and execute is given
 * back if the NX huge page mitigation had taken it.
 */
u64 make_small_spte(const struct kvm_mmu_masks *m, u64 huge_spte, int child_level, int index);

/*
 * Huge-page recovery: the level-@level huge SPTE covering @small_spte, with
 * the pfn aligned down and execute dropped under the NX mitigation.
 */
u64 make_huge_spte(const struct kvm_mmu_masks *m, u64 small_spte, int level);

/* Age a present leaf: clear A (A/D enabled) or save R/X and clear RWX and A. */
u64 mark_spte_for_access_track(const struct kvm_mmu_masks *m, u64 spte);

/* Undo access tracking: move the saved R/X back (W stays clear). */
static inline u64 restore_acc_track_spte(const struct kvm_mmu_masks *m, u64 spte)
{
	u64 saved_bits = (spte >> SHADOW_ACC_TRACK_SAVED_BITS_SHIFT) &
			 SHADOW_ACC_TRACK_SAVED_BITS_MASK;

	spte &= ~m->shadow_acc_track_mask;
	spte &= ~SHADOW_ACC_TRACK_SAVED_MASK;
	spte |= saved_bits;
	return spte;
}

/* ---------------------------------------------------------------------------
 * The legal-state checker (see the table at the top of this file).
 */
enum spte_check_error {
	SPTE_CHECK_OK = 0,
	/* states */
	SPTE_ERR_LEVEL = -1,
	SPTE_ERR_NONPRESENT_JUNK = -2,
	SPTE_ERR_MMIO_LEVEL = -3,
	SPTE_ERR_MMIO_BITS = -4,
	SPTE_ERR_LOOKS_MMIO = -5,
	SPTE_ERR_NONLEAF_BITS = -6,
	SPTE_ERR_NONLEAF_PA = -7,
	SPTE_ERR_HUGE_LEVEL = -8,
	SPTE_ERR_PS_4K = -9,
	SPTE_ERR_HUGE_ALIGN = -10,
	SPTE_ERR_PFN_RANGE = -11,
	SPTE_ERR_AD_TYPE = -12,
	SPTE_ERR_UNKNOWN_BITS = -13,
	SPTE_ERR_HW_NOT_PRESENT = -14,
	SPTE_ERR_EPT_MISCONFIG = -15,
	SPTE_ERR_ACC_TRACK_A = -16,
	SPTE_ERR_ACC_TRACK_SAVED = -17,
	SPTE_ERR_MMU_W_NOT_HOST_W = -18,
	SPTE_ERR_W_NOT_MMU_W = -19,
	/* transitions */
	SPTE_ERR_PRESENT_TO_MMIO = -20,
	SPTE_ERR_PFN_CHANGED = -21,
	SPTE_ERR_CHILD_CHANGED = -22,
	SPTE_ERR_LEAF_NONLEAF = -23,
	SPTE_ERR_AD_TYPE_CHANGED = -24,
	SPTE_ERR_HOST_W_CHANGED = -25,
	SPTE_ERR_PINNED_CHANGED = -26,
	SPTE_ERR_REFCOUNTED_CHANGED = -27,
	SPTE_ERR_ZAPPED_PINNED = -28,
	SPTE_ERR_NR = 29,
};

/* Return: 0 if @spte is a legal SPTE at @level in a VM with @m, else a SPTE_ERR_*. */
int spte_check_state(const struct kvm_mmu_masks *m, u64 spte, int level);
/* A one-line description of a spte_check_*() result. */
const char *spte_check_reason(int err);

/* Flags for __spte_check_transition(). */
#define SPTE_TRANSITION_ALLOW_REPLACE 0x1u /* leaf <-> non-leaf in one step */

/*
 * Return: 0 if the SPTE at @level may go from @old_spte to @new_spte in one
 * store, else a SPTE_ERR_* (an illegal @old_spte or @new_spte reports its
 * state error).  spte_check_transition() allows no leaf <-> non-leaf
 * replacement.
 */
int __spte_check_transition(const struct kvm_mmu_masks *m, u64 old_spte, u64 new_spte,
			    int level, unsigned int flags);
int spte_check_transition(const struct kvm_mmu_masks *m, u64 old_spte, u64 new_spte, int level);

/*
 * The debug hook for every SPTE change: WARNs with (old, new, level) and the
 * reason if the change is illegal.  Compiled to nothing without MMUSIM_PROVE.
 * spte_check_change() allows leaf <-> non-leaf replacement (splits and huge
 * page installs, see the top of this file); __spte_check_change() takes the
 * flags.
 */
#ifdef MMUSIM_PROVE
void __spte_check_change(const struct kvm_mmu_masks *m, u64 old_spte, u64 new_spte, int level,
			 unsigned int flags);
#else
static inline void __spte_check_change(const struct kvm_mmu_masks *m, u64 old_spte,
				       u64 new_spte, int level, unsigned int flags)
{
}
#endif

static inline void spte_check_change(const struct kvm_mmu_masks *m, u64 old_spte, u64 new_spte,
				     int level)
{
	__spte_check_change(m, old_spte, new_spte, level, SPTE_TRANSITION_ALLOW_REPLACE);
}

#endif /* _MMUSIM_MMU_SPTE_H */
