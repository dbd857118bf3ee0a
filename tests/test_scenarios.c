// SPDX-License-Identifier: GPL-2.0-only
/*
 * End-to-end scenarios through the public API: a VMM (struct sim_mm) with
 * a VM, host events changing the memory under the guest, memslot changes
 * under load.  Each scenario ends with the invariant checker, and runs on
 * both MMUs (the _legacy variants: shadow pages and rmap, tdp_mmu=N).
 */
#include "test_util.h"

#define MiB (1ULL << 20)

static struct mmusim_vcpu *vcpu0(struct test_vm *t)
{
	return mmusim_vm_vcpu(t->vm, 0);
}

static int access(struct test_vm *t, gpa_t gpa, int type)
{
	struct mmusim_exit exit;

	return mmusim_vcpu_access(vcpu0(t), gpa, type, &exit);
}

/* Guest data survives a host migration; the SPTE follows the new pfn. */
static void test_scenario_migrate_keeps_data(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	u64 in = 0x0123456789abcdefULL, out = 0;
	kvm_pfn_t before;
	struct test_vm t;

	test_vm_create(&t, &o);
	mmusim_vcpu_set_tlb_check(vcpu0(&t), true);
	assert_int_equal(mmusim_vcpu_write(vcpu0(&t), 0x7008, &in, sizeof(in)), 0);
	before = test_host_pfn(&t, t.hva + 0x7000);
	assert_int_equal(sim_migrate_page(t.mm, t.hva + 0x7000), 0);
	assert_true(test_host_pfn(&t, t.hva + 0x7000) != before);
	test_vm_check(&t);
	assert_int_equal(mmusim_vcpu_read(vcpu0(&t), 0x7008, &out, sizeof(out)), 0);
	assert_true(out == in);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * Private anonymous memory: a guest read maps the shared zero page
 * read-only; the guest's first write breaks COW in the host (new pfn) and
 * the SPTE is rebuilt writable on the new page.
 */
static void test_scenario_cow_break(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	kvm_pfn_t zero_pfn;
	struct test_vm t;
	u8 b = 0xaa, r = 0;

	test_vm_create(&t, &o);
	assert_int_equal(access(&t, 0x1000, MMUSIM_ACCESS_READ), 0);
	zero_pfn = test_host_pfn(&t, t.hva + 0x1000);
	test_vm_check(&t);
	assert_int_equal(mmusim_vcpu_write(vcpu0(&t), 0x1000, &b, 1), 0);
	assert_true(test_host_pfn(&t, t.hva + 0x1000) != zero_pfn);
	test_vm_check(&t);
	assert_int_equal(mmusim_vcpu_read(vcpu0(&t), 0x1000, &r, 1), 0);
	assert_int_equal(r, 0xaa);
	test_vm_destroy(&t);
}

/* mprotect(PROT_READ): writes fail with -EFAULT, reads still work. */
static void test_scenario_mprotect_readonly(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(access(&t, 0x2000, MMUSIM_ACCESS_WRITE), 0);
	assert_int_equal(sim_mprotect(t.mm, t.hva, 2 * MiB, SIM_PROT_READ), 0);
	test_vm_check(&t);
	assert_int_equal(access(&t, 0x2000, MMUSIM_ACCESS_READ), 0);
	assert_int_equal(access(&t, 0x2000, MMUSIM_ACCESS_WRITE), -EFAULT);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* munmap of the slot's memory: SPTEs go; the guest access then fails. */
static void test_scenario_munmap_under_guest(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vcpu_access_range(vcpu0(&t), 0, 512, 0, MMUSIM_ACCESS_WRITE,
						  NULL),
			 512);
	assert_int_equal(sim_munmap(t.mm, t.hva, 2 * MiB), 0);
	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.pages_4k, 0);
	assert_int_equal(access(&t, 0, MMUSIM_ACCESS_READ), -EFAULT);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* Swap-out drops the SPTE; the next guest access swaps the data back in. */
static void test_scenario_swap_out_in(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	u32 in = 0xfeedf00d, out = 0;
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vcpu_write(vcpu0(&t), 0x3000, &in, sizeof(in)), 0);
	assert_int_equal(sim_swap_out(t.mm, t.hva + 0x3000), 0);
	test_vm_check(&t);
	assert_int_equal(mmusim_vcpu_read(vcpu0(&t), 0x3000, &out, sizeof(out)), 0);
	assert_int_equal(out, in);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* A THP split in the host zaps the 2M SPTE; refaults map 4K. */
static void test_scenario_thp_split(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB, .map_flags = SIM_MAP_PRIVATE | SIM_MAP_THP };
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(access(&t, 0x1000, MMUSIM_ACCESS_WRITE), 0);
	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.pages_2m, 1);
	assert_int_equal(sim_split_thp(t.mm, t.hva), 0);
	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.pages_2m, 0);
	assert_int_equal(access(&t, 0x1000, MMUSIM_ACCESS_WRITE), 0);
	mmusim_vm_get_stats(t.vm, &st);
	/* The legacy MMU also prefetches the fault's 4K neighbours (up to 8). */
	if (test_vm_mmu == MMUSIM_MMU_LEGACY)
		assert_in_range(st.pages_4k, 1, 8);
	else
		assert_int_equal(st.pages_4k, 1);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* A read-only memslot: reads map, writes exit to userspace as MMIO. */
