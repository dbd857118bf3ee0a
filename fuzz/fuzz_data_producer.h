/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A data producer that takes its values from the END of the input, as zstd's
 * fuzz_data_producer.h does: every read consumes just enough bytes for its
 * range, from the last byte backwards, and returns the minimum once the
 * input is used up.  So a short input is still a valid (short) program, a
 * mutation near the end of the input changes the first decisions, and
 * whatever is left at the front can serve as payload.
 *
 * Layout, for tools that write inputs by hand (fuzz/gen_seeds.py): a value
 * with a range of n bytes (the bytes needed to hold max - min) is stored as
 * n little-endian bytes, and the values are laid out from the end of the
 * file towards its start; the value read is min + stored % (max - min + 1).
 */
#ifndef _MMUSIM_FUZZ_DATA_PRODUCER_H
#define _MMUSIM_FUZZ_DATA_PRODUCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fuzz_dp {
	const uint8_t *data;
	size_t size;	/* bytes not consumed yet: data[0 .. size) */
};

static inline void fuzz_dp_init(struct fuzz_dp *dp, const uint8_t *data, size_t size)
{
	dp->data = data;
	dp->size = size;
}

static inline size_t fuzz_dp_remaining(const struct fuzz_dp *dp)
{
	return dp->size;
}

static inline bool fuzz_dp_empty(const struct fuzz_dp *dp)
{
	return dp->size == 0;
}

/* A value in [min, max]; min when the input is used up. */
static inline uint64_t fuzz_dp_range(struct fuzz_dp *dp, uint64_t min, uint64_t max)
{
	uint64_t range = max - min, rolling = range, result = 0;

	while (rolling && dp->size) {
		result = (result << 8) | dp->data[--dp->size];
		rolling >>= 8;
	}
	if (range == UINT64_MAX)
		return result;
	return min + result % (range + 1);
}

static inline uint32_t fuzz_dp_u32_range(struct fuzz_dp *dp, uint32_t min, uint32_t max)
{
	return (uint32_t)fuzz_dp_range(dp, min, max);
}

static inline uint64_t fuzz_dp_u64(struct fuzz_dp *dp)
{
	return fuzz_dp_range(dp, 0, UINT64_MAX);
}

static inline uint32_t fuzz_dp_u32(struct fuzz_dp *dp)
{
	return (uint32_t)fuzz_dp_range(dp, 0, UINT32_MAX);
}

static inline bool fuzz_dp_bool(struct fuzz_dp *dp)
{
	return fuzz_dp_range(dp, 0, 1);
}

/* An index below @n (n >= 1). */
static inline uint32_t fuzz_dp_index(struct fuzz_dp *dp, uint32_t n)
{
	return n ? (uint32_t)fuzz_dp_range(dp, 0, n - 1) : 0;
}

#endif /* _MMUSIM_FUZZ_DATA_PRODUCER_H */
