// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/mmu/kvm_memslots.c: KVM_SET_USER_MEMORY_REGION validation
 * (every rule of the reference's section 5.9, in KVM's order), the update
 * protocol (two sets, INVALID step, generations, hook order), lookups and
 * iterators, lpage_info, dirty logging, allocation-failure unwinding and
 * SRCU readers racing with updates.
 *
 * GFN layouts are drawn with one character per page or per unit stated in
 * the drawing; '.' is a hole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "mmu/kvm_memslots.h"

#define MAX_GFN_52 ((1ULL << (52 - PAGE_SHIFT)) - 1)	/* MAXPHYADDR 52 */
#define HVA_BASE 0x100000000UL				/* 4 GiB, 1G aligned */

/* ==================== Fake arch: records every hook ==================== */

enum hook {
	H_PREPARE = 1,
	H_COMMIT,
	H_FREE_SLOT,
	H_FLUSH,
	H_RECLAIMED,
	H_UPDATED,
	H_REPROTECT,
	H_FLUSH_TLBS,
	H_SYNC,
};

struct hook_rec {
	enum hook hook;
	int change;
	int id;			/* id of the slot argument (old if any), -1 if none */
	u32 flags;		/* flags of that slot */
	u64 gen;		/* memslots_updated: the new generation */
	u64 active_gen;		/* active set's generation when the hook ran */
	bool lookup_invalid;	/* flush: active set maps the slot's gfn/id to an INVALID copy */
	gfn_t offset;		/* reprotect */
	unsigned long mask;	/* reprotect */
};

#define MAX_RECS 256

struct fake {
	struct kvm_vm_memslots ms;
	int nrec;
	struct hook_rec rec[MAX_RECS];
	bool record;
	bool alloc_rmap;	/* prepare allocates arch_rmap[0] for CREATE/MOVE */
	int prepare_ret;	/* forced prepare result */
	int mmu_locked;
	int lock_errors;	/* reprotect outside the mmu_lock hooks */
};

static struct fake F;

static void rec(enum hook h, int change, const struct kvm_memory_slot *slot, u64 gen)
{
	struct hook_rec *r;

	if (!F.record || F.nrec >= MAX_RECS)
		return;
	r = &F.rec[F.nrec++];
	memset(r, 0, sizeof(*r));
	r->hook = h;
	r->change = change;
	r->id = slot ? slot->id : -1;
	r->flags = slot ? slot->flags : 0;
	r->gen = gen;
	if (slot)
		r->active_gen = kvm_memslots_generation(kvm_memslots_as(&F.ms, slot->as_id));
}

static int fake_prepare(void *arch, const struct kvm_memory_slot *old, struct kvm_memory_slot *new,
			enum kvm_mr_change change)
{
	struct fake *f = arch;

	rec(H_PREPARE, change, old ? old : new, 0);
	if (f->prepare_ret)
		return f->prepare_ret;
	if (f->alloc_rmap && (change == KVM_MR_CREATE || change == KVM_MR_MOVE)) {
		assert_null(new->arch_rmap[0]);
		new->arch_rmap[0] = kzalloc(64, GFP_KERNEL_ACCOUNT);
		if (!new->arch_rmap[0])
			return -ENOMEM;
	}
	if (change == KVM_MR_FLAGS_ONLY)
		assert_ptr_equal(new->arch_rmap[0], old->arch_rmap[0]);
	return 0;
}

static void fake_commit(void *arch, struct kvm_memory_slot *old, const struct kvm_memory_slot *new,
			enum kvm_mr_change change)
{
	rec(H_COMMIT, change, old ? old : new, 0);
}

static void fake_free_slot(void *arch, struct kvm_memory_slot *slot)
{
	int i;

	rec(H_FREE_SLOT, -1, slot, 0);
	for (i = 0; i < KVM_NR_PAGE_SIZES; i++) {
		kfree(slot->arch_rmap[i]);
		slot->arch_rmap[i] = NULL;
	}
}

static void fake_flush(void *arch, struct kvm_memory_slot *slot)
{
	struct kvm_memslots *slots = kvm_memslots_as(&F.ms, slot->as_id);
	struct kvm_memory_slot *by_id = id_to_memslot(slots, slot->id);
	struct kvm_memory_slot *by_gfn = __gfn_to_memslot(slots, slot->base_gfn);

	rec(H_FLUSH, -1, slot, 0);
	if (F.record && F.nrec <= MAX_RECS)
		F.rec[F.nrec - 1].lookup_invalid =
			by_id && by_id == by_gfn && by_id != slot &&
			(by_id->flags & KVM_MEMSLOT_INVALID) && !kvm_is_visible_memslot(by_id) &&
			gfn_to_hva_memslot(by_gfn, slot->base_gfn) == KVM_HVA_ERR_BAD;
}

static void fake_reclaimed(void *arch)
{
	rec(H_RECLAIMED, -1, NULL, 0);
}

static void fake_updated(void *arch, int as_id, u64 gen)
{
	struct hook_rec *r;

	if (!F.record || F.nrec >= MAX_RECS)
		return;
	r = &F.rec[F.nrec++];
	memset(r, 0, sizeof(*r));
	r->hook = H_UPDATED;
	r->id = as_id;
	r->gen = gen;
	r->active_gen = kvm_memslots_generation(kvm_memslots_as(&F.ms, as_id));
}

static void fake_reprotect(void *arch, struct kvm_memory_slot *slot, gfn_t offset,
			   unsigned long mask)
{
	struct fake *f = arch;

	if (!f->mmu_locked)
		f->lock_errors++;
	rec(H_REPROTECT, -1, slot, 0);
	if (F.record && F.nrec <= MAX_RECS) {
		F.rec[F.nrec - 1].offset = offset;
		F.rec[F.nrec - 1].mask = mask;
	}
}

static void fake_flush_tlbs(void *arch, const struct kvm_memory_slot *slot)
{
	struct fake *f = arch;

	if (f->mmu_locked)
		f->lock_errors++;
	rec(H_FLUSH_TLBS, -1, slot, 0);
}

static void fake_sync(void *arch, struct kvm_memory_slot *slot)
{
	rec(H_SYNC, -1, slot, 0);
}

static void fake_mmu_lock(void *arch)
{
	((struct fake *)arch)->mmu_locked++;
}

static void fake_mmu_unlock(void *arch)
{
	((struct fake *)arch)->mmu_locked--;
}

static const struct kvm_memslot_ops fake_ops = {
	.prepare = fake_prepare,
	.commit = fake_commit,
	.free_slot = fake_free_slot,
	.flush_shadow_memslot = fake_flush,
	.guest_memory_reclaimed = fake_reclaimed,
	.memslots_updated = fake_updated,
	.enable_log_dirty_pt_masked = fake_reprotect,
	.flush_remote_tlbs_memslot = fake_flush_tlbs,
	.sync_dirty_log = fake_sync,
	.mmu_lock = fake_mmu_lock,
	.mmu_unlock = fake_mmu_unlock,
};

static void vm_init(int nr_as, gfn_t max_gfn)
{
	memset(&F, 0, sizeof(F));
	assert_int_equal(kvm_memslots_init(&F.ms, nr_as, max_gfn, &fake_ops, &F), 0);
}

static void vm_destroy(void)
{
	kvm_memslots_destroy(&F.ms);
	assert_int_equal(F.lock_errors, 0);
}

static void rec_reset(bool on)
{
	F.nrec = 0;
	F.record = on;
}

static int set_raw(u32 slot, u32 flags, u64 gpa, u64 size, u64 hva)
{
	struct kvm_userspace_memory_region mem = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = hva,
	};

	return kvm_set_memory_region(&F.ms, &mem);
}

/* Slot @slot (as_id << 16 | id) at [gfn, gfn + npages) backed at @hva. */
static int set(u32 slot, u32 flags, gfn_t gfn, unsigned long npages, unsigned long hva)
{
	return set_raw(slot, flags, gfn << PAGE_SHIFT, (u64)npages << PAGE_SHIFT, hva);
}

static int del(u32 slot)
{
	return set_raw(slot, 0, 0, 0, 0);
}

/* Looks a slot up under slots_lock (the writer's view). */
static struct kvm_memory_slot *slot_by_id(int as_id, int id)
{
	struct kvm_memory_slot *slot;

	mutex_lock(&F.ms.slots_lock);
	slot = id_to_memslot(kvm_memslots_as(&F.ms, as_id), id);
	mutex_unlock(&F.ms.slots_lock);
	return slot;
}

static u64 gen_of(int as_id)
{
	u64 gen;

	mutex_lock(&F.ms.slots_lock);
	gen = kvm_memslots_generation(kvm_memslots_as(&F.ms, as_id));
	mutex_unlock(&F.ms.slots_lock);
	return gen;
}

/*
 * White-box invariants: both sets of each address space hold the same
 * slots, gfn order is strict and non-overlapping, hva order and prefix
 * maxima are right, every slot is found by id in both sets.
 */
static void check_consistency(void)
{
	int as, i;

	mutex_lock(&F.ms.slots_lock);
	for (as = 0; as < KVM_MAX_NR_ADDRESS_SPACES; as++) {
		struct kvm_memslots *a = kvm_memslots_as(&F.ms, as);
		struct kvm_memslots *b = &F.ms.__memslots[as][a->node_idx ^ 1];
		unsigned long max_last = 0;
		int hashed = 0, bkt;

		assert_false(a->generation & KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS);
		assert_int_equal(a->generation % F.ms.nr_as, as % F.ms.nr_as);
		assert_int_equal(a->nr_slots, b->nr_slots);
		for (i = 0; i < a->nr_slots; i++) {
			struct kvm_memory_slot *s = a->gfn_slots[i];
			unsigned long last;

			assert_ptr_equal(s, b->gfn_slots[i]);
			assert_ptr_equal(a->hva_slots[i], b->hva_slots[i]);
			assert_int_equal(s->as_id, as);
			assert_false(s->flags & KVM_MEMSLOT_INVALID);
			if (i)
				assert_true(a->gfn_slots[i - 1]->base_gfn +
					    a->gfn_slots[i - 1]->npages <= s->base_gfn);
			if (i)
				assert_true(a->hva_slots[i - 1]->userspace_addr <=
					    a->hva_slots[i]->userspace_addr);
			last = a->hva_slots[i]->userspace_addr +
			       a->hva_slots[i]->npages * PAGE_SIZE - 1;
			max_last = max(max_last, last);
			assert_int_equal(a->hva_max_last[i], max_last);
			assert_ptr_equal(id_to_memslot(a, s->id), s);
			assert_ptr_equal(id_to_memslot(b, s->id), s);
		}
		for (bkt = 0; bkt < (1 << KVM_MEMSLOTS_ID_HASH_BITS); bkt++) {
			struct kvm_memory_slot *s;

			hlist_for_each_entry(s, &a->id_hash[bkt], id_node[a->node_idx])
				hashed++;
		}
		assert_int_equal(hashed, a->nr_slots);
	}
	mutex_unlock(&F.ms.slots_lock);
}

