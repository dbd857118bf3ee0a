// SPDX-License-Identifier: GPL-2.0-only
/*
 * The NULL and garbage-argument contract of the public API (the paragraphs
 * at the top of include/mmusim/host.h and vm.h), one table row per call.
 *
 * Each row is an entry point called with a NULL handle, a NULL
 * out-parameter or a garbage argument, and the value it must return:
 * an errno, or for calls returning a pointer, bool or value what the header
 * documents (a pointer row compares with NULL and expects 1).  Void calls
 * are written (call, 0).  After every row the runner checks that no WARN
 * fired and that nothing changed: host page counts, the fixture pages'
 * references, locked_vm and the number of live objects.
 *
 * scripts/check-api-contract (a ctest) fails if a function declared in
 * include/mmusim/ (*.h) is missing from this file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include <mmusim/env.h>
#include <mmusim/host.h>
#include <mmusim/sev.h>
#include <mmusim/run.h>
#include <mmusim/vm.h>
#include <mmusim/msr.h>
#include <mmusim/trace.h>

#define MiB (1ULL << 20)
#define HOST_MEM (64 * MiB)
#define NOPAGE_BASE (1ULL << 20)	/* PFN of the nopage region: 4 GiB */
#define NOPAGE_PAGES 16ULL
#define REGION (4 * MiB)		/* mapped at c->hva, memslot 0 at gpa 0 */
#define HOLE 0x100000000UL		/* never mapped */
#define BEYOND (1UL << 47)		/* past the address space */
#define MMIO_GPA 0x40000000ULL		/* no memslot */
#define RW (SIM_PROT_READ | SIM_PROT_WRITE)
#define PRIV SIM_MAP_PRIVATE
#define PFN_BAD ((kvm_pfn_t)-1)
#define BAD_ORDER (SIM_MAX_ORDER + 1)

struct ctx {
	struct sim_host *host, *host2, *tmp_host;
	struct sim_mm *mm, *tmp_mm;
	struct mmusim_vm *vm, *vm1as, *tmp_vm;
	struct mmusim_vcpu *vcpu, *vcpu1as;
	struct sim_page *page;		/* order 0 from host, one reference */
	struct sim_page *foreign;	/* order 0 from host2 */
	struct sim_page *misaligned;	/* inside host's descriptors, not on one */
	kvm_pfn_t page_pfn;
	hva_t hva;
	struct sim_page *pages[4];
	struct sim_page *bad_pages[3];	/* NULL, foreign, misaligned */
	struct sim_host_stats st;
	struct sim_host_pte_info info;
	struct sim_mmu_notifier mn_zero;	/* zeroed, never registered */
	struct sim_mmu_notifier mn_noops;	/* ops NULL */
	struct sim_mmu_notifier mn_reg;		/* registered on mm */
	struct sim_host_config hcfg_unaligned, hcfg_huge, hcfg_nopage_overlap;
	struct mmusim_vm_config vcfg_vcpus, vcfg_mode, vcfg_root, vcfg_as, vcfg_phys;
	struct mmusim_vm_config vcfg_pin_nosev, vcfg_pin_bad, vcfg_pin_memslot;
	struct kvm_userspace_memory_region region, rg_flags, rg_unaligned, rg_slot, out;
	struct kvm_dirty_log log_noslot, log_badslot;
	struct kvm_clear_dirty_log clog_badslot;
	struct kvm_enable_cap cap_unknown, cap_flags, cap_buslock_bits, cap_buslock_both;
	struct kvm_regs regs;
	struct kvm_debugregs dbgregs, dbgregs_flags, dbgregs_dr7hi;
	struct mmusim_vcpu *tmp_vcpu;
	struct mmusim_sev_io_pool *io_pool;
	gpa_t gpa_out;
	u32 u32_out;
	struct mmusim_insn insn_bad;		/* unknown op */
	struct mmusim_vm_stats vst;
	struct mmusim_exit exit;
	char buf[64];
	hva_t addr;
	unsigned long vm_flags;
	kvm_pfn_t pfn;
	u64 moved;
	void *bad;			/* PROT_NONE user memory */
	void *virt;
	struct mmusim_vcpu_map_info minfo;
	struct kvm_pre_fault_memory pfm;
	struct kvm_sev_cmd sev_cmd;
	struct kvm_enc_region enc;
	struct mmusim_sev_stats sst;
	struct kvm_guest_debug guest_dbg;
	struct mmusim_sev_report srep;
	struct kvm_dirty_gfn *ring;
	u32 ring_n;
	u32 sev_min_asid, sev_max_asid;
	struct kvm_msr_filter mf_flags, mf_deny_empty;	/* mmusim/msr.h */
	struct kvm_msrs msrs_big;
	struct mmusim_msr_params mparams;
	struct kvm_msr_list mlist;
};

static const struct sim_mmu_notifier_ops noop_ops;

/*
 * The rows: X(tag, expected, call).  The call sees the fixture as @c.
 */
