/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The command-line conventions of mmusim and mmusim-bench, in one place:
 *
 *   exit 0   success, and --help / -h / --version (usage on stdout)
 *   exit 1   the work failed
 *   exit 2   bad usage: unknown option or command, bad or missing value, a
 *            limit exceeded; the message names the option and what it
 *            accepts, and comes before any work is done
 *
 *   numbers  decimal or 0x hex, nothing before or after (no sign, no
 *            trailing garbage), checked against the option's range
 *   sizes    the same, with an optional unit K, M, G or T (powers of 1024;
 *            "KiB", "KB" spelled out are accepted too): 4G, 256M, 0x1000
 *   limits   guest memory against this machine's memory (cli_check_memory)
 *            and output paths writable (cli_check_output), before any work
 *   tracing  --trace FILE writes KVM's trace events (docs/tracing.md) to
 *            FILE at the end; --trace-events LIST picks them (default *)
 *
 * Header-only (static inline) for the programs in tools/ and bench/; not
 * core code: libc is fine here.
 */
#ifndef _MMUSIM_TOOLS_CLI_H
#define _MMUSIM_TOOLS_CLI_H

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mmusim/trace.h>

#ifndef MMUSIM_VERSION
#define MMUSIM_VERSION "unknown"
#endif

#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* The name messages start with, e.g. "mmusim demo" or "mmusim-bench". */
static inline const char **cli_prog_slot(void)
{
	static const char *prog = "mmusim";

	return &prog;
}

static inline const char *cli_prog(void)
{
	return *cli_prog_slot();
}

static inline void cli_set_prog(const char *name)
{
	*cli_prog_slot() = name;
}

/* Prints "<prog>: <message>" on stderr; returns CLI_EXIT_USAGE. */
static inline int __attribute__((format(printf, 1, 2))) cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_prog());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_USAGE;
}

static inline void cli_print_version(void)
{
	printf("%s %s\n", cli_prog(), MMUSIM_VERSION);
}

