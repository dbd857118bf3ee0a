// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmusim-bench -t sev-boot: a simulated SEV guest boot per guest size, under
 * up-front pinning (KVM_MEMORY_ENCRYPT_REG_REGION pins all guest RAM,
 * MMUSIM_SEV_PIN_UPFRONT, upstream) and demand pinning (REG_REGION only
 * charges RLIMIT_MEMLOCK, faults pin: MMUSIM_SEV_PIN_MEMSLOT, Nikunj
 * Dadhania's RFC v1), the experiment behind the RFC's boot-time table
 * (docs/benchmarks.md "SEV boot time", docs/sev.md).
 *
 * One boot, timed from REG_REGION to the last guest access:
 *   REG_REGION     all guest RAM, as QEMU registers each RAM block
 *   load           the VMM copies the firmware and kernel image into guest
 *                  memory (sim_mm_write), as QEMU loads OVMF and -kernel
 *   launch         LAUNCH_START, LAUNCH_UPDATE_DATA of the image,
 *                  LAUNCH_MEASURE (the length query, then the digest),
 *                  LAUNCH_FINISH
 *   run            the vCPUs write a boot-sized working set after the image
 *                  (split between them), and the guest kernel's memmap: 64
 *                  bytes of struct page per 4 KiB page, at the top of RAM,
 *                  the one part of a real boot that grows with guest size
 *                  (--no-memmap leaves it out)
 * Nothing in the boot depends on the strategy: the difference between the
 * two curves is what each one pins (every page, or the pages touched).
 *
 * Each boot runs in a forked child (fresh host, allocator and RSS), the
 * result comes back through shared memory.  Not core code: libc is fine.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mmusim_env.h"
#include <mmusim/env.h>
#include <mmusim/host.h>
#include <mmusim/sev.h>
#include <mmusim/vm.h>

#include "bench.h"

#define SB_MAX_REPS 64

static const char *const strategy_names[NR_SEV_BOOT_PINS] = {
	[SEV_BOOT_UPFRONT] = "upfront",
	[SEV_BOOT_DEMAND] = "demand",
};

static const int strategy_pin[NR_SEV_BOOT_PINS] = {
	[SEV_BOOT_UPFRONT] = MMUSIM_SEV_PIN_UPFRONT,
	[SEV_BOOT_DEMAND] = MMUSIM_SEV_PIN_MEMSLOT,
};

/* Nikunj's RFC v1 0/9 (perf-anchors.md 3.1): guest GB, seconds up front, demand. */
static const double seed_table[][3] = {
	{ 4, 6.16, 5.71 },    { 16, 7.38, 5.91 },   { 64, 12.17, 6.16 },
	{ 128, 18.20, 6.50 }, { 192, 24.56, 6.80 },
};
#define SEED_POINTS (sizeof(seed_table) / sizeof(seed_table[0]))
#define SEED_UP_MS_PER_GB 98.0
#define SEED_DEMAND_MS_PER_GB 5.8

/* One boot's figures; all u64 so that medians are taken field by field. */
struct sb_result {
	uint64_t status; /* enum job_status */
	uint64_t total_ns, reg_ns, load_ns, launch_ns, run_ns;
	uint64_t cpu_ns; /* the process's CPU time over the boot: robust to other load */
	uint64_t pages_pinned, pins_taken, pages_locked, faults;
	uint64_t peak_rss, rss_start, host_frames;
	char err[160];
};
#define SB_NR_U64 (offsetof(struct sb_result, err) / sizeof(uint64_t))

struct sb_point {
	int pin;
	uint64_t guest;
	int nr_reps;
	struct sb_result med;
};

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* A "VmHWM:" or "VmRSS:" line of /proc/self/status, in bytes. */
static uint64_t proc_status_kb(const char *key)
{
	char line[256];
	unsigned long long kb = 0;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && sscanf(line + n, "%llu", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}

static int sev_op(struct mmusim_vm *vm, uint32_t id, void *data, uint32_t *error)
{
	struct kvm_sev_cmd cmd = {
		.id = id,
		.data = (uint64_t)(unsigned long)data,
		.sev_fd = MMUSIM_SEV_DEV_FD,
	};
	int r = mmusim_vm_memory_encrypt_op(vm, &cmd);

	*error = cmd.error;
	return r;
}

/* LAUNCH_START .. LAUNCH_FINISH over the image at @hva. */
static int launch(struct mmusim_vm *vm, hva_t hva, uint64_t len, char *err, size_t errsz)
{
	struct kvm_sev_launch_start start = { .policy = SEV_POLICY_NODBG };
	struct kvm_sev_launch_update_data upd = { .uaddr = hva, .len = (uint32_t)len };
	struct kvm_sev_launch_measure ms = { 0 };
	uint8_t digest[64];
	uint32_t fw = 0;
	int r;

	r = sev_op(vm, KVM_SEV_LAUNCH_START, &start, &fw);
	if (r) {
		snprintf(err, errsz, "LAUNCH_START: %d (firmware %u)", r, fw);
		return r;
	}
	r = sev_op(vm, KVM_SEV_LAUNCH_UPDATE_DATA, &upd, &fw);
	if (r) {
		snprintf(err, errsz, "LAUNCH_UPDATE_DATA: %d (firmware %u)", r, fw);
		return r;
	}
	/* The length query, as QEMU makes it: -EIO with SEV_RET_INVALID_LEN. */
	r = sev_op(vm, KVM_SEV_LAUNCH_MEASURE, &ms, &fw);
	if (r != -EIO || fw != SEV_RET_INVALID_LEN || ms.len > sizeof(digest)) {
		snprintf(err, errsz, "LAUNCH_MEASURE length query: %d (firmware %u, len %u)", r, fw,
			 ms.len);
		return r ? r : -EINVAL;
	}
	ms.uaddr = (uint64_t)(unsigned long)digest;
	r = sev_op(vm, KVM_SEV_LAUNCH_MEASURE, &ms, &fw);
	if (!r)
		r = sev_op(vm, KVM_SEV_LAUNCH_FINISH, NULL, &fw);
	if (r)
		snprintf(err, errsz, "LAUNCH_MEASURE/FINISH: %d (firmware %u)", r, fw);
	return r;
}

struct sb_vcpu {
	struct mmusim_vcpu *vcpu;
	/* Up to two ranges: its share of the working set, and of the memmap. */
	uint64_t gfn[2], npages[2];
	long r;
	pthread_t tid;
};

static void *sb_vcpu_thread(void *arg)
{
	struct sb_vcpu *c = arg;
	int i;

	env_thread_register();
	for (i = 0; i < 2 && !c->r; i++) {
		long n;

		if (!c->npages[i])
			continue;
		n = mmusim_vcpu_access_range(c->vcpu, c->gfn[i] << 12, c->npages[i], 0,
					     MMUSIM_ACCESS_WRITE, NULL);
		c->r = n == (long)c->npages[i] ? 0 : n < 0 ? n : -EIO;
	}
	env_thread_unregister();
	return NULL;
}

/* The memmap: 64 bytes of struct page per 4 KiB page, whole pages. */
static uint64_t memmap_pages(uint64_t guest)
{
	return ((guest >> 12) * 64 + 4095) >> 12;
}

static int run_vcpus(struct mmusim_vm *vm, const struct sev_boot_config *cfg, uint64_t guest)
{
	uint64_t ws = cfg->working_set >> 12, first = cfg->image >> 12;
	uint64_t mm = cfg->memmap ? memmap_pages(guest) : 0, mm_first = (guest >> 12) - mm;
	struct sb_vcpu c[BENCH_MAX_VCPUS];
	int i, n = cfg->nr_vcpus, r = 0;

	memset(c, 0, sizeof(c));
	for (i = 0; i < n; i++) {
		c[i].vcpu = mmusim_vm_vcpu(vm, i);
		c[i].gfn[0] = first + ws * i / n;
		c[i].npages[0] = first + ws * (i + 1) / n - c[i].gfn[0];
		c[i].gfn[1] = mm_first + mm * i / n;
		c[i].npages[1] = mm_first + mm * (i + 1) / n - c[i].gfn[1];
	}
	for (i = 1; i < n; i++)
		if (pthread_create(&c[i].tid, NULL, sb_vcpu_thread, &c[i]))
			break;
	n = i;
	sb_vcpu_thread(&c[0]);
	for (i = 1; i < n; i++)
		pthread_join(c[i].tid, NULL);
	if (n < cfg->nr_vcpus)
		return -EAGAIN;
	for (i = 0; i < n; i++)
		r = r ?: (int)c[i].r;
	return r;
}

/* One boot of a @guest-byte SEV guest under @pin, in this process. */
static void sb_boot(const struct sev_boot_config *cfg, int pin, uint64_t guest,
		    struct sb_result *res)
{
	struct sim_host_config hc = { 0 };
	struct mmusim_vm_config vc = { 0 };
	struct kvm_userspace_memory_region mr = { 0 };
	struct kvm_enc_region reg;
	struct mmusim_sev_stats ss;
	struct mmusim_vm_stats vs0, vs1;
	struct sim_host_stats hs;
	struct sim_host *host = NULL;
	struct mmusim_vm *vm = NULL;
	struct sim_mm *mm = NULL;
	uint64_t t0, t1, t2, t3, c0, off;
	void *chunk = NULL;
	hva_t hva;
	int r;

	memset(res, 0, sizeof(*res));
	res->status = JOB_FAILED;
	env_thread_register();
	/* Room for the guest, the host's page tables and the zero page. */
	hc.mem_bytes = ALIGN(guest + (1ULL << 30), 1ULL << 30);
	vc.nr_vcpus = cfg->nr_vcpus;
	vc.sev = true;
	vc.sev_pin = strategy_pin[pin];
	r = sim_host_create(&hc, &host);
	if (!r)
		r = sim_mm_create(host, &mm);
	/*
	 * RLIMIT_MEMLOCK as an SEV VMM must set it: all guest RAM (REG_REGION
	 * charges it under either strategy) and the image once more (up front,
	 * LAUNCH_UPDATE_DATA charges its pages again while it runs).
	 */
	if (!r)
		r = sim_mm_set_memlock_limit(mm, guest + cfg->image + (1ULL << 20));
	if (!r)
		r = mmusim_vm_create(host, mm, &vc, &vm);
	if (!r)
		r = sim_mmap(mm, 0, guest, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &hva);
	if (!r) {
		mr.memory_size = guest;
		mr.userspace_addr = hva;
		r = mmusim_vm_set_user_memory_region(vm, &mr);
	}
	chunk = malloc(1 << 20);
	if (r || !chunk) {
		snprintf(res->err, sizeof(res->err), "setting up the VM: %d", r ?: -ENOMEM);
		goto out;
	}
	/* The image's contents: a pattern, generated before the clock starts. */
	for (off = 0; off < (1 << 20); off++)
		((uint8_t *)chunk)[off] = (uint8_t)(off * 7 + 1);
	mmusim_vm_get_stats(vm, &vs0);
	res->rss_start = proc_status_kb("VmRSS:");

	c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	t0 = now_ns();
	reg.addr = hva;
	reg.size = guest;
	r = mmusim_vm_memory_encrypt_reg_region(vm, &reg);
	if (r) {
		snprintf(res->err, sizeof(res->err), "REG_REGION of %llu MiB: %d",
			 (unsigned long long)(guest >> 20), r);
		goto out;
	}
	t1 = now_ns();
	for (off = 0; off < cfg->image && !r; off += 1 << 20)
		r = sim_mm_write(mm, hva + off, chunk, min_t(uint64_t, 1 << 20, cfg->image - off));
	if (r) {
		snprintf(res->err, sizeof(res->err), "loading the image: %d", r);
		goto out;
	}
	t2 = now_ns();
	r = launch(vm, hva, cfg->image, res->err, sizeof(res->err));
	if (r)
		goto out;
	t3 = now_ns();
	r = run_vcpus(vm, cfg, guest);
	if (r) {
		snprintf(res->err, sizeof(res->err), "guest accesses: %d", r);
		goto out;
	}
	res->total_ns = now_ns() - t0;
	res->cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
	res->reg_ns = t1 - t0;
	res->load_ns = t2 - t1;
	res->launch_ns = t3 - t2;
	res->run_ns = res->total_ns - (t3 - t0);
	res->peak_rss = proc_status_kb("VmHWM:");
	mmusim_vm_get_stats(vm, &vs1);
	res->faults = vs1.pf_fixed - vs0.pf_fixed;
	if (!mmusim_vm_sev_get_stats(vm, &ss)) {
		res->pages_pinned = ss.pages_pinned;
		res->pins_taken = ss.pins_taken;
		res->pages_locked = ss.pages_locked;
	}
	if (!sim_host_get_stats(host, &hs))
		res->host_frames = hs.ram_pages - hs.free_pages;
	res->status = JOB_OK;
out:
	free(chunk);
	mmusim_vm_destroy(vm);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
	env_thread_unregister();
}

/* One boot in a forked child (fresh host and RSS), unless @no_fork. */
static void sb_run(const struct sev_boot_config *cfg, int pin, uint64_t guest,
		   struct sb_result *res)
{
	struct sb_result *shm;
	int status;
	pid_t pid;

	if (cfg->no_fork) {
		sb_boot(cfg, pin, guest, res);
		return;
	}
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(res, 0, sizeof(*res));
	res->status = JOB_FAILED;
	if (shm == MAP_FAILED) {
		snprintf(res->err, sizeof(res->err), "mmap: %s", strerror(errno));
		return;
	}
	*shm = *res;
	snprintf(shm->err, sizeof(shm->err), "the boot's process died");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		sb_boot(cfg, pin, guest, shm);
		_exit(0);
	}
	if (pid < 0)
		snprintf(shm->err, sizeof(shm->err), "fork: %s", strerror(errno));
	else if (waitpid(pid, &status, 0) == pid && WIFSIGNALED(status))
		snprintf(shm->err, sizeof(shm->err), "the boot's process was killed by signal %d",
			 WTERMSIG(status));
	*res = *shm;
	munmap(shm, sizeof(*shm));
}

static void sb_median(struct sb_point *p, struct sb_result *reps, int n)
{
	uint64_t v[SB_MAX_REPS];
	size_t f;
	int i, k;

	memset(&p->med, 0, sizeof(p->med));
	p->med.status = JOB_FAILED;
	p->nr_reps = 0;
	for (i = 0; i < n; i++) {
		if (reps[i].status == JOB_OK)
			reps[p->nr_reps++] = reps[i];
		else if (!p->med.err[0])
			snprintf(p->med.err, sizeof(p->med.err), "%s", reps[i].err);
	}
	if (!p->nr_reps)
		return;
	for (f = 0; f < SB_NR_U64; f++) {
		for (k = 0; k < p->nr_reps; k++)
			v[k] = ((uint64_t *)&reps[k])[f];
		((uint64_t *)&p->med)[f] = bench_median(v, p->nr_reps);
	}
	p->med.status = JOB_OK;
	p->med.err[0] = '\0';
}

/* Least squares t = a + b * GiB over the successful points of @pin. */
struct sb_fit {
	int n;
	double a_ms, b_ms_per_gib;
};

static struct sb_fit sb_fit(const struct sb_point *pts, int n, int pin, bool cpu)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, d;
	struct sb_fit fit = { 0 };
	int i;

	for (i = 0; i < n; i++) {
		double x = (double)pts[i].guest / (1ULL << 30);
		double y = (cpu ? pts[i].med.cpu_ns : pts[i].med.total_ns) / 1e6;

		if (pts[i].pin != pin || pts[i].med.status != JOB_OK)
			continue;
		fit.n++;
		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
	}
	d = fit.n * sxx - sx * sx;
	if (fit.n < 2 || d == 0) {
		fit.a_ms = fit.n ? sy / fit.n : NAN;
		fit.b_ms_per_gib = NAN;
		return fit;
	}
	fit.b_ms_per_gib = (fit.n * sxy - sx * sy) / d;
	fit.a_ms = (sy - fit.b_ms_per_gib * sx) / fit.n;
	return fit;
}

