// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/mmu/tdp_iter.c: the pre-order TDP walk, its range and level
 * bounds, yield/restart, the re-read before stepping down, 5-level roots,
 * and the SPTE write helpers of tdp_iter.h.
 *
 * The page tables are built by hand: get_zeroed_page() filled with
 * SHADOW_NONPRESENT_VALUE, linked with make_nonleaf_spte(), leaves from
 * make_spte().  Every walk runs inside rcu_read_lock(), as in KVM.
 *
 * The 4-level tree used by most tests (gfns in hex; one root entry maps
 * 2^27 gfns, one L3 entry 2^18, one L2 entry 2^9):
 *
 *   root (L4)
 *   [0] -> A (L3)                          gfn 0 .. 7ffffff
 *   |      [0]   1G leaf                   gfn 0 .. 3ffff
 *   |      [1] -> B (L2)                   gfn 40000 .. 7ffff
 *   |      |      [0]   2M leaf            gfn 40000 .. 401ff
 *   |      |      [1] -> C (L1)            gfn 40200 .. 403ff
 *   |      |      |      [0] [1] [2] [511] 4K leaves 40200, 40201, 40202, 403ff
 *   |      |      [2] -> D (L1)            gfn 40400 .. 405ff
 *   |      |      |      [5]               4K leaf 40405
 *   |      |      [3]   empty              gfn 40600 (used to link a table late)
 *   |      |      [511] 2M leaf            gfn 7fe00
 *   |      [511] 1G leaf                   gfn 7fc0000
 *   [1] -> E (L3)                          gfn 8000000 .. fffffff
 *   |      [2]   1G leaf                   gfn 8080000
 *   [2..511] empty
 *
 * Every other entry holds SHADOW_NONPRESENT_VALUE.  A full 4K walk visits
 * all 512 entries of each of the 6 tables: 3072 SPTEs.
 */
#include "test_util.h"

#include "mmu/tdp_iter.h"

#define MAX_TABLES 16

struct tree {
	struct kvm_mmu_masks m;
	int nr;
	u64 *tables[MAX_TABLES];
	u64 *root;
	int root_level;
};

static u64 *alloc_table(struct tree *t)
{
	u64 *pt = (u64 *)get_zeroed_page(GFP_KERNEL);
	int i;

	assert_non_null(pt);
	assert_true(t->nr < MAX_TABLES);
	for (i = 0; i < SPTE_ENT_PER_PAGE; i++)
		pt[i] = SHADOW_NONPRESENT_VALUE;
	t->tables[t->nr++] = pt;
	return pt;
}

static void free_tree(struct tree *t)
{
	while (t->nr)
		free_page((unsigned long)t->tables[--t->nr]);
}

static void link_table(struct tree *t, u64 *parent, int idx, u64 *child)
{
	parent[idx] = make_nonleaf_spte(&t->m, child, !t->m.ad_enabled);
}

static void set_leaf(struct tree *t, u64 *pt, int idx, int level, kvm_pfn_t pfn)
{
	assert_false(make_spte(&t->m, level, ACC_ALL, 0, pfn, SHADOW_NONPRESENT_VALUE, false,
			       false, true, !t->m.ad_enabled, true, &pt[idx]));
}

static void init_masks(struct kvm_mmu_masks *m, int mode)
{
	if (mode == 0)
		kvm_mmu_init_npt_masks(m);
	else if (mode == 1)
		kvm_mmu_init_ept_masks(m, true, false);
	else
		kvm_mmu_init_ept_masks(m, false, true);
}

#define NR_MODES 3

/* The tree drawn at the top of the file. */
static u64 *A, *B, *C, *D, *E;

static void build_tree4(struct tree *t, int mode)
{
	memset(t, 0, sizeof(*t));
	init_masks(&t->m, mode);
	t->root_level = PT64_ROOT_4LEVEL;
	t->root = alloc_table(t);
	A = alloc_table(t);
	B = alloc_table(t);
	C = alloc_table(t);
	D = alloc_table(t);
	E = alloc_table(t);

	link_table(t, t->root, 0, A);
	set_leaf(t, A, 0, PG_LEVEL_1G, 0x40000);
	link_table(t, A, 1, B);
	set_leaf(t, B, 0, PG_LEVEL_2M, 0x200);
	link_table(t, B, 1, C);
	set_leaf(t, C, 0, PG_LEVEL_4K, 0x1000);
	set_leaf(t, C, 1, PG_LEVEL_4K, 0x1001);
	set_leaf(t, C, 2, PG_LEVEL_4K, 0x1002);
	set_leaf(t, C, 511, PG_LEVEL_4K, 0x11ff);
	link_table(t, B, 2, D);
	set_leaf(t, D, 5, PG_LEVEL_4K, 0x2005);
	set_leaf(t, B, 511, PG_LEVEL_2M, 0x400);
	set_leaf(t, A, 511, PG_LEVEL_1G, 0x80000);
	link_table(t, t->root, 1, E);
	set_leaf(t, E, 2, PG_LEVEL_1G, 0xc0000);
}

