// SPDX-License-Identifier: GPL-2.0-only
/*
 * The public face of kvm_vcpu_map() (src/pfn/kvm_host_map.c): maps a test
 * or tool holds by id, copies through them, and the one in-tree user that
 * does what KVM's users do, a nested posted-interrupt delivery that updates
 * a guest-resident descriptor through a map.
 *
 * A vCPU's maps live in vcpu->maps[] under vcpu->maps_lock.  Mapping and
 * unmapping may sleep (GUP, memremap), so they run outside the lock, which
 * only guards the table: the checker (mmu_check.c) takes it to look at the
 * maps while the vCPU's thread changes them.  Each public call runs as a
 * VM call (kvm_vm_call_begin()) inside the memslot SRCU read side.
 */
#include "mmusim_env.h"
#include <mmusim/vm.h>
#include "pfn/kvm_pfn.h"

static int vcpu_map_install(struct kvm_vcpu *vcpu, struct kvm_host_map *map)
{
	int id, ret = -ENOSPC;

	spin_lock(&vcpu->maps_lock);
	for (id = 0; id < KVM_VCPU_MAX_MAPS; id++) {
		if (!vcpu->maps[id]) {
			vcpu->maps[id] = map;
			ret = id;
			break;
		}
	}
	spin_unlock(&vcpu->maps_lock);
	return ret;
}

static struct kvm_host_map *vcpu_map_remove(struct kvm_vcpu *vcpu, int id)
{
	struct kvm_host_map *map;

	spin_lock(&vcpu->maps_lock);
	map = vcpu->maps[id];
	vcpu->maps[id] = NULL;
	spin_unlock(&vcpu->maps_lock);
	return map;
}

static void vcpu_unmap_free(struct kvm_vcpu *vcpu, struct kvm_host_map *map, bool dirty)
{
	int idx = srcu_read_lock(&vcpu->kvm->slots.srcu);

	kvm_vcpu_unmap(vcpu, map, dirty);
	srcu_read_unlock(&vcpu->kvm->slots.srcu, idx);
	kfree(map);
}

void kvm_vcpu_unmap_all(struct kvm_vcpu *vcpu)
{
	int id;

	for (id = 0; id < KVM_VCPU_MAX_MAPS; id++) {
		struct kvm_host_map *map = vcpu_map_remove(vcpu, id);

		if (map)
			vcpu_unmap_free(vcpu, map, false);
	}
}

static void vcpu_map_fill_info(struct kvm *kvm, int id, struct kvm_host_map *map,
			       struct mmusim_vcpu_map_info *info)
{
	bool has_page = map->page != KVM_UNMAPPED_PAGE;

	*info = (struct mmusim_vcpu_map_info){
		.id = id,
		.gfn = map->gfn,
		.pfn = map->pfn,
		.has_struct_page = has_page,
		.is_refcounted_page = map->is_refcounted_page || map->pinned_page,
		.writable = map->writable,
		.page_refcount = has_page ? sim_page_count(kvm->host, map->page) : -1,
	};
}

static int vcpu_map(struct kvm_vcpu *vcpu, u64 gfn, unsigned int flags,
		    struct mmusim_vcpu_map_info __user *uinfo)
{
	struct kvm *kvm = vcpu->kvm;
	struct mmusim_vcpu_map_info info;
	struct kvm_host_map *map;
	int id, idx, r;

	if ((flags & ~MMUSIM_MAP_WRITABLE) || gfn > kvm_guest_max_gfn(kvm))
		return -EINVAL;
	map = kzalloc(sizeof(*map), GFP_KERNEL_ACCOUNT);
	if (!map)
		return -ENOMEM;
	idx = srcu_read_lock(&kvm->slots.srcu);
	r = __kvm_vcpu_map(vcpu, gfn, map, flags & MMUSIM_MAP_WRITABLE);
	srcu_read_unlock(&kvm->slots.srcu, idx);
	if (r) {
		kfree(map);
		return r;
	}
	id = vcpu_map_install(vcpu, map);
	if (id < 0) {
		vcpu_unmap_free(vcpu, map, false);
		return id;
	}
	vcpu_map_fill_info(kvm, id, map, &info);
	if (copy_to_user(uinfo, &info, sizeof(info))) {
		vcpu_unmap_free(vcpu, vcpu_map_remove(vcpu, id), false);
		return -EFAULT;
	}
	return 0;
}

int mmusim_vcpu_map(struct mmusim_vcpu *v, u64 gfn, unsigned int flags,
		    struct mmusim_vcpu_map_info *info)
{
	struct kvm_vcpu *vcpu;
	int r = kvm_vcpu_call_begin(v, &vcpu);

	if (r)
		return r;
	r = vcpu_map(vcpu, gfn, flags, info);
	kvm_vm_call_end(vcpu->kvm);
	return r;
}

