// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_vcpu_map() / kvm_vcpu_unmap() (src/pfn/kvm_host_map.c) and the fault
 * path's use of src/pfn, over every kind of memory the two pfn seeds are
 * about.  The matrix:
 *
 *   backing (7) x MMU (TDP, legacy) x pfn model (v9, 6.13)
 *     x allow_unsafe_mappings (off, on) x operation (4) = 224 cases
 *
 * backings:   anonymous 4K, THP, hugetlb 2M, hugetlb 1G, PFNMAP of a
 *             compound (refcounted) block, PFNMAP of a TTM-style non-
 *             compound block (gfn 3 is a tail, refcount 0), PFN-only
 *             memory (no struct page: mem= + /dev/mem)
 * operations: a write fault; map, write through it, unmap clean; the same
 *             unmapped dirty; both with dirty logging on the slot
 *
 * Each case asserts the outcome the model predicts (table below, written
 * from seeds-apis.md §5-§6), the pfn, the page's refcount before, while
 * held and after, the SPTE's refcounted bit, the page's dirty flag, the
 * dirty log, and that mmusim_vm_check() is clean at the end.
 *
 *   memslot 0: gpa 0, the backing's size (64 KiB for PFNMAP kinds, 4 MiB,
 *              or 1 GiB for hugetlb 1G); the case works on gfn 3 (and
 *              gfn 4 for the second write of the dirty-log case)
 */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "mmu/tdp_mmu.h"
#include "mmu/shadow_mmu.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define GFN 3ULL
#define BLOCK_ORDER 4
#define BLOCK_PAGES (1ULL << BLOCK_ORDER)
#define NOPAGE_BASE (1ULL << 20)	/* 4 GiB: above the host's 3 GiB of RAM */

enum kind {
	K_ANON, K_THP, K_HUGETLB_2M, K_HUGETLB_1G, K_PFNMAP_REF, K_PFNMAP_TTM, K_PFN_ONLY,
	K_NR
};
static const char *const kind_names[K_NR] = {
	"anon-4K", "THP", "hugetlb-2M", "hugetlb-1G", "PFNMAP-refcounted", "PFNMAP-TTM-tail",
	"PFN-only",
};

enum op { OP_FAULT, OP_MAP_CLEAN, OP_MAP_DIRTY, OP_DIRTY_LOG, OP_NR };
static const char *const op_names[OP_NR] = { "fault", "map-clean", "map-dirty", "dirty-log" };

struct backing {
	struct test_vm t;
	struct sim_page *block;		/* PFNMAP kinds: the driver's block */
	u64 size;
};

static bool kind_is_pfnmap(enum kind k)
{
	return k == K_PFNMAP_REF || k == K_PFNMAP_TTM || k == K_PFN_ONLY;
}

static bool kind_has_page(enum kind k)
{
	return k != K_PFN_ONLY;
}

/* A page KVM can take a reference on: GUP's pages, and (v9) a refcounted PFNMAP page. */
static bool kind_refcountable(enum kind k, int model)
{
	if (!kind_is_pfnmap(k))
		return true;
	return model == MMUSIM_PFN_MODEL_V9 && k == K_PFNMAP_REF;
}

/* The fault path is MMU-notifier guarded: every kind maps (64-bit TDP has the bit). */
static bool spte_refcounted_expected(enum kind k, int model)
{
	return kind_refcountable(k, model);
}

/* kvm_vcpu_map() is not guarded: a pfn KVM cannot hold needs allow_unsafe_mappings. */
static bool map_allowed(enum kind k, int model, bool unsafe)
{
	return kind_refcountable(k, model) || unsafe;
}

/* What holding a page costs its refcount: a reference, or a FOLL_PIN (6.13). */
static int held_delta(enum kind k, int model)
{
	if (model == MMUSIM_PFN_MODEL_V9)
		return 1;
	/* A small page counts pins in its refcount; a compound one in its pin count, +1. */
	return (k == K_ANON) ? SIM_GUP_PIN_COUNTING_BIAS : 1;
}

