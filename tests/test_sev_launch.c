// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/sev/sev_launch.c and src/sev/psp.c: the SEV and SEV-ES launch
 * flow of Linux 6.12 (arch/x86/kvm/svm/sev.c) against the simulated PSP
 * firmware, with the host's ASID ranges (SEV-ES 1..min_sev_asid - 1, SEV
 * min..max) of KVM_SEV_INIT / KVM_SEV_ES_INIT.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include <mmusim/env.h>
#include <mmusim/host.h>
#include <mmusim/run.h>
#include <mmusim/sev.h>
#include <mmusim/vm.h>

#define MiB (1ULL << 20)

static u64 vm_asid(struct mmusim_vm *vm)
{
	struct mmusim_sev_stats st;

	assert_int_equal(mmusim_vm_sev_get_stats(vm, &st), 0);
	return st.asid;
}

/* The host's ASIDs as configured, and bad configs. */
static void test_host_asid_config(void **state)
{
	struct sim_host_config hc = { .mem_bytes = 64 * MiB };
	struct sim_host *host;
	u32 min, max;

	assert_int_equal(sim_host_create(&hc, &host), 0);
	assert_int_equal(sim_host_sev_asids(host, &min, &max), 0);
	assert_int_equal(min, 1); /* the defaults: SEV 1..15, no SEV-ES */
	assert_int_equal(max, 15);
	sim_host_destroy(host);
	hc.sev_max_asid = SIM_SEV_ASID_LIMIT + 1;
	assert_int_equal(sim_host_create(&hc, &host), -EINVAL);
	hc.sev_max_asid = 4;
	hc.sev_min_asid = 6;
	assert_int_equal(sim_host_create(&hc, &host), -EINVAL);
	hc.sev_min_asid = 5; /* SEV unusable, SEV-ES 1..4: allowed, as in 6.12 */
	assert_int_equal(sim_host_create(&hc, &host), 0);
	assert_int_equal(sim_host_sev_asids(host, &min, &max), 0);
	assert_int_equal(min, 5);
	assert_int_equal(max, 4);
	sim_host_destroy(host);
}

/*
 * sev_asid_new(): SEV-ES guests take 1..min_sev_asid - 1, SEV guests
 * min..max; -EBUSY when the range is full, -ENOTTY when it is empty, and
 * ES_INIT is -ENOTTY on a host without SEV-ES ASIDs (kvm_amd's sev_es off).
 */
static void test_asid_ranges(void **state)
{
	struct sim_host_config hc = { .mem_bytes = 64 * MiB, .sev_max_asid = 6, .sev_min_asid = 4 };
	struct mmusim_vm_config sev = { .sev = true }, es = { .sev_es = true };
	struct mmusim_vm *s[4], *e[4];
	struct sim_host *host;
	struct sim_mm *mm;
	int i;

	assert_int_equal(sim_host_create(&hc, &host), 0);
	assert_int_equal(sim_mm_create(host, &mm), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(mmusim_vm_create(host, mm, &es, &e[i]), 0);
		assert_int_equal(vm_asid(e[i]), 1 + i);
		assert_int_equal(mmusim_vm_create(host, mm, &sev, &s[i]), 0);
		assert_int_equal(vm_asid(s[i]), 4 + i);
	}
	assert_int_equal(mmusim_vm_create(host, mm, &es, &e[3]), -EBUSY);
	assert_int_equal(mmusim_vm_create(host, mm, &sev, &s[3]), -EBUSY);
	/* A freed ES ASID comes back (after the recycle) to an ES guest only. */
	mmusim_vm_destroy(e[1]);
	assert_int_equal(mmusim_vm_create(host, mm, &sev, &s[3]), -EBUSY);
	assert_int_equal(mmusim_vm_create(host, mm, &es, &e[1]), 0);
	assert_int_equal(vm_asid(e[1]), 2);
	for (i = 0; i < 3; i++) {
		mmusim_vm_destroy(e[i]);
		mmusim_vm_destroy(s[i]);
	}
	sim_mm_destroy(mm);
	sim_host_destroy(host);

	/* No SEV-ES ASIDs: ES_INIT is -ENOTTY; no SEV ASIDs: INIT is -ENOTTY. */
	hc.sev_min_asid = 1;
	assert_int_equal(sim_host_create(&hc, &host), 0);
	assert_int_equal(sim_mm_create(host, &mm), 0);
	assert_int_equal(mmusim_vm_create(host, mm, &es, &e[0]), -ENOTTY);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
	hc.sev_min_asid = 7;
	assert_int_equal(sim_host_create(&hc, &host), 0);
	assert_int_equal(sim_mm_create(host, &mm), 0);
	assert_int_equal(mmusim_vm_create(host, mm, &sev, &s[0]), -ENOTTY);
	assert_int_equal(mmusim_vm_create(host, mm, &es, &e[0]), 0);
	assert_int_equal(vm_asid(e[0]), 1);
	mmusim_vm_destroy(e[0]);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
}

/* ======================== the launch helpers ======================== */

#define NR_VCPUS 4
#define IMAGE_PAGES 3
#define SECRET_GPA (IMAGE_PAGES * PAGE_SIZE)

static const struct sim_host_config launch_host = {
	.mem_bytes = 64 * MiB,
	.sev_max_asid = 15,
	.sev_min_asid = 5, /* SEV-ES 1..4, SEV 5..15 */
};

static void launch_vm(struct test_vm *t, bool sev, bool es)
{
	struct test_vm_opts o = { .size = 2 * MiB, .hcfg = &launch_host };

	o.cfg.sev = sev;
	o.cfg.sev_es = es;
	o.cfg.nr_vcpus = NR_VCPUS;
	test_vm_create(t, &o);
}

/* KVM_MEMORY_ENCRYPT_OP on the simulated /dev/sev; the firmware status in *@error. */
static int op(struct test_vm *t, u32 id, void *data, u32 *error)
{
	struct kvm_sev_cmd cmd = {
		.id = id,
		.data = (u64)(unsigned long)data,
		.error = 0xdead,
		.sev_fd = MMUSIM_SEV_DEV_FD,
	};
	int r = mmusim_vm_memory_encrypt_op(t->vm, &cmd);

	if (error)
		*error = cmd.error;
	return r;
}

static int launch_start(struct test_vm *t, u32 policy, u32 *error)
{
	struct kvm_sev_launch_start p = { .policy = policy };

	return op(t, KVM_SEV_LAUNCH_START, &p, error);
}

static int update_data(struct test_vm *t, u64 hva, u32 len, u32 *error)
{
	struct kvm_sev_launch_update_data p = { .uaddr = hva, .len = len };

	return op(t, KVM_SEV_LAUNCH_UPDATE_DATA, &p, error);
}

static int measure(struct test_vm *t, u8 *out, u32 *len, u32 *error)
{
	struct kvm_sev_launch_measure p = { .uaddr = (u64)(unsigned long)out, .len = *len };
	int r = op(t, KVM_SEV_LAUNCH_MEASURE, &p, error);

	*len = p.len;
	return r;
}

static u8 secret16[16] = "launch secret 16";
static u8 hdr16[16] = "packet header 16";

static int inject_secret(struct test_vm *t, u32 *error)
{
	struct kvm_sev_launch_secret p = {
		.hdr_uaddr = (u64)(unsigned long)hdr16,
		.hdr_len = sizeof(hdr16),
		.guest_uaddr = t->hva + SECRET_GPA,
		.guest_len = sizeof(secret16),
		.trans_uaddr = (u64)(unsigned long)secret16,
		.trans_len = sizeof(secret16),
	};

	return op(t, KVM_SEV_LAUNCH_SECRET, &p, error);
}

static struct kvm_sev_guest_status status(struct test_vm *t)
{
	struct kvm_sev_guest_status st = { 0 };
	u32 err;

	assert_int_equal(op(t, KVM_SEV_GUEST_STATUS, &st, &err), 0);
	assert_int_equal(err, 0);
	return st;
}

/* The firmware image: IMAGE_PAGES pages the VMM writes before the launch. */
static void write_image(struct test_vm *t, u8 tag)
{
	u8 buf[IMAGE_PAGES * PAGE_SIZE];
	unsigned int i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (u8)(i * 7 + tag);
	assert_int_equal(sim_mm_write(t->mm, t->hva, buf, sizeof(buf)), 0);
}

