// SPDX-License-Identifier: GPL-2.0-only
/*
 * Simulated host address spaces (struct sim_mm): creation and teardown,
 * VMAs, mmap, RLIMIT_MEMLOCK accounting.
 *
 * An mm is a sorted list of VMAs over [SIM_MMAP_MIN_ADDR, SIM_TASK_SIZE),
 * 4-level host page tables (pgtable.c) filled by demand faults (fault.c),
 * host events that change mappings (mm_ops.c), GUP (gup.c) and MMU
 * notifiers (mmu_notifier.c); sim_mm_fork() (fork.c) copies one.  There is
 * no file mapping: memory is anonymous (private, or shared like shmem),
 * hugetlb (2M/1G), or VM_IO | VM_PFNMAP (sim_mmap_pfn(), remap_pfn_range()).
 *
 * Locking model (what Linux does on x86-64, split page-table locks included):
 *
 *   mmap_lock (rw_semaphore)
 *     read:  faults, sim_mm_touch/read/write, GUP, MADV_DONTNEED, migration,
 *            THP split, swap-out, aging, sim_mm_vma_flags
 *     write: mmap, munmap, mprotect, MADV_(NO)HUGEPAGE, MADV_COLLAPSE, fork,
 *            notifier registration, account_locked_vm, teardown
 *     The VMA list, locked_vm and the layout of page tables (which tables
 *     may be freed) are protected by it.
 *   page-table locks (spinlocks), nest inside mmap_lock: every entry
 *     change and table link, under the lock of the table the entry lies
 *     in: a PTE or PMD table's own lock, mm->page_table_lock for PUD and
 *     PGD entries (pgtable.c, "split page-table locks").  One at a time
 *     (MADV_COLLAPSE nests PMD -> PTE).  Never held while allocating with
 *     GFP_KERNEL or calling a notifier.
 *   notifier_lock (spinlock): notifier list changes; walks use notifier_srcu.
 *   inv_lock (spinlock): the invalidation count and sequence.
 *   host->mm_list_lock: the host's list of mms.
 *
 *   Lock order: mmap_lock -> notifier_srcu (read) -> [the notifier's own
 *   locks, e.g. kvm->mmu_lock] ; mmap_lock -> page-table lock -> zone lock.
 *
 * Notifier protocol, for every change of an existing translation (PFN
 * change, unmap, permission removal, huge <-> small):
 *
 *   1. invalidate_range_start(range)   mmap_lock held, no page-table lock;
 *                                      the mm's sequence becomes odd first
 *   2. take the page-table locks, change the entries, drop them
 *   3. invalidate_range_end(range)     the sequence becomes even again
 *   4. drop the references of the unmapped frames, free unlinked tables
 *      after an RCU grace period
 *
 * Secondary MMUs (KVM) zap in 1 and refuse to install translations for the
 * range until 3 (their own count and sequence, or the mm's:
 * sim_mm_invalidate_read_begin/retry), so no secondary translation can point
 * to a frame the host no longer maps.  New mappings (none -> present), swap-in
 * and W/A/D upgrades need no invalidation: no secondary MMU can map what the
 * host did not map, and a stale read-only mapping is only more restrictive.
 *
 * Lifetime: sim_mm_destroy() tears the address space down (UNMAP events,
 * then ->release on every notifier) and drops the owner's reference;
 * notifier registration holds a reference (mmgrab), so a notifier may be
 * unregistered after the mm was destroyed, as KVM does when the VM outlives
 * the process's exit_mmap().
 */
#include "mmusim_env.h"
#include "host/mm_internal.h"

/* ======================== VMAs ======================== */

/* find_vma(): the first VMA ending above @addr, or NULL. */
struct sim_vma *sim_find_vma(struct sim_mm *mm, hva_t addr)
{
	struct sim_vma *vma;

	lockdep_assert_held(&mm->mmap_lock);
	list_for_each_entry(vma, &mm->vmas, node)
		if (vma->vm_end > addr)
			return vma;
	return NULL;
}

