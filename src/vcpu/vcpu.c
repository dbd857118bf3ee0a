// SPDX-License-Identifier: GPL-2.0-only
/*
 * The simulated CPU: what the hardware does with the TDP tables KVM builds.
 *
 * A guest access runs "in guest mode" on a vCPU:
 *   1. Instruction boundary: handle pending requests (TLB flush, drop
 *      obsolete roots, load a root) and acknowledge the kick sequence, so a
 *      kvm_make_all_cpus_request() waiting for this vCPU can return.
 *   2. TLB lookup; on a miss, a hardware walk of the TDP tables from the
 *      vCPU's root inside an RCU read-side section, checking permissions
 *      and setting Accessed/Dirty with a locked cmpxchg, as A/D assists do
 *      (a walk that loses the cmpxchg restarts).
 *   3. A failed walk is an EPT violation / NPT fault (or, for MMIO SPTEs, a
 *      misconfiguration / reserved-bit fault): the vCPU leaves guest mode
 *      and calls kvm_mmu_page_fault() with the synthesized error code, then
 *      retries the access.
 *
 * TLB entries stay valid until flushed, like hardware's: an SPTE zapped
 * without a TLB flush stays usable through the TLB.  With the TLB checker
 * on, every hit is compared with what the host maps at the memslot's hva;
 * a mismatch outside an in-progress invalidation is a stale translation,
 * counted in stale_tlb_uses and reported with a WARN.
 *
 * Rules: in guest mode the vCPU takes no lock that can wait on mmu_lock
 * (only RCU and SRCU read sides), so request senders can spin under
 * mmu_lock waiting for the acknowledgement.
 */
#include "mmusim_env.h"
#include <mmusim/vm.h>
#include "mmu/tdp_mmu.h"
#include "mmu/mmutrace.h"
#include "sev/sev.h"

#define TLB_R 1
#define TLB_W 2
#define TLB_X 4

struct kvm_vcpu_arch *kvm_vcpu_arch(struct kvm_vcpu *vcpu)
{
	return &vcpu->arch;
}

/* Not an error code the hardware reports: the walk stopped for a PML-full exit. */
#define PFERR_PML_FULL (~0ULL)

/*
 * vmx_flush_pml_buffer(): every logged gfn goes to the dirty log (bitmap or
 * ring) as kvm_vcpu_mark_page_dirty() does; gfns of slots not being logged
 * are dropped there.  Outside guest mode, SRCU held.
 */
void kvm_vcpu_flush_pml(struct kvm_vcpu *vcpu)
{
	int as_id = vcpu->smm ? 1 : 0;
	unsigned int i;

	for (i = 0; i < vcpu->pml_nr; i++) {
		gfn_t gfn = vcpu->pml_buf[i];

		kvm_vcpu_mark_page_dirty_in_slot(
			vcpu, kvm_vcpu_gfn_to_memslot(&vcpu->kvm->slots, &vcpu->slot_cache, as_id, gfn),
			gfn);
	}
	vcpu->pml_nr = 0;
}

/* Every exit to userspace flushes the log, as every VM exit does in KVM. */
void kvm_vcpu_flush_pml_on_exit(struct kvm_vcpu *vcpu)
{
	int idx;

	if (!vcpu->pml_nr)
		return;
	idx = srcu_read_lock(&vcpu->kvm->slots.srcu);
	kvm_vcpu_flush_pml(vcpu);
	srcu_read_unlock(&vcpu->kvm->slots.srcu, idx);
}

void kvm_vcpu_flush_tlb(struct kvm_vcpu *vcpu)
{
	int i;

	for (i = 0; i < SIM_TLB_ENTRIES; i++)
		vcpu->tlb[i].level = 0;
	kvm_vcpu_stat_inc(vcpu, tlb_flush);
}

static unsigned int tlb_index(gfn_t gfn, int level)
{
	gfn_t tag = gfn >> KVM_HPAGE_GFN_SHIFT(level);

	return (unsigned int)((tag ^ (tag >> 6) ^ (u64)level * 17) % SIM_TLB_ENTRIES);
}

