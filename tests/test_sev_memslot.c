// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/sev/sev_memslot.c: SEV demand pinning with per-memslot
 * metadata (Nikunj Dadhania's RFC v1, mmusim_vm_config.sev_pin =
 * MMUSIM_SEV_PIN_MEMSLOT), on the TDP MMU and (the _legacy variants) the
 * legacy MMU.  A fault pins its page once and records it in the slot;
 * the pin outlives zaps and memslot moves, goes with a memslot delete or
 * the VM, and the encryption checker finds no lost data under host churn.
 *
 * Layout (unless a test says otherwise): slot 0 maps gfn 0..511 (2 MiB)
 * at t.hva, 4K pages.
 *
 *	gfn  0         8                       511
 *	     [written ][ untouched ...           ]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include <mmusim/env.h>
#include <mmusim/host.h>
#include <mmusim/sev.h>
#include <mmusim/vm.h>
#include "pfn/kvm_pfn.h"

#define MiB (1ULL << 20)

static void memslot_vm_opts(struct test_vm *t, struct test_vm_opts *o)
{
	if (!o->host_mem)
		o->host_mem = 64 * MiB;
	o->cfg.sev = true;
	o->cfg.sev_pin = MMUSIM_SEV_PIN_MEMSLOT;
	test_vm_create(t, o);
}

static void memslot_vm(struct test_vm *t, u64 size, int map_flags)
{
	struct test_vm_opts o = { .size = size, .map_flags = map_flags };

	memslot_vm_opts(t, &o);
}

static u64 host_pinned_pages(struct test_vm *t)
{
	struct sim_host_stats hs;

	assert_int_equal(sim_host_get_stats(t->host, &hs), 0);
	return hs.pinned_pages;
}

#define put test_guest_put64
#define get test_guest_get64

static void assert_clean(struct test_vm *t)
{
	char msg[192] = "";
	int r = mmusim_vm_sev_check(t->vm, msg, sizeof(msg));

	if (r)
		print_error("%s\n", msg);
	assert_int_equal(r, 0);
}

/*
 * Each first fault pins once (pin_pfn after the huge-page adjust), the
 * fault's own FOLL_PIN goes back, a refault of the same pfn pins nothing
 * new, and the host can no longer move, compact or swap the pages.
 */
static void test_demand_pin_lifecycle(void **state)
{
	struct mmusim_sev_stats st;
	struct test_vm t;
	u64 moved, i;

	memslot_vm(&t, 2 * MiB, 0);
	assert_int_equal(test_sev_stats(&t).pin_strategy, MMUSIM_SEV_PIN_MEMSLOT);
	for (i = 0; i < 8; i++)
		put(&t, i, 0x1000 + i);
	st = test_sev_stats(&t);
	/* One pin per page: the legacy MMU's prefetch is off in encrypted slots. */
	assert_int_equal(st.pins_taken, 8);
	assert_int_equal(st.pages_pinned, 8);
	assert_int_equal(st.pins_dropped, 0);
	assert_int_equal(st.pages_locked, 0); /* nothing registered: no charge */
	assert_true(st.clflush_pages >= 8);
	/* The mapping's reference and one pin: the fault's own pin was released. */
	assert_int_equal(test_host_page_count(&t, t.hva), 1 + SIM_GUP_PIN_COUNTING_BIAS);
	assert_int_equal(host_pinned_pages(&t), 8);
	/* Zap and refault: same gfn, same pfn, no new pin. */
	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, -1, 0, 512), 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(get(&t, i), 0x1000 + i);
	st = test_sev_stats(&t);
	assert_int_equal(st.pins_taken, 8);
	assert_int_equal(st.pages_pinned, 8);
	/* The host cannot move them. */
	assert_int_equal(sim_migrate_range(t.mm, t.hva, 8 * PAGE_SIZE, &moved), -EBUSY);
	assert_int_equal(moved, 0);
	assert_int_equal(sim_compact_range(t.mm, t.hva, 8 * PAGE_SIZE, &moved), 0);
	assert_int_equal(moved, 0);
	for (i = 0; i < 8; i++)
		sim_swap_out(t.mm, t.hva + i * PAGE_SIZE);
	for (i = 0; i < 8; i++)
		assert_int_equal(get(&t, i), 0x1000 + i);
	assert_clean(&t);
	test_vm_check(&t);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_demand_pin_lifecycle)

