// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmusim.ko's debugfs interface: the simulator used from userspace inside a
 * real kernel, not only tested there.  A program (a shell is enough) writes
 * one command to /sys/kernel/debug/mmusim/run and reads the result back:
 *
 *	faults [vcpus=N] [pages=N] [mmu=tdp|legacy]
 *		the fault benchmark of mmusim-bench -t fault (bench/bench_faults.c)
 *		on a fresh host and VM: one memslot at GPA 0 of vcpus * pages 4K
 *		pages (private anonymous, 4K backing), vCPU i owning pages
 *		[i * pages, (i + 1) * pages); a "cold" pass writes every page once
 *		(each access takes the full TDP fault path), a "populated" pass
 *		writes them again (TLB miss and walk, no fault), both in chunks of
 *		4096 pages through mmusim_vcpu_access_range() as the userspace
 *		benchmark does, each vCPU on its own kthread.  A phase is timed
 *		from the first vCPU's start to the last one's end, all threads
 *		created and parked first.  Then the invariant checker runs.  The
 *		VM stays until the next "faults", "destroy" or rmmod, so "check"
 *		can look at it again.  Defaults: vcpus=1 pages=4096 mmu=tdp.
 *	check	mmusim_vm_check() on that VM
 *	destroy	frees it
 *	scenario NAME
 *		runs the self-test NAME (src/selftest/registry.h; the file
 *		"scenarios" lists them) in the writer's context, with the
 *		runner's checks (mmusim_selftest_run_one())
 *
 * The result is "key=value" lines; the names of the fault figures are
 * mmusim-bench's JSON keys (cold_faults_per_s, ...), so the in-kernel and
 * userspace runs of one configuration compare line by line
 * (docs/benchmarks.md).  A command that cannot be parsed (unknown word or
 * key, a value out of range, more than 255 bytes) is -EINVAL from write(2)
 * and leaves the previous result; one that runs and fails (no memory, the
 * checker finds a violation, a failing scenario) returns its errno and its
 * result says why ("error=..." or "check=...").
 *
 * Locks: dbg_lock (a mutex) serialises every command and every read of the
 * result; it owns the kept VM and the result buffer.  A command runs in the
 * writer's process context: the vCPU kthreads (env_thread_start()) share
 * its address space, as do the self-tests' user buffers (st_ubuf).
 * debugfs_remove_recursive() at unload waits for handlers still running, so
 * the kept VM is freed after the last command.
 */
#define pr_fmt(fmt) fmt

#include <linux/mm.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "mmusim_env.h"
#include <mmusim/host.h>
#include <mmusim/vm.h>
#include "selftest/selftest.h"
#include "mmusim_debugfs.h"

#define DBG_CMD_MAX 256 /* longest command, with its newline */
#define DBG_RESULT_SIZE 2048
#define DBG_MAX_VCPUS 8
#define DBG_CHUNK_PAGES 4096ULL /* mmusim-bench's CHUNK_PAGES */
#define DBG_SLACK (16ULL << 20) /* host RAM beyond the guest's: zero page, tables */

static DEFINE_MUTEX(dbg_lock);
static struct dentry *dbg_dir;

/* What dbg_lock protects. */
static struct {
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	char result[DBG_RESULT_SIZE];
	size_t len;
} dbg;

static __printf(1, 2) void dbg_out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dbg.len += vscnprintf(dbg.result + dbg.len, sizeof(dbg.result) - dbg.len, fmt, ap);
	va_end(ap);
}

static void dbg_destroy_vm(void)
{
	mmusim_vm_destroy(dbg.vm);
	sim_mm_destroy(dbg.mm);
	sim_host_destroy(dbg.host);
	dbg.vm = NULL;
	dbg.mm = NULL;
	dbg.host = NULL;
}

/* ======================== the fault benchmark ======================== */

struct dbg_vcpu {
	struct mmusim_vcpu *vcpu;
	struct completion *go;
	gpa_t gpa;
	u64 npages;
	u64 t_start, t_end;
};

