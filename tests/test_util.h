/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared helpers for the CMocka tests.
 *
 * Every test group runs with mmusim_test_group_setup/teardown: the setup
 * registers the thread with RCU and clears the counters; the teardown waits
 * for pending RCU callbacks and asserts that no object is live and no WARN
 * fired.  Randomised tests take their seed from mmusim_test_seed(), which
 * prints it and honours MMUSIM_TEST_SEED (or --seed N on the command line).
 */
#ifndef _MMUSIM_TEST_UTIL_H
#define _MMUSIM_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mmusim_env.h"

int mmusim_test_group_setup(void **state);
int mmusim_test_group_teardown(void **state);
/* Per-test: fails the test if it leaked an object or fired a WARN. */
int mmusim_test_setup(void **state);
int mmusim_test_teardown(void **state);

void mmusim_test_init(int argc, char **argv);
u64 mmusim_test_seed(void);
/* Scales loop counts and durations: MMUSIM_STRESS_SECONDS, default 2. */
unsigned int mmusim_test_stress_seconds(void);

/* xorshift64*: small, seedable, good enough for test schedules. */
static inline u64 test_rand(u64 *state)
{
	u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/*
 * The checked environment's own checks (owner-checked locks, lockdep
 * assertions, RCU/SRCU reader checks, might_sleep()) do not exist in the fast
 * build (-DMMUSIM_ENV=fast, src/env/user/env_lock.h): a test of one skips
 * there, saying which check, and a test that counts the WARNs a check fires
 * expects ENV_CHECKED of them.
 */
#ifdef MMUSIM_ENV_FAST
#define ENV_CHECKED 0
#define skip_unless_env_checked(what)                                             \
	do {                                                                      \
		print_message("skipped: the fast environment has no %s\n", what); \
		skip();                                                           \
	} while (0)
#else
#define ENV_CHECKED 1
#define skip_unless_env_checked(what) \
	do {                          \
	} while (0)
#endif

#define MMUSIM_TEST(f) cmocka_unit_test_setup_teardown(f, mmusim_test_setup, mmusim_test_teardown)

#define mmusim_run_tests(name, tests)                                                 \
	cmocka_run_group_tests_name(name, tests, mmusim_test_group_setup,            \
				    mmusim_test_group_teardown)

#endif /* _MMUSIM_TEST_UTIL_H */

/*
 * A VM on a fresh host, for MMU tests: a host of @host_mem bytes, one mm
 * (the VMM), @size bytes mmap'ed with @map_flags (SIM_MAP_PRIVATE plus
 * SIM_MAP_HUGETLB_2M etc.) and registered as memslot 0 at gpa @gpa.
 */
#include <mmusim/host.h>
#include <mmusim/vm.h>
#include <mmusim/sev.h>

/*
 * User-memory buffers for -EFAULT tests.  test_guarded_buf() returns @size
 * bytes that end exactly where an inaccessible page begins, so a copy of
 * @size + 1 bytes faults on its last byte; @prot is the protection of the
 * buffer's own pages (PROT_READ for a read-only output buffer).
 * test_bad_ptr() is an address that is mapped PROT_NONE.  Both are freed
 * by test_guarded_free() / at exit.
 */
void *test_guarded_buf(size_t size, int prot);
void test_guarded_free(void *buf, size_t size);
void *test_bad_ptr(void);

struct test_vm {
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	hva_t hva;
	u64 size;
	gpa_t gpa;
};

struct test_vm_opts {
	u64 host_mem;	/* 0: 4 GiB */
	u64 size;	/* bytes of guest memory in slot 0; 0: none */
	gpa_t gpa;
	int map_flags;	/* 0: SIM_MAP_PRIVATE */
	struct mmusim_vm_config cfg;
	/* The host's config, if set (host_mem then ignored). */
	const struct sim_host_config *hcfg;
};

/*
 * The MMU of the VMs test_vm_create() makes when opts leave cfg.mmu at
 * MMUSIM_MMU_TDP: tests run a second time with the legacy MMU by setting it
 * (MMUSIM_LEGACY_VARIANT); every test's setup resets it to MMUSIM_MMU_TDP.
 */
extern int test_vm_mmu;
#define MMUSIM_LEGACY_VARIANT(fn)                                                    \
	static void fn##_legacy(void **state)                                        \
	{                                                                            \
		test_vm_mmu = MMUSIM_MMU_LEGACY;                                     \
		fn(state);                                                           \
		test_vm_mmu = MMUSIM_MMU_TDP;                                        \
	}

void test_vm_create(struct test_vm *t, const struct test_vm_opts *o);
void test_vm_destroy(struct test_vm *t);
/* KVM_SET_USER_MEMORY_REGION that must succeed. */
void test_vm_set_region(struct test_vm *t, u32 slot, gpa_t gpa, u64 size, hva_t hva);
/* ... with these flags (KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY); size 0 deletes. */
void test_vm_set_region_flags(struct test_vm *t, u32 slot, gpa_t gpa, u64 size, hva_t hva,
			      u32 flags);
/* Asserts that mmusim_vm_check() passes. */
void test_vm_check(struct test_vm *t);

/* The host's mapping of @hva (which must be mapped): its pfn, and its (head) page's refcount. */
kvm_pfn_t test_host_pfn(struct test_vm *t, hva_t hva);
int test_host_page_count(struct test_vm *t, hva_t hva);

/* SEV guests: the stats, and one u64 written/read by vCPU 0 at a gfn (must succeed). */
struct mmusim_sev_stats test_sev_stats(struct test_vm *t);
void test_guest_put64(struct test_vm *t, gfn_t gfn, u64 v);
u64 test_guest_get64(struct test_vm *t, gfn_t gfn);

/*
 * Host churn for the SEV concurrency tests: test_churn_host() (a pthread
 * start routine) migrates, compacts, swaps out and zaps (@zap) or ages the
 * guest's first @npages pages at random until @stop.
 * test_churn_two_vcpus() runs it while two vCPU threads write
 * (round << 32) | gfn to those gfns (vCPU i the gfns = i mod 2), @rounds
 * times, each round read back by vCPU 0.
 */
struct test_churn {
	struct test_vm *t;
	bool stop; /* __atomic */
	bool zap;
	u64 seed;
	u64 npages;
};
/*
 * Flush before release: allocates zeroed pages until the host hands out
 * @pfn (freed by the caller) to its next owner, then frees them again;
 * true if the next owner's zeroed page held foreign bytes (dirty guest
 * lines written back over it).
 */
bool test_sev_next_owner_dirty(struct test_vm *t, kvm_pfn_t pfn);
void *test_churn_host(void *arg);
void test_churn_two_vcpus(struct test_churn *c, u64 rounds);
