// SPDX-License-Identifier: GPL-2.0-only
/*
 * Self-tests of the environment seam: the kernel names the core relies on
 * must mean the same thing in userspace (src/env/user) and in the kernel
 * (src/env/kernel), which is what running these bodies in both proves.
 *
 * Covered: atomics and cmpxchg semantics (the return value of cmpxchg, the
 * refresh of *old by try_cmpxchg, which the TDP MMU's SPTE updates depend
 * on), refcount_t, spinlock/rwlock/mutex/rw_semaphore exclusion under
 * contention, RCU (call_rcu + rcu_barrier against a reader thread,
 * synchronize_rcu), SRCU (synchronize_srcu waits for a sleeping reader),
 * kmalloc/kmem_cache/page allocation with live-object accounting, large
 * reservations, allocation-failure injection, bitmaps, lists (plain, hlist,
 * RCU), arithmetic helpers, the thread helper, forced need_resched().
 *
 * Tests marked ST_PARALLEL in registry.h keep all their state local (objects
 * hang off a kzalloc'd struct), so several threads may run them at once.
 * Tests that start threads use ST_EXPECT until every thread is joined.
 */
#include "mmusim_env.h"

#include "selftest/selftest.h"

/* ======================== Atomics ======================== */

ST_TEST(env_atomic_ops)
{
	atomic_t a = ATOMIC_INIT(5);
	atomic64_t a64 = ATOMIC64_INIT(0);
	atomic_long_t al;
	int old;
	s64 old64;

	ST_ASSERT_EQ(atomic_read(&a), 5);
	atomic_inc(&a);
	atomic_add(10, &a);
	atomic_sub(3, &a);
	atomic_dec(&a);
	ST_ASSERT_EQ(atomic_read(&a), 12);
	ST_ASSERT_EQ(atomic_inc_return(&a), 13);
	ST_ASSERT_EQ(atomic_dec_return(&a), 12);
	ST_ASSERT_EQ(atomic_fetch_add(3, &a), 12);
	ST_ASSERT_EQ(atomic_fetch_sub(3, &a), 15);
	ST_ASSERT_EQ(atomic_add_return(8, &a), 20);
	ST_ASSERT_EQ(atomic_sub_return(19, &a), 1);
	ST_ASSERT(atomic_dec_and_test(&a));
	ST_ASSERT(!atomic_inc_not_zero(&a));
	ST_ASSERT_EQ(atomic_read(&a), 0);
	ST_ASSERT(!atomic_add_unless(&a, 1, 0));
	atomic_set(&a, 7);
	ST_ASSERT(atomic_add_unless(&a, 1, 0));
	ST_ASSERT_EQ(atomic_xchg(&a, 3), 8);
	ST_ASSERT_EQ(atomic_cmpxchg(&a, 4, 9), 3);	/* fails: returns the current value */
	ST_ASSERT_EQ(atomic_cmpxchg(&a, 3, 9), 3);	/* succeeds: returns the old value */
	ST_ASSERT_EQ(atomic_read(&a), 9);
	old = 1;
	ST_ASSERT(!atomic_try_cmpxchg(&a, &old, 2));
	ST_ASSERT_EQ(old, 9);				/* refreshed on failure */
	ST_ASSERT(atomic_try_cmpxchg(&a, &old, 2));
	ST_ASSERT_EQ(atomic_read(&a), 2);
	atomic_set(&a, 0x0f);
	ST_ASSERT_EQ(atomic_fetch_or(0x30, &a), 0x0f);
	ST_ASSERT_EQ(atomic_fetch_andnot(0x03, &a), 0x3f);
	ST_ASSERT_EQ(atomic_read(&a), 0x3c);

	/* 64-bit: values that do not fit in 32 bits. */
	atomic64_set(&a64, 1LL << 40);
	atomic64_add(1LL << 33, &a64);
	ST_ASSERT_EQ(atomic64_read(&a64), (1LL << 40) + (1LL << 33));
	ST_ASSERT_EQ(atomic64_inc_return(&a64), (1LL << 40) + (1LL << 33) + 1);
	old64 = 0;
	ST_ASSERT(!atomic64_try_cmpxchg(&a64, &old64, -1));
	ST_ASSERT_EQ(old64, (1LL << 40) + (1LL << 33) + 1);
	ST_ASSERT(atomic64_try_cmpxchg(&a64, &old64, -1));
	ST_ASSERT_EQ(atomic64_read(&a64), -1);
	ST_ASSERT_EQ(atomic64_fetch_sub(1, &a64), -1);

	atomic_long_set(&al, -2);
	ST_ASSERT_EQ(atomic_long_add_return(3, &al), 1);
	ST_ASSERT(atomic_long_dec_and_test(&al));
	ST_ASSERT_EQ(atomic_long_read(&al), 0);
	return ST_PASS;
}

