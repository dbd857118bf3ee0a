// SPDX-License-Identifier: GPL-2.0-only
// The same from C++: the headers carry extern "C"; handles are owned by unique_ptr.
#include <cstdio>
#include <memory>

#include <mmusim/env.h>
#include <mmusim/host.h>
#include <mmusim/types.h>
#include <mmusim/vm.h>

struct host_del { void operator()(sim_host *h) const { sim_host_destroy(h); } };
struct mm_del { void operator()(sim_mm *mm) const { sim_mm_destroy(mm); } };
struct vm_del { void operator()(mmusim_vm *vm) const { mmusim_vm_destroy(vm); } };

int main()
{
	sim_host *h = nullptr;
	sim_mm *m = nullptr;
	mmusim_vm *v = nullptr;
	hva_t hva = 0;

	if (sim_host_create(nullptr, &h))
		return 1;
	std::unique_ptr<sim_host, host_del> host(h);
	if (sim_mm_create(h, &m))
		return 1;
	std::unique_ptr<sim_mm, mm_del> mm(m);
	if (sim_mmap(m, 0, 64 << 20, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &hva) ||
	    mmusim_vm_create(h, m, nullptr, &v))
		return 1;
	std::unique_ptr<mmusim_vm, vm_del> vm(v); // destroyed first: declared last

	kvm_userspace_memory_region r = {};
	r.memory_size = 64 << 20;
	r.userspace_addr = hva;
	long n = mmusim_vm_set_user_memory_region(v, &r);
	if (!n)
		n = mmusim_vcpu_access_range(mmusim_vm_vcpu(v, 0), 0, 512, 0, MMUSIM_ACCESS_WRITE,
					     nullptr);
	mmusim_vm_stats st;
	mmusim_vm_get_stats(v, &st);
	std::printf("hello-cxx: %ld accesses, %llu 4K leaves\n", n, (unsigned long long)st.pages_4k);
	return n == 512 ? 0 : 1;
}
