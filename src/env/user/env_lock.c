// SPDX-License-Identifier: GPL-2.0-only
/*
 * Locks for the userspace seam, in its two builds (env_lock.h).
 *
 * Checked: owner-checked pthread locks.  Each thread keeps a small table of
 * the locks it holds; the table is what lockdep_assert_held*() consult, and
 * what makes a double acquire or a foreign unlock a BUG rather than a silent
 * deadlock or corruption.
 *
 * Fast: the kernel's spinning locks without lockdep.  spin_lock() is one
 * xchg and spin_unlock() one plain store; read_lock()/read_unlock() are one
 * lock xadd each on the qrwlock word and write_lock() one cmpxchg, as in
 * kernel/locking/qrwlock.c, whose slow paths these follow.  Only a thread's
 * spinning-lock count (the preempt count's share) is kept.
 */
#include <sched.h>
#include <stdio.h>

#include "mmusim_env.h"

__thread u64 env_this_tid;
static u64 next_tid;

u64 env_thread_id_slow(void)
{
	env_this_tid = __atomic_add_fetch(&next_tid, 1, __ATOMIC_RELAXED);
	return env_this_tid;
}

static int cond_resched_rwlock(rwlock_t *lock, bool shared)
{
	if (!need_resched() && !rwlock_needbreak(lock))
		return 0;
	if (shared)
		read_unlock(lock);
	else
		write_unlock(lock);
	schedule();
	if (shared)
		read_lock(lock);
	else
		write_lock(lock);
	return 1;
}

int cond_resched_rwlock_read(rwlock_t *lock)
{
	return cond_resched_rwlock(lock, true);
}

int cond_resched_rwlock_write(rwlock_t *lock)
{
	return cond_resched_rwlock(lock, false);
}

static inline void rwlock_hold_begin(rwlock_t *lock)
{
	if (unlikely(READ_ONCE(lock->holds.on)))
		lock->holds.t0 = ktime_get_ns();
}

static inline void rwlock_hold_end(rwlock_t *lock)
{
	if (unlikely(READ_ONCE(lock->holds.on)) && lock->holds.t0) {
		WRITE_ONCE(lock->holds.ns, lock->holds.ns + ktime_get_ns() - lock->holds.t0);
		WRITE_ONCE(lock->holds.count, lock->holds.count + 1);
	}
}

void env_rwlock_time_holds(rwlock_t *lock, bool on)
{
	write_lock(lock);
	lock->holds.t0 = 0; /* this hold is not timed */
	WRITE_ONCE(lock->holds.on, on);
	write_unlock(lock);
}

u64 env_rwlock_hold_ns(rwlock_t *lock, u64 *holds)
{
	if (holds)
		*holds = READ_ONCE(lock->holds.count);
	return READ_ONCE(lock->holds.ns);
}

/* A pthread rwlock that prefers writers (see env_lock.h). */
static void pthread_rwlock_init_wpref(pthread_rwlock_t *rw)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(rw, &attr);
	pthread_rwlockattr_destroy(&attr);
}

#ifdef MMUSIM_ENV_FAST

static __thread int nr_spinning;

/*
 * One step of waiting for a spinning lock.  The kernel spins with
 * preemption off, so the holder is running; here it may be a descheduled
 * thread, so after a short spin the waiter gives its CPU away.
 */
#define ENV_SPIN_BEFORE_YIELD 128

static void spin_wait_step(unsigned int *spins)
{
	if (++*spins < ENV_SPIN_BEFORE_YIELD) {
		cpu_relax();
	} else {
		*spins = 0;
		sched_yield();
	}
}

int env_spinning_locks_held(void)
{
	return nr_spinning;
}

static bool tas_is_locked(const spinlock_t *lock)
{
	return __atomic_load_n(&lock->val, __ATOMIC_RELAXED);
}

/* Test and test-and-set: waiters only read the word until it looks free. */
static void tas_lock(spinlock_t *lock)
{
	unsigned int spins = 0;

	while (unlikely(__atomic_exchange_n(&lock->val, 1, __ATOMIC_ACQUIRE)))
		while (__atomic_load_n(&lock->val, __ATOMIC_RELAXED))
			spin_wait_step(&spins);
}

