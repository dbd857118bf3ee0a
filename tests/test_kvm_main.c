// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/mmu/kvm_main.c: the invalidation protocol's counters and
 * ranges, mmu_invalidate_retry_gfn(), requests and their acknowledgement
 * by vCPUs in guest mode, and the MMU-notifier handlers driven by the host.
 */
#include "test_util.h"
#include "mmu/tdp_mmu.h"

#define MiB (1ULL << 20)

/*
 * Two overlapping invalidations merge their ranges; a fault whose snapshot
 * predates an end retries even after in_progress drops to zero.
 *
 *   invalidation A: gfn [10, 20)      invalidation B: gfn [15, 40)
 *   merged range:   gfn [10, 40)
 */
static void test_kvm_main_invalidate_protocol(void **state)
{
	struct test_vm_opts o = { .size = 0 };
	struct test_vm t;
	struct kvm *kvm;
	unsigned long seq;

	test_vm_create(&t, &o);
	kvm = mmusim_to_kvm(t.vm);
	seq = kvm->mmu_invalidate_seq;

	write_lock(&kvm->mmu_lock);
	assert_int_equal(mmu_invalidate_retry_gfn(kvm, seq, 12), 0);
	kvm_mmu_invalidate_begin(kvm);
	/*
	 * No range yet: a bug (the range is added under the same mmu_lock
	 * hold); the locked check WARNs and retries, as 6.12, and the
	 * unlocked pre-check sees no range.
	 */
	assert_int_equal(mmu_invalidate_retry_gfn(kvm, seq, 1000), 1);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	assert_int_equal(mmu_invalidate_retry_gfn_unsafe(kvm, seq, 1000), 0);
	kvm_mmu_invalidate_range_add(kvm, 10, 20);
	kvm_mmu_invalidate_begin(kvm);
	kvm_mmu_invalidate_range_add(kvm, 15, 40);
	assert_int_equal(kvm->mmu_invalidate_range_start, 10);
	assert_int_equal(kvm->mmu_invalidate_range_end, 40);
	assert_int_equal(mmu_invalidate_retry_gfn(kvm, seq, 9), 0);
	assert_int_equal(mmu_invalidate_retry_gfn(kvm, seq, 10), 1);
	assert_int_equal(mmu_invalidate_retry_gfn(kvm, seq, 39), 1);
	assert_int_equal(mmu_invalidate_retry_gfn(kvm, seq, 40), 0);
	kvm_mmu_invalidate_end(kvm);
	assert_int_equal(kvm->mmu_invalidate_in_progress, 1);
	/* The seq moved: a stale snapshot retries anywhere. */
	assert_int_equal(mmu_invalidate_retry_gfn(kvm, seq, 1000), 1);
	kvm_mmu_invalidate_end(kvm);
	assert_int_equal(kvm->mmu_invalidate_in_progress, 0);
	assert_int_equal(kvm->mmu_invalidate_seq, seq + 2);
	assert_int_equal(mmu_invalidate_retry_gfn(kvm, seq + 2, 12), 0);
	write_unlock(&kvm->mmu_lock);
	test_vm_destroy(&t);
}

/* Host events reach KVM: start/end pairs, the seq advances, SPTEs go. */
static void test_kvm_main_notifier_events(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB };
	struct mmusim_vm_stats before, after;
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 0, 1024, 0,
						  MMUSIM_ACCESS_WRITE, NULL),
			 1024);
	mmusim_vm_get_stats(t.vm, &before);
	assert_int_equal(sim_madvise(t.mm, t.hva + MiB, MiB, SIM_MADV_DONTNEED), 0);
	mmusim_vm_get_stats(t.vm, &after);
	assert_true(after.mmu_invalidate_seq > before.mmu_invalidate_seq);
	assert_int_equal(after.pages_4k, 1024 - 256);
	assert_int_equal(mmusim_to_kvm(t.vm)->mmu_invalidate_in_progress, 0);
	test_vm_check(&t);

	/* An invalidation outside every memslot zaps nothing. */
	{
		hva_t other;

		assert_int_equal(sim_mmap(t.mm, 0, MiB, SIM_PROT_READ | SIM_PROT_WRITE,
					  SIM_MAP_PRIVATE, &other),
				 0);
		assert_int_equal(sim_mm_touch(t.mm, other, true), 0);
		assert_int_equal(sim_munmap(t.mm, other, MiB), 0);
		mmusim_vm_get_stats(t.vm, &before);
		assert_int_equal(before.pages_4k, 1024 - 256);
	}
	test_vm_destroy(&t);
}

