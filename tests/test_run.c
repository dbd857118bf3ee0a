// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of KVM_RUN (src/vcpu/run.c), Linux 6.12 semantics: the kvm_run
 * page, instruction completion, guest programs, every exit type and its
 * completion on re-entry, immediate_exit, run->flags, the #GP handler, and
 * bus-lock exits (KVM_CAP_X86_BUS_LOCK_EXIT).
 *
 *   memslot 0: gpa 0 .. 2M, 4K anonymous; MMIO_GPA has no memslot
 */
#include <pthread.h>

#include "test_util.h"
#include <mmusim/run.h>
#include "mmu/kvm_host.h"

#define MiB (1ULL << 20)
#define MMIO_GPA (16 * MiB)

#define I_MOV(r, v)                                               \
	{                                                         \
		.op = MMUSIM_INSN_MOV_IMM, .reg = (r), .imm = (v) \
	}
#define I_ADD(r, v)                                               \
	{                                                         \
		.op = MMUSIM_INSN_ADD_IMM, .reg = (r), .imm = (v) \
	}
#define I_LOAD(r, a, l)                                                    \
	{                                                                  \
		.op = MMUSIM_INSN_LOAD, .reg = (r), .gpa = (a), .len = (l) \
	}
#define I_STORE(r, a, l)                                                    \
	{                                                                   \
		.op = MMUSIM_INSN_STORE, .reg = (r), .gpa = (a), .len = (l) \
	}
#define I_LOCK_ADD(r, a, l)                                                    \
	{                                                                      \
		.op = MMUSIM_INSN_LOCK_ADD, .reg = (r), .gpa = (a), .len = (l) \
	}
#define I_RDMSR                         \
	{                               \
		.op = MMUSIM_INSN_RDMSR \
	}
#define I_WRMSR                         \
	{                               \
		.op = MMUSIM_INSN_WRMSR \
	}
#define I_HLT                         \
	{                             \
		.op = MMUSIM_INSN_HLT \
	}
#define I_JMP(t)                                     \
	{                                            \
		.op = MMUSIM_INSN_JMP, .target = (t) \
	}
#define I_JNZ(r, t)                                              \
	{                                                        \
		.op = MMUSIM_INSN_JNZ, .reg = (r), .target = (t) \
	}
#define I_GP_HANDLER(t)                                         \
	{                                                       \
		.op = MMUSIM_INSN_SET_GP_HANDLER, .target = (t) \
	}
#define I_IRET(skip)                                  \
	{                                             \
		.op = MMUSIM_INSN_IRET, .imm = (skip) \
	}

static struct mmusim_vcpu *run_vm(struct test_vm *t, const struct mmusim_vm_config *cfg)
{
	struct test_vm_opts o = { .size = 2 * MiB };

	if (cfg)
		o.cfg = *cfg;
	test_vm_create(t, &o);
	return mmusim_vm_vcpu(t->vm, 0);
}

static struct kvm_regs get_regs(struct mmusim_vcpu *v)
{
	struct kvm_regs regs;

	assert_int_equal(mmusim_vcpu_get_regs(v, &regs), 0);
	return regs;
}

static void load(struct mmusim_vcpu *v, const struct mmusim_insn *prog, u32 n)
{
	assert_int_equal(mmusim_vcpu_load_program(v, prog, n), 0);
}

static u64 guest_u64(struct mmusim_vcpu *v, gpa_t gpa)
{
	u64 val;

	assert_int_equal(mmusim_vcpu_read(v, gpa, &val, sizeof(val)), 0);
	return val;
}

static int sync_regs_cap(struct test_vm *t)
{
	return mmusim_vm_check_extension(t->vm, KVM_CAP_SYNC_REGS);
}

static int enable_bus_lock(struct test_vm *t, u64 mode)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_BUS_LOCK_EXIT, .args[0] = mode };

	return mmusim_vm_enable_cap(t->vm, &cap);
}

/* skip advances RIP by one instruction; #GP is queued with RIP unchanged. */
static void test_run_complete_insn(void **state)
{
	struct kvm_vcpu *vcpu;
	struct test_vm t;

	vcpu = mmusim_to_kvm_vcpu(run_vm(&t, NULL));
	assert_non_null(vcpu->run);
	assert_ptr_equal(mmusim_vcpu_kvm_run(kvm_vcpu_to_mmusim(vcpu)), vcpu->run);
	assert_int_equal((unsigned long)vcpu->run & (PAGE_SIZE - 1), 0);

	kvm_rip_write(vcpu, 5);
	assert_int_equal(kvm_skip_emulated_instruction(vcpu), 1);
	assert_int_equal(kvm_rip_read(vcpu), 6);
	assert_int_equal(kvm_complete_insn_gp(vcpu, 0), 1);
	assert_int_equal(kvm_rip_read(vcpu), 7);
	assert_false(vcpu->arch.exception.pending);

	assert_int_equal(kvm_complete_insn_gp(vcpu, -EINVAL), 1);
	assert_int_equal(kvm_rip_read(vcpu), 7);
	assert_true(vcpu->arch.exception.pending);
	assert_int_equal(vcpu->arch.exception.vector, GP_VECTOR);
	assert_true(vcpu->arch.exception.has_error_code);
	assert_int_equal(vcpu->arch.exception.error_code, 0);

	kvm_inject_gp(vcpu, 0x18);
	assert_int_equal(vcpu->arch.exception.error_code, 0x18);
	test_vm_destroy(&t);
}

/*
 * Registers in guest mode and RAM through the TDP walk; HLT exits with RIP
 * past it, and the next run goes on from there.  Loads zero-extend.
 */
