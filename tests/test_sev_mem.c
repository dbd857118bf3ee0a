// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/sev/sev_mem.c, the memory controller that encrypts SEV
 * guest memory by physical address, and its checker: the VMM sees
 * ciphertext; every host move of an unpinned encrypted frame (migration,
 * compaction, swap, THP collapse, the FOLL_LONGTERM migration of a late
 * pin, the COW break of a page a VMM fork shared) makes the guest read
 * garbage and is reported with gfn, old and new pfn and the event; pinned
 * memory survives all of them (a fork copies pinned pages for the child,
 * so the guest keeps its frames); a frame released
 * without a flush corrupts its next owner, and is reported.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include <mmusim/env.h>
#include <mmusim/host.h>
#include <mmusim/sev.h>
#include <mmusim/vm.h>

#define MiB (1ULL << 20)
#define RW (SIM_PROT_READ | SIM_PROT_WRITE)

static const char secret[] = "the guest's secret, 40 bytes of plaintext";

static void sev_vm(struct test_vm *t, u64 size, bool sev, bool pin_write)
{
	struct test_vm_opts o = { .host_mem = 64 * MiB, .size = size };

	o.cfg.sev = sev;
	o.cfg.sev_pin_write = pin_write;
	test_vm_create(t, &o);
}

static struct mmusim_vcpu *vcpu0(struct test_vm *t)
{
	return mmusim_vm_vcpu(t->vm, 0);
}

static void guest_write_page(struct test_vm *t, gfn_t gfn, u8 tag)
{
	u8 buf[PAGE_SIZE];

	memset(buf, tag, sizeof(buf));
	memcpy(buf, secret, sizeof(secret));
	assert_int_equal(mmusim_vcpu_write(vcpu0(t), gfn << PAGE_SHIFT, buf, sizeof(buf)), 0);
}

static bool guest_page_ok(struct test_vm *t, gfn_t gfn, u8 tag)
{
	u8 buf[PAGE_SIZE], want[PAGE_SIZE];

	memset(want, tag, sizeof(want));
	memcpy(want, secret, sizeof(secret));
	assert_int_equal(mmusim_vcpu_read(vcpu0(t), gfn << PAGE_SHIFT, buf, sizeof(buf)), 0);
	return !memcmp(buf, want, sizeof(buf));
}

static long nr_reports(struct test_vm *t)
{
	return mmusim_vm_sev_get_reports(t->vm, NULL, 0);
}

static void assert_report(struct test_vm *t, u32 kind, u32 event, gfn_t gfn, kvm_pfn_t old_pfn,
			  kvm_pfn_t new_pfn)
{
	struct mmusim_sev_report r;

	assert_true(mmusim_vm_sev_get_reports(t->vm, &r, 1) >= 1);
	assert_int_equal(r.kind, kind);
	assert_int_equal(r.event, event);
	assert_int_equal(r.gfn, gfn);
	assert_int_equal(r.old_pfn, old_pfn);
	assert_int_equal(r.new_pfn, new_pfn);
}

static void assert_clean(struct test_vm *t)
{
	char msg[256];

	if (mmusim_vm_sev_check(t->vm, msg, sizeof(msg)))
		fail_msg("%s", msg);
}

static struct kvm_enc_region whole(struct test_vm *t)
{
	struct kvm_enc_region r = { .addr = t->hva, .size = t->size };

	return r;
}

/* ======================== ciphertext ======================== */