/* vma_lookup(): the VMA containing @addr, or NULL. */
struct sim_vma *sim_vma_lookup(struct sim_mm *mm, hva_t addr)
{
	struct sim_vma *vma = sim_find_vma(mm, addr);

	return vma && vma->vm_start <= addr ? vma : NULL;
}

struct sim_vma *sim_vma_next(struct sim_mm *mm, struct sim_vma *vma)
{
	return vma->node.next == &mm->vmas ? NULL : list_next_entry(vma, node);
}

struct sim_vma *sim_vma_prev(struct sim_mm *mm, struct sim_vma *vma)
{
	if (vma->node.prev == &mm->vmas)
		return NULL;
	return list_entry(vma->node.prev, struct sim_vma, node);
}

/* True if some address of [start, end) has no VMA. */
bool sim_range_has_hole(struct sim_mm *mm, hva_t start, hva_t end)
{
	struct sim_vma *vma = sim_find_vma(mm, start);
	hva_t addr = start;

	for (; vma && addr < end; vma = sim_vma_next(mm, vma)) {
		if (vma->vm_start > addr)
			return true;
		addr = vma->vm_end;
	}
	return addr < end;
}

/* hugetlb_vm_op_split(): a hugetlb VMA splits only at huge page boundaries. */
bool sim_vma_split_ok(struct sim_vma *vma, hva_t addr)
{
	if (addr <= vma->vm_start || addr >= vma->vm_end || !sim_vma_hugetlb(vma))
		return true;
	return IS_ALIGNED(addr, sim_level_size(vma->hpage_level));
}

bool sim_vma_thp_eligible(struct sim_vma *vma, hva_t haddr)
{
	unsigned long f = vma->vm_flags;

	return (f & SIM_VM_HUGEPAGE) && !(f & SIM_VM_NOHUGEPAGE) &&
	       !(f & (SIM_VM_HUGETLB | SIM_VM_SPECIAL)) && haddr >= vma->vm_start &&
	       haddr + SZ_2M <= vma->vm_end;
}

/*
 * VMA structs needed by a layout change are allocated before anything
 * changes, so that the change itself cannot fail halfway.
 */
int sim_vma_prealloc(struct sim_vma **v, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		v[i] = kzalloc(sizeof(*v[i]), GFP_KERNEL);
		if (!v[i]) {
			sim_vma_prealloc_free(v, i);
			return -ENOMEM;
		}
	}
	return 0;
}

void sim_vma_prealloc_free(struct sim_vma **v, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		kfree(v[i]);
		v[i] = NULL;
	}
}

struct sim_vma *sim_vma_take(struct sim_vma **v, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (v[i]) {
			struct sim_vma *vma = v[i];

			v[i] = NULL;
			return vma;
		}
	}
	BUG();
}

/* Split @vma at @addr; @upper becomes [addr, vm_end). */
void sim_vma_split(struct sim_mm *mm, struct sim_vma *vma, hva_t addr, struct sim_vma *upper)
{
	lockdep_assert_held_write(&mm->mmap_lock);
	WARN_ON(addr <= vma->vm_start || addr >= vma->vm_end || !PAGE_ALIGNED(addr));
	*upper = *vma;
	upper->vm_start = addr;
	if (vma->vm_flags & SIM_VM_PFNMAP)
		upper->pfn_base = vma->pfn_base + ((addr - vma->vm_start) >> PAGE_SHIFT);
	vma->vm_end = addr;
	list_add(&upper->node, &vma->node);
	mm->nr_vmas++;
}

void sim_vma_remove(struct sim_mm *mm, struct sim_vma *vma)
{
	lockdep_assert_held_write(&mm->mmap_lock);
	list_del(&vma->node);
	mm->nr_vmas--;
	kfree(vma);
}

/* Anonymous VMAs with the same flags merge; hugetlb and VM_PFNMAP never do. */
static bool vma_mergeable(struct sim_vma *a, struct sim_vma *b)
{
	return a->vm_end == b->vm_start && a->vm_flags == b->vm_flags &&
	       !(a->vm_flags & (SIM_VM_HUGETLB | SIM_VM_SPECIAL));
}

