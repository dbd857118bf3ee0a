// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dirty ring (src/mmu/kvm_dirty_ring.c and its uses in kvm_main.c,
 * kvm_memslots.c and the fault paths), as Linux 6.12: enabling rules and
 * errnos, pushes for every write KVM would log (duplicates included after a
 * reset), the collect/reset protocol, soft-full exits, -ENXIO for the bitmap
 * ioctls, and a harvester thread racing a writing vCPU that loses nothing.
 *
 *   memslot 0: gpa 0 .. 2M (512 gfns), dirty logging on, 4K anonymous
 *   ring: 4096 bytes = 256 entries, soft limit 256 - 64 = 192
 */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define MiB (1ULL << 20)
#define RING_BYTES 4096
#define RING_ENTRIES (RING_BYTES / 16)
#define SOFT_LIMIT (RING_ENTRIES - 64)

static void ring_vm(struct test_vm *t, int mmu, u32 bytes)
{
	struct test_vm_opts o = { .size = 2 * MiB, .cfg = { .mmu = mmu, .dirty_ring_size = bytes } };
	struct kvm_userspace_memory_region r = { .slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
						 .memory_size = 2 * MiB };

	test_vm_create(t, &o);
	r.userspace_addr = t->hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(t->vm, &r), 0);
}

static int write_gfn(struct test_vm *t, gfn_t gfn, struct mmusim_exit *exit)
{
	return mmusim_vcpu_access(mmusim_vm_vcpu(t->vm, 0), gfn << 12, MMUSIM_ACCESS_WRITE, exit);
}

/* Collect every dirty entry: bitmap of offsets seen, entries marked reset. */
static int collect(struct kvm_dirty_gfn *ring, u32 n, u32 *fetch, unsigned long *seen)
{
	int got = 0;

	for (;;) {
		struct kvm_dirty_gfn *e = &ring[*fetch & (n - 1)];

		if (!(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & KVM_DIRTY_GFN_F_DIRTY))
			return got;
		assert_int_equal(e->slot, 0);
		if (seen)
			__atomic_fetch_or(&seen[e->offset / BITS_PER_LONG],
					  1UL << (e->offset % BITS_PER_LONG), __ATOMIC_RELAXED);
		__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
		(*fetch)++;
		got++;
	}
}

/* KVM_CAP_DIRTY_LOG_RING's size rules, in KVM's order of checks. */
static void test_dirty_ring_enable_rules(void **state)
{
	static const struct {
		u64 size;
		int want;
	} cases[] = {
		{ 0, -EINVAL },				/* not a power of two */
		{ 3 * 4096, -EINVAL },
		{ 2048, -EINVAL },			/* below a page */
		{ 2ULL << 20, -E2BIG },			/* above 65536 entries */
		{ (1ULL << 32) | 4096, 0 },		/* args[0] is taken as a u32 */
		{ 4096, 0 },
		{ 1ULL << 20, 0 },
	};
	struct mmusim_vm_config cfg = { 0 };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_DIRTY_LOG_RING, .args[0] = 4096 };
	struct sim_host *host;
	struct mmusim_vm *vm;
	struct sim_mm *mm;
	size_t i;

	assert_int_equal(sim_host_create(NULL, &host), 0);
	assert_int_equal(sim_mm_create(host, &mm), 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		cfg.dirty_ring_size = (u32)cases[i].size;
		/* The config's u32 is what KVM sees (0: no ring); the u64 goes by enable_cap. */
		if ((cases[i].size >> 32) || !cases[i].size)
			continue;
		assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vm), cases[i].want);
		if (!cases[i].want)
			mmusim_vm_destroy(vm);
	}
	/* After vCPUs exist (every mmusim VM has them): -EINVAL, once sizes pass. */
	cfg.dirty_ring_size = 0;
	assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vm), 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		cap.args[0] = cases[i].size;
		assert_int_equal(mmusim_vm_enable_cap(vm, &cap),
				 cases[i].want == -E2BIG ? -E2BIG : -EINVAL);
	}
	cap.cap = 228;	/* KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP (6.3): arm64's, not x86's */
	assert_int_equal(mmusim_vm_enable_cap(vm, &cap), -EINVAL);
	mmusim_vm_destroy(vm);
	/* Twice: the config enables it, a second enable is -EINVAL. */
	cfg.dirty_ring_size = 4096;
	cfg.dirty_ring_acq_rel = true;
	assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vm), 0);
	cap.cap = KVM_CAP_DIRTY_LOG_RING_ACQ_REL;
	cap.args[0] = 8192;
	assert_int_equal(mmusim_vm_enable_cap(vm, &cap), -EINVAL);
	mmusim_vm_destroy(vm);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
}

