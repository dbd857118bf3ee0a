// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of the trace events (src/mmu/mmutrace.{h,c}, src/env/user/env_trace.c,
 * include/mmusim/trace.h): faults and zaps produce KVM's events with KVM's
 * fields, disabled events record nothing, the ring wraps, threads record
 * into their own buffers, and every line parses as ftrace's trace file
 * does (the regex below is the line format trace-cmd and the usual
 * scripts read).  The fault case runs again on the legacy MMU.
 */
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_util.h"
#include <mmusim/run.h>
#include <mmusim/trace.h>
#include "mmu/mmutrace.h"

#define MiB (1ULL << 20)
#define MAX_LINES 65536

/*
 * "<comm>-<pid> [<cpu>] <sec>.<usec>: <event>: <text>", as
 * trace_print_context() prints it without irq-info; comm may hold spaces
 * and dashes, so the pid is the last "-<digits>" before the CPU.
 */
#define FTRACE_LINE_RE \
	"^ *(.{1,16})-([0-9]+) +\\[([0-9]{3})\\] +([0-9]+)\\.([0-9]{6}): ([a-z_0-9]+): (.*)$"

struct trace_line {
	char comm[17];
	int pid;
	int cpu;
	unsigned long long ts_us;
	char event[48];
	char text[512];
};

struct trace_out {
	unsigned long entries, written; /* from the header */
	int nr;
	struct trace_line *lines;
};

/* Writes the trace into a memfd and parses it; every line must match. */
static void trace_read(struct trace_out *o)
{
	regmatch_t m[8];
	regex_t re;
	char *buf, *line, *save;
	int fd = memfd_create("trace", 0), header = 0;
	off_t len;

	assert_true(fd >= 0);
	assert_int_equal(mmusim_trace_write_fd(fd), 0);
	len = lseek(fd, 0, SEEK_END);
	buf = calloc(1, len + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, len, 0), len);
	close(fd);

	assert_int_equal(regcomp(&re, FTRACE_LINE_RE, REG_EXTENDED), 0);
	memset(o, 0, sizeof(*o));
	o->lines = calloc(MAX_LINES, sizeof(*o->lines));
	assert_non_null(o->lines);
	assert_true(!strncmp(buf, "# tracer: nop\n#\n", 16));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct trace_line *l = &o->lines[o->nr];

		if (line[0] == '#') {
			if (sscanf(line, "# entries-in-buffer/entries-written: %lu/%lu",
				   &o->entries, &o->written) == 2)
				header++;
			continue;
		}
		if (regexec(&re, line, 8, m, 0))
			fail_msg("not an ftrace line: '%s'", line);
		assert_true(o->nr < MAX_LINES);
		snprintf(l->comm, sizeof(l->comm), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
			 line + m[1].rm_so);
		l->pid = atoi(line + m[2].rm_so);
		l->cpu = atoi(line + m[3].rm_so);
		l->ts_us = strtoull(line + m[4].rm_so, NULL, 10) * 1000000ULL +
			   strtoull(line + m[5].rm_so, NULL, 10);
		snprintf(l->event, sizeof(l->event), "%.*s", (int)(m[6].rm_eo - m[6].rm_so),
			 line + m[6].rm_so);
		snprintf(l->text, sizeof(l->text), "%s", line + m[7].rm_so);
		o->nr++;
	}
	assert_int_equal(header, 1);
	assert_int_equal(o->entries, o->nr);
	regfree(&re);
	free(buf);
}

static void trace_out_free(struct trace_out *o)
{
	free(o->lines);
}

static int count_event(const struct trace_out *o, const char *event)
{
	int i, n = 0;

	for (i = 0; i < o->nr; i++)
		n += !strcmp(o->lines[i].event, event);
	return n;
}

static const struct trace_line *find_event(const struct trace_out *o, const char *event, int nth)
{
	int i;

	for (i = 0; i < o->nr; i++)
		if (!strcmp(o->lines[i].event, event) && !nth--)
			return &o->lines[i];
	return NULL;
}

static void trace_reset(void)
{
	assert_int_equal(mmusim_trace_disable("*"), 0);
	assert_int_equal(mmusim_trace_set_buffer_entries(4096), 0);
	assert_int_equal(mmusim_trace_clear(), 0);
}