static void set_rip(struct test_vm *t, int vcpu, u64 rip)
{
	struct kvm_regs regs;

	assert_int_equal(mmusim_vcpu_get_regs(mmusim_vm_vcpu(t->vm, vcpu), &regs), 0);
	regs.rip = rip;
	assert_int_equal(mmusim_vcpu_set_regs(mmusim_vm_vcpu(t->vm, vcpu), &regs), 0);
}

/* INIT .. FINISH; the measurement in @m (48 bytes). */
static void full_launch(struct test_vm *t, bool es, u32 policy, u8 *m)
{
	u32 err, len = 0;
	u8 got[48];

	assert_int_equal(launch_start(t, policy, &err), 0);
	assert_int_equal(err, 0);
	assert_int_equal(status(t).state, MMUSIM_SEV_STATE_LUPDATE);
	assert_int_equal(status(t).policy, policy);
	assert_int_equal(update_data(t, t->hva, IMAGE_PAGES * PAGE_SIZE, &err), 0);
	if (es)
		assert_int_equal(op(t, KVM_SEV_LAUNCH_UPDATE_VMSA, NULL, &err), 0);
	/* The length query: the firmware's SEV_RET_INVALID_LEN, with the length. */
	assert_int_equal(measure(t, NULL, &len, &err), -EIO);
	assert_int_equal(err, SEV_RET_INVALID_LEN);
	assert_int_equal(len, 48);
	assert_int_equal(status(t).state, MMUSIM_SEV_STATE_LUPDATE);
	assert_int_equal(measure(t, got, &len, &err), 0);
	assert_int_equal(len, 48);
	memcpy(m, got, 48);
	assert_int_equal(status(t).state, MMUSIM_SEV_STATE_LSECRET);
	assert_int_equal(inject_secret(t, &err), 0);
	assert_int_equal(op(t, KVM_SEV_LAUNCH_FINISH, NULL, &err), 0);
	assert_int_equal(status(t).state, MMUSIM_SEV_STATE_RUNNING);
}

/* The guest reads the launched plaintext; the host the ciphertext. */
static void check_launched(struct test_vm *t, u8 tag)
{
	u8 want[IMAGE_PAGES * PAGE_SIZE], guest[sizeof(want)], host[sizeof(want)];
	unsigned int i;

	for (i = 0; i < sizeof(want); i++)
		want[i] = (u8)(i * 7 + tag);
	assert_int_equal(mmusim_vcpu_read(mmusim_vm_vcpu(t->vm, 0), 0, guest, sizeof(guest)), 0);
	assert_memory_equal(guest, want, sizeof(want));
	assert_int_equal(sim_mm_read(t->mm, t->hva, host, sizeof(host)), 0);
	for (i = 0; i < IMAGE_PAGES; i++)
		assert_memory_not_equal(host + i * PAGE_SIZE, want + i * PAGE_SIZE, 64);
	/* LAUNCH_SECRET's secret, in the guest's memory, as ciphertext to the host. */
	assert_int_equal(mmusim_vcpu_read(mmusim_vm_vcpu(t->vm, 1), SECRET_GPA, guest, 16), 0);
	assert_memory_equal(guest, secret16, 16);
	assert_int_equal(sim_mm_read(t->mm, t->hva + SECRET_GPA, host, 16), 0);
	assert_memory_not_equal(host, secret16, 16);
}

/* ======================== full launches ======================== */

static void test_sev_full_launch(void **state)
{
	long fw = mmusim_sev_fw_guests();
	struct mmusim_sev_stats st;
	struct test_vm t;
	u8 m[48];

	launch_vm(&t, true, false);
	write_image(&t, 1);
	full_launch(&t, false, SEV_POLICY_NODBG, m);
	check_launched(&t, 1);
	assert_int_equal(mmusim_sev_fw_guests(), fw + 1);
	assert_int_equal(mmusim_vm_sev_get_stats(t.vm, &st), 0);
	assert_true(st.handle != 0);
	assert_int_equal(st.pages_pinned, 0); /* pinned for each command only */
	assert_int_equal(st.pages_locked, 0);
	assert_int_equal(st.vmsa_protected, 0);
	/* Plain SEV has no VMSA to launch. */
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_UPDATE_VMSA, NULL, NULL), -ENOTTY);
	test_vm_check(&t);
	test_vm_destroy(&t);
	/* VM destroy decommissioned the handle. */
	assert_int_equal(mmusim_sev_fw_guests(), fw);
}

static void test_sev_es_full_launch(void **state)
{
	long fw = mmusim_sev_fw_guests();
	struct mmusim_sev_stats st;
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE };
	struct test_vm t;
	u8 m[48];
	int i;

	launch_vm(&t, false, true);
	assert_true(mmusim_vm_sev_get_stats(t.vm, &st) == 0 && st.asid < 5);
	write_image(&t, 2);
	for (i = 0; i < NR_VCPUS; i++)
		set_rip(&t, i, 0xfff0 + i);
	full_launch(&t, true, SEV_POLICY_ES | SEV_POLICY_NODBG, m);
	check_launched(&t, 2);
	assert_int_equal(mmusim_vm_sev_get_stats(t.vm, &st), 0);
	assert_int_equal(st.vmsa_protected, NR_VCPUS);
	/* Protected: no second VMSA update, no guest debug. */
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_UPDATE_VMSA, NULL, NULL), -EINVAL);
	assert_int_equal(mmusim_vcpu_set_guest_debug(mmusim_vm_vcpu(t.vm, 0), &dbg), -EINVAL);
	/*
	 * A legacy KVM_SEV_ES_INIT VM has no has_protected_state (6.12): KVM_GET_REGS
	 * still "succeeds", on the state as it was before the VMSA update.
	 */
	{
		struct kvm_regs regs;

		assert_int_equal(mmusim_vcpu_get_regs(mmusim_vm_vcpu(t.vm, 3), &regs), 0);
		assert_int_equal(regs.rip, 0xfff3);
	}
	assert_int_equal(mmusim_sev_fw_guests(), fw + 1);
	test_vm_check(&t);
	test_vm_destroy(&t);
	assert_int_equal(mmusim_sev_fw_guests(), fw);
}

/* ======================== VM types and KVM_SEV_INIT2 ======================== */

/* mmusim_vm_create()'s result for @cfg on a host with @hc's ASIDs. */
static int try_create(const struct sim_host_config *hc, const struct mmusim_vm_config *cfg)
{
	struct sim_host *host;
	struct mmusim_vm *vm;
	struct sim_mm *mm;
	int r;

	assert_int_equal(sim_host_create(hc, &host), 0);
	assert_int_equal(sim_mm_create(host, &mm), 0);
	r = mmusim_vm_create(host, mm, cfg, &vm);
	if (!r)
		mmusim_vm_destroy(vm);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
	return r;
}

static void typed_vm(struct test_vm *t, u32 type, bool sev, bool es)
{
	struct test_vm_opts o = { .size = 2 * MiB, .hcfg = &launch_host };

	o.cfg.vm_type = type;
	o.cfg.sev = sev;
	o.cfg.sev_es = es;
	o.cfg.nr_vcpus = NR_VCPUS;
	test_vm_create(t, &o);
}

/*
 * KVM_CAP_VM_TYPES follows the host's ASIDs (6.12's sev_set_cpu_caps());
 * KVM_CREATE_VM with a type outside it is -EINVAL; KVM_SEV_INIT2's checks,
 * in __sev_guest_init()'s order; legacy INIT on a typed VM and INIT2 on a
 * default VM are -EINVAL.
 */