#define CONTRACT_ROWS(X)                                                                      \
	/* ---- env.h: no handles; garbage knobs are clamped, nothing crashes ---- */         \
	X(env_unreg_reg, 0, (env_thread_unregister(), env_thread_register(), 0))              \
	X(env_barrier, 0, (rcu_barrier(), 0))                                                 \
	X(env_live, 1, env_live_objects() >= 0)                                               \
	X(env_warns, 0, env_warn_count())                                                     \
	X(env_warns_reset, 0, (env_warn_count_reset(), 0))                                    \
	X(env_fail_nth0, 0, (env_fail_nth(0), env_fail_clear(), env_fail_injected()))         \
	X(env_fail_count0, 0, (env_fail_count(), env_fail_clear(), env_fail_injected()))     \
	X(env_alloc_attempts, 0, (env_fail_clear(), (int)env_alloc_attempts()))              \
	X(env_fail_every0, 0, (env_fail_every(0), env_fail_clear(), env_fail_injected()))     \
	X(env_fail_random_big, 0,                                                             \
	  (env_fail_random(0, 5000), env_fail_clear(), env_fail_injected()))                  \
	/* ---- host.h: physical memory ---- */                                               \
	X(host_create_nullp, -EINVAL, sim_host_create(NULL, NULL))                            \
	X(host_create_cfg_nullp, -EINVAL, sim_host_create(&c->hcfg_huge, NULL))               \
	X(host_create_unaligned, -EINVAL, sim_host_create(&c->hcfg_unaligned, &c->tmp_host))  \
	X(host_create_huge, -EINVAL, sim_host_create(&c->hcfg_huge, &c->tmp_host))            \
	X(host_create_overlap, -EINVAL,                                                       \
	  sim_host_create(&c->hcfg_nopage_overlap, &c->tmp_host))                             \
	X(host_destroy_null, 0, (sim_host_destroy(NULL), 0))                                  \
	X(page_flags_nullhost, 0, sim_page_flags(NULL, c->page))                              \
	X(page_flags_null, 0, sim_page_flags(c->host, NULL))                                  \
	X(page_flags_foreign, 0, sim_page_flags(c->host, c->foreign))                         \
	X(page_flags_misaligned, 0, sim_page_flags(c->host, c->misaligned))                   \
	X(page_to_pfn_nullhost, -1, sim_page_to_pfn(NULL, c->page))                           \
	X(page_to_pfn_null, -1, sim_page_to_pfn(c->host, NULL))                               \
	X(page_to_pfn_foreign, -1, sim_page_to_pfn(c->host, c->foreign))                      \
	X(page_to_pfn_misaligned, -1, sim_page_to_pfn(c->host, c->misaligned))                \
	X(page_to_pfn_ok, 1, sim_page_to_pfn(c->host, c->page) == c->page_pfn)                \
	X(page_to_pfn_invalid, 0, sim_pfn_valid(c->host, sim_page_to_pfn(c->host, NULL)))     \
	X(pfn_to_page_nullhost, 1, sim_pfn_to_page(NULL, c->page_pfn) == NULL)                \
	X(pfn_to_page_huge, 1, sim_pfn_to_page(c->host, PFN_BAD) == NULL)                     \
	X(pfn_to_page_end, 1, sim_pfn_to_page(c->host, HOST_MEM >> PAGE_SHIFT) == NULL)       \
	X(pfn_to_page_nopage, 1, sim_pfn_to_page(c->host, NOPAGE_BASE) == NULL)               \
	X(pfn_valid_nullhost, 0, sim_pfn_valid(NULL, c->page_pfn))                            \
	X(pfn_valid_huge, 0, sim_pfn_valid(c->host, PFN_BAD))                                 \
	X(pfn_valid_hole, 0, sim_pfn_valid(c->host, HOST_MEM >> PAGE_SHIFT))                  \
	X(pfn_valid_nopage, 1, sim_pfn_valid(c->host, NOPAGE_BASE + NOPAGE_PAGES - 1))        \
	X(pfn_valid_past_nopage, 0, sim_pfn_valid(c->host, NOPAGE_BASE + NOPAGE_PAGES))       \
	X(pfn_to_virt_nullhost, 1, sim_pfn_to_virt(NULL, c->page_pfn) == NULL)                \
	X(pfn_to_virt_huge, 1, sim_pfn_to_virt(c->host, PFN_BAD) == NULL)                     \
	X(pfn_to_virt_hole, 1, sim_pfn_to_virt(c->host, NOPAGE_BASE - 1) == NULL)             \
	X(compound_head_nullhost, 1, sim_compound_head(NULL, c->page) == NULL)                \
	X(compound_head_null, 1, sim_compound_head(c->host, NULL) == NULL)                    \
	X(compound_head_foreign, 1, sim_compound_head(c->host, c->foreign) == NULL)           \
	X(compound_head_misaligned, 1, sim_compound_head(c->host, c->misaligned) == NULL)     \
	X(compound_head_ok, 1, sim_compound_head(c->host, c->page) == c->page)                \
	X(page_count_nullhost, -EINVAL, sim_page_count(NULL, c->page))                        \
	X(page_count_null, -EINVAL, sim_page_count(c->host, NULL))                            \
	X(page_count_foreign, -EINVAL, sim_page_count(c->host, c->foreign))                   \
	X(page_count_misaligned, -EINVAL, sim_page_count(c->host, c->misaligned))             \
	X(page_count_ok, 1, sim_page_count(c->host, c->page))                                 \
	X(get_page_nullhost, 0, (sim_get_page(NULL, c->page), 0))                             \
	X(get_page_null, 0, (sim_get_page(c->host, NULL), 0))                                 \
	X(get_page_foreign, 0, (sim_get_page(c->host, c->foreign), 0))                        \
	X(get_page_misaligned, 0, (sim_get_page(c->host, c->misaligned), 0))                  \
	X(get_unless_zero_nullhost, 0, sim_get_page_unless_zero(NULL, c->page))               \
	X(get_unless_zero_null, 0, sim_get_page_unless_zero(c->host, NULL))                   \
	X(get_unless_zero_foreign, 0, sim_get_page_unless_zero(c->host, c->foreign))          \
	X(get_unless_zero_misaligned, 0, sim_get_page_unless_zero(c->host, c->misaligned))    \
	X(put_page_nullhost, 0, (sim_put_page(NULL, c->page), 0))                             \
	X(put_page_null, 0, (sim_put_page(c->host, NULL), 0))                                 \
	X(put_page_foreign, 0, (sim_put_page(c->host, c->foreign), 0))                        \
	X(put_page_misaligned, 0, (sim_put_page(c->host, c->misaligned), 0))                  \
	X(dma_pinned_nullhost, 0, sim_page_maybe_dma_pinned(NULL, c->page))                   \
	X(set_dirty_nullhost, 0, (sim_set_page_dirty(NULL, c->page), 0))                      \
	X(set_dirty_null, 0, (sim_set_page_dirty(c->host, NULL), 0))                          \
	X(accessed_nullhost, 0, (sim_mark_page_accessed(NULL, c->page), 0))                   \
	X(accessed_foreign, 0, (sim_mark_page_accessed(c->host, c->foreign), 0))              \
	X(dma_pinned_null, 0, sim_page_maybe_dma_pinned(c->host, NULL))                       \
	X(dma_pinned_foreign, 0, sim_page_maybe_dma_pinned(c->host, c->foreign))              \
	X(unpin_nullhost, 0, (sim_unpin_user_page(NULL, c->page), 0))                         \
	X(unpin_null, 0, (sim_unpin_user_page(c->host, NULL), 0))                             \
	X(unpin_foreign, 0, (sim_unpin_user_page(c->host, c->foreign), 0))                    \
	X(unpin_misaligned, 0, (sim_unpin_user_page(c->host, c->misaligned), 0))              \
	X(unpin_pages_null_array, 0, (sim_unpin_user_pages(c->host, NULL, 5), 0))             \
	X(unpin_pages_bad_entries, 0, (sim_unpin_user_pages(c->host, c->bad_pages, 3), 0))    \
	X(unpin_pages_nullhost, 0, (sim_unpin_user_pages(NULL, c->pages, 1), 0))              \
	X(alloc_nullhost, 1, sim_alloc_pages(NULL, GFP_KERNEL, 0) == NULL)                    \
	X(alloc_bad_order, 1, sim_alloc_pages(c->host, GFP_KERNEL, BAD_ORDER) == NULL)        \
	X(alloc_huge_order, 1, sim_alloc_pages(c->host, GFP_KERNEL, ~0u) == NULL)             \
	X(alloc_below_nullhost, 1, sim_alloc_pages_below(NULL, GFP_KERNEL, 0, ~0ULL) == NULL) \
	X(alloc_below_zero, 1, sim_alloc_pages_below(c->host, GFP_KERNEL, 0, 0) == NULL)      \
	X(alloc_below_pfn0, 1,                                                                \
	  sim_alloc_pages_below(c->host, GFP_KERNEL, 0, PAGE_SIZE) == NULL)                   \
	X(alloc_below_bad_order, 1,                                                           \
	  sim_alloc_pages_below(c->host, GFP_KERNEL, BAD_ORDER, ~0ULL) == NULL)               \
	X(free_pages_nullhost, 0, (sim_free_pages(NULL, c->page, 0), 0))                      \
	X(free_pages_null, 0, (sim_free_pages(c->host, NULL, 0), 0))                          \
	X(free_pages_foreign, 0, (sim_free_pages(c->host, c->foreign, 0), 0))                 \
	X(free_pages_misaligned, 0, (sim_free_pages(c->host, c->misaligned, 0), 0))           \
	X(free_pages_bad_order, 0, (sim_free_pages(c->host, c->page, BAD_ORDER), 0))          \
	X(host_stats_nullhost, -EINVAL, sim_host_get_stats(NULL, &c->st))                     \
	X(host_stats_nullout, -EINVAL, sim_host_get_stats(c->host, NULL))                     \
	X(frame_observer_set_null, -EINVAL, sim_host_set_frame_observer(NULL, NULL, NULL))    \
	X(frame_observer_set_nullops, -EINVAL, sim_host_set_frame_observer(c->host, NULL, c)) \
	X(frame_observer_get_null, 1, sim_host_frame_observer(NULL, NULL) == NULL)            \
	X(frame_observer_get_none, 1, sim_host_frame_observer(c->host, NULL) == NULL)         \
	X(frame_event_name_bad, 1, sim_frame_event_name(-5)[0] == '?')                        \
	/* ---- host.h: address spaces ---- */                                                \
	X(mm_create_nullhost, -EINVAL, sim_mm_create(NULL, &c->tmp_mm))                       \
	X(mm_create_nullp, -EINVAL, sim_mm_create(c->host, NULL))                             \
	X(mm_destroy_null, 0, (sim_mm_destroy(NULL), 0))                                      \
	X(mm_host_null, 1, sim_mm_host(NULL) == NULL)                                         \
	X(mm_fork_null, -EINVAL, sim_mm_fork(NULL, &c->tmp_mm))                               \
	X(mm_fork_nullp, -EINVAL, sim_mm_fork(c->mm, NULL))                                   \
	X(mmap_null, -EINVAL, sim_mmap(NULL, 0, PAGE_SIZE, RW, PRIV, &c->addr))               \
	X(mmap_nullp, -EINVAL, sim_mmap(c->mm, 0, PAGE_SIZE, RW, PRIV, NULL))                 \
	X(mmap_len0, -EINVAL, sim_mmap(c->mm, 0, 0, RW, PRIV, &c->addr))                      \
	X(mmap_prot, -EINVAL, sim_mmap(c->mm, 0, PAGE_SIZE, 0x80, PRIV, &c->addr))            \
	X(mmap_flags, -EINVAL, sim_mmap(c->mm, 0, PAGE_SIZE, RW, PRIV | 0x40000, &c->addr))   \
	X(mmap_no_type, -EINVAL, sim_mmap(c->mm, 0, PAGE_SIZE, RW, 0, &c->addr))              \
	X(mmap_both_types, -EINVAL,                                                           \
	  sim_mmap(c->mm, 0, PAGE_SIZE, RW, PRIV | SIM_MAP_SHARED, &c->addr))                 \
	X(mmap_2m_1g, -EINVAL,                                                                \
	  sim_mmap(c->mm, 0, PAGE_SIZE, RW, PRIV | SIM_MAP_HUGETLB_2M | SIM_MAP_HUGETLB_1G,   \
		   &c->addr))                                                                 \
	X(mmap_hugetlb_thp, -EINVAL,                                                          \
	  sim_mmap(c->mm, 0, PAGE_SIZE, RW, PRIV | SIM_MAP_HUGETLB_2M | SIM_MAP_THP,          \
		   &c->addr))                                                                 \
	X(mmap_len_huge, -ENOMEM, sim_mmap(c->mm, 0, ~0ULL, RW, PRIV, &c->addr))              \
	X(mmap_fixed_unaligned, -EINVAL,                                                      \
	  sim_mmap(c->mm, HOLE + 1, PAGE_SIZE, RW, PRIV | SIM_MAP_FIXED, &c->addr))           \
	X(mmap_fixed_2m_unaligned, -EINVAL,                                                   \
	  sim_mmap(c->mm, HOLE + PAGE_SIZE, PAGE_SIZE, RW, PRIV | SIM_MAP_FIXED |             \
		   SIM_MAP_HUGETLB_2M, &c->addr))                                             \
	X(mmap_fixed_low, -EPERM,                                                             \
	  sim_mmap(c->mm, 0, PAGE_SIZE, RW, PRIV | SIM_MAP_FIXED, &c->addr))                  \
	X(mmap_fixed_beyond, -ENOMEM,                                                         \
	  sim_mmap(c->mm, BEYOND, PAGE_SIZE, RW, PRIV | SIM_MAP_FIXED, &c->addr))             \
	X(mmap_fixed_taken, -EEXIST,                                                          \
	  sim_mmap(c->mm, c->hva, PAGE_SIZE, RW, PRIV | SIM_MAP_FIXED, &c->addr))             \
	X(mmap_locked_over, -EAGAIN,                                                          \
	  sim_mmap(c->mm, 0, 1ULL << 30, RW, PRIV | SIM_MAP_LOCKED, &c->addr))                \
	X(mmap_pfn_null, -EINVAL,                                                             \
	  sim_mmap_pfn(NULL, 0, PAGE_SIZE, RW, NOPAGE_BASE, &c->addr))                        \
	X(mmap_pfn_nullp, -EINVAL, sim_mmap_pfn(c->mm, 0, PAGE_SIZE, RW, NOPAGE_BASE, NULL))  \
	X(mmap_pfn_len0, -EINVAL, sim_mmap_pfn(c->mm, 0, 0, RW, NOPAGE_BASE, &c->addr))       \
	X(mmap_pfn_prot, -EINVAL,                                                             \
	  sim_mmap_pfn(c->mm, 0, PAGE_SIZE, 0x80, NOPAGE_BASE, &c->addr))                     \
	X(mmap_pfn_bad_pfn, -EINVAL,                                                          \
	  sim_mmap_pfn(c->mm, 0, PAGE_SIZE, RW, PFN_BAD, &c->addr))                           \
	X(mmap_pfn_past_end, -EINVAL,                                                         \
	  sim_mmap_pfn(c->mm, 0, (NOPAGE_PAGES + 1) << PAGE_SHIFT, RW, NOPAGE_BASE,           \
		       &c->addr))                                                             \
	X(mmap_pfn_len_huge, -ENOMEM,                                                         \
	  sim_mmap_pfn(c->mm, 0, ~0ULL, RW, NOPAGE_BASE, &c->addr))                           \
	X(munmap_null, -EINVAL, sim_munmap(NULL, c->hva, PAGE_SIZE))                          \
	X(munmap_unaligned, -EINVAL, sim_munmap(c->mm, c->hva + 1, PAGE_SIZE))                \
	X(munmap_len0, -EINVAL, sim_munmap(c->mm, c->hva, 0))                                 \
	X(munmap_len_huge, -EINVAL, sim_munmap(c->mm, c->hva, ~0ULL))                         \
	X(munmap_wraps, -EINVAL, sim_munmap(c->mm, BEYOND - PAGE_SIZE, 2 * PAGE_SIZE))        \
	X(munmap_hole, 0, sim_munmap(c->mm, HOLE, PAGE_SIZE))                                 \
	X(mprotect_null, -EINVAL, sim_mprotect(NULL, c->hva, PAGE_SIZE, RW))                  \
	X(mprotect_unaligned, -EINVAL, sim_mprotect(c->mm, c->hva + 1, PAGE_SIZE, RW))        \
	X(mprotect_prot, -EINVAL, sim_mprotect(c->mm, c->hva, PAGE_SIZE, 0x80))               \
	X(mprotect_len0, 0, sim_mprotect(c->mm, c->hva, 0, SIM_PROT_NONE))                    \
	X(mprotect_hole, -ENOMEM, sim_mprotect(c->mm, HOLE, PAGE_SIZE, RW))                   \
	X(mprotect_len_huge, -ENOMEM, sim_mprotect(c->mm, c->hva, ~0ULL, RW))                 \
	X(madvise_null, -EINVAL, sim_madvise(NULL, c->hva, PAGE_SIZE, SIM_MADV_DONTNEED))     \
	X(madvise_unaligned, -EINVAL,                                                         \
	  sim_madvise(c->mm, c->hva + 1, PAGE_SIZE, SIM_MADV_DONTNEED))                       \
	X(madvise_advice, -EINVAL, sim_madvise(c->mm, c->hva, PAGE_SIZE, 999))                \
	X(madvise_len_huge, -EINVAL, sim_madvise(c->mm, c->hva, ~0ULL, SIM_MADV_DONTNEED))    \
	X(madvise_len0, 0, sim_madvise(c->mm, c->hva, 0, SIM_MADV_DONTNEED))                  \
	X(madvise_hole, -ENOMEM, sim_madvise(c->mm, HOLE, PAGE_SIZE, SIM_MADV_DONTNEED))      \
	X(madvise_dontfork_hole, -ENOMEM, sim_madvise(c->mm, HOLE, PAGE_SIZE, SIM_MADV_DONTFORK)) \
	X(touch_null, -EINVAL, sim_mm_touch(NULL, c->hva, false))                             \
	X(touch_beyond, -EFAULT, sim_mm_touch(c->mm, BEYOND, false))                          \
	X(touch_hole, -EFAULT, sim_mm_touch(c->mm, HOLE, true))                               \
	X(mm_write_null, -EINVAL, sim_mm_write(NULL, c->hva, c->buf, 8))                      \
	X(mm_write_nullbuf, -EINVAL, sim_mm_write(c->mm, c->hva, NULL, 8))                    \
	X(mm_write_nullbuf_len0, 0, sim_mm_write(c->mm, c->hva, NULL, 0))                     \
	X(mm_write_beyond, -EFAULT, sim_mm_write(c->mm, BEYOND, c->buf, 8))                   \
	X(mm_write_wraps, -EFAULT, sim_mm_write(c->mm, c->hva, c->buf, ~0ULL))                \
	X(mm_write_hole, -EFAULT, sim_mm_write(c->mm, HOLE, c->buf, 8))                       \
	X(mm_read_null, -EINVAL, sim_mm_read(NULL, c->hva, c->buf, 8))                        \
	X(mm_read_nullbuf, -EINVAL, sim_mm_read(c->mm, c->hva, NULL, 8))                      \
	X(mm_read_beyond, -EFAULT, sim_mm_read(c->mm, BEYOND, c->buf, 8))                     \
	X(mm_read_hole, -EFAULT, sim_mm_read(c->mm, HOLE, c->buf, 8))                         \
	X(migrate_page_null, -EINVAL, sim_migrate_page(NULL, c->hva))                         \
	X(migrate_page_hole, -EFAULT, sim_migrate_page(c->mm, HOLE))                          \
	X(migrate_page_beyond, -EFAULT, sim_migrate_page(c->mm, ~0UL))                        \
	X(migrate_range_null, -EINVAL, sim_migrate_range(NULL, c->hva, PAGE_SIZE, &c->moved)) \
	X(migrate_range_nullout, -EFAULT, sim_migrate_range(c->mm, HOLE, PAGE_SIZE, NULL))    \
	X(migrate_range_wraps, -EFAULT, sim_migrate_range(c->mm, c->hva, ~0ULL, &c->moved))   \
	X(migrate_range_len0, 0, sim_migrate_range(c->mm, c->hva, 0, &c->moved))              \
	X(compact_range_null, -EINVAL, sim_compact_range(NULL, c->hva, PAGE_SIZE, &c->moved)) \
	X(compact_range_hole, -EFAULT, sim_compact_range(c->mm, HOLE, PAGE_SIZE, NULL))       \
	X(compact_range_wraps, -EFAULT, sim_compact_range(c->mm, c->hva, ~0ULL, &c->moved))   \
	X(split_thp_null, -EINVAL, sim_split_thp(NULL, c->hva))                               \
	X(split_thp_hole, -EFAULT, sim_split_thp(c->mm, HOLE))                                \
	X(split_thp_beyond, -EFAULT, sim_split_thp(c->mm, ~0UL))                              \
	X(split_thp_not_thp, -EINVAL, sim_split_thp(c->mm, c->hva))                           \
	X(collapse_null, -EINVAL, sim_collapse_thp(NULL, c->hva))                             \
	X(collapse_hole, -ENOMEM, sim_collapse_thp(c->mm, HOLE))                              \
	X(collapse_beyond, -ENOMEM, sim_collapse_thp(c->mm, ~0UL))                            \
	X(swap_out_null, -EINVAL, sim_swap_out(NULL, c->hva))                                 \
	X(swap_out_hole, -EFAULT, sim_swap_out(c->mm, HOLE))                                  \
	X(swap_out_beyond, -EFAULT, sim_swap_out(c->mm, ~0UL))                                \
	X(age_null, -EINVAL, sim_mm_age_range(NULL, c->hva, PAGE_SIZE))                       \
	X(age_wraps, -EINVAL, sim_mm_age_range(c->mm, c->hva, ~0ULL))                         \
	X(age_beyond, -EINVAL, sim_mm_age_range(c->mm, BEYOND, PAGE_SIZE))                    \
	X(age_len0, 0, sim_mm_age_range(c->mm, c->hva, 0))                                    \
	X(age_hole, 0, sim_mm_age_range(c->mm, HOLE, PAGE_SIZE))                              \
	X(test_young_null, -EINVAL, sim_mm_test_young_range(NULL, c->hva, PAGE_SIZE))         \
	X(test_young_wraps, -EINVAL, sim_mm_test_young_range(c->mm, c->hva, ~0ULL))           \
	X(test_young_hole, 0, sim_mm_test_young_range(c->mm, HOLE, PAGE_SIZE))                \
	X(lookup_null, -EINVAL, sim_mm_lookup(NULL, c->hva, &c->info))                        \
	X(lookup_nullout, -EINVAL, sim_mm_lookup(c->mm, c->hva, NULL))                        \
	X(lookup_beyond, -EFAULT, sim_mm_lookup(c->mm, ~0UL, &c->info))                       \
	X(lookup_hole, -EFAULT, sim_mm_lookup(c->mm, HOLE, &c->info))                         \
	X(vma_flags_null, -EINVAL, sim_mm_vma_flags(NULL, c->hva, &c->vm_flags))              \
	X(vma_flags_nullout, -EINVAL, sim_mm_vma_flags(c->mm, c->hva, NULL))                  \
	X(vma_flags_hole, -EFAULT, sim_mm_vma_flags(c->mm, HOLE, &c->vm_flags))               \
	X(vma_flags_beyond, -EFAULT, sim_mm_vma_flags(c->mm, ~0UL, &c->vm_flags))             \
	/* ---- host.h: GUP ---- */                                                           \
	X(gup_null, -EINVAL, sim_get_user_pages(NULL, c->hva, 1, 0, c->pages))                \
	X(gup_nullpages, -EINVAL, sim_get_user_pages(c->mm, c->hva, 1, 0, NULL))              \
	X(gup_flags, -EINVAL, sim_get_user_pages(c->mm, c->hva, 1, 0x80000000u, c->pages))    \
	X(gup_pin_flag, -EINVAL,                                                              \
	  sim_get_user_pages(c->mm, c->hva, 1, SIM_FOLL_PIN, c->pages))                       \
	X(gup_longterm, -EINVAL,                                                              \
	  sim_get_user_pages(c->mm, c->hva, 1, SIM_FOLL_LONGTERM, c->pages))                  \
	X(gup_nr0, 0, sim_get_user_pages(c->mm, c->hva, 0, 0, c->pages))                      \
	X(gup_nr_huge, -EFAULT, sim_get_user_pages(c->mm, c->hva, ~0UL, 0, c->pages))         \
	X(gup_beyond, -EFAULT, sim_get_user_pages(c->mm, BEYOND, 1, 0, c->pages))             \
	X(gup_hole, -EFAULT, sim_get_user_pages(c->mm, HOLE, 1, 0, c->pages))                 \
	X(gupf_null, -EINVAL, sim_get_user_pages_fast(NULL, c->hva, 1, 0, c->pages))          \
	X(gupf_nullpages, -EINVAL, sim_get_user_pages_fast(c->mm, c->hva, 1, 0, NULL))        \
	X(gupf_pin_flag, -EINVAL,                                                             \
	  sim_get_user_pages_fast(c->mm, c->hva, 1, SIM_FOLL_PIN, c->pages))                  \
	X(gupf_nr_huge, -EFAULT, sim_get_user_pages_fast(c->mm, c->hva, ~0UL, 0, c->pages))   \
	X(gupf_hole, -EFAULT, sim_get_user_pages_fast(c->mm, HOLE, 1, 0, c->pages))           \
	X(pup_null, -EINVAL, sim_pin_user_pages(NULL, c->hva, 1, 0, c->pages))                \
	X(pup_nullpages, -EINVAL, sim_pin_user_pages(c->mm, c->hva, 1, 0, NULL))              \
	X(pup_get_flag, -EINVAL,                                                              \
	  sim_pin_user_pages(c->mm, c->hva, 1, SIM_FOLL_GET, c->pages))                       \
	X(pup_flags, -EINVAL, sim_pin_user_pages(c->mm, c->hva, 1, 0x80000000u, c->pages))    \
	X(pup_nr_huge, -EFAULT, sim_pin_user_pages(c->mm, c->hva, ~0UL, 0, c->pages))         \
	X(pup_hole, -EFAULT, sim_pin_user_pages(c->mm, HOLE, 1, SIM_FOLL_LONGTERM, c->pages)) \
	X(pupf_null, -EINVAL, sim_pin_user_pages_fast(NULL, c->hva, 1, 0, c->pages))          \
	X(pupf_nullpages, -EINVAL, sim_pin_user_pages_fast(c->mm, c->hva, 1, 0, NULL))        \
	X(pupf_get_flag, -EINVAL,                                                             \
	  sim_pin_user_pages_fast(c->mm, c->hva, 1, SIM_FOLL_GET, c->pages))                  \
	X(pupf_beyond, -EFAULT, sim_pin_user_pages_fast(c->mm, BEYOND, 1, 0, c->pages))       \
	X(gupfo_null, -EINVAL, sim_get_user_pages_fast_only(NULL, c->hva, 1, 0, c->pages))    \
	X(gupfo_nullpages, -EINVAL, sim_get_user_pages_fast_only(c->mm, c->hva, 1, 0, NULL))  \
	X(gupfo_flags, -EINVAL,                                                               \
	  sim_get_user_pages_fast_only(c->mm, c->hva, 1, 0x80000000u, c->pages))              \
	X(gupfo_nr_huge, 0, sim_get_user_pages_fast_only(c->mm, c->hva, ~0UL, 0, c->pages))   \
	X(gupfo_hole, 0, sim_get_user_pages_fast_only(c->mm, HOLE, 1, 0, c->pages))           \
	X(pupfo_null, -EINVAL, sim_pin_user_pages_fast_only(NULL, c->hva, 1, 0, c->pages))    \
	X(pupfo_nullpages, -EINVAL, sim_pin_user_pages_fast_only(c->mm, c->hva, 1, 0, NULL))  \
	X(pupfo_get_flag, -EINVAL,                                                            \
	  sim_pin_user_pages_fast_only(c->mm, c->hva, 1, SIM_FOLL_GET, c->pages))             \
	X(pupfo_hole, 0, sim_pin_user_pages_fast_only(c->mm, HOLE, 1, 0, c->pages))           \
	X(follow_pfn_null, -EINVAL, sim_follow_pfn(NULL, c->hva, false, &c->pfn, NULL))       \
	X(follow_pfn_nullout, -EINVAL, sim_follow_pfn(c->mm, c->hva, false, NULL, NULL))      \
	X(follow_pfn_beyond, -EFAULT, sim_follow_pfn(c->mm, ~0UL, false, &c->pfn, NULL))      \
	X(follow_pfn_hole, -EFAULT, sim_follow_pfn(c->mm, HOLE, false, &c->pfn, NULL))        \
	X(follow_pfn_not_pfnmap, -EINVAL,                                                     \
	  sim_follow_pfn(c->mm, c->hva, false, &c->pfn, NULL))                                \
	X(unsafe_mappings_null, 0, sim_host_kvm_allow_unsafe_mappings(NULL))                  \
	X(sev_asids_ok, 0, sim_host_sev_asids(c->host, &c->sev_min_asid, &c->sev_max_asid))   \
	X(sev_asids_null, -EINVAL,                                                            \
	  sim_host_sev_asids(NULL, &c->sev_min_asid, &c->sev_max_asid))                       \
	X(sev_asids_nullout, -EINVAL, sim_host_sev_asids(c->host, NULL, &c->sev_max_asid))    \
	X(fixup_null, -EINVAL, sim_fixup_user_fault(NULL, c->hva, false))                     \
	X(fixup_beyond, -EFAULT, sim_fixup_user_fault(c->mm, ~0UL, true))                     \
	X(fixup_hole, -EFAULT, sim_fixup_user_fault(c->mm, HOLE, false))                      \
	X(set_signal_null, -EINVAL, sim_mm_set_signal(NULL, SIM_SIGNAL_NONE))                 \
	X(set_signal_bad, -EINVAL, sim_mm_set_signal(c->mm, 7))                               \
	X(set_signal_neg, -EINVAL, sim_mm_set_signal(c->mm, -1))                              \
	X(zap_ptes_null, -EINVAL, sim_zap_vma_ptes(NULL, c->hva, PAGE_SIZE))                  \
	X(zap_ptes_not_pfnmap, -EINVAL, sim_zap_vma_ptes(c->mm, c->hva, PAGE_SIZE))           \
	X(zap_ptes_unaligned, -EINVAL, sim_zap_vma_ptes(c->mm, c->hva + 1, PAGE_SIZE))        \
	X(zap_ptes_len0, -EINVAL, sim_zap_vma_ptes(c->mm, c->hva, 0))                         \
	X(zap_ptes_hole, -EINVAL, sim_zap_vma_ptes(c->mm, HOLE, PAGE_SIZE))                   \
	X(zap_ptes_huge, -EINVAL, sim_zap_vma_ptes(c->mm, c->hva, ~0ULL))                     \
	X(memremap_nullhost, -EINVAL, sim_memremap(NULL, NOPAGE_BASE, &c->virt))              \
	X(memremap_nullout, -EINVAL, sim_memremap(c->host, NOPAGE_BASE, NULL))                \
	X(memremap_badpfn, -EINVAL, sim_memremap(c->host, PFN_BAD, &c->virt))                 \
	X(memremap_hole, -EINVAL, sim_memremap(c->host, NOPAGE_BASE - 1, &c->virt))           \
	X(memunmap_nullhost, 0, (sim_memunmap(NULL, c->buf), 0))                              \
	X(memunmap_null, 0, (sim_memunmap(c->host, NULL), 0))                                 \
	X(hwpoison_hole, -ENOMEM, sim_madvise(c->mm, HOLE, PAGE_SIZE, SIM_MADV_HWPOISON))     \
	X(hwpoison_unaligned, -EINVAL,                                                        \
	  sim_madvise(c->mm, c->hva + 1, PAGE_SIZE, SIM_MADV_HWPOISON))                       \
	X(account_null, -EINVAL, sim_account_locked_vm(NULL, 1, true))                        \
	X(account_huge, -ENOMEM, sim_account_locked_vm(c->mm, ~0UL, true))                    \
	X(account_zero, 0, sim_account_locked_vm(c->mm, 0, false))                            \
	X(locked_vm_null, 0, sim_mm_locked_vm(NULL))                                          \
	X(memlock_limit_null, -EINVAL, sim_mm_set_memlock_limit(NULL, 0))                     \
	X(memlock_limit_get_null, 0, (int)sim_mm_memlock_limit(NULL))                         \
	X(cap_ipc_lock_null, -EINVAL, sim_mm_set_cap_ipc_lock(NULL, true))                    \
	X(cap_ipc_lock_get_null, 0, sim_mm_capable_ipc_lock(NULL))                            \
	/* ---- host.h: MMU notifiers ---- */                                                 \
	X(mn_register_nullsub, -EINVAL, sim_mmu_notifier_register(NULL, c->mm))               \
	X(mn_register_nullmm, -EINVAL, sim_mmu_notifier_register(&c->mn_zero, NULL))          \
	X(mn_register_nullops, -EINVAL, sim_mmu_notifier_register(&c->mn_noops, c->mm))       \
	X(mn_register_twice, -EBUSY, sim_mmu_notifier_register(&c->mn_reg, c->mm))            \
	X(mn_unregister_null, 0, (sim_mmu_notifier_unregister(NULL), 0))                      \
	X(mn_unregister_unregistered, 0, (sim_mmu_notifier_unregister(&c->mn_zero), 0))       \
	X(inv_begin_null, 0, sim_mm_invalidate_read_begin(NULL))                              \
	X(inv_retry_null, 0, sim_mm_invalidate_read_retry(NULL, 0))                           \
	X(inv_in_progress_null, -EINVAL, sim_mm_invalidate_in_progress(NULL))                 \
	/* ---- vm.h ---- */                                                                  \
	X(vm_create_nullhost, -EINVAL, mmusim_vm_create(NULL, c->mm, NULL, &c->tmp_vm))       \
	X(vm_create_nullmm, -EINVAL, mmusim_vm_create(c->host, NULL, NULL, &c->tmp_vm))       \
	X(vm_create_nullp, -EINVAL, mmusim_vm_create(c->host, c->mm, NULL, NULL))             \
	X(vm_create_wrong_host, -EINVAL, mmusim_vm_create(c->host2, c->mm, NULL, &c->tmp_vm)) \
	X(vm_create_vcpus, -EINVAL,                                                           \
	  mmusim_vm_create(c->host, c->mm, &c->vcfg_vcpus, &c->tmp_vm))                       \
	X(vm_create_mode, -EINVAL,                                                            \
	  mmusim_vm_create(c->host, c->mm, &c->vcfg_mode, &c->tmp_vm))                        \
	X(vm_create_root, -EINVAL,                                                            \
	  mmusim_vm_create(c->host, c->mm, &c->vcfg_root, &c->tmp_vm))                        \
	X(vm_create_as, -EINVAL, mmusim_vm_create(c->host, c->mm, &c->vcfg_as, &c->tmp_vm))   \
	X(vm_create_phys, -EINVAL,                                                            \
	  mmusim_vm_create(c->host, c->mm, &c->vcfg_phys, &c->tmp_vm))                        \
	X(vm_create_pin_nosev, -EINVAL,                                                       \
	  mmusim_vm_create(c->host, c->mm, &c->vcfg_pin_nosev, &c->tmp_vm))                   \
	X(vm_create_pin_bad, -EINVAL,                                                         \
	  mmusim_vm_create(c->host, c->mm, &c->vcfg_pin_bad, &c->tmp_vm))                     \
	X(vm_create_pin_memslot, -EINVAL,                                                     \
	  mmusim_vm_create(c->host, c->mm, &c->vcfg_pin_memslot, &c->tmp_vm))                 \
	X(vm_destroy_null, 0, (mmusim_vm_destroy(NULL), 0))                                   \
	X(set_region_null, -EINVAL, mmusim_vm_set_user_memory_region(NULL, &c->region))       \
	X(set_region_nullmem, -EFAULT, mmusim_vm_set_user_memory_region(c->vm, NULL))         \
	X(set_region_badmem, -EFAULT, mmusim_vm_set_user_memory_region(c->vm, c->bad))        \
	X(set_region_flags, -EINVAL, mmusim_vm_set_user_memory_region(c->vm, &c->rg_flags))   \
	X(set_region_unaligned, -EINVAL,                                                      \
	  mmusim_vm_set_user_memory_region(c->vm, &c->rg_unaligned))                          \
	X(set_region_slot, -EINVAL, mmusim_vm_set_user_memory_region(c->vm, &c->rg_slot))     \
	X(get_dirty_null, -EINVAL, mmusim_vm_get_dirty_log(NULL, &c->log_noslot))             \
	X(get_dirty_nulllog, -EFAULT, mmusim_vm_get_dirty_log(c->vm, NULL))                   \
	X(get_dirty_badlog, -EFAULT, mmusim_vm_get_dirty_log(c->vm, c->bad))                  \
	X(get_dirty_noslot, -ENOENT, mmusim_vm_get_dirty_log(c->vm, &c->log_noslot))          \
	X(get_dirty_badslot, -EINVAL, mmusim_vm_get_dirty_log(c->vm, &c->log_badslot))        \
	X(clear_dirty_null, -EINVAL, mmusim_vm_clear_dirty_log(NULL, &c->clog_badslot))       \
	X(clear_dirty_nulllog, -EFAULT, mmusim_vm_clear_dirty_log(c->vm, NULL))               \
	X(clear_dirty_badslot, -EINVAL, mmusim_vm_clear_dirty_log(c->vm, &c->clog_badslot))   \
	X(check_ext_null, -EINVAL, mmusim_vm_check_extension(NULL, KVM_CAP_USER_MEMORY))      \
	X(check_ext_unknown, 0, mmusim_vm_check_extension(c->vm, -1))                         \
	X(enable_cap_null, -EINVAL, mmusim_vm_enable_cap(NULL, &c->cap_unknown))              \
	X(enable_cap_nullcap, -EFAULT, mmusim_vm_enable_cap(c->vm, NULL))                     \
	X(enable_cap_badcap, -EFAULT, mmusim_vm_enable_cap(c->vm, c->bad))                    \
	X(enable_cap_unknown, -EINVAL, mmusim_vm_enable_cap(c->vm, &c->cap_unknown))          \
	X(enable_cap_flags, -EINVAL, mmusim_vm_enable_cap(c->vm, &c->cap_flags))              \
	X(manual_protect_null, -EINVAL, mmusim_vm_enable_manual_dirty_log_protect(NULL, 0))   \
	X(manual_protect_bits, -EINVAL,                                                       \
	  mmusim_vm_enable_manual_dirty_log_protect(c->vm, ~0ULL))                            \
	X(get_memslot_null, -EINVAL, mmusim_vm_get_memslot(NULL, 0, &c->out))                 \
	X(get_memslot_nullout, -EFAULT, mmusim_vm_get_memslot(c->vm, 0, NULL))                \
	X(get_memslot_badout, -EFAULT, mmusim_vm_get_memslot(c->vm, 0, c->bad))               \
	X(get_memslot_absent, -ENOENT, mmusim_vm_get_memslot(c->vm, 100, &c->out))            \
	X(get_memslot_bad_as, -EINVAL, mmusim_vm_get_memslot(c->vm, 7u << 16, &c->out))       \
	X(get_memslot_bad_id, -EINVAL, mmusim_vm_get_memslot(c->vm, 0x7fff, &c->out))         \
	X(vm_vcpu_null, 1, mmusim_vm_vcpu(NULL, 0) == NULL)                                   \
	X(vm_vcpu_negative, 1, mmusim_vm_vcpu(c->vm, -1) == NULL)                             \
	X(vm_vcpu_past, 1, mmusim_vm_vcpu(c->vm, 1) == NULL)                                  \
	X(nr_vcpus_null, -EINVAL, mmusim_vm_nr_vcpus(NULL))                                   \
	X(access_null, -EINVAL, mmusim_vcpu_access(NULL, 0, MMUSIM_ACCESS_READ, &c->exit))    \
	X(access_type, -EINVAL, mmusim_vcpu_access(c->vcpu, 0, 99, &c->exit))                 \
	X(access_type_neg, -EINVAL, mmusim_vcpu_access(c->vcpu, 0, -1, &c->exit))             \
	X(access_gpa, -EINVAL,                                                                \
	  mmusim_vcpu_access(c->vcpu, ~0ULL, MMUSIM_ACCESS_READ, &c->exit))                   \
	X(access_nullexit, 0, mmusim_vcpu_access(c->vcpu, 0, MMUSIM_ACCESS_READ, NULL))       \
	X(access_mmio_nullexit, 1,                                                            \
	  mmusim_vcpu_access(c->vcpu, MMIO_GPA, MMUSIM_ACCESS_READ, NULL))                    \
	X(access_range_null, -EINVAL,                                                         \
	  mmusim_vcpu_access_range(NULL, 0, 1, 0, MMUSIM_ACCESS_READ, &c->exit))              \
	X(access_range_type, -EINVAL,                                                         \
	  mmusim_vcpu_access_range(c->vcpu, 0, 1, 0, 99, &c->exit))                           \
	X(access_range_gpa, -EINVAL,                                                          \
	  mmusim_vcpu_access_range(c->vcpu, ~0ULL, 1, 0, MMUSIM_ACCESS_READ, &c->exit))       \
	X(access_range_none, 0,                                                               \
	  mmusim_vcpu_access_range(c->vcpu, 0, 0, 0, MMUSIM_ACCESS_READ, NULL))               \
	X(vcpu_write_null, -EINVAL, mmusim_vcpu_write(NULL, 0, c->buf, 8))                    \
	X(vcpu_write_nullbuf, -EFAULT, mmusim_vcpu_write(c->vcpu, 0, NULL, 8))                \
	X(vcpu_write_badbuf, -EFAULT, mmusim_vcpu_write(c->vcpu, 0, c->bad, 8))               \
	X(vcpu_write_len0, 0, mmusim_vcpu_write(c->vcpu, 0, NULL, 0))                         \
	X(vcpu_write_gpa, -EINVAL, mmusim_vcpu_write(c->vcpu, ~0ULL, c->buf, 8))              \
	X(vcpu_read_null, -EINVAL, mmusim_vcpu_read(NULL, 0, c->buf, 8))                      \
	X(vcpu_read_nullbuf, -EFAULT, mmusim_vcpu_read(c->vcpu, 0, NULL, 8))                  \
	X(vcpu_read_badbuf, -EFAULT, mmusim_vcpu_read(c->vcpu, 0, c->bad, 8))                 \
	X(vcpu_read_gpa, -EINVAL, mmusim_vcpu_read(c->vcpu, ~0ULL, c->buf, 8))                \
	X(set_smm_null, -EINVAL, mmusim_vcpu_set_smm(NULL, true))                             \
	X(set_smm_one_as, -EINVAL, mmusim_vcpu_set_smm(c->vcpu1as, true))                     \
	X(set_tlb_check_null, -EINVAL, mmusim_vcpu_set_tlb_check(NULL, true))                 \
	X(pre_fault_null, -EINVAL, mmusim_vcpu_pre_fault_memory(NULL, &c->pfm))               \
	X(pre_fault_nullrange, -EFAULT, mmusim_vcpu_pre_fault_memory(c->vcpu, NULL))          \
	X(pre_fault_badrange, -EFAULT, mmusim_vcpu_pre_fault_memory(c->vcpu, c->bad))         \
	X(map_tdp_null, -EINVAL, (int)mmusim_vcpu_map_tdp_page(NULL, 0, &c->moved))           \
	X(map_tdp_nullpfn, -EINVAL, mmusim_vcpu_map_tdp_page(c->vcpu, 0, NULL))               \
	X(map_tdp_gpa, -EINVAL, mmusim_vcpu_map_tdp_page(c->vcpu, ~0ULL, &c->moved))          \
	X(map_tdp_ok, 0, mmusim_vcpu_map_tdp_page(c->vcpu, 0, &c->moved))                     \
	X(map_tdp_mmio, -ENOENT, mmusim_vcpu_map_tdp_page(c->vcpu, MMIO_GPA, &c->moved))      \
	X(signal_pending_null, 0, sim_mm_signal_pending(NULL))                                \
	X(page_is_zero_null, 0, sim_page_is_zero(NULL, 0))                                    \
	X(page_is_zero_page, 0, sim_page_is_zero(c->mm, c->page_pfn))                         \
	X(vcpu_map_null, -EINVAL, mmusim_vcpu_map(NULL, 0, 0, &c->minfo))                     \
	X(vcpu_map_flags, -EINVAL, mmusim_vcpu_map(c->vcpu, 0, 0x80, &c->minfo))              \
	X(vcpu_map_gfn, -EINVAL, mmusim_vcpu_map(c->vcpu, ~0ULL, 0, &c->minfo))               \
	X(vcpu_map_noslot, -EINVAL,                                                           \
	  mmusim_vcpu_map(c->vcpu, MMIO_GPA >> PAGE_SHIFT, 0, &c->minfo))                     \
	X(vcpu_map_nullinfo, -EFAULT, mmusim_vcpu_map(c->vcpu, 0, 0, NULL))                   \
	X(vcpu_map_badinfo, -EFAULT, mmusim_vcpu_map(c->vcpu, 0, MMUSIM_MAP_WRITABLE, c->bad))\
	X(map_read_null, -EINVAL, mmusim_vcpu_map_read(NULL, 0, 0, c->buf, 8))                \
	X(map_read_badid, -EINVAL, mmusim_vcpu_map_read(c->vcpu, 99, 0, c->buf, 8))           \
	X(map_read_negid, -EINVAL, mmusim_vcpu_map_read(c->vcpu, -1, 0, c->buf, 8))           \
	X(map_read_unused, -EINVAL, mmusim_vcpu_map_read(c->vcpu, 0, 0, c->buf, 8))           \
	X(map_read_past, -EINVAL, mmusim_vcpu_map_read(c->vcpu, 0, PAGE_SIZE, c->buf, 8))     \
	X(map_write_null, -EINVAL, mmusim_vcpu_map_write(NULL, 0, 0, c->buf, 8))              \
	X(map_write_unused, -EINVAL, mmusim_vcpu_map_write(c->vcpu, 0, 0, c->buf, 8))         \
	X(map_write_huge, -EINVAL, mmusim_vcpu_map_write(c->vcpu, 0, 8, c->buf, ~0u))         \
	X(unmap_null, -EINVAL, mmusim_vcpu_unmap(NULL, 0, false))                             \
	X(unmap_negid, -EINVAL, mmusim_vcpu_unmap(c->vcpu, -1, true))                         \
	X(unmap_unused, -EINVAL, mmusim_vcpu_unmap(c->vcpu, 0, false))                        \
	X(post_null, -EINVAL, mmusim_vcpu_post_interrupt(NULL, 0, 1))                         \
	X(post_vector, -EINVAL, mmusim_vcpu_post_interrupt(c->vcpu, 0, 256))                  \
	X(post_misaligned, -EINVAL, mmusim_vcpu_post_interrupt(c->vcpu, 8, 1))                \
	X(msr_filter_null, -EINVAL, mmusim_vm_set_msr_filter(NULL, &c->mf_flags))            \
	X(msr_filter_nullf, -EFAULT, mmusim_vm_set_msr_filter(c->vm, NULL))                   \
	X(msr_filter_badf, -EFAULT, mmusim_vm_set_msr_filter(c->vm, c->bad))                  \
	X(msr_filter_flags, -EINVAL, mmusim_vm_set_msr_filter(c->vm, &c->mf_flags))           \
	X(msr_filter_deny_empty, -EINVAL, mmusim_vm_set_msr_filter(c->vm, &c->mf_deny_empty)) \
	X(get_msrs_null, -EINVAL, mmusim_vcpu_get_msrs(NULL, &c->msrs_big))                   \
	X(get_msrs_nullmsrs, -EFAULT, mmusim_vcpu_get_msrs(c->vcpu, NULL))                    \
	X(get_msrs_bad, -EFAULT, mmusim_vcpu_get_msrs(c->vcpu, c->bad))                       \
	X(get_msrs_big, -E2BIG, mmusim_vcpu_get_msrs(c->vcpu, &c->msrs_big))                  \
	X(set_msrs_null, -EINVAL, mmusim_vcpu_set_msrs(NULL, &c->msrs_big))                   \
	X(set_msrs_bad, -EFAULT, mmusim_vcpu_set_msrs(c->vcpu, c->bad))                       \
	X(set_msrs_big, -E2BIG, mmusim_vcpu_set_msrs(c->vcpu, &c->msrs_big))                  \
	X(msr_list_null, -EINVAL, mmusim_vm_get_msr_index_list(NULL, &c->mlist))              \
	X(msr_list_bad, -EFAULT, mmusim_vm_get_msr_index_list(c->vm, c->bad))                 \
	X(msr_list_short, -E2BIG, mmusim_vm_get_msr_index_list(c->vm, &c->mlist))             \
	X(msr_params_null, -EINVAL, mmusim_vm_set_msr_params(NULL, &c->mparams))              \
	X(msr_params_nullp, -EINVAL, mmusim_vm_set_msr_params(c->vm, NULL))                   \
	X(msr_get_params_null, -EINVAL, mmusim_vm_get_msr_params(NULL, &c->mparams))          \
	X(msr_get_params_nullp, -EINVAL, mmusim_vm_get_msr_params(c->vm, NULL))               \
	X(msr_handled_null, -EINVAL, mmusim_vm_set_msr_handled(NULL, 0x10, true))             \
	X(msr_handled_unknown, -ENOENT, mmusim_vm_set_msr_handled(c->vm, 0x12345678, false))  \
	X(post_noslot, -EINVAL, mmusim_vcpu_post_interrupt(c->vcpu, MMIO_GPA, 1))             \
	X(post_gpa, -EINVAL, mmusim_vcpu_post_interrupt(c->vcpu, ~0ULL & ~63ULL, 1))          \
	X(zap_null, -EINVAL, mmusim_vm_zap_gfn_range(NULL, 0, 0, 1))                          \
	X(zap_as_neg, -EINVAL, mmusim_vm_zap_gfn_range(c->vm, -2, 0, 1))                      \
	X(zap_as_big, -EINVAL, mmusim_vm_zap_gfn_range(c->vm, 2, 0, 1))                       \
	X(zap_as_one_as, -EINVAL, mmusim_vm_zap_gfn_range(c->vm1as, 1, 0, 1))                 \
	X(zap_empty, -EINVAL, mmusim_vm_zap_gfn_range(c->vm, 0, 5, 5))                        \
	X(zap_all_fast_null, 0, (mmusim_vm_zap_all_fast(NULL), 0))                            \
	X(nx_recover_null, -EINVAL, mmusim_vm_recover_nx_huge_pages(NULL))                    \
	X(reset_rings_null, -EINVAL, mmusim_vm_reset_dirty_rings(NULL))                       \
	X(reset_rings_none, -EINVAL, mmusim_vm_reset_dirty_rings(c->vm))                      \
	X(dirty_ring_null, -EINVAL, mmusim_vcpu_dirty_ring(NULL, &c->ring, &c->ring_n))       \
	X(dirty_ring_nullring, -EINVAL, mmusim_vcpu_dirty_ring(c->vcpu, NULL, &c->ring_n))    \
	X(dirty_ring_nulln, -EINVAL, mmusim_vcpu_dirty_ring(c->vcpu, &c->ring, NULL))         \
	X(dirty_ring_none, -ENXIO, mmusim_vcpu_dirty_ring(c->vcpu, &c->ring, &c->ring_n))     \
	X(exit_ns_null, -EINVAL, mmusim_vm_set_fault_exit_ns(NULL, 0))                        \
	X(exit_ns_big, -EINVAL, mmusim_vm_set_fault_exit_ns(c->vm, 2000000000ULL))            \
	X(race_null, -EINVAL, mmusim_vm_race_next_fault(NULL, 0, NULL, NULL))                 \
	X(race_point_neg, -EINVAL, mmusim_vm_race_next_fault(c->vm, -1, NULL, NULL))          \
	X(race_point_nr, -EINVAL,                                                             \
	  mmusim_vm_race_next_fault(c->vm, MMUSIM_FAULT_RACE_NR, NULL, NULL))                 \
	X(race_disarm, 0, mmusim_vm_race_next_fault(c->vm, 0, NULL, NULL))                    \
	X(vm_stats_null, -EINVAL, mmusim_vm_get_stats(NULL, &c->vst))                         \
	X(vm_stats_nullout, -EINVAL, mmusim_vm_get_stats(c->vm, NULL))                        \
	X(dump_null, -EINVAL, mmusim_vm_dump(NULL, c->buf, sizeof(c->buf)))                   \
	X(dump_nullbuf, -EINVAL, mmusim_vm_dump(c->vm, NULL, 10))                             \
	X(dump_nullbuf_size0, 0, mmusim_vm_dump(c->vm, NULL, 0))                              \
	/* ---- run.h ---- */                                                                  \
	X(run_null, -EINVAL, mmusim_vcpu_run(NULL))                                           \
	X(run_noprog, 0, mmusim_vcpu_run(c->vcpu))                                            \
	X(kvm_run_null, 1, mmusim_vcpu_kvm_run(NULL) == NULL)                                 \
	X(load_null, -EINVAL, mmusim_vcpu_load_program(NULL, &c->insn_bad, 1))                \
	X(load_nullprog, -EFAULT, mmusim_vcpu_load_program(c->vcpu, NULL, 1))                 \
	X(load_badprog, -EFAULT, mmusim_vcpu_load_program(c->vcpu, c->bad, 1))                \
	X(load_zero, -EINVAL, mmusim_vcpu_load_program(c->vcpu, &c->insn_bad, 0))             \
	X(load_huge, -EINVAL, mmusim_vcpu_load_program(c->vcpu, &c->insn_bad, ~0u))           \
	X(load_badop, -EINVAL, mmusim_vcpu_load_program(c->vcpu, &c->insn_bad, 1))            \
	X(get_regs_null, -EINVAL, mmusim_vcpu_get_regs(NULL, &c->regs))                       \
	X(get_regs_nullregs, -EFAULT, mmusim_vcpu_get_regs(c->vcpu, NULL))                    \
	X(get_regs_badregs, -EFAULT, mmusim_vcpu_get_regs(c->vcpu, c->bad))                   \
	X(set_regs_null, -EINVAL, mmusim_vcpu_set_regs(NULL, &c->regs))                       \
	X(set_regs_nullregs, -EFAULT, mmusim_vcpu_set_regs(c->vcpu, NULL))                    \
	X(set_regs_badregs, -EFAULT, mmusim_vcpu_set_regs(c->vcpu, c->bad))                   \
	X(get_dbg_null, -EINVAL, mmusim_vcpu_get_debugregs(NULL, &c->dbgregs))                \
	X(create_vcpu_null, -EINVAL, mmusim_vm_create_vcpu(NULL, &c->tmp_vcpu))               \
	X(sev_shared_null, -EINVAL, mmusim_vcpu_sev_set_shared(NULL, 0, 1, true))            \
	X(sev_shared_nosev, -EINVAL, mmusim_vcpu_sev_set_shared(c->vcpu, 0, 1, true))        \
	X(io_pool_null, -EINVAL, mmusim_sev_io_pool_create(NULL, 0, 4096, 0, &c->io_pool))   \
	X(io_pool_nullout, -EINVAL, mmusim_sev_io_pool_create(c->vcpu, 0, 4096, 0, NULL))    \
	X(io_pool_destroy_null, 0, (mmusim_sev_io_pool_destroy(NULL), 0))                     \
	X(io_alloc_null, -EINVAL, mmusim_sev_io_alloc(NULL, 1, &c->gpa_out))                  \
	X(io_free_null, -EINVAL, mmusim_sev_io_free(NULL, 0))                                 \
	X(reset_vec_nulladdr, -EINVAL, mmusim_sev_es_find_reset_vector(c->buf, 4096, NULL))   \
	X(reset_vec_nullflash, -EFAULT, mmusim_sev_es_find_reset_vector(NULL, 4096, &c->u32_out)) \
	X(reset_vec_badflash, -EFAULT, mmusim_sev_es_find_reset_vector(c->bad, 4096, &c->u32_out)) \
	X(create_vcpu_nullout, -EINVAL, mmusim_vm_create_vcpu(c->vm, NULL))                   \
	X(get_dbg_nulldbg, -EFAULT, mmusim_vcpu_get_debugregs(c->vcpu, NULL))                 \
	X(get_dbg_baddbg, -EFAULT, mmusim_vcpu_get_debugregs(c->vcpu, c->bad))                \
	X(set_dbg_null, -EINVAL, mmusim_vcpu_set_debugregs(NULL, &c->dbgregs))                \
	X(set_dbg_nulldbg, -EFAULT, mmusim_vcpu_set_debugregs(c->vcpu, NULL))                 \
	X(set_dbg_baddbg, -EFAULT, mmusim_vcpu_set_debugregs(c->vcpu, c->bad))                \
	X(set_dbg_flags, -EINVAL, mmusim_vcpu_set_debugregs(c->vcpu, &c->dbgregs_flags))      \
	X(set_dbg_dr7hi, -EINVAL, mmusim_vcpu_set_debugregs(c->vcpu, &c->dbgregs_dr7hi))      \
	X(buslock_bits, -EINVAL, mmusim_vm_enable_cap(c->vm, &c->cap_buslock_bits))           \
	X(buslock_both, -EINVAL, mmusim_vm_enable_cap(c->vm, &c->cap_buslock_both))           \
	X(check_null, -EINVAL, mmusim_vm_check(NULL, c->buf, sizeof(c->buf)))                 \
	X(check_nullmsg, -EINVAL, mmusim_vm_check(c->vm, NULL, 10))                           \
	X(check_nullmsg_size0, 0, mmusim_vm_check(c->vm, NULL, 0))                            \
	/* ---- sev.h (c->vm is not SEV) ---- */                                              \
	X(enc_op_null, -EINVAL, mmusim_vm_memory_encrypt_op(NULL, &c->sev_cmd))               \
	X(enc_op_probe, 0, mmusim_vm_memory_encrypt_op(c->vm, NULL))                          \
	X(enc_op_bad, -EFAULT, mmusim_vm_memory_encrypt_op(c->vm, c->bad))                    \
	X(enc_op_init_late, -EINVAL, mmusim_vm_memory_encrypt_op(c->vm, &c->sev_cmd))         \
	X(sev_fw_guests, 0, (int)mmusim_sev_fw_guests())                                      \
	X(guest_debug_null, -EINVAL, mmusim_vcpu_set_guest_debug(NULL, &c->guest_dbg))        \
	X(guest_debug_bad, -EFAULT, mmusim_vcpu_set_guest_debug(c->vcpu, c->bad))             \
	X(guest_debug_off, 0, mmusim_vcpu_set_guest_debug(c->vcpu, &c->guest_dbg))            \
	X(enc_reg_null, -EINVAL, mmusim_vm_memory_encrypt_reg_region(NULL, &c->enc))          \
	X(enc_reg_nullrange, -EFAULT, mmusim_vm_memory_encrypt_reg_region(c->vm, NULL))       \
	X(enc_reg_bad, -EFAULT, mmusim_vm_memory_encrypt_reg_region(c->vm, c->bad))           \
	X(enc_reg_not_sev, -ENOTTY, mmusim_vm_memory_encrypt_reg_region(c->vm, &c->enc))      \
	X(enc_unreg_null, -EINVAL, mmusim_vm_memory_encrypt_unreg_region(NULL, &c->enc))      \
	X(enc_unreg_nullrange, -EFAULT, mmusim_vm_memory_encrypt_unreg_region(c->vm, NULL))   \
	X(enc_unreg_bad, -EFAULT, mmusim_vm_memory_encrypt_unreg_region(c->vm, c->bad))       \
	X(enc_unreg_not_sev, -ENOTTY, mmusim_vm_memory_encrypt_unreg_region(c->vm, &c->enc))  \
	X(move_enc_null, -EINVAL, mmusim_vm_move_enc_context_from(NULL, c->vm))               \
	X(move_enc_nullsrc, -EBADF, mmusim_vm_move_enc_context_from(c->vm, NULL))             \
	X(move_enc_self, -EINVAL, mmusim_vm_move_enc_context_from(c->vm, c->vm))              \
	X(sev_stats_null, -EINVAL, mmusim_vm_sev_get_stats(NULL, &c->sst))                    \
	X(sev_stats_nullout, -EINVAL, mmusim_vm_sev_get_stats(c->vm, NULL))                   \
	X(sev_stats_not_sev, -ENOTTY, mmusim_vm_sev_get_stats(c->vm, &c->sst))                \
	X(sev_reports_null, -EINVAL, (int)mmusim_vm_sev_get_reports(NULL, &c->srep, 1))       \
	X(sev_reports_nullout, -EINVAL, (int)mmusim_vm_sev_get_reports(c->vm, NULL, 1))       \
	X(sev_reports_not_sev, -ENOTTY, (int)mmusim_vm_sev_get_reports(c->vm, &c->srep, 1))   \
	X(sev_check_null, -EINVAL, mmusim_vm_sev_check(NULL, c->buf, sizeof(c->buf)))         \
	X(sev_check_nullmsg, -EINVAL, mmusim_vm_sev_check(c->vm, NULL, 10))                   \
	X(sev_check_not_sev, -ENOTTY, mmusim_vm_sev_check(c->vm, c->buf, sizeof(c->buf)))     \
	X(sev_skip_flush_null, -EINVAL, mmusim_vm_sev_set_skip_flush(NULL, true))             \
	X(sev_skip_flush_not_sev, -ENOTTY, mmusim_vm_sev_set_skip_flush(c->vm, true))     \
	/* ---- trace.h: patterns and paths are user memory; unknown events -EINVAL ---- */ \
	X(trace_enable_null, -EFAULT, mmusim_trace_enable(NULL))                              \
	X(trace_enable_bad, -EFAULT, mmusim_trace_enable(c->bad))                             \
	X(trace_enable_empty, -EINVAL, mmusim_trace_enable(""))                               \
	X(trace_enable_unknown, -EINVAL, mmusim_trace_enable("no_such_event"))                \
	X(trace_disable_null, -EFAULT, mmusim_trace_disable(NULL))                            \
	X(trace_disable_unknown, -EINVAL, mmusim_trace_disable("nosys:*"))                    \
	X(trace_write_fd_neg, -EBADF, mmusim_trace_write_fd(-1))                              \
	X(trace_write_path_null, -EFAULT, mmusim_trace_write_path(NULL))                      \
	X(trace_write_path_bad, -EFAULT, mmusim_trace_write_path(c->bad))                     \
	X(trace_write_path_empty, -ENOENT, mmusim_trace_write_path(""))                       \
	X(trace_entries_zero, -EINVAL, mmusim_trace_set_buffer_entries(0))                    \
	X(trace_entries_huge, -EINVAL, mmusim_trace_set_buffer_entries(~0U))                  \
	X(trace_clear, 0, mmusim_trace_clear())