ST_TEST(env_cmpxchg)
{
	u64 spte = 0x8000000000000001ULL, old, seen;
	unsigned long ul = 3;
	u32 v32 = 1;

	/* cmpxchg64 returns what it found; the store happens iff that was @old. */
	seen = cmpxchg64(&spte, 0x1ULL, 0x2ULL);
	ST_ASSERT_EQ(seen, 0x8000000000000001ULL);
	ST_ASSERT_EQ(spte, 0x8000000000000001ULL);
	seen = cmpxchg64(&spte, 0x8000000000000001ULL, 0x00000000deadb000ULL);
	ST_ASSERT_EQ(seen, 0x8000000000000001ULL);
	ST_ASSERT_EQ(READ_ONCE(spte), 0x00000000deadb000ULL);

	/* try_cmpxchg64 refreshes *old on failure (tdp_mmu_set_spte_atomic relies on it). */
	old = 0x1234;
	ST_ASSERT(!try_cmpxchg64(&spte, &old, 0x5678ULL));
	ST_ASSERT_EQ(old, 0x00000000deadb000ULL);
	ST_ASSERT(try_cmpxchg64(&spte, &old, 0x5678ULL));
	ST_ASSERT_EQ(spte, 0x5678ULL);
	ST_ASSERT_EQ(old, 0x00000000deadb000ULL);

	ST_ASSERT_EQ(xchg(&spte, 0xffffffffffffffffULL), 0x5678ULL);
	ST_ASSERT_EQ(spte, U64_MAX);
	ST_ASSERT_EQ(cmpxchg(&ul, 3UL, 4UL), 3UL);
	ST_ASSERT_EQ(ul, 4UL);
	ST_ASSERT_EQ(cmpxchg(&v32, 2u, 5u), 1u);
	ST_ASSERT_EQ(v32, 1u);
	WRITE_ONCE(v32, 9);
	ST_ASSERT_EQ(READ_ONCE(v32), 9u);
	smp_store_release(&ul, 11UL);
	ST_ASSERT_EQ(smp_load_acquire(&ul), 11UL);
	return ST_PASS;
}

ST_TEST(env_refcount)
{
	refcount_t r = REFCOUNT_INIT(1);

	ST_ASSERT_EQ(refcount_read(&r), 1u);
	refcount_inc(&r);
	ST_ASSERT(refcount_inc_not_zero(&r));
	ST_ASSERT_EQ(refcount_read(&r), 3u);
	refcount_dec(&r);
	ST_ASSERT(!refcount_dec_and_test(&r));
	ST_ASSERT(refcount_dec_and_test(&r));
	ST_ASSERT_EQ(refcount_read(&r), 0u);
	/* A zero refcount means "being freed": no new reference may be taken. */
	ST_ASSERT(!refcount_inc_not_zero(&r));
	refcount_set(&r, 2);
	ST_ASSERT_EQ(refcount_read(&r), 2u);
	return ST_PASS;
}

#define ST_CONTENDED_THREADS 3

struct st_counter_ctx {
	atomic64_t added;
	u64 cas_counter;	/* incremented by try_cmpxchg64 loops only */
	unsigned int iters;
};

static int st_counter_thread(void *arg)
{
	struct st_counter_ctx *c = arg;
	unsigned int i;

	for (i = 0; i < c->iters; i++) {
		u64 old = READ_ONCE(c->cas_counter);

		atomic64_inc(&c->added);
		while (!try_cmpxchg64(&c->cas_counter, &old, old + 1))
			cpu_relax();
		if (!(i % 256))
			cond_resched();
	}
	return 0;
}

/* Lost updates would show up as a short count. */
ST_TEST(env_atomic_contended)
{
	struct env_thread *t[ST_CONTENDED_THREADS];
	struct st_counter_ctx *c = kzalloc(sizeof(*c), GFP_KERNEL);
	unsigned int started = 0;
	u64 total;
	int i;

	ST_ASSERT_NOT_NULL(c);
	c->iters = 20000;
	for (i = 0; i < ST_CONTENDED_THREADS; i++) {
		t[i] = env_thread_start(st_counter_thread, c, "counter");
		ST_EXPECT_NOT_NULL(t[i]);
		started += !!t[i];
	}
	for (i = 0; i < ST_CONTENDED_THREADS; i++)
		if (t[i])
			env_thread_join(t[i]);
	total = (u64)c->iters * started;
	ST_EXPECT_EQ((u64)atomic64_read(&c->added), total);
	ST_EXPECT_EQ(READ_ONCE(c->cas_counter), total);
	kfree(c);
	return st_result(ctx);
}

/* ======================== Locks ======================== */

/*
 * "Is it held" is lockdep's question: owner-checked in userspace (a failed
 * lockdep_assert_*() is a WARN, which fails the test), lockdep's own in a
 * debug kernel, nothing in a stock one.  trylock is the check every
 * environment makes.
 */
ST_TEST(env_locks)
{
	spinlock_t sl;
	rwlock_t rw;
	struct mutex m;
	int base = env_spinning_locks_held();

	spin_lock_init(&sl);
	rwlock_init(&rw);
	mutex_init(&m);

	spin_lock(&sl);
	ST_EXPECT_EQ(env_spinning_locks_held(), base + 1);
	ST_EXPECT(!spin_trylock(&sl));
	lockdep_assert_held(&sl);
	spin_unlock(&sl);
	lockdep_assert_not_held(&sl);
	ST_ASSERT_EQ(env_spinning_locks_held(), base);
	ST_ASSERT(spin_trylock(&sl));
	spin_unlock(&sl);

	read_lock(&rw);
	ST_EXPECT_EQ(env_spinning_locks_held(), base + 1);
	ST_EXPECT(!write_trylock(&rw));
	lockdep_assert_held_read(&rw);
	read_unlock(&rw);
	write_lock(&rw);
	lockdep_assert_held_write(&rw);
	write_unlock(&rw);
	lockdep_assert_not_held(&rw);
	ST_ASSERT(write_trylock(&rw));
	write_unlock(&rw);

	mutex_lock(&m);
	lockdep_assert_held(&m);
	ST_EXPECT_EQ(env_spinning_locks_held(), base);	/* a mutex is a sleeping lock */
	ST_EXPECT(!mutex_trylock(&m));
	might_sleep();
	mutex_unlock(&m);
	ST_ASSERT(mutex_trylock(&m));
	mutex_unlock(&m);
	mutex_destroy(&m);
	return st_result(ctx);
}

#define ST_LOCK_THREADS 3

/*
 * Each writer bumps two fields under each lock; readers check under the read
 * lock that they are equal.  Any broken exclusion shows as a torn pair or a
 * lost update.
 */
struct st_lock_ctx {
	spinlock_t sl;
	rwlock_t rw;
	struct mutex m;
	u64 spin_a, spin_b, rw_a, rw_b, mutex_a, mutex_b;
	unsigned int iters;
	atomic_t torn;
};

