// SPDX-License-Identifier: GPL-2.0-only
/* VM set-up helpers for the MMU tests (see test_util.h). */
#include "test_util.h"
#include <mmusim/sev.h>

int test_vm_mmu = MMUSIM_MMU_TDP;

void test_vm_set_region(struct test_vm *t, u32 slot, gpa_t gpa, u64 size, hva_t hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = hva,
	};

	assert_int_equal(mmusim_vm_set_user_memory_region(t->vm, &r), 0);
}

void test_vm_create(struct test_vm *t, const struct test_vm_opts *o)
{
	struct sim_host_config hc = { .mem_bytes = o->host_mem };
	struct mmusim_vm_config cfg = o->cfg;

	if (o->hcfg)
		hc = *o->hcfg;

	memset(t, 0, sizeof(*t));
	if (cfg.mmu == MMUSIM_MMU_TDP)
		cfg.mmu = test_vm_mmu;
	assert_int_equal(sim_host_create(&hc, &t->host), 0);
	assert_int_equal(sim_mm_create(t->host, &t->mm), 0);
	assert_int_equal(mmusim_vm_create(t->host, t->mm, &cfg, &t->vm), 0);
	if (!o->size)
		return;
	t->size = o->size;
	t->gpa = o->gpa;
	assert_int_equal(sim_mmap(t->mm, 0, o->size, SIM_PROT_READ | SIM_PROT_WRITE,
				  o->map_flags ? o->map_flags : SIM_MAP_PRIVATE, &t->hva),
			 0);
	test_vm_set_region(t, 0, o->gpa, o->size, t->hva);
}

void test_vm_check(struct test_vm *t)
{
	char msg[256];
	int r = mmusim_vm_check(t->vm, msg, sizeof(msg));

	if (r)
		fail_msg("mmusim_vm_check: %d %s", r, msg);
}

void test_vm_destroy(struct test_vm *t)
{
	mmusim_vm_destroy(t->vm);
	sim_mm_destroy(t->mm);
	sim_host_destroy(t->host);
	memset(t, 0, sizeof(*t));
}

void test_sev_stats(struct test_vm *t, struct mmusim_sev_stats *st)
{
	assert_int_equal(mmusim_vm_sev_get_stats(t->vm, st), 0);
}

void test_guest_put64(struct test_vm *t, gfn_t gfn, u64 v)
{
	assert_int_equal(mmusim_vcpu_write(mmusim_vm_vcpu(t->vm, 0), gfn << PAGE_SHIFT, &v, 8), 0);
}

u64 test_guest_get64(struct test_vm *t, gfn_t gfn)
{
	u64 v;

	assert_int_equal(mmusim_vcpu_read(mmusim_vm_vcpu(t->vm, 0), gfn << PAGE_SHIFT, &v, 8), 0);
	return v;
}
