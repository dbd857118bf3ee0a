/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * spinlock_t, rwlock_t and struct mutex, userspace side, with owner checks.
 *
 * Rules enforced here that the kernel only enforces with lockdep:
 *  - every thread keeps a table of the locks it holds and in which mode, so
 *    lockdep_assert_held_read(&kvm->mmu_lock) really means "this thread holds
 *    mmu_lock for read";
 *  - unlocking a lock this thread does not hold, or re-acquiring one it does,
 *    is a BUG;
 *  - spinlock_t and rwlock_t are spinning locks: might_sleep() under them is a
 *    WARN; mutex_lock() may sleep and so checks might_sleep() itself.
 *
 * rwlock_t prefers writers (as the kernel's queued rwlock does once a writer
 * waits), so a stream of readers cannot starve a zap that needs the lock for
 * write.  rwlock_needbreak() reports that another thread is waiting.
 */
#ifndef _MMUSIM_ENV_LOCK_H
#define _MMUSIM_ENV_LOCK_H

#include <pthread.h>

typedef struct spinlock {
	pthread_mutex_t m;
	u64 owner; /* env_thread_id() of the holder, 0 if free */
} spinlock_t;

typedef struct {
	pthread_rwlock_t rw;
	u64 writer;	/* env_thread_id() of the write holder, 0 if none */
	atomic_t readers;
	atomic_t waiters; /* threads blocked in read_lock()/write_lock() */
	atomic64_t wait_ns; /* total time spent blocked there (env_rwlock_wait_ns()) */
} rwlock_t;

struct mutex {
	pthread_mutex_t m;
	u64 owner;
};

#define __SPIN_LOCK_UNLOCKED(x) { .m = PTHREAD_MUTEX_INITIALIZER }
#define DEFINE_SPINLOCK(x) spinlock_t x = __SPIN_LOCK_UNLOCKED(x)
#define __RW_LOCK_UNLOCKED(x) { .rw = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP }
#define DEFINE_RWLOCK(x) rwlock_t x = __RW_LOCK_UNLOCKED(x)
#define DEFINE_MUTEX(x) struct mutex x = { .m = PTHREAD_MUTEX_INITIALIZER }

u64 env_thread_id(void);

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

/* True if the calling thread holds @lock in @mode (ENV_HELD_ANY: any mode). */
bool env_lock_held(const void *lock, enum env_lock_mode mode);
/* Number of spinning locks (spinlock_t, rwlock_t) the calling thread holds. */
int env_spinning_locks_held(void);

/*
 * struct rw_semaphore: a sleeping reader/writer lock (mmap_lock, slots_lock
 * style).  down_*() may sleep, so they check might_sleep().
 */
struct rw_semaphore {
	pthread_rwlock_t rw;
	u64 writer;
};

void init_rwsem(struct rw_semaphore *sem);
void down_read(struct rw_semaphore *sem);
bool down_read_trylock(struct rw_semaphore *sem);
void up_read(struct rw_semaphore *sem);
void down_write(struct rw_semaphore *sem);
bool down_write_trylock(struct rw_semaphore *sem);
void up_write(struct rw_semaphore *sem);

#define lockdep_is_held(l) env_lock_held((l), ENV_HELD_ANY)
#define lockdep_assert_held(l) WARN_ON(!env_lock_held((l), ENV_HELD_ANY))
#define lockdep_assert_held_read(l) WARN_ON(!env_lock_held((l), ENV_HELD_READ))
#define lockdep_assert_held_write(l) WARN_ON(!env_lock_held((l), ENV_HELD_WRITE))
#define lockdep_assert_not_held(l) WARN_ON(env_lock_held((l), ENV_HELD_ANY))

#endif /* _MMUSIM_ENV_LOCK_H */
