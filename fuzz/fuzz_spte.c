// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_spte: SPTE construction and single-store transitions.
 *
 * The input picks a mask set (NPT; EPT with or without A/D bits, with or
 * without execute-only; or any host MAXPHYADDR 32..52 with or without the
 * L1TF relocation, in either format; NX huge pages on or off), then runs a
 * program of operations on a small pool of SPTEs, each doing what some part
 * of the MMU does to an SPTE:
 *
 *   make_spte()             a fault (any access, level, pfn, prefetch,
 *                           host-writable, A/D type, refcounted), possibly
 *                           over an SPTE of the pool (a re-fault)
 *   mark_spte_for_access_track() / restore_acc_track_spte()
 *                           aging, and fast_page_fault()'s restore
 *   W / D / MMU-writable    dirty logging, D-bit harvesting, write tracking
 *   make_small_spte()       huge page split, every child
 *   make_huge_spte()        huge page recovery
 *   make_mmio_spte()        MMIO caching with any gfn, access and generation
 *   make_nonleaf_spte()     page-table links
 *   zap / freeze            SHADOW_NONPRESENT_VALUE and FROZEN_SPTE
 *   arbitrary 64-bit values through spte_check_state()
 *
 * and checks:
 *  1. everything constructed is a legal state (spte_check_state() == 0),
 *     and has the bits the constructor's arguments ask for (pfn, level,
 *     Host-/MMU-writable, W, X, R, Accessed, Dirty, A/D type, refcounted,
 *     pinned carried over a same-pfn re-fault);
 *  2. round trips: MMIO gfn/access/19-bit generation decode to what was
 *     encoded; a legal MMIO SPTE re-encodes to itself; restore(age(s)) is s
 *     without W and Accessed; make_huge_spte(make_small_spte(h, i)) == h for
 *     every index i;
 *  3. each change the MMU makes is a legal transition according to
 *     spte_check_transition() (split and huge-page install only with
 *     SPTE_TRANSITION_ALLOW_REPLACE), and the changes KVM forbids (a present
 *     leaf changing its pfn or becoming MMIO, a non-leaf re-pointed, a
 *     leaf <-> table replacement without the flag, pinning in place) are
 *     refused;
 *  4. spte_check_state() never crashes on garbage, and any value it
 *     accepts satisfies the writable invariants and survives aging.
 *
 * Input: parameters are taken from the end of the input (fuzz_data_producer.h).
 */
#include "fuzz_helpers.h"
#include "fuzz_data_producer.h"

#include "mmusim_env.h"
#include "mmu/spte.h"

#define POOL_SIZE 16
#define MAX_OPS 512

struct pool_ent {
	u64 spte;
	int level;
};

struct fz {
	struct kvm_mmu_masks m;
	bool exec_only;
	struct fuzz_dp dp;
	struct pool_ent pool[POOL_SIZE];
	int nr, next;
};

/* Child tables for non-leaf SPTEs: only their addresses matter. */
static u64 child_pt[2][SPTE_ENT_PER_PAGE] __attribute__((aligned(4096)));

enum {
	OP_MAKE_LEAF,
	OP_AGE,
	OP_FAST_FIX,
	OP_WRPROT,
	OP_SPLIT,
	OP_COLLAPSE,
	OP_MMIO,
	OP_NONLEAF,
	OP_ZAP_FREEZE,
	OP_PAIR,
	OP_RANDOM_VALUE,
	OP_PIN,
	OP_NR
};

/* ------------------------------------------------------------------------- */

static const char *mode_name(const struct fz *f)
{
	if (!f->m.ept)
		return "NPT";
	if (!f->m.ad_enabled)
		return f->exec_only ? "EPT no-A/D exec-only" : "EPT no-A/D";
	return f->exec_only ? "EPT A/D exec-only" : "EPT A/D";
}

static void assert_legal(const struct fz *f, u64 spte, int level, const char *what)
{
	int r = spte_check_state(&f->m, spte, level);

	FUZZ_ASSERT_MSG(!r, "%s (%s, maxphys %d): spte %#llx level %d is illegal: %s", what,
			mode_name(f), f->m.max_phys_bits, (unsigned long long)spte, level,
			spte_check_reason(r));
}

static void assert_transition(const struct fz *f, u64 old_spte, u64 new_spte, int level,
			      unsigned int flags, const char *what)
{
	int r = __spte_check_transition(&f->m, old_spte, new_spte, level, flags);

	FUZZ_ASSERT_MSG(!r, "%s (%s): %#llx -> %#llx at level %d refused: %s", what,
			mode_name(f), (unsigned long long)old_spte, (unsigned long long)new_spte,
			level, spte_check_reason(r));
}

