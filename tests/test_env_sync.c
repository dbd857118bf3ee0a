// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of the userspace seam's locks, RCU and thread helper, including the
 * strictness the kernel only has with lockdep: owner-checked assertions,
 * might_sleep() in atomic context, rcu_dereference() outside a reader,
 * SRCU read sides per domain.  Those checks exist only in the checked build;
 * their tests skip in the fast one (-DMMUSIM_ENV=fast), and the rest (mutual
 * exclusion, writer preference, grace periods) run in both.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

static void test_lock_assertions_track_owner_and_mode(void **state)
{
	rwlock_t rw;
	spinlock_t sl;
	struct mutex m;

	skip_unless_env_checked("lock-owner table or might_sleep() check");

	rwlock_init(&rw);
	spin_lock_init(&sl);
	mutex_init(&m);

	read_lock(&rw);
	assert_true(env_lock_held(&rw, ENV_HELD_READ));
	assert_false(env_lock_held(&rw, ENV_HELD_WRITE));
	lockdep_assert_held_read(&rw);
	assert_int_equal(env_warn_count(), 0);
	lockdep_assert_held_write(&rw); /* wrong mode: counted WARN */
	assert_int_equal(env_warn_count(), 1);
	read_unlock(&rw);
	lockdep_assert_held(&rw);
	assert_int_equal(env_warn_count(), 2);
	env_warn_count_reset();

	write_lock(&rw);
	lockdep_assert_held_write(&rw);
	assert_false(write_trylock(&rw) && (write_unlock(&rw), true));
	write_unlock(&rw);

	spin_lock(&sl);
	assert_int_equal(env_spinning_locks_held(), 1);
	might_sleep(); /* WARN: sleeping under a spinlock */
	assert_int_equal(env_warn_count(), 1);
	spin_unlock(&sl);
	env_warn_count_reset();

	preempt_disable();
	might_sleep(); /* WARN: sleeping with preemption off (guest mode) */
	assert_int_equal(env_warn_count(), 1);
	preempt_enable();
	might_sleep();
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();

	mutex_lock(&m);
	might_sleep(); /* fine under a mutex */
	assert_int_equal(env_spinning_locks_held(), 0);
	mutex_unlock(&m);
	mutex_destroy(&m);
	assert_int_equal(env_warn_count(), 0);
}

struct other_thread_ctx {
	rwlock_t *rw;
	bool go, done, saw_held;
};

static int other_thread_checks_lock(void *arg)
{
	struct other_thread_ctx *c = arg;

	while (!smp_load_acquire(&c->go))
		cpu_relax();
	/* Another thread holding the lock does not satisfy our assertion. */
	c->saw_held = env_lock_held(c->rw, ENV_HELD_ANY);
	smp_store_release(&c->done, true);
	return 7;
}

static void test_held_is_per_thread(void **state)
{
	struct other_thread_ctx c;
	struct env_thread *t;
	rwlock_t rw;

	skip_unless_env_checked("lock-owner table");

	rwlock_init(&rw);
	memset(&c, 0, sizeof(c));
	c.rw = &rw;
	/* Thread creation may sleep, so it must happen outside the lock. */
	t = env_thread_start(other_thread_checks_lock, &c, "checker");
	assert_non_null(t);
	write_lock(&rw);
	smp_store_release(&c.go, true);
	while (!smp_load_acquire(&c.done))
		cpu_relax();
	write_unlock(&rw);
	assert_int_equal(env_thread_join(t), 7);
	assert_false(c.saw_held);
}

static void test_rcu_dereference_needs_reader(void **state)
{
	int x = 5;
	int *p = &x, *q;

	skip_unless_env_checked("rcu_dereference() or might_sleep() check");

	rcu_read_lock();
	rcu_read_lock(); /* nests */
	q = rcu_dereference(p);
	rcu_read_unlock();
	assert_true(rcu_read_lock_held());
	might_sleep(); /* WARN: sleeping inside a reader */
	rcu_read_unlock();
	assert_false(rcu_read_lock_held());
	assert_int_equal(*q, 5);
	assert_int_equal(env_warn_count(), 1);
	q = rcu_dereference(p); /* WARN: outside a reader */
	assert_int_equal(env_warn_count(), 2);
	q = rcu_dereference_check(p, true); /* the caller vouches (e.g. holds the lock) */
	assert_int_equal(env_warn_count(), 2);
	env_warn_count_reset();
}

/*
 * SRCU read-side sections belong to their domain, as in Linux: a reader of
 * one domain may wait for another domain's grace period (KVM does, when a
 * fault-race hook inside kvm->srcu destroys an mm, whose notifier teardown
 * waits on the mm's notifier SRCU), and srcu_dereference() wants the
 * domain it names.  Only waiting for the domain one reads is a deadlock.
 */
