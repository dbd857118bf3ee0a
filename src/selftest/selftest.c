// SPDX-License-Identifier: GPL-2.0-only
/*
 * The self-test runner, shared by the kernel module and userspace.
 *
 * What it does:
 *  1. Serial pass: every selected test once, in registry order, in the
 *     calling thread.  Around each test the environment is reset (no failure
 *     injection, no resched pressure) and, where the seam counts them
 *     (userspace), checked: after rcu_barrier() the number of live objects
 *     must be what it was before, and no WARN may have fired.  A test that
 *     fails these checks fails, even if its own assertions passed.  In the
 *     kernel, kmemleak, KASAN and panic_on_warn take that role.
 *  2. Parallel pass: the ST_PARALLEL tests on opt->threads env threads at
 *     once, each thread running all of them opt->rounds times.  A test fails
 *     if it failed on any thread.  Live objects and WARNs can only be checked
 *     for the pass as a whole (the counters are global); that check is one
 *     more line, "parallel_env_check".
 *  3. Fault-injection pass (opt->fail_permille > 0, userspace only: the
 *     kernel's equivalent is failslab): every selected test once
 *     more with random allocation failures.  Tests are expected to fail
 *     there; what matters is that the code under test unwinds without
 *     crashing or warning (the kernel's own checkers and kmod-check watch
 *     that).  Its lines ("# inject ...") are KTAP diagnostics, not counted.
 *
 * The output is KTAP (Documentation/dev-tools/ktap.rst), so kunit.py parse
 * and kernel CI read it:
 *
 *	KTAP version 1
 *	1..<serial tests + 1>
 *	ok 1 env_atomic_ops
 *	# <name>: FAIL: <file>:<line>: <message>
 *	not ok 2 <name>
 *	ok 3 <name> # SKIP <reason>
 *	...
 *	    KTAP version 1
 *	    # Subtest: parallel
 *	    1..<parallel tests + 1>
 *	    ok 1 env_atomic_ops
 *	    ...
 *	    ok <n> parallel_env_check
 *	ok <serial tests + 1> parallel
 *	# mmusim: N passed, N failed, N skipped
 *
 * The summary counts the leaves (serial tests, parallel subtests and
 * parallel_env_check), not the "parallel" parent.  scripts/kmod-check parses
 * the KTAP lines and cross-checks the summary.
 *
 * Rules: call the runner from a context that may sleep, holding no lock;
 * nothing else may use the failure-injection knobs while it runs.
 */
#include "mmusim_env.h"

#include "selftest/selftest.h"

const struct mmusim_selftest mmusim_selftests[] = {
#define ST_ENTRY(n, f) { .name = #n, .fn = st_##n, .flags = (f) },
#include "selftest/registry.h"
#undef ST_ENTRY
};
const unsigned int mmusim_nr_selftests = ARRAY_SIZE(mmusim_selftests);

bool st_record_failure(struct st_ctx *ctx, const char *file, int line)
{
	if (ctx->failures++)
		return false;
	ctx->file = file;
	ctx->line = line;
	return true;
}

/* "/abs/path/src/mmu/spte.c" -> "src/mmu/spte.c": short, and the same everywhere. */
static const char *st_short_file(const char *file)
{
	const char *p, *s = file;

	for (p = file; *p; p++)
		if (p[0] == '/' && !strncmp(p + 1, "src/", 4))
			s = p + 1;
	return s;
}

static void st_ctx_reset(struct st_ctx *ctx, const struct mmusim_selftest *st)
{
	ctx->name = st->name;
	ctx->failures = 0;
	ctx->file = NULL;
	ctx->line = 0;
	ctx->msg[0] = '\0';
}

u64 mmusim_selftest_seed(u64 base, unsigned int test, unsigned int thread)
{
	u64 s = base ^ ((u64)(test + 1) * 0x9e3779b97f4a7c15ULL) ^ ((u64)thread << 48);

	return s ? s : 1;
}

/* Folds a test's return value and its recorded failures into one verdict. */
static int st_verdict(struct st_ctx *ctx, int rc)
{
	if (rc == ST_SKIP && !ctx->failures)
		return ST_SKIP;
	if (rc == ST_PASS && !ctx->failures)
		return ST_PASS;
	if (!ctx->failures && st_record_failure(ctx, NULL, 0))
		scnprintf(ctx->msg, sizeof(ctx->msg), "test returned %d", rc);
	return ST_FAIL;
}

