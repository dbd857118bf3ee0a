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
 * On a kernel with CONFIG_KUNIT the same tests are a KUnit suite instead
 * (below), and KUnit prints the KTAP.
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
 *   trace_mask=MASK   with MMUSIM_CFLAGS=-DMMUSIM_KERNEL_TRACE: events to trace_printk()
 *   selftest=0        load without running the self-tests
 *
 * Once loaded, /sys/kernel/debug/mmusim/ runs the fault benchmark, the
 * invariant checker and single self-tests on request (mmusim_debugfs.c).
 */
#define pr_fmt(fmt) fmt

#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "mmusim_env.h"
#include "mmu/mmutrace.h"
#include "selftest/selftest.h"
#include "mmusim_debugfs.h"

static bool selftest = true;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest, "Run the self-tests at load (0: only the debugfs interface)");

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

unsigned long env_vreserve_max_mb = 256;
module_param_named(vreserve_max_mb, env_vreserve_max_mb, ulong, 0444);
MODULE_PARM_DESC(vreserve_max_mb, "Largest env_vreserve() in MiB (vmalloc-backed)");

#ifdef MMUSIM_KERNEL_TRACE
/* The seam's trace hook (mmusim_env.h): the module sends each event to trace_printk(). */
u64 env_trace_mask;
module_param_named(trace_mask, env_trace_mask, ullong, 0644);
MODULE_PARM_DESC(trace_mask, "trace events to trace_printk, one bit per event id");

void env_trace_record(unsigned int id, const u64 *fields, unsigned int nr_fields)
{
	char buf[256];

	kvm_trace_event_print(id, fields, buf, sizeof(buf));
	trace_printk("%s: %s\n", kvm_trace_events[id].name, buf);
}
#endif

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

#if IS_ENABLED(CONFIG_KUNIT)
/*
 * With KUnit (the debug kernel of scripts/kmod-debug-kernel) the self-tests
 * are the KUnit suite "mmusim", and KUnit prints the KTAP:
 *
 *	# Subtest: mmusim
 *	    # Subtest: selftest        one parameter per selected self-test,
 *	    ok 1 env_atomic_ops        run by the same runner (so its checks apply)
 *	    ...
 *	ok 1 selftest
 *	    # Subtest: parallel        the parallel pass's own block, one level down
 *	    ...
 *	ok 2 parallel
 *
 * KUnit runs each case in a kthread of its own, which gets the insmod
 * process's address space for st_ubuf_alloc() (suite_init runs in insmod).
 * The summary diagnostic "# mmusim: N passed, N failed, N skipped" (the
 * leaves, as without KUnit) comes at rmmod, after KUnit's last line.
 */
#include <kunit/test.h>
#include <linux/mmu_context.h>
#include <linux/sched/mm.h>

static struct mm_struct *mmusim_kunit_mm;
static u64 mmusim_kunit_seed, mmusim_kunit_start, mmusim_kunit_ns;
static struct st_summary mmusim_kunit_sum;

static int mmusim_kunit_suite_init(struct kunit_suite *suite)
{
	mmusim_kunit_mm = current->mm;
	if (mmusim_kunit_mm)
		mmget(mmusim_kunit_mm);
	mmusim_kunit_seed = seed ? seed : ktime_get_ns();
	memset(&mmusim_kunit_sum, 0, sizeof(mmusim_kunit_sum));
	pr_info("# mmusim: %u self-tests registered, seed %llu, %u parallel threads\n",
		mmusim_nr_selftests, mmusim_kunit_seed, threads);
	mmusim_kunit_start = ktime_get_ns();
	return 0;
}

static void mmusim_kunit_suite_exit(struct kunit_suite *suite)
{
	mmusim_kunit_ns = ktime_get_ns() - mmusim_kunit_start;
	if (mmusim_kunit_mm)
		mmput(mmusim_kunit_mm);
	mmusim_kunit_mm = NULL;
}

static bool mmusim_kunit_enter_mm(void)
{
	if (current->mm || !mmusim_kunit_mm)
		return false;
	kthread_use_mm(mmusim_kunit_mm);
	return true;
}