/* Everything observable about the memslots, generation excepted. */
struct slot_dump {
	void *slot;
	int as_id, id;
	gfn_t base_gfn;
	unsigned long npages, hva;
	u32 flags;
	void *bitmap, *lpage[2], *rmap0;
};

#define DUMP_MAX 64
struct ms_dump {
	int n[KVM_MAX_NR_ADDRESS_SPACES];
	struct slot_dump s[KVM_MAX_NR_ADDRESS_SPACES][DUMP_MAX];
	unsigned long nr_memslot_pages;
	int nr_logging;
};

static void dump(struct ms_dump *d)
{
	struct kvm_memory_slot *slot;
	int as, bkt;

	memset(d, 0, sizeof(*d));
	mutex_lock(&F.ms.slots_lock);
	for (as = 0; as < KVM_MAX_NR_ADDRESS_SPACES; as++) {
		kvm_for_each_memslot(slot, bkt, kvm_memslots_as(&F.ms, as)) {
			struct slot_dump *s = &d->s[as][d->n[as]++];

			assert_true(d->n[as] <= DUMP_MAX);
			s->slot = slot;
			s->as_id = slot->as_id;
			s->id = slot->id;
			s->base_gfn = slot->base_gfn;
			s->npages = slot->npages;
			s->hva = slot->userspace_addr;
			s->flags = slot->flags;
			s->bitmap = slot->dirty_bitmap;
			s->lpage[0] = slot->lpage_info[0];
			s->lpage[1] = slot->lpage_info[1];
			s->rmap0 = slot->arch_rmap[0];
		}
	}
	d->nr_memslot_pages = F.ms.nr_memslot_pages;
	d->nr_logging = F.ms.nr_memslots_dirty_logging;
	mutex_unlock(&F.ms.slots_lock);
}

/* ==================== Init ==================== */

static void test_memslots_init(void **state)
{
	assert_int_equal(kvm_memslots_init(&F.ms, 0, MAX_GFN_52, NULL, NULL), -EINVAL);
	assert_int_equal(kvm_memslots_init(&F.ms, 3, MAX_GFN_52, NULL, NULL), -EINVAL);

	/* Without ops at all, every hook is optional. */
	assert_int_equal(kvm_memslots_init(&F.ms, 2, MAX_GFN_52, NULL, NULL), 0);
	assert_int_equal(gen_of(0), 0);
	assert_int_equal(gen_of(1), 1);
	assert_int_equal(set(0, KVM_MEM_LOG_DIRTY_PAGES, 0, 16, HVA_BASE), 0);
	assert_int_equal(set(0, 0, 32, 16, HVA_BASE), 0);		/* move + flags */
	assert_int_equal(set(0, KVM_MEM_LOG_DIRTY_PAGES, 32, 16, HVA_BASE), 0);
	assert_int_equal(set(1 << 16, 0, 0, 16, HVA_BASE), 0);
	assert_int_equal(gen_of(0), 0 + 2 * (1 + 2 + 1));
	assert_int_equal(gen_of(1), 1 + 2);
	check_consistency();
	kvm_memslots_destroy(&F.ms);

	vm_init(1, MAX_GFN_52);
	assert_int_equal(gen_of(0), 0);
	vm_destroy();
}

/* ==================== Section 5.9, rule by rule ==================== */

/*
 * Each rule is shown to fire on a request that is otherwise valid (the
 * "ok" line next to it succeeds).  Rules 1-14 that return -EINVAL cannot
 * be told apart by errno; their order is tested where errnos differ, in
 * test_memslots_errno_order_pairs.
 */
static void test_memslots_errno_rules(void **state)
{
	static struct ms_dump before, after;
	u64 gen;

	vm_init(1, MAX_GFN_52);

	/* 1. copy_from_user fault; v1 flags outside LOG_DIRTY_PAGES | READONLY. */
	assert_int_equal(kvm_set_memory_region(&F.ms, NULL), -EFAULT);
	assert_int_equal(set(0, KVM_MEM_GUEST_MEMFD, 0, 16, HVA_BASE), -EINVAL);
	assert_int_equal(set(0, 1u << 3, 0, 16, HVA_BASE), -EINVAL);
	assert_int_equal(set(0, KVM_MEMSLOT_INVALID, 0, 16, HVA_BASE), -EINVAL);

	/* 2. (u16)slot >= KVM_USER_MEM_SLOTS, whatever the as_id bits. */
	assert_int_equal(set(KVM_USER_MEM_SLOTS, 0, 0, 16, HVA_BASE), -EINVAL);
	assert_int_equal(set(0xffff, 0, 0, 16, HVA_BASE), -EINVAL);
	assert_int_equal(set(KVM_USER_MEM_SLOTS - 1, 0, 0, 16, HVA_BASE), 0);	/* ok */
	assert_int_equal(del(KVM_USER_MEM_SLOTS - 1), 0);

	/* 3. check_memory_region_flags: same set as the v1 check here (no gmem). */

	/* 5. memory_size not page aligned. */
	assert_int_equal(set_raw(0, 0, 0, PAGE_SIZE + 1, HVA_BASE), -EINVAL);
	assert_int_equal(set_raw(0, 0, 0, PAGE_SIZE - 1, HVA_BASE), -EINVAL);

	/* 6. guest_phys_addr not page aligned. */
	assert_int_equal(set_raw(0, 0, 0x800, PAGE_SIZE, HVA_BASE), -EINVAL);

	/* 7. userspace_addr unaligned, or !access_ok (past TASK_SIZE_MAX, or wrapping). */
	assert_int_equal(set_raw(0, 0, 0, PAGE_SIZE, HVA_BASE + 8), -EINVAL);
	assert_int_equal(set_raw(0, 0, 0, 2 * PAGE_SIZE, TASK_SIZE_MAX - PAGE_SIZE), -EINVAL);
	assert_int_equal(set_raw(0, 0, 0, PAGE_SIZE, TASK_SIZE_MAX), -EINVAL);
	assert_int_equal(set_raw(0, 0, 0, 2 * PAGE_SIZE, -PAGE_SIZE), -EINVAL);
	assert_int_equal(set_raw(0, 0, 0, PAGE_SIZE, TASK_SIZE_MAX - PAGE_SIZE), 0); /* ok */
	assert_int_equal(del(0), 0);

	/* 9. as_id >= number of address spaces (1 here). */
	assert_int_equal(set(1 << 16, 0, 0, 16, HVA_BASE), -EINVAL);

	/* 10. guest_phys_addr + memory_size wraps. */
	assert_int_equal(set_raw(0, 0, -PAGE_SIZE, 2 * PAGE_SIZE, HVA_BASE), -EINVAL);

	/* 11. more than KVM_MEM_MAX_NR_PAGES pages in a user slot (lpage_info only, no bitmap). */
	assert_int_equal(set(0, 0, 0, KVM_MEM_MAX_NR_PAGES + 1, 0), -EINVAL);
	assert_int_equal(set(0, 0, 0, KVM_MEM_MAX_NR_PAGES, 0), 0);		/* ok */
	assert_int_equal(del(0), 0);

	/* 12. deleting a slot that does not exist. */
	assert_int_equal(del(5), -EINVAL);
	assert_int_equal(set(5, 0, 0, 16, HVA_BASE), 0);
	assert_int_equal(del(5), 0);						/* ok */
	assert_int_equal(del(5), -EINVAL);

	/* 12b. accounting underflow on delete: -EIO and a WARN. */
	assert_int_equal(set(5, 0, 0, 16, HVA_BASE), 0);
	F.ms.nr_memslot_pages = 15;
	assert_int_equal(del(5), -EIO);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	F.ms.nr_memslot_pages = 16;
	assert_int_equal(del(5), 0);

	/* 13. total pages of all slots overflows an unsigned long. */
	F.ms.nr_memslot_pages = ULONG_MAX - 8;
	assert_int_equal(set(6, 0, 0, 16, HVA_BASE), -EINVAL);
	F.ms.nr_memslot_pages = ULONG_MAX - 16;
	assert_int_equal(set(6, 0, 0, 16, HVA_BASE), 0);	/* ok: exactly fits */
	assert_int_equal(F.ms.nr_memslot_pages, ULONG_MAX);
	assert_int_equal(del(6), 0);
	assert_int_equal(F.ms.nr_memslot_pages, ULONG_MAX - 16);
	F.ms.nr_memslot_pages = 0;

	/*
	 * 14. existing slot: hva, size or READONLY may not change; base_gfn
	 *     -> MOVE, flags -> FLAGS_ONLY, nothing -> 0 without any work.
	 */
	assert_int_equal(set(7, KVM_MEM_LOG_DIRTY_PAGES, 64, 16, HVA_BASE), 0);
	assert_int_equal(set(7, KVM_MEM_LOG_DIRTY_PAGES, 64, 16, HVA_BASE + PAGE_SIZE), -EINVAL);
	assert_int_equal(set(7, KVM_MEM_LOG_DIRTY_PAGES, 64, 17, HVA_BASE), -EINVAL);
	assert_int_equal(set(7, KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY, 64, 16, HVA_BASE),
			 -EINVAL);
	dump(&before);
	gen = gen_of(0);
	rec_reset(true);
	/* Identical. */
	assert_int_equal(set(7, KVM_MEM_LOG_DIRTY_PAGES, 64, 16, HVA_BASE), 0);
	assert_int_equal(F.nrec, 0);
	assert_int_equal(gen_of(0), gen);
	dump(&after);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(set(7, 0, 64, 16, HVA_BASE), 0);			/* FLAGS_ONLY */
	assert_int_equal(set(7, 0, 128, 16, HVA_BASE), 0);			/* MOVE */
	assert_int_equal(slot_by_id(0, 7)->base_gfn, 128);
	rec_reset(false);

	/* 15. overlap with another slot of the address space. */
	assert_int_equal(set(8, 0, 120, 16, HVA_BASE), -EEXIST);
	assert_int_equal(set(8, 0, 112, 16, HVA_BASE), 0);			/* ok: adjacent */

	/* 16. allocation failure. */
	env_fail_nth(1);
	assert_int_equal(set(9, 0, 0, 16, HVA_BASE), -ENOMEM);
	env_fail_clear();

	/* 17. arch prepare: last gfn beyond MAXPHYADDR. */
	assert_int_equal(set(9, 0, MAX_GFN_52 - 15, 17, HVA_BASE), -EINVAL);
	assert_int_equal(set(9, 0, MAX_GFN_52 - 15, 16, HVA_BASE), 0);		/* ok */

	check_consistency();
	vm_destroy();
}

