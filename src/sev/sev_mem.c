// SPDX-License-Identifier: GPL-2.0-only
/*
 * The simulated memory controller of an SEV host, and its checker.
 *
 * SEV encrypts a guest's private memory with the guest's key (the VEK the
 * PSP generates at LAUNCH_START), tweaked by the host *physical* address:
 * the same plaintext at another address is other ciphertext.  The model:
 * a guest data access goes through sev_mem_access(), which XORs each byte
 * with a keystream derived from (key, physical address of the byte), so
 *   - the frame holds ciphertext: the VMM reading the hva sees no plaintext;
 *   - data the host copies to another frame (migration, compaction, swap,
 *     THP collapse, COW) decrypts to garbage there, as on hardware.
 * The keystream is a mixing function, not a cipher: it needs to be cheap
 * and address-dependent, not secure.
 *
 * Caches: a guest write leaves its 64-byte lines dirty, tagged with the
 * guest's key, until a flush (sev_clflush_pages() of the page, or WBINVD).
 * Here the data reaches the frame at once, and the dirty lines are only
 * remembered; if a frame is freed while some are dirty, the lines (their
 * bytes as the guest left them) stay "in the cache" and are written back
 * when the frame is next allocated, after the allocator zeroed it: the next
 * owner finds foreign ciphertext.  That is Mingwei Zhang's "flush before
 * release" rule; a real eviction may come at any time, the model picks the
 * moment that hurts the next owner.  Host moves forget the frame's dirty
 * lines: the data is lost already, and one report per loss is enough.
 *
 * The checker keeps one record per frame the guest wrote (pfn -> gfn, the
 * guest, its dirty lines) and learns from the host's frame observer
 * (mmusim/host.h) what happens to frames: a move of a recorded frame is a
 * MMUSIM_SEV_MOVED report (gfn, old pfn, new pfn, event); swap is reported
 * when the data comes back, with the frame it was written from; an
 * allocation that gets dirty lines written back is MMUSIM_SEV_UNFLUSHED.
 *
 * Rules:
 *  1. One controller per host, created with the host's first SEV guest and
 *     freed with the host (the observer's release).  It also owns the
 *     host's SEV ASIDs (6.12's sev_asid_bitmap and reclaim bitmap).
 *  2. mc->lock is a spinning leaf lock: taken from guest mode and from the
 *     host's frame events, which may hold a page-table lock; nothing is
 *     called under it but kmalloc(GFP_ATOMIC) and the frame's data.
 *  3. Records belong to a guest: sev_mc_detach() drops them before its
 *     kvm_sev_info goes, so no record, swap note or stale line outlives it.
 *
 * The model is of a CPU without X86_FEATURE_SME_COHERENT (clflush matters);
 * accesses to pages the guest shared (sev_guest.c) bypass it, and their
 * frames are not recorded; KVM's own mappings of guest pages
 * (kvm_vcpu_map()) see ciphertext, as the host does.
 */
#include "mmusim_env.h"
#include "sev/sev.h"

/*
 * The host's SEV ASIDs come from its config (CPUID 0x8000001F, by default
 * min_sev_asid 1 and max_sev_asid 15); the bitmaps cover the largest.
 */
#define SEV_MAX_ASID SIM_SEV_ASID_LIMIT
#define SEV_MC_HASH_BITS 12
#define SEV_LINE 64
static_assert(PAGE_SIZE / SEV_LINE == 64, "one u64 holds a frame's dirty lines");

/* A frame holding a guest's ciphertext. */
struct sev_frame {
	struct hlist_node node;
	kvm_pfn_t pfn;
	gfn_t gfn;
	struct kvm_sev_info *sev;
	u64 dirty; /* lines written since the last flush */
};

/* Ciphertext written to swap from frame from_pfn, reported when it comes back. */
struct sev_swapped {
	struct list_head list;
	kvm_pfn_t from_pfn;
	gfn_t gfn;
	struct kvm_sev_info *sev;
};

