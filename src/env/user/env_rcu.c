// SPDX-License-Identifier: GPL-2.0-only
/*
 * RCU for the userspace seam: read-side sections and grace periods from
 * liburcu's memb flavour, callbacks from our own queue.
 *
 * Why our own call_rcu: the kernel's struct rcu_head layout is kept, and
 * rcu_barrier() waits for exactly the callbacks mmusim queued.  One worker
 * thread takes the whole pending batch, waits for a full grace period with
 * urcu's synchronize_rcu(), then runs the batch in order.
 *
 * ThreadSanitizer cannot see the ordering a grace period provides (it is made
 * of membarrier() and per-thread counters inside an uninstrumented library),
 * so in TSan builds every rcu_read_unlock() releases and every completed
 * grace period acquires one synchronisation object.  That states exactly the
 * RCU guarantee: everything a reader did happens before what runs after the
 * next grace period.
 *
 * The fast build (MMUSIM_ENV_FAST) keeps no nesting count of its own (liburcu
 * nests) and puts SRCU's reader counters in per-thread slots (env_rcu.h).
 */
#if !defined(__SANITIZE_THREAD__)
#define _LGPL_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * liburcu has its own struct rcu_head and rcu_dereference() family; keep its
 * names out of the way of the kernel-shaped ones mmusim_env.h defines.
 */
#define rcu_head urcu_rcu_head
#include <urcu/urcu-memb.h>
#undef rcu_head
#undef rcu_dereference
#undef rcu_assign_pointer
#undef rcu_set_pointer
#undef rcu_xchg_pointer
#undef rcu_cmpxchg_pointer

#include "mmusim_env.h"

#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
static char rcu_tsan_sync;
#define rcu_tsan_release() __tsan_release(&rcu_tsan_sync)
#define rcu_tsan_acquire() __tsan_acquire(&rcu_tsan_sync)
#else
#define rcu_tsan_release() do { } while (0)
#define rcu_tsan_acquire() do { } while (0)
#endif

#ifdef MMUSIM_ENV_FAST
#define rcu_nesting urcu_memb_read_ongoing()
#else
static __thread int rcu_nesting;
#endif
static __thread bool rcu_registered;
static long rcu_nr_registered;
/* Its destructor unregisters a thread that exits registered. */
static pthread_key_t rcu_exit_key;
static pthread_once_t rcu_exit_key_once = PTHREAD_ONCE_INIT;

static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cb_queued = PTHREAD_COND_INITIALIZER;
static pthread_cond_t cb_done = PTHREAD_COND_INITIALIZER;
static struct rcu_head *cb_head, **cb_tail = &cb_head;
static u64 cb_enqueued, cb_completed;
static bool cb_worker_started;
static pthread_t cb_worker;

/*
 * Any thread may enter the library: the first rcu_read_lock() of a thread
 * that is not registered with liburcu registers it, and a thread that exits
 * registered is unregistered by rcu_exit_key's destructor.  Registering a
 * registered thread, or unregistering one that is not, does nothing.
 */
static void rcu_thread_exit(void *unused)
{
	(void)unused;
	if (rcu_nesting)
		env_bug(__FILE__, __LINE__, "thread exit inside an RCU read-side section");
	env_thread_unregister();
}

static void rcu_exit_key_init(void)
{
	if (pthread_key_create(&rcu_exit_key, rcu_thread_exit))
		env_bug(__FILE__, __LINE__, "cannot create the RCU thread-exit key");
}

void env_thread_register(void)
{
	if (rcu_registered)
		return;
	pthread_once(&rcu_exit_key_once, rcu_exit_key_init);
	urcu_memb_register_thread();
	rcu_registered = true;
	__atomic_add_fetch(&rcu_nr_registered, 1, __ATOMIC_RELAXED);
	/* Any non-NULL value: the destructor runs only for those. */
	pthread_setspecific(rcu_exit_key, &rcu_registered);
}

void env_thread_unregister(void)
{
	if (!rcu_registered)
		return;
	if (rcu_nesting)
		env_bug(__FILE__, __LINE__,
			"RCU unregister of a thread inside a read-side section");
	urcu_memb_unregister_thread();
	rcu_registered = false;
	__atomic_sub_fetch(&rcu_nr_registered, 1, __ATOMIC_RELAXED);
	pthread_setspecific(rcu_exit_key, NULL);
}

long env_rcu_registered_threads(void)
{
	return __atomic_load_n(&rcu_nr_registered, __ATOMIC_RELAXED);
}

#ifdef MMUSIM_ENV_FAST
void rcu_read_lock(void)
{
	if (unlikely(!rcu_registered))
		env_thread_register();
	urcu_memb_read_lock();
}

