/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * spinlock_t, rwlock_t, struct mutex and struct rw_semaphore, userspace
 * side, in two builds of the same names (MMUSIM_ENV in CMake).
 *
 * The checked build (the default, for tests and fuzzing) enforces rules the
 * kernel only enforces with lockdep:
 *  - every thread keeps a table of the locks it holds and in which mode, so
 *    lockdep_assert_held_read(&kvm->mmu_lock) really means "this thread holds
 *    mmu_lock for read";
 *  - unlocking a lock this thread does not hold, or re-acquiring one it does,
 *    is a BUG;
 *  - spinlock_t and rwlock_t are spinning locks: might_sleep() under them is a
 *    WARN; mutex_lock() may sleep and so checks might_sleep() itself.
 * Its locks are pthread locks (they sleep in the kernel when contended).
 *
 * The fast build (MMUSIM_ENV_FAST, for benchmarks) is the kernel without
 * lockdep: spinlock_t is a test-and-set spinlock, rwlock_t a queued rwlock
 * laid out like the kernel's qrwlock (one word: writer byte, waiting bit,
 * reader count; contended waiters queue on a spinlock_t),
 * lockdep_assert_held*() are no-ops and nothing records owners.  Why
 * test-and-set and not a ticket or MCS queue: a fair lock hands over to the
 * next waiter in line, and a userspace waiter may be descheduled, so every
 * handover waits for a context switch (a ticket lock took 2 vCPUs from 1.7 M
 * to 0.2 M cold faults/s on this loaded 2-CPU machine).  The kernel makes
 * the same choice where its waiters can be preempted: virt_spin_lock(), a
 * test-and-set lock, in a guest without paravirt spinlocks.  A thread counts the spinning locks
 * it holds, as the kernel's preempt count does, and env_lock_held() answers
 * "somebody holds @lock in @mode", as src/env/kernel does without
 * CONFIG_LOCKDEP.  Userspace cannot disable preemption, so a waiter that has
 * spun ENV_SPIN_BEFORE_YIELD times yields its CPU: the holder may be a
 * descheduled thread that needs it.
 *
 * rwlock_t prefers writers in both builds (as the kernel's queued rwlock
 * does once a writer waits), so a stream of readers cannot starve a zap
 * that needs the lock for write.  rwlock_needbreak() reports that another
 * thread is waiting.
 */
#ifndef _MMUSIM_ENV_LOCK_H
#define _MMUSIM_ENV_LOCK_H

#include <pthread.h>

/*
 * Write-hold timing of one rwlock (off unless env_rwlock_time_holds()): the
 * holder stamps t0 after acquiring and adds to ns before releasing, so
 * only the write holder touches it; readers of the totals see each whole.
 */
struct env_rwlock_holds {
	bool on;
	u64 t0, ns, count;
};

#ifdef MMUSIM_ENV_FAST
/* Test-and-set lock: 1 while held. */
typedef struct spinlock {
	u32 val;
} spinlock_t;

/* qrwlock's word: bits 0-7 writer locked, bit 8 writer waiting, 9-31 readers. */
#define _QW_LOCKED 0x0ffU
#define _QW_WAITING 0x100U
#define _QW_WMASK 0x1ffU
#define _QR_SHIFT 9
#define _QR_BIAS (1U << _QR_SHIFT)

typedef struct {
	union {
		u32 cnts;
		u8 wlocked; /* x86 is little-endian: the writer byte is the low one */
	};
	spinlock_t wait_lock; /* contended lockers queue here, in order */
	u64 wait_ns; /* time spent in the slow paths (env_rwlock_wait_ns()) */
	struct env_rwlock_holds holds; /* write holds, if timed (env_rwlock_time_holds()) */
} rwlock_t;

/* Sleeping locks stay pthread ones: they may be held across long operations. */
struct mutex {
	pthread_mutex_t m;
};

