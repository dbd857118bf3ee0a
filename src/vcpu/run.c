// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM_RUN (arch/x86/kvm/x86.c and vmx/vmx.c, Linux 6.12): the vCPU's
 * struct kvm_run, the guest program the simulated CPU executes, VM exits
 * and their handlers, exits to userspace and their completion.
 *
 * The simulated CPU executes the program in guest mode, one instruction per
 * boundary (requests and kicks are handled there, as on the entry after a
 * kick's exit).  Register moves, jumps and memory accesses that translate
 * complete in guest mode; TDP violations are handled inside the access
 * path (vcpu.c) as KVM's EPT-violation handler does.  Everything else is a
 * VM exit with a VMX exit reason (union vmx_exit_reason), whose handler
 * returns 1 (re-enter), 0 (exit to userspace, run->exit_reason set) or a
 * negative errno, and vmx_handle_exit() turns a bus lock detected on the
 * way into KVM_EXIT_X86_BUS_LOCK / KVM_RUN_X86_BUS_LOCK.
 *
 * RIP is the index of the current instruction; every instruction is one
 * unit long, so "skip" is RIP + 1.  Faults (#GP) leave RIP at the faulting
 * instruction; traps (the bus-lock exit) come after it completed.
 *
 * Rules: everything here runs on the thread running the vCPU, inside a
 * public call on it (one thread per vCPU at a time, see mmusim/vm.h), in
 * the VM's call window (kvm_vm_call_begin()); no MMU lock is held here.
 * vcpu->run is the page KVM hands out through mmap of the vCPU fd: the VMM
 * reads it after KVM_RUN returns and writes the completion fields before
 * it runs the vCPU again.  Locked instructions serialize on bus_lock, the
 * "bus", which is taken with nothing else held and only around the copy.
 */
#include "mmusim_env.h"
#include <mmusim/vm.h>
#include <mmusim/run.h>
#include "mmu/kvm_host.h"
#include "msr/msr.h"
#include "mmu/mmutrace.h"
#include "sev/sev.h"

/*
 * The exit reason field of the VMCS (vmx/vmx.h): the basic reason and the
 * modifiers; bit 26 says a bus lock was detected on the way to this exit.
 */
union vmx_exit_reason {
	struct {
		u32 basic : 16;
		u32 reserved16 : 10;
		u32 bus_lock_detected : 1;
		u32 enclave_mode : 1;
		u32 smi_pending_mtf : 1;
		u32 smi_from_vmx_root : 1;
		u32 reserved30 : 1;
		u32 failed_vmentry : 1;
	};
	u32 full;
};
static_assert(sizeof(union vmx_exit_reason) == 4, "the VMCS field is 32 bits");

/*
 * 6.12's <linux/kvm.h> names the field immediate_exit__unsafe inside the
 * kernel (read once, as a TOCTOU reminder); older headers and userspace
 * call it immediate_exit.
 */
#ifndef HINT_UNSAFE_IN_KVM
#define HINT_UNSAFE_IN_KVM(_symbol) _symbol
#endif

/* No handler installed. */
#define GP_HANDLER_NONE U32_MAX

/*
 * The guest's side of a vCPU: its program, its #GP handler and exception
 * frame, and the MMIO access KVM is emulating (vcpu->mmio_needed and the
 * one fragment mmusim's accesses have).
 */
struct kvm_vcpu_guest {
	struct mmusim_insn *prog;
	u32 nr_insns;
	u32 gp_handler;
	u64 cr8;
	struct {
		u64 rip;
		u32 error_code;
	} frame;
	bool mmio_needed;
	bool mmio_is_write;
	u32 mmio_reg;
	u32 mmio_len;
};

static DEFINE_SPINLOCK(bus_lock);

/* KVM's mmap'd area is one page (KVM_RUN's offset 0 of the vCPU fd). */
static_assert(sizeof(struct kvm_run) <= PAGE_SIZE, "struct kvm_run fits its page");

int kvm_vcpu_alloc_run(struct kvm_vcpu *vcpu)
{
	vcpu->guest = kzalloc(sizeof(*vcpu->guest), GFP_KERNEL_ACCOUNT);
	if (!vcpu->guest)
		return -ENOMEM;
	vcpu->run = (struct kvm_run *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run) {
		kfree(vcpu->guest);
		vcpu->guest = NULL;
		return -ENOMEM;
	}
	vcpu->guest->gp_handler = GP_HANDLER_NONE;
	kvm_vcpu_arch(vcpu)->rflags = X86_EFLAGS_FIXED;
	return 0;
}

void kvm_vcpu_free_run(struct kvm_vcpu *vcpu)
{
	if (vcpu->guest)
		kvfree(vcpu->guest->prog);
	kfree(vcpu->guest);
	vcpu->guest = NULL;
	free_page((unsigned long)vcpu->run);
	vcpu->run = NULL;
}

/*
 * VMX's skip_emulated_instruction() advances RIP by the exit's instruction
 * length; with no TF single-step and no PMU to notify, KVM's wrapper has
 * nothing more to do and the guest may go on.
 */
int kvm_skip_emulated_instruction(struct kvm_vcpu *vcpu)
{
	kvm_rip_write(vcpu, kvm_rip_read(vcpu) + 1);
	return 1;
}

/*
 * kvm_queue_exception_e(): the exception is delivered at the next entry,
 * with RIP still at the faulting instruction (#GP is a fault).  mmusim
 * models one pending exception; a second one before delivery replaces it
 * (KVM would merge two contributory exceptions into #DF).
 */
void kvm_inject_gp(struct kvm_vcpu *vcpu, u32 error_code)
{
	struct kvm_queued_exception *ex = &kvm_vcpu_arch(vcpu)->exception;

	ex->pending = true;
	ex->vector = GP_VECTOR;
	ex->has_error_code = true;
	ex->error_code = error_code;
}

int kvm_complete_insn_gp(struct kvm_vcpu *vcpu, int err)
{
	if (err) {
		kvm_inject_gp(vcpu, 0);
		return 1;
	}
	return kvm_skip_emulated_instruction(vcpu);
}

static struct mmusim_insn *current_insn(struct kvm_vcpu *vcpu)
{
	u64 rip = kvm_rip_read(vcpu);

	return rip < vcpu->guest->nr_insns ? &vcpu->guest->prog[rip] : NULL;
}

/*
 * KVM_EXIT_INTERNAL_ERROR / KVM_INTERNAL_ERROR_EMULATION, as KVM reports an
 * instruction its emulator cannot handle (prepare_emulation_failure_exit()):
 * mmusim's for a fetch outside the program and a locked access to MMIO.
 */
static int emulation_failure_exit(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->internal.ndata = 1;
	run->internal.data[0] = kvm_rip_read(vcpu);
	return 0;
}

/* The register a load wrote, zero-extended from @len bytes (MOVZX). */
static u64 truncate_to(u64 val, u32 len)
{
	return len == 8 ? val : val & ((1ULL << (len * 8)) - 1);
}

/*
 * complete_emulated_mmio() for mmusim's single fragment of at most 8 bytes:
 * a read delivers run->mmio.data to the destination register and finishes
 * the instruction (complete_emulated_io() re-executes it with the data); a
 * write had finished the instruction before the exit.
 */
static int complete_emulated_mmio(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_guest *g = vcpu->guest;
	u64 val = 0;

	if (WARN_ON_ONCE(!g->mmio_needed))
		return -EIO;
	g->mmio_needed = false;
	if (g->mmio_is_write)
		return 1;
	memcpy(&val, vcpu->run->mmio.data, g->mmio_len);
	trace_kvm_mmio(KVM_TRACE_MMIO_READ, g->mmio_len, vcpu->run->mmio.phys_addr, &val);
	kvm_register_write_raw(vcpu, g->mmio_reg, truncate_to(val, g->mmio_len));
	return kvm_skip_emulated_instruction(vcpu);
}

/*
 * The emulator's MMIO exit (x86_emulate_instruction() with mmio_needed):
 * KVM_EXIT_MMIO with the gpa, length and, for a write, the data.  A write
 * retires the instruction now (writeback), a read on completion.
 */
static int mmio_exit(struct kvm_vcpu *vcpu, const struct mmusim_insn *insn, bool is_write)
{
	struct kvm_vcpu_guest *g = vcpu->guest;
	struct kvm_run *run = vcpu->run;
	u64 val = kvm_register_read_raw(vcpu, insn->reg);

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = insn->gpa;
	run->mmio.len = insn->len;
	run->mmio.is_write = is_write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (is_write)
		memcpy(run->mmio.data, &val, insn->len);
	/* emulator_read_write_onepage(): a write, or a read userspace must satisfy. */
	trace_kvm_mmio(is_write ? KVM_TRACE_MMIO_WRITE : KVM_TRACE_MMIO_READ_UNSATISFIED, insn->len,
		       insn->gpa, is_write ? &val : NULL);
	kvm_vcpu_stat_inc(vcpu, mmio_exits);
	g->mmio_needed = true;
	g->mmio_is_write = is_write;
	g->mmio_reg = insn->reg;
	g->mmio_len = insn->len;
	kvm_vcpu_arch(vcpu)->complete_userspace_io = complete_emulated_mmio;
	if (is_write)
		kvm_skip_emulated_instruction(vcpu);
	return 0;
}

/*
 * An access that did not complete in guest mode: 1 = the access exited to
 * userspace (exit->reason: MMIO or a full dirty ring), < 0 an error.
 * Returns what KVM_RUN's handler would: 0 with run->exit_reason, or r.
 */
static int access_exit(struct kvm_vcpu *vcpu, const struct mmusim_insn *insn, int r,
		       const struct mmusim_exit *exit)
{
	if (r < 0)
		return r;
	if (exit->reason == KVM_EXIT_DIRTY_RING_FULL) {
		vcpu->run->exit_reason = KVM_EXIT_DIRTY_RING_FULL;
		return 0;
	}
	if (insn->op == MMUSIM_INSN_LOCK_ADD)
		return emulation_failure_exit(vcpu);
	return mmio_exit(vcpu, insn, exit->is_write);
}

static int guest_load_store(struct kvm_vcpu *vcpu, const struct mmusim_insn *insn)
{
	bool is_write = insn->op == MMUSIM_INSN_STORE;
	struct mmusim_exit exit;
	kvm_pfn_t pfn;
	u64 val = 0;
	u8 *data;
	int r;

	r = kvm_vcpu_access_one(vcpu, insn->gpa,
				is_write ? MMUSIM_ACCESS_WRITE : MMUSIM_ACCESS_READ, &exit, &pfn,
				NULL);
	if (r)
		return access_exit(vcpu, insn, r, &exit);
	if (sev_private_access(vcpu->kvm, insn->gpa >> PAGE_SHIFT)) {
		/* A private access: through the memory controller, as vcpu_copy()'s. */
		if (is_write)
			val = kvm_register_read_raw(vcpu, insn->reg);
		r = sev_mem_access(vcpu->kvm, insn->gpa >> PAGE_SHIFT, pfn, insn->gpa & ~PAGE_MASK,
				   &val, insn->len, is_write);
		if (r)
			return r;
		if (!is_write)
			kvm_register_write_raw(vcpu, insn->reg, val);
		return kvm_skip_emulated_instruction(vcpu);
	}
	data = sim_pfn_to_virt(vcpu->kvm->host, pfn);
	if (WARN_ON_ONCE(!data))
		return -EFAULT;
	data += insn->gpa & ~PAGE_MASK;
	if (is_write) {
		val = kvm_register_read_raw(vcpu, insn->reg);
		memcpy(data, &val, insn->len);
	} else {
		memcpy(&val, data, insn->len);
		kvm_register_write_raw(vcpu, insn->reg, val);
	}
	return kvm_skip_emulated_instruction(vcpu);
}

/* A locked access that crosses a cache line is a split lock: the bus is locked. */
static bool is_split_lock(gpa_t gpa, u32 len)
{
	return (gpa & 63) + len > 64;
}

/* handle_bus_lock_vmexit(): hardware may not set the modifier; KVM does. */
static int handle_bus_lock_vmexit(struct kvm_vcpu *vcpu, union vmx_exit_reason *er)
{
	er->bus_lock_detected = 1;
	return 1;
}

/*
 * lock add [gpa], reg.  Both pages are translated (for write) first; the
 * atomic add then runs with the bus held.  With bus-lock detection on, a
 * split lock makes the trap-like BUS_LOCK exit after the instruction, and
 * a TDP violation on the second page of a split lock, taken after the
 * first line was locked, carries the bus-lock modifier (mmusim's model of
 * VMX's bit 26: the exit KVM handles for it is then reported as a bus lock,
 * the instruction not retired).
 */
static int guest_lock_add(struct kvm_vcpu *vcpu, const struct mmusim_insn *insn,
			  union vmx_exit_reason *er)
{
	bool split = is_split_lock(insn->gpa, insn->len);
	u32 off = insn->gpa & ~PAGE_MASK, n1 = min_t(u32, insn->len, PAGE_SIZE - off);
	bool detect = READ_ONCE(vcpu->kvm->bus_lock_detection_enabled) && split;
	struct mmusim_exit exit;
	u8 *p1, *p2 = NULL, buf[8];
	kvm_pfn_t pfn1, pfn2;
	bool faulted = false;
	u64 a = 0, b;
	int r;

	r = kvm_vcpu_access_one(vcpu, insn->gpa, MMUSIM_ACCESS_WRITE, &exit, &pfn1, NULL);
	if (r)
		return access_exit(vcpu, insn, r, &exit);
	if (n1 < insn->len) {
		r = kvm_vcpu_access_one(vcpu, insn->gpa + n1, MMUSIM_ACCESS_WRITE, &exit, &pfn2,
					&faulted);
		if (faulted && detect) {
			er->basic = EXIT_REASON_EPT_VIOLATION;
			er->bus_lock_detected = 1;
			if (!r)
				return 1; /* the violation was fixed: the guest retries */
		}
		if (r)
			return access_exit(vcpu, insn, r, &exit);
		p2 = sim_pfn_to_virt(vcpu->kvm->host, pfn2);
	}
	p1 = sim_pfn_to_virt(vcpu->kvm->host, pfn1);
	if (WARN_ON_ONCE(!p1 || (n1 < insn->len && !p2)))
		return -EFAULT;

	spin_lock(&bus_lock);
	memcpy(buf, p1 + off, n1);
	if (p2)
		memcpy(buf + n1, p2, insn->len - n1);
	memcpy(&a, buf, insn->len);
	b = a + kvm_register_read_raw(vcpu, insn->reg);
	memcpy(buf, &b, insn->len);
	memcpy(p1 + off, buf, n1);
	if (p2)
		memcpy(p2, buf + n1, insn->len - n1);
	spin_unlock(&bus_lock);

	r = kvm_skip_emulated_instruction(vcpu);
	if (detect) {
		/* Trap-like: the exit comes with the instruction retired. */
		er->basic = EXIT_REASON_BUS_LOCK;
		trace_kvm_exit(vcpu, er->full, 0);
		return handle_bus_lock_vmexit(vcpu, er);
	}
	return r;
}

/* kvm_emulate_halt(): no in-kernel local APIC, so userspace sees the HLT. */
static int kvm_emulate_halt(struct kvm_vcpu *vcpu)
{
	kvm_skip_emulated_instruction(vcpu);
	kvm_vcpu_stat_inc(vcpu, halt_exits);
	vcpu->run->exit_reason = KVM_EXIT_HLT;
	return 0;
}

/*
 * One instruction at RIP.  Returns 1 when the guest may go on (completed
 * in guest mode, or its VM exit handled in the kernel), 0 for an exit to
 * userspace, < 0 for an error; @er is the VM exit taken, if any.
 */
static int vcpu_step(struct kvm_vcpu *vcpu, union vmx_exit_reason *er)
{
	struct kvm_vcpu_guest *g = vcpu->guest;
	const struct mmusim_insn *insn = current_insn(vcpu);
	u64 *reg;

	if (!insn)
		return emulation_failure_exit(vcpu);
	reg = &kvm_vcpu_arch(vcpu)->regs[insn->reg];
	switch (insn->op) {
	case MMUSIM_INSN_NOP:
		break;
	case MMUSIM_INSN_MOV_IMM:
		*reg = insn->imm;
		break;
	case MMUSIM_INSN_ADD_IMM:
		*reg += insn->imm;
		break;
	case MMUSIM_INSN_LOAD:
	case MMUSIM_INSN_STORE:
		return guest_load_store(vcpu, insn);
	case MMUSIM_INSN_LOCK_ADD:
		return guest_lock_add(vcpu, insn, er);
	/* VM exits: the handlers run outside guest mode, as KVM's. */
	case MMUSIM_INSN_RDMSR:
		er->basic = EXIT_REASON_MSR_READ;
		kvm_vcpu_exit_guest_mode(vcpu);
		trace_kvm_exit(vcpu, er->full, 0);
		return kvm_emulate_rdmsr(vcpu);
	case MMUSIM_INSN_WRMSR:
		er->basic = EXIT_REASON_MSR_WRITE;
		kvm_vcpu_exit_guest_mode(vcpu);
		trace_kvm_exit(vcpu, er->full, 0);
		return kvm_emulate_wrmsr(vcpu);
	case MMUSIM_INSN_HLT:
		er->basic = EXIT_REASON_HLT;
		kvm_vcpu_exit_guest_mode(vcpu);
		trace_kvm_exit(vcpu, er->full, 0);
		return kvm_emulate_halt(vcpu);
	case MMUSIM_INSN_JMP:
		kvm_rip_write(vcpu, insn->target);
		return 1;
	case MMUSIM_INSN_JNZ:
		if (*reg) {
			kvm_rip_write(vcpu, insn->target);
			return 1;
		}
		break;
	case MMUSIM_INSN_SET_GP_HANDLER:
		g->gp_handler = insn->target;
		break;
	case MMUSIM_INSN_IRET:
		kvm_rip_write(vcpu, g->frame.rip + insn->imm);
		return 1;
	default:
		/* mmusim_vcpu_load_program() admits no other op. */
		WARN_ON_ONCE(1);
		return -EIO;
	}
	return kvm_skip_emulated_instruction(vcpu);
}

/*
 * Delivers the pending exception at entry.  #GP goes to the guest's
 * handler with RIP and the error code in the frame; without a handler the
 * CPU would escalate to #DF and a triple fault: KVM_EXIT_SHUTDOWN.
 */
static int vcpu_deliver_exception(struct kvm_vcpu *vcpu)
{
	struct kvm_queued_exception *ex = &kvm_vcpu_arch(vcpu)->exception;
	struct kvm_vcpu_guest *g = vcpu->guest;

	ex->pending = false;
	if (g->gp_handler == GP_HANDLER_NONE) {
		vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
		return 0;
	}
	g->frame.rip = kvm_rip_read(vcpu);
	g->frame.error_code = ex->error_code;
	kvm_rip_write(vcpu, g->gp_handler);
	return 1;
}

/*
 * An instruction boundary: a signal for the VMM ends the run (6.12's
 * kvm_handle_signal_exit()), requests are handled (a full dirty ring exits
 * with the instruction not retired), a pending exception is delivered.
 */
static int vcpu_boundary(struct kvm_vcpu *vcpu)
{
	int r;

	if (sim_mm_signal_pending(vcpu->kvm->mm)) {
		vcpu->run->exit_reason = KVM_EXIT_INTR;
		kvm_vcpu_stat_inc(vcpu, signal_exits);
		return -EINTR;
	}
	r = kvm_vcpu_enter_guest(vcpu);
	if (r > 0) {
		vcpu->run->exit_reason = vcpu->exit_reason;
		return 0;
	}
	if (r < 0)
		return r;
	if (kvm_vcpu_arch(vcpu)->exception.pending)
		return vcpu_deliver_exception(vcpu);
	return 1;
}

/* vcpu_run(): enter, execute, handle exits until one needs userspace. */
static int vcpu_run(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int r;

	run->exit_reason = KVM_EXIT_UNKNOWN;
	for (;;) {
		union vmx_exit_reason er = { .full = 0 };

		r = vcpu_boundary(vcpu);
		if (r <= 0)
			break;
		r = vcpu_step(vcpu, &er);
		/* vmx_handle_exit(): a bus lock seen on the way is the VMM's to know. */
		if (er.bus_lock_detected) {
			if (r > 0) {
				run->exit_reason = KVM_EXIT_X86_BUS_LOCK;
				r = 0;
			}
			run->flags |= KVM_RUN_X86_BUS_LOCK;
		}
		if (r <= 0)
			break;
		/* Rescheduling is work done outside guest mode, as KVM's. */
		if (need_resched()) {
			kvm_vcpu_exit_guest_mode(vcpu);
			cond_resched();
		}
	}
	return r;
}

/* CR8 is the TPR's top bits: 4 bits, the rest reserved. */
static int kvm_set_cr8(struct kvm_vcpu *vcpu, u64 cr8)
{
	if (cr8 & ~0xfULL)
		return 1;
	vcpu->guest->cr8 = cr8;
	return 0;
}

/*
 * What every KVM_RUN leaves in kvm_run for the VMM, whatever the outcome.
 * mmusim has no interrupt controller, so ready_for_interrupt_injection
 * stays 0, and APIC base is src/msr's (not mirrored here).
 */
static void post_kvm_run_save(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	run->if_flag = !!(kvm_vcpu_arch(vcpu)->rflags & X86_EFLAGS_IF);
	run->cr8 = vcpu->guest->cr8;
	if (vcpu->smm)
		run->flags |= KVM_RUN_X86_SMM;
}

/* arch/x86/include/uapi/asm/svm.h: VMRUN found the guest state invalid. */
#ifndef SVM_EXIT_ERR
#define SVM_EXIT_ERR -1
#endif

/*
 * svm_vcpu_pre_run(): a VM of an SEV type before KVM_SEV_INIT2 cannot run
 * (-EINVAL).  Then the VMRUN an SEV-ES vCPU cannot pass: its VMSA was never
 * encrypted by LAUNCH_UPDATE_VMSA (a vCPU created after the update, or a
 * launch that skipped it), so the hardware finds no valid guest state and
 * svm_handle_exit() reports SVM_EXIT_ERR as KVM_EXIT_FAIL_ENTRY.
 */
static int kvm_vcpu_pre_run(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (sev_need_init(vcpu->kvm))
		return -EINVAL;
	if (sev_es_guest(vcpu->kvm) && !READ_ONCE(kvm_vcpu_arch(vcpu)->guest_state_protected)) {
		run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_entry_failure_reason = (u64)SVM_EXIT_ERR;
		run->fail_entry.cpu = 0;
		return 0;
	}
	return 1;
}

/*
 * kvm_arch_vcpu_ioctl_run(), 6.12 order: flags cleared, the pending
 * completion first (so immediate_exit still completes an MMIO or MSR exit
 * without running the guest), then immediate_exit, then the guest.
 */
static int kvm_arch_vcpu_ioctl_run(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_arch *arch = kvm_vcpu_arch(vcpu);
	struct kvm_run *run = vcpu->run;
	bool wants_to_run = !READ_ONCE(run->HINT_UNSAFE_IN_KVM(immediate_exit));
	int r;

	run->flags = 0;
	/* mmusim offers no KVM_CAP_SYNC_REGS: no field is valid to sync. */
	if (READ_ONCE(run->kvm_valid_regs) || READ_ONCE(run->kvm_dirty_regs)) {
		r = -EINVAL;
		goto out;
	}
	/* No in-kernel local APIC: the VMM's CR8 goes in (kvm_set_cr8()). */
	if (kvm_set_cr8(vcpu, READ_ONCE(run->cr8))) {
		r = -EINVAL;
		goto out;
	}
	if (unlikely(arch->complete_userspace_io)) {
		int (*cui)(struct kvm_vcpu * vcpu) = arch->complete_userspace_io;

		arch->complete_userspace_io = NULL;
		r = cui(vcpu);
		if (r <= 0)
			goto out;
	}
	if (!wants_to_run) {
		r = -EINTR;
		goto out;
	}
	r = kvm_vcpu_pre_run(vcpu);
	if (r <= 0)
		goto out;
	r = vcpu_run(vcpu);
out:
	kvm_vcpu_exit_guest_mode(vcpu);
	kvm_vcpu_flush_pml_on_exit(vcpu);
	post_kvm_run_save(vcpu);
	return r;
}

int mmusim_vcpu_run(struct mmusim_vcpu *v)
{
	struct kvm_vcpu *vcpu;
	int r = kvm_vcpu_call_begin(v, &vcpu);

	if (r)
		return r;
	r = kvm_arch_vcpu_ioctl_run(vcpu);
	trace_kvm_userspace_exit(vcpu->run->exit_reason, r);
	kvm_vm_call_end(vcpu->kvm);
	return r;
}

struct kvm_run *mmusim_vcpu_kvm_run(struct mmusim_vcpu *v)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);

	return vcpu ? vcpu->run : NULL;
}