static void assert_refused(const struct fz *f, u64 old_spte, u64 new_spte, int level,
			   unsigned int flags, const char *what)
{
	int r = __spte_check_transition(&f->m, old_spte, new_spte, level, flags);

	FUZZ_ASSERT_MSG(r, "%s (%s): %#llx -> %#llx at level %d accepted", what, mode_name(f),
			(unsigned long long)old_spte, (unsigned long long)new_spte, level);
}

static void pool_push(struct fz *f, u64 spte, int level)
{
	f->pool[f->next].spte = spte;
	f->pool[f->next].level = level;
	f->next = (f->next + 1) % POOL_SIZE;
	if (f->nr < POOL_SIZE)
		f->nr++;
}

static struct pool_ent *pool_pick(struct fz *f)
{
	if (!f->nr)
		return NULL;
	return &f->pool[fuzz_dp_index(&f->dp, f->nr)];
}

static bool is_present_leaf(const struct pool_ent *e)
{
	return e && is_shadow_present_pte(e->spte) && is_last_spte(e->spte, e->level);
}

/* A present leaf of the pool, or NULL (the first one from a random start). */
static struct pool_ent *pool_pick_leaf(struct fz *f, int min_level)
{
	int i, start;

	if (!f->nr)
		return NULL;
	start = fuzz_dp_index(&f->dp, f->nr);
	for (i = 0; i < f->nr; i++) {
		struct pool_ent *e = &f->pool[(start + i) % f->nr];

		if (is_present_leaf(e) && e->level >= min_level)
			return e;
	}
	return NULL;
}

static u64 pages_per_level(int level)
{
	return KVM_PAGES_PER_HPAGE(level);
}

/* The RWX/NX view of an SPTE: access-tracked ones show their saved R and X. */
static u64 rights_view(const struct fz *f, u64 spte)
{
	return is_access_track_spte(&f->m, spte) ? restore_acc_track_spte(&f->m, spte) : spte;
}

static bool is_readable(const struct fz *f, u64 spte)
{
	u64 v = rights_view(f, spte);

	return f->m.ept ? v & VMX_EPT_READABLE_MASK : v & PT_PRESENT_MASK;
}

/* ------------------------------------------------------------------------- */

static void setup_masks(struct fz *f)
{
	struct kvm_mmu_masks *m = &f->m;
	u32 mode = fuzz_dp_u32_range(&f->dp, 0, 5);
	bool ad = fuzz_dp_bool(&f->dp), xo = fuzz_dp_bool(&f->dp);
	int maxphys, l1tf;

	f->exec_only = false;
	switch (mode) {
	case 0:
		kvm_mmu_init_npt_masks(m);
		break;
	case 1:
		kvm_mmu_init_ept_masks(m, true, false);
		break;
	case 2:
		kvm_mmu_init_ept_masks(m, false, false);
		break;
	case 3:
		kvm_mmu_init_ept_masks(m, ad, true);
		f->exec_only = true;
		break;
	default:
		/*
		 * Any host: MAXPHYADDR 32..52, L1TF-affected with a cache
		 * width from MAXPHYADDR up to 46 (the relocated bits must stay
		 * below 52), then NPT (mode 4) or EPT (mode 5).
		 */
		maxphys = fuzz_dp_u32_range(&f->dp, 32, 52);
		l1tf = 0;
		if (maxphys <= 46 && fuzz_dp_bool(&f->dp))
			l1tf = fuzz_dp_u32_range(&f->dp, maxphys, 46);
		kvm_mmu_reset_all_pte_masks(m, maxphys, l1tf);
		if (mode == 5) {
			kvm_mmu_set_ept_masks(m, ad, xo);
			f->exec_only = xo;
		}
		break;
	}
	m->nx_huge_pages = fuzz_dp_bool(&f->dp);
}

/* The A/D type a page table of this VM may have: NPT never disables it. */
static bool pick_ad_disabled(struct fz *f)
{
	bool want = fuzz_dp_bool(&f->dp);

	if (!f->m.ept)
		return false;
	if (!f->m.ad_enabled)
		return true;
	return want;
}

