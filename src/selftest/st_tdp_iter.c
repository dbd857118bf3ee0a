// SPDX-License-Identifier: GPL-2.0-only
/*
 * Self-tests of the TDP iterator (src/mmu/tdp_iter.c) that run in both
 * environments: a small hand-built 4-level table walked in pre-order, with
 * a minimum level, over gfn ranges, and across a yield that restarts the
 * walk from the root.
 *
 * The tables are real pages (get_zeroed_page() filled with
 * SHADOW_NONPRESENT_VALUE) linked by make_nonleaf_spte(), so in the kernel
 * the iterator follows real physical addresses through __va().  Every walk
 * runs inside rcu_read_lock(), as in KVM.  The tree (gfns in hex; one root
 * entry maps 2^27 gfns, one L3 entry 2^18, one L2 entry 2^9):
 *
 *   root (L4)
 *   [0] -> A (L3)                          gfn 0 .. 7ffffff
 *   |      [0]   1G leaf                   gfn 0 .. 3ffff
 *   |      [1] -> B (L2)                   gfn 40000 .. 7ffff
 *   |      |      [0]   2M leaf            gfn 40000 .. 401ff
 *   |      |      [1] -> C (L1)            gfn 40200 .. 403ff
 *   |      |      |      [0] [1] [2] [511] 4K leaves 40200, 40201, 40202, 403ff
 *   |      |      [511] 2M leaf            gfn 7fe00
 *   |      [511] 1G leaf                   gfn 7fc0000
 *   [1..511] empty
 *
 * A full 4K walk visits all 512 entries of each of the 4 tables: 2048 SPTEs.
 * The expected order comes from a plain recursive walk of the same tables.
 */
#include "mmusim_env.h"

#include "mmu/tdp_iter.h"
#include "selftest/selftest.h"

#define ST_GFN_4LVL (1ULL << 36)	/* gfns a 4-level root maps */
#define ST_TREE_VISITS (4 * SPTE_ENT_PER_PAGE)

struct st_visit {
	gfn_t gfn;
	int level;
	u64 *sptep;
};

struct st_tree {
	struct kvm_mmu_masks m;
	u64 *root, *A, *B, *C;
	struct st_visit *ref;	/* the reference walk of the current query */
	int nref;
};

static u64 *st_alloc_table(void)
{
	u64 *pt = (u64 *)get_zeroed_page(GFP_KERNEL);
	int i;

	if (pt)
		for (i = 0; i < SPTE_ENT_PER_PAGE; i++)
			pt[i] = SHADOW_NONPRESENT_VALUE;
	return pt;
}

static void st_tree_free(struct st_tree *t)
{
	free_page((unsigned long)t->root);
	free_page((unsigned long)t->A);
	free_page((unsigned long)t->B);
	free_page((unsigned long)t->C);
	kvfree(t->ref);
	kfree(t);
}

static void st_set_leaf(struct st_tree *t, u64 *pt, int idx, int level, kvm_pfn_t pfn)
{
	make_spte(&t->m, level, ACC_ALL, 0, pfn, SHADOW_NONPRESENT_VALUE, false, false, true,
		  !t->m.ad_enabled, true, &pt[idx]);
}

static void st_link(struct st_tree *t, u64 *parent, int idx, u64 *child)
{
	parent[idx] = make_nonleaf_spte(&t->m, child, !t->m.ad_enabled);
}

/* The tree drawn at the top, with mode 0 NPT, 1 EPT A/D, 2 EPT no A/D exec-only. */
static struct st_tree *st_tree_build(int mode)
{
	struct st_tree *t = kzalloc(sizeof(*t), GFP_KERNEL);

	if (!t)
		return NULL;
	t->root = st_alloc_table();
	t->A = st_alloc_table();
	t->B = st_alloc_table();
	t->C = st_alloc_table();
	t->ref = kvcalloc(ST_TREE_VISITS, sizeof(*t->ref), GFP_KERNEL);
	if (!t->root || !t->A || !t->B || !t->C || !t->ref) {
		st_tree_free(t);
		return NULL;
	}
	if (mode == 0)
		kvm_mmu_init_npt_masks(&t->m);
	else if (mode == 1)
		kvm_mmu_init_ept_masks(&t->m, true, false);
	else
		kvm_mmu_init_ept_masks(&t->m, false, true);

