// SPDX-License-Identifier: GPL-2.0-only
/* Scheduling points, time and the thread-spawn helper for the userspace seam. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "mmusim_env.h"

static unsigned int resched_interval;
static __thread unsigned int resched_calls;
/* Like TIF_NEED_RESCHED: once set, it stays set until the thread yields. */
static __thread bool resched_pending;
__thread int env_preempt_depth;

void env_might_sleep(const char *file, int line)
{
	if (rcu_read_lock_held())
		env_warn(file, line, "might_sleep() inside an RCU read-side section");
	else if (env_spinning_locks_held())
		env_warn(file, line, "might_sleep() while holding a spinning lock");
	else if (env_preempt_depth)
		env_warn(file, line, "might_sleep() with preemption disabled");
}

void env_set_resched_interval(unsigned int n)
{
	__atomic_store_n(&resched_interval, n, __ATOMIC_RELAXED);
}

bool need_resched(void)
{
	unsigned int n = __atomic_load_n(&resched_interval, __ATOMIC_RELAXED);

	if (!resched_pending && n && ++resched_calls % n == 0)
		resched_pending = true;
	return resched_pending;
}

static void env_yield(void)
{
	resched_pending = false;
	sched_yield();
}

void schedule(void)
{
	might_sleep();
	env_yield();
}

int cond_resched(void)
{
	might_sleep();
	if (!need_resched())
		return 0;
	env_yield();
	return 1;
}

void env_spin_yield(void)
{
	sched_yield();
}

u64 ktime_get_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

void ndelay(unsigned long nsecs)
{
	u64 end = ktime_get_ns() + nsecs;

	while (ktime_get_ns() < end)
		cpu_relax();
}

void msleep(unsigned int msecs)
{
	struct timespec ts = { .tv_sec = msecs / 1000, .tv_nsec = (msecs % 1000) * 1000000L };

	might_sleep();
	resched_pending = false;
	while (nanosleep(&ts, &ts))
		;
}

unsigned int num_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned int)n : 1;
}

struct env_thread {
	pthread_t tid;
	int (*fn)(void *arg);
	void *arg;
	int ret;
	char name[16];
};

static void *env_thread_trampoline(void *data)
{
	struct env_thread *t = data;

	env_thread_register();
	t->ret = t->fn(t->arg);
	env_thread_unregister();
	return NULL;
}

struct env_thread *env_thread_start(int (*fn)(void *arg), void *arg, const char *name)
{
	struct env_thread *t = kzalloc(sizeof(*t), GFP_KERNEL);

	if (!t)
		return NULL;
	t->fn = fn;
	t->arg = arg;
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "mmusim");
	if (pthread_create(&t->tid, NULL, env_thread_trampoline, t)) {
		kfree(t);
		return NULL;
	}
	pthread_setname_np(t->tid, t->name);
	return t;
}

int env_thread_join(struct env_thread *t)
{
	int ret;

	pthread_join(t->tid, NULL);
	ret = t->ret;
	kfree(t);
	return ret;
}
