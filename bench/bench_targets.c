// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmusim-bench -t targets: the performance targets of issue 18, measured in
 * one run of one build and printed as "target, measured, met or not".
 *
 * bench_main.c runs the jobs (a 1-vCPU and a 2-vCPU cold-fault job with the
 * control of two independent 1-vCPU processes, a 1/2/4-vCPU sweep of both
 * MMUs for the legacy mmu_lock model, a sampled 1 TiB guest for RSS per
 * page); this file adds the instruction counts, which callgrind measures on
 * this very binary (re-executed under valgrind, as bench/callgrind-fault
 * does by hand), and turns the rows into the table and the JSON that
 * bench/targets merges across the checked and the fast build.
 *
 * Instructions per cold fault: the guest-size scan under callgrind at 16 MiB
 * and at 32 MiB, only mmusim_vcpu_access_range() counted, the difference
 * divided by the 4,096 extra faults, so set-up and teardown cancel out.  Per
 * populated access: the same with -t fault and bench_populated_pass().
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define CG_SMALL_MIB 16
#define CG_LARGE_MIB 32
#define CG_EXTRA ((CG_LARGE_MIB - CG_SMALL_MIB) << 8) /* 4K pages between the two */

/*
 * One callgrind run of this binary: the instructions counted inside @fn, or
 * a negative errno.  Its own output goes to /dev/null; the count is the
 * "summary:" line of the profile it writes.
 */
static long long callgrind_count(const char *self, const char *mmu, bool populated, int mib)
{
	char out[] = "/tmp/mmusim-cg-XXXXXX", outarg[64], size[16], line[256];
	const char *fn = populated ? "bench_populated_pass" : "mmusim_vcpu_access_range";
	char toggle[64];
	long long count = -ENOENT;
	int fd, status;
	FILE *f;
	pid_t pid;

	fd = mkstemp(out);
	if (fd < 0)
		return -errno;
	close(fd);
	snprintf(outarg, sizeof(outarg), "--callgrind-out-file=%s", out);
	/* "fn*": the link-time optimised build names its copy e.g. fn.constprop.0. */
	snprintf(toggle, sizeof(toggle), "--toggle-collect=%s*", fn);
	snprintf(size, sizeof(size), "%dM", mib);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		/* The populated pass of -t fault, or the cold scan of -t scale. */
		char *argv[] = { "valgrind",
				 "--tool=callgrind",
				 toggle,
				 outarg,
				 (char *)self,
				 "--no-fork",
				 "-q",
				 "-r",
				 "1",
				 "-m",
				 (char *)mmu,
				 "-t",
				 populated ? "fault" : "scale",
				 populated ? "-b" : "--scale-min",
				 size,
				 populated ? NULL : "--scale-max",
				 size,
				 NULL };

		execvp("valgrind", argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		unlink(out);
		return pid < 0 ? -errno : -ECHILD;
	}
	f = fopen(out, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "summary:", 8))
			count = strtoll(line + 8, NULL, 10);
	if (f)
		fclose(f);
	unlink(out);
	return count;
}

double bench_instructions(const char *mmu, bool populated)
{
	char self[4096];
	long long small, large;
	ssize_t len;

	/* valgrind would resolve /proc/self/exe in its own process: pass the path. */
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return NAN;
	self[len] = '\0';
	small = callgrind_count(self, mmu, populated, CG_SMALL_MIB);
	large = callgrind_count(self, mmu, populated, CG_LARGE_MIB);
	if (small < 0 || large < 0 || large < small)
		return NAN;
	return (double)(large - small) / CG_EXTRA;
}

/* ======================== the table ======================== */

struct target {
	const char *key, *what;
	double goal;
	bool at_least; /* measured >= goal meets it; else measured <= goal */
	const char *unit, *command;
};

enum { T_EFFICIENCY, T_COLD, T_INSTRUCTIONS, T_POPULATED, T_RSS, NR_TARGETS };

static const struct target targets[NR_TARGETS] = {
	[T_EFFICIENCY] = { "efficiency_2vcpu", "one VM, 2 vCPUs: cold rate / 2 x 1 vCPU", 90, true,
			   "%", "-m tdp -t fault -v 2 -b 1G --control" },
	[T_COLD] = { "cold_faults_per_s", "cold 4K faults/s, 1 vCPU, full path", 8, true, "M/s",
		     "-m tdp -t fault -v 1 -b 1G" },
	[T_INSTRUCTIONS] = { "instructions_per_cold_fault",
			     "instructions per cold fault (callgrind)", 2200, false, "",
			     "bench/callgrind-fault BUILD tdp" },
	[T_POPULATED] = { "populated_accesses_per_s", "populated 4K accesses/s, 1 vCPU", 100, true,
			  "M/s", "-m tdp -t fault -v 1 -b 1G" },
	[T_RSS] = { "rss_bytes_per_page", "RSS per mapped 4K page, 1 TiB guest", 24, false, "B",
		    "-m both -t scale --scale-min 1T --scale-max 1T --scale-sample 4G" },
};

