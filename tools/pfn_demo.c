// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmusim pfn-demo: the two pfn seeds on one host.  A "GPU driver" maps a
 * TTM-style buffer (a non-compound order-4 block: its tail pages have
 * refcount 0) with remap_pfn_range(), and PFN-only memory with no struct
 * page (mem= + /dev/mem) is mapped the same way; both become guest memory.
 * For each pfn model (v9, 6.13) and allow_unsafe_mappings off/on, the guest
 * faults on them (always allowed: the fault path is MMU-notifier guarded)
 * and KVM kvm_vcpu_map()s them (refused unless KVM can hold the page, or
 * the host booted with kvm.allow_unsafe_mappings=1), printing refcounts
 * before, while mapped and after.  Not core code: libc is fine here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mmusim_env.h"
#include <mmusim/host.h>
#include <mmusim/vm.h>

#define MiB (1ULL << 20)
#define TTM_ORDER 4
#define TTM_PAGES (1u << TTM_ORDER)
#define NOPAGE_BASE (1ULL << 20)	/* 4 GiB: above the host's RAM */
#define GPA_TTM 0x100000ULL		/* guest-physical homes of the two buffers */
#define GPA_NOPAGE 0x200000ULL

struct pfn_demo {
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	struct sim_page *ttm;
	hva_t ttm_hva, nopage_hva;
};

static int pfn_demo_setup(struct pfn_demo *d, int model, bool unsafe)
{
	struct sim_host_config hc = {
		.mem_bytes = 256 * MiB,
		.nopage_base_pfn = NOPAGE_BASE,
		.nopage_pages = TTM_PAGES,
		.kvm_allow_unsafe_mappings = unsafe,
	};
	struct mmusim_vm_config cfg = { .pfn_model = model };
	struct kvm_userspace_memory_region rg = { .memory_size = TTM_PAGES * 4096ULL };
	int rw = SIM_PROT_READ | SIM_PROT_WRITE;
	int r;

	memset(d, 0, sizeof(*d));
	r = sim_host_create(&hc, &d->host);
	if (!r)
		r = sim_mm_create(d->host, &d->mm);
	if (!r)
		r = mmusim_vm_create(d->host, d->mm, &cfg, &d->vm);
	if (r)
		return r;
	/* The driver's buffer: like TTM's pool, one block, not compound. */
	d->ttm = sim_alloc_pages(d->host, __GFP_ZERO, TTM_ORDER);
	if (!d->ttm)
		return -ENOMEM;
	r = sim_mmap_pfn(d->mm, 0, TTM_PAGES * 4096ULL, rw, sim_page_to_pfn(d->host, d->ttm),
			 &d->ttm_hva);
	if (!r)
		r = sim_mmap_pfn(d->mm, 0, TTM_PAGES * 4096ULL, rw, NOPAGE_BASE, &d->nopage_hva);
	if (r)
		return r;
	rg.slot = 0;
	rg.guest_phys_addr = GPA_TTM;
	rg.userspace_addr = d->ttm_hva;
	r = mmusim_vm_set_user_memory_region(d->vm, &rg);
	if (r)
		return r;
	rg.slot = 1;
	rg.guest_phys_addr = GPA_NOPAGE;
	rg.userspace_addr = d->nopage_hva;
	return mmusim_vm_set_user_memory_region(d->vm, &rg);
}

static void pfn_demo_teardown(struct pfn_demo *d)
{
	mmusim_vm_destroy(d->vm);
	if (d->ttm) {
		if (d->ttm_hva)
			sim_munmap(d->mm, d->ttm_hva, TTM_PAGES * 4096ULL);
		sim_free_pages(d->host, d->ttm, TTM_ORDER);
	}
	sim_mm_destroy(d->mm);
	sim_host_destroy(d->host);
}

static const char *refcount_str(struct sim_host *host, kvm_pfn_t pfn, char *buf, size_t n)
{
	struct sim_page *page = sim_pfn_to_page(host, pfn);

	if (!page)
		snprintf(buf, n, "no struct page");
	else
		snprintf(buf, n, "refcount %d", sim_page_count(host, page));
	return buf;
}