static void test_run_hlt_and_ram(void **state)
{
	static const struct mmusim_insn prog[] = {
		I_MOV(MMUSIM_REG_RAX, 0x1122334455667788ULL),
		I_STORE(MMUSIM_REG_RAX, 0x1000, 8),
		I_LOAD(MMUSIM_REG_RBX, 0x1000, 2),
		I_HLT,
		I_ADD(MMUSIM_REG_RBX, 1),
		I_HLT,
	};
	struct mmusim_vcpu *v;
	struct kvm_regs regs;
	struct kvm_run *run;
	struct test_vm t;

	v = run_vm(&t, NULL);
	run = mmusim_vcpu_kvm_run(v);
	load(v, prog, ARRAY_SIZE(prog));
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(run->flags, 0);
	regs = get_regs(v);
	assert_int_equal(regs.rip, 4);
	assert_int_equal(regs.rbx, 0x7788);
	assert_int_equal(regs.rflags, 0x2);
	assert_int_equal(guest_u64(v, 0x1000), 0x1122334455667788ULL);

	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	regs = get_regs(v);
	assert_int_equal(regs.rip, 6);
	assert_int_equal(regs.rbx, 0x7789);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * KVM_EXIT_MMIO as complete_emulated_mmio() for one fragment: a read exits
 * with RIP at the load and completes on re-entry with run->mmio.data in the
 * register; a write exits with the data and the instruction retired.
 */
static void test_run_mmio(void **state)
{
	static const struct mmusim_insn prog[] = {
		I_LOAD(MMUSIM_REG_RCX, MMIO_GPA + 8, 4),
		I_MOV(MMUSIM_REG_RDX, 0xabcd),
		I_STORE(MMUSIM_REG_RDX, MMIO_GPA + 0x10, 2),
		I_HLT,
	};
	static const struct mmusim_insn ro_prog[] = {
		I_LOAD(MMUSIM_REG_RCX, 4 * MiB, 8),
		I_STORE(MMUSIM_REG_RDX, 4 * MiB + 8, 8),
		I_HLT,
	};
	struct kvm_userspace_memory_region ro = { .slot = 1,
						  .flags = KVM_MEM_READONLY,
						  .guest_phys_addr = 4 * MiB,
						  .memory_size = 2 * MiB };
	struct mmusim_vm_stats st;
	hva_t hva;
	struct mmusim_vcpu *v;
	struct kvm_run *run;
	struct test_vm t;
	u64 data = 0x1122334455667788ULL;

	v = run_vm(&t, NULL);
	run = mmusim_vcpu_kvm_run(v);
	load(v, prog, ARRAY_SIZE(prog));
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(run->mmio.phys_addr, MMIO_GPA + 8);
	assert_int_equal(run->mmio.len, 4);
	assert_int_equal(run->mmio.is_write, 0);
	assert_int_equal(get_regs(v).rip, 0);

	memcpy(run->mmio.data, &data, sizeof(data));
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(get_regs(v).rcx, 0x55667788);
	assert_int_equal(run->mmio.phys_addr, MMIO_GPA + 0x10);
	assert_int_equal(run->mmio.len, 2);
	assert_int_equal(run->mmio.is_write, 1);
	assert_int_equal(run->mmio.data[0], 0xcd);
	assert_int_equal(run->mmio.data[1], 0xab);
	assert_int_equal(run->mmio.data[2], 0);
	assert_int_equal(get_regs(v).rip, 3);

	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(get_regs(v).rcx, 0x55667788);
	assert_int_equal(mmusim_vm_get_stats(t.vm, &st), 0);
	assert_int_equal(st.mmio_exits, 2);
	assert_int_equal(st.halt_exits, 1);
	assert_int_equal(st.signal_exits, 0);

	/* A read-only memslot reads as RAM and exits for writes. */
	assert_int_equal(sim_mmap(t.mm, 0, 2 * MiB, SIM_PROT_READ, SIM_MAP_PRIVATE, &hva), 0);
	ro.userspace_addr = hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &ro), 0);
	load(v, ro_prog, ARRAY_SIZE(ro_prog));
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(run->mmio.phys_addr, 4 * MiB + 8);
	assert_int_equal(run->mmio.is_write, 1);
	assert_int_equal(get_regs(v).rcx, 0);
	assert_int_equal(get_regs(v).rip, 2);
	test_vm_destroy(&t);
}

/*
 * immediate_exit: -EINTR before the guest runs, exit_reason untouched (6.12
 * sets no KVM_EXIT_INTR for it); a pending MMIO completion still runs
 * first.  A signal pending for the VMM is -EINTR with KVM_EXIT_INTR.
 */
static void test_run_immediate_exit_and_signal(void **state)
{
	struct mmusim_vm_stats st;
	static const struct mmusim_insn prog[] = {
		I_LOAD(MMUSIM_REG_RCX, MMIO_GPA, 1),
		I_HLT,
	};
	struct mmusim_vcpu *v;
	struct kvm_run *run;
	struct test_vm t;

	v = run_vm(&t, NULL);
	run = mmusim_vcpu_kvm_run(v);
	load(v, prog, ARRAY_SIZE(prog));
	run->immediate_exit = 1;
	run->exit_reason = 0x77;
	assert_int_equal(mmusim_vcpu_run(v), -EINTR);
	assert_int_equal(run->exit_reason, 0x77);
	assert_int_equal(get_regs(v).rip, 0);

	run->immediate_exit = 0;
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	run->mmio.data[0] = 0x5a;
	run->immediate_exit = 1;
	assert_int_equal(mmusim_vcpu_run(v), -EINTR);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(get_regs(v).rcx, 0x5a); /* completed, not run further */
	assert_int_equal(get_regs(v).rip, 1);

	run->immediate_exit = 0;
	assert_int_equal(sim_mm_set_signal(t.mm, SIM_SIGNAL_PENDING), 0);
	assert_int_equal(mmusim_vcpu_run(v), -EINTR);
	assert_int_equal(run->exit_reason, KVM_EXIT_INTR);
	assert_int_equal(get_regs(v).rip, 1);
	assert_int_equal(mmusim_vm_get_stats(t.vm, &st), 0);
	assert_int_equal(st.signal_exits, 1);
	assert_int_equal(sim_mm_set_signal(t.mm, SIM_SIGNAL_NONE), 0);
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	test_vm_destroy(&t);
}

/*
 * #GP (here from an MSR access with no MSR emulated for it) goes to the
 * guest's handler, which counts in R15 and returns past the faulting
 * instruction; without a handler it is a triple fault, KVM_EXIT_SHUTDOWN.
 * KVM_SET_REGS drops a pending exception.
 */
