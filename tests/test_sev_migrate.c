// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/sev/sev_migrate.c: intra-host migration of an SEV guest
 * (KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM, Linux 6.12's
 * sev_vm_move_enc_context_from()).  The source and destination VMs share
 * one host and one VMM address space, so both map the same guest frames:
 *
 *	source       slot 0: gfn 0..511 -> t.hva (the guest's data)
 *	destination  slot 0: gfn 0..511 -> t.hva (made before the move)
 *	             slot 1: gfn 0x1000.. -> hva2 (made after it, some tests)
 *
 * After the move the destination reads the source's data through the same
 * ASID and key; the pins follow the source's strategy.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include <mmusim/env.h>
#include <mmusim/host.h>
#include <mmusim/sev.h>
#include <mmusim/vm.h>
#include "mmu/kvm_host.h"

#define MiB (1ULL << 20)
#define NR_VCPUS 2

static const struct sim_host_config es_host = {
	.mem_bytes = 64 * MiB,
	.sev_max_asid = 15,
	.sev_min_asid = 5, /* SEV-ES 1..4, SEV 5..15 */
};

/* The source (t.vm) and a destination on the same host and mm, slot 0 alike. */
static struct mmusim_vm *pair(struct test_vm *t, int strategy, int mmu, bool es)
{
	struct test_vm_opts o = { .size = 2 * MiB, .hcfg = &es_host };
	struct mmusim_vm_config dcfg = { .nr_vcpus = NR_VCPUS, .mmu = mmu };
	struct kvm_userspace_memory_region r = {
		.memory_size = 2 * MiB,
	};
	struct mmusim_vm *dst;

	o.cfg.sev = !es;
	o.cfg.sev_es = es;
	o.cfg.sev_pin = strategy;
	o.cfg.mmu = mmu;
	o.cfg.nr_vcpus = NR_VCPUS;
	test_vm_create(t, &o);
	assert_int_equal(mmusim_vm_create(t->host, t->mm, &dcfg, &dst), 0);
	r.userspace_addr = t->hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(dst, &r), 0);
	return dst;
}

static struct mmusim_sev_stats stats_of(struct mmusim_vm *vm)
{
	struct mmusim_sev_stats st;

	assert_int_equal(mmusim_vm_sev_get_stats(vm, &st), 0);
	return st;
}

static void vm_put(struct mmusim_vm *vm, gfn_t gfn, u64 v)
{
	assert_int_equal(mmusim_vcpu_write(mmusim_vm_vcpu(vm, 0), gfn << PAGE_SHIFT, &v, 8), 0);
}

static u64 vm_get(struct mmusim_vm *vm, gfn_t gfn)
{
	u64 v;

	assert_int_equal(mmusim_vcpu_read(mmusim_vm_vcpu(vm, 0), gfn << PAGE_SHIFT, &v, 8), 0);
	return v;
}

static u64 host_pinned_pages(struct test_vm *t)
{
	struct sim_host_stats hs;

	assert_int_equal(sim_host_get_stats(t->host, &hs), 0);
	return hs.pinned_pages;
}

static void assert_clean(struct mmusim_vm *vm)
{
	char msg[192] = "";
	int r = mmusim_vm_sev_check(vm, msg, sizeof(msg));

	if (r)
		print_error("%s\n", msg);
	assert_int_equal(r, 0);
}

/* The source after a move: not SEV, dead. */
static void assert_source_dead(struct test_vm *t)
{
	struct kvm_userspace_memory_region r = { .slot = 3, .memory_size = PAGE_SIZE };
	struct kvm_sev_cmd cmd = { .id = KVM_SEV_GUEST_STATUS };
	struct mmusim_sev_stats st;
	u64 v = 0;

	assert_int_equal(mmusim_vm_sev_get_stats(t->vm, &st), -ENOTTY);
	assert_int_equal(mmusim_vcpu_write(mmusim_vm_vcpu(t->vm, 0), 0, &v, 8), -EIO);
	assert_int_equal(mmusim_vm_memory_encrypt_op(t->vm, &cmd), -EIO);
	r.userspace_addr = t->hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(t->vm, &r), -EIO);
}

