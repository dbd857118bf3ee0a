/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * READ_ONCE/WRITE_ONCE, barriers, cmpxchg and the atomic_t family, userspace
 * side, on the compiler's __atomic builtins.
 *
 * READ_ONCE/WRITE_ONCE are relaxed atomic accesses rather than volatile ones:
 * the code generated is the same plain load or store on x86, but
 * ThreadSanitizer then understands that a lockless reader racing with a
 * cmpxchg is intended (exactly the SPTE access pattern of the TDP MMU).
 * Value-returning atomics are fully ordered, as in the kernel.
 */
#ifndef _MMUSIM_ENV_ATOMIC_H
#define _MMUSIM_ENV_ATOMIC_H

#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, val) __atomic_store_n(&(x), (val), __ATOMIC_RELAXED)

#if defined(__SANITIZE_THREAD__)
/*
 * ThreadSanitizer does not model standalone fences (gcc refuses them under
 * -fsanitize=thread).  A seq_cst read-modify-write of one shared word is a
 * full barrier it does understand; it over-synchronises, which can hide a
 * race but never invents one.
 */
extern unsigned long env_tsan_fence_word;
#define smp_mb() ((void)__atomic_fetch_add(&env_tsan_fence_word, 0, __ATOMIC_SEQ_CST))
#define smp_rmb() smp_mb()
#define smp_wmb() smp_mb()
#else
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif
#define smp_mb__before_atomic() smp_mb()
#define smp_mb__after_atomic() smp_mb()
#define smp_store_mb(var, value) do { WRITE_ONCE(var, value); smp_mb(); } while (0)
#define smp_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define cpu_relax() __builtin_ia32_pause()

/* Returns the value found at @ptr; the store happened iff it equals @old. */
#define cmpxchg(ptr, old, new)                                                        \
	({                                                                            \
		__typeof__(*(ptr)) __old = (old);                                     \
		__atomic_compare_exchange_n((ptr), &__old, (new), false,             \
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);      \
		__old;                                                                \
	})
#define cmpxchg64(ptr, old, new) cmpxchg(ptr, old, new)
#define cmpxchg_relaxed(ptr, old, new)                                                \
	({                                                                            \
		__typeof__(*(ptr)) __old = (old);                                     \
		__atomic_compare_exchange_n((ptr), &__old, (new), false,             \
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);      \
		__old;                                                                \
	})
/* On failure *@pold is refreshed with the current value, as in the kernel. */
#define try_cmpxchg(ptr, pold, new)                                                   \
	__atomic_compare_exchange_n((ptr), (pold), (new), false, __ATOMIC_SEQ_CST,    \
				    __ATOMIC_SEQ_CST)
#define try_cmpxchg64(ptr, pold, new) try_cmpxchg(ptr, pold, new)
#define xchg(ptr, v) __atomic_exchange_n((ptr), (v), __ATOMIC_SEQ_CST)

typedef struct {
	int counter;
} atomic_t;

typedef struct {
	s64 counter;
} atomic64_t;

typedef struct {
	long counter;
} atomic_long_t;

#define ATOMIC_INIT(i) { (i) }
#define ATOMIC64_INIT(i) { (i) }