/* ------------------------------------------------------------------------- */
/* A reference walk: plain recursion over the same tables.                   */
/* ------------------------------------------------------------------------- */

struct visit {
	gfn_t gfn;
	int level;
	u64 *sptep;
};

#define MAX_VISITS 8192

static struct visit ref[MAX_VISITS], got[MAX_VISITS];

/*
 * The SPTEs a [start, end) walk must visit, in order: every entry reachable
 * through present non-leaf SPTEs above min_level whose range ends after
 * start, up to the first one that begins at or after end.
 */
static bool ref_walk(const struct tree *t, u64 *pt, int level, gfn_t base, int min_level,
		     gfn_t start, gfn_t end, int *n)
{
	gfn_t size = KVM_PAGES_PER_HPAGE(level);
	int i;

	for (i = 0; i < SPTE_ENT_PER_PAGE; i++) {
		gfn_t gfn = base + i * size;
		u64 spte = pt[i];

		if (gfn + size <= start)
			continue;
		if (gfn >= end)
			return false;
		assert_true(*n < MAX_VISITS);
		ref[*n].gfn = gfn;
		ref[*n].level = level;
		ref[*n].sptep = &pt[i];
		(*n)++;
		if (level > min_level && is_shadow_present_pte(spte) &&
		    !is_last_spte(spte, level) &&
		    !ref_walk(t, (u64 *)__va(spte_to_pfn(spte) << PAGE_SHIFT), level - 1, gfn,
			      min_level, start, end, n))
			return false;
	}
	return true;
}

static int iter_walk(const struct tree *t, int min_level, gfn_t start, gfn_t end)
{
	struct tdp_iter iter;
	int n = 0;

	rcu_read_lock();
	for_each_tdp_pte_min_level_raw(iter, t->root, t->root_level, 0, min_level, start, end) {
		assert_true(n < MAX_VISITS);
		/* Consistency of every position. */
		assert_int_equal(iter.gfn, gfn_round_for_level(iter.gfn, iter.level));
		assert_true(iter.level >= min_level && iter.level <= t->root_level);
		assert_ptr_equal(iter.sptep, iter.pt_path[iter.level - 1] +
					     SPTE_INDEX(iter.gfn << PAGE_SHIFT, iter.level));
		assert_int_equal(iter.old_spte, kvm_tdp_mmu_read_spte(iter.sptep));
		assert_int_equal(iter.as_id, 0);
		assert_int_equal(spte_check_state(&t->m, iter.old_spte, iter.level), 0);
		got[n].gfn = iter.gfn;
		got[n].level = iter.level;
		got[n].sptep = iter.sptep;
		n++;
	}
	rcu_read_unlock();
	return n;
}

static void compare_walk(const struct tree *t, int min_level, gfn_t start, gfn_t end)
{
	int nref = 0, ngot, i;

	ref_walk(t, t->root, t->root_level, 0, min_level, start, end, &nref);
	ngot = iter_walk(t, min_level, start, end);
	if (ngot != nref)
		fail_msg("[%#llx, %#llx) min %d: %d visits, want %d", (unsigned long long)start,
			 (unsigned long long)end, min_level, ngot, nref);
	for (i = 0; i < nref; i++) {
		if (got[i].gfn != ref[i].gfn || got[i].level != ref[i].level ||
		    got[i].sptep != ref[i].sptep)
			fail_msg("[%#llx, %#llx) min %d: visit %d (%#llx, L%d), want (%#llx, L%d)",
				 (unsigned long long)start, (unsigned long long)end, min_level, i,
				 (unsigned long long)got[i].gfn, got[i].level,
				 (unsigned long long)ref[i].gfn, ref[i].level);
	}
}

#define GFN_4LVL (1ULL << 36)
#define GFN_5LVL (1ULL << 45)

static void expect_visit(int i, gfn_t gfn, int level)
{
	if (got[i].gfn != gfn || got[i].level != level)
		fail_msg("visit %d is (%#llx, L%d), want (%#llx, L%d)", i,
			 (unsigned long long)got[i].gfn, got[i].level, (unsigned long long)gfn,
			 level);
}

