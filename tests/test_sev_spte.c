// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/sev/sev_spte.c and the legacy MMU's side of Sean
 * Christopherson's pinned-SPTE RFC (mmusim_vm_config.sev_pin =
 * MMUSIM_SEV_PIN_SPTE; seeds-apis.md §3, docs/sev.md): a fault pins the page
 * with an extra reference and flushes it; the leaf carries SPTE_PINNED_MASK;
 * a zap keeps the pin in the zapped-pinned form and the refault unzaps it;
 * dropping the leaf is the only unpin.  The encryption checker judges each
 * scenario: what survives (swap, migration, compaction) and what the
 * reviewers predicted would not (a fast zap, NX recovery), and a VMM fork,
 * whose COW break moves a page the design holds by reference only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include <mmusim/env.h>
#include <mmusim/host.h>
#include <mmusim/sev.h>
#include <mmusim/vm.h>

#define MiB (1ULL << 20)

/*
 * The MMU the tests run on: the legacy MMU (the RFC's), and again on the
 * TDP MMU (the _tdp variants) to show what the design does there.
 */
static int spte_mmu = MMUSIM_MMU_LEGACY;
#define TDP_VARIANT(fn)                       \
	static void fn##_tdp(void **state)    \
	{                                     \
		spte_mmu = MMUSIM_MMU_TDP;    \
		fn(state);                    \
		spte_mmu = MMUSIM_MMU_LEGACY; \
	}

static void spte_vm(struct test_vm *t, u64 size, int map_flags)
{
	struct test_vm_opts o = { .host_mem = 64 * MiB, .size = size, .map_flags = map_flags };

	o.cfg.mmu = spte_mmu;
	o.cfg.sev = true;
	o.cfg.sev_pin = MMUSIM_SEV_PIN_SPTE;
	test_vm_create(t, &o);
}

static struct mmusim_vm_stats vm_stats(struct test_vm *t)
{
	struct mmusim_vm_stats st;

	assert_int_equal(mmusim_vm_get_stats(t->vm, &st), 0);
	return st;
}

static void assert_clean(struct test_vm *t)
{
	char msg[160];

	assert_int_equal(mmusim_vm_sev_check(t->vm, msg, sizeof(msg)), 0);
	test_vm_check(t);
}

/* The checker's first report is a move of @gfn's data by @event. */
static void assert_lost(struct test_vm *t, gfn_t gfn, u32 event)
{
	struct mmusim_sev_report rep;

	assert_true(mmusim_vm_sev_get_reports(t->vm, &rep, 1) >= 1);
	assert_int_equal(rep.kind, MMUSIM_SEV_MOVED);
	assert_int_equal(rep.event, event);
	assert_int_equal(rep.gfn, gfn);
}

/*
 * §3.3/§3.5: a fault pins (the mapping's reference and the pin's), the pin
 * stops migration and compaction; a gfn-range zap makes the leaves
 * zapped-pinned (pins kept, rmaps kept, no longer counted as mappings);
 * the refault unzaps them (RET_PF_UNZAPPED: same pfn, no new pin).
 *
 *   gfn 0 .. 7 written (the fault at 0 prefetches 1..7), all pinned
 *   zap 0 .. 511 -> 8 zapped-pinned; read 3 -> unzapped with its neighbours
 */