/* The frame holds ciphertext; only the guest sees its plaintext. */
static void test_sev_host_sees_ciphertext(void **state)
{
	u8 host[sizeof(secret)], host2[sizeof(secret)];
	struct mmusim_sev_stats st;
	struct test_vm t, u, plain;

	sev_vm(&t, 2 * MiB, true, false);
	guest_write_page(&t, 0, 0x5a);
	guest_write_page(&t, 1, 0x5a);
	assert_true(guest_page_ok(&t, 0, 0x5a));
	assert_int_equal(sim_mm_read(t.mm, t.hva, host, sizeof(host)), 0);
	assert_memory_not_equal(host, secret, sizeof(secret));
	/* Same plaintext, same key, another frame: other ciphertext. */
	assert_int_equal(sim_mm_read(t.mm, t.hva + PAGE_SIZE, host2, sizeof(host2)), 0);
	assert_memory_not_equal(host, host2, sizeof(host));
	/* A host write is not encrypted: the guest decrypts it to garbage. */
	assert_int_equal(sim_mm_write(t.mm, t.hva + 2 * PAGE_SIZE, secret, sizeof(secret)), 0);
	assert_int_equal(mmusim_vcpu_read(vcpu0(&t), 2 * PAGE_SIZE, host, sizeof(host)), 0);
	assert_memory_not_equal(host, secret, sizeof(secret));
	assert_int_equal(mmusim_vm_sev_get_stats(t.vm, &st), 0);
	assert_int_equal(st.asid, 1);
	assert_true(st.enc_writes >= 2 && st.dec_reads >= 2);
	assert_clean(&t);

	/* Another guest, another key: the same plaintext is other ciphertext. */
	sev_vm(&u, 2 * MiB, true, false);
	guest_write_page(&u, 0, 0x5a);
	assert_int_equal(sim_mm_read(u.mm, u.hva, host2, sizeof(host2)), 0);
	assert_memory_not_equal(host, host2, sizeof(host));
	assert_int_equal(mmusim_vm_sev_get_stats(u.vm, &st), 0);
	assert_int_equal(st.asid, 1); /* its own host: its own ASIDs */

	/* Not SEV: plaintext, and no SEV state at all. */
	sev_vm(&plain, 2 * MiB, false, false);
	guest_write_page(&plain, 0, 0x5a);
	assert_int_equal(sim_mm_read(plain.mm, plain.hva, host, sizeof(host)), 0);
	assert_memory_equal(host, secret, sizeof(secret));
	assert_int_equal(mmusim_vm_sev_get_stats(plain.vm, &st), -ENOTTY);
	assert_int_equal(mmusim_vm_sev_check(plain.vm, NULL, 0), -ENOTTY);
	test_vm_destroy(&plain);
	test_vm_destroy(&u);
	test_vm_destroy(&t);
}

/* A bad guest buffer is -EFAULT through the controller too. */
static void test_sev_bad_buffer(void **state)
{
	struct test_vm t;
	void *bad = test_bad_ptr();

	sev_vm(&t, 2 * MiB, true, false);
	assert_int_equal(mmusim_vcpu_write(vcpu0(&t), 0, bad, 16), -EFAULT);
	assert_int_equal(mmusim_vcpu_read(vcpu0(&t), 0, bad, 16), -EFAULT);
	guest_write_page(&t, 0, 1);
	assert_true(guest_page_ok(&t, 0, 1));
	test_vm_destroy(&t);
}

/* ======================== host moves of unpinned frames ======================== */

enum move { MV_MIGRATE, MV_COMPACT, MV_SWAP, MV_NR };

static const int move_event[MV_NR] = { SIM_FRAME_MIGRATE, SIM_FRAME_COMPACT, SIM_FRAME_SWAP_IN };