static unsigned int access_bit(int type)
{
	return type == MMUSIM_ACCESS_WRITE ? TLB_W : type == MMUSIM_ACCESS_EXEC ? TLB_X : TLB_R;
}

/*
 * Guest mode is not preemptible, as KVM's vcpu_enter_guest() makes it: a
 * vCPU in guest mode answers a kick only by reaching its next instruction
 * boundary, and a sender waits for that in kvm_kick_and_wait() under
 * mmu_lock with preemption off.  A preempted guest-mode vCPU could then wait
 * for a CPU the spinning sender holds (seen on a PREEMPT kernel with more
 * vCPU threads than CPUs).  Only the vCPU's own thread changes its mode, so
 * the preemption count follows the transitions.
 */
void kvm_vcpu_exit_guest_mode(struct kvm_vcpu *vcpu)
{
	if (READ_ONCE(vcpu->mode) != IN_GUEST_MODE)
		return;
	smp_store_release(&vcpu->mode, OUTSIDE_GUEST_MODE);
	preempt_enable();
}

/*
 * Enters guest mode at an instruction boundary.  The order (mode, then the
 * kick sequence, then the request bits) pairs with the sender's (request
 * bits, then sequence, then mode): a sender that saw this vCPU outside
 * guest mode set its bit early enough for the check below to see it.
 */
int kvm_vcpu_enter_guest(struct kvm_vcpu *vcpu)
{
	bool entry = false;
	u64 seq;
	int r;

	for (;;) {
		/*
		 * Between accesses of one run the vCPU stays in guest mode: the
		 * full barrier that followed the mode store still orders it
		 * before the loads below.
		 */
		if (READ_ONCE(vcpu->mode) != IN_GUEST_MODE) {
			preempt_disable();
			smp_store_mb(vcpu->mode, IN_GUEST_MODE);
			entry = true;
		}
		seq = atomic64_read(&vcpu->kvm->requests_seq);
		smp_rmb(); /* the request bits set before that sequence are visible */
		if (!READ_ONCE(vcpu->requests) && vcpu->root[vcpu->smm ? 1 : 0])
			break;

		kvm_vcpu_exit_guest_mode(vcpu);
		/* The ring must be harvested before the guest runs on. */
		if (kvm_dirty_ring_check_request(vcpu))
			return 1;
		if (kvm_check_request(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, vcpu))
			kvm_mmu_free_obsolete_roots(vcpu);
		if (kvm_check_request(KVM_REQ_TLB_FLUSH, vcpu))
			kvm_vcpu_flush_tlb(vcpu);
		if (kvm_check_request(KVM_REQ_MSR_FILTER_CHANGED, vcpu))
			kvm_vcpu_msr_filter_changed(vcpu);
		r = kvm_mmu_load(vcpu);
		if (r)
			return r;
	}
	/* Acknowledge the kicks seen here; unchanged sequence, nothing to publish. */
	if (seq != READ_ONCE(vcpu->requests_acked))
		smp_store_release(&vcpu->requests_acked, seq);
	/* A VM entry: the vCPU was outside guest mode (an exit, or a new run). */
	if (entry)
		trace_kvm_entry(vcpu, false);
	return 0;
}

static bool hw_present(const struct kvm_mmu_masks *m, u64 spte)
{
	return m->ept ? (spte & VMX_EPT_RWX_MASK) != 0 : (spte & PT_PRESENT_MASK) != 0;
}

static unsigned int hw_access(const struct kvm_mmu_masks *m, u64 spte)
{
	unsigned int acc = 0;

	if (m->ept) {
		acc |= (spte & VMX_EPT_READABLE_MASK) ? TLB_R : 0;
		acc |= (spte & VMX_EPT_EXECUTABLE_MASK) ? TLB_X : 0;
	} else {
		acc |= (spte & PT_PRESENT_MASK) ? TLB_R : 0;
		acc |= (spte & PT64_NX_MASK) ? 0 : TLB_X;
	}
	acc |= (spte & PT_WRITABLE_MASK) ? TLB_W : 0;
	return acc;
}