/* Merge @vma with its neighbours where possible; returns the result. */
struct sim_vma *sim_vma_merge_around(struct sim_mm *mm, struct sim_vma *vma)
{
	struct sim_vma *prev = sim_vma_prev(mm, vma), *next = sim_vma_next(mm, vma);

	lockdep_assert_held_write(&mm->mmap_lock);
	if (next && vma_mergeable(vma, next)) {
		vma->vm_end = next->vm_end;
		sim_vma_remove(mm, next);
	}
	if (prev && vma_mergeable(prev, vma)) {
		prev->vm_end = vma->vm_end;
		sim_vma_remove(mm, vma);
		vma = prev;
	}
	return vma;
}

static void vma_insert(struct sim_mm *mm, struct sim_vma *new)
{
	struct sim_vma *vma = sim_find_vma(mm, new->vm_start);

	list_add_tail(&new->node, vma ? &vma->node : &mm->vmas);
	mm->nr_vmas++;
}

/* ======================== mm lifetime ======================== */

int sim_mm_create(struct sim_host *host, struct sim_mm **mmp)
{
	struct sim_mm *mm;
	int r;

	might_sleep();
	if (!host || !mmp)
		return -EINVAL;
	mm = kzalloc(sizeof(*mm), GFP_KERNEL);
	if (!mm)
		return -ENOMEM;
	mm->host = host;
	atomic_set(&mm->mm_count, 1);
	init_rwsem(&mm->mmap_lock);
	INIT_LIST_HEAD(&mm->vmas);
	spin_lock_init(&mm->page_table_lock);
	spin_lock_init(&mm->notifier_lock);
	INIT_LIST_HEAD(&mm->notifiers);
	spin_lock_init(&mm->inv_lock);
	mm->memlock_limit = host->memlock_limit ? host->memlock_limit : SIM_DEFAULT_MEMLOCK;

	r = sim_pgtable_init(mm);
	if (r)
		goto err_free;
	/*
	 * Linux has one zero page for the system; here each mm has its own,
	 * shared by all its private mappings, so that a host holds no page
	 * once its mms are gone.
	 */
	mm->zero_page = sim_alloc_pages(host, GFP_KERNEL | __GFP_ZERO, 0);
	if (!mm->zero_page) {
		r = -ENOMEM;
		goto err_pgd;
	}
	mm->zero_pfn = sim_page_to_pfn(host, mm->zero_page);
	r = init_srcu_struct(&mm->notifier_srcu);
	if (r)
		goto err_zero;

	spin_lock(&host->mm_list_lock);
	list_add_tail(&mm->mm_node, &host->mm_list);
	spin_unlock(&host->mm_list_lock);
	*mmp = mm;
	return 0;

err_zero:
	sim_put_page(host, mm->zero_page);
err_pgd:
	sim_pgtable_free_pgd(mm);
err_free:
	kfree(mm);
	return r;
}

/* mmdrop(): the last reference frees the struct. */
void sim_mm_drop(struct sim_mm *mm)
{
	if (!atomic_dec_and_test(&mm->mm_count))
		return;
	sim_pgtable_free_pgd(mm);
	cleanup_srcu_struct(&mm->notifier_srcu);
	kfree(mm);
}

void sim_mm_destroy(struct sim_mm *mm)
{
	struct sim_host *host;
	struct sim_mmu_gather tlb;
	struct sim_vma *vma;

	if (!mm)
		return;
	might_sleep();
	host = mm->host;
	down_write(&mm->mmap_lock);
	if (WARN_ON(mm->dead)) {
		up_write(&mm->mmap_lock);
		return;
	}
	sim_tlb_gather_init(&tlb, mm);
	/* exit_mmap(): unmap every VMA, with the notifiers still listening. */
	while ((vma = list_first_entry_or_null(&mm->vmas, struct sim_vma, node))) {
		struct sim_mmu_notifier_range range;

		sim_mn_range_init(&range, mm, vma->vm_start, vma->vm_end, SIM_MMU_NOTIFY_UNMAP);
		sim_mn_invalidate_range_start(&range);
		sim_zap_range(mm, vma, vma->vm_start, vma->vm_end, &tlb);
		sim_mn_invalidate_range_end(&range);
		sim_vma_remove(mm, vma);
	}
	sim_tlb_flush(&tlb);
	sim_free_pgtables(mm, 0, SIM_TASK_SIZE, &tlb);
	sim_tlb_flush(&tlb);
	WRITE_ONCE(mm->locked_vm, 0);
	mm->dead = true;
	up_write(&mm->mmap_lock);

	sim_mn_release(mm);

	spin_lock(&host->mm_list_lock);
	list_del_init(&mm->mm_node);
	spin_unlock(&host->mm_list_lock);
	sim_put_page(host, mm->zero_page);
	mm->zero_page = NULL;
	sim_mm_drop(mm);
}

