/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * VM set-up shared by the fuzzers that drive a whole VM: a small simulated
 * host, one mm (the VMM process) and a VM whose configuration comes from
 * the input (MMU, EPT/NPT flavour, vCPUs, root level, slot-zap policy, and
 * whether the MMIO generation wraps early).
 *
 * The legacy (shadow) MMU is used when the library has it: the first call
 * of fuzz_legacy_mmu_available() tries to create a legacy VM once and
 * remembers the answer, so inputs that ask for it fall back to the TDP MMU
 * on a library that does not have it yet (and replay the same way on any
 * given build).  MMUSIM_FUZZ_MMU=tdp or =legacy in the environment pins
 * every input to one MMU (for triage, or while one of them is in flux).
 */
#ifndef _MMUSIM_FUZZ_VM_H
#define _MMUSIM_FUZZ_VM_H

#include <string.h>

#include <mmusim/host.h>
#include <mmusim/vm.h>

#include "fuzz_data_producer.h"
#include "fuzz_helpers.h"
#include "memslot_model.h"

#define FUZZ_MiB (1ull << 20)

struct fuzz_vm {
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	struct mmusim_vm_config cfg;
	uint64_t max_gfn;	/* the largest gfn a memslot may use (kvm_mmu_max_gfn()) */
	uint64_t guest_max_gfn;	/* the largest an access may use: 48 bits at most with 4 levels */
};

static inline bool fuzz_legacy_mmu_available(void)
{
	static int available = -1;
	struct mmusim_vm_config cfg = { .mmu = MMUSIM_MMU_LEGACY };
	struct sim_host_config hc = { .mem_bytes = 64 * FUZZ_MiB };
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;

	if (available >= 0)
		return available;
	available = 0;
	FUZZ_ASSERT(!sim_host_create(&hc, &host));
	FUZZ_ASSERT(!sim_mm_create(host, &mm));
	if (!mmusim_vm_create(host, mm, &cfg, &vm)) {
		available = 1;
		mmusim_vm_destroy(vm);
	}
	sim_mm_destroy(mm);
	sim_host_destroy(host);
	rcu_barrier();
	return available;
}

/* The VM's configuration, from the input. */
static inline void fuzz_vm_config(struct fuzz_dp *dp, struct mmusim_vm_config *cfg, int max_vcpus)
{
	const char *pin = getenv("MMUSIM_FUZZ_MMU");
	bool legacy = fuzz_dp_bool(dp);

	if (pin && !strcmp(pin, "tdp"))
		legacy = false;
	else if (pin && !strcmp(pin, "legacy"))
		legacy = true;
	memset(cfg, 0, sizeof(*cfg));
	cfg->mmu = legacy && fuzz_legacy_mmu_available() ? MMUSIM_MMU_LEGACY : MMUSIM_MMU_TDP;
	switch (fuzz_dp_u32_range(dp, 0, 3)) {
	case 0:
		cfg->tdp_mode = MMUSIM_TDP_NPT;
		break;
	case 1:
		cfg->tdp_mode = MMUSIM_TDP_EPT;
		break;
	case 2:
		cfg->tdp_mode = MMUSIM_TDP_EPT;
		cfg->ept_ad_disabled = true;
		break;
	default:
		cfg->tdp_mode = MMUSIM_TDP_EPT;
		cfg->ept_exec_only = true;
		cfg->ept_ad_disabled = fuzz_dp_bool(dp);
		break;
	}
	cfg->nr_vcpus = fuzz_dp_u32_range(dp, 1, max_vcpus);
	cfg->root_level = fuzz_dp_bool(dp) ? 5 : 4;
	cfg->no_slot_zap_all = fuzz_dp_bool(dp);
	/* One VM in four wraps the MMIO generation within its first updates. */
	cfg->mmio_gen_wrap_after = fuzz_dp_u32_range(dp, 0, 3) ? 0 : fuzz_dp_u32_range(dp, 1, 16);
}

