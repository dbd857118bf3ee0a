/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The parts of mmusim's userspace environment a program using the library
 * needs: thread registration, and the debugging knobs tests use — live-object
 * counters, WARN counter, allocation-failure injection.  These are the same
 * functions the environment seam defines.
 *
 * Any thread may call any function of the library: a thread is registered
 * with RCU on its first use of it and unregistered when it exits.
 * env_thread_register() does the registration up front (so the first fault
 * does not pay for it), env_thread_unregister() early; both are harmless
 * when repeated.
 */
#ifndef _MMUSIM_PUBLIC_ENV_H
#define _MMUSIM_PUBLIC_ENV_H

#include <mmusim/types.h>

#ifdef __cplusplus
extern "C" {
#endif

void env_thread_register(void);
void env_thread_unregister(void);
void rcu_barrier(void);

long env_live_objects(void);
unsigned long env_warn_count(void);
void env_warn_count_reset(void);

void env_fail_nth(unsigned long n);
void env_fail_every(unsigned long n);
void env_fail_random(u64 seed, unsigned int permille);
void env_fail_clear(void);
void env_fail_count(void);
unsigned long env_fail_injected(void);
unsigned long env_alloc_attempts(void);

#ifdef __cplusplus
}
#endif

#endif /* _MMUSIM_PUBLIC_ENV_H */