struct sim_host *sim_mm_host(struct sim_mm *mm)
{
	return mm ? mm->host : NULL;
}

/* ======================== RLIMIT_MEMLOCK ======================== */

/* __account_locked_vm(); mmap_lock held for write. */
static int sim_account_locked_vm_locked(struct sim_mm *mm, unsigned long npages, bool inc)
{
	unsigned long locked = mm->locked_vm;
	u64 limit = READ_ONCE(mm->memlock_limit) >> PAGE_SHIFT;

	lockdep_assert_held_write(&mm->mmap_lock);
	if (inc) {
		if (locked + npages < locked)
			return -ENOMEM;
		if (locked + npages > limit && !sim_mm_capable_ipc_lock(mm))
			return -ENOMEM;
		WRITE_ONCE(mm->locked_vm, locked + npages);
		return 0;
	}
	/* Linux WARNs and goes on; so do we, without wrapping around. */
	if (WARN_ON_ONCE(npages > locked))
		npages = locked;
	WRITE_ONCE(mm->locked_vm, locked - npages);
	return 0;
}

int sim_account_locked_vm(struct sim_mm *mm, unsigned long npages, bool inc)
{
	int r;

	if (!mm)
		return -EINVAL;
	if (!npages)
		return 0;
	down_write(&mm->mmap_lock);
	r = sim_account_locked_vm_locked(mm, npages, inc);
	up_write(&mm->mmap_lock);
	return r;
}

u64 sim_mm_locked_vm(struct sim_mm *mm)
{
	return mm ? READ_ONCE(mm->locked_vm) : 0;
}

int sim_mm_set_memlock_limit(struct sim_mm *mm, u64 bytes)
{
	if (!mm)
		return -EINVAL;
	WRITE_ONCE(mm->memlock_limit, bytes);
	return 0;
}

u64 sim_mm_memlock_limit(struct sim_mm *mm)
{
	return mm ? READ_ONCE(mm->memlock_limit) : 0;
}

int sim_mm_set_cap_ipc_lock(struct sim_mm *mm, bool cap)
{
	if (!mm)
		return -EINVAL;
	WRITE_ONCE(mm->cap_ipc_lock, cap);
	return 0;
}

bool sim_mm_capable_ipc_lock(struct sim_mm *mm)
{
	return mm && READ_ONCE(mm->cap_ipc_lock);
}

/* mlock_future_ok(): would @len more locked bytes stay within the limit? */
static bool sim_mlock_future_ok(struct sim_mm *mm, u64 len)
{
	u64 limit = READ_ONCE(mm->memlock_limit) >> PAGE_SHIFT;
	u64 locked = mm->locked_vm + (len >> PAGE_SHIFT);

	return locked <= limit || sim_mm_capable_ipc_lock(mm);
}

/* ======================== mmap ======================== */

static unsigned long sim_calc_vm_prot_bits(int prot)
{
	unsigned long f = 0;

	if (prot & SIM_PROT_READ)
		f |= SIM_VM_READ;
	if (prot & SIM_PROT_WRITE)
		f |= SIM_VM_WRITE;
	if (prot & SIM_PROT_EXEC)
		f |= SIM_VM_EXEC;
	return f;
}