static void backing_create(struct backing *b, enum kind k, int mmu, int model, bool unsafe)
{
	static const u64 sizes[K_NR] = {
		4 * MiB, 4 * MiB, 4 * MiB, 1 * GiB, BLOCK_PAGES << PAGE_SHIFT,
		BLOCK_PAGES << PAGE_SHIFT, BLOCK_PAGES << PAGE_SHIFT,
	};
	static const int map_flags[K_NR] = {
		SIM_MAP_PRIVATE, SIM_MAP_PRIVATE | SIM_MAP_THP,
		SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M, SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_1G,
	};
	struct sim_host_config hc = {
		.mem_bytes = 3 * GiB,
		.nopage_base_pfn = NOPAGE_BASE,
		.nopage_pages = BLOCK_PAGES,
		.kvm_allow_unsafe_mappings = unsafe,
	};
	struct test_vm_opts o = { .hcfg = &hc, .cfg = { .mmu = mmu, .pfn_model = model } };
	int rw = SIM_PROT_READ | SIM_PROT_WRITE;
	kvm_pfn_t pfn = NOPAGE_BASE;

	memset(b, 0, sizeof(*b));
	b->size = sizes[k];
	test_vm_create(&b->t, &o);
	if (k == K_PFNMAP_REF || k == K_PFNMAP_TTM) {
		b->block = sim_alloc_pages(b->t.host,
					   __GFP_ZERO | (k == K_PFNMAP_REF ? __GFP_COMP : 0),
					   BLOCK_ORDER);
		assert_non_null(b->block);
		pfn = sim_page_to_pfn(b->t.host, b->block);
	}
	if (kind_is_pfnmap(k))
		assert_int_equal(sim_mmap_pfn(b->t.mm, 0, b->size, rw, pfn, &b->t.hva), 0);
	else
		assert_int_equal(sim_mmap(b->t.mm, 0, b->size, rw, map_flags[k], &b->t.hva), 0);
	b->t.size = b->size;
	test_vm_set_region(&b->t, 0, 0, b->size, b->t.hva);
}

static void backing_destroy(struct backing *b, enum kind k)
{
	mmusim_vm_destroy(b->t.vm);
	b->t.vm = NULL;
	if (b->block) {
		assert_int_equal(sim_munmap(b->t.mm, b->t.hva, b->size), 0);
		if (k == K_PFNMAP_REF)
			sim_put_page(b->t.host, b->block);
		else
			sim_free_pages(b->t.host, b->block, BLOCK_ORDER);
	}
	test_vm_destroy(&b->t);
}

struct leaf_find {
	struct kvm_tdp_mmu_walk_cb cb;
	gfn_t gfn;
	u64 spte;
	int level;
};

static int leaf_find_cb(struct kvm_tdp_mmu_walk_cb *cb, int as_id, gfn_t gfn, u64 spte, int level,
			bool invalid_root)
{
	struct leaf_find *f = container_of(cb, struct leaf_find, cb);

	if (invalid_root || f->gfn < gfn || f->gfn >= gfn + KVM_PAGES_PER_HPAGE(level))
		return 0;
	f->spte = spte;
	f->level = level;
	return 1;
}

/* The present leaf mapping @gfn, or 0. */
static u64 leaf_spte(struct mmusim_vm *vm, gfn_t gfn)
{
	struct kvm *kvm = mmusim_to_kvm(vm);
	struct leaf_find f = { .cb.leaf = leaf_find_cb, .gfn = gfn };
	int idx = srcu_read_lock(&kvm->slots.srcu);

	write_lock(&kvm->mmu_lock);
	if (kvm->tdp_mmu_enabled)
		kvm_tdp_mmu_for_each_leaf(kvm, &f.cb);
	else
		kvm_shadow_mmu_for_each_leaf(kvm, &f.cb);
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->slots.srcu, idx);
	return f.spte;
}

