// SPDX-License-Identifier: GPL-2.0-only
/*
 * The decision tree of __kvm_follow_pfn() (src/pfn/kvm_follow_pfn.c), one
 * table row per branch, checkable against David Stevens' v9 ("KVM: allow
 * mapping non-refcounted pages", 2023-09, patches 1-4 of virt/kvm) and
 * against 6.13's kvm_main.c for the rows marked 6.13.
 *
 * Each row builds a fresh host and VM, one backing at hva H, and a memslot
 * made by hand (the tree takes a slot as KVM's callers pass one):
 *
 *   gfn 0 ............ gfn 15   slot: base_gfn 0, 16 pages, at H
 *   H: the row's backing        the row looks up gfn 3 (a TTM tail: the
 *                               block's 4th page) unless it says 0
 *
 * and checks the pfn (the host's pfn for H + 3 pages, or the error pfn),
 * the outputs writable / is_refcounted_page, and the refcount the lookup
 * added to the page (+1 for a reference, +SIM_GUP_PIN_COUNTING_BIAS for a
 * pin), which the test then drops to see the count return to where it was.
 */
#include "test_util.h"
#include "pfn/kvm_pfn.h"

#define MiB (1ULL << 20)
#define NPAGES 16
#define GFN 3
#define NOPAGE_BASE (1ULL << 20)	/* 4 GiB, above the 256 MiB of RAM */

enum backing {
	B_NOSLOT,		/* slot NULL */
	B_INVALID_SLOT,		/* KVM_MEMSLOT_INVALID: being deleted */
	B_ANON,			/* private anonymous, written: present and writable */
	B_ANON_ABSENT,		/* private anonymous, never touched */
	B_ANON_ZERO,		/* read-touched: the zero page, read-only */
	B_ANON_SWAPPED,		/* written, then reclaimed to swap */
	B_ANON_POISONED,	/* written, then MADV_HWPOISON */
	B_ANON_RO_VMA,		/* PROT_READ private anonymous, read-touched */
	B_PROT_NONE,		/* PROT_NONE */
	B_HOLE,			/* no VMA at all */
	B_PFN_ONLY,		/* remap_pfn_range() of memory with no struct page */
	B_PFN_ONLY_RO,		/* ... mapped PROT_READ */
	B_PFN_ONLY_ZAPPED,	/* ... whose PTEs the driver zapped (refault) */
	B_PFNMAP_COMPOUND,	/* remap_pfn_range() of a compound (refcounted) block */
	B_PFNMAP_TTM,		/* ... of a non-compound block: tails have refcount 0 */
	B_PFNMAP_TTM_HEAD,	/* ... the same block's head, which is refcounted */
};

enum want {
	W_PFN,			/* the host's pfn */
	W_FAULT, W_HWPOISON, W_RO_FAULT, W_SIGPENDING, W_NEEDS_IO, W_NOSLOT,
};

#define V9 MMUSIM_PFN_MODEL_V9
#define M613 MMUSIM_PFN_MODEL_6_13
#define BIAS SIM_GUP_PIN_COUNTING_BIAS

struct follow_row {
	const char *what;
	int model;
	enum backing backing;
	bool ro_slot;
	unsigned int flags;
	bool atomic, try_map_writable, guarded, allow_nr, pin;
	bool unsafe;		/* kvm.allow_unsafe_mappings */
	int signal;		/* SIM_SIGNAL_* while looking up */
	bool warns;		/* the row must WARN once */
	/* Expected. */
	enum want want;
	bool writable, refcounted;
	int delta;		/* refcount added while held */
};

#define W FOLL_WRITE
#define NW FOLL_NOWAIT
#define INTR FOLL_INTERRUPTIBLE

