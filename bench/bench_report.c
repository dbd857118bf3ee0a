// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmusim-bench's reports: medians over repetitions, the text tables, JSON,
 * CSV and the gnuplot sweep plot.
 *
 * Medians are taken field by field over the repetitions (times, counts),
 * then rates are computed from the medians: the counts of a configuration
 * do not change between repetitions (every page faults once per pass), so
 * the median time gives the median rate.
 *
 * Every derived figure comes from one table, metrics(), which the text
 * output, the JSON and the CSV all read, so that they cannot disagree.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define SIM_PAGE_BYTES 8 /* struct sim_page (src/host/page.h) */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t bench_median(uint64_t *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_rate(uint64_t count, uint64_t ns)
{
	return ns ? (double)count * 1e9 / (double)ns : 0.0;
}

/* Median of the u64 at byte offset @off of each result. */
static uint64_t median_at(const struct job_result *reps, int n, size_t off)
{
	uint64_t v[64];
	int i;

	for (i = 0; i < n && i < 64; i++)
		v[i] = *(const uint64_t *)((const char *)&reps[i] + off);
	return bench_median(v, i);
}

static void median_range(struct job_result *med, const struct job_result *reps, int n, size_t from,
			 size_t to)
{
	size_t off;

	for (off = from; off + sizeof(uint64_t) <= to; off += sizeof(uint64_t))
		*(uint64_t *)((char *)med + off) = median_at(reps, n, off);
}

void bench_summarize(struct bench_summary *s, const struct job_result *reps, int n)
{
	struct job_result ok[64];
	int i, p, nok = 0;

	memset(&s->med, 0, sizeof(s->med));
	s->status = JOB_FAILED;
	s->err[0] = '\0';
	for (i = 0; i < n; i++) {
		if (reps[i].status == JOB_OK && nok < 64)
			ok[nok++] = reps[i];
		else if (!s->err[0] || reps[i].status == JOB_UNAVAILABLE)
			snprintf(s->err, sizeof(s->err), "%s", reps[i].err);
		if (reps[i].status == JOB_UNAVAILABLE)
			s->status = JOB_UNAVAILABLE;
	}
	s->nr_reps = nok;
	if (!nok)
		return;
	s->status = JOB_OK;
	s->err[0] = '\0';
	for (p = 0; p < NR_PHASES; p++) {
		size_t base = offsetof(struct job_result, ph) + p * sizeof(struct phase_result);

		s->med.ph[p].ran = ok[0].ph[p].ran;
		median_range(&s->med, ok, nok, base + offsetof(struct phase_result, wall_ns),
			     base + sizeof(struct phase_result));
	}
	median_range(&s->med, ok, nok, offsetof(struct job_result, rss_before),
		     sizeof(struct job_result));
	s->med.status = JOB_OK;
}

/* ======================== derived figures ======================== */

struct metric {
	const char *name;
	double value;
	const char *unit;
};

#define MAX_METRICS 64

static const char *const phase_keys[NR_PHASES] = {
	[PH_COLD] = "cold",	  [PH_WARM] = "populated", [PH_REFAULT] = "refault",
	[PH_DIRTY] = "dirty_log", [PH_SCALE] = "scale",
};

/*
 * Mean over vCPUs of (vCPU time / vCPU count): the per-vCPU cost of one
 * event, in wall time or in the thread's CPU time (@cpu).
 */
static double per_vcpu_ns(const struct phase_result *ph, int nr, bool accesses, bool cpu)
{
	double sum = 0;
	int i, n = 0;

	for (i = 0; i < nr; i++) {
		uint64_t c = accesses ? ph->vcpu_accesses[i] : ph->vcpu_faults[i];

		if (c) {
			sum += (double)(cpu ? ph->vcpu_cpu_ns[i] : ph->vcpu_ns[i]) / (double)c;
			n++;
		}
	}
	return n ? sum / n : 0;
}

static uint64_t vcpu_ns_sum(const struct phase_result *ph, int nr)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < nr; i++)
		sum += ph->vcpu_ns[i];
	return sum;
}

static void add(struct metric *m, int *n, const char *name, double v, const char *unit)
{
	if (*n < MAX_METRICS)
		m[(*n)++] = (struct metric){ name, v, unit };
}