static int st_lock_thread(void *arg)
{
	struct st_lock_ctx *c = arg;
	unsigned int i;

	for (i = 0; i < c->iters; i++) {
		spin_lock(&c->sl);
		c->spin_a++;
		c->spin_b++;
		spin_unlock(&c->sl);

		if (i % 4) {
			read_lock(&c->rw);
			if (READ_ONCE(c->rw_a) != READ_ONCE(c->rw_b))
				atomic_inc(&c->torn);
			read_unlock(&c->rw);
		} else {
			write_lock(&c->rw);
			WRITE_ONCE(c->rw_a, c->rw_a + 1);
			WRITE_ONCE(c->rw_b, c->rw_b + 1);
			write_unlock(&c->rw);
		}

		if (!(i % 8)) {
			mutex_lock(&c->m);
			c->mutex_a++;
			cond_resched();		/* a mutex holder may sleep */
			c->mutex_b++;
			mutex_unlock(&c->m);
		}
		if (!(i % 64))
			cond_resched();
	}
	return 0;
}

ST_TEST(env_locks_contended)
{
	struct env_thread *t[ST_LOCK_THREADS];
	struct st_lock_ctx *c = kzalloc(sizeof(*c), GFP_KERNEL);
	unsigned int started = 0;
	int i;

	ST_ASSERT_NOT_NULL(c);
	spin_lock_init(&c->sl);
	rwlock_init(&c->rw);
	mutex_init(&c->m);
	c->iters = 4000;
	for (i = 0; i < ST_LOCK_THREADS; i++) {
		t[i] = env_thread_start(st_lock_thread, c, "locker");
		ST_EXPECT_NOT_NULL(t[i]);
		started += !!t[i];
	}
	for (i = 0; i < ST_LOCK_THREADS; i++)
		if (t[i])
			env_thread_join(t[i]);
	ST_EXPECT_EQ(atomic_read(&c->torn), 0);
	ST_EXPECT_EQ(c->spin_a, (u64)c->iters * started);
	ST_EXPECT_EQ(c->spin_b, c->spin_a);
	ST_EXPECT_EQ(c->rw_a, (u64)(c->iters / 4) * started);
	ST_EXPECT_EQ(c->rw_b, c->rw_a);
	ST_EXPECT_EQ(c->mutex_a, (u64)(c->iters / 8) * started);
	ST_EXPECT_EQ(c->mutex_b, c->mutex_a);
	mutex_destroy(&c->m);
	kfree(c);
	return st_result(ctx);
}

ST_TEST(env_rwsem)
{
	struct rw_semaphore *sem = kzalloc(sizeof(*sem), GFP_KERNEL);

	ST_ASSERT_NOT_NULL(sem);
	init_rwsem(sem);
	down_read(sem);
	lockdep_assert_held_read(sem);
	ST_EXPECT(!down_write_trylock(sem));
	might_sleep();				/* sleeping is fine under an rwsem */
	up_read(sem);
	down_write(sem);
	lockdep_assert_held_write(sem);
	ST_EXPECT(!down_read_trylock(sem));
	up_write(sem);
	lockdep_assert_not_held(sem);
	ST_EXPECT(down_write_trylock(sem));
	up_write(sem);
	kfree(sem);
	return st_result(ctx);
}

/* ======================== RCU and SRCU ======================== */

#define ST_OBJ_LIVE 0x600dULL
#define ST_OBJ_DEAD 0xdeadULL

struct st_rcu_obj {
	u64 magic;
	u64 seq;
	struct st_rcu_ctx *owner;
	struct rcu_head rcu;
};

struct st_rcu_ctx {
	struct st_rcu_obj __rcu *gp;
	atomic_t freed;
	atomic_long_t reads, bad_reads;
	bool stop;
};

static void st_rcu_free(struct rcu_head *head)
{
	struct st_rcu_obj *o = container_of(head, struct st_rcu_obj, rcu);

	WRITE_ONCE(o->magic, ST_OBJ_DEAD);
	kfree(o);
}

static void st_rcu_free_counted(struct rcu_head *head)
{
	atomic_inc(&container_of(head, struct st_rcu_obj, rcu)->owner->freed);
	st_rcu_free(head);
}

/* Reader: every object it can reach must still be alive, and seq never goes back. */
static int st_rcu_reader(void *arg)
{
	struct st_rcu_ctx *c = arg;
	u64 last = 0;

	while (!smp_load_acquire(&c->stop)) {
		struct st_rcu_obj *o;

		rcu_read_lock();
		o = rcu_dereference(c->gp);
		if (o) {
			if (READ_ONCE(o->magic) != ST_OBJ_LIVE || o->seq < last)
				atomic_long_inc(&c->bad_reads);
			last = o->seq;
		}
		rcu_read_unlock();
		atomic_long_inc(&c->reads);
		st_relax();
	}
	return 0;
}

/*
 * A writer replaces the published object and frees the old one with
 * call_rcu(); a reader thread checks it never sees a freed object.
 * rcu_barrier() then proves every callback ran: each callback counts.
 */
