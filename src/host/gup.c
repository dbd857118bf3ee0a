// SPDX-License-Identifier: GPL-2.0-only
/*
 * GUP: get_user_pages(), get_user_pages_fast(), pin_user_pages() and
 * follow_pfn() for the host mm, with mm/gup.c's semantics.
 *
 *  - Every entry point takes mmap_lock for read itself (the _unlocked
 *    variants of Linux): callers must not hold it, nor call GUP from a
 *    notifier callback.
 *  - FOLL_GET takes a reference (sim_put_page() releases it); FOLL_PIN a
 *    pin (sim_unpin_user_page()).  get_* take FOLL_GET, pin_* FOLL_PIN;
 *    passing the other one, FOLL_LONGTERM without FOLL_PIN, or an unknown
 *    flag is -EINVAL (is_valid_gup_args(); Linux also WARNs).
 *  - A VMA without the access (PROT_NONE, FOLL_WRITE on a read-only
 *    mapping) or with VM_IO | VM_PFNMAP is -EFAULT (check_vma_flags()):
 *    such memory is reached with sim_follow_pfn().
 *  - FOLL_WRITE faults for write, which breaks COW of the zero page and of
 *    pages sim_mm_fork() shared (KVM's __kvm_follow_pfn() for a write fault
 *    breaks it so); a read-only FOLL_LONGTERM pin of a private mapping
 *    unshares the zero page instead, and any read-only pin a page fork
 *    shared (FAULT_FLAG_UNSHARE: an exclusive copy, or the page itself if
 *    nobody else holds it, mapped read-only), as gup_must_unshare() wants,
 *    so the pin holds the page later writes use.
 *  - FOLL_NOWAIT: a page that needs swap-in stops the walk (the fault
 *    returns VM_FAULT_RETRY and __get_user_pages() turns -EBUSY into 0):
 *    the result is the number of pages taken before it, 0 if none.
 *  - The result is the number of pages taken, or a negative errno if none
 *    was; on a failure after some pages, those stay taken.
 *  - Signals (sim_mm_set_signal()): a fatal one stops the walk before each
 *    page; a fault that has to wait for I/O (swap-in) is first tried
 *    without waiting, and if it would wait, a pending signal stops the walk
 *    (any signal with FOLL_INTERRUPTIBLE, a fatal one without), as
 *    gup_signal_pending() does on the fault's retry: -EINTR.
 *  - A poisoned page (SIM_PG_HWPOISON) is -EHWPOISON with FOLL_HWPOISON and
 *    -EFAULT without, as vm_fault_to_errno() maps VM_FAULT_HWPOISON.
 *  - FOLL_LONGTERM (pins only): pages in movable memory are migrated to
 *    unmovable memory first, as check_and_migrate_movable_pages() does: the
 *    batch is unpinned, the movable pages migrated, and the whole GUP
 *    retried.  A page that cannot move fails the call (-ENOMEM, as
 *    migrate_longterm_unpinnable_folios()).  Once pinned, a page cannot be
 *    migrated (migration refuses pinned pages) until it is unpinned.
 *
 * GUP-fast walks the tables under rcu_read_lock() only (rule 3 in
 * pgtable.c), takes a speculative reference with get_page_unless_zero(),
 * then re-walks to check the entry is unchanged; migration, swap-out and
 * collapse clear the entry before freezing the refcount, so one of the two
 * sides always sees the other (rule 2 in mm_ops.c).  It stops at the first
 * page it cannot take (not present, read-only for a write, special, a
 * movable page for FOLL_LONGTERM) and the slow path does the rest.
 */
#include "mmusim_env.h"
#include "host/mm_internal.h"

#define SIM_FOLL_ALL                                                                  \
	(SIM_FOLL_WRITE | SIM_FOLL_GET | SIM_FOLL_NOWAIT | SIM_FOLL_PIN | SIM_FOLL_LONGTERM | \
	 SIM_FOLL_HWPOISON | SIM_FOLL_INTERRUPTIBLE)

