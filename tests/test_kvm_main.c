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

/* The machine profile is validated at creation. */
static void test_kvm_main_profile_validation(void **state)
{
	static const int bad_as[] = { -1, 3 }, bad_pa[] = { -1, 35, 53, 64 };
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	unsigned int i;

	assert_int_equal(sim_host_create(NULL, &host), 0);
	assert_int_equal(sim_mm_create(host, &mm), 0);
	for (i = 0; i < ARRAY_SIZE(bad_as); i++) {
		struct mmusim_vm_config cfg = { .nr_address_spaces = bad_as[i] };

		assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vm), -EINVAL);
	}
	for (i = 0; i < ARRAY_SIZE(bad_pa); i++) {
		struct mmusim_vm_config cfg = { .host_maxphyaddr = bad_pa[i] };

		assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vm), -EINVAL);
	}
	/* With one address space the MMIO wrap may take twice the updates. */
	{
		struct mmusim_vm_config cfg = { .nr_address_spaces = 1,
						.mmio_gen_wrap_after = 1u << 19 };

		assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vm), 0);
		mmusim_vm_destroy(vm);
		cfg.nr_address_spaces = 2;
		assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vm), -EINVAL);
	}
	sim_mm_destroy(mm);
	sim_host_destroy(host);
}

/*
 * KVM_CHECK_EXTENSION as Linux 6.12 answers on a VM, for a kernel with SMM
 * (2 address spaces) and one built without it (KVM_CAP_MULTI_ADDRESS_SPACE
 * compiled out: 0).
 */
static void test_kvm_main_check_extension(void **state)
{
	static const int profiles[] = { 0, 1, 2 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(profiles); i++) {
		struct test_vm_opts o = { .cfg.nr_address_spaces = profiles[i] };
		int nr_as = profiles[i] == 1 ? 1 : 2;
		struct test_vm t;

		test_vm_create(&t, &o);
		assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_USER_MEMORY), 1);
		assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_NR_MEMSLOTS), 32764);
		assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_MULTI_ADDRESS_SPACE),
				 nr_as == 2 ? 2 : 0);
		assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_READONLY_MEM), 1);
		assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_SYNC_MMU), 1);
		assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2),
				 KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET);
		assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_CHECK_EXTENSION_VM), 1);
		assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_ENABLE_CAP_VM), 1);
		/* x86: both ring flavours, up to 65536 16-byte entries. */
		assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_DIRTY_LOG_RING), 1 << 20);
		assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_DIRTY_LOG_RING_ACQ_REL),
				 1 << 20);
		assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_PRE_FAULT_MEMORY), 1);
		assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_X86_BUS_LOCK_EXIT),
				 KVM_BUS_LOCK_DETECTION_OFF | KVM_BUS_LOCK_DETECTION_EXIT);
		/* Not modelled (yet): 0, never an error. */
		assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_X86_USER_SPACE_MSR), 1);
		assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_X86_MSR_FILTER), 1);
		assert_int_equal(mmusim_vm_check_extension(t.vm, -1), 0);
		assert_int_equal(mmusim_vm_check_extension(t.vm, 1L << 40), 0);
		test_vm_destroy(&t);
	}
}

/*
 * KVM_ENABLE_CAP: kvm_vm_ioctl_enable_cap_generic()'s rules for
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, x86's for everything else.  The
 * setting is observable: with manual protect, KVM_GET_DIRTY_LOG leaves the
 * bits set; args[0] = 0 turns it off, and GET clears them again.
 */