ST_TEST(env_rcu_call_rcu_barrier)
{
	const unsigned int nr_updates = 300;
	struct st_rcu_ctx *c = kzalloc(sizeof(*c), GFP_KERNEL);
	struct env_thread *reader;
	unsigned int i;

	ST_ASSERT_NOT_NULL(c);
	reader = env_thread_start(st_rcu_reader, c, "rcu-reader");
	ST_EXPECT_NOT_NULL(reader);
	for (i = 1; i <= nr_updates; i++) {
		struct st_rcu_obj *o = kmalloc(sizeof(*o), GFP_KERNEL), *old;

		if (!o) {
			ST_EXPECT_NOT_NULL(o);
			break;
		}
		o->magic = ST_OBJ_LIVE;
		o->seq = i;
		o->owner = c;
		old = rcu_dereference_protected(c->gp, true);
		rcu_assign_pointer(c->gp, o);
		if (old)
			call_rcu(&old->rcu, st_rcu_free_counted);
		if (!(i % 16))
			cond_resched();
	}
	/* Let the reader see the final object for a while. */
	if (reader)
		st_wait_until(atomic_long_read(&c->reads) >= 50, 2000);
	smp_store_release(&c->stop, true);
	if (reader)
		env_thread_join(reader);

	rcu_barrier();
	ST_EXPECT_EQ(atomic_read(&c->freed), (int)i - 2);
	ST_EXPECT_EQ(atomic_long_read(&c->bad_reads), 0);
	ST_EXPECT_GT(atomic_long_read(&c->reads), 0);
	{
		struct st_rcu_obj *last = rcu_dereference_protected(c->gp, true);

		RCU_INIT_POINTER(c->gp, NULL);
		if (last)
			call_rcu(&last->rcu, st_rcu_free);
	}
	rcu_barrier();
	kfree(c);
	return st_result(ctx);
}

/* synchronize_rcu(): after it returns, no reader can hold the old pointer. */
ST_TEST(env_rcu_synchronize)
{
	struct st_rcu_ctx *c = kzalloc(sizeof(*c), GFP_KERNEL);
	struct st_rcu_obj *o, *old;
	struct env_thread *reader;
	unsigned int i;

	ST_ASSERT_NOT_NULL(c);
	reader = env_thread_start(st_rcu_reader, c, "rcu-reader");
	ST_EXPECT_NOT_NULL(reader);
	for (i = 1; i <= 10; i++) {
		o = kzalloc(sizeof(*o), GFP_KERNEL);
		if (!o) {
			ST_EXPECT_NOT_NULL(o);
			break;
		}
		o->magic = ST_OBJ_LIVE;
		o->seq = i;
		old = rcu_dereference_protected(c->gp, true);
		rcu_assign_pointer(c->gp, o);
		synchronize_rcu();
		if (old) {
			WRITE_ONCE(old->magic, ST_OBJ_DEAD);
			kfree(old);
		}
	}
	smp_store_release(&c->stop, true);
	if (reader)
		env_thread_join(reader);
	ST_EXPECT_EQ(atomic_long_read(&c->bad_reads), 0);
	rcu_read_lock();
	ST_EXPECT(rcu_read_lock_held());
	o = rcu_dereference(c->gp);
	rcu_read_unlock();
	RCU_INIT_POINTER(c->gp, NULL);
	synchronize_rcu();
	kfree(o);
	kfree(c);
	return st_result(ctx);
}

struct st_srcu_ctx {
	struct srcu_struct srcu;
	bool reader_in, release, writer_done;
};

/* Holds the SRCU read lock and sleeps in it, until told to leave. */
static int st_srcu_reader(void *arg)
{
	struct st_srcu_ctx *c = arg;
	int idx = srcu_read_lock(&c->srcu);

	smp_store_release(&c->reader_in, true);
	while (!smp_load_acquire(&c->release)) {
		might_sleep();
		st_relax();
	}
	srcu_read_unlock(&c->srcu, idx);
	return 0;
}

static int st_srcu_writer(void *arg)
{
	struct st_srcu_ctx *c = arg;

	synchronize_srcu(&c->srcu);
	smp_store_release(&c->writer_done, true);
	return 0;
}

/* synchronize_srcu() may not return while a reader that started before it is inside. */
ST_TEST(env_srcu)
{
	struct st_srcu_ctx *c = kzalloc(sizeof(*c), GFP_KERNEL);
	struct env_thread *reader, *writer = NULL;
	int idx;

	ST_ASSERT_NOT_NULL(c);
	if (init_srcu_struct(&c->srcu)) {
		kfree(c);
		ST_FAIL_MSG("init_srcu_struct failed");
	}
	idx = srcu_read_lock(&c->srcu);
	ST_EXPECT(srcu_read_lock_held(&c->srcu));
	srcu_read_unlock(&c->srcu, idx);
	synchronize_srcu(&c->srcu);		/* no reader: returns */

	reader = env_thread_start(st_srcu_reader, c, "srcu-reader");
	ST_EXPECT_NOT_NULL(reader);
	while (reader && !smp_load_acquire(&c->reader_in))
		st_relax();
	if (reader)
		writer = env_thread_start(st_srcu_writer, c, "srcu-writer");
	ST_EXPECT(!reader || writer);
	/* 10 ms with the reader inside: the writer must still be waiting. */
	ST_EXPECT(!st_wait_until(smp_load_acquire(&c->writer_done), 10));
	smp_store_release(&c->release, true);
	if (writer) {
		env_thread_join(writer);
		ST_EXPECT(smp_load_acquire(&c->writer_done));
	}
	if (reader)
		env_thread_join(reader);
	synchronize_srcu_expedited(&c->srcu);
	cleanup_srcu_struct(&c->srcu);
	kfree(c);
	return st_result(ctx);
}

/* ======================== Allocation ======================== */

/*
 * The live counters (ENV_LIVE_OBJECTS) are the userspace seam's, and global:
 * exact only when no other test runs.  In the kernel, kmemleak checks these.
 */