static kvm_pfn_t host_pfn(struct backing *b, gfn_t gfn)
{
	struct sim_host_pte_info info;

	assert_int_equal(sim_mm_lookup(b->t.mm, b->t.hva + gfn * PAGE_SIZE, &info), 0);
	return info.pfn;
}

static bool dirty_logged(struct backing *b, gfn_t gfn)
{
	u64 *bitmap = calloc(((b->size >> PAGE_SHIFT) + 63) / 64, sizeof(u64));
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	bool dirty;

	assert_non_null(bitmap);
	assert_int_equal(mmusim_vm_get_dirty_log(b->t.vm, &log), 0);
	dirty = bitmap[gfn / 64] & (1ULL << (gfn % 64));
	free(bitmap);
	return dirty;
}

static void write_fault(struct backing *b, gfn_t gfn)
{
	struct mmusim_exit exit;

	assert_int_equal(mmusim_vcpu_access(mmusim_vm_vcpu(b->t.vm, 0), gfn * PAGE_SIZE,
					    MMUSIM_ACCESS_WRITE, &exit),
			 0);
}

static void case_fault(struct backing *b, enum kind k, int model)
{
	struct sim_page *page;
	int before = 0;
	u64 spte;

	/* A page that exists before the fault: its count must come back. */
	if (kind_is_pfnmap(k) && kind_has_page(k)) {
		page = sim_pfn_to_page(b->t.host, host_pfn(b, GFN));
		before = sim_page_count(b->t.host, page);
	}
	write_fault(b, GFN);
	spte = leaf_spte(b->t.vm, GFN);
	assert_true(spte);
	page = sim_pfn_to_page(b->t.host, host_pfn(b, GFN));
	assert_int_equal(is_refcounted_page_spte(spte), spte_refcounted_expected(k, model));
	if (kind_is_pfnmap(k) && kind_has_page(k))
		assert_int_equal(sim_page_count(b->t.host, page), before);
	if (k == K_PFNMAP_TTM)
		assert_int_equal(sim_page_count(b->t.host, page), 0);
}

static void case_map(struct backing *b, enum kind k, int model, bool unsafe, enum op op)
{
	struct mmusim_vcpu *vcpu = mmusim_vm_vcpu(b->t.vm, 0);
	bool allowed = map_allowed(k, model, unsafe);
	bool dirty = op != OP_MAP_CLEAN;
	struct mmusim_vcpu_map_info info;
	struct sim_host_stats hs;
	struct sim_page *page = NULL;
	u64 pattern = 0x5eed0000 + k, back = 0;
	bool held;
	int before = 0, r;

	if (op == OP_DIRTY_LOG) {
		struct kvm_userspace_memory_region rg = {
			.slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES, .memory_size = b->size,
			.userspace_addr = b->t.hva,
		};

		assert_int_equal(mmusim_vm_set_user_memory_region(b->t.vm, &rg), 0);
		write_fault(b, GFN + 1);
		assert_true(dirty_logged(b, GFN + 1));
	}
	/* Make the page exist, so refcounts can be compared. */
	assert_int_equal(sim_mm_touch(b->t.mm, b->t.hva + GFN * PAGE_SIZE, true), 0);
	if (kind_has_page(k)) {
		page = sim_pfn_to_page(b->t.host, host_pfn(b, GFN));
		before = sim_page_count(b->t.host, page);
		/* (The dirty-log case's fault on gfn 4 may have dirtied a folio.) */
		if (k != K_PFNMAP_TTM && op != OP_DIRTY_LOG)
			assert_false(sim_page_flags(b->t.host, page) & SIM_PG_DIRTY);
	}

	r = mmusim_vcpu_map(vcpu, GFN, MMUSIM_MAP_WRITABLE, &info);
	if (!allowed) {
		assert_int_equal(r, -EINVAL);
		if (page)
			assert_int_equal(sim_page_count(b->t.host, page), before);
		return;
	}
	assert_int_equal(r, 0);
	held = kind_refcountable(k, model);
	assert_int_equal(info.gfn, GFN);
	assert_int_equal(info.pfn, host_pfn(b, GFN));
	assert_int_equal(info.has_struct_page, kind_has_page(k));
	assert_int_equal(info.is_refcounted_page, held);
	assert_true(info.writable);
	if (page)
		assert_int_equal(info.page_refcount, before + (held ? held_delta(k, model) : 0));
	else
		assert_int_equal(info.page_refcount, -1);
	assert_int_equal(sim_host_get_stats(b->t.host, &hs), 0);
	assert_int_equal(hs.memremap_live, kind_has_page(k) ? 0 : 1);

	/* The kernel mapping and the guest see the same bytes. */
	assert_int_equal(mmusim_vcpu_map_write(vcpu, info.id, 8, &pattern, sizeof(pattern)), 0);
	assert_int_equal(mmusim_vcpu_read(vcpu, GFN * PAGE_SIZE + 8, &back, sizeof(back)), 0);
	assert_int_equal(back, pattern);
	test_vm_check(&b->t);

	assert_int_equal(mmusim_vcpu_unmap(vcpu, info.id, dirty), 0);
	assert_int_equal(mmusim_vcpu_unmap(vcpu, info.id, dirty), -EINVAL);
	assert_int_equal(sim_host_get_stats(b->t.host, &hs), 0);
	assert_int_equal(hs.memremap_live, 0);
	if (page)
		assert_int_equal(sim_page_count(b->t.host, page), before);
	/*
	 * The page hears of the write only if KVM held it: v9 goes by @dirty,
	 * 6.13 by the map's writability.
	 */
	if (page && held)
		assert_int_equal(!!(sim_page_flags(b->t.host, page) & SIM_PG_DIRTY),
				 model == MMUSIM_PFN_MODEL_V9 ? dirty : true);
	if (op == OP_DIRTY_LOG)
		assert_true(dirty_logged(b, GFN));
}