static int metrics(const struct bench_summary *s, struct metric *m)
{
	static char names[NR_PHASES][15][48];
	const struct job_result *r = &s->med;
	int nr = s->cfg.nr_vcpus, n = 0, p;

	if (s->status != JOB_OK)
		return 0;
	if (s->control_cold_per_s > 0 && s->one_vcpu_cold_per_s > 0) {
		double one = s->one_vcpu_cold_per_s * nr;
		double cold = bench_rate(r->ph[PH_COLD].faults, r->ph[PH_COLD].wall_ns);

		add(m, &n, "one_vcpu_cold_faults_per_s", s->one_vcpu_cold_per_s, "faults/s");
		add(m, &n, "control_cold_faults_per_s", s->control_cold_per_s, "faults/s");
		add(m, &n, "cold_efficiency_pct", 100.0 * cold / one, "%");
		add(m, &n, "control_efficiency_pct", 100.0 * s->control_cold_per_s / one, "%");
	}
	for (p = 0; p < NR_PHASES; p++) {
		const struct phase_result *ph = &r->ph[p];
		bool acc = p == PH_WARM;

		if (!ph->ran)
			continue;
		snprintf(names[p][0], 48, "%s_%s_per_s", phase_keys[p],
			 acc ? "accesses" : "faults");
		add(m, &n, names[p][0], bench_rate(acc ? ph->accesses : ph->faults, ph->wall_ns),
		    acc ? "accesses/s" : "faults/s");
		snprintf(names[p][1], 48, "%s_ns_per_%s", phase_keys[p], acc ? "access" : "fault");
		add(m, &n, names[p][1], per_vcpu_ns(ph, nr, acc, false), "ns");
		snprintf(names[p][8], 48, "%s_cpu_ns_per_%s", phase_keys[p],
			 acc ? "access" : "fault");
		add(m, &n, names[p][8], per_vcpu_ns(ph, nr, acc, true), "ns");
		snprintf(names[p][2], 48, "%s_wall_ns", phase_keys[p]);
		add(m, &n, names[p][2], (double)ph->wall_ns, "ns");
		snprintf(names[p][3], 48, "%s_%s", phase_keys[p], acc ? "accesses" : "faults");
		add(m, &n, names[p][3], (double)(acc ? ph->accesses : ph->faults), "count");
		if (!acc) {
			snprintf(names[p][4], 48, "%s_pages_per_s", phase_keys[p]);
			add(m, &n, names[p][4], bench_rate(ph->accesses, ph->wall_ns),
			    "4K pages/s");
			snprintf(names[p][5], 48, "%s_lock_wait_ns_per_fault", phase_keys[p]);
			add(m, &n, names[p][5],
			    ph->faults ? (double)ph->lock_wait_ns / (double)ph->faults : 0, "ns");
			if (ph->lock_holds) {
				snprintf(names[p][13], 48, "%s_lock_hold_ns_per_fault",
					 phase_keys[p]);
				add(m, &n, names[p][13],
				    ph->faults ? (double)ph->lock_hold_ns / (double)ph->faults : 0,
				    "ns");
				snprintf(names[p][14], 48, "%s_lock_holds", phase_keys[p]);
				add(m, &n, names[p][14], (double)ph->lock_holds, "count");
			}
			snprintf(names[p][6], 48, "%s_lock_wait_pct", phase_keys[p]);
			add(m, &n, names[p][6],
			    vcpu_ns_sum(ph, nr) ?
				    100.0 * (double)ph->lock_wait_ns / (double)vcpu_ns_sum(ph, nr) :
				    0,
			    "%");
		}
		snprintf(names[p][9], 48, "%s_pf_retry", phase_keys[p]);
		add(m, &n, names[p][9], (double)ph->pf_retry, "count");
		snprintf(names[p][10], 48, "%s_pf_spurious", phase_keys[p]);
		add(m, &n, names[p][10], (double)ph->pf_spurious, "count");
		if (acc) {
			/* Where the populated path's translations came from. */
			snprintf(names[p][11], 48, "%s_tlb_hits", phase_keys[p]);
			add(m, &n, names[p][11], (double)ph->tlb_hits, "count");
			snprintf(names[p][12], 48, "%s_psc_walks", phase_keys[p]);
			add(m, &n, names[p][12], (double)ph->psc_walks, "count");
		}
		if (p == PH_SCALE) {
			snprintf(names[p][7], 48, "scale_tail_ns_per_fault");
			add(m, &n, names[p][7],
			    r->ph[p].tail_faults ? (double)ph->tail_ns / (double)ph->tail_faults :
						   0,
			    "ns");
		}
	}
	if (r->mapped_4k) {
		double mapped = (double)r->mapped_4k;
		double rss =
			r->rss_after > r->rss_before ? (double)(r->rss_after - r->rss_before) : 0;
		double spt = (double)r->spt_pages * 4096 / mapped;
		double hpt = (double)r->host_pt_pages * 4096 / mapped;
		double desc = (double)r->host_frames * SIM_PAGE_BYTES / mapped;

		add(m, &n, "rss_bytes_per_page", rss / mapped, "B");
		add(m, &n, "spt_bytes_per_page", spt, "B");
		add(m, &n, "host_pt_bytes_per_page", hpt, "B");
		add(m, &n, "sim_page_bytes_per_page", desc, "B");
		add(m, &n, "other_bytes_per_page", rss / mapped - spt - hpt - desc, "B");
		add(m, &n, "mapped_4k_pages", mapped, "count");
	}
	if (s->has_model) {
		add(m, &n, "model_cold_lock_wait_pct", s->model_wait_pct, "%");
		add(m, &n, "model_md1_cold_lock_wait_pct", s->model_md1_wait_pct, "%");
		add(m, &n, "model_cold_faults_per_s", s->model_faults_per_s, "faults/s");
		add(m, &n, "model_saturation_vcpus", s->model_saturation_vcpus, "count");
		add(m, &n, "model_tdp_1_8x_legacy_vcpus", s->model_tdp_1_8x_vcpus, "count");
	}
	if (r->zap_sptes) {
		add(m, &n, "zap_all_fast_sptes_per_s", bench_rate(r->zap_sptes, r->zap_ns),
		    "SPTEs/s");
		add(m, &n, "zap_all_fast_ns", (double)r->zap_ns, "ns");
	}
	if (r->ph[PH_DIRTY].ran) {
		add(m, &n, "dirty_log_enable_ns", (double)r->dirty_enable_ns, "ns");
		add(m, &n, "dirty_log_enable_ns_per_spte",
		    r->dirty_sptes ? (double)r->dirty_enable_ns / (double)r->dirty_sptes : 0, "ns");
	}
	if (r->destroy_sptes) {
		add(m, &n, "destroy_sptes_per_s", bench_rate(r->destroy_sptes, r->destroy_ns),
		    "SPTEs/s");
		add(m, &n, "destroy_ns", (double)r->destroy_ns, "ns");
		add(m, &n, "host_munmap_pages_per_s", bench_rate(r->mapped_4k, r->munmap_ns),
		    "4K pages/s");
	}
	return n;
}

