// SPDX-License-Identifier: GPL-2.0-only
/*
 * Trace events, userspace side: per-thread ring buffers and the writer of
 * the ftrace text format (the public API of include/mmusim/trace.h).
 *
 * Theory of operation
 * -------------------
 * A thread's first enabled event allocates its buffer and puts it on the
 * global list (bufs, under bufs_lock); the thread keeps a pointer to it in
 * TLS.  Recording takes the buffer's own lock, which only a writer or a
 * clear/resize ever contends for, stamps the record with CLOCK_MONOTONIC,
 * sched_getcpu() and the slot index, and overwrites the oldest record when
 * the ring is full (ftrace's overwrite mode).  A thread that exits leaves
 * its buffer on the list, marked exited, so its events can still be
 * written; mmusim_trace_clear() frees those.
 *
 * The writer copies every buffer's live records out under its lock, sorts
 * them by time (ftrace merges its per-CPU buffers the same way) and prints
 * each with the event's TP_printk (kvm_trace_event_print(), core code):
 * formatting never runs on the recording path.
 *
 * Locks: bufs_lock, then a buffer's lock; the recording path takes only
 * its own buffer's lock (and bufs_lock once, when the buffer is created).
 * Buffers are plain libc memory, outside the seam's live-object counts:
 * they belong to the process, not to a VM, and outlive VMs on purpose.
 */
#include <fnmatch.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "mmusim_env.h"
#include "mmu/mmutrace.h"
#include <mmusim/trace.h>

#define TRACE_DEFAULT_ENTRIES 4096
#define TRACE_MIN_ENTRIES 16
#define TRACE_MAX_ENTRIES (1U << 20)
#define TRACE_PATTERN_MAX 64
#define TRACE_COMM_LEN 16

struct trace_rec {
	u64 ts; /* CLOCK_MONOTONIC, ns */
	u32 id; /* enum kvm_trace_event_id */
	u32 cpu;
	u64 f[TRACE_EVENT_MAX_FIELDS];
};

struct trace_buf {
	struct trace_buf *next; /* on bufs, under bufs_lock */
	pthread_mutex_t lock; /* recs, nr, written, exited */
	struct trace_rec *recs;
	unsigned int nr; /* slots */
	u64 written; /* since the last clear; slot = written % nr */
	bool exited;
	int tid;
	char comm[TRACE_COMM_LEN];
};

u8 env_trace_on[ENV_TRACE_MAX_EVENTS];

static pthread_mutex_t bufs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct trace_buf *bufs;
static unsigned int buf_entries = TRACE_DEFAULT_ENTRIES; /* under bufs_lock */
static __thread struct trace_buf *my_buf;
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void trace_buf_thread_exit(void *arg)
{
	struct trace_buf *b = arg;

	pthread_mutex_lock(&b->lock);
	b->exited = true;
	pthread_mutex_unlock(&b->lock);
	my_buf = NULL;
}

static void trace_make_exit_key(void)
{
	if (pthread_key_create(&exit_key, trace_buf_thread_exit))
		abort();
}

static struct trace_buf *trace_buf_create(void)
{
	struct trace_buf *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	b->tid = gettid();
	if (pthread_getname_np(pthread_self(), b->comm, sizeof(b->comm)))
		snprintf(b->comm, sizeof(b->comm), "<...>");
	pthread_once(&exit_key_once, trace_make_exit_key);

	pthread_mutex_lock(&bufs_lock);
	b->nr = buf_entries;
	b->recs = calloc(b->nr, sizeof(*b->recs));
	if (!b->recs || pthread_setspecific(exit_key, b)) {
		pthread_mutex_unlock(&bufs_lock);
		free(b->recs);
		free(b);
		return NULL;
	}
	b->next = bufs;
	bufs = b;
	pthread_mutex_unlock(&bufs_lock);
	my_buf = b;
	return b;
}