#define X(tag, expected, call)                                                        \
	static long row_##tag(struct ctx *c)                                          \
	{                                                                             \
		(void)c;                                                              \
		return (long)(call);                                                  \
	}
CONTRACT_ROWS(X)
#undef X

struct contract_row {
	const char *tag;
	const char *call;
	long (*fn)(struct ctx *c);
	long expected;
};

#define X(tag, expected, call) { #tag, #call, row_##tag, (long)(expected) },
static const struct contract_row rows[] = { CONTRACT_ROWS(X) };
#undef X

/* ======================== fixture ======================== */

static void ctx_init(struct ctx *c)
{
	struct sim_host_config hc = {
		.mem_bytes = HOST_MEM,
		.nopage_base_pfn = NOPAGE_BASE,
		.nopage_pages = NOPAGE_PAGES,
	};
	struct sim_host_config hc2 = { .mem_bytes = HOST_MEM };
	struct mmusim_vm_config one_as = { .nr_address_spaces = 1 }, sev = { .sev = true };
	u64 v = 0x1122334455667788ULL;

	memset(c, 0, sizeof(*c));
	assert_int_equal(sim_host_create(&hc, &c->host), 0);
	assert_int_equal(sim_host_create(&hc2, &c->host2), 0);
	assert_int_equal(sim_mm_create(c->host, &c->mm), 0);
	c->page = sim_alloc_pages(c->host, GFP_KERNEL, 0);
	c->foreign = sim_alloc_pages(c->host2, GFP_KERNEL, 0);
	assert_non_null(c->page);
	assert_non_null(c->foreign);
	c->misaligned = (struct sim_page *)((char *)c->page + 1);
	c->page_pfn = sim_page_to_pfn(c->host, c->page);
	c->pages[0] = c->page;
	c->bad_pages[1] = c->foreign;
	c->bad_pages[2] = c->misaligned;
	c->bad = test_bad_ptr();

	/* A populated 4K mapping, memslot 0 of a VM, faulted in by the vCPU. */
	assert_int_equal(sim_mmap(c->mm, 0, REGION, RW, PRIV | SIM_MAP_POPULATE, &c->hva), 0);
	assert_int_equal(mmusim_vm_create(c->host, c->mm, NULL, &c->vm), 0);
	assert_int_equal(mmusim_vm_create(c->host, c->mm, &one_as, &c->vm1as), 0);
	/* The host's memory controller comes with its first SEV guest and stays. */
	assert_int_equal(mmusim_vm_create(c->host, c->mm, &sev, &c->tmp_vm), 0);
	mmusim_vm_destroy(c->tmp_vm);
	c->vcpu = mmusim_vm_vcpu(c->vm, 0);
	c->vcpu1as = mmusim_vm_vcpu(c->vm1as, 0);
	assert_non_null(c->vcpu);
	assert_non_null(c->vcpu1as);
	c->region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = REGION, .userspace_addr = c->hva,
	};
	assert_int_equal(mmusim_vm_set_user_memory_region(c->vm, &c->region), 0);
	assert_int_equal(mmusim_vcpu_write(c->vcpu, 0, &v, sizeof(v)), 0);
	assert_int_equal(mmusim_vcpu_access(c->vcpu, MMIO_GPA, MMUSIM_ACCESS_READ, NULL), 1);
	/* The fault's caches, topped up once here rather than by a row. */
	assert_int_equal(mmusim_vcpu_map_tdp_page(c->vcpu, 0, &c->moved), 0);

	c->mn_reg.ops = &noop_ops;
	assert_int_equal(sim_mmu_notifier_register(&c->mn_reg, c->mm), 0);

	/* Garbage configurations and uapi structures. */
	c->hcfg_unaligned.mem_bytes = HOST_MEM + 1;
	c->hcfg_huge.mem_bytes = ~0ULL << PAGE_SHIFT;
	c->hcfg_nopage_overlap = (struct sim_host_config){
		.mem_bytes = HOST_MEM, .nopage_base_pfn = 1, .nopage_pages = 1,
	};
	c->vcfg_vcpus.nr_vcpus = 100000;
	c->vcfg_mode.tdp_mode = 7;
	c->vcfg_root.root_level = 3;
	c->vcfg_as.nr_address_spaces = 3;
	c->vcfg_phys.host_maxphyaddr = 60;
	c->vcfg_pin_nosev.sev_pin = MMUSIM_SEV_PIN_SPTE;
	c->vcfg_pin_bad.sev = true;
	c->vcfg_pin_bad.sev_pin = (enum mmusim_sev_pin_strategy)99;
	c->vcfg_pin_memslot.sev_pin = MMUSIM_SEV_PIN_MEMSLOT;
	c->rg_flags = c->region;
	c->rg_flags.slot = 1;
	c->rg_flags.flags = 1u << 30;
	c->rg_unaligned = c->region;
	c->rg_unaligned.slot = 1;
	c->rg_unaligned.guest_phys_addr = 0x10000001;
	c->rg_slot = c->region;
	c->rg_slot.slot = 0x7fff;
	c->log_noslot.slot = 0;		/* exists, but no dirty logging */
	c->log_badslot.slot = 5u << 16;
	c->clog_badslot.slot = 5u << 16;
	c->cap_unknown.cap = 0x7fffffff;
	c->cap_flags.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2;
	c->cap_flags.flags = 1;
	c->mf_flags.flags = 2;
	c->mf_deny_empty.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	c->msrs_big.nmsrs = 256;
	c->mlist.nmsrs = 1;
	c->dbgregs_flags.flags = 1;
	c->dbgregs_dr7hi.dr7 = 1ULL << 32;
	c->cap_buslock_bits.cap = KVM_CAP_X86_BUS_LOCK_EXIT;
	c->cap_buslock_bits.args[0] = 4;
	c->cap_buslock_both.cap = KVM_CAP_X86_BUS_LOCK_EXIT;
	c->cap_buslock_both.args[0] = KVM_BUS_LOCK_DETECTION_OFF | KVM_BUS_LOCK_DETECTION_EXIT;
	c->insn_bad.op = MMUSIM_INSN_NR;
}

