// SPDX-License-Identifier: GPL-2.0-only
/*
 * Owner-checked locks for the userspace seam.  Each thread keeps a small
 * table of the locks it holds; the table is what lockdep_assert_held*()
 * consult, and what makes a double acquire or a foreign unlock a BUG rather
 * than a silent deadlock or corruption.
 */
#include <sched.h>
#include <stdio.h>

#include "mmusim_env.h"

#define ENV_MAX_HELD_LOCKS 48

struct held_lock {
	const void *lock;
	enum env_lock_mode mode;
	bool spinning;
};

static __thread struct held_lock held[ENV_MAX_HELD_LOCKS];
static __thread int nr_held;
static __thread int nr_spinning;
static __thread u64 this_tid;
static u64 next_tid;

u64 env_thread_id(void)
{
	if (unlikely(!this_tid))
		this_tid = __atomic_add_fetch(&next_tid, 1, __ATOMIC_RELAXED);
	return this_tid;
}

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
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&lock->rw, &attr);
	pthread_rwlockattr_destroy(&attr);
	lock->writer = 0;
	atomic_set(&lock->readers, 0);
	atomic_set(&lock->waiters, 0);
	atomic64_set(&lock->wait_ns, 0);
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
	atomic_inc(&lock->readers);
}

void read_unlock(rwlock_t *lock)
{
	held_pop(lock, ENV_HELD_READ);
	atomic_dec(&lock->readers);
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
}

bool write_trylock(rwlock_t *lock)
{
	if (pthread_rwlock_trywrlock(&lock->rw))
		return false;
	held_push(lock, ENV_HELD_WRITE, true);
	WRITE_ONCE(lock->writer, env_thread_id());
	return true;
}

void write_unlock(rwlock_t *lock)
{
	if (READ_ONCE(lock->writer) != env_thread_id())
		env_bug(__FILE__, __LINE__, "write_unlock by a thread that is not the writer");
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
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&sem->rw, &attr);
	pthread_rwlockattr_destroy(&attr);
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
