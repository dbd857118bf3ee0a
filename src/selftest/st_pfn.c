// SPDX-License-Identifier: GPL-2.0-only
/*
 * Self-tests of src/pfn that run in both environments: the policy branches
 * of __kvm_follow_pfn() for VM_IO/VM_PFNMAP memory in both pfn models (the
 * full decision table, with swap, signals and poison, is
 * tests/test_kvm_follow_pfn.c), and kvm_vcpu_map() of each kind of memory.
 *
 * Each row makes a 16 MiB host with a 16-frame nopage region at 1 GiB, one
 * VM, and a 16-page buffer at hva H mapped as the row says; a memslot made
 * by hand covers it (gfn 0..15 -> H) and the row looks up gfn 3:
 *
 *   anon      private anonymous memory, written
 *   PFN-only  remap_pfn_range() of the nopage frames (no struct page)
 *   compound  remap_pfn_range() of a compound order-4 block (refcounted)
 *   TTM       remap_pfn_range() of a non-compound order-4 block (gfn 3 is a
 *             tail with refcount 0)
 */
#include "mmusim_env.h"

#include <mmusim/host.h>
#include <mmusim/vm.h>

#include "pfn/kvm_pfn.h"
#include "selftest/selftest.h"

#define ST_MiB (1ULL << 20)
#define ST_NOPAGE_BASE (1ULL << 18)	/* 1 GiB */
#define ST_PFN_PAGES 16
#define ST_GFN 3

enum st_backing { ST_ANON, ST_PFN_ONLY, ST_COMPOUND, ST_TTM };

struct st_pfn_row {
	int model;
	enum st_backing backing;
	bool guarded, allow_nr, pin, unsafe;
	bool ok;		/* else KVM_PFN_ERR_FAULT */
	bool refcounted;
};

#define V9 MMUSIM_PFN_MODEL_V9
#define M613 MMUSIM_PFN_MODEL_6_13

static const struct st_pfn_row st_pfn_rows[] = {
	/* model backing   guarded allow_nr pin  unsafe   ok     refcounted */
	{ V9, ST_ANON, false, false, false, false, true, true },
	{ V9, ST_PFN_ONLY, true, false, false, false, true, false },
	{ V9, ST_PFN_ONLY, false, false, false, false, false, false },
	{ V9, ST_PFN_ONLY, false, false, false, true, true, false },
	{ V9, ST_COMPOUND, false, false, false, false, true, true },
	{ V9, ST_TTM, true, false, false, false, false, false },
	{ V9, ST_TTM, true, true, false, false, true, false },
	{ V9, ST_TTM, false, true, false, false, false, false },
	{ V9, ST_TTM, false, true, false, true, true, false },
	{ M613, ST_ANON, false, false, true, false, true, true },
	{ M613, ST_PFN_ONLY, false, false, false, false, true, false },
	{ M613, ST_COMPOUND, false, false, false, false, true, false },
	{ M613, ST_COMPOUND, false, false, true, false, false, false },
	{ M613, ST_TTM, false, false, true, true, true, false },
};

struct st_pfn_env {
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	struct sim_page *block;
	struct kvm_memory_slot slot;
	hva_t hva;
};

static int st_pfn_env_create(struct st_pfn_env *e, int model, enum st_backing b, bool unsafe)
{
	struct sim_host_config hc = {
		.mem_bytes = 16 * ST_MiB,
		.nopage_base_pfn = ST_NOPAGE_BASE,
		.nopage_pages = ST_PFN_PAGES,
		.kvm_allow_unsafe_mappings = unsafe,
	};
	struct mmusim_vm_config cfg = { .pfn_model = model };
	int rw = SIM_PROT_READ | SIM_PROT_WRITE;
	kvm_pfn_t pfn = ST_NOPAGE_BASE;
	int r;

	memset(e, 0, sizeof(*e));
	r = sim_host_create(&hc, &e->host);
	if (!r)
		r = sim_mm_create(e->host, &e->mm);
	if (!r)
		r = mmusim_vm_create(e->host, e->mm, &cfg, &e->vm);
	if (r)
		return r;
	if (b == ST_ANON) {
		r = sim_mmap(e->mm, 0, ST_PFN_PAGES * PAGE_SIZE, rw, SIM_MAP_PRIVATE, &e->hva);
		if (!r)
			r = sim_mm_touch(e->mm, e->hva + ST_GFN * PAGE_SIZE, true);
	} else {
		if (b != ST_PFN_ONLY) {
			e->block = sim_alloc_pages(e->host,
						   __GFP_ZERO | (b == ST_COMPOUND ? __GFP_COMP : 0),
						   4);
			if (!e->block)
				return -ENOMEM;
			pfn = sim_page_to_pfn(e->host, e->block);
		}
		r = sim_mmap_pfn(e->mm, 0, ST_PFN_PAGES * PAGE_SIZE, rw, pfn, &e->hva);
	}
	e->slot = (struct kvm_memory_slot){
		.npages = ST_PFN_PAGES, .userspace_addr = e->hva,
	};
	return r;
}

static void st_pfn_env_destroy(struct st_pfn_env *e, enum st_backing b)
{
	mmusim_vm_destroy(e->vm);
	if (e->block) {
		sim_munmap(e->mm, e->hva, ST_PFN_PAGES * PAGE_SIZE);
		if (b == ST_COMPOUND)
			sim_put_page(e->host, e->block);
		else
			sim_free_pages(e->host, e->block, 4);
	}
	sim_mm_destroy(e->mm);
	sim_host_destroy(e->host);
}