static void ctx_fini(struct ctx *c)
{
	sim_mmu_notifier_unregister(&c->mn_reg);
	mmusim_vm_destroy(c->vm1as);
	mmusim_vm_destroy(c->vm);
	sim_put_page(c->host, c->page);
	sim_put_page(c->host2, c->foreign);
	sim_mm_destroy(c->mm);
	sim_host_destroy(c->host2);
	sim_host_destroy(c->host);
	assert_int_equal(env_warn_count(), 0);
}

/* What no row may change. */
struct snapshot {
	struct sim_host_stats st, st2;
	int count, foreign_count;
	u64 locked_vm;
	long live;
};

static void take_snapshot(struct ctx *c, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	rcu_barrier();
	assert_int_equal(sim_host_get_stats(c->host, &s->st), 0);
	assert_int_equal(sim_host_get_stats(c->host2, &s->st2), 0);
	/* Failed allocations are counted; that is all a row may change. */
	s->st.alloc_calls = s->st.alloc_failures = 0;
	s->st2.alloc_calls = s->st2.alloc_failures = 0;
	s->count = sim_page_count(c->host, c->page);
	s->foreign_count = sim_page_count(c->host2, c->foreign);
	s->locked_vm = sim_mm_locked_vm(c->mm);
	s->live = env_live_objects();
}

