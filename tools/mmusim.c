// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmusim: the command-line front end.
 *
 *   mmusim [--help | --version]   list the commands / print the version
 *   mmusim help [COMMAND]         the same as mmusim COMMAND --help
 *   mmusim demo [options]         parallel fault-in of a VM, host events under it
 *   mmusim host-demo [options]    a tour of the simulated host mm
 *   mmusim pfn-demo               non-refcounted and PFN-only memory (pfn_demo.c)
 *   mmusim sev-demo               SEV guest data under host migration and a VMM fork (sev_demo.c)
 *
 * Subcommands live in the commands[] table below: add one by writing a
 * `static int cmd_<name>(int argc, char **argv)` and a table line; its
 * options follow tools/cli.h (--help, exit 2 on bad usage, strict numbers,
 * limits checked before any work).  Not core code: libc is fine here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmusim_env.h"
#include <mmusim/host.h>
#include <mmusim/vm.h>
#include "cli.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *help;
	const char *options; /* the --help text after the usage line */
};

static const struct command *find_command(const char *name);
static int cmd_usage(const char *name, FILE *f);

/*
 * Parses a command's options with getopt_long; --help and -h are handled
 * here.  Returns the option character, -1 at the end, or -CLI_EXIT_USAGE
 * (after a message) / -256 for --help (after the usage).
 */
#define CMD_HELP (-256)
static int cmd_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);

	if (c == 'h')
		return cmd_usage(argv[0], stdout), CMD_HELP;
	if (c == '?' || c == ':')
		return -cli_getopt_error(c, argv);
	return c;
}

/* After the options: no operands are taken. */
static int cmd_no_operands(int argc, char **argv)
{
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s' (%s --help)", argv[optind],
				       cli_prog());
	return 0;
}

/*
 * A command without options (pfn-demo, sev-demo): --help prints its usage
 * from the table (0), anything else is a usage error (2); -1: go on.
 */
int cmd_no_options(int argc, char **argv);

int cmd_no_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = cmd_getopt(argc, argv, ":h", longopts)) != -1)
		if (c < 0)
			return c == CMD_HELP ? 0 : -c;
	if (cmd_no_operands(argc, argv))
		return CLI_EXIT_USAGE;
	return -1;
}

/* ======================== demo ======================== */

static const char *const event_names[] = {
	[SIM_MMU_NOTIFY_UNMAP] = "UNMAP",
	[SIM_MMU_NOTIFY_CLEAR] = "CLEAR",
	[SIM_MMU_NOTIFY_PROTECTION_VMA] = "PROTECTION_VMA",
	[SIM_MMU_NOTIFY_MIGRATE] = "MIGRATE",
	[SIM_MMU_NOTIFY_PROTECTION_PAGE] = "PROTECTION_PAGE",
};
#define NR_EVENTS 4
#define DEMO_PRINT_MAX 6 /* events printed in full per kind; the rest are counted */

/* A listener that prints a few events and counts them all. */
struct demo_listener {
	struct sim_mmu_notifier mn;
	unsigned long starts[NR_EVENTS], ends[NR_EVENTS];
	unsigned long bytes[NR_EVENTS];
	unsigned long change_pte, young, releases;
	int depth;
};

static struct demo_listener *to_demo(struct sim_mmu_notifier *mn)
{
	return container_of(mn, struct demo_listener, mn);
}

static int demo_start(struct sim_mmu_notifier *mn, const struct sim_mmu_notifier_range *range)
{
	struct demo_listener *l = to_demo(mn);
	int ev = range->event;

	if (l->starts[ev]++ < DEMO_PRINT_MAX)
		printf("    %*sinvalidate_range_start %-14s [%#lx, %#lx) %lu KiB\n",
		       2 * l->depth, "", event_names[ev], range->start, range->end,
		       (range->end - range->start) >> 10);
	l->bytes[ev] += range->end - range->start;
	l->depth++;
	return 0;
}

static void demo_end(struct sim_mmu_notifier *mn, const struct sim_mmu_notifier_range *range)
{
	struct demo_listener *l = to_demo(mn);

	l->depth--;
	l->ends[range->event]++;
}