/*
 * The checks around a test are the environment's.  The userspace seam counts
 * live objects (ENV_LIVE_OBJECTS) and WARNs (ENV_WARN_COUNT), so a test that
 * leaks or warns fails here, by name.  The kernel seam counts neither: there
 * kmemleak, KASAN and panic_on_warn do that job (scripts/kmod-check fails the
 * run on their reports and on the W taint).
 */
struct st_mark {
#ifdef ENV_LIVE_OBJECTS
	struct env_live live;
#endif
#ifdef ENV_WARN_COUNT
	unsigned long warns;
#endif
};

static void st_mark_take(struct st_mark *m)
{
	rcu_barrier();
#ifdef ENV_LIVE_OBJECTS
	env_live_snapshot(&m->live);
#endif
#ifdef ENV_WARN_COUNT
	m->warns = env_warn_count();
#endif
}

/* No failure injection and no resched pressure: what every test starts with. */
static void st_env_reset(void)
{
#ifdef ENV_FAIL_INJECTION
	env_fail_clear();
#endif
#ifdef ENV_RESCHED_PRESSURE
	env_set_resched_interval(0);
#endif
}

#ifdef ENV_LIVE_OBJECTS
static long st_live_delta(const struct env_live *a, const struct env_live *b)
{
	return (b->kmalloc - a->kmalloc) + (b->cache_objs - a->cache_objs) +
	       (b->caches - a->caches) + (b->pages - a->pages);
}
#endif

/* Fails @ctx if objects leaked or WARNs fired since @m (where that is counted). */
static int st_env_check(struct st_ctx *ctx, int rc, const struct st_mark *m)
{
	unsigned long nwarn = 0;
	long leaked = 0;
#ifdef ENV_LIVE_OBJECTS
	struct env_live after;
#endif

	rcu_barrier();
#ifdef ENV_LIVE_OBJECTS
	env_live_snapshot(&after);
	leaked = st_live_delta(&m->live, &after);
#endif
#ifdef ENV_WARN_COUNT
	nwarn = env_warn_count() - m->warns;
#endif
	if (rc == ST_SKIP || rc == ST_FAIL || (!leaked && !nwarn))
		return rc;
	st_record_failure(ctx, NULL, 0);
	if (nwarn)
		scnprintf(ctx->msg, sizeof(ctx->msg), "%lu WARN(s) fired", nwarn);
#ifdef ENV_LIVE_OBJECTS
	else
		scnprintf(ctx->msg, sizeof(ctx->msg),
			  "leaked %ld objects (kmalloc %ld, cache objs %ld, caches %ld, pages %ld)",
			  leaked, after.kmalloc - m->live.kmalloc,
			  after.cache_objs - m->live.cache_objs, after.caches - m->live.caches,
			  after.pages - m->live.pages);
#endif
	return ST_FAIL;
}

int mmusim_selftest_run_one(const struct mmusim_selftest *st, struct st_ctx *ctx)
{
	struct st_mark mark;
	int rc;

	might_sleep();
	st_ctx_reset(ctx, st);
	st_env_reset();
	st_mark_take(&mark);

	rc = st_verdict(ctx, st->fn(ctx));

	st_env_reset();
	return st_env_check(ctx, rc, &mark);
}

/* KTAP indentation: four spaces per subtest level. */
static const char *st_indent(unsigned int depth)
{
	static const char spaces[] = "                ";

	return spaces + sizeof(spaces) - 1 - min(depth * 4, sizeof(spaces) - 1);
}

void mmusim_selftest_report(unsigned int depth, unsigned int nr, const char *name, int rc,
			    const struct st_ctx *ctx)
{
	const char *ind = st_indent(depth);
	char where[96] = "";

	if (rc == ST_PASS) {
		pr_info("%sok %u %s\n", ind, nr, name);
		return;
	}
	if (rc == ST_SKIP) {
		pr_info("%sok %u %s # SKIP %s\n", ind, nr, name, ctx->msg);
		return;
	}
	if (ctx->thread)
		scnprintf(where, sizeof(where), "thread %u: ", ctx->thread);
	if (ctx->file)
		scnprintf(where + strlen(where), sizeof(where) - strlen(where), "%s:%d: ",
			  st_short_file(ctx->file), ctx->line);
	if (ctx->failures > 1)
		pr_info("%s# %s: FAIL: %s%s; %d more failures\n", ind, name, where, ctx->msg,
			ctx->failures - 1);
	else
		pr_info("%s# %s: FAIL: %s%s\n", ind, name, where, ctx->msg);
	pr_info("%snot ok %u %s\n", ind, nr, name);
}