static bool insn_valid(struct kvm_vcpu *vcpu, const struct mmusim_insn *insn, u32 n)
{
	bool mem = insn->op == MMUSIM_INSN_LOAD || insn->op == MMUSIM_INSN_STORE ||
		   insn->op == MMUSIM_INSN_LOCK_ADD;
	bool jump = insn->op == MMUSIM_INSN_JMP || insn->op == MMUSIM_INSN_JNZ ||
		    insn->op == MMUSIM_INSN_SET_GP_HANDLER;

	if (insn->op >= MMUSIM_INSN_NR || insn->reg >= MMUSIM_NR_REGS)
		return false;
	if (jump && insn->target >= n)
		return false;
	if (!mem)
		return true;
	if (insn->len != 1 && insn->len != 2 && insn->len != 4 && insn->len != 8)
		return false;
	if (insn->gpa + insn->len < insn->gpa)
		return false;
	if (kvm_vcpu_check_access_args(vcpu, insn->gpa, MMUSIM_ACCESS_WRITE) ||
	    kvm_vcpu_check_access_args(vcpu, insn->gpa + insn->len - 1, MMUSIM_ACCESS_WRITE))
		return false;
	/* One translation for plain accesses: mmusim has one MMIO fragment. */
	if (insn->op != MMUSIM_INSN_LOCK_ADD && (insn->gpa & ~PAGE_MASK) + insn->len > PAGE_SIZE)
		return false;
	return true;
}

