// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmusim-bench: parallel-fault benchmark of the TDP MMU against the legacy
 * (rmap, write-locked) MMU, in the style of KVM's demand_paging_test and
 * memstress.  See docs/benchmarks.md for the figures and how to read them.
 *
 *   mmusim-bench [-v vcpus] [-b bytes] [-m tdp|legacy|both] [-o] [-w pct] [-a]
 *                [-S seed] [-s 4k|thp|hugetlb-2m|hugetlb-1g] [-r reps]
 *                [--exit-ns N] [-t fault,fast,zap,scale,all] [-j out.json]
 *                [-c out.csv] [--sweep 1,2,4,8 [-p out.png]] [--demo] [-q]
 *   mmusim-bench -t sev-boot [--sizes 1G,2G,4G] [--image SIZE] [--boot-ws SIZE]
 *                [--no-memmap] [--pin upfront|demand|both] [-v vcpus] [-r reps]
 *                [-j out.json] [-p out.png]
 *
 * Every repetition runs in a forked child (fresh host, VM and allocator
 * state, so RSS deltas are honest); --no-fork runs them in-process, for
 * profilers.  The main process never enters the library itself.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "bench_stats.h"
#include "cli.h"

#define MAX_REPS 64
#define MAX_ROWS 256
#define ALIGN_UP_4K(x) (((x) + 4095) & ~4095ULL)

struct opts {
	struct bench_config cfg;
	int mmus; /* bit per enum bench_mmu */
	int reps;
	int sweep[BENCH_MAX_SWEEP], nr_sweep;
	const char *json, *csv, *png;
	const char *trace, *trace_events; /* --trace FILE, --trace-events LIST */
	bool no_fork, quiet, demo;
	bool control; /* --control */
	uint64_t scale_min, scale_max;
	struct sev_boot_config sb;
};

static struct bench_summary rows[MAX_ROWS];
static int nr_rows;
static bool legacy_unavailable;
static char legacy_err[160];

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s [options]\n"
		"  -v, --vcpus N   vCPUs (threads), 1..%d (default 1)\n"
		"  -b, --mem-per-vcpu SIZE\n"
		"                  guest memory per vCPU, 4K..1T, e.g. 256M, 1G (default 256M)\n"
		"  -m, --mmu MMU   tdp, legacy or both (default both)\n"
		"  -o, --overlap   overlapping: every vCPU walks the same region\n"
		"  -w, --write-pct PCT\n"
		"                  share of accesses that write, 0..100 (default 100)\n"
		"  -a, --random    random access order (a seeded permutation per vCPU)\n"
		"  -S, --seed SEED random seed (default 1)\n"
		"  -s, --backing BACKING\n"
		"                  4k, thp, hugetlb-2m or hugetlb-1g (default 4k)\n"
		"  -r, --reps N    repetitions, 1..%d; medians are reported (default 3);\n"
		"                  the TDP and legacy repetitions alternate\n"
		"  --exit-ns N     spin N ns per fault outside mmu_lock (modelled VM exit\n"
		"                  and GUP cost; default 0)\n"
		"  -t, --tests LIST\n"
		"                  fault (cold + populated), fast (dirty-log pf_fast),\n"
		"                  zap (zap_all_fast, refault, destroy), scale (guest-size\n"
		"                  scan), all (default fault); or sev-boot or targets on its\n"
		"                  own (below)\n"
		"  --scale-min SIZE, --scale-max SIZE\n"
		"                  guest sizes of the scan, doubling (default 1G..64G)\n"
		"  --scale-sample SIZE\n"
		"                  fault only the last SIZE of each scanned guest (default:\n"
		"                  the whole guest)\n"
		"  --sweep LIST    vCPU counts to run, e.g. 1,2,4,8 (replaces -v); times\n"
		"                  mmu_lock's write holds and prints the legacy lock model\n"
		"  -p, --plot FILE.png\n"
		"                  plot faults/s against vCPUs (gnuplot; with --sweep)\n"
		"  -j, --json FILE write the results as JSON\n"
		"  -c, --csv FILE  write the results as CSV\n"
		"  --demo          short TDP-vs-legacy table (a few seconds)\n"
		"  --no-fork       run repetitions in this process (for profilers)\n"
		"  --control       with N > 1 vCPUs, also run per repetition a 1-vCPU job and N\n"
		"                  independent 1-vCPU processes at once: the 2-vCPU efficiency\n"
		"                  and what the machine gives N threads that share nothing\n"
		"  --trace FILE    write KVM's trace events (kvmmmu:*, kvm:*) to FILE at the end,\n"
		"                  as /sys/kernel/tracing/trace prints them; implies --no-fork\n"
		"  --trace-events LIST\n"
		"                  only the events of these patterns (default: all)\n"
		"  -q, --quiet     no progress bar\n"
		"  -t sev-boot     simulated SEV guest boot per guest size, up-front pinning\n"
		"                  (REG_REGION pins all RAM) vs demand pinning (faults pin);\n"
		"                  -v, -r, -j, -p (time against guest size) apply\n"
		"  --sizes LIST    sev-boot guest sizes, e.g. 1G,2G,4G (the default); up to %d\n"
		"  --image SIZE    sev-boot firmware + kernel image launched with\n"
		"                  LAUNCH_UPDATE_DATA (default 36M: 4M OVMF + 32M kernel, initrd)\n"
		"  --boot-ws SIZE  sev-boot working set the vCPUs write (default 256M)\n"
		"  --no-memmap     sev-boot: the guest does not write its memmap (64 bytes\n"
		"                  per 4K page of RAM)\n"
		"  --pin PIN       sev-boot strategies: upfront, demand or both (default both)\n"
		"  -t targets      issue 18's targets for this build, met or not: cold faults/s\n"
		"                  at 1 and 2 vCPUs (1 GiB each) with the control, instructions\n"
		"                  per fault (callgrind, if valgrind is installed), populated\n"
		"                  rate, RSS per page of a 1 TiB guest (its last\n"
		"                  --scale-sample, default 4G), the legacy lock model (1, 2, 4\n"
		"                  vCPUs); -r, -j, -q apply (bench/targets runs both builds)\n"
		"  -h, --help      this text\n"
		"  --version       print the version\n"
		"Sizes take K, M, G, T (powers of 1024).  Exit status: 0 ok, 1 a job failed,\n"
		"2 bad usage (checked before any work: values, memory, output paths).\n",
		argv0, BENCH_MAX_VCPUS, MAX_REPS, BENCH_MAX_SIZES);
}

