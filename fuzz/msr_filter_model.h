/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An independent model of KVM_X86_SET_MSR_FILTER and kvm_msr_allowed()
 * (seeds-apis.md sections 1.4 and 1.5, Linux 6.12), for fuzz_msr_filter and
 * tests/test_msr_filter.c.  Written from the rules, not from
 * src/msr/msr_filter.c: it keeps the caller's ranges as given (no
 * compaction), reads bitmaps byte by byte, and computes range ends in 64
 * bits with the u32 wrap stated as a rule.
 *
 * The model cannot read user memory, so the caller tells it how many bytes
 * each range's bitmap pointer can deliver (readable[i]; 0 for NULL or a bad
 * pointer) and gives it a copy of those bytes.
 */
#ifndef _MMUSIM_FUZZ_MSR_FILTER_MODEL_H
#define _MMUSIM_FUZZ_MSR_FILTER_MODEL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MODEL_NR_RANGES 16
#define MODEL_MAX_BITMAP 0x600	/* bytes */

struct model_range {
	uint32_t flags, nmsrs, base;
	uint8_t bits[MODEL_MAX_BITMAP];
};

struct model_filter {
	bool installed;		/* false: no filter, everything allowed */
	bool default_deny;
	int nr;
	struct model_range r[MODEL_NR_RANGES];
};

/* The caller's request: the uapi fields plus what each bitmap pointer holds. */
struct model_request {
	uint32_t flags;
	uint32_t rflags[MODEL_NR_RANGES], nmsrs[MODEL_NR_RANGES], base[MODEL_NR_RANGES];
	uint32_t readable[MODEL_NR_RANGES];	/* bytes readable at bitmap */
	const uint8_t *bytes[MODEL_NR_RANGES];	/* those bytes */
};

/* Bytes KVM copies for @nmsrs: whole 64-bit words. */
static inline uint64_t model_bitmap_bytes(uint32_t nmsrs)
{
	return ((uint64_t)nmsrs + 63) / 64 * 8;
}

/* The errno KVM returns for @q (0 = accepted), and the filter it installs. */
static inline int model_set_filter(struct model_filter *m, const struct model_request *q)
{
	struct model_filter next = { .installed = true, .default_deny = q->flags & 1 };
	bool any = false;
	int i;

	if (q->flags > 1)
		return -EINVAL;
	for (i = 0; i < MODEL_NR_RANGES; i++)
		if (q->nmsrs[i])
			any = true;
	if (!any && next.default_deny)
		return -EINVAL;
	for (i = 0; i < MODEL_NR_RANGES; i++) {
		uint64_t need = model_bitmap_bytes(q->nmsrs[i]);
		struct model_range *r;

		if (!q->nmsrs[i])
			continue;
		if (q->rflags[i] == 0 || q->rflags[i] > 3)
			return -EINVAL;
		if (need > MODEL_MAX_BITMAP)
			return -EINVAL;
		if (q->readable[i] < need)
			return -EFAULT;
		r = &next.r[next.nr++];
		r->flags = q->rflags[i];
		r->nmsrs = q->nmsrs[i];
		r->base = q->base[i];
		memset(r->bits, 0, sizeof(r->bits));
		memcpy(r->bits, q->bytes[i], need);
	}
	*m = next;
	return 0;
}

/* @write: the access is a WRMSR.  True if the filter lets it through. */
static inline bool model_allowed(const struct model_filter *m, uint32_t index, bool write)
{
	uint32_t type = write ? 2 : 1;
	int i;

	if (index >= 0x800 && index <= 0x8ff)
		return true;
	if (!m->installed)
		return true;
	for (i = 0; i < m->nr; i++) {
		const struct model_range *r = &m->r[i];
		uint64_t end = (uint64_t)r->base + r->nmsrs;
		uint32_t bit;

		/* A range whose end does not fit in 32 bits wraps and matches nothing. */
		if (end > 0xffffffffULL)
			continue;
		if (index < r->base || index >= end || !(r->flags & type))
			continue;
		bit = index - r->base;
		return (r->bits[bit / 8] >> (bit % 8)) & 1;
	}
	return !m->default_deny;
}

#endif /* _MMUSIM_FUZZ_MSR_FILTER_MODEL_H */