/* ------------------------------------------------------------------------- */

static void test_tdp_iter_preorder(void **state)
{
	struct tree t;
	int mode, n;

	for (mode = 0; mode < NR_MODES; mode++) {
		build_tree4(&t, mode);
		n = iter_walk(&t, PG_LEVEL_4K, 0, GFN_4LVL);
		assert_int_equal(n, 6 * 512);

		/* Parents first, then their tables, in address order. */
		expect_visit(0, 0, 4);		/* root[0] -> A */
		expect_visit(1, 0, 3);		/* A[0]: 1G leaf, not descended */
		expect_visit(2, 0x40000, 3);	/* A[1] -> B */
		expect_visit(3, 0x40000, 2);	/* B[0]: 2M leaf */
		expect_visit(4, 0x40200, 2);	/* B[1] -> C */
		expect_visit(5, 0x40200, 1);	/* C[0] */
		expect_visit(6, 0x40201, 1);	/* C[1] */
		expect_visit(5 + 511, 0x403ff, 1); /* C[511] */
		expect_visit(5 + 512, 0x40400, 2); /* back up: B[2] -> D */
		expect_visit(5 + 513, 0x40400, 1); /* D[0] */
		expect_visit(5 + 513 + 512, 0x40600, 2); /* B[3] */
		assert_ptr_equal(got[5 + 513 + 5].sptep, &D[5]);
		assert_ptr_equal(got[1].sptep, &A[0]);
		/* After A[511] (the last L3 entry) comes root[1] -> E. */
		for (n = 0; n < 6 * 512; n++)
			if (got[n].sptep == &t.root[1])
				break;
		assert_int_equal(got[n - 1].gfn, 511ULL << 18);
		assert_int_equal(got[n - 1].level, 3);
		expect_visit(n, 1ULL << 27, 4);
		expect_visit(n + 1, 1ULL << 27, 3);
		/* The walk ends at the root's last entry. */
		expect_visit(6 * 512 - 1, 511ULL << 27, 4);

		compare_walk(&t, PG_LEVEL_4K, 0, GFN_4LVL);
		free_tree(&t);
	}
}

static void test_tdp_iter_min_level(void **state)
{
	struct tree t;
	int mode, i, n;

	for (mode = 0; mode < NR_MODES; mode++) {
		build_tree4(&t, mode);

		/* 2M: B[1] and B[2] are visited but C and D are not walked. */
		n = iter_walk(&t, PG_LEVEL_2M, 0, GFN_4LVL);
		assert_int_equal(n, 4 * 512);
		for (i = 0; i < n; i++)
			assert_true(got[i].level >= PG_LEVEL_2M);
		expect_visit(4, 0x40200, 2);
		expect_visit(5, 0x40400, 2);
		compare_walk(&t, PG_LEVEL_2M, 0, GFN_4LVL);

		/* 1G: only the root, A and E. */
		n = iter_walk(&t, PG_LEVEL_1G, 0, GFN_4LVL);
		assert_int_equal(n, 3 * 512);
		compare_walk(&t, PG_LEVEL_1G, 0, GFN_4LVL);

		/* The root level alone. */
		n = iter_walk(&t, 4, 0, GFN_4LVL);
		assert_int_equal(n, 512);
		free_tree(&t);
	}
}

/*
 * [start, end) bounds.  A walk that starts mid-table comes down from the
 * root, so it visits the SPTEs on the path first, and a huge SPTE that
 * contains start although it begins below it.
 */