static double fit_at(const struct sb_fit *f, double gib)
{
	return f->a_ms + f->b_ms_per_gib * gib;
}

static void fmt_mib(char *buf, size_t size, uint64_t b)
{
	if (b >= (1ULL << 30) && !(b % (1ULL << 30)))
		snprintf(buf, size, "%lluG", (unsigned long long)(b >> 30));
	else
		snprintf(buf, size, "%lluM", (unsigned long long)(b >> 20));
}

static void print_table(FILE *f, const struct sev_boot_config *cfg, const struct sb_point *pts,
			int n, const struct sb_fit fit[NR_SEV_BOOT_PINS],
			const struct sb_fit cfit[NR_SEV_BOOT_PINS])
{
	char img[16], ws[16], g[16];
	double seed_fixed = seed_table[0][2] - SEED_DEMAND_MS_PER_GB * seed_table[0][0] / 1e3;
	int i, s;

	fmt_mib(img, sizeof(img), cfg->image);
	fmt_mib(ws, sizeof(ws), cfg->working_set);
	fprintf(f,
		"SEV boot: image %s (LAUNCH_UPDATE_DATA), working set %s%s, %d vCPU%s, "
		"median of %d, env=%s\n(machine: %s)\n",
		img, ws, cfg->memmap ? " + memmap (1/64 of RAM)" : "", cfg->nr_vcpus,
		cfg->nr_vcpus == 1 ? "" : "s", cfg->reps, bench_env(), bench_machine());
	fprintf(f, "  %-6s %-8s %9s %9s %9s %9s %9s %9s %10s %10s %10s %9s\n", "guest", "pinning",
		"total ms", "CPU ms", "REG ms", "load ms", "launch ms", "run ms", "pinned",
		"memlock", "peak RSS", "faults");
	for (i = 0; i < n; i++) {
		const struct sb_result *r = &pts[i].med;

		fmt_mib(g, sizeof(g), pts[i].guest);
		if (r->status != JOB_OK) {
			fprintf(f, "  %-6s %-8s failed: %s\n", g, strategy_names[pts[i].pin],
				r->err);
			continue;
		}
		fprintf(f,
			"  %-6s %-8s %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %10llu %7llu MiB %6llu MiB "
			"%9llu\n",
			g, strategy_names[pts[i].pin], r->total_ns / 1e6, r->cpu_ns / 1e6,
			r->reg_ns / 1e6, r->load_ns / 1e6, r->launch_ns / 1e6, r->run_ns / 1e6,
			(unsigned long long)r->pages_pinned,
			(unsigned long long)(r->pages_locked >> 8),
			(unsigned long long)(r->peak_rss >> 20), (unsigned long long)r->faults);
	}
	fprintf(f, "  least-squares fit, total ms = a + b * GiB:\n");
	for (s = 0; s < NR_SEV_BOOT_PINS; s++)
		if (fit[s].n)
			fprintf(f,
				"    %-8s b = %8.2f ms/GiB, a = %8.1f ms (%d points; seed: %.1f ms/GB)\n",
				strategy_names[s], fit[s].b_ms_per_gib, fit[s].a_ms, fit[s].n,
				s == SEV_BOOT_UPFRONT ? SEED_UP_MS_PER_GB : SEED_DEMAND_MS_PER_GB);
	/* The ratio needs a line for each strategy. */
	if (fit[0].n >= 2 && fit[1].n >= 2) {
		double up = fit_at(&fit[0], 192) / 1e3, dm = fit_at(&fit[1], 192) / 1e3;

		fprintf(f,
			"  EXTRAPOLATED to 192 GiB: up front %.2f s, demand %.2f s, ratio %.1fx "
			"(seed, measured: 24.56 s vs 6.80 s, 3.6x)\n",
			up, dm, up / dm);
		fprintf(f,
			"  EXTRAPOLATED, plus the seed's fixed guest boot (%.2f s, no guest kernel "
			"here): %.2f s vs %.2f s, %.2fx\n",
			seed_fixed, up + seed_fixed, dm + seed_fixed,
			(up + seed_fixed) / (dm + seed_fixed));
	}
	/* Wall time moves with the machine's other load; the process's CPU time less. */
	fprintf(f, "  the same fit of the boot's CPU time:\n");
	for (s = 0; s < NR_SEV_BOOT_PINS; s++)
		if (cfit[s].n)
			fprintf(f, "    %-8s b = %8.2f ms/GiB, a = %8.1f ms\n", strategy_names[s],
				cfit[s].b_ms_per_gib, cfit[s].a_ms);
	if (cfit[0].n >= 2 && cfit[1].n >= 2)
		fprintf(f,
			"  EXTRAPOLATED to 192 GiB from the CPU-time fits: %.2f s vs %.2f s, %.1fx\n",
			fit_at(&cfit[0], 192) / 1e3, fit_at(&cfit[1], 192) / 1e3,
			fit_at(&cfit[0], 192) / fit_at(&cfit[1], 192));
}