bool mmusim_selftest_selected(const struct mmusim_selftest *st, const char *filter)
{
	return !filter || !*filter || !strncmp(st->name, filter, strlen(filter));
}

void mmusim_selftest_count(struct st_summary *sum, int rc)
{
	if (rc == ST_PASS)
		sum->passed++;
	else if (rc == ST_SKIP)
		sum->skipped++;
	else
		sum->failed++;
}

/* ======================== Parallel pass ======================== */

struct st_worker {
	const struct st_options *opt;
	unsigned int thread;
	int *rc;	     /* per test: the worst verdict over all rounds */
	struct st_ctx *ctx;  /* per test: the context of the first failing run */
	struct env_thread *task;
};

static int st_worker_fn(void *arg)
{
	struct st_worker *w = arg;
	unsigned int rounds = max(w->opt->rounds, 1u), r, i;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < mmusim_nr_selftests; i++) {
			const struct mmusim_selftest *st = &mmusim_selftests[i];
			struct st_ctx *ctx = &w->ctx[i];

			if (!(st->flags & ST_PARALLEL) ||
			    !mmusim_selftest_selected(st, w->opt->filter) || w->rc[i] == ST_FAIL)
				continue;
			st_ctx_reset(ctx, st);
			ctx->thread = w->thread;
			ctx->nr_threads = w->opt->threads;
			ctx->seed = mmusim_selftest_seed(w->opt->seed + r, i, w->thread);
			w->rc[i] = st_verdict(ctx, st->fn(ctx));
		}
	}
	return 0;
}

static void st_free_workers(struct st_worker *w, unsigned int n)
{
	unsigned int t;

	for (t = 0; t < n; t++) {
		kfree(w[t].rc);
		kfree(w[t].ctx);
	}
	kfree(w);
}

static unsigned int st_nr_parallel(const char *filter)
{
	unsigned int i, n = 0;

	for (i = 0; i < mmusim_nr_selftests; i++)
		n += (mmusim_selftests[i].flags & ST_PARALLEL) &&
		     mmusim_selftest_selected(&mmusim_selftests[i], filter);
	return n;
}

int mmusim_selftest_run_parallel(const struct st_options *opt, struct st_summary *sum)
{
	unsigned int n = opt->threads, t, i, started = 0, nr = 0, failed = sum->failed;
	unsigned int depth = max(opt->depth, 1u);
	const char *ind = st_indent(depth);
	struct st_ctx check = { .name = "parallel_env_check" };
	struct st_worker *w;
	struct st_mark mark;
	int rc;

	w = kcalloc(n, sizeof(*w), GFP_KERNEL);
	for (t = 0; w && t < n; t++) {
		w[t].opt = opt;
		w[t].thread = t + 1;
		w[t].rc = kcalloc(mmusim_nr_selftests, sizeof(*w[t].rc), GFP_KERNEL);
		w[t].ctx = kcalloc(mmusim_nr_selftests, sizeof(*w[t].ctx), GFP_KERNEL);
		if (!w[t].rc || !w[t].ctx)
			break;
	}
	if (!w || t < n) {
		if (w)
			st_free_workers(w, n);
		pr_info("%s# parallel: out of memory for %u workers\n", ind, n);
		sum->failed++;
		return ST_FAIL;
	}

	pr_info("%sKTAP version 1\n", ind);
	pr_info("%s# Subtest: parallel\n", ind);
	pr_info("%s# %u threads, %u rounds\n", ind, n, max(opt->rounds, 1u));
	pr_info("%s1..%u\n", ind, st_nr_parallel(opt->filter) + 1);

	st_mark_take(&mark);
	for (t = 0; t < n; t++) {
		w[t].task = env_thread_start(st_worker_fn, &w[t], "selftest");
		started += !!w[t].task;
	}
	for (t = 0; t < n; t++)
		if (w[t].task)
			env_thread_join(w[t].task);

	for (i = 0; i < mmusim_nr_selftests; i++) {
		const struct mmusim_selftest *st = &mmusim_selftests[i];
		struct st_worker *bad = NULL;
		bool all_skipped = true;

		if (!(st->flags & ST_PARALLEL) || !mmusim_selftest_selected(st, opt->filter))
			continue;
		for (t = 0; t < n; t++) {
			if (w[t].task && w[t].rc[i] == ST_FAIL && !bad)
				bad = &w[t];
			if (w[t].task && w[t].rc[i] != ST_SKIP)
				all_skipped = false;
		}
		rc = bad ? ST_FAIL : all_skipped ? ST_SKIP : ST_PASS;
		mmusim_selftest_report(depth, ++nr, st->name, rc,
				       bad ? &bad->ctx[i] : &w[0].ctx[i]);
		mmusim_selftest_count(sum, rc);
	}

	rc = st_env_check(&check, ST_PASS, &mark);
	if (rc == ST_PASS && started < n) {
		check.failures = 1;
		scnprintf(check.msg, sizeof(check.msg), "only %u of %u threads started",
			  started, n);
		rc = ST_FAIL;
	}
	mmusim_selftest_report(depth, ++nr, check.name, rc, &check);
	mmusim_selftest_count(sum, rc);
	st_free_workers(w, n);
	return sum->failed > failed ? ST_FAIL : ST_PASS;
}