static void test_srcu_nesting_is_per_domain(void **state)
{
	struct srcu_struct a, b, c;
	int x = 3, *p = &x, *q;
	int ia, ib, ia2;

	skip_unless_env_checked("per-domain SRCU reader tracking");

	init_srcu_struct(&a);
	init_srcu_struct(&b);
	init_srcu_struct(&c);
	ia = srcu_read_lock(&a);
	synchronize_srcu(&b); /* no reader of B anywhere: returns */
	assert_true(srcu_read_lock_held(&a));
	assert_false(srcu_read_lock_held(&b));
	ib = srcu_read_lock(&b);
	ia2 = srcu_read_lock(&a);
	srcu_read_unlock(&a, ia2);
	assert_true(srcu_read_lock_held(&a) && srcu_read_lock_held(&b));
	synchronize_srcu(&c);
	q = srcu_dereference(p, &a);
	assert_int_equal(env_warn_count(), 0);
	q = srcu_dereference(p, &c); /* WARN: not a reader of C */
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	srcu_read_unlock(&a, ia);
	assert_false(srcu_read_lock_held(&a));
	assert_true(srcu_read_lock_held(&b));
	synchronize_srcu(&a);
	srcu_read_unlock(&b, ib);
	assert_false(srcu_read_lock_held(&b));
	assert_int_equal(*q, 3);
	cleanup_srcu_struct(&c);
	cleanup_srcu_struct(&b);
	cleanup_srcu_struct(&a);
}

/* Waiting for the domain one reads still stops the program (in a child). */
static void test_srcu_sync_inside_own_reader_is_a_bug(void **state)
{
	struct srcu_struct a, b;
	int status;
	pid_t pid;

	skip_unless_env_checked("per-domain SRCU reader tracking");

	init_srcu_struct(&a);
	init_srcu_struct(&b);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		srcu_read_lock(&b);
		srcu_read_lock(&a);
		synchronize_srcu(&a); /* BUG: aborts */
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	cleanup_srcu_struct(&b);
	cleanup_srcu_struct(&a);
}

/*
 * Any thread may call into the library: a raw pthread that never called
 * env_thread_register() runs faults, host events and RCU readers (the seam
 * registers it with RCU on first use), may register twice or unregister
 * and carry on, and is unregistered when it exits.
 */
struct raw_thread_ctx {
	struct test_vm t_vm, *t;
	int step; /* the step that failed, 0 if none */
	long r;
};

static bool raw_thread_ops(struct raw_thread_ctx *c, int base)
{
	struct mmusim_vcpu *v = mmusim_vm_vcpu(c->t->vm, 0);
	struct sim_host_pte_info info;
	struct mmusim_vm_stats st;
	long r[6];
	int i;

	r[0] = mmusim_vcpu_access_range(v, 0, 64, 0, MMUSIM_ACCESS_WRITE, NULL) != 64;
	r[1] = sim_mm_lookup(c->t->mm, c->t->hva + PAGE_SIZE, &info);
	r[2] = sim_migrate_page(c->t->mm, c->t->hva + 2 * PAGE_SIZE);
	r[3] = sim_madvise(c->t->mm, c->t->hva, 16 * PAGE_SIZE, SIM_MADV_DONTNEED);
	r[4] = sim_mm_touch(c->t->mm, c->t->hva + 32 * PAGE_SIZE, true);
	r[5] = mmusim_vm_zap_gfn_range(c->t->vm, 0, 0, 512);
	mmusim_vm_get_stats(c->t->vm, &st);
	for (i = 0; i < 6; i++) {
		if (r[i]) {
			c->step = base + i;
			c->r = r[i];
			return false;
		}
	}
	return true;
}

static void *raw_thread(void *arg)
{
	struct raw_thread_ctx *c = arg;

	if (!raw_thread_ops(c, 1))
		return NULL;
	env_thread_register(); /* already registered on first use: harmless */
	env_thread_register();
	if (!raw_thread_ops(c, 11))
		return NULL;
	env_thread_unregister();
	env_thread_unregister(); /* twice too */
	raw_thread_ops(c, 21);
	return NULL; /* exits registered: the seam unregisters it */
}