static void test_run_gp_handler(void **state)
{
	static const struct mmusim_insn prog[] = {
		I_GP_HANDLER(5), I_MOV(MMUSIM_REG_RCX, 0xdeadbeef), /* no such MSR */
		I_RDMSR,	 I_MOV(MMUSIM_REG_RAX, 7),
		I_HLT,		 I_ADD(MMUSIM_REG_R15, 1), /* 5: the #GP handler */
		I_IRET(1),
	};
	static const struct mmusim_insn nohandler[] = {
		I_MOV(MMUSIM_REG_RCX, 0xdeadbeef),
		I_WRMSR,
		I_HLT,
	};
	struct mmusim_vcpu *v;
	struct kvm_regs regs;
	struct kvm_run *run;
	struct test_vm t;

	v = run_vm(&t, NULL);
	run = mmusim_vcpu_kvm_run(v);
	load(v, prog, ARRAY_SIZE(prog));
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	regs = get_regs(v);
	assert_int_equal(regs.r15, 1);
	assert_int_equal(regs.rax, 7);
	assert_int_equal(regs.rip, 5);

	load(v, nohandler, ARRAY_SIZE(nohandler));
	assert_int_equal(get_regs(v).r15, 1); /* loading keeps the registers */
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_SHUTDOWN);
	assert_int_equal(get_regs(v).rip, 1);

	kvm_inject_gp(mmusim_to_kvm_vcpu(v), 0);
	regs = get_regs(v);
	regs.rip = 2;
	assert_int_equal(mmusim_vcpu_set_regs(v, &regs), 0);
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	test_vm_destroy(&t);
}

/* Loops and fetches: JNZ counts down; running off the program is an emulation failure. */
static void test_run_program_end(void **state)
{
	static const struct mmusim_insn prog[] = {
		I_MOV(MMUSIM_REG_RSI, 3),
		I_ADD(MMUSIM_REG_RDI, 2),
		I_ADD(MMUSIM_REG_RSI, -1ULL),
		I_JNZ(MMUSIM_REG_RSI, 1),
	};
	struct mmusim_vcpu *v;
	struct kvm_run *run;
	struct test_vm t;

	v = run_vm(&t, NULL);
	run = mmusim_vcpu_kvm_run(v);
	/* No program yet. */
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_INTERNAL_ERROR);
	assert_int_equal(run->internal.suberror, KVM_INTERNAL_ERROR_EMULATION);

	load(v, prog, ARRAY_SIZE(prog));
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_INTERNAL_ERROR);
	assert_int_equal(run->internal.data[0], 4);
	assert_int_equal(get_regs(v).rdi, 6);
	test_vm_destroy(&t);
}

/* mmusim_vcpu_load_program() validation: a bad program changes nothing. */
static void test_run_load_program_rules(void **state)
{
	static const struct mmusim_insn good[] = { I_MOV(MMUSIM_REG_RAX, 1), I_HLT };
	static const struct mmusim_insn bad[][1] = {
		{ { .op = MMUSIM_INSN_NR } },
		{ { .op = MMUSIM_INSN_MOV_IMM, .reg = MMUSIM_NR_REGS } },
		{ I_LOAD(0, 0, 3) },
		{ I_LOAD(0, 0, 0) },
		{ I_STORE(0, 0xffc, 8) }, /* crosses a page */
		{ I_LOAD(0, ~0ULL - 2, 4) }, /* wraps */
		{ I_LOAD(0, 1ULL << 52, 4) }, /* above the guest's maximum */
		{ I_JMP(1) }, /* past the program */
		{ I_GP_HANDLER(1) },
	};
	static const struct mmusim_insn split_page[] = { I_LOCK_ADD(0, 0xffc, 8) };
	struct mmusim_vcpu *v;
	struct kvm_regs regs;
	struct test_vm t;
	unsigned int i;

	v = run_vm(&t, NULL);
	load(v, good, ARRAY_SIZE(good));
	regs = get_regs(v);
	regs.rip = 1;
	assert_int_equal(mmusim_vcpu_set_regs(v, &regs), 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (mmusim_vcpu_load_program(v, bad[i], 1) != -EINVAL)
			fail_msg("bad program %u loaded", i);
	}
	assert_int_equal(get_regs(v).rip, 1);
	assert_int_equal(mmusim_vcpu_load_program(v, good, MMUSIM_MAX_PROGRAM + 1), -EINVAL);
	assert_int_equal(mmusim_vcpu_load_program(v, split_page, 1), 0);
	assert_int_equal(get_regs(v).rip, 0);
	test_vm_destroy(&t);
}

/*
 * A soft-full dirty ring exits with KVM_EXIT_DIRTY_RING_FULL before the
 * store that filled it retires (KVM checks the request before re-entry);
 * after the harvest and KVM_RESET_DIRTY_RINGS the store runs again.
 *
 *   ring: 4096 bytes = 256 entries, soft limit 192
 */
static void test_run_dirty_ring_full(void **state)
{
	struct mmusim_vm_config cfg = { .dirty_ring_size = 4096 };
	struct kvm_userspace_memory_region r = { .slot = 0,
						 .flags = KVM_MEM_LOG_DIRTY_PAGES,
						 .memory_size = 2 * MiB };
	struct mmusim_insn prog[201];
	struct kvm_dirty_gfn *ring;
	struct mmusim_vcpu *v;
	struct kvm_run *run;
	struct test_vm t;
	u32 n, i;

	v = run_vm(&t, &cfg);
	run = mmusim_vcpu_kvm_run(v);
	r.userspace_addr = t.hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	for (i = 0; i < 200; i++)
		prog[i] = (struct mmusim_insn)I_STORE(MMUSIM_REG_RAX, (u64)i << PAGE_SHIFT, 8);
	prog[200] = (struct mmusim_insn)I_HLT;
	load(v, prog, ARRAY_SIZE(prog));
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_DIRTY_RING_FULL);
	assert_int_equal(get_regs(v).rip, 191);
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_DIRTY_RING_FULL);

	assert_int_equal(mmusim_vcpu_dirty_ring(v, &ring, &n), 0);
	for (i = 0; i < 192; i++) {
		assert_int_equal(ring[i].flags, KVM_DIRTY_GFN_F_DIRTY);
		ring[i].flags = KVM_DIRTY_GFN_F_RESET;
	}
	assert_int_equal(mmusim_vm_reset_dirty_rings(t.vm), 192);
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	/* The reset re-armed gfn 191: its store ran again and logged it again. */
	assert_int_equal(ring[192].offset, 191);
	assert_int_equal(ring[193].offset, 192);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* KVM_CAP_X86_BUS_LOCK_EXIT's enable rules (x86.c, 6.12). */