static double cold_rate(const struct bench_summary *s)
{
	return s && s->status == JOB_OK ?
		       bench_rate(s->med.ph[PH_COLD].faults, s->med.ph[PH_COLD].wall_ns) :
		       NAN;
}

static double populated_rate(const struct bench_summary *s)
{
	return s && s->status == JOB_OK ?
		       bench_rate(s->med.ph[PH_WARM].accesses, s->med.ph[PH_WARM].wall_ns) :
		       NAN;
}

/* @rate over N times the 1-vCPU rate measured beside the N-vCPU row's control. */
static double efficiency(const struct bench_summary *two, double rate)
{
	if (!two || two->one_vcpu_cold_per_s <= 0)
		return NAN;
	return rate / (two->cfg.nr_vcpus * two->one_vcpu_cold_per_s);
}

/* Target @i's figure, in its unit. */
static double measured(const struct bench_targets *t, int i)
{
	switch (i) {
	case T_EFFICIENCY:
		return 100 * efficiency(t->two, cold_rate(t->two));
	case T_COLD:
		return cold_rate(t->one) / 1e6;
	case T_INSTRUCTIONS:
		return t->instr_cold[MMU_TDP];
	case T_POPULATED:
		return populated_rate(t->one) / 1e6;
	default:
		return bench_metric(t->rss[MMU_TDP], "rss_bytes_per_page");
	}
}

static bool met(const struct target *g, double v)
{
	return isfinite(v) && (g->at_least ? v >= g->goal : v <= g->goal);
}

static void fmt(char *buf, size_t size, double v, const char *unit)
{
	if (!isfinite(v))
		snprintf(buf, size, "n/a");
	else if (v >= 1000 && !*unit)
		snprintf(buf, size, "%.0f", v);
	else
		snprintf(buf, size, "%.*f%s%s", v < 10 ? 2 : 1, v, *unit ? " " : "", unit);
}

void bench_print_targets(FILE *f, const struct bench_targets *t)
{
	double rate2 = cold_rate(t->two);
	char m[32], goal[32];
	int i;

	fprintf(f,
		"\nissue 18 targets, env=%s (%s), medians of %d; load average %s before, "
		"%s after\n",
		bench_env(), bench_machine(), t->one ? t->one->nr_reps : 0, t->loadavg_before,
		t->loadavg_after);
	fprintf(f, "  %-44s %14s %12s  %s\n", "target", "measured", "goal", "met");
	for (i = 0; i < NR_TARGETS; i++) {
		const struct target *g = &targets[i];
		double v = measured(t, i);

		fmt(m, sizeof(m), v, g->unit);
		fmt(goal, sizeof(goal), g->goal, g->unit);
		fprintf(f, "  %-44s %14s %s %9s  %s\n", g->what, m, g->at_least ? ">=" : "<=", goal,
			met(g, v) ? "yes" : "no");
	}
	fprintf(f,
		"  2 vCPUs: %.2f M/s against 2 x %.2f M/s; control (two 1-vCPU processes) "
		"%.2f M/s, %.0f %%\n",
		rate2 / 1e6, t->two ? t->two->one_vcpu_cold_per_s / 1e6 : NAN,
		t->two ? t->two->control_cold_per_s / 1e6 : NAN,
		t->two ? 100 * efficiency(t->two, t->two->control_cold_per_s) : NAN);
	fprintf(f,
		"  CPU ns per cold fault: 1 vCPU %.0f, 2 vCPUs %.0f; instructions per "
		"cold fault, legacy: %.0f; per populated access, TDP: %.0f\n",
		bench_cold_ns_per_fault(t->one, true), bench_cold_ns_per_fault(t->two, true),
		t->instr_cold[MMU_LEGACY], t->instr_populated);
	fprintf(f,
		"  RSS per page, legacy: %.1f B; TDP = %.1f SPT + %.1f host PT + %.1f "
		"sim_page + %.1f other\n",
		bench_metric(t->rss[MMU_LEGACY], "rss_bytes_per_page"),
		bench_metric(t->rss[MMU_TDP], "spt_bytes_per_page"),
		bench_metric(t->rss[MMU_TDP], "host_pt_bytes_per_page"),
		bench_metric(t->rss[MMU_TDP], "sim_page_bytes_per_page"),
		bench_metric(t->rss[MMU_TDP], "other_bytes_per_page"));
	if (t->model)
		fprintf(f,
			"  legacy mmu_lock model: saturates at %.1f vCPUs; TDP passes 1.8x "
			"legacy at %.0f vCPUs\n",
			t->model->model_saturation_vcpus, t->model->model_tdp_1_8x_vcpus);
}