/* Where two rules disagree on the errno, the earlier rule wins. */
static void test_memslots_errno_order_pairs(void **state)
{
	static struct ms_dump before, after;

	vm_init(2, 0xfffff);	/* MAXPHYADDR 32: gfns up to 0xfffff */

	/*
	 *   gfn  0xfffe0          0xffff0           0x100000 (max_gfn + 1)
	 *        |AAAAAAAAAAAAAAAA|................|
	 */
	assert_int_equal(set(0, 0, 0xfffe0, 16, HVA_BASE), 0);

	/* Identical request (0) with an invalid flag: flags come first. */
	assert_int_equal(set(0, 1u << 4, 0xfffe0, 16, HVA_BASE), -EINVAL);
	/* Delete (0) with an invalid flag or an unaligned gpa: checks come first. */
	assert_int_equal(set_raw(0, KVM_MEM_GUEST_MEMFD, 0, 0, 0), -EINVAL);
	assert_int_equal(set_raw(0, 0, 0x10, 0, 0), -EINVAL);
	/* Delete (0) with a bad hva: access_ok is checked for deletes too. */
	assert_int_equal(set_raw(0, 0, 0, 0, TASK_SIZE_MAX + PAGE_SIZE), -EINVAL);

	/*
	 * Overlap (-EEXIST) vs earlier rules (-EINVAL): page count limit,
	 * total-pages overflow, immutable hva/size of an existing slot.
	 *
	 *        |AAAAAAAAAAAAAAAA|
	 *     |BBBBBB|                 B overlaps A
	 */
	assert_int_equal(set(1, 0, 0xfffd8, KVM_MEM_MAX_NR_PAGES + 1, 0), -EINVAL);
	F.ms.nr_memslot_pages = ULONG_MAX;
	assert_int_equal(set(1, 0, 0xfffd8, 16, HVA_BASE), -EINVAL);
	F.ms.nr_memslot_pages = 16;
	assert_int_equal(set(1, 0, 0xfffd8, 16, HVA_BASE), -EEXIST);
	assert_int_equal(set(0, 0, 0xfffd8, 16, HVA_BASE + PAGE_SIZE), -EINVAL); /* move+hva */
	assert_int_equal(set(0, 0, 0xfffd8, 16, HVA_BASE), 0);		/* move alone */
	assert_int_equal(set(0, 0, 0xfffe0, 16, HVA_BASE), 0);			/* and back */

	/*
	 * Overlap (-EEXIST) vs the arch max_gfn check (-EINVAL): overlap first.
	 *
	 *        |AAAAAAAAAAAAAAAA|                |
	 *                 |CCCCCCCCCCCCCCCCCCCCCCCCCCCCCC|   C ends past max_gfn
	 */
	assert_int_equal(set(2, 0, 0xfffe8, 0x40, HVA_BASE), -EEXIST);
	assert_int_equal(set(2, 0, 0xffff8, 0x40, HVA_BASE), -EINVAL);

	/* Overlap is decided before any allocation. */
	env_fail_every(1);
	assert_int_equal(set(2, 0, 0xfffe8, 0x10, HVA_BASE), -EEXIST);
	assert_int_equal(env_alloc_attempts(), 0);
	env_fail_clear();

	/*
	 * The new slot is allocated before the arch prepare runs (as in KVM),
	 * so an allocation failure beats the max_gfn check; so does the dirty
	 * bitmap, which kvm_prepare_memory_region allocates before arch code.
	 */
	env_fail_nth(1);
	assert_int_equal(set(2, 0, 0xffff8, 0x40, HVA_BASE), -ENOMEM);
	env_fail_nth(2);
	assert_int_equal(set(2, KVM_MEM_LOG_DIRTY_PAGES, 0xffff8, 0x40, HVA_BASE), -ENOMEM);
	env_fail_nth(3);	/* no third allocation before the check */
	assert_int_equal(set(2, KVM_MEM_LOG_DIRTY_PAGES, 0xffff8, 0x40, HVA_BASE), -EINVAL);
	env_fail_clear();

	/* The MMU's prepare error comes after max_gfn. */
	dump(&before);
	F.prepare_ret = -EBUSY;
	assert_int_equal(set(2, 0, 0xffff8, 0x40, HVA_BASE), -EINVAL);
	assert_int_equal(set(2, 0, 0x1000, 0x40, HVA_BASE), -EBUSY);
	/* ... and is returned (and unwound) for every kind of change. */
	assert_int_equal(set(0, KVM_MEM_LOG_DIRTY_PAGES, 0xfffe0, 16, HVA_BASE), -EBUSY);
	assert_int_equal(set(0, 0, 0x2000, 16, HVA_BASE), -EBUSY);
	assert_int_equal(del(0), -EBUSY);
	F.prepare_ret = 0;
	dump(&after);
	assert_memory_equal(&before, &after, sizeof(before));

	/* as_id range is checked before the delete lookup: -EINVAL either way. */
	vm_destroy();

	vm_init(1, 0xfffff);
	assert_int_equal(set(1 << 16, 0, 0, 0, 0), -EINVAL);
	vm_destroy();
}

/* ==================== Update protocol ==================== */

static void expect_recs(const enum hook *hooks, int n)
{
	int i;

	if (F.nrec != n) {
		for (i = 0; i < F.nrec; i++)
			fprintf(stderr, "rec %d: hook %d change %d id %d\n", i, F.rec[i].hook,
				F.rec[i].change, F.rec[i].id);
	}
	assert_int_equal(F.nrec, n);
	for (i = 0; i < n; i++)
		assert_int_equal(F.rec[i].hook, hooks[i]);
}

/*
 * Hook order and generations for each kind of change (nr_as = 2, so each
 * swap adds 2), and what the hooks see:
 *  - memslots_updated runs while the active set still has IN_PROGRESS;
 *  - flush_shadow_memslot gets the original slot (no INVALID flag, as KVM
 *    passes @old) while the active set maps its gfns and id to the INVALID
 *    copy, and the generation has already settled.
 */
static void test_memslots_hook_order_and_generation(void **state)
{
	static const enum hook create[] = { H_PREPARE, H_UPDATED, H_COMMIT };
	static const enum hook flags[] = { H_PREPARE, H_UPDATED, H_COMMIT };
	static const enum hook move[] = { H_UPDATED, H_FLUSH, H_RECLAIMED, H_PREPARE,
					  H_UPDATED, H_COMMIT, H_FREE_SLOT };
	static const enum hook delete[] = { H_UPDATED, H_FLUSH, H_RECLAIMED, H_PREPARE,
					    H_UPDATED, H_COMMIT, H_FREE_SLOT };
	int i;

	vm_init(2, MAX_GFN_52);
	F.alloc_rmap = true;

	rec_reset(true);
	assert_int_equal(set(3, 0, 0x100, 0x200, HVA_BASE), 0);
	expect_recs(create, 3);
	assert_int_equal(F.rec[0].change, KVM_MR_CREATE);
	assert_int_equal(F.rec[1].gen, 2);
	assert_int_equal(F.rec[1].active_gen, 0 | KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS);
	assert_int_equal(F.rec[2].change, KVM_MR_CREATE);
	assert_int_equal(F.rec[2].active_gen, 2);
	assert_int_equal(gen_of(0), 2);
	assert_int_equal(gen_of(1), 1);

	rec_reset(true);
	assert_int_equal(set(3, KVM_MEM_LOG_DIRTY_PAGES, 0x100, 0x200, HVA_BASE), 0);
	expect_recs(flags, 3);
	assert_int_equal(F.rec[0].change, KVM_MR_FLAGS_ONLY);
	assert_int_equal(F.rec[1].active_gen, 2 | KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS);
	assert_int_equal(F.rec[1].gen, 4);
	assert_int_equal(F.rec[2].change, KVM_MR_FLAGS_ONLY);
	assert_int_equal(F.ms.nr_memslots_dirty_logging, 1);

	rec_reset(true);
	assert_int_equal(set(3, KVM_MEM_LOG_DIRTY_PAGES, 0x400, 0x200, HVA_BASE), 0);
	expect_recs(move, 7);
	/* First swap: the INVALID copy; generation 4 -> 6. */
	assert_int_equal(F.rec[0].active_gen, 4 | KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS);
	assert_int_equal(F.rec[0].gen, 6);
	assert_int_equal(F.rec[1].id, 3);
	assert_false(F.rec[1].flags & KVM_MEMSLOT_INVALID);
	assert_true(F.rec[1].lookup_invalid);
	assert_int_equal(F.rec[1].active_gen, 6);
	assert_int_equal(F.rec[3].change, KVM_MR_MOVE);
	/* Second swap: the moved slot; 6 -> 8. */
	assert_int_equal(F.rec[4].active_gen, 6 | KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS);
	assert_int_equal(F.rec[4].gen, 8);
	assert_int_equal(F.rec[5].change, KVM_MR_MOVE);
	assert_int_equal(gen_of(0), 8);
	assert_int_equal(slot_by_id(0, 3)->base_gfn, 0x400);

	rec_reset(true);
	assert_int_equal(del(3), 0);
	expect_recs(delete, 7);
	assert_true(F.rec[1].lookup_invalid);
	assert_int_equal(F.rec[3].change, KVM_MR_DELETE);
	assert_int_equal(F.rec[5].change, KVM_MR_DELETE);
	assert_int_equal(gen_of(0), 12);
	assert_null(slot_by_id(0, 3));
	assert_int_equal(F.ms.nr_memslot_pages, 0);
	assert_int_equal(F.ms.nr_memslots_dirty_logging, 0);

	/* A failed MOVE still swapped twice (INVALID copy, then back). */
	F.prepare_ret = -EIO;
	assert_int_equal(set(4, 0, 0x100, 0x10, HVA_BASE), -EIO);
	F.prepare_ret = 0;
	assert_int_equal(set(4, 0, 0x100, 0x10, HVA_BASE), 0);
	rec_reset(true);
	F.prepare_ret = -EIO;
	assert_int_equal(set(4, 0, 0x200, 0x10, HVA_BASE), -EIO);
	F.prepare_ret = 0;
	assert_int_equal(gen_of(0), 14 + 4);
	assert_int_equal(slot_by_id(0, 4)->base_gfn, 0x100);
	for (i = 0; i < F.nrec; i++)
		assert_true(F.rec[i].hook != H_COMMIT && F.rec[i].hook != H_FREE_SLOT);
	rec_reset(false);

	/* AS 1 keeps its odd generations. */
	assert_int_equal(set(1 << 16 | 4, 0, 0x100, 0x10, HVA_BASE), 0);
	assert_int_equal(gen_of(1), 3);
	check_consistency();
	vm_destroy();
}

/*
 * Create / delete / move / flags-only in both address spaces, which are
 * independent: the same gfns and ids may be used in each.
 *
 *   AS0  gfn 0x000 0x010 0x020 0x030 0x040
 *        |AAAAA|.....|BBBBB|.....|
 *   AS1  |AAAAAAAAAAAAAAAAAAAAAAA|     (same id as AS0's A, overlapping B)
 */
