// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/mmu/vm.c, the public VM API: uapi-shaped calls treat their
 * structures and bitmaps as user memory (NULL, PROT_NONE, a buffer one byte
 * short of an inaccessible page, and read-only output give -EFAULT, in
 * KVM's order of checks), and every call takes a NULL handle.
 *
 * Slot layout used throughout (one 4 MiB slot, dirty logging on):
 *
 *   gfn 0 ............................ 1023
 *   [ slot 0: 1024 pages, LOG_DIRTY     ]
 */
#include <sys/mman.h>

#include "test_util.h"
#include "mmu/kvm_host.h"

#define MiB (1ULL << 20)
#define SLOT_PAGES 1024
#define BITMAP_BYTES (SLOT_PAGES / 8)

static void setup_logging_vm(struct test_vm *t)
{
	struct test_vm_opts o = { .size = 4 * MiB };
	struct kvm_userspace_memory_region r;

	test_vm_create(t, &o);
	r = (struct kvm_userspace_memory_region){ .slot = 0,
						  .flags = KVM_MEM_LOG_DIRTY_PAGES,
						  .memory_size = 4 * MiB,
						  .userspace_addr = t->hva };
	assert_int_equal(mmusim_vm_set_user_memory_region(t->vm, &r), 0);
}

static void dirty_pages(struct test_vm *t, int n)
{
	assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t->vm, 0), 0, n, 0,
						  MMUSIM_ACCESS_WRITE, NULL),
			 n);
}

/* KVM_SET_USER_MEMORY_REGION's argument is copied in whole, or -EFAULT. */
static void test_vm_set_region_user_copy(void **state)
{
	struct kvm_userspace_memory_region *r;
	struct test_vm_opts o = { .size = 0 };
	struct test_vm t;
	hva_t hva;

	test_vm_create(&t, &o);
	assert_int_equal(
		sim_mmap(t.mm, 0, 2 * MiB, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &hva),
		0);
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, NULL), -EFAULT);
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, test_bad_ptr()), -EFAULT);

	/* One byte short: the struct's last byte lies in the guard page. */
	r = test_guarded_buf(sizeof(*r) - 1, PROT_READ | PROT_WRITE);
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, (void *)r), -EFAULT);
	test_guarded_free(r, sizeof(*r) - 1);

	/* Exactly long enough, and read-only input is fine. */
	r = test_guarded_buf(sizeof(*r), PROT_READ | PROT_WRITE);
	*r = (struct kvm_userspace_memory_region){ .slot = 0,
						   .memory_size = 2 * MiB,
						   .userspace_addr = hva };
	assert_int_equal(mprotect((void *)((unsigned long)r & ~4095UL), 4096, PROT_READ), 0);
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, r), 0);
	test_guarded_free(r, sizeof(*r));
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * KVM_GET_DIRTY_LOG: the bitmap is output, copied after the harvest, so a
 * failed copy without manual protect loses the bits (KVM does the same).
 */
static void test_vm_get_dirty_log_user_copy(void **state)
{
	struct kvm_dirty_log log = { .slot = 0 };
	unsigned long *ro, *shortbuf, good[BITMAP_BYTES / sizeof(long)];
	struct test_vm t;

	setup_logging_vm(&t);
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, NULL), -EFAULT);
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, test_bad_ptr()), -EFAULT);

	dirty_pages(&t, 8);
	log.dirty_bitmap = NULL;
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), -EFAULT);
	/* The harvest ran before the copy: the 8 bits are gone. */
	log.dirty_bitmap = good;
	memset(good, 0xff, sizeof(good));
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_int_equal(good[0], 0);

	dirty_pages(&t, 3);
	ro = test_guarded_buf(BITMAP_BYTES, PROT_READ);
	log.dirty_bitmap = ro;
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), -EFAULT);
	test_guarded_free(ro, BITMAP_BYTES);

	dirty_pages(&t, 3);
	shortbuf = test_guarded_buf(BITMAP_BYTES - 1, PROT_READ | PROT_WRITE);
	log.dirty_bitmap = shortbuf;
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), -EFAULT);
	test_guarded_free(shortbuf, BITMAP_BYTES - 1);

	/* The whole bitmap, exactly: success. */
	dirty_pages(&t, 5);
	shortbuf = test_guarded_buf(BITMAP_BYTES, PROT_READ | PROT_WRITE);
	log.dirty_bitmap = shortbuf;
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_int_equal(shortbuf[0], 0x1f);
	test_guarded_free(shortbuf, BITMAP_BYTES);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * KVM_CLEAR_DIRTY_LOG: first_page & 63 and the range are checked before the
 * bitmap is read; ALIGN(num_pages, 64) / 8 bytes are read, so zero pages
 * read nothing and a NULL bitmap is fine.
 */