static void test_run_bus_lock_cap(void **state)
{
	struct mmusim_vm_config nohw = { .no_bus_lock_detection = true };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_BUS_LOCK_EXIT };
	struct test_vm t;

	run_vm(&t, NULL);
	assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_X86_BUS_LOCK_EXIT),
			 KVM_BUS_LOCK_DETECTION_OFF | KVM_BUS_LOCK_DETECTION_EXIT);
	assert_int_equal(enable_bus_lock(&t, 4), -EINVAL);
	assert_int_equal(enable_bus_lock(&t, 1ULL << 32), -EINVAL);
	assert_int_equal(
		enable_bus_lock(&t, KVM_BUS_LOCK_DETECTION_OFF | KVM_BUS_LOCK_DETECTION_EXIT),
		-EINVAL);
	assert_int_equal(enable_bus_lock(&t, 0), 0);
	assert_int_equal(enable_bus_lock(&t, KVM_BUS_LOCK_DETECTION_OFF), 0);
	assert_false(mmusim_to_kvm(t.vm)->bus_lock_detection_enabled);
	cap.args[0] = KVM_BUS_LOCK_DETECTION_EXIT;
	cap.flags = 1;
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), -EINVAL);
	assert_int_equal(enable_bus_lock(&t, KVM_BUS_LOCK_DETECTION_EXIT), 0);
	assert_true(mmusim_to_kvm(t.vm)->bus_lock_detection_enabled);
	test_vm_destroy(&t);

	run_vm(&t, &nohw);
	assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_X86_BUS_LOCK_EXIT), 0);
	assert_int_equal(enable_bus_lock(&t, 4), -EINVAL);
	assert_int_equal(enable_bus_lock(&t, KVM_BUS_LOCK_DETECTION_EXIT), 0);
	assert_false(mmusim_to_kvm(t.vm)->bus_lock_detection_enabled);
	test_vm_destroy(&t);
}

/*
 * lock add across a cache line: without EXIT (default, OFF, or a host
 * without detection) it just completes; with EXIT it exits trap-like
 * (memory updated, RIP past it) with KVM_EXIT_X86_BUS_LOCK and the
 * KVM_RUN_X86_BUS_LOCK flag, which the next run clears.  A locked access
 * inside one line is no bus lock.
 */
static void test_run_bus_lock_exit(void **state)
{
	static const struct mmusim_insn prog[] = {
		I_MOV(MMUSIM_REG_RBX, 5),
		I_LOCK_ADD(MMUSIM_REG_RBX, 0x2000, 8), /* in one line */
		I_LOCK_ADD(MMUSIM_REG_RBX, 0x203c, 8), /* splits 0x2000..0x2040 */
		I_HLT,
	};
	static const int modes[] = { -1, 0, KVM_BUS_LOCK_DETECTION_OFF,
				     KVM_BUS_LOCK_DETECTION_EXIT };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(modes) + 1; i++) {
		struct mmusim_vm_config nohw = { .no_bus_lock_detection = true };
		bool exits = i == 3;
		struct mmusim_vcpu *v;
		struct kvm_run *run;
		struct test_vm t;

		/* The last round: EXIT on a host without detection. */
		v = run_vm(&t, i == ARRAY_SIZE(modes) ? &nohw : NULL);
		run = mmusim_vcpu_kvm_run(v);
		if (i == ARRAY_SIZE(modes))
			assert_int_equal(enable_bus_lock(&t, KVM_BUS_LOCK_DETECTION_EXIT), 0);
		else if (modes[i] >= 0)
			assert_int_equal(enable_bus_lock(&t, modes[i]), 0);
		load(v, prog, ARRAY_SIZE(prog));
		assert_int_equal(mmusim_vcpu_run(v), 0);
		if (exits) {
			assert_int_equal(run->exit_reason, KVM_EXIT_X86_BUS_LOCK);
			assert_int_equal(run->flags, KVM_RUN_X86_BUS_LOCK);
			assert_int_equal(get_regs(v).rip, 3);
			assert_int_equal(mmusim_vcpu_run(v), 0);
		}
		assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
		assert_int_equal(run->flags, 0);
		assert_int_equal(guest_u64(v, 0x2000), 5);
		assert_int_equal(guest_u64(v, 0x203c), 5);
		test_vm_check(&t);
		test_vm_destroy(&t);
	}
}

/*
 * A bus lock with another VM exit (VMX's exit-reason bit 26): a split lock
 * across a page whose second page faults carries the modifier.  The fault
 * KVM fixes becomes KVM_EXIT_X86_BUS_LOCK with the instruction not retired
 * (it then runs, bus-locks and exits trap-like); a second page KVM cannot
 * map (MMIO, which mmusim does not emulate for locked accesses) exits with
 * its own reason and the flag, and a fault that fails returns its errno
 * with the flag.
 */
