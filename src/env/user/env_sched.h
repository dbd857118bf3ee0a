/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Scheduling points and time, userspace side.
 *
 * might_sleep() is a WARN inside an RCU read-side section, under a spinning
 * lock or with preemption disabled; in the fast build (MMUSIM_ENV_FAST) it is
 * a no-op, as in a kernel without CONFIG_DEBUG_ATOMIC_SLEEP (the preemption
 * depth is still counted, as the kernel's preempt count is).  need_resched() is false unless a test asks for preemption pressure
 * with env_set_resched_interval(n): then every n-th call on a thread returns
 * true, which drives the yield paths (tdp_mmu_iter_cond_resched) on demand.
 */
#ifndef _MMUSIM_ENV_SCHED_H
#define _MMUSIM_ENV_SCHED_H

void env_might_sleep(const char *file, int line);
#ifdef MMUSIM_ENV_FAST
#define might_sleep() do { } while (0)
#else
#define might_sleep() env_might_sleep(__FILE__, __LINE__)
#endif

/*
 * Preemption off (KVM runs the guest so): userspace cannot stop the
 * scheduler, so the depth only makes might_sleep() inside such a section a
 * WARN, as CONFIG_DEBUG_ATOMIC_SLEEP makes it in the kernel.
 */
extern __thread int env_preempt_depth;
static inline void preempt_disable(void)
{
	env_preempt_depth++;
}
static inline void preempt_enable(void)
{
	env_preempt_depth--;
}

bool need_resched(void);
/* Resched pressure is a userspace feature: the self-tests check the macro. */
#define ENV_RESCHED_PRESSURE 1
void env_set_resched_interval(unsigned int n);
void schedule(void);
int cond_resched(void);

/*
 * One step of a busy-wait that may not sleep (e.g. waiting for vCPUs to
 * acknowledge a request under mmu_lock): cpu_relax() in the kernel, where
 * the waited-for CPUs run in parallel; sched_yield() in userspace, where
 * they are threads that may need this core to make progress.
 */
void env_spin_yield(void);

u64 ktime_get_ns(void);
void ndelay(unsigned long nsecs);
void msleep(unsigned int msecs);
#define udelay(us) ndelay((us) * 1000UL)
unsigned int num_online_cpus(void);

#endif /* _MMUSIM_ENV_SCHED_H */
