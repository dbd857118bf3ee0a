// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of the legacy MMU's reverse map (src/mmu/rmap.c): the head
 * encoding, descriptor chains with full tails, removal, counting and
 * iteration, a randomized run against a reference model, the per-memslot
 * arrays and their walk, and allocation failures.
 *
 * The "SPTEs" are slots of a plain array: the rmap never dereferences them,
 * it only needs 8-byte aligned pointers (bit 0 is KVM_RMAP_MANY).
 */
#include "test_util.h"
#include "mmu/rmap.h"

#define NR_FAKE_SPTES 512

static u64 fake_sptes[NR_FAKE_SPTES];

struct rmap_env {
	struct kvm *kvm;
	struct kvm_mmu_desc_cache cache;
};

static void env_init(struct rmap_env *e)
{
	memset(e, 0, sizeof(*e));
	e->kvm = kzalloc(sizeof(*e->kvm), GFP_KERNEL);
	assert_non_null(e->kvm);
	assert_int_equal(kvm_rmap_init(e->kvm), 0);
}

static void env_fini(struct rmap_env *e)
{
	mmu_free_pte_list_desc_cache(e->kvm, &e->cache);
	kvm_rmap_uninit(e->kvm);
	kfree(e->kvm);
}

/* Adds with a freshly topped-up cache, as the fault path does. */
static int add(struct rmap_env *e, struct kvm_rmap_head *head, int i)
{
	assert_int_equal(mmu_topup_pte_list_desc_cache(e->kvm, &e->cache), 0);
	return pte_list_add(e->kvm, &e->cache, &fake_sptes[i], head);
}

static struct pte_list_desc *head_desc(struct kvm_rmap_head *head)
{
	return (struct pte_list_desc *)(head->val & ~KVM_RMAP_MANY);
}

/*
 * The structural rules: a descriptor chain has a head with 1..14 entries
 * and full tails; each tail_count is the sum after it; unused head slots
 * are NULL; no NULL entry in the used ones.  Returns the length.
 */
static unsigned int check_list(struct kvm_rmap_head *head)
{
	struct pte_list_desc *desc;
	unsigned int total = 0, expect_tail;
	u32 i;

	if (!head->val)
		return 0;
	if (!(head->val & KVM_RMAP_MANY))
		return 1;
	desc = head_desc(head);
	assert_in_range(desc->spte_count, 1, PTE_LIST_EXT);
	for (i = desc->spte_count; i < PTE_LIST_EXT; i++)
		assert_null(desc->sptes[i]);
	expect_tail = desc->tail_count;
	for (; desc; desc = desc->more) {
		if (total)
			assert_int_equal(desc->spte_count, PTE_LIST_EXT);
		assert_int_equal(desc->tail_count, expect_tail);
		for (i = 0; i < desc->spte_count; i++)
			assert_non_null(desc->sptes[i]);
		total += desc->spte_count;
		expect_tail -= desc->more ? PTE_LIST_EXT : 0;
	}
	assert_int_equal(total - head_desc(head)->spte_count, head_desc(head)->tail_count);
	assert_int_equal(pte_list_count(head), total);
	return total;
}

/* The set of indices a walk returns, as a bitmap; each at most once. */
static void walk_to_bitmap(struct kvm_rmap_head *head, unsigned long *bits)
{
	struct rmap_iterator iter;
	u64 *sptep;

	bitmap_zero(bits, NR_FAKE_SPTES);
	for_each_rmap_spte(head, &iter, sptep) {
		long i = sptep - fake_sptes;

		assert_in_range(i, 0, NR_FAKE_SPTES - 1);
		assert_false(test_bit(i, bits));
		set_bit(i, bits);
	}
}

/*
 * 0 -> single -> descriptor of 2 ... 14 -> a second descriptor pushed in
 * front when the head is full:
 *
 *   add #1:  val = &s[0]                  (bit 0 clear)
 *   add #2:  val = A|1, A = {s0, s1}      tail_count 0
 *   add #15: val = B|1, B = {s14} -> A = {s0..s13}, B.tail_count 14
 */
