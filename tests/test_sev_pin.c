// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/sev/sev_pin.c, KVM's SEV side as 6.12.118 has it: the
 * KVM_MEMORY_ENCRYPT_OP dispatch and KVM_SEV_INIT, the up-front pinning of
 * KVM_MEMORY_ENCRYPT_REG_REGION with sev_pin_memory()'s errno rules and its
 * RLIMIT_MEMLOCK accounting, UNREG_REGION's exact match, flush and unpin,
 * VM destroy unpinning every region, the ASID pool, and failure injection
 * on every allocation of a registration.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include <mmusim/env.h>
#include <mmusim/host.h>
#include <mmusim/sev.h>
#include <mmusim/vm.h>

#define MiB (1ULL << 20)

static void sev_vm(struct test_vm *t, u64 size, bool sev)
{
	struct test_vm_opts o = { .host_mem = 64 * MiB, .size = size };

	o.cfg.sev = sev;
	o.cfg.sev_pin_write = true;
	test_vm_create(t, &o);
}

static u64 host_pinned(struct test_vm *t)
{
	struct sim_host_stats hs;

	assert_int_equal(sim_host_get_stats(t->host, &hs), 0);
	return hs.pinned_pages;
}

static int reg(struct test_vm *t, u64 addr, u64 size)
{
	struct kvm_enc_region r = { .addr = addr, .size = size };

	return mmusim_vm_memory_encrypt_reg_region(t->vm, &r);
}

static int unreg(struct test_vm *t, u64 addr, u64 size)
{
	struct kvm_enc_region r = { .addr = addr, .size = size };

	return mmusim_vm_memory_encrypt_unreg_region(t->vm, &r);
}

/* sev_pin_memory()'s errno rules, in 6.12.118's order; nothing stays behind. */
static void test_reg_region_errno(void **state)
{
	struct mmusim_sev_stats st;
	struct test_vm t, plain;
	void *bad = test_bad_ptr();

	sev_vm(&t, 4 * MiB, true);
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, NULL), -EFAULT);
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, bad), -EFAULT);
	assert_int_equal(reg(&t, t.hva, 0), -EINVAL);
	assert_int_equal(reg(&t, ~0ULL - PAGE_SIZE, 2 * PAGE_SIZE), -EINVAL); /* wraps */
	/* More than INT_MAX pages is -EINVAL before the rlimit is looked at. */
	assert_int_equal(reg(&t, 0, ((u64)INT_MAX + 1) << PAGE_SHIFT), -EINVAL);
	assert_int_equal(reg(&t, 0, (u64)INT_MAX << PAGE_SHIFT), -ENOMEM);
	/* A hole cannot be pinned: -ENOMEM, and the partial pin is undone. */
	assert_int_equal(reg(&t, t.hva + 3 * MiB, 2 * MiB), -ENOMEM);
	assert_int_equal(reg(&t, 0x100000000ULL, PAGE_SIZE), -ENOMEM);
	st = test_sev_stats(&t);
	assert_int_equal(st.pages_locked, 0);
	assert_int_equal(st.pages_pinned, 0);
	assert_int_equal(st.regions, 0);
	assert_int_equal(st.pins_taken, st.pins_dropped);
	assert_int_equal(host_pinned(&t), 0);

	sev_vm(&plain, 4 * MiB, false);
	assert_int_equal(reg(&plain, plain.hva, PAGE_SIZE), -ENOTTY);
	assert_int_equal(unreg(&plain, plain.hva, PAGE_SIZE), -ENOTTY);
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(plain.vm, bad), -EFAULT);
	test_vm_destroy(&plain);
	test_vm_destroy(&t);
}

/*
 * pages_locked is SEV's own RLIMIT_MEMLOCK charge: every page the range
 * touches (an unaligned range counts both ends), summed over regions,
 * -ENOMEM past the limit unless CAP_IPC_LOCK; mm->locked_vm is not used.
 */
