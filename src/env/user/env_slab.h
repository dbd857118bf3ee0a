/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmalloc, kmem_cache and page allocation, userspace side.
 *
 * Backed by malloc, which is jemalloc when MMUSIM_JEMALLOC is on (it replaces
 * malloc process-wide) and the sanitizer's allocator under ASan/TSan.  Every
 * object carries a small header so that:
 *  - kfree() of a pointer we did not hand out, or a double free, is a BUG;
 *  - freed memory is poisoned with POISON_FREE (0x6b) before it is released;
 *  - live objects are counted per kind (env_live_objects());
 *  - any allocation can be failed on demand (env_fail_*), every allocation
 *    site in the project, including the simulated host's, funnels through
 *    env_should_fail_alloc().
 */
#ifndef _MMUSIM_ENV_SLAB_H
#define _MMUSIM_ENV_SLAB_H

typedef unsigned int gfp_t;

#define ___GFP_DIRECT_RECLAIM 0x01u
#define __GFP_ZERO 0x02u
#define __GFP_NOWARN 0x04u
#define __GFP_ACCOUNT 0x08u
#define __GFP_NOFAIL 0x10u
#define __GFP_RETRY_MAYFAIL 0x20u
#define __GFP_DMA32 0x40u
#define __GFP_HIGHMEM 0x80u
#define __GFP_COMP 0x100u
#define __GFP_MOVABLE 0x200u
#define GFP_NOWAIT (__GFP_NOWARN)
#define GFP_ATOMIC (__GFP_NOWARN)
#define GFP_KERNEL (___GFP_DIRECT_RECLAIM)
#define GFP_KERNEL_ACCOUNT (GFP_KERNEL | __GFP_ACCOUNT)
#define GFP_USER (GFP_KERNEL)
#define GFP_HIGHUSER_MOVABLE (GFP_KERNEL | __GFP_HIGHMEM | __GFP_MOVABLE)
#define gfpflags_allow_blocking(gfp) (!!((gfp) & ___GFP_DIRECT_RECLAIM))

#define POISON_FREE 0x6b
#define ZERO_SIZE_PTR ((void *)16)
#define ZERO_OR_NULL_PTR(x) ((unsigned long)(x) <= (unsigned long)ZERO_SIZE_PTR)

#define SLAB_HWCACHE_ALIGN 0x1u
#define SLAB_ACCOUNT 0x2u

struct kmem_cache;

void *kmalloc(size_t size, gfp_t gfp);
void *kzalloc(size_t size, gfp_t gfp);
void *kmalloc_array(size_t n, size_t size, gfp_t gfp);
void *kcalloc(size_t n, size_t size, gfp_t gfp);
void kfree(const void *p);
#define kvmalloc(size, gfp) kmalloc(size, gfp)
#define kvzalloc(size, gfp) kzalloc(size, gfp)
#define kvcalloc(n, size, gfp) kcalloc(n, size, gfp)
#define kvmalloc_array(n, size, gfp) kmalloc_array(n, size, gfp)
#define kvfree(p) kfree(p)
#define vzalloc(size) kzalloc(size, GFP_KERNEL)
#define vfree(p) kfree(p)

struct kmem_cache *kmem_cache_create(const char *name, unsigned int size, unsigned int align,
				     unsigned int flags, void (*ctor)(void *));
void kmem_cache_destroy(struct kmem_cache *cache);
void *kmem_cache_alloc(struct kmem_cache *cache, gfp_t gfp);
void *kmem_cache_zalloc(struct kmem_cache *cache, gfp_t gfp);
void kmem_cache_free(struct kmem_cache *cache, void *obj);

/*
 * Page-table pages and other page-sized, page-aligned kernel allocations.
 * Like kernel pages they have a struct page whose ->private the owner may
 * use (KVM keeps its kvm_mmu_page there): virt_to_page(), page_private(),
 * set_page_private().  Only for pages from __get_free_page().
 */
struct page {
	unsigned long private;
};

unsigned long __get_free_page(gfp_t gfp);
unsigned long get_zeroed_page(gfp_t gfp);
void free_page(unsigned long addr);

/*
 * The pool's reservation, set once before the first page is handed out.
 * virt_to_page() is inline because the host's split page-table locks look
 * their lock up through it on every fault.
 */
extern struct env_page_pool {
	char *base;
	struct page *pages;
	u64 bytes; /* size of the reservation at base; 0 until it exists */
} env_page_pool;
void env_virt_to_page_bug(void) __attribute__((__noreturn__, __cold__));

static inline struct page *virt_to_page(const void *va)
{
	u64 off = (u64)((const char *)va - env_page_pool.base);

	if (__builtin_expect(off >= env_page_pool.bytes, 0))
		env_virt_to_page_bug();
	return &env_page_pool.pages[off >> PAGE_SHIFT];
}
static inline unsigned long page_private(const struct page *page)
{
	return page->private;
}

static inline void set_page_private(struct page *page, unsigned long private)
{
	page->private = private;
}

/*
 * Large reservations (the simulated physical memory and its metadata).  The
 * range is reserved, not committed: pages become resident on first touch, so
 * describing a 1 TiB host costs nothing until it is used.  Not counted as live
 * objects; env_vunreserve() must be called with the same size.
 */
void *env_vreserve(size_t size);
void env_vunreserve(void *addr, size_t size);
/* Give the backing of a page-aligned range back; it reads as zeroes again. */
void env_vdiscard(void *addr, size_t size);

/*
 * Live-object accounting and failure injection are userspace features (the
 * kernel has kmemleak and failslab): the self-tests that need them check
 * these macros and skip where the seam lacks them.
 */
#define ENV_LIVE_OBJECTS 1
#define ENV_FAIL_INJECTION 1

/* Live-object accounting. */
struct env_live {
	long kmalloc;	  /* kmalloc/kzalloc/kcalloc objects */
	long cache_objs;  /* kmem_cache objects */
	long caches;	  /* kmem_cache instances */
	long pages;	  /* __get_free_page pages */
};
void env_live_snapshot(struct env_live *live);
long env_live_objects(void);

/*
 * Allocation-failure injection.  Reached by every allocation in the project:
 * env's own allocators and every other allocator (e.g. the simulated host's
 * page allocator) that calls env_should_fail_alloc().
 *
 *  env_fail_nth(n):       only the n-th allocation from now fails (n >= 1)
 *  env_fail_every(n):     every n-th allocation fails (n >= 1)
 *  env_fail_random(s, p): each allocation fails with probability p/1000,
 *                         seeded by s (reproducible in a single thread)
 *  env_fail_clear():      no failures
 *  env_fail_count():      no failures, but allocations are counted: the dry
 *                         run that sizes a sweep of env_fail_nth(1..total)
 *
 * __GFP_NOFAIL allocations never fail.  env_fail_injected() counts the
 * failures injected since the last env_fail_*() call; env_alloc_attempts()
 * counts allocation attempts since then (none are counted after
 * env_fail_clear()).
 */
void env_fail_nth(unsigned long n);
void env_fail_every(unsigned long n);
void env_fail_random(u64 seed, unsigned int permille);
void env_fail_clear(void);
void env_fail_count(void);
unsigned long env_fail_injected(void);
unsigned long env_alloc_attempts(void);
bool env_should_fail_alloc(gfp_t gfp);

#endif /* _MMUSIM_ENV_SLAB_H */