static void test_vm_types(void **state)
{
	struct sim_host_config no_es = { .mem_bytes = 64 * MiB }, no_sev = no_es;
	struct mmusim_vm_config cfg = { .nr_vcpus = 1 };
	struct kvm_sev_init init = { 0 };
	struct kvm_run *run;
	struct test_vm t;
	u32 err;

	no_sev.sev_max_asid = 4; /* SEV-ES ASIDs 1..4 only */
	no_sev.sev_min_asid = 5;
	typed_vm(&t, KVM_X86_DEFAULT_VM, false, false);
	assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_VM_TYPES),
			 BIT(KVM_X86_DEFAULT_VM) | BIT(KVM_X86_SEV_VM) | BIT(KVM_X86_SEV_ES_VM));
	/* KVM_SEV_INIT2 is for typed VMs only. */
	assert_int_equal(op(&t, KVM_SEV_INIT2, &init, &err), -EINVAL);
	test_vm_destroy(&t);

	cfg.vm_type = KVM_X86_SEV_ES_VM;
	assert_int_equal(try_create(&no_es, &cfg), -EINVAL); /* default host: no SEV-ES ASIDs */
	cfg.vm_type = KVM_X86_SEV_VM;
	assert_int_equal(try_create(&no_es, &cfg), 0);
	assert_int_equal(try_create(&no_sev, &cfg), -EINVAL);
	cfg.vm_type = KVM_X86_SEV_ES_VM;
	assert_int_equal(try_create(&no_sev, &cfg), 0);
	cfg.vm_type = KVM_X86_SW_PROTECTED_VM;
	assert_int_equal(try_create(&launch_host, &cfg), -EINVAL);
	cfg.vm_type = KVM_X86_SNP_VM;
	assert_int_equal(try_create(&launch_host, &cfg), -EINVAL);
	cfg.vm_type = 32;
	assert_int_equal(try_create(&launch_host, &cfg), -EINVAL);

	/* The type says SEV or SEV-ES; the config's flag must agree. */
	cfg.vm_type = KVM_X86_SEV_VM;
	cfg.sev_es = true;
	assert_int_equal(try_create(&launch_host, &cfg), -EINVAL);
	cfg.vm_type = KVM_X86_SEV_ES_VM;
	cfg.sev_es = false;
	cfg.sev = true;
	assert_int_equal(try_create(&launch_host, &cfg), -EINVAL);
	/* INIT2's argument: flags, VMSA features (none supported), GHCB version. */
	cfg.sev = false;
	cfg.sev_es = true;
	cfg.sev_init.flags = 1;
	assert_int_equal(try_create(&launch_host, &cfg), -EINVAL);
	cfg.sev_init.flags = 0;
	cfg.sev_init.vmsa_features = 1;
	assert_int_equal(try_create(&launch_host, &cfg), -EINVAL);
	cfg.sev_init.vmsa_features = 0;
	cfg.sev_init.ghcb_version = 3;
	assert_int_equal(try_create(&launch_host, &cfg), -EINVAL);
	cfg.sev_init.ghcb_version = 2;
	assert_int_equal(try_create(&launch_host, &cfg), 0);
	cfg.vm_type = KVM_X86_SEV_VM; /* plain SEV speaks no GHCB */
	cfg.sev_es = false;
	cfg.sev = true;
	cfg.sev_init.ghcb_version = 1;
	assert_int_equal(try_create(&launch_host, &cfg), -EINVAL);

	/*
	 * A typed VM left uninitialized: KVM_RUN is -EINVAL (svm_vcpu_pre_run());
	 * INIT2 reads its argument before it finds the vCPUs (-EFAULT, then
	 * -EINVAL); legacy INIT refuses the type.
	 */
	typed_vm(&t, KVM_X86_SEV_ES_VM, false, false);
	assert_int_equal(mmusim_vcpu_run(mmusim_vm_vcpu(t.vm, 0)), -EINVAL);
	assert_int_equal(op(&t, KVM_SEV_INIT2, NULL, &err), -EFAULT);
	assert_int_equal(op(&t, KVM_SEV_INIT2, &init, &err), -EINVAL);
	assert_int_equal(op(&t, KVM_SEV_INIT, NULL, &err), -EINVAL);
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_START, NULL, &err), -ENOTTY);
	test_vm_destroy(&t);

	/* Initialized by INIT2: no second INIT2, and it runs. */
	typed_vm(&t, KVM_X86_SEV_VM, true, false);
	assert_int_equal(op(&t, KVM_SEV_INIT2, &init, &err), -EINVAL);
	run = mmusim_vcpu_kvm_run(mmusim_vm_vcpu(t.vm, 0));
	assert_int_equal(mmusim_vcpu_run(mmusim_vm_vcpu(t.vm, 0)), 0);
	assert_int_not_equal(run->exit_reason, KVM_EXIT_FAIL_ENTRY);
	test_vm_destroy(&t);
}

/* kvm_arch_has_readonly_mem(): no read-only memslots for a VM with protected state. */
static void test_protected_vm_no_readonly_mem(void **state)
{
	static const u32 types[] = { KVM_X86_SEV_VM, KVM_X86_SEV_ES_VM };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		bool prot = types[i] == KVM_X86_SEV_ES_VM;
		struct kvm_userspace_memory_region ro = {
			.slot = 1,
			.flags = KVM_MEM_READONLY,
			.guest_phys_addr = 4 * MiB,
			.memory_size = 2 * MiB,
		};
		struct test_vm t;

		typed_vm(&t, types[i], !prot, prot);
		ro.userspace_addr = t.hva;
		assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_READONLY_MEM), !prot);
		assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &ro), prot ? -EINVAL : 0);
		test_vm_destroy(&t);
	}
}

/* ======================== SEV-ES register protection ======================== */

static void get_regs_rip(struct test_vm *t, int vcpu, int want_r, u64 want_rip)
{
	struct kvm_regs regs = { 0 };

	assert_int_equal(mmusim_vcpu_get_regs(mmusim_vm_vcpu(t->vm, vcpu), &regs), want_r);
	if (!want_r)
		assert_int_equal(regs.rip, want_rip);
}

/*
 * After LAUNCH_UPDATE_VMSA (§8.3): a KVM_X86_SEV_ES_VM's register calls are
 * -EINVAL; a legacy ES_INIT guest's succeed on KVM's stale copy, and a set
 * changes nothing the guest runs with.  Neither can be reset (load a new
 * program) or debugged.  Both VM types launch the same way.
 *
 *   gpa:  0 .. 12K  the launched image   12K  the secret   32K  the guest's store
 *         2M  slot 0's end
 */
static void test_es_register_protection(void **state)
{
	struct kvm_guest_debug gdbg = { .control = KVM_GUESTDBG_ENABLE };
	struct mmusim_insn prog[] = {
		{ .op = MMUSIM_INSN_MOV_IMM, .reg = MMUSIM_REG_RAX, .imm = 0x77 },
		{ .op = MMUSIM_INSN_STORE, .reg = MMUSIM_REG_RAX, .len = 8, .gpa = 0x8000 },
		{ .op = MMUSIM_INSN_HLT },
	};
	int type;

	for (type = 0; type < 2; type++) {
		bool init2 = type == 1;
		struct kvm_debugregs dr = { .dr7 = 0x400 };
		struct kvm_regs regs;
		struct mmusim_vcpu *v;
		struct kvm_run *run;
		struct test_vm t;
		u64 rax = 0;
		u8 m[48];
		int i;

		typed_vm(&t, init2 ? KVM_X86_SEV_ES_VM : KVM_X86_DEFAULT_VM, false, true);
		v = mmusim_vm_vcpu(t.vm, 0);
		run = mmusim_vcpu_kvm_run(v);
		assert_int_equal(mmusim_vcpu_load_program(v, prog, ARRAY_SIZE(prog)), 0);
		write_image(&t, 3);
		for (i = 0; i < NR_VCPUS; i++)
			set_rip(&t, i, i ? 0xfff0 + i : 0);
		assert_int_equal(mmusim_vcpu_set_debugregs(v, &dr), 0);
		/* Before the VMSA exists, an ES vCPU cannot enter. */
		assert_int_equal(mmusim_vcpu_run(v), 0);
		assert_int_equal(run->exit_reason, KVM_EXIT_FAIL_ENTRY);
		assert_int_equal(run->fail_entry.hardware_entry_failure_reason, (u64)-1);
		full_launch(&t, true, SEV_POLICY_ES, m);

		if (init2) {
			get_regs_rip(&t, 1, -EINVAL, 0);
			assert_int_equal(mmusim_vcpu_set_regs(v, &regs), -EINVAL);
			assert_int_equal(mmusim_vcpu_get_debugregs(v, &dr), -EINVAL);
			assert_int_equal(mmusim_vcpu_set_debugregs(v, &dr), -EINVAL);
		} else {
			/* Lax: KVM's copy, as the VMSA update left it. */
			get_regs_rip(&t, 1, 0, 0xfff1);
			memset(&regs, 0, sizeof(regs));
			regs.rip = 0x1234;
			regs.rax = 0xbad;
			assert_int_equal(mmusim_vcpu_set_regs(v, &regs), 0);
			get_regs_rip(&t, 0, 0, 0x1234);
			assert_int_equal(mmusim_vcpu_get_debugregs(v, &dr), 0);
			assert_int_equal(mmusim_vcpu_set_debugregs(v, &dr), 0);
		}
		/* Neither a reset nor guest debugging. */
		assert_int_equal(mmusim_vcpu_load_program(v, prog, ARRAY_SIZE(prog)), -EINVAL);
		assert_int_equal(mmusim_vcpu_set_guest_debug(v, &gdbg), -EINVAL);

		/* The guest runs from its VMSA's RIP 0, whatever the host "set". */
		assert_int_equal(mmusim_vcpu_run(v), 0);
		assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
		assert_int_equal(mmusim_vcpu_read(v, 0x8000, &rax, sizeof(rax)), 0);
		assert_int_equal(rax, 0x77);
		if (!init2) {
			/* ... and KVM's copy still holds the stale set. */
			assert_int_equal(mmusim_vcpu_get_regs(v, &regs), 0);
			assert_int_equal(regs.rax, 0xbad);
		}
		test_vm_check(&t);
		test_vm_destroy(&t);
	}
}

