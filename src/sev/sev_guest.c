// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's side of SEV: which of its pages are shared with the host, and
 * an allocator of shared I/O buffers.
 *
 * An SEV guest chooses per access whether memory is private: the C-bit of
 * its page-table entry.  A private access goes through the memory
 * controller with the guest's key (sev_mem.c); a shared one reaches the
 * frame as it is, so the host reads and writes it in plaintext.  Linux
 * guests flip the bit a page at a time with set_memory_decrypted() and
 * set_memory_encrypted(), which flush the page's lines first
 * (clflush_cache_range()); the page's contents do not survive the flip in
 * a usable form, so a guest fills a page after sharing it, and scrubs it
 * after unsharing.  mmusim keeps the guest's C-bits as a set of shared
 * gfns (everything else is private), flipped by
 * mmusim_vcpu_sev_set_shared(): per page, translate (fault in), clflush the
 * frame, and drop the frame's checker record when the page becomes shared,
 * since the host may then move it freely.  Nothing of this reaches KVM:
 * plain SEV has no page-state protocol (SNP's page-state change and
 * KVM_HC_MAP_GPA_RANGE are not modelled).
 *
 * The I/O buffer pool is the guest allocator a protected guest's drivers
 * need (s390x's PV css tests, Pierre Morel): each buffer in pages of its
 * own, so no private data shares a page with it, all below a physical limit
 * (2 GiB, as the channel subsystem wants 31-bit addresses), shared with the
 * host while allocated; freeing unshares the pages and scrubs them with a
 * private write of zeros, so the host's view is ciphertext again.
 *
 * Rules: the shared set has its own spinning leaf lock, taken in guest mode
 * by every private/shared decision (sev_gfn_shared(), lock-free when
 * nothing is shared); a pool is the caller's object, used by one thread at
 * a time, like the vCPU it drives.
 */
#include "mmusim_env.h"
#include "sev/sev.h"

#define SEV_SHARED_HASH_BITS 8

struct sev_shared_gfn {
	struct hlist_node node;
	gfn_t gfn;
};

static struct hlist_head *shared_bucket(struct kvm_sev_info *sev, gfn_t gfn)
{
	return &sev->shared[hash_64(gfn, SEV_SHARED_HASH_BITS)];
}

static struct sev_shared_gfn *shared_find(struct kvm_sev_info *sev, gfn_t gfn)
{
	struct sev_shared_gfn *s;

	lockdep_assert_held(&sev->shared_lock);
	hlist_for_each_entry(s, shared_bucket(sev, gfn), node)
		if (s->gfn == gfn)
			return s;
	return NULL;
}

int sev_guest_init_shared(struct kvm_sev_info *sev)
{
	int i;

	sev->shared = kcalloc(1u << SEV_SHARED_HASH_BITS, sizeof(*sev->shared), GFP_KERNEL_ACCOUNT);
	if (!sev->shared)
		return -ENOMEM;
	for (i = 0; i < 1 << SEV_SHARED_HASH_BITS; i++)
		INIT_HLIST_HEAD(&sev->shared[i]);
	spin_lock_init(&sev->shared_lock);
	return 0;
}

void sev_guest_free_shared(struct kvm_sev_info *sev)
{
	struct sev_shared_gfn *s;
	struct hlist_node *tmp;
	int i;

	if (!sev->shared)
		return;
	for (i = 0; i < 1 << SEV_SHARED_HASH_BITS; i++)
		hlist_for_each_entry_safe(s, tmp, &sev->shared[i], node)
			kfree(s);
	kfree(sev->shared);
	sev->shared = NULL;
}

bool sev_gfn_shared(struct kvm_sev_info *sev, gfn_t gfn)
{
	bool shared;

	if (!READ_ONCE(sev->nr_shared))
		return false;
	spin_lock(&sev->shared_lock);
	shared = shared_find(sev, gfn);
	spin_unlock(&sev->shared_lock);
	return shared;
}

/* One page's C-bit: @ins is the entry to insert when sharing, NULL when unsharing. */
static void sev_set_gfn_shared(struct kvm_sev_info *sev, gfn_t gfn, struct sev_shared_gfn *ins)
{
	struct sev_shared_gfn *s, *unused = ins;

	spin_lock(&sev->shared_lock);
	s = shared_find(sev, gfn);
	if (ins && !s) {
		ins->gfn = gfn;
		hlist_add_head(&ins->node, shared_bucket(sev, gfn));
		WRITE_ONCE(sev->nr_shared, sev->nr_shared + 1);
		unused = NULL;
	} else if (!ins && s) {
		hlist_del(&s->node);
		WRITE_ONCE(sev->nr_shared, sev->nr_shared - 1);
		unused = s;
	}
	spin_unlock(&sev->shared_lock);
	kfree(unused);
}

/*
 * set_memory_decrypted() / set_memory_encrypted() of one page: the frame
 * it maps is flushed (no line tagged with the key survives the flip) and,
 * once shared, no longer the checker's: its bytes are the host's to move.
 */
static int sev_guest_flip_page(struct kvm_vcpu *vcpu, gpa_t gpa, bool shared)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(vcpu->kvm);
	struct sev_shared_gfn *ins = NULL;
	kvm_pfn_t pfn;
	int r;

	if (shared) {
		ins = kzalloc(sizeof(*ins), GFP_KERNEL_ACCOUNT);
		if (!ins)
			return -ENOMEM;
	}
	r = kvm_vcpu_access_one(vcpu, gpa, MMUSIM_ACCESS_READ, NULL, &pfn, NULL);
	kvm_vcpu_exit_guest_mode(vcpu);
	if (r) {
		kfree(ins);
		return r > 0 ? -EFAULT : r; /* MMIO or a full dirty ring: not memory to flip */
	}
	sev_clflush_pfns(sev, pfn, 1);
	if (shared)
		sev_mem_forget_frame(sev, pfn);
	sev_set_gfn_shared(sev, gpa >> PAGE_SHIFT, ins);
	return 0;
}

