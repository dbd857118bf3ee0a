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

/* SPTE encoding and the legal-state checker (st_spte.c). */
ST_ENTRY(spte_make_spte, ST_PARALLEL)
ST_ENTRY(spte_nonleaf, ST_PARALLEL)
ST_ENTRY(spte_mmio_roundtrip, ST_PARALLEL)
ST_ENTRY(spte_access_track_roundtrip, ST_PARALLEL)
ST_ENTRY(spte_split_merge, ST_PARALLEL)
ST_ENTRY(spte_checker, ST_PARALLEL)

/* The TDP iterator over a hand-built table (st_tdp_iter.c). */
ST_ENTRY(tdp_iter_preorder, ST_PARALLEL)
ST_ENTRY(tdp_iter_min_level_and_range, ST_PARALLEL)
ST_ENTRY(tdp_iter_yield_restart, ST_PARALLEL)

/* Memslots: KVM_SET_USER_MEMORY_REGION, lookups, dirty log (st_memslots.c). */
ST_ENTRY(memslots_errno_rules, ST_PARALLEL)
ST_ENTRY(memslots_create_move_delete, ST_PARALLEL)
ST_ENTRY(memslots_dirty_log_get, ST_PARALLEL)
ST_ENTRY(memslots_alloc_failure, 0)

/* The TDP MMU through the VM API: faults, zaps, notifiers, RCU freeing (st_tdp_mmu.c). */
ST_ENTRY(tdp_mmu_fault_zap_refault, ST_PARALLEL)
ST_ENTRY(tdp_mmu_migrate_follows, ST_PARALLEL)
ST_ENTRY(tdp_mmu_fast_zap_replaces_roots, ST_PARALLEL)
ST_ENTRY(tdp_mmu_mmio_exit, ST_PARALLEL)
ST_ENTRY(tdp_mmu_invalidation_inside_fault, ST_PARALLEL)
ST_ENTRY(tdp_mmu_dirty_log, ST_PARALLEL)
ST_ENTRY(tdp_mmu_parallel_vcpus, 0)

/* src/pfn: __kvm_follow_pfn() policy and kvm_vcpu_map() per memory kind (st_pfn.c). */
ST_ENTRY(pfn_follow_pfn_policy, ST_PARALLEL)
ST_ENTRY(pfn_vcpu_map, ST_PARALLEL)

/* src/msr: the MSR filter, its decisions, userspace exits, host access (st_msr.c). */
ST_ENTRY(msr_filter_validation, ST_PARALLEL)
ST_ENTRY(msr_filter_decisions, ST_PARALLEL)
ST_ENTRY(msr_user_space_exits, ST_PARALLEL)
ST_ENTRY(msr_host_access, ST_PARALLEL)

/* src/sev: the SEV-ES launch flow against the simulated PSP firmware (st_sev.c). */
ST_ENTRY(sev_es_launch, 0)
/* Demand pinning in memslot metadata and intra-host migration (st_sev.c). */
ST_ENTRY(sev_demand_pin_move, 0)