static void test_rlimit_accounting(void **state)
{
	struct mmusim_sev_stats st;
	struct test_vm t;

	sev_vm(&t, 4 * MiB, true);
	assert_int_equal(sim_mm_set_memlock_limit(t.mm, 8 * PAGE_SIZE), 0);
	assert_int_equal(reg(&t, t.hva + 100, PAGE_SIZE), 0); /* 2 pages */
	assert_int_equal(test_sev_stats(&t).pages_locked, 2);
	assert_int_equal(reg(&t, t.hva + 4 * PAGE_SIZE, 6 * PAGE_SIZE), 0);
	assert_int_equal(test_sev_stats(&t).pages_locked, 8);
	assert_int_equal(reg(&t, t.hva + 16 * PAGE_SIZE, 1), -ENOMEM);
	assert_int_equal(test_sev_stats(&t).pages_locked, 8);
	assert_int_equal(sim_mm_locked_vm(t.mm), 0);
	/* The same range twice is two regions, charged twice. */
	assert_int_equal(sim_mm_set_cap_ipc_lock(t.mm, true), 0);
	assert_int_equal(reg(&t, t.hva + 100, PAGE_SIZE), 0);
	assert_int_equal(reg(&t, t.hva + MiB, MiB), 0);
	st = test_sev_stats(&t);
	assert_int_equal(st.pages_locked, 10 + 256);
	assert_int_equal(st.regions, 4);
	assert_int_equal(st.pages_pinned, 10 + 256);
	assert_int_equal(host_pinned(&t), 10 + 256);
	/* Each registration flushes its range. */
	assert_int_equal(st.clflush_pages, 10 + 256);
	assert_int_equal(sim_mm_set_cap_ipc_lock(t.mm, false), 0);

	/* Unregister: exact (addr, size) only, WBINVD, then unpin and uncharge. */
	assert_int_equal(unreg(&t, t.hva, PAGE_SIZE), -EINVAL);
	assert_int_equal(unreg(&t, t.hva + 100, PAGE_SIZE + 1), -EINVAL);
	assert_int_equal(unreg(&t, t.hva + 4 * PAGE_SIZE, 5 * PAGE_SIZE), -EINVAL);
	assert_int_equal(mmusim_vm_memory_encrypt_unreg_region(t.vm, NULL), -EFAULT);
	assert_int_equal(test_sev_stats(&t).wbinvd, 0);
	assert_int_equal(unreg(&t, t.hva + 100, PAGE_SIZE), 0);
	st = test_sev_stats(&t);
	assert_int_equal(st.wbinvd, 1);
	assert_int_equal(st.pages_locked, 8 + 256);
	assert_int_equal(st.regions, 3);
	assert_int_equal(unreg(&t, t.hva + 100, PAGE_SIZE), 0); /* the second one */
	assert_int_equal(unreg(&t, t.hva + 100, PAGE_SIZE), -EINVAL);
	assert_int_equal(unreg(&t, t.hva + MiB, MiB), 0);
	assert_int_equal(unreg(&t, t.hva + 4 * PAGE_SIZE, 6 * PAGE_SIZE), 0);
	st = test_sev_stats(&t);
	assert_int_equal(st.pages_locked, 0);
	assert_int_equal(st.pages_pinned, 0);
	assert_int_equal(st.pins_taken, st.pins_dropped);
	assert_int_equal(st.pins_taken, 10 + 256);
	assert_int_equal(host_pinned(&t), 0);
	/* Under the limit again: registration works without the capability. */
	assert_int_equal(reg(&t, t.hva, 8 * PAGE_SIZE), 0);
	test_vm_destroy(&t);
}

/* VM destroy: WBINVD, then every region still registered is unpinned. */
static void test_destroy_unpins(void **state)
{
	struct sim_host_stats hs;
	struct test_vm t;
	u8 buf[64] = { 1 };

	sev_vm(&t, 4 * MiB, true);
	assert_int_equal(sim_mm_set_cap_ipc_lock(t.mm, true), 0);
	assert_int_equal(reg(&t, t.hva, 2 * MiB), 0);
	assert_int_equal(reg(&t, t.hva + 2 * MiB, 2 * MiB), 0);
	assert_int_equal(mmusim_vcpu_write(mmusim_vm_vcpu(t.vm, 0), 0, buf, sizeof(buf)), 0);
	assert_int_equal(host_pinned(&t), 1024);
	mmusim_vm_destroy(t.vm);
	t.vm = NULL;
	assert_int_equal(sim_host_get_stats(t.host, &hs), 0);
	assert_int_equal(hs.pinned_pages, 0);
	/* The pages are the VMM's again: it can move them. */
	assert_int_equal(sim_migrate_page(t.mm, t.hva), 0);
	test_vm_destroy(&t);
}