static int sev_guest_set_shared(struct kvm_vcpu *vcpu, gpa_t gpa, u64 npages, bool shared)
{
	u64 i;
	int r;

	if (!sev_guest(vcpu->kvm))
		return -EINVAL;
	if (!npages || gpa & ~PAGE_MASK || npages > (kvm_guest_max_gfn(vcpu->kvm) + 1) ||
	    (gpa >> PAGE_SHIFT) + npages - 1 > kvm_guest_max_gfn(vcpu->kvm))
		return -EINVAL;
	for (i = 0; i < npages; i++) {
		r = sev_guest_flip_page(vcpu, gpa + i * PAGE_SIZE, shared);
		if (r)
			return r;
		cond_resched();
	}
	return 0;
}

int mmusim_vcpu_sev_set_shared(struct mmusim_vcpu *v, gpa_t gpa, u64 npages, bool shared)
{
	struct kvm_vcpu *vcpu;
	int r = kvm_vcpu_call_begin(v, &vcpu);

	if (r)
		return r;
	r = sev_guest_set_shared(vcpu, gpa, npages, shared);
	kvm_vm_call_end(vcpu->kvm);
	return r;
}

/* ======================== the I/O buffer pool ======================== */

struct mmusim_sev_io_pool {
	struct mmusim_vcpu *vcpu;
	gpa_t base;
	u64 npages;
	u32 *len; /* per page: the length in pages of the buffer starting there, else 0 */
	unsigned long *used;
};

int mmusim_sev_io_pool_create(struct mmusim_vcpu *v, gpa_t base, u64 size, gpa_t limit,
			      struct mmusim_sev_io_pool **poolp)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(v);
	struct mmusim_sev_io_pool *pool;

	if (!vcpu || !poolp || !sev_guest(vcpu->kvm))
		return -EINVAL;
	if (!limit)
		limit = MMUSIM_SEV_IO_LIMIT;
	if (!size || base & ~PAGE_MASK || size & ~PAGE_MASK || base + size < base ||
	    base + size > limit || size / PAGE_SIZE > U32_MAX)
		return -EINVAL;
	pool = kzalloc(sizeof(*pool), GFP_KERNEL_ACCOUNT);
	if (!pool)
		return -ENOMEM;
	pool->npages = size / PAGE_SIZE;
	pool->len = kvcalloc(pool->npages, sizeof(*pool->len), GFP_KERNEL_ACCOUNT);
	pool->used = bitmap_zalloc(pool->npages, GFP_KERNEL_ACCOUNT);
	if (!pool->len || !pool->used) {
		kvfree(pool->len);
		bitmap_free(pool->used);
		kfree(pool);
		return -ENOMEM;
	}
	pool->vcpu = v;
	pool->base = base;
	*poolp = pool;
	return 0;
}

void mmusim_sev_io_pool_destroy(struct mmusim_sev_io_pool *pool)
{
	if (!pool)
		return;
	kvfree(pool->len);
	bitmap_free(pool->used);
	kfree(pool);
}

/* First fit of @n free pages; -ENOMEM when the pool has no such run. */
static long io_pool_find(struct mmusim_sev_io_pool *pool, u64 n)
{
	u64 start = 0, end;

	while (start + n <= pool->npages) {
		start = find_next_zero_bit(pool->used, pool->npages, start);
		if (start + n > pool->npages)
			break;
		end = find_next_bit(pool->used, pool->npages, start);
		if (end - start >= n)
			return (long)start;
		start = end;
	}
	return -ENOMEM;
}

int mmusim_sev_io_alloc(struct mmusim_sev_io_pool *pool, u64 size, gpa_t *gpa)
{
	gpa_t start;
	long first;
	u64 n;
	int r;

	if (!pool || !gpa || !size || size > pool->npages * PAGE_SIZE)
		return -EINVAL;
	n = DIV_ROUND_UP(size, PAGE_SIZE);
	first = io_pool_find(pool, n);
	if (first < 0)
		return (int)first;
	start = pool->base + (u64)first * PAGE_SIZE;
	r = mmusim_vcpu_sev_set_shared(pool->vcpu, start, n, true);
	if (r) {
		/* Pages flipped before the failure go back to private. */
		mmusim_vcpu_sev_set_shared(pool->vcpu, start, n, false);
		return r;
	}
	bitmap_set(pool->used, first, n);
	pool->len[first] = n;
	*gpa = start;
	return 0;
}

int mmusim_sev_io_free(struct mmusim_sev_io_pool *pool, gpa_t gpa)
{
	static const u8 zeros[PAGE_SIZE];
	u64 first, n, i;
	int r;

	if (!pool || gpa < pool->base || gpa & ~PAGE_MASK)
		return -EINVAL;
	first = (gpa - pool->base) >> PAGE_SHIFT;
	if (first >= pool->npages || !pool->len[first])
		return -EINVAL;
	n = pool->len[first];
	r = mmusim_vcpu_sev_set_shared(pool->vcpu, gpa, n, false);
	/* Scrubbed privately: what the host saw is overwritten by ciphertext. */
	for (i = 0; !r && i < n; i++)
		r = mmusim_vcpu_write(pool->vcpu, gpa + i * PAGE_SIZE, zeros, PAGE_SIZE);
	if (r)
		return r;
	bitmap_clear(pool->used, first, n);
	pool->len[first] = 0;
	return 0;
}