static kvm_pfn_t pick_pfn(struct fz *f, int level)
{
	u64 max_pfn = (1ULL << (f->m.max_phys_bits - PAGE_SHIFT)) - 1;
	kvm_pfn_t pfn;

	switch (fuzz_dp_u32_range(&f->dp, 0, 3)) {
	case 0:
		pfn = fuzz_dp_range(&f->dp, 0, 0xfffff);
		break;
	case 1:
		pfn = max_pfn - fuzz_dp_range(&f->dp, 0, 0xfffff);
		break;
	default:
		pfn = fuzz_dp_range(&f->dp, 0, max_pfn);
		break;
	}
	pfn &= max_pfn;
	return pfn & ~(pages_per_level(level) - 1);
}

/* ------------------------------------------------------------------------- */

/* A fault: make_spte() with any arguments a caller may legally pass. */
static void op_make_leaf(struct fz *f)
{
	const struct kvm_mmu_masks *m = &f->m;
	int level = fuzz_dp_u32_range(&f->dp, PG_LEVEL_4K, KVM_MAX_HUGEPAGE_LEVEL);
	unsigned int acc = fuzz_dp_u32_range(&f->dp, 0, ACC_ALL);
	bool prefetch = fuzz_dp_bool(&f->dp), sync = fuzz_dp_bool(&f->dp);
	bool host_w = fuzz_dp_bool(&f->dp), refc = fuzz_dp_bool(&f->dp);
	bool ad_dis = pick_ad_disabled(f);
	u64 old_spte = SHADOW_NONPRESENT_VALUE, s, view;
	gfn_t gfn = fuzz_dp_u64(&f->dp);
	struct pool_ent *old = NULL;
	bool tracked, mmu_w, exec, same_pfn_refault = false;
	kvm_pfn_t pfn;

	/*
	 * Execute-only EPT: R comes from ACC_USER, so the access must grant
	 * something, and W needs R (a W-only entry is a misconfiguration that
	 * KVM's gpte_access() never produces).
	 */
	if (f->exec_only && (!acc || ((acc & ACC_WRITE_MASK) && !(acc & ACC_USER_MASK))))
		acc |= ACC_USER_MASK;
	/*
	 * Nor does KVM map an execute-only page huge under the NX huge page
	 * mitigation (an exec fault is mapped 4K, kvm_mmu_hugepage_adjust()),
	 * which would strip its only right and leave RWX = 0.
	 */
	if (f->exec_only && level > PG_LEVEL_4K && m->nx_huge_pages && !(acc & ACC_USER_MASK))
		acc |= ACC_USER_MASK;

	pfn = pick_pfn(f, level);
	switch (fuzz_dp_u32_range(&f->dp, 0, 2)) {
	case 1:
		old = pool_pick(f);
		break;
	case 2:
		/* Re-fault over a present leaf of this level: same pfn. */
		old = pool_pick_leaf(f, level);
		if (old && old->level == level) {
			pfn = spte_to_pfn(old->spte);
			same_pfn_refault = true;
		} else {
			old = NULL;
		}
		break;
	}
	if (old)
		old_spte = old->spte;

	FUZZ_ASSERT(!make_spte(m, level, acc, gfn, pfn, old_spte, prefetch, sync, host_w, ad_dis,
			       refc, &s));
	assert_legal(f, s, level, "make_spte");

	tracked = ad_dis && prefetch && !sync;
	mmu_w = host_w && (acc & ACC_WRITE_MASK);
	exec = (acc & ACC_EXEC_MASK) && !(level > PG_LEVEL_4K && m->nx_huge_pages);
	view = rights_view(f, s);

	FUZZ_ASSERT(is_shadow_present_pte(s) && is_last_spte(s, level));
	FUZZ_ASSERT_EQ(spte_to_pfn(s), pfn);
	FUZZ_ASSERT_EQ(is_large_pte(s), level > PG_LEVEL_4K);
	FUZZ_ASSERT_EQ(spte_ad_enabled(s), !ad_dis);
	FUZZ_ASSERT_EQ(is_access_track_spte(m, s), tracked);
	FUZZ_ASSERT_EQ(is_accessed_spte(m, s), !prefetch || sync);
	FUZZ_ASSERT_EQ(is_host_writable_spte(m, s), host_w);
	FUZZ_ASSERT_EQ(is_mmu_writable_spte(m, s), mmu_w);
	FUZZ_ASSERT_EQ(is_writable_pte(s), mmu_w && !tracked);
	FUZZ_ASSERT_EQ(is_executable_pte(m, view), exec);
	FUZZ_ASSERT_EQ(is_readable(f, s), !f->exec_only || (acc & ACC_USER_MASK));
	if (!m->ept)
		FUZZ_ASSERT_EQ(!!(s & PT_USER_MASK), !!(acc & ACC_USER_MASK));
	if (!ad_dis)
		FUZZ_ASSERT_EQ(!!(s & m->shadow_dirty_mask), mmu_w);
	FUZZ_ASSERT_EQ(is_dirty_spte(m, s), mmu_w && !tracked);
	FUZZ_ASSERT_EQ(is_refcounted_page_spte(s), refc);
	/* The pin belongs to the pfn mapping: it survives a re-fault of the same pfn. */
	FUZZ_ASSERT_EQ(is_pinned_spte(s), is_pinned_spte(old_spte) &&
					  is_last_spte(old_spte, level) &&
					  spte_to_pfn(old_spte) == pfn);
	if (same_pfn_refault)
		FUZZ_ASSERT_EQ(is_pinned_spte(s), is_pinned_spte(old_spte));

	if (old && old->level == level) {
		if (!is_shadow_present_pte(old_spte)) {
			/* Empty, frozen (by us) and MMIO SPTEs may become anything. */
			assert_transition(f, old_spte, s, level, 0,
					  "fault over a non-present SPTE");
		} else if (is_last_spte(old_spte, level)) {
			if (spte_to_pfn(old_spte) != pfn) {
				assert_refused(f, old_spte, s, level, 0, "pfn changed in place");
			} else if (spte_ad_enabled(old_spte) == spte_ad_enabled(s) &&
				   (old_spte & SPTE_TDP_AD_MASK) == (s & SPTE_TDP_AD_MASK) &&
				   is_refcounted_page_spte(old_spte) == refc &&
				   (host_w || !is_host_writable_spte(m, old_spte))) {
				/* A re-fault of the same pfn: KVM installs it over the old one. */
				assert_transition(f, old_spte, s, level, 0, "same-pfn re-fault");
			}
		} else {
			/*
			 * Table -> huge leaf: only as a replacement, and within one
			 * A/D scheme (the role's, shared by the table and its parent).
			 */
			assert_refused(f, old_spte, s, level, 0, "table replaced without the flag");
			if (spte_ad_enabled(old_spte) == spte_ad_enabled(s))
				assert_transition(f, old_spte, s, level,
						  SPTE_TRANSITION_ALLOW_REPLACE,
						  "table replaced by a huge leaf");
			else
				assert_refused(f, old_spte, s, level,
					       SPTE_TRANSITION_ALLOW_REPLACE,
					       "table replaced by a leaf of another A/D type");
		}
	}
	pool_push(f, s, level);
}