static u64 pferr_for(int type)
{
	if (type == MMUSIM_ACCESS_WRITE)
		return PFERR_WRITE_MASK;
	if (type == MMUSIM_ACCESS_EXEC)
		return PFERR_FETCH_MASK;
	return 0;
}

/*
 * The hardware walk.  Returns 0 and fills @e, or -EFAULT with the error
 * code of the TDP violation in @error_code.
 */
static int tdp_hw_walk(struct kvm_vcpu *vcpu, gfn_t gfn, int type, struct sim_tlb_entry *e,
		       u64 *error_code)
{
	struct kvm *kvm = vcpu->kvm;
	const struct kvm_mmu_masks *m = &kvm->masks;
	int as_id = vcpu->smm ? 1 : 0;
	struct kvm_mmu_page *root = vcpu->root[as_id];
	int level, ret = -EFAULT;
	u64 *table, *sptep, spte;

	rcu_read_lock();
restart:
	table = root->spt;
	/* role.invalid may be set meanwhile (root invalidation): read the role once. */
	for (level = kvm_mmu_page_role(root).level;; level--) {
		sptep = &table[SPTE_INDEX(gfn << PAGE_SHIFT, level)];
		/*
		 * Acquire, as kvm_tdp_mmu_read_spte(): the child table this
		 * SPTE may point to was initialised before it was linked.
		 */
		spte = smp_load_acquire(sptep);
		if (is_mmio_spte(m, spte)) {
			/*
			 * An EPT misconfiguration carries no access information:
			 * KVM's handle_ept_misconfig() passes PFERR_RSVD_MASK
			 * alone (6.12).  A reserved-bit #NPF has P, RSVD and the
			 * access bits, as any #PF error code.
			 */
			if (m->ept)
				*error_code = PFERR_RSVD_MASK;
			else
				*error_code =
					PFERR_RSVD_MASK | PFERR_PRESENT_MASK | pferr_for(type);
			goto out;
		}
		if (!hw_present(m, spte)) {
			*error_code = pferr_for(type);
			goto out;
		}
		if (level == PG_LEVEL_4K || (spte & PT_PAGE_SIZE_MASK))
			break;
		table = __va(spte_to_pfn(spte) << PAGE_SHIFT);
	}

	if (!(hw_access(m, spte) & access_bit(type))) {
		*error_code = PFERR_PRESENT_MASK | pferr_for(type);
		goto out;
	}
	if (spte_ad_enabled(spte)) {
		u64 want = spte | m->shadow_accessed_mask |
			   (type == MMUSIM_ACCESS_WRITE ? m->shadow_dirty_mask : 0);
		bool logs = kvm->pml && !(spte & m->shadow_dirty_mask) && (want & m->shadow_dirty_mask);

		/* PML full: a VM exit before the write, to flush the log. */
		if (logs && vcpu->pml_nr == PML_ENTITY_NUM) {
			*error_code = PFERR_PML_FULL;
			goto out;
		}
		/* A locked A/D update; if the SPTE changed, walk again. */
		if (want != spte && !try_cmpxchg64(sptep, &spte, want))
			goto restart;
		spte = want;
		/* The CPU logs the gfn of the access when it sets D. */
		if (logs)
			vcpu->pml_buf[vcpu->pml_nr++] = gfn;
	}

	e->gfn = gfn_round_for_level(gfn, level);
	e->pfn = spte_to_pfn(spte);
	e->level = level;
	e->access = hw_access(m, spte);
	e->as_id = as_id;
	e->dirty = !spte_ad_enabled(spte) || (spte & m->shadow_dirty_mask);
	ret = 0;
out:
	rcu_read_unlock();
	return ret;
}

