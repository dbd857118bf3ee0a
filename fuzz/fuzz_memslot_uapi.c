// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_memslot_uapi: arbitrary KVM_SET_USER_MEMORY_REGION requests (and the
 * dirty-log ioctls) against a VM, each checked against the reference model
 * of memslot_model.h: the errno must be exactly the one KVM returns, and
 * after a success the model's slot table is the VM's.
 *
 * The request fields come from value sets that sit on every boundary of
 * KVM's checks (slot ids around KVM_USER_MEM_SLOTS and KVM_MEM_SLOTS_NUM,
 * address-space bits, flags, alignment, access_ok() around TASK_SIZE_MAX,
 * gpa + size wrapping, the 2^31 page limit, the last gfn the MMU can map),
 * from the slots the model has (so no-op, FLAGS_ONLY, MOVE and DELETE
 * requests are frequent), and from two real host mappings, so valid
 * requests exist.
 *
 * Besides the errno, probes check the VM's view of the table: a guest
 * access at a gfn must exit to userspace (MMIO) exactly when the model has
 * no slot there, or the slot is read-only and the access a write; it must
 * fail with -EFAULT when the slot's hva is not mapped; mmusim_vm_check()
 * runs after every request.  Nothing may leak (live objects are counted
 * before and after each input).
 *
 * Requests that the model predicts create a slot of more than 1 GiB, or
 * fail only in the x86 prepare hook, are not sent (the slot metadata and
 * dirty bitmap would be allocated for real); such sizes are still sent in
 * every request that fails validation earlier.
 */
#include "fuzz_helpers.h"
#include "fuzz_data_producer.h"
#include "fuzz_vm.h"
#include "memslot_model.h"

#include "mmusim_env.h"

#define MAX_OPS 96
#define NR_REGIONS 2
#define BIG_SLOT_PAGES (1ull << 18)

struct fz {
	struct fuzz_dp dp;
	struct fuzz_vm v;
	struct ms_model model;
	hva_t region[NR_REGIONS];
	u64 region_size[NR_REGIONS];
	u64 manual;		/* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 flags */
};

enum { OP_SET, OP_SET_EXISTING, OP_GET_LOG, OP_CLEAR_LOG, OP_MANUAL, OP_PROBE, OP_NR };

/* ------------------------------------------------------------------------- */
/* Field generators                                                          */

static u32 pick_slot(struct fz *f)
{
	static const u32 ids[] = { 0, 1, 2, 3, 7, 32763, 32764, 32766, 32767, 32768, 65535 };
	static const u32 as_ids[] = { 0, 1, 2, 0xffff };
	u32 id, as_id;

	if (fuzz_dp_u32_range(&f->dp, 0, 3) == 0)
		return fuzz_dp_u32(&f->dp);
	id = fuzz_dp_u32_range(&f->dp, 0, 3) ? fuzz_dp_index(&f->dp, 8)
					      : ids[fuzz_dp_index(&f->dp, ARRAY_SIZE(ids))];
	if (fuzz_dp_u32_range(&f->dp, 0, 3))
		as_id = fuzz_dp_index(&f->dp, 2);
	else
		as_id = as_ids[fuzz_dp_index(&f->dp, ARRAY_SIZE(as_ids))];
	return as_id << 16 | id;
}

static u32 pick_flags(struct fz *f)
{
	static const u32 flags[] = {
		0, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY,
		KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY, 1u << 2, 1u << 31,
	};

	if (!fuzz_dp_u32_range(&f->dp, 0, 7))
		return fuzz_dp_u32(&f->dp);
	return flags[fuzz_dp_index(&f->dp, ARRAY_SIZE(flags))];
}

/*
 * Note: every value is read in its own statement, never two in one
 * expression, whose evaluation order C leaves open: an input must decode
 * the same way with every compiler.
 */
