// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intra-host migration of an SEV guest: KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM,
 * as sev_vm_move_enc_context_from() of Linux 6.12 (arch/x86/kvm/svm/sev.c)
 * has it.  A destination VM on the same host takes over the source's
 * encryption context: the ASID and key (so the ciphertext in the frames
 * still decrypts), the firmware handle, pages_locked and the regions list,
 * and for SEV-ES the vCPUs' VMSAs; the source stops being SEV and is dead
 * (kvm_vm_dead(): every later call on it is -EIO).
 *
 * Checks, in 6.12's order: the same VM -EINVAL; either VM already in a
 * migration -EBUSY (migration_in_progress, taken with cmpxchg so that two
 * VMs migrating to each other cannot deadlock); the destination SEV or the
 * source not -EINVAL (VM types and SNP are not modelled); both VMs' vCPUs
 * are then held (6.12 takes every vcpu->mutex: here the calls in flight
 * drain and new ones wait, kvm_vm_freeze_calls()); for an SEV-ES source the
 * vCPU counts must match and every source vCPU's state must be protected
 * (LAUNCH_UPDATE_VMSA done), else -EINVAL.  vCPU creation is never in
 * progress here (mmusim_vm_create() makes them), so 6.12's -EBUSY for it
 * cannot happen.  mmusim adds: a destination on another host -EINVAL.
 *
 * The pins follow the source's strategy (docs/sev.md):
 *   UPFRONT, OFF  the regions list moves with the context (6.12)
 *   MEMSLOT       the source's memslot pins become the destination's, with
 *                 the launch pins on the list (Peter Gonda's review of the
 *                 RFC); the destination's slots that exist already were
 *                 created before it was SEV, so they stay unencrypted (the
 *                 RFC's invariant); slots it creates later pin
 *   SPTE          the pins belong to the source's SPTEs: the source's MMU
 *                 is zapped (dropping them while the context is still
 *                 there), and the destination pins on its own faults;
 *                 it needs the legacy MMU, else -EINVAL
 *
 * Locks: migration_in_progress of both, then dst->lock, then src->lock
 * (6.12's SINGLE_DEPTH_NESTING), then the vCPU freezes; the memslot pin
 * move takes src's slots_lock inside.
 */
#include "mmusim_env.h"
#include "sev/sev.h"
#include "vcpu/x86.h"

static int sev_lock_two_vms(struct kvm *dst, struct kvm *src)
{
	if (dst == src)
		return -EINVAL;
	if (atomic_cmpxchg(&dst->migration_in_progress, 0, 1))
		return -EBUSY;
	if (atomic_cmpxchg(&src->migration_in_progress, 0, 1)) {
		atomic_xchg(&dst->migration_in_progress, 0);
		return -EBUSY;
	}
	mutex_lock(&dst->lock);
	mutex_lock_nested(&src->lock, SINGLE_DEPTH_NESTING);
	return 0;
}

static void sev_unlock_two_vms(struct kvm *dst, struct kvm *src)
{
	mutex_unlock(&src->lock);
	mutex_unlock(&dst->lock);
	atomic_xchg(&src->migration_in_progress, 0);
	atomic_xchg(&dst->migration_in_progress, 0);
}

/* sev_check_source_vcpus(): a vanilla SEV source may differ in vCPU count. */
static int sev_check_source_vcpus(struct kvm *dst, struct kvm *src)
{
	int i;

	if (!sev_es_guest(src))
		return 0;
	if (src->nr_vcpus != dst->nr_vcpus)
		return -EINVAL;
	for (i = 0; i < src->nr_vcpus; i++)
		if (!READ_ONCE(kvm_vcpu_arch(src->vcpus[i])->guest_state_protected))
			return -EINVAL;
	return 0;
}

/* The strategy's part that can fail, before anything moved. */
static int sev_migrate_pins_prepare(struct kvm *dst, struct kvm *src, struct kvm_sev_info *sev)
{
	switch (sev->pin_strategy) {
	case MMUSIM_SEV_PIN_MEMSLOT:
		return sev_memslot_move_pins(src, sev);
	case MMUSIM_SEV_PIN_SPTE:
		if (dst->tdp_mmu_enabled)
			return -EINVAL;
		/* Every pinned leaf goes, and its pin with it, through the hooks. */
		kvm_mmu_zap_all(src);
		return 0;
	default:
		return 0;
	}
}

/* sev_migrate_from(): the context is @dst's from here on. */
static void sev_migrate_from(struct kvm *dst, struct kvm *src)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(src);
	int i;

	WRITE_ONCE(src->sev, NULL);
	sev->kvm = dst;
	/* Published whole, as KVM_SEV_INIT publishes it (the vCPU path reads it locklessly). */
	smp_store_release(&dst->sev, sev);
	if (sev->pin_strategy == MMUSIM_SEV_PIN_MEMSLOT) {
		mutex_lock(&dst->slots.slots_lock);
		WARN_ON_ONCE(sev_memslot_pin_enable(dst));
		mutex_unlock(&dst->slots.slots_lock);
	} else if (sev->pin_strategy == MMUSIM_SEV_PIN_SPTE) {
		WARN_ON_ONCE(sev_spte_pin_enable(dst));
	}
	if (!sev->es_active)
		return;
	/* The VMSAs (sev->vmsa[], by vCPU index) now run on the destination's vCPUs. */
	for (i = 0; i < dst->nr_vcpus; i++) {
		WRITE_ONCE(kvm_vcpu_arch(dst->vcpus[i])->guest_state_protected, true);
		WRITE_ONCE(kvm_vcpu_arch(src->vcpus[i])->guest_state_protected, false);
	}
}

static int sev_vm_move_enc_context_from(struct kvm *dst, struct kvm *src)
{
	int ret;

	ret = sev_lock_two_vms(dst, src);
	if (ret)
		return ret;
	ret = -EINVAL;
	if (sev_guest(dst) || !sev_guest(src) || dst->host != src->host)
		goto out_unlock;
	kvm_vm_freeze_calls(dst);
	kvm_vm_freeze_calls(src);
	ret = sev_check_source_vcpus(dst, src);
	if (ret)
		goto out_thaw;
	ret = sev_migrate_pins_prepare(dst, src, to_kvm_sev_info(src));
	if (ret)
		goto out_thaw;
	sev_migrate_from(dst, src);
	/* kvm_vm_dead(): set before the thaw, so the source's waiters fail. */
	WRITE_ONCE(src->vm_dead, true);
	ret = 0;
out_thaw:
	kvm_vm_thaw_calls(src);
	kvm_vm_thaw_calls(dst);
out_unlock:
	sev_unlock_two_vms(dst, src);
	return ret;
}

int mmusim_vm_move_enc_context_from(struct mmusim_vm *dst, struct mmusim_vm *src)
{
	if (!dst)
		return -EINVAL;
	if (!src)
		return -EBADF; /* the source fd that names no VM */
	if (READ_ONCE(mmusim_to_kvm(dst)->vm_dead))
		return -EIO;
	return sev_vm_move_enc_context_from(mmusim_to_kvm(dst), mmusim_to_kvm(src));
}
