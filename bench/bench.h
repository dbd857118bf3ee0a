/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mmusim-bench: shared definitions of the front end (bench_main.c), the
 * workload runner (bench_faults.c) and the reports (bench_report.c).
 *
 * One "job" is one repetition of one configuration on one MMU: a fresh
 * simulated host, address space and VM, vCPU threads that run the phases
 * below, then teardown.  By default each job runs in its own forked process,
 * so that RSS is measured from a clean slate and nothing (allocator caches,
 * the page-table page pool) carries over from one job to the next; the
 * result comes back through shared memory as a plain struct.
 */
#ifndef _MMUSIM_BENCH_H
#define _MMUSIM_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bench_env.h"

#define BENCH_MAX_VCPUS 64
#define BENCH_MAX_SWEEP 16

enum bench_mmu { MMU_TDP, MMU_LEGACY, NR_MMUS };

enum bench_backing { BACK_4K, BACK_THP, BACK_HUGETLB_2M, BACK_HUGETLB_1G, NR_BACKINGS };

/* Timed phases of a job, in the order they run. */
enum bench_phase {
	PH_COLD, /* first touch: every access faults (demand paging) */
	PH_WARM, /* the same accesses again: populated path, no fault */
	PH_REFAULT, /* after zap_all_fast: faults whose host pages exist */
	PH_DIRTY, /* after enabling dirty logging: write faults fixed by pf_fast */
	PH_SCALE, /* guest-size scan: one vCPU, the tail of a big guest */
	NR_PHASES,
};

/* What a run measures besides cold + populated (bit mask, -t). */
#define TEST_FAULT 0x1
#define TEST_FAST 0x2
#define TEST_ZAP 0x4
#define TEST_SCALE 0x8
#define TEST_SEV_BOOT 0x10 /* bench_sev_boot.c; on its own */
#define TEST_TARGETS 0x20 /* bench_targets.c: issue 18's targets; on its own */

struct bench_config {
	int mmu; /* enum bench_mmu */
	int nr_vcpus;
	uint64_t bytes; /* per vCPU (the whole region with overlap) */
	int backing; /* enum bench_backing */
	bool overlap; /* every vCPU walks the same region */
	bool random; /* random order (a seeded permutation per vCPU) */
	int write_pct; /* 0..100: share of accesses that write */
	uint64_t seed;
	uint64_t exit_ns; /* modelled exit + GUP cost per fault (outside mmu_lock) */
	unsigned int tests; /* TEST_* */
	uint64_t scale_sample; /* scale: bytes faulted at the end of the guest (0: all) */
	bool time_holds; /* time mmu_lock's write holds (the sweep's lock model) */
	bool progress; /* draw a progress bar on stderr */
	const char *label; /* progress bar text */
};

struct phase_result {
	bool ran;
	uint64_t wall_ns; /* first vCPU start to last vCPU end */
	uint64_t accesses; /* guest accesses completed */
	uint64_t faults; /* pf_fixed (for PH_DIRTY: pf_fast) */
	uint64_t pf_taken, pf_spurious, pf_retry, pf_fast;
	uint64_t tlb_hits, psc_walks; /* TLB hits; misses walked from a paging-structure cache */
	uint64_t lock_wait_ns; /* mmu_lock blocked time, all threads */
	uint64_t lock_hold_ns, lock_holds; /* mmu_lock write holds, if timed */
	uint64_t tail_ns, tail_faults; /* PH_SCALE: the last GiB only */
	uint64_t vcpu_ns[BENCH_MAX_VCPUS];
	uint64_t vcpu_cpu_ns[BENCH_MAX_VCPUS]; /* thread CPU time (robust to other load) */
	uint64_t vcpu_faults[BENCH_MAX_VCPUS];
	uint64_t vcpu_accesses[BENCH_MAX_VCPUS];
};

enum job_status { JOB_OK, JOB_UNAVAILABLE, JOB_FAILED };

struct job_result {
	int status; /* enum job_status */
	char err[160];
	struct phase_result ph[NR_PHASES];
	/* Memory after the cold phase. */
	uint64_t rss_before, rss_after; /* bytes */
	uint64_t mapped_4k; /* guest memory mapped by leaf SPTEs, 4K units */
	uint64_t leaf_sptes; /* pages_4k + pages_2m + pages_1g */
	uint64_t spt_pages; /* MMU page-table pages */
	uint64_t host_pt_pages; /* host page-table pages */
	uint64_t host_frames; /* host frames allocated */
	/* Teardown. */
	uint64_t zap_ns, zap_sptes; /* mmusim_vm_zap_all_fast() */
	uint64_t dirty_enable_ns; /* KVM_MEM_LOG_DIRTY_PAGES on (write-protect) */
	uint64_t dirty_sptes; /* leaf SPTEs present when logging was enabled */
	uint64_t destroy_ns, destroy_sptes; /* mmusim_vm_destroy() */
	uint64_t munmap_ns; /* sim_mm_destroy(): the host unmaps everything */
};

