// SPDX-License-Identifier: GPL-2.0-only
/*
 * SEV demand pinning with per-memslot metadata: Nikunj A Dadhania's "KVM:
 * SVM: Defer page pinning for SEV guests" RFC v1 (2022-03-08, 0/9; not
 * merged), mmusim_vm_config.sev_pin = MMUSIM_SEV_PIN_MEMSLOT.
 *
 * Instead of KVM_MEMORY_ENCRYPT_REG_REGION pinning all guest RAM up front,
 * a page is pinned the first time the guest faults it in, and the pin is
 * recorded in the memslot it belongs to:
 *
 *   KVM_SEV_INIT          the VM becomes SEV; slots created from now on get
 *                         KVM_MEMSLOT_ENCRYPTED and pin metadata
 *   fault (both MMUs)     the lookup takes a FOLL_PIN | FOLL_LONGTERM
 *                         reference (kvm_follow_pfn.c), pin_pfn() after the
 *                         huge-page adjust takes a second, long-lived pin
 *                         recorded in pinned_bitmap/pfns[], and the fault
 *                         releases its own (kvm_release_pfn_clean())
 *   same gfn, same pfn    nothing new
 *   same gfn, other pfn   flush the old page, unpin it, pin the new one
 *   memslot free / VM     one WBINVD, then every recorded pfn unpinned
 *   destroy
 *   REG/UNREG_REGION      charge / uncharge RLIMIT_MEMLOCK (pages_to_lock,
 *                         kept in sev->pages_locked); no pin
 *   launch commands       sev_pin_memory()'s pins stay on the regions list
 *                         (the RFC's pinned_regions_list) until destroy
 *
 * Rules:
 *  1. The metadata (struct sev_memslot_pins) hangs off slot->arch_pins and
 *     is shared by the slot's copies (the INVALID copy, a FLAGS_ONLY
 *     successor, a MOVE's new slot, which reuses it as the RFC does: a
 *     move keeps the hva, so rel_gfn still names the same page).  Only its
 *     owner's free unpins and frees it; a MOVE or FLAGS_ONLY commit hands
 *     ownership to the new slot, so the old slot's free, and the free of a
 *     new slot whose update failed, leave it alone.
 *  2. A pfn is unpinned only after a flush of its lines: clflush of the
 *     page when it is replaced, WBINVD before a slot's or the VM's pins go.
 *  3. The ENCRYPTED flag survives FLAGS_ONLY updates here (see "Deviations").
 *  4. Pins of a VM whose SEV context moved away (intra-host migration,
 *     sev_migrate.c) are the destination's: sev_memslot_move_pins() takes
 *     them off the source's slots, whose free then finds nothing.
 *
 * Locks: pin_pfn() runs under mmu_lock (read on the TDP MMU, write on the
 * legacy one); the bitmap and pfns[] are guarded by the metadata's own
 * spinlock, and the second pin is taken with pin_user_pages_fast_only(),
 * which never sleeps.  The memslot hooks run under slots_lock;
 * sev_memslot_vm_destroy() and the region calls under kvm->lock, which
 * nests outside slots_lock as in KVM.
 *
 * Deviations from the RFC, each because the RFC as posted breaks a rule
 * mmusim checks: (a) it takes kvm->slots_arch_lock, a mutex, and calls
 * pin_user_pages_fast(), which may sleep, under mmu_lock, an rwlock; here
 * a spinlock and the fast-only pin (a miss returns false: the vCPU
 * retries).  (b) kvm_main rebuilds a slot's flags from userspace's on
 * FLAGS_ONLY, so the RFC drops KVM_MEMSLOT_ENCRYPTED when dirty logging is
 * toggled and stops pinning; here the prepare hook carries it.  (c) the
 * legacy MMU's prefetch maps pages without pin_pfn(); mmusim does not
 * prefetch in encrypted slots (kvm_prefetch_pages()).
 */
#include "mmusim_env.h"
#include "sev/sev.h"

/* The RFC's kvm_arch_memory_slot.{pinned_bitmap, pfns}, plus what sharing needs. */
struct sev_memslot_pins {
	spinlock_t lock;
	const struct kvm_memory_slot *owner; /* whose free unpins (rule 1) */
	unsigned long npages;
	unsigned long nr_pinned;
	unsigned long *pinned_bitmap; /* one bit per page (the RFC oversizes it) */
	kvm_pfn_t *pfns;
};

static void sev_unpin_pfn(struct kvm *kvm, struct kvm_sev_info *sev, kvm_pfn_t pfn)
{
	struct sim_page *page = sim_pfn_to_page(kvm->host, pfn);

	WARN_ON_ONCE(!page);
	sim_unpin_user_page(kvm->host, page);
	if (sev) {
		atomic64_dec(&sev->pages_pinned);
		atomic64_inc(&sev->pins_dropped);
	}
}