static void test_memslots_address_spaces(void **state)
{
	struct kvm_memory_slot *a0, *a1;

	vm_init(2, MAX_GFN_52);
	assert_int_equal(set(0, 0, 0x00, 0x10, HVA_BASE), 0);
	assert_int_equal(set(1, 0, 0x20, 0x10, HVA_BASE + 0x100000), 0);
	assert_int_equal(set(1 << 16, KVM_MEM_LOG_DIRTY_PAGES, 0x00, 0x30, HVA_BASE), 0);

	a0 = slot_by_id(0, 0);
	a1 = slot_by_id(1, 0);
	assert_non_null(a0);
	assert_non_null(a1);
	assert_ptr_not_equal(a0, a1);
	assert_int_equal(a1->as_id, 1);
	assert_int_equal(a1->npages, 0x30);
	assert_null(slot_by_id(1, 1));
	assert_int_equal(F.ms.nr_memslot_pages, 0x50);

	/* Moving AS1's slot over AS0's B is fine; deleting it leaves AS0 alone. */
	assert_int_equal(set(1 << 16, KVM_MEM_LOG_DIRTY_PAGES, 0x10, 0x30, HVA_BASE), 0);
	assert_int_equal(del(1 << 16), 0);
	assert_ptr_equal(slot_by_id(0, 0), a0);
	assert_non_null(slot_by_id(0, 1));
	assert_int_equal(gen_of(0), 4);
	assert_int_equal(gen_of(1), 1 + 2 + 4 + 4);
	check_consistency();
	vm_destroy();
}

/*
 * Overlap rules: -EEXIST for partial overlap at either end, for a slot
 * containing or contained in another; adjacency is fine; a slot may move
 * over its own old range.
 *
 *   gfn   0x100            0x110
 *          |XXXXXXXXXXXXXXXX|           existing slot 0
 *      |aaaaaa|                         head overlap      -EEXIST
 *                      |bbbbbbb|        tail overlap      -EEXIST
 *      |cccccccccccccccccccccccc|       contains X        -EEXIST
 *             |dddd|                    inside X          -EEXIST
 *  |eeee|                   |ffff|      adjacent          ok
 */
static void test_memslots_overlap(void **state)
{
	vm_init(1, MAX_GFN_52);
	assert_int_equal(set(0, 0, 0x100, 0x10, HVA_BASE), 0);

	assert_int_equal(set(1, 0, 0x0fc, 0x08, HVA_BASE), -EEXIST);
	assert_int_equal(set(1, 0, 0x10c, 0x08, HVA_BASE), -EEXIST);
	assert_int_equal(set(1, 0, 0x0f0, 0x40, HVA_BASE), -EEXIST);
	assert_int_equal(set(1, 0, 0x104, 0x04, HVA_BASE), -EEXIST);
	assert_int_equal(set(1, 0, 0x100, 0x01, HVA_BASE), -EEXIST);
	assert_int_equal(set(1, 0, 0x10f, 0x01, HVA_BASE), -EEXIST);
	assert_int_equal(set(1, 0, 0x0f0, 0x10, HVA_BASE), 0);		/* ends at 0x100 */
	assert_int_equal(set(2, 0, 0x110, 0x10, HVA_BASE), 0);		/* starts at 0x110 */

	/* A MOVE overlapping only its own old range is not an overlap. */
	assert_int_equal(set(0, 0, 0x108, 0x10, HVA_BASE), -EEXIST);	/* hits slot 2 */
	assert_int_equal(del(2), 0);
	assert_int_equal(set(0, 0, 0x108, 0x10, HVA_BASE), 0);
	assert_int_equal(set(0, 0, 0x100, 0x10, HVA_BASE), 0);

	/* hvas may alias freely. */
	assert_int_equal(set(3, 0, 0x200, 0x10, HVA_BASE), 0);
	check_consistency();
	vm_destroy();
}

/* ==================== Lookups ==================== */

/*
 *   gfn  0x10      0x20  0x28       0x40 0x41      0x1000   0x1200
 *        |AAAAAAAAAA|....|BBBBBBBBBB|C|....|...........|DDDDDDDD|
 *   (C is one page; D is in address space 1 at the same gfns as nothing in AS0)
 */
static void test_memslots_lookup_by_gfn(void **state)
{
	struct kvm_memslots *slots;
	struct kvm_memory_slot *a, *b, *c;
	int idx;

	vm_init(2, MAX_GFN_52);
	assert_int_equal(set(2, 0, 0x28, 0x18, HVA_BASE + 0x100000), 0);
	assert_int_equal(set(1, 0, 0x10, 0x10, HVA_BASE), 0);
	assert_int_equal(set(3, 0, 0x40, 0x01, HVA_BASE + 0x200000), 0);
	assert_int_equal(set(1 << 16 | 7, 0, 0x1000, 0x200, HVA_BASE), 0);

	idx = srcu_read_lock(&F.ms.srcu);
	slots = kvm_memslots_as(&F.ms, 0);
	a = id_to_memslot(slots, 1);
	b = id_to_memslot(slots, 2);
	c = id_to_memslot(slots, 3);
	assert_null(id_to_memslot(slots, 7));

	assert_null(__gfn_to_memslot(slots, 0x0f));
	assert_ptr_equal(__gfn_to_memslot(slots, 0x10), a);
	assert_ptr_equal(__gfn_to_memslot(slots, 0x1f), a);
	assert_null(__gfn_to_memslot(slots, 0x20));
	assert_null(__gfn_to_memslot(slots, 0x27));
	assert_ptr_equal(__gfn_to_memslot(slots, 0x28), b);
	assert_ptr_equal(__gfn_to_memslot(slots, 0x3f), b);
	assert_ptr_equal(__gfn_to_memslot(slots, 0x40), c);
	assert_null(__gfn_to_memslot(slots, 0x41));
	assert_null(__gfn_to_memslot(slots, 0x1000));
	assert_null(__gfn_to_memslot(slots, ~0ULL));
	assert_ptr_equal((void *)atomic_long_read(&slots->last_used_slot), c);

	/* approx: a neighbour of the hole. */
	assert_non_null(search_memslots(slots, 0x21, true));
	assert_ptr_equal(search_memslots(slots, 0x5, true), a);
	assert_ptr_equal(search_memslots(slots, 0x500, true), c);

	/* hva conversion. */
	assert_int_equal(gfn_to_hva_memslot(b, 0x29), HVA_BASE + 0x100000 + PAGE_SIZE);
	assert_int_equal(hva_to_gfn_memslot(HVA_BASE + 0x100000 + 2 * PAGE_SIZE + 5, b), 0x2a);
	assert_int_equal(gfn_to_hva_memslot(NULL, 0x29), KVM_HVA_ERR_BAD);
	assert_true(kvm_is_error_hva(KVM_HVA_ERR_RO_BAD));
	assert_false(kvm_is_error_hva(TASK_SIZE_MAX));
	assert_true(kvm_is_visible_memslot(a));
	assert_false(kvm_is_visible_memslot(NULL));

	slots = kvm_memslots_as(&F.ms, 1);
	assert_null(__gfn_to_memslot(slots, 0x10));
	assert_int_equal(__gfn_to_memslot(slots, 0x11ff)->id, 7);
	srcu_read_unlock(&F.ms.srcu, idx);

	check_consistency();
	vm_destroy();
}

/* The per-vCPU cache hits while the generation holds and resets when it moves. */
static void test_memslots_vcpu_cache(void **state)
{
	struct kvm_memslot_cache cache = { 0 };
	struct kvm_memory_slot *a, *s;
	int idx;

	vm_init(2, MAX_GFN_52);
	assert_int_equal(set(1, 0, 0x10, 0x10, HVA_BASE), 0);
	assert_int_equal(set(2, 0, 0x30, 0x10, HVA_BASE), 0);

	idx = srcu_read_lock(&F.ms.srcu);
	a = kvm_vcpu_gfn_to_memslot(&F.ms, &cache, 0, 0x15);
	assert_non_null(a);
	assert_ptr_equal(cache.last_used_slot, a);
	assert_int_equal(cache.last_used_slot_gen, 4);
	/* A miss in a hole keeps the cached slot. */
	assert_null(kvm_vcpu_gfn_to_memslot(&F.ms, &cache, 0, 0x25));
	assert_ptr_equal(cache.last_used_slot, a);
	/* The VM-wide cache is left alone. */
	assert_int_equal(atomic_long_read(&kvm_memslots_as(&F.ms, 0)->last_used_slot), 0);
	/* Poison the cache to prove the next lookup is served from it. */
	cache.last_used_slot = a;
	assert_ptr_equal(kvm_vcpu_gfn_to_memslot(&F.ms, &cache, 0, 0x1f), a);
	/* Another address space has another generation: the cache resets. */
	assert_null(kvm_vcpu_gfn_to_memslot(&F.ms, &cache, 1, 0x15));
	assert_null(cache.last_used_slot);
	assert_int_equal(cache.last_used_slot_gen, 1);
	s = kvm_vcpu_gfn_to_memslot(&F.ms, &cache, 0, 0x15);
	assert_ptr_equal(s, a);
	srcu_read_unlock(&F.ms.srcu, idx);

	/* An update moves the generation; the stale pointer is dropped unread. */
	assert_int_equal(set(1, 0, 0x50, 0x10, HVA_BASE), 0);
	idx = srcu_read_lock(&F.ms.srcu);
	s = kvm_vcpu_gfn_to_memslot(&F.ms, &cache, 0, 0x15);
	assert_null(s);
	assert_null(cache.last_used_slot);
	assert_int_equal(cache.last_used_slot_gen, 8);
	s = kvm_vcpu_gfn_to_memslot(&F.ms, &cache, 0, 0x55);
	assert_non_null(s);
	assert_int_equal(s->base_gfn, 0x50);
	srcu_read_unlock(&F.ms.srcu, idx);

	vm_destroy();
}

/*
 * gfn-range iteration:
 *   gfn  0x00  0x10  0x20  0x30  0x40  0x50
 *        |.....|AAAAA|.....|BBBBB|CCCCC|.....|
 */
static void test_memslots_gfn_range_iter(void **state)
{
	struct kvm_memslot_iter iter;
	struct kvm_memslots *slots;
	int ids[8], n, idx;

	vm_init(1, MAX_GFN_52);
	assert_int_equal(set(1, 0, 0x10, 0x10, HVA_BASE), 0);
	assert_int_equal(set(2, 0, 0x30, 0x10, HVA_BASE), 0);
	assert_int_equal(set(3, 0, 0x40, 0x10, HVA_BASE), 0);

	idx = srcu_read_lock(&F.ms.srcu);
	slots = kvm_memslots_as(&F.ms, 0);

#define ITER(s, e)                                                                      \
	({                                                                              \
		n = 0;                                                                  \
		kvm_for_each_memslot_in_gfn_range(&iter, slots, s, e) ids[n++] = iter.slot->id; \
		n;                                                                      \
	})
	assert_int_equal(ITER(0x00, 0x10), 0);
	assert_int_equal(ITER(0x00, 0x11), 1);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ITER(0x1f, 0x20), 1);
	assert_int_equal(ITER(0x20, 0x30), 0);
	assert_int_equal(ITER(0x15, 0x45), 3);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 3);
	assert_int_equal(ITER(0x3f, 0x41), 2);
	assert_int_equal(ITER(0x50, ~0ULL), 0);
	assert_int_equal(ITER(0, ~0ULL), 3);