static void move_unpinned(enum move mv)
{
	struct sim_page *hold = NULL;
	kvm_pfn_t old_pfn, new_pfn;
	struct test_vm t;
	char msg[256];
	u64 moved;

	sev_vm(&t, 2 * MiB, true, false);
	guest_write_page(&t, 3, 0x77);
	guest_write_page(&t, 4, 0x78);
	old_pfn = test_host_pfn(&t, t.hva + 3 * PAGE_SIZE);
	switch (mv) {
	case MV_MIGRATE:
		assert_int_equal(sim_migrate_page(t.mm, t.hva + 3 * PAGE_SIZE), 0);
		break;
	case MV_COMPACT:
		assert_int_equal(sim_compact_range(t.mm, t.hva + 3 * PAGE_SIZE, PAGE_SIZE, &moved),
				 0);
		assert_int_equal(moved, 1);
		break;
	default:
		assert_int_equal(sim_swap_out(t.mm, t.hva + 3 * PAGE_SIZE), 0);
		/* Someone takes the freed frame, so the swap-in lands elsewhere. */
		hold = sim_alloc_pages(t.host, GFP_HIGHUSER_MOVABLE, 0);
		assert_int_equal(sim_page_to_pfn(t.host, hold), old_pfn);
		break;
	}
	/* The guest faults the page back in (swap-in) and decrypts garbage. */
	assert_false(guest_page_ok(&t, 3, 0x77));
	new_pfn = test_host_pfn(&t, t.hva + 3 * PAGE_SIZE);
	assert_true(new_pfn != old_pfn);
	assert_int_equal(nr_reports(&t), 1);
	assert_report(&t, MMUSIM_SEV_MOVED, move_event[mv], 3, old_pfn, new_pfn);
	assert_int_equal(mmusim_vm_sev_check(t.vm, msg, sizeof(msg)), -EUCLEAN);
	assert_non_null(strstr(msg, "gfn 0x3"));
	print_message("%s\n", msg);
	/* The page the host left alone is fine. */
	assert_true(guest_page_ok(&t, 4, 0x78));
	sim_put_page(t.host, hold);
	test_vm_destroy(&t);
}

/* Swapped in to the very frame it left: same address, same ciphertext, no loss. */
static void test_sev_swap_same_frame(void **state)
{
	kvm_pfn_t old_pfn;
	struct test_vm t;

	sev_vm(&t, 2 * MiB, true, false);
	guest_write_page(&t, 3, 0x77);
	old_pfn = test_host_pfn(&t, t.hva + 3 * PAGE_SIZE);
	assert_int_equal(sim_swap_out(t.mm, t.hva + 3 * PAGE_SIZE), 0);
	assert_true(guest_page_ok(&t, 3, 0x77));
	assert_int_equal(test_host_pfn(&t, t.hva + 3 * PAGE_SIZE), old_pfn);
	assert_clean(&t);
	/* ...and the frame is the guest's again: a later move is still seen. */
	assert_int_equal(sim_migrate_page(t.mm, t.hva + 3 * PAGE_SIZE), 0);
	assert_false(guest_page_ok(&t, 3, 0x77));
	assert_int_equal(nr_reports(&t), 1);
	test_vm_destroy(&t);
}

static void test_sev_unpinned_migrate(void **state)
{
	move_unpinned(MV_MIGRATE);
}

static void test_sev_unpinned_compact(void **state)
{
	move_unpinned(MV_COMPACT);
}

static void test_sev_unpinned_swap(void **state)
{
	move_unpinned(MV_SWAP);
}

/* MADV_COLLAPSE copies the 4K frames into a THP: each written page is lost. */
static void test_sev_unpinned_collapse(void **state)
{
	struct test_vm_opts o = { .host_mem = 64 * MiB,
				  .size = 4 * MiB,
				  .map_flags = SIM_MAP_PRIVATE };
	kvm_pfn_t old_pfn;
	struct test_vm t;
	hva_t thp;
	gfn_t gfn;

	o.cfg.sev = true;
	test_vm_create(&t, &o);
	thp = ALIGN(t.hva, 2 * MiB);
	gfn = (thp - t.hva) >> PAGE_SHIFT;
	guest_write_page(&t, gfn + 1, 0x31);
	old_pfn = test_host_pfn(&t, thp + PAGE_SIZE);
	assert_int_equal(sim_madvise(t.mm, thp, 2 * MiB, SIM_MADV_HUGEPAGE), 0);
	assert_int_equal(sim_collapse_thp(t.mm, thp), 0);
	assert_false(guest_page_ok(&t, gfn + 1, 0x31));
	assert_int_equal(nr_reports(&t), 1);
	assert_report(&t, MMUSIM_SEV_MOVED, SIM_FRAME_COLLAPSE, gfn + 1, old_pfn,
		      test_host_pfn(&t, thp + PAGE_SIZE));
	test_vm_destroy(&t);
}

