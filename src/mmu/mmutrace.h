/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Trace events with KVM's names, fields and output (Linux 6.12's
 * arch/x86/kvm/mmu/mmutrace.h, arch/x86/kvm/trace.h and
 * include/trace/events/kvm.h): what a KVM developer reads in
 * /sys/kernel/tracing/trace, read here the same way.
 *
 * Theory of operation
 * -------------------
 * KVM_TRACE_EVENTS() below is the one list of events.  Each row gives the
 * system (kvmmmu or kvm), the event name, its fields as KVM's
 * TP_STRUCT__entry names them (every field stored as 64 bits), and its
 * TP_printk: the format and the arguments, which read the record through
 * "e".  From the table come the event ids (TRACE_EV_<name>), one record
 * struct per event (struct trace_<name>) and, in mmutrace.c, the names and
 * the print functions.  The trace_<name>() functions at the end are the
 * call sites' side (KVM's TP_fast_assign): each tests its event's bit and
 * only then fills the record and hands it to the environment.
 *
 * Rules:
 *  1. Disabled costs one load, one test and one not-taken branch per call
 *     site (env_trace_enabled(), __always_inline): the record is built
 *     only when enabled.  The arguments are plain function arguments, so
 *     call sites pass what they already have; anything dearer to compute
 *     goes behind its own trace_event_enabled() (vcpu.c's exit reason).
 *  2. A record is at most TRACE_EVENT_MAX_FIELDS u64s; formatting happens
 *     when the trace is written (userspace) or at the call (kernel), never
 *     on the recording path in userspace.
 *  3. Where mmusim differs from KVM the difference is in the assign, not
 *     in the field list or the format, so that scripts written for KVM
 *     parse these lines: the differences are listed in docs/tracing.md.
 *     The one renamed field is KVM's "errno" (kvm_mmu_split_huge_page,
 *     kvm_userspace_exit), "err" here: errno is a libc macro.
 *
 * The environment provides env_trace_enabled(id) and
 * env_trace_record(id, fields, nr_fields): per-thread ring buffers in
 * userspace (src/env/user/env_trace.c), trace_printk in the kernel module
 * when it is built with -DMMUSIM_KERNEL_TRACE (compiled out otherwise).
 * Call sites hold whatever locks their code holds; recording takes none of
 * the MMU's locks and never sleeps.
 */
#ifndef _MMUSIM_MMUTRACE_H
#define _MMUSIM_MMUTRACE_H

#include "mmusim_env.h"
#include "mmu/mmu_internal.h"

#define TRACE_EVENT_MAX_FIELDS 8

/* KVM_MMU_PAGE_FIELDS: the shadow page, as kvm_mmu_page_class records it. */
#define KVM_MMU_PAGE_FIELDS(F) F(mmu_valid_gen) F(gfn) F(role) F(root_count) F(unsync)
#define KVM_MMU_PAGE_PRINTK(buf)                                                                \
	kvm_mmu_page_printk(buf, sizeof(buf), e->mmu_valid_gen, e->gfn, e->role, e->root_count, \
			    e->unsync)

/* RET_PF_* as the events print them. */
#define TRACE_RET_PF_SPURIOUS RET_PF_SPURIOUS
#define TRACE_RET_PF_FIXED RET_PF_FIXED

/*
 * EV(system, name, fields, TP_printk format, TP_printk args...): the
 * fields are F(name) lists; the args read the record through "e" and may
 * use the scratch buffer "tmp" (KVM_MMU_PAGE_PRINTK).  Formatted by hand.
 */