static void test_spte_pin_lifecycle(void **state)
{
	struct mmusim_sev_stats st;
	struct test_vm t;
	u64 moved, i;

	spte_vm(&t, 2 * MiB, 0);
	for (i = 0; i < 8; i++)
		test_guest_put64(&t, i, 0x1000 + i);
	st = test_sev_stats(&t);
	assert_int_equal(st.pin_strategy, MMUSIM_SEV_PIN_SPTE);
	assert_int_equal(st.pins_taken, 8);
	assert_int_equal(st.pages_pinned, 8);
	assert_int_equal(st.clflush_pages, 8);
	assert_int_equal(test_host_page_count(&t, t.hva), 2);
	assert_int_equal(sim_migrate_range(t.mm, t.hva, 8 * PAGE_SIZE, &moved), -EBUSY);
	assert_int_equal(moved, 0);
	assert_int_equal(sim_compact_range(t.mm, t.hva, 8 * PAGE_SIZE, &moved), 0);
	assert_int_equal(moved, 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(test_guest_get64(&t, i), 0x1000 + i);
	assert_clean(&t);

	/* A zap keeps every pin: the leaves become zapped-pinned, rmaps kept. */
	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, -1, 0, 512), 0);
	st = test_sev_stats(&t);
	assert_int_equal(st.pins_dropped, 0);
	assert_int_equal(st.pins_zapped, 8);
	assert_int_equal(st.pages_pinned, 8);
	assert_int_equal(vm_stats(&t).pages_4k, 0);
	assert_int_equal(test_host_page_count(&t, t.hva), 2);
	test_vm_check(&t); /* the rmap audit counts zapped-pinned leaves */
	/* A second zap finds nothing to do. */
	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, -1, 0, 512), 0);
	assert_int_equal(test_sev_stats(&t).pins_zapped, 8);

	/* The refault maps the same pfn with the same pin; prefetch unzaps too. */
	assert_int_equal(test_guest_get64(&t, 3), 0x1003);
	st = test_sev_stats(&t);
	assert_int_equal(st.pins_taken, 8);
	assert_true(st.pins_unzapped >= 1);
	assert_int_equal(vm_stats(&t).pages_4k, st.pins_unzapped);
	for (i = 0; i < 8; i++)
		assert_int_equal(test_guest_get64(&t, i), 0x1000 + i);
	st = test_sev_stats(&t);
	assert_int_equal(st.pins_unzapped, 8);
	assert_int_equal(st.pins_taken, 8);
	assert_int_equal(st.pages_pinned, 8);
	assert_clean(&t);
	test_vm_destroy(&t);
}

/*
 * The MMU-notifier zap of a swap-out, which came before the pin was kept
 * and lost the data: the leaf becomes zapped-pinned, the pin's reference
 * makes the swap's refcount freeze fail, the page stays, and the refault
 * finds the guest's data where it was.  The checker reports nothing.
 */
static void test_spte_pin_survives_swap(void **state)
{
	struct sim_host_pte_info info, after;
	struct mmusim_sev_stats st;
	struct test_vm t;

	spte_vm(&t, 2 * MiB, 0);
	test_guest_put64(&t, 2, 0xfeedface);
	assert_int_equal(sim_mm_lookup(t.mm, t.hva + 2 * PAGE_SIZE, &info), 0);
	assert_int_equal(sim_swap_out(t.mm, t.hva + 2 * PAGE_SIZE), -EBUSY);
	st = test_sev_stats(&t);
	assert_int_equal(st.pins_zapped, 1);
	assert_int_equal(st.pages_pinned, 1);
	assert_int_equal(test_guest_get64(&t, 2), 0xfeedface);
	assert_int_equal(sim_mm_lookup(t.mm, t.hva + 2 * PAGE_SIZE, &after), 0);
	assert_int_equal(after.pfn, info.pfn);
	assert_int_equal(test_sev_stats(&t).pins_unzapped, 1);
	assert_clean(&t);
	test_vm_destroy(&t);
}

/*
 * The refault must map the pfn still pinned (WARN otherwise).  A host that
 * replaces the mapping (munmap, then a new mmap at the same address) hands
 * the refault another page: the WARN fires, the old leaf and its pin are
 * dropped and the new page is pinned afresh.
 */
