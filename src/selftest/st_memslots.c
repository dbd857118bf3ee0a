// SPDX-License-Identifier: GPL-2.0-only
/*
 * Self-tests of the memslots (src/mmu/kvm_memslots.c) that run in both
 * environments: KVM_SET_USER_MEMORY_REGION's errno rules (a sample of the
 * reference's section 5.9, each shown to fire on an otherwise valid
 * request), create/move/flags/delete with generations and accounting,
 * lookups by gfn, id and hva, dirty-log harvesting, and unwinding after an
 * allocation failure.
 *
 * The memslots run alone here, with no MMU behind them (no ops): the MMU's
 * side of memslot updates is covered by st_tdp_mmu.c.  In the kernel the
 * SRCU is a real srcu_struct and the lookups run inside its read side.
 *
 * GFN layouts are drawn one character per page; '.' is a hole.
 */
#include "mmusim_env.h"

#include "mmu/kvm_memslots.h"
#include "selftest/selftest.h"

#define ST_MAX_GFN 0xfffffULL			/* MAXPHYADDR 32 */
#define ST_HVA_BASE 0x100000000UL		/* 4 GiB: any aligned user address */

struct st_slots {
	struct kvm_vm_memslots ms;
};

static struct st_slots *st_slots_new(int nr_as)
{
	struct st_slots *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (s && kvm_memslots_init(&s->ms, nr_as, ST_MAX_GFN, NULL, NULL)) {
		kfree(s);
		s = NULL;
	}
	return s;
}

static void st_slots_free(struct st_slots *s)
{
	kvm_memslots_destroy(&s->ms);
	kfree(s);
}

static int st_set_raw(struct st_slots *s, u32 slot, u32 flags, u64 gpa, u64 size, u64 hva)
{
	struct kvm_userspace_memory_region mem = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = hva,
	};

	return kvm_set_memory_region(&s->ms, &mem);
}

/* Slot @slot (as_id << 16 | id) at [gfn, gfn + npages), backed at @hva. */
static int st_set(struct st_slots *s, u32 slot, u32 flags, gfn_t gfn, u64 npages, u64 hva)
{
	return st_set_raw(s, slot, flags, gfn << PAGE_SHIFT, npages << PAGE_SHIFT, hva);
}

static int st_del(struct st_slots *s, u32 slot)
{
	return st_set_raw(s, slot, 0, 0, 0, 0);
}

/* The writer's view (under slots_lock) of slot @id in @as_id. */
static struct kvm_memory_slot *st_slot(struct st_slots *s, int as_id, int id)
{
	struct kvm_memory_slot *slot;

	mutex_lock(&s->ms.slots_lock);
	slot = id_to_memslot(kvm_memslots_as(&s->ms, as_id), id);
	mutex_unlock(&s->ms.slots_lock);
	return slot;
}

static u64 st_gen(struct st_slots *s, int as_id)
{
	u64 gen;

	mutex_lock(&s->ms.slots_lock);
	gen = kvm_memslots_generation(kvm_memslots_as(&s->ms, as_id));
	mutex_unlock(&s->ms.slots_lock);
	return gen;
}

/*
 * Each rule fires on a request that is otherwise valid (the "ok" line next
 * to it succeeds), and a refused request changes nothing.  Numbers are the
 * steps of section 5.9.
 */