/*
 * A read pins too (FOLL_LONGTERM unshares the zero page into a page of its
 * own), and the later write finds the same pfn: still one pin.
 */
static void test_read_then_write(void **state)
{
	struct test_vm t;
	u64 moved;

	memslot_vm(&t, 2 * MiB, 0);
	get(&t, 5); /* zeros decrypt to garbage: what is read does not matter */
	assert_int_equal(test_sev_stats(&t).pins_taken, 1);
	put(&t, 5, 0xabc);
	assert_int_equal(test_sev_stats(&t).pins_taken, 1);
	assert_int_equal(sim_migrate_range(t.mm, t.hva + 5 * PAGE_SIZE, PAGE_SIZE, &moved), -EBUSY);
	assert_int_equal(get(&t, 5), 0xabc);
	assert_clean(&t);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_read_then_write)

/*
 * Same gfn, different pfn: the VMM drops the page (MADV_DONTNEED; the pin
 * keeps the old frame alive), the guest faults a new one in: the old page
 * is flushed and unpinned, the new one pinned; the old frame then goes
 * back to the host without dirty lines.
 */
static void test_same_gfn_new_pfn(void **state)
{
	struct mmusim_sev_stats st;
	kvm_pfn_t old, new;
	struct test_vm t;
	u64 flushed;

	memslot_vm(&t, 2 * MiB, 0);
	put(&t, 3, 0x33);
	old = test_host_pfn(&t, t.hva + 3 * PAGE_SIZE);
	flushed = test_sev_stats(&t).clflush_pages;
	assert_int_equal(sim_madvise(t.mm, t.hva + 3 * PAGE_SIZE, PAGE_SIZE, SIM_MADV_DONTNEED), 0);
	/* The zero page the VMM gets back is what the guest reads now (garbage after decryption). */
	put(&t, 3, 0x44);
	new = test_host_pfn(&t, t.hva + 3 * PAGE_SIZE);
	assert_true(new != old);
	st = test_sev_stats(&t);
	assert_int_equal(st.pins_taken, 2);
	assert_int_equal(st.pins_dropped, 1);
	assert_int_equal(st.pages_pinned, 1);
	assert_true(st.clflush_pages >= flushed + 2); /* the old page, then the new */
	assert_int_equal(host_pinned_pages(&t), 1);
	assert_int_equal(get(&t, 3), 0x44);
	/* The old frame is free again and was flushed: its next owner sees zeros. */
	assert_clean(&t);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_same_gfn_new_pfn)

/*
 * A 2M mapping is one pin, of the head page (a THP is pinned whole), and
 * the THP can then be neither split for migration nor moved.
 */
static void test_huge_pin(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB, .map_flags = SIM_MAP_PRIVATE | SIM_MAP_THP };
	struct test_vm t;
	hva_t thp;
	gfn_t gfn;
	u64 moved;

	memslot_vm_opts(&t, &o);
	thp = ALIGN(t.hva, 2 * MiB);
	gfn = (thp - t.hva) >> PAGE_SHIFT;
	put(&t, gfn + 7, 0x77);
	assert_int_equal(test_sev_stats(&t).pins_taken, 1);
	put(&t, gfn + 300, 0x300);
	if (test_host_pfn(&t, thp + 300 * PAGE_SIZE) == test_host_pfn(&t, thp) + 300)
		assert_int_equal(test_sev_stats(&t).pins_taken, 1); /* the same 2M mapping */
	assert_int_equal(sim_migrate_range(t.mm, thp, 2 * MiB, &moved), -EBUSY);
	assert_int_equal(get(&t, gfn + 7), 0x77);
	assert_int_equal(get(&t, gfn + 300), 0x300);
	assert_clean(&t);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_huge_pin)