static int parse_tests(const char *s, unsigned int *tests)
{
	char buf[128], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	*tests = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "fault"))
			*tests |= TEST_FAULT;
		else if (!strcmp(tok, "fast"))
			*tests |= TEST_FAST;
		else if (!strcmp(tok, "zap"))
			*tests |= TEST_ZAP;
		else if (!strcmp(tok, "scale"))
			*tests |= TEST_SCALE;
		else if (!strcmp(tok, "sev-boot"))
			*tests |= TEST_SEV_BOOT;
		else if (!strcmp(tok, "targets"))
			*tests |= TEST_TARGETS;
		else if (!strcmp(tok, "all"))
			*tests |= TEST_FAULT | TEST_FAST | TEST_ZAP | TEST_SCALE;
		else
			return -1;
	}
	/* sev-boot and targets build their own jobs: they do not mix with the rest. */
	if (*tests & (TEST_SEV_BOOT | TEST_TARGETS))
		return *tests == TEST_SEV_BOOT || *tests == TEST_TARGETS ? 0 : -1;
	return *tests ? 0 : -1;
}

static int parse_sizes(const char *s, struct sev_boot_config *sb)
{
	char buf[256], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return cli_usage_error("--sizes: bad value '%s' (a list like 1G,2G,4G)", s);
	snprintf(buf, sizeof(buf), "%s", s);
	sb->nr_sizes = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (sb->nr_sizes == BENCH_MAX_SIZES)
			return cli_usage_error("--sizes: at most %d sizes", BENCH_MAX_SIZES);
		if (cli_parse_size("--sizes", tok, 1ULL << 20, 1ULL << 40,
				   &sb->sizes[sb->nr_sizes]))
			return CLI_EXIT_USAGE;
		if (sb->sizes[sb->nr_sizes] % (1ULL << 20))
			return cli_usage_error("--sizes: '%s' is not a whole number of MiB", tok);
		sb->nr_sizes++;
	}
	return sb->nr_sizes ? 0 :
			      cli_usage_error("--sizes: bad value '%s' (a list like 1G,2G,4G)", s);
}

static int parse_sweep(const char *s, struct opts *o)
{
	char buf[128], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	o->nr_sweep = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->nr_sweep == BENCH_MAX_SWEEP)
			return cli_usage_error("--sweep: at most %d vCPU counts", BENCH_MAX_SWEEP);
		if (cli_parse_int("--sweep", tok, 1, BENCH_MAX_VCPUS, &o->sweep[o->nr_sweep]))
			return CLI_EXIT_USAGE;
		o->nr_sweep++;
	}
	return o->nr_sweep ? 0 :
			     cli_usage_error("--sweep: bad value '%s' (a list like 1,2,4,8)", s);
}

static int parse_backing(const char *s)
{
	int b;

	for (b = 0; b < NR_BACKINGS; b++)
		if (!strcmp(s, bench_backing_name(b)))
			return b;
	return -1;
}

static uint64_t backing_page_size(int backing)
{
	switch (backing) {
	case BACK_THP:
	case BACK_HUGETLB_2M:
		return 2ULL << 20;
	case BACK_HUGETLB_1G:
		return 1ULL << 30;
	default:
		return 4096;
	}
}

enum {
	OPT_EXIT_NS = 256,
	OPT_SWEEP,
	OPT_DEMO,
	OPT_NO_FORK,
	OPT_CONTROL,
	OPT_SCALE_MIN,
	OPT_SCALE_MAX,
	OPT_SCALE_SAMPLE,
	OPT_VERSION,
	OPT_TRACE,
	OPT_TRACE_EVENTS,
	OPT_SIZES,
	OPT_IMAGE,
	OPT_BOOT_WS,
	OPT_NO_MEMMAP,
	OPT_PIN,
};