	st_link(t, t->root, 0, t->A);
	st_set_leaf(t, t->A, 0, PG_LEVEL_1G, 0x40000);
	st_link(t, t->A, 1, t->B);
	st_set_leaf(t, t->B, 0, PG_LEVEL_2M, 0x200);
	st_link(t, t->B, 1, t->C);
	st_set_leaf(t, t->C, 0, PG_LEVEL_4K, 0x1000);
	st_set_leaf(t, t->C, 1, PG_LEVEL_4K, 0x1001);
	st_set_leaf(t, t->C, 2, PG_LEVEL_4K, 0x1002);
	st_set_leaf(t, t->C, 511, PG_LEVEL_4K, 0x11ff);
	st_set_leaf(t, t->B, 511, PG_LEVEL_2M, 0x400);
	st_set_leaf(t, t->A, 511, PG_LEVEL_1G, 0x80000);
	return t;
}

/*
 * The SPTEs a [start, end) walk must visit, in order: every entry reachable
 * through present non-leaf SPTEs above min_level whose range ends after
 * start, up to the first one that begins at or after end.  Returns false
 * once that one is reached.
 */
static bool st_ref_walk(struct st_tree *t, u64 *pt, int level, gfn_t base, int min_level,
			gfn_t start, gfn_t end)
{
	gfn_t size = KVM_PAGES_PER_HPAGE(level);
	int i;

	for (i = 0; i < SPTE_ENT_PER_PAGE; i++) {
		gfn_t gfn = base + i * size;
		u64 spte = pt[i];

		if (gfn + size <= start)
			continue;
		if (gfn >= end || t->nref >= ST_TREE_VISITS)
			return false;
		t->ref[t->nref].gfn = gfn;
		t->ref[t->nref].level = level;
		t->ref[t->nref].sptep = &pt[i];
		t->nref++;
		if (level > min_level && is_shadow_present_pte(spte) &&
		    !is_last_spte(spte, level) &&
		    !st_ref_walk(t, (u64 *)__va(spte_to_pfn(spte) << PAGE_SHIFT), level - 1, gfn,
				 min_level, start, end))
			return false;
	}
	return true;
}

/*
 * Walks [start, end) with the iterator and compares every position with the
 * reference walk.  Returns the number of SPTEs visited.
 */
static int st_compare_walk(struct st_ctx *ctx, struct st_tree *t, int min_level, gfn_t start,
			   gfn_t end)
{
	struct tdp_iter iter;
	int n = 0;

	t->nref = 0;
	st_ref_walk(t, t->root, PT64_ROOT_4LEVEL, 0, min_level, start, end);

	rcu_read_lock();
	for_each_tdp_pte_min_level_raw(iter, t->root, PT64_ROOT_4LEVEL, 0, min_level, start,
				       end) {
		/* Every position is self-consistent... */
		ST_EXPECT_EQ(iter.gfn, gfn_round_for_level(iter.gfn, iter.level));
		ST_EXPECT(iter.level >= min_level && iter.level <= PT64_ROOT_4LEVEL);
		ST_EXPECT_PTR_EQ(iter.sptep, iter.pt_path[iter.level - 1] +
					     SPTE_INDEX(iter.gfn << PAGE_SHIFT, iter.level));
		ST_EXPECT_EQ(iter.old_spte, kvm_tdp_mmu_read_spte(iter.sptep));
		ST_EXPECT_EQ(spte_check_state(&t->m, iter.old_spte, iter.level), 0);
		/* ...and the one the reference walk reached. */
		if (n >= t->nref) {
			__ST_FAILURE("[%#llx, %#llx) min %d: extra visit gfn %#llx level %d",
				     (unsigned long long)start, (unsigned long long)end,
				     min_level, (unsigned long long)iter.gfn, iter.level);
			break;
		}
		if (iter.gfn != t->ref[n].gfn || iter.level != t->ref[n].level ||
		    (u64 *)iter.sptep != t->ref[n].sptep) {
			__ST_FAILURE("[%#llx, %#llx) min %d: visit %d is gfn %#llx level %d, "
				     "want gfn %#llx level %d", (unsigned long long)start,
				     (unsigned long long)end, min_level, n,
				     (unsigned long long)iter.gfn, iter.level,
				     (unsigned long long)t->ref[n].gfn, t->ref[n].level);
			break;
		}
		n++;
	}
	rcu_read_unlock();
	if (n < t->nref && !ctx->failures)
		__ST_FAILURE("[%#llx, %#llx) min %d: %d visits, want %d",
			     (unsigned long long)start, (unsigned long long)end, min_level, n,
			     t->nref);
	return n;
}