static const struct metric *find(const struct metric *m, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(m[i].name, name))
			return &m[i];
	return NULL;
}

double bench_metric(const struct bench_summary *s, const char *name)
{
	struct metric m[MAX_METRICS];
	const struct metric *v;

	if (!s)
		return NAN;
	v = find(m, metrics(s, m), name);
	return v ? v->value : NAN;
}

/* ======================== text ======================== */

static void fmt_rate(char *buf, size_t size, double v)
{
	if (v >= 1e6)
		snprintf(buf, size, "%.2f M", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, size, "%.1f k", v / 1e3);
	else
		snprintf(buf, size, "%.0f", v);
}

static void fmt_size(char *buf, size_t size, uint64_t b)
{
	if (b >= (1ULL << 30) && !(b & ((1ULL << 30) - 1)))
		snprintf(buf, size, "%llu GiB", (unsigned long long)(b >> 30));
	else if (b >= (1ULL << 20))
		snprintf(buf, size, "%llu MiB", (unsigned long long)(b >> 20));
	else
		snprintf(buf, size, "%llu KiB", (unsigned long long)(b >> 10));
}

const char *bench_machine(void)
{
	static char desc[192];
	char line[256], model[96] = "unknown CPU", *v;
	int family = -1, mod = -1;
	FILE *f;

	if (desc[0])
		return desc;
	f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		v = strchr(line, ':');
		if (!v)
			continue;
		v += 2;
		v[strcspn(v, "\n")] = '\0';
		if (!strncmp(line, "model name", 10))
			snprintf(model, sizeof(model), "%s", v);
		else if (!strncmp(line, "cpu family", 10) && family < 0)
			family = atoi(v);
		else if (!strncmp(line, "model\t", 6) && mod < 0)
			mod = atoi(v);
		/* The first processor tells all. */
		if (family >= 0 && mod >= 0 && strcmp(model, "unknown CPU"))
			break;
	}
	if (f)
		fclose(f);
	if (family >= 0 && mod >= 0)
		snprintf(desc, sizeof(desc), "%ld CPUs, %s (family %#x model %#x)",
			 sysconf(_SC_NPROCESSORS_ONLN), model, family, mod);
	else
		snprintf(desc, sizeof(desc), "%ld CPUs, %s", sysconf(_SC_NPROCESSORS_ONLN), model);
	return desc;
}

static void print_config(FILE *f, const struct bench_config *c, int reps)
{
	char size[32];

	fmt_size(size, sizeof(size), c->bytes);
	fprintf(f,
		"%d vCPU%s x %s%s, %s backing, %s, %d%% writes, exit %llu ns, "
		"median of %d, env=%s\n",
		c->nr_vcpus, c->nr_vcpus > 1 ? "s" : "", size, c->overlap ? " (overlapping)" : "",
		bench_backing_name(c->backing), c->random ? "random order" : "sequential",
		c->write_pct, (unsigned long long)c->exit_ns, reps, bench_env());
}

struct row_fmt {
	const char *label;
	const char *metric;
	int kind; /* 0 rate, 1 ns, 2 bytes, 3 percent, 4 this count / the next one */
	bool ratio; /* print tdp/legacy */
	/*
	 * Only with huge backing or overlap, or when a fault maps more than
	 * one 4K page (the legacy MMU's prefetch): else it repeats a row.
	 */
	bool huge;
};

#define ROW(l, m, k, r, h)                                                \
	{                                                                 \
		.label = l, .metric = m, .kind = k, .ratio = r, .huge = h \
	}