/* is_valid_gup_args(): @to_set is FOLL_GET or FOLL_PIN, set by the entry point. */
static int gup_check_args(unsigned int *flags, unsigned int to_set, struct sim_page **pages)
{
	unsigned int f = *flags;

	if (f & ~SIM_FOLL_ALL)
		return -EINVAL;
	/* FOLL_PIN is internal to the pin_* entry points; FOLL_GET to get_*. */
	if (f & (SIM_FOLL_GET | SIM_FOLL_PIN) & ~to_set)
		return -EINVAL;
	f |= to_set;
	if ((f & SIM_FOLL_LONGTERM) && !(f & SIM_FOLL_PIN))
		return -EINVAL;
	if (!pages)
		return -EINVAL;
	*flags = f;
	return 0;
}

/* check_vma_flags() */
static int gup_check_vma(struct sim_vma *vma, unsigned int flags)
{
	if (vma->vm_flags & SIM_VM_SPECIAL)
		return -EFAULT;
	if (flags & SIM_FOLL_WRITE)
		return (vma->vm_flags & SIM_VM_WRITE) ? 0 : -EFAULT;
	return (vma->vm_flags & SIM_VM_READ) ? 0 : -EFAULT;
}

static void gup_release(struct sim_host *host, struct sim_page **pages, long n,
			unsigned int flags)
{
	long i;

	for (i = 0; i < n; i++) {
		if (flags & SIM_FOLL_PIN)
			sim_unpin_user_page(host, pages[i]);
		else
			sim_put_page(host, pages[i]);
	}
}

/* gup_signal_pending() */
static bool gup_signal_pending(struct sim_mm *mm, unsigned int flags)
{
	int sig = READ_ONCE(mm->signal);

	if (flags & SIM_FOLL_INTERRUPTIBLE)
		return sig != SIM_SIGNAL_NONE;
	return sig == SIM_SIGNAL_FATAL;
}

/*
 * faultin_page(): a fault that would wait for I/O is tried without waiting
 * first, so that a pending signal can stop it there (-EINTR).
 */
static int gup_faultin(struct sim_mm *mm, struct sim_vma *vma, hva_t addr, unsigned int flags,
		       unsigned int fault_flags)
{
	int r = sim_handle_mm_fault(mm, vma, addr, fault_flags | SIM_FAULT_NOWAIT);

	if (r != SIM_VM_FAULT_RETRY || (fault_flags & SIM_FAULT_NOWAIT))
		return r;
	if (gup_signal_pending(mm, flags))
		return -EINTR;
	return sim_handle_mm_fault(mm, vma, addr, fault_flags);
}

/*
 * gup_must_unshare() (Linux 6.12), as the SIM_FOLLOW_UNSHARE* bits that
 * sim_follow_page() checks: a read-only pin of a private ("COW") mapping
 * must not hold a page that the first write would COW away from the pin.
 * A page fork shared (not PageAnonExclusive) is such a page for any pin;
 * the zero page (not anonymous) only for FOLL_LONGTERM, short-term pins not
 * caring to see later writes.  The fault unshares it first.  Shared
 * mappings have neither.  @vma NULL is GUP-fast, which checks the page.
 */
static unsigned int sim_gup_must_unshare(struct sim_vma *vma, unsigned int flags)
{
	if ((flags & (SIM_FOLL_WRITE | SIM_FOLL_PIN)) != SIM_FOLL_PIN)
		return 0;
	if (vma && (vma->vm_flags & SIM_VM_SHARED))
		return 0;
	return SIM_FOLLOW_UNSHARE_ANON | ((flags & SIM_FOLL_LONGTERM) ? SIM_FOLLOW_UNSHARE : 0);
}

/* __get_user_pages(): mmap_lock held for read. */
static long __gup(struct sim_mm *mm, hva_t start, unsigned long nr, unsigned int flags,
		  struct sim_page **pages)
{
	unsigned int grab = (flags & SIM_FOLL_PIN) ? SIM_FOLLOW_GRAB_PIN : SIM_FOLLOW_GRAB_GET;
	unsigned int fault_flags = 0;
	bool write = flags & SIM_FOLL_WRITE;
	struct sim_vma *vma = NULL;
	unsigned int unshare;
	unsigned long i = 0;
	long r = 0;

