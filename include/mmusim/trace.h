/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KVM's trace events (kvmmmu:* and kvm:*), recorded by the library and
 * written in the text format of /sys/kernel/tracing/trace, so scripts that
 * read a real KVM trace read mmusim's.  docs/tracing.md lists the events.
 *
 * Every event starts disabled.  A disabled event costs its call sites one
 * predictable branch; an enabled one records into a ring buffer of the
 * thread that hit it (no lock shared between threads), which overwrites
 * its oldest records when full.  Buffers outlive their threads until
 * mmusim_trace_clear(), so a trace can be written after the work is done.
 *
 * Patterns name events as ftrace's set_event does: "kvm_mmu_set_spte",
 * "kvmmmu:kvm_mmu_set_spte", "kvmmmu:*", "kvm:*", "*" or "*:*", with
 * fnmatch() globs in either part.  All calls return 0 or a negative errno:
 *   -EFAULT  the pattern or path is not readable memory (NULL included)
 *   -EINVAL  the pattern matches no event (as writing it to set_event),
 *            is empty or longer than 63 bytes; a bad buffer size
 *   -ENOMEM  no memory for the buffers
 *   others   the errno of open() or write() (-EBADF for a bad fd)
 * Any thread may call any of them at any time; enabling and disabling take
 * effect for call sites right away.
 */
#ifndef _MMUSIM_TRACE_H
#define _MMUSIM_TRACE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Enables / disables the events @pattern matches. */
int mmusim_trace_enable(const char *pattern);
int mmusim_trace_disable(const char *pattern);

/*
 * Writes the recorded events of all threads, oldest first, after the
 * ftrace header ("# tracer: nop", entries-in-buffer/entries-written):
 *   "<comm>-<tid> [<cpu>] <sec>.<usec>: <event>: <TP_printk text>"
 * Recording goes on meanwhile; the records are copied out first.
 */
int mmusim_trace_write_fd(int fd);
/* The same into @path, created or truncated (mode 0644). */
int mmusim_trace_write_path(const char *path);

/* Drops every record (and the buffers of threads that have exited). */
int mmusim_trace_clear(void);

/*
 * Records per thread buffer, 16 to 1048576 (default 4096; 80 bytes each);
 * existing buffers are emptied and resized.
 */
int mmusim_trace_set_buffer_entries(unsigned int entries);

#ifdef __cplusplus
}
#endif

#endif /* _MMUSIM_TRACE_H */