static inline const char *fuzz_vm_describe(const struct mmusim_vm_config *cfg)
{
	static char buf[400];
	char wrap[240] = "";
	int n = 0;

	if (cfg->mmio_gen_wrap_after)
		n = snprintf(wrap, sizeof(wrap), ", MMIO gen wraps at update %u",
			     cfg->mmio_gen_wrap_after);
	/* The machine profile, when it is not the default (traces stay as they were). */
	if (cfg->nr_address_spaces == 1)
		n += snprintf(wrap + n, sizeof(wrap) - n, ", 1 address space");
	if (cfg->host_maxphyaddr)
		n += snprintf(wrap + n, sizeof(wrap) - n, ", MAXPHYADDR %d", cfg->host_maxphyaddr);
	/* fuzz_mmu_ops' profile 2: the MMU features, when not the defaults. */
	if (cfg->pfn_model == MMUSIM_PFN_MODEL_V9)
		n += snprintf(wrap + n, sizeof(wrap) - n, ", pfn model v9");
	if (cfg->nx_huge_pages)
		n += snprintf(wrap + n, sizeof(wrap) - n, ", NX huge pages (ratio %d)",
			      cfg->nx_huge_pages_recovery_ratio);
	if (cfg->no_eager_page_split)
		n += snprintf(wrap + n, sizeof(wrap) - n, ", no eager split");
	if (cfg->zap_collapsible)
		n += snprintf(wrap + n, sizeof(wrap) - n, ", zap collapsible");
	if (cfg->dirty_log_pml)
		n += snprintf(wrap + n, sizeof(wrap) - n, ", PML");
	if (cfg->dirty_ring_size)
		snprintf(wrap + n, sizeof(wrap) - n, ", dirty ring %u%s", cfg->dirty_ring_size,
			 cfg->dirty_ring_acq_rel ? " acq_rel" : "");
	snprintf(buf, sizeof(buf), "%s MMU, %s%s%s, %d vCPUs, %d-level, %s%s",
		 cfg->mmu == MMUSIM_MMU_LEGACY ? "legacy" : "TDP",
		 cfg->tdp_mode == MMUSIM_TDP_NPT ? "NPT" : "EPT",
		 cfg->ept_ad_disabled ? " no-A/D" : "", cfg->ept_exec_only ? " exec-only" : "",
		 cfg->nr_vcpus, cfg->root_level, cfg->no_slot_zap_all ? "slot zap" : "zap all",
		 wrap);
	return buf;
}

/* A VM on a host configured by @hc. */
static inline void fuzz_vm_create_on(struct fuzz_vm *v, const struct mmusim_vm_config *cfg,
				     const struct sim_host_config *hc)
{
	int r;

	memset(v, 0, sizeof(*v));
	v->cfg = *cfg;
	v->max_gfn = ms_max_gfn(cfg->host_maxphyaddr, cfg->root_level);
	v->guest_max_gfn = v->max_gfn;
	if (v->guest_max_gfn >> (9 * cfg->root_level))
		v->guest_max_gfn = (1ull << (9 * cfg->root_level)) - 1;
	FUZZ_ASSERT(!sim_host_create(hc, &v->host));
	FUZZ_ASSERT(!sim_mm_create(v->host, &v->mm));
	r = mmusim_vm_create(v->host, v->mm, cfg, &v->vm);
	FUZZ_ASSERT_MSG(!r, "mmusim_vm_create(%s) = %d", fuzz_vm_describe(cfg), r);
}

static inline void fuzz_vm_create(struct fuzz_vm *v, const struct mmusim_vm_config *cfg,
				  uint64_t host_bytes)
{
	struct sim_host_config hc = { .mem_bytes = host_bytes };

	fuzz_vm_create_on(v, cfg, &hc);
}

static inline void fuzz_vm_destroy(struct fuzz_vm *v)
{
	if (v->vm)
		mmusim_vm_destroy(v->vm);
	sim_mm_destroy(v->mm);
	sim_host_destroy(v->host);
	memset(v, 0, sizeof(*v));
}

/* mmusim_vm_check(): every present leaf legal and backed by what the host maps. */
static inline void fuzz_vm_check(struct fuzz_vm *v, const char *after)
{
	char msg[256];
	int r = mmusim_vm_check(v->vm, msg, sizeof(msg));

	FUZZ_ASSERT_MSG(!r, "mmusim_vm_check after %s (%s): %s", after,
			fuzz_vm_describe(&v->cfg), msg);
}

#endif /* _MMUSIM_FUZZ_VM_H */