#define SIM_PROT_ALL (SIM_PROT_READ | SIM_PROT_WRITE | SIM_PROT_EXEC)
#define SIM_MAP_ALL                                                                   \
	(SIM_MAP_SHARED | SIM_MAP_PRIVATE | SIM_MAP_FIXED | SIM_MAP_HUGETLB_2M |       \
	 SIM_MAP_HUGETLB_1G | SIM_MAP_LOCKED | SIM_MAP_POPULATE | SIM_MAP_THP)

static bool range_is_free(struct sim_mm *mm, hva_t start, hva_t end)
{
	struct sim_vma *vma = sim_find_vma(mm, start);

	return !vma || vma->vm_start >= end;
}

/* Highest @align-aligned start of @len bytes in a gap of [low, high). */
static hva_t find_gap_topdown(struct sim_mm *mm, u64 len, u64 align, hva_t low, hva_t high)
{
	struct list_head *pos;
	hva_t gap_end = high;

	for (pos = mm->vmas.prev; pos != &mm->vmas; pos = pos->prev) {
		struct sim_vma *vma = list_entry(pos, struct sim_vma, node);

		if (vma->vm_start >= gap_end)
			continue;
		if (vma->vm_end < gap_end && gap_end - vma->vm_end >= len) {
			hva_t cand = ALIGN_DOWN(gap_end - len, align);

			if (cand >= vma->vm_end && cand >= low)
				return cand;
		}
		gap_end = vma->vm_start;
		if (gap_end <= low)
			return 0;
	}
	if (gap_end >= low + len) {
		hva_t cand = ALIGN_DOWN(gap_end - len, align);

		if (cand >= low)
			return cand;
	}
	return 0;
}

/*
 * get_unmapped_area(): the hint if it is free, else top-down from
 * SIM_MMAP_BASE, else anywhere.  0 if nothing fits.
 */
static hva_t sim_get_unmapped_area(struct sim_mm *mm, hva_t hint, u64 len, u64 align)
{
	hva_t addr;

	if (hint) {
		hint = ALIGN(hint, align);
		if (hint >= SIM_MMAP_MIN_ADDR && hint <= SIM_TASK_SIZE - len &&
		    range_is_free(mm, hint, hint + len))
			return hint;
	}
	addr = find_gap_topdown(mm, len, align, SIM_MMAP_MIN_ADDR, SIM_MMAP_BASE);
	if (!addr)
		addr = find_gap_topdown(mm, len, align, SIM_MMAP_MIN_ADDR, SIM_TASK_SIZE);
	return addr;
}

/* mm_populate() of [start, end): errors are ignored, as Linux does. */
static void populate_range(struct sim_mm *mm, hva_t start, hva_t end)
{
	struct sim_vma *vma = sim_vma_lookup(mm, start);
	bool write;
	u64 step;
	hva_t addr;

	if (!vma || !sim_vma_accessible(vma) || (vma->vm_flags & SIM_VM_SPECIAL))
		return;
	/* A private writable mapping is populated for write, avoiding later COW. */
	write = (vma->vm_flags & (SIM_VM_WRITE | SIM_VM_SHARED)) == SIM_VM_WRITE;
	step = sim_level_size(vma->hpage_level);
	for (addr = start; addr < end; addr += step) {
		struct sim_follow res;

		if (!sim_follow_page(mm, vma, addr, write, 0, &res))
			continue;
		if (sim_handle_mm_fault(mm, vma, addr, write ? SIM_FAULT_WRITE : 0))
			return;
	}
}