static void test_rmap_encoding_transitions(void **state)
{
	struct kvm_rmap_head head = { 0 };
	struct pte_list_desc *first;
	struct rmap_env e;
	int i;

	env_init(&e);
	assert_int_equal(pte_list_count(&head), 0);

	assert_int_equal(add(&e, &head, 0), 0);
	assert_true(head.val == (unsigned long)&fake_sptes[0]);
	assert_false(head.val & KVM_RMAP_MANY);
	assert_int_equal(pte_list_count(&head), 1);

	assert_int_equal(add(&e, &head, 1), 1);
	assert_true(head.val & KVM_RMAP_MANY);
	first = head_desc(&head);
	assert_int_equal(first->spte_count, 2);
	assert_int_equal(first->tail_count, 0);
	assert_null(first->more);
	assert_ptr_equal(first->sptes[0], &fake_sptes[0]);
	assert_ptr_equal(first->sptes[1], &fake_sptes[1]);

	for (i = 2; i < PTE_LIST_EXT; i++)
		assert_int_equal(add(&e, &head, i), i);
	assert_ptr_equal(head_desc(&head), first);
	assert_int_equal(first->spte_count, PTE_LIST_EXT);

	assert_int_equal(add(&e, &head, PTE_LIST_EXT), PTE_LIST_EXT);
	assert_ptr_not_equal(head_desc(&head), first);
	assert_ptr_equal(head_desc(&head)->more, first);
	assert_int_equal(head_desc(&head)->spte_count, 1);
	assert_int_equal(head_desc(&head)->tail_count, PTE_LIST_EXT);
	assert_int_equal(check_list(&head), PTE_LIST_EXT + 1);

	/* Removing the pushed entry frees the new head: back to one full descriptor. */
	pte_list_remove(e.kvm, &fake_sptes[PTE_LIST_EXT], &head);
	assert_ptr_equal(head_desc(&head), first);
	assert_int_equal(check_list(&head), PTE_LIST_EXT);

	/* Down to one entry: it stays a descriptor (KVM never goes back to single). */
	for (i = PTE_LIST_EXT - 1; i > 0; i--)
		pte_list_remove(e.kvm, &fake_sptes[i], &head);
	assert_true(head.val & KVM_RMAP_MANY);
	assert_int_equal(check_list(&head), 1);
	pte_list_remove(e.kvm, &fake_sptes[0], &head);
	assert_int_equal(head.val, 0);

	/* single -> 0 */
	assert_int_equal(add(&e, &head, 7), 0);
	pte_list_remove(e.kvm, &fake_sptes[7], &head);
	assert_int_equal(head.val, 0);
	env_fini(&e);
}

/*
 * Removing from a tail moves the head's last entry into the hole, so tails
 * stay full and tail counts never change:
 *
 *   before: H{40,41} -> T1{26..39} -> T2{12..25} -> T3{0..11,..}  (3 full tails)
 *   remove 13 (in T2): T2[1] = 41, H{40}
 *   remove 20 (in T2): T2[x] = 40, H empty -> freed, T1 becomes the head
 */
static void test_rmap_remove_keeps_tails_full(void **state)
{
	struct kvm_rmap_head head = { 0 };
	DECLARE_BITMAP(bits, NR_FAKE_SPTES);
	struct rmap_env e;
	int i, n = 3 * PTE_LIST_EXT + 2;

	env_init(&e);
	for (i = 0; i < n; i++)
		add(&e, &head, i);
	assert_int_equal(check_list(&head), n);
	assert_int_equal(head_desc(&head)->spte_count, 2);

	pte_list_remove(e.kvm, &fake_sptes[13], &head);
	assert_int_equal(check_list(&head), n - 1);
	assert_int_equal(head_desc(&head)->spte_count, 1);
	pte_list_remove(e.kvm, &fake_sptes[20], &head);
	assert_int_equal(check_list(&head), n - 2);
	assert_int_equal(head_desc(&head)->spte_count, PTE_LIST_EXT);
	assert_int_equal(head_desc(&head)->tail_count, 2 * PTE_LIST_EXT);

	walk_to_bitmap(&head, bits);
	assert_int_equal(bitmap_weight(bits, NR_FAKE_SPTES), n - 2);
	assert_false(test_bit(13, bits));
	assert_false(test_bit(20, bits));

	/* Remove from the oldest tail, then everything. */
	for (i = 0; i < n; i++) {
		if (i == 13 || i == 20)
			continue;
		pte_list_remove(e.kvm, &fake_sptes[i], &head);
		check_list(&head);
	}
	assert_int_equal(head.val, 0);
	env_fini(&e);
}

