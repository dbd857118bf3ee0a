/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * RCU, userspace side, on liburcu's memb flavour.
 *
 * Read-side sections nest and bound grace periods exactly like the kernel's
 * rcu_read_lock(): a lockless walk that forgot rcu_read_lock() really races
 * with the call_rcu() that frees the page it walks, and ASan sees it.
 *
 * call_rcu() is mmusim's own queue drained by one worker thread per process
 * that waits for a grace period (urcu's synchronize_rcu) before running the
 * callbacks, so that struct rcu_head keeps the kernel's shape and
 * rcu_barrier() can wait for exactly our callbacks.  A thread that enters a
 * read-side section must be registered with liburcu: a thread's first
 * rcu_read_lock() registers it if nobody did (env_thread_start() and
 * env_thread_register() do it up front), and a thread that exits registered
 * is unregistered then, so any thread may call into the library.
 *
 * The checked build counts each thread's nesting and checks it (unbalanced
 * unlocks are a BUG, rcu_dereference() outside a section a WARN).  The fast
 * build (MMUSIM_ENV_FAST) is liburcu's read side alone, with the checks of
 * a kernel without CONFIG_PROVE_RCU: rcu_dereference_check() and
 * rcu_dereference_protected() do not evaluate their condition;
 * rcu_read_lock_held() still answers exactly (liburcu knows).
 */
#ifndef _MMUSIM_ENV_RCU_H
#define _MMUSIM_ENV_RCU_H

struct rcu_head {
	struct rcu_head *next;
	void (*func)(struct rcu_head *head);
};

typedef void (*rcu_callback_t)(struct rcu_head *head);

void rcu_read_lock(void);
void rcu_read_unlock(void);
bool rcu_read_lock_held(void);
void synchronize_rcu(void);
void call_rcu(struct rcu_head *head, rcu_callback_t func);
void rcu_barrier(void);

void env_rcu_assert_reader(const char *file, int line);
/* Threads registered with liburcu now (the call_rcu worker included). */
long env_rcu_registered_threads(void);

#define rcu_dereference_raw(p) __atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#ifdef MMUSIM_ENV_FAST
/* The condition is type-checked, never evaluated (BUILD_BUG_ON_INVALID). */
#define rcu_dereference_check(p, c)                                                  \
	({                                                                           \
		BUILD_BUG_ON_INVALID(c);                                             \
		rcu_dereference_raw(p);                                              \
	})
#define rcu_dereference_protected(p, c)                                              \
	({                                                                           \
		BUILD_BUG_ON_INVALID(c);                                             \
		__atomic_load_n(&(p), __ATOMIC_RELAXED);                             \
	})
#else
#define rcu_dereference_check(p, c)                                                  \
	({                                                                           \
		if (unlikely(!(c) && !rcu_read_lock_held()))                         \
			env_rcu_assert_reader(__FILE__, __LINE__);                   \
		rcu_dereference_raw(p);                                              \
	})
#define rcu_dereference_protected(p, c)                                              \
	({                                                                           \
		WARN_ON(!(c));                                                       \
		__atomic_load_n(&(p), __ATOMIC_RELAXED);                             \
	})
#endif
#define rcu_dereference(p) rcu_dereference_check(p, 0)
#define rcu_access_pointer(p) __atomic_load_n(&(p), __ATOMIC_RELAXED)
#define rcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define RCU_INIT_POINTER(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELAXED)

/*
 * Sleepable RCU.  KVM's memslot readers hold kvm->srcu across a whole page
 * fault, GUP included, so they must be allowed to sleep: that is SRCU, not
 * RCU.  Two reader counters and an index; synchronize_srcu() flips the index
 * and waits for the old counter to drain, twice, so that a reader delayed
 * between reading the index and incrementing its counter is also waited for.
 *
 * Checked build: one pair of counters per domain, and read-side sections
 * tracked per thread and per domain: srcu_read_lock_held() and
 * synchronize_srcu()'s self-deadlock check are about @ssp only, so a reader
 * of one domain may wait for another's.
 *
 * Fast build: per-thread read state, as the kernel keeps it per CPU.  Each
 * domain has SRCU_NR_SLOTS cache lines of counter pairs and a thread
 * increments the pair of its own slot (threads beyond SRCU_NR_SLOTS share
 * slots, which stays correct: the counters are atomic), so readers on
 * different threads write different lines; synchronize_srcu() sums the
 * slots.  A section must end on the thread that began it.
 * srcu_read_lock_held() answers "this thread is inside some SRCU read-side
 * section" (one thread-local count; the kernel without lockdep says yes
 * always).
 */
#ifdef MMUSIM_ENV_FAST
#define SRCU_NR_SLOTS 64
struct srcu_slot {
	atomic_long_t readers[2];
	long __pad[6]; /* one cache line per slot */
};

struct srcu_struct {
	struct srcu_slot *slots; /* SRCU_NR_SLOTS of them, line-aligned */
	atomic_t idx;
	struct mutex lock;
};
#else
struct srcu_struct {
	atomic_long_t readers[2];
	atomic_t idx;
	struct mutex lock;
};
#endif

int init_srcu_struct(struct srcu_struct *ssp);
void cleanup_srcu_struct(struct srcu_struct *ssp);
int srcu_read_lock(struct srcu_struct *ssp);
void srcu_read_unlock(struct srcu_struct *ssp, int idx);
void synchronize_srcu(struct srcu_struct *ssp);
void synchronize_srcu_expedited(struct srcu_struct *ssp);
bool srcu_read_lock_held(const struct srcu_struct *ssp);

#ifdef MMUSIM_ENV_FAST
#define srcu_dereference_check(p, ssp, c)                                             \
	({                                                                            \
		(void)(ssp);                                                          \
		BUILD_BUG_ON_INVALID(c);                                              \
		__atomic_load_n(&(p), __ATOMIC_ACQUIRE);                              \
	})
#else
#define srcu_dereference_check(p, ssp, c)                                             \
	({                                                                            \
		if (unlikely(!(c) && !srcu_read_lock_held(ssp)))                      \
			env_rcu_assert_reader(__FILE__, __LINE__);                    \
		__atomic_load_n(&(p), __ATOMIC_ACQUIRE);                              \
	})
#endif
#define srcu_dereference(p, ssp) srcu_dereference_check(p, ssp, 0)

#endif /* _MMUSIM_ENV_RCU_H */
