/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * WARN/BUG, userspace side.  A WARN prints its site and is counted; tests
 * assert env_warn_count() == 0 at teardown, so a warning is a test failure.
 * With MMUSIM_PANIC_ON_WARN=1 in the environment (the fuzzers set it) a WARN
 * aborts instead.  BUG() always aborts.
 */
#ifndef _MMUSIM_ENV_BUG_H
#define _MMUSIM_ENV_BUG_H

void env_warn(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void __attribute__((noreturn)) env_bug(const char *file, int line, const char *cond);
/* WARN accounting is a userspace feature (the kernel has panic_on_warn). */
#define ENV_WARN_COUNT 1
unsigned long env_warn_count(void);
void env_warn_count_reset(void);

#define WARN(cond, fmt, ...)                                                         \
	({                                                                           \
		bool __c = !!(cond);                                                 \
		if (unlikely(__c))                                                   \
			env_warn(__FILE__, __LINE__, fmt, ##__VA_ARGS__);            \
		unlikely(__c);                                                       \
	})
#define WARN_ON(cond) WARN(cond, "WARN_ON(%s)", #cond)

/* Once per call site, like the kernel's; the count still grows every time. */
#define WARN_ONCE(cond, fmt, ...)                                                    \
	({                                                                           \
		static bool __warned;                                                \
		bool __c = !!(cond);                                                 \
		if (unlikely(__c)) {                                                 \
			if (!__atomic_exchange_n(&__warned, true, __ATOMIC_RELAXED)) \
				env_warn(__FILE__, __LINE__, fmt, ##__VA_ARGS__);    \
			else                                                         \
				env_warn(NULL, 0, NULL);                             \
		}                                                                    \
		unlikely(__c);                                                       \
	})
#define WARN_ON_ONCE(cond) WARN_ONCE(cond, "WARN_ON_ONCE(%s)", #cond)

#define BUG() env_bug(__FILE__, __LINE__, "BUG()")
#define BUG_ON(cond)                                                                 \
	do {                                                                         \
		if (unlikely(cond))                                                  \
			env_bug(__FILE__, __LINE__, #cond);                          \
	} while (0)

#endif /* _MMUSIM_ENV_BUG_H */