/*
 * Memslot metadata through the update kinds (two slots):
 *
 *	slot 0  gfn 0..511     the test_vm slot
 *	slot 1  gfn 0x1000..   1 MiB at hva2; moved to 0x2000, flags changed, deleted
 *
 * MOVE reuses the metadata (the pins stay, no flush), FLAGS_ONLY keeps it
 * and the ENCRYPTED flag (a page faulted after dirty logging was enabled
 * is pinned), DELETE flushes once and unpins every page of the slot.
 */
static void test_memslot_updates(void **state)
{
	struct kvm_userspace_memory_region out;
	struct mmusim_sev_stats st;
	struct test_vm t;
	hva_t hva2;
	u64 wbinvd, i, moved;

	memslot_vm(&t, 2 * MiB, 0);
	assert_int_equal(sim_mmap(t.mm, 0, 1 * MiB, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE,
				  &hva2),
			 0);
	test_vm_set_region_flags(&t, 1, 0x1000ULL << PAGE_SHIFT, 1 * MiB, hva2, 0);
	for (i = 0; i < 4; i++)
		put(&t, 0x1000 + i, 0x500 + i);
	assert_int_equal(test_sev_stats(&t).pages_pinned, 4);
	wbinvd = test_sev_stats(&t).wbinvd;

	/* MOVE: the same pages, now at gfn 0x2000; still pinned, no flush. */
	test_vm_set_region_flags(&t, 1, 0x2000ULL << PAGE_SHIFT, 1 * MiB, hva2, 0);
	st = test_sev_stats(&t);
	assert_int_equal(st.pages_pinned, 4);
	assert_int_equal(st.pins_dropped, 0);
	assert_int_equal(st.wbinvd, wbinvd);
	for (i = 0; i < 4; i++)
		assert_int_equal(get(&t, 0x2000 + i), 0x500 + i);
	assert_int_equal(test_sev_stats(&t).pins_taken, 4);
	assert_int_equal(sim_migrate_range(t.mm, hva2, 4 * PAGE_SIZE, &moved), -EBUSY);

	/* FLAGS_ONLY: dirty logging on; the internal flag is not shown to userspace. */
	test_vm_set_region_flags(&t, 1, 0x2000ULL << PAGE_SHIFT, 1 * MiB, hva2,
				 KVM_MEM_LOG_DIRTY_PAGES);
	assert_int_equal(mmusim_vm_get_memslot(t.vm, 1, &out), 0);
	assert_int_equal(out.flags, KVM_MEM_LOG_DIRTY_PAGES);
	put(&t, 0x2000 + 9, 0x909);
	st = test_sev_stats(&t);
	assert_int_equal(st.pins_taken, 5);
	assert_int_equal(st.pages_pinned, 5);
	test_vm_set_region_flags(&t, 1, 0x2000ULL << PAGE_SHIFT, 1 * MiB, hva2, 0);
	assert_int_equal(test_sev_stats(&t).pages_pinned, 5);

	/* DELETE: one WBINVD, then each of the slot's pins goes. */
	test_vm_set_region_flags(&t, 1, 0x2000ULL << PAGE_SHIFT, 0, hva2, 0);
	st = test_sev_stats(&t);
	assert_int_equal(st.pages_pinned, 0);
	assert_int_equal(st.pins_dropped, 5);
	assert_int_equal(st.wbinvd, wbinvd + 1);
	assert_int_equal(test_host_page_count(&t, hva2), 1);
	assert_int_equal(host_pinned_pages(&t), 0);

	/* Recreated at once (no host event between): refaults pin again, data intact. */
	test_vm_set_region_flags(&t, 1, 0x2000ULL << PAGE_SHIFT, 1 * MiB, hva2, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(get(&t, 0x2000 + i), 0x500 + i);
	assert_int_equal(test_sev_stats(&t).pages_pinned, 4);
	assert_clean(&t);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_memslot_updates)

/*
 * The window a delete opens, which the up-front baseline does not have:
 * between a delete and the re-create the pages are the host's, and a
 * migration then loses them (the design's cost, shown by the checker).
 */
static void test_delete_window(void **state)
{
	struct mmusim_sev_report rep;
	struct test_vm t;
	u64 moved;

	memslot_vm(&t, 2 * MiB, 0);
	put(&t, 1, 0x1111);
	test_vm_set_region_flags(&t, 0, 0, 0, t.hva, 0);
	assert_int_equal(sim_migrate_range(t.mm, t.hva + PAGE_SIZE, PAGE_SIZE, &moved), 0);
	assert_int_equal(moved, 1);
	test_vm_set_region_flags(&t, 0, 0, 2 * MiB, t.hva, 0);
	assert_int_not_equal(get(&t, 1), 0x1111);
	assert_int_equal(mmusim_vm_sev_get_reports(t.vm, &rep, 1), 1);
	assert_int_equal(rep.kind, MMUSIM_SEV_MOVED);
	assert_int_equal(rep.gfn, 1);
	test_vm_destroy(&t);
}

/*
 * Flush before release: a memslot delete unpins only after its WBINVD.
 * With the flushes skipped (the test-only fault of a kernel that forgot
 * them) the frame the VMM then frees comes back to its next owner with the
 * guest's dirty lines (UNFLUSHED); with them, the next owner's page is zero.
 */
static void delete_release(bool skip_flush)
{
	struct mmusim_sev_report rep;
	struct test_vm t;
	kvm_pfn_t pfn;
	bool dirty;

	memslot_vm(&t, 2 * MiB, 0);
	put(&t, 7, 0x6666);
	pfn = test_host_pfn(&t, t.hva + 7 * PAGE_SIZE);
	assert_int_equal(mmusim_vm_sev_set_skip_flush(t.vm, skip_flush), 0);
	test_vm_set_region_flags(&t, 0, 0, 0, t.hva, 0);
	assert_int_equal(sim_munmap(t.mm, t.hva, t.size), 0);
	dirty = test_sev_next_owner_dirty(&t, pfn);
	if (skip_flush) {
		assert_true(dirty);
		assert_int_equal(mmusim_vm_sev_get_reports(t.vm, &rep, 1), 1);
		assert_int_equal(rep.kind, MMUSIM_SEV_UNFLUSHED);
		assert_int_equal(rep.gfn, 7);
	} else {
		assert_false(dirty);
		assert_clean(&t);
	}
	test_vm_destroy(&t);
}

static void test_delete_flushes(void **state)
{
	delete_release(false);
	delete_release(true);
}

/* VM destroy: every pin goes (after one WBINVD), the pages are the host's again. */
static void test_destroy_unpins(void **state)
{
	struct test_vm t;
	u64 i;

	memslot_vm(&t, 2 * MiB, 0);
	for (i = 0; i < 16; i++)
		put(&t, i, i);
	assert_int_equal(host_pinned_pages(&t), 16);
	mmusim_vm_destroy(t.vm);
	t.vm = NULL;
	assert_int_equal(host_pinned_pages(&t), 0);
	for (i = 0; i < 16; i++)
		assert_int_equal(test_host_page_count(&t, t.hva + i * PAGE_SIZE), 1);
	assert_int_equal(sim_migrate_page(t.mm, t.hva), 0);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_destroy_unpins)

/*
 * REG_REGION only charges RLIMIT_MEMLOCK (pages_to_lock, reported as
 * pages_locked): no pin, no list entry; over the limit -ENOMEM unless
 * CAP_IPC_LOCK; UNREG subtracts without looking the range up, and more
 * than is charged is -EINVAL.
 */
static void test_reg_region_charges(void **state)
{
	struct kvm_enc_region r;
	struct mmusim_sev_stats st;
	struct test_vm t;

	memslot_vm(&t, 2 * MiB, 0);
	assert_int_equal(sim_mm_set_memlock_limit(t.mm, 1 * MiB), 0);
	r = (struct kvm_enc_region){ .addr = t.hva, .size = 1 * MiB };
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, &r), 0);
	st = test_sev_stats(&t);
	assert_int_equal(st.pages_locked, 256);
	assert_int_equal(st.pins_taken, 0);
	assert_int_equal(st.regions, 0);
	assert_int_equal(host_pinned_pages(&t), 0);
	r.addr = t.hva + 1 * MiB;
	r.size = PAGE_SIZE;
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, &r), -ENOMEM);
	assert_int_equal(sim_mm_set_cap_ipc_lock(t.mm, true), 0);
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, &r), 0);
	assert_int_equal(test_sev_stats(&t).pages_locked, 257);
	r.size = 0;
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, &r), -EINVAL);
	/* Any range of the right size uncharges it. */
	r = (struct kvm_enc_region){ .addr = 0x10000, .size = 200 * PAGE_SIZE };
	assert_int_equal(mmusim_vm_memory_encrypt_unreg_region(t.vm, &r), 0);
	assert_int_equal(test_sev_stats(&t).pages_locked, 57);
	assert_int_equal(mmusim_vm_memory_encrypt_unreg_region(t.vm, &r), -EINVAL);
	assert_int_equal(test_sev_stats(&t).pages_locked, 57);
	assert_int_equal(mmusim_vm_memory_encrypt_unreg_region(t.vm, NULL), -EFAULT);
	test_vm_destroy(&t);
}