/*
 * mmusim_vm_config.sev_pin: UPFRONT by default and in the stats; anything
 * else on a VM that is not SEV, or no strategy at all, -EINVAL; nothing
 * left behind by a refused create.
 */
static void test_pin_strategy_config(void **state)
{
	struct mmusim_vm_config cfg = { .sev_pin = MMUSIM_SEV_PIN_OFF };
	long fw = mmusim_sev_fw_guests();
	struct mmusim_vm *vm;
	struct test_vm t;

	sev_vm(&t, 2 * MiB, true);
	assert_int_equal(test_sev_stats(&t).pin_strategy, MMUSIM_SEV_PIN_UPFRONT);
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &cfg, &vm), -EINVAL);
	cfg.sev_pin = MMUSIM_SEV_PIN_SPTE;
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &cfg, &vm), -EINVAL);
	cfg.sev = true;
	cfg.sev_pin = MMUSIM_SEV_PIN_MEMSLOT;
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &cfg, &vm), 0);
	mmusim_vm_destroy(vm);
	cfg.sev_pin = (enum mmusim_sev_pin_strategy)(MMUSIM_SEV_PIN_OFF + 1);
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &cfg, &vm), -EINVAL);
	cfg.sev_pin = MMUSIM_SEV_PIN_OFF;
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &cfg, &vm), 0);
	mmusim_vm_destroy(vm);
	assert_int_equal(mmusim_sev_fw_guests(), fw);
	test_vm_destroy(&t);
}

/*
 * MMUSIM_SEV_PIN_OFF, the broken kernel of the demo: REG_REGION charges
 * RLIMIT_MEMLOCK and lists the region but pins nothing, so the host moves
 * the guest's page and the checker reports the loss; UNREG uncharges.
 */
static void test_pin_strategy_off(void **state)
{
	struct test_vm_opts o = { .host_mem = 64 * MiB, .size = 2 * MiB };
	struct mmusim_sev_report rep;
	struct mmusim_sev_stats st;
	struct test_vm t;
	u64 v = 0x5eed, moved;

	o.cfg.sev = true;
	o.cfg.sev_pin = MMUSIM_SEV_PIN_OFF;
	test_vm_create(&t, &o);
	assert_int_equal(sim_mm_set_memlock_limit(t.mm, 8 * PAGE_SIZE), 0);
	assert_int_equal(reg(&t, t.hva, 16 * PAGE_SIZE), -ENOMEM);
	assert_int_equal(reg(&t, t.hva, 8 * PAGE_SIZE), 0);
	st = test_sev_stats(&t);
	assert_int_equal(st.pin_strategy, MMUSIM_SEV_PIN_OFF);
	assert_int_equal(st.pages_locked, 8);
	assert_int_equal(st.regions, 1);
	assert_int_equal(st.pages_pinned, 0);
	assert_int_equal(st.pins_taken, 0);
	assert_int_equal(host_pinned(&t), 0);
	assert_int_equal(mmusim_vcpu_write(mmusim_vm_vcpu(t.vm, 0), 0, &v, sizeof(v)), 0);
	assert_int_equal(sim_migrate_range(t.mm, t.hva, PAGE_SIZE, &moved), 0);
	assert_int_equal(moved, 1);
	assert_int_equal(mmusim_vm_sev_get_reports(t.vm, &rep, 1), 1);
	assert_int_equal(rep.kind, MMUSIM_SEV_MOVED);
	assert_int_equal(rep.gfn, 0);
	assert_int_equal(unreg(&t, t.hva, 8 * PAGE_SIZE), 0);
	st = test_sev_stats(&t);
	assert_int_equal(st.pages_locked, 0);
	assert_int_equal(st.regions, 0);
	assert_int_equal(st.pins_dropped, 0);
	/* Destroy with a region left: uncharged, nothing to unpin. */
	assert_int_equal(reg(&t, t.hva, PAGE_SIZE), 0);
	test_vm_destroy(&t);
}

