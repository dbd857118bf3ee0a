/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Trace events, userspace side of the seam (src/mmu/mmutrace.h defines the
 * events; env_trace.c records and writes them).
 *
 * env_trace_on[] has one byte per event id, non-zero when enabled: a
 * disabled call site costs a load and test of that byte (PC-relative:
 * hidden, so not through the GOT even in the shared library) and a branch
 * the compiler lays out as not taken.  env_trace_record() copies the
 * record into the calling thread's ring buffer with a timestamp, the CPU
 * and the thread's id.
 */
#ifndef _MMUSIM_ENV_TRACE_H
#define _MMUSIM_ENV_TRACE_H

#define ENV_TRACE_MAX_EVENTS 64
extern u8 env_trace_on[ENV_TRACE_MAX_EVENTS] __attribute__((visibility("hidden")));

#define env_trace_enabled(id) unlikely(READ_ONCE(env_trace_on[id]))

void env_trace_record(unsigned int id, const u64 *fields, unsigned int nr_fields);

#endif /* _MMUSIM_ENV_TRACE_H */