static void test_contract_table(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	unsigned int i, bad = 0;

	assert_non_null(c);
	ctx_init(c);
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct contract_row *row = &rows[i];
		struct snapshot before, after;
		long r;

		take_snapshot(c, &before);
		r = row->fn(c);
		take_snapshot(c, &after);
		if (r != row->expected) {
			fprintf(stderr, "FAIL %s: %s returned %ld, expected %ld\n", row->tag,
				row->call, r, row->expected);
			bad++;
		}
		if (env_warn_count()) {
			fprintf(stderr, "FAIL %s: %s fired %lu WARN(s)\n", row->tag, row->call,
				env_warn_count());
			env_warn_count_reset();
			bad++;
		}
		if (memcmp(&before, &after, sizeof(before))) {
			fprintf(stderr, "FAIL %s: %s changed state (free pages %llu -> %llu, "
				"refs %d -> %d, live %ld -> %ld)\n", row->tag, row->call,
				(unsigned long long)before.st.free_pages,
				(unsigned long long)after.st.free_pages, before.count, after.count,
				before.live, after.live);
			bad++;
		}
	}
	fprintf(stderr, "%zu contract rows, %u failures\n", ARRAY_SIZE(rows), bad);
	ctx_fini(c);
	free(c);
	assert_int_equal(bad, 0);
}