static void access_ok(struct test_vm *t, int vcpu, gpa_t gpa, int type)
{
	struct mmusim_exit exit;

	assert_int_equal(mmusim_vcpu_access(mmusim_vm_vcpu(t->vm, vcpu), gpa, type, &exit), 0);
}

/*
 * gfn:  0 .. 4   5   6 .. 1023
 *       -        W   -
 * One write fault on gfn 5: kvm_mmu_spte_requested names gfn 5, the pfn
 * the host maps there and level 1; kvm_mmu_set_spte names gfn 5, a
 * writable SPTE of that pfn, level 1.  Nothing else was enabled.
 */
static void test_trace_fault_spte_events(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB };
	unsigned long long gfn, pfn, spte, at;
	const struct trace_line *l;
	struct sim_host_pte_info info;
	char perm[8] = "";
	struct trace_out out;
	struct test_vm t;
	int level;

	trace_reset();
	test_vm_create(&t, &o);
	assert_int_equal(mmusim_trace_enable("kvmmmu:kvm_mmu_spte_requested"), 0);
	assert_int_equal(mmusim_trace_enable("kvm_mmu_set_spte"), 0);
	access_ok(&t, 0, 5 * 4096 + 0x10, MMUSIM_ACCESS_WRITE);
	assert_int_equal(mmusim_trace_disable("*"), 0);
	assert_int_equal(sim_mm_lookup(t.mm, t.hva + 5 * 4096, &info), 0);

	trace_read(&out);
	assert_int_equal(out.nr, 2);
	assert_int_equal(count_event(&out, "kvm_mmu_spte_requested"), 1);
	assert_int_equal(count_event(&out, "kvm_mmu_set_spte"), 1);

	l = find_event(&out, "kvm_mmu_spte_requested", 0);
	assert_int_equal(sscanf(l->text, "gfn %llx pfn %llx level %d", &gfn, &pfn, &level), 3);
	assert_int_equal(gfn, 5);
	assert_int_equal(pfn, info.pfn);
	assert_int_equal(level, 1);
	assert_int_equal(l->pid, gettid());

	l = find_event(&out, "kvm_mmu_set_spte", 0);
	assert_int_equal(sscanf(l->text, "gfn %llx spte %llx (%7[-rwxu]) level %d at %llx", &gfn,
				&spte, perm, &level, &at),
			 5);
	assert_int_equal(gfn, 5);
	assert_int_equal(spte_to_pfn(spte), info.pfn);
	assert_true(spte & PT_WRITABLE_MASK);
	assert_int_equal(perm[0], 'r');
	assert_int_equal(perm[1], 'w');
	assert_int_equal(level, 1);
	assert_true(at != 0);
	/* The spte_requested comes first (kvm_tdp_mmu_map()/direct_map() entry). */
	assert_true(find_event(&out, "kvm_mmu_spte_requested", 0) < l);

	trace_out_free(&out);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_trace_fault_spte_events)

/*
 * gfn:  0   1   2   3  | ...
 *       W   W   W   W  |
 * Four faults, then a zap of [0, 4): one kvm_tdp_mmu_spte_changed per
 * leaf, present -> non-present at level 1.  Then a fast zap: the root's
 * tables go through handle_removed_pt(), kvm_mmu_prepare_zap_page each.
 */
