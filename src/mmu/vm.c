// SPDX-License-Identifier: GPL-2.0-only
/*
 * The public VM API (include/mmusim/vm.h): what the VM file descriptor's
 * ioctls are in KVM, plus mmusim's own knobs, stats and dump.
 *
 * Rules:
 *  - Every call takes the handle a caller may have got wrong: a NULL VM or
 *    vCPU is -EINVAL (void calls do nothing), never a crash.
 *  - uapi-shaped calls (those taking a <linux/kvm.h> structure) treat that
 *    structure as user memory, as the ioctl does: it is copied in (and out)
 *    with copy_from_user()/copy_to_user(), so a bad pointer is -EFAULT, and
 *    then the same validation as KVM's runs, in KVM's order, on the copy.
 *  - No lock is taken here; the kvm_* functions called take what they need.
 */
#include "mmusim_env.h"
#include <mmusim/vm.h>
#include "mmu/tdp_mmu.h"
#include "mmu/shadow_mmu.h"

int mmusim_vm_create(struct sim_host *host, struct sim_mm *mm, const struct mmusim_vm_config *cfg,
		     struct mmusim_vm **vmp)
{
	struct kvm *kvm;
	int r;

	if (!vmp)
		return -EINVAL;
	r = kvm_create_vm(host, mm, cfg, &kvm);
	if (r)
		return r;
	*vmp = kvm_to_mmusim(kvm);
	return 0;
}

void mmusim_vm_destroy(struct mmusim_vm *vm)
{
	if (vm)
		kvm_destroy_vm(mmusim_to_kvm(vm));
}

/* ----------------------------------------------------------------------
 * uapi-shaped calls
 */

int mmusim_vm_set_user_memory_region(struct mmusim_vm *vm,
				     const struct kvm_userspace_memory_region *mem)
{
	struct kvm_userspace_memory_region m;

	if (!vm)
		return -EINVAL;
	if (copy_from_user(&m, mem, sizeof(m)))
		return -EFAULT;
	/* kvm_vm_ioctl() of a dead VM (a migrated SEV source). */
	if (READ_ONCE(mmusim_to_kvm(vm)->vm_dead))
		return -EIO;
	return kvm_set_memory_region(&mmusim_to_kvm(vm)->slots, &m);
}

int mmusim_vm_get_dirty_log(struct mmusim_vm *vm, struct kvm_dirty_log *log)
{
	struct kvm_dirty_log l;

	if (!vm)
		return -EINVAL;
	if (copy_from_user(&l, log, sizeof(l)))
		return -EFAULT;
	return kvm_get_dirty_log_protect(&mmusim_to_kvm(vm)->slots, &l);
}

int mmusim_vm_clear_dirty_log(struct mmusim_vm *vm, struct kvm_clear_dirty_log *log)
{
	struct kvm_clear_dirty_log l;

	if (!vm)
		return -EINVAL;
	if (copy_from_user(&l, log, sizeof(l)))
		return -EFAULT;
	return kvm_clear_dirty_log_protect(&mmusim_to_kvm(vm)->slots, &l);
}

/* The pre-KVM_ENABLE_CAP helper: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 with args[0] = @flags. */
int mmusim_vm_enable_manual_dirty_log_protect(struct mmusim_vm *vm, u64 flags)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, .args = { flags } };

	if (!vm)
		return -EINVAL;
	return kvm_vm_ioctl_enable_cap_generic(mmusim_to_kvm(vm), &cap);
}

int mmusim_vm_check_extension(struct mmusim_vm *vm, long cap)
{
	if (!vm)
		return -EINVAL;
	return kvm_vm_ioctl_check_extension_generic(mmusim_to_kvm(vm), cap);
}

int mmusim_vm_enable_cap(struct mmusim_vm *vm, const struct kvm_enable_cap *cap)
{
	struct kvm_enable_cap c;

	if (!vm)
		return -EINVAL;
	if (copy_from_user(&c, cap, sizeof(c)))
		return -EFAULT;
	return kvm_vm_ioctl_enable_cap_generic(mmusim_to_kvm(vm), &c);
}