/* The stale-translation checker: does the host still map what the TLB says? */
static void tlb_check_hit(struct kvm_vcpu *vcpu, const struct sim_tlb_entry *e, gfn_t gfn)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_memory_slot *slot;
	struct sim_host_pte_info info;
	kvm_pfn_t pfn = e->pfn + (gfn - e->gfn);
	int idx;

	idx = srcu_read_lock(&kvm->slots.srcu);
	slot = __gfn_to_memslot(kvm_memslots_as(&kvm->slots, e->as_id), gfn);
	if (slot && !(slot->flags & KVM_MEMSLOT_INVALID) &&
	    (sim_mm_lookup(kvm->mm, gfn_to_hva_memslot(slot, gfn), &info) || info.pfn != pfn) &&
	    !READ_ONCE(kvm->mmu_invalidate_in_progress)) {
		kvm_vcpu_stat_inc(vcpu, stale_tlb_uses);
		WARN_ONCE(1, "vCPU %d: stale TLB translation gfn %#llx -> pfn %#llx",
			  vcpu->vcpu_id, (unsigned long long)gfn, (unsigned long long)pfn);
	}
	srcu_read_unlock(&kvm->slots.srcu, idx);
}

static struct sim_tlb_entry *tlb_lookup(struct kvm_vcpu *vcpu, gfn_t gfn, int type)
{
	int as_id = vcpu->smm ? 1 : 0;
	int level;

	for (level = PG_LEVEL_4K; level <= PG_LEVEL_1G; level++) {
		struct sim_tlb_entry *e = &vcpu->tlb[tlb_index(gfn, level)];

		if (e->level != level || e->as_id != as_id ||
		    e->gfn != gfn_round_for_level(gfn, level))
			continue;
		if (!(e->access & access_bit(type)))
			return NULL;
		/* A first write through a clean entry needs the walk to set D. */
		if (type == MMUSIM_ACCESS_WRITE && !e->dirty)
			return NULL;
		return e;
	}
	return NULL;
}

/* Translates @gpa for @type in guest mode; 0 with *pfn, or -EFAULT with *error_code. */
static int vcpu_translate(struct kvm_vcpu *vcpu, gpa_t gpa, int type, kvm_pfn_t *pfn,
			  u64 *error_code)
{
	gfn_t gfn = gpa >> PAGE_SHIFT;
	struct sim_tlb_entry *e = tlb_lookup(vcpu, gfn, type), walked;

	if (e) {
		kvm_vcpu_stat_inc(vcpu, tlb_hits);
		if (unlikely(vcpu->check_tlb))
			tlb_check_hit(vcpu, e, gfn);
	} else {
		if (tdp_hw_walk(vcpu, gfn, type, &walked, error_code))
			return -EFAULT;
		e = &vcpu->tlb[tlb_index(gfn, walked.level)];
		*e = walked;
	}
	*pfn = e->pfn + (gfn - e->gfn);
	return 0;
}

/*
 * The VM exit of an access that failed its walk, as vmx.c traces it: a
 * full PML buffer, an EPT misconfiguration (an MMIO SPTE: the reserved-bit
 * fault) or an EPT violation, which also gets kvm_page_fault.  info1 is
 * the exit qualification's access bits (0 read, 1 write, 2 fetch) and bit
 * 3 when the translation was present; kvm_page_fault's error_code is the
 * PFERR_* code the simulated CPU synthesized (KVM's VMX passes the exit
 * qualification there, SVM the same PFERR_* code).
 */
static noinline void __trace_vcpu_access_exit(struct kvm_vcpu *vcpu, u64 error_code)
{
	u64 qual;

	if (error_code == PFERR_PML_FULL) {
		trace_kvm_exit(vcpu, EXIT_REASON_PML_FULL, 0);
		return;
	}
	if (error_code & PFERR_RSVD_MASK) {
		trace_kvm_exit(vcpu, EXIT_REASON_EPT_MISCONFIG, 0);
		return;
	}
	qual = error_code & PFERR_WRITE_MASK ? EPT_VIOLATION_ACC_WRITE :
	       error_code & PFERR_FETCH_MASK ? EPT_VIOLATION_ACC_INSTR :
					       EPT_VIOLATION_ACC_READ;
	if (error_code & PFERR_PRESENT_MASK)
		qual |= EPT_VIOLATION_READABLE;
	trace_kvm_exit(vcpu, EXIT_REASON_EPT_VIOLATION, qual);
}