/* Aging, then fast_page_fault()'s restore of the aged SPTE. */
static void op_age(struct fz *f)
{
	const struct kvm_mmu_masks *m = &f->m;
	struct pool_ent *e = pool_pick_leaf(f, PG_LEVEL_4K);
	u64 s, t, back;

	if (!e)
		return;
	s = e->spte;
	t = mark_spte_for_access_track(m, s);
	assert_legal(f, t, e->level, "aged SPTE");
	assert_transition(f, s, t, e->level, 0, "aging");
	FUZZ_ASSERT(!is_accessed_spte(m, t));
	FUZZ_ASSERT_EQ(mark_spte_for_access_track(m, t), t);
	FUZZ_ASSERT_EQ(spte_to_pfn(t), spte_to_pfn(s));

	if (spte_ad_enabled(s)) {
		FUZZ_ASSERT_EQ(t, s & ~m->shadow_accessed_mask);
	} else {
		FUZZ_ASSERT(is_access_track_spte(m, t));
		FUZZ_ASSERT(!is_writable_pte(t));
		if (!is_access_track_spte(m, s))
			FUZZ_ASSERT_MSG(restore_acc_track_spte(m, t) ==
						(s & ~(PT_WRITABLE_MASK | m->shadow_accessed_mask)),
					"restore(age(%#llx)) = %#llx", (unsigned long long)s,
					(unsigned long long)restore_acc_track_spte(m, t));
		/* fast_page_fault(): R/X back, Accessed set. */
		back = restore_acc_track_spte(m, t) | m->shadow_accessed_mask;
		assert_legal(f, back, e->level, "restored SPTE");
		assert_transition(f, t, back, e->level, 0, "access-track restore");
		FUZZ_ASSERT(!is_access_track_spte(m, back));
	}
	e->spte = t;
}