/* One pass over the vCPU's pages, writing, as mmusim-bench's run_pass(). */
static int dbg_vcpu_fn(void *arg)
{
	struct dbg_vcpu *c = arg;
	u64 i, k;

	wait_for_completion(c->go);
	c->t_start = ktime_get_ns();
	for (i = 0; i < c->npages; i += k) {
		long r;

		k = min_t(u64, DBG_CHUNK_PAGES, c->npages - i);
		r = mmusim_vcpu_access_range(c->vcpu, c->gpa + (i << PAGE_SHIFT), k, 0,
					     MMUSIM_ACCESS_WRITE, NULL);
		if (r != (long)k)
			return r < 0 ? (int)r : -EFAULT; /* an exit: the slot covers it all */
		cond_resched();
	}
	c->t_end = ktime_get_ns();
	return 0;
}

/*
 * Runs one pass on every vCPU at once: the threads are started parked on
 * @go, released together, joined.  Returns the wall time (first start to
 * last end) in *@ns, or the first vCPU error.
 */
static int dbg_phase(struct dbg_vcpu *vc, int nr, u64 *ns)
{
	struct env_thread *t[DBG_MAX_VCPUS];
	DECLARE_COMPLETION_ONSTACK(go);
	u64 first = U64_MAX, last = 0;
	int i, started, r, err = 0;

	for (started = 0; started < nr; started++) {
		vc[started].go = &go;
		t[started] = env_thread_start(dbg_vcpu_fn, &vc[started], "dbgfs-vcpu");
		if (!t[started]) {
			err = -ENOMEM;
			break;
		}
	}
	complete_all(&go);
	for (i = 0; i < started; i++) {
		r = env_thread_join(t[i]);
		if (r && !err)
			err = r;
	}
	if (err)
		return err;
	for (i = 0; i < nr; i++) {
		first = min(first, vc[i].t_start);
		last = max(last, vc[i].t_end);
	}
	*ns = last - first;
	return 0;
}

static u64 dbg_rate(u64 count, u64 ns)
{
	return ns ? div64_u64(count * NSEC_PER_SEC, ns) : 0;
}

/* Creates the host, mm, VM and memslot of a run in dbg; unwinds on error. */
static int dbg_create_vm(int nr_vcpus, u64 pages, int mmu)
{
	u64 bytes = (u64)nr_vcpus * pages << PAGE_SHIFT;
	struct sim_host_config hc = { .mem_bytes = bytes + DBG_SLACK };
	struct mmusim_vm_config vc = { .nr_vcpus = nr_vcpus, .mmu = mmu };
	struct kvm_userspace_memory_region mr = { .memory_size = bytes };
	hva_t hva;
	int r;

	r = sim_host_create(&hc, &dbg.host);
	if (!r)
		r = sim_mm_create(dbg.host, &dbg.mm);
	if (!r)
		r = mmusim_vm_create(dbg.host, dbg.mm, &vc, &dbg.vm);
	if (!r)
		r = sim_mmap(dbg.mm, 0, bytes, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE,
			     &hva);
	if (!r) {
		mr.userspace_addr = hva;
		r = st_vm_set_region(dbg.vm, &mr); /* the region is user memory */
	}
	if (r)
		dbg_destroy_vm();
	return r;
}

static int dbg_check(void)
{
	char msg[160] = "";
	int r = mmusim_vm_check(dbg.vm, msg, sizeof(msg));

	if (r)
		dbg_out("check=%d %s\n", r, msg);
	else
		dbg_out("check=ok\n");
	return r;
}