#undef ITER
	srcu_read_unlock(&F.ms.srcu, idx);
	vm_destroy();
}

static bool hva_intersects(const struct kvm_memory_slot *s, hva_t start, hva_t end)
{
	return start < end && s->userspace_addr < end &&
	       s->userspace_addr + s->npages * PAGE_SIZE > start;
}

/* Iterator result == brute force, for one query. */
static void check_hva_query(struct kvm_memslots *slots, hva_t start, hva_t end)
{
	struct kvm_memslot_hva_iter iter;
	struct kvm_memory_slot *s;
	int expected = 0, got = 0, bkt;
	hva_t prev = 0;

	kvm_for_each_memslot(s, bkt, slots)
		expected += hva_intersects(s, start, end);
	kvm_for_each_memslot_in_hva_range(&iter, slots, start, end) {
		assert_true(hva_intersects(iter.slot, start, end));
		assert_true(iter.slot->userspace_addr >= prev);
		prev = iter.slot->userspace_addr;
		got++;
	}
	if (got != expected)
		fprintf(stderr, "hva query [%#lx, %#lx): got %d expected %d\n", start, end, got,
			expected);
	assert_int_equal(got, expected);
}

/*
 * hva-range iteration with aliased and nested hvas (units of 4K pages from
 * HVA_BASE):
 *
 *   hva  0    4    8    12   16   20   24   28   32
 *        |AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA|          A: 0..24  (long)
 *             |BB|                                B: 4..6   nested in A
 *                          |CCCCCCCCCCCCCCC|      C: 16..32 overlaps A's tail
 *                                              |D D: 36..37
 *   plus randomized layouts checked against brute force.
 */
static void test_memslots_hva_range_iter(void **state)
{
	struct kvm_memslot_hva_iter iter;
	struct kvm_memslots *slots;
	u64 seed = mmusim_test_seed();
	int round, i, n, idx;

	vm_init(1, MAX_GFN_52);
	assert_int_equal(set(0, 0, 0x000, 24, HVA_BASE), 0);
	assert_int_equal(set(1, 0, 0x100, 2, HVA_BASE + 4 * PAGE_SIZE), 0);
	assert_int_equal(set(2, 0, 0x200, 16, HVA_BASE + 16 * PAGE_SIZE), 0);
	assert_int_equal(set(3, 0, 0x300, 1, HVA_BASE + 36 * PAGE_SIZE), 0);

	idx = srcu_read_lock(&F.ms.srcu);
	slots = kvm_memslots_as(&F.ms, 0);

	/* Page 10: only A (B ends at 6 but sorts before; it must be skipped). */
	n = 0;
	kvm_for_each_memslot_in_hva_range(&iter, slots, HVA_BASE + 10 * PAGE_SIZE,
					  HVA_BASE + 11 * PAGE_SIZE) {
		assert_int_equal(iter.slot->id, 0);
		n++;
	}
	assert_int_equal(n, 1);
	/* Page 5: A and B.  Pages 20..37: A, C, D.  Empty and hole ranges. */
	check_hva_query(slots, HVA_BASE + 5 * PAGE_SIZE, HVA_BASE + 6 * PAGE_SIZE);
	check_hva_query(slots, HVA_BASE + 20 * PAGE_SIZE, HVA_BASE + 37 * PAGE_SIZE);
	check_hva_query(slots, HVA_BASE + 32 * PAGE_SIZE, HVA_BASE + 36 * PAGE_SIZE);
	check_hva_query(slots, HVA_BASE, HVA_BASE);
	check_hva_query(slots, 0, ~0UL);
	srcu_read_unlock(&F.ms.srcu, idx);
	vm_destroy();

	/* Random layouts of up to 24 slots over a 256-page hva window. */
	for (round = 0; round < 40; round++) {
		vm_init(1, MAX_GFN_52);
		for (i = 0; i < 24; i++) {
			unsigned long np = 1 + test_rand(&seed) % 64;
			unsigned long hpage = test_rand(&seed) % 256;

			assert_int_equal(set(i, 0, (gfn_t)i * 0x100, np,
					     HVA_BASE + hpage * PAGE_SIZE), 0);
			if (test_rand(&seed) % 4 == 0) {
				int r = del(test_rand(&seed) % (i + 1));

				assert_true(r == 0 || r == -EINVAL);
			}
		}
		check_consistency();
		idx = srcu_read_lock(&F.ms.srcu);
		slots = kvm_memslots_as(&F.ms, 0);
		for (i = 0; i < 64; i++) {
			hva_t a = HVA_BASE + (test_rand(&seed) % 340) * PAGE_SIZE;
			hva_t b = a + (test_rand(&seed) % 80) * PAGE_SIZE + (test_rand(&seed) & 1);

			check_hva_query(slots, a, b);
		}
		srcu_read_unlock(&F.ms.srcu, idx);
		vm_destroy();
	}
}

/* Many slots: array growth in both sets, random deletes and moves. */
static void test_memslots_many_slots(void **state)
{
	u64 seed = mmusim_test_seed();
	static bool present[600];
	int i, r;

	vm_init(1, MAX_GFN_52);
	memset(present, 0, sizeof(present));
	for (i = 0; i < 600; i++) {
		assert_int_equal(set(i, 0, (gfn_t)(599 - i) * 4, 2, HVA_BASE + i * PAGE_SIZE), 0);
		present[i] = true;
	}
	check_consistency();
	for (i = 0; i < 1500; i++) {
		int id = test_rand(&seed) % 600;
		gfn_t gfn = (test_rand(&seed) % 1200) * 2;

		if (!present[id]) {
			r = set(id, 0, gfn, 2, HVA_BASE + id * PAGE_SIZE);
			assert_true(r == 0 || r == -EEXIST);
			present[id] = !r;
		} else if (test_rand(&seed) & 1) {
			assert_int_equal(del(id), 0);
			present[id] = false;
		} else {
			r = set(id, 0, gfn, 2, HVA_BASE + id * PAGE_SIZE);
			assert_true(r == 0 || r == -EEXIST);
		}
	}
	check_consistency();
	vm_destroy();
}

/* ==================== Huge pages ==================== */

#define P2M 512UL
#define P1G (512UL * 512)

static int linfo(struct kvm_memory_slot *s, int level, unsigned long i)
{
	return s->lpage_info[level - 2][i].disallow_lpage;
}

/*
 * lpage_info at 2M (units of 2M pages, '#' = disallowed):
 *
 *   aligned        gfn 0x200..0x600, hva aligned      |  |  |    two entries, none '#'
 *   unaligned base gfn 0x201..0x600                   |# |  |    head disallowed
 *   unaligned end  gfn 0x400..0x6bc                   |  |# |    tail disallowed
 *   gpa/hva skew   gfn 0x400..0x800, hva 4K off        |# |# |    all disallowed
 *
 * All of these lie inside the first 1G page, which they never cover: the
 * single 1G entry is always disallowed.
 */
static void test_memslots_lpage_info_2m(void **state)
{
	struct kvm_memory_slot *s;

	vm_init(1, MAX_GFN_52);

	assert_int_equal(set(0, 0, 0x200, 2 * P2M, HVA_BASE + 0x200 * PAGE_SIZE), 0);
	s = slot_by_id(0, 0);
	assert_int_equal(kvm_mmu_slot_lpages(s, PG_LEVEL_2M), 2);
	assert_int_equal(kvm_mmu_slot_lpages(s, PG_LEVEL_1G), 1);
	assert_int_equal(linfo(s, PG_LEVEL_2M, 0), 0);
	assert_int_equal(linfo(s, PG_LEVEL_2M, 1), 0);
	assert_int_equal(linfo(s, PG_LEVEL_1G, 0), 1);
	assert_int_equal(kvm_lpage_max_level(s, 0x3ff, PG_LEVEL_1G), PG_LEVEL_2M);
	assert_int_equal(kvm_lpage_max_level(s, 0x3ff, PG_LEVEL_512G), PG_LEVEL_2M);
	assert_int_equal(kvm_lpage_max_level(s, 0x3ff, PG_LEVEL_4K), PG_LEVEL_4K);
	assert_int_equal(del(0), 0);

	assert_int_equal(set(0, 0, 0x201, 2 * P2M - 1, HVA_BASE + 0x201 * PAGE_SIZE), 0);
	s = slot_by_id(0, 0);
	assert_int_equal(kvm_mmu_slot_lpages(s, PG_LEVEL_2M), 2);
	assert_int_equal(linfo(s, PG_LEVEL_2M, 0), 1);
	assert_int_equal(linfo(s, PG_LEVEL_2M, 1), 0);
	assert_int_equal(kvm_lpage_max_level(s, 0x201, PG_LEVEL_1G), PG_LEVEL_4K);
	assert_int_equal(kvm_lpage_max_level(s, 0x400, PG_LEVEL_1G), PG_LEVEL_2M);
	assert_int_equal(del(0), 0);

	assert_int_equal(set(0, 0, 0x400, 700, HVA_BASE + 0x400 * PAGE_SIZE), 0);
	s = slot_by_id(0, 0);
	assert_int_equal(kvm_mmu_slot_lpages(s, PG_LEVEL_2M), 2);
	assert_int_equal(linfo(s, PG_LEVEL_2M, 0), 0);
	assert_int_equal(linfo(s, PG_LEVEL_2M, 1), 1);
	assert_int_equal(del(0), 0);

	assert_int_equal(set(0, 0, 0x400, 2 * P2M, HVA_BASE + 0x401 * PAGE_SIZE), 0);
	s = slot_by_id(0, 0);
	assert_int_equal(linfo(s, PG_LEVEL_2M, 0), 1);
	assert_int_equal(linfo(s, PG_LEVEL_2M, 1), 1);
	assert_int_equal(kvm_lpage_max_level(s, 0x600, PG_LEVEL_1G), PG_LEVEL_4K);

	/* A MOVE rebuilds lpage_info for the new gfns (now hva-aligned). */
	assert_int_equal(set(0, 0, 0x401, 2 * P2M, HVA_BASE + 0x401 * PAGE_SIZE), 0);
	s = slot_by_id(0, 0);
	assert_int_equal(kvm_mmu_slot_lpages(s, PG_LEVEL_2M), 3);
	assert_int_equal(linfo(s, PG_LEVEL_2M, 0), 1);
	assert_int_equal(linfo(s, PG_LEVEL_2M, 1), 0);
	assert_int_equal(linfo(s, PG_LEVEL_2M, 2), 1);

	/* A FLAGS_ONLY update keeps the very same arrays. */
	{
		void *l0 = s->lpage_info[0], *l1 = s->lpage_info[1];

		assert_int_equal(set(0, KVM_MEM_LOG_DIRTY_PAGES, 0x401, 2 * P2M,
				     HVA_BASE + 0x401 * PAGE_SIZE), 0);
		s = slot_by_id(0, 0);
		assert_ptr_equal(s->lpage_info[0], l0);
		assert_ptr_equal(s->lpage_info[1], l1);
	}
	vm_destroy();
}

