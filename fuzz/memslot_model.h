/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A reference model of KVM_SET_USER_MEMORY_REGION for the fuzzers: a plain
 * table of user memslots per address space and an independent
 * implementation of KVM's validation order (docs: shared/reference
 * kvm-mmu.md section 5.9, virt/kvm/kvm_main.c kvm_set_memory_region()), so
 * that the fuzzers can predict the errno of any request and the slot table
 * that results.  It is written from the rules, not from the simulator's
 * code, and deliberately knows nothing of how the simulator stores slots.
 *
 * The checks, in KVM's order (first failure wins):
 *   1. v1 ioctl flags outside LOG_DIRTY_PAGES | READONLY          -EINVAL
 *   2. (u16)slot >= KVM_USER_MEM_SLOTS                              -EINVAL
 *   3. check_memory_region_flags (x86, no guest_memfd)            -EINVAL
 *   5. memory_size not page aligned                               -EINVAL
 *   6. guest_phys_addr not page aligned                           -EINVAL
 *   7. userspace_addr not page aligned, or !access_ok(hva, size)  -EINVAL
 *   9. as_id >= the VM's address spaces (2 with SMM, 1 without),
 *      or id >= KVM_MEM_SLOTS_NUM                                  -EINVAL
 *  10. guest_phys_addr + memory_size wraps                         -EINVAL
 *  11. npages > KVM_MEM_MAX_NR_PAGES                               -EINVAL
 *  12. size 0: DELETE; no such slot                                -EINVAL
 *  13. new slot: CREATE; total pages overflow                      -EINVAL
 *  14. existing slot: hva or size differ, READONLY toggled         -EINVAL;
 *      else MOVE (new base), FLAGS_ONLY (new flags), or a no-op (0)
 *  15. CREATE/MOVE overlapping another slot of the address space   -EEXIST
 *  17. x86 prepare: CREATE/MOVE ending past kvm_mmu_max_gfn()       -EINVAL
 *      (2^(host MAXPHYADDR - 12) - 1)
 * (16, -ENOMEM, is not predicted: it only happens with failure injection.)
 */
#ifndef _MMUSIM_FUZZ_MEMSLOT_MODEL_H
#define _MMUSIM_FUZZ_MEMSLOT_MODEL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <linux/kvm.h>

/* KVM's x86-64 constants, restated here (not taken from the simulator). */
#define MS_NR_AS 2			/* the most: a kernel with SMM */
#define MS_MEM_SLOTS_NUM 32767u		/* SHRT_MAX */
#define MS_USER_MEM_SLOTS (MS_MEM_SLOTS_NUM - 3u) /* minus the x86 private slots */
#define MS_MAX_NR_PAGES ((1ull << 31) - 1)
#define MS_TASK_SIZE_MAX ((1ull << 47) - 4096)
#define MS_PAGE_SIZE 4096ull
#define MS_VALID_FLAGS (KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)

/* Slots the model tracks per address space (the fuzzers stay below it). */
#define MS_MAX_SLOTS 64

struct ms_slot {
	uint32_t id;
	uint64_t base_gfn, npages, hva;
	uint32_t flags;
};

struct ms_model {
	struct ms_slot slots[MS_NR_AS][MS_MAX_SLOTS];
	int nr[MS_NR_AS];
	uint64_t nr_memslot_pages;	/* over all address spaces, as KVM */
	uint64_t max_gfn;		/* kvm_mmu_max_gfn() of the VM */
	int nr_as;			/* 1 (no SMM) or MS_NR_AS */
};

enum ms_change {
	MS_ERROR,	/* the request fails: nothing changes */
	MS_NOOP,	/* identical to the slot: 0, nothing changes */
	MS_CREATE,
	MS_DELETE,
	MS_MOVE,
	MS_FLAGS_ONLY,
};

struct ms_prediction {
	int ret;		/* 0 or the errno KVM returns */
	enum ms_change change;
	int as_id;
	int idx;		/* index of the existing slot in slots[as_id], or -1 */
	/*
	 * The error comes from the x86 prepare hook (rule 17), which runs
	 * after the dirty bitmap and the INVALID copy of the slot are
	 * allocated: an allocation failure (-ENOMEM) may be reported instead.
	 */
	bool late;
};

static inline void ms_model_init(struct ms_model *m, uint64_t max_gfn, int nr_as)
{
	memset(m, 0, sizeof(*m));
	m->max_gfn = max_gfn;
	m->nr_as = nr_as;
}

/* kvm_mmu_max_gfn() for a host MAXPHYADDR (0: 46 bits, or 52 with a 5-level root). */
static inline uint64_t ms_max_gfn(int host_maxphyaddr, int root_level)
{
	int bits = host_maxphyaddr ? host_maxphyaddr : root_level == 5 ? 52 : 46;

	return (1ull << (bits - 12)) - 1;
}

static inline int ms_find(const struct ms_model *m, int as_id, uint32_t id)
{
	int i;

	for (i = 0; i < m->nr[as_id]; i++)
		if (m->slots[as_id][i].id == id)
			return i;
	return -1;
}