static __always_inline void trace_vcpu_access_exit(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code)
{
	if (trace_event_enabled(kvm_exit))
		__trace_vcpu_access_exit(vcpu, error_code);
	if (trace_event_enabled(kvm_page_fault) && error_code != PFERR_PML_FULL &&
	    !(error_code & PFERR_RSVD_MASK))
		trace_kvm_page_fault(vcpu, gpa, error_code);
}

/*
 * One access, faulting as needed.  Called and returns in guest mode;
 * returns 0, 1 for an exit to userspace, or a negative errno.  *@faulted
 * (if given) tells whether a TDP violation left guest mode on the way, for
 * the VM exit KVM_RUN reports with it (src/vcpu/run.c).
 */
int kvm_vcpu_access_one(struct kvm_vcpu *vcpu, gpa_t gpa, int type, struct mmusim_exit *exit,
			kvm_pfn_t *pfn, bool *faulted)
{
	u64 error_code;
	int r, idx;

	for (;;) {
		r = kvm_vcpu_enter_guest(vcpu);
		if (r > 0 && exit) {
			exit->reason = vcpu->exit_reason;	/* KVM_EXIT_DIRTY_RING_FULL */
			exit->gpa = gpa;
			exit->is_write = type == MMUSIM_ACCESS_WRITE;
		}
		if (r)
			return r;
		if (!vcpu_translate(vcpu, gpa, type, pfn, &error_code)) {
			kvm_vcpu_stat_inc(vcpu, accesses);
			return 0;
		}

		kvm_vcpu_exit_guest_mode(vcpu);
		trace_vcpu_access_exit(vcpu, gpa, error_code);
		if (faulted && error_code != PFERR_PML_FULL)
			*faulted = true;
		idx = srcu_read_lock(&vcpu->kvm->slots.srcu);
		if (error_code == PFERR_PML_FULL) {
			kvm_vcpu_flush_pml(vcpu);
			srcu_read_unlock(&vcpu->kvm->slots.srcu, idx);
			continue;
		}
		r = kvm_mmu_page_fault(vcpu, gpa, error_code);
		srcu_read_unlock(&vcpu->kvm->slots.srcu, idx);
		if (r < 0)
			return r;
		if (r == RET_PF_EMULATE) {
			if (exit) {
				exit->reason = KVM_EXIT_MMIO;
				exit->gpa = gpa;
				exit->is_write = type == MMUSIM_ACCESS_WRITE;
			}
			return 1;
		}
		/*
		 * A retry waits for an invalidation or another fault to finish,
		 * often on a thread that is not running: let it run.
		 */
		if (r == RET_PF_RETRY)
			env_spin_yield();
		cond_resched();
	}
}

int kvm_vcpu_check_access_args(struct kvm_vcpu *vcpu, gpa_t gpa, int type)
{
	if (type < MMUSIM_ACCESS_READ || type > MMUSIM_ACCESS_EXEC)
		return -EINVAL;
	if ((gpa >> PAGE_SHIFT) > kvm_guest_max_gfn(vcpu->kvm))
		return -EINVAL;
	return 0;
}

/*
 * The public calls below run as one "call" on the VM (kvm_vm_call_begin()),
 * so mmusim_vm_destroy() waits for them; a NULL vCPU is -EINVAL.
 */
int mmusim_vcpu_access(struct mmusim_vcpu *v, gpa_t gpa, int type, struct mmusim_exit *exit)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);
	kvm_pfn_t pfn;
	int r;

	if (exit)
		memset(exit, 0, sizeof(*exit));
	if (!vcpu)
		return -EINVAL;
	r = kvm_vm_call_begin(vcpu->kvm);
	if (r)
		return r;
	r = kvm_vcpu_check_access_args(vcpu, gpa, type);
	if (!r) {
		r = kvm_vcpu_access_one(vcpu, gpa, type, exit, &pfn, NULL);
		kvm_vcpu_exit_guest_mode(vcpu);
		kvm_vcpu_flush_pml_on_exit(vcpu);
	}
	kvm_vm_call_end(vcpu->kvm);
	return r;
}