static void test_tdp_iter_range(void **state)
{
	u64 rng = mmusim_test_seed();
	struct tree t;
	int mode, n, i;

	for (mode = 0; mode < NR_MODES; mode++) {
		build_tree4(&t, mode);

		/* Four 4K SPTEs of C, after the path down to them. */
		n = iter_walk(&t, PG_LEVEL_4K, 0x40201, 0x40205);
		assert_int_equal(n, 3 + 4);
		expect_visit(0, 0, 4);
		expect_visit(1, 0x40000, 3);
		expect_visit(2, 0x40200, 2);
		expect_visit(3, 0x40201, 1);
		expect_visit(6, 0x40204, 1);

		/* Starting inside the first 1G leaf visits that leaf. */
		n = iter_walk(&t, PG_LEVEL_4K, 0x123, 0x40001);
		assert_int_equal(n, 4);
		expect_visit(0, 0, 4);
		expect_visit(1, 0, 3);
		expect_visit(2, 0x40000, 3);
		expect_visit(3, 0x40000, 2);

		/*
		 * An empty range still visits the path SPTEs that begin below
		 * end (KVM's loop condition is only iter.gfn < end), then
		 * stops at the 4K SPTE for start.
		 */
		n = iter_walk(&t, PG_LEVEL_4K, 0x40202, 0x40202);
		assert_int_equal(n, 3);
		compare_walk(&t, PG_LEVEL_4K, 0x40202, 0x40202);
		n = iter_walk(&t, PG_LEVEL_4K, 0, 0);
		assert_int_equal(n, 0);

		/* A range entirely inside one 4K page. */
		n = iter_walk(&t, PG_LEVEL_4K, 0x40405, 0x40406);
		assert_int_equal(n, 4);
		assert_ptr_equal(got[3].sptep, &D[5]);

		/* A range ending at a table boundary does not spill over. */
		n = iter_walk(&t, PG_LEVEL_4K, 0x40200, 0x40400);
		assert_int_equal(n, 3 + 512);

		/* The second root entry onwards. */
		compare_walk(&t, PG_LEVEL_4K, 1ULL << 27, GFN_4LVL);
		compare_walk(&t, PG_LEVEL_4K, 0x7fffe00, (1ULL << 27) + 0x80001);

		/* Random ranges and levels against the reference walk. */
		for (i = 0; i < 200; i++) {
			gfn_t start = test_rand(&rng) % 0x100000;
			gfn_t end = start + test_rand(&rng) % 0x800;
			int min_level = 1 + test_rand(&rng) % 4;

			if (!(i % 4)) /* sometimes far ranges */
				end = start + test_rand(&rng) % (1ULL << 28);
			compare_walk(&t, min_level, start, end);
		}
		free_tree(&t);
	}
}

/*
 * next_last_level_gfn: the start gfn until the walk first steps sideways,
 * then the gfn of each SPTE reached sideways; unchanged by steps down.
 */
static void test_tdp_iter_next_last_level_gfn(void **state)
{
	struct tdp_iter iter;
	struct tree t;
	int prev_level = 0;
	gfn_t prev_nllg = 0;

	build_tree4(&t, 1);
	rcu_read_lock();
	tdp_iter_start(&iter, t.root, t.root_level, 0, PG_LEVEL_4K, 0x40201);
	assert_true(iter.valid);
	assert_int_equal(iter.next_last_level_gfn, 0x40201);
	assert_int_equal(iter.yielded_gfn, 0x40201);
	assert_int_equal(iter.level, 4);
	assert_int_equal(iter.gfn, 0);
	assert_false(iter.yielded);
	for (; iter.valid && iter.gfn < 0x40800; tdp_iter_next(&iter)) {
		if (prev_level && iter.level == prev_level - 1)
			assert_int_equal(iter.next_last_level_gfn, prev_nllg); /* down */
		else if (prev_level)
			assert_int_equal(iter.next_last_level_gfn, iter.gfn);  /* side */
		prev_level = iter.level;
		prev_nllg = iter.next_last_level_gfn;
		assert_int_equal(iter.yielded_gfn, 0x40201);
	}
	rcu_read_unlock();
	free_tree(&t);
}

/*
 * Yield: the TDP MMU drops mmu_lock, sets iter.yielded, and the next step
 * walks from the root back down to next_last_level_gfn, where it resumes
 * (re-visiting the SPTE it yielded at).
 */
static void test_tdp_iter_yield_restart(void **state)
{
	struct tdp_iter iter;
	struct tree t;
	u64 *yielded_at = NULL;
	int after = 0;

	build_tree4(&t, 0);
	rcu_read_lock();
	for_each_tdp_pte_raw(iter, t.root, t.root_level, 1, 0, GFN_4LVL) {
		assert_int_equal(iter.as_id, 1);
		if (!yielded_at && iter.level == 1 && iter.gfn == 0x40203) {
			/* What tdp_mmu_iter_cond_resched() does after a yield. */
			assert_int_not_equal(iter.next_last_level_gfn, iter.yielded_gfn);
			yielded_at = iter.sptep;
			rcu_read_unlock();
			rcu_read_lock();
			iter.yielded = true;
			continue;
		}
		if (yielded_at) {
			after++;
			if (after == 1) {
				assert_false(iter.yielded);
				assert_int_equal(iter.level, 4);
				assert_int_equal(iter.gfn, 0);
				assert_int_equal(iter.yielded_gfn, 0x40203);
				assert_int_equal(iter.yielded_gfn, iter.next_last_level_gfn);
			}
			if (after == 2)
				assert_true(iter.level == 3 && iter.gfn == 0x40000);
			if (after == 3)
				assert_true(iter.level == 2 && iter.gfn == 0x40200);
			if (after == 4) {
				assert_true(iter.level == 1 && iter.gfn == 0x40203);
				assert_ptr_equal(iter.sptep, yielded_at);
			}
			if (after == 5) {
				assert_true(iter.level == 1 && iter.gfn == 0x40204);
				assert_int_equal(iter.next_last_level_gfn, 0x40204);
				break;
			}
		}
	}
	assert_int_equal(after, 5);

	/* tdp_iter_restart() itself. */
	tdp_iter_restart(&iter);
	assert_true(iter.valid);
	assert_int_equal(iter.level, 4);
	assert_int_equal(iter.yielded_gfn, 0x40204);
	tdp_iter_next(&iter);
	tdp_iter_next(&iter);
	tdp_iter_next(&iter);
	assert_true(iter.level == 1 && iter.gfn == 0x40204);
	rcu_read_unlock();
	free_tree(&t);
}

