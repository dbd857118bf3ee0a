/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The self-test registry: one line per test, ST_ENTRY(name, flags), where the
 * body is ST_TEST(name) { ... } in a file listed in src/selftest/sources.txt.
 * Flags: 0 (serial pass only) or ST_PARALLEL (also run on several threads at
 * once; see rule 5 in selftest.h).  Tests run in this order.
 *
 * No include guard: selftest.h includes this to declare the tests, and
 * selftest.c to build the table.
 */

/* The environment seam (st_env.c). */
ST_ENTRY(env_atomic_ops, ST_PARALLEL)
ST_ENTRY(env_cmpxchg, ST_PARALLEL)
ST_ENTRY(env_refcount, ST_PARALLEL)
ST_ENTRY(env_atomic_contended, ST_PARALLEL)
ST_ENTRY(env_locks, ST_PARALLEL)
ST_ENTRY(env_locks_contended, ST_PARALLEL)
ST_ENTRY(env_rwsem, ST_PARALLEL)
ST_ENTRY(env_rcu_call_rcu_barrier, ST_PARALLEL)
ST_ENTRY(env_rcu_synchronize, ST_PARALLEL)
ST_ENTRY(env_srcu, ST_PARALLEL)
ST_ENTRY(env_kmalloc, ST_PARALLEL)
ST_ENTRY(env_kmem_cache, ST_PARALLEL)
ST_ENTRY(env_pages, ST_PARALLEL)
ST_ENTRY(env_vreserve, ST_PARALLEL)
ST_ENTRY(env_fail_injection, 0)
ST_ENTRY(env_bitmap, ST_PARALLEL)
ST_ENTRY(env_list, ST_PARALLEL)
ST_ENTRY(env_hlist, ST_PARALLEL)
ST_ENTRY(env_list_rcu, ST_PARALLEL)
ST_ENTRY(env_bitops_math, ST_PARALLEL)
ST_ENTRY(env_threads, ST_PARALLEL)
ST_ENTRY(env_resched_pressure, 0)
ST_ENTRY(env_time, ST_PARALLEL)

/* The simulated host: physical memory and the page allocator (st_host.c). */
ST_ENTRY(host_create_destroy, ST_PARALLEL)
ST_ENTRY(host_create_rejects_bad_config, ST_PARALLEL)
ST_ENTRY(host_alloc_every_order, ST_PARALLEL)
ST_ENTRY(host_page_refcount, ST_PARALLEL)
ST_ENTRY(host_alloc_exhaustion, ST_PARALLEL)
ST_ENTRY(host_alloc_failure_injection, 0)
ST_ENTRY(host_alloc_concurrent, ST_PARALLEL)

/* The simulated host: address spaces, MMU notifiers, GUP (st_host.c). */
ST_ENTRY(host_mm_mmap_touch_munmap, ST_PARALLEL)
ST_ENTRY(host_mm_migrate, ST_PARALLEL)
ST_ENTRY(host_gup_pin, ST_PARALLEL)
ST_ENTRY(host_mm_errors, ST_PARALLEL)
