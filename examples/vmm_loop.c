// SPDX-License-Identifier: GPL-2.0-only
/*
 * docs/vcpu-run.md's VMM loop: load a guest program, run the vCPU, handle
 * its RDMSR/WRMSR/BUS_LOCK/MMIO exits, re-enter until it halts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mmusim/host.h>
#include <mmusim/run.h>
#include <mmusim/vm.h>

#define DEVICE_GPA 0x10000000 /* no memslot here: the VMM's device */

static const struct mmusim_insn guest[] = {
	{ .op = MMUSIM_INSN_MOV_IMM, .reg = MMUSIM_REG_RCX, .imm = 0x4b564d99 },
	{ .op = MMUSIM_INSN_RDMSR }, /* an MSR KVM does not know: exits */
	{ .op = MMUSIM_INSN_ADD_IMM, .reg = MMUSIM_REG_RAX, .imm = 1 },
	{ .op = MMUSIM_INSN_WRMSR }, /* exits with the value in msr.data */
	{ .op = MMUSIM_INSN_LOCK_ADD, .reg = MMUSIM_REG_RAX, .gpa = 0x103c, .len = 8 }, /* split */
	{ .op = MMUSIM_INSN_LOAD, .reg = MMUSIM_REG_RBX, .gpa = DEVICE_GPA, .len = 4 },
	{ .op = MMUSIM_INSN_HLT },
};

int main(void)
{
	struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = 2 << 20 };
	struct kvm_enable_cap msr_cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR,
					  .args[0] = KVM_MSR_EXIT_REASON_UNKNOWN };
	struct kvm_enable_cap bus_cap = { .cap = KVM_CAP_X86_BUS_LOCK_EXIT,
					  .args[0] = KVM_BUS_LOCK_DETECTION_EXIT };
	unsigned long long msr_value = 41, bus_locks = 0;
	unsigned int device_reg = 0xfeed;
	struct mmusim_vcpu *vcpu;
	struct sim_host *host;
	struct mmusim_vm *vm;
	struct kvm_regs regs = { 0 };
	struct kvm_run *run;
	struct sim_mm *mm;
	hva_t hva;
	int err;

	err = sim_host_create(NULL, &host)     ?:
		      sim_mm_create(host, &mm) ?:
		      sim_mmap(mm, 0, r.memory_size, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &hva) ?:
		      mmusim_vm_create(host, mm, NULL, &vm);
	if (err)
		return fprintf(stderr, "set-up: %s\n", strerror(-err)), 1;
	r.userspace_addr = hva;
	vcpu = mmusim_vm_vcpu(vm, 0);
	run = mmusim_vcpu_kvm_run(vcpu);
	err = mmusim_vm_set_user_memory_region(vm, &r)	 ?:
		      mmusim_vm_enable_cap(vm, &msr_cap) ?:
		      mmusim_vm_enable_cap(vm, &bus_cap) ?:
		      mmusim_vcpu_load_program(vcpu, guest, sizeof(guest) / sizeof(guest[0]));

	while (!err) {
		err = mmusim_vcpu_run(vcpu);
		if (err == -EINTR) {
			err = 0; /* a signal kicked the vCPU: just re-enter */
			continue;
		}
		if (err)
			break;
		if (run->flags & KVM_RUN_X86_BUS_LOCK)
			bus_locks++; /* a throttling policy goes here */
		if (run->exit_reason == KVM_EXIT_HLT)
			break;
		switch (run->exit_reason) {
		case KVM_EXIT_X86_RDMSR:
			run->msr.data = msr_value; /* error 0: EDX:EAX = data */
			run->msr.error = 0;
			break;
		case KVM_EXIT_X86_WRMSR:
			msr_value = run->msr.data;
			run->msr.error = 0;
			break;
		case KVM_EXIT_X86_BUS_LOCK:
			break; /* trap-like: the instruction completed */
		case KVM_EXIT_MMIO:
			if (!run->mmio.is_write) /* completed by the next run */
				memcpy(run->mmio.data, &device_reg, run->mmio.len);
			break;
		default:
			err = -EIO;
		}
	}
	if (!err)
		err = mmusim_vcpu_get_regs(vcpu, &regs);
	if (!err && (msr_value != 42 || regs.rbx != 0xfeed || bus_locks != 1))
		err = -EIO;
	printf("vmm_loop: %s; MSR %llu, RBX %#llx, bus locks %llu\n", err ? strerror(-err) : "ok",
	       msr_value, (unsigned long long)regs.rbx, bus_locks);
	mmusim_vm_destroy(vm);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
	return err ? 1 : 0;
}