static void test_run_bus_lock_with_other_exit(void **state)
{
	static const struct mmusim_insn prog[] = {
		I_MOV(MMUSIM_REG_RBX, 0x0101010101010101ULL),
		I_LOCK_ADD(MMUSIM_REG_RBX, 0x3ffc, 8), /* pages 3 and 4 */
		I_LOCK_ADD(MMUSIM_REG_RBX, 2 * MiB - 4, 8), /* second half: no memslot */
		I_HLT,
	};
	static const struct mmusim_insn prog_efault[] = {
		I_LOCK_ADD(MMUSIM_REG_RBX, 0x6ffc, 8), /* page 7's host memory is gone */
	};
	struct mmusim_vcpu *v;
	struct kvm_run *run;
	struct test_vm t;
	u64 zero = 0;

	v = run_vm(&t, NULL);
	run = mmusim_vcpu_kvm_run(v);
	assert_int_equal(enable_bus_lock(&t, KVM_BUS_LOCK_DETECTION_EXIT), 0);
	/* Page 3 mapped, page 4 not yet. */
	assert_int_equal(mmusim_vcpu_write(v, 0x3ff8, &zero, sizeof(zero)), 0);
	load(v, prog, ARRAY_SIZE(prog));

	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_X86_BUS_LOCK);
	assert_int_equal(run->flags, KVM_RUN_X86_BUS_LOCK);
	assert_int_equal(get_regs(v).rip, 1); /* not retired */
	assert_int_equal(guest_u64(v, 0x3ffc), 0);

	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_X86_BUS_LOCK);
	assert_int_equal(run->flags, KVM_RUN_X86_BUS_LOCK);
	assert_int_equal(get_regs(v).rip, 2); /* retired: trap-like */
	assert_int_equal(guest_u64(v, 0x3ffc), 0x0101010101010101ULL);

	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_INTERNAL_ERROR);
	assert_int_equal(run->flags, KVM_RUN_X86_BUS_LOCK);
	assert_int_equal(get_regs(v).rip, 2);

	/* A second page KVM cannot map at all: the fault's -EFAULT, with the flag. */
	assert_int_equal(sim_munmap(t.mm, t.hva + 0x7000, PAGE_SIZE), 0);
	load(v, prog_efault, ARRAY_SIZE(prog_efault));
	assert_int_equal(mmusim_vcpu_run(v), -EFAULT);
	assert_int_equal(run->flags, KVM_RUN_X86_BUS_LOCK);
	assert_int_equal(get_regs(v).rip, 0);
	load(v, prog, ARRAY_SIZE(prog));
	kvm_rip_write(mmusim_to_kvm_vcpu(v), 2);

	/* Without detection the same access has no flag. */
	mmusim_to_kvm(t.vm)->bus_lock_detection_enabled = false;
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_INTERNAL_ERROR);
	assert_int_equal(run->flags, 0);
	test_vm_destroy(&t);
}

static int enable_user_space_msr(struct test_vm *t, u64 mask)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR, .args[0] = mask };

	return mmusim_vm_enable_cap(t->vm, &cap);
}

/*
 * RDMSR/WRMSR through src/msr: an MSR KVM handles completes in the kernel;
 * an unknown one is #GP unless KVM_CAP_X86_USER_SPACE_MSR asks for
 * UNKNOWN, and then exits (error 0, reason, index, data 0 / the value
 * written) with RIP at the instruction.  On re-entry error 0 loads
 * msr.data into EDX:EAX and skips; error != 0 is #GP, RIP not advanced.
 */
static void test_run_msr_exits(void **state)
{
	static const struct mmusim_insn prog[] = {
		I_GP_HANDLER(10),
		I_MOV(MMUSIM_REG_RCX, 0x10), /* IA32_TSC: KVM's own */
		I_MOV(MMUSIM_REG_RAX, 0x1234),
		I_WRMSR,
		I_MOV(MMUSIM_REG_RAX, 0),
		I_RDMSR,
		I_MOV(MMUSIM_REG_RCX, 0x4b564d99), /* 6: unknown */
		I_RDMSR,
		I_WRMSR, /* 8: writes back what it read */
		I_HLT,
		I_ADD(MMUSIM_REG_R15, 1), /* 10: the #GP handler */
		I_IRET(1),
	};
	struct mmusim_vcpu *v;
	struct kvm_regs regs;
	struct kvm_run *run;
	struct test_vm t;

	v = run_vm(&t, NULL);
	run = mmusim_vcpu_kvm_run(v);

	/* No userspace exits: the unknown MSR is #GP twice. */
	load(v, prog, ARRAY_SIZE(prog));
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	regs = get_regs(v);
	assert_int_equal(regs.rax, 0x1234); /* read back from IA32_TSC */
	assert_int_equal(regs.r15, 2);

	assert_int_equal(enable_user_space_msr(&t, KVM_MSR_EXIT_REASON_UNKNOWN), 0);
	regs.r15 = 0;
	assert_int_equal(mmusim_vcpu_set_regs(v, &regs), 0);
	load(v, prog, ARRAY_SIZE(prog));
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_X86_RDMSR);
	assert_int_equal(run->msr.error, 0);
	assert_int_equal(run->msr.reason, KVM_MSR_EXIT_REASON_UNKNOWN);
	assert_int_equal(run->msr.index, 0x4b564d99);
	assert_int_equal(run->msr.data, 0);
	assert_int_equal(get_regs(v).rip, 7);

	run->msr.data = 0xaabbccdd11223344ULL;
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_X86_WRMSR);
	regs = get_regs(v);
	assert_int_equal(regs.rax, 0x11223344);
	assert_int_equal(regs.rdx, 0xaabbccdd);
	assert_int_equal(regs.rip, 8);
	assert_int_equal(run->msr.reason, KVM_MSR_EXIT_REASON_UNKNOWN);
	assert_int_equal(run->msr.data, 0xaabbccdd11223344ULL);

	/* The VMM refuses the write: #GP at the WRMSR, the handler skips it. */
	run->msr.error = 1;
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(get_regs(v).r15, 1);
	assert_int_equal(get_regs(v).rip, 10);
	test_vm_destroy(&t);
}

#define DEVICE_GPA MMIO_GPA

/*
 * The VMM loop of docs/vcpu-run.md (examples/vmm_loop.c): load a guest
 * program, run, handle RDMSR/WRMSR/BUS_LOCK/MMIO exits, re-enter.
 */
