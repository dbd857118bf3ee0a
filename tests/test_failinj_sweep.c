// SPDX-License-Identifier: GPL-2.0-only
/*
 * The failure-injection sweep: one scenario through the public API (host,
 * VMM mm, VM, memslots on 4K, THP and hugetlb backing, faults, a COW break,
 * migration, THP split, swap, dirty log get/clear, memslot delete and move,
 * destroy), run once with the Nth allocation failing, for every N.
 *
 * For each VM configuration (TDP and legacy MMU, EPT and NPT, 4- and 5-level
 * roots) a dry run counts the scenario's allocations (env_fail_count()) and
 * notes how many each step makes; then the scenario runs again for
 * N = 1..total with env_fail_nth(N).  The scenario is single-threaded, so a
 * run is the dry run up to its Nth allocation: N is always reached, and in
 * the step the dry run says.  Each run must:
 *
 *  - fail only that step, with -ENOMEM (a guest access may also say
 *    -EFAULT, which is what KVM_RUN returns when GUP fails: mmusim passes
 *    GUP's -ENOMEM through today), or absorb the failure by a documented
 *    fallback: a THP allocation that fails maps 4K pages; a page-table cache
 *    is topped up to its minimum only; a table-freeing batch falls back to
 *    synchronize_rcu();
 *  - leave no half-installed state: mmusim_vm_check() is clean after every
 *    step, the failed one included; a failed memslot update, mmap,
 *    migration, THP split or swap-out leaves the memslots and the host
 *    mappings (pfn, level, writability of every page) as they were, and the
 *    mmaps return the dry run's addresses; the failed step succeeds when it
 *    runs again;
 *  - fire no WARN, and unwind to the live-object count it started from.
 *
 * MMUSIM_FAILINJ_STRIDE=k runs only every kth N, from an offset drawn from
 * the test seed.  The default is 1 (every N), except under ThreadSanitizer,
 * where a run costs about 15 times as much (the 2M copies of the huge-page
 * migrations dominate) and the default is SWEEP_TSAN_STRIDE: successive
 * make checks cover different quarters of the Ns.  MMUSIM_FAILINJ_VERBOSE=1
 * prints the step each N landed in and what it returned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "test_util.h"
#include "mmu/kvm_host.h"

#define SWEEP_TSAN_STRIDE 4
#if defined(__SANITIZE_THREAD__)
#define SWEEP_DEFAULT_STRIDE SWEEP_TSAN_STRIDE
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SWEEP_DEFAULT_STRIDE SWEEP_TSAN_STRIDE
#endif
#endif
#ifndef SWEEP_DEFAULT_STRIDE
#define SWEEP_DEFAULT_STRIDE 1
#endif

#define MiB (1ULL << 20)

/* Guest layout: slot 0 4K pages, slot 1 THP, slot 2 hugetlb 2M. */
enum { SLOT_4K, SLOT_THP, SLOT_HUGETLB, NR_SLOTS };
static const gpa_t slot_gpa[NR_SLOTS] = { 0, 4 * MiB, 8 * MiB };
static const u64 slot_size[NR_SLOTS] = { 2 * MiB, 2 * MiB, 2 * MiB };
static const int slot_map_flags[NR_SLOTS] = {
	SIM_MAP_PRIVATE,
	SIM_MAP_PRIVATE | SIM_MAP_THP,
	SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M,
};
#define MAX_SLOT_PAGES (2 * MiB / PAGE_SIZE)

struct sweep_cfg {
	const char *name;
	struct mmusim_vm_config vm;
};

/*
 * The dry run's map: allocations made up to the end of each step, and the
 * addresses the mmaps returned.
 */
#define MAX_STEPS 64
struct sweep_map {
	unsigned long allocs_end[MAX_STEPS];
	hva_t hva[NR_SLOTS];
};

struct sweep {
	const struct sweep_cfg *cfg;
	struct sweep_map *map;
	unsigned long n; /* the allocation that fails; 0 in the dry run */
	const char *step; /* the step running */
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	hva_t hva[NR_SLOTS];
	/* What the injected failure did. */
	const char *hit_step;
	int hit_err; /* the step's error, 0 if it absorbed the failure */
};