ST_TEST(env_kmalloc)
{
#ifdef ENV_LIVE_OBJECTS
	struct env_live before, mid, after;
#endif
	size_t i, huge = SIZE_MAX / 8 + 2;
	u8 *p, *z;
	u64 *arr;

#ifdef ENV_LIVE_OBJECTS
	env_live_snapshot(&before);
#endif
	p = kmalloc(100, GFP_KERNEL);
	ST_ASSERT_NOT_NULL(p);
	memset(p, 0x5a, 100);
	z = kzalloc(3000, GFP_KERNEL);
	arr = kcalloc(512, sizeof(*arr), GFP_KERNEL);
#ifdef ENV_LIVE_OBJECTS
	env_live_snapshot(&mid);
#endif
	ST_EXPECT_NOT_NULL(z);
	ST_EXPECT_NOT_NULL(arr);
	for (i = 0; z && i < 3000; i++)
		if (z[i]) {
			ST_EXPECT_EQ(z[i], 0);
			break;
		}
	for (i = 0; arr && i < 512; i++)
		if (arr[i]) {
			ST_EXPECT_EQ(arr[i], 0);
			break;
		}
#ifdef ENV_LIVE_OBJECTS
	if (ctx->nr_threads == 1)
		ST_EXPECT_EQ(mid.kmalloc - before.kmalloc, 3);
#endif
	/* Overflowing n * size fails cleanly rather than allocating short. */
	huge = READ_ONCE(huge);
	ST_EXPECT_NULL(kcalloc(huge, 8, GFP_KERNEL));
	ST_EXPECT_NULL(kmalloc_array(huge, 16, GFP_KERNEL));
	kfree(p);
	kfree(z);
	kfree(arr);
	kfree(NULL);
	p = kvmalloc(PAGE_SIZE * 4, GFP_KERNEL);
	ST_EXPECT_NOT_NULL(p);
	kvfree(p);
	p = kvzalloc(64, GFP_KERNEL);
	ST_EXPECT(p && !p[63]);
	kvfree(p);
#ifdef ENV_LIVE_OBJECTS
	env_live_snapshot(&after);
	if (ctx->nr_threads == 1)
		ST_EXPECT_EQ(after.kmalloc, before.kmalloc);
#endif
	return st_result(ctx);
}

struct st_cache_obj {
	u64 a, b;
	u32 ctor_mark;
};

static void st_cache_ctor(void *p)
{
	((struct st_cache_obj *)p)->ctor_mark = 0xc7;
}

ST_TEST(env_kmem_cache)
{
	struct st_cache_obj *o[8];
	struct kmem_cache *cache;
#ifdef ENV_LIVE_OBJECTS
	struct env_live before, mid;
#endif
	char name[32];
	unsigned int i;

	/* Unique per thread: a debug kernel refuses duplicate cache names in sysfs. */
	scnprintf(name, sizeof(name), "mmusim_st_%u", ctx->thread);
#ifdef ENV_LIVE_OBJECTS
	env_live_snapshot(&before);
#endif
	cache = kmem_cache_create(name, sizeof(struct st_cache_obj), 0, SLAB_HWCACHE_ALIGN,
				  st_cache_ctor);
	ST_ASSERT_NOT_NULL(cache);
	for (i = 0; i < ARRAY_SIZE(o); i++) {
		o[i] = kmem_cache_alloc(cache, GFP_KERNEL);
		ST_EXPECT_NOT_NULL(o[i]);
		if (o[i]) {
			ST_EXPECT_EQ(o[i]->ctor_mark, 0xc7u);
			ST_EXPECT(IS_ALIGNED((unsigned long)o[i], 8));
			o[i]->a = i;
		}
	}
#ifdef ENV_LIVE_OBJECTS
	env_live_snapshot(&mid);
	if (ctx->nr_threads == 1) {
		ST_EXPECT_EQ(mid.caches - before.caches, 1);
		ST_EXPECT_EQ(mid.cache_objs - before.cache_objs, (long)ARRAY_SIZE(o));
	}
#endif
	for (i = 0; i < ARRAY_SIZE(o); i++)
		if (o[i]) {
			ST_EXPECT_EQ(o[i]->a, (u64)i);
			kmem_cache_free(cache, o[i]);
		}
	o[0] = kmem_cache_zalloc(cache, GFP_KERNEL);
	ST_EXPECT(o[0] && !o[0]->a && !o[0]->b && !o[0]->ctor_mark);
	if (o[0])
		kmem_cache_free(cache, o[0]);
	kmem_cache_destroy(cache);
	kmem_cache_destroy(NULL);
#ifdef ENV_LIVE_OBJECTS
	env_live_snapshot(&mid);
	if (ctx->nr_threads == 1) {
		ST_EXPECT_EQ(mid.caches, before.caches);
		ST_EXPECT_EQ(mid.cache_objs, before.cache_objs);
	}
#endif
	return st_result(ctx);
}

/*
 * Page-table pages: page-aligned, get_zeroed_page() zeroed, __pa/__va a
 * round trip, and the struct page's ->private usable by the owner (KVM keeps
 * its kvm_mmu_page there).
 */
ST_TEST(env_pages)
{
	unsigned long pg[4];
#ifdef ENV_LIVE_OBJECTS
	struct env_live before, mid;
#endif
	unsigned int i;
	u64 *z;

#ifdef ENV_LIVE_OBJECTS
	env_live_snapshot(&before);
#endif
	for (i = 0; i < ARRAY_SIZE(pg); i++) {
		pg[i] = i ? __get_free_page(GFP_KERNEL) : get_zeroed_page(GFP_KERNEL);
		ST_EXPECT(pg[i]);
		ST_EXPECT(PAGE_ALIGNED(pg[i]));
	}
#ifdef ENV_LIVE_OBJECTS
	env_live_snapshot(&mid);
	if (ctx->nr_threads == 1)
		ST_EXPECT_EQ(mid.pages - before.pages, (long)ARRAY_SIZE(pg));
#endif
	z = (u64 *)pg[0];
	for (i = 0; z && i < PAGE_SIZE / sizeof(u64); i++)
		if (z[i]) {
			ST_EXPECT_EQ(z[i], 0);
			break;
		}
	for (i = 0; i < ARRAY_SIZE(pg); i++) {
		struct page *page;

		if (!pg[i])
			continue;
		ST_EXPECT_PTR_EQ(__va(__pa(pg[i])), (void *)pg[i]);
		ST_EXPECT(IS_ALIGNED(__pa(pg[i]), PAGE_SIZE));
		page = virt_to_page((void *)pg[i]);
		set_page_private(page, 0x1000 + i);
		ST_EXPECT_EQ(page_private(page), 0x1000UL + i);
		set_page_private(page, 0);
		memset((void *)pg[i], 0xa5, PAGE_SIZE);
	}
	for (i = 0; i < ARRAY_SIZE(pg); i++)
		if (pg[i])
			free_page(pg[i]);
#ifdef ENV_LIVE_OBJECTS
	env_live_snapshot(&mid);
	if (ctx->nr_threads == 1)
		ST_EXPECT_EQ(mid.pages, before.pages);
#endif
	return st_result(ctx);
}