ST_TEST(memslots_errno_rules)
{
	struct st_slots *s = st_slots_new(2);
	u64 gen;

	ST_ASSERT_NOT_NULL(s);
	/* 1. copy_from_user fault; v1 flags outside LOG_DIRTY_PAGES | READONLY. */
	ST_EXPECT_EQ(kvm_set_memory_region(&s->ms, NULL), -EFAULT);
	ST_EXPECT_EQ(st_set(s, 0, KVM_MEM_GUEST_MEMFD, 0, 16, ST_HVA_BASE), -EINVAL);
	ST_EXPECT_EQ(st_set(s, 0, 1u << 3, 0, 16, ST_HVA_BASE), -EINVAL);
	/* 2. (u16)slot >= KVM_USER_MEM_SLOTS. */
	ST_EXPECT_EQ(st_set(s, KVM_USER_MEM_SLOTS, 0, 0, 16, ST_HVA_BASE), -EINVAL);
	ST_EXPECT_EQ(st_set(s, KVM_USER_MEM_SLOTS - 1, 0, 0, 16, ST_HVA_BASE), 0);	/* ok */
	ST_EXPECT_EQ(st_del(s, KVM_USER_MEM_SLOTS - 1), 0);
	/* 5.-7. size, gpa, hva not page aligned; hva beyond the user range. */
	ST_EXPECT_EQ(st_set_raw(s, 0, 0, 0, PAGE_SIZE + 1, ST_HVA_BASE), -EINVAL);
	ST_EXPECT_EQ(st_set_raw(s, 0, 0, 0x800, PAGE_SIZE, ST_HVA_BASE), -EINVAL);
	ST_EXPECT_EQ(st_set_raw(s, 0, 0, 0, PAGE_SIZE, ST_HVA_BASE + 8), -EINVAL);
	ST_EXPECT_EQ(st_set_raw(s, 0, 0, 0, 2 * PAGE_SIZE, TASK_SIZE_MAX - PAGE_SIZE), -EINVAL);
	ST_EXPECT_EQ(st_set_raw(s, 0, 0, 0, PAGE_SIZE, TASK_SIZE_MAX - PAGE_SIZE), 0);	/* ok */
	ST_EXPECT_EQ(st_del(s, 0), 0);
	/* 9. as_id beyond the VM's address spaces (2 here). */
	ST_EXPECT_EQ(st_set(s, 2 << 16, 0, 0, 16, ST_HVA_BASE), -EINVAL);
	ST_EXPECT_EQ(st_set(s, 1 << 16, 0, 0, 16, ST_HVA_BASE), 0);			/* ok */
	ST_EXPECT_EQ(st_del(s, 1 << 16), 0);
	/* 10. guest_phys_addr + memory_size wraps. */
	ST_EXPECT_EQ(st_set_raw(s, 0, 0, -PAGE_SIZE, 2 * PAGE_SIZE, ST_HVA_BASE), -EINVAL);
	/* 12. deleting a slot that does not exist. */
	ST_EXPECT_EQ(st_del(s, 5), -EINVAL);

	/*
	 * 14. An existing slot may not change hva, size or READONLY; same
	 *     everything is a no-op that does not even bump the generation.
	 */
	ST_EXPECT_EQ(st_set(s, 7, KVM_MEM_LOG_DIRTY_PAGES, 64, 16, ST_HVA_BASE), 0);
	ST_EXPECT_EQ(st_set(s, 7, KVM_MEM_LOG_DIRTY_PAGES, 64, 16, ST_HVA_BASE + PAGE_SIZE),
		     -EINVAL);
	ST_EXPECT_EQ(st_set(s, 7, KVM_MEM_LOG_DIRTY_PAGES, 64, 17, ST_HVA_BASE), -EINVAL);
	ST_EXPECT_EQ(st_set(s, 7, KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY, 64, 16,
			    ST_HVA_BASE), -EINVAL);
	gen = st_gen(s, 0);
	ST_EXPECT_EQ(st_set(s, 7, KVM_MEM_LOG_DIRTY_PAGES, 64, 16, ST_HVA_BASE), 0);
	ST_EXPECT_EQ(st_gen(s, 0), gen);

	/*
	 * 15. Overlap within an address space is -EEXIST; adjacency is fine,
	 *     and so is the same range in the other address space.
	 *
	 *   gfn  48      64              80
	 *        |bbbbbbb|XXXXXXXXXXXXXXX|       X: slot 7
	 *            |aaaaaaaaa|                 -EEXIST
	 */
	ST_EXPECT_EQ(st_set(s, 8, 0, 56, 16, ST_HVA_BASE), -EEXIST);
	ST_EXPECT_EQ(st_set(s, 8, 0, 79, 1, ST_HVA_BASE), -EEXIST);
	ST_EXPECT_EQ(st_set(s, 8, 0, 48, 16, ST_HVA_BASE), 0);			/* ok: adjacent */
	ST_EXPECT_EQ(st_set(s, 1 << 16 | 8, 0, 56, 16, ST_HVA_BASE), 0);	/* ok: AS 1 */
	/* A MOVE onto another slot is an overlap too. */
	ST_EXPECT_EQ(st_set(s, 8, 0, 70, 16, ST_HVA_BASE), -EEXIST);

	/* 17. Arch prepare: the last gfn beyond the host MAXPHYADDR. */
	ST_EXPECT_EQ(st_set(s, 9, 0, ST_MAX_GFN - 15, 17, ST_HVA_BASE), -EINVAL);
	ST_EXPECT_EQ(st_set(s, 9, 0, ST_MAX_GFN - 15, 16, ST_HVA_BASE), 0);	/* ok */

	/* The refused requests left no trace: slots 7, 8, 9 and AS1's 8. */
	ST_EXPECT_EQ(s->ms.nr_memslot_pages, 16UL + 16 + 16 + 16);
	ST_EXPECT_EQ(s->ms.nr_memslots_dirty_logging, 1);
	ST_EXPECT_NULL(st_slot(s, 0, 5));
	if (st_slot(s, 0, 8))
		ST_EXPECT_EQ(st_slot(s, 0, 8)->base_gfn, 48ULL);
	st_slots_free(s);
	return st_result(ctx);
}