/* Every length from 1 to 100: count, the add return value, a full walk. */
static void test_rmap_lengths_1_to_100(void **state)
{
	DECLARE_BITMAP(bits, NR_FAKE_SPTES);
	struct rmap_env e;
	u64 rng = mmusim_test_seed();
	int n, i;

	env_init(&e);
	for (n = 1; n <= 100; n++) {
		struct kvm_rmap_head head = { 0 };
		int order[100];

		for (i = 0; i < n; i++) {
			assert_int_equal(add(&e, &head, i), i);
			order[i] = i;
		}
		assert_int_equal(check_list(&head), n);
		walk_to_bitmap(&head, bits);
		assert_int_equal(bitmap_weight(bits, NR_FAKE_SPTES), n);
		assert_int_equal(find_first_zero_bit(bits, NR_FAKE_SPTES), n);

		/* Remove in a random order, checking the structure each time. */
		for (i = n - 1; i > 0; i--) {
			int j = test_rand(&rng) % (i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (i = 0; i < n; i++) {
			pte_list_remove(e.kvm, &fake_sptes[order[i]], &head);
			assert_int_equal(check_list(&head), n - i - 1);
		}
		assert_int_equal(head.val, 0);
	}
	env_fini(&e);
}

/*
 * Random adds and removes on 8 lists against a model (which list holds
 * which fake SPTE); after every step each list walks to exactly its model
 * set and keeps its structure.
 */
#define MODEL_LISTS 8

static void test_rmap_random_against_model(void **state)
{
	struct kvm_rmap_head heads[MODEL_LISTS] = { 0 };
	signed char owner[NR_FAKE_SPTES];
	DECLARE_BITMAP(bits, NR_FAKE_SPTES);
	struct rmap_env e;
	u64 rng = mmusim_test_seed();
	int step, l, i;

	env_init(&e);
	memset(owner, -1, sizeof(owner));
	for (step = 0; step < 20000; step++) {
		u64 x = test_rand(&rng);

		i = (x >> 8) % NR_FAKE_SPTES;
		l = (x >> 20) % MODEL_LISTS;
		if (owner[i] < 0) {
			int before = pte_list_count(&heads[l]);

			/* Grow more often than shrink so that long chains form. */
			if ((x & 3) == 0)
				continue;
			assert_int_equal(add(&e, &heads[l], i), before);
			owner[i] = l;
		} else if ((x & 3) != 1) {
			pte_list_remove(e.kvm, &fake_sptes[i], &heads[(int)owner[i]]);
			owner[i] = -1;
		}
		if (step % 97 && step != 19999)
			continue;
		for (l = 0; l < MODEL_LISTS; l++) {
			int n = 0;

			walk_to_bitmap(&heads[l], bits);
			for (i = 0; i < NR_FAKE_SPTES; i++) {
				assert_int_equal(test_bit(i, bits), owner[i] == l);
				n += owner[i] == l;
			}
			assert_int_equal(check_list(&heads[l]), n);
		}
	}
	for (i = 0; i < NR_FAKE_SPTES; i++)
		if (owner[i] >= 0)
			pte_list_remove(e.kvm, &fake_sptes[i], &heads[(int)owner[i]]);
	for (l = 0; l < MODEL_LISTS; l++)
		assert_int_equal(heads[l].val, 0);
	env_fini(&e);
}

/* Removing an SPTE that is not on the list is reported (KVM: data corruption). */
static void test_rmap_remove_missing_warns(void **state)
{
	struct kvm_rmap_head head = { 0 };
	struct rmap_env e;
	int i;

	env_init(&e);
	pte_list_remove(e.kvm, &fake_sptes[0], &head);
	assert_true(env_warn_count() >= 1);
	env_warn_count_reset();

	add(&e, &head, 1);
	pte_list_remove(e.kvm, &fake_sptes[2], &head);
	assert_true(env_warn_count() >= 1);
	env_warn_count_reset();
	assert_int_equal(check_list(&head), 1);

	for (i = 2; i < 20; i++)
		add(&e, &head, i);
	pte_list_remove(e.kvm, &fake_sptes[30], &head);
	assert_true(env_warn_count() >= 1);
	env_warn_count_reset();
	assert_int_equal(check_list(&head), 19);
	for (i = 1; i < 20; i++)
		pte_list_remove(e.kvm, &fake_sptes[i], &head);
	assert_int_equal(head.val, 0);
	env_fini(&e);
}

/* The descriptor cache: a failed top-up reports -ENOMEM and leaks nothing. */
static void test_rmap_desc_cache_topup_failure(void **state)
{
	struct rmap_env e;
	unsigned long n;

	env_init(&e);
	for (n = 1; n <= KVM_PTE_LIST_DESC_CACHE_MIN + 1; n++) {
		int r;

		env_fail_nth(n);
		r = mmu_topup_pte_list_desc_cache(e.kvm, &e.cache);
		if (!env_fail_injected()) {
			env_fail_clear();
			assert_int_equal(r, 0);
			break;
		}
		env_fail_clear();
		assert_int_equal(r, -ENOMEM);
		assert_int_equal(e.cache.nobjs, n - 1);
		mmu_free_pte_list_desc_cache(e.kvm, &e.cache);
		assert_int_equal(e.cache.nobjs, 0);
	}
	assert_int_equal(n, KVM_PTE_LIST_DESC_CACHE_MIN + 1);
	assert_int_equal(e.cache.nobjs, KVM_PTE_LIST_DESC_CACHE_MIN);
	env_fini(&e);
}

/*
 * Per-memslot arrays for a slot at gfn 0x3fe..0x3fe+0x404 (unaligned at
 * both ends):
 *
 *   4K heads: 0x404               (one per page)
 *   2M heads: 4                   (2M pages at 0x200, 0x400, 0x600, 0x800;
 *                                  the first and last only partly covered)
 *   1G heads: 1                   (all within the first 1G page)
 *
 * A slot walk visits each head of a range once, lowest level first, with
 * iter.gfn the first gfn of the head's page.
 */
static void test_rmap_slot_arrays_and_walk(void **state)
{
	struct kvm_memory_slot slot = { .base_gfn = 0x3fe, .npages = 0x404 };
	struct slot_rmap_walk_iterator iter;
	int per_level[KVM_NR_PAGE_SIZES + 1] = { 0 };
	gfn_t last_gfn[KVM_NR_PAGE_SIZES + 1];
	unsigned long n;
	int last_level = 0;

	assert_int_equal(memslot_rmap_alloc(&slot, slot.npages), 0);
	assert_ptr_equal(gfn_to_rmap(0x3fe, PG_LEVEL_4K, &slot),
			 (struct kvm_rmap_head *)slot.arch_rmap[0]);
	assert_ptr_equal(gfn_to_rmap(0x3ff + 0x400, PG_LEVEL_4K, &slot),
			 (struct kvm_rmap_head *)slot.arch_rmap[0] + 0x401);
	assert_ptr_equal(gfn_to_rmap(0x3fe, PG_LEVEL_2M, &slot),
			 (struct kvm_rmap_head *)slot.arch_rmap[1]);
	assert_ptr_equal(gfn_to_rmap(0x400, PG_LEVEL_2M, &slot),
			 (struct kvm_rmap_head *)slot.arch_rmap[1] + 1);
	assert_ptr_equal(gfn_to_rmap(0x801, PG_LEVEL_2M, &slot),
			 (struct kvm_rmap_head *)slot.arch_rmap[1] + 3);

	for_each_slot_rmap_range(&slot, PG_LEVEL_4K, PG_LEVEL_1G, slot.base_gfn,
				 slot.base_gfn + slot.npages - 1, &iter) {
		assert_true(iter.level >= last_level);
		if (iter.level != last_level)
			last_gfn[iter.level] = iter.gfn - KVM_PAGES_PER_HPAGE(iter.level);
		assert_int_equal(iter.gfn, last_gfn[iter.level] + KVM_PAGES_PER_HPAGE(iter.level));
		assert_int_equal(iter.gfn & (KVM_PAGES_PER_HPAGE(iter.level) - 1), 0);
		assert_ptr_equal(iter.rmap, gfn_to_rmap(max(iter.gfn, slot.base_gfn), iter.level,
							&slot));
		assert_int_equal(iter.rmap->val, 0);
		last_gfn[iter.level] = iter.gfn;
		last_level = iter.level;
		per_level[iter.level]++;
	}
	assert_int_equal(per_level[PG_LEVEL_4K], 0x404);
	assert_int_equal(per_level[PG_LEVEL_2M], 4);
	assert_int_equal(per_level[PG_LEVEL_1G], 1);

	/* gfns 0x5ff..0x600 at 2M only: the heads of the 2M pages at 0x400 and 0x600. */
	memset(per_level, 0, sizeof(per_level));
	for_each_slot_rmap_range(&slot, PG_LEVEL_2M, PG_LEVEL_2M, 0x5ff, 0x600, &iter)
		per_level[iter.level]++;
	assert_int_equal(per_level[PG_LEVEL_2M], 2);
	memslot_rmap_free(&slot);
	memslot_rmap_free(&slot);	/* accepts NULLs */

	/* Each of the three allocations can fail; nothing is left behind. */
	for (n = 1;; n++) {
		int r;

		env_fail_nth(n);
		r = memslot_rmap_alloc(&slot, slot.npages);
		if (!env_fail_injected()) {
			env_fail_clear();
			assert_int_equal(r, 0);
			break;
		}
		env_fail_clear();
		assert_int_equal(r, -ENOMEM);
		assert_null(slot.arch_rmap[0]);
		assert_null(slot.arch_rmap[1]);
		assert_null(slot.arch_rmap[2]);
	}
	assert_int_equal(n, KVM_NR_PAGE_SIZES + 1);
	memslot_rmap_free(&slot);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_rmap_encoding_transitions),
		MMUSIM_TEST(test_rmap_remove_keeps_tails_full),
		MMUSIM_TEST(test_rmap_lengths_1_to_100),
		MMUSIM_TEST(test_rmap_random_against_model),
		MMUSIM_TEST(test_rmap_remove_missing_warns),
		MMUSIM_TEST(test_rmap_desc_cache_topup_failure),
		MMUSIM_TEST(test_rmap_slot_arrays_and_walk),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("rmap", tests);
}