/*
 * Writes push {slot 0, offset}; a second write to the same page does not
 * (it is writable now); after collect + reset the page is write-protected
 * again, and the next write pushes a duplicate.  The bitmap ioctls are
 * -ENXIO once rings are on.
 */
static void dirty_ring_push_reset(int mmu)
{
	unsigned long bits[8];
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bits };
	struct kvm_clear_dirty_log clog = { .slot = 0, .num_pages = 64, .dirty_bitmap = bits };
	struct kvm_dirty_gfn *ring;
	struct mmusim_exit exit;
	struct test_vm t;
	u32 n, fetch = 0;

	ring_vm(&t, mmu, RING_BYTES);
	assert_int_equal(mmusim_vcpu_dirty_ring(mmusim_vm_vcpu(t.vm, 0), &ring, &n), 0);
	assert_int_equal(n, RING_ENTRIES);
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), -ENXIO);
	assert_int_equal(mmusim_vm_clear_dirty_log(t.vm, &clog), -ENXIO);

	assert_int_equal(write_gfn(&t, 5, &exit), 0);
	assert_int_equal(write_gfn(&t, 7, &exit), 0);
	assert_int_equal(write_gfn(&t, 5, &exit), 0);
	assert_int_equal(ring[0].flags, KVM_DIRTY_GFN_F_DIRTY);
	assert_int_equal(ring[0].offset, 5);
	assert_int_equal(ring[1].offset, 7);
	assert_int_equal(ring[2].flags, 0);

	/* Nothing collected yet: a reset resets nothing. */
	assert_int_equal(mmusim_vm_reset_dirty_rings(t.vm), 0);
	assert_int_equal(collect(ring, n, &fetch, NULL), 2);
	assert_int_equal(mmusim_vm_reset_dirty_rings(t.vm), 2);
	assert_int_equal(ring[0].flags, 0);
	assert_int_equal(write_gfn(&t, 5, &exit), 0);
	assert_int_equal(ring[2].flags, KVM_DIRTY_GFN_F_DIRTY);
	assert_int_equal(ring[2].offset, 5);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

static void test_dirty_ring_push_reset(void **state)
{
	dirty_ring_push_reset(MMUSIM_MMU_TDP);
}

static void test_dirty_ring_push_reset_legacy(void **state)
{
	dirty_ring_push_reset(MMUSIM_MMU_LEGACY);
}

/*
 * At the soft limit the vCPU exits (KVM_EXIT_DIRTY_RING_FULL) at every
 * entry, writes and reads alike, and data copies are -EBUSY, until userspace
 * collects and resets.  The write whose fault filled the ring exits too: KVM
 * checks the request before re-entering the guest, so that write runs again
 * (and completes) after the reset.
 */