static bool tas_trylock(spinlock_t *lock)
{
	return !__atomic_load_n(&lock->val, __ATOMIC_RELAXED) &&
	       !__atomic_exchange_n(&lock->val, 1, __ATOMIC_ACQUIRE);
}

static void tas_unlock(spinlock_t *lock)
{
	__atomic_store_n(&lock->val, 0, __ATOMIC_RELEASE);
}

void spin_lock_init(spinlock_t *lock)
{
	lock->val = 0;
}

void spin_lock(spinlock_t *lock)
{
	tas_lock(lock);
	nr_spinning++;
}

bool spin_trylock(spinlock_t *lock)
{
	if (!tas_trylock(lock))
		return false;
	nr_spinning++;
	return true;
}

void spin_unlock(spinlock_t *lock)
{
	nr_spinning--;
	tas_unlock(lock);
}

void rwlock_init(rwlock_t *lock)
{
	lock->cnts = 0;
	spin_lock_init(&lock->wait_lock);
	lock->wait_ns = 0;
	memset(&lock->holds, 0, sizeof(lock->holds));
}

static void rwlock_account_wait(rwlock_t *lock, u64 t0)
{
	__atomic_fetch_add(&lock->wait_ns, ktime_get_ns() - t0, __ATOMIC_RELAXED);
}

/* queued_read_lock_slowpath(): a writer holds or waits for the lock. */
static void __cold read_lock_slowpath(rwlock_t *lock)
{
	u64 t0 = ktime_get_ns();
	unsigned int spins = 0;

	__atomic_fetch_sub(&lock->cnts, _QR_BIAS, __ATOMIC_RELAXED);
	tas_lock(&lock->wait_lock);
	__atomic_fetch_add(&lock->cnts, _QR_BIAS, __ATOMIC_ACQUIRE);
	/* Queued first: only a writer that got in ahead of us remains. */
	while (__atomic_load_n(&lock->cnts, __ATOMIC_ACQUIRE) & _QW_LOCKED)
		spin_wait_step(&spins);
	tas_unlock(&lock->wait_lock);
	rwlock_account_wait(lock, t0);
}

void read_lock(rwlock_t *lock)
{
	u32 cnts = __atomic_add_fetch(&lock->cnts, _QR_BIAS, __ATOMIC_ACQUIRE);

	if (unlikely(cnts & _QW_WMASK))
		read_lock_slowpath(lock);
	nr_spinning++;
}

void read_unlock(rwlock_t *lock)
{
	nr_spinning--;
	__atomic_fetch_sub(&lock->cnts, _QR_BIAS, __ATOMIC_RELEASE);
}