static int vmm_loop(struct mmusim_vm *vm, struct mmusim_vcpu *vcpu, u64 *msr_out, u64 *locks_out)
{
	static const struct mmusim_insn guest[] = {
		{ .op = MMUSIM_INSN_MOV_IMM, .reg = MMUSIM_REG_RCX, .imm = 0x4b564d99 },
		{ .op = MMUSIM_INSN_RDMSR }, /* exit: userspace's MSR */
		{ .op = MMUSIM_INSN_ADD_IMM, .reg = MMUSIM_REG_RAX, .imm = 1 },
		{ .op = MMUSIM_INSN_WRMSR }, /* exit: value in msr.data */
		{ .op = MMUSIM_INSN_LOCK_ADD, .reg = MMUSIM_REG_RAX, .gpa = 0x103c, .len = 8 },
		{ .op = MMUSIM_INSN_LOAD, .reg = MMUSIM_REG_RBX, .gpa = DEVICE_GPA, .len = 4 },
		{ .op = MMUSIM_INSN_HLT },
	};
	struct kvm_enable_cap msr_cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR,
					  .args[0] = KVM_MSR_EXIT_REASON_UNKNOWN };
	struct kvm_enable_cap bus_cap = { .cap = KVM_CAP_X86_BUS_LOCK_EXIT,
					  .args[0] = KVM_BUS_LOCK_DETECTION_EXIT };
	struct kvm_run *run = mmusim_vcpu_kvm_run(vcpu);
	u64 msr_value = 41, bus_locks = 0;
	u32 device_reg = 0xfeed;
	int r;

	if ((r = mmusim_vm_enable_cap(vm, &msr_cap)) || (r = mmusim_vm_enable_cap(vm, &bus_cap)) ||
	    (r = mmusim_vcpu_load_program(vcpu, guest, ARRAY_SIZE(guest))))
		return r;
	for (;;) {
		r = mmusim_vcpu_run(vcpu);
		if (r == -EINTR)
			continue; /* a signal kicked us: just re-enter */
		if (r < 0)
			return r;
		if (run->flags & KVM_RUN_X86_BUS_LOCK)
			bus_locks++; /* a throttling policy goes here */
		switch (run->exit_reason) {
		case KVM_EXIT_X86_RDMSR:
			run->msr.data = msr_value; /* error 0: EDX:EAX = data */
			run->msr.error = 0;
			break;
		case KVM_EXIT_X86_WRMSR:
			msr_value = run->msr.data;
			run->msr.error = 0;
			break;
		case KVM_EXIT_X86_BUS_LOCK:
			break; /* the instruction already completed */
		case KVM_EXIT_MMIO:
			if (!run->mmio.is_write)
				memcpy(run->mmio.data, &device_reg, run->mmio.len);
			break; /* completed by the next run */
		case KVM_EXIT_HLT:
			*msr_out = msr_value; /* 42; RBX is 0xfeed */
			*locks_out = bus_locks; /* 1 */
			return 0;
		default:
			return -EIO;
		}
	}
}

static void test_run_vmm_loop(void **state)
{
	struct mmusim_vcpu *v;
	u64 msr_value, locks;
	struct test_vm t;

	v = run_vm(&t, NULL);
	assert_int_equal(vmm_loop(t.vm, v, &msr_value, &locks), 0);
	assert_int_equal(msr_value, 42);
	assert_int_equal(locks, 1);
	assert_int_equal(get_regs(v).rbx, 0xfeed);
	assert_int_equal(guest_u64(v, 0x103c), 42);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

struct lock_loop {
	struct mmusim_vcpu *vcpu;
	u64 bus_lock_exits;
	int r;
};

#define LOCK_LOOP_ITERS 2000

/* A VMM thread: run until HLT, counting bus-lock exits. */
static void *lock_loop_thread(void *arg)
{
	struct lock_loop *l = arg;
	struct kvm_run *run = mmusim_vcpu_kvm_run(l->vcpu);

	for (;;) {
		l->r = mmusim_vcpu_run(l->vcpu);
		if (l->r)
			return NULL;
		if (run->exit_reason == KVM_EXIT_HLT)
			return NULL;
		if (run->exit_reason != KVM_EXIT_X86_BUS_LOCK ||
		    !(run->flags & KVM_RUN_X86_BUS_LOCK)) {
			l->r = -EIO;
			return NULL;
		}
		l->bus_lock_exits++;
	}
}

/*
 * Two vCPUs bus-lock the same split location in a loop while the main
 * thread zaps the page under them (each zap's TLB flush waits for both
 * vCPUs to acknowledge at an instruction boundary, register-only
 * instructions included): no add is lost, and with EXIT every one of them
 * exits once.  For TSan, the runs race the zaps and each other.
 */
static void test_run_bus_lock_concurrent(void **state)
{
	static const struct mmusim_insn prog[] = {
		I_MOV(MMUSIM_REG_RBX, 1),
		I_MOV(MMUSIM_REG_RSI, LOCK_LOOP_ITERS),
		I_LOCK_ADD(MMUSIM_REG_RBX, 0x503c, 8), /* 2: splits a line */
		I_ADD(MMUSIM_REG_RSI, -1ULL),
		I_JNZ(MMUSIM_REG_RSI, 2),
		I_HLT,
	};
	struct mmusim_vm_config cfg = { .nr_vcpus = 2 };
	unsigned int round, i;

	for (round = 0; round < 2; round++) {
		struct lock_loop l[2];
		pthread_t tid[2];
		struct test_vm t;

		run_vm(&t, &cfg);
		if (round)
			assert_int_equal(enable_bus_lock(&t, KVM_BUS_LOCK_DETECTION_EXIT), 0);
		for (i = 0; i < 2; i++) {
			l[i] = (struct lock_loop){ .vcpu = mmusim_vm_vcpu(t.vm, i) };
			load(l[i].vcpu, prog, ARRAY_SIZE(prog));
			assert_int_equal(pthread_create(&tid[i], NULL, lock_loop_thread, &l[i]), 0);
		}
		for (i = 0; i < 50; i++)
			assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, 0, 5, 6), 0);
		for (i = 0; i < 2; i++) {
			assert_int_equal(pthread_join(tid[i], NULL), 0);
			assert_int_equal(l[i].r, 0);
			assert_int_equal(l[i].bus_lock_exits, round ? LOCK_LOOP_ITERS : 0);
		}
		assert_int_equal(guest_u64(l[0].vcpu, 0x503c), 2 * LOCK_LOOP_ITERS);
		test_vm_check(&t);
		test_vm_destroy(&t);
	}
}