static void test_unregistered_thread_may_call_anything(void **state)
{
	struct test_vm_opts o = { .size = 2 << 20 };
	struct raw_thread_ctx c = { 0 };
	long before;
	pthread_t tid;
	int i;

	test_vm_create(&c.t_vm, &o);
	c.t = &c.t_vm;
	before = env_rcu_registered_threads();
	for (i = 0; i < 3; i++) {
		assert_int_equal(pthread_create(&tid, NULL, raw_thread, &c), 0);
		assert_int_equal(pthread_join(tid, NULL), 0);
		if (c.step)
			fail_msg("raw thread, step %d: %ld", c.step, c.r);
		assert_int_equal(env_rcu_registered_threads(), before);
	}
	synchronize_rcu();
	test_vm_check(c.t);
	test_vm_destroy(c.t);
}

struct rcu_obj {
	struct rcu_head rcu;
	atomic_t *freed;
};

static void rcu_obj_free(struct rcu_head *head)
{
	struct rcu_obj *o = container_of(head, struct rcu_obj, rcu);

	atomic_inc(o->freed);
	kfree(o);
}

static void test_call_rcu_and_barrier(void **state)
{
	atomic_t freed = ATOMIC_INIT(0);
	int i;

	for (i = 0; i < 100; i++) {
		struct rcu_obj *o = kzalloc(sizeof(*o), GFP_KERNEL);

		o->freed = &freed;
		call_rcu(&o->rcu, rcu_obj_free);
	}
	rcu_barrier();
	assert_int_equal(atomic_read(&freed), 100);
}

/*
 * Readers walk a published pointer while a writer replaces and frees it
 * after a grace period.  Under ASan a missing grace period would be a
 * use-after-free; under TSan, a race.
 */
struct rcu_box {
	struct rcu_head rcu;
	u64 value;
	u64 check;
};

static struct rcu_box *published;
static bool stop_readers;

static int rcu_reader(void *arg)
{
	unsigned long reads = 0;

	while (!READ_ONCE(stop_readers)) {
		struct rcu_box *b;

		rcu_read_lock();
		b = rcu_dereference(published);
		if (b && b->value != ~b->check)
			reads = ~0UL;
		rcu_read_unlock();
		if (reads == ~0UL)
			return -1;
		reads++;
	}
	return 0;
}

static void rcu_box_free(struct rcu_head *head)
{
	kfree(container_of(head, struct rcu_box, rcu));
}

static void test_rcu_readers_vs_freeing_writer(void **state)
{
	struct env_thread *t[2];
	int i;

	WRITE_ONCE(stop_readers, false);
	for (i = 0; i < 2; i++)
		t[i] = env_thread_start(rcu_reader, NULL, "reader");
	for (i = 0; i < 20000; i++) {
		struct rcu_box *n = kmalloc(sizeof(*n), GFP_KERNEL), *old;

		n->value = i;
		n->check = ~(u64)i;
		old = rcu_dereference_protected(published, true);
		rcu_assign_pointer(published, n);
		if (old) {
			if (i % 2)
				call_rcu(&old->rcu, rcu_box_free);
			else {
				synchronize_rcu();
				kfree(old);
			}
		}
		if (i % 1000 == 0)
			synchronize_rcu();
	}
	WRITE_ONCE(stop_readers, true);
	for (i = 0; i < 2; i++)
		assert_int_equal(env_thread_join(t[i]), 0);
	kfree(published);
	published = NULL;
}

static int rw_worker(void *arg)
{
	rwlock_t *rw = ((void **)arg)[0];
	u64 *counter = ((void **)arg)[1];
	int i;

	for (i = 0; i < 20000; i++) {
		if (i % 10 == 0) {
			write_lock(rw);
			(*counter)++;
			write_unlock(rw);
		} else {
			read_lock(rw);
			(void)READ_ONCE(*counter);
			cond_resched_rwlock_read(rw);
			read_unlock(rw);
		}
	}
	return 0;
}

static void test_rwlock_contention(void **state)
{
	struct env_thread *t[3];
	rwlock_t rw;
	u64 counter = 0;
	void *arg[2] = { &rw, &counter };
	int i;

	rwlock_init(&rw);
	env_set_resched_interval(7);
	for (i = 0; i < 3; i++)
		t[i] = env_thread_start(rw_worker, arg, "rw");
	for (i = 0; i < 3; i++)
		assert_int_equal(env_thread_join(t[i]), 0);
	assert_int_equal(counter, 3 * 2000);
}

struct waiter_ctx {
	rwlock_t *rw;
	bool go, trying;
};

static int reader_waits(void *arg)
{
	struct waiter_ctx *c = arg;

	while (!smp_load_acquire(&c->go))
		cpu_relax();
	smp_store_release(&c->trying, true);
	read_lock(c->rw);
	read_unlock(c->rw);
	return 0;
}