static void test_trace_zap_events(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB };
	unsigned long long gfn, old_spte, new_spte;
	bool seen[4] = { false };
	int i, as_id, level, zapped = 0, tables = 0;
	struct trace_out out;
	struct test_vm t;

	trace_reset();
	test_vm_create(&t, &o);
	for (i = 0; i < 4; i++)
		access_ok(&t, 0, i * 4096, MMUSIM_ACCESS_WRITE);
	assert_int_equal(mmusim_trace_enable("kvmmmu:*"), 0);
	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, 0, 0, 4), 0);

	trace_read(&out);
	for (i = 0; i < out.nr; i++) {
		const struct trace_line *l = &out.lines[i];

		if (strcmp(l->event, "kvm_tdp_mmu_spte_changed"))
			continue;
		assert_int_equal(sscanf(l->text,
					"as id %d gfn %llx level %d old_spte %llx new_spte %llx",
					&as_id, &gfn, &level, &old_spte, &new_spte),
				 5);
		assert_int_equal(as_id, 0);
		assert_int_equal(level, 1);
		assert_true(gfn < 4);
		assert_true(old_spte & PT_WRITABLE_MASK);
		assert_int_equal(new_spte, SHADOW_NONPRESENT_VALUE);
		seen[gfn] = true;
		zapped++;
	}
	assert_int_equal(zapped, 4);
	assert_true(seen[0] && seen[1] && seen[2] && seen[3]);
	trace_out_free(&out);

	assert_int_equal(mmusim_trace_clear(), 0);
	mmusim_vm_zap_all_fast(t.vm);
	assert_int_equal(mmusim_trace_disable("*"), 0);
	trace_read(&out);
	assert_int_equal(count_event(&out, "kvm_mmu_zap_all_fast"), 1);
	for (i = 0; i < out.nr; i++) {
		const struct trace_line *l = &out.lines[i];
		unsigned int gen, lvl, root;

		if (strcmp(l->event, "kvm_mmu_prepare_zap_page"))
			continue;
		assert_int_equal(sscanf(l->text,
					"sp gen %u gfn %llx l%u 8-byte q0 direct wux nxe ad "
					"root %u sync",
					&gen, &gfn, &lvl, &root),
				 4);
		assert_true(lvl >= 1 && lvl <= 3);
		tables++;
	}
	/* The PDPT, PD and PT below the root: one of each. */
	assert_int_equal(tables, 3);
	trace_out_free(&out);
	test_vm_destroy(&t);
}

/*
 * The legacy MMU, gfn 0 faulted: its first fault got the root's children
 * from kvm_mmu_get_page ("new"), and a fast zap prepares every shadow page
 * of the old generation, the root (still a vCPU's, root 1) included.
 */
static void test_trace_shadow_pages_legacy(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB, .cfg.mmu = MMUSIM_MMU_LEGACY };
	unsigned int gen, lvl, root, levels = 0;
	unsigned long long gfn;
	struct trace_out out;
	struct test_vm t;
	char state_word[8];
	int i;

	trace_reset();
	assert_int_equal(mmusim_trace_enable("kvm_mmu_get_page"), 0);
	test_vm_create(&t, &o);
	access_ok(&t, 0, 0, MMUSIM_ACCESS_WRITE);
	trace_read(&out);
	assert_true(count_event(&out, "kvm_mmu_get_page") >= 3);
	for (i = 0; i < out.nr; i++)
		assert_non_null(strstr(out.lines[i].text, " direct wux nxe ad root "));
	trace_out_free(&out);

	assert_int_equal(mmusim_trace_clear(), 0);
	assert_int_equal(mmusim_trace_disable("*"), 0);
	assert_int_equal(mmusim_trace_enable("kvm_mmu_prepare_zap_page"), 0);
	mmusim_vm_zap_all_fast(t.vm);
	assert_int_equal(mmusim_trace_disable("*"), 0);
	trace_read(&out);
	for (i = 0; i < out.nr; i++) {
		assert_int_equal(sscanf(out.lines[i].text,
					"sp gen %u gfn %llx l%u 8-byte q0 direct "
					"wux nxe ad root %u %7s",
					&gen, &gfn, &lvl, &root, state_word),
				 5);
		assert_int_equal(gfn, 0);
		assert_string_equal(state_word, "sync");
		assert_int_equal(root, lvl == 4 ? 1 : 0);
		levels |= 1 << lvl;
	}
	assert_int_equal(out.nr, 4);
	assert_int_equal(levels, 0x1e);
	trace_out_free(&out);
	test_vm_destroy(&t);
}

/*
 * gfn:  0 ........ 511 | 512 ...... 1023     (hugetlb-2M backing)
 *       2M leaf (W)    | 2M leaf (R)
 * Turning dirty logging on splits both leaves eagerly: one
 * kvm_mmu_split_huge_page each, naming the huge SPTE, level 2, errno 0.
 * Without eager splitting only the write fault into gfn 5 splits, once.
 */