static int vcpu_load_program(struct kvm_vcpu *vcpu, const struct mmusim_insn __user *uprog,
			     u32 n)
{
	struct kvm_vcpu_guest *g;
	struct mmusim_insn *prog;
	u32 i;

	if (!n || n > MMUSIM_MAX_PROGRAM)
		return -EINVAL;
	prog = kvmalloc_array(n, sizeof(*prog), GFP_KERNEL_ACCOUNT);
	if (!prog)
		return -ENOMEM;
	if (copy_from_user(prog, uprog, (unsigned long)n * sizeof(*prog))) {
		kvfree(prog);
		return -EFAULT;
	}
	for (i = 0; i < n; i++) {
		if (!insn_valid(vcpu, &prog[i], n)) {
			kvfree(prog);
			return -EINVAL;
		}
	}
	g = vcpu->guest;
	/* An INIT would reset registers the host no longer owns: no reset of an ES guest. */
	if (READ_ONCE(kvm_vcpu_arch(vcpu)->guest_state_protected)) {
		kvfree(prog);
		return -EINVAL;
	}
	kvfree(g->prog);
	g->prog = prog;
	g->nr_insns = n;
	g->gp_handler = GP_HANDLER_NONE;
	g->mmio_needed = false;
	kvm_rip_write(vcpu, 0);
	kvm_vcpu_arch(vcpu)->exception.pending = false;
	kvm_vcpu_arch(vcpu)->complete_userspace_io = NULL;
	return 0;
}

int mmusim_vcpu_load_program(struct mmusim_vcpu *v, const struct mmusim_insn *uprog, u32 n)
{
	struct kvm_vcpu *vcpu;
	int r = kvm_vcpu_call_begin(v, &vcpu);

	if (r)
		return r;
	r = vcpu_load_program(vcpu, uprog, n);
	kvm_vm_call_end(vcpu->kvm);
	return r;
}
