/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the libFuzzer targets (after zstd's tests/fuzz).
 *
 * FUZZ_ASSERT() is always on, whatever NDEBUG says: a fuzzer that stops
 * checking in release builds finds nothing.  A failed assertion prints the
 * condition and a message, then aborts, which libFuzzer (and the replay
 * driver) report as a crash with the input that caused it.
 *
 * Every target runs with MMUSIM_PANIC_ON_WARN=1, so a WARN in the library
 * aborts at the WARN site (the stack trace shows who warned), and checks at
 * the end of each input that nothing leaked: rcu_barrier() first, then
 * env_live_objects() must be back to its value before the input.
 */
#ifndef _MMUSIM_FUZZ_HELPERS_H
#define _MMUSIM_FUZZ_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmusim/env.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline __attribute__((noreturn, format(printf, 4, 5))) void
fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: FUZZ_ASSERT(%s) failed", file, line, cond);
	if (fmt && *fmt) {
		fputs(": ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

#define FUZZ_ASSERT(cond)                                                    \
	do {                                                                 \
		if (!(cond))                                                 \
			fuzz_fail(__FILE__, __LINE__, #cond, "%s", "");      \
	} while (0)

#define FUZZ_ASSERT_MSG(cond, ...)                                           \
	do {                                                                 \
		if (!(cond))                                                 \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);   \
	} while (0)

/* Compare two integers and print both on failure. */
#define FUZZ_ASSERT_EQ(a, b)                                                          \
	do {                                                                          \
		long long _a = (long long)(a), _b = (long long)(b);                   \
		if (_a != _b)                                                         \
			fuzz_fail(__FILE__, __LINE__, #a " == " #b, "%lld != %lld", _a, _b); \
	} while (0)

/*
 * Once per process: WARN aborts, and the calling thread (libFuzzer runs
 * every input on the thread that called LLVMFuzzerInitialize) is an RCU
 * reader, as the library requires of every thread that enters it.
 */
static inline void fuzz_env_init(void)
{
	setenv("MMUSIM_PANIC_ON_WARN", "1", 1);
	env_thread_register();
}

/* Around one input: live objects before, then "nothing leaked, nothing warned". */
static inline long fuzz_live_begin(void)
{
	rcu_barrier();
	env_warn_count_reset();
	return env_live_objects();
}

static inline void fuzz_live_end(long before)
{
	long after;

	rcu_barrier();
	after = env_live_objects();
	FUZZ_ASSERT_MSG(after == before, "leak: %ld live objects before the input, %ld after",
			before, after);
	FUZZ_ASSERT_MSG(env_warn_count() == 0, "%lu WARN(s) fired", env_warn_count());
}

#endif /* _MMUSIM_FUZZ_HELPERS_H */