#define sweep_fail(s, fmt, ...)                                                              \
	fail_msg("%s, allocation %lu: step \"%s\": " fmt, (s)->cfg->name, (s)->n, (s)->step, \
		 ##__VA_ARGS__)

static struct mmusim_vcpu *vcpu0(struct sweep *s)
{
	return mmusim_vm_vcpu(s->vm, 0);
}

static gpa_t slot_gpa_at(int slot, u64 offset)
{
	return slot_gpa[slot] + offset;
}

static hva_t slot_hva(struct sweep *s, int slot, u64 offset)
{
	return s->hva[slot] + offset;
}

/* A guest access that must complete: 0 or the access's errno. */
static int access(struct sweep *s, gpa_t gpa, int type)
{
	struct mmusim_exit exit;
	int r = mmusim_vcpu_access(vcpu0(s), gpa, type, &exit);

	if (r == 1)
		sweep_fail(s, "access at %#llx exited (%u)", (unsigned long long)gpa, exit.reason);
	return r;
}

/* The data each written page holds: its gpa, in its first and last word. */
static u64 mark_of(gpa_t gpa)
{
	return gpa ^ 0x5a5a5a5a00000000ULL;
}

static int write_marks(struct sweep *s, gpa_t gpa)
{
	u64 mark = mark_of(gpa);
	int r;

	r = mmusim_vcpu_write(vcpu0(s), gpa, &mark, sizeof(mark));
	if (!r)
		r = mmusim_vcpu_write(vcpu0(s), gpa + PAGE_SIZE - sizeof(mark), &mark,
				      sizeof(mark));
	return r;
}

/* The page at @gpa holds the marks written at @written (before a slot move). */
static int check_moved_marks(struct sweep *s, gpa_t gpa, gpa_t written)
{
	u64 a = 0, b = 0;
	int r;

	r = mmusim_vcpu_read(vcpu0(s), gpa, &a, sizeof(a));
	if (!r)
		r = mmusim_vcpu_read(vcpu0(s), gpa + PAGE_SIZE - sizeof(b), &b, sizeof(b));
	if (!r && (a != mark_of(written) || b != mark_of(written)))
		sweep_fail(s, "data at %#llx lost: %#llx/%#llx, want %#llx",
			   (unsigned long long)gpa, (unsigned long long)a, (unsigned long long)b,
			   (unsigned long long)mark_of(written));
	return r;
}

static int check_marks(struct sweep *s, gpa_t gpa)
{
	return check_moved_marks(s, gpa, gpa);
}

static int host_level(struct sweep *s, hva_t hva)
{
	struct sim_host_pte_info info;

	return sim_mm_lookup(s->mm, hva, &info) ? PG_LEVEL_NONE : info.level;
}

static int set_region_at(struct sweep *s, int slot, gpa_t gpa, u32 flags, u64 size)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = s->hva[slot],
	};

	return mmusim_vm_set_user_memory_region(s->vm, &r);
}

static int set_region(struct sweep *s, int slot, u32 flags, u64 size)
{
	return set_region_at(s, slot, slot_gpa[slot], flags, size);
}

/* KVM_GET_DIRTY_LOG (reaps and re-protects): exactly the pages @pages of @slot. */
static int expect_dirty(struct sweep *s, int slot, const unsigned int *pages, unsigned int nr)
{
	unsigned long bitmap[MAX_SLOT_PAGES / BITS_PER_LONG], want[ARRAY_SIZE(bitmap)] = { 0 };
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };
	unsigned int i, words = slot_size[slot] / PAGE_SIZE / BITS_PER_LONG;
	int r;

	memset(bitmap, 0xff, sizeof(bitmap));
	r = mmusim_vm_get_dirty_log(s->vm, &log);
	if (r)
		return r;
	for (i = 0; i < nr; i++)
		want[pages[i] / BITS_PER_LONG] |= 1ul << (pages[i] % BITS_PER_LONG);
	for (i = 0; i < words; i++)
		if (bitmap[i] != want[i])
			sweep_fail(s, "slot %d dirty bitmap word %u is %#lx, want %#lx", slot, i,
				   bitmap[i], want[i]);
	return 0;
}