static const struct follow_row rows[] = {
	/* ---- step 1: the hva ---- */
	{ "no slot: KVM_PFN_NOSLOT", V9, B_NOSLOT, .want = W_NOSLOT },
	{ "no slot (6.13)", M613, B_NOSLOT, .want = W_NOSLOT },
	{ "invalid slot: KVM_PFN_NOSLOT", V9, B_INVALID_SLOT, .want = W_NOSLOT },
	{ "write to a read-only slot: RO_FAULT", V9, B_ANON, .ro_slot = true, .flags = W,
	  .want = W_RO_FAULT },
	{ "read-only slot: never writable", V9, B_ANON, .ro_slot = true, .try_map_writable = true,
	  .want = W_PFN, .refcounted = true, .delta = 1 },
	{ "read-only slot (6.13)", M613, B_ANON, .ro_slot = true, .try_map_writable = true,
	  .want = W_PFN, .refcounted = true, .delta = 1 },
	/* ---- step 2: GUP-fast, for write ---- */
	{ "write, present: GUP-fast", V9, B_ANON, .flags = W, .want = W_PFN, .writable = true,
	  .refcounted = true, .delta = 1 },
	{ "read, try_map_writable, present writable: GUP-fast writable", V9, B_ANON,
	  .try_map_writable = true, .want = W_PFN, .writable = true, .refcounted = true,
	  .delta = 1 },
	{ "read, no try_map_writable: slow GUP, read-only", V9, B_ANON, .want = W_PFN,
	  .refcounted = true, .delta = 1 },
	{ "write, pin (6.13): pinned", M613, B_ANON, .flags = W, .pin = true, .want = W_PFN,
	  .writable = true, .refcounted = true, .delta = BIAS },
	{ "read, pin (6.13): pinned read-only", M613, B_ANON, .pin = true, .want = W_PFN,
	  .refcounted = true, .delta = BIAS },
	{ "pin with map_writable (6.13): WARN, FAULT", M613, B_ANON, .pin = true,
	  .try_map_writable = true, .warns = true, .want = W_FAULT },
	/* ---- step 3: atomic ---- */
	{ "atomic, present writable: GUP-fast", V9, B_ANON, .atomic = true, .flags = W,
	  .want = W_PFN, .writable = true, .refcounted = true, .delta = 1 },
	{ "atomic, not present: FAULT", V9, B_ANON_ABSENT, .atomic = true, .flags = W,
	  .want = W_FAULT },
	{ "atomic with FOLL_NOWAIT: WARN, FAULT", V9, B_ANON, .atomic = true, .flags = NW,
	  .warns = true, .want = W_FAULT },
	/* ---- step 4: slow GUP ---- */
	{ "write, not present: slow GUP faults it in", V9, B_ANON_ABSENT, .flags = W,
	  .want = W_PFN, .writable = true, .refcounted = true, .delta = 1 },
	{ "read of the zero page: no write upgrade", V9, B_ANON_ZERO, .try_map_writable = true,
	  .want = W_PFN, .refcounted = true, .delta = 1 },
	{ "read, not present, try_map_writable: zero page, read-only", V9, B_ANON_ABSENT,
	  .try_map_writable = true, .want = W_PFN, .refcounted = true, .delta = 1 },
	{ "swapped, FOLL_NOWAIT: NEEDS_IO", V9, B_ANON_SWAPPED, .flags = W | NW,
	  .want = W_NEEDS_IO },
	{ "swapped, FOLL_NOWAIT (6.13): NEEDS_IO", M613, B_ANON_SWAPPED, .flags = NW,
	  .want = W_NEEDS_IO },
	{ "swapped, no NOWAIT: swapped in", V9, B_ANON_SWAPPED, .flags = W, .want = W_PFN,
	  .writable = true, .refcounted = true, .delta = 1 },
	{ "swapped, signal, FOLL_INTERRUPTIBLE: SIGPENDING", V9, B_ANON_SWAPPED, .flags = W | INTR,
	  .signal = SIM_SIGNAL_PENDING, .want = W_SIGPENDING },
	{ "swapped, signal, not interruptible: swapped in", V9, B_ANON_SWAPPED, .flags = W,
	  .signal = SIM_SIGNAL_PENDING, .want = W_PFN, .writable = true, .refcounted = true,
	  .delta = 1 },
	{ "fatal signal: SIGPENDING", V9, B_ANON_ABSENT, .flags = W, .signal = SIM_SIGNAL_FATAL,
	  .want = W_SIGPENDING },
	{ "fatal signal (6.13): SIGPENDING", M613, B_ANON_ABSENT, .flags = W,
	  .signal = SIM_SIGNAL_FATAL, .want = W_SIGPENDING },
	{ "poisoned page: HWPOISON", V9, B_ANON_POISONED, .flags = W, .want = W_HWPOISON },
	{ "poisoned page (6.13): HWPOISON", M613, B_ANON_POISONED, .try_map_writable = true,
	  .want = W_HWPOISON },
	/* ---- step 5: the VMA ---- */
	{ "no VMA: FAULT", V9, B_HOLE, .want = W_FAULT },
	{ "PROT_NONE: FAULT", V9, B_PROT_NONE, .want = W_FAULT },
	{ "PROT_NONE, FOLL_NOWAIT: FAULT (vma_is_valid)", V9, B_PROT_NONE, .flags = NW,
	  .want = W_FAULT },
	{ "write to a read-only VMA: FAULT", V9, B_ANON_RO_VMA, .flags = W, .want = W_FAULT },
	{ "write to a read-only VMA, FOLL_NOWAIT: FAULT", V9, B_ANON_RO_VMA, .flags = W | NW,
	  .want = W_FAULT },
	{ "read of a read-only VMA", V9, B_ANON_RO_VMA, .try_map_writable = true, .want = W_PFN,
	  .refcounted = true, .delta = 1 },
	/* VM_IO | VM_PFNMAP, v9 */
	{ "PFN-only, guarded", V9, B_PFN_ONLY, .flags = W, .guarded = true, .want = W_PFN,
	  .writable = true },
	{ "PFN-only, read: writable from the PTE", V9, B_PFN_ONLY, .guarded = true,
	  .try_map_writable = true, .want = W_PFN, .writable = true },
	{ "PFN-only, not guarded: FAULT", V9, B_PFN_ONLY, .flags = W, .want = W_FAULT },
	{ "PFN-only, not guarded, allow_unsafe_mappings", V9, B_PFN_ONLY, .flags = W,
	  .unsafe = true, .want = W_PFN, .writable = true },
	{ "PFN-only read-only, write: RO_FAULT", V9, B_PFN_ONLY_RO, .flags = W, .guarded = true,
	  .want = W_RO_FAULT },
	{ "PFN-only read-only, read", V9, B_PFN_ONLY_RO, .guarded = true, .want = W_PFN },
	{ "PFN-only in a read-only slot, read: never writable", V9, B_PFN_ONLY, .ro_slot = true,
	  .guarded = true, .try_map_writable = true, .want = W_PFN },
	{ "PFN-only, read, no try_map_writable: read-only", V9, B_PFN_ONLY, .guarded = true,
	  .want = W_PFN },
	{ "PFN-only zapped: fixup_user_fault and retry", V9, B_PFN_ONLY_ZAPPED, .flags = W,
	  .guarded = true, .want = W_PFN, .writable = true },
	{ "compound PFNMAP, not guarded: referenced", V9, B_PFNMAP_COMPOUND, .flags = W,
	  .want = W_PFN, .writable = true, .refcounted = true, .delta = 1 },
	{ "TTM tail, no allow_non_refcounted: FAULT", V9, B_PFNMAP_TTM, .flags = W,
	  .guarded = true, .want = W_FAULT },
	{ "TTM tail, allow_non_refcounted, guarded", V9, B_PFNMAP_TTM, .flags = W,
	  .guarded = true, .allow_nr = true, .want = W_PFN, .writable = true },
	{ "TTM tail, allow_non_refcounted, not guarded: FAULT", V9, B_PFNMAP_TTM, .flags = W,
	  .allow_nr = true, .want = W_FAULT },
	{ "TTM tail, allow_non_refcounted, allow_unsafe_mappings", V9, B_PFNMAP_TTM, .flags = W,
	  .allow_nr = true, .unsafe = true, .want = W_PFN, .writable = true },
	{ "TTM tail, no allow_non_refcounted even if unsafe: FAULT", V9, B_PFNMAP_TTM,
	  .flags = W, .unsafe = true, .want = W_FAULT },
	{ "TTM head: referenced", V9, B_PFNMAP_TTM_HEAD, .flags = W, .want = W_PFN,
	  .writable = true, .refcounted = true, .delta = 1 },
	/* VM_IO | VM_PFNMAP, 6.13: never a reference */
	{ "PFN-only (6.13)", M613, B_PFN_ONLY, .flags = W, .want = W_PFN, .writable = true },
	{ "compound PFNMAP (6.13): no reference", M613, B_PFNMAP_COMPOUND, .flags = W,
	  .want = W_PFN, .writable = true },
	{ "TTM tail (6.13): no policy", M613, B_PFNMAP_TTM, .flags = W, .want = W_PFN,
	  .writable = true },
	{ "TTM tail in a read-only slot, read (6.13): never writable", M613, B_PFNMAP_TTM,
	  .ro_slot = true, .try_map_writable = true, .want = W_PFN },
	{ "PFNMAP pin (6.13): FAULT", M613, B_PFNMAP_COMPOUND, .flags = W, .pin = true,
	  .want = W_FAULT },
	{ "PFNMAP pin, allow_unsafe_mappings (6.13): no reference", M613, B_PFN_ONLY, .flags = W,
	  .pin = true, .unsafe = true, .want = W_PFN, .writable = true },
	{ "PFN-only read-only, write (6.13): RO_FAULT", M613, B_PFN_ONLY_RO, .flags = W,
	  .want = W_RO_FAULT },
	/* Any other VMA */
	{ "not PFNMAP, GUP failed, no NOWAIT: FAULT", V9, B_ANON_RO_VMA, .flags = W | INTR,
	  .want = W_FAULT },
	{ "unknown flags: WARN, FAULT", V9, B_ANON, .flags = SIM_FOLL_PIN, .warns = true,
	  .want = W_FAULT },
};