static const struct option long_opts[] = {
	{ "exit-ns", required_argument, NULL, OPT_EXIT_NS },
	{ "sweep", required_argument, NULL, OPT_SWEEP },
	{ "demo", no_argument, NULL, OPT_DEMO },
	{ "no-fork", no_argument, NULL, OPT_NO_FORK },
	{ "control", no_argument, NULL, OPT_CONTROL },
	{ "scale-min", required_argument, NULL, OPT_SCALE_MIN },
	{ "scale-max", required_argument, NULL, OPT_SCALE_MAX },
	{ "scale-sample", required_argument, NULL, OPT_SCALE_SAMPLE },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "trace-events", required_argument, NULL, OPT_TRACE_EVENTS },
	{ "sizes", required_argument, NULL, OPT_SIZES },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "boot-ws", required_argument, NULL, OPT_BOOT_WS },
	{ "no-memmap", no_argument, NULL, OPT_NO_MEMMAP },
	{ "pin", required_argument, NULL, OPT_PIN },
	{ "vcpus", required_argument, NULL, 'v' },
	{ "mem-per-vcpu", required_argument, NULL, 'b' },
	{ "mmu", required_argument, NULL, 'm' },
	{ "overlap", no_argument, NULL, 'o' },
	{ "write-pct", required_argument, NULL, 'w' },
	{ "random", no_argument, NULL, 'a' },
	{ "seed", required_argument, NULL, 'S' },
	{ "backing", required_argument, NULL, 's' },
	{ "reps", required_argument, NULL, 'r' },
	{ "tests", required_argument, NULL, 't' },
	{ "json", required_argument, NULL, 'j' },
	{ "csv", required_argument, NULL, 'c' },
	{ "plot", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ NULL, 0, NULL, 0 },
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	bool fault_opt = false, sb_opt = false; /* options of one kind of run only */
	bool not_targets = false; /* an option -t targets would ignore */
	int c, v = 0;

	memset(o, 0, sizeof(*o));
	o->cfg.nr_vcpus = 1;
	o->cfg.bytes = 256ULL << 20;
	o->cfg.write_pct = 100;
	o->cfg.seed = 1;
	o->cfg.tests = TEST_FAULT;
	o->mmus = 1 << MMU_TDP | 1 << MMU_LEGACY;
	o->reps = 3;
	o->scale_min = 1ULL << 30;
	o->scale_max = 64ULL << 30;
	o->sb.sizes[0] = 1ULL << 30;
	o->sb.sizes[1] = 2ULL << 30;
	o->sb.sizes[2] = 4ULL << 30;
	o->sb.nr_sizes = 3;
	o->sb.image = 36ULL << 20;
	o->sb.working_set = 256ULL << 20;
	o->sb.memmap = true;
	o->sb.pins = 1 << SEV_BOOT_UPFRONT | 1 << SEV_BOOT_DEMAND;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":v:b:m:ow:aS:s:r:t:j:c:p:qh", long_opts, NULL)) !=
	       -1) {
		int err = 0;

		switch (c) {
		case 'v':
			err = cli_parse_int("-v/--vcpus", optarg, 1, BENCH_MAX_VCPUS,
					    &o->cfg.nr_vcpus);
			break;
		case 'b':
			err = cli_parse_size("-b/--mem-per-vcpu", optarg, 4096, 1ULL << 40,
					     &o->cfg.bytes);
			break;
		case 'm':
			if (!strcmp(optarg, "tdp"))
				o->mmus = 1 << MMU_TDP;
			else if (!strcmp(optarg, "legacy"))
				o->mmus = 1 << MMU_LEGACY;
			else if (!strcmp(optarg, "both"))
				o->mmus = 1 << MMU_TDP | 1 << MMU_LEGACY;
			else
				err = cli_usage_error("-m/--mmu: bad value '%s' (accepted: tdp, "
						      "legacy, both)",
						      optarg);
			break;
		case 'o':
			o->cfg.overlap = true;
			break;
		case 'w':
			err = cli_parse_int("-w/--write-pct", optarg, 0, 100, &o->cfg.write_pct);
			break;
		case 'a':
			o->cfg.random = true;
			break;
		case 'S':
			err = cli_parse_u64("-S/--seed", optarg, 0, ~0ULL, &o->cfg.seed);
			break;
		case 's':
			o->cfg.backing = parse_backing(optarg);
			if (o->cfg.backing < 0)
				err = cli_usage_error("-s/--backing: bad value '%s' (accepted: 4k, "
						      "thp, hugetlb-2m, hugetlb-1g)",
						      optarg);
			break;
		case 'r':
			err = cli_parse_int("-r/--reps", optarg, 1, MAX_REPS, &o->reps);
			break;
		case 't':
			if (parse_tests(optarg, &o->cfg.tests))
				err = cli_usage_error(
					"-t/--tests: bad value '%s' (accepted: a list "
					"of fault, fast, zap, scale, all; or sev-boot alone)",
					optarg);
			break;
		case 'j':
			o->json = optarg;
			err = cli_check_output("-j/--json", optarg);
			break;
		case 'c':
			o->csv = optarg;
			err = cli_check_output("-c/--csv", optarg);
			break;
		case 'p':
			o->png = optarg;
			err = cli_check_output("-p/--plot", optarg);
			break;
		case 'q':
			o->quiet = true;
			break;
		case OPT_EXIT_NS:
			err = cli_parse_int("--exit-ns", optarg, 0, 1000000000, &v);
			o->cfg.exit_ns = v;
			break;
		case OPT_SWEEP:
			err = parse_sweep(optarg, o);
			break;
		case OPT_DEMO:
			o->demo = true;
			break;
		case OPT_NO_FORK:
			o->no_fork = true;
			break;
		case OPT_CONTROL:
			o->control = true;
			break;
		case OPT_TRACE:
			o->trace = optarg;
			/* The events are recorded in this process, so the jobs run here. */
			o->no_fork = true;
			err = cli_check_output("--trace", optarg);
			break;
		case OPT_TRACE_EVENTS:
			o->trace_events = optarg;
			break;
		case OPT_SCALE_MIN:
			err = cli_parse_size("--scale-min", optarg, 1ULL << 20, 1ULL << 40,
					     &o->scale_min);
			break;
		case OPT_SCALE_MAX:
			err = cli_parse_size("--scale-max", optarg, 1ULL << 20, 1ULL << 40,
					     &o->scale_max);
			break;
		case OPT_SCALE_SAMPLE:
			err = cli_parse_size("--scale-sample", optarg, 4096, 1ULL << 40,
					     &o->cfg.scale_sample);
			break;
		case OPT_SIZES:
			err = parse_sizes(optarg, &o->sb);
			break;
		case OPT_IMAGE:
			err = cli_parse_size("--image", optarg, 4096, 1ULL << 30, &o->sb.image);
			if (!err && o->sb.image % 4096)
				err = cli_usage_error(
					"--image: '%s' is not a whole number of 4K pages", optarg);
			break;
		case OPT_BOOT_WS:
			err = cli_parse_size("--boot-ws", optarg, 0, 1ULL << 40,
					     &o->sb.working_set);
			if (!err && o->sb.working_set % 4096)
				err = cli_usage_error(
					"--boot-ws: '%s' is not a whole number of 4K pages",
					optarg);
			break;
		case OPT_NO_MEMMAP:
			o->sb.memmap = false;
			break;
		case OPT_PIN:
			if (!strcmp(optarg, "upfront"))
				o->sb.pins = 1 << SEV_BOOT_UPFRONT;
			else if (!strcmp(optarg, "demand"))
				o->sb.pins = 1 << SEV_BOOT_DEMAND;
			else if (!strcmp(optarg, "both"))
				o->sb.pins = 1 << SEV_BOOT_UPFRONT | 1 << SEV_BOOT_DEMAND;
			else
				err = cli_usage_error("--pin: bad value '%s' (accepted: upfront, "
						      "demand, both)",
						      optarg);
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(0);
		case OPT_VERSION:
			cli_print_version();
			exit(0);
		default:
			return cli_getopt_error(c, argv);
		}
		if (err)
			return err;
		if (strchr("bmowaSs", c) || c == OPT_EXIT_NS || c == OPT_DEMO ||
		    c == OPT_SCALE_MIN || c == OPT_SCALE_MAX || c == OPT_SCALE_SAMPLE)
			fault_opt = true;
		if (strchr("vbmowaSscp", c) || c == OPT_EXIT_NS || c == OPT_DEMO ||
		    c == OPT_SCALE_MIN || c == OPT_SCALE_MAX || c == OPT_SWEEP ||
		    c == OPT_CONTROL || c == OPT_NO_FORK || c == OPT_TRACE)
			not_targets = true;
		if (c == OPT_SIZES || c == OPT_IMAGE || c == OPT_BOOT_WS || c == OPT_NO_MEMMAP ||
		    c == OPT_PIN)
			sb_opt = true;
	}
	/* An option the run would ignore is a mistake: say so rather than run. */
	if ((o->cfg.tests & TEST_SEV_BOOT) && fault_opt)
		return cli_usage_error("-t sev-boot takes none of -b, -m, -o, -w, -a, -S, -s, "
				       "--exit-ns, --demo, --scale-*");
	if (o->cfg.tests == TEST_TARGETS && not_targets)
		return cli_usage_error("-t targets takes only -r, -j, -q and --scale-sample");
	if (!(o->cfg.tests & TEST_SEV_BOOT) && sb_opt)
		return cli_usage_error("--sizes, --image, --boot-ws, --no-memmap and --pin need "
				       "-t sev-boot");
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s' (%s --help)", argv[optind],
				       cli_prog());
	if (o->control && o->no_fork)
		return cli_usage_error("--control runs independent processes: not with --no-fork "
				       "or --trace");
	if (o->trace_events && !o->trace)
		return cli_usage_error("--trace-events needs --trace FILE");
	if (o->trace)
		return cli_trace_enable("--trace-events", o->trace_events);
	return 0;
}