/* fast_page_fault(): restore an aged SPTE and/or set W on an MMU-writable one. */
static void op_fast_fix(struct fz *f)
{
	const struct kvm_mmu_masks *m = &f->m;
	struct pool_ent *e = pool_pick_leaf(f, PG_LEVEL_4K);
	bool write = fuzz_dp_bool(&f->dp);
	u64 s, n;

	if (!e)
		return;
	s = n = e->spte;
	if (is_access_track_spte(m, n))
		n = restore_acc_track_spte(m, n) | m->shadow_accessed_mask;
	if (write && is_mmu_writable_spte(m, n))
		n |= PT_WRITABLE_MASK;
	assert_legal(f, n, e->level, "fast page fault fix-up");
	assert_transition(f, s, n, e->level, 0, "fast page fault");
	e->spte = n;
}

/* Dirty logging (clear W), D-bit harvest (clear D), write tracking (clear MMU-W too). */
static void op_wrprot(struct fz *f)
{
	const struct kvm_mmu_masks *m = &f->m;
	struct pool_ent *e = pool_pick_leaf(f, PG_LEVEL_4K);
	u64 s, n;

	if (!e)
		return;
	s = e->spte;
	switch (fuzz_dp_u32_range(&f->dp, 0, 2)) {
	case 0:
		n = s & ~PT_WRITABLE_MASK;
		break;
	case 1:
		if (!spte_ad_enabled(s))
			return;
		n = s & ~m->shadow_dirty_mask;
		break;
	default:
		n = s & ~(PT_WRITABLE_MASK | m->shadow_mmu_writable_mask);
		break;
	}
	assert_legal(f, n, e->level, "write-protected SPTE");
	assert_transition(f, s, n, e->level, 0, "write protection");
	e->spte = n;
}

/* Huge page split: every child, and the way back. */
static void op_split(struct fz *f)
{
	const struct kvm_mmu_masks *m = &f->m;
	struct pool_ent *e = pool_pick_leaf(f, PG_LEVEL_2M);
	int i, child_level, keep;
	u64 h, nl, kept = 0;
	bool h_exec;

	if (!e)
		return;
	h = e->spte;
	child_level = e->level - 1;
	h_exec = is_executable_pte(m, rights_view(f, h));
	keep = fuzz_dp_index(&f->dp, SPTE_ENT_PER_PAGE);

	for (i = 0; i < SPTE_ENT_PER_PAGE; i++) {
		u64 c = make_small_spte(m, h, child_level, i);
		u64 diff;

		assert_legal(f, c, child_level, "split child");
		FUZZ_ASSERT_EQ(spte_to_pfn(c),
			       spte_to_pfn(h) + (u64)i * pages_per_level(child_level));
		FUZZ_ASSERT_EQ(is_large_pte(c), child_level > PG_LEVEL_4K);
		FUZZ_ASSERT_EQ(is_executable_pte(m, rights_view(f, c)),
			       h_exec || (m->nx_huge_pages && child_level == PG_LEVEL_4K));
		/* A pin belongs to the huge leaf: no child inherits it. */
		FUZZ_ASSERT(!(c & SPTE_PINNED_MASK));
		/* Everything else is inherited. */
		diff = (c ^ h) &
		       ~(SPTE_BASE_ADDR_MASK | PT_PAGE_SIZE_MASK | m->shadow_x_mask |
			 m->shadow_nx_mask | SHADOW_ACC_TRACK_SAVED_MASK | SPTE_PINNED_MASK);
		FUZZ_ASSERT_MSG(!diff, "split child %d of %#llx is %#llx", i,
				(unsigned long long)h, (unsigned long long)c);
		if (!(m->nx_huge_pages && h_exec))
			FUZZ_ASSERT_MSG(make_huge_spte(m, c, e->level) == (h & ~SPTE_PINNED_MASK),
					"make_huge_spte(make_small_spte(%#llx, %d)) = %#llx",
					(unsigned long long)h, i,
					(unsigned long long)make_huge_spte(m, c, e->level));
		if (i == keep)
			kept = c;
	}

	/* The split itself: huge leaf -> table, one exchange. */
	nl = make_nonleaf_spte(m, child_pt[0], !spte_ad_enabled(h));
	assert_legal(f, nl, e->level, "non-leaf of a split");
	assert_refused(f, h, nl, e->level, 0, "split without the replace flag");
	assert_transition(f, h, nl, e->level, SPTE_TRANSITION_ALLOW_REPLACE, "huge page split");
	pool_push(f, kept, child_level);
}

