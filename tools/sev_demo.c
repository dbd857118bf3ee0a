// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmusim sev-demo: why SEV memory is pinned.  An SEV guest writes 16 MiB,
 * the host then runs a migration pass over all of guest RAM (as compaction
 * or NUMA balancing would), and the guest reads its data back, once per
 * pinning strategy: up-front REG_REGION (6.12), Sean's pinned SPTEs,
 * Nikunj's memslot demand pinning, and pinning deliberately off.  Pinned
 * pages stay where their ciphertext was written; with pinning off the host
 * moves them and the guest decrypts garbage, which the encryption checker
 * reports page by page.  Then the same again with a VMM fork instead of
 * the migration pass: the guest rewrites each page's last word while the
 * child lives, and every page fork shared copy-on-write is copied away from
 * its ciphertext's frame (pinned pages are copied for the child instead).
 * Not core code: libc is fine here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmusim_env.h"
#include <mmusim/host.h>
#include <mmusim/sev.h>
#include <mmusim/vm.h>

#define MiB (1ULL << 20)
#define GUEST_SIZE (64 * MiB)
#define WRITTEN (16 * MiB)
#define PAGE 4096ULL

struct sev_demo_row {
	const char *name;
	enum mmusim_sev_pin_strategy strategy;
	bool reg_region;
	bool expect_loss;
	bool expect_fork_loss;
};

/*
 * The SPTE design loses to a fork: its pin is a page reference, which fork
 * does not treat as a pin (docs/sev.md), and its refault WARNs at the new pfn.
 */
static const struct sev_demo_row rows[] = {
	{ "up-front (REG_REGION, 6.12)", MMUSIM_SEV_PIN_UPFRONT, true, false, false },
	{ "pinned SPTEs (Sean's RFC)", MMUSIM_SEV_PIN_SPTE, false, false, true },
	{ "memslot demand pinning (Nikunj)", MMUSIM_SEV_PIN_MEMSLOT, true, false, false },
	{ "pinning deliberately off", MMUSIM_SEV_PIN_OFF, true, true, true },
};

static u64 pattern(u64 page, u64 word)
{
	return (page << 32) ^ (word * 0x9e3779b97f4a7c15ULL) ^ 0x5345562d44454d4fULL;
}

/*
 * One row: 0 if its outcome is the expected one, else 1; -errno on a setup
 * failure.  @fork: a VMM fork and a guest write per page instead of the
 * migration pass ("moved" counts the COW breaks then).
 */