static void test_trace_split_huge_page(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M };
	struct kvm_userspace_memory_region r = { .memory_size = 4 * MiB };
	unsigned long long gfn, spte;
	int i, eager, level, err;
	struct trace_out out;
	struct test_vm t;

	for (eager = 1; eager >= 0; eager--) {
		trace_reset();
		o.cfg.no_eager_page_split = !eager;
		test_vm_create(&t, &o);
		access_ok(&t, 0, 0, MMUSIM_ACCESS_WRITE);
		access_ok(&t, 0, 2 * MiB, MMUSIM_ACCESS_READ);
		assert_int_equal(mmusim_trace_enable("kvm_mmu_split_huge_page"), 0);
		r.flags = KVM_MEM_LOG_DIRTY_PAGES;
		r.userspace_addr = t.hva;
		assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
		access_ok(&t, 0, 5 * 4096, MMUSIM_ACCESS_WRITE);
		assert_int_equal(mmusim_trace_disable("*"), 0);

		trace_read(&out);
		assert_int_equal(out.nr, eager ? 2 : 1);
		for (i = 0; i < out.nr; i++) {
			assert_int_equal(sscanf(out.lines[i].text,
						"gfn %llx spte %llx level %d errno %d", &gfn, &spte,
						&level, &err),
					 4);
			assert_int_equal(gfn, i * 512);
			assert_true(is_large_pte(spte));
			assert_int_equal(level, 2);
			assert_int_equal(err, 0);
		}
		trace_out_free(&out);
		test_vm_destroy(&t);
	}
}

/*
 * With every event disabled a run of faults, zaps and an MMIO access
 * records nothing: the header says 0/0 and there are no lines.
 */
static void test_trace_disabled_records_nothing(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB };
	struct mmusim_exit exit;
	struct trace_out out;
	struct test_vm t;
	int i;

	trace_reset();
	test_vm_create(&t, &o);
	for (i = 0; i < 64; i++)
		access_ok(&t, 0, i * 4096, MMUSIM_ACCESS_WRITE);
	assert_int_equal(
		mmusim_vcpu_access(mmusim_vm_vcpu(t.vm, 0), 0x40000000, MMUSIM_ACCESS_READ, &exit),
		1);
	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, 0, 0, 64), 0);
	mmusim_vm_zap_all_fast(t.vm);
	trace_read(&out);
	assert_int_equal(out.nr, 0);
	assert_int_equal(out.written, 0);
	trace_out_free(&out);
	test_vm_destroy(&t);
}

/*
 * A 16-entry ring and 64 faults (gfns 0..63): the ring keeps the last 16
 * set_spte records (gfns 48..63, in order); the header counts all 64.
 */
static void test_trace_buffer_wrap(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB };
	struct trace_out out;
	struct test_vm t;
	int i;

	trace_reset();
	assert_int_equal(mmusim_trace_set_buffer_entries(16), 0);
	test_vm_create(&t, &o);
	assert_int_equal(mmusim_trace_enable("kvm_mmu_set_spte"), 0);
	for (i = 0; i < 64; i++)
		access_ok(&t, 0, i * 4096, MMUSIM_ACCESS_WRITE);
	assert_int_equal(mmusim_trace_disable("*"), 0);
	trace_read(&out);
	assert_int_equal(out.nr, 16);
	assert_int_equal(out.written, 64);
	for (i = 0; i < 16; i++) {
		unsigned long long gfn;

		assert_int_equal(sscanf(out.lines[i].text, "gfn %llx", &gfn), 1);
		assert_int_equal(gfn, 48 + i);
		if (i)
			assert_true(out.lines[i].ts_us >= out.lines[i - 1].ts_us);
	}
	trace_out_free(&out);

	/* Resizing empties the rings; clear empties them again. */
	assert_int_equal(mmusim_trace_set_buffer_entries(4096), 0);
	trace_read(&out);
	assert_int_equal(out.nr, 0);
	trace_out_free(&out);
	test_vm_destroy(&t);
}

#define MT_THREADS 4
#define MT_PAGES 128

struct mt_arg {
	struct test_vm *t;
	int idx;
	int tid;
};

static void *mt_worker(void *p)
{
	struct mt_arg *a = p;
	struct mmusim_exit exit;
	int i;

	a->tid = gettid();
	pthread_setname_np(pthread_self(), "trace-worker");
	for (i = 0; i < MT_PAGES; i++)
		if (mmusim_vcpu_access(mmusim_vm_vcpu(a->t->vm, a->idx),
				       (a->idx * MT_PAGES + i) * 4096ULL, MMUSIM_ACCESS_WRITE,
				       &exit))
			return (void *)1;
	return NULL;
}

/*
 * Four threads, each running its own vCPU over its own 128 gfns:
 *   vCPU 0: gfns 0..127, vCPU 1: 128..255, vCPU 2: 256..383, vCPU 3: ...
 * Every set_spte record is in the trace once, under the thread that
 * faulted it (comm and pid), and the merged trace is in time order.  The
 * threads have exited when the trace is written: their buffers stay.
 */