static void run_case(enum kind k, int mmu, int model, bool unsafe, enum op op)
{
	struct backing b;

	backing_create(&b, k, mmu, model, unsafe);
	if (op == OP_FAULT)
		case_fault(&b, k, model);
	else
		case_map(&b, k, model, unsafe, op);
	test_vm_check(&b.t);
	backing_destroy(&b, k);
}

static void test_host_map_matrix(void **state)
{
	int k, mmu, model, unsafe, op, n = 0;

	for (k = 0; k < K_NR; k++)
		for (mmu = MMUSIM_MMU_TDP; mmu <= MMUSIM_MMU_LEGACY; mmu++)
			for (model = MMUSIM_PFN_MODEL_6_13; model <= MMUSIM_PFN_MODEL_V9; model++)
				for (unsafe = 0; unsafe <= 1; unsafe++)
					for (op = 0; op < OP_NR; op++, n++) {
						print_message("  %s %s %s unsafe=%d %s\n",
							      kind_names[k],
							      mmu ? "legacy" : "tdp",
							      model ? "v9" : "6.13", unsafe,
							      op_names[op]);
						run_case(k, mmu, model, unsafe, op);
					}
	assert_int_equal(n, 224);
}

/*
 * The hazard v9 closed.  A TTM-style block, mapped by a "driver" at hva H:
 *
 *   gfn 0..15 -> H -> block (non-compound, order 4; gfn 3 a refcount-0 tail)
 *
 * A guest fault maps gfn 3 through the notifier-guarded path; a
 * kvm_vcpu_map() of it needs allow_unsafe_mappings and holds nothing.
 * The driver then zaps its PTEs and frees the block: the SPTE goes with
 * the invalidation, but the map still points at the freed frame, and the
 * checker says so.  Unmapping ends it.
 */
