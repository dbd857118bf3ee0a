// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_mmu_ops: a program of VMM, guest and host operations on a small VM,
 * checked after every step against the invariant checker and a reference
 * model of what the guest may see.
 *
 * Set-up (from the end of the input, fuzz_data_producer.h): the VM's
 * configuration (TDP or legacy MMU when the library has it, NPT or EPT with
 * or without A/D bits and execute-only, 1-3 vCPUs, 4- or 5-level, fast zap
 * or slot zap on memslot deletion), manual dirty-log protection, a forced
 * yield interval for the MMU's yield paths; a 256 MiB host whose VMM has
 * three private anonymous mappings ("regions"):
 *
 *   region 0   4 MiB  THP-eligible        (huge SPTEs over THPs)
 *   region 1   2 MiB  4K pages
 *   region 2   4 MiB  hugetlb, 2 MiB pages (host ops on it are 2M-aligned)
 *
 * Operations, driven sequentially from the fuzzer thread:
 *   guest   access (read/write/exec) on any vCPU at gpas in and out of
 *           slots and past the MMU's reach; ranged accesses; 8-byte data
 *           writes and reads; SMM on/off (address space 1)
 *   VMM     memslot create/delete/move/flag changes (LOG_DIRTY_PAGES,
 *           READONLY) in both address spaces; KVM_GET/CLEAR_DIRTY_LOG;
 *           host reads and writes of guest memory
 *   KVM     zap of a gfn range, fast zap of everything
 *   host    munmap, re-mmap, mprotect (none/read/read-write), MADV_DONTNEED,
 *           MADV_(NO)HUGEPAGE, migration, THP split and collapse, swap-out,
 *           aging (clear_young) and test_young
 *   races   in one program in four ("race mode"), a guest access may carry
 *           one of the host events, a zap or a fast zap *inside* its page
 *           fault, after the pfn lookup or just before mmu_lock
 *           (mmusim_vm_race_next_fault()): the zap-during-a-fault
 *           interleavings, placed deterministically, that the mmu_seq
 *           protocol must survive
 *
 * The reference model knows the memslots (memslot_model.h, so every memslot
 * request's errno is predicted exactly), and per host page of each region
 * whether it is mapped, its protection and the 8-byte token stored at its
 * start.  It predicts every guest access: -EINVAL past the MMU's reach, an
 * MMIO exit without a slot or for a write to a read-only slot, -EFAULT if
 * the slot's host page is unmapped or forbids the access, else success; a
 * data read must return the token last written through any path (guest,
 * host, lost by DONTNEED/munmap, kept by migration, THP split/collapse and
 * swap); after a guest write the host page is mapped writable.  Host events
 * take no extra reference: migration, swap-out, THP split or collapse may
 * never report a busy page (a leaked reference), except inside a fault,
 * which holds a reference on the page it looked up.  An access with an event
 * inside its fault is predicted from the state after the event.  The dirty log must report
 * every page the guest wrote since it was last harvested (extra bits are
 * allowed, as in KVM) and no bit past the slot's end.
 *
 * After each step mmusim_vm_check() must pass (every SPTE legal and mapping
 * what the host maps, stats consistent); WARNs abort; the TLB checker is on
 * for every vCPU (a stale translation WARNs).  At the end everything is torn
 * down and no object may be left (rcu_barrier(), then env_live_objects()).
 *
 * Profile 2, chosen by an input that ends in "MMU2" (so that every older
 * input, the crash-* regressions included, decodes as it always did):
 * the pfn model (v9 or 6.13) and the host's allow_unsafe_mappings, NX huge
 * pages with a recovery ratio, eager page splitting off, zap-collapsible
 * instead of in-place huge-page recovery, PML dirty logging; three more
 * regions, VM_PFNMAP mappings of a compound block, of a TTM-style block
 * and of PFN-only memory (setup_pfnmap_regions()); and four more
 * operations: kvm_vcpu_map() with a read (and maybe a write) through the
 * map and an unmap clean or dirty, KVM_PRE_FAULT_MEMORY, a driver's
 * zap_vma_ptes(), and a pass of NX recovery.  The model predicts each
 * (op_map(), op_pre_fault()).
 *
 * Built with -DFUZZ_FAILINJ as fuzz_mmu_ops_failinj: allocations fail at
 * random (seed and rate from the input) during the operations, which may
 * then fail with -ENOMEM, but must leave the model's predictions true for
 * whatever did succeed, the invariants intact, and nothing leaked.
 */
#include "fuzz_helpers.h"
#include "fuzz_data_producer.h"
#include "fuzz_vm.h"
#include "memslot_model.h"

#include "mmusim_env.h"
#include "mmu/shadow_mmu.h"

#ifdef FUZZ_FAILINJ
#define FAILINJ 1
#else
#define FAILINJ 0
#endif

#define MAX_OPS 128
#define NR_HOST_REGIONS 3	/* anonymous and hugetlb regions: what host events act on */
#define NR_REGIONS 6		/* with profile 2's three VM_PFNMAP regions */
#define PFN_REGION_ORDER 6	/* 64 pages per PFNMAP region */
#define NOPAGE_BASE_PFN (1ull << 20) /* PFN-only memory at 4 GiB, above the host's RAM */
#define PROFILE2_MAGIC "MMU2"
#define REGION_MAX_PAGES 1024
#define NR_SLOT_IDS 4
#define SLOT_MAX_PAGES 2048
#define HPAGE_PAGES 512
#define GUEST_GFNS 16384	/* the gfn window accesses and slots mostly use */

enum region_kind { R_ANON, R_PFNMAP_REF, R_PFNMAP_TTM, R_PFN_ONLY };

struct region {
	hva_t hva;
	u64 npages;
	int map_flags;
	bool hugetlb;
	enum region_kind kind;
	struct sim_page *block;		/* the driver's block behind a PFNMAP region */
	u8 mapped[REGION_MAX_PAGES];
	u8 prot[REGION_MAX_PAGES];
	u64 token[REGION_MAX_PAGES];
};

struct fz {
	struct fuzz_dp dp;
	struct fuzz_vm v;
	struct ms_model model;
	struct region reg[NR_REGIONS];
	/* Pages written since the last harvest: the dirty log must report them. */
	u8 dirty[MS_NR_AS][NR_SLOT_IDS][SLOT_MAX_PAGES];
	bool smm[3];
	u64 manual;
	u64 next_token;
	int step;
	const char *op;
	bool race_mode;		/* guest accesses may carry an event inside their fault */
	bool in_fault_race;	/* running such an event: the fault holds a page reference */
	/* Profile 2 (input ends in PROFILE2_MAGIC): more backings, knobs and operations. */
	bool profile2;
	int nr_regions;
	bool unsafe_mappings;	/* the host's kvm.allow_unsafe_mappings */
	u32 ring_fetch[3];	/* with dirty rings: the VMM's next entry per vCPU */
	u8 ring_seen[MS_NR_AS][NR_SLOT_IDS][SLOT_MAX_PAGES];
};

enum {
	OP_ACCESS,
	OP_ACCESS_RANGE,
	OP_GUEST_WRITE,
	OP_GUEST_READ,
	OP_SMM,
	OP_SLOT_CREATE,
	OP_SLOT_DELETE,
	OP_SLOT_MOVE,
	OP_SLOT_FLAGS,
	OP_GET_LOG,
	OP_CLEAR_LOG,
	OP_HOST_WRITE,
	OP_HOST_READ,
	OP_ZAP_RANGE,
	OP_ZAP_ALL_FAST,
	OP_MUNMAP,
	OP_REMAP,
	OP_MPROTECT,
	OP_DONTNEED,
	OP_MADV_HUGEPAGE,
	OP_MIGRATE,
	OP_SPLIT_THP,
	OP_COLLAPSE_THP,
	OP_SWAP_OUT,
	OP_AGE,
	OP_NR_V1,		/* the operations of a profile-1 input */
	OP_MAP = OP_NR_V1,
	OP_PRE_FAULT,
	OP_ZAP_VMA_PTES,
	OP_NX_RECOVER,
	OP_RING_HARVEST,
	OP_NR
};

static const char *const op_names[OP_NR] = {
	"access", "access range", "guest write", "guest read", "SMM toggle", "slot create",
	"slot delete", "slot move", "slot flags", "get dirty log", "clear dirty log",
	"host write", "host read", "zap range", "fast zap", "munmap", "re-mmap", "mprotect",
	"MADV_DONTNEED", "MADV_(NO)HUGEPAGE", "migrate", "THP split", "THP collapse",
	"swap-out", "aging", "kvm_vcpu_map", "pre-fault", "zap_vma_ptes", "NX recovery",
	"dirty ring harvest",
};

#define CHECK(f, cond, fmt, ...)                                                        \
	FUZZ_ASSERT_MSG(cond, "step %d (%s, %s): " fmt, (f)->step, (f)->op,               \
			fuzz_vm_describe(&(f)->v.cfg), ##__VA_ARGS__)

/* MMUSIM_FUZZ_TRACE=1: print each step, for triage. */
static bool trace_on;
#define TRACE(f, fmt, ...)                                                                \
	do {                                                                              \
		if (trace_on)                                                             \
			fprintf(stderr, "[%3d] %-18s " fmt "\n", (f)->step, (f)->op,        \
				##__VA_ARGS__);                                           \
	} while (0)

/* With failure injection an operation may also fail for lack of memory. */
static bool ret_ok(int r, int want)
{
	return r == want || (FAILINJ && r == -ENOMEM);
}

/*
 * A guest access whose host page could not be allocated: GUP fails with
 * -ENOMEM, which __kvm_follow_pfn() reports as KVM_PFN_ERR_FAULT and the
 * fault as -EFAULT (6.12 hva_to_pfn(): only -EINTR/-EAGAIN and -EHWPOISON
 * have pfns of their own).  Accepted only if a failure was injected during
 * the call and the model expected the access to complete.
 */
static bool guest_ret_ok(long r, long want, unsigned long injected_before)
{
	if (ret_ok(r, want))
		return true;
	return FAILINJ && r == -EFAULT && want >= 0 && env_fail_injected() != injected_before;
}

/* ------------------------------------------------------------------------- */
/* The model                                                                 */

/* The region page behind @hva, or NULL if @hva is in no region. */
static struct region *region_page(struct fz *f, u64 hva, u64 *idx)
{
	int i;

	for (i = 0; i < NR_REGIONS; i++) {
		struct region *r = &f->reg[i];

		if (hva >= r->hva && hva - r->hva < r->npages * PAGE_SIZE) {
			*idx = (hva - r->hva) >> PAGE_SHIFT;
			return r;
		}
	}
	return NULL;
}

struct prediction {
	int ret;			/* 0, 1 (exit to userspace) or -errno */
	const struct ms_slot *slot;
	struct region *reg;
	u64 idx;			/* page in reg */
	u64 hva;
	bool efault_ok;			/* -EFAULT is as right as ret (a stale MMIO SPTE) */
};

static struct prediction predict_access(struct fz *f, int as_id, gpa_t gpa, int type)
{
	struct prediction p = { 0 };
	gfn_t gfn = gpa >> PAGE_SHIFT;
	u8 prot;

	if (gfn > f->v.max_gfn) {
		p.ret = -EINVAL;
		return p;
	}
	p.slot = ms_lookup(&f->model, as_id, gfn);
	if (!p.slot) {
		p.ret = 1;
		return p;
	}
	p.hva = p.slot->hva + ((gfn - p.slot->base_gfn) << PAGE_SHIFT);
	p.reg = region_page(f, p.hva, &p.idx);
	if (type == MMUSIM_ACCESS_WRITE && (p.slot->flags & KVM_MEM_READONLY)) {
		/*
		 * Emulated, unless an MMIO SPTE left from before the slot existed
		 * is still there: on EPT that is a misconfiguration, whose error
		 * code carries no write bit (6.12 handle_ept_misconfig()), so the
		 * stale SPTE is refaulted as a read, which fails with -EFAULT if
		 * the host cannot map the page for reading.  The model does not
		 * track MMIO SPTEs; it allows both.
		 */
		p.ret = 1;
		p.efault_ok = f->v.cfg.tdp_mode == MMUSIM_TDP_EPT &&
			      (!p.reg || !p.reg->mapped[p.idx] ||
			       !(p.reg->prot[p.idx] & SIM_PROT_READ));
		return p;
	}
	if (!p.reg || !p.reg->mapped[p.idx]) {
		p.ret = -EFAULT;
		return p;
	}
	prot = p.reg->prot[p.idx];
	if (!(prot & SIM_PROT_READ) || (type == MMUSIM_ACCESS_WRITE && !(prot & SIM_PROT_WRITE)))
		p.ret = -EFAULT;
	return p;
}

/*
 * The SPTE side of a completed access: a present leaf of a valid root maps
 * the gfn (MMU-writable for a write).  Access tracking may have cleared its
 * hardware rights since (aging does not flush TLBs, as in KVM), but nothing
 * may have zapped it without a flush: the access would then have completed
 * through a stale TLB entry.  Which pfn it maps is mmusim_vm_check()'s job.
 */
struct leaf_find {
	struct kvm_tdp_mmu_walk_cb cb;
	const struct kvm_mmu_masks *m;
	int as_id;
	gfn_t gfn;
	bool found, mmu_writable;
};

static int leaf_find_cb(struct kvm_tdp_mmu_walk_cb *cb, int as_id, gfn_t gfn, u64 spte, int level,
			bool invalid_root)
{
	struct leaf_find *c = container_of(cb, struct leaf_find, cb);

	if (invalid_root || as_id != c->as_id || c->gfn < gfn ||
	    c->gfn - gfn >= KVM_PAGES_PER_HPAGE(level))
		return 0;
	c->found = true;
	c->mmu_writable |= is_mmu_writable_spte(c->m, spte);
	return 0;
}

static void check_spte_after_access(struct fz *f, int as_id, gpa_t gpa, int type)
{
	struct kvm *kvm = mmusim_to_kvm(f->v.vm);
	struct leaf_find c = { .cb.leaf = leaf_find_cb, .m = &kvm->masks, .as_id = as_id,
			       .gfn = gpa >> PAGE_SHIFT };
	int idx;

	idx = srcu_read_lock(&kvm->slots.srcu);
	write_lock(&kvm->mmu_lock);
	if (kvm->tdp_mmu_enabled)
		kvm_tdp_mmu_for_each_leaf(kvm, &c.cb);
	else
		kvm_shadow_mmu_for_each_leaf(kvm, &c.cb);
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->slots.srcu, idx);
	CHECK(f, c.found, "as %d gpa %#llx was accessed but no valid root maps it",
	      as_id, (unsigned long long)gpa);
	if (type == MMUSIM_ACCESS_WRITE)
		CHECK(f, c.mmu_writable, "as %d gpa %#llx was written but its SPTE is not "
					  "MMU-writable", as_id, (unsigned long long)gpa);
}

static u8 *dirty_of(struct fz *f, int as_id, u32 id)
{
	return f->dirty[as_id][id];
}

/* A guest access succeeded: check the host side, remember a write for the dirty log. */
static void access_done(struct fz *f, int as_id, gpa_t gpa, int type,
			const struct prediction *p)
{
	struct sim_host_pte_info info;
	int r = sim_mm_lookup(f->v.mm, p->hva, &info);

	CHECK(f, !r, "gpa %#llx was accessed but its hva %#llx is not mapped",
	      (unsigned long long)gpa, (unsigned long long)p->hva);
	if (type != MMUSIM_ACCESS_WRITE)
		return;
	CHECK(f, info.writable, "gpa %#llx was written but its hva %#llx is mapped read-only",
	      (unsigned long long)gpa, (unsigned long long)p->hva);
	if (p->slot->flags & KVM_MEM_LOG_DIRTY_PAGES)
		dirty_of(f, as_id, p->slot->id)[(gpa >> PAGE_SHIFT) - p->slot->base_gfn] = 1;
}

/* ------------------------------------------------------------------------- */
/* Choices                                                                   */
/*
 * Note: every value is read in its own statement (declarations with
 * initializers run in order), never two in one expression, whose evaluation
 * order C leaves open: an input must decode the same way with every compiler.
 */

static struct mmusim_vcpu *pick_vcpu(struct fz *f, int *idx)
{
	*idx = fuzz_dp_index(&f->dp, f->v.cfg.nr_vcpus);
	return mmusim_vm_vcpu(f->v.vm, *idx);
}

/* A gpa: mostly inside a slot of the address space, sometimes anywhere. */
static gpa_t pick_gpa(struct fz *f, int as_id)
{
	u32 how = fuzz_dp_u32_range(&f->dp, 0, 7);
	const struct ms_slot *s;

	if (how < 5 && f->model.nr[as_id]) {
		s = &f->model.slots[as_id][fuzz_dp_index(&f->dp, f->model.nr[as_id])];
		return (s->base_gfn + fuzz_dp_range(&f->dp, 0, s->npages - 1)) << PAGE_SHIFT;
	}
	if (how == 7)
		return (f->v.max_gfn - 1 + fuzz_dp_range(&f->dp, 0, 3)) << PAGE_SHIFT;
	return fuzz_dp_range(&f->dp, 0, GUEST_GFNS - 1) << PAGE_SHIFT;
}

static int pick_type(struct fz *f)
{
	return fuzz_dp_u32_range(&f->dp, MMUSIM_ACCESS_READ, MMUSIM_ACCESS_EXEC);
}

static u64 new_token(struct fz *f)
{
	return 0x70cce17000000000ull | ++f->next_token;
}

/* A page range of a region; 2M-aligned in the hugetlb region. */
static struct region *pick_range(struct fz *f, u64 *first, u64 *n)
{
	struct region *r = &f->reg[fuzz_dp_index(&f->dp, NR_HOST_REGIONS)];
	u64 gran = r->hugetlb ? HPAGE_PAGES : 1;

	if (!fuzz_dp_u32_range(&f->dp, 0, 3)) {
		*first = 0;
		*n = r->npages;
		return r;
	}
	*first = fuzz_dp_index(&f->dp, r->npages / gran) * gran;
	*n = fuzz_dp_range(&f->dp, 1, (r->npages - *first) / gran) * gran;
	if (!r->hugetlb && fuzz_dp_bool(&f->dp) && *n > 16)
		*n = fuzz_dp_range(&f->dp, 1, 16);
	return r;
}

static struct region *pick_page(struct fz *f, u64 *idx)
{
	struct region *r = &f->reg[fuzz_dp_index(&f->dp, NR_HOST_REGIONS)];

	*idx = fuzz_dp_index(&f->dp, r->npages);
	return r;
}

static bool range_has_hole(const struct region *r, u64 first, u64 n)
{
	u64 i;

	for (i = first; i < first + n; i++)
		if (!r->mapped[i])
			return true;
	return false;
}

/* ------------------------------------------------------------------------- */
/* Guest operations                                                          */

static bool arm_fault_race(struct fz *f);
static void disarm_fault_race(struct fz *f, bool armed);

static void op_access(struct fz *f)
{
	int vi, type = pick_type(f);
	struct mmusim_vcpu *vcpu = pick_vcpu(f, &vi);
	int as_id = f->smm[vi];
	gpa_t gpa = pick_gpa(f, as_id);
	u64 offset = fuzz_dp_range(&f->dp, 0, PAGE_SIZE - 1);
	struct prediction p;
	struct mmusim_exit exit;
	bool armed = arm_fault_race(f);
	unsigned long injected;
	int r;

	gpa += offset;
	injected = env_fail_injected();
	r = mmusim_vcpu_access(vcpu, gpa, type, &exit);
	disarm_fault_race(f, armed);
	/* After the access: an event inside its fault changed what it must see. */
	p = predict_access(f, as_id, gpa, type);
	TRACE(f, "vCPU %d as %d type %d gpa %#llx: %d (model %d)", vi, as_id, type,
	      (unsigned long long)gpa, r, p.ret);

	CHECK(f, (guest_ret_ok(r, p.ret, injected) || (p.efault_ok && r == -EFAULT)) &&
		 !(FAILINJ && r == -ENOMEM && p.ret == -EINVAL),
	      "vCPU %d as %d access type %d at gpa %#llx returned %d, the model says %d", vi, as_id,
	      type, (unsigned long long)gpa, r, p.ret);
	if (r == 1)
		CHECK(f, exit.reason == KVM_EXIT_MMIO && exit.gpa == gpa &&
			 exit.is_write == (type == MMUSIM_ACCESS_WRITE),
		      "bad exit for gpa %#llx: reason %u gpa %#llx write %d",
		      (unsigned long long)gpa, exit.reason, (unsigned long long)exit.gpa,
		      exit.is_write);
	if (!r) {
		access_done(f, as_id, gpa, type, &p);
		check_spte_after_access(f, as_id, gpa, type);
	}
}

static void op_access_range(struct fz *f)
{
	int vi, type = pick_type(f);
	struct mmusim_vcpu *vcpu = pick_vcpu(f, &vi);
	int as_id = f->smm[vi];
	gpa_t gpa = pick_gpa(f, as_id) & PAGE_MASK;
	u64 npages = fuzz_dp_range(&f->dp, 1, 24), i;
	struct prediction p = { 0 };
	unsigned long injected;
	bool efault_ok = false;
	long want = 0, r;

	/* Completed accesses until the first one that would not complete. */
	for (i = 0; i < npages; i++) {
		p = predict_access(f, as_id, gpa + i * PAGE_SIZE, type);
		if (p.ret)
			break;
	}
	want = (p.ret < 0 && i == 0) ? p.ret : (long)i;
	if (p.ret && p.efault_ok && i == 0)
		efault_ok = true;
	injected = env_fail_injected();
	r = mmusim_vcpu_access_range(vcpu, gpa, npages, 0, type, NULL);
	TRACE(f, "vCPU %d as %d type %d gpa %#llx x%llu: %ld (model %ld)", vi, as_id, type,
	      (unsigned long long)gpa, (unsigned long long)npages, r, want);
	CHECK(f, r == want || (FAILINJ && r >= 0 && r <= want) || guest_ret_ok(r, want, injected) ||
		 (efault_ok && r == -EFAULT),
	      "vCPU %d as %d range of %llu type %d at gpa %#llx returned %ld, the model says %ld",
	      vi, as_id, (unsigned long long)npages, type, (unsigned long long)gpa, r, want);
	for (i = 0; r > 0 && i < (u64)r; i++) {
		p = predict_access(f, as_id, gpa + i * PAGE_SIZE, type);
		access_done(f, as_id, gpa + i * PAGE_SIZE, type, &p);
	}
}

/* 8 bytes at the start of a page; MMIO makes the copy fail with -EFAULT. */
static void op_guest_write(struct fz *f)
{
	int vi;
	struct mmusim_vcpu *vcpu = pick_vcpu(f, &vi);
	int as_id = f->smm[vi];
	gpa_t gpa = pick_gpa(f, as_id) & PAGE_MASK;
	struct prediction p = predict_access(f, as_id, gpa, MMUSIM_ACCESS_WRITE);
	u64 token = new_token(f);
	int want = p.ret == 1 ? -EFAULT : p.ret;
	unsigned long injected = env_fail_injected();
	int r = mmusim_vcpu_write(vcpu, gpa, &token, sizeof(token));

	TRACE(f, "vCPU %d as %d gpa %#llx <- %#llx: %d (model %d)", vi, as_id,
	      (unsigned long long)gpa, (unsigned long long)token, r, want);

	CHECK(f, guest_ret_ok(r, want, injected),
	      "guest write at as %d gpa %#llx returned %d, the model says %d", as_id,
	      (unsigned long long)gpa, r, want);
	if (r)
		return;
	p.reg->token[p.idx] = token;
	access_done(f, as_id, gpa, MMUSIM_ACCESS_WRITE, &p);
	check_spte_after_access(f, as_id, gpa, MMUSIM_ACCESS_WRITE);
}

static void op_guest_read(struct fz *f)
{
	int vi;
	struct mmusim_vcpu *vcpu = pick_vcpu(f, &vi);
	int as_id = f->smm[vi];
	gpa_t gpa = pick_gpa(f, as_id) & PAGE_MASK;
	struct prediction p = predict_access(f, as_id, gpa, MMUSIM_ACCESS_READ);
	int want = p.ret == 1 ? -EFAULT : p.ret;
	u64 val = 0xdeadbeefdeadbeefull;
	unsigned long injected = env_fail_injected();
	int r = mmusim_vcpu_read(vcpu, gpa, &val, sizeof(val));

	TRACE(f, "vCPU %d as %d gpa %#llx -> %#llx: %d (model %d)", vi, as_id,
	      (unsigned long long)gpa, (unsigned long long)val, r, want);

	CHECK(f, guest_ret_ok(r, want, injected),
	      "guest read at as %d gpa %#llx returned %d, the model says %d", as_id,
	      (unsigned long long)gpa, r, want);
	if (r)
		return;
	CHECK(f, val == p.reg->token[p.idx],
	      "guest read at as %d gpa %#llx (hva %#llx) returned %#llx, last written %#llx",
	      as_id, (unsigned long long)gpa, (unsigned long long)p.hva,
	      (unsigned long long)val, (unsigned long long)p.reg->token[p.idx]);
	access_done(f, as_id, gpa, MMUSIM_ACCESS_READ, &p);
	check_spte_after_access(f, as_id, gpa, MMUSIM_ACCESS_READ);
}

static void op_smm(struct fz *f)
{
	int vi;
	struct mmusim_vcpu *vcpu = pick_vcpu(f, &vi);

	f->smm[vi] = !f->smm[vi];
	mmusim_vcpu_set_smm(vcpu, f->smm[vi]);
	TRACE(f, "vCPU %d smm %d", vi, f->smm[vi]);
}

/* ------------------------------------------------------------------------- */
/* Memslots and the dirty log                                                */

static void set_region(struct fz *f, const struct kvm_userspace_memory_region *mem)
{
	struct ms_prediction p = ms_predict(&f->model, mem);
	const struct ms_slot *old = p.idx >= 0 ? &f->model.slots[p.as_id][p.idx] : NULL;
	bool log_before = old && (old->flags & KVM_MEM_LOG_DIRTY_PAGES);
	bool log_after = mem->flags & KVM_MEM_LOG_DIRTY_PAGES;
	int r;

	if (p.change == MS_CREATE && f->model.nr[p.as_id] >= MS_MAX_SLOTS)
		return;
	r = mmusim_vm_set_user_memory_region(f->v.vm, mem);
	TRACE(f, "slot %#x flags %#x gpa %#llx size %#llx hva %#llx: %d (KVM %d)", mem->slot,
	      mem->flags, (unsigned long long)mem->guest_phys_addr,
	      (unsigned long long)mem->memory_size, (unsigned long long)mem->userspace_addr, r,
	      p.ret);
	CHECK(f, r == p.ret || (FAILINJ && r == -ENOMEM && (!p.ret || p.late)),
	      "slot %#x flags %#x gpa %#llx size %#llx hva %#llx: returned %d, KVM returns %d",
	      mem->slot, mem->flags, (unsigned long long)mem->guest_phys_addr,
	      (unsigned long long)mem->memory_size, (unsigned long long)mem->userspace_addr, r,
	      p.ret);
	if (r)
		return;
	/*
	 * A new dirty bitmap starts empty, or full with KVM_DIRTY_LOG_INITIALLY_SET
	 * (every page reported until userspace clears it).
	 */
	if (p.change == MS_CREATE || p.change == MS_DELETE ||
	    ((p.change == MS_MOVE || p.change == MS_FLAGS_ONLY) && log_after && !log_before)) {
		u8 *dirty = dirty_of(f, p.as_id, (u16)mem->slot);

		memset(dirty, 0, SLOT_MAX_PAGES);
		if (p.change != MS_DELETE && log_after &&
		    (f->manual & KVM_DIRTY_LOG_INITIALLY_SET))
			memset(dirty, 1, mem->memory_size >> PAGE_SHIFT);
	}
	FUZZ_ASSERT(ms_apply(&f->model, &p, mem));
}

static const struct ms_slot *pick_slot(struct fz *f, int *as_id)
{
	*as_id = fuzz_dp_index(&f->dp, MS_NR_AS);
	if (!f->model.nr[*as_id])
		return NULL;
	return &f->model.slots[*as_id][fuzz_dp_index(&f->dp, f->model.nr[*as_id])];
}

static u64 pick_base_gfn(struct fz *f)
{
	switch (fuzz_dp_u32_range(&f->dp, 0, 7)) {
	case 0:
		return 0;
	case 1:
	case 2:
		return HPAGE_PAGES * fuzz_dp_range(&f->dp, 0, GUEST_GFNS / HPAGE_PAGES - 1);
	case 3:
		return f->v.max_gfn + 1 - fuzz_dp_range(&f->dp, 0, SLOT_MAX_PAGES);
	default:
		return fuzz_dp_range(&f->dp, 0, GUEST_GFNS - 1);
	}
}

static void op_slot_create(struct fz *f)
{
	static const u32 flags[] = { 0, 0, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY,
				     KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY };
	struct kvm_userspace_memory_region mem = { 0 };
	struct region *r = &f->reg[fuzz_dp_index(&f->dp, f->nr_regions)];
	u64 npages, off;
	u32 as_id, id;

	as_id = fuzz_dp_index(&f->dp, MS_NR_AS);
	id = fuzz_dp_index(&f->dp, NR_SLOT_IDS);
	mem.slot = as_id << 16 | id;
	mem.flags = flags[fuzz_dp_index(&f->dp, ARRAY_SIZE(flags))];
	switch (fuzz_dp_u32_range(&f->dp, 0, 3)) {
	case 0:
		npages = r->npages;
		break;
	case 1:
		npages = HPAGE_PAGES;
		break;
	default:
		npages = fuzz_dp_range(&f->dp, 1, SLOT_MAX_PAGES);
		break;
	}
	off = fuzz_dp_bool(&f->dp) ? fuzz_dp_range(&f->dp, 0, r->npages / HPAGE_PAGES) * HPAGE_PAGES
				   : fuzz_dp_range(&f->dp, 0, r->npages);
	mem.guest_phys_addr = pick_base_gfn(f) << PAGE_SHIFT;
	mem.memory_size = npages << PAGE_SHIFT;
	mem.userspace_addr = r->hva + (off << PAGE_SHIFT);
	set_region(f, &mem);
}

static void slot_request(const struct ms_slot *s, int as_id,
			 struct kvm_userspace_memory_region *mem)
{
	mem->slot = (u32)as_id << 16 | s->id;
	mem->flags = s->flags;
	mem->guest_phys_addr = s->base_gfn << PAGE_SHIFT;
	mem->memory_size = s->npages << PAGE_SHIFT;
	mem->userspace_addr = s->hva;
}

static void op_slot_delete(struct fz *f)
{
	struct kvm_userspace_memory_region mem;
	int as_id;
	const struct ms_slot *s = pick_slot(f, &as_id);

	if (!s)
		return;
	slot_request(s, as_id, &mem);
	mem.memory_size = 0;
	set_region(f, &mem);
}

static void op_slot_move(struct fz *f)
{
	struct kvm_userspace_memory_region mem;
	int as_id;
	const struct ms_slot *s = pick_slot(f, &as_id);

	if (!s)
		return;
	slot_request(s, as_id, &mem);
	mem.guest_phys_addr = pick_base_gfn(f) << PAGE_SHIFT;
	set_region(f, &mem);
}

static void op_slot_flags(struct fz *f)
{
	struct kvm_userspace_memory_region mem;
	int as_id;
	const struct ms_slot *s = pick_slot(f, &as_id);

	if (!s)
		return;
	slot_request(s, as_id, &mem);
	/* Toggling READONLY is refused (-EINVAL): the flag is immutable. */
	mem.flags ^= fuzz_dp_u32_range(&f->dp, 0, 3) ? KVM_MEM_LOG_DIRTY_PAGES : KVM_MEM_READONLY;
	set_region(f, &mem);
}

static void op_get_log(struct fz *f)
{
	int as_id;
	const struct ms_slot *s = pick_slot(f, &as_id);
	unsigned long bitmap[SLOT_MAX_PAGES / 64 + 1];
	struct kvm_dirty_log log = { .dirty_bitmap = bitmap };
	bool logging;
	u8 *dirty;
	u64 i;
	int r;

	if (!s)
		return;
	log.slot = (u32)as_id << 16 | s->id;
	logging = s->flags & KVM_MEM_LOG_DIRTY_PAGES;
	memset(bitmap, 0x5a, sizeof(bitmap));
	r = mmusim_vm_get_dirty_log(f->v.vm, &log);
	TRACE(f, "slot %#x: %d", log.slot, r);
	/* With dirty rings, -ENXIO before any other check. */
	CHECK(f, r == (f->v.cfg.dirty_ring_size ? -ENXIO : logging ? 0 : -ENOENT),
	      "KVM_GET_DIRTY_LOG of slot %#x returned %d", log.slot, r);
	if (r)
		return;
	dirty = dirty_of(f, as_id, s->id);
	for (i = 0; i < (s->npages + 63) / 64 * 64; i++) {
		bool bit = bitmap[i / 64] & (1ul << (i % 64));

		if (i >= s->npages)
			CHECK(f, !bit, "dirty bit %llu set in slot %#x of %llu pages",
			      (unsigned long long)i, log.slot, (unsigned long long)s->npages);
		else if (dirty[i])
			CHECK(f, bit, "gfn %#llx (page %llu of slot %#x) was written but is not "
				      "in the dirty log", (unsigned long long)(s->base_gfn + i),
			      (unsigned long long)i, log.slot);
	}
	/* Without manual protection GET harvests: the bits start over. */
	if (!(f->manual & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE))
		memset(dirty, 0, SLOT_MAX_PAGES);
}

static void op_clear_log(struct fz *f)
{
	int as_id;
	const struct ms_slot *s = pick_slot(f, &as_id);
	unsigned long bitmap[SLOT_MAX_PAGES / 64 + 1];
	struct kvm_clear_dirty_log log = { .dirty_bitmap = bitmap };
	u64 i, words;
	u8 *dirty;
	int r;

	if (!s || !(s->flags & KVM_MEM_LOG_DIRTY_PAGES))
		return;
	log.slot = (u32)as_id << 16 | s->id;
	if (f->v.cfg.dirty_ring_size) {
		r = mmusim_vm_clear_dirty_log(f->v.vm, &log);
		CHECK(f, r == -ENXIO, "KVM_CLEAR_DIRTY_LOG with dirty rings returned %d", r);
		return;
	}
	log.first_page = 64 * fuzz_dp_range(&f->dp, 0, (s->npages - 1) / 64);
	log.num_pages = s->npages - log.first_page;
	if (log.num_pages > 64 && fuzz_dp_bool(&f->dp))
		log.num_pages = 64 * fuzz_dp_range(&f->dp, 1, log.num_pages / 64);
	words = (log.num_pages + 63) / 64;
	for (i = 0; i < words; i++)
		bitmap[i] = fuzz_dp_bool(&f->dp) ? ~0ul : fuzz_dp_range(&f->dp, 0, ~0ul);
	r = mmusim_vm_clear_dirty_log(f->v.vm, &log);
	TRACE(f, "slot %#x [%llu, +%u): %d", log.slot, (unsigned long long)log.first_page,
	      log.num_pages, r);
	CHECK(f, !r, "KVM_CLEAR_DIRTY_LOG of slot %#x [%llu, +%u) returned %d", log.slot,
	      (unsigned long long)log.first_page, log.num_pages, r);
	/* Cleared bits need not be reported again until the page is written. */
	dirty = dirty_of(f, as_id, s->id);
	for (i = 0; i < log.num_pages; i++)
		if (bitmap[i / 64] & (1ul << (i % 64)))
			dirty[log.first_page + i] = 0;
}

/* ------------------------------------------------------------------------- */
/* Host operations                                                           */

static void op_host_write(struct fz *f)
{
	u64 idx, token = new_token(f);
	struct region *r = pick_page(f, &idx);
	bool ok = r->mapped[idx] && (r->prot[idx] & SIM_PROT_WRITE);
	int ret = sim_mm_write(f->v.mm, r->hva + (idx << PAGE_SHIFT), &token, sizeof(token));

	TRACE(f, "region %d page %llu <- %#llx: %d", (int)(r - f->reg), (unsigned long long)idx,
	      (unsigned long long)token, ret);

	CHECK(f, ret_ok(ret, ok ? 0 : -EFAULT), "host write at hva %#llx returned %d",
	      (unsigned long long)(r->hva + (idx << PAGE_SHIFT)), ret);
	if (!ret)
		r->token[idx] = token;
}

static void op_host_read(struct fz *f)
{
	u64 idx, val = 0;
	struct region *r = pick_page(f, &idx);
	bool ok = r->mapped[idx] && (r->prot[idx] & SIM_PROT_READ);
	int ret = sim_mm_read(f->v.mm, r->hva + (idx << PAGE_SHIFT), &val, sizeof(val));

	TRACE(f, "region %d page %llu -> %#llx: %d", (int)(r - f->reg), (unsigned long long)idx,
	      (unsigned long long)val, ret);

	CHECK(f, ret_ok(ret, ok ? 0 : -EFAULT), "host read at hva %#llx returned %d",
	      (unsigned long long)(r->hva + (idx << PAGE_SHIFT)), ret);
	if (!ret)
		CHECK(f, val == r->token[idx], "host read at hva %#llx: %#llx, last written %#llx",
		      (unsigned long long)(r->hva + (idx << PAGE_SHIFT)), (unsigned long long)val,
		      (unsigned long long)r->token[idx]);
}

static void op_zap_range(struct fz *f)
{
	int as_id = fuzz_dp_u32_range(&f->dp, 0, 7) ? fuzz_dp_index(&f->dp, MS_NR_AS)
						     : fuzz_dp_u32_range(&f->dp, 0, 3) - 1;
	gfn_t start = fuzz_dp_range(&f->dp, 0, GUEST_GFNS), end;
	int r, want;

	end = fuzz_dp_u32_range(&f->dp, 0, 7) ? start + fuzz_dp_range(&f->dp, 0, 2048)
					      : fuzz_dp_u64(&f->dp);
	want = (as_id < -1 || as_id >= MS_NR_AS || start >= end) ? -EINVAL : 0;
	r = mmusim_vm_zap_gfn_range(f->v.vm, as_id, start, end);
	TRACE(f, "as %d [%#llx, %#llx): %d", as_id, (unsigned long long)start,
	      (unsigned long long)end, r);
	CHECK(f, r == want, "zap as %d [%#llx, %#llx) returned %d", as_id,
	      (unsigned long long)start, (unsigned long long)end, r);
}

static void region_unmapped(struct region *r, u64 first, u64 n)
{
	memset(&r->mapped[first], 0, n);
	memset(&r->prot[first], 0, n);
	memset(&r->token[first], 0, n * sizeof(r->token[0]));
}

static void op_munmap(struct fz *f)
{
	u64 first, n;
	struct region *r = pick_range(f, &first, &n);
	int ret = sim_munmap(f->v.mm, r->hva + (first << PAGE_SHIFT), n << PAGE_SHIFT);

	TRACE(f, "region %d [%llu, +%llu): %d", (int)(r - f->reg), (unsigned long long)first,
	      (unsigned long long)n, ret);

	CHECK(f, ret_ok(ret, 0), "munmap returned %d", ret);
	if (!ret)
		region_unmapped(r, first, n);
}

/* munmap the whole region, then map it again at the same address (zeroes). */
static void op_remap(struct fz *f)
{
	struct region *r = &f->reg[fuzz_dp_index(&f->dp, NR_HOST_REGIONS)];
	hva_t hva;
	int ret;

	ret = sim_munmap(f->v.mm, r->hva, r->npages << PAGE_SHIFT);
	CHECK(f, ret_ok(ret, 0), "munmap of a region returned %d", ret);
	if (ret)
		return;
	region_unmapped(r, 0, r->npages);
	ret = sim_mmap(f->v.mm, r->hva, r->npages << PAGE_SHIFT, SIM_PROT_READ | SIM_PROT_WRITE,
		       r->map_flags | SIM_MAP_FIXED, &hva);
	TRACE(f, "region %d: %d", (int)(r - f->reg), ret);
	CHECK(f, ret_ok(ret, 0) && (ret || hva == r->hva), "re-mmap returned %d", ret);
	if (ret)
		return;
	memset(r->mapped, 1, r->npages);
	memset(r->prot, SIM_PROT_READ | SIM_PROT_WRITE, r->npages);
}

static void op_mprotect(struct fz *f)
{
	static const u8 prots[] = { SIM_PROT_NONE, SIM_PROT_READ, SIM_PROT_READ | SIM_PROT_WRITE };
	u64 first, n;
	struct region *r = pick_range(f, &first, &n);
	u8 prot = prots[fuzz_dp_index(&f->dp, ARRAY_SIZE(prots))];
	int want = range_has_hole(r, first, n) ? -ENOMEM : 0;
	int ret = sim_mprotect(f->v.mm, r->hva + (first << PAGE_SHIFT), n << PAGE_SHIFT, prot);

	TRACE(f, "region %d [%llu, +%llu) prot %#x: %d (model %d)", (int)(r - f->reg),
	      (unsigned long long)first, (unsigned long long)n, prot, ret, want);

	CHECK(f, ret_ok(ret, want), "mprotect(%#x) of %llu pages returned %d, expected %d", prot,
	      (unsigned long long)n, ret, want);
	if (!ret)
		memset(&r->prot[first], prot, n);
}

static void op_dontneed(struct fz *f)
{
	u64 first, n;
	struct region *r = pick_range(f, &first, &n);
	int want = range_has_hole(r, first, n) ? -ENOMEM : 0;
	int ret = sim_madvise(f->v.mm, r->hva + (first << PAGE_SHIFT), n << PAGE_SHIFT,
			      SIM_MADV_DONTNEED);

	TRACE(f, "region %d [%llu, +%llu): %d (model %d)", (int)(r - f->reg),
	      (unsigned long long)first, (unsigned long long)n, ret, want);

	CHECK(f, ret_ok(ret, want), "MADV_DONTNEED of %llu pages returned %d, expected %d",
	      (unsigned long long)n, ret, want);
	/* Private anonymous memory reads as zeroes afterwards. */
	if (!ret)
		memset(&r->token[first], 0, n * sizeof(r->token[0]));
}

static void op_madv_hugepage(struct fz *f)
{
	u64 first, n;
	struct region *r = pick_range(f, &first, &n);
	int advice = fuzz_dp_bool(&f->dp) ? SIM_MADV_HUGEPAGE : SIM_MADV_NOHUGEPAGE;
	int want = range_has_hole(r, first, n) ? -ENOMEM : 0;
	int ret = sim_madvise(f->v.mm, r->hva + (first << PAGE_SHIFT), n << PAGE_SHIFT, advice);

	TRACE(f, "region %d [%llu, +%llu) advice %d: %d (model %d)", (int)(r - f->reg),
	      (unsigned long long)first, (unsigned long long)n, advice, ret, want);

	CHECK(f, ret_ok(ret, want), "madvise(%d) of %llu pages returned %d, expected %d", advice,
	      (unsigned long long)n, ret, want);
}

/*
 * Host events that move or split pages.  Nobody holds a page reference
 * between operations (KVM drops its own once the SPTE is in), so "busy"
 * means a reference leaked.  Data is never lost; the model does not change.
 */
static void op_page_event(struct fz *f, int op)
{
	u64 idx;
	struct region *r = pick_page(f, &idx);
	hva_t hva = r->hva + (idx << PAGE_SHIFT);
	const char *what;
	bool ok;
	int ret;

	switch (op) {
	case OP_MIGRATE:
		what = "migrate of";
		ret = sim_migrate_page(f->v.mm, hva);
		ok = !ret || ret == -ENOENT || ret == -EFAULT || ret_ok(ret, 0);
		break;
	case OP_SPLIT_THP:
		what = "THP split at";
		ret = sim_split_thp(f->v.mm, hva);
		ok = !ret || ret == -EINVAL || ret == -EFAULT || ret_ok(ret, 0);
		break;
	case OP_COLLAPSE_THP:
		what = "THP collapse at";
		ret = sim_collapse_thp(f->v.mm, hva);
		ok = !ret || ret == -EINVAL || ret == -ENOMEM;
		break;
	default:
		what = "swap-out of";
		ret = sim_swap_out(f->v.mm, hva);
		ok = !ret || ret == -ENOENT || ret == -EINVAL || ret == -EFAULT || ret_ok(ret, 0);
		break;
	}
	/* Inside a fault, the page it looked up is referenced (Linux: busy). */
	if (f->in_fault_race && (ret == -EBUSY || ret == -EAGAIN))
		ok = true;
	CHECK(f, ok, "%s hva %#llx returned %d", what, (unsigned long long)hva, ret);
	TRACE(f, "region %d page %llu: %d", (int)(r - f->reg), (unsigned long long)idx, ret);
}

static void op_age(struct fz *f)
{
	u64 first, n;
	struct region *r = pick_range(f, &first, &n);
	hva_t hva = r->hva + (first << PAGE_SHIFT);
	long young;

	if (fuzz_dp_bool(&f->dp))
		young = sim_mm_age_range(f->v.mm, hva, n << PAGE_SHIFT);
	else
		young = sim_mm_test_young_range(f->v.mm, hva, n << PAGE_SHIFT);
	TRACE(f, "region %d [%llu, +%llu): %ld young", (int)(r - f->reg),
	      (unsigned long long)first, (unsigned long long)n, young);
	CHECK(f, young >= 0 && (u64)young <= n, "aging %llu pages returned %ld",
	      (unsigned long long)n, young);
}

/*
 * Race mode: an event placed inside a guest access's page fault, after
 * its pfn lookup or just before it takes mmu_lock
 * (mmusim_vm_race_next_fault()).  A fault that overlapped an invalidation
 * must retry and see the new host state.  The model is updated by the event
 * like any other step, and the access is then predicted from the new state.
 * Memslot updates are not among the events: they wait for the fault's SRCU
 * read side, as in KVM.
 */
enum {
	RACE_MUNMAP,
	RACE_REMAP,
	RACE_MPROTECT,
	RACE_DONTNEED,
	RACE_MADV_HUGEPAGE,
	RACE_MIGRATE,
	RACE_SPLIT_THP,
	RACE_COLLAPSE_THP,
	RACE_SWAP_OUT,
	RACE_AGE,
	RACE_ZAP_RANGE,
	RACE_ZAP_ALL_FAST,
	RACE_NR
};

static void fault_race_event(void *arg, int point, gfn_t gfn)
{
	static const int page_ops[] = { OP_MIGRATE, OP_SPLIT_THP, OP_COLLAPSE_THP, OP_SWAP_OUT };
	struct fz *f = arg;
	int ev = fuzz_dp_u32_range(&f->dp, 0, RACE_NR - 1);

	TRACE(f, "inside the fault on gfn %#llx at point %d: event %d", (unsigned long long)gfn,
	      point, ev);
	f->in_fault_race = true;
	switch (ev) {
	case RACE_MUNMAP:
		op_munmap(f);
		break;
	case RACE_REMAP:
		op_remap(f);
		break;
	case RACE_MPROTECT:
		op_mprotect(f);
		break;
	case RACE_DONTNEED:
		op_dontneed(f);
		break;
	case RACE_MADV_HUGEPAGE:
		op_madv_hugepage(f);
		break;
	case RACE_MIGRATE:
	case RACE_SPLIT_THP:
	case RACE_COLLAPSE_THP:
	case RACE_SWAP_OUT:
		op_page_event(f, page_ops[ev - RACE_MIGRATE]);
		break;
	case RACE_AGE:
		op_age(f);
		break;
	case RACE_ZAP_RANGE:
		op_zap_range(f);
		break;
	default:
		mmusim_vm_zap_all_fast(f->v.vm);
		break;
	}
	f->in_fault_race = false;
}

/* In race mode, maybe arm an event for the next fault; returns true if armed. */
static bool arm_fault_race(struct fz *f)
{
	int point;

	if (!f->race_mode || !fuzz_dp_bool(&f->dp))
		return false;
	point = fuzz_dp_u32_range(&f->dp, 0, MMUSIM_FAULT_RACE_NR - 1);
	FUZZ_ASSERT(!mmusim_vm_race_next_fault(f->v.vm, point, fault_race_event, f));
	return true;
}

/* The access may not have reached the slow path: no event left for later. */
static void disarm_fault_race(struct fz *f, bool armed)
{
	if (armed)
		FUZZ_ASSERT(!mmusim_vm_race_next_fault(f->v.vm, 0, NULL, NULL));
}


/* ------------------------------------------------------------------------- */
/* Profile 2: kernel mappings, pre-faulting, drivers, NX recovery            */

/*
 * A page KVM can hold (docs/pfn.md): GUP's pages, and under v9 a refcounted
 * PFNMAP page.  kvm_vcpu_map() is not MMU-notifier guarded, so any other
 * pfn needs allow_unsafe_mappings; the fault path is, and maps them all.
 */
static bool map_allowed(const struct fz *f, const struct region *r)
{
	if (r->kind == R_ANON || f->unsafe_mappings)
		return true;
	return f->v.cfg.pfn_model == MMUSIM_PFN_MODEL_V9 && r->kind == R_PFNMAP_REF;
}

/*
 * kvm_vcpu_map() of a page, a read of its token through the map, maybe a
 * new token written through it, and kvm_vcpu_unmap() clean or dirty.  v9
 * always maps for write; 6.13 only with MMUSIM_MAP_WRITABLE.  Every pfn
 * error is -EINVAL (no slot, a read-only slot for a write, a hole or a
 * protection GUP refuses, a pfn KVM may not hold).  The gfn is looked up
 * in address space 0 whatever the vCPU's mode (6.12 kvm_vcpu_map():
 * gfn_to_pfn(vcpu->kvm, gfn)), but the unmap marks it dirty in the vCPU's
 * current one (kvm_vcpu_mark_page_dirty()), if @dirty (v9) or the map is
 * writable (6.13).
 */
static void op_map(struct fz *f)
{
	int vi;
	struct mmusim_vcpu *vcpu = pick_vcpu(f, &vi);
	int as_id = f->smm[vi];
	gpa_t gpa = pick_gpa(f, as_id) & PAGE_MASK;
	bool v9 = f->v.cfg.pfn_model == MMUSIM_PFN_MODEL_V9;
	unsigned int flags = fuzz_dp_bool(&f->dp) ? MMUSIM_MAP_WRITABLE : 0;
	bool write_through = fuzz_dp_bool(&f->dp);
	bool dirty = fuzz_dp_bool(&f->dp);
	bool writable = v9 || flags;
	struct prediction p = predict_access(f, 0, gpa,
					     writable ? MMUSIM_ACCESS_WRITE : MMUSIM_ACCESS_READ);
	const struct ms_slot *log_slot = ms_lookup(&f->model, as_id, gpa >> PAGE_SHIFT);
	struct mmusim_vcpu_map_info info;
	unsigned long injected = env_fail_injected();
	u64 token = new_token(f), val = 0;
	int want = (p.ret || !map_allowed(f, p.reg)) ? -EINVAL : 0;
	int r = mmusim_vcpu_map(vcpu, gpa >> PAGE_SHIFT, flags, &info);

	TRACE(f, "vCPU %d as %d gpa %#llx flags %#x: %d (model %d)", vi, as_id,
	      (unsigned long long)gpa, flags, r, want);
	CHECK(f, r == want || (FAILINJ && env_fail_injected() != injected &&
			       (r == -ENOMEM || r == -EINVAL || r == -EFAULT)),
	      "kvm_vcpu_map of gpa %#llx (flags %#x, vCPU in as %d) returned %d, the model says %d",
	      (unsigned long long)gpa, flags, as_id, r, want);
	if (r)
		return;
	CHECK(f, info.writable == writable, "map of gpa %#llx: writable %d, expected %d",
	      (unsigned long long)gpa, info.writable, writable);
	r = mmusim_vcpu_map_read(vcpu, info.id, 0, &val, sizeof(val));
	CHECK(f, !r && val == p.reg->token[p.idx],
	      "read through the map of gpa %#llx: %d, %#llx, last written %#llx",
	      (unsigned long long)gpa, r, (unsigned long long)val,
	      (unsigned long long)p.reg->token[p.idx]);
	if (write_through) {
		r = mmusim_vcpu_map_write(vcpu, info.id, 0, &token, sizeof(token));
		CHECK(f, r == (writable ? 0 : -EPERM), "write through the map of gpa %#llx: %d",
		      (unsigned long long)gpa, r);
		if (!r)
			p.reg->token[p.idx] = token;
	}
	r = mmusim_vcpu_unmap(vcpu, info.id, dirty);
	CHECK(f, !r, "unmap of gpa %#llx returned %d", (unsigned long long)gpa, r);
	if (write_through && writable && (v9 ? dirty : true) && log_slot &&
	    (log_slot->flags & KVM_MEM_LOG_DIRTY_PAGES))
		dirty_of(f, as_id, log_slot->id)[(gpa >> PAGE_SHIFT) - log_slot->base_gfn] = 1;
}

/*
 * KVM_PRE_FAULT_MEMORY of 1..64 pages: read prefetches page after page
 * until one would not complete.  That page's outcome is the errno if it is
 * the first (no slot: -ENOENT, as the fault would be emulated; a hole or a
 * protection: -EFAULT), else 0 with the range left from there (a huge
 * mapping never covers a page that cannot be mapped).  Invalid flags and
 * ranges first.
 */
static void op_pre_fault(struct fz *f)
{
	int vi;
	struct mmusim_vcpu *vcpu = pick_vcpu(f, &vi);
	int as_id = f->smm[vi];
	gpa_t gpa = (pick_gpa(f, as_id) & PAGE_MASK) % ((gpa_t)GUEST_GFNS << PAGE_SHIFT);
	u64 npages = fuzz_dp_range(&f->dp, 1, 64), i;
	u32 bad = fuzz_dp_u32_range(&f->dp, 0, 15);
	struct kvm_pre_fault_memory range = { .gpa = gpa, .size = npages << PAGE_SHIFT };
	unsigned long injected = env_fail_injected();
	int want = 0, r;

	if (bad == 0)
		range.flags = 1;
	else if (bad == 1)
		range.size -= 1;
	for (i = 0; bad > 1 && i < npages; i++) {
		struct prediction p = predict_access(f, as_id, gpa + (i << PAGE_SHIFT),
						     MMUSIM_ACCESS_READ);

		if (p.ret)
			break;
	}
	if (bad <= 1)
		want = -EINVAL;
	else if (i == 0)
		want = predict_access(f, as_id, gpa, MMUSIM_ACCESS_READ).ret == 1 ? -ENOENT :
										     -EFAULT;
	r = mmusim_vcpu_pre_fault_memory(vcpu, &range);
	TRACE(f, "vCPU %d as %d [%#llx, +%llu pages): %d, left %#llx +%#llx (model %d, %llu done)",
	      vi, as_id, (unsigned long long)gpa, (unsigned long long)npages, r,
	      (unsigned long long)range.gpa, (unsigned long long)range.size, want,
	      (unsigned long long)i);
	if (FAILINJ && env_fail_injected() != injected && r != want) {
		/* An injected failure stops the walk early, with or without progress. */
		CHECK(f, r == -ENOMEM || r == -EFAULT || (!r && range.gpa < gpa + (i << PAGE_SHIFT)),
		      "pre-fault at as %d gpa %#llx returned %d under failure injection", as_id,
		      (unsigned long long)gpa, r);
		return;
	}
	CHECK(f, r == want, "pre-fault of %llu pages at as %d gpa %#llx returned %d, the model "
	      "says %d", (unsigned long long)npages, as_id, (unsigned long long)gpa, r, want);
	if (want)
		return;
	CHECK(f, range.gpa == gpa + (i << PAGE_SHIFT) &&
		 range.gpa + range.size == gpa + (npages << PAGE_SHIFT),
	      "pre-fault at as %d gpa %#llx stopped at %#llx (+%#llx), the model says %#llx",
	      as_id, (unsigned long long)gpa, (unsigned long long)range.gpa,
	      (unsigned long long)range.size, (unsigned long long)(gpa + (i << PAGE_SHIFT)));
}

/* A driver's zap_vma_ptes() on part of a PFNMAP region: the frames stay the region's. */
static void op_zap_vma_ptes(struct fz *f)
{
	struct region *r;
	u64 first, n;
	int ret;

	if (f->nr_regions <= NR_HOST_REGIONS)
		return;
	r = &f->reg[NR_HOST_REGIONS + fuzz_dp_index(&f->dp, f->nr_regions - NR_HOST_REGIONS)];
	first = fuzz_dp_index(&f->dp, r->npages);
	n = fuzz_dp_range(&f->dp, 1, r->npages - first);
	ret = sim_zap_vma_ptes(f->v.mm, r->hva + (first << PAGE_SHIFT), n << PAGE_SHIFT);
	TRACE(f, "region %d pages [%llu, +%llu): %d", (int)(r - f->reg),
	      (unsigned long long)first, (unsigned long long)n, ret);
	CHECK(f, ret_ok(ret, 0), "zap_vma_ptes of region %d returned %d", (int)(r - f->reg), ret);
}

/*
 * With dirty rings: the VMM collects every vCPU's DIRTY entries and marks
 * them RESET, then KVM_RESET_DIRTY_RINGS re-arms them.  Every page written
 * to a logged slot since the last harvest must be among the entries; the
 * reset must count exactly the entries collected.  The ring (4096 entries)
 * cannot fill within one program: at most 24 pages are written per step.
 */
static void op_ring_harvest(struct fz *f)
{
	u32 collected = 0;
	int vi, as_id, i;
	long r;

	if (!f->v.cfg.dirty_ring_size)
		return;
	memset(f->ring_seen, 0, sizeof(f->ring_seen));
	for (vi = 0; vi < f->v.cfg.nr_vcpus; vi++) {
		struct kvm_dirty_gfn *ring;
		u32 n;

		r = mmusim_vcpu_dirty_ring(mmusim_vm_vcpu(f->v.vm, vi), &ring, &n);
		CHECK(f, !r, "vCPU %d: mmusim_vcpu_dirty_ring returned %ld", vi, r);
		for (;; f->ring_fetch[vi]++, collected++) {
			struct kvm_dirty_gfn *e = &ring[f->ring_fetch[vi] & (n - 1)];
			u32 flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
			u32 sid = e->slot & 0xffff, sas = e->slot >> 16;

			if (!(flags & KVM_DIRTY_GFN_F_DIRTY))
				break;
			CHECK(f, sas < MS_NR_AS && sid < NR_SLOT_IDS && e->offset < SLOT_MAX_PAGES,
			      "vCPU %d ring entry %u: slot %#x offset %#llx", vi, f->ring_fetch[vi],
			      e->slot, (unsigned long long)e->offset);
			f->ring_seen[sas][sid][e->offset] = 1;
			__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
		}
	}
	for (as_id = 0; as_id < MS_NR_AS; as_id++) {
		for (i = 0; i < f->model.nr[as_id]; i++) {
			const struct ms_slot *s = &f->model.slots[as_id][i];
			u8 *dirty = dirty_of(f, as_id, s->id);
			u64 pg;

			for (pg = 0; pg < s->npages; pg++)
				CHECK(f, !dirty[pg] || f->ring_seen[as_id][s->id][pg],
				      "gfn %#llx (page %llu of slot %#x) was written but is in no "
				      "dirty ring", (unsigned long long)(s->base_gfn + pg),
				      (unsigned long long)pg, as_id << 16 | s->id);
			memset(dirty, 0, SLOT_MAX_PAGES);
		}
	}
	r = mmusim_vm_reset_dirty_rings(f->v.vm);
	TRACE(f, "%u entries collected, %ld reset", collected, r);
	CHECK(f, r == collected, "KVM_RESET_DIRTY_RINGS reset %ld entries, %u were collected",
	      r, collected);
}

static void op_nx_recover(struct fz *f)
{
	int ret = mmusim_vm_recover_nx_huge_pages(f->v.vm);

	TRACE(f, "%d", ret);
	CHECK(f, ret_ok(ret, 0), "NX huge page recovery returned %d", ret);
}

/* ------------------------------------------------------------------------- */

static void setup_regions(struct fz *f)
{
	static const struct {
		u64 npages;
		int flags;
	} layout[NR_HOST_REGIONS] = {
		{ 1024, SIM_MAP_PRIVATE | SIM_MAP_THP },
		{ 512, SIM_MAP_PRIVATE },
		{ 1024, SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M },
	};
	int i;

	for (i = 0; i < NR_HOST_REGIONS; i++) {
		struct region *r = &f->reg[i];

		r->npages = layout[i].npages;
		r->map_flags = layout[i].flags;
		r->hugetlb = layout[i].flags & SIM_MAP_HUGETLB_2M;
		FUZZ_ASSERT(!sim_mmap(f->v.mm, 0, r->npages << PAGE_SHIFT,
				      SIM_PROT_READ | SIM_PROT_WRITE, r->map_flags, &r->hva));
		memset(r->mapped, 1, r->npages);
		memset(r->prot, SIM_PROT_READ | SIM_PROT_WRITE, r->npages);
	}
}

/*
 * Profile 2's VM_PFNMAP regions (remap_pfn_range() of a driver, docs/pfn.md),
 * 64 pages each, zero-filled:
 *
 *   region 3   a compound block (refcounted pages: v9 references them)
 *   region 4   a TTM-style non-compound block (tails have refcount 0)
 *   region 5   PFN-only memory, no struct page (mem= and /dev/mem)
 *
 * Host events do not act on them; zap_vma_ptes() does, and the next access
 * faults the same frames back in.
 */
static void setup_pfnmap_regions(struct fz *f)
{
	static const enum region_kind kinds[] = { R_PFNMAP_REF, R_PFNMAP_TTM, R_PFN_ONLY };
	int i;

	for (i = 0; i < (int)ARRAY_SIZE(kinds); i++) {
		struct region *r = &f->reg[NR_HOST_REGIONS + i];
		kvm_pfn_t pfn = NOPAGE_BASE_PFN;

		r->kind = kinds[i];
		r->npages = 1ull << PFN_REGION_ORDER;
		if (r->kind != R_PFN_ONLY) {
			r->block = sim_alloc_pages(f->v.host,
						   __GFP_ZERO |
							   (r->kind == R_PFNMAP_REF ? __GFP_COMP : 0),
						   PFN_REGION_ORDER);
			FUZZ_ASSERT(r->block);
			pfn = sim_page_to_pfn(f->v.host, r->block);
		}
		FUZZ_ASSERT(!sim_mmap_pfn(f->v.mm, 0, r->npages << PAGE_SHIFT,
					  SIM_PROT_READ | SIM_PROT_WRITE, pfn, &r->hva));
		memset(r->mapped, 1, r->npages);
		memset(r->prot, SIM_PROT_READ | SIM_PROT_WRITE, r->npages);
	}
	f->nr_regions = NR_REGIONS;
	for (i = 0; trace_on && i < f->nr_regions; i++)
		fprintf(stderr, "region %d: hva %#llx, %llu pages, kind %d\n", i,
			(unsigned long long)f->reg[i].hva, (unsigned long long)f->reg[i].npages,
			f->reg[i].kind);
}

/* The VM goes first: nothing may hold the drivers' frames when they are freed. */
static void teardown_pfnmap_regions(struct fz *f)
{
	int i;

	mmusim_vm_destroy(f->v.vm);
	f->v.vm = NULL;
	for (i = NR_HOST_REGIONS; i < f->nr_regions; i++) {
		struct region *r = &f->reg[i];

		FUZZ_ASSERT(!sim_munmap(f->v.mm, r->hva, r->npages << PAGE_SHIFT));
		if (r->kind == R_PFNMAP_REF)
			sim_put_page(f->v.host, r->block);
		else if (r->kind == R_PFNMAP_TTM)
			sim_free_pages(f->v.host, r->block, PFN_REGION_ORDER);
	}
}

/*
 * Profile 2's knobs, read after profile 1's set-up: the pfn model and the
 * host's allow_unsafe_mappings (docs/pfn.md), NX huge pages with a recovery
 * ratio, eager page splitting off, zap-collapsible recovery instead of
 * in-place, PML dirty logging where the VM can have it (EPT with A/D).
 */
static void profile2_config(struct fz *f, struct mmusim_vm_config *cfg)
{
	static const int ratios[] = { 0, -1, 1, 2, 4 };

	cfg->pfn_model = fuzz_dp_bool(&f->dp) ? MMUSIM_PFN_MODEL_V9 : MMUSIM_PFN_MODEL_6_13;
	f->unsafe_mappings = fuzz_dp_bool(&f->dp);
	cfg->nx_huge_pages = fuzz_dp_bool(&f->dp);
	if (cfg->nx_huge_pages)
		cfg->nx_huge_pages_recovery_ratio = ratios[fuzz_dp_index(&f->dp, ARRAY_SIZE(ratios))];
	cfg->no_eager_page_split = fuzz_dp_bool(&f->dp);
	cfg->zap_collapsible = fuzz_dp_bool(&f->dp);
	if (cfg->tdp_mode == MMUSIM_TDP_EPT && !cfg->ept_ad_disabled)
		cfg->dirty_log_pml = fuzz_dp_bool(&f->dp);
	/* Dirty rings of 4096 entries (64 KiB); manual protection means nothing then. */
	if (fuzz_dp_bool(&f->dp)) {
		cfg->dirty_ring_size = 4096 * sizeof(struct kvm_dirty_gfn);
		cfg->dirty_ring_acq_rel = fuzz_dp_bool(&f->dp);
		f->manual = 0;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *trace = getenv("MMUSIM_FUZZ_TRACE");

	trace_on = trace && *trace == '1';
	fuzz_env_init();
	fuzz_legacy_mmu_available();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mmusim_vm_config cfg;
	struct sim_host_config hc = { 0 };
	struct fz *f = calloc(1, sizeof(*f));
	unsigned int resched;
	u64 fail_seed = 0;
	u32 fail_permille = 0;
	long live;
	int i, op;

	FUZZ_ASSERT(f);
	live = fuzz_live_begin();
	fuzz_dp_init(&f->dp, data, size);
	/* Profile 2 is opt-in by a trailer, so that profile-1 inputs decode as they did. */
	if (size >= 4 && !memcmp(data + size - 4, PROFILE2_MAGIC, 4)) {
		f->profile2 = true;
		f->dp.size -= 4;
	}
	f->nr_regions = NR_HOST_REGIONS;
	fuzz_vm_config(&f->dp, &cfg, 3);
	f->manual = fuzz_dp_range(&f->dp, 0, 2) == 0 ? 0 :
		    KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
		    (fuzz_dp_bool(&f->dp) ? KVM_DIRTY_LOG_INITIALLY_SET : 0);
	resched = fuzz_dp_u32_range(&f->dp, 0, 3) ? 0 : fuzz_dp_u32_range(&f->dp, 1, 8);
	if (FAILINJ) {
		fail_seed = fuzz_dp_u64(&f->dp);
		fail_permille = fuzz_dp_u32_range(&f->dp, 1, 250);
	}
	f->race_mode = fuzz_dp_u32_range(&f->dp, 0, 3) == 0;
	if (f->profile2)
		profile2_config(f, &cfg);

	hc.mem_bytes = 256 * FUZZ_MiB;
	if (f->profile2) {
		hc.nopage_base_pfn = NOPAGE_BASE_PFN;
		hc.nopage_pages = 1ull << PFN_REGION_ORDER;
		hc.kvm_allow_unsafe_mappings = f->unsafe_mappings;
	}
	fuzz_vm_create_on(&f->v, &cfg, &hc);
	if (trace_on)
		fprintf(stderr, "VM: %s, manual dirty log %#llx, resched every %u%s%s%s\n",
			fuzz_vm_describe(&cfg), (unsigned long long)f->manual, resched,
			FAILINJ ? ", failure injection on" : "",
			f->race_mode ? ", events inside faults" : "",
			!f->profile2 ? "" : f->unsafe_mappings ? ", profile 2, unsafe mappings" :
								 ", profile 2");
	ms_model_init(&f->model, f->v.max_gfn, MS_NR_AS);
	if (f->manual)
		FUZZ_ASSERT(!mmusim_vm_enable_manual_dirty_log_protect(f->v.vm, f->manual));
	for (i = 0; i < cfg.nr_vcpus; i++)
		mmusim_vcpu_set_tlb_check(mmusim_vm_vcpu(f->v.vm, i), true);
	setup_regions(f);
	if (f->profile2)
		setup_pfnmap_regions(f);

	env_set_resched_interval(resched);
	if (FAILINJ)
		env_fail_random(fail_seed, fail_permille);

	for (f->step = 0; f->step < MAX_OPS && !fuzz_dp_empty(&f->dp); f->step++) {
		op = fuzz_dp_u32_range(&f->dp, 0, (f->profile2 ? OP_NR : OP_NR_V1) - 1);
		f->op = op_names[op];
		switch (op) {
		case OP_ACCESS:
			op_access(f);
			break;
		case OP_ACCESS_RANGE:
			op_access_range(f);
			break;
		case OP_GUEST_WRITE:
			op_guest_write(f);
			break;
		case OP_GUEST_READ:
			op_guest_read(f);
			break;
		case OP_SMM:
			op_smm(f);
			break;
		case OP_SLOT_CREATE:
			op_slot_create(f);
			break;
		case OP_SLOT_DELETE:
			op_slot_delete(f);
			break;
		case OP_SLOT_MOVE:
			op_slot_move(f);
			break;
		case OP_SLOT_FLAGS:
			op_slot_flags(f);
			break;
		case OP_GET_LOG:
			op_get_log(f);
			break;
		case OP_CLEAR_LOG:
			op_clear_log(f);
			break;
		case OP_HOST_WRITE:
			op_host_write(f);
			break;
		case OP_HOST_READ:
			op_host_read(f);
			break;
		case OP_ZAP_RANGE:
			op_zap_range(f);
			break;
		case OP_ZAP_ALL_FAST:
			mmusim_vm_zap_all_fast(f->v.vm);
			TRACE(f, "done");
			break;
		case OP_MUNMAP:
			op_munmap(f);
			break;
		case OP_REMAP:
			op_remap(f);
			break;
		case OP_MPROTECT:
			op_mprotect(f);
			break;
		case OP_DONTNEED:
			op_dontneed(f);
			break;
		case OP_MADV_HUGEPAGE:
			op_madv_hugepage(f);
			break;
		case OP_MIGRATE:
		case OP_SPLIT_THP:
		case OP_COLLAPSE_THP:
		case OP_SWAP_OUT:
			op_page_event(f, op);
			break;
		case OP_AGE:
			op_age(f);
			break;
		case OP_MAP:
			op_map(f);
			break;
		case OP_PRE_FAULT:
			op_pre_fault(f);
			break;
		case OP_ZAP_VMA_PTES:
			op_zap_vma_ptes(f);
			break;
		case OP_NX_RECOVER:
			op_nx_recover(f);
			break;
		case OP_RING_HARVEST:
			op_ring_harvest(f);
			break;
		}
		fuzz_vm_check(&f->v, f->op);
	}

	if (trace_on) {
		struct mmusim_vm_stats st;

		mmusim_vm_get_stats(f->v.vm, &st);
		fprintf(stderr, "leaf SPTEs 4K/2M/1G %llu/%llu/%llu, huge splits %llu, faults %llu "
			"(fast %llu, MMIO SPTEs %llu), fast zaps %llu\n",
			(unsigned long long)st.pages_4k, (unsigned long long)st.pages_2m,
			(unsigned long long)st.pages_1g, (unsigned long long)st.huge_splits,
			(unsigned long long)st.pf_taken, (unsigned long long)st.pf_fast,
			(unsigned long long)st.pf_mmio_spte_created,
			(unsigned long long)st.fast_zaps);
		if (FAILINJ)
			fprintf(stderr, "%lu allocation failure(s) injected\n",
				env_fail_injected());
	}
	env_fail_clear();
	env_set_resched_interval(0);
	if (f->profile2)
		teardown_pfnmap_regions(f);
	fuzz_vm_destroy(&f->v);
	free(f);
	fuzz_live_end(live);
	return 0;
}