/* Huge page recovery: the huge SPTE covering a small one. */
static void op_collapse(struct fz *f)
{
	const struct kvm_mmu_masks *m = &f->m;
	struct pool_ent *e = pool_pick_leaf(f, PG_LEVEL_4K);
	int level;
	u64 s, h, nl;

	if (!e || e->level >= KVM_MAX_HUGEPAGE_LEVEL)
		return;
	s = e->spte;
	/* Only TDP mappings (ACC_ALL) are recovered; an execute-only one would lose its X. */
	if (f->exec_only && m->nx_huge_pages && !is_readable(f, s))
		return;
	level = e->level + 1;
	h = make_huge_spte(m, s, level);
	assert_legal(f, h, level, "make_huge_spte");
	FUZZ_ASSERT_EQ(spte_to_pfn(h), spte_to_pfn(s) & ~(pages_per_level(level) - 1));
	FUZZ_ASSERT(is_large_pte(h));
	if (m->nx_huge_pages)
		FUZZ_ASSERT(!is_executable_pte(m, rights_view(f, h)));
	nl = make_nonleaf_spte(m, child_pt[1], !spte_ad_enabled(s));
	assert_transition(f, nl, h, level, SPTE_TRANSITION_ALLOW_REPLACE, "table -> huge leaf");
	pool_push(f, h, level);
}

/* MMIO SPTEs: encode, decode, and what may replace what. */
static void op_mmio(struct fz *f)
{
	const struct kvm_mmu_masks *m = &f->m;
	gfn_t max_gfn = kvm_mmu_max_gfn(m), gfn;
	unsigned int access = fuzz_dp_u32(&f->dp);
	u64 gen = fuzz_dp_u64(&f->dp), s;
	struct pool_ent *e;

	if (!m->enable_mmio_caching)
		return;
	switch (fuzz_dp_u32_range(&f->dp, 0, 3)) {
	case 0:
		gfn = fuzz_dp_range(&f->dp, 0, 0xffff);
		break;
	case 1:
		gfn = max_gfn - fuzz_dp_range(&f->dp, 0, 0xffff);
		break;
	default:
		gfn = fuzz_dp_range(&f->dp, 0, max_gfn);
		break;
	}
	gfn &= max_gfn;

	s = make_mmio_spte(m, gfn, access, gen);
	assert_legal(f, s, PG_LEVEL_4K, "make_mmio_spte");
	FUZZ_ASSERT(is_mmio_spte(m, s));
	FUZZ_ASSERT(!is_shadow_present_pte(s));
	FUZZ_ASSERT(s != SHADOW_NONPRESENT_VALUE && !is_frozen_spte(s));
	FUZZ_ASSERT_EQ(get_mmio_spte_gfn(m, s), gfn);
	FUZZ_ASSERT_EQ(get_mmio_spte_access(m, s), access & m->shadow_mmio_access_mask);
	FUZZ_ASSERT_EQ(get_mmio_spte_generation(s), gen & MMIO_SPTE_GEN_MASK);
	FUZZ_ASSERT_EQ(spte_check_state(m, s, PG_LEVEL_2M), SPTE_ERR_MMIO_LEVEL);

	assert_transition(f, SHADOW_NONPRESENT_VALUE, s, PG_LEVEL_4K, 0, "empty -> MMIO");
	assert_transition(f, s, SHADOW_NONPRESENT_VALUE, PG_LEVEL_4K, 0, "MMIO zap");
	e = pool_pick_leaf(f, PG_LEVEL_4K);
	if (e && e->level == PG_LEVEL_4K) {
		assert_refused(f, e->spte, s, PG_LEVEL_4K, SPTE_TRANSITION_ALLOW_REPLACE,
			       "present -> MMIO without a zap");
		assert_transition(f, s, e->spte, PG_LEVEL_4K, 0, "MMIO -> present (memslot added)");
	}
	pool_push(f, s, PG_LEVEL_4K);
}

