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

#define MAX_REPS 64
#define MAX_ROWS 256

struct opts {
	struct bench_config cfg;
	int mmus; /* bit per enum bench_mmu */
	int reps;
	int sweep[BENCH_MAX_SWEEP], nr_sweep;
	const char *json, *csv, *png;
	bool no_fork, quiet, demo;
	uint64_t scale_min, scale_max;
};

static struct bench_summary rows[MAX_ROWS];
static int nr_rows;
static bool legacy_unavailable;
static char legacy_err[160];

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s [options]\n"
		"  -v N            vCPUs (threads), 1..%d (default 1)\n"
		"  -b SIZE         guest memory per vCPU, e.g. 256M, 1G (default 256M)\n"
		"  -m MMU          tdp, legacy or both (default both)\n"
		"  -o              overlapping: every vCPU walks the same region\n"
		"  -w PCT          share of accesses that write, 0..100 (default 100)\n"
		"  -a              random access order (a seeded permutation per vCPU)\n"
		"  -S SEED         random seed (default 1)\n"
		"  -s BACKING      4k, thp, hugetlb-2m or hugetlb-1g (default 4k)\n"
		"  -r N            repetitions; medians are reported (default 3)\n"
		"  --exit-ns N     spin N ns per fault outside mmu_lock (modelled VM exit\n"
		"                  and GUP cost; default 0)\n"
		"  -t LIST         fault (cold + populated), fast (dirty-log pf_fast),\n"
		"                  zap (zap_all_fast, refault, destroy), scale (guest-size\n"
		"                  scan), all (default fault)\n"
		"  --scale-min SIZE, --scale-max SIZE\n"
		"                  guest sizes of the scan, doubling (default 1G..64G)\n"
		"  --scale-sample SIZE\n"
		"                  fault only the last SIZE of each scanned guest (default:\n"
		"                  the whole guest)\n"
		"  --sweep LIST    vCPU counts to run, e.g. 1,2,4,8 (replaces -v)\n"
		"  -p FILE.png     plot faults/s against vCPUs (gnuplot; with --sweep)\n"
		"  -j FILE         write the results as JSON\n"
		"  -c FILE         write the results as CSV\n"
		"  --demo          short TDP-vs-legacy table (a few seconds)\n"
		"  --no-fork       run repetitions in this process (for profilers)\n"
		"  -q              no progress bar\n",
		argv0, BENCH_MAX_VCPUS);
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	case '\0':
		break;
	default:
		return -1;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end || (shift && v > (~0ULL >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
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
		else if (!strcmp(tok, "all"))
			*tests |= TEST_FAULT | TEST_FAST | TEST_ZAP | TEST_SCALE;
		else
			return -1;
	}
	return *tests ? 0 : -1;
}

static int parse_sweep(const char *s, struct opts *o)
{
	char buf[128], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	o->nr_sweep = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->nr_sweep == BENCH_MAX_SWEEP ||
		    parse_int(tok, 1, BENCH_MAX_VCPUS, &o->sweep[o->nr_sweep]))
			return -1;
		o->nr_sweep++;
	}
	return o->nr_sweep ? 0 : -1;
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
	OPT_SCALE_MIN,
	OPT_SCALE_MAX,
	OPT_SCALE_SAMPLE
};