struct follow_env {
	struct test_vm t;
	struct kvm *kvm;
	struct kvm_memory_slot slot;
	struct sim_page *block;		/* the driver's block, for PFNMAP backings */
	unsigned int block_order;
	bool compound;
	hva_t hva;			/* the slot's memory */
	kvm_pfn_t pfn;			/* what the host maps at gfn GFN, if anything */
	struct sim_page *page;		/* its struct page, for refcounts */
};

static void map_block(struct follow_env *e, unsigned int gfp, int prot)
{
	e->block_order = 4;
	e->compound = gfp & __GFP_COMP;
	e->block = sim_alloc_pages(e->t.host, gfp, e->block_order);
	assert_non_null(e->block);
	assert_int_equal(sim_mmap_pfn(e->t.mm, 0, NPAGES * PAGE_SIZE, prot,
				      sim_page_to_pfn(e->t.host, e->block), &e->hva),
			 0);
}

static void setup_backing(struct follow_env *e, const struct follow_row *row)
{
	struct sim_mm *mm = e->t.mm;
	int rw = SIM_PROT_READ | SIM_PROT_WRITE;
	hva_t at;

	switch (row->backing) {
	case B_NOSLOT:
	case B_INVALID_SLOT:
	case B_ANON:
	case B_ANON_ABSENT:
	case B_ANON_ZERO:
	case B_ANON_SWAPPED:
	case B_ANON_POISONED:
		assert_int_equal(sim_mmap(mm, 0, NPAGES * PAGE_SIZE, rw, SIM_MAP_PRIVATE, &e->hva),
				 0);
		break;
	case B_ANON_RO_VMA:
		assert_int_equal(sim_mmap(mm, 0, NPAGES * PAGE_SIZE, SIM_PROT_READ,
					  SIM_MAP_PRIVATE, &e->hva),
				 0);
		break;
	case B_PROT_NONE:
		assert_int_equal(sim_mmap(mm, 0, NPAGES * PAGE_SIZE, SIM_PROT_NONE,
					  SIM_MAP_PRIVATE, &e->hva),
				 0);
		break;
	case B_HOLE:
		e->hva = 0x100000000UL;
		break;
	case B_PFN_ONLY:
	case B_PFN_ONLY_ZAPPED:
	case B_PFN_ONLY_RO:
		assert_int_equal(sim_mmap_pfn(mm, 0, NPAGES * PAGE_SIZE,
					      row->backing == B_PFN_ONLY_RO ? SIM_PROT_READ : rw,
					      NOPAGE_BASE, &e->hva),
				 0);
		break;
	case B_PFNMAP_COMPOUND:
		map_block(e, __GFP_COMP | __GFP_ZERO, rw);
		break;
	case B_PFNMAP_TTM:
	case B_PFNMAP_TTM_HEAD:
		map_block(e, __GFP_ZERO, rw);
		break;
	}

	at = e->hva + (row->backing == B_PFNMAP_TTM_HEAD ? 0 : GFN) * PAGE_SIZE;
	if (row->backing == B_ANON || row->backing == B_ANON_SWAPPED ||
	    row->backing == B_ANON_POISONED)
		assert_int_equal(sim_mm_touch(mm, at, true), 0);
	if (row->backing == B_ANON_ZERO || row->backing == B_ANON_RO_VMA)
		assert_int_equal(sim_mm_touch(mm, at, false), 0);
	if (row->backing == B_ANON_SWAPPED)
		assert_int_equal(sim_swap_out(mm, at), 0);
	if (row->backing == B_ANON_POISONED)
		assert_int_equal(sim_madvise(mm, at, PAGE_SIZE, SIM_MADV_HWPOISON), 0);
	if (row->backing == B_PFN_ONLY_ZAPPED) {
		assert_int_equal(sim_zap_vma_ptes(mm, e->hva, NPAGES * PAGE_SIZE), 0);
		assert_int_equal(sim_follow_pfn(mm, at, false, &e->pfn, NULL), -EFAULT);
	}

	e->slot = (struct kvm_memory_slot){
		.base_gfn = 0,
		.npages = NPAGES,
		.userspace_addr = e->hva,
		.flags = (row->ro_slot ? KVM_MEM_READONLY : 0) |
			 (row->backing == B_INVALID_SLOT ? KVM_MEMSLOT_INVALID : 0),
	};
}