static long vcpu_access_range(struct kvm_vcpu *vcpu, gpa_t gpa, u64 npages, u64 stride, int type,
			      struct mmusim_exit *exit)
{
	kvm_pfn_t pfn;
	u64 i;
	int r = 0;

	r = kvm_vcpu_check_access_args(vcpu, gpa, type);
	if (r)
		return r;
	if (!stride)
		stride = PAGE_SIZE;
	/*
	 * Every address is checked as mmusim_vcpu_access() checks its one: a
	 * GPA above the maximum (or wrapped past 2^64) must not reach the
	 * walk, whose index slices would alias it to a lower one.
	 */
	for (i = 0; i < npages; i++, gpa += stride) {
		if (i) {
			/* gpa < stride: adding the stride wrapped past 2^64. */
			r = gpa < stride ? -EINVAL : kvm_vcpu_check_access_args(vcpu, gpa, type);
			if (r)
				break;
		}
		r = kvm_vcpu_access_one(vcpu, gpa, type, exit, &pfn, NULL);
		if (r)
			break;
	}
	kvm_vcpu_exit_guest_mode(vcpu);
	kvm_vcpu_flush_pml_on_exit(vcpu);
	if (r < 0 && !i)
		return r;
	return (long)i;
}

long mmusim_vcpu_access_range(struct mmusim_vcpu *v, gpa_t gpa, u64 npages, u64 stride, int type,
			      struct mmusim_exit *exit)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);
	long r;

	if (exit)
		memset(exit, 0, sizeof(*exit));
	if (!vcpu)
		return -EINVAL;
	r = kvm_vm_call_begin(vcpu->kvm);
	if (r)
		return r;
	r = vcpu_access_range(vcpu, gpa, npages, stride, type, exit);
	kvm_vm_call_end(vcpu->kvm);
	return r;
}

/*
 * Copies through the guest translation, one page at a time.  @buf is the
 * caller's memory: it is read and written with the user copies, so a bad
 * buffer is -EFAULT (bytes before the fault may have been copied).
 */
static int vcpu_copy(struct kvm_vcpu *vcpu, gpa_t gpa, void *buf, u64 len, bool write)
{
	struct mmusim_exit exit;
	int r = 0;

	while (len) {
		u64 off = gpa & ~PAGE_MASK, n = min_t(u64, len, PAGE_SIZE - off);
		kvm_pfn_t pfn;
		u8 *data;

		r = kvm_vcpu_check_access_args(vcpu, gpa,
					       write ? MMUSIM_ACCESS_WRITE : MMUSIM_ACCESS_READ);
		if (r)
			break;
		r = kvm_vcpu_access_one(vcpu, gpa, write ? MMUSIM_ACCESS_WRITE : MMUSIM_ACCESS_READ,
					&exit, &pfn, NULL);
		if (r) {
			/* A full dirty ring: harvest and reset, then copy again. */
			if (r > 0)
				r = exit.reason == KVM_EXIT_DIRTY_RING_FULL ? -EBUSY : -EFAULT;
			break;
		}
		if (sev_private_access(vcpu->kvm, gpa >> PAGE_SHIFT)) {
			/* Through the memory controller, which encrypts by physical address. */
			r = sev_mem_access(vcpu->kvm, gpa >> PAGE_SHIFT, pfn, off, buf, n, write);
			if (r)
				break;
		} else {
			data = sim_pfn_to_virt(vcpu->kvm->host, pfn);
			if (!data || (write ? copy_from_user(data + off, buf, n) :
					      copy_to_user(buf, data + off, n))) {
				r = -EFAULT;
				break;
			}
		}
		buf = (u8 *)buf + n;
		gpa += n;
		len -= n;
	}
	kvm_vcpu_exit_guest_mode(vcpu);
	kvm_vcpu_flush_pml_on_exit(vcpu);
	return r;
}