static void test_trace_multithread(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB };
	struct mt_arg args[MT_THREADS];
	pthread_t th[MT_THREADS];
	static bool seen[MT_THREADS * MT_PAGES];
	struct trace_out out;
	struct test_vm t;
	int i, j;

	trace_reset();
	o.cfg.nr_vcpus = MT_THREADS;
	test_vm_create(&t, &o);
	assert_int_equal(mmusim_trace_enable("kvm_mmu_set_spte"), 0);
	for (i = 0; i < MT_THREADS; i++) {
		args[i] = (struct mt_arg){ .t = &t, .idx = i };
		assert_int_equal(pthread_create(&th[i], NULL, mt_worker, &args[i]), 0);
	}
	for (i = 0; i < MT_THREADS; i++) {
		void *r;

		assert_int_equal(pthread_join(th[i], &r), 0);
		assert_null(r);
	}
	assert_int_equal(mmusim_trace_disable("*"), 0);
	trace_read(&out);
	assert_int_equal(out.nr, MT_THREADS * MT_PAGES);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < out.nr; i++) {
		const struct trace_line *l = &out.lines[i];
		unsigned long long gfn;

		assert_int_equal(sscanf(l->text, "gfn %llx", &gfn), 1);
		assert_true(gfn < MT_THREADS * MT_PAGES);
		assert_false(seen[gfn]);
		seen[gfn] = true;
		j = gfn / MT_PAGES;
		assert_int_equal(l->pid, args[j].tid);
		assert_string_equal(l->comm + strspn(l->comm, " "), "trace-worker");
		if (i)
			assert_true(l->ts_us >= out.lines[i - 1].ts_us);
	}
	trace_out_free(&out);
	/* Exited threads' buffers go with a clear. */
	assert_int_equal(mmusim_trace_clear(), 0);
	trace_read(&out);
	assert_int_equal(out.nr, 0);
	trace_out_free(&out);
	test_vm_destroy(&t);
}

/*
 * The same four workers, while this thread toggles the event and writes
 * the trace over and over: recording, enabling and writing race, and every
 * write still parses (the ftrace regex, header counts equal to the lines).
 * Under TSan this is the check of the buffers' locking.
 */
static void test_trace_write_while_recording(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB };
	struct mt_arg args[MT_THREADS];
	pthread_t th[MT_THREADS];
	struct trace_out out;
	struct test_vm t;
	int i, writes = 0;

	trace_reset();
	assert_int_equal(mmusim_trace_set_buffer_entries(64), 0);
	o.cfg.nr_vcpus = MT_THREADS;
	test_vm_create(&t, &o);
	assert_int_equal(mmusim_trace_enable("kvmmmu:*"), 0);
	for (i = 0; i < MT_THREADS; i++) {
		args[i] = (struct mt_arg){ .t = &t, .idx = i };
		assert_int_equal(pthread_create(&th[i], NULL, mt_worker, &args[i]), 0);
	}
	for (i = 0; i < 20; i++) {
		assert_int_equal(i & 1 ? mmusim_trace_enable("kvm_mmu_set_spte") :
					 mmusim_trace_disable("kvm_mmu_set_spte"),
				 0);
		trace_read(&out);
		trace_out_free(&out);
		writes++;
	}
	for (i = 0; i < MT_THREADS; i++) {
		void *r;

		assert_int_equal(pthread_join(th[i], &r), 0);
		assert_null(r);
	}
	assert_int_equal(mmusim_trace_disable("*"), 0);
	trace_read(&out);
	assert_true(out.nr > 0 && out.nr <= (MT_THREADS + 1) * 64);
	trace_out_free(&out);
	assert_int_equal(writes, 20);
	trace_reset();
	test_vm_destroy(&t);
}

/*
 * gpa 0x40000000 has no memslot.  First access: the fault installs an
 * MMIO SPTE (mark_mmio_spte, gfn 0x40000) and exits.  Second access: the
 * reserved-bit fault finds it (check_mmio_spte valid 1, then
 * handle_mmio_page_fault); kvm:kvm_exit says EPT_MISCONFIG, and the first
 * access's exit was an EPT_VIOLATION with its kvm_page_fault.
 */