/* bench_faults.c */
const char *bench_backing_name(int backing);
const char *bench_mmu_name(int mmu);
void bench_run_job(const struct bench_config *cfg, struct job_result *res);

/* bench_report.c */
struct bench_summary {
	struct bench_config cfg;
	int nr_reps; /* reps that succeeded */
	int status; /* JOB_OK if any rep succeeded */
	char err[160];
	struct job_result med; /* field-by-field median over the reps */
	/*
	 * --control, N > 1 vCPUs: medians over the rounds of a 1-vCPU job's
	 * cold faults/s and of N independent 1-vCPU processes run at once
	 * (summed); 0 when not measured.
	 */
	double one_vcpu_cold_per_s, control_cold_per_s;
	/* The legacy MMU's mmu_lock model at this row's vCPU count (sweeps). */
	bool has_model;
	double model_wait_pct, model_faults_per_s, model_saturation_vcpus, model_tdp_1_8x_vcpus;
	double model_md1_wait_pct; /* M/D/1 from this row's own arrival rate and hold time */
};

uint64_t bench_median(uint64_t *v, int n);
void bench_summarize(struct bench_summary *s, const struct job_result *reps, int n);
double bench_rate(uint64_t count, uint64_t ns); /* count per second */
/* Mean over vCPUs of ns per cold fault: thread CPU time if @cpu, else wall time. */
double bench_cold_ns_per_fault(const struct bench_summary *s, bool cpu);
void bench_print_summary(FILE *f, const struct bench_summary *s[NR_MMUS], unsigned int tests);
void bench_print_scale(FILE *f, const struct bench_summary *rows, int n);
/* The sweep's legacy mmu_lock model, from its 1-vCPU rows; fills the rows' model_*. */
void bench_lock_model(FILE *f, struct bench_summary *rows, int n);
int bench_write_json(const char *path, const struct bench_summary *rows, int n,
		     const char *cmdline);
int bench_write_csv(const char *path, const struct bench_summary *rows, int n);
/* A JSON number, or null for NaN and infinities. */
void bench_json_num(FILE *f, double v);
int bench_plot_sweep(const char *png, const struct bench_summary *rows, int n);
int bench_gnuplot(const char *gp);
const char *bench_machine(void);
/* One of the metrics the JSON gives a row (e.g. "rss_bytes_per_page"), or NaN. */
double bench_metric(const struct bench_summary *s, const char *name);

/* bench_targets.c: -t targets, issue 18's targets for this build */
struct bench_targets {
	const struct bench_summary *one, *two; /* TDP, 1 GiB per vCPU; two has --control */
	const struct bench_summary *rss[NR_MMUS]; /* sampled 1 TiB guest */
	const struct bench_summary *model; /* a legacy sweep row with the lock model */
	double instr_cold[NR_MMUS], instr_populated; /* callgrind; NaN: not measured */
	char loadavg_before[64], loadavg_after[64];
};

/* Instructions per cold fault (or per populated access) of @mmu, or NaN. */
double bench_instructions(const char *mmu, bool populated);
void bench_print_targets(FILE *f, const struct bench_targets *t);
int bench_write_targets_json(const char *path, const struct bench_targets *t);

/* bench_sev_boot.c: -t sev-boot (docs/benchmarks.md "SEV boot time") */
#define BENCH_MAX_SIZES 16
enum sev_boot_pin { SEV_BOOT_UPFRONT, SEV_BOOT_DEMAND, NR_SEV_BOOT_PINS };

struct sev_boot_config {
	uint64_t sizes[BENCH_MAX_SIZES]; /* guest RAM of each point, bytes */
	int nr_sizes;
	uint64_t image; /* firmware + kernel image launched with LAUNCH_UPDATE_DATA */
	uint64_t working_set; /* written by the vCPUs after the image */
	bool memmap; /* the guest also writes its memmap (64 B per 4 KiB page) */
	unsigned int pins; /* bit per enum sev_boot_pin */
	int nr_vcpus;
	int reps;
	bool no_fork;
};

/* Runs every point, prints the table and fits; returns the number of failures. */
int bench_sev_boot(const struct sev_boot_config *cfg, const char *json, const char *png,
		   const char *cmdline);

#endif /* _MMUSIM_BENCH_H */