static int dbg_faults(int nr_vcpus, u64 pages, int mmu)
{
	struct mmusim_vm_stats s0, s1, s2;
	struct dbg_vcpu *vc;
	u64 cold_ns, warm_ns;
	int i, r;

	dbg_destroy_vm();
	dbg_out("faults vcpus=%d pages=%llu mmu=%s\n", nr_vcpus, pages,
		mmu == MMUSIM_MMU_LEGACY ? "legacy" : "tdp");
	r = dbg_create_vm(nr_vcpus, pages, mmu);
	if (r) {
		dbg_out("error=%d creating the host and VM\n", r);
		return r;
	}
	vc = kcalloc(nr_vcpus, sizeof(*vc), GFP_KERNEL);
	if (!vc) {
		dbg_out("error=%d\n", -ENOMEM);
		dbg_destroy_vm();
		return -ENOMEM;
	}
	for (i = 0; i < nr_vcpus; i++) {
		vc[i].vcpu = mmusim_vm_vcpu(dbg.vm, i);
		vc[i].gpa = ((u64)i * pages) << PAGE_SHIFT;
		vc[i].npages = pages;
	}
	mmusim_vm_get_stats(dbg.vm, &s0);
	r = dbg_phase(vc, nr_vcpus, &cold_ns);
	mmusim_vm_get_stats(dbg.vm, &s1);
	if (!r)
		r = dbg_phase(vc, nr_vcpus, &warm_ns);
	mmusim_vm_get_stats(dbg.vm, &s2);
	kfree(vc);
	if (r) {
		dbg_out("error=%d in a vCPU's pass\n", r);
		dbg_destroy_vm();
		return r;
	}
	dbg_out("cold_faults=%llu\ncold_wall_ns=%llu\ncold_faults_per_s=%llu\n",
		s1.pf_fixed - s0.pf_fixed, cold_ns, dbg_rate(s1.pf_fixed - s0.pf_fixed, cold_ns));
	dbg_out("populated_accesses=%llu\npopulated_faults=%llu\npopulated_wall_ns=%llu\n"
		"populated_accesses_per_s=%llu\n",
		s2.accesses - s1.accesses, s2.pf_fixed - s1.pf_fixed, warm_ns,
		dbg_rate(s2.accesses - s1.accesses, warm_ns));
	return dbg_check();
}

/* ======================== scenarios (the self-tests) ======================== */

static const struct mmusim_selftest *dbg_find_test(const char *name)
{
	unsigned int i;

	for (i = 0; i < mmusim_nr_selftests; i++)
		if (!strcmp(mmusim_selftests[i].name, name))
			return &mmusim_selftests[i];
	return NULL;
}

static int dbg_scenario(const struct mmusim_selftest *st, u64 seed)
{
	struct st_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	u64 t0 = ktime_get_ns();
	int rc;

	if (!ctx)
		return -ENOMEM;
	ctx->nr_threads = 1;
	ctx->seed = seed;
	rc = mmusim_selftest_run_one(st, ctx);
	dbg_out("scenario=%s\nseed=%llu\nns=%llu\n", st->name, seed, ktime_get_ns() - t0);
	if (rc == ST_PASS)
		dbg_out("result=ok\n");
	else if (rc == ST_SKIP)
		dbg_out("result=skip %s\n", ctx->msg);
	else
		dbg_out("result=fail %s:%d: %s\n", ctx->file ? kbasename(ctx->file) : "?",
			ctx->line, ctx->msg);
	kfree(ctx);
	return rc == ST_FAIL ? -EIO : 0;
}

/* ======================== the command line ======================== */

/* "key=value" with @key: the value in *@val, else NULL. */
static const char *dbg_arg(const char *tok, const char *key)
{
	size_t n = strlen(key);

	return !strncmp(tok, key, n) && tok[n] == '=' ? tok + n + 1 : NULL;
}

static char *dbg_next(char **s)
{
	char *tok;

	do
		tok = strsep(s, " \t");
	while (tok && !*tok);
	return tok;
}

/*
 * Parses and runs @line (NUL-terminated, newline stripped).  -EINVAL before
 * anything ran for a bad command; otherwise the command's result.
 */