/*
 * Registering memory the guest already wrote is too late: the FOLL_LONGTERM
 * pin first migrates the pages out of movable memory (as Linux does), and
 * their ciphertext with them.  This is why VMMs register guest RAM before
 * anything is encrypted into it.
 */
static void test_sev_late_pin_migrates(void **state)
{
	struct kvm_enc_region r;
	kvm_pfn_t old_pfn;
	struct test_vm t;

	sev_vm(&t, 2 * MiB, true, false);
	guest_write_page(&t, 0, 0x11);
	old_pfn = test_host_pfn(&t, t.hva);
	r = whole(&t);
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, &r), 0);
	assert_false(guest_page_ok(&t, 0, 0x11));
	assert_report(&t, MMUSIM_SEV_MOVED, SIM_FRAME_LONGTERM, 0, old_pfn,
		      test_host_pfn(&t, t.hva));
	test_vm_destroy(&t);
}

/* ======================== pinned memory survives ======================== */

/*
 * The baseline: REG_REGION before the guest writes, then every host event
 * that moves frames; none moves a pinned page, so nothing is lost.
 * @pin_write: 6.12.0's FOLL_WRITE | FOLL_LONGTERM, which faults in every
 * page writable before pinning it.
 */
static void pinned_survives(bool pin_write)
{
	const u64 npages = 64;
	struct kvm_enc_region r;
	struct sim_host_stats hs;
	struct test_vm t;
	u64 i, moved, migrations;
	hva_t thp;

	sev_vm(&t, 4 * MiB, true, pin_write);
	r = whole(&t);
	/* Populated before the pin, as QEMU's preallocation or a write would. */
	for (i = 0; i < npages && !pin_write; i++)
		assert_int_equal(sim_mm_touch(t.mm, t.hva + i * PAGE_SIZE, true), 0);
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, &r), 0);
	/* The pin moved the pages to unmovable memory, before anything was encrypted. */
	assert_int_equal(sim_host_get_stats(t.host, &hs), 0);
	migrations = hs.migrations;
	for (i = 0; i < npages; i++)
		guest_write_page(&t, i, (u8)i);

	assert_int_equal(sim_migrate_range(t.mm, t.hva, npages * PAGE_SIZE, &moved), -EBUSY);
	assert_int_equal(moved, 0);
	assert_int_equal(sim_compact_range(t.mm, t.hva, npages * PAGE_SIZE, &moved), 0);
	assert_int_equal(moved, 0);
	for (i = 0; i < npages; i += 7)
		assert_int_equal(sim_swap_out(t.mm, t.hva + i * PAGE_SIZE), -EBUSY);
	assert_int_equal(sim_madvise(t.mm, t.hva, npages * PAGE_SIZE, SIM_MADV_PAGEOUT), 0);
	thp = ALIGN(t.hva, 2 * MiB);
	assert_int_equal(sim_madvise(t.mm, thp, 2 * MiB, SIM_MADV_HUGEPAGE), 0);
	if (thp < t.hva + npages * PAGE_SIZE)
		assert_int_equal(sim_collapse_thp(t.mm, thp), -EAGAIN);
	assert_int_equal(sim_host_get_stats(t.host, &hs), 0);
	assert_int_equal(hs.migrations, migrations);

	for (i = 0; i < npages; i++)
		assert_true(guest_page_ok(&t, i, (u8)i));
	assert_clean(&t);
	assert_int_equal(mmusim_vm_memory_encrypt_unreg_region(t.vm, &r), 0);
	test_vm_destroy(&t);
}

static void test_sev_pinned_survives(void **state)
{
	pinned_survives(false);
}