/* What the host maps at the looked-up address once the lookup is done. */
static void host_pfn_after(struct follow_env *e, const struct follow_row *row)
{
	struct sim_host_pte_info info;
	hva_t at = e->hva + (row->backing == B_PFNMAP_TTM_HEAD ? 0 : GFN) * PAGE_SIZE;

	assert_int_equal(sim_mm_lookup(e->t.mm, at, &info), 0);
	e->pfn = info.pfn;
}

static kvm_pfn_t want_pfn(enum want w)
{
	switch (w) {
	case W_FAULT:
		return KVM_PFN_ERR_FAULT;
	case W_HWPOISON:
		return KVM_PFN_ERR_HWPOISON;
	case W_RO_FAULT:
		return KVM_PFN_ERR_RO_FAULT;
	case W_SIGPENDING:
		return KVM_PFN_ERR_SIGPENDING;
	case W_NEEDS_IO:
		return KVM_PFN_ERR_NEEDS_IO;
	case W_NOSLOT:
		return KVM_PFN_NOSLOT;
	default:
		return 0;
	}
}

static void run_row(const struct follow_row *row)
{
	struct sim_host_config hc = {
		.mem_bytes = 256 * MiB,
		.nopage_base_pfn = NOPAGE_BASE,
		.nopage_pages = NPAGES,
		.kvm_allow_unsafe_mappings = row->unsafe,
	};
	struct test_vm_opts o = { .hcfg = &hc, .cfg.pfn_model = row->model };
	struct follow_env e = { 0 };
	struct kvm_follow_pfn foll;
	int count_before = 0, idx;
	kvm_pfn_t pfn;

	print_message("  %s\n", row->what);
	test_vm_create(&e.t, &o);
	e.kvm = mmusim_to_kvm(e.t.vm);
	setup_backing(&e, row);

	/* The page whose count the lookup changes, where one exists already. */
	if (row->backing == B_ANON || row->backing == B_ANON_ZERO ||
	    row->backing == B_ANON_RO_VMA || row->backing == B_PFNMAP_COMPOUND ||
	    row->backing == B_PFNMAP_TTM || row->backing == B_PFNMAP_TTM_HEAD) {
		host_pfn_after(&e, row);
		e.page = sim_pfn_to_page(e.t.host, e.pfn);
		count_before = sim_page_count(e.t.host, e.page);
	}

	foll = (struct kvm_follow_pfn){
		.kvm = e.kvm,
		.slot = row->backing == B_NOSLOT ? NULL : &e.slot,
		.gfn = row->backing == B_PFNMAP_TTM_HEAD ? 0 : GFN,
		.flags = row->flags,
		.atomic = row->atomic,
		.try_map_writable = row->try_map_writable,
		.guarded_by_mmu_notifier = row->guarded,
		.allow_non_refcounted_struct_page = row->allow_nr,
		.pin = row->pin,
	};
	assert_int_equal(sim_mm_set_signal(e.t.mm, row->signal), 0);
	idx = srcu_read_lock(&e.kvm->slots.srcu);
	pfn = __kvm_follow_pfn(&foll);
	srcu_read_unlock(&e.kvm->slots.srcu, idx);
	assert_int_equal(sim_mm_set_signal(e.t.mm, SIM_SIGNAL_NONE), 0);
	assert_int_equal(env_warn_count(), row->warns ? 1 : 0);
	env_warn_count_reset();

	if (row->want != W_PFN) {
		assert_int_equal(pfn, want_pfn(row->want));
		assert_false(foll.is_refcounted_page);
		assert_null(foll.refcounted_page);
		if (e.page)
			assert_int_equal(sim_page_count(e.t.host, e.page), count_before);
		goto out;
	}

	host_pfn_after(&e, row);
	assert_int_equal(pfn, e.pfn);
	assert_int_equal(foll.writable, row->writable);
	assert_int_equal(foll.is_refcounted_page, row->refcounted);
	assert_int_equal(foll.hva, e.hva + foll.gfn * PAGE_SIZE);
	if (!row->refcounted) {
		assert_null(foll.refcounted_page);
		if (e.page)
			assert_int_equal(sim_page_count(e.t.host, e.page), count_before);
		goto out;
	}
	assert_ptr_equal(foll.refcounted_page, sim_pfn_to_page(e.t.host, pfn));
	if (!e.page) {
		/* Faulted in by the lookup: the mapping's reference, plus ours. */
		e.page = foll.refcounted_page;
		count_before = sim_page_count(e.t.host, e.page) - row->delta;
	}
	assert_int_equal(sim_page_count(e.t.host, e.page), count_before + row->delta);
	if (row->pin)
		sim_unpin_user_page(e.t.host, foll.refcounted_page);
	else
		sim_put_page(e.t.host, foll.refcounted_page);
	assert_int_equal(sim_page_count(e.t.host, e.page), count_before);
out:
	if (e.block) {
		assert_int_equal(sim_munmap(e.t.mm, e.hva, NPAGES * PAGE_SIZE), 0);
		if (e.compound)
			sim_put_page(e.t.host, e.block);
		else
			sim_free_pages(e.t.host, e.block, e.block_order);
	}
	test_vm_destroy(&e.t);
}