/* Runs one job, in a child process unless --no-fork. */
static void run_job(const struct opts *o, const struct bench_config *cfg, struct job_result *res)
{
	struct job_result *shm;
	int status;
	pid_t pid;

	if (o->no_fork) {
		bench_run_job(cfg, res);
		return;
	}
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED) {
		memset(res, 0, sizeof(*res));
		res->status = JOB_FAILED;
		snprintf(res->err, sizeof(res->err), "mmap: %s", strerror(errno));
		return;
	}
	memset(shm, 0, sizeof(*shm));
	shm->status = JOB_FAILED;
	snprintf(shm->err, sizeof(shm->err), "the job's process died");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		bench_run_job(cfg, shm);
		fflush(stderr);
		_exit(0);
	}
	if (pid < 0) {
		snprintf(shm->err, sizeof(shm->err), "fork: %s", strerror(errno));
	} else if (waitpid(pid, &status, 0) == pid && WIFSIGNALED(status)) {
		shm->status = JOB_FAILED;
		snprintf(shm->err, sizeof(shm->err), "the job's process was killed by signal %d",
			 WTERMSIG(status));
	}
	*res = *shm;
	munmap(shm, sizeof(*shm));
}

/*
 * The control of an N-vCPU row: @nr 1-vCPU jobs of @cfg in as many
 * processes started together; returns their summed cold faults/s, or 0 if
 * one failed.
 */