static int write_pages(struct sweep *s, int slot, const unsigned int *pages, unsigned int nr)
{
	unsigned int i;
	int r;

	for (i = 0; i < nr; i++) {
		r = access(s, slot_gpa_at(slot, pages[i] * PAGE_SIZE), MMUSIM_ACCESS_WRITE);
		if (r)
			return r;
	}
	return 0;
}

/* ---------------------------------------------------------------------------
 * The steps.  Each returns 0 or a negative errno, and runs again after an
 * injected failure: each is idempotent once it has succeeded in part.
 */

static int step_host_create(struct sweep *s)
{
	struct sim_host_config hc = { .mem_bytes = 32 * MiB };

	return sim_host_create(&hc, &s->host);
}

static int step_mm_create(struct sweep *s)
{
	return sim_mm_create(s->host, &s->mm);
}

static int step_vm_create(struct sweep *s)
{
	int r = mmusim_vm_create(s->host, s->mm, &s->cfg->vm, &s->vm);

	if (!r)
		mmusim_vcpu_set_tlb_check(vcpu0(s), true);
	return r;
}

static int do_mmap(struct sweep *s, int slot)
{
	return sim_mmap(s->mm, 0, slot_size[slot], SIM_PROT_READ | SIM_PROT_WRITE,
			slot_map_flags[slot], &s->hva[slot]);
}

static int step_mmap_4k(struct sweep *s)
{
	return do_mmap(s, SLOT_4K);
}

static int step_mmap_thp(struct sweep *s)
{
	return do_mmap(s, SLOT_THP);
}

static int step_mmap_hugetlb(struct sweep *s)
{
	return do_mmap(s, SLOT_HUGETLB);
}

static int step_slot_4k(struct sweep *s)
{
	return set_region(s, SLOT_4K, 0, slot_size[SLOT_4K]);
}

static int step_slot_thp(struct sweep *s)
{
	return set_region(s, SLOT_THP, 0, slot_size[SLOT_THP]);
}

static int step_slot_hugetlb(struct sweep *s)
{
	return set_region(s, SLOT_HUGETLB, 0, slot_size[SLOT_HUGETLB]);
}

/* Writes to pages 0..3, a read of page 8 (the shared zero page). */
static int step_fault_4k(struct sweep *s)
{
	int i, r;

	for (i = 0; i < 4; i++) {
		r = write_marks(s, slot_gpa_at(SLOT_4K, i * PAGE_SIZE));
		if (r)
			return r;
	}
	return access(s, slot_gpa_at(SLOT_4K, 8 * PAGE_SIZE), MMUSIM_ACCESS_READ);
}

/* The THP and the hugetlb page (each slot is one 2M page). */
static int step_fault_thp(struct sweep *s)
{
	return write_marks(s, slot_gpa_at(SLOT_THP, 0x5000));
}

static int step_fault_hugetlb(struct sweep *s)
{
	return write_marks(s, slot_gpa_at(SLOT_HUGETLB, 0x5000));
}

/* A write to the zero page read above: copy-on-write, with change_pte. */
static int step_cow_break(struct sweep *s)
{
	return write_marks(s, slot_gpa_at(SLOT_4K, 8 * PAGE_SIZE));
}

static int step_migrate_4k(struct sweep *s)
{
	return sim_migrate_page(s->mm, slot_hva(s, SLOT_4K, PAGE_SIZE));
}

/* The THP moves whole (or one 4K page of it, where the THP fell back). */
static int step_migrate_thp(struct sweep *s)
{
	return sim_migrate_page(s->mm, slot_hva(s, SLOT_THP, 0x5000));
}

static int step_migrate_hugetlb(struct sweep *s)
{
	return sim_migrate_page(s->mm, slot_hva(s, SLOT_HUGETLB, 0x5000));
}

static int step_refault_migrated(struct sweep *s)
{
	int r = check_marks(s, slot_gpa_at(SLOT_4K, PAGE_SIZE));

	if (!r)
		r = check_marks(s, slot_gpa_at(SLOT_THP, 0x5000));
	if (!r)
		r = check_marks(s, slot_gpa_at(SLOT_HUGETLB, 0x5000));
	return r;
}