/* "4G", "256M", "3K" when exact, else the number of bytes. */
static inline const char *cli_fmt_size(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "TGMK";
	int i;

	for (i = 0; i < 4; i++) {
		int shift = 40 - 10 * i;

		if (v && !(v & ((1ULL << shift) - 1))) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(v >> shift), units[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

/* Strict unsigned number: digits (or 0x and hex digits) and nothing else; *end set after them. */
static inline int cli_strtou64(const char *s, uint64_t *out, const char **endp)
{
	unsigned long long v;
	char *end;

	if (!s || !(s[0] >= '0' && s[0] <= '9'))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	*out = v;
	*endp = end;
	return 0;
}

/* @opt names the option in messages ("--vcpus", "-v"). 0, or CLI_EXIT_USAGE after a message. */
static inline int cli_parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi,
				uint64_t *out)
{
	const char *end;
	uint64_t v;

	if (cli_strtou64(s, &v, &end) || *end || v < lo || v > hi)
		return cli_usage_error("%s: bad value '%s' (accepted: %llu..%llu)", opt, s ? s : "",
				       (unsigned long long)lo, (unsigned long long)hi);
	*out = v;
	return 0;
}

static inline int cli_parse_int(const char *opt, const char *s, int lo, int hi, int *out)
{
	uint64_t v = 0;
	int r = cli_parse_u64(opt, s, (uint64_t)lo, (uint64_t)hi, &v);

	if (!r)
		*out = (int)v;
	return r;
}

/* A size with an optional unit, quietly: 0 or -1. */
static inline int cli_strtosize(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v;
	int shift = 0;

	if (cli_strtou64(s, &v, &end))
		return -1;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	}
	if (shift) {
		end++;
		if (end[0] == 'i' && end[1] == 'B')
			end += 2;
		else if (end[0] == 'B')
			end++;
	}
	if (*end || (shift && v > (~0ULL >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

static inline int cli_parse_size(const char *opt, const char *s, uint64_t lo, uint64_t hi,
				 uint64_t *out)
{
	char a[24], b[24];
	uint64_t v;

	if (cli_strtosize(s, &v) || v < lo || v > hi)
		return cli_usage_error("%s: bad size '%s' (accepted: %s..%s; units K, M, G, T)",
				       opt, s ? s : "", cli_fmt_size(lo, a, sizeof(a)),
				       cli_fmt_size(hi, b, sizeof(b)));
	*out = v;
	return 0;
}

/*
 * An output file must be creatable or writable before the work that fills
 * it: opened for writing (not truncated) and, if this created it, removed.
 */
static inline int cli_check_output(const char *opt, const char *path)
{
	int fd, created = 1;

	if (!path || !*path)
		return cli_usage_error("%s: empty file name", opt);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 && errno == EEXIST) {
		created = 0;
		fd = open(path, O_WRONLY);
	}
	if (fd < 0)
		return cli_usage_error("%s: cannot write '%s': %s", opt, path, strerror(errno));
	close(fd);
	if (created)
		unlink(path);
	return 0;
}

/*
 * MemAvailable from /proc/meminfo in bytes, or the physical memory if it
 * cannot be read; $MMUSIM_MEM_AVAILABLE (a size) overrides it, for tests.
 */
static inline uint64_t cli_host_available_bytes(void)
{
	const char *env = getenv("MMUSIM_MEM_AVAILABLE");
	unsigned long long kb;
	char line[128];
	uint64_t v;
	FILE *f;

	if (env && !cli_strtosize(env, &v))
		return v;
	f = fopen("/proc/meminfo", "r");

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
				fclose(f);
				return (uint64_t)kb << 10;
			}
		}
		fclose(f);
	}
	return (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
}

/*
 * The simulator keeps no data for a guest page it never reads back, but each
 * mapped 4K page costs this machine about 34-42 bytes (SPTE, host PTE, struct
 * sim_page: docs/benchmarks.md); 64 per page leaves room for races and tables.
 */
#define CLI_HOST_BYTES_PER_4K 64

/* Guest memory of @guest_bytes must fit this machine's available memory. */
static inline int cli_check_memory(const char *what, uint64_t guest_bytes)
{
	uint64_t need = guest_bytes / 4096 * CLI_HOST_BYTES_PER_4K, avail;
	char a[24], b[24], c[24];

	avail = cli_host_available_bytes();
	if (need > avail)
		return cli_usage_error("%s: %s of guest memory needs about %s of this machine's "
				       "memory, %s is available",
				       what, cli_fmt_size(guest_bytes, a, sizeof(a)),
				       cli_fmt_size(need >> 20 << 20, b, sizeof(b)),
				       cli_fmt_size(avail >> 20 << 20, c, sizeof(c)));
	return 0;
}

/*
 * --trace-events LIST: comma-separated set_event patterns (kvmmmu:*,
 * kvm_mmu_set_spte, ...), all enabled, or a usage error naming the first
 * that matches no event.  NULL: every event.
 */
static inline int cli_trace_enable(const char *opt, const char *list)
{
	char buf[512], *tok, *save = NULL;

	if (!list)
		list = "*";
	if (!*list || strlen(list) >= sizeof(buf))
		return cli_usage_error("%s: bad value '%s' (a list like kvmmmu:*,kvm:kvm_exit)",
				       opt, list);
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (mmusim_trace_enable(tok))
			return cli_usage_error("%s: no event matches '%s' (kvmmmu:*, kvm:*, or an "
					       "event of docs/tracing.md)",
					       opt, tok);
	return 0;
}

/* Writes the recorded trace to @path: 0, or CLI_EXIT_FAIL after a message. */
static inline int cli_trace_write(const char *path)
{
	int r = mmusim_trace_write_path(path);

	if (r)
		fprintf(stderr, "%s: writing the trace to '%s': %s\n", cli_prog(), path,
			strerror(-r));
	return r ? CLI_EXIT_FAIL : 0;
}

/*
 * getopt_long's errors, reported by the caller with opterr = 0 and an
 * optstring that starts with ':': the option is named, and where to look.
 */
static inline int cli_getopt_error(int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return cli_usage_error("option '%s' needs a value (%s --help)", arg, cli_prog());
	if (optopt && optopt < 256 && !(arg[0] == '-' && arg[1] == '-'))
		return cli_usage_error("unknown option '-%c' (%s --help)", optopt, cli_prog());
	return cli_usage_error("unknown option '%s' (%s --help)", arg, cli_prog());
}

#endif /* _MMUSIM_TOOLS_CLI_H */