/* Large reservations read as zero, and again after env_vdiscard(). */
ST_TEST(env_vreserve)
{
	const size_t size = 4UL << 20;
	u8 *p = env_vreserve(size);
	size_t off;

	ST_ASSERT_NOT_NULL(p);
	ST_EXPECT(PAGE_ALIGNED(p));
	for (off = 0; off < size; off += PAGE_SIZE * 37)
		if (p[off]) {
			ST_EXPECT_EQ(p[off], 0);
			break;
		}
	memset(p + PAGE_SIZE, 0x77, 3 * PAGE_SIZE);
	ST_EXPECT_EQ(p[2 * PAGE_SIZE], 0x77);
	env_vdiscard(p + PAGE_SIZE, 2 * PAGE_SIZE);
	ST_EXPECT_EQ(p[PAGE_SIZE], 0);
	ST_EXPECT_EQ(p[3 * PAGE_SIZE - 1], 0);
	ST_EXPECT_EQ(p[3 * PAGE_SIZE], 0x77);	/* outside the discarded range */
	env_vunreserve(p, size);
	return st_result(ctx);
}

/* The failure schedule reaches every allocator; __GFP_NOFAIL is exempt. */
ST_TEST(env_fail_injection)
{
#ifndef ENV_FAIL_INJECTION
	ST_SKIP_MSG("no allocation-failure schedule in this seam (the kernel's is failslab)");
#else
	void *p[6];
	unsigned long pg;
	unsigned int i, pattern[2];
	int run;

	env_fail_nth(2);
	p[0] = kmalloc(16, GFP_KERNEL);
	p[1] = kmalloc(16, GFP_KERNEL);
	p[2] = kmalloc(16, GFP_KERNEL);
	ST_EXPECT_NOT_NULL(p[0]);
	ST_EXPECT_NULL(p[1]);
	ST_EXPECT_NOT_NULL(p[2]);
	ST_EXPECT_EQ(env_fail_injected(), 1ul);
	ST_EXPECT_EQ(env_alloc_attempts(), 3ul);
	kfree(p[0]);
	kfree(p[2]);

	env_fail_every(2);
	pg = __get_free_page(GFP_KERNEL);	/* attempt 1: ok */
	p[0] = kzalloc(8, GFP_KERNEL);		/* attempt 2: fails */
	p[1] = kcalloc(2, 8, GFP_KERNEL);	/* attempt 3: ok */
	p[2] = kmalloc(8, GFP_KERNEL | __GFP_NOFAIL); /* exempt, not counted */
	p[3] = bitmap_zalloc(100, GFP_KERNEL);	/* attempt 4: fails */
	ST_EXPECT(pg);
	ST_EXPECT_NULL(p[0]);
	ST_EXPECT_NOT_NULL(p[1]);
	ST_EXPECT_NOT_NULL(p[2]);
	ST_EXPECT_NULL(p[3]);
	ST_EXPECT_EQ(env_alloc_attempts(), 4ul);
	ST_EXPECT(env_should_fail_alloc(GFP_KERNEL) == false);	/* attempt 5 */
	ST_EXPECT(env_should_fail_alloc(GFP_NOWAIT) == true);	/* attempt 6 */
	ST_EXPECT(!env_should_fail_alloc(GFP_KERNEL | __GFP_NOFAIL));
	env_fail_clear();
	if (pg)
		free_page(pg);
	kfree(p[1]);
	kfree(p[2]);

	/* The same seed gives the same schedule. */
	for (run = 0; run < 2; run++) {
		env_fail_random(ctx->seed, 300);
		pattern[run] = 0;
		for (i = 0; i < 30; i++)
			pattern[run] = pattern[run] << 1 | env_should_fail_alloc(GFP_KERNEL);
	}
	env_fail_clear();
	ST_EXPECT_EQ(pattern[0], pattern[1]);
	ST_EXPECT_NE(pattern[0], 0u);	/* 30 draws at 30%: some fail (p of none: 2e-5) */
	ST_EXPECT(!env_should_fail_alloc(GFP_KERNEL));
	return st_result(ctx);
#endif
}

/* ======================== Bitmaps and lists ======================== */

