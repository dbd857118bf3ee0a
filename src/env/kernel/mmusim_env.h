/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The environment seam, kernel side.
 *
 * Kbuild puts src/env/kernel on the include path where CMake puts
 * src/env/user; this file carries the same include guard and offers the same
 * names, so a core file compiles unchanged into mmusim.ko.  Almost every name
 * is simply the kernel's own: the core already speaks the kernel's dialect.
 *
 * Four things are deliberately not the bare kernel primitive, so that the
 * portable self-tests mean the same thing in both environments:
 *
 *  1. The kmalloc/kmem_cache/page/vmalloc allocators named below are wrapped
 *     (env_k*() inlines, then #define to the kernel name): each call first asks
 *     env_should_fail_alloc(), and successful calls are counted so that
 *     env_live_objects() sees leaks.  Only code compiled against this header
 *     (core, self-tests, seam) is affected; the wrappers call the kernel's
 *     allocator unchanged.
 *  2. WARN() and friends are the kernel's, unchanged; env_warn_count() is
 *     the kernel's W taint (0 or 1), so the first self-test that warns is
 *     named.
 *  3. need_resched() is the kernel's; env_set_resched_interval(n) makes every
 *     n-th call set the real TIF_NEED_RESCHED, to drive yield paths on demand.
 *  4. The project-only helpers (env_*) live in env_kernel.c.
 *
 * Where the kernel is weaker than the userspace seam (documented at each):
 * env_lock_held() knows owners only under CONFIG_LOCKDEP; env_vreserve() is
 * vmalloc, so it commits memory at once and is size-limited.
 */
#ifndef _MMUSIM_ENV_H
#define _MMUSIM_ENV_H

#include <linux/types.h>
#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/bug.h>
#include <linux/build_bug.h>
#include <linux/cache.h>
#include <linux/compiler.h>
#include <linux/delay.h>
#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/hash.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/limits.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/mm_types.h>	/* struct page, page_private(): not <linux/mm.h>, see below */
#include <linux/mutex.h>
#include <linux/pid.h>		/* task_pid_nr(): sched.h no longer has it in 6.12 */
#include <linux/poison.h>
#include <linux/printk.h>
#include <linux/rculist.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/rwlock.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/io.h>		/* virt_to_phys, phys_to_virt */
#include <asm/page.h>		/* __pa, __va, virt_to_page */
#include <asm/pgtable.h>	/* PG_LEVEL_*, and vmemmap for virt_to_page() */

#include <mmusim/types.h>

/*
 * Since 6.12 the kernel's <linux/kvm.h> also pulls in <linux/kvm_types.h>,
 * whose struct kvm_mmu_memory_cache (defined when the arch sets
 * KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE) would clash with the simulator's own.
 * Take the arch header now and drop the macro, so the struct stays KVM's
 * business; 6.1 never includes it.
 */
#include <asm/kvm_types.h>
#undef KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE

/*
 * <linux/mm.h> is deliberately not included: it declares hundreds of mm
 * names (get_unmapped_area, change_protection, ...) that the simulated host
 * is free to reuse for its own static helpers.  The two names of it the seam
 * offers are defined here, as mm.h defines them.
 */
#ifndef PAGE_ALIGNED
#define PAGE_ALIGNED(addr) IS_ALIGNED((unsigned long)(addr), PAGE_SIZE)
#endif
#ifndef PAGE_ALIGN
#define PAGE_ALIGN(addr) ALIGN(addr, PAGE_SIZE)
#endif

/* ======================== WARN ======================== */

/*
 * WARN and friends are the kernel's own, not redefined.  The runner's "did a
 * WARN fire during this test" check reads the kernel's W taint instead: the
 * count is 0 or 1, so the first test that warns is named, and any WARN fails
 * kmod-check anyway (taint W; panic_on_warn where it is set).  The taint
 * cannot be cleared, so env_warn_count_reset() does nothing.
 */
static inline unsigned long env_warn_count(void)
{
	return test_taint(TAINT_WARN);
}

static inline void env_warn_count_reset(void)
{
}

/* ======================== Locks ======================== */

enum env_lock_mode {
	ENV_HELD_ANY = 0,
	ENV_HELD_READ = 1,
	ENV_HELD_WRITE = 2,
};

/* A number that identifies the calling thread while it lives. */
static inline u64 env_thread_id(void)
{
	return (u64)task_pid_nr(current);
}

/*
 * env_lock_held(lock, mode): with CONFIG_LOCKDEP, exactly the userspace
 * meaning ("this task holds @lock in @mode").  Without it (Debian's stock
 * kernel) the kernel knows no owners, so it answers "somebody holds @lock in
 * @mode": tests may rely on it only for locks no other thread touches.
 * lockdep_assert_held*() are the kernel's (no-ops without lockdep).
 */
#ifdef CONFIG_LOCKDEP
#define __env_lock_held(l, mode)                                                     \
	lock_is_held_type(&(l)->dep_map,                                             \
			  (mode) == ENV_HELD_READ ? 1 : (mode) == ENV_HELD_WRITE ? 0 : -1)
static inline bool env_spin_held(const spinlock_t *l, enum env_lock_mode mode)
{
	return mode != ENV_HELD_READ && lock_is_held(&l->dep_map);
}
static inline bool env_rwlock_held(const rwlock_t *l, enum env_lock_mode mode)
{
	return __env_lock_held(l, mode);
}
static inline bool env_mutex_held(const struct mutex *l, enum env_lock_mode mode)
{
	return mode != ENV_HELD_READ && lock_is_held(&l->dep_map);
}
static inline bool env_rwsem_held(const struct rw_semaphore *l, enum env_lock_mode mode)
{
	return __env_lock_held(l, mode);
}
#else
static inline bool env_spin_held(const spinlock_t *l, enum env_lock_mode mode)
{
	return mode != ENV_HELD_READ && spin_is_locked((spinlock_t *)l);
}
static inline bool env_rwlock_held(const rwlock_t *l, enum env_lock_mode mode)
{
	/* qrwlock: the low byte is the writer, the rest counts readers. */
	u32 cnts = (u32)atomic_read(&l->raw_lock.cnts);
	bool w = (cnts & _QW_WMASK) == _QW_LOCKED, r = cnts >> _QR_SHIFT;

	return mode == ENV_HELD_READ ? r : mode == ENV_HELD_WRITE ? w : r || w;
}
static inline bool env_mutex_held(const struct mutex *l, enum env_lock_mode mode)
{
	return mode != ENV_HELD_READ && mutex_is_locked((struct mutex *)l);
}
static inline bool env_rwsem_held(const struct rw_semaphore *l, enum env_lock_mode mode)
{
	/* The rwsem's mode is private to kernel/locking/rwsem.c. */
	return rwsem_is_locked((struct rw_semaphore *)l);
}
#endif
#define env_lock_held(lock, mode)                                                    \
	_Generic((lock),                                                             \
		spinlock_t *: env_spin_held, const spinlock_t *: env_spin_held,      \
		rwlock_t *: env_rwlock_held, const rwlock_t *: env_rwlock_held,      \
		struct mutex *: env_mutex_held,                                      \
		const struct mutex *: env_mutex_held,                                \
		struct rw_semaphore *: env_rwsem_held,                               \
		const struct rw_semaphore *: env_rwsem_held)(lock, mode)

/*
 * Spinning locks held by the caller.  In the kernel that is the preemption
 * depth they add (CONFIG_PREEMPT_COUNT), so explicit preempt_disable() counts
 * too; RCU readers do not (CONFIG_PREEMPT_RCU).
 */
static inline int env_spinning_locks_held(void)
{
	return preempt_count() & PREEMPT_MASK;
}

/*
 * Time spent blocked acquiring @lock: the kernel's qrwlock keeps no such
 * account (lock_stat is global and optional), so it reads 0 here.
 */
static inline u64 env_rwlock_wait_ns(rwlock_t *lock)
{
	return 0;
}

/* ======================== Scheduling ======================== */

/*
 * Resched pressure: after env_set_resched_interval(n), every n-th
 * need_resched() call (any thread) sets the calling task's real
 * TIF_NEED_RESCHED, exactly what the scheduler tick does.  Like the tick's,
 * it stays set until the task yields, and cond_resched(), rwlock_needbreak()
 * users and cond_resched_rwlock_*() all see it.  0 turns it off.
 */
void env_set_resched_interval(unsigned int n);
extern unsigned int env_resched_interval;
void __env_resched_tick(void);

static __always_inline bool env_need_resched(void)
{
	if (unlikely(READ_ONCE(env_resched_interval)))
		__env_resched_tick();
	return need_resched();
}
#undef need_resched
#define need_resched() env_need_resched()

/*
 * One step of a busy-wait that may not sleep: the CPUs waited for run in
 * parallel in the kernel, so just cpu_relax() (userspace yields the core).
 */
static inline void env_spin_yield(void)
{
	cpu_relax();
}

/* ======================== Threads ======================== */

struct env_thread;

/* A kthread named "mmusim/<name>"; NULL if it cannot be created. */
struct env_thread *env_thread_start(int (*fn)(void *arg), void *arg, const char *name);
/* Waits for the thread, frees it, and returns what @fn returned. */
int env_thread_join(struct env_thread *t);
/* No-ops: kernel threads need no RCU registration (out of line, so that
 * <mmusim/env.h>'s declarations match). */
void env_thread_register(void);
void env_thread_unregister(void);

/* ======================== Allocation ======================== */

struct env_live {
	long kmalloc;	 /* kmalloc/kzalloc/kcalloc/kvmalloc/vzalloc/bitmap objects */
	long cache_objs; /* kmem_cache objects */
	long caches;	 /* kmem_cache instances */
	long pages;	 /* __get_free_page pages */
};
extern struct env_live_counters {
	atomic_long_t kmalloc, cache_objs, caches, pages;
} env_live_counters;
void env_live_snapshot(struct env_live *live);
long env_live_objects(void);

/*
 * Allocation-failure injection, with the userspace schedule (env_fail_nth,
 * _every, _random, _clear, _count; __GFP_NOFAIL never fails).  It reaches
 * every allocation made through this header plus every project allocator
 * that calls env_should_fail_alloc(); allocations inside the kernel proper
 * are untouched.  The module parameters fail_seed/fail_permille add a pass that
 * runs the self-tests under random failures (kernel/mmusim_main.c).
 */
void env_fail_nth(unsigned long n);
void env_fail_every(unsigned long n);
void env_fail_random(u64 seed, unsigned int permille);
void env_fail_clear(void);
void env_fail_count(void);
unsigned long env_fail_injected(void);
unsigned long env_alloc_attempts(void);
bool __env_should_fail_alloc(gfp_t gfp);
extern int env_fail_mode;

static __always_inline bool env_should_fail_alloc(gfp_t gfp)
{
	return unlikely(READ_ONCE(env_fail_mode)) && __env_should_fail_alloc(gfp);
}

/*
 * Large reservations: vzalloc(), so unlike userspace the memory is committed
 * at once.  Anything above env_vreserve_max_mb (module parameter
 * vreserve_max_mb, default 256) fails with NULL: create simulated hosts with a
 * small mem_bytes (the self-tests use 64 MiB or less) in the kernel.
 */
extern unsigned long env_vreserve_max_mb;
void *env_vreserve(size_t size);
void env_vunreserve(void *addr, size_t size);
/* Zero a page-aligned range: it reads as zeroes again, as after MADV_DONTNEED. */
void env_vdiscard(void *addr, size_t size);

#define __ENV_COUNT(kind, p)                                                         \
	do {                                                                         \
		if (!ZERO_OR_NULL_PTR(p))                                            \
			atomic_long_inc(&env_live_counters.kind);                    \
	} while (0)
#define __ENV_UNCOUNT(kind, p)                                                       \
	do {                                                                         \
		if (!ZERO_OR_NULL_PTR(p))                                            \
			atomic_long_dec(&env_live_counters.kind);                    \
	} while (0)

/* Allocation wrappers: inject, then call the kernel's allocator, then count. */
#define __ENV_ALLOC(kind, gfp, call)                                                 \
	({                                                                           \
		__typeof__(call) __p = NULL;                                         \
		if (!env_should_fail_alloc(gfp)) {                                   \
			__p = (call);                                                \
			__ENV_COUNT(kind, __p);                                      \
		}                                                                    \
		__p;                                                                 \
	})

static __always_inline void *env_kmalloc(size_t size, gfp_t gfp)
{
	return __ENV_ALLOC(kmalloc, gfp, kmalloc(size, gfp));
}
static __always_inline void *env_kzalloc(size_t size, gfp_t gfp)
{
	return __ENV_ALLOC(kmalloc, gfp, kzalloc(size, gfp));
}
static __always_inline void *env_kmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	return __ENV_ALLOC(kmalloc, gfp, kmalloc_array(n, size, gfp));
}
static __always_inline void *env_kcalloc(size_t n, size_t size, gfp_t gfp)
{
	return __ENV_ALLOC(kmalloc, gfp, kcalloc(n, size, gfp));
}
static __always_inline void *env_kvmalloc(size_t size, gfp_t gfp)
{
	return __ENV_ALLOC(kmalloc, gfp, kvmalloc(size, gfp));
}
static __always_inline void *env_kvzalloc(size_t size, gfp_t gfp)
{
	return __ENV_ALLOC(kmalloc, gfp, kvzalloc(size, gfp));
}
static __always_inline void *env_kvcalloc(size_t n, size_t size, gfp_t gfp)
{
	return __ENV_ALLOC(kmalloc, gfp, kvcalloc(n, size, gfp));
}
static __always_inline void *env_kvmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	return __ENV_ALLOC(kmalloc, gfp, kvmalloc_array(n, size, gfp));
}
static __always_inline void *env_vzalloc(unsigned long size)
{
	return __ENV_ALLOC(kmalloc, GFP_KERNEL, vzalloc(size));
}
static __always_inline unsigned long *env_bitmap_zalloc(unsigned int nbits, gfp_t gfp)
{
	return __ENV_ALLOC(kmalloc, gfp, bitmap_zalloc(nbits, gfp));
}
static __always_inline void env_kfree(const void *p)
{
	__ENV_UNCOUNT(kmalloc, p);
	kfree(p);
}
static __always_inline void env_kvfree(const void *p)
{
	__ENV_UNCOUNT(kmalloc, p);
	kvfree(p);
}
static __always_inline void env_vfree(const void *p)
{
	__ENV_UNCOUNT(kmalloc, p);
	vfree(p);
}
static __always_inline void env_bitmap_free(const unsigned long *p)
{
	__ENV_UNCOUNT(kmalloc, p);
	bitmap_free(p);
}