static void json_field(FILE *f, const char *key, double v, bool last)
{
	fprintf(f, "    \"%s\": ", key);
	bench_json_num(f, v);
	fprintf(f, "%s\n", last ? "" : ",");
}

int bench_write_targets_json(const char *path, const struct bench_targets *t)
{
	FILE *f = fopen(path, "w");
	int i;

	if (!f)
		return -1;
	fprintf(f, "{\n  \"tool\": \"mmusim-bench\",\n  \"test\": \"targets\",\n");
	fprintf(f, "  \"env\": \"%s\",\n  \"machine\": \"%s\",\n", bench_env(), bench_machine());
	fprintf(f, "  \"reps\": %d,\n", t->one ? t->one->nr_reps : 0);
	fprintf(f, "  \"loadavg_before\": \"%s\",\n  \"loadavg_after\": \"%s\",\n",
		t->loadavg_before, t->loadavg_after);
	/* One target per line: bench/targets reads them with sed. */
	fprintf(f, "  \"targets\": [\n");
	for (i = 0; i < NR_TARGETS; i++) {
		const struct target *g = &targets[i];
		double v = measured(t, i);

		fprintf(f, "    {\"key\": \"%s\", \"measured\": ", g->key);
		bench_json_num(f, v);
		fprintf(f, ", \"goal\": ");
		bench_json_num(f, g->goal);
		fprintf(f,
			", \"cmp\": \"%s\", \"unit\": \"%s\", \"met\": %s, \"command\": \"%s\"}%s\n",
			g->at_least ? ">=" : "<=", g->unit, met(g, v) ? "true" : "false",
			g->command, i + 1 < NR_TARGETS ? "," : "");
	}
	fprintf(f, "  ],\n  \"figures\": {\n");
	json_field(f, "cold_faults_per_s_1vcpu", cold_rate(t->one), false);
	json_field(f, "cold_faults_per_s_2vcpu", cold_rate(t->two), false);
	json_field(f, "cold_faults_per_s_1vcpu_control_round",
		   t->two ? t->two->one_vcpu_cold_per_s : NAN, false);
	json_field(f, "control_cold_faults_per_s", t->two ? t->two->control_cold_per_s : NAN,
		   false);
	json_field(f, "control_efficiency",
		   t->two ? efficiency(t->two, t->two->control_cold_per_s) : NAN, false);
	json_field(f, "cold_cpu_ns_per_fault_1vcpu", bench_cold_ns_per_fault(t->one, true), false);
	json_field(f, "cold_cpu_ns_per_fault_2vcpu", bench_cold_ns_per_fault(t->two, true), false);
	json_field(f, "instructions_per_cold_fault_tdp", t->instr_cold[MMU_TDP], false);
	json_field(f, "instructions_per_cold_fault_legacy", t->instr_cold[MMU_LEGACY], false);
	json_field(f, "instructions_per_populated_access_tdp", t->instr_populated, false);
	json_field(f, "populated_accesses_per_s", populated_rate(t->one), false);
	json_field(f, "rss_bytes_per_page_tdp", bench_metric(t->rss[MMU_TDP], "rss_bytes_per_page"),
		   false);
	json_field(f, "rss_bytes_per_page_legacy",
		   bench_metric(t->rss[MMU_LEGACY], "rss_bytes_per_page"), false);
	json_field(f, "sim_page_bytes_per_page_tdp",
		   bench_metric(t->rss[MMU_TDP], "sim_page_bytes_per_page"), false);
	json_field(f, "legacy_model_saturation_vcpus",
		   t->model ? t->model->model_saturation_vcpus : NAN, false);
	json_field(f, "legacy_model_tdp_1_8x_vcpus",
		   t->model ? t->model->model_tdp_1_8x_vcpus : NAN, true);
	fprintf(f, "  }\n}\n");
	return fclose(f);
}
