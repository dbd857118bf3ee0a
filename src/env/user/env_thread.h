/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The project's thread-spawn helper: a pthread in userspace, a kthread in the
 * kernel.  Threads it starts are registered with RCU before @fn runs and
 * unregistered after it returns.
 */
#ifndef _MMUSIM_ENV_THREAD_H
#define _MMUSIM_ENV_THREAD_H

struct env_thread;

/* Returns NULL (and starts nothing) if the thread cannot be created. */
struct env_thread *env_thread_start(int (*fn)(void *arg), void *arg, const char *name);
/* Waits for the thread, frees it, and returns what @fn returned. */
int env_thread_join(struct env_thread *t);

/*
 * Optional: any thread may call into the library, and the seam registers a
 * thread with RCU on first use and unregisters it at exit.  Registering up
 * front moves that cost out of the first call; both calls may be repeated.
 * Unregistering inside an RCU read-side section is a bug.
 */
void env_thread_register(void);
void env_thread_unregister(void);

#endif /* _MMUSIM_ENV_THREAD_H */