/* ======================== the fault path ======================== */

/* sev_pin_pfn(): kvm_x86_ops.pin_pfn, under mmu_lock (patch 5/9). */
static bool sev_pin_pfn(struct kvm_vcpu *vcpu, struct kvm_memory_slot *slot, kvm_pfn_t pfn,
			hva_t hva, bool write, int level)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	struct sev_memslot_pins *pins = slot->arch_pins;
	unsigned long npages, rel_gfn;
	struct sim_page *page;
	bool ret = true;
	kvm_pfn_t old;
	long n;

	if (!sev)
		return true;
	if (WARN_ON_ONCE(!pins) || WARN_ON_ONCE(level > PG_LEVEL_1G))
		return false;
	/* One pin per mapping: of the page at the start of the huge page. */
	npages = KVM_PAGES_PER_HPAGE(level);
	hva = ALIGN_DOWN(hva, npages << PAGE_SHIFT);
	rel_gfn = (hva - slot->userspace_addr) >> PAGE_SHIFT;
	if (WARN_ON_ONCE(rel_gfn >= pins->npages))
		return false;

	spin_lock(&pins->lock);
	if (test_bit(rel_gfn, pins->pinned_bitmap)) {
		old = pins->pfns[rel_gfn];
		if (old == pfn)
			goto out;
		/* The hva maps another page now: the old one goes back, flushed. */
		sev_clflush_pfns(sev, old, npages);
		sev_unpin_pfn(kvm, sev, old);
		clear_bit(rel_gfn, pins->pinned_bitmap);
		pins->nr_pinned--;
	}
	n = sim_pin_user_pages_fast_only(kvm->mm, hva, 1,
					 SIM_FOLL_LONGTERM | (write ? SIM_FOLL_WRITE : 0), &page);
	if (n != 1) {
		ret = false;
		goto out;
	}
	/* The fault's own pin holds the page, so GUP must find that very pfn. */
	if (WARN_ON_ONCE(sim_page_to_pfn(kvm->host, page) != pfn)) {
		sim_unpin_user_page(kvm->host, page);
		ret = false;
		goto out;
	}
	/* The page passes from the host to the encrypted guest (no SME_COHERENT). */
	sev_clflush_pfns(sev, pfn, npages);
	pins->pfns[rel_gfn] = pfn;
	set_bit(rel_gfn, pins->pinned_bitmap);
	pins->nr_pinned++;
	atomic64_inc(&sev->pages_pinned);
	atomic64_inc(&sev->pins_taken);
out:
	spin_unlock(&pins->lock);
	return ret;
}

/* ======================== memslot metadata ======================== */

static void sev_memslot_pins_free(struct sev_memslot_pins *pins)
{
	kvfree(pins->pinned_bitmap);
	kvfree(pins->pfns);
	kfree(pins);
}

/* Unpin every recorded pfn; the caller flushed.  Returns how many. */
static unsigned long sev_memslot_unpin_all(struct kvm *kvm, struct kvm_sev_info *sev,
					   struct sev_memslot_pins *pins)
{
	unsigned long i, n = 0;

	spin_lock(&pins->lock);
	for_each_set_bit(i, pins->pinned_bitmap, pins->npages) {
		clear_bit(i, pins->pinned_bitmap);
		WARN_ON_ONCE(!pins->pfns[i]);
		sev_unpin_pfn(kvm, sev, pins->pfns[i]);
		pins->pfns[i] = 0;
		n++;
	}
	WARN_ON_ONCE(n != pins->nr_pinned);
	pins->nr_pinned = 0;
	spin_unlock(&pins->lock);
	return n;
}

/*
 * sev_alloc_memslot_metadata() (patches 4/9, 5/9): nothing for a VM that
 * is not SEV, so slots created before KVM_SEV_INIT stay unencrypted.
 */
static int sev_alloc_memslot_metadata(struct kvm *kvm, const struct kvm_memory_slot *old,
				      struct kvm_memory_slot *new, enum kvm_mr_change change)
{
	struct sev_memslot_pins *pins;