/* Dirty lines of a freed frame, still "in the cache". */
struct sev_stale {
	struct list_head list;
	kvm_pfn_t pfn;
	gfn_t gfn;
	struct kvm_sev_info *sev;
	u64 lines;
	u8 data[PAGE_SIZE];
};

struct sev_mc {
	struct sim_host *host;
	spinlock_t lock;
	unsigned long asid_bitmap[BITS_TO_LONGS(SEV_MAX_ASID + 1)];
	unsigned long reclaim_asid_bitmap[BITS_TO_LONGS(SEV_MAX_ASID + 1)];
	unsigned long nr_frames; /* READ_ONCE outside the lock: a fast path */
	unsigned long nr_stale;
	unsigned long nr_swapped;
	struct list_head swapped;
	struct list_head stale;
	struct hlist_head frames[1 << SEV_MC_HASH_BITS];
};

/* ======================== the keystream ======================== */

static inline u64 sev_mix(u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline u64 sev_ks_word(u64 key, u64 pa)
{
	return sev_mix(key ^ sev_mix(pa >> 3));
}

/*
 * XOR @n bytes at physical address @pa with the keystream of @key: both
 * ways.  Byte i of the 8-byte word at pa & ~7 takes byte i of its word.
 */
static void sev_crypt(u64 key, u64 pa, u8 *p, u32 n)
{
	u32 i = 0;

	for (; i < n && ((pa + i) & 7); i++)
		p[i] ^= (u8)(sev_ks_word(key, pa + i) >> (((pa + i) & 7) * 8));
	for (; i + 8 <= n; i += 8) {
		u64 w;

		memcpy(&w, p + i, 8);
		w ^= sev_ks_word(key, pa + i); /* x86 is little endian */
		memcpy(p + i, &w, 8);
	}
	for (; i < n; i++)
		p[i] ^= (u8)(sev_ks_word(key, pa + i) >> (((pa + i) & 7) * 8));
}

/* ======================== records ======================== */

static struct hlist_head *frame_bucket(struct sev_mc *mc, kvm_pfn_t pfn)
{
	return &mc->frames[hash_64(pfn, SEV_MC_HASH_BITS)];
}

static struct sev_frame *frame_find(struct sev_mc *mc, kvm_pfn_t pfn)
{
	struct sev_frame *f;

	lockdep_assert_held(&mc->lock);
	hlist_for_each_entry(f, frame_bucket(mc, pfn), node)
		if (f->pfn == pfn)
			return f;
	return NULL;
}

static void frame_del(struct sev_mc *mc, struct sev_frame *f)
{
	hlist_del(&f->node);
	WRITE_ONCE(mc->nr_frames, mc->nr_frames - 1);
	kfree(f);
}

static void sev_report(struct sev_mc *mc, struct kvm_sev_info *sev, u32 kind, u32 event, gfn_t gfn,
		       kvm_pfn_t old_pfn, kvm_pfn_t new_pfn)
{
	lockdep_assert_held(&mc->lock);
	if (sev->nr_reports < SEV_MAX_REPORTS) {
		struct mmusim_sev_report *r = &sev->reports[sev->nr_reports];

		r->kind = kind;
		r->event = event;
		r->gfn = gfn;
		r->old_pfn = old_pfn;
		r->new_pfn = new_pfn;
	}
	sev->nr_reports++;
}

/* The guest wrote @lines of @pfn: record the frame as @sev's, dirty. */
static void sev_note_write(struct sev_mc *mc, struct kvm_sev_info *sev, kvm_pfn_t pfn, gfn_t gfn,
			   u64 lines)
{
	struct sev_frame *f, *new = NULL;

	for (;;) {
		spin_lock(&mc->lock);
		f = frame_find(mc, pfn);
		if (f || new)
			break;
		spin_unlock(&mc->lock);
		/* Outside the lock, which the host's frame events also take. */
		new = kzalloc(sizeof(*new), GFP_ATOMIC);
		if (!new)
			return; /* the checker is blind to this frame: no false report */
	}
	if (!f) {
		f = new;
		new = NULL;
		f->pfn = pfn;
		hlist_add_head(&f->node, frame_bucket(mc, pfn));
		WRITE_ONCE(mc->nr_frames, mc->nr_frames + 1);
	}
	f->gfn = gfn;
	f->sev = sev;
	f->dirty |= lines;
	spin_unlock(&mc->lock);
	kfree(new);
}

/* The lines [off, off + n) of a frame touches. */
static u64 line_mask(u32 off, u32 n)
{
	u32 first = off / SEV_LINE, last = (off + n - 1) / SEV_LINE;

	return (last == 63 ? ~0ULL : BIT_ULL(last + 1) - 1) & ~(BIT_ULL(first) - 1);
}

int sev_mem_access(struct kvm *kvm, gfn_t gfn, kvm_pfn_t pfn, u32 off, void *buf, u32 len,
		   bool write)
{
	struct kvm_sev_info *sev = kvm->sev;
	u8 *data = sim_pfn_to_virt(kvm->host, pfn), line[SEV_LINE], *p = buf;
	u64 pa = ((u64)pfn << PAGE_SHIFT) + off, lines = 0;

	if (!data || off + len > PAGE_SIZE)
		return -EFAULT;
	if (!write) {
		/* Decrypted in the caller's buffer, which is the reader's to see. */
		memcpy(p, data + off, len);
		sev_crypt(sev->key, pa, p, len);
		atomic64_inc(&sev->dec_reads);
		return 0;
	}
	/* Line by line through @line: the frame never holds plaintext, not even for a moment. */
	while (len) {
		u32 n = min_t(u32, len, SEV_LINE - (off & (SEV_LINE - 1)));

		memcpy(line, p, n);
		sev_crypt(sev->key, pa, line, n);
		memcpy(data + off, line, n);
		lines |= line_mask(off, n);
		p += n;
		off += n;
		pa += n;
		len -= n;
	}
	atomic64_inc(&sev->enc_writes);
	if (lines)
		sev_note_write(sev->mc, sev, pfn, gfn, lines);
	return 0;
}

void sev_mem_forget_frame(struct kvm_sev_info *sev, kvm_pfn_t pfn)
{
	struct sev_mc *mc = sev->mc;
	struct sev_frame *f;

	spin_lock(&mc->lock);
	f = frame_find(mc, pfn);
	if (f && f->sev == sev)
		frame_del(mc, f);
	spin_unlock(&mc->lock);
}

/* ======================== the PSP's accesses ======================== */

/*
 * The firmware's in-place encryption (LAUNCH_UPDATE_DATA/VMSA/SECRET, DBG_*,
 * psp.c): XOR @len bytes of @src into @dst with @sev's keystream at frame
 * @pfn, offset @off; either may be the frame itself.  @record: @dst is the
 * frame, now holding @sev's ciphertext: the checker records it (with no
 * dirty lines, as the PSP writes memory, not the CPU's caches).
 */
int sev_mem_fw_crypt(struct kvm_sev_info *sev, kvm_pfn_t pfn, u32 off, const void *src, void *dst,
		     u32 len, bool record)
{
	if (off >= PAGE_SIZE || len > PAGE_SIZE - off)
		return -EINVAL;
	if (src != dst)
		memmove(dst, src, len);
	sev_crypt(sev->key, ((u64)pfn << PAGE_SHIFT) + off, dst, len);
	if (record)
		sev_note_write(sev->mc, sev, pfn, SEV_GFN_FW, 0);
	return 0;
}

/* ======================== flushes ======================== */

void sev_clflush_pages(struct kvm_sev_info *sev, struct sim_page **pages, unsigned long npages)
{
	struct sev_mc *mc = sev->mc;
	struct sev_frame *f;
	unsigned long i;

	if (READ_ONCE(sev->debug_skip_flush) || !npages || !pages)
		return;
	for (i = 0; i < npages; i++) {
		spin_lock(&mc->lock);
		f = frame_find(mc, sim_page_to_pfn(mc->host, pages[i]));
		if (f)
			f->dirty = 0;
		spin_unlock(&mc->lock);
		cond_resched();
	}
	atomic64_add(npages, &sev->clflush_pages);
}

void sev_clflush_pfns(struct kvm_sev_info *sev, kvm_pfn_t pfn, u64 nr)
{
	struct sev_mc *mc = sev->mc;
	struct sev_frame *f;
	u64 i;

	if (READ_ONCE(sev->debug_skip_flush))
		return;
	spin_lock(&mc->lock);
	for (i = 0; i < nr && READ_ONCE(mc->nr_frames); i++) {
		f = frame_find(mc, pfn + i);
		if (f)
			f->dirty = 0;
	}
	spin_unlock(&mc->lock);
	atomic64_add(nr, &sev->clflush_pages);
}

/*
 * Every cache of the machine written back and invalidated: no frame keeps
 * dirty lines, and the lines of freed frames go to those free frames,
 * which their next allocation zeroes (no harm, so they are dropped).
 */
void sev_wbinvd_on_all_cpus(struct kvm_sev_info *sev)
{
	struct sev_mc *mc = sev->mc;
	struct sev_stale *s, *next;
	struct sev_frame *f;
	LIST_HEAD(drop);
	unsigned int b;

	if (READ_ONCE(sev->debug_skip_flush))
		return;
	spin_lock(&mc->lock);
	for (b = 0; b < ARRAY_SIZE(mc->frames); b++)
		hlist_for_each_entry(f, &mc->frames[b], node)
			f->dirty = 0;
	list_splice_init(&mc->stale, &drop);
	WRITE_ONCE(mc->nr_stale, 0);
	spin_unlock(&mc->lock);
	list_for_each_entry_safe(s, next, &drop, list)
		kfree(s);
	atomic64_inc(&sev->wbinvd);
}

/* ======================== the host's frame events ======================== */

/* A frame with dirty lines is freed: keep the lines, as the cache does. */
static void frame_freed(struct sev_mc *mc, struct sev_frame *f)
{
	struct sev_stale *s;
	u8 *data;
	u64 m;

	if (f->dirty) {
		s = kmalloc(sizeof(*s), GFP_ATOMIC);
		data = sim_pfn_to_virt(mc->host, f->pfn);
		if (s && data) {
			s->pfn = f->pfn;
			s->gfn = f->gfn;
			s->sev = f->sev;
			s->lines = f->dirty;
			for (m = f->dirty; m; m &= m - 1) {
				unsigned int l = __builtin_ctzll(m);

				memcpy(s->data + l * SEV_LINE, data + l * SEV_LINE, SEV_LINE);
			}
			list_add_tail(&s->list, &mc->stale);
			WRITE_ONCE(mc->nr_stale, mc->nr_stale + 1);
		} else {
			kfree(s);
		}
	}
	frame_del(mc, f);
}

/* [pfn, pfn + nr) was allocated: write back the stale lines it had. */
static void frames_allocated(struct sev_mc *mc, kvm_pfn_t pfn, u64 nr)
{
	struct sev_stale *s, *next;
	u64 m;

	list_for_each_entry_safe(s, next, &mc->stale, list) {
		u8 *data;

		if (s->pfn < pfn || s->pfn >= pfn + nr)
			continue;
		data = sim_pfn_to_virt(mc->host, s->pfn);
		for (m = s->lines; m && data; m &= m - 1) {
			unsigned int l = __builtin_ctzll(m);

			memcpy(data + l * SEV_LINE, s->data + l * SEV_LINE, SEV_LINE);
		}
		sev_report(mc, s->sev, MMUSIM_SEV_UNFLUSHED, SIM_FRAME_ALLOC, s->gfn, s->pfn,
			   s->pfn);
		list_del(&s->list);
		WRITE_ONCE(mc->nr_stale, mc->nr_stale - 1);
		kfree(s);
	}
}

/* Calls @fn on every record in [pfn, pfn + nr): by lookup, or by a scan if shorter. */
static void for_each_frame_in(struct sev_mc *mc, kvm_pfn_t pfn, u64 nr,
			      void (*fn)(struct sev_mc *, struct sev_frame *, void *), void *arg)
{
	struct sev_frame *f;
	struct hlist_node *tmp;
	unsigned int b;
	u64 i;

	if (nr <= mc->nr_frames || nr <= 64) {
		for (i = 0; i < nr; i++) {
			f = frame_find(mc, pfn + i);
			if (f)
				fn(mc, f, arg);
		}
		return;
	}
	for (b = 0; b < ARRAY_SIZE(mc->frames); b++)
		hlist_for_each_entry_safe(f, tmp, &mc->frames[b], node)
			if (f->pfn >= pfn && f->pfn < pfn + nr)
				fn(mc, f, arg);
}

static void free_one(struct sev_mc *mc, struct sev_frame *f, void *arg)
{
	frame_freed(mc, f);
}

struct move_arg {
	int ev;
	kvm_pfn_t old_pfn, new_pfn;
};

static void move_one(struct sev_mc *mc, struct sev_frame *f, void *arg)
{
	struct move_arg *a = arg;

	sev_report(mc, f->sev, MMUSIM_SEV_MOVED, a->ev, f->gfn, f->pfn,
		   a->new_pfn + (f->pfn - a->old_pfn));
	frame_del(mc, f);
}

/* Data written to swap from @pfn: remember whose it was until it comes back. */
static void swapped_out(struct sev_mc *mc, kvm_pfn_t pfn)
{
	struct sev_frame *f = frame_find(mc, pfn);
	struct sev_swapped *sw;

	if (!f)
		return;
	sw = kmalloc(sizeof(*sw), GFP_ATOMIC);
	if (sw) {
		sw->from_pfn = pfn;
		sw->gfn = f->gfn;
		sw->sev = f->sev;
		list_add_tail(&sw->list, &mc->swapped);
		WRITE_ONCE(mc->nr_swapped, mc->nr_swapped + 1);
	}
	frame_del(mc, f);
}

/*
 * Data written to swap from @old is back, in @new (or a collapsed THP's
 * frame).  Back in the frame it left, it decrypts fine: the frame is the
 * guest's again.
 */
static bool swapped_in(struct sev_mc *mc, int ev, kvm_pfn_t old, kvm_pfn_t new)
{
	struct sev_swapped *sw;
	struct sev_frame *f;

	list_for_each_entry(sw, &mc->swapped, list) {
		if (sw->from_pfn != old)
			continue;
		if (new != old) {
			sev_report(mc, sw->sev, MMUSIM_SEV_MOVED, ev, sw->gfn, old, new);
		} else if (!frame_find(mc, new)) {
			f = kzalloc(sizeof(*f), GFP_ATOMIC);
			if (f) {
				f->pfn = new;
				f->gfn = sw->gfn;
				f->sev = sw->sev;
				hlist_add_head(&f->node, frame_bucket(mc, new));
				WRITE_ONCE(mc->nr_frames, mc->nr_frames + 1);
			}
		}
		list_del(&sw->list);
		WRITE_ONCE(mc->nr_swapped, mc->nr_swapped - 1);
		kfree(sw);
		return true;
	}
	return false;
}

static void sev_mc_frame_event(void *priv, enum sim_frame_event ev, kvm_pfn_t old_pfn,
			       kvm_pfn_t new_pfn, u64 nr, unsigned int gfp)
{
	struct sev_mc *mc = priv;
	struct move_arg a = { .ev = ev, .old_pfn = old_pfn, .new_pfn = new_pfn };

	/* The host's hot paths pay two loads when no guest data is at stake. */
	if (ev == SIM_FRAME_ALLOC) {
		if (!READ_ONCE(mc->nr_stale))
			return;
	} else if (!READ_ONCE(mc->nr_frames) && !READ_ONCE(mc->nr_swapped)) {
		return;
	}
	spin_lock(&mc->lock);
	switch (ev) {
	case SIM_FRAME_ALLOC:
		frames_allocated(mc, old_pfn, nr);
		break;
	case SIM_FRAME_FREE:
		for_each_frame_in(mc, old_pfn, nr, free_one, NULL);
		break;
	case SIM_FRAME_SWAP_OUT:
		swapped_out(mc, old_pfn);
		break;
	case SIM_FRAME_SWAP_IN:
		swapped_in(mc, ev, old_pfn, new_pfn);
		break;
	case SIM_FRAME_COLLAPSE:
		/* A collapse copies mapped frames and swap slots alike. */
		if (!swapped_in(mc, ev, old_pfn, new_pfn))
			for_each_frame_in(mc, old_pfn, nr, move_one, &a);
		break;
	default:
		for_each_frame_in(mc, old_pfn, nr, move_one, &a);
		break;
	}
	spin_unlock(&mc->lock);
}

static void sev_mc_release(void *priv)
{
	struct sev_mc *mc = priv;
	struct sev_swapped *sw, *nsw;
	struct sev_stale *s, *ns;
	struct sev_frame *f;
	struct hlist_node *tmp;
	unsigned long live = 0;
	unsigned int b;

	/* An ASID still in use: a guest outlived its host; its records go anyway. */
	for (b = 0; b < ARRAY_SIZE(mc->asid_bitmap); b++)
		live |= mc->asid_bitmap[b] & ~mc->reclaim_asid_bitmap[b];
	WARN_ON_ONCE(live);
	for (b = 0; b < ARRAY_SIZE(mc->frames); b++)
		hlist_for_each_entry_safe(f, tmp, &mc->frames[b], node)
			frame_del(mc, f);
	list_for_each_entry_safe(sw, nsw, &mc->swapped, list)
		kfree(sw);
	list_for_each_entry_safe(s, ns, &mc->stale, list)
		kfree(s);
	kfree(mc);
}

static const struct sim_frame_observer_ops sev_mc_ops = {
	.event = sev_mc_frame_event,
	.release = sev_mc_release,
};

/* ======================== guests ======================== */

static struct sev_mc *sev_mc_get(struct sim_host *host)
{
	struct sev_mc *mc = sim_host_frame_observer(host, &sev_mc_ops);
	int r;

	if (mc)
		return mc;
	mc = kzalloc(sizeof(*mc), GFP_KERNEL);
	if (!mc)
		return NULL;
	mc->host = host;
	spin_lock_init(&mc->lock);
	INIT_LIST_HEAD(&mc->swapped);
	INIT_LIST_HEAD(&mc->stale);
	r = sim_host_set_frame_observer(host, &sev_mc_ops, mc);
	if (r) {
		/* Another guest's init won the race (or the host has another observer). */
		kfree(mc);
		mc = sim_host_frame_observer(host, &sev_mc_ops);
	}
	return mc;
}

/*
 * sev_asid_new()'s search of [min_asid, max_asid]: recycle the reclaimed
 * ASIDs (DF_FLUSH) once when none is free.
 */
static unsigned int sev_alloc_asid(struct sev_mc *mc, unsigned int min_asid, unsigned int max_asid)
{
	unsigned int asid;
	bool retry = true;

	lockdep_assert_held(&mc->lock);
again:
	asid = find_next_zero_bit(mc->asid_bitmap, max_asid + 1, min_asid);
	if (asid > max_asid) {
		if (retry && !bitmap_empty(mc->reclaim_asid_bitmap, SEV_MAX_ASID + 1)) {
			unsigned int i;

			for (i = 0; i < ARRAY_SIZE(mc->asid_bitmap); i++)
				mc->asid_bitmap[i] &= ~mc->reclaim_asid_bitmap[i];
			bitmap_zero(mc->reclaim_asid_bitmap, SEV_MAX_ASID + 1);
			retry = false;
			goto again;
		}
		return asid;
	}
	__set_bit(asid, mc->asid_bitmap);
	return asid;
}

int sev_mc_attach(struct kvm_sev_info *sev, u64 key)
{
	struct sev_mc *mc;
	unsigned int asid, min_asid, max_asid;
	u32 min_sev_asid, max_sev_asid;

	/* 6.12's sev_asid_new(): SEV-ES takes 1..min_sev_asid - 1, SEV the rest. */
	sim_host_sev_asids(sev->kvm->host, &min_sev_asid, &max_sev_asid);
	min_asid = sev->es_active ? 1 : min_sev_asid;
	max_asid = sev->es_active ? min_sev_asid - 1 : max_sev_asid;
	if (min_asid > max_asid)
		return -ENOTTY;
	mc = sev_mc_get(sev->kvm->host);
	if (!mc)
		return -ENOMEM;
	spin_lock(&mc->lock);
	asid = sev_alloc_asid(mc, min_asid, max_asid);
	spin_unlock(&mc->lock);
	if (asid > max_asid)
		return -EBUSY;
	sev->mc = mc;
	sev->asid = asid;
	/* What LAUNCH_START's firmware would generate; fixed per ASID when not given. */
	sev->key = key ?: sev_mix(0x5345560000000000ULL | asid);
	return 0;
}

void sev_mc_detach(struct kvm_sev_info *sev)
{
	struct sev_mc *mc = sev->mc;
	struct sev_swapped *sw, *nsw;
	struct sev_stale *s, *ns;
	struct sev_frame *f;
	struct hlist_node *tmp;
	unsigned int b;

	spin_lock(&mc->lock);
	for (b = 0; b < ARRAY_SIZE(mc->frames); b++)
		hlist_for_each_entry_safe(f, tmp, &mc->frames[b], node)
			if (f->sev == sev)
				frame_del(mc, f);
	list_for_each_entry_safe(sw, nsw, &mc->swapped, list) {
		if (sw->sev == sev) {
			list_del(&sw->list);
			WRITE_ONCE(mc->nr_swapped, mc->nr_swapped - 1);
			kfree(sw);
		}
	}
	list_for_each_entry_safe(s, ns, &mc->stale, list) {
		if (s->sev == sev) {
			list_del(&s->list);
			WRITE_ONCE(mc->nr_stale, mc->nr_stale - 1);
			kfree(s);
		}
	}
	/* sev_asid_free(): reusable only after the next recycle. */
	__set_bit(sev->asid, mc->reclaim_asid_bitmap);
	spin_unlock(&mc->lock);
}

u64 sev_mc_get_reports(struct kvm_sev_info *sev, struct mmusim_sev_report *out, u32 max)
{
	struct sev_mc *mc = sev->mc;
	struct mmusim_sev_report copy[4];
	u64 n, i, done = 0;

	/* Through a small bounce: @out is the caller's, not touched under the lock. */
	for (;;) {
		u32 chunk;

		spin_lock(&mc->lock);
		n = sev->nr_reports;
		chunk = min_t(u64, min_t(u64, n, SEV_MAX_REPORTS), max);
		chunk = done < chunk ? min_t(u32, chunk - done, ARRAY_SIZE(copy)) : 0;
		for (i = 0; i < chunk; i++)
			copy[i] = sev->reports[done + i];
		spin_unlock(&mc->lock);
		if (!chunk)
			return n;
		memcpy(out + done, copy, chunk * sizeof(copy[0]));
		done += chunk;
	}
}