static const struct row_fmt rows[] = {
	ROW("cold faults/s (aggregate)", "cold_faults_per_s", 0, true, false),
	ROW("  4K pages/s (aggregate)", "cold_pages_per_s", 0, true, true),
	ROW("  ns per fault (per vCPU)", "cold_ns_per_fault", 1, false, false),
	ROW("  CPU ns per fault (per vCPU)", "cold_cpu_ns_per_fault", 1, false, false),
	ROW("  mmu_lock wait per fault", "cold_lock_wait_ns_per_fault", 1, false, false),
	ROW("  mmu_lock wait, % of vCPU time", "cold_lock_wait_pct", 3, false, false),
	ROW("  retried / spurious faults", "cold_pf_retry", 4, false, true),
	ROW("  control: 1 vCPU alone", "one_vcpu_cold_faults_per_s", 0, true, false),
	ROW("  control: N 1-vCPU processes", "control_cold_faults_per_s", 0, true, false),
	ROW("  efficiency vs N x 1 vCPU", "cold_efficiency_pct", 3, false, false),
	ROW("  control's efficiency", "control_efficiency_pct", 3, false, false),
	ROW("populated accesses/s (aggr.)", "populated_accesses_per_s", 0, true, false),
	ROW("  ns per access (per vCPU)", "populated_ns_per_access", 1, false, false),
	ROW("  CPU ns per access (per vCPU)", "populated_cpu_ns_per_access", 1, false, false),
	ROW("refault faults/s (after zap)", "refault_faults_per_s", 0, true, false),
	ROW("  4K pages/s (aggregate)", "refault_pages_per_s", 0, true, true),
	ROW("  ns per fault (per vCPU)", "refault_ns_per_fault", 1, false, false),
	ROW("  CPU ns per fault (per vCPU)", "refault_cpu_ns_per_fault", 1, false, false),
	ROW("dirty-log pf_fast/s (aggr.)", "dirty_log_faults_per_s", 0, true, false),
	ROW("  ns per fast fault", "dirty_log_ns_per_fault", 1, false, false),
	ROW("  CPU ns per fast fault", "dirty_log_cpu_ns_per_fault", 1, false, false),
	ROW("  enable logging, per SPTE", "dirty_log_enable_ns_per_spte", 1, false, false),
	ROW("zap_all_fast SPTEs/s", "zap_all_fast_sptes_per_s", 0, true, false),
	ROW("VM destroy SPTEs/s", "destroy_sptes_per_s", 0, true, false),
	ROW("host munmap 4K pages/s", "host_munmap_pages_per_s", 0, false, false),
	ROW("RSS per mapped 4K page", "rss_bytes_per_page", 2, false, false),
	ROW("  MMU page tables", "spt_bytes_per_page", 2, false, false),
	ROW("  host page tables", "host_pt_bytes_per_page", 2, false, false),
	ROW("  struct sim_page", "sim_page_bytes_per_page", 2, false, false),
	ROW("  other", "other_bytes_per_page", 2, false, false),
};

static void fmt_metric(char *buf, size_t size, const struct metric *m, int kind)
{
	if (!m) {
		snprintf(buf, size, "-");
		return;
	}
	switch (kind) {
	case 0:
		fmt_rate(buf, size, m->value);
		break;
	case 1:
		snprintf(buf, size, "%.1f ns", m->value);
		break;
	case 2:
		snprintf(buf, size, "%.1f B", m->value);
		break;
	case 4:
		snprintf(buf, size, "%.0f / %.0f", m[0].value, m[1].value);
		break;
	default:
		snprintf(buf, size, "%.1f %%", m->value);
		break;
	}
}

static void print_per_vcpu(FILE *f, const struct bench_summary *s[NR_MMUS], int phase,
			   const char *label)
{
	int mmu, i;

	for (mmu = 0; mmu < NR_MMUS; mmu++) {
		const struct phase_result *ph;
		int nr;

		if (!s[mmu] || s[mmu]->status != JOB_OK || !s[mmu]->med.ph[phase].ran)
			continue;
		ph = &s[mmu]->med.ph[phase];
		nr = s[mmu]->cfg.nr_vcpus;
		fprintf(f, "  %s per vCPU, %s:", label, bench_mmu_name(mmu));
		for (i = 0; i < nr && i < 16; i++) {
			char b[32];

			fmt_rate(b, sizeof(b),
				 bench_rate(phase == PH_WARM ? ph->vcpu_accesses[i] :
							       ph->vcpu_faults[i],
					    ph->vcpu_ns[i]));
			fprintf(f, " %s", b);
		}
		fprintf(f, "%s\n", nr > 16 ? " ..." : "");
	}
}

/*
 * A pages-per-second row says something the faults-per-second row above it
 * does not: some MMU's faults each mapped more than one 4K page.
 */
static bool pages_row_differs(const struct metric m[NR_MMUS][MAX_METRICS], const int n[NR_MMUS],
			      const char *pages_metric)
{
	char faults[48];
	int mmu, len = (int)strlen(pages_metric) - (int)strlen("_pages_per_s");

	if (len <= 0)
		return false;
	snprintf(faults, sizeof(faults), "%.*s_faults_per_s", len, pages_metric);
	for (mmu = 0; mmu < NR_MMUS; mmu++) {
		const struct metric *p = find(m[mmu], n[mmu], pages_metric);
		const struct metric *q = find(m[mmu], n[mmu], faults);

		if (p && q && p->value > 1.01 * q->value)
			return true;
	}
	return false;
}