static const struct option long_opts[] = {
	{ "exit-ns", required_argument, NULL, OPT_EXIT_NS },
	{ "sweep", required_argument, NULL, OPT_SWEEP },
	{ "demo", no_argument, NULL, OPT_DEMO },
	{ "no-fork", no_argument, NULL, OPT_NO_FORK },
	{ "scale-min", required_argument, NULL, OPT_SCALE_MIN },
	{ "scale-max", required_argument, NULL, OPT_SCALE_MAX },
	{ "scale-sample", required_argument, NULL, OPT_SCALE_SAMPLE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c, v;

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

	while ((c = getopt_long(argc, argv, "v:b:m:ow:aS:s:r:t:j:c:p:qh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (parse_int(optarg, 1, BENCH_MAX_VCPUS, &o->cfg.nr_vcpus))
				goto bad;
			break;
		case 'b':
			if (parse_size(optarg, &o->cfg.bytes) || o->cfg.bytes < 4096)
				goto bad;
			break;
		case 'm':
			if (!strcmp(optarg, "tdp"))
				o->mmus = 1 << MMU_TDP;
			else if (!strcmp(optarg, "legacy"))
				o->mmus = 1 << MMU_LEGACY;
			else if (!strcmp(optarg, "both"))
				o->mmus = 1 << MMU_TDP | 1 << MMU_LEGACY;
			else
				goto bad;
			break;
		case 'o':
			o->cfg.overlap = true;
			break;
		case 'w':
			if (parse_int(optarg, 0, 100, &o->cfg.write_pct))
				goto bad;
			break;
		case 'a':
			o->cfg.random = true;
			break;
		case 'S':
			if (parse_size(optarg, &o->cfg.seed))
				goto bad;
			break;
		case 's':
			o->cfg.backing = parse_backing(optarg);
			if (o->cfg.backing < 0)
				goto bad;
			break;
		case 'r':
			if (parse_int(optarg, 1, MAX_REPS, &o->reps))
				goto bad;
			break;
		case 't':
			if (parse_tests(optarg, &o->cfg.tests))
				goto bad;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'c':
			o->csv = optarg;
			break;
		case 'p':
			o->png = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case OPT_EXIT_NS:
			if (parse_int(optarg, 0, 1000000000, &v))
				goto bad;
			o->cfg.exit_ns = v;
			break;
		case OPT_SWEEP:
			if (parse_sweep(optarg, o))
				goto bad;
			break;
		case OPT_DEMO:
			o->demo = true;
			break;
		case OPT_NO_FORK:
			o->no_fork = true;
			break;
		case OPT_SCALE_MIN:
			if (parse_size(optarg, &o->scale_min) || o->scale_min < (1ULL << 20))
				goto bad;
			break;
		case OPT_SCALE_MAX:
			if (parse_size(optarg, &o->scale_max))
				goto bad;
			break;
		case OPT_SCALE_SAMPLE:
			if (parse_size(optarg, &o->cfg.scale_sample))
				goto bad;
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(0);
		default:
			goto bad_usage;
		}
	}
	if (optind != argc)
		goto bad_usage;
	return 0;
bad:
	fprintf(stderr, "%s: bad value for option -%c: %s\n", argv[0], c < 256 ? c : '-', optarg);
bad_usage:
	usage(stderr, argv[0]);
	return -1;
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

/* All repetitions of one configuration on one MMU, summarized into a new row. */
static struct bench_summary *run_config(const struct opts *o, struct bench_config cfg)
{
	static struct job_result reps[MAX_REPS];
	struct bench_summary *s;
	char label[96];
	int i, n = 0;

	if (nr_rows == MAX_ROWS)
		return NULL;
	s = &rows[nr_rows++];
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	if (cfg.mmu == MMU_LEGACY && legacy_unavailable) {
		s->status = JOB_UNAVAILABLE;
		snprintf(s->err, sizeof(s->err), "%s", legacy_err);
		return s;
	}
	for (i = 0; i < o->reps; i++) {
		snprintf(label, sizeof(label), "%s v%d rep %d/%d", bench_mmu_name(cfg.mmu),
			 cfg.nr_vcpus, i + 1, o->reps);
		cfg.label = label;
		cfg.progress = !o->quiet && isatty(STDERR_FILENO);
		run_job(o, &cfg, &reps[n]);
		if (reps[n].status == JOB_UNAVAILABLE) {
			legacy_unavailable = true;
			snprintf(legacy_err, sizeof(legacy_err), "%s", reps[n].err);
			n++;
			break;
		}
		if (reps[n].status != JOB_OK)
			fprintf(stderr, "mmusim-bench: %s, %d vCPUs, rep %d: %s\n",
				bench_mmu_name(cfg.mmu), cfg.nr_vcpus, i + 1, reps[n].err);
		n++;
	}
	s->cfg.label = NULL;
	bench_summarize(s, reps, n);
	return s;
}

static int run_main(const struct opts *o)
{
	int nr = o->nr_sweep ? o->nr_sweep : 1, i, mmu, first = nr_rows, failed = 0;

	if (!(o->cfg.tests & (TEST_FAULT | TEST_FAST | TEST_ZAP)))
		return 0;
	for (i = 0; i < nr; i++) {
		const struct bench_summary *s[NR_MMUS] = { NULL };
		struct bench_config cfg = o->cfg;

		cfg.tests &= ~TEST_SCALE; /* run_scale() does that one */
		if (o->nr_sweep)
			cfg.nr_vcpus = o->sweep[i];
		for (mmu = 0; mmu < NR_MMUS; mmu++) {
			if (!(o->mmus & (1 << mmu)))
				continue;
			cfg.mmu = mmu;
			s[mmu] = run_config(o, cfg);
			if (s[mmu] && s[mmu]->status == JOB_FAILED)
				failed++;
		}
		printf("%s", i ? "\n" : "");
		bench_print_summary(stdout, s, o->cfg.tests);
		fflush(stdout);
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
		for (mmu = 0; mmu < NR_MMUS; mmu++) {
			struct bench_config cfg = o->cfg;
			struct bench_summary *s;

			if (!(o->mmus & (1 << mmu)))
				continue;
			cfg.mmu = mmu;
			cfg.nr_vcpus = 1;
			cfg.bytes = size;
			cfg.backing = BACK_4K;
			cfg.overlap = false;
			cfg.random = false;
			cfg.write_pct = 100;
			cfg.tests = TEST_SCALE;
			s = run_config(o, cfg);
			if (s && s->status == JOB_FAILED)
				failed++;
		}
	}
	printf("\n");
	bench_print_scale(stdout, rows + first, nr_rows - first);
	return failed;
}

/* Mean over vCPUs of thread CPU time per fault: what a fault costs, whatever else runs. */
static double demo_cpu_ns(const struct bench_summary *x)
{
	const struct phase_result *ph = &x->med.ph[PH_COLD];
	double sum = 0;
	int i, n = 0;

	for (i = 0; i < x->cfg.nr_vcpus; i++) {
		if (ph->vcpu_faults[i]) {
			sum += (double)ph->vcpu_cpu_ns[i] / (double)ph->vcpu_faults[i];
			n++;
		}
	}
	return n ? sum / n : 0;
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
		for (mmu = 0; mmu < NR_MMUS; mmu++) {
			struct bench_config cfg = o->cfg;

			cfg.mmu = mmu;
			cfg.nr_vcpus = pts[i].vcpus;
			cfg.exit_ns = pts[i].exit_ns;
			s[i][mmu] = run_config(o, cfg);
		}
	}
	printf("mmusim-bench --demo: TDP vs legacy MMU, cold 4K write faults, 128 MiB per vCPU, "
	       "median of 5\n(machine: %s; mmusim-bench -h for more)\n",
	       bench_machine());
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
			snprintf(c[mmu], sizeof(c[mmu]), "%.0f", demo_cpu_ns(x));
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
	return 0;
}

int main(int argc, char **argv)
{
	char cmdline[1024] = "";
	struct opts o;
	uint64_t psize;
	int i, failed = 0;

	if (parse_opts(argc, argv, &o))
		return 2;
	for (i = 0; i < argc; i++)
		snprintf(cmdline + strlen(cmdline), sizeof(cmdline) - strlen(cmdline), "%s%s",
			 i ? " " : "", argv[i]);
	if (o.demo)
		return run_demo(&o);

	psize = backing_page_size(o.cfg.backing);
	if (o.cfg.bytes % psize) {
		o.cfg.bytes = (o.cfg.bytes + psize - 1) / psize * psize;
		fprintf(stderr,
			"mmusim-bench: -b rounded up to %llu bytes (the backing page size)\n",
			(unsigned long long)o.cfg.bytes);
	}
	if ((o.cfg.bytes >> 12) > 0xffffffffULL ||
	    o.cfg.bytes * (uint64_t)BENCH_MAX_VCPUS > (4ULL << 40)) {
		fprintf(stderr, "mmusim-bench: -b too large\n");
		return 2;
	}
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
	return failed ? 1 : 0;
}