/* Page-table links. */
static void op_nonleaf(struct fz *f)
{
	const struct kvm_mmu_masks *m = &f->m;
	int level = fuzz_dp_u32_range(&f->dp, PG_LEVEL_2M, PT64_ROOT_MAX_LEVEL);
	bool ad_dis = pick_ad_disabled(f);
	int which = fuzz_dp_bool(&f->dp);
	u64 nl = make_nonleaf_spte(m, child_pt[which], ad_dis);
	u64 other = make_nonleaf_spte(m, child_pt[!which], ad_dis);

	assert_legal(f, nl, level, "make_nonleaf_spte");
	FUZZ_ASSERT(is_shadow_present_pte(nl) && !is_last_spte(nl, level));
	FUZZ_ASSERT_EQ(spte_to_pfn(nl), __pa(child_pt[which]) >> PAGE_SHIFT);
	FUZZ_ASSERT_EQ(spte_ad_enabled(nl), !ad_dis);
	assert_transition(f, SHADOW_NONPRESENT_VALUE, nl, level, 0, "link a table");
	assert_transition(f, nl, SHADOW_NONPRESENT_VALUE, level, 0, "unlink a table");
	assert_transition(f, nl, FROZEN_SPTE, level, 0, "freeze a link");
	assert_refused(f, nl, other, level, SPTE_TRANSITION_ALLOW_REPLACE, "re-point a link");
	pool_push(f, nl, level);
}

static void op_zap_freeze(struct fz *f)
{
	struct pool_ent *e = pool_pick(f);

	if (!e)
		return;
	assert_transition(f, e->spte, SHADOW_NONPRESENT_VALUE, e->level, 0, "zap");
	assert_transition(f, e->spte, FROZEN_SPTE, e->level, 0, "freeze");
	assert_transition(f, FROZEN_SPTE, e->spte, e->level, 0, "unfreeze");
	assert_legal(f, FROZEN_SPTE, e->level, "frozen");
	assert_legal(f, SHADOW_NONPRESENT_VALUE, e->level, "empty");
	if (fuzz_dp_bool(&f->dp))
		e->spte = fuzz_dp_bool(&f->dp) ? FROZEN_SPTE : SHADOW_NONPRESENT_VALUE;
}

/* Two pool entries of one level: changes KVM forbids are refused, the others allowed. */
static void op_pair(struct fz *f)
{
	const struct kvm_mmu_masks *m = &f->m;
	struct pool_ent *a = pool_pick(f), *b = pool_pick(f);
	u64 o, n;
	int level;

	if (!a || !b || a->level != b->level)
		return;
	o = a->spte;
	n = b->spte;
	level = a->level;
	if (o == n || !is_shadow_present_pte(o)) {
		assert_transition(f, o, n, level, 0, "from non-present");
		return;
	}
	if (!is_shadow_present_pte(n)) {
		if (is_mmio_spte(m, n))
			assert_refused(f, o, n, level, 0, "present -> MMIO");
		else
			assert_transition(f, o, n, level, 0, "present -> empty/frozen");
		return;
	}
	if (is_last_spte(o, level) != is_last_spte(n, level)) {
		assert_refused(f, o, n, level, 0, "leaf <-> table");
		return;
	}
	if (!is_last_spte(o, level)) {
		assert_refused(f, o, n, level, SPTE_TRANSITION_ALLOW_REPLACE, "re-point a link");
		return;
	}
	if (spte_to_pfn(o) != spte_to_pfn(n) ||
	    (o & SPTE_TDP_AD_MASK) != (n & SPTE_TDP_AD_MASK) ||
	    is_pinned_spte(o) != is_pinned_spte(n) ||
	    is_refcounted_page_spte(o) != is_refcounted_page_spte(n) ||
	    (is_host_writable_spte(m, o) && !is_host_writable_spte(m, n))) {
		assert_refused(f, o, n, level, SPTE_TRANSITION_ALLOW_REPLACE,
			       "illegal leaf change");
		return;
	}
	assert_transition(f, o, n, level, 0, "leaf change");
}

/* Garbage: never a crash; whatever is accepted behaves like a legal SPTE. */
static void op_random_value(struct fz *f)
{
	const struct kvm_mmu_masks *m = &f->m;
	u64 v = fuzz_dp_u64(&f->dp), t;
	int level = fuzz_dp_u32_range(&f->dp, 0, PT64_ROOT_MAX_LEVEL + 1);
	int r = spte_check_state(m, v, level);

	FUZZ_ASSERT(spte_check_reason(r) != NULL);
	if (r || v == SHADOW_NONPRESENT_VALUE || is_frozen_spte(v))
		return;

	/* The pinned-SPTE RFC's zapped-pinned leaf: a leaf level, and it re-encodes. */
	if (is_zapped_pinned_spte(v)) {
		FUZZ_ASSERT(level >= PG_LEVEL_4K && level <= KVM_MAX_HUGEPAGE_LEVEL);
		FUZZ_ASSERT(make_zapped_pinned_spte(spte_to_pfn(v)) == v && !is_mmio_spte(m, v));
		return;
	}
	if (!is_shadow_present_pte(v)) {
		gfn_t gfn = get_mmio_spte_gfn(m, v);

		FUZZ_ASSERT(is_mmio_spte(m, v) && level == PG_LEVEL_4K);
		if (gfn <= kvm_mmu_max_gfn(m))
			FUZZ_ASSERT_MSG(make_mmio_spte(m, gfn, get_mmio_spte_access(m, v),
						       get_mmio_spte_generation(v)) == v,
					"legal MMIO SPTE %#llx does not re-encode",
					(unsigned long long)v);
		return;
	}
	if (!is_last_spte(v, level))
		return;

	if (is_writable_pte(v))
		FUZZ_ASSERT(is_mmu_writable_spte(m, v));
	if (is_mmu_writable_spte(m, v))
		FUZZ_ASSERT(is_host_writable_spte(m, v));
	t = mark_spte_for_access_track(m, v);
	assert_legal(f, t, level, "aged legal value");
	assert_transition(f, v, t, level, 0, "aging a legal value");
}