static int sev_demo_row(const struct sev_demo_row *row, bool fork, bool *shown)
{
	bool expect_loss = fork ? row->expect_fork_loss : row->expect_loss;
	unsigned long warns = env_warn_count();
	u64 checked = fork ? PAGE / 8 - 1 : PAGE / 8;
	struct sim_host_stats hs = { 0 };
	struct sim_mm *child = NULL;
	struct sim_host_config hc = { .mem_bytes = 256 * MiB };
	struct mmusim_vm_config cfg = { .sev = true, .sev_pin = row->strategy };
	struct kvm_userspace_memory_region rg = { .memory_size = GUEST_SIZE };
	u64 buf[PAGE / 8], page, w, moved = 0, lost = 0;
	struct mmusim_sev_stats st = { 0 };
	struct mmusim_vcpu *vcpu;
	struct sim_host *host = NULL;
	struct mmusim_vm *vm = NULL;
	struct sim_mm *mm = NULL;
	char msg[256];
	long reports;
	hva_t hva;
	int r;

	r = sim_host_create(&hc, &host);
	if (!r)
		r = sim_mm_create(host, &mm);
	if (!r)
		r = sim_mm_set_cap_ipc_lock(mm, true); /* the whole guest may be pinned */
	if (!r)
		r = mmusim_vm_create(host, mm, &cfg, &vm);
	if (!r)
		r = sim_mmap(mm, 0, GUEST_SIZE, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &hva);
	if (!r) {
		rg.userspace_addr = hva;
		r = mmusim_vm_set_user_memory_region(vm, &rg);
	}
	if (!r && row->reg_region) {
		struct kvm_enc_region enc = { .addr = hva, .size = GUEST_SIZE };

		r = mmusim_vm_memory_encrypt_reg_region(vm, &enc);
	}
	vcpu = vm ? mmusim_vm_vcpu(vm, 0) : NULL;
	for (page = 0; !r && page < WRITTEN / PAGE; page++) {
		for (w = 0; w < PAGE / 8; w++)
			buf[w] = pattern(page, w);
		r = mmusim_vcpu_write(vcpu, page * PAGE, buf, PAGE);
	}
	if (!r && fork) {
		u64 before;

		r = sim_host_get_stats(host, &hs);
		before = hs.cow_breaks; /* a REG_REGION pin unshares the zero page: COWs too */
		if (!r)
			r = sim_mm_fork(mm, &child);
		for (page = 0; !r && page < WRITTEN / PAGE; page++) {
			w = ~pattern(page, PAGE / 8 - 1);
			r = mmusim_vcpu_write(vcpu, page * PAGE + PAGE - 8, &w, 8);
		}
		if (!r)
			r = sim_host_get_stats(host, &hs);
		moved = hs.cow_breaks - before;
	} else if (!r) {
		/* -EBUSY: some pages could not be moved (pinned), the others were. */
		r = sim_migrate_range(mm, hva, GUEST_SIZE, &moved);
		if (r == -EBUSY)
			r = 0;
	}
	for (page = 0; !r && page < WRITTEN / PAGE; page++) {
		r = mmusim_vcpu_read(vcpu, page * PAGE, buf, PAGE);
		for (w = 0; !r && w < checked; w++) {
			if (buf[w] != pattern(page, w)) {
				lost++;
				break;
			}
		}
	}
	if (!r)
		r = mmusim_vm_sev_get_stats(vm, &st);
	if (r) {
		fprintf(stderr, "sev-demo: %s: %s\n", row->name, strerror(-r));
	} else {
		reports = mmusim_vm_sev_get_reports(vm, NULL, 0);
		printf("  %-33s %9llu %9llu %9llu %9llu %9ld\n", row->name,
		       (unsigned long long)st.pages_pinned, (unsigned long long)st.pages_locked,
		       (unsigned long long)moved, (unsigned long long)lost, reports);
		if (reports && !*shown && mmusim_vm_sev_check(vm, msg, sizeof(msg))) {
			printf("    first report: %s\n", msg);
			*shown = true;
		}
		r = (lost > 0) != expect_loss || (reports > 0) != expect_loss;
		/* The RFC's own check: the refault of a zapped-pinned leaf found another pfn. */
		if (fork && row->strategy == MMUSIM_SEV_PIN_SPTE && env_warn_count() != warns) {
			printf("    (the RFC's WARN fired: the refault found another pfn)\n");
			env_warn_count_reset();
		}
	}
	sim_mm_destroy(child);
	mmusim_vm_destroy(vm);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
	return r;
}

int cmd_sev_demo(int argc, char **argv);
int cmd_no_options(int argc, char **argv); /* mmusim.c */

int cmd_sev_demo(int argc, char **argv)
{
	bool shown = false;
	unsigned int i;
	int r, bad = 0;
	int pass;

	r = cmd_no_options(argc, argv);
	if (r >= 0)
		return r;
	r = 0;
	printf("sev-demo: an SEV guest writes %llu MiB of its %llu MiB, the host migrates every\n"
	       "page it can, the guest reads back.  SEV encrypts by physical address, so a\n"
	       "moved page decrypts to garbage (docs/sev.md).\n\n",
	       WRITTEN / MiB, GUEST_SIZE / MiB);
	for (pass = 0; pass < 2 && r >= 0; pass++) {
		if (pass)
			printf("\nThe same, but the VMM forks and the guest rewrites each page's last word\n"
			       "while the child lives: fork shares unpinned pages copy-on-write, and\n"
			       "the write copies them away (moved: COW breaks).\n\n");
		printf("  %-33s %9s %9s %9s %9s %9s\n", "strategy", "pinned", "memlock", "moved",
		       "lost", "reports");
		shown = false;
		for (i = 0; i < ARRAY_SIZE(rows) && r >= 0; i++) {
			fflush(stdout); /* a WARN on stderr lands after the rows before it */
			r = sev_demo_row(&rows[i], pass, &shown);
			if (r > 0)
				bad++;
		}
	}
	rcu_barrier();
	printf("\nsev-demo: %s; teardown: %ld live objects, %lu WARNs\n",
	       r < 0 || bad ? "FAILED (an outcome other than expected)" :
			      "ok (pinned data survived; unpinned data was lost and reported)",
	       env_live_objects(), env_warn_count());
	return r < 0 || bad || env_live_objects() || env_warn_count() ? 1 : 0;
}