static void test_sev_pinned_survives_pin_write(void **state)
{
	pinned_survives(true);
}

/*
 * 6.12.118 pins REG_REGION without FOLL_WRITE.  Memory nobody has written
 * yet maps the shared zero page; a read-only FOLL_LONGTERM pin must not
 * hold it (gup_must_unshare()), so GUP unshares it into an exclusive page
 * and pins that, the page the guest's writes then reuse.  6.12.0's
 * FOLL_WRITE faults the page in writable instead.  Either way the guest's
 * data is pinned.
 */
static void pin_untouched(bool pin_write)
{
	struct kvm_enc_region r;
	struct mmusim_sev_stats st;
	struct test_vm t;
	kvm_pfn_t pfn;
	u8 buf[16];

	sev_vm(&t, 2 * MiB, true, pin_write);
	/* A VMM that read its RAM first: the zero page is mapped there. */
	assert_int_equal(sim_mm_read(t.mm, t.hva + 5 * PAGE_SIZE, buf, sizeof(buf)), 0);
	r = whole(&t);
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, &r), 0);
	assert_int_equal(mmusim_vm_sev_get_stats(t.vm, &st), 0);
	assert_int_equal(st.pages_pinned, 512);
	pfn = test_host_pfn(&t, t.hva + 5 * PAGE_SIZE);
	guest_write_page(&t, 5, 0x42);
	assert_int_equal(test_host_pfn(&t, t.hva + 5 * PAGE_SIZE), pfn);
	assert_int_equal(sim_migrate_page(t.mm, t.hva + 5 * PAGE_SIZE), -EBUSY);
	assert_int_equal(sim_swap_out(t.mm, t.hva + 5 * PAGE_SIZE), -EBUSY);
	assert_true(guest_page_ok(&t, 5, 0x42));
	assert_clean(&t);
	assert_int_equal(mmusim_vm_memory_encrypt_unreg_region(t.vm, &r), 0);
	test_vm_destroy(&t);
}

static void test_sev_pin_untouched_memory(void **state)
{
	pin_untouched(false);
}

static void test_sev_pin_untouched_memory_pin_write(void **state)
{
	pin_untouched(true);
}

/* The zero page never holds ciphertext, so its COW loses nothing. */
static void test_sev_zero_page_cow(void **state)
{
	struct test_vm t;
	u8 buf[64];

	sev_vm(&t, 2 * MiB, true, false);
	/* A read maps the zero page: the guest decrypts zeroes, i.e. garbage. */
	assert_int_equal(mmusim_vcpu_read(vcpu0(&t), 0, buf, sizeof(buf)), 0);
	guest_write_page(&t, 0, 9);
	assert_true(guest_page_ok(&t, 0, 9));
	assert_clean(&t);
	test_vm_destroy(&t);
}

/* ======================== a VMM fork ======================== */

/* The guest rewrites the last 8 bytes of @gfn: the secret at offset 0 is left as it was. */
static void guest_write_tail(struct test_vm *t, gfn_t gfn)
{
	u64 w = 0x464f524b464f524bULL;

	assert_int_equal(mmusim_vcpu_write(vcpu0(t), (gfn << PAGE_SHIFT) + PAGE_SIZE - sizeof(w),
					   &w, sizeof(w)),
			 0);
}

/*
 * The VMM forks (a QEMU helper, a crash dumper) while nothing pins the
 * guest's pages: fork shares them copy-on-write and KVM's notifier zaps
 * the SPTEs.  The guest's next write faults in through FOLL_WRITE, which
 * breaks COW in the VMM: the guest's page is a copy in another frame, and
 * the ciphertext it holds, tweaked by the old frame's address, decrypts to
 * garbage.  The page the guest only reads stays shared and readable.
 *
 *   gfn 3: written before the fork, written after -> COW, lost
 *   gfn 4: written before the fork, read after   -> shared, intact
 */