/*
 * A vCPU created after LAUNCH_UPDATE_VMSA has no encrypted VMSA: it cannot
 * enter as ES, and no later update can give it one (the protected vCPUs
 * before it make KVM refuse, the firmware's state would too).  The launched
 * vCPUs run on; KVM_SEV_INIT after it sees the vCPUs.
 */
static void test_vcpu_after_vmsa(void **state)
{
	struct mmusim_insn hlt = { .op = MMUSIM_INSN_HLT };
	struct mmusim_vcpu *late;
	struct test_vm t;
	u32 err;
	u8 m[48];

	launch_vm(&t, false, true);
	write_image(&t, 5);
	assert_int_equal(mmusim_vcpu_load_program(mmusim_vm_vcpu(t.vm, 0), &hlt, 1), 0);
	full_launch(&t, true, SEV_POLICY_ES, m);
	assert_int_equal(mmusim_vm_create_vcpu(t.vm, &late), 0);
	assert_int_equal(mmusim_vcpu_load_program(late, &hlt, 1), 0);
	assert_int_equal(mmusim_vcpu_run(late), 0);
	assert_int_equal(mmusim_vcpu_kvm_run(late)->exit_reason, KVM_EXIT_FAIL_ENTRY);
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_UPDATE_VMSA, NULL, &err), -EINVAL);
	assert_int_equal(mmusim_vcpu_run(late), 0);
	assert_int_equal(mmusim_vcpu_kvm_run(late)->exit_reason, KVM_EXIT_FAIL_ENTRY);
	assert_int_equal(mmusim_vcpu_run(mmusim_vm_vcpu(t.vm, 0)), 0);
	assert_int_equal(mmusim_vcpu_kvm_run(mmusim_vm_vcpu(t.vm, 0))->exit_reason, KVM_EXIT_HLT);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * LAUNCH_UPDATE_VMSA refuses a vCPU being debugged: guest debug, or DR7
 * breakpoints.  The vCPUs before it are encrypted already, and a retry
 * fails on the first of them (guest_state_protected), as in 6.12: a failed
 * update cannot be completed.
 */
static void test_vmsa_debug_state(void **state)
{
	struct kvm_guest_debug gdbg = { .control = KVM_GUESTDBG_ENABLE };
	struct kvm_debugregs dr = { .dr7 = 0x401 }; /* L0: breakpoint 0 enabled */
	struct mmusim_sev_stats st;
	struct test_vm t;
	u32 err;

	launch_vm(&t, false, true);
	write_image(&t, 4);
	assert_int_equal(launch_start(&t, SEV_POLICY_ES, &err), 0);
	assert_int_equal(mmusim_vcpu_set_debugregs(mmusim_vm_vcpu(t.vm, 2), &dr), 0);
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_UPDATE_VMSA, NULL, &err), -EINVAL);
	assert_int_equal(mmusim_vm_sev_get_stats(t.vm, &st), 0);
	assert_int_equal(st.vmsa_protected, 2);
	dr.dr7 = 0x400;
	assert_int_equal(mmusim_vcpu_set_debugregs(mmusim_vm_vcpu(t.vm, 2), &dr), 0);
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_UPDATE_VMSA, NULL, &err), -EINVAL);
	assert_int_equal(mmusim_vm_sev_get_stats(t.vm, &st), 0);
	assert_int_equal(st.vmsa_protected, 2);
	test_vm_destroy(&t);

	launch_vm(&t, false, true);
	assert_int_equal(launch_start(&t, SEV_POLICY_ES, &err), 0);
	assert_int_equal(mmusim_vcpu_set_guest_debug(mmusim_vm_vcpu(t.vm, 0), &gdbg), 0);
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_UPDATE_VMSA, NULL, &err), -EINVAL);
	gdbg.control = 0;
	assert_int_equal(mmusim_vcpu_set_guest_debug(mmusim_vm_vcpu(t.vm, 0), &gdbg), 0);
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_UPDATE_VMSA, NULL, &err), 0);
	assert_int_equal(mmusim_vm_sev_get_stats(t.vm, &st), 0);
	assert_int_equal(st.vmsa_protected, NR_VCPUS);
	test_vm_destroy(&t);
}

/*
 * The full SEV-ES launch of a 4-vCPU guest under each pinning strategy,
 * then a run of every vCPU and a host migration pass over all guest memory:
 * the launched image, the secret and what the guest wrote afterwards
 * survive, and the checker reports nothing.  Up-front and memslot pinning
 * register all RAM first (REG_REGION: the pin, or only the charge); the
 * SPTE-bit design pins what LAUNCH_UPDATE_DATA and the faults map, which
 * leaves LAUNCH_SECRET's page movable until the guest touches it: the one
 * loss of this test, reported.
 *
 *   gpa  0 .. 12K image   12K secret   1M the guest's write   2M end
 */
static void test_es_launch_per_strategy(void **state)
{
	static const enum mmusim_sev_pin_strategy strategies[] = { MMUSIM_SEV_PIN_UPFRONT,
								   MMUSIM_SEV_PIN_SPTE,
								   MMUSIM_SEV_PIN_MEMSLOT };
	struct mmusim_insn hlt = { .op = MMUSIM_INSN_HLT };
	static const char later[] = "written by the guest after the launch";
	unsigned int k;

	for (k = 0; k < ARRAY_SIZE(strategies); k++) {
		struct test_vm_opts o = { .size = 2 * MiB, .hcfg = &launch_host };
		struct kvm_enc_region r;
		char got[sizeof(later)];
		struct test_vm t;
		u64 moved;
		u8 m[48];
		int i;

		o.cfg.sev_es = true;
		o.cfg.nr_vcpus = NR_VCPUS;
		o.cfg.sev_pin = strategies[k];
		test_vm_create(&t, &o);
		if (strategies[k] != MMUSIM_SEV_PIN_SPTE) {
			r.addr = t.hva;
			r.size = 2 * MiB;
			assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, &r), 0);
		}
		write_image(&t, 7);
		for (i = 0; i < NR_VCPUS; i++)
			assert_int_equal(mmusim_vcpu_load_program(mmusim_vm_vcpu(t.vm, i), &hlt, 1),
					 0);
		full_launch(&t, true, SEV_POLICY_ES, m);
		for (i = 0; i < NR_VCPUS; i++) {
			struct mmusim_vcpu *v = mmusim_vm_vcpu(t.vm, i);

			assert_int_equal(mmusim_vcpu_run(v), 0);
			assert_int_equal(mmusim_vcpu_kvm_run(v)->exit_reason, KVM_EXIT_HLT);
		}
		assert_int_equal(
			mmusim_vcpu_write(mmusim_vm_vcpu(t.vm, 2), MiB, later, sizeof(later)), 0);
		/* What the host cannot move it skips: only unpinned pages move. */
		sim_migrate_range(t.mm, t.hva, 2 * MiB, &moved);
		assert_int_equal(mmusim_vcpu_read(mmusim_vm_vcpu(t.vm, 3), MiB, got, sizeof(got)),
				 0);
		assert_memory_equal(got, later, sizeof(later));
		if (strategies[k] != MMUSIM_SEV_PIN_SPTE) {
			assert_int_equal(moved, 0);
			check_launched(&t, 7);
			assert_int_equal(mmusim_vm_sev_get_reports(t.vm, NULL, 0), 0);
		} else {
			struct mmusim_sev_report rep;
			u8 secret[16];

			/*
			 * The RFC pins LAUNCH_UPDATE_DATA's pages through the MMU, but
			 * LAUNCH_SECRET's page only for the command: until the guest
			 * faults it, the host may move it, and the secret is lost.
			 */
			assert_int_equal(moved, 1);
			assert_int_equal(mmusim_vm_sev_get_reports(t.vm, &rep, 1), 1);
			assert_int_equal(rep.kind, MMUSIM_SEV_MOVED);
			assert_int_equal(mmusim_vcpu_read(mmusim_vm_vcpu(t.vm, 1), SECRET_GPA,
							  secret, sizeof(secret)),
					 0);
			assert_memory_not_equal(secret, secret16, sizeof(secret));
		}
		test_vm_check(&t);
		test_vm_destroy(&t);
	}
}