#define __SPIN_LOCK_UNLOCKED(x) { .val = 0 }
#define __RW_LOCK_UNLOCKED(x) { .cnts = 0 }
#else
typedef struct spinlock {
	pthread_mutex_t m;
	u64 owner; /* env_thread_id() of the holder, 0 if free */
} spinlock_t;

typedef struct {
	pthread_rwlock_t rw;
	u64 writer;	/* env_thread_id() of the write holder, 0 if none */
	atomic_t waiters; /* threads blocked in read_lock()/write_lock() */
	atomic64_t wait_ns; /* total time spent blocked there (env_rwlock_wait_ns()) */
	struct env_rwlock_holds holds; /* write holds, if timed (env_rwlock_time_holds()) */
} rwlock_t;

struct mutex {
	pthread_mutex_t m;
	u64 owner;
};

#define __SPIN_LOCK_UNLOCKED(x) { .m = PTHREAD_MUTEX_INITIALIZER }
#define __RW_LOCK_UNLOCKED(x) { .rw = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP }
#endif
#define DEFINE_SPINLOCK(x) spinlock_t x = __SPIN_LOCK_UNLOCKED(x)
#define DEFINE_RWLOCK(x) rwlock_t x = __RW_LOCK_UNLOCKED(x)
#define DEFINE_MUTEX(x) struct mutex x = { .m = PTHREAD_MUTEX_INITIALIZER }

u64 env_thread_id_slow(void);
extern __thread u64 env_this_tid;

/* A number for the calling thread, from 1 up, never reused. */
static inline u64 env_thread_id(void)
{
	return __builtin_expect(env_this_tid != 0, 1) ? env_this_tid : env_thread_id_slow();
}

/*
 * The "CPU" for per-CPU data: the thread's number, so each thread keeps
 * one slot (a kernel thread may migrate; per-CPU users take the slot's lock
 * or tolerate that, as the host's page lists do).
 */
static inline unsigned int raw_smp_processor_id(void)
{
	return (unsigned int)env_thread_id();
}

void spin_lock_init(spinlock_t *lock);
void spin_lock(spinlock_t *lock);
bool spin_trylock(spinlock_t *lock);
void spin_unlock(spinlock_t *lock);

void rwlock_init(rwlock_t *lock);
void read_lock(rwlock_t *lock);
void read_unlock(rwlock_t *lock);
void write_lock(rwlock_t *lock);
bool write_trylock(rwlock_t *lock);
void write_unlock(rwlock_t *lock);
bool rwlock_needbreak(rwlock_t *lock);
/*
 * Project-only: nanoseconds all threads together spent blocked acquiring
 * @lock (the uncontended fast path is not timed), for lock-contention stats.
 */
u64 env_rwlock_wait_ns(rwlock_t *lock);
/*
 * Project-only: time @lock's write holds from now on (two clock reads per
 * hold, so only benchmarks that model the lock turn it on), and read the
 * total nanoseconds held for write and the number of holds.
 */
void env_rwlock_time_holds(rwlock_t *lock, bool on);
u64 env_rwlock_hold_ns(rwlock_t *lock, u64 *holds);
int cond_resched_rwlock_read(rwlock_t *lock);
int cond_resched_rwlock_write(rwlock_t *lock);

void mutex_init(struct mutex *lock);
void mutex_lock(struct mutex *lock);
bool mutex_trylock(struct mutex *lock);
void mutex_unlock(struct mutex *lock);
void mutex_destroy(struct mutex *lock);

/* Irq-disabling variants: there are no interrupts in the simulation. */
#define spin_lock_irqsave(l, flags) do { (void)(flags); spin_lock(l); } while (0)
#define spin_unlock_irqrestore(l, flags) do { (void)(flags); spin_unlock(l); } while (0)
#define spin_lock_irq(l) spin_lock(l)
#define spin_unlock_irq(l) spin_unlock(l)