/* KVM_MEMORY_ENCRYPT_OP: 6.12's dispatch and its errnos. */
static void test_encrypt_op(void **state)
{
	struct kvm_sev_cmd cmd = { 0 }, *ro;
	struct test_vm t, plain;
	void *bad = test_bad_ptr();
	struct {
		u32 id;
		int sev, plain;
	} rows[] = {
		{ KVM_SEV_INIT, -EINVAL, -EINVAL }, /* SEV already / vCPUs exist */
		{ KVM_SEV_ES_INIT, -ENOTTY, -ENOTTY }, /* sev_es disabled */
		{ 22, -EINVAL, -EINVAL }, /* INIT2: no SEV VM types */
		/* The launch flow (test_sev_launch.c): data 0 is -EFAULT, no LAUNCH_START -EBADF. */
		{ KVM_SEV_LAUNCH_START, -EFAULT, -ENOTTY },
		{ KVM_SEV_LAUNCH_UPDATE_DATA, -EFAULT, -ENOTTY },
		{ KVM_SEV_LAUNCH_UPDATE_VMSA, -ENOTTY, -ENOTTY }, /* not SEV-ES */
		{ KVM_SEV_LAUNCH_MEASURE, -EFAULT, -ENOTTY },
		{ KVM_SEV_LAUNCH_FINISH, -EBADF, -ENOTTY },
		{ KVM_SEV_SEND_UPDATE_VMSA, -EINVAL, -EINVAL }, /* not dispatched */
		{ KVM_SEV_RECEIVE_UPDATE_VMSA, -EINVAL, -EINVAL },
		{ KVM_SEV_GUEST_STATUS, -EBADF, -ENOTTY },
		{ KVM_SEV_CERT_EXPORT, -EINVAL, -EINVAL },
		{ KVM_SEV_SEND_CANCEL, -EINVAL, -ENOTTY },
		{ 23, -EINVAL, -EINVAL },
		{ 100, -EINVAL, -ENOTTY }, /* SNP_LAUNCH_START */
		{ 102, -EINVAL, -ENOTTY },
		{ 103, -EINVAL, -EINVAL },
		{ ~0u, -EINVAL, -EINVAL },
	};
	unsigned int i;

	sev_vm(&t, 2 * MiB, true);
	sev_vm(&plain, 2 * MiB, false);
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		cmd.id = rows[i].id;
		assert_int_equal(mmusim_vm_memory_encrypt_op(t.vm, &cmd), rows[i].sev);
		assert_int_equal(mmusim_vm_memory_encrypt_op(plain.vm, &cmd), rows[i].plain);
	}
	assert_int_equal(mmusim_vm_memory_encrypt_op(t.vm, NULL), 0); /* the probe */
	assert_int_equal(mmusim_vm_memory_encrypt_op(t.vm, bad), -EFAULT);
	assert_int_equal(mmusim_vm_memory_encrypt_op(NULL, &cmd), -EINVAL);
	/* The command is copied back: a read-only one is -EFAULT after the handler. */
	ro = test_guarded_buf(sizeof(*ro), PROT_READ | PROT_WRITE);
	memset(ro, 0, sizeof(*ro));
	ro->id = KVM_SEV_LAUNCH_START;
	assert_int_equal(mprotect((void *)((unsigned long)ro & ~4095UL), 4096, PROT_READ), 0);
	assert_int_equal(mmusim_vm_memory_encrypt_op(t.vm, ro), -EFAULT);
	assert_int_equal(ro->id, KVM_SEV_LAUNCH_START);
	test_guarded_free(ro, sizeof(*ro));
	test_vm_destroy(&plain);
	test_vm_destroy(&t);
}