/*
 * The walk re-reads an SPTE before stepping down: if B[1] is zapped between
 * visiting it and the next step, the walk must not enter C; if B[3] gets a
 * table linked after it was visited empty, the walk enters it.
 */
static void test_tdp_iter_reread_before_step_down(void **state)
{
	struct tdp_iter iter;
	struct tree t;
	u64 *F;
	int mode;

	for (mode = 0; mode < NR_MODES; mode++) {
		u64 saved;

		build_tree4(&t, mode);
		F = alloc_table(&t);
		set_leaf(&t, F, 0, PG_LEVEL_4K, 0x3000);

		rcu_read_lock();
		for_each_tdp_pte_raw(iter, t.root, t.root_level, 0, 0x40200, GFN_4LVL)
			if (iter.level == 2)
				break;
		assert_true(iter.valid && iter.gfn == 0x40200 && iter.sptep == &B[1]);
		assert_false(is_last_spte(iter.old_spte, 2));

		/* Zap B[1]; iter.old_spte still shows the link. */
		saved = kvm_tdp_mmu_write_spte_atomic(&B[1], SHADOW_NONPRESENT_VALUE);
		assert_int_equal(saved, iter.old_spte);
		tdp_iter_next(&iter);
		assert_true(iter.valid);
		assert_int_equal(iter.level, 2);
		assert_int_equal(iter.gfn, 0x40400);
		assert_ptr_equal(iter.sptep, &B[2]);
		__kvm_tdp_mmu_write_spte(&B[1], saved);

		/* Walk to B[3] (empty), link F there, step: the walk enters F. */
		tdp_iter_next(&iter);
		while (iter.sptep != &B[3])
			tdp_iter_next(&iter);
		assert_int_equal(iter.old_spte, SHADOW_NONPRESENT_VALUE);
		__kvm_tdp_mmu_write_spte(&B[3], make_nonleaf_spte(&t.m, F, !t.m.ad_enabled));
		tdp_iter_next(&iter);
		assert_int_equal(iter.level, 1);
		assert_int_equal(iter.gfn, 0x40600);
		assert_ptr_equal(iter.sptep, &F[0]);
		assert_true(is_shadow_present_pte(iter.old_spte));
		assert_ptr_equal(iter.pt_path[0], F);
		rcu_read_unlock();
		free_tree(&t);
	}
}

/*
 * 5-level root: gfn space 2^45.  One path:
 *
 *   R5[3] -> T4 (gfn 3 << 36)
 *            T4[7] -> T3 (gfn 3 << 36 | 7 << 27)
 *                     T3[1] 1G leaf (gfn 3 << 36 | 7 << 27 | 1 << 18)
 *   R5[511] -> T4b, T4b[511] -> T3b, T3b[511] 1G leaf (the last 1G of 2^45)
 */