	lockdep_assert_held_read(&mm->mmap_lock);
	if (write)
		fault_flags |= SIM_FAULT_WRITE;
	if (flags & SIM_FOLL_NOWAIT)
		fault_flags |= SIM_FAULT_NOWAIT;
	while (i < nr) {
		hva_t addr = start + (i << PAGE_SHIFT);
		struct sim_follow res;

		if (!vma || addr >= vma->vm_end) {
			vma = sim_vma_lookup(mm, addr);
			if (!vma) {
				r = -EFAULT;
				break;
			}
			r = gup_check_vma(vma, flags);
			if (r)
				break;
		}
		/*
		 * After the VMA checks, as __get_user_pages() does: no VMA or
		 * no access is -EFAULT even with a fatal signal pending.
		 */
		if (READ_ONCE(mm->signal) == SIM_SIGNAL_FATAL) {
			r = -EINTR;
			break;
		}
		unshare = sim_gup_must_unshare(vma, flags);
		r = sim_follow_page(mm, vma, addr, write, grab | unshare, &res);
		if (r == -ENOENT) {
			r = gup_faultin(mm, vma, addr, flags,
					fault_flags | (unshare ? SIM_FAULT_UNSHARE : 0));
			if (r == SIM_VM_FAULT_RETRY) {
				r = 0; /* FOLL_NOWAIT: stop, I/O would be needed */
				break;
			}
			if (r)
				break;
			continue;
		}
		if (r == -EHWPOISON && !(flags & SIM_FOLL_HWPOISON))
			r = -EFAULT;
		if (r)
			break;
		pages[i++] = res.page;
		cond_resched();
	}
	return i ? (long)i : r;
}

/* Does the batch hold a page that a long-term pin must not keep in movable memory? */
static bool gup_has_movable(struct sim_host *host, struct sim_page **pages, long n)
{
	long i;

	for (i = 0; i < n; i++)
		if (sim_page_flags(host, pages[i]) & SIM_PG_MOVABLE)
			return true;
	return false;
}

/*
 * __gup_longterm_locked(): pin, and if a page is movable, unpin the batch,
 * migrate the movable pages out of movable memory and start again.
 */
static long gup_slow(struct sim_mm *mm, hva_t start, unsigned long nr, unsigned int flags,
		     struct sim_page **pages)
{
	struct sim_host *host = mm->host;
	long n, i;

	for (;;) {
		down_read(&mm->mmap_lock);
		n = __gup(mm, start, nr, flags, pages);
		if (n <= 0 || !(flags & SIM_FOLL_LONGTERM) || !gup_has_movable(host, pages, n)) {
			up_read(&mm->mmap_lock);
			return n;
		}
		gup_release(host, pages, n, flags);
		for (i = 0; i < n; i++) {
			hva_t addr = start + (i << PAGE_SHIFT), end;
			struct sim_vma *vma = sim_vma_lookup(mm, addr);
			int r = vma ? sim_migrate_one(mm, vma, addr,
						      SIM_MIGRATE_LONGTERM | SIM_MIGRATE_IF_MOVABLE,
						      &end) : 0;

			/* -ENOENT: unmapped meanwhile; the retry will see it. */
			if (r == -EBUSY || r == -ENOMEM) {
				up_read(&mm->mmap_lock);
				return -ENOMEM;
			}
		}
		up_read(&mm->mmap_lock);
	}
}

/* Returns the number of pages taken locklessly from @start on. */
static long gup_fast(struct sim_mm *mm, hva_t start, unsigned long nr, unsigned int flags,
		     struct sim_page **pages)
{
	struct sim_host *host = mm->host;
	bool write = flags & SIM_FOLL_WRITE;
	unsigned int unshare = sim_gup_must_unshare(NULL, flags);
	unsigned int seq = 0;
	unsigned long i;