/* clang-format off */
#define KVM_TRACE_EVENTS(EV, F)									\
	EV(kvmmmu, kvm_mmu_get_page, KVM_MMU_PAGE_FIELDS(F) F(created),				\
	   "%s %s", KVM_MMU_PAGE_PRINTK(tmp), e->created ? "new" : "existing")			\
	EV(kvmmmu, kvm_mmu_prepare_zap_page, KVM_MMU_PAGE_FIELDS(F),				\
	   "%s", KVM_MMU_PAGE_PRINTK(tmp))							\
	EV(kvmmmu, mark_mmio_spte, F(sptep) F(gfn) F(access) F(gen),				\
	   "sptep:%p gfn %llx access %x gen %x", (void *)(unsigned long)e->sptep, e->gfn,	\
	   (unsigned int)e->access, (unsigned int)e->gen)					\
	EV(kvmmmu, handle_mmio_page_fault, F(addr) F(gfn) F(access),				\
	   "addr:%llx gfn %llx access %x", e->addr, e->gfn, (unsigned int)e->access)		\
	EV(kvmmmu, fast_page_fault,								\
	   F(vcpu_id) F(cr2_or_gpa) F(error_code) F(sptep) F(old_spte) F(new_spte) F(ret),	\
	   "vcpu %d gva %llx error_code %s sptep %p old %#llx new %llx spurious %d fixed %d",	\
	   (int)e->vcpu_id, e->cr2_or_gpa, kvm_mmu_trace_pferr_flags(tmp, sizeof(tmp),		\
	   e->error_code), (void *)(unsigned long)e->sptep, e->old_spte, e->new_spte,		\
	   (int)e->ret == TRACE_RET_PF_SPURIOUS, (int)e->ret == TRACE_RET_PF_FIXED)		\
	EV(kvmmmu, kvm_mmu_zap_all_fast, F(mmu_valid_gen) F(mmu_used_pages),			\
	   "kvm-mmu-valid-gen %u used_pages %x", (unsigned int)(u8)e->mmu_valid_gen,		\
	   (unsigned int)e->mmu_used_pages)							\
	EV(kvmmmu, check_mmio_spte, F(kvm_gen) F(spte_gen) F(spte),				\
	   "spte %llx kvm_gen %x spte-gen %x valid %d", e->spte, (unsigned int)e->kvm_gen,	\
	   (unsigned int)e->spte_gen, e->kvm_gen == e->spte_gen)				\
	EV(kvmmmu, kvm_mmu_set_spte, F(gfn) F(spte) F(sptep) F(level) F(r) F(x) F(u),		\
	   "gfn %llx spte %llx (%s%s%s%s) level %d at %llx", e->gfn, e->spte,			\
	   e->r ? "r" : "-", e->spte & PT_WRITABLE_MASK ? "w" : "-", e->x ? "x" : "-",		\
	   (s8)e->u == -1 ? "" : (e->u ? "u" : "-"), (int)e->level, e->sptep)			\
	EV(kvmmmu, kvm_mmu_spte_requested, F(gfn) F(pfn) F(level),				\
	   "gfn %llx pfn %llx level %d", e->gfn, e->pfn, (int)e->level)				\
	EV(kvmmmu, kvm_tdp_mmu_spte_changed, F(gfn) F(old_spte) F(new_spte) F(level) F(as_id),	\
	   "as id %d gfn %llx level %d old_spte %llx new_spte %llx", (int)e->as_id, e->gfn,	\
	   (int)e->level, e->old_spte, e->new_spte)						\
	EV(kvmmmu, kvm_mmu_split_huge_page, F(gfn) F(spte) F(level) F(err),			\
	   "gfn %llx spte %llx level %d errno %d", e->gfn, e->spte, (int)e->level,		\
	   (int)e->err)									\
	EV(kvm, kvm_entry, F(vcpu_id) F(rip) F(immediate_exit),					\
	   "vcpu %u, rip 0x%lx%s", (unsigned int)e->vcpu_id, (unsigned long)e->rip,		\
	   e->immediate_exit ? "[immediate exit]" : "")						\
	EV(kvm, kvm_exit, F(exit_reason) F(guest_rip) F(isa) F(info1) F(info2) F(intr_info)	\
	   F(error_code) F(vcpu_id),								\
	   "vcpu %u reason %s%s%s rip 0x%lx info1 0x%016llx info2 0x%016llx intr_info 0x%08x "	\
	   "error_code 0x%08x", (unsigned int)e->vcpu_id,					\
	   vmx_exit_reason_str(tmp, sizeof(tmp), e->exit_reason), "", "",			\
	   (unsigned long)e->guest_rip, e->info1, e->info2, (unsigned int)e->intr_info,	\
	   (unsigned int)e->error_code)								\
	EV(kvm, kvm_page_fault, F(vcpu_id) F(guest_rip) F(fault_address) F(error_code),	\
	   "vcpu %u rip 0x%lx address 0x%016llx error_code 0x%llx", (unsigned int)e->vcpu_id,	\
	   (unsigned long)e->guest_rip, e->fault_address, e->error_code)			\
	EV(kvm, kvm_msr, F(write) F(ecx) F(data) F(exception),					\
	   "msr_%s %x = 0x%llx%s", e->write ? "write" : "read", (unsigned int)e->ecx, e->data,	\
	   e->exception ? " (#GP)" : "")							\
	EV(kvm, kvm_userspace_exit, F(reason) F(err),						\
	   "reason %s (%d)", (int)e->err < 0 ? ((int)e->err == -EINTR ? "restart" : "error")	\
	   : kvm_exit_reason_str(tmp, sizeof(tmp), e->reason),					\
	   (int)e->err < 0 ? -(int)e->err : (int)e->reason)				\
	EV(kvm, kvm_mmio, F(type) F(len) F(gpa) F(val),						\
	   "mmio %s len %u gpa 0x%llx val 0x%llx", kvm_trace_mmio_str(e->type),		\
	   (unsigned int)e->len, e->gpa, e->val)						\
	EV(kvm, kvm_unmap_hva_range, F(start) F(end),						\
	   "mmu notifier unmap range: %#016lx -- %#016lx", (unsigned long)e->start,		\
	   (unsigned long)e->end)								\
	EV(kvm, kvm_age_hva, F(start) F(end),							\
	   "mmu notifier age hva: %#016lx -- %#016lx", (unsigned long)e->start,		\
	   (unsigned long)e->end)								\
	EV(kvm, kvm_test_age_hva, F(hva),							\
	   "mmu notifier test age hva: %#016lx", (unsigned long)e->hva)