/*
 * lpage_info at 1G (units of 1G pages):
 *
 *   aligned        gfn 1G..3G, hva 1G-aligned     |  |  |   both allowed
 *   unaligned base gfn 1G+2M..3G                  |# |  |
 *   unaligned end  gfn 1G..3G-2M                  |  |# |
 *   gpa/hva skew   hva off by 2M                   |# |# |   (2M still fine)
 */
static void test_memslots_lpage_info_1g(void **state)
{
	struct kvm_memory_slot *s;
	gfn_t g1 = P1G;

	vm_init(1, MAX_GFN_52);

	assert_int_equal(set(0, 0, g1, 2 * P1G, HVA_BASE), 0);
	s = slot_by_id(0, 0);
	assert_int_equal(kvm_mmu_slot_lpages(s, PG_LEVEL_1G), 2);
	assert_int_equal(kvm_mmu_slot_lpages(s, PG_LEVEL_2M), 1024);
	assert_int_equal(linfo(s, PG_LEVEL_1G, 0), 0);
	assert_int_equal(linfo(s, PG_LEVEL_1G, 1), 0);
	assert_int_equal(kvm_lpage_max_level(s, g1 + 5, PG_LEVEL_1G), PG_LEVEL_1G);
	assert_int_equal(kvm_lpage_max_level(s, g1 + 5, PG_LEVEL_2M), PG_LEVEL_2M);

	/*
	 * Shadowing a guest page table at gfn X (account_shadowed) forbids the
	 * 2M and the 1G page around X, not the neighbouring 2M pages.
	 */
	kvm_mmu_gfn_disallow_lpage(s, g1 + P2M + 3);
	assert_int_equal(kvm_lpage_max_level(s, g1 + P2M + 7, PG_LEVEL_1G), PG_LEVEL_4K);
	assert_int_equal(kvm_lpage_max_level(s, g1 + 7, PG_LEVEL_1G), PG_LEVEL_2M);
	assert_int_equal(kvm_lpage_max_level(s, g1 + P1G, PG_LEVEL_1G), PG_LEVEL_1G);
	kvm_mmu_gfn_disallow_lpage(s, g1 + P2M + 9);
	kvm_mmu_gfn_allow_lpage(s, g1 + P2M + 3);
	assert_int_equal(kvm_lpage_max_level(s, g1 + P2M, PG_LEVEL_1G), PG_LEVEL_4K);
	kvm_mmu_gfn_allow_lpage(s, g1 + P2M + 9);
	assert_int_equal(kvm_lpage_max_level(s, g1 + P2M, PG_LEVEL_1G), PG_LEVEL_1G);
	assert_int_equal(del(0), 0);

	assert_int_equal(set(0, 0, g1 + P2M, 2 * P1G - P2M, HVA_BASE + P2M * PAGE_SIZE), 0);
	s = slot_by_id(0, 0);
	assert_int_equal(linfo(s, PG_LEVEL_1G, 0), 1);
	assert_int_equal(linfo(s, PG_LEVEL_1G, 1), 0);
	assert_int_equal(linfo(s, PG_LEVEL_2M, 0), 0);
	assert_int_equal(kvm_lpage_max_level(s, g1 + P2M, PG_LEVEL_1G), PG_LEVEL_2M);
	assert_int_equal(kvm_lpage_max_level(s, g1 + P1G, PG_LEVEL_1G), PG_LEVEL_1G);
	assert_int_equal(del(0), 0);

	assert_int_equal(set(0, 0, g1, 2 * P1G - P2M, HVA_BASE), 0);
	s = slot_by_id(0, 0);
	assert_int_equal(linfo(s, PG_LEVEL_1G, 0), 0);
	assert_int_equal(linfo(s, PG_LEVEL_1G, 1), 1);
	assert_int_equal(linfo(s, PG_LEVEL_2M, 1022), 0);
	assert_int_equal(del(0), 0);

	assert_int_equal(set(0, 0, g1, 2 * P1G, HVA_BASE + P2M * PAGE_SIZE), 0);
	s = slot_by_id(0, 0);
	assert_int_equal(linfo(s, PG_LEVEL_1G, 0), 1);
	assert_int_equal(linfo(s, PG_LEVEL_1G, 1), 1);
	assert_int_equal(linfo(s, PG_LEVEL_2M, 0), 0);
	assert_int_equal(linfo(s, PG_LEVEL_2M, 1023), 0);
	assert_int_equal(kvm_lpage_max_level(s, g1 + 77, PG_LEVEL_1G), PG_LEVEL_2M);
	vm_destroy();
}

/* ==================== Dirty logging ==================== */

static int get_log(u32 slot, unsigned long *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	return kvm_get_dirty_log_protect(&F.ms, &log);
}

static int clear_log(u32 slot, u64 first, u32 num, unsigned long *bitmap)
{
	struct kvm_clear_dirty_log log = {
		.slot = slot, .num_pages = num, .first_page = first, .dirty_bitmap = bitmap,
	};

	return kvm_clear_dirty_log_protect(&F.ms, &log);
}

static void mark(int as_id, int id, gfn_t gfn)
{
	int idx = srcu_read_lock(&F.ms.srcu);
	struct kvm_memslots *slots = kvm_memslots_as(&F.ms, as_id);

	mark_page_dirty_in_slot(&F.ms, __gfn_to_memslot(slots, gfn), gfn);
	srcu_read_unlock(&F.ms.srcu, idx);
}

static int enable_manual(u64 flags)
{
	return kvm_memslots_enable_manual_dirty_log_protect(&F.ms, flags);
}

static int count_hook(enum hook h)
{
	int i, n = 0;

	for (i = 0; i < F.nrec; i++)
		n += F.rec[i].hook == h;
	return n;
}

/*
 * Without manual protect: GET reaps (clears) the bits, re-protects each
 * dirty word under mmu_lock and flushes once.
 *
 *   slot 1: gfn 0x1000, 130 pages (3 words, the last one partial)
 *   dirty:  page 0, 63, 64, 129
 */
static void test_memslots_dirty_log_get(void **state)
{
	unsigned long bm[4];
	struct kvm_memory_slot *s;

	vm_init(2, MAX_GFN_52);
	assert_int_equal(set(1, KVM_MEM_LOG_DIRTY_PAGES, 0x1000, 130, HVA_BASE), 0);
	assert_int_equal(set(2, 0, 0x2000, 64, HVA_BASE), 0);
	s = slot_by_id(0, 1);
	assert_non_null(s->dirty_bitmap);
	assert_int_equal(kvm_dirty_bitmap_bytes(s), 24);
	assert_ptr_equal(kvm_second_dirty_bitmap(s), s->dirty_bitmap + 3);
	assert_null(slot_by_id(0, 2)->dirty_bitmap);

	/* errno: id range, as_id range, no slot, slot not logging, bad buffer. */
	assert_int_equal(kvm_get_dirty_log_protect(&F.ms, NULL), -EFAULT);
	assert_int_equal(get_log(KVM_USER_MEM_SLOTS, bm), -EINVAL);
	assert_int_equal(get_log(2 << 16 | 1, bm), -EINVAL);
	assert_int_equal(get_log(9, bm), -ENOENT);
	assert_int_equal(get_log(2, bm), -ENOENT);
	assert_int_equal(get_log(1 << 16 | 1, bm), -ENOENT);
	assert_int_equal(get_log(1, NULL), -EFAULT);

	mark(0, 1, 0x1000);
	mark(0, 1, 0x1000 + 63);
	mark(0, 1, 0x1000 + 64);
	mark(0, 1, 0x1000 + 129);
	mark(0, 2, 0x2000);		/* not logging: no-op */

	memset(bm, 0xff, sizeof(bm));
	rec_reset(true);
	assert_int_equal(get_log(1, bm), 0);
	assert_int_equal(bm[0], 1UL | 1UL << 63);
	assert_int_equal(bm[1], 1UL);
	assert_int_equal(bm[2], 2UL);
	assert_int_equal(bm[3], ~0UL);		/* untouched past the slot's bytes */
	assert_int_equal(count_hook(H_SYNC), 1);
	assert_int_equal(count_hook(H_REPROTECT), 3);
	assert_int_equal(F.rec[1].offset, 0);
	assert_int_equal(F.rec[1].mask, 1UL | 1UL << 63);
	assert_int_equal(F.rec[2].offset, 64);
	assert_int_equal(F.rec[3].offset, 128);
	assert_int_equal(F.rec[3].mask, 2UL);
	assert_int_equal(count_hook(H_FLUSH_TLBS), 1);
	assert_int_equal(F.rec[F.nrec - 1].hook, H_FLUSH_TLBS);

	/* Reaped: nothing left, no re-protect, no flush. */
	rec_reset(true);
	assert_int_equal(get_log(1, bm), 0);
	assert_int_equal(bm[0] | bm[1] | bm[2], 0);
	assert_int_equal(count_hook(H_REPROTECT) + count_hook(H_FLUSH_TLBS), 0);

	/* A bad buffer still reaps (the bits are lost, as in KVM). */
	mark(0, 1, 0x1005);
	assert_int_equal(get_log(1, NULL), -EFAULT);
	assert_int_equal(get_log(1, bm), 0);
	assert_int_equal(bm[0], 0);
	rec_reset(false);

	/* Turning logging off frees the bitmap; on again starts clean. */
	mark(0, 1, 0x1007);
	assert_int_equal(set(1, 0, 0x1000, 130, HVA_BASE), 0);
	assert_null(slot_by_id(0, 1)->dirty_bitmap);
	assert_int_equal(get_log(1, bm), -ENOENT);
	mark(0, 1, 0x1007);		/* not logging: no-op */
	assert_int_equal(set(1, KVM_MEM_LOG_DIRTY_PAGES, 0x1000, 130, HVA_BASE), 0);
	assert_int_equal(get_log(1, bm), 0);
	assert_int_equal(bm[0] | bm[1] | bm[2], 0);

	/* A MOVE keeps the bitmap, bits included (relative to the slot). */
	mark(0, 1, 0x1003);
	s = slot_by_id(0, 1);
	{
		unsigned long *old_bitmap = s->dirty_bitmap;

		assert_int_equal(set(1, KVM_MEM_LOG_DIRTY_PAGES, 0x3000, 130, HVA_BASE), 0);
		assert_ptr_equal(slot_by_id(0, 1)->dirty_bitmap, old_bitmap);
	}
	assert_int_equal(get_log(1, bm), 0);
	assert_int_equal(bm[0], 1UL << 3);

	/* A slot in address space 1. */
	assert_int_equal(set(1 << 16 | 1, KVM_MEM_LOG_DIRTY_PAGES, 0x1000, 64, HVA_BASE), 0);
	mark(1, 1, 0x1001);
	assert_int_equal(get_log(1 << 16 | 1, bm), 0);
	assert_int_equal(bm[0], 2UL);
	assert_int_equal(get_log(1, bm), 0);
	assert_int_equal(bm[0], 0);
	vm_destroy();
}