static void test_vm_clear_dirty_log_user_copy(void **state)
{
	struct kvm_clear_dirty_log log = { .slot = 0 };
	unsigned long *buf, bits[BITMAP_BYTES / sizeof(long)];
	struct kvm_dirty_log get = { .slot = 0, .dirty_bitmap = bits };
	struct test_vm t;

	setup_logging_vm(&t);
	assert_int_equal(mmusim_vm_enable_manual_dirty_log_protect(
				 t.vm, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE),
			 0);
	assert_int_equal(mmusim_vm_clear_dirty_log(t.vm, NULL), -EFAULT);
	assert_int_equal(mmusim_vm_clear_dirty_log(t.vm, test_bad_ptr()), -EFAULT);

	log.dirty_bitmap = NULL;
	log.num_pages = 0;
	assert_int_equal(mmusim_vm_clear_dirty_log(t.vm, &log), 0);
	log.num_pages = 64;
	assert_int_equal(mmusim_vm_clear_dirty_log(t.vm, &log), -EFAULT);
	log.first_page = 1;
	assert_int_equal(mmusim_vm_clear_dirty_log(t.vm, &log), -EINVAL);
	log.first_page = 0;
	log.num_pages = SLOT_PAGES + 64;
	assert_int_equal(mmusim_vm_clear_dirty_log(t.vm, &log), -EINVAL);
	log.dirty_bitmap = test_bad_ptr();
	log.num_pages = 64;
	assert_int_equal(mmusim_vm_clear_dirty_log(t.vm, &log), -EFAULT);

	/* The whole slot reads 128 bytes: an 8-byte buffer faults. */
	dirty_pages(&t, 4);
	buf = test_guarded_buf(8, PROT_READ | PROT_WRITE);
	buf[0] = ~0ul;
	assert_int_equal(mprotect((void *)((unsigned long)buf & ~4095UL), 4096, PROT_READ), 0);
	log.dirty_bitmap = buf;
	log.num_pages = SLOT_PAGES;
	assert_int_equal(mmusim_vm_clear_dirty_log(t.vm, &log), -EFAULT);
	/* Read-only input of the right length is fine and clears the bits. */
	log.num_pages = 64;
	assert_int_equal(mmusim_vm_clear_dirty_log(t.vm, &log), 0);
	test_guarded_free(buf, 8);
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &get), 0);
	assert_int_equal(bits[0], 0);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* KVM_ENABLE_CAP copies its argument; mmusim_vm_get_memslot() copies out. */