ST_TEST(env_bitmap)
{
	DECLARE_BITMAP(map, 200);
	unsigned long *dyn, bit, n = 0;

	bitmap_zero(map, 200);
	ST_ASSERT(bitmap_empty(map, 200));
	set_bit(0, map);
	set_bit(63, map);
	set_bit(64, map);
	__set_bit(199, map);
	ST_ASSERT(test_bit(63, map) && test_bit(64, map) && !test_bit(65, map));
	ST_ASSERT_EQ(map[0], 0x8000000000000001UL);	/* bit 0 = LSB of word 0 */
	ST_ASSERT_EQ(find_first_bit(map, 200), 0UL);
	ST_ASSERT_EQ(find_next_bit(map, 200, 1), 63UL);
	ST_ASSERT_EQ(find_next_bit(map, 200, 65), 199UL);
	ST_ASSERT_EQ(find_next_bit(map, 199, 65), 199UL);	/* none below size: size */
	ST_ASSERT_EQ(find_first_zero_bit(map, 200), 1UL);
	ST_ASSERT_EQ(find_next_zero_bit(map, 200, 63), 65UL);
	ST_ASSERT_EQ(bitmap_weight(map, 200), 4u);
	ST_ASSERT_EQ(bitmap_weight(map, 199), 3u);
	for_each_set_bit(bit, map, 200)
		n += bit;
	ST_ASSERT_EQ(n, 0UL + 63 + 64 + 199);
	ST_ASSERT(test_and_set_bit(63, map));
	ST_ASSERT(!test_and_set_bit(100, map));
	ST_ASSERT(test_and_clear_bit(100, map));
	ST_ASSERT(!test_and_clear_bit(100, map));
	ST_ASSERT(__test_and_set_bit(101, map) == false);
	clear_bit(63, map);
	__clear_bit(101, map);
	ST_ASSERT(!test_bit(63, map));
	bitmap_set(map, 120, 20);
	ST_ASSERT_EQ(bitmap_weight(map, 200), 3u + 20);
	bitmap_clear(map, 125, 10);
	ST_ASSERT_EQ(bitmap_weight(map, 200), 3u + 10);
	ST_ASSERT_EQ(find_next_bit(map, 200, 125), 135UL);

	dyn = bitmap_zalloc(1000, GFP_KERNEL);
	ST_ASSERT_NOT_NULL(dyn);
	ST_EXPECT(bitmap_empty(dyn, 1000));
	bitmap_set(dyn, 990, 10);
	ST_EXPECT_EQ(find_first_bit(dyn, 1000), 990UL);
	ST_EXPECT_EQ(find_next_zero_bit(dyn, 1000, 990), 1000UL);
	bitmap_free(dyn);
	return st_result(ctx);
}

struct st_item {
	int val;
	struct list_head node;
	struct hlist_node hnode;
	struct rcu_head rcu;
};

ST_TEST(env_list)
{
	struct st_item items[5], *pos, *n;
	LIST_HEAD(head);
	LIST_HEAD(other);
	int i, sum = 0, order[5], k = 0;

	ST_ASSERT(list_empty(&head));
	ST_ASSERT_NULL(list_first_entry_or_null(&head, struct st_item, node));
	for (i = 0; i < 5; i++) {
		items[i].val = i;
		if (i % 2)
			list_add(&items[i].node, &head);	/* front */
		else
			list_add_tail(&items[i].node, &head);	/* back */
	}
	/* 3 1 0 2 4 */
	list_for_each_entry(pos, &head, node)
		order[k++] = pos->val;
	ST_ASSERT_EQ(k, 5);
	ST_ASSERT(order[0] == 3 && order[1] == 1 && order[2] == 0 && order[3] == 2 &&
		  order[4] == 4);
	ST_ASSERT_EQ(list_first_entry(&head, struct st_item, node)->val, 3);
	ST_ASSERT_EQ(list_last_entry(&head, struct st_item, node)->val, 4);

	list_move_tail(&items[3].node, &head);		/* 1 0 2 4 3 */
	ST_ASSERT_EQ(list_last_entry(&head, struct st_item, node)->val, 3);
	list_del(&items[0].node);			/* 1 2 4 3 */
	list_del_init(&items[2].node);			/* 1 4 3 */
	ST_ASSERT(list_empty(&items[2].node));
	list_add(&items[2].node, &other);
	ST_ASSERT(list_is_singular(&other));
	list_splice_init(&other, &head);		/* 2 1 4 3 */
	ST_ASSERT(list_empty(&other));
	ST_ASSERT_EQ(list_first_entry(&head, struct st_item, node)->val, 2);
	list_for_each_entry_safe(pos, n, &head, node) {
		sum += pos->val;
		list_del(&pos->node);
	}
	ST_ASSERT_EQ(sum, 2 + 1 + 4 + 3);
	ST_ASSERT(list_empty(&head));
	return ST_PASS;
}

ST_TEST(env_hlist)
{
	struct st_item items[4], *pos;
	struct hlist_node *tmp;
	struct hlist_head bucket;
	int sum = 0;
	int i;

	INIT_HLIST_HEAD(&bucket);
	ST_ASSERT(hlist_empty(&bucket));
	for (i = 0; i < 4; i++) {
		items[i].val = 10 + i;
		INIT_HLIST_NODE(&items[i].hnode);
		ST_ASSERT(hlist_unhashed(&items[i].hnode));
		hlist_add_head(&items[i].hnode, &bucket);
	}
	ST_ASSERT_EQ(hlist_entry(bucket.first, struct st_item, hnode)->val, 13);
	hlist_del_init(&items[1].hnode);
	ST_ASSERT(hlist_unhashed(&items[1].hnode));
	hlist_del_init(&items[1].hnode);		/* no-op on an unhashed node */
	hlist_for_each_entry(pos, &bucket, hnode)
		sum += pos->val;
	ST_ASSERT_EQ(sum, 10 + 12 + 13);
	hlist_for_each_entry_safe(pos, tmp, &bucket, hnode)
		hlist_del(&pos->hnode);
	ST_ASSERT(hlist_empty(&bucket));
	return ST_PASS;
}

static void st_item_free(struct rcu_head *head)
{
	kfree(container_of(head, struct st_item, rcu));
}