/*
 * Manual protect: GET only copies; CLEAR clears and re-protects what was
 * really set, and validates (KVM's order):
 *   id/as_id -EINVAL, first_page % 64 -EINVAL, no slot/bitmap -ENOENT,
 *   range -EINVAL, buffer -EFAULT.
 *
 *   slot 1: 200 pages (words 0..3, the last holding 8 pages)
 */
static void test_memslots_dirty_log_manual(void **state)
{
	unsigned long bm[4], clr[4], zero[4] = { 0 };
	int i;

	vm_init(1, MAX_GFN_52);
	assert_int_equal(enable_manual(1u << 2), -EINVAL);
	assert_int_equal(enable_manual(KVM_DIRTY_LOG_INITIALLY_SET), -EINVAL);
	assert_int_equal(enable_manual(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE), 0);
	assert_int_equal(set(1, KVM_MEM_LOG_DIRTY_PAGES, 0x1000, 200, HVA_BASE), 0);
	assert_int_equal(set(2, 0, 0x2000, 64, HVA_BASE), 0);

	mark(0, 1, 0x1000 + 1);
	mark(0, 1, 0x1000 + 64);
	mark(0, 1, 0x1000 + 199);

	rec_reset(true);
	assert_int_equal(get_log(1, bm), 0);
	assert_int_equal(bm[0], 2UL);
	assert_int_equal(bm[1], 1UL);
	assert_int_equal(bm[3], 1UL << 7);
	assert_int_equal(count_hook(H_REPROTECT) + count_hook(H_FLUSH_TLBS), 0);
	assert_int_equal(get_log(1, bm), 0);	/* still there */
	assert_int_equal(bm[0], 2UL);

	/* CLEAR errno, one rule at a time, then pairs showing the order. */
	memset(clr, 0xff, sizeof(clr));
	assert_int_equal(kvm_clear_dirty_log_protect(&F.ms, NULL), -EFAULT);
	assert_int_equal(clear_log(KVM_USER_MEM_SLOTS, 0, 64, clr), -EINVAL);
	assert_int_equal(clear_log(1 << 16 | 1, 0, 64, clr), -EINVAL);
	assert_int_equal(clear_log(1, 1, 64, clr), -EINVAL);		/* first_page & 63 */
	assert_int_equal(clear_log(9, 0, 64, clr), -ENOENT);
	assert_int_equal(clear_log(2, 0, 64, clr), -ENOENT);
	assert_int_equal(clear_log(1, 256, 0, clr), -EINVAL);	/* first_page > npages */
	assert_int_equal(clear_log(1, 128, 73, clr), -EINVAL);	/* past the end */
	assert_int_equal(clear_log(1, 0, 65, clr), -EINVAL);	/* partial word mid-slot */
	assert_int_equal(clear_log(1, 0, 64, NULL), -EFAULT);
	assert_int_equal(clear_log(9, 1, 64, clr), -EINVAL);	/* alignment before lookup */
	assert_int_equal(clear_log(9, 0, 65, clr), -ENOENT);	/* lookup before range */
	assert_int_equal(clear_log(1, 0, 65, NULL), -EINVAL);		/* range before copy */
	assert_int_equal(clear_log(1, 192, 8, zero), 0);	/* slot's last partial word */
	assert_int_equal(clear_log(1, 0, 200, zero), 0);		/* the whole slot */
	assert_int_equal(clear_log(1, 64, 0, zero), 0);		/* empty range */

	rec_reset(true);
	/* Clear word 0 fully (page 1 really set) and word 1 (page 64 set). */
	assert_int_equal(clear_log(1, 0, 128, clr), 0);
	assert_int_equal(count_hook(H_SYNC), 1);
	assert_int_equal(count_hook(H_REPROTECT), 2);
	for (i = 0; i < F.nrec; i++) {
		if (F.rec[i].hook == H_REPROTECT && F.rec[i].offset == 0)
			assert_int_equal(F.rec[i].mask, 2UL);	/* only really-cleared bits */
		if (F.rec[i].hook == H_REPROTECT && F.rec[i].offset == 64)
			assert_int_equal(F.rec[i].mask, 1UL);
	}
	assert_int_equal(count_hook(H_FLUSH_TLBS), 1);
	assert_int_equal(get_log(1, bm), 0);
	assert_int_equal(bm[0] | bm[1], 0);
	assert_int_equal(bm[3], 1UL << 7);

	/* Garbage beyond the slot in the user's last word is harmless. */
	rec_reset(true);
	assert_int_equal(clear_log(1, 192, 8, clr), 0);
	assert_int_equal(count_hook(H_REPROTECT), 1);
	assert_int_equal(F.rec[1].mask, 1UL << 7);
	assert_int_equal(get_log(1, bm), 0);
	assert_int_equal(bm[3], 0);
	assert_int_equal(slot_by_id(0, 1)->dirty_bitmap[3], 0);
	/* Nothing set: no re-protect, no flush. */
	rec_reset(true);
	assert_int_equal(clear_log(1, 0, 200, clr), 0);
	assert_int_equal(count_hook(H_REPROTECT) + count_hook(H_FLUSH_TLBS), 0);
	rec_reset(false);

	/* KVM_DIRTY_LOG_INITIALLY_SET: a new bitmap starts all ones (slot pages only). */
	assert_int_equal(enable_manual(KVM_DIRTY_LOG_MANUAL_CAPS), 0);
	assert_int_equal(set(3, KVM_MEM_LOG_DIRTY_PAGES, 0x3000, 70, HVA_BASE), 0);
	assert_int_equal(get_log(3, bm), 0);
	assert_int_equal(bm[0], ~0UL);
	assert_int_equal(bm[1], (1UL << 6) - 1);
	/* ... and CLEAR still works without manual protect. */
	assert_int_equal(enable_manual(0), 0);
	assert_int_equal(clear_log(3, 0, 70, clr), 0);
	assert_int_equal(get_log(3, bm), 0);
	assert_int_equal(bm[0] | bm[1], 0);
	vm_destroy();
}

/* ==================== Internal slots ==================== */

static void test_memslots_internal_slot(void **state)
{
	struct kvm_userspace_memory_region mem = {
		.slot = KVM_USER_MEM_SLOTS,
		.guest_phys_addr = 0xfee00000,
		.memory_size = PAGE_SIZE,
		.userspace_addr = HVA_BASE,
	};
	struct kvm_memory_slot *s;
	int idx;

	vm_init(1, MAX_GFN_52);
	mutex_lock(&F.ms.slots_lock);
	assert_int_equal(kvm_set_internal_memslot(&F.ms, &mem), 0);
	mem.slot = 3;
	assert_int_equal(kvm_set_internal_memslot(&F.ms, &mem), -EINVAL);
	assert_int_equal(env_warn_count(), 1);
	mem.slot = KVM_MEM_SLOTS_NUM;
	assert_int_equal(kvm_set_internal_memslot(&F.ms, &mem), -EINVAL);	/* rule 9 */
	mem.slot = KVM_USER_MEM_SLOTS + 1;
	mem.flags = KVM_MEM_LOG_DIRTY_PAGES;
	assert_int_equal(kvm_set_internal_memslot(&F.ms, &mem), -EINVAL);
	assert_int_equal(env_warn_count(), 2);
	env_warn_count_reset();
	mutex_unlock(&F.ms.slots_lock);

	idx = srcu_read_lock(&F.ms.srcu);
	s = __gfn_to_memslot(kvm_memslots_as(&F.ms, 0), 0xfee00);
	assert_non_null(s);
	assert_int_equal(s->id, KVM_USER_MEM_SLOTS);
	assert_false(kvm_is_visible_memslot(s));
	srcu_read_unlock(&F.ms.srcu, idx);

	/* Userspace cannot touch it. */
	assert_int_equal(del(KVM_USER_MEM_SLOTS), -EINVAL);
	vm_destroy();
}

/* ==================== Allocation failure ==================== */

/*
 * Runs @op with the n-th allocation failing, for n = 1, 2, ... until a run
 * needs no injection.  Every failing run must return -ENOMEM and leave the
 * memslots exactly as they were (slot structs, bitmaps, metadata, counters);
 * the final run must succeed.  Returns the number of failing runs.
 */
static int fail_each_allocation(int (*op)(void), void (*undo)(void))
{
	static struct ms_dump before, after;
	int n, r;

	for (n = 1;; n++) {
		dump(&before);
		env_fail_nth(n);
		r = op();
		if (!env_fail_injected()) {
			env_fail_clear();
			assert_int_equal(r, 0);
			check_consistency();
			if (undo)
				undo();
			return n - 1;
		}
		env_fail_clear();
		assert_int_equal(r, -ENOMEM);
		dump(&after);
		assert_memory_equal(&before, &after, sizeof(before));
		check_consistency();
	}
}

static int op_create(void)
{
	return set(10, 0, 0x5000, 0x400, HVA_BASE);
}

static int op_create_log(void)
{
	return set(10, KVM_MEM_LOG_DIRTY_PAGES, 0x5000, 0x400, HVA_BASE);
}

static int op_create_as1(void)
{
	return set(1 << 16 | 10, KVM_MEM_LOG_DIRTY_PAGES, 0x5000, 0x400, HVA_BASE);
}

static int op_move(void)
{
	return set(1, KVM_MEM_LOG_DIRTY_PAGES, 0x9000, 0x400, HVA_BASE + 0x10000000);
}

static int op_move_back(void)
{
	return set(1, KVM_MEM_LOG_DIRTY_PAGES, 0x1000, 0x400, HVA_BASE + 0x10000000);
}

static int op_flags_on(void)
{
	return set(2, KVM_MEM_LOG_DIRTY_PAGES, 0x2000, 0x200, HVA_BASE + 0x20000000);
}

static int op_flags_off(void)
{
	return set(2, 0, 0x2000, 0x200, HVA_BASE + 0x20000000);
}

static int op_delete(void)
{
	return del(1);
}

static void undo_create(void)
{
	assert_int_equal(del(10), 0);
}

static void undo_create_as1(void)
{
	assert_int_equal(del(1 << 16 | 10), 0);
}