static void test_scenario_readonly_memslot(void **state)
{
	struct test_vm_opts o = { .size = 0 };
	struct kvm_userspace_memory_region r = { 0 };
	struct mmusim_exit exit;
	struct test_vm t;
	hva_t hva;

	test_vm_create(&t, &o);
	assert_int_equal(sim_mmap(t.mm, 0, 2 * MiB, SIM_PROT_READ | SIM_PROT_WRITE,
				  SIM_MAP_PRIVATE, &hva),
			 0);
	r.slot = 3;
	r.flags = KVM_MEM_READONLY;
	r.guest_phys_addr = 8 * MiB;
	r.memory_size = 2 * MiB;
	r.userspace_addr = hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	assert_int_equal(mmusim_vcpu_access(vcpu0(&t), 8 * MiB, MMUSIM_ACCESS_READ, &exit), 0);
	assert_int_equal(mmusim_vcpu_access(vcpu0(&t), 8 * MiB, MMUSIM_ACCESS_WRITE, &exit), 1);
	assert_int_equal(exit.reason, KVM_EXIT_MMIO);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

struct load_ctx {
	struct test_vm *t;
	gpa_t gpa;
	u64 npages;
	bool stop;
	unsigned long completed, exits;
	int error;
};

static int guest_load(void *arg)
{
	struct load_ctx *c = arg;
	struct mmusim_exit exit;
	u64 i = 0;

	while (!READ_ONCE(c->stop)) {
		int r = mmusim_vcpu_access(vcpu0(c->t), c->gpa + (i++ % c->npages) * 4096,
					   MMUSIM_ACCESS_WRITE, &exit);

		if (r < 0) {
			c->error = r;
			return r;
		}
		/* The main thread polls them. */
		if (r)
			WRITE_ONCE(c->exits, c->exits + 1);
		else
			WRITE_ONCE(c->completed, c->completed + 1);
	}
	return 0;
}

/*
 * Memslot delete and move while a vCPU writes in a loop:
 *   gpa 0 .. 2M   slot 5, moved to 32M .. 34M, then deleted
 * The vCPU sees completions before and MMIO exits after; no SPTE survives
 * for a gfn the slot no longer covers.
 */
static void test_scenario_memslot_move_delete_under_load(void **state)
{
	struct test_vm_opts o = { .size = 0 };
	struct kvm_userspace_memory_region r = { 0 };
	struct load_ctx c = { 0 };
	struct env_thread *th;
	struct mmusim_vm_stats st;
	struct test_vm t;
	hva_t hva;
	int i;

	test_vm_create(&t, &o);
	assert_int_equal(sim_mmap(t.mm, 0, 2 * MiB, SIM_PROT_READ | SIM_PROT_WRITE,
				  SIM_MAP_PRIVATE, &hva),
			 0);
	r.slot = 5;
	r.memory_size = 2 * MiB;
	r.userspace_addr = hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);

	c.t = &t;
	c.gpa = 0;
	c.npages = 512;
	th = env_thread_start(guest_load, &c, "vcpu0");
	assert_non_null(th);
	while (!READ_ONCE(c.completed) && !READ_ONCE(c.error))
		env_spin_yield();
	for (i = 0; i < 20; i++) {
		r.guest_phys_addr = (i % 2) ? 32 * MiB : 0;
		assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
		test_vm_check(&t);
	}
	r.memory_size = 0;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	test_vm_check(&t);
	/* Every access exits now; on a loaded machine the vCPU may not have run yet. */
	while (!READ_ONCE(c.exits) && !READ_ONCE(c.error))
		env_spin_yield();
	WRITE_ONCE(c.stop, true);
	assert_int_equal(env_thread_join(th), 0);
	assert_int_equal(c.error, 0);
	assert_true(c.completed > 0);
	assert_true(c.exits > 0);

	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.pages_4k + st.pages_2m + st.pages_1g, 0);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* Every scenario again on the legacy MMU (shadow pages and rmap, tdp_mmu=N). */
MMUSIM_LEGACY_VARIANT(test_scenario_migrate_keeps_data)
MMUSIM_LEGACY_VARIANT(test_scenario_cow_break)
MMUSIM_LEGACY_VARIANT(test_scenario_mprotect_readonly)
MMUSIM_LEGACY_VARIANT(test_scenario_munmap_under_guest)
MMUSIM_LEGACY_VARIANT(test_scenario_swap_out_in)
MMUSIM_LEGACY_VARIANT(test_scenario_thp_split)
MMUSIM_LEGACY_VARIANT(test_scenario_readonly_memslot)
MMUSIM_LEGACY_VARIANT(test_scenario_memslot_move_delete_under_load)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_scenario_migrate_keeps_data),
		MMUSIM_TEST(test_scenario_cow_break),
		MMUSIM_TEST(test_scenario_mprotect_readonly),
		MMUSIM_TEST(test_scenario_munmap_under_guest),
		MMUSIM_TEST(test_scenario_swap_out_in),
		MMUSIM_TEST(test_scenario_thp_split),
		MMUSIM_TEST(test_scenario_readonly_memslot),
		MMUSIM_TEST(test_scenario_memslot_move_delete_under_load),
		MMUSIM_TEST(test_scenario_migrate_keeps_data_legacy),
		MMUSIM_TEST(test_scenario_cow_break_legacy),
		MMUSIM_TEST(test_scenario_mprotect_readonly_legacy),
		MMUSIM_TEST(test_scenario_munmap_under_guest_legacy),
		MMUSIM_TEST(test_scenario_swap_out_in_legacy),
		MMUSIM_TEST(test_scenario_thp_split_legacy),
		MMUSIM_TEST(test_scenario_readonly_memslot_legacy),
		MMUSIM_TEST(test_scenario_memslot_move_delete_under_load_legacy),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("scenarios", tests);
}