static void test_sev_fork_cow_unpinned(void **state)
{
	kvm_pfn_t old_pfn, new_pfn, pfn4;
	struct sim_host_stats hs;
	struct sim_mm *child;
	struct test_vm t;
	char msg[256];

	sev_vm(&t, 2 * MiB, true, false);
	guest_write_page(&t, 3, 0x77);
	guest_write_page(&t, 4, 0x78);
	old_pfn = test_host_pfn(&t, t.hva + 3 * PAGE_SIZE);
	pfn4 = test_host_pfn(&t, t.hva + 4 * PAGE_SIZE);
	assert_int_equal(sim_mm_fork(t.mm, &child), 0);
	assert_int_equal(test_host_pfn(&t, t.hva + 3 * PAGE_SIZE), old_pfn);
	assert_true(guest_page_ok(&t, 4, 0x78));

	guest_write_tail(&t, 3);
	new_pfn = test_host_pfn(&t, t.hva + 3 * PAGE_SIZE);
	assert_true(new_pfn != old_pfn);
	assert_int_equal(sim_host_get_stats(t.host, &hs), 0);
	assert_int_equal(hs.cow_breaks, 1);
	assert_false(guest_page_ok(&t, 3, 0x77));
	assert_int_equal(nr_reports(&t), 1);
	assert_report(&t, MMUSIM_SEV_MOVED, SIM_FRAME_COW, 3, old_pfn, new_pfn);
	assert_int_equal(mmusim_vm_sev_check(t.vm, msg, sizeof(msg)), -EUCLEAN);
	assert_non_null(strstr(msg, "gfn 0x3"));
	assert_non_null(strstr(msg, sim_frame_event_name(SIM_FRAME_COW)));
	print_message("%s\n", msg);

	/* gfn 4 was never written: still the shared frame, still readable. */
	assert_int_equal(test_host_pfn(&t, t.hva + 4 * PAGE_SIZE), pfn4);
	sim_mm_destroy(child);
	assert_true(guest_page_ok(&t, 4, 0x78));
	/* The child is gone: the next write reuses the frame, nothing moves. */
	guest_write_tail(&t, 4);
	assert_int_equal(test_host_pfn(&t, t.hva + 4 * PAGE_SIZE), pfn4);
	assert_int_equal(nr_reports(&t), 1);
	test_vm_destroy(&t);
}

/*
 * The same with a THP-backed guest: the guest's write splits the VMM's PMD
 * (the child keeps the THP) and copies the 4K page it writes; that page is
 * lost, its neighbours in the THP stay in place and readable.
 *
 *   gfn 0 .. 511: one THP; gfn 1 and 2 written; fork; gfn 1 rewritten -> lost
 */
static void test_sev_fork_cow_thp(void **state)
{
	struct test_vm_opts o = { .host_mem = 64 * MiB,
				  .size = 2 * MiB,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_THP };
	struct sim_host_pte_info info;
	kvm_pfn_t old_pfn;
	struct sim_mm *child;
	struct test_vm t;

	o.cfg.sev = true;
	test_vm_create(&t, &o);
	guest_write_page(&t, 1, 0x31);
	guest_write_page(&t, 2, 0x32);
	assert_int_equal(sim_mm_lookup(t.mm, t.hva, &info), 0);
	assert_int_equal(info.level, PG_LEVEL_2M);
	old_pfn = test_host_pfn(&t, t.hva + PAGE_SIZE);
	assert_int_equal(sim_mm_fork(t.mm, &child), 0);
	guest_write_tail(&t, 1);
	assert_int_equal(sim_mm_lookup(t.mm, t.hva + PAGE_SIZE, &info), 0);
	assert_int_equal(info.level, PG_LEVEL_4K);
	assert_true(info.pfn != old_pfn);
	assert_false(guest_page_ok(&t, 1, 0x31));
	assert_true(guest_page_ok(&t, 2, 0x32));
	assert_int_equal(test_host_pfn(&t, t.hva + 2 * PAGE_SIZE), old_pfn + 1);
	assert_int_equal(nr_reports(&t), 1);
	assert_report(&t, MMUSIM_SEV_MOVED, SIM_FRAME_COW, 1, old_pfn, info.pfn);
	sim_mm_destroy(child);
	test_vm_destroy(&t);
}