static void test_kvm_main_enable_cap(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 };
	struct kvm_userspace_memory_region r;
	unsigned long bits[8];
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bits };
	struct mmusim_vcpu *v;
	struct test_vm t;

	test_vm_create(&t, &o);
	v = mmusim_vm_vcpu(t.vm, 0);
	r = (struct kvm_userspace_memory_region){ .slot = 0,
						  .flags = KVM_MEM_LOG_DIRTY_PAGES,
						  .memory_size = 2 * MiB,
						  .userspace_addr = t.hva };
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);

	cap.args[0] = KVM_DIRTY_LOG_INITIALLY_SET; /* INITIALLY_SET needs ENABLE */
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), -EINVAL);
	cap.args[0] = 4;
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), -EINVAL);
	cap.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | 4;
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), -EINVAL);
	cap.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
	cap.flags = 1;
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), -EINVAL);
	cap.flags = 0;
	cap.args[1] = 0xdead; /* unused args are ignored */
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), 0);

	assert_int_equal(mmusim_vcpu_access(v, 0, MMUSIM_ACCESS_WRITE, NULL), 0);
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_int_equal(bits[0], 1);
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_int_equal(bits[0], 1); /* manual: GET does not clear */

	cap.args[0] = 0;
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), 0);
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_int_equal(bits[0], 1);
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_int_equal(bits[0], 0); /* off again: GET harvested them */

	/* Unknown caps, with or without flags. */
	cap = (struct kvm_enable_cap){ .cap = KVM_CAP_USER_MEMORY };
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), -EINVAL);
	cap = (struct kvm_enable_cap){ .cap = 0xffffffff, .flags = 1 };
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), -EINVAL);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * One address space (a kernel without SMM): every call that takes a slot id
 * refuses as_id 1, and a vCPU cannot enter SMM.  With two, as_id 1 works.
 *
 *   as 0: slot 0 gfn [0, 512)          as 1: slot 0 gfn [0, 512) (2 only)
 */
static void test_kvm_main_address_spaces(void **state)
{
	static const int profiles[] = { 1, 2 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(profiles); i++) {
		struct test_vm_opts o = { .size = 2 * MiB, .cfg.nr_address_spaces = profiles[i] };
		int want = profiles[i] == 1 ? -EINVAL : 0;
		struct kvm_userspace_memory_region r, out;
		unsigned long bits[8];
		struct kvm_dirty_log get = { .slot = 1 << 16, .dirty_bitmap = bits };
		struct kvm_clear_dirty_log clear = { .slot = 1 << 16,
						     .num_pages = 64,
						     .dirty_bitmap = bits };
		struct test_vm t;

		test_vm_create(&t, &o);
		r = (struct kvm_userspace_memory_region){ .slot = 1 << 16,
							  .flags = KVM_MEM_LOG_DIRTY_PAGES,
							  .memory_size = 2 * MiB,
							  .userspace_addr = t.hva };
		assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), want);
		assert_int_equal(mmusim_vm_get_memslot(t.vm, 1 << 16, &out), want);
		assert_int_equal(mmusim_vm_enable_manual_dirty_log_protect(
					 t.vm, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE),
				 0);
		assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &get), want);
		assert_int_equal(mmusim_vm_clear_dirty_log(t.vm, &clear), want);
		assert_int_equal(mmusim_vcpu_set_smm(mmusim_vm_vcpu(t.vm, 0), true), want);
		assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, 1, 0, 512), want);
		if (!want) {
			assert_int_equal(mmusim_vcpu_access(mmusim_vm_vcpu(t.vm, 0), 0,
							    MMUSIM_ACCESS_WRITE, NULL),
					 0);
			assert_int_equal(mmusim_vcpu_set_smm(mmusim_vm_vcpu(t.vm, 0), false), 0);
		}
		assert_int_equal(mmusim_vcpu_set_smm(mmusim_vm_vcpu(t.vm, 0), false), 0);
		assert_int_equal(
			mmusim_vcpu_access(mmusim_vm_vcpu(t.vm, 0), 0, MMUSIM_ACCESS_WRITE, NULL),
			0);
		test_vm_check(&t);
		test_vm_destroy(&t);
	}
}

/*
 * Host MAXPHYADDR: the last gfn a memslot may use is 2^(MAXPHYADDR - 12) - 1
 * (kvm_mmu_max_gfn()), on EPT and NPT and both root levels; NPT caches MMIO
 * only while a PA bit is reserved (MAXPHYADDR < 52).  A guest addresses at
 * most 48 bits under a 4-level root.
 *
 *   gfn:  ... [max_gfn - 1, max_gfn] [max_gfn + 1]
 *              slot 0, 2 pages: ok    slot 1, 1 page: -EINVAL
 */