static void test_tdp_iter_5level(void **state)
{
	const gfn_t leaf_gfn = (3ULL << 36) | (7ULL << 27) | (1ULL << 18);
	const gfn_t last_gfn = GFN_5LVL - (1ULL << 18);
	struct tdp_iter iter;
	struct tree t;
	u64 *t4, *t3, *t4b, *t3b;
	int mode, n;

	for (mode = 0; mode < NR_MODES; mode++) {
		memset(&t, 0, sizeof(t));
		init_masks(&t.m, mode);
		t.root_level = PT64_ROOT_5LEVEL;
		t.root = alloc_table(&t);
		t4 = alloc_table(&t);
		t3 = alloc_table(&t);
		t4b = alloc_table(&t);
		t3b = alloc_table(&t);
		link_table(&t, t.root, 3, t4);
		link_table(&t, t4, 7, t3);
		set_leaf(&t, t3, 1, PG_LEVEL_1G, 0x40000);
		link_table(&t, t.root, 511, t4b);
		link_table(&t, t4b, 511, t3b);
		set_leaf(&t, t3b, 511, PG_LEVEL_1G, 0x80000);

		/* Straight to the leaf. */
		n = iter_walk(&t, PG_LEVEL_4K, leaf_gfn, leaf_gfn + 1);
		assert_int_equal(n, 3);
		expect_visit(0, 3ULL << 36, 5);
		expect_visit(1, (3ULL << 36) | (7ULL << 27), 4);
		expect_visit(2, leaf_gfn, 3);
		assert_ptr_equal(got[2].sptep, &t3[1]);

		/* The very last gfn of the 5-level space. */
		n = iter_walk(&t, PG_LEVEL_4K, GFN_5LVL - 1, GFN_5LVL);
		assert_int_equal(n, 3);
		expect_visit(2, last_gfn, 3);

		/* Whole space: 512 root entries + 4 tables. */
		n = iter_walk(&t, PG_LEVEL_4K, 0, GFN_5LVL);
		assert_int_equal(n, 5 * 512);
		compare_walk(&t, PG_LEVEL_4K, 0, GFN_5LVL);
		compare_walk(&t, PG_LEVEL_1G, leaf_gfn - 5, GFN_5LVL - 3);

		/* Past the end of the root: the iterator runs off and stops. */
		rcu_read_lock();
		tdp_iter_start(&iter, t.root, 5, 0, PG_LEVEL_4K, last_gfn);
		while (iter.valid)
			tdp_iter_next(&iter);
		assert_false(iter.valid);
		/* Beyond what the root maps: nothing at all. */
		tdp_iter_start(&iter, t.root, 5, 0, PG_LEVEL_4K, GFN_5LVL);
		assert_false(iter.valid);
		rcu_read_unlock();
		free_tree(&t);
	}
}

static void test_tdp_iter_bad_args(void **state)
{
	struct tdp_iter iter;
	struct tree t;
	int n = 0;

	build_tree4(&t, 0);
	rcu_read_lock();

	tdp_iter_start(&iter, t.root, 3, 0, PG_LEVEL_4K, 0);
	assert_false(iter.valid);
	tdp_iter_start(&iter, t.root, 6, 0, PG_LEVEL_4K, 0);
	assert_false(iter.valid);
	tdp_iter_start(&iter, NULL, 4, 0, PG_LEVEL_4K, 0);
	assert_false(iter.valid);
	tdp_iter_start(&iter, t.root, 4, 0, 0, 0);
	assert_false(iter.valid);
	tdp_iter_start(&iter, t.root, 4, 0, 5, 0);
	assert_false(iter.valid);
	assert_int_equal(env_warn_count(), 5);
	env_warn_count_reset();

	/* A 4-level root maps 2^36 gfns; starting beyond is an empty walk. */
	for_each_tdp_pte_raw(iter, t.root, 4, 0, GFN_4LVL, GFN_4LVL + 100)
		n++;
	assert_int_equal(n, 0);
	for_each_tdp_pte_raw(iter, t.root, 4, 0, GFN_4LVL - 1, U64_MAX)
		n++;
	assert_int_equal(n, 1); /* root[511], empty: nothing below it */
	assert_int_equal(env_warn_count(), 0);

	rcu_read_unlock();
	free_tree(&t);
}

/* spte_to_child_pt() only follows present non-leaf SPTEs. */
static void test_tdp_iter_spte_to_child_pt(void **state)
{
	struct tree t;
	int level;

	build_tree4(&t, 1);
	assert_ptr_equal(spte_to_child_pt(t.root[0], 4), A);
	assert_ptr_equal(spte_to_child_pt(A[1], 3), B);
	assert_ptr_equal(spte_to_child_pt(B[1], 2), C);
	assert_null(spte_to_child_pt(A[0], 3));		/* 1G leaf */
	assert_null(spte_to_child_pt(B[0], 2));		/* 2M leaf */
	assert_null(spte_to_child_pt(C[0], 1));		/* 4K leaf */
	assert_null(spte_to_child_pt(B[1], 1));		/* everything is a leaf at 4K */
	for (level = 1; level <= 5; level++) {
		assert_null(spte_to_child_pt(SHADOW_NONPRESENT_VALUE, level));
		assert_null(spte_to_child_pt(FROZEN_SPTE, level));
	}
	assert_null(spte_to_child_pt(make_mmio_spte(&t.m, 5, 0, 0), 1));
	free_tree(&t);
}

