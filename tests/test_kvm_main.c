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
	/* No range yet: every gfn must retry. */
	assert_int_equal(mmu_invalidate_retry_gfn(kvm, seq, 1000), 1);
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

/*
 * mmusim_vm_get_stats() while vCPUs fault: every counter is read while its
 * owner may bump it, which must be a legal concurrent access (TSan sees a
 * plain increment as a race), and each snapshot's sums never go back.  Two
 * vCPUs write their own half of the slot and zap it again, so that they keep
 * faulting; the main thread reads the stats all along.
 */
struct stats_vcpu {
	struct test_vm *t;
	int idx;
	bool *stop;
	long error;
};

static int stats_vcpu_thread(void *arg)
{
	struct stats_vcpu *sv = arg;
	struct mmusim_vcpu *v = mmusim_vm_vcpu(sv->t->vm, sv->idx);
	gfn_t first = sv->idx * 256;

	while (!READ_ONCE(*sv->stop)) {
		long n = mmusim_vcpu_access_range(v, first << PAGE_SHIFT, 256, 0,
						  MMUSIM_ACCESS_WRITE, NULL);

		if (n != 256 || mmusim_vm_zap_gfn_range(sv->t->vm, 0, first, first + 256)) {
			sv->error = n;
			return -1;
		}
	}
	return 0;
}

static void test_kvm_main_stats_while_vcpus_run(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct mmusim_vm_stats st, prev = { 0 };
	struct stats_vcpu sv[2];
	struct env_thread *th[2];
	struct test_vm t;
	unsigned long reads = 0;
	bool stop = false;
	u64 deadline;
	int i;

	o.cfg.nr_vcpus = 2;
	test_vm_create(&t, &o);
	for (i = 0; i < 2; i++) {
		sv[i] = (struct stats_vcpu){ .t = &t, .idx = i, .stop = &stop };
		th[i] = env_thread_start(stats_vcpu_thread, &sv[i], "vcpu");
		assert_non_null(th[i]);
	}
	deadline = ktime_get_ns() + 150000000ULL * mmusim_test_stress_seconds();
	while (ktime_get_ns() < deadline) {
		mmusim_vm_get_stats(t.vm, &st);
		assert_true(st.pf_taken >= prev.pf_taken && st.pf_fixed >= prev.pf_fixed);
		assert_true(st.accesses >= prev.accesses && st.tlb_flush >= prev.tlb_flush);
		assert_true(st.tlb_hits >= prev.tlb_hits);
		prev = st;
		reads++;
	}
	WRITE_ONCE(stop, true);
	for (i = 0; i < 2; i++) {
		assert_int_equal(env_thread_join(th[i]), 0);
		assert_int_equal(sv[i].error, 0);
	}
	mmusim_vm_get_stats(t.vm, &st);
	print_message("stats while vCPUs run: %lu reads, %llu faults fixed, %llu accesses\n", reads,
		      (unsigned long long)st.pf_fixed, (unsigned long long)st.accesses);
	assert_true(st.pf_fixed >= 512 && st.accesses >= st.pf_fixed);
	test_vm_check(&t);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_kvm_main_stats_while_vcpus_run)

/*
 * mmusim_vcpu_access_range() checks every address as mmusim_vcpu_access()
 * checks one: a 4-level VM's GPAs stop at MAXPHYADDR 46, and an address at
 * or above it (or one that wrapped past 2^64) must not reach the hardware
 * walk, whose 9-bit index slices would alias it to a low GPA.  The range
 * stops at the first bad address and returns what completed before it
 * (-EINVAL if nothing did), with no exit.
 *
 *   GPA:  0 [slot 0: 2M] ........ 2^46-2M [slot 1: 2M] 2^46 | bad .. 2^48 .. 2^64
 */
static void test_kvm_main_access_range_checks_every_gpa(void **state)
{
	const gpa_t top = 1ULL << 46;
	struct test_vm_opts o = { .size = 2 * MiB };
	struct mmusim_exit exit;
	struct mmusim_vcpu *v;
	struct test_vm t;
	hva_t hva;

	test_vm_create(&t, &o);
	v = mmusim_vm_vcpu(t.vm, 0);
	assert_int_equal(
		sim_mmap(t.mm, 0, 2 * MiB, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &hva),
		0);
	test_vm_set_region(&t, 1, top - 2 * MiB, 2 * MiB, hva);

	/* One access: the last page below MAXPHYADDR works, the next GPA is refused. */
	assert_int_equal(mmusim_vcpu_access(v, top - PAGE_SIZE, MMUSIM_ACCESS_WRITE, &exit), 0);
	assert_int_equal(mmusim_vcpu_access(v, top, MMUSIM_ACCESS_WRITE, &exit), -EINVAL);
	assert_int_equal(mmusim_vcpu_access(v, 1ULL << 48, MMUSIM_ACCESS_WRITE, &exit), -EINVAL);
	assert_int_equal(mmusim_vcpu_access(v, 0, MMUSIM_ACCESS_WRITE, &exit), 0);

	/* A range running into MAXPHYADDR: two done, then the same refusal, no MMIO exit. */
	assert_int_equal(
		mmusim_vcpu_access_range(v, top - 2 * PAGE_SIZE, 4, 0, MMUSIM_ACCESS_WRITE, &exit),
		2);
	assert_int_equal(exit.reason, 0);
	assert_int_equal(mmusim_vcpu_access_range(v, top, 4, 0, MMUSIM_ACCESS_WRITE, &exit),
			 -EINVAL);

	/* Beyond 2^48 the walk would alias GPA 0, which is mapped. */
	assert_int_equal(mmusim_vcpu_access_range(v, 0, 2, 1ULL << 48, MMUSIM_ACCESS_WRITE, &exit),
			 1);
	assert_int_equal(mmusim_vcpu_access_range(v, 0, 3, 1ULL << 63, MMUSIM_ACCESS_READ, &exit),
			 1);
	/* Wrapping past 2^64 to GPA 0 is out of range too. */
	assert_int_equal(
		mmusim_vcpu_access_range(v, PAGE_SIZE, 2, -PAGE_SIZE, MMUSIM_ACCESS_WRITE, &exit),
		1);
	assert_int_equal(
		mmusim_vcpu_access_range(v, -PAGE_SIZE, 2, PAGE_SIZE, MMUSIM_ACCESS_WRITE, &exit),
		-EINVAL);
	assert_int_equal(exit.reason, 0);
	test_vm_check(&t);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_kvm_main_access_range_checks_every_gpa)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_kvm_main_invalidate_protocol),
		MMUSIM_TEST(test_kvm_main_notifier_events),
		MMUSIM_TEST(test_kvm_main_requests_are_acknowledged),
		MMUSIM_TEST(test_kvm_main_release_zaps_all),
		MMUSIM_TEST(test_kvm_main_fault_exit_ns),
		MMUSIM_TEST(test_kvm_main_fault_exit_ns_legacy),
		MMUSIM_TEST(test_kvm_main_stats_while_vcpus_run),
		MMUSIM_TEST(test_kvm_main_stats_while_vcpus_run_legacy),
		MMUSIM_TEST(test_kvm_main_access_range_checks_every_gpa),
		MMUSIM_TEST(test_kvm_main_access_range_checks_every_gpa_legacy),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("kvm_main", tests);
}
