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
 * The VM's machine profile comes from the input too: one address space (a
 * kernel without SMM) or two, and the host MAXPHYADDR (36..52 bits, which
 * sets the last gfn a slot may use).  Every structure and bitmap is passed
 * as user memory of some kind (valid, NULL, PROT_NONE, one byte short of an
 * inaccessible page, read-only), and the model predicts -EFAULT exactly when
 * the kernel's copy would fail, in KVM's order of checks.
 *
 * Requests that the model predicts create a slot of more than 1 GiB, or
 * fail only in the x86 prepare hook, are not sent (the slot metadata and
 * dirty bitmap would be allocated for real); such sizes are still sent in
 * every request that fails validation earlier.
 */
#include <limits.h>
#include <sys/mman.h>

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
/* User memory of every kind                                                 */

enum ubuf_kind { UBUF_OK, UBUF_NULL, UBUF_PROT_NONE, UBUF_SHORT, UBUF_READ_ONLY, UBUF_NR };

#define UBUF_BYTES (64 * 1024)	/* more than a 1 GiB slot's bitmap (32 KiB) */

/*
 * Two sets (one for an ioctl's structure, one for the bitmap it points to)
 * of [read-write][PROT_NONE][read-only][PROT_NONE], made once per process.
 */
enum { UBUF_ARG, UBUF_BITMAP };
static char *ubuf_rw[2], *ubuf_ro[2];

