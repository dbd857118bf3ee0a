// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmalloc/kmem_cache/page allocation for the userspace seam, with a header
 * per object (kind, size, offset back to the malloc'd block), poison on free,
 * live counters and the allocation-failure injection knob.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "mmusim_env.h"

#define ENV_OBJ_MAGIC 0x6d6d7573u /* "mmus" */
#define ENV_OBJ_DEAD 0xdeadf00du

enum env_obj_kind {
	ENV_OBJ_KMALLOC = 1,
	ENV_OBJ_CACHE = 2,
};

/* Sits immediately before every object handed out. 16 bytes keeps alignment. */
struct env_obj_hdr {
	u32 magic;
	u16 kind;
	u16 offset; /* from the malloc'd block to the object */
	union {
		u64 size;
		struct kmem_cache *cache;
	};
};
static_assert(sizeof(struct env_obj_hdr) == 16, "object header must keep 16-byte alignment");

struct kmem_cache {
	const char *name;
	unsigned int size;
	unsigned int align;
	void (*ctor)(void *);
	atomic_long_t live;
};

static atomic_long_t live_kmalloc, live_cache_objs, live_caches, live_pages;

/* Failure injection state: one global schedule, atomically updated. */
enum fail_mode { FAIL_NONE, FAIL_NTH, FAIL_EVERY, FAIL_RANDOM, FAIL_COUNT };
static int fail_mode;
static unsigned long fail_n;
static unsigned int fail_permille;
static u64 fail_rng;
static unsigned long fail_attempts, fail_injected;

static void fail_reset(int mode)
{
	__atomic_store_n(&fail_attempts, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fail_injected, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fail_mode, mode, __ATOMIC_SEQ_CST);
}

void env_fail_nth(unsigned long n)
{
	fail_n = n ? n : 1;
	fail_reset(FAIL_NTH);
}

void env_fail_every(unsigned long n)
{
	fail_n = n ? n : 1;
	fail_reset(FAIL_EVERY);
}

void env_fail_random(u64 seed, unsigned int permille)
{
	fail_rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
	fail_permille = permille;
	fail_reset(FAIL_RANDOM);
}

void env_fail_clear(void)
{
	fail_reset(FAIL_NONE);
}

void env_fail_count(void)
{
	fail_reset(FAIL_COUNT);
}

unsigned long env_fail_injected(void)
{
	return __atomic_load_n(&fail_injected, __ATOMIC_RELAXED);
}

unsigned long env_alloc_attempts(void)
{
	return __atomic_load_n(&fail_attempts, __ATOMIC_RELAXED);
}

static u64 fail_next_random(void)
{
	u64 old = __atomic_load_n(&fail_rng, __ATOMIC_RELAXED), x;

	do {
		x = old;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	} while (!__atomic_compare_exchange_n(&fail_rng, &old, x, false, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return x;
}

bool env_should_fail_alloc(gfp_t gfp)
{
	int mode = __atomic_load_n(&fail_mode, __ATOMIC_ACQUIRE);
	unsigned long nr;
	bool fail;

	if (mode == FAIL_NONE || (gfp & __GFP_NOFAIL))
		return false;
	nr = __atomic_add_fetch(&fail_attempts, 1, __ATOMIC_RELAXED);
	switch (mode) {
	case FAIL_NTH:
		fail = nr == fail_n;
		break;
	case FAIL_EVERY:
		fail = nr % fail_n == 0;
		break;
	case FAIL_COUNT:
		fail = false;
		break;
	default:
		fail = fail_next_random() % 1000 < fail_permille;
		break;
	}
	if (fail)
		__atomic_fetch_add(&fail_injected, 1, __ATOMIC_RELAXED);
	return fail;
}

static struct env_obj_hdr *obj_hdr(const void *p)
{
	struct env_obj_hdr *h = (struct env_obj_hdr *)p - 1;

	if (h->magic != ENV_OBJ_MAGIC)
		env_bug(__FILE__, __LINE__,
			h->magic == ENV_OBJ_DEAD ? "double free" : "free of a pointer not allocated here");
	return h;
}

static void *obj_alloc(size_t size, size_t align, gfp_t gfp)
{
	size_t lead = max_t(size_t, sizeof(struct env_obj_hdr), align);
	struct env_obj_hdr *h;
	char *block;

	if (gfpflags_allow_blocking(gfp))
		might_sleep();
	if (env_should_fail_alloc(gfp))
		return NULL;
	if (align > 16) {
		if (posix_memalign((void **)&block, align, lead + size))
			return NULL;
		if (gfp & __GFP_ZERO)
			memset(block + lead, 0, size);
	} else {
		/* calloc keeps big zeroed arrays lazily committed (no RSS until used). */
		block = (gfp & __GFP_ZERO) ? calloc(1, lead + size) : malloc(lead + size);
		if (!block)
			return NULL;
	}
	h = (struct env_obj_hdr *)(block + lead) - 1;
	h->magic = ENV_OBJ_MAGIC;
	h->offset = (u16)lead;
	/* Uninitialised reads show up as junk; skipped for big blocks to spare RSS. */
	if (!(gfp & __GFP_ZERO) && size <= 65536)
		memset(block + lead, 0xa5, size);
	return block + lead;
}

static void obj_free(struct env_obj_hdr *h, size_t size)
{
	char *obj = (char *)(h + 1);

	memset(obj, POISON_FREE, min_t(size_t, size, 65536));
	h->magic = ENV_OBJ_DEAD;
	free(obj - h->offset);
}

void *kmalloc(size_t size, gfp_t gfp)
{
	void *p;

	if (!size)
		return ZERO_SIZE_PTR;
	p = obj_alloc(size, 16, gfp);
	if (p) {
		struct env_obj_hdr *h = (struct env_obj_hdr *)p - 1;

		h->kind = ENV_OBJ_KMALLOC;
		h->size = size;
		atomic_long_inc(&live_kmalloc);
	}
	return p;
}

void *kzalloc(size_t size, gfp_t gfp)
{
	return kmalloc(size, gfp | __GFP_ZERO);
}

void *kmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return kmalloc(bytes, gfp);
}

void *kcalloc(size_t n, size_t size, gfp_t gfp)
{
	return kmalloc_array(n, size, gfp | __GFP_ZERO);
}

void kfree(const void *p)
{
	struct env_obj_hdr *h;

	if (ZERO_OR_NULL_PTR(p))
		return;
	h = obj_hdr(p);
	if (h->kind == ENV_OBJ_CACHE) {
		kmem_cache_free(h->cache, (void *)p);
		return;
	}
	atomic_long_dec(&live_kmalloc);
	obj_free(h, h->size);
}

struct kmem_cache *kmem_cache_create(const char *name, unsigned int size, unsigned int align,
				     unsigned int flags, void (*ctor)(void *))
{
	struct kmem_cache *c;

	if (!size || (align & (align - 1)))
		return NULL;
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return NULL;
	if (flags & SLAB_HWCACHE_ALIGN)
		align = max(align, 64u);
	c->name = name;
	c->size = size;
	c->align = max(align, 16u);
	c->ctor = ctor;
	atomic_long_inc(&live_caches);
	return c;
}

void kmem_cache_destroy(struct kmem_cache *c)
{
	if (!c)
		return;
	if (WARN(atomic_long_read(&c->live), "kmem_cache %s destroyed with %ld live objects",
		 c->name, atomic_long_read(&c->live)))
		return; /* leak it rather than leave dangling objects */
	atomic_long_dec(&live_caches);
	kfree(c);
}

void *kmem_cache_alloc(struct kmem_cache *c, gfp_t gfp)
{
	void *p = obj_alloc(c->size, c->align, gfp);

	if (p) {
		struct env_obj_hdr *h = (struct env_obj_hdr *)p - 1;

		h->kind = ENV_OBJ_CACHE;
		h->cache = c;
		if (c->ctor && !(gfp & __GFP_ZERO))
			c->ctor(p);
		atomic_long_inc(&c->live);
		atomic_long_inc(&live_cache_objs);
	}
	return p;
}

void *kmem_cache_zalloc(struct kmem_cache *c, gfp_t gfp)
{
	return kmem_cache_alloc(c, gfp | __GFP_ZERO);
}

void kmem_cache_free(struct kmem_cache *c, void *obj)
{
	struct env_obj_hdr *h;

	if (!obj)
		return;
	h = obj_hdr(obj);
	if (h->kind != ENV_OBJ_CACHE || h->cache != c)
		env_bug(__FILE__, __LINE__, "kmem_cache_free to the wrong cache");
	atomic_long_dec(&c->live);
	atomic_long_dec(&live_cache_objs);
	obj_free(h, c->size);
}

/*
 * Page pool for __get_free_page().  Kernel pages have a struct page whose
 * ->private KVM uses to find the kvm_mmu_page of a page table
 * (page_private(virt_to_page(spt))).  To offer the same, pages come from one
 * lazily committed region with a parallel array of struct page, so
 * virt_to_page() is an index computation.  Freed pages are poisoned (and
 * ASan-poisoned) and go to a free list; the region is never returned.
 * Where the address space is limited (valgrind, ulimit -v) the reservation
 * falls back to smaller sizes, down to ENV_PAGE_POOL_MIN_BYTES.
 */
#define ENV_PAGE_POOL_BYTES (256ULL << 30)
#define ENV_PAGE_POOL_MIN_BYTES (1ULL << 30)

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
/* Set once, under pool_lock; read by virt_to_page() (env_slab.h). */
struct env_page_pool env_page_pool;
#define pool_base env_page_pool.base
#define pool_pages env_page_pool.pages
#define pool_bytes env_page_pool.bytes
static u64 pool_next;		/* bump index of the next never-used page */
static u64 pool_free_head = ~0ULL; /* free list threaded through struct page */

#if defined(__SANITIZE_ADDRESS__)
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define pool_asan_poison(p) __asan_poison_memory_region((p), PAGE_SIZE)
#define pool_asan_unpoison(p) __asan_unpoison_memory_region((p), PAGE_SIZE)
#else
#define pool_asan_poison(p) do { } while (0)
#define pool_asan_unpoison(p) do { } while (0)
#endif

static bool pool_init_locked(void)
{
	u64 bytes;

	if (pool_base)
		return true;
	for (bytes = ENV_PAGE_POOL_BYTES; bytes >= ENV_PAGE_POOL_MIN_BYTES; bytes /= 2) {
		pool_base = env_vreserve(bytes);
		pool_pages = env_vreserve((bytes >> PAGE_SHIFT) * sizeof(struct page));
		if (pool_base && pool_pages) {
			pool_bytes = bytes;
			return true;
		}
		env_vunreserve(pool_base, bytes);
		env_vunreserve(pool_pages, (bytes >> PAGE_SHIFT) * sizeof(struct page));
		pool_base = NULL;
		pool_pages = NULL;
	}
	return false;
}

void env_virt_to_page_bug(void)
{
	env_bug(__FILE__, __LINE__, "virt_to_page() of an address not from __get_free_page()");
}

unsigned long __get_free_page(gfp_t gfp)
{
	u64 idx;
	char *p;

	if (gfpflags_allow_blocking(gfp))
		might_sleep();
	if (env_should_fail_alloc(gfp))
		return 0;
	pthread_mutex_lock(&pool_lock);
	if (!pool_init_locked()) {
		pthread_mutex_unlock(&pool_lock);
		return 0;
	}
	if (pool_free_head != ~0ULL) {
		idx = pool_free_head;
		pool_free_head = pool_pages[idx].private;
	} else if (pool_next < (pool_bytes >> PAGE_SHIFT)) {
		idx = pool_next++;
	} else {
		pthread_mutex_unlock(&pool_lock);
		return 0;
	}
	pool_pages[idx].private = 0;
	pthread_mutex_unlock(&pool_lock);
	p = pool_base + (idx << PAGE_SHIFT);
	pool_asan_unpoison(p);
	memset(p, (gfp & __GFP_ZERO) ? 0 : 0xa5, PAGE_SIZE);
	atomic_long_inc(&live_pages);
	return (unsigned long)p;
}

unsigned long get_zeroed_page(gfp_t gfp)
{
	return __get_free_page(gfp | __GFP_ZERO);
}

void free_page(unsigned long addr)
{
	struct page *page;

	if (!addr)
		return;
	page = virt_to_page((void *)addr);
	if (!PAGE_ALIGNED(addr))
		env_bug(__FILE__, __LINE__, "free_page() of an unaligned address");
	/* A double free touches ASan-poisoned memory here and is reported. */
	memset((void *)addr, POISON_FREE, PAGE_SIZE);
	pool_asan_poison((void *)addr);
	atomic_long_dec(&live_pages);
	pthread_mutex_lock(&pool_lock);
	page->private = pool_free_head;
	pool_free_head = (u64)(page - pool_pages);
	pthread_mutex_unlock(&pool_lock);
}

void *env_vreserve(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/*
	 * Sparse use must stay sparse: with THP "always", touching one 8-byte
	 * descriptor per 4 MiB of a big host would commit a 2 MiB huge page each.
	 */
	madvise(p, size, MADV_NOHUGEPAGE);
	return p;
}

void env_vunreserve(void *addr, size_t size)
{
	if (addr)
		munmap(addr, size);
}

void env_vdiscard(void *addr, size_t size)
{
	madvise(addr, size, MADV_DONTNEED);
}

void env_live_snapshot(struct env_live *live)
{
	live->kmalloc = atomic_long_read(&live_kmalloc);
	live->cache_objs = atomic_long_read(&live_cache_objs);
	live->caches = atomic_long_read(&live_caches);
	live->pages = atomic_long_read(&live_pages);
}

long env_live_objects(void)
{
	struct env_live l;

	env_live_snapshot(&l);
	return l.kmalloc + l.cache_objs + l.caches + l.pages;
}