static void test_trace_mmio_and_exit_events(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB };
	unsigned long long gfn, addr;
	const struct trace_line *l;
	struct mmusim_exit exit;
	struct trace_out out;
	struct test_vm t;
	unsigned int vcpu;
	int i;

	trace_reset();
	test_vm_create(&t, &o);
	assert_int_equal(mmusim_trace_enable("*"), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(mmusim_vcpu_access(mmusim_vm_vcpu(t.vm, 0), 0x40000000,
						    MMUSIM_ACCESS_READ, &exit),
				 1);
	assert_int_equal(mmusim_trace_disable("*"), 0);
	trace_read(&out);

	l = find_event(&out, "mark_mmio_spte", 0);
	assert_non_null(l);
	assert_non_null(strstr(l->text, " gfn 40000 "));
	l = find_event(&out, "check_mmio_spte", 0);
	assert_non_null(l);
	assert_non_null(strstr(l->text, "valid 1"));
	l = find_event(&out, "handle_mmio_page_fault", 0);
	assert_non_null(l);
	assert_int_equal(sscanf(l->text, "addr:%llx gfn %llx", &addr, &gfn), 2);
	assert_int_equal(gfn, 0x40000);

	l = find_event(&out, "kvm_exit", 0);
	assert_non_null(l);
	assert_int_equal(sscanf(l->text, "vcpu %u reason EPT_VIOLATION", &vcpu), 1);
	assert_non_null(strstr(l->text, "info1 0x0000000000000001"));
	l = find_event(&out, "kvm_exit", 1);
	assert_non_null(l);
	assert_non_null(strstr(l->text, "reason EPT_MISCONFIG"));
	l = find_event(&out, "kvm_page_fault", 0);
	assert_non_null(l);
	assert_non_null(strstr(l->text, "address 0x0000000040000000 error_code 0x"));
	assert_int_equal(count_event(&out, "kvm_page_fault"), 1);
	assert_true(count_event(&out, "kvm_entry") >= 2);
	trace_out_free(&out);
	test_vm_destroy(&t);
}

/*
 * KVM_RUN of a guest program: WRMSR and RDMSR of FS_BASE (handled in the
 * kernel), a store and a load at gpa 0x40000000 (no memslot: MMIO exits),
 * HLT.  The kvm: events are KVM's at each step: kvm_msr for both MSR
 * accesses, kvm_exit with their reasons, kvm_mmio for the write, the
 * unsatisfied read and its completion, kvm_userspace_exit per return.
 */
static void test_trace_run_events(void **state)
{
	const struct mmusim_insn prog[] = {
		{ .op = MMUSIM_INSN_MOV_IMM, .reg = MMUSIM_REG_RCX, .imm = 0xc0000100 },
		{ .op = MMUSIM_INSN_MOV_IMM, .reg = MMUSIM_REG_RAX, .imm = 0x1234 },
		{ .op = MMUSIM_INSN_MOV_IMM, .reg = MMUSIM_REG_RDX, .imm = 0 },
		{ .op = MMUSIM_INSN_WRMSR },
		{ .op = MMUSIM_INSN_RDMSR },
		{ .op = MMUSIM_INSN_MOV_IMM, .reg = MMUSIM_REG_RBX, .imm = 0xabcd },
		{ .op = MMUSIM_INSN_STORE, .reg = MMUSIM_REG_RBX, .gpa = 0x40000000, .len = 4 },
		{ .op = MMUSIM_INSN_LOAD, .reg = MMUSIM_REG_RBX, .gpa = 0x40000000, .len = 4 },
		{ .op = MMUSIM_INSN_HLT },
	};
	static const char *const want[] = {
		"kvm_exit: vcpu 0 reason MSR_WRITE rip 0x3 ",
		"kvm_msr: msr_write c0000100 = 0x1234",
		"kvm_exit: vcpu 0 reason MSR_READ rip 0x4 ",
		"kvm_msr: msr_read c0000100 = 0x1234",
		"kvm_mmio: mmio write len 4 gpa 0x40000000 val 0xabcd",
		"kvm_userspace_exit: reason MMIO (6)",
		"kvm_mmio: mmio unsatisfied-read len 4 gpa 0x40000000 val 0x0",
		"kvm_userspace_exit: reason MMIO (6)",
		"kvm_mmio: mmio read len 4 gpa 0x40000000 val 0x5678",
		"kvm_exit: vcpu 0 reason HLT rip 0x8 ",
		"kvm_userspace_exit: reason HLT (5)",
	};
	struct test_vm_opts o = { .size = 2 * MiB };
	struct mmusim_vcpu *v;
	struct trace_out out;
	struct kvm_run *run;
	struct test_vm t;
	char line[600];
	int i, k = 0;

	trace_reset();
	test_vm_create(&t, &o);
	v = mmusim_vm_vcpu(t.vm, 0);
	run = mmusim_vcpu_kvm_run(v);
	assert_int_equal(mmusim_vcpu_load_program(v, prog, ARRAY_SIZE(prog)), 0);
	assert_int_equal(mmusim_trace_enable("kvm:kvm_msr"), 0);
	assert_int_equal(mmusim_trace_enable("kvm:kvm_mmio"), 0);
	assert_int_equal(mmusim_trace_enable("kvm:kvm_exit"), 0);
	assert_int_equal(mmusim_trace_enable("kvm:kvm_userspace_exit"), 0);
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	run->mmio.data[0] = 0x78;
	run->mmio.data[1] = 0x56;
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(mmusim_trace_disable("*"), 0);

	/* In order, ignoring the EPT exits of the MMIO accesses. */
	trace_read(&out);
	for (i = 0; i < out.nr && k < ARRAY_SIZE(want); i++) {
		snprintf(line, sizeof(line), "%s: %s", out.lines[i].event, out.lines[i].text);
		if (strstr(line, "reason EPT_"))
			continue;
		if (strncmp(line, want[k], strlen(want[k])))
			fail_msg("event %d: '%s', want '%s'", k, line, want[k]);
		k++;
	}
	assert_int_equal(k, ARRAY_SIZE(want));
	trace_out_free(&out);
	test_vm_destroy(&t);
}