static void ubuf_init(void)
{
	int i;

	for (i = 0; i < 2; i++) {
		char *base = mmap(NULL, 2 * (UBUF_BYTES + PAGE_SIZE), PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		FUZZ_ASSERT(base != MAP_FAILED);
		ubuf_rw[i] = base;
		ubuf_ro[i] = base + UBUF_BYTES + PAGE_SIZE;
		FUZZ_ASSERT(!mprotect(ubuf_rw[i] + UBUF_BYTES, PAGE_SIZE, PROT_NONE));
		FUZZ_ASSERT(!mprotect(ubuf_ro[i], UBUF_BYTES, PROT_READ));
		FUZZ_ASSERT(!mprotect(ubuf_ro[i] + UBUF_BYTES, PAGE_SIZE, PROT_NONE));
	}
}

static enum ubuf_kind pick_ubuf(struct fz *f)
{
	/* Mostly valid memory, so that the rest of the call is exercised. */
	if (fuzz_dp_u32_range(&f->dp, 0, 7))
		return UBUF_OK;
	return fuzz_dp_u32_range(&f->dp, UBUF_NULL, UBUF_NR - 1);
}

/*
 * A buffer of kind @k for a copy of @need bytes (at most UBUF_BYTES).  What
 * of it is accessible holds @src (or @fill bytes if @src is NULL).  *faults
 * says whether copy_from_user() (or, for @output, copy_to_user()) of @need
 * bytes fails on it.
 */
static void *ubuf_get(int set, enum ubuf_kind k, u64 need, bool output, const void *src,
		      int fill, bool *faults)
{
	char *rw = ubuf_rw[set], *ro = ubuf_ro[set];
	u64 avail = need;
	char *p;

	FUZZ_ASSERT(need <= UBUF_BYTES);
	*faults = need > 0;
	switch (k) {
	case UBUF_NULL:
		return NULL;
	case UBUF_PROT_NONE:
		return rw + UBUF_BYTES;
	case UBUF_SHORT:
		/* need - 1 bytes end at the guard page: the last byte faults. */
		avail = need ? need - 1 : 0;
		p = rw + UBUF_BYTES - avail;
		break;
	case UBUF_READ_ONLY:
		*faults = output && need > 0;
		p = ro + UBUF_BYTES - need;
		FUZZ_ASSERT(!mprotect(ro, UBUF_BYTES, PROT_READ | PROT_WRITE));
		break;
	default:
		*faults = false;
		p = rw + UBUF_BYTES - need;
		break;
	}
	if (src)
		memcpy(p, src, avail);
	else
		memset(p, fill, avail);
	if (k == UBUF_READ_ONLY)
		FUZZ_ASSERT(!mprotect(ro, UBUF_BYTES, PROT_READ));
	return p;
}

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
	enum ubuf_kind k = pick_ubuf(f);
	bool faults;
	void *arg;
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

	/* The request itself is user memory: a faulting copy comes first. */
	arg = ubuf_get(UBUF_ARG, k, sizeof(*mem), false, mem, 0, &faults);
	if (faults) {
		r = mmusim_vm_set_user_memory_region(f->v.vm, arg);
		FUZZ_ASSERT_MSG(r == -EFAULT, "KVM_SET_USER_MEMORY_REGION from user memory of "
				"kind %d: returned %d, KVM returns -EFAULT", k, r);
		return;
	}
	r = mmusim_vm_set_user_memory_region(f->v.vm, arg);
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
	if (as_id >= (u32)f->model.nr_as || id >= MS_USER_MEM_SLOTS)
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

/* The log structure is user memory too: the ioctl copies it in first. */
static int call_with_log(struct fz *f, void *log, u64 size, bool clear)
{
	enum ubuf_kind k = pick_ubuf(f);
	bool faults;
	void *arg = ubuf_get(UBUF_ARG, k, size, false, log, 0, &faults);
	int r;

	r = clear ? mmusim_vm_clear_dirty_log(f->v.vm, arg) : mmusim_vm_get_dirty_log(f->v.vm, arg);
	if (faults) {
		FUZZ_ASSERT_MSG(r == -EFAULT, "KVM_%s_DIRTY_LOG from user memory of kind %d: "
				"returned %d, KVM returns -EFAULT", clear ? "CLEAR" : "GET", k, r);
		return INT_MIN;
	}
	return r;
}

static void op_get_log(struct fz *f)
{
	struct kvm_dirty_log log = { .slot = pick_log_slot(f) };
	enum ubuf_kind k = pick_ubuf(f);
	const struct ms_slot *s;
	unsigned long *bitmap;
	u64 i, bytes = 0;
	bool faults;
	int want, r;

	s = model_slot_by_field(f, log.slot, &want);
	if (s)
		bytes = (s->npages + 63) / 64 * 8;
	/* The bitmap is output, copied once the slot was found. */
	bitmap = ubuf_get(UBUF_BITMAP, k, bytes, true, NULL, 0xa5, &faults);
	log.dirty_bitmap = bitmap;
	if (s && faults)
		want = -EFAULT;
	r = call_with_log(f, &log, sizeof(log), false);
	if (r == INT_MIN)
		return;
	FUZZ_ASSERT_MSG(r == want, "KVM_GET_DIRTY_LOG slot %#x, bitmap of kind %d: returned %d, "
			"KVM returns %d", log.slot, k, r, want);
	/* Bits past the slot's last page are never set. */
	if (!r)
		for (i = s->npages; i < bytes * 8; i++)
			FUZZ_ASSERT_MSG(!(bitmap[i / 64] & (1ul << (i % 64))),
					"dirty bit %llu set in a slot of %llu pages",
					(unsigned long long)i, (unsigned long long)s->npages);
	fuzz_vm_check(&f->v, "KVM_GET_DIRTY_LOG");
}

static void op_clear_log(struct fz *f)
{
	struct kvm_clear_dirty_log log = { .slot = pick_log_slot(f) };
	enum ubuf_kind k = pick_ubuf(f);
	const struct ms_slot *s;
	u64 npages, bytes;
	bool faults;
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
	/*
	 * KVM's order: ids, alignment of first_page, the slot, the range, then
	 * the copy of ALIGN(num_pages, 64) / 8 bytes (none for zero pages).
	 * KVM reads the bitmap only for a range inside the slot, and no slot
	 * is larger than BIG_SLOT_PAGES, so UBUF_BYTES is always enough.
	 */
	bytes = 0;
	if (want == -EINVAL || (log.first_page & 63)) {
		want = -EINVAL;
	} else if (!want) {
		if (log.first_page > s->npages || log.num_pages > s->npages - log.first_page ||
		    (log.num_pages < s->npages - log.first_page && (log.num_pages & 63)))
			want = -EINVAL;
		else
			bytes = ((u64)log.num_pages + 63) / 64 * 8;
	}
	log.dirty_bitmap = ubuf_get(UBUF_BITMAP, k, bytes, false, NULL, 0xff, &faults);
	if (!want && faults)
		want = -EFAULT;
	r = call_with_log(f, &log, sizeof(log), true);
	if (r == INT_MIN)
		return;
	FUZZ_ASSERT_MSG(r == want,
			"KVM_CLEAR_DIRTY_LOG slot %#x first %llu num %u, bitmap of kind %d: "
			"returned %d, KVM returns %d",
			log.slot, (unsigned long long)log.first_page, log.num_pages, k, r, want);
	fuzz_vm_check(&f->v, "KVM_CLEAR_DIRTY_LOG");
}

/*
 * KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2): flags must be 0,
 * INITIALLY_SET only with ENABLE, 0 turns it off; other caps are -EINVAL.
 */
static void op_manual(struct fz *f)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 };
	u64 allowed = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
	enum ubuf_kind k = pick_ubuf(f);
	bool faults;
	void *arg;
	int want, r;

	cap.args[0] = fuzz_dp_u32_range(&f->dp, 0, 3) ? fuzz_dp_range(&f->dp, 0, 3)
						      : fuzz_dp_u64(&f->dp);
	if (!fuzz_dp_u32_range(&f->dp, 0, 7))
		cap.flags = fuzz_dp_u32(&f->dp);
	if (!fuzz_dp_u32_range(&f->dp, 0, 15))
		cap.cap = fuzz_dp_u32(&f->dp);
	if (cap.args[0] & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
		allowed |= KVM_DIRTY_LOG_INITIALLY_SET;
	want = cap.cap != KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 || cap.flags ||
	       (cap.args[0] & ~allowed) ? -EINVAL : 0;
	arg = ubuf_get(UBUF_ARG, k, sizeof(cap), false, &cap, 0, &faults);
	if (faults)
		want = -EFAULT;
	r = mmusim_vm_enable_cap(f->v.vm, arg);
	FUZZ_ASSERT_MSG(r == want, "KVM_ENABLE_CAP %u flags %#x args[0] %#llx (kind %d): "
			"returned %d, KVM returns %d", cap.cap, cap.flags,
			(unsigned long long)cap.args[0], k, r, want);
	if (!r)
		f->manual = cap.args[0];
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

	/* A kernel without SMM has no address space 1 to enter. */
	if (as_id >= f->model.nr_as) {
		FUZZ_ASSERT(mmusim_vcpu_set_smm(vcpu, true) == -EINVAL);
		return;
	}
	s = ms_lookup(&f->model, as_id, gfn);
	if (gfn > f->v.guest_max_gfn)
		want = -EINVAL;
	else if (!s || (type == MMUSIM_ACCESS_WRITE && (s->flags & KVM_MEM_READONLY)))
		want = 1;
	else if (!hva_mapped(f, s->hva + ((gfn - s->base_gfn) << PAGE_SHIFT)))
		want = -EFAULT;
	else
		want = 0;

	FUZZ_ASSERT(!mmusim_vcpu_set_smm(vcpu, as_id == 1));
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

/* The machine profile: address spaces and host MAXPHYADDR (0: the default). */
static void pick_profile(struct fz *f, struct mmusim_vm_config *cfg)
{
	static const int maxpa[] = { 0, 0, 36, 39, 46, 48, 52 };
	u32 i = fuzz_dp_u32_range(&f->dp, 0, ARRAY_SIZE(maxpa));

	cfg->nr_address_spaces = fuzz_dp_u32_range(&f->dp, 0, 2);
	cfg->host_maxphyaddr = i < ARRAY_SIZE(maxpa) ? maxpa[i] : fuzz_dp_u32_range(&f->dp, 36, 52);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_env_init();
	fuzz_legacy_mmu_available();
	ubuf_init();
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
	pick_profile(f, &cfg);
	fuzz_vm_create(&f->v, &cfg, 64 * FUZZ_MiB);
	ms_model_init(&f->model, f->v.max_gfn, cfg.nr_address_spaces == 1 ? 1 : MS_NR_AS);

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