/*
 * The life of a slot, and lookups in between:
 *
 *   gfn  0x10      0x20  0x28       0x40 0x41
 *        |AAAAAAAAAA|....|BBBBBBBBBB|C|....
 *
 * then B moves to 0x80, C turns dirty logging on and off (flags only), and
 * A is deleted.  With two address spaces each swap bumps the generation by
 * 2, and a move or delete swaps twice (the INVALID step first); readers
 * under SRCU find every slot by gfn, id and hva.
 */
ST_TEST(memslots_create_move_delete)
{
	struct st_slots *s = st_slots_new(2);
	struct kvm_memslot_hva_iter hiter;
	struct kvm_memslot_iter iter;
	struct kvm_memslots *slots;
	struct kvm_memory_slot *a, *b, *c;
	u64 gen;
	int idx, n;

	ST_ASSERT_NOT_NULL(s);
	ST_EXPECT_EQ(st_gen(s, 0), 0ULL);
	ST_EXPECT_EQ(st_set(s, 1, 0, 0x10, 0x10, ST_HVA_BASE), 0);
	ST_EXPECT_EQ(st_set(s, 2, 0, 0x28, 0x18, ST_HVA_BASE + 0x100000), 0);
	ST_EXPECT_EQ(st_set(s, 3, 0, 0x40, 0x01, ST_HVA_BASE + 0x200000), 0);
	ST_EXPECT_EQ(st_gen(s, 0), 6ULL);
	ST_EXPECT_EQ(s->ms.nr_memslot_pages, 0x29UL);

	idx = srcu_read_lock(&s->ms.srcu);
	slots = kvm_memslots_as(&s->ms, 0);
	a = id_to_memslot(slots, 1);
	b = id_to_memslot(slots, 2);
	c = id_to_memslot(slots, 3);
	ST_EXPECT(a && b && c);
	ST_EXPECT_NULL(id_to_memslot(slots, 4));
	ST_EXPECT_NULL(__gfn_to_memslot(slots, 0x0f));
	ST_EXPECT_PTR_EQ(__gfn_to_memslot(slots, 0x10), a);
	ST_EXPECT_PTR_EQ(__gfn_to_memslot(slots, 0x1f), a);
	ST_EXPECT_NULL(__gfn_to_memslot(slots, 0x20));
	ST_EXPECT_PTR_EQ(__gfn_to_memslot(slots, 0x28), b);
	ST_EXPECT_PTR_EQ(__gfn_to_memslot(slots, 0x3f), b);
	ST_EXPECT_PTR_EQ(__gfn_to_memslot(slots, 0x40), c);
	ST_EXPECT_NULL(__gfn_to_memslot(slots, 0x41));
	ST_EXPECT_NULL(__gfn_to_memslot(slots, ~0ULL));
	if (b) {
		ST_EXPECT_EQ(gfn_to_hva_memslot(b, 0x29), ST_HVA_BASE + 0x100000 + PAGE_SIZE);
		ST_EXPECT_EQ(hva_to_gfn_memslot(ST_HVA_BASE + 0x100000 + 2 * PAGE_SIZE + 5, b),
			     0x2aULL);
		ST_EXPECT(kvm_is_visible_memslot(b));
	}
	n = 0;
	kvm_for_each_memslot_in_gfn_range(&iter, slots, 0x1f, 0x41)
		n++;
	ST_EXPECT_EQ(n, 3);
	n = 0;
	kvm_for_each_memslot_in_gfn_range(&iter, slots, 0x20, 0x28)
		n++;
	ST_EXPECT_EQ(n, 0);
	/* A and B are 1 MiB apart in hva: a query straddling both finds both. */
	n = 0;
	kvm_for_each_memslot_in_hva_range(&hiter, slots, ST_HVA_BASE + 0xf000,
					  ST_HVA_BASE + 0x101000)
		n++;
	ST_EXPECT_EQ(n, 2);
	srcu_read_unlock(&s->ms.srcu, idx);

	/* MOVE: same struct contents elsewhere, +4 (INVALID step, then the new slot). */
	gen = st_gen(s, 0);
	ST_EXPECT_EQ(st_set(s, 2, 0, 0x80, 0x18, ST_HVA_BASE + 0x100000), 0);
	ST_EXPECT_EQ(st_gen(s, 0), gen + 4);
	b = st_slot(s, 0, 2);
	ST_EXPECT(b && b->base_gfn == 0x80 && b->npages == 0x18);
	ST_EXPECT_EQ(s->ms.nr_memslot_pages, 0x29UL);
	idx = srcu_read_lock(&s->ms.srcu);
	slots = kvm_memslots_as(&s->ms, 0);
	ST_EXPECT_NULL(__gfn_to_memslot(slots, 0x28));
	ST_EXPECT_PTR_EQ(__gfn_to_memslot(slots, 0x97), b);
	srcu_read_unlock(&s->ms.srcu, idx);

	/* FLAGS_ONLY: dirty logging on gets a bitmap, off frees it. */
	gen = st_gen(s, 0);
	ST_EXPECT_EQ(st_set(s, 3, KVM_MEM_LOG_DIRTY_PAGES, 0x40, 1, ST_HVA_BASE + 0x200000), 0);
	ST_EXPECT_EQ(st_gen(s, 0), gen + 2);
	c = st_slot(s, 0, 3);
	ST_EXPECT(c && c->dirty_bitmap && kvm_slot_dirty_track_enabled(c));
	ST_EXPECT_EQ(s->ms.nr_memslots_dirty_logging, 1);
	ST_EXPECT_EQ(st_set(s, 3, 0, 0x40, 1, ST_HVA_BASE + 0x200000), 0);
	c = st_slot(s, 0, 3);
	ST_EXPECT(c && !c->dirty_bitmap);
	ST_EXPECT_EQ(s->ms.nr_memslots_dirty_logging, 0);

	/* DELETE: gone from every lookup, pages unaccounted. */
	gen = st_gen(s, 0);
	ST_EXPECT_EQ(st_del(s, 1), 0);
	ST_EXPECT_EQ(st_gen(s, 0), gen + 4);
	ST_EXPECT_NULL(st_slot(s, 0, 1));
	ST_EXPECT_EQ(s->ms.nr_memslot_pages, 0x19UL);
	idx = srcu_read_lock(&s->ms.srcu);
	ST_EXPECT_NULL(__gfn_to_memslot(kvm_memslots_as(&s->ms, 0), 0x10));
	srcu_read_unlock(&s->ms.srcu, idx);
	/* The freed id can be reused. */
	ST_EXPECT_EQ(st_set(s, 1, 0, 0x10, 0x10, ST_HVA_BASE), 0);
	ST_EXPECT_NOT_NULL(st_slot(s, 0, 1));
	st_slots_free(s);
	return st_result(ctx);
}