/* Two launches of one image measure the same; any change to data or a VMSA does not. */
static void test_measurement(void **state)
{
	u8 m[5][48];
	struct test_vm t;
	int i;

	for (i = 0; i < 5; i++) {
		launch_vm(&t, false, true);
		write_image(&t, i == 2 ? 9 : 2);
		set_rip(&t, 3, i == 3 ? 0x1234 : 0xfff0);
		full_launch(&t, true, SEV_POLICY_ES | (i == 4 ? SEV_POLICY_NODBG : 0), m[i]);
		test_vm_destroy(&t);
	}
	assert_memory_equal(m[0], m[1], 48); /* same image, same VMSAs */
	assert_memory_not_equal(m[0], m[2], 32); /* other data */
	assert_memory_not_equal(m[0], m[3], 32); /* one VMSA's RIP */
	assert_memory_not_equal(m[0], m[4], 32); /* the policy */
	/* The SEV (no VMSA) measurement of the same data differs too. */
	launch_vm(&t, true, false);
	write_image(&t, 2);
	full_launch(&t, false, 0, m[2]);
	test_vm_destroy(&t);
	assert_memory_not_equal(m[0], m[2], 32);
}

/* ======================== the firmware's state machine ======================== */

enum { ST_LUPDATE, ST_LSECRET, ST_RUNNING };
enum { C_UPDATE_DATA, C_UPDATE_VMSA, C_MEASURE, C_SECRET, C_FINISH, C_STATUS, C_DBG };

static const char *const st_name[] = { "LUPDATE", "LSECRET", "RUNNING" };
static const char *const c_name[] = { "LAUNCH_UPDATE_DATA", "LAUNCH_UPDATE_VMSA", "LAUNCH_MEASURE",
				      "LAUNCH_SECRET",	    "LAUNCH_FINISH",	  "GUEST_STATUS",
				      "DBG_DECRYPT" };

static int issue(struct test_vm *t, int c, u32 *err)
{
	struct kvm_sev_dbg dbg = { .src_uaddr = t->hva, .dst_uaddr = t->hva + MiB, .len = 32 };
	struct kvm_sev_guest_status st;
	u32 len = 48;
	u8 m[48];

	switch (c) {
	case C_UPDATE_DATA:
		return update_data(t, t->hva, PAGE_SIZE, err);
	case C_UPDATE_VMSA:
		return op(t, KVM_SEV_LAUNCH_UPDATE_VMSA, NULL, err);
	case C_MEASURE:
		return measure(t, m, &len, err);
	case C_SECRET:
		return inject_secret(t, err);
	case C_FINISH:
		return op(t, KVM_SEV_LAUNCH_FINISH, NULL, err);
	case C_STATUS:
		return op(t, KVM_SEV_GUEST_STATUS, &st, err);
	default:
		return op(t, KVM_SEV_DBG_DECRYPT, &dbg, err);
	}
}

/* Every command in every launch state: 0, or -EIO with SEV_RET_INVALID_GUEST_STATE. */
static void test_state_machine(void **state)
{
	static const struct {
		int st, cmd;
		bool ok;
	} rows[] = {
		{ ST_LUPDATE, C_UPDATE_DATA, true },  { ST_LUPDATE, C_UPDATE_VMSA, true },
		{ ST_LUPDATE, C_MEASURE, true },      { ST_LUPDATE, C_SECRET, false },
		{ ST_LUPDATE, C_FINISH, false },      { ST_LUPDATE, C_STATUS, true },
		{ ST_LUPDATE, C_DBG, true },	      { ST_LSECRET, C_UPDATE_DATA, false },
		{ ST_LSECRET, C_UPDATE_VMSA, false }, { ST_LSECRET, C_MEASURE, false },
		{ ST_LSECRET, C_SECRET, true },	      { ST_LSECRET, C_FINISH, true },
		{ ST_LSECRET, C_STATUS, true },	      { ST_LSECRET, C_DBG, true },
		{ ST_RUNNING, C_UPDATE_DATA, false }, { ST_RUNNING, C_UPDATE_VMSA, false },
		{ ST_RUNNING, C_MEASURE, false },     { ST_RUNNING, C_SECRET, false },
		{ ST_RUNNING, C_FINISH, false },      { ST_RUNNING, C_STATUS, true },
		{ ST_RUNNING, C_DBG, true },
	};
	long fw = mmusim_sev_fw_guests();
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct test_vm t;
		u32 err, len = 48;
		u8 m[48];
		int r;

		launch_vm(&t, false, true);
		assert_int_equal(launch_start(&t, SEV_POLICY_ES, &err), 0);
		if (rows[i].st >= ST_LSECRET)
			assert_int_equal(measure(&t, m, &len, &err), 0);
		if (rows[i].st >= ST_RUNNING)
			assert_int_equal(op(&t, KVM_SEV_LAUNCH_FINISH, NULL, &err), 0);
		r = issue(&t, rows[i].cmd, &err);
		if ((r != 0) == rows[i].ok ||
		    (!rows[i].ok && (r != -EIO || err != SEV_RET_INVALID_GUEST_STATE)))
			fail_msg("%s in %s: %d (error %u)", c_name[rows[i].cmd],
				 st_name[rows[i].st], r, err);
		if (rows[i].ok)
			assert_int_equal(err, 0);
		/* A refused command changes nothing: the state is the same. */
		if (!rows[i].ok)
			assert_int_equal(status(&t).state, rows[i].st + 1);
		test_vm_destroy(&t);
	}
	assert_int_equal(mmusim_sev_fw_guests(), fw);
}

/*
 * Before LAUNCH_START there is no context (UNINIT): KVM issues the
 * commands on sev->fd, still 0, which is not /dev/sev: -EBADF (6.12).
 */
static void test_uninit(void **state)
{
	struct test_vm t;
	u32 err;
	int c;

	launch_vm(&t, false, true);
	for (c = C_UPDATE_DATA; c <= C_DBG; c++) {
		if (issue(&t, c, &err) != -EBADF)
			fail_msg("%s in UNINIT: not -EBADF", c_name[c]);
	}
	/* ... and LAUNCH_START needs the caller's /dev/sev. */
	{
		struct kvm_sev_launch_start p = { .policy = SEV_POLICY_ES };
		struct kvm_sev_cmd cmd = { .id = KVM_SEV_LAUNCH_START,
					   .data = (u64)(unsigned long)&p,
					   .sev_fd = 0 };

		assert_int_equal(mmusim_vm_memory_encrypt_op(t.vm, &cmd), -EBADF);
	}
	test_vm_destroy(&t);
}

/* ======================== DBG_DECRYPT / DBG_ENCRYPT ======================== */

static int dbg(struct test_vm *t, u32 id, u64 src, u64 dst, u32 len, u32 *err)
{
	struct kvm_sev_dbg d = { .src_uaddr = src, .dst_uaddr = dst, .len = len };

	return op(t, id, &d, err);
}