int sim_mmap(struct sim_mm *mm, hva_t hint, u64 len, int prot, int flags, hva_t *addrp)
{
	int type = flags & (SIM_MAP_SHARED | SIM_MAP_PRIVATE);
	int hlevel = PG_LEVEL_4K;
	unsigned long vm_flags;
	struct sim_vma *vma;
	u64 hsize, align;
	hva_t addr;
	int r = 0;

	if (!mm || !addrp)
		return -EINVAL;
	if ((prot & ~SIM_PROT_ALL) || (flags & ~SIM_MAP_ALL) || !len)
		return -EINVAL;
	if (type != SIM_MAP_SHARED && type != SIM_MAP_PRIVATE)
		return -EINVAL;
	if (flags & SIM_MAP_HUGETLB_2M)
		hlevel = PG_LEVEL_2M;
	if (flags & SIM_MAP_HUGETLB_1G)
		hlevel = hlevel == PG_LEVEL_2M ? PG_LEVEL_NONE : PG_LEVEL_1G;
	if (hlevel == PG_LEVEL_NONE || (hlevel != PG_LEVEL_4K && (flags & SIM_MAP_THP)))
		return -EINVAL;

	/* ksys_mmap_pgoff(): a hugetlb length is rounded up to the huge page size. */
	hsize = sim_level_size(hlevel);
	if (len > SIM_TASK_SIZE)
		return -ENOMEM;
	len = ALIGN(len, hsize);
	if (len > SIM_TASK_SIZE)
		return -ENOMEM;
	align = hsize;
	if (hlevel == PG_LEVEL_4K && ((flags & SIM_MAP_THP) || IS_ALIGNED(len, SZ_2M)))
		align = SZ_2M; /* thp_get_unmapped_area() */
	if (flags & SIM_MAP_FIXED) {
		if (!IS_ALIGNED(hint, hsize))
			return -EINVAL;
		if (hint < SIM_MMAP_MIN_ADDR)
			return -EPERM;
		if (hint > SIM_TASK_SIZE - len)
			return -ENOMEM;
	}

	vm_flags = sim_calc_vm_prot_bits(prot);
	if (type == SIM_MAP_SHARED)
		vm_flags |= SIM_VM_SHARED;
	if (hlevel != PG_LEVEL_4K)
		vm_flags |= SIM_VM_HUGETLB;
	if (flags & SIM_MAP_THP)
		vm_flags |= SIM_VM_HUGEPAGE;
	if (flags & SIM_MAP_LOCKED)
		vm_flags |= SIM_VM_LOCKED;

	vma = kzalloc(sizeof(*vma), GFP_KERNEL);
	if (!vma)
		return -ENOMEM;
	down_write(&mm->mmap_lock);
	if (mm->dead) {
		r = -ENOMEM;
		goto err;
	}
	if (vm_flags & SIM_VM_LOCKED) {
		/* can_do_mlock(), then mlock_future_ok(): do_mmap()'s errnos. */
		if (!READ_ONCE(mm->memlock_limit) && !sim_mm_capable_ipc_lock(mm)) {
			r = -EPERM;
			goto err;
		}
		if (!sim_mlock_future_ok(mm, len)) {
			r = -EAGAIN;
			goto err;
		}
	}
	if (flags & SIM_MAP_FIXED) {
		addr = hint;
		if (!range_is_free(mm, addr, addr + len)) {
			r = -EEXIST;
			goto err;
		}
	} else {
		addr = sim_get_unmapped_area(mm, hint, len, align);
		if (!addr) {
			r = -ENOMEM;
			goto err;
		}
	}

	/* mmap_region(): hugetlb mappings are not mlocked, nor accounted. */
	if (vm_flags & SIM_VM_HUGETLB)
		vm_flags &= ~SIM_VM_LOCKED;
	if (vm_flags & SIM_VM_LOCKED)
		WRITE_ONCE(mm->locked_vm, mm->locked_vm + (len >> PAGE_SHIFT));
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	vma->vm_flags = vm_flags;
	vma->hpage_level = hlevel;
	vma_insert(mm, vma);
	sim_vma_merge_around(mm, vma);
	if ((flags & SIM_MAP_POPULATE) || (vm_flags & SIM_VM_LOCKED))
		populate_range(mm, addr, addr + len);
	up_write(&mm->mmap_lock);
	*addrp = addr;
	return 0;

err:
	up_write(&mm->mmap_lock);
	kfree(vma);
	return r;
}

/* Undo a partly populated VM_PFNMAP mapping (remap_pfn_range() failed). */
static void unmap_pfn_vma(struct sim_mm *mm, struct sim_vma *vma)
{
	struct sim_mmu_notifier_range range;
	struct sim_mmu_gather tlb;

	sim_tlb_gather_init(&tlb, mm);
	sim_mn_range_init(&range, mm, vma->vm_start, vma->vm_end, SIM_MMU_NOTIFY_UNMAP);
	sim_mn_invalidate_range_start(&range);
	sim_zap_range(mm, vma, vma->vm_start, vma->vm_end, &tlb);
	sim_mn_invalidate_range_end(&range);
	sim_free_pgtables(mm, vma->vm_start, vma->vm_end, &tlb);
	sim_tlb_flush(&tlb);
	sim_vma_remove(mm, vma);
}