void bench_print_summary(FILE *f, const struct bench_summary *s[NR_MMUS], unsigned int tests)
{
	struct metric m[NR_MMUS][MAX_METRICS];
	int n[NR_MMUS] = { 0 }, mmu, i, reps = 0;
	const struct bench_config *cfg = NULL;

	for (mmu = 0; mmu < NR_MMUS; mmu++) {
		if (!s[mmu])
			continue;
		cfg = &s[mmu]->cfg;
		n[mmu] = metrics(s[mmu], m[mmu]);
		if (s[mmu]->nr_reps > reps)
			reps = s[mmu]->nr_reps;
	}
	if (!cfg)
		return;
	print_config(f, cfg, reps);
	fprintf(f, "  %-32s", "");
	for (mmu = 0; mmu < NR_MMUS; mmu++)
		if (s[mmu])
			fprintf(f, " %14s", bench_mmu_name(mmu));
	if (s[MMU_TDP] && s[MMU_LEGACY])
		fprintf(f, " %12s", "tdp/legacy");
	fprintf(f, "\n");
	for (i = 0; i < (int)(sizeof(rows) / sizeof(rows[0])); i++) {
		const struct metric *mt[NR_MMUS] = { NULL };
		bool any = false;

		for (mmu = 0; mmu < NR_MMUS; mmu++) {
			if (s[mmu])
				mt[mmu] = find(m[mmu], n[mmu], rows[i].metric);
			any |= mt[mmu] != NULL;
		}
		if (!any ||
		    (rows[i].huge && cfg->backing == BACK_4K && !cfg->overlap &&
		     !pages_row_differs((const struct metric(*)[MAX_METRICS])m, n, rows[i].metric)))
			continue;
		fprintf(f, "  %-32s", rows[i].label);
		for (mmu = 0; mmu < NR_MMUS; mmu++) {
			char b[32];

			if (!s[mmu])
				continue;
			if (s[mmu]->status == JOB_UNAVAILABLE)
				snprintf(b, sizeof(b), "unavailable");
			else if (s[mmu]->status != JOB_OK)
				snprintf(b, sizeof(b), "failed");
			else
				fmt_metric(b, sizeof(b), mt[mmu], rows[i].kind);
			fprintf(f, " %14s", b);
		}
		if (rows[i].ratio && mt[MMU_TDP] && mt[MMU_LEGACY] && mt[MMU_LEGACY]->value > 0)
			fprintf(f, " %11.2fx", mt[MMU_TDP]->value / mt[MMU_LEGACY]->value);
		fprintf(f, "\n");
		if (!strcmp(rows[i].metric, "cold_faults_per_s") && cfg->nr_vcpus > 1)
			print_per_vcpu(f, s, PH_COLD, "faults/s");
		if (!strcmp(rows[i].metric, "populated_accesses_per_s") && cfg->nr_vcpus > 1)
			print_per_vcpu(f, s, PH_WARM, "accesses/s");
	}
	for (mmu = 0; mmu < NR_MMUS; mmu++)
		if (s[mmu] && s[mmu]->status != JOB_OK)
			fprintf(f, "  note: %s: %s\n", bench_mmu_name(mmu), s[mmu]->err);
	(void)tests;
}

void bench_print_scale(FILE *f, const struct bench_summary *rows_, int n)
{
	int i;

	if (!n)
		return;
	fprintf(f,
		"guest-size scan: 1 vCPU, 4k backing, sequential writes, %s, median of %d, "
		"env=%s\n",
		rows_[0].cfg.scale_sample ? "sampled tail of each guest" : "whole guest faulted",
		rows_[0].nr_reps, bench_env());
	fprintf(f, "  %-6s %-8s %10s %11s %13s %13s %18s %11s\n", "mmu", "guest", "faults",
		"M faults/s", "ns/fault all", "CPU ns/fault", "ns/fault last GiB", "RSS B/page");
	for (i = 0; i < n; i++) {
		const struct bench_summary *s = &rows_[i];
		struct metric m[MAX_METRICS];
		const struct metric *rate, *ns, *cpu, *tail, *rss;
		char size[32];
		int k = metrics(s, m);

		fmt_size(size, sizeof(size), s->cfg.bytes);
		if (s->status != JOB_OK) {
			fprintf(f, "  %-6s %-8s %s\n", bench_mmu_name(s->cfg.mmu), size,
				s->err[0] ? s->err : "failed");
			continue;
		}
		rate = find(m, k, "scale_faults_per_s");
		ns = find(m, k, "scale_ns_per_fault");
		cpu = find(m, k, "scale_cpu_ns_per_fault");
		tail = find(m, k, "scale_tail_ns_per_fault");
		rss = find(m, k, "rss_bytes_per_page");
		fprintf(f, "  %-6s %-8s %10llu %11.2f %13.1f %13.1f %18.1f %11.1f\n",
			bench_mmu_name(s->cfg.mmu), size,
			(unsigned long long)s->med.ph[PH_SCALE].faults,
			rate ? rate->value / 1e6 : 0, ns ? ns->value : 0, cpu ? cpu->value : 0,
			tail ? tail->value : 0, rss ? rss->value : 0);
	}
}

/* ======================== the legacy mmu_lock model ======================== */

/*
 * Exact mean value analysis of a closed network: @n vCPUs each alternate
 * Z ns outside mmu_lock (the rest of a fault) with a write hold of mean S
 * ns at one FCFS server (the lock), exponential service: the machine-
 * repairman model.  Returns the residence time at the lock (wait + S) and
 * the throughput in faults per ns in *@x.
 */
static double lock_mva(int n, double hold, double z, double *x)
{
	double q = 0, r = hold;
	int k;

	*x = 0;
	for (k = 1; k <= n; k++) {
		r = hold * (1 + q);
		*x = k / (r + z);
		q = *x * r;
	}
	return r;
}