/*
 * Split the THP.  Where its fault fell back to 4K pages there is no THP to
 * split: the host says -EINVAL, which is the expected answer there.
 */
static int step_split_thp(struct sweep *s)
{
	hva_t hva = slot_hva(s, SLOT_THP, 0);
	bool thp = host_level(s, hva) == PG_LEVEL_2M;
	int r = sim_split_thp(s->mm, hva);

	return !thp && r == -EINVAL ? 0 : r;
}

static int step_refault_split(struct sweep *s)
{
	int r = check_marks(s, slot_gpa_at(SLOT_THP, 0x5000));

	if (!r)
		r = access(s, slot_gpa_at(SLOT_THP, 0x9000), MMUSIM_ACCESS_WRITE);
	return r;
}

static int step_swap_out_4k(struct sweep *s)
{
	return sim_swap_out(s->mm, slot_hva(s, SLOT_4K, 2 * PAGE_SIZE));
}

/* A 4K page of the split THP: the host splits the folio first (no THP swap). */
static int step_swap_out_thp(struct sweep *s)
{
	return sim_swap_out(s->mm, slot_hva(s, SLOT_THP, 0x5000));
}

static int step_swap_in(struct sweep *s)
{
	int r = check_marks(s, slot_gpa_at(SLOT_4K, 2 * PAGE_SIZE));

	if (!r)
		r = check_marks(s, slot_gpa_at(SLOT_THP, 0x5000));
	return r;
}

static int step_dirty_log_on_4k(struct sweep *s)
{
	return set_region(s, SLOT_4K, KVM_MEM_LOG_DIRTY_PAGES, slot_size[SLOT_4K]);
}

/* The hugetlb slot's 2M SPTEs are now mapped again at 4K by write faults. */
static int step_dirty_log_on_hugetlb(struct sweep *s)
{
	return set_region(s, SLOT_HUGETLB, KVM_MEM_LOG_DIRTY_PAGES, slot_size[SLOT_HUGETLB]);
}

static const unsigned int dirty_4k[] = { 0, 1, 2, 3 }, dirty_4k_again[] = { 1, 2 },
			  dirty_4k_last[] = { 3 }, dirty_hugetlb[] = { 5, 6, 300 };

static int step_dirty_writes(struct sweep *s)
{
	int r = write_pages(s, SLOT_4K, dirty_4k, ARRAY_SIZE(dirty_4k));

	if (!r)
		r = write_pages(s, SLOT_HUGETLB, dirty_hugetlb, ARRAY_SIZE(dirty_hugetlb));
	return r;
}

static int step_get_dirty_log(struct sweep *s)
{
	int r = expect_dirty(s, SLOT_4K, dirty_4k, ARRAY_SIZE(dirty_4k));

	if (!r)
		r = expect_dirty(s, SLOT_HUGETLB, dirty_hugetlb, ARRAY_SIZE(dirty_hugetlb));
	return r;
}

/* The get re-protected the pages: these writes fault again, and are logged. */
static int step_dirty_writes_again(struct sweep *s)
{
	int r = write_pages(s, SLOT_4K, dirty_4k_again, ARRAY_SIZE(dirty_4k_again));

	if (!r)
		r = write_pages(s, SLOT_HUGETLB, dirty_hugetlb, 1);
	return r;
}

static int clear_dirty_log(struct sweep *s, int slot)
{
	unsigned long bitmap[MAX_SLOT_PAGES / BITS_PER_LONG];
	struct kvm_clear_dirty_log log = {
		.slot = slot,
		.num_pages = slot_size[slot] / PAGE_SIZE,
		.dirty_bitmap = bitmap,
	};

	memset(bitmap, 0xff, sizeof(bitmap));
	return mmusim_vm_clear_dirty_log(s->vm, &log);
}

static int step_clear_dirty_log(struct sweep *s)
{
	int r = clear_dirty_log(s, SLOT_4K);

	if (!r)
		r = clear_dirty_log(s, SLOT_HUGETLB);
	return r;
}