void env_trace_record(unsigned int id, const u64 *fields, unsigned int nr_fields)
{
	struct trace_buf *b = my_buf;
	struct trace_rec *r;
	struct timespec ts;
	int cpu;

	if (!b) {
		b = trace_buf_create();
		if (!b)
			return; /* no memory: the event is lost, like a full ftrace buffer's */
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	cpu = sched_getcpu();

	pthread_mutex_lock(&b->lock);
	r = &b->recs[b->written % b->nr];
	r->ts = (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	r->id = id;
	r->cpu = cpu < 0 ? 0 : cpu;
	memset(r->f, 0, sizeof(r->f));
	memcpy(r->f, fields, min_t(unsigned int, nr_fields, TRACE_EVENT_MAX_FIELDS) * sizeof(u64));
	b->written++;
	pthread_mutex_unlock(&b->lock);
}

/* strncpy_from_user(): -EFAULT for unreadable memory, -ENAMETOOLONG past @size - 1. */
static int trace_copy_string(char *dst, const char __user *src, size_t size)
{
	size_t i;

	for (i = 0; i < size; i++) {
		if (copy_from_user(&dst[i], src + i, 1))
			return -EFAULT;
		if (!dst[i])
			return 0;
	}
	return -ENAMETOOLONG;
}

static bool trace_event_matches(const struct kvm_trace_event_desc *d, const char *pattern)
{
	const char *colon = strchr(pattern, ':');
	char sys[TRACE_PATTERN_MAX];

	/* As ftrace's set_event: a bare word names an event or a system. */
	if (!colon)
		return !fnmatch(pattern, d->name, 0) || !fnmatch(pattern, d->system, 0);
	snprintf(sys, sizeof(sys), "%.*s", (int)(colon - pattern), pattern);
	if (sys[0] && fnmatch(sys, d->system, 0))
		return false;
	return !colon[1] || !fnmatch(colon + 1, d->name, 0);
}

static int trace_set(const char __user *upattern, bool on)
{
	char pattern[TRACE_PATTERN_MAX];
	u64 mask = 0;
	int i, r;

	r = trace_copy_string(pattern, upattern, sizeof(pattern));
	if (r)
		return r == -ENAMETOOLONG ? -EINVAL : r;
	if (!pattern[0])
		return -EINVAL;
	for (i = 0; i < KVM_TRACE_NR_EVENTS; i++)
		if (trace_event_matches(&kvm_trace_events[i], pattern))
			mask |= 1ULL << i;
	if (!mask)
		return -EINVAL;
	for (i = 0; i < KVM_TRACE_NR_EVENTS; i++)
		if (mask & (1ULL << i))
			__atomic_store_n(&env_trace_on[i], on, __ATOMIC_RELAXED);
	return 0;
}

int mmusim_trace_enable(const char *pattern)
{
	return trace_set((const char __user *)pattern, true);
}

int mmusim_trace_disable(const char *pattern)
{
	return trace_set((const char __user *)pattern, false);
}

int mmusim_trace_clear(void)
{
	struct trace_buf **pp, *b;

	pthread_mutex_lock(&bufs_lock);
	for (pp = &bufs; (b = *pp);) {
		pthread_mutex_lock(&b->lock);
		if (b->exited) {
			*pp = b->next;
			pthread_mutex_unlock(&b->lock);
			pthread_mutex_destroy(&b->lock);
			free(b->recs);
			free(b);
			continue;
		}
		b->written = 0;
		pthread_mutex_unlock(&b->lock);
		pp = &b->next;
	}
	pthread_mutex_unlock(&bufs_lock);
	return 0;
}

int mmusim_trace_set_buffer_entries(unsigned int entries)
{
	struct trace_rec **fresh;
	struct trace_buf *b;
	size_t n = 0, i;

	if (entries < TRACE_MIN_ENTRIES || entries > TRACE_MAX_ENTRIES)
		return -EINVAL;
	pthread_mutex_lock(&bufs_lock);
	for (b = bufs; b; b = b->next)
		n++;
	/* Every new ring first, so a failure leaves all buffers as they were. */
	fresh = calloc(n + 1, sizeof(*fresh));
	for (i = 0; fresh && i < n; i++) {
		fresh[i] = calloc(entries, sizeof(**fresh));
		if (!fresh[i])
			break;
	}
	if (!fresh || i < n) {
		while (fresh && i)
			free(fresh[--i]);
		free(fresh);
		pthread_mutex_unlock(&bufs_lock);
		return -ENOMEM;
	}
	for (b = bufs, i = 0; b; b = b->next, i++) {
		pthread_mutex_lock(&b->lock);
		free(b->recs);
		b->recs = fresh[i];
		b->nr = entries;
		b->written = 0;
		pthread_mutex_unlock(&b->lock);
	}
	buf_entries = entries;
	pthread_mutex_unlock(&bufs_lock);
	free(fresh);
	return 0;
}

/* A record on its way out, with its thread's identity. */
struct trace_out {
	struct trace_rec rec;
	u64 seq; /* order within the thread, for equal timestamps */
	const char *comm; /* into comms[] */
	int tid;
};

static int trace_out_cmp(const void *a, const void *b)
{
	const struct trace_out *x = a, *y = b;

	if (x->rec.ts != y->rec.ts)
		return x->rec.ts < y->rec.ts ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* write() all of @buf, retrying short writes and EINTR. */
static int trace_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

struct trace_sink {
	int fd;
	int err;
	size_t len;
	char buf[65536];
};

static void __attribute__((format(printf, 2, 3)))
sink_printf(struct trace_sink *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->err)
		return;
	if (s->len > sizeof(s->buf) - 1024) {
		s->err = trace_write_all(s->fd, s->buf, s->len);
		s->len = 0;
	}
	va_start(ap, fmt);
	n = vsnprintf(s->buf + s->len, sizeof(s->buf) - s->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->len += min_t(size_t, n, sizeof(s->buf) - s->len - 1);
}

/* Copies the live records of every buffer out; *@nout records, *@total written. */
static struct trace_out *trace_collect(size_t *nout, u64 *total, char (**comms)[TRACE_COMM_LEN])
{
	struct trace_out *out = NULL;
	struct trace_buf *b;
	size_t n = 0, nbufs = 0, i = 0, k = 0;

	pthread_mutex_lock(&bufs_lock);
	*total = 0;
	for (b = bufs; b; b = b->next) {
		pthread_mutex_lock(&b->lock);
		n += min_t(u64, b->written, b->nr);
		pthread_mutex_unlock(&b->lock);
		nbufs++;
	}
	/* Records added from here on past n are left out (i < n below). */
	out = calloc(n ? n : 1, sizeof(*out));
	*comms = calloc(nbufs ? nbufs : 1, sizeof(**comms));
	if (!out || !*comms) {
		pthread_mutex_unlock(&bufs_lock);
		free(out);
		free(*comms);
		return NULL;
	}
	for (b = bufs; b; b = b->next, k++) {
		u64 s, first;

		memcpy((*comms)[k], b->comm, TRACE_COMM_LEN);
		pthread_mutex_lock(&b->lock);
		*total += b->written;
		first = b->written > b->nr ? b->written - b->nr : 0;
		for (s = first; s < b->written && i < n; s++, i++) {
			out[i].rec = b->recs[s % b->nr];
			out[i].seq = s;
			out[i].comm = (*comms)[k];
			out[i].tid = b->tid;
		}
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_unlock(&bufs_lock);
	*nout = i;
	return out;
}

int mmusim_trace_write_fd(int fd)
{
	char(*comms)[TRACE_COMM_LEN];
	struct trace_sink *s;
	struct trace_out *out;
	size_t n, i;
	u64 total;
	int r;

	if (fd < 0 || fcntl(fd, F_GETFL) < 0)
		return -EBADF;
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	out = trace_collect(&n, &total, &comms);
	if (!out) {
		free(s);
		return -ENOMEM;
	}
	qsort(out, n, sizeof(*out), trace_out_cmp);

	s->fd = fd;
	s->err = 0;
	s->len = 0;
	/* print_trace_header() for the nop tracer, without irq-info. */
	sink_printf(s, "# tracer: nop\n#\n");
	sink_printf(s, "# entries-in-buffer/entries-written: %zu/%llu   #P:%ld\n#\n", n,
		    (unsigned long long)total, sysconf(_SC_NPROCESSORS_ONLN));
	sink_printf(s, "#           TASK-PID     CPU#     TIMESTAMP  FUNCTION\n");
	sink_printf(s, "#              | |         |         |         |\n");
	for (i = 0; i < n; i++) {
		const struct trace_rec *rec = &out[i].rec;
		char text[512];

		kvm_trace_event_print(rec->id, rec->f, text, sizeof(text));
		/* trace_print_context(), then the event name and its TP_printk. */
		sink_printf(s, "%16s-%-7d [%03u] %5llu.%06llu: %s: %s\n", out[i].comm, out[i].tid,
			    rec->cpu, (unsigned long long)(rec->ts / 1000000000ULL),
			    (unsigned long long)(rec->ts % 1000000000ULL / 1000),
			    kvm_trace_events[rec->id].name, text);
	}
	if (!s->err && s->len)
		s->err = trace_write_all(fd, s->buf, s->len);
	r = s->err;
	free(out);
	free(comms);
	free(s);
	return r;
}

int mmusim_trace_write_path(const char *upath)
{
	char path[PATH_MAX];
	int fd, r;

	r = trace_copy_string(path, (const char __user *)upath, sizeof(path));
	if (r)
		return r;
	if (!path[0])
		return -ENOENT;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = mmusim_trace_write_fd(fd);
	if (close(fd) && !r)
		r = -errno;
	return r;
}