static void demo_change_pte(struct sim_mmu_notifier *mn, struct sim_mm *mm, hva_t addr,
			    kvm_pfn_t pfn, bool writable)
{
	struct demo_listener *l = to_demo(mn);

	if (l->change_pte++ < DEMO_PRINT_MAX)
		printf("    %*schange_pte %#lx -> pfn %#llx%s\n", 2 * l->depth, "", addr,
		       (unsigned long long)pfn, writable ? " (writable)" : "");
}

static int demo_young(struct sim_mmu_notifier *mn, struct sim_mm *mm, hva_t start, hva_t end)
{
	to_demo(mn)->young++;
	return 0;
}

static void demo_release(struct sim_mmu_notifier *mn, struct sim_mm *mm)
{
	to_demo(mn)->releases++;
	printf("    release\n");
}

static const struct sim_mmu_notifier_ops demo_ops = {
	.invalidate_range_start = demo_start,
	.invalidate_range_end = demo_end,
	.clear_young = demo_young,
	.test_young = demo_young,
	.change_pte = demo_change_pte,
	.release = demo_release,
};

static const char *level_name(int level)
{
	return level == PG_LEVEL_1G ? "1G" : level == PG_LEVEL_2M ? "2M" : "4K";
}

static void show_mapping(struct sim_mm *mm, const char *what, hva_t addr)
{
	struct sim_host_pte_info info;

	if (sim_mm_lookup(mm, addr, &info)) {
		printf("  %-26s %#lx: not mapped\n", what, addr);
		return;
	}
	printf("  %-26s %#lx -> pfn %#llx, %s%s%s%s\n", what, addr, (unsigned long long)info.pfn,
	       level_name(info.level), info.writable ? " W" : " RO", info.young ? " A" : "",
	       info.dirty ? " D" : "");
}

static void print_stats(struct sim_host *host)
{
	struct sim_host_stats st;

	sim_host_get_stats(host, &st);
	printf("  frames: %llu RAM, %llu free, %llu in use; %llu page-table pages\n",
	       (unsigned long long)st.ram_pages, (unsigned long long)st.free_pages,
	       (unsigned long long)(st.ram_pages - st.free_pages),
	       (unsigned long long)st.pgtable_pages);
	printf("  allocations: %llu calls, %llu failed; pinned pages: %llu\n",
	       (unsigned long long)st.alloc_calls, (unsigned long long)st.alloc_failures,
	       (unsigned long long)st.pinned_pages);
	printf("  migrations %llu (busy %llu), THP splits %llu, collapses %llu\n",
	       (unsigned long long)st.migrations, (unsigned long long)st.migrate_busy,
	       (unsigned long long)st.thp_splits, (unsigned long long)st.thp_collapses);
	printf("  swap-outs %llu, swap-ins %llu, COW breaks %llu\n",
	       (unsigned long long)st.swap_outs, (unsigned long long)st.swap_ins,
	       (unsigned long long)st.cow_breaks);
	printf("  notifier calls: %llu invalidate_range_start, %llu change_pte, %llu young\n",
	       (unsigned long long)st.notifier_invalidates,
	       (unsigned long long)st.notifier_change_pte, (unsigned long long)st.notifier_young);
}

#define DEMO_CHECK(expr)                                                              \
	do {                                                                          \
		long __r = (expr);                                                    \
		if (__r < 0) {                                                        \
			fprintf(stderr, "mmusim demo: %s failed: %ld (%s)\n", #expr, __r,  \
				strerror((int)-__r));                                 \
			goto out;                                                     \
		}                                                                     \
	} while (0)

