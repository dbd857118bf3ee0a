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
 *   vreserve_max_mb=N largest env_vreserve() (vmalloc) allowed, default 256
 */
#define pr_fmt(fmt) fmt

#include <linux/mm.h> /* before the seam, which defines PAGE_ALIGN without it */
#include <linux/mman.h>
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

module_param_named(vreserve_max_mb, env_vreserve_max_mb, ulong, 0444);
MODULE_PARM_DESC(vreserve_max_mb, "Largest env_vreserve() in MiB (vmalloc-backed)");

/*
 * User memory for the self-tests' uapi calls (st_ubuf, selftest.h): an
 * anonymous mapping in the current address space, pinned and vmap()ed, so
 * the test writes at a kernel address what copy_from_user() then reads at
 * the user one.  That is the insmod process's address space: the tests run
 * in it, and the env threads they start share it (env_thread_start()).
 */
int st_ubuf_alloc(struct st_ubuf *b, size_t size)
{
	unsigned long n = DIV_ROUND_UP(size, PAGE_SIZE), uaddr;
	struct page **pages;
	long pinned;

	memset(b, 0, sizeof(*b));
	if (!n || !current->mm)
		return -EINVAL;
	uaddr = vm_mmap(NULL, 0, n << PAGE_SHIFT, PROT_READ | PROT_WRITE,
			MAP_ANONYMOUS | MAP_PRIVATE, 0);
	if (IS_ERR_VALUE(uaddr))
		return (int)uaddr;
	pages = kcalloc(n, sizeof(*pages), GFP_KERNEL);
	pinned = pages ? pin_user_pages_fast(uaddr, n, FOLL_WRITE | FOLL_LONGTERM, pages) : 0;
	if (pinned == n)
		b->k = vmap(pages, n, VM_MAP, PAGE_KERNEL);
	if (!b->k) {
		if (pinned > 0)
			unpin_user_pages(pages, pinned);
		kfree(pages);
		vm_munmap(uaddr, n << PAGE_SHIFT);
		return -ENOMEM;
	}
	b->u = (void __user *)uaddr;
	b->size = size;
	b->priv = pages;
	return 0;
}

void st_ubuf_free(struct st_ubuf *b)
{
	unsigned long n = DIV_ROUND_UP(b->size, PAGE_SIZE);

	if (!b->k)
		return;
	vunmap(b->k);
	unpin_user_pages(b->priv, n);
	kfree(b->priv);
	vm_munmap((unsigned long)b->u, n << PAGE_SHIFT);
	memset(b, 0, sizeof(*b));
}

static int __init mmusim_init(void)
{
	struct st_options opt = {
		.threads = threads,
		.rounds = rounds,
		.filter = filter,
		.seed = seed ? seed : ktime_get_ns(),
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
	pr_info("mmusim: unloaded\n");
}

module_init(mmusim_init);
module_exit(mmusim_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mmusim: KVM x86 MMU simulator core, self-tests in a real kernel");