/* The map's kernel address is only touched by the vCPU's own thread. */
static int vcpu_map_copy(struct mmusim_vcpu *v, int id, u32 offset, void *buf, u32 len,
			 bool write)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);
	struct kvm_host_map *map;
	unsigned long left;
	u8 *hva;

	if (!vcpu || id < 0 || id >= KVM_VCPU_MAX_MAPS || offset > PAGE_SIZE ||
	    len > PAGE_SIZE - offset)
		return -EINVAL;
	map = READ_ONCE(vcpu->maps[id]);
	if (!map)
		return -EINVAL;
	if (write && !map->writable)
		return -EPERM;
	hva = (u8 *)map->hva + offset;
	left = write ? copy_from_user(hva, buf, len) : copy_to_user(buf, hva, len);
	return left ? -EFAULT : 0;
}

int mmusim_vcpu_map_read(struct mmusim_vcpu *vcpu, int id, u32 offset, void *buf, u32 len)
{
	return vcpu_map_copy(vcpu, id, offset, buf, len, false);
}

int mmusim_vcpu_map_write(struct mmusim_vcpu *vcpu, int id, u32 offset, const void *buf, u32 len)
{
	return vcpu_map_copy(vcpu, id, offset, (void *)buf, len, true);
}

int mmusim_vcpu_unmap(struct mmusim_vcpu *v, int id, bool dirty)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);
	struct kvm_host_map *map;
	int r;

	if (!vcpu || id < 0 || id >= KVM_VCPU_MAX_MAPS)
		return -EINVAL;
	r = kvm_vm_call_begin(vcpu->kvm);
	if (r)
		return r;
	map = vcpu_map_remove(vcpu, id);
	if (map)
		vcpu_unmap_free(vcpu, map, dirty);
	kvm_vm_call_end(vcpu->kvm);
	return map ? 0 : -EINVAL;
}

/*
 * The posted-interrupt descriptor (SDM 29.6): 256 PIR bits, then the
 * control word whose bit 0 is ON (outstanding notification).
 */
struct pi_desc {
	u32 pir[8];
	u64 control;
	u32 rsvd[6];
};
static_assert(sizeof(struct pi_desc) == 64, "posted-interrupt descriptor is 64 bytes");
#define POSTED_INTR_ON BIT_ULL(0)

/* Returns whether ON was already set. */
static bool pi_post(struct pi_desc *pi, unsigned int vector)
{
	__atomic_fetch_or(&pi->pir[vector / 32], 1u << (vector % 32), __ATOMIC_SEQ_CST);
	return __atomic_fetch_or(&pi->control, POSTED_INTR_ON, __ATOMIC_SEQ_CST) & POSTED_INTR_ON;
}

int mmusim_vcpu_post_interrupt(struct mmusim_vcpu *v, gpa_t pi_desc_gpa, unsigned int vector)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);
	struct kvm_host_map map;
	int idx, r;
	bool on;

	if (!vcpu || vector > 255 || !IS_ALIGNED(pi_desc_gpa, 64) ||
	    (pi_desc_gpa >> PAGE_SHIFT) > kvm_guest_max_gfn(vcpu->kvm))
		return -EINVAL;
	r = kvm_vm_call_begin(vcpu->kvm);
	if (r)
		return r;
	idx = srcu_read_lock(&vcpu->kvm->slots.srcu);
	r = __kvm_vcpu_map(vcpu, pi_desc_gpa >> PAGE_SHIFT, &map, true);
	if (!r) {
		on = pi_post((struct pi_desc *)((u8 *)map.hva + (pi_desc_gpa & ~PAGE_MASK)),
			     vector);
		kvm_vcpu_unmap(vcpu, &map, true);
		r = on;
	}
	srcu_read_unlock(&vcpu->kvm->slots.srcu, idx);
	kvm_vm_call_end(vcpu->kvm);
	return r;
}

int kvm_vcpu_check_maps(struct kvm_vcpu *vcpu, char *msg, size_t msg_size)
{
	struct kvm *kvm = vcpu->kvm;
	int id, r = 0;

	spin_lock(&vcpu->maps_lock);
	for (id = 0; id < KVM_VCPU_MAX_MAPS && !r; id++) {
		struct kvm_host_map *map = vcpu->maps[id];
		struct sim_host_pte_info info = { .pfn = ~0ULL };
		struct kvm_memory_slot *slot;

		/* A page KVM holds cannot be reused under the map. */
		if (!map || map->is_refcounted_page || map->pinned_page)
			continue;
		slot = __gfn_to_memslot(kvm_memslots_as(&kvm->slots, map->as_id), map->gfn);
		if (slot && !sim_mm_lookup(kvm->mm, __gfn_to_hva_memslot(slot, map->gfn), &info) &&
		    info.pfn == map->pfn)
			continue;
		scnprintf(msg, msg_size,
			  "vcpu %d map %d: gfn %#llx mapped at pfn %#llx holding no reference, "
			  "the host now maps %#llx there (an unsafe mapping outlived its memory)",
			  vcpu->vcpu_id, id, (unsigned long long)map->gfn,
			  (unsigned long long)map->pfn, (unsigned long long)info.pfn);
		r = -EUCLEAN;
	}
	spin_unlock(&vcpu->maps_lock);
	return r;
}