static void test_follow_pfn_decision_table(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++)
		run_row(&rows[i]);
}

/* kvm_pfn_to_refcounted_page(): RAM that is not reserved, nothing else. */
static void test_follow_pfn_refcounted_page(void **state)
{
	struct sim_host_config hc = {
		.mem_bytes = 256 * MiB, .nopage_base_pfn = NOPAGE_BASE, .nopage_pages = NPAGES
	};
	struct test_vm_opts o = { .hcfg = &hc };
	struct sim_page *page;
	struct test_vm t;
	struct kvm *kvm;

	test_vm_create(&t, &o);
	kvm = mmusim_to_kvm(t.vm);
	page = sim_alloc_pages(t.host, 0, 0);
	assert_ptr_equal(kvm_pfn_to_refcounted_page(kvm, sim_page_to_pfn(t.host, page)), page);
	assert_null(kvm_pfn_to_refcounted_page(kvm, 0));		/* reserved */
	assert_null(kvm_pfn_to_refcounted_page(kvm, NOPAGE_BASE));	/* no struct page */
	assert_null(kvm_pfn_to_refcounted_page(kvm, NOPAGE_BASE + NPAGES)); /* nothing */
	sim_put_page(t.host, page);
	test_vm_destroy(&t);
}

/* The error pfns and their predicates, as kvm_host.h defines them. */
static void test_follow_pfn_error_pfns(void **state)
{
	kvm_pfn_t errs[] = { KVM_PFN_ERR_FAULT, KVM_PFN_ERR_HWPOISON, KVM_PFN_ERR_RO_FAULT,
			     KVM_PFN_ERR_SIGPENDING, KVM_PFN_ERR_NEEDS_IO };
	size_t i;

	assert_int_equal(KVM_PFN_ERR_MASK, 0x7ffULL << 52);
	assert_int_equal(KVM_PFN_NOSLOT, 1ULL << 63);
	assert_int_equal(KVM_PFN_ERR_NEEDS_IO, KVM_PFN_ERR_MASK + 4);
	for (i = 0; i < ARRAY_SIZE(errs); i++) {
		assert_true(is_error_pfn(errs[i]));
		assert_true(is_error_noslot_pfn(errs[i]));
		assert_false(is_noslot_pfn(errs[i]));
	}
	assert_false(is_error_pfn(KVM_PFN_NOSLOT));
	assert_true(is_error_noslot_pfn(KVM_PFN_NOSLOT));
	assert_true(is_noslot_pfn(KVM_PFN_NOSLOT));
	assert_true(is_sigpending_pfn(KVM_PFN_ERR_SIGPENDING));
	assert_false(is_error_noslot_pfn((1ULL << 52) - 1));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_follow_pfn_decision_table),
		MMUSIM_TEST(test_follow_pfn_refcounted_page),
		MMUSIM_TEST(test_follow_pfn_error_pfns),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("kvm_follow_pfn", tests);
}