/*
 * LAUNCH_UPDATE_DATA under demand pinning (patch 9/9): with vCPUs, the
 * pages are faulted in through the MMU on vCPU 0 and pinned by their
 * memslot (no charge, no list entry; the guest's later fault finds the
 * same pfn).  A range no memslot covers is pinned the classic way and the
 * pins stay on the pinned-regions list until destroy (patch 5/9), charged
 * against RLIMIT_MEMLOCK; a failed command keeps nothing.
 *
 *	slot 0  gfn 0..511 at t.hva: the image, 2 pages at gfn 0..1
 *	extra   1 page at hva2, in no memslot
 */
static void test_launch_pins(void **state)
{
	struct kvm_sev_launch_start start = { 0 };
	struct kvm_sev_launch_update_data upd = { 0 };
	struct kvm_sev_cmd cmd = { .sev_fd = MMUSIM_SEV_DEV_FD };
	struct mmusim_sev_stats st;
	u8 image[2 * PAGE_SIZE];
	struct test_vm t;
	u64 moved;
	hva_t hva2;

	memslot_vm(&t, 2 * MiB, 0);
	memset(image, 0x5a, sizeof(image));
	assert_int_equal(sim_mm_write(t.mm, t.hva, image, sizeof(image)), 0);
	cmd.id = KVM_SEV_LAUNCH_START;
	cmd.data = (u64)(unsigned long)&start;
	assert_int_equal(mmusim_vm_memory_encrypt_op(t.vm, &cmd), 0);
	upd.uaddr = t.hva;
	upd.len = sizeof(image);
	cmd.id = KVM_SEV_LAUNCH_UPDATE_DATA;
	cmd.data = (u64)(unsigned long)&upd;
	assert_int_equal(mmusim_vm_memory_encrypt_op(t.vm, &cmd), 0);
	st = test_sev_stats(&t);
	assert_int_equal(st.regions, 0);
	assert_int_equal(st.pins_taken, 2);
	assert_int_equal(st.pages_pinned, 2);
	assert_int_equal(st.pages_locked, 0);
	assert_int_equal(sim_migrate_range(t.mm, t.hva, 2 * PAGE_SIZE, &moved), -EBUSY);
	/* The guest reads the launched plaintext; its fault finds the pinned pfn. */
	assert_int_equal(get(&t, 1), 0x5a5a5a5a5a5a5a5aULL);
	assert_int_equal(test_sev_stats(&t).pins_taken, 2);
	assert_clean(&t);

	/* Outside every memslot: the classic pin, kept on the list. */
	assert_int_equal(sim_mmap(t.mm, 0, PAGE_SIZE, SIM_PROT_READ | SIM_PROT_WRITE,
				  SIM_MAP_PRIVATE, &hva2),
			 0);
	assert_int_equal(sim_mm_write(t.mm, hva2, image, PAGE_SIZE), 0);
	upd.uaddr = hva2;
	upd.len = PAGE_SIZE;
	assert_int_equal(mmusim_vm_memory_encrypt_op(t.vm, &cmd), 0);
	st = test_sev_stats(&t);
	assert_int_equal(st.regions, 1);
	assert_int_equal(st.pages_pinned, 3);
	assert_int_equal(st.pages_locked, 1);
	assert_int_equal(sim_migrate_range(t.mm, hva2, PAGE_SIZE, &moved), -EBUSY);
	/* A failed command keeps nothing: over RLIMIT_MEMLOCK. */
	assert_int_equal(sim_mm_set_memlock_limit(t.mm, PAGE_SIZE), 0);
	assert_int_equal(mmusim_vm_memory_encrypt_op(t.vm, &cmd), -ENOMEM);
	assert_int_equal(test_sev_stats(&t).regions, 1);
	assert_int_equal(test_sev_stats(&t).pages_pinned, 3);
	mmusim_vm_destroy(t.vm);
	t.vm = NULL;
	assert_int_equal(host_pinned_pages(&t), 0);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_launch_pins)