static u64 pick_size(struct fz *f)
{
	u64 pages;

	switch (fuzz_dp_u32_range(&f->dp, 0, 9)) {
	case 0:
		return 0;
	case 1:
		pages = fuzz_dp_range(&f->dp, 0, 16);
		return fuzz_dp_range(&f->dp, 1, 4095) + PAGE_SIZE * pages;
	case 2:
		return MS_MAX_NR_PAGES * PAGE_SIZE;
	case 3:
		return (MS_MAX_NR_PAGES + 1) * PAGE_SIZE;
	case 4:
		return fuzz_dp_u64(&f->dp);
	case 5:
		return fuzz_dp_u64(&f->dp) & ~(PAGE_SIZE - 1);
	case 6:
		return 2 * FUZZ_MiB * fuzz_dp_range(&f->dp, 1, 4);
	default:
		return PAGE_SIZE * fuzz_dp_range(&f->dp, 1, 1024);
	}
}

static u64 pick_gpa(struct fz *f, u64 size)
{
	u64 max_gpa_end = (f->v.max_gfn + 1) << PAGE_SHIFT, back;

	switch (fuzz_dp_u32_range(&f->dp, 0, 9)) {
	case 0:
		return fuzz_dp_u64(&f->dp);
	case 1:
		return fuzz_dp_u64(&f->dp) & ~(PAGE_SIZE - 1);
	case 2:
		return fuzz_dp_range(&f->dp, 1, 4095);
	case 3:
		/* The last gfn the MMU can map, exactly at the end or one past. */
		return max_gpa_end - (size & ~(PAGE_SIZE - 1)) +
		       PAGE_SIZE * fuzz_dp_range(&f->dp, 0, 1);
	case 4:
		/* gpa + size around 2^64. */
		back = fuzz_dp_range(&f->dp, 0, 2);
		return 0 - (size & ~(PAGE_SIZE - 1)) + PAGE_SIZE - PAGE_SIZE * back;
	default:
		/* A small guest: slots packed at 4K granularity in 64 MiB. */
		return PAGE_SIZE * fuzz_dp_range(&f->dp, 0, 16383);
	}
}

static u64 pick_hva(struct fz *f, u64 size)
{
	int r = fuzz_dp_index(&f->dp, NR_REGIONS);

	switch (fuzz_dp_u32_range(&f->dp, 0, 9)) {
	case 0:
		return fuzz_dp_u64(&f->dp);
	case 1:
		return f->region[r] + fuzz_dp_range(&f->dp, 1, 4095);
	case 2:
		/* access_ok() boundary: ending at TASK_SIZE_MAX, or one page past. */
		return MS_TASK_SIZE_MAX - (size & ~(PAGE_SIZE - 1)) +
		       PAGE_SIZE * fuzz_dp_range(&f->dp, 0, 1);
	case 3:
		return 0;
	case 4:
		return 1ull << 63;
	default:
		return f->region[r] + PAGE_SIZE * fuzz_dp_range(&f->dp, 0, 2047);
	}
}

/* ------------------------------------------------------------------------- */

static void set_region(struct fz *f, const struct kvm_userspace_memory_region *mem)
{
	struct ms_prediction p = ms_predict(&f->model, mem);
	int r;

	/*
	 * Keep real allocations small: no slot of more than 1 GiB is created,
	 * nor one that fails only in the arch hook, after its dirty bitmap was
	 * allocated (and, with KVM_DIRTY_LOG_INITIALLY_SET, filled).
	 */
	if ((p.change == MS_CREATE || p.late) && mem->memory_size >> PAGE_SHIFT > BIG_SLOT_PAGES)
		return;
	if (p.change == MS_CREATE && f->model.nr[p.as_id] >= MS_MAX_SLOTS)
		return;

	r = mmusim_vm_set_user_memory_region(f->v.vm, mem);
	FUZZ_ASSERT_MSG(r == p.ret,
			"KVM_SET_USER_MEMORY_REGION slot %#x flags %#x gpa %#llx size %#llx "
			"hva %#llx: returned %d, KVM returns %d (%s)",
			mem->slot, mem->flags, (unsigned long long)mem->guest_phys_addr,
			(unsigned long long)mem->memory_size,
			(unsigned long long)mem->userspace_addr, r, p.ret,
			fuzz_vm_describe(&f->v.cfg));
	if (!r)
		FUZZ_ASSERT(ms_apply(&f->model, &p, mem));
	fuzz_vm_check(&f->v, "KVM_SET_USER_MEMORY_REGION");
}