static double run_parallel(const struct bench_config *cfg, int nr)
{
	struct job_result *shm;
	pid_t pids[BENCH_MAX_VCPUS];
	double sum = 0;
	int i, started = 0;

	shm = mmap(NULL, nr * sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		   0);
	if (shm == MAP_FAILED)
		return 0;
	memset(shm, 0, nr * sizeof(*shm));
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < nr; i++) {
		shm[i].status = JOB_FAILED;
		pids[i] = fork();
		if (pids[i] == 0) {
			bench_run_job(cfg, &shm[i]);
			_exit(0);
		}
		if (pids[i] < 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		waitpid(pids[i], NULL, 0);
	for (i = 0; i < nr; i++) {
		const struct phase_result *ph = &shm[i].ph[PH_COLD];

		if (i >= started || shm[i].status != JOB_OK) {
			sum = 0;
			break;
		}
		sum += bench_rate(ph->faults, ph->wall_ns);
	}
	munmap(shm, nr * sizeof(*shm));
	return sum;
}

/*
 * --control for an N-vCPU row (right after its repetitions): per round, a
 * 1-vCPU job, then N independent 1-vCPU processes at once.  The row's
 * efficiency is its cold rate over N times the 1-vCPU rate; the control's,
 * the processes' summed rate over the same, which says how much of N CPUs
 * the machine had to give (it is shared).
 */
static void run_control(const struct opts *o, struct bench_summary *s)
{
	double one[MAX_REPS], par[MAX_REPS];
	struct bench_config cfg;
	int i, n = 0;

	if (!s || s->status != JOB_OK || s->cfg.nr_vcpus < 2)
		return;
	cfg = s->cfg;
	cfg.nr_vcpus = 1;
	cfg.tests = TEST_FAULT;
	cfg.progress = false;
	for (i = 0; i < o->reps; i++) {
		struct job_result r;

		run_job(o, &cfg, &r);
		if (r.status != JOB_OK)
			continue;
		one[n] = bench_rate(r.ph[PH_COLD].faults, r.ph[PH_COLD].wall_ns);
		par[n] = run_parallel(&cfg, s->cfg.nr_vcpus);
		if (par[n] > 0)
			n++;
	}
	if (!n)
		return;
	s->one_vcpu_cold_per_s = bench_median_double(one, n);
	s->control_cold_per_s = bench_median_double(par, n);
}

/*
 * All repetitions of @n configurations (the TDP and legacy MMU of one
 * point), each summarized into a new row in @out.  Repetitions interleave,
 * A B A B ...: rep 1 of every configuration, then rep 2, ..., so that a
 * change in the machine's load during the run hits all of them alike
 * rather than only the one that happened to run last.
 */
static void run_configs(const struct opts *o, const struct bench_config *cfgs, int n,
			struct bench_summary **out)
{
	static struct job_result reps[NR_MMUS][MAX_REPS];
	int nrep[NR_MMUS] = { 0 }, i, j;
	bool done[NR_MMUS] = { false };
	char label[96];

	for (j = 0; j < n; j++) {
		out[j] = nr_rows < MAX_ROWS ? &rows[nr_rows++] : NULL;
		if (!out[j])
			continue;
		memset(out[j], 0, sizeof(*out[j]));
		out[j]->cfg = cfgs[j];
		if (cfgs[j].mmu == MMU_LEGACY && legacy_unavailable) {
			out[j]->status = JOB_UNAVAILABLE;
			snprintf(out[j]->err, sizeof(out[j]->err), "%s", legacy_err);
			done[j] = true;
		}
	}
	for (i = 0; i < o->reps; i++) {
		for (j = 0; j < n; j++) {
			struct bench_config cfg = cfgs[j];
			struct job_result *r;

			if (!out[j] || done[j])
				continue;
			r = &reps[j][nrep[j]];
			snprintf(label, sizeof(label), "%s v%d rep %d/%d", bench_mmu_name(cfg.mmu),
				 cfg.nr_vcpus, i + 1, o->reps);
			cfg.label = label;
			cfg.progress = !o->quiet && isatty(STDERR_FILENO);
			run_job(o, &cfg, r);
			nrep[j]++;
			if (r->status == JOB_UNAVAILABLE) {
				legacy_unavailable = true;
				snprintf(legacy_err, sizeof(legacy_err), "%s", r->err);
				done[j] = true;
				continue;
			}
			if (r->status != JOB_OK)
				fprintf(stderr, "mmusim-bench: %s, %d vCPUs, rep %d: %s\n",
					bench_mmu_name(cfg.mmu), cfg.nr_vcpus, i + 1, r->err);
		}
	}
	for (j = 0; j < n; j++)
		if (out[j] && nrep[j])
			bench_summarize(out[j], reps[j], nrep[j]);
}

/* The TDP and legacy MMU (those -m selected) of one configuration, interleaved. */
static void run_both(const struct opts *o, const struct bench_config *cfg,
		     struct bench_summary *s[NR_MMUS])
{
	struct bench_config cfgs[NR_MMUS];
	struct bench_summary *out[NR_MMUS];
	int mmu, n = 0, slot[NR_MMUS];

	for (mmu = 0; mmu < NR_MMUS; mmu++) {
		s[mmu] = NULL;
		if (!(o->mmus & (1 << mmu)))
			continue;
		cfgs[n] = *cfg;
		cfgs[n].mmu = mmu;
		slot[n++] = mmu;
	}
	run_configs(o, cfgs, n, out);
	for (mmu = 0; mmu < n; mmu++)
		s[slot[mmu]] = out[mmu];
}

static int run_main(const struct opts *o)
{
	int nr = o->nr_sweep ? o->nr_sweep : 1, i, mmu, first = nr_rows, failed = 0;

	if (!(o->cfg.tests & (TEST_FAULT | TEST_FAST | TEST_ZAP)))
		return 0;
	for (i = 0; i < nr; i++) {
		struct bench_summary *s[NR_MMUS] = { NULL };
		struct bench_config cfg = o->cfg;

		cfg.tests &= ~TEST_SCALE; /* run_scale() does that one */
		if (o->nr_sweep) {
			cfg.nr_vcpus = o->sweep[i];
			/* The lock model needs the hold time (two clock reads per hold). */
			cfg.time_holds = true;
		}
		run_both(o, &cfg, s);
		for (mmu = 0; o->control && mmu < NR_MMUS; mmu++)
			run_control(o, s[mmu]);
		for (mmu = 0; mmu < NR_MMUS; mmu++)
			if (s[mmu] && s[mmu]->status == JOB_FAILED)
				failed++;
		printf("%s", i ? "\n" : "");
		bench_print_summary(stdout, (const struct bench_summary **)s, o->cfg.tests);
		fflush(stdout);
	}
	if (o->nr_sweep > 1) {
		printf("\n");
		bench_lock_model(stdout, rows + first, nr_rows - first);
	}
	if (o->png && bench_plot_sweep(o->png, rows + first, nr_rows - first)) {
		fprintf(stderr, "mmusim-bench: plotting %s failed (is gnuplot installed?)\n",
			o->png);
		failed++;
	}
	return failed;
}

static int run_scale(const struct opts *o)
{
	int first = nr_rows, mmu, failed = 0;
	uint64_t size;

	if (!(o->cfg.tests & TEST_SCALE))
		return 0;
	for (size = o->scale_min; size <= o->scale_max; size *= 2) {
		struct bench_config cfg = o->cfg;
		struct bench_summary *s[NR_MMUS];

		cfg.nr_vcpus = 1;
		cfg.bytes = size;
		cfg.backing = BACK_4K;
		cfg.overlap = false;
		cfg.random = false;
		cfg.write_pct = 100;
		cfg.tests = TEST_SCALE;
		run_both(o, &cfg, s);
		for (mmu = 0; mmu < NR_MMUS; mmu++)
			if (s[mmu] && s[mmu]->status == JOB_FAILED)
				failed++;
	}
	printf("\n");
	bench_print_scale(stdout, rows + first, nr_rows - first);
	return failed;
}

/* The compact table `make demo` shows: a few seconds in all. */
static int run_demo(struct opts *o)
{
	static const struct {
		int vcpus;
		uint64_t exit_ns;
	} pts[] = {
		{ 1, 0 },
		{ 2, 0 },
		{ 2, 1000 },
	};
	const struct bench_summary *s[3][NR_MMUS];
	int i, mmu;

	o->cfg.bytes = 128ULL << 20;
	o->cfg.tests = TEST_FAULT;
	o->cfg.backing = BACK_4K;
	o->reps = 5;
	for (i = 0; i < 3; i++) {
		struct bench_config cfgs[NR_MMUS];
		struct bench_summary *out[NR_MMUS];

		for (mmu = 0; mmu < NR_MMUS; mmu++) {
			cfgs[mmu] = o->cfg;
			cfgs[mmu].mmu = mmu;
			cfgs[mmu].nr_vcpus = pts[i].vcpus;
			cfgs[mmu].exit_ns = pts[i].exit_ns;
		}
		run_configs(o, cfgs, NR_MMUS, out);
		for (mmu = 0; mmu < NR_MMUS; mmu++)
			s[i][mmu] = out[mmu];
	}
	printf("mmusim-bench --demo: TDP vs legacy MMU, cold 4K write faults, 128 MiB per vCPU, "
	       "median of 5, env=%s\n(machine: %s; mmusim-bench -h for more)\n",
	       bench_env(), bench_machine());
	printf("  vCPUs  exit ns  M faults/s TDP  legacy  TDP/legacy  CPU ns/fault TDP  legacy"
	       "  legacy mmu_lock wait\n");
	for (i = 0; i < 3; i++) {
		double rate[NR_MMUS] = { 0 };
		char b[NR_MMUS][16], c[NR_MMUS][16], w[32] = "-";

		for (mmu = 0; mmu < NR_MMUS; mmu++) {
			const struct bench_summary *x = s[i][mmu];
			const struct phase_result *ph;

			snprintf(b[mmu], sizeof(b[mmu]), "%s",
				 x && x->status == JOB_UNAVAILABLE ? "n/a" : "failed");
			snprintf(c[mmu], sizeof(c[mmu]), "-");
			if (!x || x->status != JOB_OK)
				continue;
			ph = &x->med.ph[PH_COLD];
			rate[mmu] = bench_rate(ph->faults, ph->wall_ns);
			snprintf(b[mmu], sizeof(b[mmu]), "%.2f", rate[mmu] / 1e6);
			snprintf(c[mmu], sizeof(c[mmu]), "%.0f", bench_cold_ns_per_fault(x, true));
			if (mmu == MMU_LEGACY && ph->faults)
				snprintf(w, sizeof(w), "%.0f ns/fault",
					 (double)ph->lock_wait_ns / (double)ph->faults);
		}
		printf("  %5d  %7llu  %14s  %6s", pts[i].vcpus, (unsigned long long)pts[i].exit_ns,
		       b[MMU_TDP], b[MMU_LEGACY]);
		if (rate[MMU_TDP] > 0 && rate[MMU_LEGACY] > 0)
			printf("  %9.2fx", rate[MMU_TDP] / rate[MMU_LEGACY]);
		else
			printf("  %10s", "-");
		printf("  %16s  %6s  %20s\n", c[MMU_TDP], c[MMU_LEGACY], w);
	}
	if (s[0][MMU_TDP] && s[0][MMU_TDP]->status == JOB_OK) {
		const struct phase_result *ph = &s[0][MMU_TDP]->med.ph[PH_WARM];

		printf("  populated path, 1 vCPU, TDP: %.1f M accesses/s\n",
		       bench_rate(ph->accesses, ph->wall_ns) / 1e6);
	}
	if (legacy_unavailable)
		printf("  note: %s\n", legacy_err);
	for (i = 0; i < 3; i++)
		for (mmu = 0; mmu < NR_MMUS; mmu++)
			if (!s[i][mmu] || s[i][mmu]->status == JOB_FAILED)
				return 1;
	return 0;
}

/* "0.52 0.58 0.59" of /proc/loadavg */
static void read_loadavg(char *buf, size_t size)
{
	FILE *f = fopen("/proc/loadavg", "r");

	snprintf(buf, size, "?");
	if (f && fscanf(f, "%15s", buf) == 1) {
		char rest[2][16];

		if (fscanf(f, "%15s %15s", rest[0], rest[1]) == 2)
			snprintf(buf + strlen(buf), size - strlen(buf), " %s %s", rest[0], rest[1]);
	}
	if (f)
		fclose(f);
}

static int nr_failed(const struct bench_summary *rs, int n)
{
	int i, failed = 0;

	for (i = 0; i < n; i++)
		failed += rs[i].status == JOB_FAILED;
	return failed;
}

/*
 * -t targets: every job of issue 18's targets, in this build (the table and
 * the instruction counts are bench_targets.c's).  Each job's repetitions are
 * -r; the TDP and legacy jobs of the sweep and of the RSS guest alternate.
 */
static int run_targets(struct opts *o)
{
	static const int sweep[] = { 1, 2, 4 };
	struct bench_targets t = { 0 };
	struct bench_summary *s[NR_MMUS];
	struct bench_config cfg = o->cfg;
	int i, first = nr_rows, sweep_first;

	read_loadavg(t.loadavg_before, sizeof(t.loadavg_before));
	cfg.tests = TEST_FAULT;
	cfg.bytes = 1ULL << 30;
	o->mmus = 1 << MMU_TDP;
	for (i = 1; i <= 2; i++) {
		cfg.nr_vcpus = i;
		run_both(o, &cfg, s);
		run_control(o, s[MMU_TDP]);
		*(i == 1 ? &t.one : &t.two) = s[MMU_TDP];
		bench_print_summary(stdout, (const struct bench_summary **)s, cfg.tests);
		printf("\n");
	}

	/* The lock model needs the hold time: two clock reads per write hold. */
	o->mmus = 1 << MMU_TDP | 1 << MMU_LEGACY;
	cfg.bytes = 256ULL << 20;
	cfg.time_holds = true;
	sweep_first = nr_rows;
	for (i = 0; i < (int)(sizeof(sweep) / sizeof(sweep[0])); i++) {
		cfg.nr_vcpus = sweep[i];
		run_both(o, &cfg, s);
	}
	bench_lock_model(stdout, rows + sweep_first, nr_rows - sweep_first);
	for (i = sweep_first; i < nr_rows; i++)
		if (rows[i].has_model && rows[i].cfg.nr_vcpus == 2)
			t.model = &rows[i];

	cfg.nr_vcpus = 1;
	cfg.bytes = 1ULL << 40;
	cfg.tests = TEST_SCALE;
	cfg.time_holds = false;
	if (!cfg.scale_sample)
		cfg.scale_sample = 4ULL << 30;
	run_both(o, &cfg, s);
	t.rss[MMU_TDP] = s[MMU_TDP];
	t.rss[MMU_LEGACY] = s[MMU_LEGACY];
	printf("\n");
	if (s[MMU_TDP] && s[MMU_LEGACY])
		bench_print_scale(stdout, s[MMU_TDP], 2);

	t.instr_cold[MMU_TDP] = bench_instructions("tdp", false);
	t.instr_cold[MMU_LEGACY] = bench_instructions("legacy", false);
	t.instr_populated = bench_instructions("tdp", true);
	read_loadavg(t.loadavg_after, sizeof(t.loadavg_after));
	bench_print_targets(stdout, &t);
	if (o->json && bench_write_targets_json(o->json, &t)) {
		fprintf(stderr, "mmusim-bench: writing %s failed\n", o->json);
		return 1;
	}
	return nr_failed(rows + first, nr_rows - first) ? 1 : 0;
}

/* -t sev-boot: every value checked before any boot runs. */
static int run_sev_boot(struct opts *o, const char *cmdline)
{
	struct sev_boot_config *sb = &o->sb;
	uint64_t max = 0;
	int i;

	if (o->csv || o->nr_sweep || o->trace)
		return cli_usage_error("-t sev-boot takes no -c/--csv, --sweep or --trace");
	if (o->png && sb->pins != (1 << SEV_BOOT_UPFRONT | 1 << SEV_BOOT_DEMAND))
		return cli_usage_error("-p/--plot: -t sev-boot plots both strategies (--pin both)");
	for (i = 0; i < sb->nr_sizes; i++) {
		/* The memmap is at the top of RAM, 64 bytes per 4K page. */
		uint64_t mm = sb->memmap ? ALIGN_UP_4K((sb->sizes[i] >> 12) * 64) : 0;

		if (sb->image + sb->working_set + mm > sb->sizes[i])
			return cli_usage_error(
				"--sizes: a %llu MiB guest cannot hold --image + "
				"--boot-ws%s (%llu MiB)",
				(unsigned long long)(sb->sizes[i] >> 20),
				sb->memmap ? " + the memmap" : "",
				(unsigned long long)((sb->image + sb->working_set + mm) >> 20));
		max = sb->sizes[i] > max ? sb->sizes[i] : max;
	}
	/* Up-front pinning really backs all of the largest guest. */
	if (cli_check_memory("--sizes", max))
		return CLI_EXIT_USAGE;
	sb->nr_vcpus = o->cfg.nr_vcpus;
	sb->reps = o->reps;
	sb->no_fork = o->no_fork;
	return bench_sev_boot(sb, o->json, o->png, cmdline) ? 1 : 0;
}

int main(int argc, char **argv)
{
	char cmdline[1024] = "";
	struct opts o;
	uint64_t psize;
	int i, failed = 0;

	cli_set_prog("mmusim-bench");
	if (parse_opts(argc, argv, &o))
		return CLI_EXIT_USAGE;
	for (i = 0; i < argc; i++)
		snprintf(cmdline + strlen(cmdline), sizeof(cmdline) - strlen(cmdline), "%s%s",
			 i ? " " : "", argv[i]);
	if (o.cfg.tests & TEST_SEV_BOOT)
		return run_sev_boot(&o, cmdline);
	if (o.cfg.tests & TEST_TARGETS)
		return run_targets(&o);
	if (o.demo) {
		int r = run_demo(&o);

		if (o.trace) {
			mmusim_trace_disable("*");
			r = cli_trace_write(o.trace) ?: r;
		}
		return r;
	}

	psize = backing_page_size(o.cfg.backing);
	if (o.cfg.bytes % psize) {
		o.cfg.bytes = (o.cfg.bytes + psize - 1) / psize * psize;
		fprintf(stderr,
			"mmusim-bench: -b rounded up to %llu bytes (the backing page size)\n",
			(unsigned long long)o.cfg.bytes);
	}
	/* The largest guest any job will build must fit, before any job runs. */
	for (i = 0; i < (o.nr_sweep ? o.nr_sweep : 1); i++) {
		int vcpus = o.nr_sweep ? o.sweep[i] : o.cfg.nr_vcpus;
		uint64_t guest = o.cfg.overlap ? o.cfg.bytes : o.cfg.bytes * vcpus;

		if (!(o.cfg.tests & (TEST_FAULT | TEST_FAST | TEST_ZAP)))
			break;
		if (guest > (1ULL << 40))
			return cli_usage_error(
				"-v/--vcpus %d x -b/--mem-per-vcpu: %llu GiB of guest "
				"memory (accepted: up to 1T in all)",
				vcpus, (unsigned long long)(guest >> 30));
		if (cli_check_memory("-v/--vcpus x -b/--mem-per-vcpu", guest))
			return CLI_EXIT_USAGE;
	}
	if ((o.cfg.tests & TEST_SCALE) && cli_check_memory("--scale-max", o.scale_max))
		return CLI_EXIT_USAGE;
	if (o.scale_min > o.scale_max)
		return cli_usage_error("--scale-min must not exceed --scale-max");
	if (o.png && !o.nr_sweep) {
		o.sweep[0] = o.cfg.nr_vcpus;
		o.nr_sweep = 1;
	}

	failed += run_main(&o);
	failed += run_scale(&o);
	if (o.json && bench_write_json(o.json, rows, nr_rows, cmdline)) {
		fprintf(stderr, "mmusim-bench: writing %s failed\n", o.json);
		failed++;
	}
	if (o.csv && bench_write_csv(o.csv, rows, nr_rows)) {
		fprintf(stderr, "mmusim-bench: writing %s failed\n", o.csv);
		failed++;
	}
	if (o.trace) {
		mmusim_trace_disable("*");
		failed += !!cli_trace_write(o.trace);
	}
	return failed ? 1 : 0;
}