/* The clear took the bits of those writes and re-protected; a new write is logged. */
static int step_get_after_clear(struct sweep *s)
{
	int r = expect_dirty(s, SLOT_4K, NULL, 0);

	if (!r)
		r = expect_dirty(s, SLOT_HUGETLB, NULL, 0);
	if (!r)
		r = write_pages(s, SLOT_4K, dirty_4k_last, ARRAY_SIZE(dirty_4k_last));
	if (!r)
		r = expect_dirty(s, SLOT_4K, dirty_4k_last, ARRAY_SIZE(dirty_4k_last));
	return r;
}

static int step_dirty_log_off_4k(struct sweep *s)
{
	return set_region(s, SLOT_4K, 0, slot_size[SLOT_4K]);
}

static int step_dirty_log_off_hugetlb(struct sweep *s)
{
	return set_region(s, SLOT_HUGETLB, 0, slot_size[SLOT_HUGETLB]);
}

static int step_slot_delete(struct sweep *s)
{
	return set_region(s, SLOT_THP, 0, 0);
}

/* The deleted slot's gpa is MMIO now; the others still map their data. */
static int step_after_delete(struct sweep *s)
{
	struct mmusim_exit exit;
	int r;

	r = mmusim_vcpu_access(vcpu0(s), slot_gpa_at(SLOT_THP, 0x5000), MMUSIM_ACCESS_READ, &exit);
	if (r < 0)
		return r;
	if (r != 1 || exit.reason != KVM_EXIT_MMIO)
		sweep_fail(s, "access to a deleted slot: %d, exit %u", r, exit.reason);
	r = check_marks(s, slot_gpa_at(SLOT_4K, 0));
	if (!r)
		r = check_marks(s, slot_gpa_at(SLOT_4K, 8 * PAGE_SIZE));
	if (!r)
		r = check_marks(s, slot_gpa_at(SLOT_HUGETLB, 0x5000));
	return r;
}

/* The hugetlb slot moves up by 8M; its old gpa is MMIO now. */
#define MOVED_GPA (slot_gpa[SLOT_HUGETLB] + 8 * MiB)

static int step_slot_move(struct sweep *s)
{
	return set_region_at(s, SLOT_HUGETLB, MOVED_GPA, 0, slot_size[SLOT_HUGETLB]);
}

static int step_after_move(struct sweep *s)
{
	struct mmusim_exit exit;
	int r;

	r = mmusim_vcpu_access(vcpu0(s), slot_gpa_at(SLOT_HUGETLB, 0x5000), MMUSIM_ACCESS_WRITE,
			       &exit);
	if (r < 0)
		return r;
	if (r != 1 || exit.reason != KVM_EXIT_MMIO)
		sweep_fail(s, "access to a moved slot's old gpa: %d, exit %u", r, exit.reason);
	r = check_moved_marks(s, MOVED_GPA + 0x5000, slot_gpa_at(SLOT_HUGETLB, 0x5000));
	return r ?: write_marks(s, MOVED_GPA + 0x7000);
}

static int step_vm_destroy(struct sweep *s)
{
	mmusim_vm_destroy(s->vm);
	s->vm = NULL;
	return 0;
}

static int step_mm_destroy(struct sweep *s)
{
	sim_mm_destroy(s->mm);
	s->mm = NULL;
	return 0;
}

static int step_host_destroy(struct sweep *s)
{
	sim_host_destroy(s->host);
	s->host = NULL;
	return 0;
}

/* How a step may fail. */
#define STEP_ACCESS 0x1 /* a guest access: -EFAULT stands for -ENOMEM too */
#define STEP_ATOMIC 0x2 /* leaves memslots and host mappings as they were */

struct sweep_step {
	const char *name;
	int (*fn)(struct sweep *s);
	unsigned int flags;
};