static void test_vm_enable_cap_and_get_memslot_user_copy(void **state)
{
	struct kvm_userspace_memory_region *ro, out;
	struct kvm_enable_cap *cap;
	struct test_vm t;

	setup_logging_vm(&t);
	assert_int_equal(mmusim_vm_enable_cap(t.vm, NULL), -EFAULT);
	assert_int_equal(mmusim_vm_enable_cap(t.vm, test_bad_ptr()), -EFAULT);
	cap = test_guarded_buf(sizeof(*cap) - 1, PROT_READ | PROT_WRITE);
	assert_int_equal(mmusim_vm_enable_cap(t.vm, (void *)cap), -EFAULT);
	test_guarded_free(cap, sizeof(*cap) - 1);

	/* The lookup comes first: a missing slot is -ENOENT whatever @out. */
	assert_int_equal(mmusim_vm_get_memslot(t.vm, 5, NULL), -ENOENT);
	assert_int_equal(mmusim_vm_get_memslot(t.vm, 0, NULL), -EFAULT);
	ro = test_guarded_buf(sizeof(*ro), PROT_READ);
	assert_int_equal(mmusim_vm_get_memslot(t.vm, 0, ro), -EFAULT);
	test_guarded_free(ro, sizeof(*ro));
	assert_int_equal(mmusim_vm_get_memslot(t.vm, 0, &out), 0);
	assert_int_equal(out.slot, 0);
	assert_int_equal(out.flags, KVM_MEM_LOG_DIRTY_PAGES);
	assert_int_equal(out.guest_phys_addr, 0);
	assert_int_equal(out.memory_size, 4 * MiB);
	assert_int_equal(out.userspace_addr, t.hva);
	assert_int_equal(mmusim_vm_get_memslot(t.vm, 32764, &out), -EINVAL);
	assert_int_equal(mmusim_vm_get_memslot(t.vm, 2 << 16, &out), -EINVAL);
	test_vm_destroy(&t);
}

/* A NULL VM is -EINVAL (void calls do nothing), before any argument is read. */
/*
 * KVM_CREATE_VCPU after creation: the next index, a vCPU that faults and
 * runs like the first ones, up to KVM_MAX_VCPUS; what must precede every
 * vCPU (the dirty ring) is refused after it.
 *
 *   gfn 0 .. 1023  slot 0
 */
static void test_vm_create_vcpu(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB };
	struct kvm_enable_cap ring = { .cap = KVM_CAP_DIRTY_LOG_RING, .args = { 4096 } };
	struct mmusim_vcpu *v, *first;
	struct test_vm t;
	u64 val = 0x5a5a, got = 0;
	int i;

	o.cfg.nr_vcpus = 1;
	test_vm_create(&t, &o);
	first = mmusim_vm_vcpu(t.vm, 0);
	assert_int_equal(mmusim_vm_create_vcpu(t.vm, NULL), -EINVAL);
	assert_int_equal(mmusim_vm_create_vcpu(t.vm, &v), 0);
	assert_int_equal(mmusim_vm_nr_vcpus(t.vm), 2);
	assert_ptr_equal(mmusim_vm_vcpu(t.vm, 1), v);
	assert_int_equal(mmusim_vcpu_write(v, 0x3000, &val, sizeof(val)), 0);
	assert_int_equal(mmusim_vcpu_read(first, 0x3000, &got, sizeof(got)), 0);
	assert_int_equal(got, val);
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &ring), -EINVAL);
	for (i = 2; i < KVM_MAX_VCPUS; i++)
		assert_int_equal(mmusim_vm_create_vcpu(t.vm, &v), 0);
	assert_int_equal(mmusim_vm_create_vcpu(t.vm, &v), -EINVAL);
	/* A flush now waits for every one of them. */
	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, 0, 0, 1024), 0);
	assert_int_equal(mmusim_vcpu_read(v, 0x3000, &got, sizeof(got)), 0);
	assert_int_equal(got, val);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