static void test_spte_pin_unzap_other_pfn(void **state)
{
	struct mmusim_sev_stats st;
	struct test_vm t;
	hva_t hva;

	spte_vm(&t, 2 * MiB, 0);
	test_guest_put64(&t, 0, 1);
	assert_int_equal(sim_munmap(t.mm, t.hva, PAGE_SIZE), 0);
	assert_int_equal(test_sev_stats(&t).pins_zapped, 1);
	assert_int_equal(sim_mmap(t.mm, t.hva, PAGE_SIZE, SIM_PROT_READ | SIM_PROT_WRITE,
				  SIM_MAP_PRIVATE | SIM_MAP_FIXED, &hva),
			 0);
	assert_int_equal(hva, t.hva);
	env_warn_count_reset();
	test_guest_put64(&t, 0, 2);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	st = test_sev_stats(&t);
	assert_int_equal(st.pins_dropped, 1);
	assert_int_equal(st.pins_unzapped, 0);
	assert_int_equal(test_host_page_count(&t, t.hva), 2);
	assert_int_equal(test_guest_get64(&t, 0), 2);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * The RFC's pin is a page reference, not a FOLL_PIN, so a VMM fork does not
 * see it (page_needs_cow_for_dma() looks for pins) and shares the page
 * copy-on-write; its notifier event zaps the leaf to zapped-pinned.  The
 * guest's next write faults with FOLL_WRITE, which breaks COW in the VMM:
 * the refault finds another pfn than the one pinned, the WARN fires, the
 * old pin is dropped, and the guest's ciphertext, now in the copy, decrypts
 * to garbage (a SIM_FRAME_COW report).
 *
 *   gfn 2: written, pinned; fork; the guest writes its last word -> lost
 */
static void test_spte_pin_lost_fork(void **state)
{
	u64 w = 0x1122334455667788ULL;
	kvm_pfn_t old_pfn, new_pfn;
	struct mmusim_sev_stats st;
	struct mmusim_sev_report rep;
	struct sim_mm *child;
	struct test_vm t;

	spte_vm(&t, 2 * MiB, 0);
	test_guest_put64(&t, 2, 0xfeedface);
	old_pfn = test_host_pfn(&t, t.hva + 2 * PAGE_SIZE);
	assert_int_equal(test_host_page_count(&t, t.hva + 2 * PAGE_SIZE), 2);
	assert_int_equal(sim_mm_fork(t.mm, &child), 0);
	/* Shared with the child despite the pin: 3 references, no copy for the child. */
	assert_int_equal(test_host_page_count(&t, t.hva + 2 * PAGE_SIZE), 3);
	assert_true(test_sev_stats(&t).pins_zapped >= 1);

	env_warn_count_reset();
	assert_int_equal(mmusim_vcpu_write(mmusim_vm_vcpu(t.vm, 0), 3 * PAGE_SIZE - sizeof(w), &w,
					   sizeof(w)),
			 0);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	new_pfn = test_host_pfn(&t, t.hva + 2 * PAGE_SIZE);
	assert_true(new_pfn != old_pfn);
	st = test_sev_stats(&t);
	assert_true(st.pins_dropped >= 1);
	assert_true(test_guest_get64(&t, 2) != 0xfeedface);
	assert_lost(&t, 2, SIM_FRAME_COW);
	assert_true(mmusim_vm_sev_get_reports(t.vm, &rep, 1) >= 1);
	assert_int_equal(rep.old_pfn, old_pfn);
	assert_int_equal(rep.new_pfn, new_pfn);
	sim_mm_destroy(child);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * Shadow pages freed drop their pins (the RFC's only unpin point), and a
 * fast zap frees them all: with the default KVM_X86_QUIRK_SLOT_ZAP_ALL,
 * deleting any memslot does one.  The guest's other slot is unpinned while
 * the guest runs, and a host migration then loses its data: the reviewers'
 * "pins dropped on memslot-wide zaps", reproduced.
 *
 *   slot 0: gfn 0 .. 511, guest data at gfn 5 (pinned)
 *   slot 1: gfn 0x1000 (one page), deleted -> kvm_mmu_zap_all_fast()
 */
static void test_spte_pin_lost_fast_zap(void **state)
{
	struct mmusim_sev_stats st;
	struct test_vm t;
	hva_t hva;
	u64 moved;

	spte_vm(&t, 2 * MiB, 0);
	test_guest_put64(&t, 5, 0xabcd);
	assert_int_equal(
		sim_mmap(t.mm, 0, PAGE_SIZE, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &hva),
		0);
	test_vm_set_region(&t, 1, 0x1000000, PAGE_SIZE, hva);
	test_vm_set_region(&t, 1, 0x1000000, 0, hva);
	st = test_sev_stats(&t);
	assert_int_equal(st.pins_dropped, 1);
	assert_int_equal(st.pages_pinned, 0);
	assert_int_equal(sim_migrate_range(t.mm, t.hva, 8 * PAGE_SIZE, &moved), 0);
	assert_int_equal(moved, 1);
	assert_int_not_equal(test_guest_get64(&t, 5), 0xabcd);
	assert_lost(&t, 5, SIM_FRAME_MIGRATE);
	test_vm_destroy(&t);
}

/*
 * Without the quirk, a memslot's own deletion drops its leaves, zapped-
 * pinned ones included (their rmaps go with the slot), and only its pins;
 * the pages are the VMM's again.
 */
static void test_spte_pin_memslot_delete(void **state)
{
	struct test_vm_opts o = { .host_mem = 64 * MiB, .size = 2 * MiB };
	struct mmusim_sev_stats st;
	struct test_vm t;
	hva_t hva;

	o.cfg.mmu = spte_mmu;
	o.cfg.sev = true;
	o.cfg.sev_pin = MMUSIM_SEV_PIN_SPTE;
	o.cfg.no_slot_zap_all = true;
	test_vm_create(&t, &o);
	assert_int_equal(
		sim_mmap(t.mm, 0, 2 * MiB, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &hva),
		0);
	test_vm_set_region(&t, 1, 0x1000000, 2 * MiB, hva);
	test_guest_put64(&t, 1, 7);
	test_guest_put64(&t, 0x1000, 8);
	assert_int_equal(test_sev_stats(&t).pages_pinned, 2);
	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, -1, 0x1000, 0x1008), 0);
	assert_int_equal(test_sev_stats(&t).pins_zapped, 1);
	test_vm_set_region(&t, 1, 0x1000000, 0, hva);
	st = test_sev_stats(&t);
	assert_int_equal(st.pins_dropped, 1);
	assert_int_equal(st.pages_pinned, 1);
	assert_int_equal(test_host_page_count(&t, hva), 1);
	assert_int_equal(test_guest_get64(&t, 1), 7);
	assert_clean(&t);
	test_vm_destroy(&t);
}

/*
 * An SEV guest with NX huge pages (recovery @ratio) on 4 MiB of THP memory:
 * the first THP's hva in *@thp, its gfn returned.
 */
static gfn_t nx_thp_vm(struct test_vm *t, int ratio, hva_t *thp)
{
	struct test_vm_opts o = { .host_mem = 64 * MiB, .size = 4 * MiB };

	o.cfg.mmu = spte_mmu;
	o.cfg.sev = true;
	o.cfg.sev_pin = MMUSIM_SEV_PIN_SPTE;
	o.cfg.nx_huge_pages = true;
	o.cfg.nx_huge_pages_recovery_ratio = ratio;
	o.map_flags = SIM_MAP_PRIVATE | SIM_MAP_THP;
	test_vm_create(t, &o);
	*thp = ALIGN(t->hva, 2 * MiB);
	return (*thp - t->hva) >> PAGE_SHIFT;
}

/*
 * NX huge pages: an exec fault in a huge-eligible region maps 4K leaves in
 * a table NX recovery may zap; the recovery frees the table and with it
 * the pins of the guest's data, which the host may then move: the
 * reviewers' "shadow-page recycling" failure, reproduced (on both MMUs).
 *
 *   THP at gfn G .. G+511: exec G+3 (4K table, pinned), write G+3
 *   recover_nx_huge_pages -> table freed, 8 pins dropped; migrate -> lost
 */
static void test_spte_pin_lost_nx_recovery(void **state)
{
	struct mmusim_sev_stats st;
	struct test_vm t;
	u64 moved;
	hva_t thp;
	gfn_t gfn;

	gfn = nx_thp_vm(&t, 1, &thp);
	assert_int_equal(mmusim_vcpu_access(mmusim_vm_vcpu(t.vm, 0), (gfn + 3) << PAGE_SHIFT,
					    MMUSIM_ACCESS_EXEC, NULL),
			 0);
	test_guest_put64(&t, gfn + 3, 0x5ca1ab1e);
	st = test_sev_stats(&t);
	assert_true(st.pages_pinned >= 1);
	assert_int_equal(vm_stats(&t).nx_lpage_splits, 1);
	assert_int_equal(mmusim_vm_recover_nx_huge_pages(t.vm), 0);
	st = test_sev_stats(&t);
	assert_int_equal(st.pages_pinned, 0);
	assert_int_equal(st.pins_dropped, st.pins_taken);
	assert_int_equal(sim_migrate_range(t.mm, thp, 2 * MiB, &moved), 0);
	assert_true(moved > 0);
	assert_int_not_equal(test_guest_get64(&t, gfn + 3), 0x5ca1ab1e);
	assert_true(mmusim_vm_sev_get_reports(t.vm, NULL, 0) >= 1);
	test_vm_destroy(&t);
}

/*
 * The TDP MMU splits a huge leaf in place when a 4K fault lands under it
 * (here the NX huge page split of an exec fault).  The pin was the huge
 * leaf's, one reference on the THP; the table of 512 children replaces the
 * leaf, the pin goes, and no child holds one (the exec fault finds its 4K
 * child present and executable, so nothing faults to pin again).  The
 * whole 2M of guest data is the host's to move.  The legacy MMU drops the
 * huge leaf too (drop_large_spte()), but its exec fault then maps and pins
 * a 4K leaf, whose reference keeps the THP where it is.
 *
 *   THP at gfn G .. G+511: write G+5 (2M leaf, pinned), exec G+3
 */
static void test_spte_pin_nx_split(void **state)
{
	struct mmusim_sev_stats st;
	struct test_vm t;
	u64 moved;
	hva_t thp;
	gfn_t gfn;
	int r;

	gfn = nx_thp_vm(&t, 0, &thp);
	test_guest_put64(&t, gfn + 5, 0x1234);
	assert_int_equal(vm_stats(&t).pages_2m, 1);
	assert_int_equal(test_sev_stats(&t).pins_taken, 1);
	assert_int_equal(mmusim_vcpu_access(mmusim_vm_vcpu(t.vm, 0), (gfn + 3) << PAGE_SHIFT,
					    MMUSIM_ACCESS_EXEC, NULL),
			 0);
	st = test_sev_stats(&t);
	assert_int_equal(st.pins_dropped, 1);
	r = sim_migrate_range(t.mm, thp, 2 * MiB, &moved);
	if (spte_mmu == MMUSIM_MMU_TDP) {
		assert_int_equal(st.pages_pinned, 0);
		assert_int_equal(r, 0);
		assert_true(moved > 0);
		assert_int_not_equal(test_guest_get64(&t, gfn + 5), 0x1234);
		assert_lost(&t, gfn + 5, SIM_FRAME_MIGRATE);
	} else {
		assert_true(st.pages_pinned >= 1); /* the exec leaf and its prefetched neighbours */
		assert_int_equal(moved, 0);
		assert_int_equal(test_guest_get64(&t, gfn + 5), 0x1234);
		assert_clean(&t);
	}
	test_vm_destroy(&t);
}

/*
 * Dirty logging and collapsible zapping skip pinned leaves (the RFC WARNed;
 * mmusim counts): enabling logging write-protects nothing pinned, so the
 * guest's writes are not logged; disabling it zaps no pinned leaf.
 */
static void test_spte_pin_dirty_log_skips(void **state)
{
	struct kvm_userspace_memory_region r;
	struct kvm_dirty_log log = { .slot = 0 };
	unsigned long bitmap[512 / (8 * sizeof(long))] = { 0 };
	struct mmusim_sev_stats st;
	struct test_vm t;
	u64 skipped;

	spte_vm(&t, 2 * MiB, 0);
	test_guest_put64(&t, 0, 1);
	assert_int_equal(mmusim_vm_get_memslot(t.vm, 0, &r), 0);
	r.flags = KVM_MEM_LOG_DIRTY_PAGES;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	skipped = vm_stats(&t).pinned_sptes_skipped;
	assert_true(skipped >= 1);
	test_guest_put64(&t, 2, 3); /* a new leaf: its fault logs it (and pins it) */
	test_guest_put64(&t, 0, 4); /* through the pinned leaf logging left writable */
	log.dirty_bitmap = bitmap;
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_true(bitmap[0] & (1ul << 2));
	assert_false(bitmap[0] & 1ul); /* the write went unlogged */
	r.flags = 0;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	assert_true(vm_stats(&t).pinned_sptes_skipped > skipped);
	st = test_sev_stats(&t);
	assert_int_equal(st.pins_dropped, 0);
	assert_int_equal(st.pages_pinned, 2);
	assert_int_equal(test_guest_get64(&t, 2), 3);
	assert_int_equal(test_guest_get64(&t, 0), 4);
	assert_clean(&t);
	test_vm_destroy(&t);
}

/*
 * The zero page is not pinned: a read of untouched memory maps it
 * unpinned, the guest's first write COWs it (change_pte inside the
 * invalidation), and the new page is pinned, with no WARN.
 */
static void test_spte_pin_zero_page(void **state)
{
	struct test_vm_opts o = { .host_mem = 64 * MiB, .size = 2 * MiB };
	struct test_vm t;
	u64 v;

	o.cfg.mmu = spte_mmu;
	o.cfg.sev = true;
	o.cfg.sev_pin = MMUSIM_SEV_PIN_SPTE;
	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vcpu_read(mmusim_vm_vcpu(t.vm, 0), 0, &v, 8), 0);
	assert_int_equal(test_sev_stats(&t).pins_taken, 0);
	test_guest_put64(&t, 0, 9);
	assert_int_equal(test_sev_stats(&t).pins_taken, 1);
	assert_int_equal(test_host_page_count(&t, t.hva), 2);
	assert_int_equal(test_guest_get64(&t, 0), 9);
	assert_clean(&t);
	test_vm_destroy(&t);
}

