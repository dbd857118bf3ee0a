/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which build of the environment seam the benchmarks were compiled with, so
 * that every figure they print or write names it: "fast" (-DMMUSIM_ENV=fast:
 * kernel-like locks, no lock, RCU or SPTE checks) or "checked" (the default:
 * owner-checked locks, lockdep, RCU checks, the SPTE checker if MMUSIM_PROVE).
 */
#ifndef _MMUSIM_BENCH_ENV_H
#define _MMUSIM_BENCH_ENV_H

static inline const char *bench_env(void)
{
#ifdef MMUSIM_ENV_FAST
	return "fast";
#else
	return "checked";
#endif
}

#endif /* _MMUSIM_BENCH_ENV_H */