/* The slot of @as_id that contains @gfn, or NULL. */
static inline const struct ms_slot *ms_lookup(const struct ms_model *m, int as_id, uint64_t gfn)
{
	int i;

	for (i = 0; i < m->nr[as_id]; i++) {
		const struct ms_slot *s = &m->slots[as_id][i];

		if (gfn >= s->base_gfn && gfn - s->base_gfn < s->npages)
			return s;
	}
	return NULL;
}

/* access_ok() of x86-64 (v6.1): [addr, addr + size) inside the user range, no wrap. */
static inline bool ms_access_ok(uint64_t addr, uint64_t size)
{
	uint64_t end = addr + size;

	return end >= addr && end <= MS_TASK_SIZE_MAX;
}

/* Does [start, start + npages) of @as_id meet a slot other than @id? */
static inline bool ms_overlaps(const struct ms_model *m, int as_id, uint32_t id, uint64_t start,
			       uint64_t npages)
{
	int i;

	for (i = 0; i < m->nr[as_id]; i++) {
		const struct ms_slot *s = &m->slots[as_id][i];

		if (s->id == id)
			continue;
		if (start < s->base_gfn + s->npages && s->base_gfn < start + npages)
			return true;
	}
	return false;
}

static inline struct ms_prediction ms_predict(const struct ms_model *m,
					      const struct kvm_userspace_memory_region *mem)
{
	struct ms_prediction p = { .ret = -EINVAL, .change = MS_ERROR, .as_id = -1, .idx = -1 };
	uint32_t as_id = mem->slot >> 16, id = (uint16_t)mem->slot;
	uint64_t npages = mem->memory_size / MS_PAGE_SIZE;
	uint64_t base_gfn = mem->guest_phys_addr / MS_PAGE_SIZE;
	const struct ms_slot *old;

	if (mem->flags & ~MS_VALID_FLAGS)
		return p;
	if (id >= MS_USER_MEM_SLOTS)
		return p;
	if (mem->memory_size % MS_PAGE_SIZE)
		return p;
	if (mem->guest_phys_addr % MS_PAGE_SIZE)
		return p;
	if ((mem->userspace_addr % MS_PAGE_SIZE) ||
	    !ms_access_ok(mem->userspace_addr, mem->memory_size))
		return p;
	if (as_id >= (uint32_t)m->nr_as || id >= MS_MEM_SLOTS_NUM)
		return p;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr)
		return p;
	if (npages > MS_MAX_NR_PAGES)
		return p;

	p.as_id = as_id;
	p.idx = ms_find(m, as_id, id);
	old = p.idx >= 0 ? &m->slots[as_id][p.idx] : NULL;

	if (!mem->memory_size) {
		if (!old)
			return p;
		p.ret = 0;
		p.change = MS_DELETE;
		return p;
	}

	if (!old) {
		if (m->nr_memslot_pages + npages < m->nr_memslot_pages)
			return p;
		p.change = MS_CREATE;
	} else {
		if (mem->userspace_addr != old->hva || npages != old->npages ||
		    ((mem->flags ^ old->flags) & KVM_MEM_READONLY))
			return p;
		if (base_gfn != old->base_gfn) {
			p.change = MS_MOVE;
		} else if (mem->flags != old->flags) {
			p.change = MS_FLAGS_ONLY;
		} else {
			p.ret = 0;
			p.change = MS_NOOP;
			return p;
		}
	}

	if ((p.change == MS_CREATE || p.change == MS_MOVE) &&
	    ms_overlaps(m, as_id, id, base_gfn, npages)) {
		p.ret = -EEXIST;
		p.change = MS_ERROR;
		return p;
	}
	if ((p.change == MS_CREATE || p.change == MS_MOVE) && base_gfn + npages - 1 > m->max_gfn) {
		p.change = MS_ERROR;
		p.late = true;
		return p;
	}
	p.ret = 0;
	return p;
}

/* Apply a prediction that succeeded.  Returns false if the model is full. */
static inline bool ms_apply(struct ms_model *m, const struct ms_prediction *p,
			    const struct kvm_userspace_memory_region *mem)
{
	struct ms_slot *s;
	int as_id = p->as_id;

	switch (p->change) {
	case MS_CREATE:
		if (m->nr[as_id] >= MS_MAX_SLOTS)
			return false;
		s = &m->slots[as_id][m->nr[as_id]++];
		s->id = (uint16_t)mem->slot;
		s->base_gfn = mem->guest_phys_addr / MS_PAGE_SIZE;
		s->npages = mem->memory_size / MS_PAGE_SIZE;
		s->hva = mem->userspace_addr;
		s->flags = mem->flags;
		m->nr_memslot_pages += s->npages;
		break;
	case MS_DELETE:
		s = &m->slots[as_id][p->idx];
		m->nr_memslot_pages -= s->npages;
		*s = m->slots[as_id][--m->nr[as_id]];
		break;
	case MS_MOVE:
		m->slots[as_id][p->idx].base_gfn = mem->guest_phys_addr / MS_PAGE_SIZE;
		m->slots[as_id][p->idx].flags = mem->flags;
		break;
	case MS_FLAGS_ONLY:
		m->slots[as_id][p->idx].flags = mem->flags;
		break;
	default:
		break;
	}
	return true;
}

#endif /* _MMUSIM_FUZZ_MEMSLOT_MODEL_H */