static void unsafe_map_outlives(int model)
{
	struct backing b;
	struct mmusim_vcpu_map_info info;
	struct mmusim_vcpu *vcpu;
	char msg[256];

	backing_create(&b, K_PFNMAP_TTM, MMUSIM_MMU_TDP, model, true);
	vcpu = mmusim_vm_vcpu(b.t.vm, 0);
	write_fault(&b, GFN);
	assert_int_equal(mmusim_vcpu_map(vcpu, GFN, MMUSIM_MAP_WRITABLE, &info), 0);
	assert_false(info.is_refcounted_page);
	test_vm_check(&b.t);

	/* The driver evicts the buffer: PTEs zapped, mapping gone, block freed. */
	assert_int_equal(sim_zap_vma_ptes(b.t.mm, b.t.hva, b.size), 0);
	assert_int_equal(leaf_spte(b.t.vm, GFN), 0);
	assert_int_equal(sim_munmap(b.t.mm, b.t.hva, b.size), 0);
	sim_free_pages(b.t.host, b.block, BLOCK_ORDER);
	b.block = NULL;
	assert_int_equal(mmusim_vm_check(b.t.vm, msg, sizeof(msg)), -EUCLEAN);
	assert_non_null(strstr(msg, "outlived its memory"));
	print_message("  checker: %s\n", msg);

	assert_int_equal(mmusim_vcpu_unmap(vcpu, info.id, false), 0);
	test_vm_check(&b.t);
	backing_destroy(&b, K_PFNMAP_TTM);
}

static void test_host_map_unsafe_outlives_v9(void **state)
{
	unsafe_map_outlives(MMUSIM_PFN_MODEL_V9);
}

static void test_host_map_unsafe_outlives_6_13(void **state)
{
	unsafe_map_outlives(MMUSIM_PFN_MODEL_6_13);
}

/*
 * v9 without a spare SPTE bit (v9: no TDP, or 32-bit; here the mask is
 * cleared by hand): a fault on a TTM tail is refused (-EFAULT) rather than
 * mapped with no way to tell it is not refcounted; the refcounted head
 * still maps.
 */
static void test_host_map_no_refcounted_bit(void **state)
{
	struct mmusim_exit exit;
	struct backing b;

	backing_create(&b, K_PFNMAP_TTM, MMUSIM_MMU_TDP, MMUSIM_PFN_MODEL_V9, false);
	mmusim_to_kvm(b.t.vm)->masks.shadow_refcounted_mask = 0;
	assert_int_equal(mmusim_vcpu_access(mmusim_vm_vcpu(b.t.vm, 0), GFN * PAGE_SIZE,
					    MMUSIM_ACCESS_READ, &exit),
			 -EFAULT);
	assert_int_equal(mmusim_vcpu_access(mmusim_vm_vcpu(b.t.vm, 0), 0, MMUSIM_ACCESS_READ,
					    &exit),
			 0);
	/* The bit is the mask: a refcounted leaf made without one carries none. */
	assert_false(is_refcounted_page_spte(leaf_spte(b.t.vm, 0)));
	test_vm_check(&b.t);
	backing_destroy(&b, K_PFNMAP_TTM);
}

/*
 * A read-only memslot over VM_PFNMAP memory (fuzz_mmu_ops profile 2): the
 * read fault maps the pfn read-only although the driver's PTE is writable
 * (6.12 hva_to_pfn_remapped() gets no @writable for a read-only slot), so
 * the write that follows exits for emulation and the memory is unchanged.
 *
 *   slot 1: gfn 0 ... 15, KVM_MEM_READONLY, over the PFNMAP backing
 *   read gfn 3 -> 0; write gfn 3 -> KVM_EXIT_MMIO; host reads 0 there
 */