/* A debuggable guest: DBG_DECRYPT reads plaintext, DBG_ENCRYPT writes the guest's. */
static void test_dbg(void **state)
{
	static const char msg[] = "written by DBG_ENCRYPT, across a page boundary";
	u8 got[sizeof(msg)], want[100];
	u64 scratch, enc_at;
	struct test_vm t;
	unsigned int i;
	u32 err;

	launch_vm(&t, true, false);
	write_image(&t, 3);
	assert_int_equal(launch_start(&t, 0, &err), 0);
	assert_int_equal(update_data(&t, t.hva, IMAGE_PAGES * PAGE_SIZE, &err), 0);
	/* Decrypt 100 bytes straddling pages 0 and 1 into plain host memory. */
	scratch = t.hva + MiB;
	assert_int_equal(
		dbg(&t, KVM_SEV_DBG_DECRYPT, t.hva + PAGE_SIZE - 50, scratch + 3, 100, &err), 0);
	for (i = 0; i < 100; i++)
		want[i] = (u8)((PAGE_SIZE - 50 + i) * 7 + 3);
	assert_int_equal(sim_mm_read(t.mm, scratch + 3, got, 40), 0);
	assert_memory_equal(got, want, 40);
	/* Encrypt host plaintext into guest memory: the guest reads it back. */
	enc_at = t.hva + 2 * PAGE_SIZE - 20;
	assert_int_equal(sim_mm_write(t.mm, scratch, msg, sizeof(msg)), 0);
	assert_int_equal(dbg(&t, KVM_SEV_DBG_ENCRYPT, scratch, enc_at, sizeof(msg), &err), 0);
	assert_int_equal(
		mmusim_vcpu_read(mmusim_vm_vcpu(t.vm, 0), 2 * PAGE_SIZE - 20, got, sizeof(got)), 0);
	assert_memory_equal(got, msg, sizeof(msg));
	assert_int_equal(sim_mm_read(t.mm, enc_at, got, sizeof(got)), 0);
	assert_memory_not_equal(got, msg, sizeof(msg));
	/* KVM's own checks come first. */
	assert_int_equal(dbg(&t, KVM_SEV_DBG_DECRYPT, t.hva, scratch, 0, &err), -EINVAL);
	assert_int_equal(dbg(&t, KVM_SEV_DBG_DECRYPT, ~0ULL - 8, scratch, 16, &err), -EINVAL);
	assert_int_equal(dbg(&t, KVM_SEV_DBG_ENCRYPT, scratch, 0, 16, &err), -EINVAL);
	assert_int_equal(dbg(&t, KVM_SEV_DBG_DECRYPT, 0x100000000ULL, scratch, 16, &err), -ENOMEM);
	assert_int_equal(op(&t, KVM_SEV_DBG_DECRYPT, test_bad_ptr(), &err), -EFAULT);
	test_vm_destroy(&t);
}

/* NODBG (policy bit 0): the firmware refuses both, in every state. */
static void test_nodbg(void **state)
{
	struct test_vm t;
	u8 m[48];
	u32 err, len = 48;
	int id;

	launch_vm(&t, false, true);
	assert_int_equal(launch_start(&t, SEV_POLICY_ES | SEV_POLICY_NODBG, &err), 0);
	for (id = KVM_SEV_DBG_DECRYPT; id <= KVM_SEV_DBG_ENCRYPT; id++) {
		assert_int_equal(dbg(&t, id, t.hva, t.hva + MiB, 16, &err), -EIO);
		assert_int_equal(err, SEV_RET_POLICY_FAILURE);
	}
	assert_int_equal(measure(&t, m, &len, &err), 0);
	assert_int_equal(dbg(&t, KVM_SEV_DBG_DECRYPT, t.hva, t.hva + MiB, 16, &err), -EIO);
	assert_int_equal(err, SEV_RET_POLICY_FAILURE);
	test_vm_destroy(&t);
}

/*
 * The ciphertext LAUNCH_UPDATE_DATA made is bound to its frames: the pin
 * ends with the command, so a page the host then moves decrypts to
 * garbage (the checker names it, gfn ~0: the firmware knows no gfns); with
 * the range registered first (REG_REGION), the host cannot move it.
 */
static void test_launched_pages_bound(void **state)
{
	u8 want[PAGE_SIZE], got[PAGE_SIZE];
	struct kvm_enc_region r;
	struct mmusim_sev_report rep;
	struct test_vm t;
	unsigned int i;
	u32 err;

	for (i = 0; i < PAGE_SIZE; i++)
		want[i] = (u8)(i * 7 + 5);
	launch_vm(&t, true, false);
	write_image(&t, 5);
	assert_int_equal(launch_start(&t, 0, &err), 0);
	assert_int_equal(update_data(&t, t.hva, PAGE_SIZE, &err), 0);
	assert_int_equal(sim_migrate_page(t.mm, t.hva), 0);
	assert_int_equal(mmusim_vcpu_read(mmusim_vm_vcpu(t.vm, 0), 0, got, sizeof(got)), 0);
	assert_memory_not_equal(got, want, 64);
	assert_int_equal(mmusim_vm_sev_get_reports(t.vm, &rep, 1), 1);
	assert_int_equal(rep.kind, MMUSIM_SEV_MOVED);
	assert_int_equal(rep.gfn, ~0ULL);
	test_vm_destroy(&t);

	launch_vm(&t, true, false);
	write_image(&t, 5);
	r.addr = t.hva;
	r.size = 2 * MiB;
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, &r), 0);
	assert_int_equal(launch_start(&t, 0, &err), 0);
	assert_int_equal(update_data(&t, t.hva, PAGE_SIZE, &err), 0);
	assert_int_equal(sim_migrate_page(t.mm, t.hva), -EBUSY);
	assert_int_equal(mmusim_vcpu_read(mmusim_vm_vcpu(t.vm, 0), 0, got, sizeof(got)), 0);
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(mmusim_vm_sev_get_reports(t.vm, NULL, 0), 0);
	test_vm_destroy(&t);
}

/*
 * With the SPTE-bit strategy (the pinned-SPTE RFC's patch 8/8),
 * LAUNCH_UPDATE_DATA faults the range in through vCPU 0: the SPTEs hold the
 * pins, no REG_REGION needed, nothing charged, and the launched pages stay
 * put under host migration.  -ERESTARTSYS on a pending signal; a read-only
 * slot (flash) is faulted as a read; a range in no memslot is -EFAULT.
 *
 *   gpa  0 .. 12K image   ...  2M end of slot 0      4M .. 4M+8K slot 1 (read-only)
 */
static void test_launch_pins_in_mmu(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB, .hcfg = &launch_host };
	struct mmusim_sev_stats st;
	hva_t flash, nomem;
	struct test_vm t;
	u8 m[48];
	u32 err;

	o.cfg.sev = true;
	o.cfg.nr_vcpus = NR_VCPUS;
	o.cfg.sev_pin = MMUSIM_SEV_PIN_SPTE;
	test_vm_create(&t, &o);
	write_image(&t, 6);
	assert_int_equal(sim_mmap(t.mm, 0, 2 * PAGE_SIZE, SIM_PROT_READ | SIM_PROT_WRITE,
				  SIM_MAP_PRIVATE, &flash),
			 0);
	/* Both pages written: an untouched one would be read-faulted to the zero page. */
	assert_int_equal(sim_mm_write(t.mm, flash, "OVMF", 4), 0);
	assert_int_equal(sim_mm_write(t.mm, flash + PAGE_SIZE, "VARS", 4), 0);
	{
		struct kvm_userspace_memory_region ro = {
			.slot = 1,
			.flags = KVM_MEM_READONLY,
			.guest_phys_addr = 4 * MiB,
			.memory_size = 2 * PAGE_SIZE,
			.userspace_addr = flash,
		};

		assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &ro), 0);
	}
	assert_int_equal(sim_mmap(t.mm, 0, PAGE_SIZE, SIM_PROT_READ | SIM_PROT_WRITE,
				  SIM_MAP_PRIVATE, &nomem),
			 0);
	assert_int_equal(launch_start(&t, 0, &err), 0);
	/* A pending signal stops the faulting loop. */
	assert_int_equal(sim_mm_set_signal(t.mm, SIM_SIGNAL_PENDING), 0);
	assert_int_equal(update_data(&t, t.hva, PAGE_SIZE, &err), -ERESTARTSYS);
	assert_int_equal(sim_mm_set_signal(t.mm, SIM_SIGNAL_NONE), 0);
	assert_int_equal(update_data(&t, nomem, PAGE_SIZE, &err), -EFAULT);
	assert_int_equal(update_data(&t, flash, 2 * PAGE_SIZE, &err), 0);
	assert_int_equal(mmusim_vm_sev_get_stats(t.vm, &st), 0);
	assert_int_equal(st.pages_pinned, 2);
	/* The rest of the launch, the image through the MMU too. */
	assert_int_equal(update_data(&t, t.hva, IMAGE_PAGES * PAGE_SIZE, &err), 0);
	assert_int_equal(mmusim_vm_sev_get_stats(t.vm, &st), 0);
	assert_int_equal(st.pages_pinned, 2 + IMAGE_PAGES);
	assert_int_equal(st.pages_locked, 0);
	assert_int_equal(sim_migrate_page(t.mm, t.hva + PAGE_SIZE), -EBUSY);
	assert_int_equal(measure(&t, m, &(u32){ 48 }, &err), 0);
	assert_int_equal(inject_secret(&t, &err), 0);
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_FINISH, NULL, &err), 0);
	check_launched(&t, 6);
	assert_int_equal(mmusim_vm_sev_get_reports(t.vm, NULL, 0), 0);
	test_vm_check(&t);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_launch_pins_in_mmu)