static void undo_move(void)
{
	assert_int_equal(op_move_back(), 0);
}

static void test_memslots_alloc_failure(void **state)
{
	int i, cap;

	vm_init(2, MAX_GFN_52);
	F.alloc_rmap = true;	/* the MMU's prepare allocates too */
	assert_int_equal(set(1, KVM_MEM_LOG_DIRTY_PAGES, 0x1000, 0x400, HVA_BASE + 0x10000000), 0);
	assert_int_equal(set(2, 0, 0x2000, 0x200, HVA_BASE + 0x20000000), 0);
	check_consistency();

	/*
	 * create: capacity (both sets, first time), slot, rmap, 2M, 1G
	 * lpage_info; with logging the bitmap comes before arch metadata.
	 */
	assert_true(fail_each_allocation(op_create, undo_create) >= 4);
	assert_true(fail_each_allocation(op_create_log, undo_create) >= 5);
	assert_true(fail_each_allocation(op_create_as1, undo_create_as1) >= 5);
	/* move: slot, INVALID copy, rmap, lpage_info x2 (bitmap reused). */
	assert_int_equal(fail_each_allocation(op_move, undo_move), 5);
	/* flags-only: slot, bitmap. */
	assert_int_equal(fail_each_allocation(op_flags_on, NULL), 2);
	assert_int_equal(fail_each_allocation(op_flags_off, NULL), 1);
	/* delete: INVALID copy only. */
	assert_int_equal(fail_each_allocation(op_delete, NULL), 1);

	/*
	 * Capacity growth of non-empty sets: fill AS0 to its capacity, then
	 * fail each allocation of the create that must grow both sets.
	 */
	for (i = 20; F.ms.__memslots[0][0].nr_slots < F.ms.__memslots[0][0].capacity; i++)
		assert_int_equal(set(i, 0, 0x10000 + i * 0x10, 0x10, HVA_BASE), 0);
	cap = F.ms.__memslots[0][0].capacity;
	assert_int_equal(F.ms.__memslots[0][1].capacity, cap);
	assert_int_equal(fail_each_allocation(op_create, NULL), 5);
	assert_true(F.ms.__memslots[0][0].capacity > cap);
	assert_true(F.ms.__memslots[0][1].capacity > cap);
	check_consistency();
	vm_destroy();
}

/* ==================== MMU-notifier handshake ==================== */

struct mn_ctx {
	int ret;
	bool done;
};

static int mn_writer(void *arg)
{
	struct mn_ctx *c = arg;

	c->ret = set(1, 0, 0x100, 0x10, HVA_BASE);
	smp_store_release(&c->done, true);
	return 0;
}

/* A swap does not publish while an invalidation is between start and end. */
static void test_memslots_mn_invalidate_handshake(void **state)
{
	struct env_thread *t;
	struct mn_ctx c = { 0 };
	int idx, i;

	vm_init(1, MAX_GFN_52);
	kvm_memslots_mn_invalidate_begin(&F.ms);
	t = env_thread_start(mn_writer, &c, "mn_writer");
	assert_non_null(t);
	for (i = 0; i < 50; i++) {
		usleep(1000);
		idx = srcu_read_lock(&F.ms.srcu);
		assert_null(__gfn_to_memslot(kvm_memslots_as(&F.ms, 0), 0x100));
		assert_int_equal(kvm_memslots_generation(kvm_memslots_as(&F.ms, 0)), 0);
		srcu_read_unlock(&F.ms.srcu, idx);
		assert_false(smp_load_acquire(&c.done));
	}
	kvm_memslots_mn_invalidate_end(&F.ms);
	assert_int_equal(env_thread_join(t), 0);
	assert_int_equal(c.ret, 0);
	assert_non_null(slot_by_id(0, 1));

	/* Unbalanced end: WARN, count stays at zero. */
	kvm_memslots_mn_invalidate_end(&F.ms);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	assert_int_equal(F.ms.mn_active_invalidate_count, 0);
	vm_destroy();
}

/* ==================== Readers racing with updates ==================== */

#define STRESS_IDS 8
#define STRESS_GFNS 2048

struct stress {
	int stop;
	u64 seed;
	atomic_long_t lookups, hits, invalid_seen, errors;
};

/*
 * SRCU readers: every slot returned must contain the gfn looked up and
 * stay readable until srcu_read_unlock (ASan catches a freed one, and the
 * poison written by kfree() would break the containment check).
 */
static int stress_reader(void *arg)
{
	struct stress *st = arg;
	struct kvm_memslot_cache cache = { 0 };
	u64 seed = st->seed ^ (u64)(unsigned long)&cache;

	while (!smp_load_acquire(&st->stop)) {
		int idx = srcu_read_lock(&F.ms.srcu);
		struct kvm_memslots *slots = kvm_memslots_as(&F.ms, 0);
		struct kvm_memslot_hva_iter hiter;
		int k;

		for (k = 0; k < 32; k++) {
			gfn_t gfn = test_rand(&seed) % STRESS_GFNS;
			struct kvm_memory_slot *slot = __gfn_to_memslot(slots, gfn);
			struct kvm_memory_slot *vslot;

			atomic_long_inc(&st->lookups);
			if (slot) {
				atomic_long_inc(&st->hits);
				if (!is_gfn_in_memslot(slot, gfn) || slot->as_id != 0 ||
				    slot->id >= STRESS_IDS)
					atomic_long_inc(&st->errors);
				if (slot->flags & KVM_MEMSLOT_INVALID) {
					atomic_long_inc(&st->invalid_seen);
					if (gfn_to_hva_memslot(slot, gfn) != KVM_HVA_ERR_BAD)
						atomic_long_inc(&st->errors);
				} else if (gfn_to_hva_memslot(slot, gfn) !=
					   __gfn_to_hva_memslot(slot, gfn) ||
					   __gfn_to_hva_memslot(slot, gfn) <
					   slot->userspace_addr) {
					atomic_long_inc(&st->errors);
				}
				mark_page_dirty_in_slot(&F.ms, slot, gfn);
				if (slot->lpage_info[0] &&
				    kvm_lpage_max_level(slot, gfn, PG_LEVEL_1G) > PG_LEVEL_1G)
					atomic_long_inc(&st->errors);
			}
			vslot = kvm_vcpu_gfn_to_memslot(&F.ms, &cache, 0, gfn);
			if (vslot && !is_gfn_in_memslot(vslot, gfn))
				atomic_long_inc(&st->errors);
		}
		kvm_for_each_memslot_in_hva_range(&hiter, slots, HVA_BASE, HVA_BASE + 0x4000000) {
			if (hiter.slot->userspace_addr >= HVA_BASE + 0x4000000)
				atomic_long_inc(&st->errors);
		}
		srcu_read_unlock(&F.ms.srcu, idx);
	}
	return 0;
}

static void test_memslots_concurrent_readers(void **state)
{
	struct { bool present; u32 flags; gfn_t gfn; unsigned long npages; } w[STRESS_IDS];
	struct env_thread *readers[2];
	struct stress st;
	u64 seed = mmusim_test_seed();
	u64 deadline = ktime_get_ns() + (u64)mmusim_test_stress_seconds() * 1000000000ULL;
	unsigned long bm[STRESS_GFNS / 64];
	unsigned long ops = 0;
	int i, r;

	vm_init(1, MAX_GFN_52);
	F.alloc_rmap = true;
	memset(&st, 0, sizeof(st));
	memset(w, 0, sizeof(w));
	st.seed = seed;
	for (i = 0; i < 2; i++) {
		readers[i] = env_thread_start(stress_reader, &st, "memslot_reader");
		assert_non_null(readers[i]);
	}

	while (ktime_get_ns() < deadline) {
		int id = test_rand(&seed) % STRESS_IDS;
		unsigned long hva = HVA_BASE + id * 0x800000UL;
		gfn_t gfn = test_rand(&seed) % (STRESS_GFNS - 64);

		if (!w[id].present) {
			w[id].npages = 1 + test_rand(&seed) % 64;
			w[id].flags = (test_rand(&seed) & 1) ? KVM_MEM_LOG_DIRTY_PAGES : 0;
			r = set(id, w[id].flags, gfn, w[id].npages, hva);
			assert_true(r == 0 || r == -EEXIST);
			w[id].present = !r;
			w[id].gfn = gfn;
		} else {
			switch (test_rand(&seed) % 4) {
			case 0:
				assert_int_equal(del(id), 0);
				w[id].present = false;
				break;
			case 1:
				r = set(id, w[id].flags, gfn, w[id].npages, hva);
				assert_true(r == 0 || r == -EEXIST);
				if (!r)
					w[id].gfn = gfn;
				break;
			case 2:
				w[id].flags ^= KVM_MEM_LOG_DIRTY_PAGES;
				r = set(id, w[id].flags, w[id].gfn, w[id].npages, hva);
				assert_int_equal(r, 0);
				break;
			default:
				r = get_log(id, bm);
				assert_int_equal(r, w[id].flags ? 0 : -ENOENT);
				break;
			}
		}
		ops++;
	}

	smp_store_release(&st.stop, 1);
	for (i = 0; i < 2; i++)
		assert_int_equal(env_thread_join(readers[i]), 0);

	fprintf(stderr, "memslot stress: %lu updates, %ld lookups, %ld hits, %ld INVALID seen\n",
		ops, atomic_long_read(&st.lookups), atomic_long_read(&st.hits),
		atomic_long_read(&st.invalid_seen));
	assert_int_equal(atomic_long_read(&st.errors), 0);
	assert_true(ops > 0);
	assert_true(atomic_long_read(&st.lookups) > 0);
	check_consistency();
	vm_destroy();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_memslots_init),
		MMUSIM_TEST(test_memslots_errno_rules),
		MMUSIM_TEST(test_memslots_errno_order_pairs),
		MMUSIM_TEST(test_memslots_hook_order_and_generation),
		MMUSIM_TEST(test_memslots_address_spaces),
		MMUSIM_TEST(test_memslots_overlap),
		MMUSIM_TEST(test_memslots_lookup_by_gfn),
		MMUSIM_TEST(test_memslots_vcpu_cache),
		MMUSIM_TEST(test_memslots_gfn_range_iter),
		MMUSIM_TEST(test_memslots_hva_range_iter),
		MMUSIM_TEST(test_memslots_many_slots),
		MMUSIM_TEST(test_memslots_lpage_info_2m),
		MMUSIM_TEST(test_memslots_lpage_info_1g),
		MMUSIM_TEST(test_memslots_dirty_log_get),
		MMUSIM_TEST(test_memslots_dirty_log_manual),
		MMUSIM_TEST(test_memslots_internal_slot),
		MMUSIM_TEST(test_memslots_alloc_failure),
		MMUSIM_TEST(test_memslots_mn_invalidate_handshake),
		MMUSIM_TEST(test_memslots_concurrent_readers),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("kvm_memslots", tests);
}