/* ======================== contracts that need more than one call ======================== */

/* sim_unpin_user_pages() skips the bad entries and unpins the good ones. */
static void test_unpin_pages_mixed(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct sim_page *pages[4] = { NULL };
	struct sim_host_stats st;

	assert_non_null(c);
	ctx_init(c);
	assert_int_equal(sim_pin_user_pages(c->mm, c->hva, 1, 0, &pages[3]), 1);
	pages[1] = c->foreign;
	pages[2] = c->misaligned;
	assert_int_equal(sim_host_get_stats(c->host, &st), 0);
	assert_int_equal(st.pinned_pages, 1);
	sim_unpin_user_pages(c->host, pages, 4);
	assert_int_equal(sim_host_get_stats(c->host, &st), 0);
	assert_int_equal(st.pinned_pages, 0);
	assert_false(sim_page_maybe_dma_pinned(c->host, pages[3]));
	ctx_fini(c);
	free(c);
}

/* A notifier may be registered again once unregistered (sub->mm is cleared). */
static void test_notifier_register_after_unregister(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	ctx_init(c);
	sim_mmu_notifier_unregister(&c->mn_reg);
	assert_null(c->mn_reg.mm);
	sim_mmu_notifier_unregister(&c->mn_reg);
	assert_int_equal(sim_mmu_notifier_register(&c->mn_reg, c->mm), 0);
	assert_int_equal(sim_mmu_notifier_register(&c->mn_reg, c->mm), -EBUSY);
	ctx_fini(c);
	free(c);
}

/* The int-returning setters do their job on a real handle. */
static void test_setters_return_zero(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	hva_t a;

	assert_non_null(c);
	ctx_init(c);
	assert_int_equal(sim_mm_set_memlock_limit(c->mm, 0), 0);
	assert_int_equal(sim_mmap(c->mm, 0, PAGE_SIZE, RW, PRIV | SIM_MAP_LOCKED, &a), -EPERM);
	assert_int_equal(sim_mm_set_memlock_limit(c->mm, 8 * MiB), 0);
	assert_int_equal(sim_mm_invalidate_in_progress(c->mm), 0);
	assert_false(sim_mm_invalidate_read_retry(c->mm, sim_mm_invalidate_read_begin(c->mm)));
	ctx_fini(c);
	free(c);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_contract_table),
		MMUSIM_TEST(test_unpin_pages_mixed),
		MMUSIM_TEST(test_notifier_register_after_unregister),
		MMUSIM_TEST(test_setters_return_zero),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("api_contract", tests);
}