/*
 * What KVM_RUN checks in kvm_run and leaves there (6.12): no sync-regs
 * fields (mmusim has no KVM_CAP_SYNC_REGS), CR8 of 4 bits going in and
 * coming out, if_flag from RFLAGS.IF, KVM_RUN_X86_SMM in SMM.  These hold
 * whatever the outcome, -EINVAL included.
 */
static void test_run_kvm_run_fields(void **state)
{
	static const struct mmusim_insn prog[] = { I_HLT, I_HLT, I_HLT };
	struct mmusim_vcpu *v;
	struct kvm_regs regs;
	struct kvm_run *run;
	struct test_vm t;

	v = run_vm(&t, NULL);
	run = mmusim_vcpu_kvm_run(v);
	load(v, prog, ARRAY_SIZE(prog));
	assert_int_equal(sync_regs_cap(&t), 0);
	run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	assert_int_equal(mmusim_vcpu_run(v), -EINVAL);
	run->kvm_valid_regs = 0;
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	assert_int_equal(mmusim_vcpu_run(v), -EINVAL);
	run->kvm_dirty_regs = 0;
	run->cr8 = 16;
	assert_int_equal(mmusim_vcpu_run(v), -EINVAL);
	assert_int_equal(run->cr8, 0); /* post_kvm_run_save() wrote the old value */
	assert_int_equal(get_regs(v).rip, 0);

	run->cr8 = 5;
	regs = get_regs(v);
	regs.rflags = 0x202;
	assert_int_equal(mmusim_vcpu_set_regs(v, &regs), 0);
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(run->cr8, 5);
	assert_int_equal(run->if_flag, 1);
	assert_int_equal(run->flags, 0);

	assert_int_equal(mmusim_vcpu_set_smm(v, true), 0);
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(run->flags, KVM_RUN_X86_SMM);
	assert_int_equal(mmusim_vcpu_set_smm(v, false), 0);
	regs.rflags = 0;
	regs.rip = 2;
	assert_int_equal(mmusim_vcpu_set_regs(v, &regs), 0);
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->flags, 0);
	assert_int_equal(run->if_flag, 0);
	test_vm_destroy(&t);
}

#define RAND_RAM 0x4000 /* four pages at gpa 0x10000 */
#define RAND_RAM_GPA 0x10000
#define RAND_INSNS 400

/* What the VMM answers for the @n-th MMIO read (at @gpa). */
static u64 rand_mmio_value(u64 gpa, u64 n)
{
	return (gpa * 0x9e3779b97f4a7c15ULL) ^ (n << 8) ^ 0x5a;
}

static u64 rand_trunc(u64 v, u32 len)
{
	return len == 8 ? v : v & ((1ULL << (8 * len)) - 1);
}

/*
 * Random programs of moves, adds, loads, stores and locked adds over RAM
 * and MMIO, against a model of registers and memory: after HLT the vCPU's
 * registers and RAM equal the model's, every MMIO exit was the one the
 * model expected (address, length, direction, data), and with bus-lock
 * EXIT there was one KVM_EXIT_X86_BUS_LOCK per split lock.  The RAM is
 * mapped before the run, so no fault comes between a split lock's pages.
 */