/*
 * kvm_tdp_mmu_write_spte(): an exchange when the old SPTE has volatile bits,
 * so a bit set behind our back (here: the CPU setting Dirty) is returned;
 * a plain store otherwise.
 */
static void test_tdp_iter_write_helpers(void **state)
{
	struct kvm_mmu_masks m;
	static u64 pt[SPTE_ENT_PER_PAGE] __aligned(4096);
	u64 clean, dirty, ret, wp;

	kvm_mmu_init_ept_masks(&m, true, false);
	assert_false(make_spte(&m, PG_LEVEL_4K, ACC_ALL, 0, 0x99, SHADOW_NONPRESENT_VALUE, false,
			       false, true, false, false, &dirty));
	clean = dirty & ~m.shadow_dirty_mask;	/* writable, not yet dirty */
	wp = dirty & ~PT_WRITABLE_MASK;

	rcu_read_lock();
	assert_true(kvm_tdp_mmu_spte_need_atomic_update(&m, clean, PG_LEVEL_4K));
	assert_false(kvm_tdp_mmu_spte_need_atomic_update(&m, dirty, PG_LEVEL_4K));
	assert_false(kvm_tdp_mmu_spte_need_atomic_update(&m, SHADOW_NONPRESENT_VALUE,
							 PG_LEVEL_4K));
	assert_false(kvm_tdp_mmu_spte_need_atomic_update(&m, make_nonleaf_spte(&m, pt, false),
							 PG_LEVEL_2M));

	/* Volatile: the D bit the "CPU" set meanwhile is reported. */
	__kvm_tdp_mmu_write_spte(&pt[0], clean);
	__kvm_tdp_mmu_write_spte(&pt[0], clean | m.shadow_dirty_mask);
	ret = kvm_tdp_mmu_write_spte(&m, &pt[0], clean, wp, PG_LEVEL_4K);
	assert_int_equal(ret, dirty);
	assert_int_equal(kvm_tdp_mmu_read_spte(&pt[0]), wp);

	/* Not volatile: a plain store, the caller's old value is returned. */
	__kvm_tdp_mmu_write_spte(&pt[1], dirty);
	ret = kvm_tdp_mmu_write_spte(&m, &pt[1], dirty, SHADOW_NONPRESENT_VALUE, PG_LEVEL_4K);
	assert_int_equal(ret, dirty);
	assert_int_equal(kvm_tdp_mmu_read_spte(&pt[1]), SHADOW_NONPRESENT_VALUE);

	/* Clearing bits: atomic for volatile SPTEs. */
	__kvm_tdp_mmu_write_spte(&pt[2], clean | m.shadow_dirty_mask);
	ret = tdp_mmu_clear_spte_bits(&m, &pt[2], clean, m.shadow_accessed_mask, PG_LEVEL_4K);
	assert_int_equal(ret, dirty);
	assert_int_equal(kvm_tdp_mmu_read_spte(&pt[2]), dirty & ~m.shadow_accessed_mask);
	__kvm_tdp_mmu_write_spte(&pt[3], dirty);
	ret = tdp_mmu_clear_spte_bits(&m, &pt[3], dirty, m.shadow_dirty_mask, PG_LEVEL_4K);
	assert_int_equal(ret, dirty);
	assert_int_equal(kvm_tdp_mmu_read_spte(&pt[3]), clean);
	ret = tdp_mmu_clear_spte_bits_atomic(&pt[3], PT_WRITABLE_MASK);
	assert_int_equal(ret, clean);
	assert_int_equal(kvm_tdp_mmu_read_spte(&pt[3]), clean & ~PT_WRITABLE_MASK);
	rcu_read_unlock();
}

/*
 * Lockless walkers vs. a thread that links and unlinks a table at B[3] and
 * frees unlinked tables after a grace period (call_rcu).  The walkers must
 * only ever see legal SPTEs at consistent levels, and never touch freed
 * memory (ASan) or race (TSan).
 */
struct zap_ctx {
	struct kvm_mmu_masks *m;
	u64 *slot;
	atomic_t stop;
	atomic_t rounds;
};

struct dead_table {
	struct rcu_head rcu;
	unsigned long page;
};

static void free_dead_table(struct rcu_head *head)
{
	struct dead_table *d = container_of(head, struct dead_table, rcu);

	free_page(d->page);
	kfree(d);
}

