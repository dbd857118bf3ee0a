// SPDX-License-Identifier: GPL-2.0-only
/*
 * SEV's implementation of the pinned-SPTE hooks (Sean Christopherson's RFC
 * "KVM: x86/mmu: Introduce pinned SPTEs framework", 2020, patch 5/8; not
 * merged), on the legacy MMU: a fault that maps a page of an SEV guest
 * pins it for as long as the leaf exists.
 *
 *   sev_pin_spte()          an extra page reference (get_page(), not a
 *                           FOLL_PIN), and a clflush of the mapping's
 *                           range: the page passes from the host to the
 *                           encrypted guest
 *   sev_drop_pinned_spte()  put_page() of that reference, when the leaf is
 *                           dropped (mmu_spte_clear_track_bits(), the one
 *                           place a leaf goes)
 *
 * This is the first step of issue 14 item 3: the hooks and the refcount
 * lifecycle of the RFC's §3.5.  The zapped-but-pinned SPTE state, which
 * keeps the pin over MMU-notifier and memslot zaps, is not built yet, so
 * any zap unpins; tests/test_sev_spte.c shows what that costs (a swap-out
 * zaps first, then takes the page) and what the extra reference already
 * stops (migration and compaction, which refuse referenced pages).
 *
 * Called under mmu_lock (write) by the legacy MMU; they take only the
 * memory controller's leaf lock (sev_clflush_pages()).
 */
#include "mmusim_env.h"
#include "sev/sev.h"

static bool sev_pin_spte(struct kvm_vcpu *vcpu, gfn_t gfn, int level, kvm_pfn_t pfn)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	u64 nr = KVM_PAGES_PER_HPAGE(level);
	struct sim_page *page;

	if (!sev)
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

static const struct kvm_x86_pin_ops sev_pin_ops = {
	.pin_spte = sev_pin_spte,
	.drop_pinned_spte = sev_drop_pinned_spte,
};

int sev_spte_pin_enable(struct kvm *kvm)
{
	/* The RFC is written for the legacy MMU; the TDP MMU calls no hook. */
	if (kvm->tdp_mmu_enabled || !sev_guest(kvm))
		return -EINVAL;
	kvm->pin_ops = &sev_pin_ops;
	return 0;
}
