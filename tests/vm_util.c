// SPDX-License-Identifier: GPL-2.0-only
/* VM set-up helpers for the MMU tests (see test_util.h). */
#include <pthread.h>
#include <stdlib.h>

#include "test_util.h"
#include <mmusim/env.h>
#include <mmusim/host.h>
#include <mmusim/sev.h>

int test_vm_mmu = MMUSIM_MMU_TDP;

void test_vm_set_region_flags(struct test_vm *t, u32 slot, gpa_t gpa, u64 size, hva_t hva,
			      u32 flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = hva,
	};

	assert_int_equal(mmusim_vm_set_user_memory_region(t->vm, &r), 0);
}

void test_vm_set_region(struct test_vm *t, u32 slot, gpa_t gpa, u64 size, hva_t hva)
{
	test_vm_set_region_flags(t, slot, gpa, size, hva, 0);
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

struct mmusim_sev_stats test_sev_stats(struct test_vm *t)
{
	struct mmusim_sev_stats st;

	assert_int_equal(mmusim_vm_sev_get_stats(t->vm, &st), 0);
	return st;
}

kvm_pfn_t test_host_pfn(struct test_vm *t, hva_t hva)
{
	struct sim_host_pte_info info;

	assert_int_equal(sim_mm_lookup(t->mm, hva, &info), 0);
	return info.pfn;
}

int test_host_page_count(struct test_vm *t, hva_t hva)
{
	struct sim_page *page = sim_pfn_to_page(t->host, test_host_pfn(t, hva));

	return sim_page_count(t->host, sim_compound_head(t->host, page));
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

void *test_churn_host(void *arg)
{
	struct test_churn *c = arg;
	u64 rnd = c->seed, moved;

	env_thread_register();
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		hva_t a = c->t->hva + (test_rand(&rnd) % c->npages) * PAGE_SIZE;

		switch (test_rand(&rnd) % 4) {
		case 0:
			sim_migrate_page(c->t->mm, a);
			break;
		case 1:
			sim_compact_range(c->t->mm, a, 8 * PAGE_SIZE, &moved);
			break;
		case 2:
			sim_swap_out(c->t->mm, a);
			break;
		default:
			if (c->zap)
				mmusim_vm_zap_gfn_range(c->t->vm, -1, 0, c->npages);
			else
				sim_mm_age_range(c->t->mm, a, PAGE_SIZE);
			break;
		}
	}
	env_thread_unregister();
	return NULL;
}

struct churn_vcpu {
	struct test_vm *t;
	int vcpu;
	u64 round, npages;
};

static void *churn_vcpu(void *arg)
{
	struct churn_vcpu *c = arg;
	struct mmusim_vcpu *v = mmusim_vm_vcpu(c->t->vm, c->vcpu);
	u64 g, x;

	env_thread_register();
	for (g = c->vcpu; g < c->npages; g += 2) {
		x = (c->round << 32) | g;
		assert_int_equal(mmusim_vcpu_write(v, g << PAGE_SHIFT, &x, 8), 0);
	}
	env_thread_unregister();
	return NULL;
}

void test_churn_two_vcpus(struct test_churn *c, u64 rounds)
{
	struct churn_vcpu vc[2];
	pthread_t th, tv[2];
	u64 round, g;
	int i;

	assert_int_equal(pthread_create(&th, NULL, test_churn_host, c), 0);
	for (round = 1; round <= rounds; round++) {
		for (i = 0; i < 2; i++) {
			vc[i] = (struct churn_vcpu){
				.t = c->t, .vcpu = i, .round = round, .npages = c->npages
			};
			assert_int_equal(pthread_create(&tv[i], NULL, churn_vcpu, &vc[i]), 0);
		}
		for (i = 0; i < 2; i++)
			pthread_join(tv[i], NULL);
		for (g = 0; g < c->npages; g++)
			assert_int_equal(test_guest_get64(c->t, g), (round << 32) | g);
	}
	__atomic_store_n(&c->stop, true, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
}

bool test_sev_next_owner_dirty(struct test_vm *t, kvm_pfn_t pfn)
{
	struct sim_page **pages = calloc(16384, sizeof(*pages));
	int i, n = 0;
	u8 *data;

	assert_non_null(pages);
	/* The allocator hands the freed frame out again soon. */
	while (n < 16384) {
		pages[n] = sim_alloc_pages(t->host, GFP_KERNEL | __GFP_ZERO, 0);
		assert_non_null(pages[n]);
		if (sim_page_to_pfn(t->host, pages[n++]) == pfn)
			break;
	}
	assert_int_equal(sim_page_to_pfn(t->host, pages[n - 1]), pfn);
	data = sim_pfn_to_virt(t->host, pfn);
	for (i = 0; i < PAGE_SIZE && !data[i]; i++)
		;
	while (n)
		sim_put_page(t->host, pages[--n]);
	free(pages);
	return i < PAGE_SIZE;
}
