// SPDX-License-Identifier: GPL-2.0-only
/* WARN/BUG counters, printk and refcount warnings for the userspace seam. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "mmusim_env.h"

static unsigned long warn_count;

#if defined(__SANITIZE_THREAD__)
unsigned long env_tsan_fence_word;
#endif
static int panic_on_warn = -1;

static bool env_panic_on_warn(void)
{
	int p = __atomic_load_n(&panic_on_warn, __ATOMIC_RELAXED);

	if (p < 0) {
		const char *s = getenv("MMUSIM_PANIC_ON_WARN");

		p = s && *s == '1';
		__atomic_store_n(&panic_on_warn, p, __ATOMIC_RELAXED);
	}
	return p;
}

void env_warn(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	__atomic_fetch_add(&warn_count, 1, __ATOMIC_RELAXED);
	if (!fmt)
		return;
	fprintf(stderr, "WARNING: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (env_panic_on_warn())
		abort();
}

void env_bug(const char *file, int line, const char *cond)
{
	fprintf(stderr, "BUG: %s:%d: %s\n", file, line, cond);
	abort();
}

unsigned long env_warn_count(void)
{
	return __atomic_load_n(&warn_count, __ATOMIC_RELAXED);
}

void env_warn_count_reset(void)
{
	__atomic_store_n(&warn_count, 0, __ATOMIC_RELAXED);
}

void env_refcount_warn(const char *what)
{
	env_warn(__FILE__, __LINE__, "refcount_t: %s", what);
}

void env_printk(const char *level, const char *fmt, ...)
{
	FILE *out = strcmp(level, "info") ? stderr : stdout;
	va_list ap;

	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
}

int scnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!size)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		return 0;
	return (size_t)n >= size ? (int)size - 1 : n;
}