/*
 * Up-front pinning (REG_REGION before the guest writes): fork finds every
 * page pinned (page_needs_cow_for_dma()) and gives the child copies, so the
 * guest keeps its frames, writable, and its writes after the fork need no
 * COW.  Nothing is lost, with the child alive or gone.
 */
static void test_sev_fork_pinned_survives(void **state)
{
	const u64 npages = 16;
	struct kvm_enc_region r;
	struct sim_host_stats hs;
	kvm_pfn_t pfn[16];
	struct sim_mm *child;
	struct test_vm t;
	u64 i;

	sev_vm(&t, 2 * MiB, true, true);
	r = whole(&t);
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, &r), 0);
	for (i = 0; i < npages; i++) {
		guest_write_page(&t, i, (u8)i);
		pfn[i] = test_host_pfn(&t, t.hva + i * PAGE_SIZE);
	}
	assert_int_equal(sim_mm_fork(t.mm, &child), 0);
	assert_int_equal(sim_host_get_stats(t.host, &hs), 0);
	assert_int_equal(hs.fork_copies, t.size / PAGE_SIZE);
	for (i = 0; i < npages; i++)
		guest_write_tail(&t, i);
	for (i = 0; i < npages; i++) {
		u8 head[sizeof(secret)];

		assert_int_equal(test_host_pfn(&t, t.hva + i * PAGE_SIZE), pfn[i]);
		assert_int_equal(mmusim_vcpu_read(vcpu0(&t), i << PAGE_SHIFT, head, sizeof(head)),
				 0);
		assert_memory_equal(head, secret, sizeof(secret));
	}
	assert_int_equal(sim_host_get_stats(t.host, &hs), 0);
	assert_int_equal(hs.cow_breaks, 0);
	sim_mm_destroy(child);
	for (i = npages; i-- > 0;)
		guest_write_page(&t, i, (u8)(i + 1));
	for (i = 0; i < npages; i++)
		assert_true(guest_page_ok(&t, i, (u8)(i + 1)));
	assert_int_equal(nr_reports(&t), 0);
	assert_clean(&t);
	test_vm_destroy(&t);
}

/* ======================== flush before release ======================== */

/*
 * Unregister without the WBINVD: the guest's dirty lines outlive the pin,
 * the VMM frees the memory, and when the frame is handed out again the
 * lines are written back over what the allocator zeroed.
 */
static void release(bool skip_flush)
{
	struct mmusim_sev_report rep;
	struct kvm_enc_region r;
	struct test_vm t;
	kvm_pfn_t pfn;
	bool dirty;

	sev_vm(&t, 2 * MiB, true, true);
	r = whole(&t);
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, &r), 0);
	guest_write_page(&t, 7, 0x66);
	pfn = test_host_pfn(&t, t.hva + 7 * PAGE_SIZE);
	assert_int_equal(mmusim_vm_sev_set_skip_flush(t.vm, skip_flush), 0);
	assert_int_equal(mmusim_vm_memory_encrypt_unreg_region(t.vm, &r), 0);
	assert_int_equal(sim_munmap(t.mm, t.hva, t.size), 0);
	dirty = test_sev_next_owner_dirty(&t, pfn);
	if (skip_flush) {
		assert_true(dirty); /* foreign ciphertext in a zeroed page */
		assert_int_equal(mmusim_vm_sev_get_reports(t.vm, &rep, 1), 1);
		assert_int_equal(rep.kind, MMUSIM_SEV_UNFLUSHED);
		assert_int_equal(rep.gfn, 7);
		assert_int_equal(rep.old_pfn, pfn);
		assert_int_equal(rep.new_pfn, pfn);
	} else {
		assert_false(dirty);
		assert_clean(&t);
	}
	test_vm_destroy(&t);
}