static void readonly_pfnmap_slot(enum kind k, int model)
{
	struct kvm_userspace_memory_region r = { .slot = 0 };
	struct mmusim_vcpu *vcpu;
	struct mmusim_exit exit;
	struct backing b;
	u64 val = 0x1234, host = ~0ull;

	backing_create(&b, k, MMUSIM_MMU_TDP, model, false);
	vcpu = mmusim_vm_vcpu(b.t.vm, 0);
	assert_int_equal(mmusim_vm_set_user_memory_region(b.t.vm, &r), 0);
	r = (struct kvm_userspace_memory_region){ .slot = 1, .flags = KVM_MEM_READONLY,
						  .memory_size = b.size, .userspace_addr = b.t.hva };
	assert_int_equal(mmusim_vm_set_user_memory_region(b.t.vm, &r), 0);
	assert_int_equal(mmusim_vcpu_access(vcpu, GFN * PAGE_SIZE, MMUSIM_ACCESS_READ, &exit), 0);
	assert_int_equal(mmusim_vcpu_access(vcpu, GFN * PAGE_SIZE, MMUSIM_ACCESS_WRITE, &exit), 1);
	assert_int_equal(exit.reason, KVM_EXIT_MMIO);
	assert_int_equal(mmusim_vcpu_write(vcpu, GFN * PAGE_SIZE, &val, sizeof(val)), -EFAULT);
	assert_int_equal(sim_mm_read(b.t.mm, b.t.hva + GFN * PAGE_SIZE, &host, sizeof(host)), 0);
	assert_int_equal(host, 0);
	test_vm_check(&b.t);
	backing_destroy(&b, k);
}

static void test_host_map_readonly_pfnmap_slot(void **state)
{
	static const enum kind kinds[] = { K_PFNMAP_REF, K_PFNMAP_TTM, K_PFN_ONLY };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		readonly_pfnmap_slot(kinds[i], MMUSIM_PFN_MODEL_V9);
		readonly_pfnmap_slot(kinds[i], MMUSIM_PFN_MODEL_6_13);
	}
}

/*
 * When the page learns it is dirty: 6.13 at the fault's release (the host
 * mapping is writable), v9 only when the SPTE holding the D bit goes.
 *
 *   gfn 3: write fault -> (6.13: PG_dirty) -> zap gfn 3 -> (v9: PG_dirty)
 */
static void page_dirty_timing(int mmu, int model)
{
	struct backing b;
	struct sim_page *page;
	bool v9 = model == MMUSIM_PFN_MODEL_V9;

	backing_create(&b, K_ANON, mmu, model, false);
	write_fault(&b, GFN);
	page = sim_pfn_to_page(b.t.host, host_pfn(&b, GFN));
	assert_int_equal(!!(sim_page_flags(b.t.host, page) & SIM_PG_DIRTY), !v9);
	assert_int_equal(mmusim_vm_zap_gfn_range(b.t.vm, -1, GFN, GFN + 1), 0);
	assert_true(sim_page_flags(b.t.host, page) & SIM_PG_DIRTY);
	test_vm_check(&b.t);
	backing_destroy(&b, K_ANON);
}

static void test_host_map_page_dirty_timing(void **state)
{
	page_dirty_timing(MMUSIM_MMU_TDP, MMUSIM_PFN_MODEL_6_13);
	page_dirty_timing(MMUSIM_MMU_TDP, MMUSIM_PFN_MODEL_V9);
	page_dirty_timing(MMUSIM_MMU_LEGACY, MMUSIM_PFN_MODEL_6_13);
	page_dirty_timing(MMUSIM_MMU_LEGACY, MMUSIM_PFN_MODEL_V9);
}

/* Marking a page KVM does not hold (a refcount-0 tail) WARNs (Sean's check in v9). */
static void test_host_map_ad_needs_reference(void **state)
{
	struct backing b;
	struct sim_page *tail;
	struct kvm *kvm;

	backing_create(&b, K_PFNMAP_TTM, MMUSIM_MMU_TDP, MMUSIM_PFN_MODEL_V9, false);
	kvm = mmusim_to_kvm(b.t.vm);
	tail = sim_pfn_to_page(b.t.host, host_pfn(&b, GFN));
	assert_int_equal(sim_page_count(b.t.host, tail), 0);
	kvm_set_page_accessed(kvm, tail);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	assert_false(sim_page_flags(b.t.host, tail) & SIM_PG_REFERENCED);
	backing_destroy(&b, K_PFNMAP_TTM);
}