static void test_run_random_programs(void **state)
{
	static const u32 lens[] = { 1, 2, 4, 8 };
	u64 seed = mmusim_test_seed(), rng = seed | 1;
	unsigned int round;

	for (round = 0; round < 8; round++) {
		static struct mmusim_insn prog[RAND_INSNS + 1];
		static u8 ram[RAND_RAM], got[RAND_RAM];
		struct {
			gpa_t gpa;
			u32 len;
			bool write;
			u64 data;
		} mmio[RAND_INSNS];
		u64 regs[MMUSIM_NR_REGS] = { 0 }, want_locks = 0, locks = 0, n_mmio = 0, seen = 0;
		bool exit_mode = round & 1;
		struct mmusim_vcpu *v;
		struct kvm_regs kregs;
		struct kvm_run *run;
		struct test_vm t;
		unsigned int i;

		v = run_vm(&t, NULL);
		run = mmusim_vcpu_kvm_run(v);
		if (exit_mode)
			assert_int_equal(enable_bus_lock(&t, KVM_BUS_LOCK_DETECTION_EXIT), 0);
		memset(ram, 0, sizeof(ram));
		assert_int_equal(mmusim_vcpu_write(v, RAND_RAM_GPA, ram, sizeof(ram)), 0);

		for (i = 0; i < RAND_INSNS; i++) {
			struct mmusim_insn *in = &prog[i];
			u32 len = lens[test_rand(&rng) % 4], reg = test_rand(&rng) % MMUSIM_NR_REGS;
			u64 off = test_rand(&rng) % (RAND_RAM - 8), val;
			unsigned int kind = test_rand(&rng) % 7;

			*in = (struct mmusim_insn){ .reg = reg, .len = len };
			if (kind <= 1) {
				in->op = kind ? MMUSIM_INSN_ADD_IMM : MMUSIM_INSN_MOV_IMM;
				in->imm = test_rand(&rng);
				regs[reg] = kind ? regs[reg] + in->imm : in->imm;
				continue;
			}
			if (kind == 5 || kind == 6) { /* MMIO, one page of it */
				in->op = kind == 5 ? MMUSIM_INSN_LOAD : MMUSIM_INSN_STORE;
				in->gpa = MMIO_GPA + (off & (PAGE_SIZE - 1) & ~7ULL);
				mmio[n_mmio] = (typeof(mmio[0])){ in->gpa, len, kind == 6, 0 };
				if (kind == 5)
					regs[reg] =
						rand_trunc(rand_mmio_value(in->gpa, n_mmio), len);
				else
					mmio[n_mmio].data = rand_trunc(regs[reg], len);
				n_mmio++;
				continue;
			}
			in->gpa = RAND_RAM_GPA + off;
			if (kind == 4) {
				in->op = MMUSIM_INSN_LOCK_ADD;
				val = 0;
				memcpy(&val, ram + off, len);
				val += regs[reg];
				memcpy(ram + off, &val, len);
				want_locks += (off & 63) + len > 64;
				continue;
			}
			/* Plain accesses stay within a page. */
			if ((in->gpa & (PAGE_SIZE - 1)) + len > PAGE_SIZE)
				in->gpa &= ~7ULL, off &= ~7ULL;
			in->op = kind == 2 ? MMUSIM_INSN_LOAD : MMUSIM_INSN_STORE;
			if (kind == 2) {
				val = 0;
				memcpy(&val, ram + off, len);
				regs[reg] = val;
			} else {
				memcpy(ram + off, &regs[reg], len);
			}
		}
		prog[RAND_INSNS] = (struct mmusim_insn)I_HLT;
		load(v, prog, RAND_INSNS + 1);

		for (;;) {
			assert_int_equal(mmusim_vcpu_run(v), 0);
			if (run->exit_reason == KVM_EXIT_HLT)
				break;
			if (run->exit_reason == KVM_EXIT_X86_BUS_LOCK) {
				assert_true(run->flags & KVM_RUN_X86_BUS_LOCK);
				locks++;
				continue;
			}
			if (run->exit_reason != KVM_EXIT_MMIO)
				fail_msg("seed %llu round %u: exit %u", (unsigned long long)seed,
					 round, run->exit_reason);
			assert_true(seen < n_mmio);
			assert_int_equal(run->mmio.phys_addr, mmio[seen].gpa);
			assert_int_equal(run->mmio.len, mmio[seen].len);
			assert_int_equal(run->mmio.is_write, mmio[seen].write);
			if (mmio[seen].write) {
				u64 data = 0;

				memcpy(&data, run->mmio.data, run->mmio.len);
				assert_int_equal(data, mmio[seen].data);
			} else {
				u64 data = rand_mmio_value(mmio[seen].gpa, seen);

				memcpy(run->mmio.data, &data, sizeof(run->mmio.data));
			}
			seen++;
		}
		assert_int_equal(seen, n_mmio);
		assert_int_equal(locks, exit_mode ? want_locks : 0);
		kregs = get_regs(v);
		assert_int_equal(kregs.rax, regs[MMUSIM_REG_RAX]);
		assert_int_equal(kregs.rcx, regs[MMUSIM_REG_RCX]);
		assert_int_equal(kregs.rdx, regs[MMUSIM_REG_RDX]);
		assert_int_equal(kregs.rbx, regs[MMUSIM_REG_RBX]);
		assert_int_equal(kregs.rsp, regs[MMUSIM_REG_RSP]);
		assert_int_equal(kregs.rbp, regs[MMUSIM_REG_RBP]);
		assert_int_equal(kregs.rsi, regs[MMUSIM_REG_RSI]);
		assert_int_equal(kregs.rdi, regs[MMUSIM_REG_RDI]);
		assert_int_equal(kregs.r8, regs[MMUSIM_REG_R8]);
		assert_int_equal(kregs.r15, regs[MMUSIM_REG_R15]);
		assert_int_equal(mmusim_vcpu_read(v, RAND_RAM_GPA, got, sizeof(got)), 0);
		if (memcmp(got, ram, sizeof(ram)))
			fail_msg("seed %llu round %u: RAM differs from the model",
				 (unsigned long long)seed, round);
		test_vm_check(&t);
		test_vm_destroy(&t);
	}
}

/* KVM_GET/SET_REGS: each kvm_regs field lands in its register. */
static void test_run_regs(void **state)
{
	static const struct mmusim_insn prog[] = {
		I_STORE(MMUSIM_REG_R9, 0x100, 8),
		I_STORE(MMUSIM_REG_RSP, 0x108, 8),
		I_HLT,
	};
	struct kvm_regs regs = { .rax = 1,
				 .rbx = 2,
				 .rcx = 3,
				 .rdx = 4,
				 .rsi = 5,
				 .rdi = 6,
				 .rsp = 7,
				 .rbp = 8,
				 .r8 = 9,
				 .r9 = 10,
				 .r10 = 11,
				 .r11 = 12,
				 .r12 = 13,
				 .r13 = 14,
				 .r14 = 15,
				 .r15 = 16,
				 .rip = 0,
				 .rflags = 0x200 };
	struct mmusim_vcpu *v;
	struct kvm_regs out;
	struct test_vm t;

	v = run_vm(&t, NULL);
	load(v, prog, ARRAY_SIZE(prog));
	assert_int_equal(mmusim_vcpu_set_regs(v, &regs), 0);
	out = get_regs(v);
	regs.rflags |= 0x2;
	assert_memory_equal(&out, &regs, sizeof(regs));
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(guest_u64(v, 0x100), 10);
	assert_int_equal(guest_u64(v, 0x108), 7);
	test_vm_destroy(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_run_complete_insn),
		MMUSIM_TEST(test_run_hlt_and_ram),
		MMUSIM_TEST(test_run_mmio),
		MMUSIM_TEST(test_run_immediate_exit_and_signal),
		MMUSIM_TEST(test_run_gp_handler),
		MMUSIM_TEST(test_run_program_end),
		MMUSIM_TEST(test_run_load_program_rules),
		MMUSIM_TEST(test_run_dirty_ring_full),
		MMUSIM_TEST(test_run_bus_lock_cap),
		MMUSIM_TEST(test_run_bus_lock_exit),
		MMUSIM_TEST(test_run_bus_lock_with_other_exit),
		MMUSIM_TEST(test_run_bus_lock_concurrent),
		MMUSIM_TEST(test_run_msr_exits),
		MMUSIM_TEST(test_run_vmm_loop),
		MMUSIM_TEST(test_run_kvm_run_fields),
		MMUSIM_TEST(test_run_random_programs),
		MMUSIM_TEST(test_run_regs),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("run", tests);
}