enum env_lock_mode {
	ENV_HELD_ANY = 0,
	ENV_HELD_READ = 1,
	ENV_HELD_WRITE = 2,
};

/*
 * Checked build: true if the calling thread holds @lock in @mode (ENV_HELD_ANY:
 * any mode).  Fast build: true if some thread does (no owners are recorded;
 * struct mutex and rw_semaphore answer for any mode), like src/env/kernel
 * without CONFIG_LOCKDEP.
 */
#ifdef MMUSIM_ENV_FAST
struct rw_semaphore;
bool env_spin_held(const spinlock_t *l, enum env_lock_mode mode);
bool env_rwlock_held(const rwlock_t *l, enum env_lock_mode mode);
bool env_mutex_held(const struct mutex *l, enum env_lock_mode mode);
bool env_rwsem_held(const struct rw_semaphore *l, enum env_lock_mode mode);
#define env_lock_held(lock, mode)                                                    \
	_Generic((lock),                                                             \
		spinlock_t *: env_spin_held, const spinlock_t *: env_spin_held,      \
		rwlock_t *: env_rwlock_held, const rwlock_t *: env_rwlock_held,      \
		struct mutex *: env_mutex_held,                                      \
		const struct mutex *: env_mutex_held,                                \
		struct rw_semaphore *: env_rwsem_held,                               \
		const struct rw_semaphore *: env_rwsem_held)(lock, mode)
#else
bool env_lock_held(const void *lock, enum env_lock_mode mode);
#endif
/*
 * Number of spinning locks (spinlock_t, rwlock_t) the calling thread holds:
 * the share of the preempt count they would add in the kernel.
 */
int env_spinning_locks_held(void);

/*
 * struct rw_semaphore: a sleeping reader/writer lock (mmap_lock, slots_lock
 * style).  down_*() may sleep, so they check might_sleep().
 */
struct rw_semaphore {
	pthread_rwlock_t rw;
#ifndef MMUSIM_ENV_FAST
	u64 writer;
#endif
};

void init_rwsem(struct rw_semaphore *sem);
void down_read(struct rw_semaphore *sem);
bool down_read_trylock(struct rw_semaphore *sem);
void up_read(struct rw_semaphore *sem);
void down_write(struct rw_semaphore *sem);
bool down_write_trylock(struct rw_semaphore *sem);
void up_write(struct rw_semaphore *sem);

/* Lockdep's nesting annotations (two locks of one class): the owner tables need none. */
#define SINGLE_DEPTH_NESTING 1
#define spin_lock_nested(l, subclass) ((void)(subclass), spin_lock(l))
#define down_write_nested(s, subclass) ((void)(subclass), down_write(s))
#define mutex_lock_nested(m, subclass) ((void)(subclass), mutex_lock(m))

#ifdef MMUSIM_ENV_FAST
/* As in a kernel without CONFIG_LOCKDEP: type-checked, never evaluated. */
#define lockdep_is_held(l) ({ (void)(l); 1; })
#define lockdep_assert_held(l) do { (void)(l); } while (0)
#define lockdep_assert_held_read(l) do { (void)(l); } while (0)
#define lockdep_assert_held_write(l) do { (void)(l); } while (0)
#define lockdep_assert_not_held(l) do { (void)(l); } while (0)
#else
#define lockdep_is_held(l) env_lock_held((l), ENV_HELD_ANY)
#define lockdep_assert_held(l) WARN_ON(!env_lock_held((l), ENV_HELD_ANY))
#define lockdep_assert_held_read(l) WARN_ON(!env_lock_held((l), ENV_HELD_READ))
#define lockdep_assert_held_write(l) WARN_ON(!env_lock_held((l), ENV_HELD_WRITE))
#define lockdep_assert_not_held(l) WARN_ON(env_lock_held((l), ENV_HELD_ANY))
#endif

#endif /* _MMUSIM_ENV_LOCK_H */