/*
 * 6.12's checks, each refusal leaving the source as it was: the same VM,
 * a destination that is SEV, a source that is not, another host, a
 * migration already in progress on either side.
 */
static void test_move_errnos(void **state)
{
	struct mmusim_vm_config plain = { .nr_vcpus = 1 }, sev = { .sev = true };
	struct mmusim_vm *dst, *other, *sev2, *far;
	struct sim_host *host2;
	struct sim_mm *mm2;
	struct test_vm t;
	u32 asid;

	dst = pair(&t, MMUSIM_SEV_PIN_UPFRONT, MMUSIM_MMU_TDP, false);
	assert_int_equal(mmusim_vm_check_extension(dst, KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM), 1);
	asid = stats_of(t.vm).asid;
	vm_put(t.vm, 1, 0x11);
	assert_int_equal(mmusim_vm_move_enc_context_from(t.vm, t.vm), -EINVAL);
	assert_int_equal(mmusim_vm_move_enc_context_from(NULL, t.vm), -EINVAL);
	assert_int_equal(mmusim_vm_move_enc_context_from(dst, NULL), -EBADF);
	/* The destination must not be SEV, the source must. */
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &sev, &sev2), 0);
	assert_int_equal(mmusim_vm_move_enc_context_from(sev2, t.vm), -EINVAL);
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &plain, &other), 0);
	assert_int_equal(mmusim_vm_move_enc_context_from(dst, other), -EINVAL);
	/* Another host (mmusim's rule: "intra-host"). */
	assert_int_equal(sim_host_create(&es_host, &host2), 0);
	assert_int_equal(sim_mm_create(host2, &mm2), 0);
	assert_int_equal(mmusim_vm_create(host2, mm2, &plain, &far), 0);
	assert_int_equal(mmusim_vm_move_enc_context_from(far, t.vm), -EINVAL);
	/* Either side already migrating: -EBUSY (and not left taken). */
	atomic_set(&mmusim_to_kvm(dst)->migration_in_progress, 1);
	assert_int_equal(mmusim_vm_move_enc_context_from(dst, t.vm), -EBUSY);
	atomic_set(&mmusim_to_kvm(dst)->migration_in_progress, 0);
	atomic_set(&mmusim_to_kvm(t.vm)->migration_in_progress, 1);
	assert_int_equal(mmusim_vm_move_enc_context_from(dst, t.vm), -EBUSY);
	assert_int_equal(atomic_read(&mmusim_to_kvm(dst)->migration_in_progress), 0);
	atomic_set(&mmusim_to_kvm(t.vm)->migration_in_progress, 0);
	/* The source is untouched by all of that. */
	assert_int_equal(stats_of(t.vm).asid, asid);
	assert_int_equal(vm_get(t.vm, 1), 0x11);
	/* A dead destination (a migrated source) takes nothing. */
	assert_int_equal(mmusim_vm_move_enc_context_from(dst, t.vm), 0);
	assert_int_equal(mmusim_vm_move_enc_context_from(t.vm, dst), -EIO);
	mmusim_vm_destroy(far);
	sim_mm_destroy(mm2);
	sim_host_destroy(host2);
	mmusim_vm_destroy(other);
	mmusim_vm_destroy(sev2);
	mmusim_vm_destroy(dst);
	test_vm_destroy(&t);
}

/*
 * The up-front baseline: the regions list and pages_locked move, the
 * source is zeroed (no longer SEV) and dead; the destination decrypts the
 * data with the ASID it inherited, the pins hold after the source is gone,
 * and go with the destination.
 */