static int write_json(const char *path, const struct sev_boot_config *cfg,
		      const struct sb_point *pts, int n, const struct sb_fit fit[NR_SEV_BOOT_PINS],
		      const struct sb_fit cfit[NR_SEV_BOOT_PINS], const char *cmdline)
{
	FILE *f = fopen(path, "w");
	const char *c;
	unsigned int k;
	int i, s;

	if (!f)
		return -1;
	fprintf(f, "{\n  \"tool\": \"mmusim-bench\",\n  \"test\": \"sev-boot\",\n");
	fprintf(f, "  \"env\": \"%s\",\n  \"machine\": \"", bench_env());
	for (c = bench_machine(); *c; c++)
		fprintf(f, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
	fprintf(f, "\",\n  \"command\": \"");
	for (c = cmdline; *c; c++)
		fprintf(f, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
	fprintf(f,
		"\",\n  \"image_bytes\": %llu,\n  \"working_set_bytes\": %llu,\n"
		"  \"memmap\": %s,\n  \"vcpus\": %d,\n  \"reps\": %d,\n  \"results\": [",
		(unsigned long long)cfg->image, (unsigned long long)cfg->working_set,
		cfg->memmap ? "true" : "false", cfg->nr_vcpus, cfg->reps);
	for (i = 0; i < n; i++) {
		const struct sb_result *r = &pts[i].med;

		fprintf(f,
			"%s\n    {\"strategy\": \"%s\", \"guest_bytes\": %llu, \"status\": \"%s\", "
			"\"reps\": %d",
			i ? "," : "", strategy_names[pts[i].pin], (unsigned long long)pts[i].guest,
			r->status == JOB_OK ? "ok" : "failed", pts[i].nr_reps);
		if (r->status != JOB_OK) {
			fprintf(f, ", \"error\": \"");
			for (c = r->err; *c; c++)
				fprintf(f, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
			fprintf(f, "\"}");
			continue;
		}
		fprintf(f,
			",\n     \"total_ms\": %.3f, \"cpu_ms\": %.3f, \"reg_region_ms\": %.3f, \"load_ms\": %.3f, "
			"\"launch_ms\": %.3f, \"run_ms\": %.3f,\n     \"pages_pinned\": %llu, "
			"\"pins_taken\": %llu, \"memlock_bytes\": %llu, \"peak_rss_bytes\": %llu, "
			"\"rss_delta_bytes\": %llu, \"host_frames\": %llu, \"faults\": %llu}",
			r->total_ns / 1e6, r->cpu_ns / 1e6, r->reg_ns / 1e6, r->load_ns / 1e6,
			r->launch_ns / 1e6, r->run_ns / 1e6, (unsigned long long)r->pages_pinned,
			(unsigned long long)r->pins_taken,
			(unsigned long long)(r->pages_locked << 12),
			(unsigned long long)r->peak_rss,
			(unsigned long long)(r->peak_rss - min(r->peak_rss, r->rss_start)),
			(unsigned long long)r->host_frames, (unsigned long long)r->faults);
	}
	fprintf(f, "\n  ],\n  \"fit\": {");
	for (s = 0; s < NR_SEV_BOOT_PINS; s++) {
		fprintf(f, "%s\"%s\": {\"points\": %d, \"ms_per_gib\": ", s ? ", " : "",
			strategy_names[s], fit[s].n);
		bench_json_num(f, fit[s].b_ms_per_gib);
		fprintf(f, ", \"intercept_ms\": ");
		bench_json_num(f, fit[s].a_ms);
		fprintf(f, ", \"extrapolated_192g_s\": ");
		bench_json_num(f, fit_at(&fit[s], 192) / 1e3);
		fprintf(f, ", \"cpu_ms_per_gib\": ");
		bench_json_num(f, cfit[s].b_ms_per_gib);
		fprintf(f, ", \"cpu_intercept_ms\": ");
		bench_json_num(f, cfit[s].a_ms);
		fprintf(f, "}");
	}
	fprintf(f, "},\n  \"extrapolated_ratio_192g\": ");
	bench_json_num(f, fit_at(&fit[0], 192) / fit_at(&fit[1], 192));
	fprintf(f, ",\n  \"extrapolated_cpu_ratio_192g\": ");
	bench_json_num(f, fit_at(&cfit[0], 192) / fit_at(&cfit[1], 192));
	fprintf(f,
		",\n  \"seed\": {\"source\": \"Nikunj A Dadhania, [PATCH RFC v1 0/9] KVM: "
		"SVM: Defer page pinning for SEV guests, 2022-03-08\", \"upfront_ms_per_gb\": "
		"%.1f, \"demand_ms_per_gb\": %.1f, \"ratio_192g\": 3.6, \"table\": [",
		SEED_UP_MS_PER_GB, SEED_DEMAND_MS_PER_GB);
	for (k = 0; k < SEED_POINTS; k++)
		fprintf(f, "%s{\"gb\": %.0f, \"upfront_s\": %.2f, \"demand_s\": %.2f}",
			k ? ", " : "", seed_table[k][0], seed_table[k][1], seed_table[k][2]);
	fprintf(f, "]}\n}\n");
	return fclose(f);
}

/*
 * Two panels: the measured points with their fits, and the fits carried to
 * the seed's sizes (plus the seed's fixed boot) beside the seed's table.
 */
static int plot(const char *png, const struct sev_boot_config *cfg, const struct sb_point *pts,
		int n, const struct sb_fit fit[NR_SEV_BOOT_PINS],
		const struct sb_fit cfit[NR_SEV_BOOT_PINS])
{
	double seed_fixed = seed_table[0][2] - SEED_DEMAND_MS_PER_GB * seed_table[0][0] / 1e3;
	char dat[4096], sdat[4096], gp[4096], img[16], ws[16];
	const char *dot = strrchr(png, '.');
	int len = dot && !strchr(dot, '/') ? (int)(dot - png) : (int)strlen(png);
	unsigned int k;
	int i, s;
	FILE *f;

	snprintf(dat, sizeof(dat), "%.*s.dat", len, png);
	snprintf(sdat, sizeof(sdat), "%.*s-seed.dat", len, png);
	snprintf(gp, sizeof(gp), "%.*s.gp", len, png);
	f = fopen(dat, "w");
	if (!f)
		return -1;
	fprintf(f, "# GiB  upfront_ms  demand_ms  upfront_cpu_ms  demand_cpu_ms (medians; ? = "
		   "failed)\n");
	for (i = 0; i < n; i++) {
		if (i && pts[i - 1].guest == pts[i].guest)
			continue;
		fprintf(f, "%.4f", (double)pts[i].guest / (1ULL << 30));
		for (s = 0; s < 2 * NR_SEV_BOOT_PINS; s++) {
			int j;

			for (j = 0; j < n; j++)
				if (pts[j].pin == s % NR_SEV_BOOT_PINS &&
				    pts[j].guest == pts[i].guest)
					break;
			if (j < n && pts[j].med.status == JOB_OK)
				fprintf(f, " %.3f",
					(s < NR_SEV_BOOT_PINS ? pts[j].med.total_ns :
								pts[j].med.cpu_ns) /
						1e6);
			else
				fprintf(f, " ?");
		}
		fprintf(f, "\n");
	}
	fclose(f);
	f = fopen(sdat, "w");
	if (!f)
		return -1;
	fprintf(f, "# GB  seed_upfront_s  seed_demand_s  mmusim_cpu_fit_upfront_s+fixed  "
		   "mmusim_cpu_fit_demand_s+fixed\n");
	for (k = 0; k < SEED_POINTS; k++)
		fprintf(f, "%.0f %.2f %.2f %.3f %.3f\n", seed_table[k][0], seed_table[k][1],
			seed_table[k][2], fit_at(&cfit[0], seed_table[k][0]) / 1e3 + seed_fixed,
			fit_at(&cfit[1], seed_table[k][0]) / 1e3 + seed_fixed);
	fclose(f);

	fmt_mib(img, sizeof(img), cfg->image);
	fmt_mib(ws, sizeof(ws), cfg->working_set);
	f = fopen(gp, "w");
	if (!f)
		return -1;
	fprintf(f, "set terminal pngcairo size 1100,460 font 'sans,10'\n");
	fprintf(f, "set output '%s'\nset datafile missing '?'\nset grid\nset key top left\n", png);
	fprintf(f,
		"set multiplot layout 1,2 title \"mmusim SEV boot: up-front vs demand pinning "
		"(image %s, working set %s%s, env=%s)\\n%s\"\n",
		img, ws, cfg->memmap ? " + memmap" : "", bench_env(), bench_machine());
	fprintf(f, "set title 'measured (median of %d) and least-squares fits'\n", cfg->reps);
	fprintf(f, "set xlabel 'guest GiB'\nset ylabel 'boot ms'\nset xrange [0:*]\n"
		   "set yrange [0:*]\n");
	fprintf(f,
		"plot '%s' using 1:2 with points pt 7 ps 1.3 title 'up front (REG\\_REGION pins "
		"all)', %g + %g * x with lines dt 2 lc 1 title 'fit: %.1f ms/GiB', "
		"'%s' using 1:3 with points pt 5 ps 1.3 lc 2 title 'demand (faults pin)', "
		"%g + %g * x with lines dt 2 lc 2 title 'fit: %.1f ms/GiB', "
		"'%s' using 1:4 with points pt 6 ps 1.3 lc 1 title 'up front, CPU time', "
		"%g + %g * x with lines dt 3 lc 1 title 'CPU fit: %.1f ms/GiB', "
		"'%s' using 1:5 with points pt 4 ps 1.3 lc 2 title 'demand, CPU time', "
		"%g + %g * x with lines dt 3 lc 2 title 'CPU fit: %.1f ms/GiB'\n",
		dat, fit[0].a_ms, fit[0].b_ms_per_gib, fit[0].b_ms_per_gib, dat, fit[1].a_ms,
		fit[1].b_ms_per_gib, fit[1].b_ms_per_gib, dat, cfit[0].a_ms, cfit[0].b_ms_per_gib,
		cfit[0].b_ms_per_gib, dat, cfit[1].a_ms, cfit[1].b_ms_per_gib,
		cfit[1].b_ms_per_gib);
	fprintf(f,
		"set title \"seed vs mmusim CPU fits EXTRAPOLATED (+ seed's %.2f s fixed boot)\"\n",
		seed_fixed);
	fprintf(f, "set xlabel 'guest GB'\nset ylabel 'boot s'\nset xrange [0:200]\n");
	fprintf(f,
		"plot '%s' using 1:2 with linespoints pt 7 lc 1 title 'seed: up front', "
		"'%s' using 1:3 with linespoints pt 5 lc 2 title 'seed: demand', "
		"'%s' using 1:4 with lines dt 2 lc 1 title 'mmusim up front, extrapolated', "
		"'%s' using 1:5 with lines dt 2 lc 2 title 'mmusim demand, extrapolated'\n",
		sdat, sdat, sdat, sdat);
	fprintf(f, "unset multiplot\n");
	fclose(f);

	return bench_gnuplot(gp);
}

int bench_sev_boot(const struct sev_boot_config *cfg, const char *json, const char *png,
		   const char *cmdline)
{
	static struct sb_point pts[2 * BENCH_MAX_SIZES];
	static struct sb_result reps[SB_MAX_REPS];
	struct sb_fit fit[NR_SEV_BOOT_PINS], cfit[NR_SEV_BOOT_PINS];
	int i, s, k, n = 0, failed = 0;

	for (i = 0; i < cfg->nr_sizes; i++) {
		for (s = 0; s < NR_SEV_BOOT_PINS; s++) {
			struct sb_point *p = &pts[n];

			if (!(cfg->pins & (1 << s)))
				continue;
			n++;
			p->pin = s;
			p->guest = cfg->sizes[i];
			for (k = 0; k < cfg->reps; k++) {
				sb_run(cfg, s, p->guest, &reps[k]);
				if (reps[k].status != JOB_OK)
					fprintf(stderr,
						"mmusim-bench: sev-boot %llu MiB %s, rep %d: %s\n",
						(unsigned long long)(p->guest >> 20),
						strategy_names[s], k + 1, reps[k].err);
			}
			sb_median(p, reps, cfg->reps);
			if (p->med.status != JOB_OK)
				failed++;
		}
	}
	for (s = 0; s < NR_SEV_BOOT_PINS; s++) {
		fit[s] = sb_fit(pts, n, s, false);
		cfit[s] = sb_fit(pts, n, s, true);
	}
	print_table(stdout, cfg, pts, n, fit, cfit);
	if (json && write_json(json, cfg, pts, n, fit, cfit, cmdline)) {
		fprintf(stderr, "mmusim-bench: writing %s failed\n", json);
		failed++;
	}
	if (png && plot(png, cfg, pts, n, fit, cfit)) {
		fprintf(stderr, "mmusim-bench: plotting %s failed (is gnuplot installed?)\n", png);
		failed++;
	}
	return failed;
}
