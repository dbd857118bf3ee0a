// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/sev/sev_launch.c and src/sev/psp.c: the SEV and SEV-ES launch
 * flow of Linux 6.12 (arch/x86/kvm/svm/sev.c) against the simulated PSP
 * firmware, with the host's ASID ranges (SEV-ES 1..min_sev_asid - 1, SEV
 * min..max) of KVM_SEV_INIT / KVM_SEV_ES_INIT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include <mmusim/env.h>
#include <mmusim/host.h>
#include <mmusim/sev.h>
#include <mmusim/vm.h>

#define MiB (1ULL << 20)

static u64 vm_asid(struct mmusim_vm *vm)
{
	struct mmusim_sev_stats st;

	assert_int_equal(mmusim_vm_sev_get_stats(vm, &st), 0);
	return st.asid;
}

/* The host's ASIDs as configured, and bad configs. */
static void test_host_asid_config(void **state)
{
	struct sim_host_config hc = { .mem_bytes = 64 * MiB };
	struct sim_host *host;
	u32 min, max;

	assert_int_equal(sim_host_create(&hc, &host), 0);
	assert_int_equal(sim_host_sev_asids(host, &min, &max), 0);
	assert_int_equal(min, 1); /* the defaults: SEV 1..15, no SEV-ES */
	assert_int_equal(max, 15);
	sim_host_destroy(host);
	hc.sev_max_asid = SIM_SEV_ASID_LIMIT + 1;
	assert_int_equal(sim_host_create(&hc, &host), -EINVAL);
	hc.sev_max_asid = 4;
	hc.sev_min_asid = 6;
	assert_int_equal(sim_host_create(&hc, &host), -EINVAL);
	hc.sev_min_asid = 5; /* SEV unusable, SEV-ES 1..4: allowed, as in 6.12 */
	assert_int_equal(sim_host_create(&hc, &host), 0);
	assert_int_equal(sim_host_sev_asids(host, &min, &max), 0);
	assert_int_equal(min, 5);
	assert_int_equal(max, 4);
	sim_host_destroy(host);
}

/*
 * sev_asid_new(): SEV-ES guests take 1..min_sev_asid - 1, SEV guests
 * min..max; -EBUSY when the range is full, -ENOTTY when it is empty, and
 * ES_INIT is -ENOTTY on a host without SEV-ES ASIDs (kvm_amd's sev_es off).
 */
static void test_asid_ranges(void **state)
{
	struct sim_host_config hc = { .mem_bytes = 64 * MiB, .sev_max_asid = 6, .sev_min_asid = 4 };
	struct mmusim_vm_config sev = { .sev = true }, es = { .sev_es = true };
	struct mmusim_vm *s[4], *e[4];
	struct sim_host *host;
	struct sim_mm *mm;
	int i;

	assert_int_equal(sim_host_create(&hc, &host), 0);
	assert_int_equal(sim_mm_create(host, &mm), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(mmusim_vm_create(host, mm, &es, &e[i]), 0);
		assert_int_equal(vm_asid(e[i]), 1 + i);
		assert_int_equal(mmusim_vm_create(host, mm, &sev, &s[i]), 0);
		assert_int_equal(vm_asid(s[i]), 4 + i);
	}
	assert_int_equal(mmusim_vm_create(host, mm, &es, &e[3]), -EBUSY);
	assert_int_equal(mmusim_vm_create(host, mm, &sev, &s[3]), -EBUSY);
	/* A freed ES ASID comes back (after the recycle) to an ES guest only. */
	mmusim_vm_destroy(e[1]);
	assert_int_equal(mmusim_vm_create(host, mm, &sev, &s[3]), -EBUSY);
	assert_int_equal(mmusim_vm_create(host, mm, &es, &e[1]), 0);
	assert_int_equal(vm_asid(e[1]), 2);
	for (i = 0; i < 3; i++) {
		mmusim_vm_destroy(e[i]);
		mmusim_vm_destroy(s[i]);
	}
	sim_mm_destroy(mm);
	sim_host_destroy(host);

	/* No SEV-ES ASIDs: ES_INIT is -ENOTTY; no SEV ASIDs: INIT is -ENOTTY. */
	hc.sev_min_asid = 1;
	assert_int_equal(sim_host_create(&hc, &host), 0);
	assert_int_equal(sim_mm_create(host, &mm), 0);
	assert_int_equal(mmusim_vm_create(host, mm, &es, &e[0]), -ENOTTY);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
	hc.sev_min_asid = 7;
	assert_int_equal(sim_host_create(&hc, &host), 0);
	assert_int_equal(sim_mm_create(host, &mm), 0);
	assert_int_equal(mmusim_vm_create(host, mm, &sev, &s[0]), -ENOTTY);
	assert_int_equal(mmusim_vm_create(host, mm, &es, &e[0]), 0);
	assert_int_equal(vm_asid(e[0]), 1);
	mmusim_vm_destroy(e[0]);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_host_asid_config),
		MMUSIM_TEST(test_asid_ranges),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("sev_launch", tests);
}
