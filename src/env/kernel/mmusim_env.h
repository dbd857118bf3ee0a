/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The environment seam, kernel side: the kernel's own headers, and the few
 * project helpers the kernel has no name for (env_*, named for what they
 * add).  Kbuild finds this file where CMake finds src/env/user's, under the
 * same include guard; no kernel symbol is redefined.  The userspace seam's
 * test features (ENV_LIVE_OBJECTS, ENV_FAIL_INJECTION, ...) are absent: here
 * kmemleak, KASAN, failslab and panic_on_warn do that job.
 */
#ifndef _MMUSIM_ENV_H
#define _MMUSIM_ENV_H

/* <linux/mm.h> brings in nearly all the core needs, on 6.1 and 6.12; the rest follow. */
#include <linux/mm.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/version.h>
#include <linux/vmalloc.h>
#include <asm/io.h> /* virt_to_phys, phys_to_virt */

#include <mmusim/types.h>

/*
 * 6.12's <linux/kvm.h> pulls in <linux/kvm_types.h>, whose struct
 * kvm_mmu_memory_cache (there when the arch sets the macro below) would clash
 * with the simulator's own: take the arch header first and drop the macro.
 */
#include <asm/kvm_types.h>
#undef KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE

/*
 * FOLL_INTERRUPTIBLE came with 6.2 (6.1's KVM passed a bool): on 6.1, 6.2's
 * value, unused by 6.1's GUP; only the simulated GUP ever reads it.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define FOLL_INTERRUPTIBLE 0x200000
#endif

/* ======================== Project helpers ======================== */

/* Spinning locks held: the preemption depth they add (CONFIG_PREEMPT_COUNT). */
static inline int env_spinning_locks_held(void)
{
	return preempt_count() & PREEMPT_MASK;
}

/* Time blocked on @lock: the kernel's qrwlock keeps no such account. */
static inline u64 env_rwlock_wait_ns(rwlock_t *lock)
{
	return 0;
}

/* A busy-wait step that may not sleep; the CPUs waited for run in parallel. */
static inline void env_spin_yield(void)
{
	cpu_relax();
}

/*
 * Threads joined for their result: kthreads "mmusim/<name>" that share the
 * creator's address space, if it has one, as pthreads do (env_kernel.c).
 */
struct env_thread;
struct env_thread *env_thread_start(int (*fn)(void *arg), void *arg, const char *name);
int env_thread_join(struct env_thread *t);

/*
 * Large zeroed reservations: vmalloc, so committed at once, and refused above
 * env_vreserve_max_mb (module parameter vreserve_max_mb, default 256).
 */
extern unsigned long env_vreserve_max_mb;
static inline void *env_vreserve(size_t size)
{
	if (!size || size > (size_t)READ_ONCE(env_vreserve_max_mb) << 20)
		return NULL;
	return vzalloc(size);
}
static inline void env_vunreserve(void *addr, size_t size)
{
	vfree(addr);
}
/* As after MADV_DONTNEED: the range reads as zeroes again. */
static inline void env_vdiscard(void *addr, size_t size)
{
	memset(addr, 0, size);
}

/*
 * Trace events (src/mmu/mmutrace.h), with MMUSIM_CFLAGS=-DMMUSIM_KERNEL_TRACE:
 * the module's sink (kernel/mmusim_main.c); without it the call sites vanish.
 */
#ifdef MMUSIM_KERNEL_TRACE
extern u64 env_trace_mask;
#define env_trace_enabled(id) unlikely(READ_ONCE(env_trace_mask) & BIT_ULL(id))
void env_trace_record(unsigned int id, const u64 *fields, unsigned int nr_fields);
#else
#define env_trace_enabled(id) false
static inline void env_trace_record(unsigned int id, const u64 *fields, unsigned int nr_fields)
{
}
#endif

#endif /* _MMUSIM_ENV_H */