static void test_vm_null_handle(void **state)
{
	struct kvm_userspace_memory_region r = { 0 };
	struct kvm_dirty_log dl = { 0 };
	struct kvm_clear_dirty_log cl = { 0 };
	struct kvm_enable_cap cap = { 0 };
	struct mmusim_vm_stats st;
	char buf[16];

	assert_int_equal(mmusim_vm_create(NULL, NULL, NULL, NULL), -EINVAL);
	mmusim_vm_destroy(NULL);
	assert_int_equal(mmusim_vm_set_user_memory_region(NULL, &r), -EINVAL);
	assert_int_equal(mmusim_vm_get_dirty_log(NULL, &dl), -EINVAL);
	assert_int_equal(mmusim_vm_clear_dirty_log(NULL, &cl), -EINVAL);
	assert_int_equal(mmusim_vm_enable_manual_dirty_log_protect(NULL, 0), -EINVAL);
	assert_int_equal(mmusim_vm_check_extension(NULL, KVM_CAP_USER_MEMORY), -EINVAL);
	assert_int_equal(mmusim_vm_enable_cap(NULL, &cap), -EINVAL);
	assert_int_equal(mmusim_vm_get_memslot(NULL, 0, &r), -EINVAL);
	assert_null(mmusim_vm_vcpu(NULL, 0));
	assert_int_equal(mmusim_vm_nr_vcpus(NULL), -EINVAL);
	assert_int_equal(mmusim_vm_zap_gfn_range(NULL, 0, 0, 1), -EINVAL);
	mmusim_vm_zap_all_fast(NULL);
	assert_int_equal(mmusim_vm_set_fault_exit_ns(NULL, 0), -EINVAL);
	assert_int_equal(mmusim_vm_race_next_fault(NULL, 0, NULL, NULL), -EINVAL);
	assert_int_equal(mmusim_vm_get_stats(NULL, &st), -EINVAL);
	assert_int_equal(mmusim_vm_dump(NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(mmusim_vm_check(NULL, buf, sizeof(buf)), -EINVAL);
}

/* NULL out-parameters of a live VM. */
static void test_vm_null_out_params(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct test_vm t;
	char buf[4096];

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vm_get_stats(t.vm, NULL), -EINVAL);
	assert_int_equal(mmusim_vm_dump(t.vm, NULL, 16), -EINVAL);
	assert_int_equal(mmusim_vm_check(t.vm, NULL, 16), -EINVAL);
	/* A zero-sized buffer may be NULL, as with snprintf(). */
	assert_true(mmusim_vm_dump(t.vm, NULL, 0) >= 0);
	assert_int_equal(mmusim_vm_check(t.vm, NULL, 0), 0);
	assert_true(mmusim_vm_dump(t.vm, buf, sizeof(buf)) >= 0);
	assert_null(mmusim_vm_vcpu(t.vm, 1));
	assert_null(mmusim_vm_vcpu(t.vm, -1));
	assert_int_equal(mmusim_vm_nr_vcpus(t.vm), 1);
	test_vm_destroy(&t);
}

/*
 * mmusim_vm_destroy() while vCPU threads are inside calls: it waits for the
 * call in flight (vCPU 0, held inside its fault by the race hook until the
 * destroy has begun and vCPU 1's late call has been refused with -EIO).
 *
 *   vCPU 0: access gfn 0 -> fault -> hook: wait for destroying, then for B
 *   vCPU 1: waits for destroying, access -> -EIO
 *   main:   destroy (waits for vCPU 0's call to end)
 */
struct destroy_race {
	struct mmusim_vm *vm;
	struct kvm *kvm;
	int late_result;
	bool late_done;
	int access_result;
};

static void destroy_race_hook(void *arg, int point, gfn_t gfn)
{
	struct destroy_race *d = arg;

	while (!READ_ONCE(d->kvm->destroying))
		env_spin_yield();
	while (!READ_ONCE(d->late_done))
		env_spin_yield();
}

static int destroy_race_vcpu0(void *arg)
{
	struct destroy_race *d = arg;

	d->access_result = mmusim_vcpu_access(mmusim_vm_vcpu(d->vm, 0), 0, MMUSIM_ACCESS_WRITE,
					      NULL);
	return 0;
}

static int destroy_race_vcpu1(void *arg)
{
	struct destroy_race *d = arg;
	struct mmusim_vcpu *v = mmusim_vm_vcpu(d->vm, 1);

	while (!READ_ONCE(d->kvm->destroying))
		env_spin_yield();
	d->late_result = mmusim_vcpu_access(v, 0x1000, MMUSIM_ACCESS_READ, NULL);
	smp_store_release(&d->late_done, true);
	return 0;
}

static void test_vm_destroy_while_vcpus_run(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB, .cfg.nr_vcpus = 2 };
	struct destroy_race d = { 0 };
	struct env_thread *t0, *t1;
	struct test_vm t;

	test_vm_create(&t, &o);
	d.vm = t.vm;
	d.kvm = mmusim_to_kvm(t.vm);
	assert_int_equal(mmusim_vm_race_next_fault(t.vm, MMUSIM_FAULT_RACE_AFTER_PFN,
						   destroy_race_hook, &d),
			 0);
	t0 = env_thread_start(destroy_race_vcpu0, &d, "vcpu0");
	t1 = env_thread_start(destroy_race_vcpu1, &d, "vcpu1");
	assert_non_null(t0);
	assert_non_null(t1);
	/* Wait until vCPU 0 is inside its call, then destroy under it. */
	while (!atomic_read(&d.kvm->calls_in_flight))
		env_spin_yield();
	mmusim_vm_destroy(t.vm);
	t.vm = NULL;
	assert_int_equal(env_thread_join(t0), 0);
	assert_int_equal(env_thread_join(t1), 0);
	assert_int_equal(d.access_result, 0);
	assert_int_equal(d.late_result, -EIO);
	test_vm_destroy(&t);
}