/*
 * kvm_mmu_map_tdp_page() (patch 7/8): a user write fault from the caller,
 * which pins like a guest fault and returns the pfn; a user read for a
 * read-only memslot; -ERESTARTSYS with a signal pending; -ENOENT without a
 * memslot.
 *
 *   slot 0: gfn 0 .. 511 (RW); slot 1: gfn 0x1000 (RO, VMM wrote it)
 */
static void test_spte_map_tdp_page(void **state)
{
	struct kvm_userspace_memory_region ro;
	struct mmusim_vcpu *vcpu;
	struct sim_host_pte_info info;
	struct test_vm t;
	u64 pfn, v = 0;
	hva_t hva;

	spte_vm(&t, 2 * MiB, 0);
	vcpu = mmusim_vm_vcpu(t.vm, 0);
	assert_int_equal(mmusim_vcpu_map_tdp_page(vcpu, 7 << PAGE_SHIFT, &pfn), 0);
	assert_int_equal(sim_mm_lookup(t.mm, t.hva + 7 * PAGE_SIZE, &info), 0);
	assert_int_equal(pfn, info.pfn);
	assert_true(info.writable); /* a write fault: the host page is the guest's own */
	assert_int_equal(test_sev_stats(&t).pins_taken, 1);
	assert_int_equal(test_host_page_count(&t, t.hva + 7 * PAGE_SIZE), 2);
	/* Again: spurious, same pfn, no second pin. */
	assert_int_equal(mmusim_vcpu_map_tdp_page(vcpu, (7 << PAGE_SHIFT) + 5, &pfn), 0);
	assert_int_equal(pfn, info.pfn);
	assert_int_equal(test_sev_stats(&t).pins_taken, 1);

	assert_int_equal(sim_mmap(t.mm, 0, PAGE_SIZE, SIM_PROT_READ | SIM_PROT_WRITE,
				  SIM_MAP_PRIVATE | SIM_MAP_POPULATE, &hva),
			 0);
	ro = (struct kvm_userspace_memory_region){ .slot = 1,
						   .flags = KVM_MEM_READONLY,
						   .guest_phys_addr = 0x1000000,
						   .memory_size = PAGE_SIZE,
						   .userspace_addr = hva };
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &ro), 0);
	assert_int_equal(mmusim_vcpu_map_tdp_page(vcpu, 0x1000000, &pfn), 0);
	assert_int_equal(sim_mm_lookup(t.mm, hva, &info), 0);
	assert_int_equal(pfn, info.pfn);
	assert_int_equal(test_sev_stats(&t).pins_taken, 2);

	assert_int_equal(mmusim_vcpu_map_tdp_page(vcpu, 0x2000000, &pfn), -ENOENT);
	assert_int_equal(sim_mm_set_signal(t.mm, SIM_SIGNAL_PENDING), 0);
	assert_int_equal(mmusim_vcpu_map_tdp_page(vcpu, 8 << PAGE_SHIFT, &pfn), -ERESTARTSYS);
	assert_int_equal(sim_mm_set_signal(t.mm, SIM_SIGNAL_NONE), 0);
	assert_int_equal(test_sev_stats(&t).pins_taken, 2);
	assert_int_equal(mmusim_vcpu_read(vcpu, 7 << PAGE_SHIFT, &v, sizeof(v)), 0);
	assert_clean(&t);
	test_vm_destroy(&t);
}