void rcu_read_unlock(void)
{
	rcu_tsan_release();
	urcu_memb_read_unlock();
}

bool rcu_read_lock_held(void)
{
	return urcu_memb_read_ongoing();
}
#else
void rcu_read_lock(void)
{
	if (unlikely(!rcu_registered))
		env_thread_register();
	if (!rcu_nesting++)
		urcu_memb_read_lock();
}

void rcu_read_unlock(void)
{
	if (unlikely(rcu_nesting <= 0))
		env_bug(__FILE__, __LINE__, "unbalanced rcu_read_unlock()");
	if (!--rcu_nesting) {
		rcu_tsan_release();
		urcu_memb_read_unlock();
	}
}

bool rcu_read_lock_held(void)
{
	return rcu_nesting > 0;
}
#endif

void env_rcu_assert_reader(const char *file, int line)
{
	env_warn(file, line, "rcu_dereference() outside an RCU read-side section");
}

void synchronize_rcu(void)
{
	if (rcu_nesting)
		env_bug(__FILE__, __LINE__, "synchronize_rcu() inside a read-side section");
	might_sleep();
	urcu_memb_synchronize_rcu();
	rcu_tsan_acquire();
}

static void *rcu_callback_worker(void *unused)
{
	(void)unused;
	env_thread_register();
	pthread_mutex_lock(&cb_lock);
	for (;;) {
		struct rcu_head *batch, *next;
		u64 n = 0;

		while (!cb_head)
			pthread_cond_wait(&cb_queued, &cb_lock);
		batch = cb_head;
		cb_head = NULL;
		cb_tail = &cb_head;
		pthread_mutex_unlock(&cb_lock);

		urcu_memb_synchronize_rcu();
		rcu_tsan_acquire();
		for (; batch; batch = next, n++) {
			next = batch->next;
			batch->func(batch);
		}

		pthread_mutex_lock(&cb_lock);
		cb_completed += n;
		pthread_cond_broadcast(&cb_done);
	}
	return NULL;
}

void call_rcu(struct rcu_head *head, rcu_callback_t func)
{
	head->func = func;
	head->next = NULL;
	pthread_mutex_lock(&cb_lock);
	if (!cb_worker_started) {
		if (pthread_create(&cb_worker, NULL, rcu_callback_worker, NULL))
			env_bug(__FILE__, __LINE__, "cannot start the call_rcu worker");
		pthread_detach(cb_worker);
		cb_worker_started = true;
	}
	*cb_tail = head;
	cb_tail = &head->next;
	cb_enqueued++;
	pthread_cond_signal(&cb_queued);
	pthread_mutex_unlock(&cb_lock);
}

void rcu_barrier(void)
{
	u64 target;

	might_sleep();
	pthread_mutex_lock(&cb_lock);
	target = cb_enqueued;
	while (cb_completed < target)
		pthread_cond_wait(&cb_done, &cb_lock);
	pthread_mutex_unlock(&cb_lock);
}

#ifdef MMUSIM_ENV_FAST
/* This thread's slot in every domain, and its SRCU read-side nesting (any domain). */
static __thread int srcu_slot = -1;
static __thread int srcu_nesting;

static atomic_long_t *srcu_counter(struct srcu_struct *ssp, int idx)
{
	if (unlikely(srcu_slot < 0))
		srcu_slot = env_thread_id() % SRCU_NR_SLOTS;
	return &ssp->slots[srcu_slot].readers[idx];
}

int init_srcu_struct(struct srcu_struct *ssp)
{
	void *slots;

	/* Outside kmalloc: not a counted object, and not a failure-injection site. */
	if (posix_memalign(&slots, 64, SRCU_NR_SLOTS * sizeof(*ssp->slots)))
		return -ENOMEM;
	memset(slots, 0, SRCU_NR_SLOTS * sizeof(*ssp->slots));
	ssp->slots = slots;
	atomic_set(&ssp->idx, 0);
	mutex_init(&ssp->lock);
	return 0;
}

static long srcu_readers(struct srcu_struct *ssp, int idx)
{
	long sum = 0;
	int i;

	for (i = 0; i < SRCU_NR_SLOTS; i++)
		sum += atomic_long_read(&ssp->slots[i].readers[idx]);
	return sum;
}

void cleanup_srcu_struct(struct srcu_struct *ssp)
{
	WARN_ON(srcu_readers(ssp, 0) || srcu_readers(ssp, 1));
	mutex_destroy(&ssp->lock);
	free(ssp->slots);
	ssp->slots = NULL;
}