	lockdep_assert_held(&kvm->slots.slots_lock);
	if (!sev_guest(kvm))
		return 0;
	if (change == KVM_MR_FLAGS_ONLY) {
		/* Deviation (b): the metadata was copied, keep the flag with it. */
		if (old->flags & KVM_MEMSLOT_ENCRYPTED)
			new->flags |= KVM_MEMSLOT_ENCRYPTED;
		return 0;
	}
	if (change != KVM_MR_CREATE && change != KVM_MR_MOVE)
		return 0;
	/* A move keeps hva and size: the pins still name the slot's pages. */
	if (change == KVM_MR_MOVE && old->arch_pins) {
		pins = old->arch_pins;
		WARN_ON_ONCE(pins->npages != new->npages);
		new->arch_pins = pins;
		new->flags |= KVM_MEMSLOT_ENCRYPTED;
		return 0;
	}
	pins = kzalloc(sizeof(*pins), GFP_KERNEL_ACCOUNT);
	if (!pins)
		return -ENOMEM;
	spin_lock_init(&pins->lock);
	pins->npages = new->npages;
	pins->owner = new;
	pins->pinned_bitmap =
		kvcalloc(BITS_TO_LONGS(new->npages), sizeof(long), GFP_KERNEL_ACCOUNT);
	pins->pfns = kvcalloc(new->npages, sizeof(kvm_pfn_t), GFP_KERNEL_ACCOUNT);
	if (!pins->pinned_bitmap || !pins->pfns) {
		sev_memslot_pins_free(pins);
		return -ENOMEM;
	}
	new->arch_pins = pins;
	new->flags |= KVM_MEMSLOT_ENCRYPTED;
	return 0;
}

/* The new slot is live and the old one unreachable: the metadata is the new one's. */
static void sev_commit_memslot(struct kvm *kvm, const struct kvm_memory_slot *new,
			       enum kvm_mr_change change)
{
	struct sev_memslot_pins *pins = new->arch_pins;

	if (pins && (change == KVM_MR_MOVE || change == KVM_MR_FLAGS_ONLY))
		pins->owner = new;
}

/*
 * sev_free_memslot(): one WBINVD, then every recorded pfn unpinned.  Keyed
 * on the metadata, not on sev_guest(): a migrated source is no longer SEV
 * (its pins moved away, rule 4), and VM destroy unpins before the SEV
 * state goes (sev_memslot_vm_destroy()).
 */
static void sev_free_memslot(struct kvm *kvm, struct kvm_memory_slot *slot)
{
	struct sev_memslot_pins *pins = slot->arch_pins;
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);

	if (!pins)
		return;
	slot->arch_pins = NULL;
	if (pins->owner != slot)
		return;
	if (READ_ONCE(pins->nr_pinned)) {
		if (!WARN_ON_ONCE(!sev))
			sev_wbinvd_on_all_cpus(sev);
		sev_memslot_unpin_all(kvm, sev, pins);
	}
	sev_memslot_pins_free(pins);
}

static const struct kvm_x86_demand_pin_ops sev_demand_pin_ops = {
	.pin_pfn = sev_pin_pfn,
	.alloc_memslot_metadata = sev_alloc_memslot_metadata,
	.commit_memslot = sev_commit_memslot,
	.free_memslot = sev_free_memslot,
};

int sev_memslot_pin_enable(struct kvm *kvm)
{
	if (!sev_guest(kvm))
		return -EINVAL;
	kvm->demand_pin_ops = &sev_demand_pin_ops;
	return 0;
}

/* ======================== VM lifetime ======================== */

/* Every pin of every slot (the caller flushed), and the pins a migration brought. */
void sev_memslot_vm_destroy(struct kvm *kvm)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	struct kvm_memory_slot *slot;
	struct kvm_memslots *slots;
	int as_id, bkt;

	lockdep_assert_held(&kvm->lock);
	if (!kvm->demand_pin_ops)
		return;
	mutex_lock(&kvm->slots.slots_lock);
	for (as_id = 0; as_id < kvm_arch_nr_memslot_as_ids(kvm); as_id++) {
		slots = kvm_memslots_as(&kvm->slots, as_id);
		kvm_for_each_memslot(slot, bkt, slots) {
			if (slot->arch_pins)
				sev_memslot_unpin_all(kvm, sev, slot->arch_pins);
		}
	}
	mutex_unlock(&kvm->slots.slots_lock);
	if (sev->moved_pins) {
		sim_unpin_user_pages(kvm->host, sev->moved_pins, sev->nr_moved_pins);
		atomic64_sub(sev->nr_moved_pins, &sev->pages_pinned);
		atomic64_add(sev->nr_moved_pins, &sev->pins_dropped);
		kvfree(sev->moved_pins);
		sev->moved_pins = NULL;
		sev->nr_moved_pins = 0;
	}
}

/*
 * Intra-host migration (sev_migrate.c): the pins @src's slots hold become
 * @sev's (the context moving to the destination), as one array unpinned at
 * the destination's destroy; the source's slots keep their metadata, empty.
 * Both VMs' kvm->lock held, @src's vCPUs stopped.  -ENOMEM changes nothing.
 */