/*
 * kvm_release_pfn_clean() (patch 1/9) unpins when page_maybe_dma_pinned()
 * says so.  Sean's review point, reproduced: a small page with 1024
 * ordinary references (1 mapping + 1023 gets here, then KVM's own) reads
 * as pinned, so releasing KVM's ordinary reference drops 1024 of them:
 * the page is left with 1 reference for 1024 holders, and the host's pin
 * count goes wrong.  A page KVM really pinned is released right.
 */
static void test_release_heuristic_false_positive(void **state)
{
	struct test_vm_opts o = { .host_mem = 64 * MiB, .size = 2 * MiB };
	struct sim_page *page, *got;
	struct kvm *kvm;
	struct test_vm t;
	u64 pinned;
	int i;

	o.cfg.sev = true; /* an ordinary SEV VM: the release is the point */
	test_vm_create(&t, &o);
	kvm = mmusim_to_kvm(t.vm);
	assert_int_equal(sim_mm_touch(t.mm, t.hva, true), 0);
	page = sim_pfn_to_page(t.host, test_host_pfn(&t, t.hva));

	/* A real pin is released as one. */
	assert_int_equal(sim_pin_user_pages_fast(t.mm, t.hva, 1, 0, &got), 1);
	assert_ptr_equal(got, page);
	assert_true(sim_page_maybe_dma_pinned(t.host, page));
	kvm_release_pfn_clean(kvm, got);
	assert_int_equal(sim_page_count(t.host, page), 1);
	assert_false(sim_page_maybe_dma_pinned(t.host, page));

	/* 1023 ordinary references besides the mapping's, then KVM's. */
	for (i = 0; i < SIM_GUP_PIN_COUNTING_BIAS - 1; i++)
		sim_get_page(t.host, page);
	pinned = host_pinned_pages(&t);
	assert_int_equal(sim_get_user_pages_fast(t.mm, t.hva, 1, 0, &got), 1);
	assert_int_equal(sim_page_count(t.host, page), SIM_GUP_PIN_COUNTING_BIAS + 1);
	assert_true(sim_page_maybe_dma_pinned(t.host, page)); /* the false positive */
	kvm_release_pfn_clean(kvm, got);
	/* put_page() would have left 1024; the "unpin" left 1. */
	assert_int_equal(sim_page_count(t.host, page), 1);
	assert_int_equal(host_pinned_pages(&t), pinned - 1);
	/* Repair what the heuristic broke so that teardown balances. */
	for (i = 0; i < SIM_GUP_PIN_COUNTING_BIAS; i++)
		sim_get_page(t.host, page);
	for (i = 0; i < SIM_GUP_PIN_COUNTING_BIAS - 1; i++)
		sim_put_page(t.host, page);
	assert_int_equal(sim_page_count(t.host, page), 2);
	sim_put_page(t.host, page);
	test_vm_destroy(&t);
}

