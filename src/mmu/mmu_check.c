// SPDX-License-Identifier: GPL-2.0-only
/*
 * The invariant checker behind mmusim_vm_check(): what KVM's MMU audit
 * (CONFIG_KVM_MMU_AUDIT, removed in 5.x) and the kvm selftests assert, run
 * over the whole VM.
 *
 * With mmu_lock held for write (only lockless A/D and W fix-ups move), it
 * walks every leaf of every root and checks that each present leaf is in a
 * legal SPTE state, maps the pfn the host maps at its memslot's hva unless
 * an invalidation in progress covers it, is writable only over a writable
 * host mapping, and that the pages_* stats equal the walk; the legacy MMU's
 * rmaps must hold exactly the leaves.  Callers hold nothing.
 */
#include "mmusim_env.h"
#include <mmusim/vm.h>
#include "mmu/tdp_mmu.h"
#include "mmu/shadow_mmu.h"

struct check_ctx {
	struct kvm_tdp_mmu_walk_cb cb;
	struct kvm *kvm;
	u64 leaves[KVM_NR_PAGE_SIZES];
	char *msg;
	size_t msg_size;
};

/*
 * Under mmu_lock an invalidation in progress always has a range: it is
 * added under the same mmu_lock hold that bumped in_progress (KVM 6.12's
 * __kvm_handle_hva_range() begins only at the first overlapping memslot,
 * and mmu_invalidate_retry_gfn() WARNs otherwise).  mmusim_vm_check()
 * reports the violation before walking.
 */
static bool invalidation_without_range(struct kvm *kvm)
{
	return kvm->mmu_invalidate_in_progress && (kvm->mmu_invalidate_range_start == INVALID_GPA ||
						   kvm->mmu_invalidate_range_end == INVALID_GPA);
}

static bool gfn_under_invalidation(struct kvm *kvm, gfn_t gfn, int level)
{
	gfn_t end = gfn + KVM_PAGES_PER_HPAGE(level);

	if (!kvm->mmu_invalidate_in_progress)
		return false;
	return gfn < kvm->mmu_invalidate_range_end && end > kvm->mmu_invalidate_range_start;
}

static int check_leaf(struct kvm_tdp_mmu_walk_cb *cb, int as_id, gfn_t gfn, u64 spte, int level,
		      bool invalid_root)
{
	struct check_ctx *c = container_of(cb, struct check_ctx, cb);
	struct kvm *kvm = c->kvm;
	struct kvm_memory_slot *slot;
	struct sim_host_pte_info info;
	int err;

	c->leaves[level - 1]++;
	err = spte_check_state(&kvm->masks, spte, level);
	if (err) {
		scnprintf(c->msg, c->msg_size, "gfn %#llx level %d spte %#llx: %s",
			  (unsigned long long)gfn, level, (unsigned long long)spte,
			  spte_check_reason(err));
		return -EUCLEAN;
	}
	if (is_mmio_spte(&kvm->masks, spte) || gfn_under_invalidation(kvm, gfn, level))
		return 0;

	/*
	 * A slot being deleted or moved is INVALID until its SPTEs are zapped;
	 * they must still match its memory.  A fast zap leaves invalid roots
	 * populated until they are zapped under the read lock, and their slots
	 * may already be gone.
	 */
	slot = __gfn_to_memslot(kvm_memslots_as(&kvm->slots, as_id), gfn);
	if (!slot && invalid_root)
		return 0;
	if (!slot) {
		scnprintf(c->msg, c->msg_size, "gfn %#llx level %d: present leaf without a memslot",
			  (unsigned long long)gfn, level);
		return -EUCLEAN;
	}
	/* The raw hva: gfn_to_hva_memslot() refuses INVALID slots. */
	if (sim_mm_lookup(kvm->mm, __gfn_to_hva_memslot(slot, gfn), &info) ||
	    info.pfn != spte_to_pfn(spte)) {
		scnprintf(c->msg, c->msg_size,
			  "gfn %#llx level %d: SPTE maps pfn %#llx, the host maps %#llx",
			  (unsigned long long)gfn, level, (unsigned long long)spte_to_pfn(spte),
			  (unsigned long long)info.pfn);
		return -EUCLEAN;
	}
	if (is_writable_pte(spte) && !info.writable) {
		scnprintf(c->msg, c->msg_size,
			  "gfn %#llx: writable SPTE over a read-only host mapping",
			  (unsigned long long)gfn);
		return -EUCLEAN;
	}
	return 0;
}

int mmusim_vm_check(struct mmusim_vm *vm, char *msg, size_t msg_size)
{
	struct kvm *kvm = mmusim_to_kvm(vm);
	struct check_ctx c = {
		.cb.leaf = check_leaf, .kvm = kvm, .msg = msg, .msg_size = msg_size
	};
	int idx, r, i;

	if (!kvm || (!msg && msg_size))
		return -EINVAL;
	if (msg_size)
		msg[0] = '\0';
	/* The write lock stops every SPTE change but lockless A/D and W fix-ups. */
	idx = srcu_read_lock(&kvm->slots.srcu);
	write_lock(&kvm->mmu_lock);
	if (invalidation_without_range(kvm)) {
		scnprintf(msg, msg_size, "invalidation in progress (%ld) without a range",
			  kvm->mmu_invalidate_in_progress);
		r = -EUCLEAN;
		goto out_unlock;
	}
	if (kvm->tdp_mmu_enabled)
		r = kvm_tdp_mmu_for_each_leaf(kvm, &c.cb);
	else
		r = kvm_shadow_mmu_for_each_leaf(kvm, &c.cb);
	for (i = 0; !r && i < KVM_NR_PAGE_SIZES; i++) {
		u64 stat = atomic64_read(&kvm->stat.pages[i]);

		if (stat != c.leaves[i]) {
			scnprintf(msg, msg_size, "pages stat level %d is %llu, a walk finds %llu",
				  i + 1, (unsigned long long)stat, (unsigned long long)c.leaves[i]);
			r = -EUCLEAN;
		}
	}
	if (!r && !kvm->tdp_mmu_enabled)
		r = kvm_shadow_mmu_audit_rmaps(kvm, c.leaves[0] + c.leaves[1] + c.leaves[2], msg,
					       msg_size);
	for (i = 0; !r && i < kvm->nr_vcpus; i++)
		r = kvm_vcpu_check_maps(kvm->vcpus[i], msg, msg_size);
out_unlock:
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->slots.srcu, idx);
	return r;
}