static int zap_thread(void *arg)
{
	struct zap_ctx *ctx = arg;
	int ret = 0;

	while (!atomic_read(&ctx->stop)) {
		u64 *pt = (u64 *)get_zeroed_page(GFP_KERNEL);
		struct dead_table *d = kmalloc(sizeof(*d), GFP_KERNEL);
		u64 old, leaf;
		int i;

		if (!pt || !d) {
			free_page((unsigned long)pt);
			kfree(d);
			return -ENOMEM;
		}
		for (i = 0; i < SPTE_ENT_PER_PAGE; i++)
			pt[i] = SHADOW_NONPRESENT_VALUE;
		make_spte(ctx->m, PG_LEVEL_4K, ACC_ALL, 0, 0x77, SHADOW_NONPRESENT_VALUE, false,
			  false, true, !ctx->m->ad_enabled, false, &leaf);
		pt[atomic_read(&ctx->rounds) % SPTE_ENT_PER_PAGE] = leaf;

		/* No cmocka assertions off the main thread: report by value. */
		rcu_read_lock();
		old = kvm_tdp_mmu_write_spte_atomic(ctx->slot,
						    make_nonleaf_spte(ctx->m, pt,
								      !ctx->m->ad_enabled));
		if (old != SHADOW_NONPRESENT_VALUE)
			ret = -EINVAL;
		rcu_read_unlock();
		ndelay(2000); /* leave it linked long enough for walkers to enter */
		rcu_read_lock();
		old = kvm_tdp_mmu_write_spte_atomic(ctx->slot, SHADOW_NONPRESENT_VALUE);
		rcu_read_unlock();

		d->page = (unsigned long)spte_to_child_pt(old, PG_LEVEL_2M);
		if (d->page != (unsigned long)pt)
			ret = -EINVAL;
		d->page = (unsigned long)pt;
		call_rcu(&d->rcu, free_dead_table);
		atomic_inc(&ctx->rounds);
	}
	return ret;
}

static void test_tdp_iter_concurrent_unlink(void **state)
{
	u64 deadline = ktime_get_ns() + 300ULL * 1000 * 1000;
	struct env_thread *thr;
	struct zap_ctx ctx;
	struct tree t;
	unsigned long walks = 0, entered = 0;

	if (mmusim_test_stress_seconds() < 1)
		deadline = ktime_get_ns() + 50ULL * 1000 * 1000;
	build_tree4(&t, 2); /* EPT without A/D */
	ctx.m = &t.m;
	ctx.slot = &B[3];
	atomic_set(&ctx.stop, 0);
	atomic_set(&ctx.rounds, 0);
	thr = env_thread_start(zap_thread, &ctx, "zap");
	assert_non_null(thr);

	while (ktime_get_ns() < deadline || atomic_read(&ctx.rounds) < 10) {
		struct tdp_iter iter;

		rcu_read_lock();
		for_each_tdp_pte_raw(iter, t.root, t.root_level, 0, 0x40400, 0x40800) {
			if (spte_check_state(&t.m, iter.old_spte, iter.level))
				fail_msg("illegal SPTE %#llx at L%d",
					 (unsigned long long)iter.old_spte, iter.level);
			if (iter.level == 1 && iter.gfn >= 0x40600)
				entered++;
		}
		rcu_read_unlock();
		walks++;
	}
	atomic_set(&ctx.stop, 1);
	assert_int_equal(env_thread_join(thr), 0);
	rcu_barrier();
	assert_true(walks > 0);
	/* Timing-dependent, so not asserted; typically thousands. */
	print_message("%lu walks, %lu SPTEs visited in linked tables, %d link/unlink rounds\n",
		      walks, entered, atomic_read(&ctx.rounds));
	assert_int_equal(READ_ONCE(B[3]), SHADOW_NONPRESENT_VALUE);
	free_tree(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_tdp_iter_preorder),
		MMUSIM_TEST(test_tdp_iter_min_level),
		MMUSIM_TEST(test_tdp_iter_range),
		MMUSIM_TEST(test_tdp_iter_next_last_level_gfn),
		MMUSIM_TEST(test_tdp_iter_yield_restart),
		MMUSIM_TEST(test_tdp_iter_reread_before_step_down),
		MMUSIM_TEST(test_tdp_iter_5level),
		MMUSIM_TEST(test_tdp_iter_bad_args),
		MMUSIM_TEST(test_tdp_iter_spte_to_child_pt),
		MMUSIM_TEST(test_tdp_iter_write_helpers),
		MMUSIM_TEST(test_tdp_iter_concurrent_unlink),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("tdp_iter", tests);
}