/*
 * 6.12's LAUNCH_UPDATE_DATA pins again what REG_REGION pinned, and
 * charges sev->pages_locked again for the command: a VMM whose
 * RLIMIT_MEMLOCK just covers its registered RAM cannot launch into it
 * without CAP_IPC_LOCK.
 */
static void test_update_data_charge(void **state)
{
	struct kvm_enc_region r;
	struct mmusim_sev_stats st;
	struct test_vm t;
	u32 err;

	launch_vm(&t, true, false);
	write_image(&t, 7);
	assert_int_equal(sim_mm_set_memlock_limit(t.mm, 2 * MiB + 2 * PAGE_SIZE), 0);
	r.addr = t.hva;
	r.size = 2 * MiB;
	assert_int_equal(mmusim_vm_memory_encrypt_reg_region(t.vm, &r), 0);
	assert_int_equal(launch_start(&t, 0, &err), 0);
	assert_int_equal(update_data(&t, t.hva, IMAGE_PAGES * PAGE_SIZE, &err), -ENOMEM);
	assert_int_equal(update_data(&t, t.hva, 2 * PAGE_SIZE, &err), 0);
	assert_int_equal(mmusim_vm_sev_get_stats(t.vm, &st), 0);
	assert_int_equal(st.pages_locked, 512); /* the command's charge is gone again */
	assert_int_equal(sim_mm_set_cap_ipc_lock(t.mm, true), 0);
	assert_int_equal(update_data(&t, t.hva, IMAGE_PAGES * PAGE_SIZE, &err), 0);
	test_vm_destroy(&t);
}

/* ======================== what the firmware checks ======================== */

static void test_firmware_codes(void **state)
{
	long fw = mmusim_sev_fw_guests();
	struct kvm_sev_launch_start p = { 0 };
	struct test_vm t, u;
	u32 err, len;
	u8 m[48];

	launch_vm(&t, false, true);
	/* ACTIVATE: an SEV-ES ASID needs an ES policy (the context is decommissioned). */
	assert_int_equal(launch_start(&t, 0, &err), -EIO);
	assert_int_equal(err, SEV_RET_POLICY_FAILURE);
	assert_int_equal(mmusim_sev_fw_guests(), fw);
	/* A policy for a newer firmware API. */
	assert_int_equal(launch_start(&t, SEV_POLICY_ES | (2u << 16), &err), -EIO);
	assert_int_equal(err, SEV_RET_POLICY_FAILURE);
	/* A handle the firmware does not know (key sharing with it). */
	p.handle = 0x7fffffff;
	p.policy = SEV_POLICY_ES;
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_START, &p, &err), -EIO);
	assert_int_equal(err, SEV_RET_INVALID_GUEST);
	assert_int_equal(mmusim_sev_fw_guests(), fw);

	assert_int_equal(launch_start(&t, SEV_POLICY_ES, &err), 0);
	/* A second LAUNCH_START: the ASID is owned, the new context goes. */
	assert_int_equal(launch_start(&t, SEV_POLICY_ES, &err), -EIO);
	assert_int_equal(err, SEV_RET_ASID_OWNED);
	assert_int_equal(mmusim_sev_fw_guests(), fw + 1);
	/* Key sharing with a NOKS guest: policy failure. */
	p.handle = status(&t).handle;
	p.policy = SEV_POLICY_ES | SEV_POLICY_NOKS;
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_START, &p, &err), -EIO);
	assert_int_equal(err, SEV_RET_POLICY_FAILURE);
	/* LAUNCH_UPDATE_DATA: 16-byte address and length. */
	assert_int_equal(update_data(&t, t.hva + 8, 32, &err), -EIO);
	assert_int_equal(err, SEV_RET_INVALID_ADDRESS);
	assert_int_equal(update_data(&t, t.hva, 20, &err), -EIO);
	assert_int_equal(err, SEV_RET_INVALID_LEN);
	/* LAUNCH_MEASURE into a short buffer: INVALID_LEN, and params.len is left alone. */
	len = 16;
	assert_int_equal(measure(&t, m, &len, &err), -EIO);
	assert_int_equal(err, SEV_RET_INVALID_LEN);
	assert_int_equal(len, 16);
	/* A plain SEV guest (SEV ASID) with an ES policy. */
	launch_vm(&u, true, false);
	assert_int_equal(launch_start(&u, SEV_POLICY_ES, &err), -EIO);
	assert_int_equal(err, SEV_RET_POLICY_FAILURE);
	test_vm_destroy(&u);
	test_vm_destroy(&t);
	assert_int_equal(mmusim_sev_fw_guests(), fw);
}

/* ======================== what KVM checks ======================== */

static void test_kvm_errno(void **state)
{
	static const u32 ids[] = { KVM_SEV_LAUNCH_START,       KVM_SEV_LAUNCH_UPDATE_DATA,
				   KVM_SEV_LAUNCH_UPDATE_VMSA, KVM_SEV_LAUNCH_SECRET,
				   KVM_SEV_LAUNCH_MEASURE,     KVM_SEV_LAUNCH_FINISH,
				   KVM_SEV_GUEST_STATUS,       KVM_SEV_DBG_DECRYPT,
				   KVM_SEV_DBG_ENCRYPT };
	long fw = mmusim_sev_fw_guests();
	struct kvm_sev_launch_start p = { .policy = SEV_POLICY_ES };
	struct kvm_sev_launch_start *ro;
	struct kvm_sev_launch_secret sec;
	struct kvm_sev_guest_status st;
	void *bad = test_bad_ptr();
	static u8 big[0x4001];
	struct test_vm t, plain;
	unsigned int i;
	u32 err, len;
	u8 m[48];

	/* Not an SEV guest: every launch command is -ENOTTY. */
	launch_vm(&plain, false, false);
	for (i = 0; i < ARRAY_SIZE(ids); i++)
		assert_int_equal(op(&plain, ids[i], &p, &err), -ENOTTY);
	test_vm_destroy(&plain);

	launch_vm(&t, false, true);
	/* INIT / ES_INIT: already SEV, and vCPUs exist. */
	assert_int_equal(op(&t, KVM_SEV_INIT, NULL, &err), -EINVAL);
	assert_int_equal(op(&t, KVM_SEV_ES_INIT, NULL, &err), -EINVAL);
	/* Unreadable parameters. */
	for (i = 0; i < ARRAY_SIZE(ids); i++)
		if (ids[i] != KVM_SEV_LAUNCH_UPDATE_VMSA && ids[i] != KVM_SEV_LAUNCH_FINISH &&
		    ids[i] != KVM_SEV_GUEST_STATUS)
			assert_int_equal(op(&t, ids[i], bad, &err), -EFAULT);
	/* psp_copy_user_blob(): empty, over 16 KiB, unreadable. */
	p.dh_uaddr = (u64)(unsigned long)big;
	p.dh_len = 0;
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_START, &p, &err), -EINVAL);
	p.dh_len = sizeof(big);
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_START, &p, &err), -EINVAL);
	p.dh_uaddr = (u64)(unsigned long)bad;
	p.dh_len = 16;
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_START, &p, &err), -EFAULT);
	p.dh_uaddr = (u64)(unsigned long)big;
	p.dh_len = 0x4000;
	p.session_uaddr = (u64)(unsigned long)bad;
	p.session_len = 16;
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_START, &p, &err), -EFAULT);
	p.session_uaddr = (u64)(unsigned long)big;
	p.session_len = 0x4001;
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_START, &p, &err), -EINVAL);
	assert_int_equal(mmusim_sev_fw_guests(), fw);
	/* The handle cannot be returned: the bound context is unbound again. */
	ro = test_guarded_buf(sizeof(*ro), PROT_READ | PROT_WRITE);
	memset(ro, 0, sizeof(*ro));
	ro->policy = SEV_POLICY_ES;
	assert_int_equal(mprotect((void *)((unsigned long)ro & ~4095UL), 4096, PROT_READ), 0);
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_START, ro, &err), -EFAULT);
	test_guarded_free(ro, sizeof(*ro));
	assert_int_equal(mmusim_sev_fw_guests(), fw);
	assert_int_equal(op(&t, KVM_SEV_GUEST_STATUS, &st, &err), -EBADF);
	/* A good start with both blobs (the firmware ignores their content). */
	p.session_len = 0x4000;
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_START, &p, &err), 0);
	assert_int_equal(p.handle, status(&t).handle);
	/* GUEST_STATUS into unreadable memory: the firmware answered, the copy fails. */
	assert_int_equal(op(&t, KVM_SEV_GUEST_STATUS, bad, &err), -EFAULT);
	/* sev_pin_memory()'s rules for LAUNCH_UPDATE_DATA; nothing stays pinned. */
	assert_int_equal(update_data(&t, t.hva, 0, &err), -EINVAL);
	assert_int_equal(update_data(&t, ~0ULL - PAGE_SIZE + 1, 2 * PAGE_SIZE, &err), -EINVAL);
	assert_int_equal(update_data(&t, 0x100000000ULL, PAGE_SIZE, &err), -ENOMEM); /* a hole */
	assert_int_equal(update_data(&t, t.hva + 2 * MiB - PAGE_SIZE, 2 * PAGE_SIZE, &err),
			 -ENOMEM);
	assert_int_equal(sim_mm_set_memlock_limit(t.mm, PAGE_SIZE), 0);
	assert_int_equal(update_data(&t, t.hva, 2 * PAGE_SIZE, &err), -ENOMEM); /* RLIMIT_MEMLOCK */
	assert_int_equal(update_data(&t, t.hva, PAGE_SIZE, &err), 0);
	/* LAUNCH_UPDATE_VMSA with guest debug on vCPU 2: -EINVAL. */
	{
		struct kvm_guest_debug dbgc = { .control = KVM_GUESTDBG_ENABLE };

		assert_int_equal(mmusim_vcpu_set_guest_debug(mmusim_vm_vcpu(t.vm, 2), &dbgc), 0);
		assert_int_equal(op(&t, KVM_SEV_LAUNCH_UPDATE_VMSA, NULL, &err), -EINVAL);
		dbgc.control = 0;
		assert_int_equal(mmusim_vcpu_set_guest_debug(mmusim_vm_vcpu(t.vm, 2), &dbgc), 0);
	}
	/* LAUNCH_MEASURE: over 16 KiB is KVM's -EINVAL. */
	{
		struct kvm_sev_launch_measure mp = { .uaddr = (u64)(unsigned long)big,
						     .len = sizeof(big) };

		assert_int_equal(op(&t, KVM_SEV_LAUNCH_MEASURE, &mp, &err), -EINVAL);
	}
	len = 48;
	assert_int_equal(measure(&t, m, &len, &err), 0);
	/* LAUNCH_SECRET: the blob rules, and the pin rules. */
	assert_int_equal(sim_mm_set_memlock_limit(t.mm, 8 * MiB), 0);
	memset(&sec, 0, sizeof(sec));
	sec.guest_uaddr = t.hva + SECRET_GPA;
	sec.guest_len = 16;
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_SECRET, &sec, &err), -EINVAL); /* no trans */
	sec.trans_uaddr = (u64)(unsigned long)secret16;
	sec.trans_len = 16;
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_SECRET, &sec, &err), -EINVAL); /* no hdr */
	sec.hdr_uaddr = (u64)(unsigned long)bad;
	sec.hdr_len = 16;
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_SECRET, &sec, &err), -EFAULT);
	sec.guest_len = 0;
	assert_int_equal(op(&t, KVM_SEV_LAUNCH_SECRET, &sec, &err), -EINVAL);
	assert_int_equal(inject_secret(&t, &err), 0);
	{
		struct mmusim_sev_stats sst;

		assert_int_equal(mmusim_vm_sev_get_stats(t.vm, &sst), 0);
		assert_int_equal(sst.pages_pinned, 0);
		assert_int_equal(sst.pages_locked, 0);
	}
	test_vm_destroy(&t);
	assert_int_equal(mmusim_sev_fw_guests(), fw);
}