/* clang-format on */

#define __TRACE_EV_ID(sys, name, fields, ...) TRACE_EV_##name,
#define __TRACE_NO_FIELD(f)
enum kvm_trace_event_id { KVM_TRACE_EVENTS(__TRACE_EV_ID, __TRACE_NO_FIELD) KVM_TRACE_NR_EVENTS };
static_assert(KVM_TRACE_NR_EVENTS <= 64, "one bit per event in an enable mask");

/* unsigned long long, not u64: the formats use %llx in both environments. */
#define __TRACE_FIELD(f) unsigned long long f;
#define __TRACE_EV_STRUCT(sys, name, fields, ...) \
	struct trace_##name {                     \
		fields                            \
	};
KVM_TRACE_EVENTS(__TRACE_EV_STRUCT, __TRACE_FIELD)
#undef __TRACE_EV_STRUCT

/* KVM_TRACE_MMIO_* (include/trace/events/kvm.h). */
#define KVM_TRACE_MMIO_READ_UNSATISFIED 0
#define KVM_TRACE_MMIO_READ 1
#define KVM_TRACE_MMIO_WRITE 2

#define KVM_ISA_VMX 1

/* mmutrace.c: the table's other half, for the environment's writer. */
struct kvm_trace_event_desc {
	const char *system;
	const char *name;
	const char *fields; /* space-separated, in record order */
	unsigned int nr_fields;
	int (*print)(char *buf, size_t size, const u64 *rec);
};
extern const struct kvm_trace_event_desc kvm_trace_events[KVM_TRACE_NR_EVENTS];
/* The TP_printk text of one record (no newline); returns its length. */
int kvm_trace_event_print(unsigned int id, const u64 *rec, char *buf, size_t size);

/* Helpers of the formats above (mmutrace.c). */
const char *kvm_mmu_page_printk(char *buf, size_t size, u64 gen, u64 gfn, u64 role, u64 root_count,
				u64 unsync);
const char *kvm_mmu_trace_pferr_flags(char *buf, size_t size, u64 error_code);
const char *vmx_exit_reason_str(char *buf, size_t size, u64 exit_reason);
const char *kvm_exit_reason_str(char *buf, size_t size, u64 reason);
const char *kvm_trace_mmio_str(u64 type);