static int cmd_host_demo(int argc, char **argv)
{
	struct sim_host_config cfg = { 0 };
	struct demo_listener *l = NULL;
	struct sim_host *host = NULL;
	struct sim_mm *mm = NULL;
	struct sim_page *pin;
	const u64 anon_len = 64ULL << 20;
	hva_t anon, huge, a;
	u64 moved, pattern = 0x5eed;
	int r = 1, ev, c;
	static const struct option longopts[] = {
		{ "host-mem", required_argument, NULL, 'm' },
		{ "mem", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	while ((c = cmd_getopt(argc, argv, ":h", longopts)) != -1) {
		if (c < 0)
			return c == CMD_HELP ? 0 : -c;
		if (cli_parse_size("--host-mem", optarg, 128ULL << 20, 1ULL << 40, &cfg.mem_bytes))
			return CLI_EXIT_USAGE;
	}
	if (cmd_no_operands(argc, argv))
		return CLI_EXIT_USAGE;

	printf("== host and address space\n");
	DEMO_CHECK(sim_host_create(&cfg, &host));
	DEMO_CHECK(sim_mm_create(host, &mm));
	DEMO_CHECK(sim_mmap(mm, 0, anon_len, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE,
			    &anon));
	/* The first half may use THPs (MADV_HUGEPAGE), the second half 4K pages. */
	DEMO_CHECK(sim_madvise(mm, anon, anon_len / 2, SIM_MADV_HUGEPAGE));
	DEMO_CHECK(sim_mmap(mm, 0, 2 << 20, SIM_PROT_READ | SIM_PROT_WRITE,
			    SIM_MAP_SHARED | SIM_MAP_HUGETLB_2M, &huge));
	printf("  anonymous  [%#lx, %#lx)  64 MiB, first half MADV_HUGEPAGE\n", anon,
	       anon + anon_len);
	printf("  hugetlb    [%#lx, %#lx)  2 MiB\n", huge, huge + (2 << 20));

	printf("== touching memory\n");
	for (a = anon; a < anon + anon_len; a += PAGE_SIZE)
		DEMO_CHECK(sim_mm_touch(mm, a, true));
	DEMO_CHECK(sim_mm_touch(mm, huge, true));
	/* A read of untouched private memory maps the zero page. */
	DEMO_CHECK(sim_munmap(mm, anon + anon_len - PAGE_SIZE, PAGE_SIZE));
	DEMO_CHECK(sim_mmap(mm, anon + anon_len - PAGE_SIZE, PAGE_SIZE,
			    SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE | SIM_MAP_FIXED, &a));
	DEMO_CHECK(sim_mm_touch(mm, a, false));
	show_mapping(mm, "THP region", anon);
	show_mapping(mm, "4K region", anon + anon_len / 2);
	show_mapping(mm, "hugetlb", huge);
	show_mapping(mm, "zero page (read fault)", a);
	print_stats(host);

	printf("== registering a notifier; events follow (%d per kind, then counted)\n",
	       DEMO_PRINT_MAX);
	l = calloc(1, sizeof(*l));
	if (!l)
		goto out;
	l->mn.ops = &demo_ops;
	DEMO_CHECK(sim_mmu_notifier_register(&l->mn, mm));

	printf("-- copy-on-write of the zero page\n");
	DEMO_CHECK(sim_mm_touch(mm, a, true));
	show_mapping(mm, "after the write", a);

	printf("-- migrating 1 MiB of 4K pages, one THP, the hugetlb page\n");
	DEMO_CHECK(sim_migrate_range(mm, anon + anon_len / 2, 1 << 20, &moved));
	printf("    %llu pages moved\n", (unsigned long long)moved);
	show_mapping(mm, "THP before migration", anon);
	DEMO_CHECK(sim_migrate_page(mm, anon));
	show_mapping(mm, "THP after migration", anon);
	DEMO_CHECK(sim_migrate_page(mm, huge));
	printf("-- a pinned page refuses to move\n");
	DEMO_CHECK(sim_pin_user_pages(mm, anon + anon_len / 2, 1, SIM_FOLL_WRITE, &pin));
	printf("    sim_migrate_page: %d (-EBUSY)\n", sim_migrate_page(mm, anon + anon_len / 2));
	sim_unpin_user_page(host, pin);

	printf("-- splitting a THP\n");
	DEMO_CHECK(sim_split_thp(mm, anon + (2 << 20)));
	show_mapping(mm, "after the split", anon + (2 << 20));

	printf("-- swapping a page out and back in\n");
	DEMO_CHECK(sim_mm_write(mm, anon + anon_len / 2 + PAGE_SIZE, &pattern, sizeof(pattern)));
	DEMO_CHECK(sim_swap_out(mm, anon + anon_len / 2 + PAGE_SIZE));
	show_mapping(mm, "swapped out", anon + anon_len / 2 + PAGE_SIZE);
	pattern = 0;
	DEMO_CHECK(sim_mm_read(mm, anon + anon_len / 2 + PAGE_SIZE, &pattern, sizeof(pattern)));
	printf("    read back %#llx (%s)\n", (unsigned long long)pattern,
	       pattern == 0x5eed ? "intact" : "CORRUPTED");
	show_mapping(mm, "swapped in", anon + anon_len / 2 + PAGE_SIZE);

	printf("-- aging\n");
	printf("    young 4K pages in the anonymous region: %ld\n",
	       sim_mm_age_range(mm, anon, anon_len));
	printf("    after clearing: %ld\n", sim_mm_test_young_range(mm, anon, anon_len));

	printf("-- munmap of everything\n");
	DEMO_CHECK(sim_munmap(mm, anon, anon_len));
	DEMO_CHECK(sim_munmap(mm, huge, 2 << 20));

	printf("== notifier events\n");
	printf("  %-16s %8s %8s %12s\n", "event", "starts", "ends", "KiB covered");
	for (ev = 0; ev < NR_EVENTS; ev++)
		printf("  %-16s %8lu %8lu %12lu\n", event_names[ev], l->starts[ev], l->ends[ev],
		       l->bytes[ev] >> 10);
	printf("  change_pte %lu, clear/test_young %lu\n", l->change_pte, l->young);
	printf("== host statistics\n");
	print_stats(host);

	printf("== teardown\n");
	sim_mm_destroy(mm);
	mm = NULL;
	sim_mmu_notifier_unregister(&l->mn);
	print_stats(host);
	r = 0;
out:
	if (mm)
		sim_mm_destroy(mm);
	if (l && l->mn.mm)
		sim_mmu_notifier_unregister(&l->mn);
	free(l);
	if (host)
		sim_host_destroy(host);
	return r;
}

/* ======================== dispatcher ======================== */

/* ======================== demo (the VM) ======================== */

struct demo_vcpu {
	struct mmusim_vm *vm;
	int idx;
	u64 bytes;
	u64 ns;
	long done;
};

static int demo_vcpu_fn(void *arg)
{
	struct demo_vcpu *d = arg;
	u64 t0 = ktime_get_ns();

	d->done = mmusim_vcpu_access_range(mmusim_vm_vcpu(d->vm, d->idx), (gpa_t)d->idx * d->bytes,
					   d->bytes / PAGE_SIZE, 0, MMUSIM_ACCESS_WRITE, NULL);
	d->ns = ktime_get_ns() - t0;
	return 0;
}

static void demo_print_stats(struct mmusim_vm *vm)
{
	struct mmusim_vm_stats st;

	mmusim_vm_get_stats(vm, &st);
	printf("  leaf SPTEs: pages_4k %llu, pages_2m %llu, pages_1g %llu; page-table pages %llu\n",
	       (unsigned long long)st.pages_4k, (unsigned long long)st.pages_2m,
	       (unsigned long long)st.pages_1g, (unsigned long long)st.tdp_mmu_pages);
	printf("  faults: taken %llu, fixed %llu, fast %llu, spurious %llu, retried %llu, "
	       "mmio %llu\n",
	       (unsigned long long)st.pf_taken, (unsigned long long)st.pf_fixed,
	       (unsigned long long)st.pf_fast, (unsigned long long)st.pf_spurious,
	       (unsigned long long)st.pf_retry, (unsigned long long)st.pf_emulate);
	printf("  remote TLB flushes %llu, invalidation seq %llu, roots allocated %llu, "
	       "huge splits %llu\n",
	       (unsigned long long)st.remote_tlb_flush, (unsigned long long)st.mmu_invalidate_seq,
	       (unsigned long long)st.root_allocs, (unsigned long long)st.huge_splits);
}

static int demo_check(struct mmusim_vm *vm)
{
	char msg[256];
	int r = mmusim_vm_check(vm, msg, sizeof(msg));

	printf("  invariant check: %s\n", r ? msg : "ok (every leaf maps what the host maps; "
						   "stats match a full walk)");
	return r;
}

static int cmd_demo(int argc, char **argv)
{
	struct mmusim_vm_config cfg = { .nr_vcpus = 4 };
	struct kvm_userspace_memory_region r = { 0 };
	struct demo_vcpu d[64];
	struct env_thread *th[64];
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	struct sim_host_config hcfg = { .mem_bytes = 4ULL << 30 };
	u64 mib = 256, bytes, slowest = 0, moved = 0, pages, need;
	hva_t hva, huge_hva;
	const char *trace = NULL, *trace_events = NULL;
	static char dump[1 << 16];
	char sz[2][24];
	int i, n, err, c;
	static const struct option longopts[] = {
		{ "vcpus", required_argument, NULL, 'v' },
		{ "mib-per-vcpu", required_argument, NULL, 'b' },
		{ "host-mem", required_argument, NULL, 'm' },
		{ "npt", no_argument, NULL, 'n' },
		{ "5level", no_argument, NULL, '5' },
		{ "trace", required_argument, NULL, 't' },
		{ "trace-events", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	while ((c = cmd_getopt(argc, argv, ":h", longopts)) != -1) {
		if (c < 0)
			return c == CMD_HELP ? 0 : -c;
		err = 0;
		if (c == 't')
			err = cli_check_output("--trace", trace = optarg);
		else if (c == 'e')
			trace_events = optarg;
		else if (c == 'v')
			err = cli_parse_int("--vcpus", optarg, 1, ARRAY_SIZE(d), &cfg.nr_vcpus);
		else if (c == 'b')
			err = cli_parse_u64("--mib-per-vcpu", optarg, 1, 4096, &mib);
		else if (c == 'm')
			err = cli_parse_size("--host-mem", optarg, 256ULL << 20, 1ULL << 40,
					     &hcfg.mem_bytes);
		else if (c == 'n')
			cfg.tdp_mode = MMUSIM_TDP_NPT;
		else if (c == '5')
			cfg.root_level = 5;
		if (err)
			return err;
	}
	if (cmd_no_operands(argc, argv))
		return CLI_EXIT_USAGE;
	if (trace_events && !trace)
		return cli_usage_error("--trace-events needs --trace FILE");
	bytes = mib << 20;
	/* Guest RAM, the 64 MiB hugetlb slot, page tables and slack, before any work. */
	need = bytes * cfg.nr_vcpus + (64ULL << 20);
	if (need + need / 128 + (16ULL << 20) > hcfg.mem_bytes)
		return cli_usage_error(
			"--vcpus %d x --mib-per-vcpu %llu: %s of guest memory (with the "
			"64M hugetlb slot and page tables) does not fit --host-mem %s",
			cfg.nr_vcpus, (unsigned long long)mib,
			cli_fmt_size(need, sz[0], sizeof(sz[0])),
			cli_fmt_size(hcfg.mem_bytes, sz[1], sizeof(sz[1])));
	if (cli_check_memory("mmusim demo", need))
		return CLI_EXIT_USAGE;
	if (trace && cli_trace_enable("--trace-events", trace_events))
		return CLI_EXIT_USAGE;

	printf("mmusim demo: a %s VM, %d vCPUs x %llu MiB, %d-level TDP, on a %s host\n",
	       cfg.tdp_mode == MMUSIM_TDP_NPT ? "NPT" : "EPT", cfg.nr_vcpus,
	       (unsigned long long)mib, cfg.root_level ? cfg.root_level : 4,
	       cli_fmt_size(hcfg.mem_bytes, sz[0], sizeof(sz[0])));
	err = sim_host_create(&hcfg, &host);
	if (err)
		return fprintf(stderr, "sim_host_create: %d\n", err), 1;
	err = sim_mm_create(host, &mm) ?:
	      sim_mmap(mm, 0, bytes * cfg.nr_vcpus, SIM_PROT_READ | SIM_PROT_WRITE,
		       SIM_MAP_PRIVATE, &hva) ?:
	      sim_mmap(mm, 0, 64 << 20, SIM_PROT_READ | SIM_PROT_WRITE,
		       SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M, &huge_hva) ?:
	      mmusim_vm_create(host, mm, &cfg, &vm);
	if (err)
		return fprintf(stderr, "set-up failed: %d\n", err), 1;
	r.slot = 0;
	r.memory_size = bytes * cfg.nr_vcpus;
	r.userspace_addr = hva;
	err = mmusim_vm_set_user_memory_region(vm, &r);
	r.slot = 1;
	r.guest_phys_addr = 1ULL << 40;
	r.memory_size = 64 << 20;
	r.userspace_addr = huge_hva;
	err = err ?: mmusim_vm_set_user_memory_region(vm, &r);
	if (err)
		return fprintf(stderr, "KVM_SET_USER_MEMORY_REGION: %d\n", err), 1;
	printf("  memslot 0: gpa 0, %llu MiB of 4K anonymous memory; memslot 1: gpa 1 TiB, "
	       "64 MiB of hugetlb-2M memory\n", (unsigned long long)(bytes * cfg.nr_vcpus >> 20));

	printf("\n1. every vCPU writes each 4K page of its own %llu MiB, in parallel:\n",
	       (unsigned long long)mib);
	for (i = 0; i < cfg.nr_vcpus; i++) {
		d[i] = (struct demo_vcpu){ .vm = vm, .idx = i, .bytes = bytes };
		th[i] = env_thread_start(demo_vcpu_fn, &d[i], "vcpu");
	}
	for (i = 0; i < cfg.nr_vcpus; i++) {
		env_thread_join(th[i]);
		slowest = max(slowest, d[i].ns);
		if (d[i].done != (long)(bytes / PAGE_SIZE))
			return fprintf(stderr, "vCPU %d: %ld accesses\n", i, d[i].done), 1;
	}
	pages = bytes / PAGE_SIZE * cfg.nr_vcpus;
	printf("  %llu faults in %.3f s: %.2f M faults/s aggregate (wall time of the slowest vCPU)\n",
	       (unsigned long long)pages, slowest / 1e9, pages / (slowest / 1e3));
	demo_print_stats(vm);

	printf("\n2. the guest touches its hugetlb slot: 2M mappings\n");
	n = mmusim_vcpu_access_range(mmusim_vm_vcpu(vm, 0), 1ULL << 40, 32, 2 << 20,
				     MMUSIM_ACCESS_READ, NULL);
	printf("  %d accesses, one per 2 MiB\n", n);
	demo_print_stats(vm);

	printf("\n3. the host changes memory under the guest:\n");
	err = sim_migrate_range(mm, hva, 16 << 20, &moved);
	printf("  migrated %llu pages of the first 16 MiB (%d)\n", (unsigned long long)moved, err);
	err = sim_madvise(mm, hva + (16 << 20), 16 << 20, SIM_MADV_DONTNEED);
	printf("  MADV_DONTNEED on the next 16 MiB (%d)\n", err);
	printf("  aged the first vCPU's range: %ld young pages\n", sim_mm_age_range(mm, hva, bytes));
	demo_print_stats(vm);
	if (demo_check(vm))
		return 1;

	printf("\n4. the guest re-faults what the host took away:\n");
	n = mmusim_vcpu_access_range(mmusim_vm_vcpu(vm, 0), 0, 8192, 0, MMUSIM_ACCESS_WRITE, NULL);
	printf("  %d accesses\n", n);
	demo_print_stats(vm);
	if (demo_check(vm))
		return 1;

	printf("\n5. page tables (consecutive 4K leaves folded):\n");
	mmusim_vm_dump(vm, dump, sizeof(dump));
	{
		char *line = dump;

		for (i = 0; i < 24 && line && *line; i++) {
			char *nl = strchr(line, '\n');

			printf("  %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
			line = nl ? nl + 1 : NULL;
		}
		if (line && *line)
			printf("  ...\n");
	}

	mmusim_vm_destroy(vm);
	sim_mm_destroy(mm);
	sim_host_destroy(host); /* runs the RCU callbacks still queued */
	printf("\nteardown: %ld live objects, %lu WARNs\n", env_live_objects(), env_warn_count());
	if (trace) {
		mmusim_trace_disable("*");
		if (cli_trace_write(trace))
			return 1;
		printf("trace: %s (the last 4096 events of each thread)\n", trace);
	}
	return env_live_objects() || env_warn_count() ? 1 : 0;
}

static int cmd_help(int argc, char **argv);
int cmd_pfn_demo(int argc, char **argv); /* pfn_demo.c */
int cmd_sev_demo(int argc, char **argv); /* sev_demo.c */

static const struct command commands[] = {
	{ "demo", cmd_demo,
	  "[--vcpus N] [--mib-per-vcpu M] [--host-mem SIZE] [--npt] [--5level] [--trace FILE]",
	  "parallel fault-in of a VM, host events under it, stats and a page-table dump",
	  "  --vcpus N          vCPUs faulting in parallel, 1..64 (default 4)\n"
	  "  --mib-per-vcpu M   guest memory per vCPU in MiB, 1..4096 (default 256)\n"
	  "  --host-mem SIZE    simulated host RAM, 256M..1T (default 4G); the guest, its 64M\n"
	  "                     hugetlb slot and page tables must fit in it\n"
	  "  --npt              AMD NPT instead of Intel EPT\n"
	  "  --5level           5-level TDP root\n"
	  "  --trace FILE       write KVM's trace events (kvmmmu:*, kvm:*) to FILE, in the\n"
	  "                     format of /sys/kernel/tracing/trace (docs/tracing.md)\n"
	  "  --trace-events L   only the events of the comma-separated patterns L\n"
	  "                     (e.g. kvmmmu:*,kvm:kvm_exit; default: all)\n" },
	{ "host-demo", cmd_host_demo, "[--host-mem SIZE]",
	  "tour of the simulated host: faults, THP, hugetlb, notifiers, migration, swap",
	  "  --host-mem SIZE    simulated host RAM, 128M..1T (default 4G; --mem is the same)\n" },
	{ "pfn-demo", cmd_pfn_demo, "",
	  "TTM-style and PFN-only memory: guest faults and kvm_vcpu_map() under v9 and 6.13", "" },
	{ "sev-demo", cmd_sev_demo, "",
	  "SEV guest data under a host migration pass and a VMM fork, per pinning strategy", "" },
	{ "help", cmd_help, "[COMMAND]", "this list, or COMMAND's options", "" },
};

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

/* `mmusim CMD --help`: usage line, what it does, its options. */
static int cmd_usage(const char *name, FILE *f)
{
	const struct command *cmd = find_command(name);

	if (!cmd)
		return CLI_EXIT_USAGE;
	fprintf(f, "usage: mmusim %s%s%s\n\n%s\n", cmd->name, *cmd->args ? " " : "", cmd->args,
		cmd->help);
	fprintf(f, "\noptions:\n%s  -h, --help         this text\n", cmd->options);
	return 0;
}

static void print_commands(FILE *f)
{
	size_t i;

	fprintf(f, "usage: mmusim [--help | --version] <command> [options]\n\ncommands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nmmusim <command> --help lists its options.  Exit status: 0 ok, 1 failed, "
		   "2 bad usage.\n");
}

static int cmd_help(int argc, char **argv)
{
	if (argc > 2)
		return cli_usage_error("help takes at most one command (mmusim --help)");
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return cmd_usage("help", stdout);
	if (argc == 2) {
		if (!find_command(argv[1]))
			return cli_usage_error("unknown command '%s' (mmusim --help)", argv[1]);
		return cmd_usage(argv[1], stdout);
	}
	print_commands(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static char prog[64];
	const struct command *cmd;
	int r;

	if (argc < 2) {
		print_commands(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_commands(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		cli_print_version();
		return 0;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		if (argv[1][0] == '-')
			return cli_usage_error("unknown option '%s' (mmusim --help)", argv[1]);
		return cli_usage_error("unknown command '%s' (mmusim --help)", argv[1]);
	}
	snprintf(prog, sizeof(prog), "mmusim %s", cmd->name);
	cli_set_prog(prog);
	opterr = 0;
	optind = 1;
	env_thread_register();
	r = cmd->fn(argc - 1, argv + 1);
	rcu_barrier();
	env_thread_unregister();
	return r;
}