static void test_move_upfront(void **state)
{
	struct kvm_enc_region reg;
	struct mmusim_sev_stats st;
	struct mmusim_vm *dst;
	struct test_vm t;
	u64 i, moved, asid;

	dst = pair(&t, MMUSIM_SEV_PIN_UPFRONT, MMUSIM_MMU_TDP, false);
	reg = (struct kvm_enc_region){ .addr = t.hva, .size = 2 * MiB };
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, &reg), 0);
	for (i = 0; i < 8; i++)
		vm_put(t.vm, i, 0x600 + i);
	asid = stats_of(t.vm).asid;
	assert_int_equal(mmusim_vm_move_enc_context_from(dst, t.vm), 0);
	st = stats_of(dst);
	assert_int_equal(st.asid, asid);
	assert_int_equal(st.pages_locked, 512);
	assert_int_equal(st.regions, 1);
	assert_int_equal(st.pin_strategy, MMUSIM_SEV_PIN_UPFRONT);
	assert_source_dead(&t);
	mmusim_vm_destroy(t.vm);
	t.vm = NULL;
	assert_int_equal(host_pinned_pages(&t), 512);
	assert_int_equal(sim_migrate_range(t.mm, t.hva, 8 * PAGE_SIZE, &moved), -EBUSY);
	for (i = 0; i < 8; i++)
		assert_int_equal(vm_get(dst, i), 0x600 + i);
	/* UNREG on the destination needs the region the source registered. */
	assert_int_equal(mmusim_vm_memory_encrypt_unreg_region(dst, &reg), 0);
	assert_int_equal(stats_of(dst).pages_locked, 0);
	assert_clean(dst);
	mmusim_vm_destroy(dst);
	assert_int_equal(host_pinned_pages(&t), 0);
	test_vm_destroy(&t);
}

/*
 * Demand pinning: the source's memslot pins become the destination's and
 * outlive the source.  The destination's slot 0 was made before it was
 * SEV, so (the RFC's invariant) it is not encrypted: a page the source
 * never touched is not pinned when the destination writes it, and a host
 * migration then loses it.  A slot made after the move is encrypted.
 */
static void test_move_memslot(void **state)
{
	struct kvm_userspace_memory_region r1 = {
		.slot = 1,
		.guest_phys_addr = 0x1000ULL << PAGE_SHIFT,
		.memory_size = 1 * MiB,
	};
	struct mmusim_sev_report rep;
	struct mmusim_vm *dst;
	struct test_vm t;
	u64 i, moved;
	hva_t hva2;

	dst = pair(&t, MMUSIM_SEV_PIN_MEMSLOT, test_vm_mmu, false);
	for (i = 0; i < 8; i++)
		vm_put(t.vm, i, 0x700 + i);
	assert_int_equal(stats_of(t.vm).pages_pinned, 8);
	assert_int_equal(mmusim_vm_move_enc_context_from(dst, t.vm), 0);
	assert_int_equal(stats_of(dst).pages_pinned, 8);
	assert_source_dead(&t);
	mmusim_vm_destroy(t.vm);
	t.vm = NULL;
	assert_int_equal(host_pinned_pages(&t), 8);
	assert_int_equal(sim_migrate_range(t.mm, t.hva, 8 * PAGE_SIZE, &moved), -EBUSY);
	for (i = 0; i < 8; i++)
		assert_int_equal(vm_get(dst, i), 0x700 + i);
	assert_clean(dst);

	/* Slot 0 of the destination predates its SEV context: no pin. */
	vm_put(dst, 100, 0x100);
	assert_int_equal(stats_of(dst).pins_taken, 8);
	assert_int_equal(sim_migrate_range(t.mm, t.hva + 100 * PAGE_SIZE, PAGE_SIZE, &moved), 0);
	assert_int_equal(moved, 1);
	assert_int_not_equal(vm_get(dst, 100), 0x100);
	assert_int_equal(mmusim_vm_sev_get_reports(dst, &rep, 1), 1);
	assert_int_equal(rep.kind, MMUSIM_SEV_MOVED);
	assert_int_equal(rep.gfn, 100);

	/* A slot made after the move is encrypted and pins. */
	assert_int_equal(
		sim_mmap(t.mm, 0, 1 * MiB, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &hva2),
		0);
	r1.userspace_addr = hva2;
	assert_int_equal(mmusim_vm_set_user_memory_region(dst, &r1), 0);
	vm_put(dst, 0x1002, 0x1002);
	assert_int_equal(stats_of(dst).pins_taken, 9);
	mmusim_vm_destroy(dst);
	assert_int_equal(host_pinned_pages(&t), 0);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_move_memslot)