static int st_pfn_run_row(struct st_ctx *ctx, const struct st_pfn_row *row)
{
	struct st_pfn_env e;
	struct kvm_follow_pfn foll;
	struct sim_host_pte_info info;
	struct kvm *kvm;
	kvm_pfn_t pfn;
	int idx, r;

	r = st_pfn_env_create(&e, row->model, row->backing, row->unsafe);
	if (r) {
		ST_EXPECT_EQ(r, 0);
		goto out;
	}
	kvm = mmusim_to_kvm(e.vm);
	foll = (struct kvm_follow_pfn){
		.kvm = kvm,
		.slot = &e.slot,
		.gfn = ST_GFN,
		.flags = FOLL_WRITE,
		.guarded_by_mmu_notifier = row->guarded,
		.allow_non_refcounted_struct_page = row->allow_nr,
		.pin = row->pin,
	};
	idx = srcu_read_lock(&kvm->slots.srcu);
	pfn = __kvm_follow_pfn(&foll);
	srcu_read_unlock(&kvm->slots.srcu, idx);
	if (!row->ok) {
		ST_EXPECT_EQ(pfn, KVM_PFN_ERR_FAULT);
		ST_EXPECT(!foll.is_refcounted_page);
		goto out;
	}
	ST_EXPECT_EQ(sim_mm_lookup(e.mm, e.hva + ST_GFN * PAGE_SIZE, &info), 0);
	ST_EXPECT_EQ(pfn, info.pfn);
	ST_EXPECT(foll.writable);
	ST_EXPECT_EQ(foll.is_refcounted_page, row->refcounted);
	if (foll.refcounted_page && row->pin)
		sim_unpin_user_page(e.host, foll.refcounted_page);
	else if (foll.refcounted_page)
		sim_put_page(e.host, foll.refcounted_page);
out:
	st_pfn_env_destroy(&e, row->backing);
	return ST_PASS;
}

ST_TEST(pfn_follow_pfn_policy)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(st_pfn_rows); i++)
		st_pfn_run_row(ctx, &st_pfn_rows[i]);
	return ST_PASS;
}

/*
 * kvm_vcpu_map() of gfn 3 of each backing, v9 and 6.13, with and without
 * allow_unsafe_mappings: refused (-EINVAL) exactly when KVM cannot hold the
 * page and the knob is off; when mapped, the bytes written through the map
 * are what the guest reads, and the refcount is back where it was after
 * the unmap.
 */
static int st_pfn_map_one(struct st_ctx *ctx, int model, enum st_backing b, bool unsafe)
{
	bool held = b == ST_ANON || (b == ST_COMPOUND && model == V9);
	struct mmusim_vcpu *vcpu;
	struct st_pfn_env e;
	struct kvm_host_map map;
	struct sim_page *page = NULL;
	struct kvm_vcpu *kv;
	int count = 0, idx, r;
	u64 v = 0;

	r = st_pfn_env_create(&e, model, b, unsafe);
	if (r) {
		ST_EXPECT_EQ(r, 0);
		goto out;
	}
	vcpu = mmusim_vm_vcpu(e.vm, 0);
	kv = mmusim_to_kvm_vcpu(vcpu);
	ST_EXPECT_EQ(st_vm_set_region(e.vm,
				      &(struct kvm_userspace_memory_region){
					      .memory_size = ST_PFN_PAGES * PAGE_SIZE,
					      .userspace_addr = e.hva }),
		     0);
	if (b != ST_PFN_ONLY) {
		struct sim_host_pte_info info;

		ST_EXPECT_EQ(sim_mm_lookup(e.mm, e.hva + ST_GFN * PAGE_SIZE, &info), 0);
		page = sim_pfn_to_page(e.host, info.pfn);
		count = sim_page_count(e.host, page);
	}
	idx = srcu_read_lock(&kv->kvm->slots.srcu);
	r = __kvm_vcpu_map(kv, ST_GFN, &map, true);
	srcu_read_unlock(&kv->kvm->slots.srcu, idx);
	if (!held && !unsafe) {
		ST_EXPECT_EQ(r, -EINVAL);
		goto out;
	}
	if (r) {
		ST_EXPECT_EQ(r, 0);
		goto out;
	}
	ST_EXPECT(kvm_vcpu_mapped(&map));
	ST_EXPECT_EQ(map.page == KVM_UNMAPPED_PAGE, b == ST_PFN_ONLY);
	*(u64 *)map.hva = 0x600dULL;
	idx = srcu_read_lock(&kv->kvm->slots.srcu);
	kvm_vcpu_unmap(kv, &map, true);
	srcu_read_unlock(&kv->kvm->slots.srcu, idx);
	ST_EXPECT(!kvm_vcpu_mapped(&map));
	if (page)
		ST_EXPECT_EQ(sim_page_count(e.host, page), count);
	ST_EXPECT_EQ(mmusim_vcpu_access(vcpu, ST_GFN * PAGE_SIZE, MMUSIM_ACCESS_READ, NULL), 0);
	ST_EXPECT_EQ(sim_mm_read(e.mm, e.hva + ST_GFN * PAGE_SIZE, &v, sizeof(v)), 0);
	ST_EXPECT_EQ(v, 0x600dULL);
out:
	st_pfn_env_destroy(&e, b);
	return ST_PASS;
}

ST_TEST(pfn_vcpu_map)
{
	int model, unsafe;
	enum st_backing b;

	for (model = M613; model <= V9; model++)
		for (b = ST_ANON; b <= ST_TTM; b++)
			for (unsafe = 0; unsafe <= 1; unsafe++)
				st_pfn_map_one(ctx, model, b, unsafe);
	return ST_PASS;
}