static void test_sev_release_without_flush(void **state)
{
	release(true);
}

static void test_sev_release_with_flush(void **state)
{
	release(false);
}

/* The checker keeps 64 reports and counts them all. */
static void test_sev_many_reports(void **state)
{
	struct mmusim_sev_report *reps = calloc(80, sizeof(*reps));
	struct mmusim_sev_stats st;
	struct test_vm t;
	u64 moved;
	int i;

	sev_vm(&t, 2 * MiB, true, false);
	for (i = 0; i < 70; i++)
		guest_write_page(&t, i, (u8)i);
	assert_int_equal(sim_migrate_range(t.mm, t.hva, 70 * PAGE_SIZE, &moved), 0);
	assert_int_equal(moved, 70);
	assert_int_equal(mmusim_vm_sev_get_reports(t.vm, reps, 80), 70);
	for (i = 0; i < 64; i++)
		assert_int_equal(reps[i].gfn, i);
	assert_int_equal(reps[64].kind, 0);
	assert_int_equal(mmusim_vm_sev_get_stats(t.vm, &st), 0);
	assert_int_equal(st.corruptions, 70);
	assert_int_equal(mmusim_vm_sev_get_reports(t.vm, NULL, 5), -EINVAL);
	assert_int_equal(mmusim_vm_sev_check(t.vm, NULL, 0), -EUCLEAN);
	free(reps);
	test_vm_destroy(&t);
}

/* ======================== concurrency ======================== */

/* A vCPU writes and checks pinned memory while the host churns it: no loss. */
static void test_sev_pinned_churn(void **state)
{
	struct test_churn c = { .seed = mmusim_test_seed(), .npages = 128 };
	struct kvm_enc_region r;
	struct test_vm t;
	pthread_t th;
	u64 i, round, rounds = 20;

	print_message("seed %llu\n", (unsigned long long)c.seed);
	sev_vm(&t, 2 * MiB, true, true);
	c.t = &t;
	r = whole(&t);
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, &r), 0);
	assert_int_equal(pthread_create(&th, NULL, test_churn_host, &c), 0);
	for (round = 0; round < rounds; round++) {
		for (i = 0; i < c.npages; i++)
			guest_write_page(&t, i, (u8)(i + round));
		for (i = 0; i < c.npages; i++)
			assert_true(guest_page_ok(&t, i, (u8)(i + round)));
	}
	__atomic_store_n(&c.stop, true, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	assert_clean(&t);
	test_vm_destroy(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_sev_host_sees_ciphertext),
		MMUSIM_TEST(test_sev_bad_buffer),
		MMUSIM_TEST(test_sev_unpinned_migrate),
		MMUSIM_TEST(test_sev_unpinned_compact),
		MMUSIM_TEST(test_sev_unpinned_swap),
		MMUSIM_TEST(test_sev_swap_same_frame),
		MMUSIM_TEST(test_sev_unpinned_collapse),
		MMUSIM_TEST(test_sev_late_pin_migrates),
		MMUSIM_TEST(test_sev_pinned_survives),
		MMUSIM_TEST(test_sev_pinned_survives_pin_write),
		MMUSIM_TEST(test_sev_pin_untouched_memory),
		MMUSIM_TEST(test_sev_pin_untouched_memory_pin_write),
		MMUSIM_TEST(test_sev_zero_page_cow),
		MMUSIM_TEST(test_sev_fork_cow_unpinned),
		MMUSIM_TEST(test_sev_fork_cow_thp),
		MMUSIM_TEST(test_sev_fork_pinned_survives),
		MMUSIM_TEST(test_sev_release_without_flush),
		MMUSIM_TEST(test_sev_release_with_flush),
		MMUSIM_TEST(test_sev_many_reports),
		MMUSIM_TEST(test_sev_pinned_churn),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("sev_mem", tests);
}