int mmusim_vm_get_memslot(struct mmusim_vm *vm, u32 slot, struct kvm_userspace_memory_region *out)
{
	struct kvm_userspace_memory_region m;
	int r;

	if (!vm)
		return -EINVAL;
	r = kvm_get_user_memory_region(&mmusim_to_kvm(vm)->slots, slot, &m);
	if (r)
		return r;
	if (copy_to_user(out, &m, sizeof(m)))
		return -EFAULT;
	return 0;
}

/* ----------------------------------------------------------------------
 * Handles
 */

struct mmusim_vcpu *mmusim_vm_vcpu(struct mmusim_vm *vm, int idx)
{
	struct kvm *kvm = mmusim_to_kvm(vm);

	/* Acquire: a vCPU mmusim_vm_create_vcpu() added is seen whole. */
	if (!kvm || idx < 0 || idx >= smp_load_acquire(&kvm->nr_vcpus))
		return NULL;
	return kvm_vcpu_to_mmusim(kvm->vcpus[idx]);
}

int mmusim_vm_nr_vcpus(struct mmusim_vm *vm)
{
	if (!vm)
		return -EINVAL;
	return smp_load_acquire(&mmusim_to_kvm(vm)->nr_vcpus);
}

int mmusim_vm_create_vcpu(struct mmusim_vm *vm, struct mmusim_vcpu **vcpup)
{
	struct kvm *kvm = mmusim_to_kvm(vm);
	struct kvm_vcpu *vcpu;
	int r;

	if (!kvm || !vcpup)
		return -EINVAL;
	r = kvm_vm_call_begin(kvm);
	if (r)
		return r;
	r = kvm_vm_ioctl_create_vcpu(kvm, &vcpu);
	kvm_vm_call_end(kvm);
	if (!r)
		*vcpup = kvm_vcpu_to_mmusim(vcpu);
	return r;
}

/* ----------------------------------------------------------------------
 * MMU operations and knobs
 */

int mmusim_vm_zap_gfn_range(struct mmusim_vm *vm, int as_id, gfn_t start, gfn_t end)
{
	if (!vm || as_id < -1 || as_id >= kvm_arch_nr_memslot_as_ids(mmusim_to_kvm(vm)) ||
	    start >= end)
		return -EINVAL;
	if (as_id < 0)
		kvm_zap_gfn_range(mmusim_to_kvm(vm), start, end);
	else
		__kvm_zap_gfn_range(mmusim_to_kvm(vm), as_id, start, end);
	return 0;
}

int mmusim_vm_reset_dirty_rings(struct mmusim_vm *vm)
{
	if (!vm)
		return -EINVAL;
	return kvm_vm_ioctl_reset_dirty_pages(mmusim_to_kvm(vm));
}

int mmusim_vcpu_dirty_ring(struct mmusim_vcpu *v, struct kvm_dirty_gfn **ring, u32 *nr_entries)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);

	if (!vcpu || !ring || !nr_entries)
		return -EINVAL;
	if (!vcpu->kvm->dirty_ring_size)
		return -ENXIO;
	*ring = vcpu->dirty_ring.dirty_gfns;
	*nr_entries = vcpu->dirty_ring.size;
	return 0;
}

int mmusim_vm_recover_nx_huge_pages(struct mmusim_vm *vm)
{
	if (!vm)
		return -EINVAL;
	kvm_recover_nx_huge_pages(mmusim_to_kvm(vm));
	return 0;
}

void mmusim_vm_zap_all_fast(struct mmusim_vm *vm)
{
	struct kvm *kvm = mmusim_to_kvm(vm);

	if (!kvm)
		return;
	mutex_lock(&kvm->slots.slots_lock);
	kvm_mmu_zap_all_fast(kvm);
	mutex_unlock(&kvm->slots.slots_lock);
}

int mmusim_vm_set_fault_exit_ns(struct mmusim_vm *vm, u64 ns)
{
	if (!vm || ns > 1000000000ULL)
		return -EINVAL;
	WRITE_ONCE(mmusim_to_kvm(vm)->fault_exit_ns, ns);
	return 0;
}