int sim_mm_set_signal(struct sim_mm *mm, int signal)
{
	if (!mm || signal < SIM_SIGNAL_NONE || signal > SIM_SIGNAL_FATAL)
		return -EINVAL;
	WRITE_ONCE(mm->signal, signal);
	return 0;
}

bool sim_mm_signal_pending(struct sim_mm *mm)
{
	return mm && READ_ONCE(mm->signal) != SIM_SIGNAL_NONE;
}

int sim_mmap_pfn(struct sim_mm *mm, hva_t hint, u64 len, int prot, kvm_pfn_t pfn, hva_t *addrp)
{
	struct sim_vma *vma;
	u64 npages, i;
	hva_t addr;
	int r = 0;

	if (!mm || !addrp || (prot & ~SIM_PROT_ALL) || !len)
		return -EINVAL;
	if (len > SIM_TASK_SIZE)
		return -ENOMEM;
	len = PAGE_ALIGN(len);
	npages = len >> PAGE_SHIFT;
	if (pfn + npages < pfn || !sim_pfn_valid(mm->host, pfn) ||
	    !sim_pfn_valid(mm->host, pfn + npages - 1))
		return -EINVAL;
	for (i = 0; i < npages; i++)
		if (!sim_pfn_valid(mm->host, pfn + i))
			return -EINVAL;

	vma = kzalloc(sizeof(*vma), GFP_KERNEL);
	if (!vma)
		return -ENOMEM;
	down_write(&mm->mmap_lock);
	addr = mm->dead ? 0 : sim_get_unmapped_area(mm, hint, len, PAGE_SIZE);
	if (!addr) {
		up_write(&mm->mmap_lock);
		kfree(vma);
		return -ENOMEM;
	}
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	vma->vm_flags = sim_calc_vm_prot_bits(prot) | SIM_VM_SHARED | SIM_VM_IO | SIM_VM_PFNMAP;
	vma->hpage_level = PG_LEVEL_4K;
	vma->pfn_base = pfn;
	vma_insert(mm, vma);

	/* remap_pfn_range(): every PTE now, special, never refcounted. */
	for (i = 0; i < npages; i++) {
		hva_t a = addr + (i << PAGE_SHIFT);
		u64 bits = SIM_PTE_PRESENT | SIM_PTE_ACCESSED | SIM_PTE_SPECIAL;
		u64 *ptep;
		int l;

		r = sim_pt_alloc(mm, a, PG_LEVEL_4K, &ptep, &l);
		if (r)
			break;
		if (vma->vm_flags & SIM_VM_WRITE)
			bits |= SIM_PTE_WRITE;
		if (!sim_vma_accessible(vma))
			bits = (bits & ~(SIM_PTE_PRESENT | SIM_PTE_WRITE)) | SIM_PTE_PROTNONE;
		spin_lock(sim_pte_lockptr(mm, ptep, l));
		sim_set_pte(ptep, sim_make_pte(pfn + i, bits));
		spin_unlock(sim_pte_lockptr(mm, ptep, l));
	}
	if (r)
		unmap_pfn_vma(mm, vma);
	up_write(&mm->mmap_lock);
	if (!r)
		*addrp = addr;
	return r;
}

int sim_mm_vma_flags(struct sim_mm *mm, hva_t addr, unsigned long *vm_flags)
{
	struct sim_vma *vma;
	int r = 0;

	if (!mm || !vm_flags)
		return -EINVAL;
	down_read(&mm->mmap_lock);
	vma = sim_vma_lookup(mm, addr);
	if (vma)
		*vm_flags = vma->vm_flags;
	else
		r = -EFAULT;
	up_read(&mm->mmap_lock);
	return r;
}