/*
 * The pinned-SPTE RFC's zap and unzap of a pinned leaf: the zapped-pinned
 * value keeps the pfn and the pin, is no MMIO SPTE, and comes back only as
 * the pinned leaf of the same pfn (or goes, to empty).
 */
static void zap_pinned(struct fz *f, struct pool_ent *e)
{
	const struct kvm_mmu_masks *m = &f->m;
	u64 z = make_zapped_pinned_spte(spte_to_pfn(e->spte));

	assert_legal(f, z, e->level, "zapped-pinned leaf");
	FUZZ_ASSERT(is_zapped_pinned_spte(z) && !is_shadow_present_pte(z) && !is_mmio_spte(m, z));
	assert_transition(f, e->spte, z, e->level, 0, "zap keeping the pin");
	assert_refused(f, e->spte & ~SPTE_PINNED_MASK, z, e->level, SPTE_TRANSITION_ALLOW_REPLACE,
		       "zapped-pinned from an unpinned leaf");
	assert_refused(f, z, e->spte & ~SPTE_PINNED_MASK, e->level, SPTE_TRANSITION_ALLOW_REPLACE,
		       "unzap without the pin");
	assert_transition(f, z, e->spte, e->level, 0, "unzap");
	assert_transition(f, z, SHADOW_NONPRESENT_VALUE, e->level, 0, "drop zapped-pinned");
}

/* A pinned pfn: set at install (never in place), carried over a same-pfn re-fault. */
static void op_pin(struct fz *f)
{
	struct pool_ent *e = pool_pick_leaf(f, PG_LEVEL_4K);
	u64 p;

	if (!e || is_pinned_spte(e->spte))
		return;
	p = e->spte | SPTE_PINNED_MASK;
	assert_legal(f, p, e->level, "pinned leaf");
	assert_refused(f, e->spte, p, e->level, SPTE_TRANSITION_ALLOW_REPLACE, "pin in place");
	assert_transition(f, SHADOW_NONPRESENT_VALUE, p, e->level, 0, "install pinned");
	e->spte = p;
	if (fuzz_dp_bool(&f->dp))
		zap_pinned(f, e);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_env_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { 0 };
	int ops;

	env_warn_count_reset();
	fuzz_dp_init(&f.dp, data, size);
	setup_masks(&f);

	for (ops = 0; ops < MAX_OPS && !fuzz_dp_empty(&f.dp); ops++) {
		switch (fuzz_dp_u32_range(&f.dp, 0, OP_NR - 1)) {
		case OP_MAKE_LEAF:
			op_make_leaf(&f);
			break;
		case OP_AGE:
			op_age(&f);
			break;
		case OP_FAST_FIX:
			op_fast_fix(&f);
			break;
		case OP_WRPROT:
			op_wrprot(&f);
			break;
		case OP_SPLIT:
			op_split(&f);
			break;
		case OP_COLLAPSE:
			op_collapse(&f);
			break;
		case OP_MMIO:
			op_mmio(&f);
			break;
		case OP_NONLEAF:
			op_nonleaf(&f);
			break;
		case OP_ZAP_FREEZE:
			op_zap_freeze(&f);
			break;
		case OP_PAIR:
			op_pair(&f);
			break;
		case OP_RANDOM_VALUE:
			op_random_value(&f);
			break;
		case OP_PIN:
			op_pin(&f);
			break;
		}
	}
	FUZZ_ASSERT_MSG(env_warn_count() == 0, "%lu WARN(s) fired", env_warn_count());
	return 0;
}
