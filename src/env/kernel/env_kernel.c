// SPDX-License-Identifier: GPL-2.0-only
/*
 * The project-only half of the kernel seam: what mmusim needs that the kernel
 * has no name for.  Everything else in mmusim_env.h is the kernel's own.
 *
 *  - live-object counters (read by the self-test runner to name the test
 *    that leaked; WARNs are the kernel's taint, see mmusim_env.h);
 *  - the allocation-failure schedule, the same as userspace's (nth, every,
 *    random with a seed), consulted by the allocation wrappers in
 *    mmusim_env.h and by project allocators via env_should_fail_alloc();
 *  - resched pressure: need_resched() sets the real TIF_NEED_RESCHED every
 *    n-th call, so the yield paths run on demand;
 *  - env_thread_*: kthreads with a join that returns the thread's result;
 *  - env_vreserve(): vmalloc-backed, size-limited.
 *
 * All state is global and atomic: the schedule and counters are shared by
 * every thread, as in userspace, so tests that set them must run alone (the
 * self-test runner keeps them out of the parallel pass).
 */
#include "mmusim_env.h"

#include <linux/completion.h>

/* ======================== Counters ======================== */

struct env_live_counters env_live_counters;

void env_live_snapshot(struct env_live *live)
{
	live->kmalloc = atomic_long_read(&env_live_counters.kmalloc);
	live->cache_objs = atomic_long_read(&env_live_counters.cache_objs);
	live->caches = atomic_long_read(&env_live_counters.caches);
	live->pages = atomic_long_read(&env_live_counters.pages);
}

long env_live_objects(void)
{
	struct env_live l;

	env_live_snapshot(&l);
	return l.kmalloc + l.cache_objs + l.caches + l.pages;
}

/* ======================== Failure injection ======================== */

enum { FAIL_NONE, FAIL_NTH, FAIL_EVERY, FAIL_RANDOM, FAIL_COUNT };

int env_fail_mode;		/* FAIL_NONE keeps env_should_fail_alloc() inline and cheap */
static unsigned long fail_n;
static unsigned int fail_permille;
static u64 fail_rng;
static atomic_long_t fail_attempts, fail_injected;

static void fail_reset(int mode)
{
	atomic_long_set(&fail_attempts, 0);
	atomic_long_set(&fail_injected, 0);
	smp_store_release(&env_fail_mode, mode);
}

void env_fail_nth(unsigned long n)
{
	WRITE_ONCE(fail_n, n ? n : 1);
	fail_reset(FAIL_NTH);
}

void env_fail_every(unsigned long n)
{
	WRITE_ONCE(fail_n, n ? n : 1);
	fail_reset(FAIL_EVERY);
}

void env_fail_random(u64 seed, unsigned int permille)
{
	WRITE_ONCE(fail_rng, seed ? seed : 0x9e3779b97f4a7c15ULL);
	WRITE_ONCE(fail_permille, permille);
	fail_reset(FAIL_RANDOM);
}

void env_fail_clear(void)
{
	fail_reset(FAIL_NONE);
}

void env_fail_count(void)
{
	fail_reset(FAIL_COUNT);
}

unsigned long env_fail_injected(void)
{
	return atomic_long_read(&fail_injected);
}

unsigned long env_alloc_attempts(void)
{
	return atomic_long_read(&fail_attempts);
}

/* xorshift64 stepped by cmpxchg, so one seed gives one sequence per thread. */
static u64 fail_next_random(void)
{
	u64 old = READ_ONCE(fail_rng), x;

	do {
		x = old;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	} while (!try_cmpxchg64(&fail_rng, &old, x));
	return x;
}

bool __env_should_fail_alloc(gfp_t gfp)
{
	int mode = smp_load_acquire(&env_fail_mode);
	unsigned long nr;
	bool fail;

	if (mode == FAIL_NONE || (gfp & __GFP_NOFAIL))
		return false;
	nr = atomic_long_inc_return(&fail_attempts);
	switch (mode) {
	case FAIL_NTH:
		fail = nr == READ_ONCE(fail_n);
		break;
	case FAIL_EVERY:
		fail = nr % READ_ONCE(fail_n) == 0;
		break;
	case FAIL_COUNT:
		fail = false;
		break;
	default:
		fail = fail_next_random() % 1000 < READ_ONCE(fail_permille);
		break;
	}
	if (fail)
		atomic_long_inc(&fail_injected);
	return fail;
}

/* ======================== need_resched() pressure ======================== */

unsigned int env_resched_interval;
static atomic_t resched_calls;

void env_set_resched_interval(unsigned int n)
{
	atomic_set(&resched_calls, 0);
	WRITE_ONCE(env_resched_interval, n);
}

void __env_resched_tick(void)
{
	unsigned int n = READ_ONCE(env_resched_interval);

	if (n && (unsigned int)atomic_inc_return(&resched_calls) % n == 0) {
		set_tsk_need_resched(current);
		set_preempt_need_resched();
	}
}

/* ======================== Threads ======================== */

struct env_thread {
	int (*fn)(void *arg);
	void *arg;
	int ret;
	struct completion done;
};

/*
 * The trampoline signals completion and exits in one step, so no module text
 * runs after env_thread_join() returns (the module may be unloaded then).
 */
static int env_thread_trampoline(void *data)
{
	struct env_thread *t = data;

	t->ret = t->fn(t->arg);
	kthread_complete_and_exit(&t->done, 0);
}

struct env_thread *env_thread_start(int (*fn)(void *arg), void *arg, const char *name)
{
	struct env_thread *t = kzalloc(sizeof(*t), GFP_KERNEL);
	struct task_struct *task;

	if (!t)
		return NULL;
	t->fn = fn;
	t->arg = arg;
	init_completion(&t->done);
	task = kthread_run(env_thread_trampoline, t, "mmusim/%s", name ? name : "thread");
	if (IS_ERR(task)) {
		kfree(t);
		return NULL;
	}
	return t;
}

int env_thread_join(struct env_thread *t)
{
	int ret;

	wait_for_completion(&t->done);
	ret = t->ret;
	kfree(t);
	return ret;
}

void env_thread_register(void)
{
}

void env_thread_unregister(void)
{
}

/* ======================== Large reservations ======================== */

unsigned long env_vreserve_max_mb = 256;

void *env_vreserve(size_t size)
{
	if (!size || size > (size_t)READ_ONCE(env_vreserve_max_mb) << 20)
		return NULL;
	/* Not an object (as in userspace): bypass the counting vzalloc(). */
	return __vmalloc(size, GFP_KERNEL | __GFP_ZERO);
}

void env_vunreserve(void *addr, size_t size)
{
	(vfree)(addr);
}

void env_vdiscard(void *addr, size_t size)
{
	memset(addr, 0, size);
}

#ifdef MMUSIM_KERNEL_TRACE
#include <linux/moduleparam.h>
#include "mmu/mmutrace.h"

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
