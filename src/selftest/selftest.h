/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The portable self-tests: a tiny KUnit-like framework whose test bodies run
 * unchanged in userspace (one CMocka test per entry, tests/test_selftest.c)
 * and inside a real kernel (mmusim.ko, kernel/mmusim_main.c).
 *
 * A test is a function that gets a struct st_ctx and returns ST_PASS (0), or
 * whatever an ST_ASSERT*() returned for it:
 *
 *	ST_TEST(env_list_basics)
 *	{
 *		LIST_HEAD(head);
 *
 *		ST_ASSERT(list_empty(&head));
 *		return ST_PASS;
 *	}
 *
 * and is registered by one line in src/selftest/registry.h:
 *
 *	ST_ENTRY(env_list_basics, ST_PARALLEL)
 *
 * (a new file also goes in src/selftest/sources.txt; CMake and Kbuild read it).
 *
 * Rules for test bodies:
 *  1. They are core code: "mmusim_env.h" and project headers only, kernel
 *     names only, no floating point, frames well under 2 KiB (big state goes
 *     in kzalloc'd structs).
 *  2. ST_ASSERT*() records the failure and returns from the test at once.
 *     Never use it while holding a lock, inside rcu_read_lock()/srcu, or while
 *     a thread the test started may still run: use ST_EXPECT*() (records and
 *     carries on), unwind, then return st_result(ctx).
 *  3. Free what you allocate: the runner fails a serial run that leaves live
 *     objects (after rcu_barrier()) or fires a WARN.
 *  4. Behaviour must be the same in both environments.  The userspace seam is
 *     stricter (owner-checked locks, RCU reader assertions): do not test the
 *     strictness itself here, the kernel would really WARN.
 *  5. ST_PARALLEL means the test may run in several threads at once: it uses
 *     no global knob (env_fail_*, env_set_resched_interval, warn counters)
 *     and no global object.  The runner runs those a second time on several
 *     threads simultaneously.  Spin-waits call cond_resched() (kernel threads
 *     are not preempted under CONFIG_PREEMPT_VOLUNTARY).
 */
#ifndef _MMUSIM_SELFTEST_H
#define _MMUSIM_SELFTEST_H

#include "mmusim_env.h"

enum { ST_PASS = 0, ST_FAIL = -1, ST_SKIP = 1 };

#define ST_MSG_LEN 200

struct st_ctx {
	const char *name;	 /* the running test */
	unsigned int thread;	 /* 0 in the serial pass, 1..nr_threads in the parallel one */
	unsigned int nr_threads; /* threads running tests at the same time */
	u64 seed;		 /* randomised tests derive everything from it */
	int failures;		 /* failed assertions and expectations */
	const char *file;	 /* site of the first failure */
	int line;
	char msg[ST_MSG_LEN];	 /* its message (or the skip reason) */
};

/* Safe to run in several threads at once (see rule 5). */
#define ST_PARALLEL 0x1u

struct mmusim_selftest {
	const char *name;
	int (*fn)(struct st_ctx *ctx);
	unsigned int flags;
};

#define ST_TEST(name) int st_##name(struct st_ctx *ctx)

/* Every registered test, declared from the registry. */
#define ST_ENTRY(name, flags) ST_TEST(name);
#include "selftest/registry.h"
#undef ST_ENTRY

extern const struct mmusim_selftest mmusim_selftests[];
extern const unsigned int mmusim_nr_selftests;

/* Records a failure at @file:@line; true if it is the first (its message is kept). */
bool st_record_failure(struct st_ctx *ctx, const char *file, int line);
/* ST_FAIL if anything failed so far, else ST_PASS. */
static inline int st_result(const struct st_ctx *ctx)
{
	return ctx->failures ? ST_FAIL : ST_PASS;
}

#define __ST_FAILURE(fmt, ...)                                                        \
	do {                                                                          \
		if (st_record_failure(ctx, __FILE__, __LINE__))                       \
			scnprintf(ctx->msg, sizeof(ctx->msg), fmt, ##__VA_ARGS__);    \
	} while (0)

/*
 * Each check is a statement expression that records a failure and yields
 * whether it held; ASSERT returns ST_FAIL from the test when it did not,
 * EXPECT carries on (usable in void helpers too).
 */
#define __ST_CHECK(cond)                                                              \
	({                                                                            \
		bool __st_ok = !!(cond);                                              \
		if (unlikely(!__st_ok))                                               \
			__ST_FAILURE("%s", #cond);                                    \
		__st_ok;                                                              \
	})

#define __ST_CMP(a, op, b)                                                            \
	({                                                                            \
		__typeof__(a) __st_a = (a);                                           \
		__typeof__(b) __st_b = (b);                                           \
		bool __st_ok = __st_a op __st_b;                                      \
		if (unlikely(!__st_ok))                                               \
			__ST_FAILURE("%s %s %s: %lld (0x%llx) vs %lld (0x%llx)", #a,  \
				     #op, #b, (long long)__st_a,                      \
				     (unsigned long long)__st_a, (long long)__st_b,   \
				     (unsigned long long)__st_b);                     \
		__st_ok;                                                              \
	})

#define __ST_PTR(p, op, q)                                                            \
	({                                                                            \
		const void *__st_p = (p), *__st_q = (q);                              \
		bool __st_ok = __st_p op __st_q;                                      \
		if (unlikely(!__st_ok))                                               \
			__ST_FAILURE("%s %s %s: 0x%lx vs 0x%lx", #p, #op, #q,         \
				     (unsigned long)__st_p, (unsigned long)__st_q);   \
		__st_ok;                                                              \
	})

#define __ST_ASSERT(check)                                                            \
	do {                                                                          \
		if (!(check))                                                         \
			return ST_FAIL;                                               \
	} while (0)

#define ST_ASSERT(cond) __ST_ASSERT(__ST_CHECK(cond))
#define ST_ASSERT_EQ(a, b) __ST_ASSERT(__ST_CMP(a, ==, b))
#define ST_ASSERT_NE(a, b) __ST_ASSERT(__ST_CMP(a, !=, b))
#define ST_ASSERT_LT(a, b) __ST_ASSERT(__ST_CMP(a, <, b))
#define ST_ASSERT_LE(a, b) __ST_ASSERT(__ST_CMP(a, <=, b))
#define ST_ASSERT_GT(a, b) __ST_ASSERT(__ST_CMP(a, >, b))
#define ST_ASSERT_GE(a, b) __ST_ASSERT(__ST_CMP(a, >=, b))
#define ST_ASSERT_PTR_EQ(p, q) __ST_ASSERT(__ST_PTR(p, ==, q))
#define ST_ASSERT_NULL(p) __ST_ASSERT(__ST_PTR(p, ==, NULL))
#define ST_ASSERT_NOT_NULL(p) __ST_ASSERT(__ST_PTR(p, !=, NULL))

#define ST_EXPECT(cond) ((void)__ST_CHECK(cond))
#define ST_EXPECT_EQ(a, b) ((void)__ST_CMP(a, ==, b))
#define ST_EXPECT_NE(a, b) ((void)__ST_CMP(a, !=, b))
#define ST_EXPECT_LT(a, b) ((void)__ST_CMP(a, <, b))
#define ST_EXPECT_LE(a, b) ((void)__ST_CMP(a, <=, b))
#define ST_EXPECT_GT(a, b) ((void)__ST_CMP(a, >, b))
#define ST_EXPECT_GE(a, b) ((void)__ST_CMP(a, >=, b))
#define ST_EXPECT_PTR_EQ(p, q) ((void)__ST_PTR(p, ==, q))
#define ST_EXPECT_NULL(p) ((void)__ST_PTR(p, ==, NULL))
#define ST_EXPECT_NOT_NULL(p) ((void)__ST_PTR(p, !=, NULL))

/* Unconditional failure, with a message; returns from the test. */
#define ST_FAIL_MSG(fmt, ...)                                                         \
	do {                                                                          \
		__ST_FAILURE(fmt, ##__VA_ARGS__);                                     \
		return ST_FAIL;                                                       \
	} while (0)

/* The test does not apply here (e.g. needs more memory than the kernel run has). */
#define ST_SKIP_MSG(fmt, ...)                                                         \
	do {                                                                          \
		scnprintf(ctx->msg, sizeof(ctx->msg), fmt, ##__VA_ARGS__);            \
		return ST_SKIP;                                                       \
	} while (0)

/* Spin-wait step usable in both environments, outside locks and RCU readers. */
static inline void st_relax(void)
{
	cpu_relax();
	cond_resched();
}

/* Yields until @cond holds or @ms milliseconds passed; evaluates to @cond. */
#define st_wait_until(cond, ms)                                                       \
	({                                                                            \
		u64 __st_end = ktime_get_ns() + (u64)(ms) * 1000000ULL;              \
		while (!(cond) && ktime_get_ns() < __st_end)                          \
			st_relax();                                                   \
		(cond);                                                               \
	})

/* ======================== User memory ======================== */

/*
 * A buffer a test hands to the uapi-shaped calls, which copy_from_user() and
 * copy_to_user() it as KVM's ioctls do, so it must be user memory in both
 * environments.  The harness provides it: in userspace any memory is user
 * memory (@k == @u, tests/test_selftest.c); in the module it is an anonymous
 * mapping in the loading process's address space, which env threads share,
 * pinned and vmap()ed (kernel/mmusim_main.c), so the test reads and writes
 * it at @k while the calls get a real user address.  Zeroed; free it in the
 * thread that allocated it.  NULL stays the unreadable pointer in both.
 */
struct st_ubuf {
	void *k; /* the test's view */
	void __user *u; /* the same bytes, as the uapi calls get them */
	size_t size;
	void *priv; /* the harness's */
};
int st_ubuf_alloc(struct st_ubuf *b, size_t size);
void st_ubuf_free(struct st_ubuf *b); /* a zeroed or freed @b is fine */

/*
 * The uapi calls the tests make most, from kernel buffers bounced through an
 * st_ubuf (st_uapi.c); the arguments and returns are those of the
 * mmusim_vm_set_user_memory_region(), mmusim_vm_get_dirty_log() (slot and
 * bitmap) and mmusim_vcpu_read/write() they make.
 */
struct mmusim_vm;
struct mmusim_vcpu;
struct kvm_userspace_memory_region;
int st_vm_set_region(struct mmusim_vm *vm, const struct kvm_userspace_memory_region *r);
int st_vm_get_dirty_log(struct mmusim_vm *vm, u32 slot, unsigned long *bitmap, size_t size);
int st_vcpu_read(struct mmusim_vcpu *vcpu, gpa_t gpa, void *buf, u64 len);
int st_vcpu_write(struct mmusim_vcpu *vcpu, gpa_t gpa, const void *buf, u64 len);

/* The user address of @p, a pointer into @b's test view. */
#define st_uptr(b, p) \
	((void __user *)((unsigned long)(b)->u + ((unsigned long)(p) - (unsigned long)(b)->k)))

/* ======================== Runner ======================== */

struct st_options {
	unsigned int threads;	    /* parallel pass: threads at once; 0 skips the pass */
	unsigned int rounds;	    /* parallel pass: rounds per thread (0 means 1) */
	const char *filter;	    /* only tests whose name starts with this; NULL: all */
	u64 seed;		    /* base seed handed to the tests */
	unsigned int fail_permille; /* > 0: also a pass under random allocation failures */
	u64 fail_seed;		    /* its seed (0: derived from seed) */
	unsigned int depth; /* parallel pass: its KTAP block's level (0 means 1) */
};

struct st_summary {
	unsigned int passed, failed, skipped;
};

/*
 * Runs one test in the calling thread with the environment checks: the
 * failure-injection schedule and resched pressure are cleared around it, and
 * a test that leaves live objects (after rcu_barrier()) or fires a WARN
 * fails.  Fills @ctx (thread, nr_threads and seed are the caller's).
 * Returns ST_PASS, ST_FAIL or ST_SKIP.
 */
int mmusim_selftest_run_one(const struct mmusim_selftest *st, struct st_ctx *ctx);

/*
 * One KTAP result, indented by @depth subtest levels: "ok <nr> <name>",
 * "ok <nr> <name> # SKIP <why>", or a "# <name>: FAIL: <file>:<line>: <why>"
 * diagnostic followed by "not ok <nr> <name>".
 */
void mmusim_selftest_report(unsigned int depth, unsigned int nr, const char *name, int rc,
			    const struct st_ctx *ctx);

/* Counts one result (ST_PASS, ST_SKIP or a failure) into @sum. */
void mmusim_selftest_count(struct st_summary *sum, int rc);
/* The closing KTAP diagnostic, "# mmusim: N passed, N failed, N skipped". */
void mmusim_selftest_summary(const struct st_summary *sum);

bool mmusim_selftest_selected(const struct mmusim_selftest *st, const char *filter);

/* The seed of test number @test (registry index) on @thread, from @base. */
u64 mmusim_selftest_seed(u64 base, unsigned int test, unsigned int thread);

/*
 * Runs the ST_PARALLEL tests on @opt->threads env threads at once, each
 * thread running all of them @opt->rounds times; prints the pass as a nested
 * KTAP block ("# Subtest: parallel", one result per test, then
 * parallel_env_check, which covers leaks and WARNs for the pass as a whole)
 * and adds to @sum.  The caller prints the parent result line.  Returns
 * ST_FAIL if anything in the pass failed, else ST_PASS.
 */
int mmusim_selftest_run_parallel(const struct st_options *opt, struct st_summary *sum);

/*
 * The whole suite: every selected test serially, then the parallel pass,
 * then (fail_permille > 0) the fault-injection pass, printed as KTAP (see
 * selftest.c); ends with "# mmusim: N passed, N failed, N skipped".  Returns
 * the number of failures.
 */
unsigned int mmusim_selftest_main(const struct st_options *opt);

#endif /* _MMUSIM_SELFTEST_H */