/*
 * env_rwlock_wait_ns() counts only time spent blocked: uncontended
 * acquisitions add nothing; a reader held off by a writer for ~20 ms adds
 * at least the time the writer kept the lock after the reader tried.
 */
static void test_rwlock_wait_ns_counts_blocked_time(void **state)
{
	struct waiter_ctx c = { 0 };
	struct env_thread *t;
	rwlock_t rw;

	rwlock_init(&rw);
	read_lock(&rw);
	read_unlock(&rw);
	write_lock(&rw);
	write_unlock(&rw);
	assert_int_equal(env_rwlock_wait_ns(&rw), 0);

	c.rw = &rw;
	t = env_thread_start(reader_waits, &c, "waiter");
	assert_non_null(t);
	write_lock(&rw);
	smp_store_release(&c.go, true);
	while (!smp_load_acquire(&c.trying))
		cpu_relax();
	ndelay(20 * 1000 * 1000);
	write_unlock(&rw);
	assert_int_equal(env_thread_join(t), 0);
	assert_true(env_rwlock_wait_ns(&rw) >= 10 * 1000 * 1000);
}

/*
 * env_rwlock_time_holds(): off, write holds cost nothing and count nothing;
 * on, every write hold (write_lock() or write_trylock()) adds its length
 * and one to the count, and read holds add nothing.
 */
static void test_rwlock_hold_timing(void **state)
{
	rwlock_t rw;
	u64 holds;

	rwlock_init(&rw);
	write_lock(&rw);
	ndelay(1000 * 1000);
	write_unlock(&rw);
	assert_int_equal(env_rwlock_hold_ns(&rw, &holds), 0);
	assert_int_equal(holds, 0);

	env_rwlock_time_holds(&rw, true);
	assert_int_equal(env_rwlock_hold_ns(&rw, &holds), 0);
	assert_int_equal(holds, 0);
	write_lock(&rw);
	ndelay(5 * 1000 * 1000);
	write_unlock(&rw);
	assert_true(env_rwlock_hold_ns(&rw, &holds) >= 5 * 1000 * 1000);
	assert_int_equal(holds, 1);
	read_lock(&rw);
	ndelay(1000 * 1000);
	read_unlock(&rw);
	assert_true(write_trylock(&rw));
	write_unlock(&rw);
	env_rwlock_hold_ns(&rw, &holds);
	assert_int_equal(holds, 2);

	env_rwlock_time_holds(&rw, false);
	write_lock(&rw);
	write_unlock(&rw);
	env_rwlock_hold_ns(&rw, &holds);
	assert_int_equal(holds, 2);
}

/* spin_lock() excludes, spin_trylock() fails while anyone holds the lock. */
struct spin_ctx {
	spinlock_t lock;
	u64 counter;
	atomic_t trylock_won;
};

static int spin_worker(void *arg)
{
	struct spin_ctx *c = arg;
	int i;

	for (i = 0; i < 20000; i++) {
		if (i % 16 == 0 && spin_trylock(&c->lock)) {
			atomic_inc(&c->trylock_won);
		} else if (i % 16 == 0) {
			continue;
		} else {
			spin_lock(&c->lock);
		}
		WRITE_ONCE(c->counter, READ_ONCE(c->counter) + 1);
		spin_unlock(&c->lock);
	}
	return 0;
}

static void test_spinlock_contention(void **state)
{
	struct spin_ctx c = { .trylock_won = ATOMIC_INIT(0) };
	struct env_thread *t[3];
	int i;

	spin_lock_init(&c.lock);
	spin_lock(&c.lock);
	assert_true(env_lock_held(&c.lock, ENV_HELD_ANY));
	assert_int_equal(env_spinning_locks_held(), 1);
	assert_false(spin_trylock(&c.lock));
	spin_unlock(&c.lock);
	assert_false(env_lock_held(&c.lock, ENV_HELD_ANY));
	assert_int_equal(env_spinning_locks_held(), 0);

	for (i = 0; i < 3; i++)
		t[i] = env_thread_start(spin_worker, &c, "spin");
	for (i = 0; i < 3; i++)
		assert_int_equal(env_thread_join(t[i]), 0);
	assert_int_equal(c.counter, 3 * 18750 + atomic_read(&c.trylock_won));
}

/*
 * A writer waiting behind a reader is visible to rwlock_needbreak() and
 * gets the lock as soon as the reader leaves; a reader arriving meanwhile
 * queues behind the writer (writer preference: zaps are not starved).
 */
struct wpref_ctx {
	rwlock_t rw;
	int n;
	bool go_writer, go_reader, writer_first;
};