/*
 * The encryption checker under host churn: migration, compaction, swap
 * (both ways), PAGEOUT, THP collapse and split attempts over memory the
 * guest wrote through demand-pinned faults: nothing is lost.  The same
 * under MMUSIM_SEV_PIN_OFF loses the data (the contrast).
 */
static void churn(struct test_vm *t, hva_t thp)
{
	u64 moved, i;

	sim_migrate_range(t->mm, t->hva, 4 * MiB, &moved);
	sim_compact_range(t->mm, t->hva, 4 * MiB, &moved);
	for (i = 0; i < 32; i++)
		sim_swap_out(t->mm, t->hva + i * PAGE_SIZE);
	sim_madvise(t->mm, t->hva, 1 * MiB, SIM_MADV_PAGEOUT);
	sim_madvise(t->mm, thp, 2 * MiB, SIM_MADV_HUGEPAGE);
	sim_collapse_thp(t->mm, thp);
	sim_migrate_range(t->mm, t->hva, 4 * MiB, &moved);
}

static void test_churn_checker(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB, .map_flags = SIM_MAP_PRIVATE };
	struct mmusim_sev_report rep;
	struct test_vm t;
	hva_t thp;
	gfn_t gfn, g;

	memslot_vm_opts(&t, &o);
	thp = ALIGN(t.hva + PAGE_SIZE, 2 * MiB); /* past gfn 0..31 */
	gfn = (thp - t.hva) >> PAGE_SHIFT;
	for (g = 0; g < 32; g++)
		put(&t, g, 0xc0de0000 + g);
	for (g = gfn; g < gfn + 512; g += 37)
		put(&t, g, 0xbeef0000 + g);
	churn(&t, thp);
	for (g = 0; g < 32; g++)
		assert_int_equal(get(&t, g), 0xc0de0000 + g);
	for (g = gfn; g < gfn + 512; g += 37)
		assert_int_equal(get(&t, g), 0xbeef0000 + g);
	assert_clean(&t);
	test_vm_check(&t);
	test_vm_destroy(&t);

	/* No pinning at all: the same churn is seen by the checker. */
	o.cfg.sev_pin = MMUSIM_SEV_PIN_OFF;
	o.cfg.sev = true;
	test_vm_create(&t, &o);
	for (g = 0; g < 32; g++)
		put(&t, g, 0xc0de0000 + g);
	churn(&t, ALIGN(t.hva + PAGE_SIZE, 2 * MiB));
	assert_true(mmusim_vm_sev_get_reports(t.vm, &rep, 1) > 0);
	assert_int_equal(rep.kind, MMUSIM_SEV_MOVED);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_churn_checker)

