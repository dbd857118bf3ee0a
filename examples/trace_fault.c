// SPDX-License-Identifier: GPL-2.0-only
/* docs/tracing.md's API example: KVM's kvmmmu events of one fault and one zap, to stdout. */
#include <stdio.h>
#include <string.h>

#include <mmusim/host.h>
#include <mmusim/trace.h>
#include <mmusim/vm.h>

int main(void)
{
	struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = 2 << 20 };
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	hva_t hva;
	int err;

	err = sim_host_create(NULL, &host) ?: /* 4 GiB of simulated RAM */
	      sim_mm_create(host, &mm) ?:     /* the VMM process */
	      sim_mmap(mm, 0, r.memory_size, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &hva) ?:
	      mmusim_vm_create(host, mm, NULL, &vm); /* EPT, 4-level, 1 vCPU */
	if (err)
		return fprintf(stderr, "set-up: %s\n", strerror(-err)), 1;
	r.userspace_addr = hva;
	err = mmusim_vm_set_user_memory_region(vm, &r) ?:
	      mmusim_trace_enable("kvmmmu:*") ?:		/* as echo 'kvmmmu:*' > set_event */
	      mmusim_vcpu_access(mmusim_vm_vcpu(vm, 0), 0x5000, MMUSIM_ACCESS_WRITE, NULL) ?:
	      mmusim_vm_zap_gfn_range(vm, 0, 5, 6) ?:
	      mmusim_trace_disable("*") ?:
	      mmusim_trace_write_fd(1);			/* as cat /sys/kernel/tracing/trace */
	if (err)
		fprintf(stderr, "trace_fault: %s\n", strerror(-err));
	mmusim_vm_destroy(vm);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
	return err ? 1 : 0;
}