static __always_inline void *env_kmem_cache_alloc(struct kmem_cache *c, gfp_t gfp)
{
	return __ENV_ALLOC(cache_objs, gfp, kmem_cache_alloc(c, gfp));
}
static __always_inline void *env_kmem_cache_zalloc(struct kmem_cache *c, gfp_t gfp)
{
	return __ENV_ALLOC(cache_objs, gfp, kmem_cache_zalloc(c, gfp));
}
static __always_inline void env_kmem_cache_free(struct kmem_cache *c, void *p)
{
	__ENV_UNCOUNT(cache_objs, p);
	kmem_cache_free(c, p);
}
static __always_inline struct kmem_cache *
env_kmem_cache_create(const char *name, unsigned int size, unsigned int align,
		      slab_flags_t flags, void (*ctor)(void *))
{
	return __ENV_ALLOC(caches, GFP_KERNEL, kmem_cache_create(name, size, align, flags, ctor));
}
static __always_inline void env_kmem_cache_destroy(struct kmem_cache *c)
{
	__ENV_UNCOUNT(caches, c);
	kmem_cache_destroy(c);
}

static __always_inline unsigned long env_get_free_page(gfp_t gfp)
{
	return (unsigned long)__ENV_ALLOC(pages, gfp, (void *)__get_free_page(gfp));
}
static __always_inline unsigned long env_get_zeroed_page(gfp_t gfp)
{
	return (unsigned long)__ENV_ALLOC(pages, gfp, (void *)get_zeroed_page(gfp));
}
static __always_inline void env_free_page(unsigned long addr)
{
	__ENV_UNCOUNT(pages, (void *)addr);
	free_page(addr);
}