/* Parents first, then their tables, in address order; every entry of every table. */
ST_TEST(tdp_iter_preorder)
{
	int mode, n;

	for (mode = 0; mode < 3; mode++) {
		struct st_tree *t = st_tree_build(mode);

		ST_ASSERT_NOT_NULL(t);
		n = st_compare_walk(ctx, t, PG_LEVEL_4K, 0, ST_GFN_4LVL);
		ST_EXPECT_EQ(n, ST_TREE_VISITS);
		if (t->nref == ST_TREE_VISITS) {
			/* Spot checks of the order against the drawing. */
			ST_EXPECT_PTR_EQ(t->ref[0].sptep, &t->root[0]);
			ST_EXPECT_PTR_EQ(t->ref[1].sptep, &t->A[0]);	/* 1G leaf: not entered */
			ST_EXPECT_PTR_EQ(t->ref[2].sptep, &t->A[1]);
			ST_EXPECT_PTR_EQ(t->ref[3].sptep, &t->B[0]);	/* 2M leaf */
			ST_EXPECT_PTR_EQ(t->ref[4].sptep, &t->B[1]);
			ST_EXPECT_PTR_EQ(t->ref[5].sptep, &t->C[0]);
			ST_EXPECT_EQ(t->ref[5].gfn, 0x40200ULL);
			ST_EXPECT_PTR_EQ(t->ref[5 + 511].sptep, &t->C[511]);
			ST_EXPECT_PTR_EQ(t->ref[5 + 512].sptep, &t->B[2]);	/* back up */
			ST_EXPECT_EQ(t->ref[5 + 512].level, PG_LEVEL_2M);
			ST_EXPECT_PTR_EQ(t->ref[ST_TREE_VISITS - 1].sptep, &t->root[511]);
			ST_EXPECT_EQ(t->ref[ST_TREE_VISITS - 1].gfn, 511ULL << 27);
		}
		st_tree_free(t);
	}
	return st_result(ctx);
}

/*
 * A minimum level stops the descent (the non-leaf SPTEs at that level are
 * still visited); a range walk comes down from the root, so it first visits
 * the SPTEs on the path, and a huge SPTE containing start.
 */
ST_TEST(tdp_iter_min_level_and_range)
{
	u64 rng = ctx->seed | 1;
	struct st_tree *t = st_tree_build(1);
	int i;

	ST_ASSERT_NOT_NULL(t);
	ST_EXPECT_EQ(st_compare_walk(ctx, t, PG_LEVEL_2M, 0, ST_GFN_4LVL), 3 * SPTE_ENT_PER_PAGE);
	ST_EXPECT_EQ(st_compare_walk(ctx, t, PG_LEVEL_1G, 0, ST_GFN_4LVL), 2 * SPTE_ENT_PER_PAGE);
	ST_EXPECT_EQ(st_compare_walk(ctx, t, PT64_ROOT_4LEVEL, 0, ST_GFN_4LVL), SPTE_ENT_PER_PAGE);

	/* Four 4K SPTEs of C, after root[0], A[1] and B[1] on the path down. */
	ST_EXPECT_EQ(st_compare_walk(ctx, t, PG_LEVEL_4K, 0x40201, 0x40205), 3 + 4);
	ST_EXPECT_EQ(t->ref[3].gfn, 0x40201ULL);
	/* Starting inside the first 1G leaf visits that leaf. */
	ST_EXPECT_EQ(st_compare_walk(ctx, t, PG_LEVEL_4K, 0x123, 0x40001), 4);
	ST_EXPECT_PTR_EQ(t->ref[1].sptep, &t->A[0]);
	/* A range ending at a table boundary does not spill over. */
	ST_EXPECT_EQ(st_compare_walk(ctx, t, PG_LEVEL_4K, 0x40200, 0x40400), 3 + 512);
	/* An empty range at 0 visits nothing. */
	ST_EXPECT_EQ(st_compare_walk(ctx, t, PG_LEVEL_4K, 0, 0), 0);

	/* Random ranges and levels against the reference walk. */
	for (i = 0; i < 24 && !ctx->failures; i++) {
		gfn_t start, end;
		int min_level;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		start = rng % 0x80000;
		end = start + (rng >> 24) % 0x800;
		min_level = 1 + (rng >> 40) % 4;
		if (!(i % 4))
			end = start + (rng >> 20) % (1ULL << 28);
		st_compare_walk(ctx, t, min_level, start, end);
	}
	st_tree_free(t);
	return st_result(ctx);
}