/* KVM_GET_DIRTY_LOG into @ub (user memory), or into NULL. */
static int st_get_log(struct st_slots *s, u32 slot, struct st_ubuf *ub)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = ub ? ub->u : NULL };

	return kvm_get_dirty_log_protect(&s->ms, &log);
}

static void st_mark(struct st_slots *s, int as_id, gfn_t gfn)
{
	int idx = srcu_read_lock(&s->ms.srcu);
	struct kvm_memslots *slots = kvm_memslots_as(&s->ms, as_id);

	mark_page_dirty_in_slot(&s->ms, __gfn_to_memslot(slots, gfn), gfn);
	srcu_read_unlock(&s->ms.srcu, idx);
}

/*
 * KVM_GET_DIRTY_LOG: the errnos, then a harvest returns exactly the pages
 * marked since the last one (and clears them), writing only the slot's
 * bytes of the caller's buffer.
 *
 *   slot 1: gfn 0x1000 .. 0x1081 (130 pages, 3 words), logging
 *   slot 2: gfn 0x2000 .. 0x203f, not logging
 */
ST_TEST(memslots_dirty_log_get)
{
	struct st_slots *s = st_slots_new(2);
	struct kvm_clear_dirty_log clear = { .slot = 1 };
	struct st_ubuf ub;
	unsigned long *bm;

	ST_ASSERT_NOT_NULL(s);
	if (st_ubuf_alloc(&ub, 4 * sizeof(*bm))) {
		st_slots_free(s);
		ST_FAIL_MSG("no user memory for the bitmap");
	}
	bm = ub.k;
	ST_EXPECT_EQ(st_set(s, 1, KVM_MEM_LOG_DIRTY_PAGES, 0x1000, 130, ST_HVA_BASE), 0);
	ST_EXPECT_EQ(st_set(s, 2, 0, 0x2000, 64, ST_HVA_BASE), 0);

	ST_EXPECT_EQ(kvm_get_dirty_log_protect(&s->ms, NULL), -EFAULT);
	ST_EXPECT_EQ(st_get_log(s, KVM_USER_MEM_SLOTS, &ub), -EINVAL);
	ST_EXPECT_EQ(st_get_log(s, 2 << 16 | 1, &ub), -EINVAL);
	ST_EXPECT_EQ(st_get_log(s, 9, &ub), -ENOENT);
	ST_EXPECT_EQ(st_get_log(s, 2, &ub), -ENOENT); /* not logging */
	ST_EXPECT_EQ(st_get_log(s, 1, NULL), -EFAULT);

	st_mark(s, 0, 0x1000);
	st_mark(s, 0, 0x1000 + 63);
	st_mark(s, 0, 0x1000 + 64);
	st_mark(s, 0, 0x1000 + 129);
	st_mark(s, 0, 0x2000);		/* not logging: a no-op */

	memset(bm, 0xff, ub.size);
	ST_EXPECT_EQ(st_get_log(s, 1, &ub), 0);
	ST_EXPECT_EQ(bm[0], 1UL | 1UL << 63);
	ST_EXPECT_EQ(bm[1], 1UL);
	ST_EXPECT_EQ(bm[2], 2UL);
	ST_EXPECT_EQ(bm[3], ~0UL);	/* past the slot's bytes: untouched */

	/* Harvested: the next get is empty. */
	ST_EXPECT_EQ(st_get_log(s, 1, &ub), 0);
	ST_EXPECT_EQ(bm[0] | bm[1] | bm[2], 0UL);

	/* A failed copy-out comes after the harvest: the bits are lost. */
	st_mark(s, 0, 0x1002);
	ST_EXPECT_EQ(st_get_log(s, 1, NULL), -EFAULT);
	ST_EXPECT_EQ(st_get_log(s, 1, &ub), 0);
	ST_EXPECT_EQ(bm[0], 0UL);

	/* KVM_CLEAR_DIRTY_LOG copies ALIGN(num_pages, 64) / 8 bytes: none for 0. */
	ST_EXPECT_EQ(kvm_clear_dirty_log_protect(&s->ms, &clear), 0);
	clear.num_pages = 64;
	ST_EXPECT_EQ(kvm_clear_dirty_log_protect(&s->ms, &clear), -EFAULT);

	/* A MOVE keeps the bitmap and its bits, relative to the slot. */
	st_mark(s, 0, 0x1003);
	ST_EXPECT_EQ(st_set(s, 1, KVM_MEM_LOG_DIRTY_PAGES, 0x3000, 130, ST_HVA_BASE), 0);
	ST_EXPECT_EQ(st_get_log(s, 1, &ub), 0);
	ST_EXPECT_EQ(bm[0], 1UL << 3);

	/* Address space 1 logs on its own. */
	ST_EXPECT_EQ(st_set(s, 1 << 16 | 1, KVM_MEM_LOG_DIRTY_PAGES, 0x1000, 64, ST_HVA_BASE), 0);
	st_mark(s, 1, 0x1001);
	ST_EXPECT_EQ(st_get_log(s, 1 << 16 | 1, &ub), 0);
	ST_EXPECT_EQ(bm[0], 2UL);
	ST_EXPECT_EQ(st_get_log(s, 1, &ub), 0);
	ST_EXPECT_EQ(bm[0], 0UL);
	st_ubuf_free(&ub);
	st_slots_free(s);
	return st_result(ctx);
}