/* From here on the kernel's names reach the wrappers above. */
#undef kmalloc
#define kmalloc(size, gfp) env_kmalloc(size, gfp)
#undef kzalloc
#define kzalloc(size, gfp) env_kzalloc(size, gfp)
#undef kmalloc_array
#define kmalloc_array(n, size, gfp) env_kmalloc_array(n, size, gfp)
#undef kcalloc
#define kcalloc(n, size, gfp) env_kcalloc(n, size, gfp)
#undef kvmalloc
#define kvmalloc(size, gfp) env_kvmalloc(size, gfp)
#undef kvzalloc
#define kvzalloc(size, gfp) env_kvzalloc(size, gfp)
#undef kvcalloc
#define kvcalloc(n, size, gfp) env_kvcalloc(n, size, gfp)
#undef kvmalloc_array
#define kvmalloc_array(n, size, gfp) env_kvmalloc_array(n, size, gfp)
#undef vzalloc
#define vzalloc(size) env_vzalloc(size)
#undef bitmap_zalloc
#define bitmap_zalloc(nbits, gfp) env_bitmap_zalloc(nbits, gfp)
#undef kfree
#define kfree(p) env_kfree(p)
#undef kvfree
#define kvfree(p) env_kvfree(p)
#undef vfree
#define vfree(p) env_vfree(p)
#undef bitmap_free
#define bitmap_free(p) env_bitmap_free(p)
#undef kmem_cache_alloc
#define kmem_cache_alloc(c, gfp) env_kmem_cache_alloc(c, gfp)
#undef kmem_cache_zalloc
#define kmem_cache_zalloc(c, gfp) env_kmem_cache_zalloc(c, gfp)
#undef kmem_cache_free
#define kmem_cache_free(c, p) env_kmem_cache_free(c, p)
#undef kmem_cache_create
#define kmem_cache_create(name, size, align, flags, ctor)                            \
	env_kmem_cache_create(name, size, align, flags, ctor)