/*
 * Host invalidations of memory no memslot maps never reach the MMU: as
 * 6.12's __kvm_handle_hva_range(), in_progress and the range are only
 * touched once a memslot overlaps, so faults neither stall nor retry; the
 * mn count (what memslot updates wait for) moves for every pair.
 *
 *   hva:  [t.hva, +2M) = memslot 0, gfn 0..511     [other, +1M) = no slot
 */
static void test_kvm_main_unrelated_invalidation(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct sim_mmu_notifier_range r = { 0 };
	struct mmusim_vm_stats st;
	struct test_vm t;
	struct kvm *kvm;
	unsigned long seq;
	hva_t other;

	test_vm_create(&t, &o);
	kvm = mmusim_to_kvm(t.vm);
	assert_int_equal(
		sim_mmap(t.mm, 0, MiB, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &other), 0);
	seq = kvm->mmu_invalidate_seq;

	/* What the host calls around an unmap of [other, other + 1M), held open. */
	r.mm = t.mm;
	r.start = other;
	r.end = other + MiB;
	r.event = SIM_MMU_NOTIFY_UNMAP;
	assert_int_equal(kvm->mmu_notifier.ops->invalidate_range_start(&kvm->mmu_notifier, &r), 0);
	assert_int_equal(kvm->slots.mn_active_invalidate_count, 1);
	assert_int_equal(kvm->mmu_invalidate_in_progress, 0);
	/* A fault on slot memory is fixed at once, no retry. */
	assert_int_equal(
		mmusim_vcpu_access(mmusim_vm_vcpu(t.vm, 0), 0x5000, MMUSIM_ACCESS_WRITE, NULL), 0);
	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.pf_retry, 0);
	assert_int_equal(st.pf_fixed, 1);
	/* The checker checks every leaf, nothing is "under invalidation". */
	test_vm_check(&t);
	kvm->mmu_notifier.ops->invalidate_range_end(&kvm->mmu_notifier, &r);
	assert_int_equal(kvm->slots.mn_active_invalidate_count, 0);
	assert_int_equal(kvm->mmu_invalidate_seq, seq);

	/* Overlapping gfn 4..5 (hva +16K..+24K): begin at the slot, range added. */
	r.start = t.hva + 0x4000;
	r.end = t.hva + 0x6000;
	assert_int_equal(kvm->mmu_notifier.ops->invalidate_range_start(&kvm->mmu_notifier, &r), 0);
	assert_int_equal(kvm->mmu_invalidate_in_progress, 1);
	assert_int_equal(kvm->mmu_invalidate_range_start, 4);
	assert_int_equal(kvm->mmu_invalidate_range_end, 6);
	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.pages_4k, 0);
	kvm->mmu_notifier.ops->invalidate_range_end(&kvm->mmu_notifier, &r);
	assert_int_equal(kvm->mmu_invalidate_in_progress, 0);
	assert_int_equal(kvm->mmu_invalidate_seq, seq + 1);
	assert_int_equal(kvm->slots.mn_active_invalidate_count, 0);
	assert_int_equal(sim_munmap(t.mm, other, MiB), 0);
	test_vm_destroy(&t);
}

/*
 * The checker asserts KVM's invariant: in_progress without a range is a
 * bug it reports, where it used to skip every leaf as "under invalidation".
 */