static const struct sweep_step steps[] = {
	{ "host create", step_host_create, 0 },
	{ "mm create", step_mm_create, 0 },
	{ "VM create", step_vm_create, 0 },
	{ "mmap 4K", step_mmap_4k, STEP_ATOMIC },
	{ "mmap THP", step_mmap_thp, STEP_ATOMIC },
	{ "mmap hugetlb", step_mmap_hugetlb, STEP_ATOMIC },
	{ "memslot 4K", step_slot_4k, STEP_ATOMIC },
	{ "memslot THP", step_slot_thp, STEP_ATOMIC },
	{ "memslot hugetlb", step_slot_hugetlb, STEP_ATOMIC },
	{ "fault 4K", step_fault_4k, STEP_ACCESS },
	{ "fault THP", step_fault_thp, STEP_ACCESS },
	{ "fault hugetlb", step_fault_hugetlb, STEP_ACCESS },
	{ "COW break", step_cow_break, STEP_ACCESS },
	{ "migrate 4K", step_migrate_4k, STEP_ATOMIC },
	{ "migrate THP", step_migrate_thp, STEP_ATOMIC },
	{ "migrate hugetlb", step_migrate_hugetlb, STEP_ATOMIC },
	{ "refault migrated", step_refault_migrated, STEP_ACCESS },
	{ "THP split", step_split_thp, STEP_ATOMIC },
	{ "refault split", step_refault_split, STEP_ACCESS },
	{ "swap out 4K", step_swap_out_4k, STEP_ATOMIC },
	{ "swap out THP", step_swap_out_thp, 0 }, /* may split the THP, then fail */
	{ "swap in", step_swap_in, STEP_ACCESS },
	{ "dirty log on 4K", step_dirty_log_on_4k, STEP_ATOMIC },
	{ "dirty log on hugetlb", step_dirty_log_on_hugetlb, STEP_ATOMIC },
	{ "dirty writes", step_dirty_writes, STEP_ACCESS },
	{ "get dirty log", step_get_dirty_log, STEP_ATOMIC },
	{ "dirty writes again", step_dirty_writes_again, STEP_ACCESS },
	{ "clear dirty log", step_clear_dirty_log, STEP_ATOMIC },
	{ "get after clear", step_get_after_clear, STEP_ACCESS },
	{ "dirty log off 4K", step_dirty_log_off_4k, STEP_ATOMIC },
	{ "dirty log off hugetlb", step_dirty_log_off_hugetlb, STEP_ATOMIC },
	{ "memslot delete", step_slot_delete, STEP_ATOMIC },
	{ "access after delete", step_after_delete, STEP_ACCESS },
	{ "memslot move", step_slot_move, STEP_ATOMIC },
	{ "access after move", step_after_move, STEP_ACCESS },
	{ "VM destroy", step_vm_destroy, 0 },
	{ "mm destroy", step_mm_destroy, 0 },
	{ "host destroy", step_host_destroy, 0 },
};
static_assert(ARRAY_SIZE(steps) <= MAX_STEPS, "sweep_map.allocs_end is too small");

/* ---------------------------------------------------------------------------
 * Checks.
 */

/* What a failed atomic step must leave unchanged. */
struct sweep_print {
	u64 host, memslots;
};

static u64 mix(u64 h, u64 v)
{
	return (h ^ v) * 0x100000001b3ULL; /* FNV-1a, a word at a time */
}

/* A memslot as userspace set it, plus its INVALID flag and dirty bitmap. */
static u64 mix_memslot(u64 h, const struct kvm_memory_slot *slot)
{
	unsigned long i;

	h = mix(h, slot->as_id << 16 | slot->id);
	h = mix(h, slot->base_gfn);
	h = mix(h, slot->npages);
	h = mix(h, slot->userspace_addr);
	h = mix(h, slot->flags);
	h = mix(h, !!slot->dirty_bitmap);
	for (i = 0; slot->dirty_bitmap && i < slot->npages / BITS_PER_LONG; i++)
		h = mix(h, slot->dirty_bitmap[i]);
	return h;
}