static bool write_cmpxchg(rwlock_t *lock, u32 old)
{
	return __atomic_compare_exchange_n(&lock->cnts, &old, _QW_LOCKED, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

/* queued_write_lock_slowpath(): announce the writer, wait for readers to drain. */
static void __cold write_lock_slowpath(rwlock_t *lock)
{
	u64 t0 = ktime_get_ns();
	unsigned int spins = 0;

	tas_lock(&lock->wait_lock);
	if (!__atomic_load_n(&lock->cnts, __ATOMIC_RELAXED) && write_cmpxchg(lock, 0))
		goto unlock;
	/* New readers now take the slow path and queue behind us. */
	__atomic_fetch_or(&lock->cnts, _QW_WAITING, __ATOMIC_RELAXED);
	for (;;) {
		if (__atomic_load_n(&lock->cnts, __ATOMIC_RELAXED) == _QW_WAITING &&
		    write_cmpxchg(lock, _QW_WAITING))
			break;
		spin_wait_step(&spins);
	}
unlock:
	tas_unlock(&lock->wait_lock);
	rwlock_account_wait(lock, t0);
}

void write_lock(rwlock_t *lock)
{
	if (unlikely(!write_cmpxchg(lock, 0)))
		write_lock_slowpath(lock);
	nr_spinning++;
	rwlock_hold_begin(lock);
}

bool write_trylock(rwlock_t *lock)
{
	if (__atomic_load_n(&lock->cnts, __ATOMIC_RELAXED) || !write_cmpxchg(lock, 0))
		return false;
	nr_spinning++;
	rwlock_hold_begin(lock);
	return true;
}

void write_unlock(rwlock_t *lock)
{
	rwlock_hold_end(lock);
	nr_spinning--;
	__atomic_store_n(&lock->wlocked, 0, __ATOMIC_RELEASE);
}

/* rwlock_is_contended(): somebody queued on the wait lock. */
bool rwlock_needbreak(rwlock_t *lock)
{
	return tas_is_locked(&lock->wait_lock);
}

u64 env_rwlock_wait_ns(rwlock_t *lock)
{
	return __atomic_load_n(&lock->wait_ns, __ATOMIC_RELAXED);
}

void mutex_init(struct mutex *lock)
{
	pthread_mutex_init(&lock->m, NULL);
}

void mutex_lock(struct mutex *lock)
{
	pthread_mutex_lock(&lock->m);
}

bool mutex_trylock(struct mutex *lock)
{
	return !pthread_mutex_trylock(&lock->m);
}

void mutex_unlock(struct mutex *lock)
{
	pthread_mutex_unlock(&lock->m);
}

void mutex_destroy(struct mutex *lock)
{
	pthread_mutex_destroy(&lock->m);
}

void init_rwsem(struct rw_semaphore *sem)
{
	pthread_rwlock_init_wpref(&sem->rw);
}

void down_read(struct rw_semaphore *sem)
{
	pthread_rwlock_rdlock(&sem->rw);
}

bool down_read_trylock(struct rw_semaphore *sem)
{
	return !pthread_rwlock_tryrdlock(&sem->rw);
}

void up_read(struct rw_semaphore *sem)
{
	pthread_rwlock_unlock(&sem->rw);
}

void down_write(struct rw_semaphore *sem)
{
	pthread_rwlock_wrlock(&sem->rw);
}

bool down_write_trylock(struct rw_semaphore *sem)
{
	return !pthread_rwlock_trywrlock(&sem->rw);
}

void up_write(struct rw_semaphore *sem)
{
	pthread_rwlock_unlock(&sem->rw);
}

/*
 * "Somebody holds @l in @mode" (env_lock_held() dispatches on the type).
 * The pthread locks are probed with a trylock, which fails while anyone,
 * the caller included, holds them; a probe that succeeds is undone at once.
 */
bool env_spin_held(const spinlock_t *l, enum env_lock_mode mode)
{
	return mode != ENV_HELD_READ && tas_is_locked(l);
}

bool env_rwlock_held(const rwlock_t *l, enum env_lock_mode mode)
{
	u32 cnts = __atomic_load_n(&l->cnts, __ATOMIC_RELAXED);
	bool w = (cnts & _QW_LOCKED) == _QW_LOCKED, r = cnts >> _QR_SHIFT;

	return mode == ENV_HELD_READ ? r : mode == ENV_HELD_WRITE ? w : r || w;
}

bool env_mutex_held(const struct mutex *l, enum env_lock_mode mode)
{
	struct mutex *m = (struct mutex *)l;

	if (mode == ENV_HELD_READ)
		return false;
	if (pthread_mutex_trylock(&m->m))
		return true;
	pthread_mutex_unlock(&m->m);
	return false;
}

bool env_rwsem_held(const struct rw_semaphore *l, enum env_lock_mode mode)
{
	struct rw_semaphore *sem = (struct rw_semaphore *)l;

	/* The mode is private to glibc, as it is to kernel/locking/rwsem.c. */
	if (pthread_rwlock_trywrlock(&sem->rw))
		return true;
	pthread_rwlock_unlock(&sem->rw);
	return false;
}

#else /* !MMUSIM_ENV_FAST */

#define ENV_MAX_HELD_LOCKS 48

struct held_lock {
	const void *lock;
	enum env_lock_mode mode;
	bool spinning;
};

static __thread struct held_lock held[ENV_MAX_HELD_LOCKS];
static __thread int nr_held;
static __thread int nr_spinning;

static int find_held(const void *lock)
{
	int i;

	for (i = nr_held - 1; i >= 0; i--)
		if (held[i].lock == lock)
			return i;
	return -1;
}

static void held_push(const void *lock, enum env_lock_mode mode, bool spinning)
{
	if (find_held(lock) >= 0)
		env_bug(__FILE__, __LINE__, "lock acquired twice by the same thread");
	if (nr_held == ENV_MAX_HELD_LOCKS)
		env_bug(__FILE__, __LINE__, "too many locks held");
	held[nr_held].lock = lock;
	held[nr_held].mode = mode;
	held[nr_held].spinning = spinning;
	nr_held++;
	nr_spinning += spinning;
}

static void held_pop(const void *lock, enum env_lock_mode mode)
{
	int i = find_held(lock);

	if (i < 0 || held[i].mode != mode)
		env_bug(__FILE__, __LINE__, "unlock of a lock not held (in that mode) by this thread");
	nr_spinning -= held[i].spinning;
	for (; i < nr_held - 1; i++)
		held[i] = held[i + 1];
	nr_held--;
}

bool env_lock_held(const void *lock, enum env_lock_mode mode)
{
	int i = find_held(lock);

	return i >= 0 && (mode == ENV_HELD_ANY || held[i].mode == mode);
}

int env_spinning_locks_held(void)
{
	return nr_spinning;
}

void spin_lock_init(spinlock_t *lock)
{
	pthread_mutex_init(&lock->m, NULL);
	lock->owner = 0;
}

void spin_lock(spinlock_t *lock)
{
	held_push(lock, ENV_HELD_WRITE, true);
	pthread_mutex_lock(&lock->m);
	WRITE_ONCE(lock->owner, env_thread_id());
}

bool spin_trylock(spinlock_t *lock)
{
	if (pthread_mutex_trylock(&lock->m))
		return false;
	held_push(lock, ENV_HELD_WRITE, true);
	WRITE_ONCE(lock->owner, env_thread_id());
	return true;
}

void spin_unlock(spinlock_t *lock)
{
	if (READ_ONCE(lock->owner) != env_thread_id())
		env_bug(__FILE__, __LINE__, "spin_unlock by a thread that is not the owner");
	held_pop(lock, ENV_HELD_WRITE);
	WRITE_ONCE(lock->owner, 0);
	pthread_mutex_unlock(&lock->m);
}

void rwlock_init(rwlock_t *lock)
{
	pthread_rwlock_init_wpref(&lock->rw);
	lock->writer = 0;
	atomic_set(&lock->waiters, 0);
	atomic64_set(&lock->wait_ns, 0);
	memset(&lock->holds, 0, sizeof(lock->holds));
}

void read_lock(rwlock_t *lock)
{
	held_push(lock, ENV_HELD_READ, true);
	if (pthread_rwlock_tryrdlock(&lock->rw)) {
		u64 t0 = ktime_get_ns();

		atomic_inc(&lock->waiters);
		pthread_rwlock_rdlock(&lock->rw);
		atomic_dec(&lock->waiters);
		atomic64_add(ktime_get_ns() - t0, &lock->wait_ns);
	}
}

void read_unlock(rwlock_t *lock)
{
	held_pop(lock, ENV_HELD_READ);
	pthread_rwlock_unlock(&lock->rw);
}

void write_lock(rwlock_t *lock)
{
	held_push(lock, ENV_HELD_WRITE, true);
	if (pthread_rwlock_trywrlock(&lock->rw)) {
		u64 t0 = ktime_get_ns();

		atomic_inc(&lock->waiters);
		pthread_rwlock_wrlock(&lock->rw);
		atomic_dec(&lock->waiters);
		atomic64_add(ktime_get_ns() - t0, &lock->wait_ns);
	}
	WRITE_ONCE(lock->writer, env_thread_id());
	rwlock_hold_begin(lock);
}

bool write_trylock(rwlock_t *lock)
{
	if (pthread_rwlock_trywrlock(&lock->rw))
		return false;
	held_push(lock, ENV_HELD_WRITE, true);
	WRITE_ONCE(lock->writer, env_thread_id());
	rwlock_hold_begin(lock);
	return true;
}

void write_unlock(rwlock_t *lock)
{
	if (READ_ONCE(lock->writer) != env_thread_id())
		env_bug(__FILE__, __LINE__, "write_unlock by a thread that is not the writer");
	rwlock_hold_end(lock);
	held_pop(lock, ENV_HELD_WRITE);
	WRITE_ONCE(lock->writer, 0);
	pthread_rwlock_unlock(&lock->rw);
}

bool rwlock_needbreak(rwlock_t *lock)
{
	return atomic_read(&lock->waiters) > 0;
}

u64 env_rwlock_wait_ns(rwlock_t *lock)
{
	return (u64)atomic64_read(&lock->wait_ns);
}

void mutex_init(struct mutex *lock)
{
	pthread_mutex_init(&lock->m, NULL);
	lock->owner = 0;
}

void mutex_lock(struct mutex *lock)
{
	might_sleep();
	held_push(lock, ENV_HELD_WRITE, false);
	pthread_mutex_lock(&lock->m);
	WRITE_ONCE(lock->owner, env_thread_id());
}

bool mutex_trylock(struct mutex *lock)
{
	if (pthread_mutex_trylock(&lock->m))
		return false;
	held_push(lock, ENV_HELD_WRITE, false);
	WRITE_ONCE(lock->owner, env_thread_id());
	return true;
}

void mutex_unlock(struct mutex *lock)
{
	if (READ_ONCE(lock->owner) != env_thread_id())
		env_bug(__FILE__, __LINE__, "mutex_unlock by a thread that is not the owner");
	held_pop(lock, ENV_HELD_WRITE);
	WRITE_ONCE(lock->owner, 0);
	pthread_mutex_unlock(&lock->m);
}

void mutex_destroy(struct mutex *lock)
{
	WARN_ON(READ_ONCE(lock->owner));
	pthread_mutex_destroy(&lock->m);
}

void init_rwsem(struct rw_semaphore *sem)
{
	pthread_rwlock_init_wpref(&sem->rw);
	sem->writer = 0;
}

void down_read(struct rw_semaphore *sem)
{
	might_sleep();
	held_push(sem, ENV_HELD_READ, false);
	pthread_rwlock_rdlock(&sem->rw);
}

bool down_read_trylock(struct rw_semaphore *sem)
{
	if (pthread_rwlock_tryrdlock(&sem->rw))
		return false;
	held_push(sem, ENV_HELD_READ, false);
	return true;
}

void up_read(struct rw_semaphore *sem)
{
	held_pop(sem, ENV_HELD_READ);
	pthread_rwlock_unlock(&sem->rw);
}

void down_write(struct rw_semaphore *sem)
{
	might_sleep();
	held_push(sem, ENV_HELD_WRITE, false);
	pthread_rwlock_wrlock(&sem->rw);
	WRITE_ONCE(sem->writer, env_thread_id());
}

bool down_write_trylock(struct rw_semaphore *sem)
{
	if (pthread_rwlock_trywrlock(&sem->rw))
		return false;
	held_push(sem, ENV_HELD_WRITE, false);
	WRITE_ONCE(sem->writer, env_thread_id());
	return true;
}

void up_write(struct rw_semaphore *sem)
{
	if (READ_ONCE(sem->writer) != env_thread_id())
		env_bug(__FILE__, __LINE__, "up_write by a thread that is not the writer");
	held_pop(sem, ENV_HELD_WRITE);
	WRITE_ONCE(sem->writer, 0);
	pthread_rwlock_unlock(&sem->rw);
}

#endif /* MMUSIM_ENV_FAST */