static void test_kvm_main_check_in_progress_without_range(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct test_vm t;
	struct kvm *kvm;
	char msg[128];

	test_vm_create(&t, &o);
	kvm = mmusim_to_kvm(t.vm);
	assert_int_equal(mmusim_vcpu_access(mmusim_vm_vcpu(t.vm, 0), 0, MMUSIM_ACCESS_WRITE, NULL),
			 0);
	/* Simulate the bug: begin without range_add, mmu_lock dropped. */
	write_lock(&kvm->mmu_lock);
	kvm_mmu_invalidate_begin(kvm);
	write_unlock(&kvm->mmu_lock);
	assert_int_equal(mmusim_vm_check(t.vm, msg, sizeof(msg)), -EUCLEAN);
	assert_non_null(strstr(msg, "without a range"));
	write_lock(&kvm->mmu_lock);
	kvm_mmu_invalidate_range_add(kvm, 0, 1);
	kvm_mmu_invalidate_end(kvm);
	write_unlock(&kvm->mmu_lock);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

struct spinner {
	struct mmusim_vcpu *v;
	bool stop;
	unsigned long n;
};

static int spin_in_guest(void *arg)
{
	struct spinner *s = arg;

	while (!READ_ONCE(s->stop)) {
		if (mmusim_vcpu_access_range(s->v, 0, 8, 0, MMUSIM_ACCESS_WRITE, NULL) != 8)
			return -1;
		WRITE_ONCE(s->n, s->n + 1);
	}
	return 0;
}

/*
 * A remote TLB flush returns only once every vCPU in guest mode has passed
 * an instruction boundary and flushed.  A vCPU writes pages 0..7 in a loop
 * with the stale-TLB checker on while the host migrates those pages (each
 * migration zaps, flushes, then changes the host PTE): if a flush returned
 * early, the vCPU would use a translation to the old page after the host
 * moved it, and the checker would count it.
 */
static void test_kvm_main_requests_are_acknowledged(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct mmusim_vm_stats st;
	struct spinner s = { 0 };
	struct env_thread *th;
	struct test_vm t;
	int i;

	o.cfg.nr_vcpus = 2;
	test_vm_create(&t, &o);
	s.v = mmusim_vm_vcpu(t.vm, 1);
	mmusim_vcpu_set_tlb_check(s.v, true);
	th = env_thread_start(spin_in_guest, &s, "vcpu1");
	assert_non_null(th);
	while (!READ_ONCE(s.n))
		env_spin_yield();
	for (i = 0; i < 400; i++) {
		int r = sim_migrate_page(t.mm, t.hva + (i % 8) * PAGE_SIZE);

		assert_true(r == 0 || r == -EBUSY);
	}
	WRITE_ONCE(s.stop, true);
	assert_int_equal(env_thread_join(th), 0);
	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.stale_tlb_uses, 0);
	assert_true(st.remote_tlb_flush > 0);
	assert_true(mmusim_to_kvm(t.vm)->vcpus[1]->stat.tlb_flush > 0);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* mm teardown while the VM lives: ->release zaps everything. */
static void test_kvm_main_release_zaps_all(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 0, 16, 0,
						  MMUSIM_ACCESS_WRITE, NULL),
			 16);
	{
		struct kvm *kvm = mmusim_to_kvm(t.vm);

		/* What the host calls when the mm goes away. */
		kvm->mmu_notifier.ops->release(&kvm->mmu_notifier, t.mm);
	}
	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.pages_4k, 0);
	test_vm_destroy(&t);
}

/*
 * The benchmark knob: each fault spins fault_exit_ns outside mmu_lock, so
 * two cold faults take at least twice that; uncontended, nobody waits on
 * mmu_lock.  Over one second is refused.
 */
static void test_kvm_main_fault_exit_ns(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct mmusim_vm_stats st;
	struct test_vm t;
	u64 t0;

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vm_set_fault_exit_ns(t.vm, 1000000001ULL), -EINVAL);
	assert_int_equal(mmusim_vm_set_fault_exit_ns(NULL, 0), -EINVAL);
	assert_int_equal(mmusim_vm_set_fault_exit_ns(t.vm, 2000000), 0);
	t0 = ktime_get_ns();
	assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 0, 2, 0,
						  MMUSIM_ACCESS_WRITE, NULL),
			 2);
	assert_true(ktime_get_ns() - t0 >= 4000000);
	assert_int_equal(mmusim_vm_set_fault_exit_ns(t.vm, 0), 0);
	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.pf_fixed, 2);
	assert_int_equal(st.mmu_lock_wait_ns, 0);
	test_vm_check(&t);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_kvm_main_fault_exit_ns)
MMUSIM_LEGACY_VARIANT(test_kvm_main_unrelated_invalidation)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_kvm_main_invalidate_protocol),
		MMUSIM_TEST(test_kvm_main_notifier_events),
		MMUSIM_TEST(test_kvm_main_unrelated_invalidation),
		MMUSIM_TEST(test_kvm_main_check_in_progress_without_range),
		MMUSIM_TEST(test_kvm_main_requests_are_acknowledged),
		MMUSIM_TEST(test_kvm_main_release_zaps_all),
		MMUSIM_TEST(test_kvm_main_fault_exit_ns),
		MMUSIM_TEST(test_kvm_main_fault_exit_ns_legacy),
		MMUSIM_TEST(test_kvm_main_unrelated_invalidation_legacy),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("kvm_main", tests);
}