static void fingerprint(struct sweep *s, struct sweep_print *p)
{
	struct kvm_memslots *slots;
	struct kvm *kvm;
	int i, as_id, bkt, idx;
	u64 off;

	p->host = p->memslots = 0xcbf29ce484222325ULL;
	for (i = 0; s->mm && i < NR_SLOTS; i++) {
		for (off = 0; s->hva[i] && off < slot_size[i]; off += PAGE_SIZE) {
			struct sim_host_pte_info info = { 0 };
			int r = sim_mm_lookup(s->mm, slot_hva(s, i, off), &info);

			p->host = mix(p->host, r);
			p->host = mix(p->host, info.pfn);
			p->host = mix(p->host, info.level * 2 + info.writable);
		}
	}
	if (!s->vm)
		return;
	kvm = mmusim_to_kvm(s->vm);
	idx = srcu_read_lock(&kvm->slots.srcu);
	for (as_id = 0; as_id < kvm->slots.nr_as; as_id++) {
		slots = kvm_memslots_as(&kvm->slots, as_id);
		for (bkt = 0; bkt < slots->nr_slots; bkt++) /* kvm_for_each_memslot() */
			p->memslots = mix_memslot(p->memslots, slots->gfn_slots[bkt]);
	}
	srcu_read_unlock(&kvm->slots.srcu, idx);
}

/*
 * Between steps: no WARN, the invariant checker clean, and nothing left
 * half-done that the checker tolerates or that would only hang a later step
 * (an invalidation never ended, a lock or RCU reader never released).
 */
static void check_state(struct sweep *s)
{
	struct kvm *kvm = s->vm ? mmusim_to_kvm(s->vm) : NULL;
	char msg[256];

	if (env_warn_count())
		sweep_fail(s, "%lu WARN(s)", env_warn_count());
	if (env_spinning_locks_held() || rcu_read_lock_held() || srcu_read_lock_held(NULL))
		sweep_fail(s, "returned holding a spinning lock or inside an RCU or SRCU reader");
	if (s->mm && sim_mm_invalidate_in_progress(s->mm))
		sweep_fail(s, "returned inside a host invalidation");
	if (!kvm)
		return;
	if (kvm->mmu_invalidate_in_progress)
		sweep_fail(s, "returned with mmu_invalidate_in_progress %ld",
			   kvm->mmu_invalidate_in_progress);
	if (env_lock_held(&kvm->slots.slots_lock, ENV_HELD_ANY) ||
	    env_lock_held(&kvm->slots.slots_arch_lock, ENV_HELD_ANY))
		sweep_fail(s, "returned holding slots_lock or slots_arch_lock");
	if (mmusim_vm_check(s->vm, msg, sizeof(msg)))
		sweep_fail(s, "mmusim_vm_check: %s", msg);
}

static void run_step(struct sweep *s, unsigned int i)
{
	const struct sweep_step *st = &steps[i];
	struct sweep_print before, after;
	unsigned long first = i ? s->map->allocs_end[i - 1] : 0;
	bool lands = s->n > first && s->n <= s->map->allocs_end[i];
	bool hit;
	int r;

	s->step = st->name;
	if (lands && (st->flags & STEP_ATOMIC))
		fingerprint(s, &before);
	r = st->fn(s);
	hit = s->n && !s->hit_step && env_fail_injected();
	if (!s->n)
		s->map->allocs_end[i] = env_alloc_attempts();
	else if (hit != lands)
		sweep_fail(s, "the failure %s in this step, the dry run says it %s",
			   hit ? "landed" : "did not land", lands ? "does" : "does not");
	if (hit) {
		/* Everything after the failure runs without injection. */
		env_fail_clear();
		s->hit_step = st->name;
		s->hit_err = r;
	}
	check_state(s);
	if (!r)
		return;
	if (!hit)
		sweep_fail(s, "failed with %d, no allocation failure injected in it", r);
	if (r != -ENOMEM && !((st->flags & STEP_ACCESS) && r == -EFAULT))
		sweep_fail(s, "an allocation failure returned %d", r);
	if (st->flags & STEP_ATOMIC) {
		fingerprint(s, &after);
		if (after.host != before.host)
			sweep_fail(s, "failed with %d but changed the host mappings", r);
		if (after.memslots != before.memslots)
			sweep_fail(s, "failed with %d but changed the memslots", r);
	}
	r = st->fn(s);
	if (r)
		sweep_fail(s, "failed again on retry: %d", r);
	check_state(s);
}