/*
 * Every allocation of a slot create and of a move fails in turn: -ENOMEM,
 * nothing leaked (the test teardown counts live objects), the old slot and
 * its pins untouched; then the update succeeds with its metadata.
 */
static void test_fail_nth(void **state)
{
	struct kvm_userspace_memory_region r = { .memory_size = 2 * MiB };
	struct test_vm t;
	unsigned long n;
	int ret;

	memslot_vm(&t, 0, 0);
	assert_int_equal(sim_mmap(t.mm, 0, 2 * MiB, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE,
				  &t.hva),
			 0);
	r.userspace_addr = t.hva;
	for (n = 1;; n++) {
		env_fail_nth(n);
		ret = mmusim_vm_set_user_memory_region(t.vm, &r);
		env_fail_clear();
		if (!ret)
			break;
		assert_int_equal(ret, -ENOMEM);
	}
	assert_true(n > 1);
	put(&t, 2, 0x22);
	assert_int_equal(test_sev_stats(&t).pages_pinned, 1);
	r.guest_phys_addr = 8 * MiB;
	for (n = 1;; n++) {
		env_fail_nth(n);
		ret = mmusim_vm_set_user_memory_region(t.vm, &r);
		env_fail_clear();
		if (!ret)
			break;
		assert_int_equal(ret, -ENOMEM);
		assert_int_equal(test_sev_stats(&t).pages_pinned, 1);
		assert_int_equal(get(&t, 2), 0x22);
	}
	assert_true(n > 1);
	assert_int_equal(get(&t, (8 * MiB >> PAGE_SHIFT) + 2), 0x22);
	assert_int_equal(test_sev_stats(&t).pins_taken, 1);
	assert_clean(&t);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_fail_nth)

