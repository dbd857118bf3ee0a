// SPDX-License-Identifier: GPL-2.0-only
/* The kernel seam's out-of-line helper: joinable threads. */
#include "mmusim_env.h"

#include <linux/mmu_context.h> /* kthread_use_mm(); completions and mmget() come with the seam */

struct env_thread {
	int (*fn)(void *arg);
	void *arg;
	int ret;
	struct mm_struct *mm; /* the creator's address space, shared as by pthreads */
	struct completion done;
};

/*
 * Not kthread_stop() as the join: it may stop a thread before its function
 * ran.  Completing and exiting in one step means no module text runs after
 * env_thread_join() returns.
 */
static int env_thread_trampoline(void *data)
{
	struct env_thread *t = data;

	if (t->mm)
		kthread_use_mm(t->mm);
	t->ret = t->fn(t->arg);
	if (t->mm) {
		kthread_unuse_mm(t->mm);
		mmput(t->mm);
	}
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
	t->mm = current->mm;
	if (t->mm)
		mmget(t->mm);
	init_completion(&t->done);
	task = kthread_run(env_thread_trampoline, t, "mmusim/%s", name ? name : "thread");
	if (IS_ERR(task)) {
		if (t->mm)
			mmput(t->mm);
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