/*
 * Sean's pinned-SPTE design: the pins are the source's SPTEs, dropped with
 * them at the move (while the context is still there to drop them); the
 * destination, on the legacy MMU too, pins on its own faults.  A TDP-MMU
 * destination cannot take the strategy: -EINVAL, nothing moved.
 */
static void test_move_spte(void **state)
{
	struct mmusim_vm_config tdp = { .nr_vcpus = NR_VCPUS };
	struct kvm_userspace_memory_region r = { .memory_size = 2 * MiB };
	struct mmusim_vm *dst, *tdp_dst;
	struct mmusim_sev_stats st;
	struct test_vm t;
	u64 i;

	dst = pair(&t, MMUSIM_SEV_PIN_SPTE, MMUSIM_MMU_LEGACY, false);
	for (i = 0; i < 4; i++)
		vm_put(t.vm, i, 0x800 + i);
	assert_true(stats_of(t.vm).pages_pinned >= 4);
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &tdp, &tdp_dst), 0);
	r.userspace_addr = t.hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(tdp_dst, &r), 0);
	assert_int_equal(mmusim_vm_move_enc_context_from(tdp_dst, t.vm), -EINVAL);
	assert_true(stats_of(t.vm).pages_pinned >= 4);
	assert_int_equal(mmusim_vm_move_enc_context_from(dst, t.vm), 0);
	st = stats_of(dst);
	assert_int_equal(st.pages_pinned, 0);
	assert_int_equal(st.pin_strategy, MMUSIM_SEV_PIN_SPTE);
	for (i = 0; i < 4; i++)
		assert_int_equal(vm_get(dst, i), 0x800 + i);
	assert_true(stats_of(dst).pages_pinned >= 4);
	assert_clean(dst);
	mmusim_vm_destroy(tdp_dst);
	mmusim_vm_destroy(dst);
	test_vm_destroy(&t);
}

/* KVM_MEMORY_ENCRYPT_OP on the simulated /dev/sev. */
static int op(struct mmusim_vm *vm, u32 id, void *data)
{
	struct kvm_sev_cmd cmd = {
		.id = id,
		.data = (u64)(unsigned long)data,
		.sev_fd = MMUSIM_SEV_DEV_FD,
	};

	return mmusim_vm_memory_encrypt_op(vm, &cmd);
}

/*
 * SEV-ES: the vCPU counts must match and every source vCPU's state must be
 * protected (LAUNCH_UPDATE_VMSA), else -EINVAL; after the move the
 * destination's vCPUs are the protected ones (KVM_SET_GUEST_DEBUG refused),
 * the VMSAs and the launch handle went with the context.
 */