/* NULL vCPU handles, and guest copies from and to bad user buffers. */
static void test_vm_vcpu_null_and_bad_buffers(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct mmusim_vcpu *v;
	struct test_vm t;
	char *ro, buf[64] = "guest data";

	assert_int_equal(mmusim_vcpu_access(NULL, 0, MMUSIM_ACCESS_READ, NULL), -EINVAL);
	assert_int_equal(mmusim_vcpu_access_range(NULL, 0, 1, 0, MMUSIM_ACCESS_READ, NULL),
			 -EINVAL);
	assert_int_equal(mmusim_vcpu_read(NULL, 0, buf, 1), -EINVAL);
	assert_int_equal(mmusim_vcpu_write(NULL, 0, buf, 1), -EINVAL);
	assert_int_equal(mmusim_vcpu_set_smm(NULL, true), -EINVAL);
	assert_int_equal(mmusim_vcpu_set_tlb_check(NULL, true), -EINVAL);

	test_vm_create(&t, &o);
	v = mmusim_vm_vcpu(t.vm, 0);
	assert_int_equal(mmusim_vcpu_write(v, 0x100, NULL, 8), -EFAULT);
	assert_int_equal(mmusim_vcpu_write(v, 0x100, test_bad_ptr(), 8), -EFAULT);
	assert_int_equal(mmusim_vcpu_read(v, 0x100, NULL, 8), -EFAULT);
	assert_int_equal(mmusim_vcpu_write(v, 0x100, NULL, 0), 0);
	assert_int_equal(mmusim_vcpu_write(v, 0x100, buf, sizeof(buf)), 0);
	/* Reading into read-only memory faults; into a good buffer works. */
	ro = test_guarded_buf(sizeof(buf), PROT_READ);
	assert_int_equal(mmusim_vcpu_read(v, 0x100, ro, sizeof(buf)), -EFAULT);
	test_guarded_free(ro, sizeof(buf));
	memset(buf, 0, sizeof(buf));
	assert_int_equal(mmusim_vcpu_read(v, 0x100, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "guest data");
	test_vm_check(&t);
	test_vm_destroy(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_vm_set_region_user_copy),
		MMUSIM_TEST(test_vm_create_vcpu),
		MMUSIM_TEST(test_vm_get_dirty_log_user_copy),
		MMUSIM_TEST(test_vm_clear_dirty_log_user_copy),
		MMUSIM_TEST(test_vm_enable_cap_and_get_memslot_user_copy),
		MMUSIM_TEST(test_vm_null_handle),
		MMUSIM_TEST(test_vm_null_out_params),
		MMUSIM_TEST(test_vm_destroy_while_vcpus_run),
		MMUSIM_TEST(test_vm_vcpu_null_and_bad_buffers),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("vm", tests);
}