/* A 2M leaf is one pin on the THP, and a flush of its 512 pages. */
static void test_spte_pin_huge(void **state)
{
	struct mmusim_sev_stats st;
	struct test_vm t;
	hva_t thp;
	gfn_t gfn;

	spte_vm(&t, 4 * MiB, SIM_MAP_PRIVATE | SIM_MAP_THP);
	thp = ALIGN(t.hva, 2 * MiB);
	gfn = (thp - t.hva) >> PAGE_SHIFT;
	test_guest_put64(&t, gfn + 5, 42);
	st = test_sev_stats(&t);
	assert_int_equal(st.pins_taken, 1);
	assert_int_equal(st.clflush_pages, 512);
	assert_int_equal(test_host_page_count(&t, thp), 2);
	assert_int_equal(sim_split_thp(t.mm, thp), -EBUSY);
	assert_int_equal(test_guest_get64(&t, gfn + 5), 42);
	test_vm_destroy(&t);
}

/*
 * VM destroy frees every table, so every pin goes, present leaves' and
 * zapped-pinned ones': the pages are the VMM's again.
 */
static void test_spte_pin_destroy(void **state)
{
	struct mmusim_sev_stats st;
	struct test_vm t;
	u64 i;

	spte_vm(&t, 2 * MiB, 0);
	for (i = 0; i < 16; i++)
		test_guest_put64(&t, i, i);
	assert_int_equal(test_host_page_count(&t, t.hva), 2);
	/* Zapped-pinned leaves go with their tables like present ones (RFC 4/8). */
	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, -1, 0, 8), 0);
	st = test_sev_stats(&t);
	assert_int_equal(st.pins_zapped, 8);
	assert_int_equal(st.pages_pinned, 16);
	mmusim_vm_destroy(t.vm);
	t.vm = NULL;
	for (i = 0; i < 16; i++)
		assert_int_equal(test_host_page_count(&t, t.hva + i * PAGE_SIZE), 1);
	assert_int_equal(sim_migrate_page(t.mm, t.hva), 0);
	test_vm_destroy(&t);
}