static const void *mmusim_kunit_gen(const void *prev, char *desc)
{
	const struct mmusim_selftest *st =
		prev ? (const struct mmusim_selftest *)prev + 1 : mmusim_selftests;

	for (; st < mmusim_selftests + mmusim_nr_selftests; st++) {
		if (mmusim_selftest_selected(st, filter)) {
			strscpy(desc, st->name, KUNIT_PARAM_DESC_SIZE);
			return st;
		}
	}
	return NULL;
}

static void mmusim_kunit_selftest(struct kunit *test)
{
	const struct mmusim_selftest *st = test->param_value;
	unsigned int i = st - mmusim_selftests;
	struct st_ctx ctx = { .nr_threads = 1,
			      .seed = mmusim_selftest_seed(mmusim_kunit_seed, i, 0) };
	bool entered = mmusim_kunit_enter_mm();
	int rc = mmusim_selftest_run_one(st, &ctx);

	/* Not kunit_skip(), which would end the kthread with the mm in use. */
	if (entered)
		kthread_unuse_mm(mmusim_kunit_mm);
	mmusim_selftest_count(&mmusim_kunit_sum, rc);
	if (rc == ST_SKIP)
		kunit_mark_skipped(test, "%s", ctx.msg);
	else if (rc != ST_PASS)
		KUNIT_FAIL(test, "%s:%d: %s", ctx.file ? ctx.file : "runner", ctx.line, ctx.msg);
}

static void mmusim_kunit_parallel(struct kunit *test)
{
	struct st_options opt = {
		.threads = threads,
		.rounds = rounds,
		.filter = filter,
		.seed = mmusim_kunit_seed,
		.depth = 2,
	};
	struct st_summary sum = { 0 };
	bool entered;
	int rc;

	if (!threads) {
		mmusim_kunit_sum.skipped++;
		kunit_mark_skipped(test, "threads=0");
		return;
	}
	entered = mmusim_kunit_enter_mm();
	rc = mmusim_selftest_run_parallel(&opt, &sum);
	if (entered)
		kthread_unuse_mm(mmusim_kunit_mm);
	mmusim_kunit_sum.passed += sum.passed;
	mmusim_kunit_sum.failed += sum.failed;
	mmusim_kunit_sum.skipped += sum.skipped;
	if (rc != ST_PASS)
		KUNIT_FAIL(test, "%u of the parallel pass's results failed", sum.failed);
}

/* Named as without KUnit: the parallel block's "# Subtest:" must match its case. */
static struct kunit_case mmusim_kunit_cases[] = {
	{
		.name = "selftest",
		.run_case = mmusim_kunit_selftest,
		.generate_params = mmusim_kunit_gen,
	},
	{
		.name = "parallel",
		.run_case = mmusim_kunit_parallel,
	},
	{},
};

static struct kunit_suite mmusim_kunit_suite = {
	.name = "mmusim",
	.suite_init = mmusim_kunit_suite_init,
	.suite_exit = mmusim_kunit_suite_exit,
	.test_cases = mmusim_kunit_cases,
};
kunit_test_suite(mmusim_kunit_suite);

/* KUnit runs the suite once init returned (MODULE_STATE_LIVE). */
static int __init mmusim_init(void)
{
	mmusim_debugfs_init();
	return 0;
}

static void mmusim_report_kunit(void)
{
	pr_info("mmusim: self-tests took %llu ms\n", mmusim_kunit_ns / 1000000);
	mmusim_selftest_summary(&mmusim_kunit_sum);
}
#else
/* Without KUnit the runner prints the KTAP itself (src/selftest/selftest.c). */
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

	if (selftest) {
		failed = mmusim_selftest_main(&opt);
		pr_info("mmusim: self-tests took %llu ms%s\n", (ktime_get_ns() - start) / 1000000,
			failed ? " (failures above)" : "");
	}
	mmusim_debugfs_init();
	return 0;
}

static void mmusim_report_kunit(void)
{
}
#endif

static void __exit mmusim_exit(void)
{
	mmusim_debugfs_exit();
	rcu_barrier();		/* no call_rcu callback may outlive the module text */
	mmusim_report_kunit();
	pr_info("mmusim: unloaded\n");
}

module_init(mmusim_init);
module_exit(mmusim_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mmusim: KVM x86 MMU simulator core, self-tests in a real kernel");