/*
 * The kernel's srcu_read_lock() is this_cpu_inc() then smp_mb().  The
 * increment here is a locked one (threads may share a slot), which on x86
 * is the full barrier already: barrier() stands for smp_mb__after_atomic().
 */
int srcu_read_lock(struct srcu_struct *ssp)
{
	int idx = atomic_read(&ssp->idx) & 1;

	srcu_nesting++;
	atomic_long_inc(srcu_counter(ssp, idx));
	barrier();
	return idx;
}

void srcu_read_unlock(struct srcu_struct *ssp, int idx)
{
	barrier(); /* smp_mb__before_atomic(): the locked decrement orders on x86 */
	rcu_tsan_release();
	atomic_long_dec(srcu_counter(ssp, idx));
	srcu_nesting--;
}

bool srcu_read_lock_held(const struct srcu_struct *ssp)
{
	(void)ssp;
	return srcu_nesting > 0;
}

/* Not this domain's reader only: the fast build cannot tell domains apart. */
#define srcu_own_reader(ssp) false
#else
/*
 * Per-thread SRCU read-side nesting, per domain, as lockdep tracks each
 * srcu_struct: a reader of one domain may wait for another's grace period
 * (a fault inside kvm->srcu destroying an mm waits on its notifier SRCU),
 * and srcu_dereference() asks about the domain it names.  A thread reads
 * few domains at once; more than SRCU_MAX_DOMAINS is a bug.
 */
#define SRCU_MAX_DOMAINS 8
struct srcu_held {
	const struct srcu_struct *ssp;
	int nesting;
};
static __thread struct srcu_held srcu_held[SRCU_MAX_DOMAINS];
static __thread int srcu_nr_held;

static struct srcu_held *srcu_held_find(const struct srcu_struct *ssp)
{
	int i;

	for (i = 0; i < srcu_nr_held; i++)
		if (srcu_held[i].ssp == ssp)
			return &srcu_held[i];
	return NULL;
}

static long srcu_readers(struct srcu_struct *ssp, int idx)
{
	return atomic_long_read(&ssp->readers[idx]);
}

int init_srcu_struct(struct srcu_struct *ssp)
{
	atomic_long_set(&ssp->readers[0], 0);
	atomic_long_set(&ssp->readers[1], 0);
	atomic_set(&ssp->idx, 0);
	mutex_init(&ssp->lock);
	return 0;
}

void cleanup_srcu_struct(struct srcu_struct *ssp)
{
	WARN_ON(srcu_readers(ssp, 0) || srcu_readers(ssp, 1));
	mutex_destroy(&ssp->lock);
}

int srcu_read_lock(struct srcu_struct *ssp)
{
	struct srcu_held *h = srcu_held_find(ssp);
	int idx = atomic_read(&ssp->idx) & 1;

	if (!h) {
		if (unlikely(srcu_nr_held == SRCU_MAX_DOMAINS))
			env_bug(__FILE__, __LINE__, "SRCU read-side sections in too many domains");
		h = &srcu_held[srcu_nr_held++];
		h->ssp = ssp;
		h->nesting = 0;
	}
	h->nesting++;
	atomic_long_inc(&ssp->readers[idx]);
	smp_mb(); /* the counter is visible before any protected read */
	return idx;
}

void srcu_read_unlock(struct srcu_struct *ssp, int idx)
{
	struct srcu_held *h = srcu_held_find(ssp);

	if (unlikely(!h))
		env_bug(__FILE__, __LINE__, "unbalanced srcu_read_unlock()");
	if (!--h->nesting)
		*h = srcu_held[--srcu_nr_held];
	smp_mb(); /* protected reads complete before the counter drops */
	rcu_tsan_release();
	atomic_long_dec(&ssp->readers[idx]);
}

bool srcu_read_lock_held(const struct srcu_struct *ssp)
{
	return srcu_held_find(ssp);
}

#define srcu_own_reader(ssp) srcu_read_lock_held(ssp)

#endif

static void srcu_flip_and_wait(struct srcu_struct *ssp)
{
	int old = atomic_read(&ssp->idx) & 1;

	atomic_set(&ssp->idx, !old);
	smp_mb();
	while (srcu_readers(ssp, old))
		sched_yield();
	smp_mb();
}

void synchronize_srcu(struct srcu_struct *ssp)
{
	if (srcu_own_reader(ssp))
		env_bug(__FILE__, __LINE__, "synchronize_srcu() inside its own read-side section");
	mutex_lock(&ssp->lock);
	srcu_flip_and_wait(ssp);
	srcu_flip_and_wait(ssp);
	mutex_unlock(&ssp->lock);
	rcu_tsan_acquire();
}

void synchronize_srcu_expedited(struct srcu_struct *ssp)
{
	synchronize_srcu(ssp);
}