	/*
	 * raw_seqcount_try_begin(&mm->write_protect_seq): no pin while
	 * sim_mm_fork() write-protects this mm; a pin taken as it starts is
	 * given back below (fork.c explains the pairing).
	 */
	if (flags & SIM_FOLL_PIN) {
		seq = READ_ONCE(mm->write_protect_seq);
		if (seq & 1)
			return 0;
		smp_mb();
	}
	rcu_read_lock();
	for (i = 0; i < nr; i++) {
		hva_t addr = start + (i << PAGE_SHIFT);
		struct sim_page *page;
		int level, level2;
		u64 *ptep, e;

		ptep = sim_pt_walk(mm, addr, PG_LEVEL_4K, &level);
		e = sim_read_pte(ptep);
		if (!sim_pte_present(e) || level > PG_LEVEL_1G || (e & SIM_PTE_SPECIAL) ||
		    (write && !(e & SIM_PTE_WRITE)))
			break;
		page = __sim_pfn_to_page(
			host,
			sim_pte_pfn(e) + ((addr & (sim_level_size(level) - 1)) >> PAGE_SHIFT));
		if (!page || (__sim_page_flags(host, page) & SIM_PG_HWPOISON))
			break;
		if ((unshare & SIM_FOLLOW_UNSHARE) && sim_page_is_zero(mm, sim_pte_pfn(e)))
			break;
		if ((unshare & SIM_FOLLOW_UNSHARE_ANON) &&
		    (__sim_page_flags(host, page) & SIM_PG_ANON_SHARED))
			break;
		if ((flags & SIM_FOLL_LONGTERM) && (__sim_page_flags(host, page) & SIM_PG_MOVABLE))
			break; /* folio_is_longterm_pinnable(): the slow path migrates it */
		if (!sim_get_page_unless_zero(host, page))
			break;
		smp_mb();
		/* The entry must still be there: it could have been cleared and the page freed. */
		if (sim_pt_walk(mm, addr, PG_LEVEL_4K, &level2) != ptep ||
		    sim_read_pte(ptep) != e) {
			sim_put_page(host, page);
			break;
		}
		if (flags & SIM_FOLL_PIN) {
			/* Our reference keeps the page: turn it into a pin. */
			int r = sim_page_try_pin(host, page);

			sim_put_page(host, page);
			if (r)
				break;
		}
		pages[i] = page;
	}
	rcu_read_unlock();
	if ((flags & SIM_FOLL_PIN) && i) {
		smp_mb();
		if (READ_ONCE(mm->write_protect_seq) != seq) {
			/* A fork began: it may not have seen these pins; the slow path waits. */
			gup_release(host, pages, i, flags);
			return 0;
		}
	}
	return i;
}

static long gup_fast_fallback(struct sim_mm *mm, hva_t start, unsigned long nr,
			      unsigned int flags, struct sim_page **pages, bool fast_only)
{
	long n, r;

	start &= PAGE_MASK;
	if (!nr)
		return 0;
	if (start >= SIM_TASK_SIZE || nr > (SIM_TASK_SIZE - start) >> PAGE_SHIFT)
		return fast_only ? 0 : -EFAULT;
	n = gup_fast(mm, start, nr, flags, pages);
	if (n == nr || fast_only)
		return n;
	r = gup_slow(mm, start + (n << PAGE_SHIFT), nr - n, flags, pages + n);
	if (r < 0)
		return n ? n : r;
	return n + r;
}

long sim_get_user_pages(struct sim_mm *mm, hva_t addr, unsigned long nr, unsigned int gup_flags,
			struct sim_page **pages)
{
	int r;

	if (!mm)
		return -EINVAL;
	r = gup_check_args(&gup_flags, SIM_FOLL_GET, pages);
	if (r)
		return r;
	if (!nr)
		return 0;
	addr &= PAGE_MASK;
	if (addr >= SIM_TASK_SIZE || nr > (SIM_TASK_SIZE - addr) >> PAGE_SHIFT)
		return -EFAULT;
	return gup_slow(mm, addr, nr, gup_flags, pages);
}