/*
 * Yield: the TDP MMU drops mmu_lock and RCU, sets iter.yielded, and the next
 * step walks from the root back down to next_last_level_gfn, where it
 * resumes, visiting the SPTE it yielded at once more.  tdp_iter_restart()
 * does the same on demand.
 */
ST_TEST(tdp_iter_yield_restart)
{
	struct st_tree *t = st_tree_build(0);
	struct tdp_iter iter;
	u64 *yielded_at = NULL;
	int after = 0;

	ST_ASSERT_NOT_NULL(t);
	rcu_read_lock();
	for_each_tdp_pte_raw(iter, t->root, PT64_ROOT_4LEVEL, 1, 0, ST_GFN_4LVL) {
		ST_EXPECT_EQ(iter.as_id, 1);
		if (!yielded_at && iter.level == PG_LEVEL_4K && iter.gfn == 0x40203) {
			/* What tdp_mmu_iter_cond_resched() does. */
			ST_EXPECT_NE(iter.next_last_level_gfn, iter.yielded_gfn);
			yielded_at = (u64 *)iter.sptep;
			rcu_read_unlock();
			cond_resched();
			rcu_read_lock();
			iter.yielded = true;
			continue;
		}
		if (!yielded_at)
			continue;
		after++;
		if (after == 1) {
			ST_EXPECT(!iter.yielded);
			ST_EXPECT(iter.level == PT64_ROOT_4LEVEL && iter.gfn == 0);
			ST_EXPECT_EQ(iter.yielded_gfn, 0x40203ULL);
		} else if (after == 2) {
			ST_EXPECT(iter.level == PG_LEVEL_1G && iter.gfn == 0x40000);
		} else if (after == 3) {
			ST_EXPECT(iter.level == PG_LEVEL_2M && iter.gfn == 0x40200);
		} else if (after == 4) {
			ST_EXPECT(iter.level == PG_LEVEL_4K && iter.gfn == 0x40203);
			ST_EXPECT_PTR_EQ((u64 *)iter.sptep, yielded_at);
		} else {
			ST_EXPECT(iter.level == PG_LEVEL_4K && iter.gfn == 0x40204);
			ST_EXPECT_EQ(iter.next_last_level_gfn, 0x40204ULL);
			break;
		}
	}
	ST_EXPECT_EQ(after, 5);

	if (after == 5) {
		tdp_iter_restart(&iter);
		ST_EXPECT(iter.valid);
		ST_EXPECT_EQ(iter.level, PT64_ROOT_4LEVEL);
		ST_EXPECT_EQ(iter.yielded_gfn, 0x40204ULL);
		tdp_iter_next(&iter);
		tdp_iter_next(&iter);
		tdp_iter_next(&iter);
		ST_EXPECT(iter.level == PG_LEVEL_4K && iter.gfn == 0x40204);
		ST_EXPECT_PTR_EQ((u64 *)iter.sptep, &t->C[4]);
	}
	rcu_read_unlock();
	st_tree_free(t);
	return st_result(ctx);
}