ST_TEST(env_list_rcu)
{
	struct st_item *it, *pos;
	LIST_HEAD(head);
	int i, sum = 0, want = 0;

	for (i = 1; i <= 4; i++) {
		it = kzalloc(sizeof(*it), GFP_KERNEL);
		if (!it) {
			ST_EXPECT_NOT_NULL(it);
			break;
		}
		it->val = i;
		want += i;
		if (i % 2)
			list_add_rcu(&it->node, &head);
		else
			list_add_tail_rcu(&it->node, &head);
	}
	rcu_read_lock();
	list_for_each_entry_rcu(pos, &head, node)
		sum += pos->val;
	rcu_read_unlock();
	ST_EXPECT_EQ(sum, want);

	/* Removal under a (simulated) writer lock; freeing after a grace period. */
	while (!list_empty(&head)) {
		it = list_first_entry(&head, struct st_item, node);
		list_del_rcu(&it->node);
		call_rcu(&it->rcu, st_item_free);
	}
	rcu_barrier();
	return st_result(ctx);
}

/* ======================== Helpers, threads, time ======================== */

ST_TEST(env_bitops_math)
{
	u64 x = 0x0000001000000000ULL;

	ST_ASSERT_EQ(PAGE_SIZE, 4096UL);
	ST_ASSERT_EQ(PAGE_SHIFT, 12);
	ST_ASSERT_EQ((int)PG_LEVEL_4K, 1);
	ST_ASSERT_EQ((int)PG_LEVEL_2M, 2);
	ST_ASSERT_EQ((int)PG_LEVEL_1G, 3);
	ST_ASSERT_EQ(BIT(5), 32UL);
	ST_ASSERT_EQ(BIT_ULL(63), 0x8000000000000000ULL);
	ST_ASSERT_EQ(GENMASK_ULL(51, 12), 0x000ffffffffff000ULL);
	ST_ASSERT_EQ(GENMASK(7, 4), 0xf0UL);
	ST_ASSERT_EQ(ALIGN(0x1001UL, 0x1000), 0x2000UL);
	ST_ASSERT_EQ(ALIGN_DOWN(0x1fffUL, 0x1000), 0x1000UL);
	ST_ASSERT(IS_ALIGNED(0x200000UL, SZ_2M));
	ST_ASSERT(!IS_ALIGNED(0x201000UL, SZ_2M));
	ST_ASSERT_EQ(DIV_ROUND_UP(4097, 4096), 2);
	ST_ASSERT_EQ(round_up(5u, 4u), 8u);
	ST_ASSERT_EQ(ilog2(x), 36);
	ST_ASSERT_EQ(ilog2(SZ_1G), 30);
	ST_ASSERT_EQ(__ffs64(x), 36u);
	ST_ASSERT_EQ(__ffs(0x80UL), 7UL);
	ST_ASSERT_EQ(__fls(0x81UL), 7UL);
	ST_ASSERT_EQ(hweight64(0xff00ff00ff00ff00ULL), 32u);
	ST_ASSERT_EQ(hweight_long(0x7UL), 3u);
	ST_ASSERT(is_power_of_2(4096));
	ST_ASSERT(!is_power_of_2(4095));
	ST_ASSERT_EQ(div_u64(10000000000ULL, 3), 3333333333ULL);
	ST_ASSERT_EQ(div64_u64(1ULL << 62, 1ULL << 40), 1ULL << 22);
	ST_ASSERT_EQ(min(3, 9), 3);
	ST_ASSERT_EQ(max(3, 9), 9);
	ST_ASSERT_EQ(min_t(u64, 5, 2), 2ULL);
	ST_ASSERT_EQ(clamp(12, 0, 10), 10);
	ST_ASSERT_EQ(U32_MAX, 0xffffffffu);
	ST_ASSERT_EQ(S64_MAX, 0x7fffffffffffffffLL);
	return ST_PASS;
}

#define ST_THREADS 4

struct st_thread_arg {
	unsigned int idx;
	atomic_t *ran;
};

static int st_thread_fn(void *arg)
{
	struct st_thread_arg *a = arg;

	atomic_inc(a->ran);
	return 100 + (int)a->idx;
}

ST_TEST(env_threads)
{
	struct st_thread_arg args[ST_THREADS];
	struct env_thread *t[ST_THREADS];
	atomic_t ran = ATOMIC_INIT(0);
	unsigned int i, started = 0;

	for (i = 0; i < ST_THREADS; i++) {
		args[i].idx = i;
		args[i].ran = &ran;
		t[i] = env_thread_start(st_thread_fn, &args[i], "st-thread");
		ST_EXPECT_NOT_NULL(t[i]);
		started += !!t[i];
	}
	for (i = 0; i < ST_THREADS; i++)
		if (t[i])
			ST_EXPECT_EQ(env_thread_join(t[i]), 100 + (int)i);
	ST_EXPECT_EQ(atomic_read(&ran), (int)started);
	return st_result(ctx);
}

/* need_resched() pressure drives the yield paths on demand. */
ST_TEST(env_resched_pressure)
{
#ifndef ENV_RESCHED_PRESSURE
	ST_SKIP_MSG("no resched pressure in this seam (the kernel's need_resched() is the tick's)");
#else
	unsigned int i, hits = 0;

	env_set_resched_interval(1);
	for (i = 0; i < 10; i++)
		hits += need_resched();
	ST_EXPECT_EQ(hits, 10u);
	env_set_resched_interval(3);
	hits = 0;
	for (i = 0; i < 30; i++)
		hits += need_resched();
	ST_EXPECT_GE(hits, 10u);
	env_set_resched_interval(0);
	cond_resched();
	return st_result(ctx);
#endif
}

ST_TEST(env_time)
{
	u64 t0 = ktime_get_ns(), t1, t2;

	/*
	 * Only monotonicity: under emulation udelay() is calibrated against a
	 * TSC that need not advance with the clocksource (observed: 4 x
	 * udelay(500) took 10 us of ktime in a TCG guest).
	 */
	udelay(100);
	t1 = ktime_get_ns();
	ndelay(1000);
	t2 = ktime_get_ns();
	ST_ASSERT_GE(t1, t0);
	ST_ASSERT_GE(t2, t1);
	ST_ASSERT_GE(num_online_cpus(), 1u);
	return ST_PASS;
}
