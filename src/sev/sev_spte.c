// SPDX-License-Identifier: GPL-2.0-only
/*
 * SEV's implementation of the pinned-SPTE hooks (Sean Christopherson's RFC
 * "KVM: x86/mmu: Introduce pinned SPTEs framework", 2020, patch 5/8; not
 * merged): with mmusim_vm_config.sev_pin = MMUSIM_SEV_PIN_SPTE, a fault
 * that maps a page of an SEV guest pins it for as long as the leaf exists,
 * present or zapped-but-pinned.
 *
 *   sev_pin_spte()          an extra page reference (get_page(), not a
 *                           FOLL_PIN), and a clflush of the mapping's
 *                           range: the page passes from the host to the
 *                           encrypted guest
 *   sev_drop_pinned_spte()  put_page() of that reference, when the leaf is
 *                           dropped (mmu_spte_clear_track_bits(), the one
 *                           place a leaf goes: its shadow page freed, its
 *                           memslot gone, the VM destroyed)
 *   sev_zap_pinned_spte()   the RFC's optional notifications, which SEV
 *   sev_unzap_pinned_spte() does not need: counted (pins_zapped/unzapped)
 *
 * Rules:
 *  1. A pin is the extra reference, so a host that moves only pages it
 *     holds every reference to (migration, compaction, swap's refcount
 *     freeze, THP split and collapse) leaves a pinned page where it is.
 *  2. The shared zero page is never pinned (deviation): it holds no
 *     ciphertext and the host never moves it, but the guest's first write
 *     COWs it away, so a pinned zero-page leaf would be refaulted to another
 *     pfn, which the RFC's unzap forbids (it WARNs).
 *  3. No flush on the drop: the RFC's SEV side had none either (the guest
 *     may still have dirty lines of the page); sev_vm_destroy()'s WBINVD
 *     comes before the leaves go only at teardown.  What an unflushed drop
 *     does while the guest runs is the checker's UNFLUSHED report.
 *
 * Called under mmu_lock: held for write by the legacy MMU, for read by the
 * TDP MMU (so concurrently: the counters are atomic, the page reference
 * too); they take only the memory controller's leaf lock
 * (sev_clflush_pfns()).
 */
#include "mmusim_env.h"
#include "sev/sev.h"

static bool sev_pin_spte(struct kvm_vcpu *vcpu, gfn_t gfn, int level, kvm_pfn_t pfn)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	u64 nr = KVM_PAGES_PER_HPAGE(level);
	struct sim_page *page;

	if (!sev || sim_page_is_zero(kvm->mm, pfn))
		return false;
	page = sim_pfn_to_page(kvm->host, pfn);
	if (!page)
		return false;
	sim_get_page(kvm->host, page);
	/* clflush_cache_range(page_address, page_level_size(level)). */
	sev_clflush_pfns(sev, pfn & ~(nr - 1), nr);
	atomic64_inc(&sev->pages_pinned);
	atomic64_inc(&sev->pins_taken);
	return true;
}

static void sev_drop_pinned_spte(struct kvm *kvm, gfn_t gfn, int level, kvm_pfn_t pfn)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);

	if (WARN_ON_ONCE(!sev))
		return;
	sim_put_page(kvm->host, sim_pfn_to_page(kvm->host, pfn));
	atomic64_dec(&sev->pages_pinned);
	atomic64_inc(&sev->pins_dropped);
}

static void sev_zap_pinned_spte(struct kvm *kvm, gfn_t gfn, int level)
{
	atomic64_inc(&to_kvm_sev_info(kvm)->pins_zapped);
}

static void sev_unzap_pinned_spte(struct kvm *kvm, gfn_t gfn, int level)
{
	atomic64_inc(&to_kvm_sev_info(kvm)->pins_unzapped);
}

static const struct kvm_x86_pin_ops sev_pin_ops = {
	.pin_spte = sev_pin_spte,
	.drop_pinned_spte = sev_drop_pinned_spte,
	.zap_pinned_spte = sev_zap_pinned_spte,
	.unzap_pinned_spte = sev_unzap_pinned_spte,
};

int sev_spte_pin_enable(struct kvm *kvm)
{
	/* Either MMU: the RFC's legacy MMU, and the TDP MMU to show what breaks. */
	if (!sev_guest(kvm))
		return -EINVAL;
	kvm->pin_ops = &sev_pin_ops;
	return 0;
}