static void test_move_es(void **state)
{
	struct kvm_sev_launch_start start = { .policy = SEV_POLICY_ES };
	struct mmusim_vm_config one = { .nr_vcpus = 1 };
	struct kvm_guest_debug dbg = { .control = 0 };
	struct mmusim_sev_stats st;
	struct mmusim_vm *dst, *small;
	struct test_vm t;
	u64 handle;

	dst = pair(&t, MMUSIM_SEV_PIN_UPFRONT, MMUSIM_MMU_TDP, true);
	assert_int_equal(op(t.vm, KVM_SEV_LAUNCH_START, &start), 0);
	/* Not protected yet. */
	assert_int_equal(mmusim_vm_move_enc_context_from(dst, t.vm), -EINVAL);
	assert_int_equal(op(t.vm, KVM_SEV_LAUNCH_UPDATE_VMSA, NULL), 0);
	/* Protected, but the counts differ. */
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &one, &small), 0);
	assert_int_equal(mmusim_vm_move_enc_context_from(small, t.vm), -EINVAL);
	handle = stats_of(t.vm).handle;
	assert_int_equal(mmusim_vcpu_set_guest_debug(mmusim_vm_vcpu(dst, 1), &dbg), 0);
	assert_int_equal(mmusim_vm_move_enc_context_from(dst, t.vm), 0);
	st = stats_of(dst);
	assert_int_equal(st.handle, handle);
	assert_int_equal(st.vmsa_protected, NR_VCPUS);
	assert_int_equal(mmusim_vcpu_set_guest_debug(mmusim_vm_vcpu(dst, 1), &dbg), -EINVAL);
	assert_source_dead(&t);
	mmusim_vm_destroy(small);
	mmusim_vm_destroy(t.vm);
	t.vm = NULL;
	/* The destination's destroy decommissions the one context there is. */
	mmusim_vm_destroy(dst);
	test_vm_destroy(&t);
}

struct spinner {
	struct mmusim_vm *vm;
	bool stop; /* __atomic */
	long ok;
	int last;
};

/* vCPU 1 reads gfn 200 until stopped or refused; the last result in ->last. */
static void *spin_vcpu(void *arg)
{
	struct spinner *s = arg;
	u64 v;

	env_thread_register();
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		s->last = mmusim_vcpu_read(mmusim_vm_vcpu(s->vm, 1), 200 << PAGE_SHIFT, &v, 8);
		if (s->last)
			break;
		__atomic_add_fetch(&s->ok, 1, __ATOMIC_RELAXED);
	}
	env_thread_unregister();
	return NULL;
}

/*
 * The move with vCPUs running on both sides: the destination's calls wait
 * for it and go on (never -EIO), the source's end with -EIO once it is
 * dead.  TSan-clean (the calls' freeze is a Dekker pair, as destroy's).
 */
static void test_move_running_vcpus(void **state)
{
	struct spinner ss, sd;
	struct mmusim_vm *dst;
	pthread_t ts, td;
	struct test_vm t;

	dst = pair(&t, MMUSIM_SEV_PIN_MEMSLOT, MMUSIM_MMU_TDP, false);
	vm_put(t.vm, 3, 0x33);
	ss = (struct spinner){ .vm = t.vm };
	sd = (struct spinner){ .vm = dst };
	assert_int_equal(pthread_create(&ts, NULL, spin_vcpu, &ss), 0);
	assert_int_equal(pthread_create(&td, NULL, spin_vcpu, &sd), 0);
	while (!__atomic_load_n(&ss.ok, __ATOMIC_RELAXED) ||
	       !__atomic_load_n(&sd.ok, __ATOMIC_RELAXED))
		sched_yield();
	assert_int_equal(mmusim_vm_move_enc_context_from(dst, t.vm), 0);
	pthread_join(ts, NULL);
	assert_int_equal(ss.last, -EIO);
	__atomic_store_n(&sd.stop, true, __ATOMIC_RELEASE);
	pthread_join(td, NULL);
	assert_int_equal(sd.last, 0);
	assert_int_equal(vm_get(dst, 3), 0x33);
	assert_clean(dst);
	mmusim_vm_destroy(dst);
	test_vm_destroy(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_move_errnos),	      MMUSIM_TEST(test_move_upfront),
		MMUSIM_TEST(test_move_memslot),	      MMUSIM_TEST(test_move_memslot_legacy),
		MMUSIM_TEST(test_move_spte),	      MMUSIM_TEST(test_move_es),
		MMUSIM_TEST(test_move_running_vcpus),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("sev_migrate", tests);
}