/* An SEV guest on either MMU, or -EINVAL; a VM without the hooks pins nothing. */
static void test_spte_pin_config(void **state)
{
	struct mmusim_vm_config cfg = { .sev = true, .sev_pin = MMUSIM_SEV_PIN_SPTE };
	struct test_vm_opts o = { .host_mem = 64 * MiB, .size = 2 * MiB };
	struct mmusim_vm *vm;
	struct test_vm t;

	o.cfg.mmu = spte_mmu;
	o.cfg.sev = true;
	test_vm_create(&t, &o);
	test_guest_put64(&t, 0, 1);
	assert_int_equal(test_sev_stats(&t).pins_taken, 0);
	assert_int_equal(test_host_page_count(&t, t.hva), 1);
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &cfg, &vm), 0); /* TDP MMU */
	mmusim_vm_destroy(vm);
	cfg.mmu = MMUSIM_MMU_LEGACY;
	cfg.sev = false;
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &cfg, &vm), -EINVAL); /* not SEV */
	test_vm_destroy(&t);
}

#define CONC_PAGES 128

/*
 * Two vCPUs fault (on the TDP MMU under the read lock: pins taken before
 * a cmpxchg that may lose, unzaps racing each other) while the host
 * migrates, compacts, swaps and zaps (zapped-pinned, then unzapped).  Every
 * value survives, the checker is clean, each page is pinned exactly once,
 * and every pin taken is held or dropped.  Randomized: prints its seed.
 */