static const struct bench_summary *sweep_row(const struct bench_summary *rows, int n, int mmu,
					     int vcpus)
{
	int i;

	for (i = 0; i < n; i++)
		if (rows[i].cfg.mmu == mmu && rows[i].cfg.nr_vcpus == vcpus &&
		    rows[i].status == JOB_OK && rows[i].med.ph[PH_COLD].ran)
			return &rows[i];
	return NULL;
}

double bench_cold_ns_per_fault(const struct bench_summary *s, bool cpu)
{
	const struct phase_result *ph = &s->med.ph[PH_COLD];
	const uint64_t *ns = cpu ? ph->vcpu_cpu_ns : ph->vcpu_ns;
	double sum = 0;
	int i, k = 0;

	for (i = 0; i < s->cfg.nr_vcpus; i++) {
		if (ph->vcpu_faults[i]) {
			sum += (double)ns[i] / (double)ph->vcpu_faults[i];
			k++;
		}
	}
	return k ? sum / k : 0;
}

void bench_lock_model(FILE *f, struct bench_summary *rows, int n)
{
	const struct bench_summary *l1 = sweep_row(rows, n, MMU_LEGACY, 1);
	const struct bench_summary *t1 = sweep_row(rows, n, MMU_TDP, 1);
	double hold, c1, z, x, x_tdp1, nstar;
	int i, n18 = 0, k;

	if (!l1 || !l1->med.ph[PH_COLD].lock_holds || !l1->med.ph[PH_COLD].faults) {
		fprintf(f, "legacy mmu_lock model: needs a legacy 1-vCPU point in the sweep\n");
		return;
	}
	hold = (double)l1->med.ph[PH_COLD].lock_hold_ns / (double)l1->med.ph[PH_COLD].faults;
	c1 = bench_cold_ns_per_fault(l1, false);
	z = c1 > hold ? c1 - hold : 0;
	nstar = hold > 0 ? (hold + z) / hold : 0;
	x_tdp1 = t1 ? bench_rate(t1->med.ph[PH_COLD].faults, t1->med.ph[PH_COLD].wall_ns) : 0;
	for (k = 1; x_tdp1 > 0 && k <= 100000; k++) {
		lock_mva(k, hold, z, &x);
		if (k * x_tdp1 >= 1.8 * x * 1e9) {
			n18 = k;
			break;
		}
	}
	fprintf(f,
		"legacy mmu_lock model (closed queueing network, exact MVA: one FCFS server with\n"
		"exponential service, N vCPUs): from the 1-vCPU point, S = %.0f ns of write hold\n"
		"and Z = %.0f ns of the rest per fault; saturation N* = (S + Z) / S = %.1f vCPUs;\n",
		hold, z, nstar);
	if (n18)
		fprintf(f,
			"TDP (its 1-vCPU rate x N) passes 1.8x legacy at N = %d.  The model assumes a CPU\n"
			"per vCPU; this machine has %ld.\n",
			n18, sysconf(_SC_NPROCESSORS_ONLN));
	else
		fprintf(f, "no TDP 1-vCPU point (or TDP never passes 1.8x): no crossing given.\n");
	fprintf(f,
		"Per point, the open M/D/1 queue of that point's measured arrival rate lambda (its\n"
		"faults/s, one hold each) and mean hold S_N: a fault meets the other vCPUs' holds,\n"
		"rho = lambda (N - 1) / N x S_N, waits rho S_N / 2(1 - rho), wait share lambda x\n"
		"wait / N.\n");
	fprintf(f, "  %5s  %9s  %13s  %9s  %8s  %6s  %10s  %9s\n", "vCPUs", "hold S_N",
		"wait measured", "MVA(S,Z)", "M/D/1", "rho", "M faults/s", "MVA");
	for (i = 0; i < n; i++) {
		struct bench_summary *s = &rows[i];
		const struct phase_result *ph = &s->med.ph[PH_COLD];
		uint64_t ns = 0;
		double r, measured, hold_n, lambda, rho;
		int v;

		if (s->cfg.mmu != MMU_LEGACY || s->status != JOB_OK || !ph->ran)
			continue;
		for (v = 0; v < s->cfg.nr_vcpus; v++)
			ns += ph->vcpu_ns[v];
		r = lock_mva(s->cfg.nr_vcpus, hold, z, &x);
		s->has_model = true;
		s->model_wait_pct = 100.0 * (r - hold) / (r + z);
		s->model_faults_per_s = x * 1e9;
		s->model_saturation_vcpus = nstar;
		s->model_tdp_1_8x_vcpus = n18;
		measured = ns ? 100.0 * (double)ph->lock_wait_ns / (double)ns : 0;
		hold_n = ph->faults ? (double)ph->lock_hold_ns / (double)ph->faults : 0;
		lambda = bench_rate(ph->faults, ph->wall_ns) / 1e9; /* per ns */
		/* A fault queues only behind the other vCPUs' holds. */
		rho = lambda * (s->cfg.nr_vcpus - 1) / s->cfg.nr_vcpus * hold_n;
		s->model_md1_wait_pct = rho < 1 ?
						100.0 * lambda * (rho * hold_n / (2 * (1 - rho))) /
							s->cfg.nr_vcpus :
						100.0;
		fprintf(f, "  %5d  %9.0f  %12.1f%%  %8.1f%%  %7.1f%%  %6.3f  %10.2f  %9.2f\n",
			s->cfg.nr_vcpus, hold_n, measured, s->model_wait_pct, s->model_md1_wait_pct,
			rho, lambda * 1e3, s->model_faults_per_s / 1e6);
	}
}