/*
 * The record layouts are KVM's TP_STRUCT__entry lists, in KVM's order
 * (6.12; "err" for KVM's errno, see mmutrace.h), and every event of the
 * table has a unique name and a system of KVM's.
 */
static void test_trace_event_fields_are_kvms(void **state)
{
	static const struct {
		const char *name, *fields;
	} kvm[] = {
		{ "kvm_mmu_spte_requested", " gfn pfn level" },
		{ "kvm_mmu_set_spte", " gfn spte sptep level r x u" },
		{ "kvm_tdp_mmu_spte_changed", " gfn old_spte new_spte level as_id" },
		{ "kvm_mmu_split_huge_page", " gfn spte level err" },
		{ "kvm_mmu_get_page", " mmu_valid_gen gfn role root_count unsync created" },
		{ "kvm_mmu_prepare_zap_page", " mmu_valid_gen gfn role root_count unsync" },
		{ "fast_page_fault", " vcpu_id cr2_or_gpa error_code sptep old_spte new_spte ret" },
		{ "mark_mmio_spte", " sptep gfn access gen" },
		{ "handle_mmio_page_fault", " addr gfn access" },
		{ "check_mmio_spte", " kvm_gen spte_gen spte" },
		{ "kvm_exit",
		  " exit_reason guest_rip isa info1 info2 intr_info error_code vcpu_id" },
		{ "kvm_page_fault", " vcpu_id guest_rip fault_address error_code" },
	};
	int i, j, found;

	for (i = 0; i < ARRAY_SIZE(kvm); i++) {
		found = 0;
		for (j = 0; j < KVM_TRACE_NR_EVENTS; j++) {
			if (strcmp(kvm_trace_events[j].name, kvm[i].name))
				continue;
			assert_string_equal(kvm_trace_events[j].fields, kvm[i].fields);
			found++;
		}
		assert_int_equal(found, 1);
	}
	for (j = 0; j < KVM_TRACE_NR_EVENTS; j++) {
		const struct kvm_trace_event_desc *d = &kvm_trace_events[j];

		assert_true(!strcmp(d->system, "kvmmmu") || !strcmp(d->system, "kvm"));
		assert_true(d->nr_fields >= 1 && d->nr_fields <= TRACE_EVENT_MAX_FIELDS);
		for (i = j + 1; i < KVM_TRACE_NR_EVENTS; i++)
			assert_string_not_equal(d->name, kvm_trace_events[i].name);
	}
}