#define trace_event_enabled(name) env_trace_enabled(TRACE_EV_##name)
#define trace_event_commit(name, e) \
	env_trace_record(TRACE_EV_##name, (const u64 *)(e), sizeof(*(e)) / sizeof(u64))

/* ----------------------------------------------------------------------
 * The call sites' side (TP_fast_assign).
 */

#define __KVM_MMU_PAGE_ASSIGN(sp)                                                        \
	.mmu_valid_gen = (sp)->mmu_valid_gen, .gfn = (sp)->gfn, .role = (sp)->role.word, \
	.root_count = (u32)(sp)->root_count,                                             \
	.unsync = 0 /* mmusim's shadow pages are direct: never unsync */

static __always_inline void trace_kvm_mmu_get_page(struct kvm_mmu_page *sp, bool created)
{
	if (trace_event_enabled(kvm_mmu_get_page)) {
		struct trace_kvm_mmu_get_page e = { __KVM_MMU_PAGE_ASSIGN(sp), .created = created };

		trace_event_commit(kvm_mmu_get_page, &e);
	}
}

static __always_inline void trace_kvm_mmu_prepare_zap_page(struct kvm_mmu_page *sp)
{
	if (trace_event_enabled(kvm_mmu_prepare_zap_page)) {
		struct trace_kvm_mmu_prepare_zap_page e = { __KVM_MMU_PAGE_ASSIGN(sp) };

		trace_event_commit(kvm_mmu_prepare_zap_page, &e);
	}
}

static __always_inline void trace_mark_mmio_spte(u64 *sptep, gfn_t gfn, u64 spte)
{
	if (trace_event_enabled(mark_mmio_spte)) {
		struct trace_mark_mmio_spte e = {
			.sptep = (unsigned long)sptep,
			.gfn = gfn,
			.access = spte & ACC_ALL,
			.gen = get_mmio_spte_generation(spte),
		};

		trace_event_commit(mark_mmio_spte, &e);
	}
}

static __always_inline void trace_handle_mmio_page_fault(u64 addr, gfn_t gfn, unsigned int access)
{
	if (trace_event_enabled(handle_mmio_page_fault)) {
		struct trace_handle_mmio_page_fault e = { .addr = addr,
							  .gfn = gfn,
							  .access = access };

		trace_event_commit(handle_mmio_page_fault, &e);
	}
}

static __always_inline void trace_fast_page_fault(struct kvm_vcpu *vcpu,
						  struct kvm_page_fault *fault, u64 *sptep,
						  u64 old_spte, int ret)
{
	if (trace_event_enabled(fast_page_fault)) {
		struct trace_fast_page_fault e = {
			.vcpu_id = vcpu->vcpu_id,
			.cr2_or_gpa = fault->addr,
			.error_code = fault->error_code,
			.sptep = (unsigned long)sptep,
			.old_spte = old_spte,
			.new_spte = sptep ? READ_ONCE(*sptep) : 0,
			.ret = (u32)ret,
		};

		trace_event_commit(fast_page_fault, &e);
	}
}

static __always_inline void trace_kvm_mmu_zap_all_fast(struct kvm *kvm)
{
	if (trace_event_enabled(kvm_mmu_zap_all_fast)) {
		struct trace_kvm_mmu_zap_all_fast e = {
			.mmu_valid_gen = kvm->mmu_valid_gen,
			.mmu_used_pages = kvm->n_used_mmu_pages,
		};

		trace_event_commit(kvm_mmu_zap_all_fast, &e);
	}
}

static __always_inline void trace_check_mmio_spte(u64 spte, unsigned int kvm_gen,
						  unsigned int spte_gen)
{
	if (trace_event_enabled(check_mmio_spte)) {
		struct trace_check_mmio_spte e = {
			.kvm_gen = kvm_gen,
			.spte_gen = spte_gen,
			.spte = spte,
		};

		trace_event_commit(check_mmio_spte, &e);
	}
}

/*
 * KVM reads its global shadow_*_mask; mmusim's masks are per VM, hence @m.
 * sptep is KVM's virt_to_phys(sptep): the table's simulated address here.
 */
static __always_inline void trace_kvm_mmu_set_spte(const struct kvm_mmu_masks *m, int level,
						   gfn_t gfn, u64 *sptep)
{
	if (trace_event_enabled(kvm_mmu_set_spte)) {
		u64 spte = READ_ONCE(*sptep);
		struct trace_kvm_mmu_set_spte e = {
			.gfn = gfn,
			.spte = spte,
			.sptep = (unsigned long)sptep,
			.level = level,
			.r = m->shadow_present_mask || (spte & PT_PRESENT_MASK),
			.x = is_executable_pte(m, spte),
			.u = m->shadow_user_mask ? !!(spte & m->shadow_user_mask) : (u64)-1,
		};

		trace_event_commit(kvm_mmu_set_spte, &e);
	}
}

static __always_inline void trace_kvm_mmu_spte_requested(struct kvm_page_fault *fault)
{
	if (trace_event_enabled(kvm_mmu_spte_requested)) {
		struct trace_kvm_mmu_spte_requested e = {
			.gfn = fault->gfn,
			.pfn = fault->pfn |
			       (fault->gfn & (KVM_PAGES_PER_HPAGE(fault->goal_level) - 1)),
			.level = fault->goal_level,
		};

		trace_event_commit(kvm_mmu_spte_requested, &e);
	}
}

static __always_inline void trace_kvm_tdp_mmu_spte_changed(int as_id, gfn_t gfn, int level,
							   u64 old_spte, u64 new_spte)
{
	if (trace_event_enabled(kvm_tdp_mmu_spte_changed)) {
		struct trace_kvm_tdp_mmu_spte_changed e = {
			.gfn = gfn,
			.old_spte = old_spte,
			.new_spte = new_spte,
			.level = level,
			.as_id = as_id,
		};

		trace_event_commit(kvm_tdp_mmu_spte_changed, &e);
	}
}

static __always_inline void trace_kvm_mmu_split_huge_page(u64 gfn, u64 spte, int level, int err)
{
	if (trace_event_enabled(kvm_mmu_split_huge_page)) {
		struct trace_kvm_mmu_split_huge_page e = {
			.gfn = gfn,
			.spte = spte,
			.level = level,
			.err = (u32)err,
		};

		trace_event_commit(kvm_mmu_split_huge_page, &e);
	}
}

static __always_inline void trace_kvm_entry(struct kvm_vcpu *vcpu, bool force_immediate_exit)
{
	if (trace_event_enabled(kvm_entry)) {
		struct trace_kvm_entry e = {
			.vcpu_id = vcpu->vcpu_id,
			.rip = kvm_rip_read(vcpu),
			.immediate_exit = force_immediate_exit,
		};

		trace_event_commit(kvm_entry, &e);
	}
}

/*
 * KVM asks the vendor module (get_exit_info); mmusim's simulated CPU
 * passes what it has: the VMX exit reason and an exit qualification.
 */
static __always_inline void trace_kvm_exit(struct kvm_vcpu *vcpu, u32 exit_reason, u64 info1)
{
	if (trace_event_enabled(kvm_exit)) {
		struct trace_kvm_exit e = {
			.exit_reason = exit_reason,
			.guest_rip = kvm_rip_read(vcpu),
			.isa = KVM_ISA_VMX,
			.info1 = info1,
			.vcpu_id = vcpu->vcpu_id,
		};

		trace_event_commit(kvm_exit, &e);
	}
}

static __always_inline void trace_kvm_page_fault(struct kvm_vcpu *vcpu, u64 fault_address,
						 u64 error_code)
{
	if (trace_event_enabled(kvm_page_fault)) {
		struct trace_kvm_page_fault e = {
			.vcpu_id = vcpu->vcpu_id,
			.guest_rip = kvm_rip_read(vcpu),
			.fault_address = fault_address,
			.error_code = error_code,
		};

		trace_event_commit(kvm_page_fault, &e);
	}
}

static __always_inline void trace_kvm_msr(unsigned int write, u32 ecx, u64 data, bool exception)
{
	if (trace_event_enabled(kvm_msr)) {
		struct trace_kvm_msr e = {
			.write = write,
			.ecx = ecx,
			.data = data,
			.exception = exception,
		};

		trace_event_commit(kvm_msr, &e);
	}
}

#define trace_kvm_msr_read(ecx, data) trace_kvm_msr(0, ecx, data, false)
#define trace_kvm_msr_write(ecx, data) trace_kvm_msr(1, ecx, data, false)
#define trace_kvm_msr_read_ex(ecx) trace_kvm_msr(0, ecx, 0, true)
#define trace_kvm_msr_write_ex(ecx, data) trace_kvm_msr(1, ecx, data, true)

static __always_inline void trace_kvm_userspace_exit(u32 reason, int err)
{
	if (trace_event_enabled(kvm_userspace_exit)) {
		struct trace_kvm_userspace_exit e = { .reason = reason, .err = (u32)err };

		trace_event_commit(kvm_userspace_exit, &e);
	}
}

static __always_inline void trace_kvm_mmio(int type, int len, u64 gpa, const void *val)
{
	if (trace_event_enabled(kvm_mmio)) {
		struct trace_kvm_mmio e = { .type = type, .len = len, .gpa = gpa };

		if (val)
			memcpy(&e.val, val, min_t(u32, sizeof(e.val), len));
		trace_event_commit(kvm_mmio, &e);
	}
}

static __always_inline void trace_kvm_unmap_hva_range(unsigned long start, unsigned long end)
{
	if (trace_event_enabled(kvm_unmap_hva_range)) {
		struct trace_kvm_unmap_hva_range e = { .start = start, .end = end };

		trace_event_commit(kvm_unmap_hva_range, &e);
	}
}

static __always_inline void trace_kvm_age_hva(unsigned long start, unsigned long end)
{
	if (trace_event_enabled(kvm_age_hva)) {
		struct trace_kvm_age_hva e = { .start = start, .end = end };

		trace_event_commit(kvm_age_hva, &e);
	}
}

static __always_inline void trace_kvm_test_age_hva(unsigned long hva)
{
	if (trace_event_enabled(kvm_test_age_hva)) {
		struct trace_kvm_test_age_hva e = { .hva = hva };

		trace_event_commit(kvm_test_age_hva, &e);
	}
}

#endif /* _MMUSIM_MMUTRACE_H */