/* ======================== concurrency ======================== */

#define CONC_PAGES 128

/*
 * Two vCPUs fault the same slot concurrently (on the TDP MMU under the
 * read lock: pin_pfn() of neighbouring and identical gfns races on the
 * metadata's lock) while the host migrates, compacts, swaps and the MMU is
 * zapped (refaults: same gfn, same pfn).  Every page is pinned once, every
 * value survives, the checker is clean.  Randomized: prints its seed.
 */
static void test_concurrent_churn(void **state)
{
	struct test_churn c = { .seed = mmusim_test_seed(), .npages = CONC_PAGES, .zap = true };
	struct test_vm_opts o = { .size = 2 * MiB };
	struct test_vm t;

	print_message("seed %llu\n", (unsigned long long)c.seed);
	o.cfg.nr_vcpus = 2;
	memslot_vm_opts(&t, &o);
	c.t = &t;
	test_churn_two_vcpus(&c, 10);
	assert_int_equal(test_sev_stats(&t).pins_taken, CONC_PAGES);
	assert_int_equal(test_sev_stats(&t).pages_pinned, CONC_PAGES);
	assert_clean(&t);
	test_vm_check(&t);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_concurrent_churn)

/* Not SEV: -EINVAL; a VM that is SEV but pins otherwise has no ENCRYPTED slots. */
static void test_memslot_config(void **state)
{
	struct mmusim_vm_config cfg = { .sev_pin = MMUSIM_SEV_PIN_MEMSLOT };
	struct test_vm_opts o = { .host_mem = 64 * MiB, .size = 2 * MiB };
	struct mmusim_vm *vm;
	struct test_vm t;

	o.cfg.sev = true;
	test_vm_create(&t, &o);
	put(&t, 0, 1);
	assert_int_equal(test_sev_stats(&t).pins_taken, 0);
	assert_int_equal(test_host_page_count(&t, t.hva), 1);
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &cfg, &vm), -EINVAL);
	test_vm_destroy(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_demand_pin_lifecycle),
		MMUSIM_TEST(test_demand_pin_lifecycle_legacy),
		MMUSIM_TEST(test_read_then_write),
		MMUSIM_TEST(test_read_then_write_legacy),
		MMUSIM_TEST(test_same_gfn_new_pfn),
		MMUSIM_TEST(test_same_gfn_new_pfn_legacy),
		MMUSIM_TEST(test_huge_pin),
		MMUSIM_TEST(test_huge_pin_legacy),
		MMUSIM_TEST(test_memslot_updates),
		MMUSIM_TEST(test_memslot_updates_legacy),
		MMUSIM_TEST(test_delete_window),
		MMUSIM_TEST(test_delete_flushes),
		MMUSIM_TEST(test_destroy_unpins),
		MMUSIM_TEST(test_destroy_unpins_legacy),
		MMUSIM_TEST(test_reg_region_charges),
		MMUSIM_TEST(test_launch_pins),
		MMUSIM_TEST(test_launch_pins_legacy),
		MMUSIM_TEST(test_release_heuristic_false_positive),
		MMUSIM_TEST(test_churn_checker),
		MMUSIM_TEST(test_churn_checker_legacy),
		MMUSIM_TEST(test_fail_nth),
		MMUSIM_TEST(test_fail_nth_legacy),
		MMUSIM_TEST(test_concurrent_churn),
		MMUSIM_TEST(test_concurrent_churn_legacy),
		MMUSIM_TEST(test_memslot_config),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("sev_memslot", tests);
}