/*
 * Every allocation of a launch fails in turn: an errno (or, where the
 * checker's records tolerate a failure, success), and nothing leaks.
 */
static void test_fail_nth(void **state)
{
	long fw = mmusim_sev_fw_guests();
	int n, failed = 0;

	for (n = 1; n < 64; n++) {
		struct test_vm t;
		u8 m[48];
		u32 err = 0, len = 48;
		int r;

		launch_vm(&t, false, true);
		write_image(&t, 4);
		env_fail_nth(n);
		r = launch_start(&t, SEV_POLICY_ES, &err);
		if (!r)
			r = update_data(&t, t.hva, IMAGE_PAGES * PAGE_SIZE, &err);
		if (!r)
			r = op(&t, KVM_SEV_LAUNCH_UPDATE_VMSA, NULL, &err);
		if (!r)
			r = measure(&t, m, &len, &err);
		if (!r)
			r = inject_secret(&t, &err);
		env_fail_clear();
		test_vm_destroy(&t);
		assert_int_equal(mmusim_sev_fw_guests(), fw);
		if (r) {
			assert_true(r == -ENOMEM || (r == -EIO && err == SEV_RET_RESOURCE_LIMIT));
			failed++;
		}
	}
	assert_true(failed > 3);
}

/* ======================== concurrency ======================== */

struct launcher {
	struct test_vm t;
	u8 m[48];
	int r;
};

/* A full SEV-ES launch without asserts (a thread of its own): 0, or the first failure. */
static void *launch_thread(void *arg)
{
	struct launcher *l = arg;
	struct kvm_sev_launch_start st = { .policy = SEV_POLICY_ES };
	struct kvm_sev_launch_update_data ud = { .uaddr = l->t.hva,
						 .len = IMAGE_PAGES * PAGE_SIZE };
	struct kvm_sev_launch_measure lm = { .uaddr = (u64)(unsigned long)l->m, .len = 48 };
	u32 err;

	env_thread_register();
	l->r = op(&l->t, KVM_SEV_LAUNCH_START, &st, &err);
	if (!l->r)
		l->r = op(&l->t, KVM_SEV_LAUNCH_UPDATE_DATA, &ud, &err);
	if (!l->r)
		l->r = op(&l->t, KVM_SEV_LAUNCH_UPDATE_VMSA, NULL, &err);
	if (!l->r)
		l->r = op(&l->t, KVM_SEV_LAUNCH_MEASURE, &lm, &err);
	if (!l->r)
		l->r = inject_secret(&l->t, &err);
	if (!l->r)
		l->r = op(&l->t, KVM_SEV_LAUNCH_FINISH, NULL, &err);
	env_thread_unregister();
	return NULL;
}

/* Four VMs on four hosts launch at once through the one firmware: one image, one measurement. */
static void test_concurrent_launches(void **state)
{
	struct launcher l[4];
	pthread_t th[4];
	long fw = mmusim_sev_fw_guests();
	int i;

	for (i = 0; i < 4; i++) {
		launch_vm(&l[i].t, false, true);
		write_image(&l[i].t, 6);
	}
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, launch_thread, &l[i]), 0);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 4; i++) {
		assert_int_equal(l[i].r, 0);
		assert_memory_equal(l[i].m, l[0].m, 48);
		assert_int_equal(status(&l[i].t).state, MMUSIM_SEV_STATE_RUNNING);
		check_launched(&l[i].t, 6);
	}
	assert_int_equal(mmusim_sev_fw_guests(), fw + 4);
	for (i = 0; i < 4; i++)
		test_vm_destroy(&l[i].t);
	assert_int_equal(mmusim_sev_fw_guests(), fw);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_host_asid_config),
		MMUSIM_TEST(test_asid_ranges),
		MMUSIM_TEST(test_sev_full_launch),
		MMUSIM_TEST(test_sev_es_full_launch),
		MMUSIM_TEST(test_vm_types),
		MMUSIM_TEST(test_protected_vm_no_readonly_mem),
		MMUSIM_TEST(test_es_register_protection),
		MMUSIM_TEST(test_vmsa_debug_state),
		MMUSIM_TEST(test_vcpu_after_vmsa),
		MMUSIM_TEST(test_measurement),
		MMUSIM_TEST(test_state_machine),
		MMUSIM_TEST(test_uninit),
		MMUSIM_TEST(test_dbg),
		MMUSIM_TEST(test_launched_pages_bound),
		MMUSIM_TEST(test_launch_pins_in_mmu),
		MMUSIM_TEST(test_launch_pins_in_mmu_legacy),
		MMUSIM_TEST(test_es_launch_per_strategy),
		MMUSIM_TEST(test_update_data_charge),
		MMUSIM_TEST(test_nodbg),
		MMUSIM_TEST(test_firmware_codes),
		MMUSIM_TEST(test_kvm_errno),
		MMUSIM_TEST(test_fail_nth),
		MMUSIM_TEST(test_concurrent_launches),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("sev_launch", tests);
}