#define __ENV_ATOMIC_OPS(pfx, type, vtype)                                            \
	static inline vtype pfx##_read(const type *v)                                 \
	{                                                                             \
		return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);                \
	}                                                                             \
	static inline void pfx##_set(type *v, vtype i)                                \
	{                                                                             \
		__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);                   \
	}                                                                             \
	static inline void pfx##_add(vtype i, type *v)                                \
	{                                                                             \
		__atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);                 \
	}                                                                             \
	static inline void pfx##_sub(vtype i, type *v)                                \
	{                                                                             \
		__atomic_fetch_sub(&v->counter, i, __ATOMIC_RELAXED);                 \
	}                                                                             \
	static inline void pfx##_inc(type *v)                                         \
	{                                                                             \
		pfx##_add(1, v);                                                      \
	}                                                                             \
	static inline void pfx##_dec(type *v)                                         \
	{                                                                             \
		pfx##_sub(1, v);                                                      \
	}                                                                             \
	static inline vtype pfx##_add_return(vtype i, type *v)                        \
	{                                                                             \
		return __atomic_add_fetch(&v->counter, i, __ATOMIC_SEQ_CST);          \
	}                                                                             \
	static inline vtype pfx##_sub_return(vtype i, type *v)                        \
	{                                                                             \
		return __atomic_sub_fetch(&v->counter, i, __ATOMIC_SEQ_CST);          \
	}                                                                             \
	static inline vtype pfx##_fetch_add(vtype i, type *v)                         \
	{                                                                             \
		return __atomic_fetch_add(&v->counter, i, __ATOMIC_SEQ_CST);          \
	}                                                                             \
	static inline vtype pfx##_fetch_sub(vtype i, type *v)                         \
	{                                                                             \
		return __atomic_fetch_sub(&v->counter, i, __ATOMIC_SEQ_CST);          \
	}                                                                             \
	static inline vtype pfx##_fetch_or(vtype i, type *v)                          \
	{                                                                             \
		return __atomic_fetch_or(&v->counter, i, __ATOMIC_SEQ_CST);           \
	}                                                                             \
	static inline vtype pfx##_fetch_andnot(vtype i, type *v)                      \
	{                                                                             \
		return __atomic_fetch_and(&v->counter, ~i, __ATOMIC_SEQ_CST);         \
	}                                                                             \
	static inline vtype pfx##_inc_return(type *v)                                 \
	{                                                                             \
		return pfx##_add_return(1, v);                                        \
	}                                                                             \
	static inline vtype pfx##_dec_return(type *v)                                 \
	{                                                                             \
		return pfx##_sub_return(1, v);                                        \
	}                                                                             \
	static inline bool pfx##_dec_and_test(type *v)                                \
	{                                                                             \
		return pfx##_sub_return(1, v) == 0;                                   \
	}                                                                             \
	static inline vtype pfx##_xchg(type *v, vtype n)                              \
	{                                                                             \
		return __atomic_exchange_n(&v->counter, n, __ATOMIC_SEQ_CST);         \
	}                                                                             \
	static inline vtype pfx##_cmpxchg(type *v, vtype o, vtype n)                  \
	{                                                                             \
		__atomic_compare_exchange_n(&v->counter, &o, n, false,                \
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);      \
		return o;                                                             \
	}                                                                             \
	static inline bool pfx##_try_cmpxchg(type *v, vtype *o, vtype n)              \
	{                                                                             \
		return __atomic_compare_exchange_n(&v->counter, o, n, false,          \
						   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
	}                                                                             \
	/* Adds @a unless the value is @u; returns true if it added. */              \
	static inline bool pfx##_add_unless(type *v, vtype a, vtype u)                \
	{                                                                             \
		vtype c = pfx##_read(v);                                              \
		do {                                                                  \
			if (c == u)                                                   \
				return false;                                         \
		} while (!pfx##_try_cmpxchg(v, &c, c + a));                           \
		return true;                                                          \
	}                                                                             \
	static inline bool pfx##_inc_not_zero(type *v)                                \
	{                                                                             \
		return pfx##_add_unless(v, 1, 0);                                     \
	}

__ENV_ATOMIC_OPS(atomic, atomic_t, int)
__ENV_ATOMIC_OPS(atomic64, atomic64_t, s64)
__ENV_ATOMIC_OPS(atomic_long, atomic_long_t, long)

/*
 * refcount_t: an atomic_t that must never be incremented from zero or
 * decremented below it.  The kernel saturates and WARNs; so do we (the WARN is
 * counted, so a test that trips it fails).
 */
typedef struct {
	atomic_t refs;
} refcount_t;

#define REFCOUNT_INIT(n) { .refs = ATOMIC_INIT(n) }

void env_refcount_warn(const char *what);

static inline void refcount_set(refcount_t *r, int n)
{
	atomic_set(&r->refs, n);
}
static inline unsigned int refcount_read(const refcount_t *r)
{
	return (unsigned int)atomic_read(&r->refs);
}
static inline __must_check bool refcount_inc_not_zero(refcount_t *r)
{
	return atomic_inc_not_zero(&r->refs);
}
static inline void refcount_inc(refcount_t *r)
{
	if (unlikely(atomic_fetch_add(1, &r->refs) <= 0))
		env_refcount_warn("increment on 0; use-after-free");
}
static inline __must_check bool refcount_dec_and_test(refcount_t *r)
{
	int old = atomic_fetch_sub(1, &r->refs);

	if (unlikely(old <= 0))
		env_refcount_warn("underflow; use-after-free");
	return old == 1;
}
static inline void refcount_dec(refcount_t *r)
{
	if (unlikely(atomic_fetch_sub(1, &r->refs) <= 1))
		env_refcount_warn("decrement hit 0; leaking memory");
}

#endif /* _MMUSIM_ENV_ATOMIC_H */