static int wpref_writer(void *arg)
{
	struct wpref_ctx *c = arg;

	while (!smp_load_acquire(&c->go_writer))
		cpu_relax();
	write_lock(&c->rw);
	c->n++;
	write_unlock(&c->rw);
	return 0;
}

static int wpref_reader(void *arg)
{
	struct wpref_ctx *c = arg;

	while (!smp_load_acquire(&c->go_reader))
		cpu_relax();
	read_lock(&c->rw);
	c->writer_first = READ_ONCE(c->n) == 1;
	read_unlock(&c->rw);
	return 0;
}

static void test_rwlock_writer_preference(void **state)
{
	struct wpref_ctx c = { 0 };
	struct env_thread *w, *r;

	rwlock_init(&c.rw);
	/* Thread creation may sleep, so it happens before the lock is taken. */
	w = env_thread_start(wpref_writer, &c, "writer");
	r = env_thread_start(wpref_reader, &c, "reader");
	assert_non_null(w);
	assert_non_null(r);
	read_lock(&c.rw);
	assert_false(rwlock_needbreak(&c.rw));
	smp_store_release(&c.go_writer, true);
	while (!rwlock_needbreak(&c.rw))
		cpu_relax();
	smp_store_release(&c.go_reader, true);
	ndelay(20 * 1000 * 1000); /* the reader is now queued behind the writer */
	assert_int_equal(READ_ONCE(c.n), 0);
	read_unlock(&c.rw);
	assert_int_equal(env_thread_join(w), 0);
	assert_int_equal(env_thread_join(r), 0);
	assert_int_equal(c.n, 1);
	assert_true(c.writer_first);
	assert_false(rwlock_needbreak(&c.rw));
}

/* synchronize_srcu() waits for readers on every thread. */
struct srcu_wait_ctx {
	struct srcu_struct srcu;
	bool release, synced;
	int nr_in;
};

static int srcu_holder(void *arg)
{
	struct srcu_wait_ctx *c = arg;
	int idx = srcu_read_lock(&c->srcu);
	bool held = srcu_read_lock_held(&c->srcu);

	__atomic_fetch_add(&c->nr_in, 1, __ATOMIC_RELEASE);
	while (!smp_load_acquire(&c->release))
		msleep(1); /* SRCU readers may sleep */
	srcu_read_unlock(&c->srcu, idx);
	return held && !srcu_read_lock_held(&c->srcu) ? 0 : -1;
}

static int srcu_syncer(void *arg)
{
	struct srcu_wait_ctx *c = arg;

	synchronize_srcu(&c->srcu);
	smp_store_release(&c->synced, true);
	return 0;
}

static void test_srcu_waits_for_other_threads(void **state)
{
	struct srcu_wait_ctx c = { 0 };
	struct env_thread *t[4], *s;
	int i;

	assert_int_equal(init_srcu_struct(&c.srcu), 0);
	synchronize_srcu(&c.srcu); /* no reader: returns */
	for (i = 0; i < 4; i++) {
		t[i] = env_thread_start(srcu_holder, &c, "srcu-reader");
		assert_non_null(t[i]);
	}
	while (__atomic_load_n(&c.nr_in, __ATOMIC_ACQUIRE) < 4)
		msleep(1);
	s = env_thread_start(srcu_syncer, &c, "srcu-sync");
	assert_non_null(s);
	msleep(20);
	assert_false(smp_load_acquire(&c.synced));
	smp_store_release(&c.release, true);
	assert_int_equal(env_thread_join(s), 0);
	assert_true(c.synced);
	for (i = 0; i < 4; i++)
		assert_int_equal(env_thread_join(t[i]), 0);
	cleanup_srcu_struct(&c.srcu);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_lock_assertions_track_owner_and_mode),
		MMUSIM_TEST(test_held_is_per_thread),
		MMUSIM_TEST(test_rcu_dereference_needs_reader),
		MMUSIM_TEST(test_srcu_nesting_is_per_domain),
		MMUSIM_TEST(test_srcu_sync_inside_own_reader_is_a_bug),
		MMUSIM_TEST(test_unregistered_thread_may_call_anything),
		MMUSIM_TEST(test_call_rcu_and_barrier),
		MMUSIM_TEST(test_rcu_readers_vs_freeing_writer),
		MMUSIM_TEST(test_rwlock_contention),
		MMUSIM_TEST(test_rwlock_wait_ns_counts_blocked_time),
		MMUSIM_TEST(test_rwlock_hold_timing),
		MMUSIM_TEST(test_spinlock_contention),
		MMUSIM_TEST(test_rwlock_writer_preference),
		MMUSIM_TEST(test_srcu_waits_for_other_threads),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("env_sync", tests);
}