static void test_kvm_main_host_maxphyaddr(void **state)
{
	static const int maxpa[] = { 36, 46, 48, 52 };
	unsigned int i, mode, level;

	for (i = 0; i < ARRAY_SIZE(maxpa); i++)
		for (mode = MMUSIM_TDP_EPT; mode <= MMUSIM_TDP_NPT; mode++)
			for (level = 4; level <= 5; level++) {
				struct test_vm_opts o = { .cfg = { .host_maxphyaddr = maxpa[i],
								   .tdp_mode = mode,
								   .root_level = level } };
				gfn_t max_gfn = (1ULL << (maxpa[i] - 12)) - 1;
				gfn_t guest_max = min_t(gfn_t, max_gfn, (1ULL << (9 * level)) - 1);
				struct kvm_userspace_memory_region r;
				struct mmusim_vm_stats st;
				struct mmusim_exit exit;
				struct mmusim_vcpu *v;
				struct test_vm t;
				struct kvm *kvm;
				hva_t hva;

				test_vm_create(&t, &o);
				kvm = mmusim_to_kvm(t.vm);
				v = mmusim_vm_vcpu(t.vm, 0);
				assert_int_equal(kvm->masks.max_phys_bits, maxpa[i]);
				assert_int_equal(kvm_mmu_max_gfn(&kvm->masks), max_gfn);
				assert_int_equal(kvm->masks.enable_mmio_caching,
						 mode == MMUSIM_TDP_EPT || maxpa[i] < 52);
				assert_int_equal(sim_mmap(t.mm, 0, 4 * PAGE_SIZE,
							  SIM_PROT_READ | SIM_PROT_WRITE,
							  SIM_MAP_PRIVATE, &hva),
						 0);
				r = (struct kvm_userspace_memory_region){
					.slot = 0,
					.guest_phys_addr = (max_gfn - 1) << PAGE_SHIFT,
					.memory_size = 2 * PAGE_SIZE,
					.userspace_addr = hva
				};
				assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
				/* Past the end (not overlapping: that is -EEXIST first). */
				r.slot = 1;
				r.guest_phys_addr = (max_gfn + 1) << PAGE_SHIFT;
				r.memory_size = PAGE_SIZE;
				assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r),
						 -EINVAL);

				/* The guest reaches the slot iff it is below guest_max. */
				assert_int_equal(mmusim_vcpu_access(v, max_gfn << PAGE_SHIFT,
								    MMUSIM_ACCESS_WRITE, &exit),
						 max_gfn <= guest_max ? 0 : -EINVAL);
				assert_int_equal(mmusim_vcpu_access(v,
								    (guest_max + 1) << PAGE_SHIFT,
								    MMUSIM_ACCESS_READ, &exit),
						 -EINVAL);
				/* MMIO below the slot: exits, cached iff MMIO caching is on. */
				assert_int_equal(mmusim_vcpu_access(v,
								    (guest_max - 4) << PAGE_SHIFT,
								    MMUSIM_ACCESS_READ, &exit),
						 1);
				assert_int_equal(exit.reason, KVM_EXIT_MMIO);
				mmusim_vm_get_stats(t.vm, &st);
				assert_int_equal(st.pf_mmio_spte_created,
						 kvm->masks.enable_mmio_caching ? 1 : 0);
				test_vm_check(&t);
				test_vm_destroy(&t);
			}
}
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
		MMUSIM_TEST(test_kvm_main_unrelated_invalidation),
		MMUSIM_TEST(test_kvm_main_check_in_progress_without_range),
		MMUSIM_TEST(test_kvm_main_requests_are_acknowledged),
		MMUSIM_TEST(test_kvm_main_release_zaps_all),
		MMUSIM_TEST(test_kvm_main_fault_exit_ns),
		MMUSIM_TEST(test_kvm_main_fault_exit_ns_legacy),
		MMUSIM_TEST(test_kvm_main_profile_validation),
		MMUSIM_TEST(test_kvm_main_check_extension),
		MMUSIM_TEST(test_kvm_main_enable_cap),
		MMUSIM_TEST(test_kvm_main_address_spaces),
		MMUSIM_TEST(test_kvm_main_host_maxphyaddr),
		MMUSIM_TEST(test_kvm_main_stats_while_vcpus_run),
		MMUSIM_TEST(test_kvm_main_stats_while_vcpus_run_legacy),
		MMUSIM_TEST(test_kvm_main_access_range_checks_every_gpa),
		MMUSIM_TEST(test_kvm_main_access_range_checks_every_gpa_legacy),
		MMUSIM_TEST(test_kvm_main_unrelated_invalidation_legacy),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("kvm_main", tests);
}