/* ======================== JSON and CSV ======================== */

static const char *status_name(int status)
{
	return status == JOB_OK ? "ok" : status == JOB_UNAVAILABLE ? "unavailable" : "failed";
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void bench_json_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fprintf(f, "null");
}

static void json_per_vcpu(FILE *f, const struct bench_summary *s, int phase, bool accesses)
{
	const struct phase_result *ph = &s->med.ph[phase];
	int i;

	fprintf(f, "[");
	for (i = 0; i < s->cfg.nr_vcpus; i++) {
		fprintf(f, "%s", i ? ", " : "");
		bench_json_num(f, bench_rate(accesses ? ph->vcpu_accesses[i] : ph->vcpu_faults[i],
					     ph->vcpu_ns[i]));
	}
	fprintf(f, "]");
}

int bench_write_json(const char *path, const struct bench_summary *rs, int n, const char *cmdline)
{
	FILE *f = fopen(path, "w");
	int i, j, p;

	if (!f)
		return -1;
	fprintf(f, "{\n  \"tool\": \"mmusim-bench\",\n  \"env\": \"%s\",\n  \"machine\": ",
		bench_env());
	json_str(f, bench_machine());
	fprintf(f, ",\n  \"command\": ");
	json_str(f, cmdline);
	fprintf(f, ",\n  \"results\": [");
	for (i = 0; i < n; i++) {
		const struct bench_summary *s = &rs[i];
		const struct bench_config *c = &s->cfg;
		struct metric m[MAX_METRICS];
		int k = metrics(s, m);

		fprintf(f,
			"%s\n    {\"env\": \"%s\", \"mmu\": \"%s\", \"vcpus\": %d, \"bytes_per_vcpu\": %llu, "
			"\"backing\": \"%s\", \"overlap\": %s, \"random\": %s, "
			"\"write_pct\": %d, \"seed\": %llu, \"exit_ns\": %llu, \"reps\": %d, "
			"\"status\": \"%s\"",
			i ? "," : "", bench_env(), bench_mmu_name(c->mmu), c->nr_vcpus,
			(unsigned long long)c->bytes, bench_backing_name(c->backing),
			c->overlap ? "true" : "false", c->random ? "true" : "false", c->write_pct,
			(unsigned long long)c->seed, (unsigned long long)c->exit_ns, s->nr_reps,
			status_name(s->status));
		if (s->status != JOB_OK) {
			fprintf(f, ", \"error\": ");
			json_str(f, s->err);
		}
		fprintf(f, ",\n     \"metrics\": {");
		for (j = 0; j < k; j++) {
			fprintf(f, "%s\"%s\": ", j ? ", " : "", m[j].name);
			bench_json_num(f, m[j].value);
		}
		fprintf(f, "}");
		for (p = 0; p < NR_PHASES && s->status == JOB_OK; p++) {
			if (!s->med.ph[p].ran || p == PH_SCALE)
				continue;
			fprintf(f, ",\n     \"%s_per_vcpu_per_s\": ", phase_keys[p]);
			json_per_vcpu(f, s, p, p == PH_WARM);
		}
		fprintf(f, "}");
	}
	fprintf(f, "\n  ]\n}\n");
	return fclose(f);
}

int bench_write_csv(const char *path, const struct bench_summary *rs, int n)
{
	FILE *f = fopen(path, "w");
	int i, j, p, v;

	if (!f)
		return -1;
	fprintf(f,
		"env,mmu,vcpus,bytes_per_vcpu,backing,overlap,random,write_pct,exit_ns,seed,reps,"
		"status,metric,vcpu,value,unit\n");
	for (i = 0; i < n; i++) {
		const struct bench_summary *s = &rs[i];
		const struct bench_config *c = &s->cfg;
		struct metric m[MAX_METRICS];
		int k = metrics(s, m);
		char pre[256];

		snprintf(pre, sizeof(pre), "%s,%s,%d,%llu,%s,%d,%d,%d,%llu,%llu,%d,%s", bench_env(),
			 bench_mmu_name(c->mmu), c->nr_vcpus, (unsigned long long)c->bytes,
			 bench_backing_name(c->backing), c->overlap, c->random, c->write_pct,
			 (unsigned long long)c->exit_ns, (unsigned long long)c->seed, s->nr_reps,
			 status_name(s->status));
		if (s->status != JOB_OK)
			fprintf(f, "%s,,,,\n", pre);
		for (j = 0; j < k; j++)
			fprintf(f, "%s,%s,all,%.6g,%s\n", pre, m[j].name, m[j].value, m[j].unit);
		for (p = 0; p < NR_PHASES && s->status == JOB_OK; p++) {
			const struct phase_result *ph = &s->med.ph[p];
			bool acc = p == PH_WARM;

			if (!ph->ran || p == PH_SCALE)
				continue;
			for (v = 0; v < c->nr_vcpus; v++)
				fprintf(f, "%s,%s_%s_per_s,%d,%.6g,%s\n", pre, phase_keys[p],
					acc ? "accesses" : "faults", v,
					bench_rate(acc ? ph->vcpu_accesses[v] : ph->vcpu_faults[v],
						   ph->vcpu_ns[v]),
					acc ? "accesses/s" : "faults/s");
		}
	}
	return fclose(f);
}