static void test_dirty_ring_soft_full(void **state)
{
	struct kvm_dirty_gfn *ring;
	struct mmusim_exit exit;
	struct test_vm t;
	u32 n, fetch = 0;
	u8 v = 1;
	int i;

	ring_vm(&t, MMUSIM_MMU_TDP, RING_BYTES);
	assert_int_equal(mmusim_vcpu_dirty_ring(mmusim_vm_vcpu(t.vm, 0), &ring, &n), 0);
	for (i = 0; i < SOFT_LIMIT - 1; i++) {
		if (write_gfn(&t, i, &exit))
			fail_msg("write %d exited (reason %u)", i, exit.reason);
	}
	assert_int_equal(write_gfn(&t, SOFT_LIMIT - 1, &exit), 1);
	assert_int_equal(exit.reason, KVM_EXIT_DIRTY_RING_FULL);
	assert_int_equal(ring[SOFT_LIMIT - 1].offset, SOFT_LIMIT - 1);
	assert_int_equal(mmusim_vcpu_access(mmusim_vm_vcpu(t.vm, 0), 0, MMUSIM_ACCESS_READ, &exit),
			 1);
	assert_int_equal(exit.reason, KVM_EXIT_DIRTY_RING_FULL);
	assert_int_equal(mmusim_vcpu_write(mmusim_vm_vcpu(t.vm, 0), 0, &v, 1), -EBUSY);
	assert_int_equal(collect(ring, n, &fetch, NULL), SOFT_LIMIT);
	assert_int_equal(mmusim_vm_reset_dirty_rings(t.vm), SOFT_LIMIT);
	assert_int_equal(write_gfn(&t, SOFT_LIMIT - 1, &exit), 0);
	assert_int_equal(write_gfn(&t, SOFT_LIMIT, &exit), 0);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * With PML a flush may push a whole 512-entry CPU log at once, so the ring
 * reserves 64 + 512 entries (kvm_dirty_ring_get_rsvd_entries()): a 4 KiB
 * ring is too small, a 16 KiB one (1024 entries, soft limit 448) takes the
 * PML-full flush of 512 and then exits.
 *
 *   slot 0: gpa 0 .. 4M (1024 gfns), 4K anonymous, written once, logging on
 */
static void test_dirty_ring_pml(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB,
				  .cfg = { .dirty_log_pml = true, .dirty_ring_size = 16384 } };
	struct kvm_userspace_memory_region r = { .slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
						 .memory_size = 4 * MiB };
	struct mmusim_vm_config small = { .dirty_log_pml = true, .dirty_ring_size = 4096 };
	struct kvm_dirty_gfn *ring;
	struct mmusim_exit exit;
	struct mmusim_vm *vm;
	struct test_vm t;
	u32 n, fetch = 0;
	long done;

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &small, &vm), -EINVAL);
	r.userspace_addr = t.hva;
	assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 0, 600, 0,
						  MMUSIM_ACCESS_WRITE, &exit), 600);
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	assert_int_equal(mmusim_vcpu_dirty_ring(mmusim_vm_vcpu(t.vm, 0), &ring, &n), 0);
	assert_int_equal(n, 1024);
	done = mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 0, 600, 0, MMUSIM_ACCESS_WRITE,
					&exit);
	assert_int_equal(done, 512);
	assert_int_equal(exit.reason, KVM_EXIT_DIRTY_RING_FULL);
	assert_int_equal(collect(ring, n, &fetch, NULL), 512);
	assert_int_equal(mmusim_vm_reset_dirty_rings(t.vm), 512);
	assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 512 << 12, 88, 0,
						  MMUSIM_ACCESS_WRITE, &exit), 88);
	assert_int_equal(collect(ring, n, &fetch, NULL), 88);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * A harvester thread collects and resets while the vCPU writes every page
 * in rounds; each round, every written page must have been seen (no lost
 * dirty page), including the writes that raced with a reset.  The seed
 * picks the order of pages in each round.
 */
struct harvester {
	struct test_vm *t;
	struct kvm_dirty_gfn *ring;
	u32 n, fetch;
	unsigned long seen[512 / BITS_PER_LONG];
	bool stop;
};

static int harvest_thread(void *arg)
{
	struct harvester *h = arg;

	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
		if (collect(h->ring, h->n, &h->fetch, h->seen))
			assert_true(mmusim_vm_reset_dirty_rings(h->t->vm) >= 0);
		env_spin_yield();
	}
	collect(h->ring, h->n, &h->fetch, h->seen);
	mmusim_vm_reset_dirty_rings(h->t->vm);
	return 0;
}

static void test_dirty_ring_concurrent_harvest(void **state)
{
	struct harvester h = { 0 };
	u64 seed = mmusim_test_seed();
	unsigned int order[512];
	struct env_thread *th;
	struct mmusim_exit exit;
	struct test_vm t;
	int round, i, r;

	ring_vm(&t, MMUSIM_MMU_TDP, RING_BYTES);
	h.t = &t;
	assert_int_equal(mmusim_vcpu_dirty_ring(mmusim_vm_vcpu(t.vm, 0), &h.ring, &h.n), 0);
	for (i = 0; i < 512; i++)
		order[i] = i;
	th = env_thread_start(harvest_thread, &h, "harvester");
	assert_non_null(th);
	for (round = 0; round < 4; round++) {
		for (i = 511; i > 0; i--) {
			unsigned int j = test_rand(&seed) % (i + 1), tmp = order[i];

			order[i] = order[j];
			order[j] = tmp;
		}
		for (i = 0; i < 512; i++) {
			while ((r = write_gfn(&t, order[i], &exit)) == 1)
				env_spin_yield();	/* soft full: the harvester catches up */
			assert_int_equal(r, 0);
		}
	}
	__atomic_store_n(&h.stop, true, __ATOMIC_RELEASE);
	assert_int_equal(env_thread_join(th), 0);
	for (i = 0; i < 512; i++)
		assert_true(h.seen[i / BITS_PER_LONG] & (1UL << (i % BITS_PER_LONG)));
	test_vm_check(&t);
	test_vm_destroy(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_dirty_ring_enable_rules),
		MMUSIM_TEST(test_dirty_ring_push_reset),
		MMUSIM_TEST(test_dirty_ring_push_reset_legacy),
		MMUSIM_TEST(test_dirty_ring_soft_full),
		MMUSIM_TEST(test_dirty_ring_pml),
		MMUSIM_TEST(test_dirty_ring_concurrent_harvest),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("kvm_dirty_ring", tests);
}