static void op_set(struct fz *f)
{
	struct kvm_userspace_memory_region mem = { 0 };

	mem.slot = pick_slot(f);
	mem.flags = pick_flags(f);
	mem.memory_size = pick_size(f);
	mem.guest_phys_addr = pick_gpa(f, mem.memory_size);
	mem.userspace_addr = pick_hva(f, mem.memory_size);
	set_region(f, &mem);
}

/* A request about a slot the model has: no-op, flags, move, delete, or a bad change. */
static void op_set_existing(struct fz *f)
{
	struct kvm_userspace_memory_region mem = { 0 };
	const struct ms_slot *s;
	int as_id = fuzz_dp_index(&f->dp, MS_NR_AS);

	if (!f->model.nr[as_id])
		return;
	s = &f->model.slots[as_id][fuzz_dp_index(&f->dp, f->model.nr[as_id])];
	mem.slot = (u32)as_id << 16 | s->id;
	mem.flags = s->flags;
	mem.guest_phys_addr = s->base_gfn << PAGE_SHIFT;
	mem.memory_size = s->npages << PAGE_SHIFT;
	mem.userspace_addr = s->hva;

	switch (fuzz_dp_u32_range(&f->dp, 0, 7)) {
	case 0:
		break; /* identical: a no-op */
	case 1:
		mem.flags ^= KVM_MEM_LOG_DIRTY_PAGES;
		break;
	case 2:
		mem.flags ^= KVM_MEM_READONLY; /* immutable */
		break;
	case 3:
		mem.memory_size = 0;
		break;
	case 4:
		mem.memory_size += PAGE_SIZE * fuzz_dp_range(&f->dp, 1, 8); /* immutable */
		break;
	case 5:
		mem.userspace_addr += PAGE_SIZE; /* immutable */
		break;
	default:
		mem.guest_phys_addr = pick_gpa(f, mem.memory_size);
		if (fuzz_dp_bool(&f->dp))
			mem.flags ^= KVM_MEM_LOG_DIRTY_PAGES;
		break;
	}
	set_region(f, &mem);
}

static const struct ms_slot *model_slot_by_field(struct fz *f, u32 slot, int *ret)
{
	u32 as_id = slot >> 16, id = (u16)slot;
	int idx;

	*ret = -EINVAL;
	if (as_id >= MS_NR_AS || id >= MS_USER_MEM_SLOTS)
		return NULL;
	idx = ms_find(&f->model, as_id, id);
	*ret = -ENOENT;
	if (idx < 0 || !(f->model.slots[as_id][idx].flags & KVM_MEM_LOG_DIRTY_PAGES))
		return NULL;
	*ret = 0;
	return &f->model.slots[as_id][idx];
}

/* Pick the slot field of a dirty-log call: mostly a slot the model has. */
static u32 pick_log_slot(struct fz *f)
{
	int as_id = fuzz_dp_index(&f->dp, MS_NR_AS);

	if (fuzz_dp_u32_range(&f->dp, 0, 3) && f->model.nr[as_id])
		return (u32)as_id << 16 |
		       f->model.slots[as_id][fuzz_dp_index(&f->dp, f->model.nr[as_id])].id;
	return pick_slot(f);
}

static void op_get_log(struct fz *f)
{
	struct kvm_dirty_log log = { .slot = pick_log_slot(f) };
	bool null_bitmap = !fuzz_dp_u32_range(&f->dp, 0, 7);
	const struct ms_slot *s;
	unsigned long *bitmap = NULL;
	u64 i, words = 0;
	int want, r;

	s = model_slot_by_field(f, log.slot, &want);
	if (s) {
		words = (s->npages + 63) / 64;
		bitmap = calloc(words, sizeof(*bitmap));
		FUZZ_ASSERT(bitmap);
		memset(bitmap, 0xa5, words * sizeof(*bitmap));
		if (!null_bitmap)
			log.dirty_bitmap = bitmap;
		else
			want = -EFAULT;
	}
	r = mmusim_vm_get_dirty_log(f->v.vm, &log);
	FUZZ_ASSERT_MSG(r == want, "KVM_GET_DIRTY_LOG slot %#x: returned %d, KVM returns %d",
			log.slot, r, want);
	/* Bits past the slot's last page are never set. */
	if (!r)
		for (i = s->npages; i < words * 64; i++)
			FUZZ_ASSERT_MSG(!(bitmap[i / 64] & (1ul << (i % 64))),
					"dirty bit %llu set in a slot of %llu pages",
					(unsigned long long)i, (unsigned long long)s->npages);
	free(bitmap);
	fuzz_vm_check(&f->v, "KVM_GET_DIRTY_LOG");
}