/* Fault, then map and unmap, page @idx of one buffer (TTM: 0 is the head). */
static int pfn_demo_page(struct pfn_demo *d, const char *what, bool ttm, unsigned int idx)
{
	gpa_t gpa = (ttm ? GPA_TTM : GPA_NOPAGE) + idx * 4096ULL;
	struct mmusim_vcpu *vcpu = mmusim_vm_vcpu(d->vm, 0);
	struct mmusim_vcpu_map_info info;
	struct sim_host_stats hs;
	struct mmusim_exit exit;
	char before[32], during[32], after[32];
	u64 gfn = gpa >> 12, v = 0x1234;
	kvm_pfn_t pfn;
	int r;

	r = mmusim_vcpu_access(vcpu, gpa, MMUSIM_ACCESS_WRITE, &exit);
	printf("    %-10s guest write fault: %s\n", what, r ? strerror(-r) : "mapped");
	if (r)
		return r;
	r = mmusim_vcpu_read(vcpu, gpa, &v, sizeof(v));
	if (r)
		return r;
	pfn = (ttm ? sim_page_to_pfn(d->host, d->ttm) : NOPAGE_BASE) + idx;
	refcount_str(d->host, pfn, before, sizeof(before));
	r = mmusim_vcpu_map(vcpu, gfn, MMUSIM_MAP_WRITABLE, &info);
	if (r) {
		printf("    %-10s kvm_vcpu_map: refused (%s), pfn %#llx %s\n", what, strerror(-r),
		       (unsigned long long)pfn, before);
		return 0;
	}
	refcount_str(d->host, pfn, during, sizeof(during));
	sim_host_get_stats(d->host, &hs);
	r = mmusim_vcpu_map_write(vcpu, info.id, 0, &v, sizeof(v));
	mmusim_vcpu_unmap(vcpu, info.id, true);
	refcount_str(d->host, pfn, after, sizeof(after));
	printf("    %-10s kvm_vcpu_map: pfn %#llx via %s, KVM %s; %s -> %s -> %s\n", what,
	       (unsigned long long)info.pfn, info.has_struct_page ? "kmap" : "memremap",
	       info.is_refcounted_page ? "holds the page" : "holds nothing", before, during,
	       after);
	return r;
}

int cmd_pfn_demo(int argc, char **argv);
int cmd_no_options(int argc, char **argv); /* mmusim.c */

int cmd_pfn_demo(int argc, char **argv)
{
	static const int models[] = { MMUSIM_PFN_MODEL_V9, MMUSIM_PFN_MODEL_6_13 };
	char msg[256];
	int m, unsafe, r;

	r = cmd_no_options(argc, argv);
	if (r >= 0)
		return r;
	r = 0;
	printf("pfn-demo: a TTM-style buffer (order-%d block, tails refcount 0) and PFN-only\n"
	       "memory (no struct page), both remap_pfn_range()d and used as guest memory.\n",
	       TTM_ORDER);
	for (m = 0; m < 2 && !r; m++) {
		for (unsafe = 0; unsafe <= 1 && !r; unsafe++) {
			struct pfn_demo d;

			printf("\n  pfn model %s, kvm.allow_unsafe_mappings=%d\n",
			       models[m] == MMUSIM_PFN_MODEL_V9 ? "v9 (Stevens)" : "6.13 (merged)",
			       unsafe);
			r = pfn_demo_setup(&d, models[m], unsafe);
			if (!r)
				r = pfn_demo_page(&d, "TTM head", true, 0);
			if (!r)
				r = pfn_demo_page(&d, "TTM tail", true, 3);
			if (!r)
				r = pfn_demo_page(&d, "PFN-only", false, 3);
			if (!r && mmusim_vm_check(d.vm, msg, sizeof(msg))) {
				fprintf(stderr, "pfn-demo: check: %s\n", msg);
				r = -EUCLEAN;
			}
			pfn_demo_teardown(&d);
		}
	}
	rcu_barrier();
	if (r)
		fprintf(stderr, "pfn-demo: failed: %s\n", strerror(-r));
	printf("\npfn-demo: %s; teardown: %ld live objects, %lu WARNs\n", r ? "FAILED" : "ok",
	       env_live_objects(), env_warn_count());
	return r || env_live_objects() || env_warn_count() ? 1 : 0;
}