/* One run of the scenario; @n 0 is the dry run, which fills in @map. */
static void run_scenario(struct sweep *s, const struct sweep_cfg *cfg, struct sweep_map *map,
			 unsigned long n, long live_before)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->map = map;
	s->n = n;
	if (n)
		env_fail_nth(n);
	else
		env_fail_count();
	for (i = 0; i < ARRAY_SIZE(steps); i++)
		run_step(s, i);
	s->step = "teardown";
	env_fail_clear();
	if (n && !s->hit_step)
		sweep_fail(s, "allocation %lu was never reached", n);
	if (!n)
		memcpy(map->hva, s->hva, sizeof(map->hva));
	else if (memcmp(map->hva, s->hva, sizeof(map->hva)))
		sweep_fail(s, "the mmaps returned other addresses than in the dry run");
	rcu_barrier();
	if (env_live_objects() != live_before)
		sweep_fail(s, "live objects %ld -> %ld", live_before, env_live_objects());
}

/* ---------------------------------------------------------------------------
 * The sweep.
 */

struct sweep_totals {
	unsigned long configs, allocs, runs, failed, absorbed;
};

static unsigned long sweep_stride(void)
{
	const char *v = getenv("MMUSIM_FAILINJ_STRIDE");
	unsigned long k = v && *v ? strtoul(v, NULL, 0) : SWEEP_DEFAULT_STRIDE;

	return k ? k : 1;
}

static void sweep_one(const struct sweep_cfg *cfg, unsigned long stride, unsigned long first,
		      struct sweep_totals *tot)
{
	unsigned long total, n, runs = 0, failed = 0;
	bool verbose = getenv("MMUSIM_FAILINJ_VERBOSE");
	long live = env_live_objects();
	struct sweep_map map;
	struct sweep s;

	run_scenario(&s, cfg, &map, 0, live);
	total = map.allocs_end[ARRAY_SIZE(steps) - 1];
	assert_true(total > 0);
	for (n = first; n <= total; n += stride) {
		run_scenario(&s, cfg, &map, n, live);
		if (verbose)
			fprintf(stderr, "    %s, allocation %lu: %s: %d\n", cfg->name, n,
				s.hit_step, s.hit_err);
		runs++;
		failed += !!s.hit_err;
	}
	fprintf(stderr, "  %-20s %4lu allocations, %4lu runs: %4lu failed a step, %4lu absorbed\n",
		cfg->name, total, runs, failed, runs - failed);
	tot->configs++;
	tot->allocs += total;
	tot->runs += runs;
	tot->failed += failed;
	tot->absorbed += runs - failed;
}

static void sweep(int mmu)
{
	static const struct {
		const char *name;
		int tdp_mode, root_level;
	} modes[] = {
		{ "EPT 4-level", MMUSIM_TDP_EPT, 4 },
		{ "EPT 5-level", MMUSIM_TDP_EPT, 5 },
		{ "NPT 4-level", MMUSIM_TDP_NPT, 4 },
		{ "NPT 5-level", MMUSIM_TDP_NPT, 5 },
	};
	unsigned long stride = sweep_stride(), first = 1;
	struct sweep_totals tot = { 0 };
	struct timespec t0, t1;
	unsigned int i;

	if (stride > 1)
		first = 1 + mmusim_test_seed() % stride;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		char name[40];
		struct sweep_cfg cfg = {
			.name = name,
			.vm = {
				.mmu = mmu,
				.tdp_mode = modes[i].tdp_mode,
				.root_level = modes[i].root_level,
			},
		};

		snprintf(name, sizeof(name), "%s %s", mmu == MMUSIM_MMU_TDP ? "TDP" : "legacy",
			 modes[i].name);
		sweep_one(&cfg, stride, first, &tot);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr,
		"  %lu configurations, %lu allocations, %lu runs (every %lu from %lu): "
		"%lu failed a step, %lu absorbed, %.1f s\n",
		tot.configs, tot.allocs, tot.runs, stride, first, tot.failed, tot.absorbed,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

static void test_failinj_sweep_tdp(void **state)
{
	sweep(MMUSIM_MMU_TDP);
}

static void test_failinj_sweep_legacy(void **state)
{
	sweep(MMUSIM_MMU_LEGACY);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_failinj_sweep_tdp),
		MMUSIM_TEST(test_failinj_sweep_legacy),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("failinj_sweep", tests);
}