/* Patterns as set_event takes them, and the errno of every bad input. */
static void test_trace_api_errors(void **state)
{
	char longname[80];
	struct trace_out out;
	struct test_vm_opts o = { .size = 4 * MiB };
	struct test_vm t;

	trace_reset();
	assert_int_equal(mmusim_trace_enable(NULL), -EFAULT);
	assert_int_equal(mmusim_trace_enable(test_bad_ptr()), -EFAULT);
	assert_int_equal(mmusim_trace_disable(NULL), -EFAULT);
	assert_int_equal(mmusim_trace_enable(""), -EINVAL);
	assert_int_equal(mmusim_trace_enable("no_such_event"), -EINVAL);
	assert_int_equal(mmusim_trace_enable("kvmmmu:kvm_exit"), -EINVAL);
	assert_int_equal(mmusim_trace_enable("nosys:*"), -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(mmusim_trace_enable(longname), -EINVAL);
	assert_int_equal(mmusim_trace_write_fd(-1), -EBADF);
	assert_int_equal(mmusim_trace_write_fd(1 << 20), -EBADF);
	assert_int_equal(mmusim_trace_write_path(NULL), -EFAULT);
	assert_int_equal(mmusim_trace_write_path(""), -ENOENT);
	assert_int_equal(mmusim_trace_write_path("/nonexistent-dir/trace.txt"), -ENOENT);
	assert_int_equal(mmusim_trace_set_buffer_entries(0), -EINVAL);
	assert_int_equal(mmusim_trace_set_buffer_entries(15), -EINVAL);
	assert_int_equal(mmusim_trace_set_buffer_entries((1U << 20) + 1), -EINVAL);

	/* A bare word names a system too; "kvm:" is all of kvm's events. */
	test_vm_create(&t, &o);
	assert_int_equal(mmusim_trace_enable("kvm:"), 0);
	access_ok(&t, 0, 0, MMUSIM_ACCESS_WRITE);
	assert_int_equal(mmusim_trace_disable("kvm"), 0);
	access_ok(&t, 0, 4096, MMUSIM_ACCESS_WRITE);
	trace_read(&out);
	assert_int_equal(count_event(&out, "kvm_page_fault"), 1);
	assert_int_equal(count_event(&out, "kvm_mmu_set_spte"), 0);
	trace_out_free(&out);

	/* Globs in either part. */
	assert_int_equal(mmusim_trace_clear(), 0);
	assert_int_equal(mmusim_trace_enable("kvm*:kvm_mmu_s*"), 0);
	access_ok(&t, 0, 2 * 4096, MMUSIM_ACCESS_WRITE);
	assert_int_equal(mmusim_trace_disable("*:*"), 0);
	access_ok(&t, 0, 3 * 4096, MMUSIM_ACCESS_WRITE);
	trace_read(&out);
	assert_int_equal(out.nr, 2);
	assert_int_equal(count_event(&out, "kvm_mmu_set_spte"), 1);
	assert_int_equal(count_event(&out, "kvm_mmu_spte_requested"), 1);
	trace_out_free(&out);
	test_vm_destroy(&t);

	/* A path: the same text as the fd. */
	{
		char path[] = "/tmp/mmusim-trace-XXXXXX";
		int fd = mkstemp(path);
		char buf[64] = "";

		assert_true(fd >= 0);
		assert_int_equal(mmusim_trace_write_path(path), 0);
		assert_true(read(fd, buf, sizeof(buf) - 1) > 16);
		assert_true(!strncmp(buf, "# tracer: nop\n", 14));
		close(fd);
		unlink(path);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_trace_fault_spte_events),
		MMUSIM_TEST(test_trace_fault_spte_events_legacy),
		MMUSIM_TEST(test_trace_zap_events),
		MMUSIM_TEST(test_trace_split_huge_page),
		MMUSIM_TEST(test_trace_shadow_pages_legacy),
		MMUSIM_TEST(test_trace_disabled_records_nothing),
		MMUSIM_TEST(test_trace_buffer_wrap),
		MMUSIM_TEST(test_trace_multithread),
		MMUSIM_TEST(test_trace_write_while_recording),
		MMUSIM_TEST(test_trace_mmio_and_exit_events),
		MMUSIM_TEST(test_trace_run_events),
		MMUSIM_TEST(test_trace_event_fields_are_kvms),
		MMUSIM_TEST(test_trace_api_errors),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("trace", tests);
}
