// SPDX-License-Identifier: GPL-2.0-only
/* The README's "Using the library": a VM over a simulated host, one fault, one migration. */
#include <stdio.h>
#include <string.h>

#include <mmusim/env.h>
#include <mmusim/host.h>
#include <mmusim/vm.h>

int main(void)
{
	struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = 256 << 20 };
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	struct mmusim_vm_stats st;
	char msg[256] = "";
	hva_t hva;
	int err;

	env_thread_register(); /* optional: any thread may call in */
	err = sim_host_create(NULL, &host) ?: /* 4 GiB of simulated RAM */
	      sim_mm_create(host, &mm) ?:     /* the VMM process */
	      sim_mmap(mm, 0, r.memory_size, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &hva) ?:
	      mmusim_vm_create(host, mm, NULL, &vm); /* EPT, 4-level, 1 vCPU */
	if (err)
		return fprintf(stderr, "set-up: %s\n", strerror(-err)), 1;
	r.userspace_addr = hva;
	err = mmusim_vm_set_user_memory_region(vm, &r) ?: /* KVM's validation and errno */
	      mmusim_vcpu_access(mmusim_vm_vcpu(vm, 0), 0x1000, MMUSIM_ACCESS_WRITE, NULL) ?:
	      sim_migrate_page(mm, hva + 0x1000) ?:     /* MMU notifier -> zap -> TLB flush */
	      mmusim_vm_check(vm, msg, sizeof(msg)); /* invariants: SPTEs vs host, stats */
	mmusim_vm_get_stats(vm, &st);
	printf("hello: %s; faults fixed %llu, remote TLB flushes %llu %s\n",
	       err ? strerror(-err) : "ok", (unsigned long long)st.pf_fixed,
	       (unsigned long long)st.remote_tlb_flush, msg);
	mmusim_vm_destroy(vm);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
	return err ? 1 : 0;
}