/* ======================== Fault-injection pass ======================== */

#ifdef ENV_FAIL_INJECTION
static void st_run_injected(const struct st_options *opt, struct st_ctx *ctx)
{
	unsigned int i;

	for (i = 0; i < mmusim_nr_selftests; i++) {
		const struct mmusim_selftest *st = &mmusim_selftests[i];
		struct env_live before, after;
		unsigned long injected;
		int rc;

		if (!mmusim_selftest_selected(st, opt->filter))
			continue;
		st_ctx_reset(ctx, st);
		ctx->seed = mmusim_selftest_seed(opt->fail_seed ? opt->fail_seed : opt->seed, i, 0);
		rcu_barrier();
		env_live_snapshot(&before);
		env_fail_random(ctx->seed, opt->fail_permille);
		rc = st_verdict(ctx, st->fn(ctx));
		injected = env_fail_injected();
		env_fail_clear();
		rcu_barrier();
		env_live_snapshot(&after);
		pr_info("# inject %s: %s, %lu allocations failed, %ld objects left\n",
			st->name, rc == ST_PASS ? "passed" : rc == ST_SKIP ? "skipped" : "failed",
			injected, st_live_delta(&before, &after));
	}
}
#endif

void mmusim_selftest_summary(const struct st_summary *sum)
{
	pr_info("# mmusim: %u passed, %u failed, %u skipped\n", sum->passed, sum->failed,
		sum->skipped);
}

unsigned int mmusim_selftest_main(const struct st_options *opt)
{
	struct st_summary sum = { 0 };
	struct st_ctx ctx = { 0 };
	unsigned int i, nr = 0, plan = 0;
	int rc;

	for (i = 0; i < mmusim_nr_selftests; i++)
		plan += mmusim_selftest_selected(&mmusim_selftests[i], opt->filter);
	pr_info("KTAP version 1\n");
	pr_info("# mmusim: %u self-tests registered, seed %llu, %u parallel threads\n",
		mmusim_nr_selftests, (unsigned long long)opt->seed, opt->threads);
	pr_info("1..%u\n", plan + !!opt->threads);
	for (i = 0; i < mmusim_nr_selftests; i++) {
		const struct mmusim_selftest *st = &mmusim_selftests[i];

		if (!mmusim_selftest_selected(st, opt->filter))
			continue;
		ctx.thread = 0;
		ctx.nr_threads = 1;
		ctx.seed = mmusim_selftest_seed(opt->seed, i, 0);
		rc = mmusim_selftest_run_one(st, &ctx);
		mmusim_selftest_report(0, ++nr, st->name, rc, &ctx);
		mmusim_selftest_count(&sum, rc);
	}
	if (opt->threads) {
		struct st_ctx pctx = { .failures = 1, .msg = "see its subtests" };

		rc = mmusim_selftest_run_parallel(opt, &sum);
		mmusim_selftest_report(0, ++nr, "parallel", rc, &pctx);
	}
	if (opt->fail_permille) {
#ifdef ENV_FAIL_INJECTION
		pr_info("# fault-injection pass, %u per mille, fail_seed %llu\n",
			opt->fail_permille, (unsigned long long)opt->fail_seed);
		st_run_injected(opt, &ctx);
#else
		pr_info("# no fault-injection pass: this environment has no failure schedule\n");
#endif
	}
	mmusim_selftest_summary(&sum);
	return sum.failed;
}
