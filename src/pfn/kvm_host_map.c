// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_vcpu_map() / kvm_vcpu_unmap(): a kernel mapping of one guest page,
 * for KVM code that reads and updates guest-resident structures (nested
 * VMX's vmcs12, MSR bitmaps, virtual-APIC and posted-interrupt pages).
 * KarimAllah Ahmed's API (merged 5.2) exists because guest RAM may have no
 * struct page at all (a host booted with mem=, guest RAM mmap'd from
 * /dev/mem), where kvm_vcpu_gfn_to_page() + kmap() cannot work:
 *
 *   pfn with a struct page   kmap(): the direct map, free
 *   pfn without one          memremap(MEMREMAP_WB): a mapping record made
 *                            and torn down per map (the slow path; KVM
 *                            means it for infrequent mappings)
 *
 * Which page KVM holds while mapped follows the VM's pfn model:
 *   v9    __kvm_follow_pfn() for write, non-refcounted struct pages
 *         allowed, *not* guarded by MMU notifiers: a pfn KVM cannot
 *         reference is refused unless allow_unsafe_mappings; the page is
 *         released at unmap only if refcounted (dirty if @dirty).
 *   6.13  a FOLL_PIN (pinned_page), write only if asked; PFNMAP memory has
 *         nothing to pin and is refused unless allow_unsafe_mappings; unmap
 *         marks the gfn dirty if the map was writable, and unpins.
 * A mapping that holds nothing (allow_unsafe_mappings) is exactly the
 * hazard v9 closed: if the owner frees the memory, the map points at
 * someone else's frame.  mmusim_vm_check() reports such maps.
 *
 * Callers hold kvm->slots.srcu for the memslot lookup.  A map belongs to
 * the vCPU (its thread maps and unmaps); nothing here takes mmu_lock.
 */
#include "mmusim_env.h"
#include "pfn/kvm_pfn.h"

/* kvm_vcpu_map() looks @gfn up in address space 0 (gfn_to_pfn(vcpu->kvm, ...)). */
static struct kvm_memory_slot *vcpu_map_memslot(struct kvm_vcpu *vcpu, gfn_t gfn)
{
	return __gfn_to_memslot(kvm_memslots_as(&vcpu->kvm->slots, 0), gfn);
}

static void *vcpu_map_kernel(struct kvm *kvm, kvm_pfn_t pfn, struct sim_page **page)
{
	void *hva = NULL;

	*page = sim_pfn_to_page(kvm->host, pfn);
	if (*page)
		return sim_pfn_to_virt(kvm->host, pfn); /* kmap() */
	if (sim_memremap(kvm->host, pfn, &hva))
		return NULL;
	return hva;
}

int __kvm_vcpu_map(struct kvm_vcpu *vcpu, gfn_t gfn, struct kvm_host_map *map, bool writable)
{
	struct kvm *kvm = vcpu->kvm;
	bool v9 = kvm_pfn_model_v9(kvm);
	struct kvm_follow_pfn foll = {
		.kvm = kvm,
		.slot = vcpu_map_memslot(vcpu, gfn),
		.gfn = gfn,
		.flags = (v9 || writable) ? FOLL_WRITE : 0,
		.allow_non_refcounted_struct_page = v9,
		.pin = !v9,
	};
	struct sim_page *page;
	kvm_pfn_t pfn;
	void *hva;

	if (!map)
		return -EINVAL;
	*map = (struct kvm_host_map){ .gfn = gfn, .writable = v9 || writable, .as_id = 0 };

	pfn = __kvm_follow_pfn(&foll);
	if (is_error_noslot_pfn(pfn))
		return -EINVAL;
	hva = vcpu_map_kernel(kvm, pfn, &page);
	if (!hva) {
		/* Nothing could map it: give back what the lookup took. */
		if (foll.is_refcounted_page && v9)
			kvm_release_page_clean(kvm, foll.refcounted_page);
		else if (foll.is_refcounted_page)
			sim_unpin_user_page(kvm->host, foll.refcounted_page);
		return -EFAULT;
	}
	map->hva = hva;
	map->pfn = pfn;
	map->page = page ? page : KVM_UNMAPPED_PAGE;
	map->is_refcounted_page = foll.is_refcounted_page;
	map->pinned_page = v9 ? NULL : foll.refcounted_page;
	return 0;
}

/* kvm_vcpu_mark_page_dirty(): the vCPU's current address space. */
static void kvm_vcpu_mark_page_dirty(struct kvm_vcpu *vcpu, gfn_t gfn)
{
	kvm_vcpu_mark_page_dirty_in_slot(
		vcpu, kvm_vcpu_gfn_to_memslot(&vcpu->kvm->slots, &vcpu->slot_cache, vcpu->smm ? 1 : 0,
					      gfn),
		gfn);
}

void kvm_vcpu_unmap(struct kvm_vcpu *vcpu, struct kvm_host_map *map, bool dirty)
{
	struct kvm *kvm = vcpu->kvm;

	if (!map || !map->hva)
		return;
	if (map->page == KVM_UNMAPPED_PAGE)
		sim_memunmap(kvm->host, map->hva);
	/* else kunmap(): nothing to undo on a 64-bit direct map */

	if (kvm_pfn_model_v9(kvm)) {
		if (dirty)
			kvm_vcpu_mark_page_dirty(vcpu, map->gfn);
		if (map->is_refcounted_page) {
			if (dirty)
				kvm_release_page_dirty(kvm, map->page);
			else
				kvm_release_page_clean(kvm, map->page);
		}
	} else {
		if (map->writable)
			kvm_vcpu_mark_page_dirty(vcpu, map->gfn);
		if (map->pinned_page) {
			if (map->writable)
				kvm_set_page_dirty(kvm, map->pinned_page);
			kvm_set_page_accessed(kvm, map->pinned_page);
			sim_unpin_user_page(kvm->host, map->pinned_page);
		}
	}
	map->hva = NULL;
	map->page = NULL;
	map->pinned_page = NULL;
}