/*
 * Every allocation of a create (with a dirty bitmap) and of a move, failed
 * in turn: -ENOMEM and nothing changed; then the update goes through.
 * Not ST_PARALLEL: the failure schedule is global.
 */
ST_TEST(memslots_alloc_failure)
{
#ifndef ENV_FAIL_INJECTION
	ST_SKIP_MSG("no allocation-failure schedule in this seam (the kernel's is failslab)");
#else
	struct st_slots *s = st_slots_new(1);
	struct kvm_memory_slot *slot;
	unsigned long nth;
	u64 gen;
	int r;

	ST_ASSERT_NOT_NULL(s);
	ST_EXPECT_EQ(st_set(s, 1, 0, 0x100, 0x200, ST_HVA_BASE), 0);
	for (nth = 1; nth < 32; nth++) {
		gen = st_gen(s, 0);
		env_fail_nth(nth);
		r = st_set(s, 2, KVM_MEM_LOG_DIRTY_PAGES, 0x1000, 0x400, ST_HVA_BASE);
		env_fail_clear();
		if (!r)
			break;
		ST_EXPECT_EQ(r, -ENOMEM);
		ST_EXPECT_NULL(st_slot(s, 0, 2));
		ST_EXPECT_EQ(s->ms.nr_memslot_pages, 0x200UL);
		ST_EXPECT_EQ(s->ms.nr_memslots_dirty_logging, 0);
		/* A failed update may have burnt generations, never gone back. */
		ST_EXPECT_GE(st_gen(s, 0), gen);
	}
	ST_EXPECT_GT(nth, 2UL);
	slot = st_slot(s, 0, 2);
	ST_EXPECT(slot && slot->dirty_bitmap);

	for (nth = 1; nth < 32; nth++) {
		env_fail_nth(nth);
		r = st_set(s, 1, 0, 0x800, 0x200, ST_HVA_BASE);
		env_fail_clear();
		if (!r)
			break;
		ST_EXPECT_EQ(r, -ENOMEM);
		slot = st_slot(s, 0, 1);
		ST_EXPECT(slot && slot->base_gfn == 0x100);
	}
	ST_EXPECT_GT(nth, 1UL);
	slot = st_slot(s, 0, 1);
	ST_EXPECT(slot && slot->base_gfn == 0x800);
	ST_EXPECT_EQ(s->ms.nr_memslot_pages, 0x600UL);
	st_slots_free(s);
	return st_result(ctx);
#endif
}