static int vcpu_copy_call(struct mmusim_vcpu *v, gpa_t gpa, void *buf, u64 len, bool write)
{
	struct kvm_vcpu *vcpu;
	int r = kvm_vcpu_call_begin(v, &vcpu);

	if (r)
		return r;
	r = vcpu_copy(vcpu, gpa, buf, len, write);
	kvm_vm_call_end(vcpu->kvm);
	return r;
}

int mmusim_vcpu_write(struct mmusim_vcpu *v, gpa_t gpa, const void *buf, u64 len)
{
	return vcpu_copy_call(v, gpa, (void *)buf, len, true);
}

int mmusim_vcpu_read(struct mmusim_vcpu *v, gpa_t gpa, void *buf, u64 len)
{
	return vcpu_copy_call(v, gpa, buf, len, false);
}

int mmusim_vcpu_set_smm(struct mmusim_vcpu *v, bool smm)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);

	if (!vcpu)
		return -EINVAL;
	/* A kernel without SMM has no address space 1 to enter. */
	if (smm && kvm_arch_nr_memslot_as_ids(vcpu->kvm) < 2)
		return -EINVAL;
	vcpu->smm = smm;
	return 0;
}

int mmusim_vcpu_set_tlb_check(struct mmusim_vcpu *v, bool on)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);

	if (!vcpu)
		return -EINVAL;
	vcpu->check_tlb = on;
	return 0;
}

int mmusim_vcpu_pre_fault_memory(struct mmusim_vcpu *v, struct kvm_pre_fault_memory *urange)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);
	struct kvm_pre_fault_memory range;
	int r;

	if (!vcpu)
		return -EINVAL;
	if (copy_from_user(&range, urange, sizeof(range)))
		return -EFAULT;
	r = kvm_vm_call_begin(vcpu->kvm);
	if (r)
		return r;
	r = kvm_vcpu_pre_fault_memory(vcpu, &range);
	kvm_vcpu_exit_guest_mode(vcpu);
	kvm_vm_call_end(vcpu->kvm);
	/* The part not done goes back, whatever the outcome. */
	if (copy_to_user(urange, &range, sizeof(range)))
		r = -EFAULT;
	return r;
}

/*
 * The fault the pinned-SPTE RFC's SEV patch 8/8 makes from
 * LAUNCH_UPDATE_DATA on vCPU 0: a user write (a read for a read-only
 * memslot, which a write could never map), through kvm_mmu_map_tdp_page().
 */
int mmusim_vcpu_map_tdp_page(struct mmusim_vcpu *v, gpa_t gpa, u64 *pfn)
{
	u64 error_code = PFERR_USER_MASK | PFERR_WRITE_MASK;
	struct kvm_memory_slot *slot;
	struct kvm_vcpu *vcpu;
	kvm_pfn_t p = 0;
	int r, idx;

	if (!pfn)
		return -EINVAL;
	r = kvm_vcpu_call_begin(v, &vcpu);
	if (r)
		return r;
	if ((gpa >> PAGE_SHIFT) > kvm_mmu_max_gfn(&vcpu->kvm->masks)) {
		r = -EINVAL;
		goto out;
	}
	idx = srcu_read_lock(&vcpu->kvm->slots.srcu);
	slot = kvm_vcpu_gfn_to_memslot(&vcpu->kvm->slots, &vcpu->slot_cache, vcpu->smm ? 1 : 0,
				       gpa >> PAGE_SHIFT);
	if (slot && (slot->flags & KVM_MEM_READONLY))
		error_code &= ~PFERR_WRITE_MASK;
	r = kvm_mmu_map_tdp_page(vcpu, gpa, error_code, KVM_MAX_HUGEPAGE_LEVEL, &p);
	srcu_read_unlock(&vcpu->kvm->slots.srcu, idx);
	kvm_vcpu_exit_guest_mode(vcpu);
out:
	kvm_vm_call_end(vcpu->kvm);
	if (!r)
		*pfn = p;
	return r;
}
