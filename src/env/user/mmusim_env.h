/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The environment seam, userspace side.
 *
 * Every core file (src/host, src/mmu, src/pfn, src/sev, src/msr, src/vcpu)
 * includes "mmusim_env.h" first and nothing from libc, liburcu, jemalloc or
 * the kernel.  The include path picks the implementation: CMake puts
 * src/env/user on it, Kbuild puts src/env/kernel on it.  Both files carry the
 * same include guard and offer the same names, which are the kernel's names.
 *
 * The userspace side is deliberately stricter than the kernel:
 *
 *  1. Locks know their owner.  lockdep_assert_held{,_read,_write}() check the
 *     calling thread's held-lock table, not merely "somebody holds it".
 *  2. rcu_dereference() asserts that the caller is inside a read-side section
 *     (or that the supplied lockdep condition holds).
 *  3. might_sleep() fails inside an RCU read-side section or while a
 *     spinning lock (spinlock_t, rwlock_t) is held.
 *  4. Freed memory is poisoned, and every allocation is counted so that tests
 *     can assert zero live objects at teardown (env_live_objects()).
 *  5. Any allocation can be made to fail on demand (env_fail_*()), which is
 *     how tests reach every unwind path.
 *  6. WARN_ON() is counted (env_warn_count()) so tests fail on a warning, and
 *     MMUSIM_PANIC_ON_WARN=1 in the environment turns it into an abort.
 */
#ifndef _MMUSIM_ENV_H
#define _MMUSIM_ENV_H

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <mmusim/types.h>

#include "env_compiler.h"
#include "env_atomic.h"
#include "env_bug.h"
#include "env_list.h"
#include "env_bitops.h"
#include "env_lock.h"
#include "env_rcu.h"
#include "env_slab.h"
#include "env_sched.h"
#include "env_thread.h"
#include "env_printk.h"
#include "env_uaccess.h"
#include "env_trace.h"

#endif /* _MMUSIM_ENV_H */