int sev_memslot_move_pins(struct kvm *src, struct kvm_sev_info *sev)
{
	struct kvm_memory_slot *slot;
	struct sev_memslot_pins *pins;
	struct kvm_memslots *slots;
	unsigned long total = 0, n, i;
	struct sim_page **pages;
	int as_id, bkt;

	lockdep_assert_held(&src->lock);
	if (!src->demand_pin_ops)
		return 0;
	mutex_lock(&src->slots.slots_lock);
	for (as_id = 0; as_id < kvm_arch_nr_memslot_as_ids(src); as_id++) {
		slots = kvm_memslots_as(&src->slots, as_id);
		kvm_for_each_memslot(slot, bkt, slots) {
			pins = slot->arch_pins;
			if (pins)
				total += pins->nr_pinned;
		}
	}
	if (!total) {
		mutex_unlock(&src->slots.slots_lock);
		return 0;
	}
	pages = kvmalloc_array(sev->nr_moved_pins + total, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages) {
		mutex_unlock(&src->slots.slots_lock);
		return -ENOMEM;
	}
	n = sev->nr_moved_pins;
	if (n)
		memcpy(pages, sev->moved_pins, n * sizeof(*pages));
	for (as_id = 0; as_id < kvm_arch_nr_memslot_as_ids(src); as_id++) {
		slots = kvm_memslots_as(&src->slots, as_id);
		kvm_for_each_memslot(slot, bkt, slots) {
			pins = slot->arch_pins;
			if (!pins)
				continue;
			spin_lock(&pins->lock);
			for_each_set_bit(i, pins->pinned_bitmap, pins->npages) {
				clear_bit(i, pins->pinned_bitmap);
				pages[n++] = sim_pfn_to_page(src->host, pins->pfns[i]);
				pins->pfns[i] = 0;
			}
			pins->nr_pinned = 0;
			spin_unlock(&pins->lock);
		}
	}
	mutex_unlock(&src->slots.slots_lock);
	kvfree(sev->moved_pins);
	sev->moved_pins = pages;
	sev->nr_moved_pins = n;
	return 0;
}

/* ======================== launch through the MMU ======================== */

/* The firmware wrote the pages: dirty; the array goes, the pins stay the memslots'. */
void sev_release_mmu_pinned(struct kvm *kvm, struct sim_page **pages, unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++) {
		sim_set_page_dirty(kvm->host, pages[i]);
		sim_mark_page_accessed(kvm->host, pages[i]);
	}
	kvfree(pages);
}

/* ======================== accounting ======================== */

/*
 * KVM_MEMORY_ENCRYPT_REG_REGION under demand pinning: only the
 * RLIMIT_MEMLOCK check and charge (pages_to_lock); kvm->lock held.
 */
int sev_memslot_register_region(struct kvm *kvm, unsigned long addr, unsigned long size)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	unsigned long npages;
	int r;

	r = sev_memlock_charge(kvm, addr, size, &npages);
	if (r)
		return r;
	sev->pages_locked += npages;
	return 0;
}

/*
 * UNREG_REGION: subtract, no lookup of the range, no WBINVD (the pins are
 * the memslots').  mmusim refuses to uncharge more than is charged
 * (-EINVAL): the RFC does not say, and an underflow would lift the limit.
 */
int sev_memslot_unregister_region(struct kvm *kvm, unsigned long addr, unsigned long size)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	unsigned long npages;

	lockdep_assert_held(&kvm->lock);
	if (size == 0 || addr + size < addr)
		return -EINVAL;
	npages = ((addr + size - 1) >> PAGE_SHIFT) - (addr >> PAGE_SHIFT) + 1;
	if (npages > sev->pages_locked)
		return -EINVAL;
	sev->pages_locked -= npages;
	return 0;
}

/*
 * The end of a launch command's sev_pin_memory(): under demand pinning a
 * successful command's pins are kept on the regions list (the RFC's
 * pinned_regions_list) until VM destroy, since the firmware encrypted the
 * pages in place; otherwise, and on failure, they are dropped now.
 */
void sev_release_pinned_memory(struct kvm *kvm, struct sim_page **pages, unsigned long npages,
			       bool failed)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	struct enc_region *region;

	lockdep_assert_held(&kvm->lock);
	if (failed || sev->pin_strategy != MMUSIM_SEV_PIN_MEMSLOT) {
		sev_unpin_memory(kvm, pages, npages);
		return;
	}
	region = kzalloc(sizeof(*region), GFP_KERNEL_ACCOUNT);
	if (!region) {
		/* The command is done; all that can be done is not to leak. */
		pr_warn("SEV: no memory to keep %lu launch pages pinned\n", npages);
		sev_unpin_memory(kvm, pages, npages);
		return;
	}
	region->npages = npages;
	region->pages = pages;
	region->size = npages << PAGE_SHIFT;
	list_add_tail(&region->list, &sev->regions_list);
}
