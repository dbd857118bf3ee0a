// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmusim.ko glue: module parameters, and an init that runs the portable
 * self-tests (src/selftest) inside the kernel.  Nothing else lives here; the
 * core and the tests are the same sources the userspace library builds.
 *
 * At load the suite runs once in the insmod thread, then its ST_PARALLEL
 * tests on `threads` kthreads at once, printing KTAP (src/selftest/selftest.c):
 *
 *	KTAP version 1
 *	1..N
 *	ok 1 <name> | not ok 1 <name> (after a "# <name>: FAIL: ..." line)
 *	...the parallel pass as a nested "# Subtest: parallel"...
 *	# mmusim: N passed, N failed, N skipped
 *
 * The module loads even when tests fail (the log is the result, and rmmod
 * stays possible); scripts/kmod-check boots it under qemu and reads the log.
 *
 * Parameters:
 *   threads=N         parallel pass threads (default 4, 0 skips the pass)
 *   rounds=N          rounds of the parallel pass per thread (default 2)
 *   filter=PREFIX     run only tests whose name starts with PREFIX
 *   seed=N            base seed for randomised tests (0: from the clock)
 *   fail_permille=N   > 0: one more pass with every allocation made through
 *                     the seam failing with probability N/1000 (seed
 *                     fail_seed); its "# inject" lines are informational
 *   fail_seed=N
 *   vreserve_max_mb=N largest env_vreserve() (vmalloc) allowed, default 256
 */
#define pr_fmt(fmt) fmt

#include <linux/module.h>
#include <linux/moduleparam.h>

#include "mmusim_env.h"
#include "selftest/selftest.h"

static unsigned int threads = 4;
module_param(threads, uint, 0444);
MODULE_PARM_DESC(threads, "Threads in the parallel self-test pass (0: none)");

static unsigned int rounds = 2;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "Rounds per thread in the parallel pass");

static char *filter;
module_param(filter, charp, 0444);
MODULE_PARM_DESC(filter, "Run only the self-tests whose name starts with this");

static unsigned long long seed;
module_param(seed, ullong, 0444);
MODULE_PARM_DESC(seed, "Base seed for randomised self-tests (0: from the clock)");

static unsigned int fail_permille;
module_param(fail_permille, uint, 0444);
MODULE_PARM_DESC(fail_permille, "Extra pass with allocations failing at this rate (per mille)");

static unsigned long long fail_seed = 1;
module_param(fail_seed, ullong, 0444);
MODULE_PARM_DESC(fail_seed, "Seed of the fault-injection pass");

module_param_named(vreserve_max_mb, env_vreserve_max_mb, ulong, 0444);
MODULE_PARM_DESC(vreserve_max_mb, "Largest env_vreserve() in MiB (vmalloc-backed)");

static int __init mmusim_init(void)
{
	struct st_options opt = {
		.threads = threads,
		.rounds = rounds,
		.filter = filter,
		.seed = seed ? seed : ktime_get_ns(),
		.fail_permille = min(fail_permille, 1000u),
		.fail_seed = fail_seed,
	};
	u64 start = ktime_get_ns();
	unsigned int failed;

	failed = mmusim_selftest_main(&opt);
	pr_info("mmusim: self-tests took %llu ms%s\n", (ktime_get_ns() - start) / 1000000,
		failed ? " (failures above)" : "");
	return 0;
}

static void __exit mmusim_exit(void)
{
	rcu_barrier();		/* no call_rcu callback may outlive the module text */
	pr_info("mmusim: unloaded, %ld objects left\n", env_live_objects());
}

module_init(mmusim_init);
module_exit(mmusim_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mmusim: KVM x86 MMU simulator core, self-tests in a real kernel");