/* ======================== plot ======================== */

/* "out.png" -> "out<ext>" */
static void sibling(char *buf, size_t size, const char *png, const char *ext)
{
	const char *dot = strrchr(png, '.');
	int len = dot && !strchr(dot, '/') ? (int)(dot - png) : (int)strlen(png);

	snprintf(buf, size, "%.*s%s", len, png, ext);
}

/* Runs gnuplot on the script @gp: 0, or -1 if it could not run or failed. */
int bench_gnuplot(const char *gp)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		execlp("gnuplot", "gnuplot", gp, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return 0;
}

int bench_plot_sweep(const char *png, const struct bench_summary *rs, int n)
{
	char dat[4096], gp[4096], size[32];
	const struct bench_config *c0 = NULL;
	bool have[NR_MMUS] = { false };
	double base = NAN; /* M faults/s per vCPU of the first point, for the ideal line */
	const char *sep = "";
	FILE *f;
	int i, j, mmu;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	sibling(dat, sizeof(dat), png, ".dat");
	sibling(gp, sizeof(gp), png, ".gp");
	f = fopen(dat, "w");
	if (!f)
		return -1;
	fprintf(f, "# vcpus  tdp  legacy  ideal: M cold 4K faults/s, aggregate, median (ideal: "
		   "the first point scaled linearly up to the CPU count); ? = not available\n");
	/* Rows come in (config, mmu) order: one line per vCPU count. */
	for (i = 0; i < n; i++) {
		double v[NR_MMUS] = { NAN, NAN };
		int vcpus = rs[i].cfg.nr_vcpus;

		for (j = 0; j < i; j++)
			if (rs[j].cfg.nr_vcpus == vcpus)
				break;
		if (j < i)
			continue;
		for (j = i; j < n; j++) {
			struct metric m[MAX_METRICS];
			const struct metric *r;
			int k;

			if (rs[j].cfg.nr_vcpus != vcpus)
				continue;
			c0 = &rs[j].cfg;
			k = metrics(&rs[j], m);
			r = find(m, k, "cold_faults_per_s");
			if (r) {
				v[rs[j].cfg.mmu] = r->value / 1e6;
				have[rs[j].cfg.mmu] = true;
			}
		}
		if (isnan(base))
			base = (isnan(v[MMU_TDP]) ? v[MMU_LEGACY] : v[MMU_TDP]) / vcpus;
		fprintf(f, "%d", vcpus);
		for (mmu = 0; mmu < NR_MMUS; mmu++) {
			if (isnan(v[mmu]))
				fprintf(f, " ?");
			else
				fprintf(f, " %.4f", v[mmu]);
		}
		if (isnan(base))
			fprintf(f, " ?\n");
		else
			fprintf(f, " %.4f\n", base * (vcpus < cpus ? vcpus : cpus));
	}
	fclose(f);
	if (!c0)
		return -1;

	fmt_size(size, sizeof(size), c0->bytes);
	f = fopen(gp, "w");
	if (!f)
		return -1;
	fprintf(f, "set terminal pngcairo size 800,480 font 'sans,10'\n");
	fprintf(f, "set output '%s'\n", png);
	fprintf(f,
		"set title \"mmusim cold 4K faults: TDP vs legacy MMU (%s per vCPU, "
		"exit %llu ns, %s, env=%s)\\n%s\"\n",
		size, (unsigned long long)c0->exit_ns, c0->overlap ? "overlapping" : "partitioned",
		bench_env(), bench_machine());
	fprintf(f, "set xlabel 'vCPUs'\nset ylabel 'M faults/s (aggregate)'\n");
	fprintf(f, "set logscale x 2\nset yrange [0:*]\nset grid\nset key below\n");
	fprintf(f, "set datafile missing '?'\n");
	/* Past the CPU count, vCPU threads share CPUs: the curve must flatten. */
	fprintf(f, "set arrow from %ld, graph 0 to %ld, graph 1 nohead dt 2 lc rgb 'gray40'\n",
		cpus, cpus);
	fprintf(f, "set label '%ld CPUs' at %ld, graph 0.05 right offset -0.5,0 tc rgb 'gray40'\n",
		cpus, cpus);
	fprintf(f, "plot ");
	if (have[MMU_TDP]) {
		fprintf(f, "'%s' using 1:2 with linespoints lw 2 pt 7 title 'TDP MMU (read lock)'",
			dat);
		sep = ", ";
	}
	if (have[MMU_LEGACY]) {
		fprintf(f,
			"%s'%s' using 1:3 with linespoints lw 2 pt 5 "
			"title 'legacy MMU (write lock, rmap)'",
			sep, dat);
		sep = ", ";
	}
	if (*sep)
		fprintf(f,
			", '%s' using 1:4 with lines dt 3 lc rgb 'gray40' "
			"title 'first point x vCPUs, up to the CPU count'",
			dat);
	else
		fprintf(f, "NaN notitle");
	fprintf(f, "\n");
	fclose(f);

	return bench_gnuplot(gp);
}