int mmusim_vm_race_next_fault(struct mmusim_vm *vm, int point, mmusim_fault_race_fn fn, void *arg)
{
	struct kvm *kvm = mmusim_to_kvm(vm);

	if (!kvm || point < 0 || point >= MMUSIM_FAULT_RACE_NR)
		return -EINVAL;
	WRITE_ONCE(kvm->fault_race.fn, NULL);
	WRITE_ONCE(kvm->fault_race.arg, arg);
	WRITE_ONCE(kvm->fault_race.point, point);
	smp_store_release(&kvm->fault_race.fn, fn);
	return 0;
}

/* ----------------------------------------------------------------------
 * Stats and dump
 */

int mmusim_vm_get_stats(struct mmusim_vm *vm, struct mmusim_vm_stats *st)
{
	struct kvm *kvm = mmusim_to_kvm(vm);
	int i;

	if (!kvm || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->pages_4k = atomic64_read(&kvm->stat.pages[0]);
	st->pages_2m = atomic64_read(&kvm->stat.pages[1]);
	st->pages_1g = atomic64_read(&kvm->stat.pages[2]);
	st->tdp_mmu_pages = atomic64_read(&kvm->tdp_mmu_pages);
	st->shadow_mmu_pages = READ_ONCE(kvm->n_used_mmu_pages);
	st->mmu_shadow_zapped = atomic64_read(&kvm->stat.mmu_shadow_zapped);
	st->max_mmu_rmap_size = atomic64_read(&kvm->stat.max_mmu_rmap_size);
	st->remote_tlb_flush = atomic64_read(&kvm->stat.remote_tlb_flush);
	st->remote_tlb_flush_requests = atomic64_read(&kvm->stat.remote_tlb_flush_requests);
	st->root_allocs = atomic64_read(&kvm->stat.root_allocs);
	st->fast_zaps = atomic64_read(&kvm->stat.fast_zaps);
	st->huge_splits = atomic64_read(&kvm->stat.huge_splits);
	st->huge_recoveries = atomic64_read(&kvm->stat.huge_recoveries);
	st->pinned_sptes_skipped = atomic64_read(&kvm->stat.pinned_sptes_skipped);
	st->nx_lpage_splits = READ_ONCE(kvm->nx_lpage_splits);
	st->mmio_gen_wraps = atomic64_read(&kvm->stat.mmio_gen_wraps);
	st->mmu_invalidate_seq = READ_ONCE(kvm->mmu_invalidate_seq);
	st->mmu_lock_wait_ns = env_rwlock_wait_ns(&kvm->mmu_lock);
	for (i = 0; i < kvm->nr_vcpus; i++) {
		const struct kvm_vcpu_stat *s = &kvm->vcpus[i]->stat;

		st->pf_taken += READ_ONCE(s->pf_taken);
		st->pf_fixed += READ_ONCE(s->pf_fixed);
		st->pf_emulate += READ_ONCE(s->pf_emulate);
		st->pf_spurious += READ_ONCE(s->pf_spurious);
		st->pf_fast += READ_ONCE(s->pf_fast);
		st->pf_mmio_spte_created += READ_ONCE(s->pf_mmio_spte_created);
		st->pf_retry += READ_ONCE(s->pf_retry);
		st->tlb_flush += READ_ONCE(s->tlb_flush);
		st->accesses += READ_ONCE(s->accesses);
		st->tlb_hits += READ_ONCE(s->tlb_hits);
		st->stale_tlb_uses += READ_ONCE(s->stale_tlb_uses);
		st->psc_walks += READ_ONCE(s->psc_walks);
		st->mmio_exits += READ_ONCE(s->mmio_exits);
		st->halt_exits += READ_ONCE(s->halt_exits);
		st->signal_exits += READ_ONCE(s->signal_exits);
	}
	return 0;
}

int mmusim_vm_dump(struct mmusim_vm *vm, char *buf, size_t size)
{
	struct kvm *kvm = mmusim_to_kvm(vm);

	if (!kvm || (!buf && size))
		return -EINVAL;
	if (kvm->tdp_mmu_enabled)
		return kvm_tdp_mmu_dump(kvm, buf, size);
	return kvm_shadow_mmu_dump(kvm, buf, size);
}