/* 15 SEV ASIDs per host; a freed one comes back after the recycle. */
static void test_asids(void **state)
{
	struct mmusim_vm_config cfg = { .sev = true };
	struct mmusim_vm *vms[16];
	struct mmusim_sev_stats st;
	struct sim_host *host;
	struct sim_mm *mm;
	int i;

	assert_int_equal(sim_host_create(NULL, &host), 0);
	assert_int_equal(sim_mm_create(host, &mm), 0);
	for (i = 0; i < 15; i++) {
		assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vms[i]), 0);
		assert_int_equal(mmusim_vm_sev_get_stats(vms[i], &st), 0);
		assert_int_equal(st.asid, i + 1);
	}
	assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vms[15]), -EBUSY);
	mmusim_vm_destroy(vms[6]);
	assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vms[6]), 0);
	assert_int_equal(mmusim_vm_sev_get_stats(vms[6], &st), 0);
	assert_int_equal(st.asid, 7);
	for (i = 0; i < 15; i++)
		mmusim_vm_destroy(vms[i]);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
}

/* Every allocation of a registration and of an SEV VM's creation fails in turn. */
static void test_fail_nth(void **state)
{
	struct mmusim_vm_config cfg = { .sev = true };
	struct mmusim_vm *vm;
	struct test_vm t;
	unsigned long n;
	int r;

	sev_vm(&t, 4 * MiB, false);
	test_vm_destroy(&t);
	for (n = 1;; n++) {
		sev_vm(&t, 4 * MiB, true);
		env_fail_nth(n);
		r = reg(&t, t.hva, 4 * MiB);
		env_fail_clear();
		if (!r) {
			assert_int_equal(test_sev_stats(&t).pages_locked, 1024);
			test_vm_destroy(&t);
			break;
		}
		assert_int_equal(r, -ENOMEM);
		assert_int_equal(test_sev_stats(&t).pages_locked, 0);
		assert_int_equal(host_pinned(&t), 0);
		test_vm_destroy(&t);
	}
	assert_true(n > 1);
	sev_vm(&t, 0, false);
	for (n = 1;; n++) {
		env_fail_nth(n);
		r = mmusim_vm_create(t.host, t.mm, &cfg, &vm);
		env_fail_clear();
		if (!r) {
			mmusim_vm_destroy(vm);
			break;
		}
		assert_int_equal(r, -ENOMEM);
	}
	test_vm_destroy(&t);
}

/* The public calls' argument checks. */
static void test_args(void **state)
{
	struct mmusim_sev_stats st;
	struct mmusim_sev_report rep;
	struct test_vm t;
	char msg[8];

	sev_vm(&t, 2 * MiB, true);
	assert_int_equal(mmusim_vm_sev_get_stats(t.vm, NULL), -EINVAL);
	assert_int_equal(mmusim_vm_sev_get_stats(NULL, &st), -EINVAL);
	assert_int_equal(mmusim_vm_sev_get_reports(t.vm, &rep, 1), 0);
	assert_int_equal(mmusim_vm_sev_get_reports(t.vm, NULL, 0), 0);
	assert_int_equal(mmusim_vm_sev_check(t.vm, msg, sizeof(msg)), 0);
	assert_int_equal(mmusim_vm_sev_check(t.vm, NULL, 4), -EINVAL);
	assert_int_equal(mmusim_vm_sev_set_skip_flush(t.vm, true), 0);
	assert_int_equal(mmusim_vm_sev_set_skip_flush(NULL, true), -EINVAL);
	test_vm_destroy(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_reg_region_errno),
		MMUSIM_TEST(test_rlimit_accounting),
		MMUSIM_TEST(test_destroy_unpins),
		MMUSIM_TEST(test_pin_strategy_config),
		MMUSIM_TEST(test_pin_strategy_off),
		MMUSIM_TEST(test_encrypt_op),
		MMUSIM_TEST(test_asids),
		MMUSIM_TEST(test_fail_nth),
		MMUSIM_TEST(test_args),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("sev_pin", tests);
}