/*
 * The in-tree user: a posted-interrupt descriptor at gpa 0x3040 (gfn 3,
 * offset 64).  Posting vector 33 sets PIR bit 33 and ON; a second post
 * finds ON set.  The guest reads both back; the dirty log has gfn 3.
 */
static void post_interrupt(enum kind k, int model, bool unsafe, int want)
{
	struct kvm_userspace_memory_region rg = { .slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES };
	struct mmusim_vcpu *vcpu;
	struct backing b;
	u32 pir[8];
	u64 control;

	backing_create(&b, k, MMUSIM_MMU_TDP, model, unsafe);
	rg.memory_size = b.size;
	rg.userspace_addr = b.t.hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(b.t.vm, &rg), 0);
	vcpu = mmusim_vm_vcpu(b.t.vm, 0);
	assert_int_equal(mmusim_vcpu_post_interrupt(vcpu, 0x3040, 33), want);
	if (want < 0) {
		backing_destroy(&b, k);
		return;
	}
	assert_int_equal(mmusim_vcpu_post_interrupt(vcpu, 0x3040, 200), 1);
	assert_int_equal(mmusim_vcpu_read(vcpu, 0x3040, pir, sizeof(pir)), 0);
	assert_int_equal(mmusim_vcpu_read(vcpu, 0x3060, &control, sizeof(control)), 0);
	assert_int_equal(pir[1], 1u << 1);
	assert_int_equal(pir[6], 1u << 8);
	assert_int_equal(control & 1, 1);
	assert_true(dirty_logged(&b, GFN));
	test_vm_check(&b.t);
	backing_destroy(&b, k);
}

static void test_host_map_post_interrupt(void **state)
{
	post_interrupt(K_ANON, MMUSIM_PFN_MODEL_V9, false, 0);
	post_interrupt(K_ANON, MMUSIM_PFN_MODEL_6_13, false, 0);
	post_interrupt(K_HUGETLB_2M, MMUSIM_PFN_MODEL_6_13, false, 0);
	post_interrupt(K_PFN_ONLY, MMUSIM_PFN_MODEL_V9, false, -EINVAL);
	post_interrupt(K_PFN_ONLY, MMUSIM_PFN_MODEL_V9, true, 0);
	post_interrupt(K_PFNMAP_TTM, MMUSIM_PFN_MODEL_6_13, true, 0);
}

/* Maps left at vCPU teardown are unmapped (clean), nothing leaks. */
static void test_host_map_teardown_unmaps(void **state)
{
	struct mmusim_vcpu_map_info info;
	struct backing b;
	int i;

	backing_create(&b, K_PFN_ONLY, MMUSIM_MMU_TDP, MMUSIM_PFN_MODEL_6_13, true);
	for (i = 0; i < 8; i++)
		assert_int_equal(mmusim_vcpu_map(mmusim_vm_vcpu(b.t.vm, 0), i, 0, &info), 0);
	assert_int_equal(mmusim_vcpu_map(mmusim_vm_vcpu(b.t.vm, 0), 8, 0, &info), -ENOSPC);
	assert_int_equal(mmusim_vcpu_map_write(mmusim_vm_vcpu(b.t.vm, 0), info.id, 0, &i, 4),
			 -EPERM);
	backing_destroy(&b, K_PFN_ONLY);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_host_map_matrix),
		MMUSIM_TEST(test_host_map_unsafe_outlives_v9),
		MMUSIM_TEST(test_host_map_unsafe_outlives_6_13),
		MMUSIM_TEST(test_host_map_no_refcounted_bit),
		MMUSIM_TEST(test_host_map_readonly_pfnmap_slot),
		MMUSIM_TEST(test_host_map_page_dirty_timing),
		MMUSIM_TEST(test_host_map_ad_needs_reference),
		MMUSIM_TEST(test_host_map_post_interrupt),
		MMUSIM_TEST(test_host_map_teardown_unmaps),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("kvm_host_map", tests);
}