long sim_pin_user_pages(struct sim_mm *mm, hva_t addr, unsigned long nr, unsigned int gup_flags,
			struct sim_page **pages)
{
	int r;

	if (!mm)
		return -EINVAL;
	r = gup_check_args(&gup_flags, SIM_FOLL_PIN, pages);
	if (r)
		return r;
	if (!nr)
		return 0;
	addr &= PAGE_MASK;
	if (addr >= SIM_TASK_SIZE || nr > (SIM_TASK_SIZE - addr) >> PAGE_SHIFT)
		return -EFAULT;
	return gup_slow(mm, addr, nr, gup_flags, pages);
}

/* The GUP-fast entry points: @to_set is FOLL_GET or FOLL_PIN, @fast_only never faults. */
static long gup_fast_entry(struct sim_mm *mm, hva_t addr, unsigned long nr, unsigned int gup_flags,
			   struct sim_page **pages, unsigned int to_set, bool fast_only)
{
	int r;

	if (!mm)
		return -EINVAL;
	r = gup_check_args(&gup_flags, to_set, pages);
	if (r)
		return r;
	return gup_fast_fallback(mm, addr, nr, gup_flags, pages, fast_only);
}

long sim_get_user_pages_fast(struct sim_mm *mm, hva_t addr, unsigned long nr,
			     unsigned int gup_flags, struct sim_page **pages)
{
	return gup_fast_entry(mm, addr, nr, gup_flags, pages, SIM_FOLL_GET, false);
}

long sim_pin_user_pages_fast(struct sim_mm *mm, hva_t addr, unsigned long nr,
			     unsigned int gup_flags, struct sim_page **pages)
{
	return gup_fast_entry(mm, addr, nr, gup_flags, pages, SIM_FOLL_PIN, false);
}

long sim_pin_user_pages_fast_only(struct sim_mm *mm, hva_t addr, unsigned long nr,
				  unsigned int gup_flags, struct sim_page **pages)
{
	return gup_fast_entry(mm, addr, nr, gup_flags, pages, SIM_FOLL_PIN, true);
}

long sim_get_user_pages_fast_only(struct sim_mm *mm, hva_t addr, unsigned long nr,
				  unsigned int gup_flags, struct sim_page **pages)
{
	return gup_fast_entry(mm, addr, nr, gup_flags, pages, SIM_FOLL_GET, true);
}

/*
 * follow_pfn()/follow_pte() plus the fixup_user_fault() KVM does on a miss
 * (hva_to_pfn_remapped()): the PFN a VM_IO/VM_PFNMAP mapping maps at @addr.
 */
int sim_follow_pfn(struct sim_mm *mm, hva_t addr, bool write, kvm_pfn_t *pfn, bool *writable)
{
	struct sim_vma *vma;
	spinlock_t *ptl;
	int level, r = 0;
	u64 e;

	if (!mm || !pfn)
		return -EINVAL;
	if (addr >= SIM_TASK_SIZE)
		return -EFAULT;
	down_read(&mm->mmap_lock);
	vma = sim_vma_lookup(mm, addr);
	if (!vma) {
		r = -EFAULT;
		goto out;
	}
	if (!(vma->vm_flags & SIM_VM_SPECIAL)) {
		r = -EINVAL;
		goto out;
	}
	if (!sim_vma_accessible(vma) || (write && !(vma->vm_flags & SIM_VM_WRITE))) {
		r = -EFAULT;
		goto out;
	}
	e = READ_ONCE(*sim_pt_walk_lock(mm, addr, &level, &ptl));
	spin_unlock(ptl);
	if (level != PG_LEVEL_4K || !sim_pte_present(e) || (write && !(e & SIM_PTE_WRITE))) {
		r = -EFAULT;
		goto out;
	}
	*pfn = sim_pte_pfn(e);
	if (writable)
		*writable = e & SIM_PTE_WRITE;
out:
	up_read(&mm->mmap_lock);
	return r;
}