static void test_spte_pin_concurrent(void **state)
{
	struct test_vm_opts o = { .host_mem = 64 * MiB, .size = 2 * MiB };
	struct test_churn c = { .seed = mmusim_test_seed(), .npages = CONC_PAGES, .zap = true };
	struct mmusim_sev_stats st;
	struct test_vm t;

	print_message("seed %llu\n", (unsigned long long)c.seed);
	o.cfg.mmu = spte_mmu;
	o.cfg.nr_vcpus = 2;
	o.cfg.sev = true;
	o.cfg.sev_pin = MMUSIM_SEV_PIN_SPTE;
	test_vm_create(&t, &o);
	c.t = &t;
	test_churn_two_vcpus(&c, 10);
	st = test_sev_stats(&t);
	assert_int_equal(st.pages_pinned, CONC_PAGES);
	assert_int_equal(st.pins_taken - st.pins_dropped, CONC_PAGES);
	assert_clean(&t);
	test_vm_destroy(&t);
}

TDP_VARIANT(test_spte_pin_lifecycle)
TDP_VARIANT(test_spte_pin_survives_swap)
TDP_VARIANT(test_spte_pin_unzap_other_pfn)
TDP_VARIANT(test_spte_pin_lost_fast_zap)
TDP_VARIANT(test_spte_pin_lost_fork)
TDP_VARIANT(test_spte_pin_memslot_delete)
TDP_VARIANT(test_spte_pin_lost_nx_recovery)
TDP_VARIANT(test_spte_pin_dirty_log_skips)
TDP_VARIANT(test_spte_pin_zero_page)
TDP_VARIANT(test_spte_map_tdp_page)
TDP_VARIANT(test_spte_pin_huge)
TDP_VARIANT(test_spte_pin_nx_split)
TDP_VARIANT(test_spte_pin_concurrent)
TDP_VARIANT(test_spte_pin_destroy)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_spte_pin_lifecycle),
		MMUSIM_TEST(test_spte_pin_survives_swap),
		MMUSIM_TEST(test_spte_pin_unzap_other_pfn),
		MMUSIM_TEST(test_spte_pin_lost_fast_zap),
		MMUSIM_TEST(test_spte_pin_lost_fork),
		MMUSIM_TEST(test_spte_pin_memslot_delete),
		MMUSIM_TEST(test_spte_pin_lost_nx_recovery),
		MMUSIM_TEST(test_spte_pin_dirty_log_skips),
		MMUSIM_TEST(test_spte_pin_zero_page),
		MMUSIM_TEST(test_spte_map_tdp_page),
		MMUSIM_TEST(test_spte_pin_huge),
		MMUSIM_TEST(test_spte_pin_destroy),
		MMUSIM_TEST(test_spte_pin_config),
		MMUSIM_TEST(test_spte_pin_lifecycle_tdp),
		MMUSIM_TEST(test_spte_pin_survives_swap_tdp),
		MMUSIM_TEST(test_spte_pin_unzap_other_pfn_tdp),
		MMUSIM_TEST(test_spte_pin_lost_fast_zap_tdp),
		MMUSIM_TEST(test_spte_pin_lost_fork_tdp),
		MMUSIM_TEST(test_spte_pin_memslot_delete_tdp),
		MMUSIM_TEST(test_spte_pin_lost_nx_recovery_tdp),
		MMUSIM_TEST(test_spte_pin_dirty_log_skips_tdp),
		MMUSIM_TEST(test_spte_pin_zero_page_tdp),
		MMUSIM_TEST(test_spte_map_tdp_page_tdp),
		MMUSIM_TEST(test_spte_pin_huge_tdp),
		MMUSIM_TEST(test_spte_pin_nx_split),
		MMUSIM_TEST(test_spte_pin_nx_split_tdp),
		MMUSIM_TEST(test_spte_pin_concurrent),
		MMUSIM_TEST(test_spte_pin_concurrent_tdp),
		MMUSIM_TEST(test_spte_pin_destroy_tdp),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("sev_spte", tests);
}