static int dbg_command(char *line)
{
	const struct mmusim_selftest *st = NULL;
	char *cmd = dbg_next(&line), *tok;
	unsigned int vcpus = 1;
	u64 pages = 4096, seed = 0, max_pages;
	int mmu = MMUSIM_MMU_TDP;
	const char *v;

	if (!cmd)
		return -EINVAL;
	if (!strcmp(cmd, "faults")) {
		while ((tok = dbg_next(&line))) {
			if ((v = dbg_arg(tok, "vcpus"))) {
				if (kstrtouint(v, 0, &vcpus) || !vcpus || vcpus > DBG_MAX_VCPUS)
					return -EINVAL;
			} else if ((v = dbg_arg(tok, "pages"))) {
				if (kstrtou64(v, 0, &pages) || !pages)
					return -EINVAL;
			} else if ((v = dbg_arg(tok, "mmu"))) {
				if (!strcmp(v, "tdp"))
					mmu = MMUSIM_MMU_TDP;
				else if (!strcmp(v, "legacy"))
					mmu = MMUSIM_MMU_LEGACY;
				else
					return -EINVAL;
			} else {
				return -EINVAL;
			}
		}
		/* The host's RAM is one vmalloc of at most vreserve_max_mb. */
		max_pages = ((u64)READ_ONCE(env_vreserve_max_mb) << (20 - PAGE_SHIFT)) -
			    (DBG_SLACK >> PAGE_SHIFT);
		if (pages > max_pages / vcpus)
			return -EINVAL;
	} else if (!strcmp(cmd, "scenario")) {
		tok = dbg_next(&line);
		st = tok ? dbg_find_test(tok) : NULL;
		if (!st)
			return -EINVAL;
		while ((tok = dbg_next(&line))) {
			if (!(v = dbg_arg(tok, "seed")) || kstrtou64(v, 0, &seed))
				return -EINVAL;
		}
	} else if (!strcmp(cmd, "check") || !strcmp(cmd, "destroy")) {
		if (dbg_next(&line))
			return -EINVAL;
	} else {
		return -EINVAL;
	}

	dbg.len = 0;
	dbg.result[0] = '\0';
	if (!strcmp(cmd, "faults"))
		return dbg_faults(vcpus, pages, mmu);
	if (st)
		return dbg_scenario(st, seed ?: ktime_get_ns());
	if (!strcmp(cmd, "destroy")) {
		dbg_out("destroyed=%d\n", !!dbg.vm);
		dbg_destroy_vm();
		return 0;
	}
	if (!dbg.vm) {
		dbg_out("check=%d no VM (run \"faults\" first)\n", -ENOENT);
		return -ENOENT;
	}
	return dbg_check();
}

static ssize_t dbg_run_write(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
	size_t len;
	char *line;
	int r;

	if (!count || count >= DBG_CMD_MAX)
		return -EINVAL;
	line = memdup_user_nul(ubuf, count);
	if (IS_ERR(line))
		return PTR_ERR(line);
	len = count;
	if (line[len - 1] == '\n')
		line[--len] = '\0';
	/* One command per write, and no NUL inside it to cut it short. */
	if (strlen(line) != len || strchr(line, '\n')) {
		kfree(line);
		return -EINVAL;
	}
	r = mutex_lock_interruptible(&dbg_lock);
	if (!r) {
		r = dbg_command(line);
		mutex_unlock(&dbg_lock);
	}
	kfree(line);
	return r ? r : (ssize_t)count;
}

static ssize_t dbg_run_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	ssize_t r;

	if (mutex_lock_interruptible(&dbg_lock))
		return -EINTR;
	r = simple_read_from_buffer(ubuf, count, ppos, dbg.result, dbg.len);
	mutex_unlock(&dbg_lock);
	return r;
}

static const struct file_operations dbg_run_fops = {
	.owner = THIS_MODULE,
	.read = dbg_run_read,
	.write = dbg_run_write,
	.llseek = default_llseek,
};

static int dbg_scenarios_show(struct seq_file *m, void *unused)
{
	unsigned int i;

	for (i = 0; i < mmusim_nr_selftests; i++)
		seq_printf(m, "%s\n", mmusim_selftests[i].name);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dbg_scenarios);

/*
 * debugfs failures are not the module's: without debugfs the module still
 * loads (and the files are simply absent), as the debugfs API intends.
 */
void mmusim_debugfs_init(void)
{
	dbg_dir = debugfs_create_dir("mmusim", NULL);
	debugfs_create_file("run", 0600, dbg_dir, NULL, &dbg_run_fops);
	debugfs_create_file("scenarios", 0400, dbg_dir, NULL, &dbg_scenarios_fops);
}

void mmusim_debugfs_exit(void)
{
	debugfs_remove_recursive(dbg_dir); /* waits for running handlers */
	dbg_destroy_vm();
}