#undef kmem_cache_destroy
#define kmem_cache_destroy(c) env_kmem_cache_destroy(c)
#undef __get_free_page
#define __get_free_page(gfp) env_get_free_page(gfp)
#undef get_zeroed_page
#define get_zeroed_page(gfp) env_get_zeroed_page(gfp)
#undef free_page
#define free_page(addr) env_free_page(addr)

/* ======================== User copies ======================== */

/*
 * The module's callers are its in-kernel self-tests, so the buffers the
 * core treats as user memory are kernel memory: the user copies become the
 * nofault kernel copies, which fail (and never oops) on a bad pointer just
 * where the real user copy would.  Same return convention: bytes not copied.
 */

static inline unsigned long env_copy_from_user(void *to, const void __user *from,
					       unsigned long n)
{
	if (!n)
		return 0;
	if (copy_from_kernel_nofault(to, (__force const void *)from, n)) {
		memset(to, 0, n);
		return n;
	}
	return 0;
}

/*
 * copy_to_kernel_nofault() is not exported to modules, so the write side is
 * built from __put_kernel_nofault(), with user addresses (NULL among them)
 * refused up front as copy_from_kernel_nofault() refuses them.
 */
static inline unsigned long env_copy_to_user(void __user *to, const void *from, unsigned long n)
{
	u8 *dst = (__force u8 *)to;
	const u8 *src = from;
	unsigned long done = 0;

	if (!n)
		return 0;
	if ((unsigned long)dst < TASK_SIZE_MAX || n > ULONG_MAX - (unsigned long)dst)
		return n;
	pagefault_disable();
	for (; done < n; done++)
		__put_kernel_nofault(dst + done, src + done, u8, fault);
	pagefault_enable();
	return 0;
fault:
	pagefault_enable();
	return n - done;
}

#undef copy_from_user
#define copy_from_user(to, from, n) env_copy_from_user(to, from, n)
#undef copy_to_user
#define copy_to_user(to, from, n) env_copy_to_user(to, from, n)

/*
 * Trace events (src/mmu/mmutrace.h).  With -DMMUSIM_KERNEL_TRACE (make -C
 * kernel MMUSIM_CFLAGS=-DMMUSIM_KERNEL_TRACE) each enabled event is one
 * trace_printk() line "<event>: <TP_printk text>" in the kernel's trace
 * buffer; the module parameter trace_mask (one bit per event id) enables
 * them.  Without it the call sites compile to nothing.
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