static void op_clear_log(struct fz *f)
{
	struct kvm_clear_dirty_log log = { .slot = pick_log_slot(f) };
	bool null_bitmap = !fuzz_dp_u32_range(&f->dp, 0, 7);
	const struct ms_slot *s;
	unsigned long *bitmap;
	u64 npages, words;
	int want, r;

	s = model_slot_by_field(f, log.slot, &want);
	npages = s ? s->npages : 1024;
	switch (fuzz_dp_u32_range(&f->dp, 0, 3)) {
	case 0:
		log.first_page = fuzz_dp_u64(&f->dp);
		log.num_pages = fuzz_dp_u32(&f->dp);
		break;
	case 1:
		log.first_page = 64 * fuzz_dp_range(&f->dp, 0, npages / 64 + 1);
		log.num_pages = fuzz_dp_range(&f->dp, 0, npages + 64);
		break;
	default:
		log.first_page = 64 * fuzz_dp_range(&f->dp, 0, npages / 64);
		log.num_pages = npages > log.first_page ? npages - log.first_page : 0;
		if (fuzz_dp_bool(&f->dp) && log.num_pages > 64)
			log.num_pages = log.num_pages / 64 * 64;
		break;
	}
	/* KVM's order: ids, alignment of first_page, the slot, the range, the copy. */
	if (want == -EINVAL || (log.first_page & 63)) {
		want = -EINVAL;
	} else if (!want) {
		if (log.first_page > s->npages || log.num_pages > s->npages - log.first_page ||
		    (log.num_pages < s->npages - log.first_page && (log.num_pages & 63)))
			want = -EINVAL;
		else if (null_bitmap && log.num_pages)
			want = -EFAULT; /* copy_from_user() of 0 bytes cannot fail */
	}
	/*
	 * KVM reads the bitmap only for a range inside the slot, and no slot
	 * is larger than BIG_SLOT_PAGES: a buffer that size is always enough.
	 */
	words = (min_t(u64, log.num_pages, BIG_SLOT_PAGES) + 63) / 64 + 1;
	bitmap = malloc(words * sizeof(*bitmap));
	FUZZ_ASSERT(bitmap);
	memset(bitmap, 0xff, words * sizeof(*bitmap));
	log.dirty_bitmap = null_bitmap ? NULL : bitmap;
	r = mmusim_vm_clear_dirty_log(f->v.vm, &log);
	FUZZ_ASSERT_MSG(r == want,
			"KVM_CLEAR_DIRTY_LOG slot %#x first %llu num %u: "
			"returned %d, KVM returns %d",
			log.slot, (unsigned long long)log.first_page, log.num_pages, r, want);
	free(bitmap);
	fuzz_vm_check(&f->v, "KVM_CLEAR_DIRTY_LOG");
}

/* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: INITIALLY_SET only with ENABLE. */
static void op_manual(struct fz *f)
{
	u64 flags = fuzz_dp_u32_range(&f->dp, 0, 3) ? fuzz_dp_range(&f->dp, 0, 3)
						     : fuzz_dp_u64(&f->dp);
	u64 allowed = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
	int want, r;

	if (flags & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
		allowed |= KVM_DIRTY_LOG_INITIALLY_SET;
	want = flags & ~allowed ? -EINVAL : 0;
	r = mmusim_vm_enable_manual_dirty_log_protect(f->v.vm, flags);
	FUZZ_ASSERT_MSG(r == want, "MANUAL_DIRTY_LOG_PROTECT2 %#llx: returned %d, KVM returns %d",
			(unsigned long long)flags, r, want);
	if (!r)
		f->manual = flags;
}

static bool hva_mapped(const struct fz *f, u64 hva)
{
	int i;

	for (i = 0; i < NR_REGIONS; i++)
		if (hva >= f->region[i] && hva - f->region[i] < f->region_size[i])
			return true;
	return false;
}

/* A guest access: the VM's memslot lookup must agree with the model. */
static void op_probe(struct fz *f)
{
	int as_id = fuzz_dp_index(&f->dp, MS_NR_AS);
	int type = fuzz_dp_u32_range(&f->dp, MMUSIM_ACCESS_READ, MMUSIM_ACCESS_EXEC);
	struct mmusim_vcpu *vcpu = mmusim_vm_vcpu(f->v.vm, 0);
	const struct ms_slot *s;
	struct mmusim_exit exit;
	u64 gfn;
	int want, r;

	if (f->model.nr[as_id] && fuzz_dp_u32_range(&f->dp, 0, 3)) {
		s = &f->model.slots[as_id][fuzz_dp_index(&f->dp, f->model.nr[as_id])];
		switch (fuzz_dp_u32_range(&f->dp, 0, 3)) {
		case 0:
			gfn = s->base_gfn;
			break;
		case 1:
			gfn = s->base_gfn + s->npages - 1;
			break;
		case 2:
			gfn = s->base_gfn + s->npages; /* just past: another slot or none */
			break;
		default:
			gfn = s->base_gfn + fuzz_dp_range(&f->dp, 0, s->npages - 1);
			break;
		}
	} else {
		gfn = fuzz_dp_range(&f->dp, 0, 16383 + 16);
	}

	s = ms_lookup(&f->model, as_id, gfn);
	if (gfn > f->v.max_gfn)
		want = -EINVAL;
	else if (!s || (type == MMUSIM_ACCESS_WRITE && (s->flags & KVM_MEM_READONLY)))
		want = 1;
	else if (!hva_mapped(f, s->hva + ((gfn - s->base_gfn) << PAGE_SHIFT)))
		want = -EFAULT;
	else
		want = 0;

	mmusim_vcpu_set_smm(vcpu, as_id == 1);
	r = mmusim_vcpu_access(vcpu, gfn << PAGE_SHIFT, type, &exit);
	FUZZ_ASSERT_MSG(r == want, "access type %d at as %d gfn %#llx: returned %d, expected %d "
			"(model slot %d)", type, as_id, (unsigned long long)gfn, r, want,
			s ? (int)s->id : -1);
	if (r == 1)
		FUZZ_ASSERT(exit.reason == KVM_EXIT_MMIO && exit.gpa == gfn << PAGE_SHIFT &&
			    exit.is_write == (type == MMUSIM_ACCESS_WRITE));
	fuzz_vm_check(&f->v, "a probe access");
}

/* ------------------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_env_init();
	fuzz_legacy_mmu_available();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mmusim_vm_config cfg;
	struct fz *f = calloc(1, sizeof(*f));
	long live;
	int i, ops;

	FUZZ_ASSERT(f);
	live = fuzz_live_begin();
	fuzz_dp_init(&f->dp, data, size);
	fuzz_vm_config(&f->dp, &cfg, 1);
	fuzz_vm_create(&f->v, &cfg, 64 * FUZZ_MiB);
	ms_model_init(&f->model, f->v.max_gfn);

	f->region_size[0] = 2 * FUZZ_MiB;
	f->region_size[1] = 4 * FUZZ_MiB;
	for (i = 0; i < NR_REGIONS; i++)
		FUZZ_ASSERT(!sim_mmap(f->v.mm, 0, f->region_size[i], SIM_PROT_READ | SIM_PROT_WRITE,
				      SIM_MAP_PRIVATE | (i ? SIM_MAP_THP : 0), &f->region[i]));

	for (ops = 0; ops < MAX_OPS && !fuzz_dp_empty(&f->dp); ops++) {
		switch (fuzz_dp_u32_range(&f->dp, 0, OP_NR - 1)) {
		case OP_SET:
			op_set(f);
			break;
		case OP_SET_EXISTING:
			op_set_existing(f);
			break;
		case OP_GET_LOG:
			op_get_log(f);
			break;
		case OP_CLEAR_LOG:
			op_clear_log(f);
			break;
		case OP_MANUAL:
			op_manual(f);
			break;
		case OP_PROBE:
			op_probe(f);
			break;
		}
	}

	fuzz_vm_destroy(&f->v);
	free(f);
	fuzz_live_end(live);
	return 0;
}
