// SPDX-License-Identifier: GPL-2.0-only
/*
 * MSR emulation (src/msr/msr.c), Linux 6.12 semantics: guest RDMSR/WRMSR at
 * function level (registers set with kvm_rcx_write() and friends, then
 * kvm_emulate_rdmsr()/kvm_emulate_wrmsr(), then vcpu->run and the vCPU
 * state checked, the completion run as KVM_RUN runs it), the exit-reason
 * rows of seeds-apis.md 1.8, ignore_msrs and report_ignored_msrs, the
 * table's reserved-bit rules, and host-initiated KVM_GET_MSRS/KVM_SET_MSRS
 * (never filtered, the count of entries done, errno rules).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include <mmusim/msr.h>
#include <mmusim/run.h>
#include "mmu/kvm_host.h"

#define RIP0 100
#define EXIT_NONE 0x5a5a	/* exit_reason poison: "no exit was prepared" */

#define MSR_TSC 0x10
#define MSR_APICBASE 0x1b
#define MSR_UCODE 0x8b
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_EIP 0x176
#define MSR_MISC 0x1a0
#define MSR_PAT 0x277
#define MSR_EFER_ 0xc0000080
#define MSR_STAR_ 0xc0000081
#define MSR_LSTAR_ 0xc0000082
#define MSR_FMASK 0xc0000084
#define MSR_KGS 0xc0000102
#define MSR_AUX 0xc0000103
#define MSR_UNKNOWN 0x4b564dff

struct mt {
	struct test_vm t;
	struct kvm_vcpu *vcpu;
};

static void mt_create(struct mt *m)
{
	struct test_vm_opts o = { 0 };

	test_vm_create(&m->t, &o);
	m->vcpu = mmusim_to_kvm_vcpu(mmusim_vm_vcpu(m->t.vm, 0));
	assert_non_null(m->vcpu->run);
}

static void mt_destroy(struct mt *m)
{
	test_vm_destroy(&m->t);
}

static void set_mask(struct mt *m, u64 mask)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR, .args = { mask } };

	assert_int_equal(mmusim_vm_enable_cap(m->t.vm, &cap), 0);
}

static void set_params(struct mt *m, bool ignore, bool report)
{
	struct mmusim_msr_params p = { .ignore_msrs = ignore, .report_ignored_msrs = report };

	assert_int_equal(mmusim_vm_set_msr_params(m->t.vm, &p), 0);
}

/* A fresh instruction: RIP at RIP0, nothing pending, no exit. */
static void insn(struct mt *m, u32 ecx, u64 value)
{
	memset(&m->vcpu->arch.exception, 0, sizeof(m->vcpu->arch.exception));
	m->vcpu->arch.complete_userspace_io = NULL;
	m->vcpu->run->exit_reason = EXIT_NONE;
	memset(&m->vcpu->run->msr, 0xcc, sizeof(m->vcpu->run->msr));
	kvm_rip_write(m->vcpu, RIP0);
	kvm_rcx_write(m->vcpu, 0xdead00000000ULL | ecx);	/* ECX only */
	kvm_rax_write(m->vcpu, 0xffffffff00000000ULL | (u32)value);
	kvm_rdx_write(m->vcpu, 0xffffffff00000000ULL | (value >> 32));
}

static int rdmsr(struct mt *m, u32 ecx)
{
	insn(m, ecx, 0x1111111122222222ULL);
	return kvm_emulate_rdmsr(m->vcpu);
}

static int wrmsr(struct mt *m, u32 ecx, u64 value)
{
	insn(m, ecx, value);
	return kvm_emulate_wrmsr(m->vcpu);
}

static u64 edx_eax(struct mt *m)
{
	return (kvm_rdx_read(m->vcpu) << 32) | (u32)kvm_rax_read(m->vcpu);
}

static void assert_completed(struct mt *m)
{
	assert_false(m->vcpu->arch.exception.pending);
	assert_int_equal(kvm_rip_read(m->vcpu), RIP0 + 1);
	assert_int_equal(m->vcpu->run->exit_reason, EXIT_NONE);
	assert_null(m->vcpu->arch.complete_userspace_io);
}

static void assert_gp(struct mt *m)
{
	assert_true(m->vcpu->arch.exception.pending);
	assert_int_equal(m->vcpu->arch.exception.vector, GP_VECTOR);
	assert_int_equal(m->vcpu->arch.exception.error_code, 0);
	assert_int_equal(kvm_rip_read(m->vcpu), RIP0);
	assert_int_equal(m->vcpu->run->exit_reason, EXIT_NONE);
	assert_null(m->vcpu->arch.complete_userspace_io);
}

static void assert_exit(struct mt *m, u32 exit_reason, u32 reason, u32 index, u64 data)
{
	static const u8 zero_pad[7];
	struct kvm_run *run = m->vcpu->run;

	assert_int_equal(run->exit_reason, exit_reason);
	assert_int_equal(run->msr.error, 0);
	assert_memory_equal(run->msr.pad, zero_pad, sizeof(zero_pad));
	assert_int_equal(run->msr.reason, reason);
	assert_int_equal(run->msr.index, index);
	assert_int_equal(run->msr.data, data);
	assert_non_null(m->vcpu->arch.complete_userspace_io);
	assert_false(m->vcpu->arch.exception.pending);
	assert_int_equal(kvm_rip_read(m->vcpu), RIP0);
}

/* KVM_RUN's re-entry: userspace's answer in run->msr, then the completion. */
static int reenter(struct mt *m, u8 error, u64 data)
{
	int (*cui)(struct kvm_vcpu *) = m->vcpu->arch.complete_userspace_io;

	m->vcpu->run->msr.error = error;
	m->vcpu->run->msr.data = data;
	m->vcpu->arch.complete_userspace_io = NULL;
	m->vcpu->run->exit_reason = EXIT_NONE;
	return cui(m->vcpu);
}

static void deny_all_but_x2apic(struct mt *m)
{
	u64 none = 0;
	struct kvm_msr_filter f = {
		.flags = KVM_MSR_FILTER_DEFAULT_DENY,
		.ranges[0] = { .flags = KVM_MSR_FILTER_READ, .base = 0x10, .nmsrs = 1,
			       .bitmap = (__u8 *)&none },
	};

	assert_int_equal(mmusim_vm_set_msr_filter(m->t.vm, &f), 0);
}

/* Section 1.8: the exit rows, and completion on re-entry. */
static void test_msr_exit_vectors(void **state)
{
	struct mt m;

	mt_create(&m);

	/* Allowed and handled: EDX:EAX from the MSR, skipped. */
	assert_int_equal(wrmsr(&m, MSR_STAR_, 0x0023001000000000ULL), 1);
	assert_completed(&m);
	assert_int_equal(rdmsr(&m, MSR_STAR_), 1);
	assert_completed(&m);
	/* The upper halves of RAX and RDX are cleared. */
	assert_int_equal(kvm_rax_read(m.vcpu), 0);
	assert_int_equal(kvm_rdx_read(m.vcpu), 0x00230010);

	deny_all_but_x2apic(&m);
	/* rdmsr denied, mask = FILTER: exit with reason 4, data 0. */
	set_mask(&m, KVM_MSR_EXIT_REASON_FILTER);
	assert_int_equal(rdmsr(&m, MSR_STAR_), 0);
	assert_exit(&m, KVM_EXIT_X86_RDMSR, KVM_MSR_EXIT_REASON_FILTER, MSR_STAR_, 0);
	assert_int_equal(reenter(&m, 0, 0xaaaabbbbccccddddULL), 1);
	assert_completed(&m);
	assert_int_equal(kvm_rax_read(m.vcpu), 0xccccdddd);
	assert_int_equal(kvm_rdx_read(m.vcpu), 0xaaaabbbb);

	/* Userspace says error = 1: #GP, RIP not advanced, EDX:EAX untouched. */
	assert_int_equal(rdmsr(&m, MSR_STAR_), 0);
	assert_int_equal(reenter(&m, 1, 0x1234), 1);
	assert_gp(&m);
	assert_int_equal(edx_eax(&m), 0x1111111122222222ULL);

	/* wrmsr denied: the exit carries the written value. */
	assert_int_equal(wrmsr(&m, MSR_LSTAR_, 0xffffffff81000000ULL), 0);
	assert_exit(&m, KVM_EXIT_X86_WRMSR, KVM_MSR_EXIT_REASON_FILTER, MSR_LSTAR_,
		    0xffffffff81000000ULL);
	assert_int_equal(reenter(&m, 0, 0), 1);
	assert_completed(&m);
	assert_int_equal(wrmsr(&m, MSR_LSTAR_, 5), 0);
	assert_int_equal(reenter(&m, 0xff, 0), 1);
	assert_gp(&m);

	/* The handler never ran: LSTAR is still 0 (read by the host). */
	{
		struct {
			struct kvm_msrs h;
			struct kvm_msr_entry e[1];
		} io = { .h.nmsrs = 1, .e[0].index = MSR_LSTAR_, .e[0].data = 7 };

		assert_int_equal(mmusim_vcpu_get_msrs(mmusim_vm_vcpu(m.t.vm, 0), &io.h), 1);
		assert_int_equal(io.e[0].data, 0);
	}

	/* rdmsr denied, mask = 0 (or without FILTER): #GP, no exit. */
	set_mask(&m, 0);
	assert_int_equal(rdmsr(&m, MSR_STAR_), 1);
	assert_gp(&m);
	set_mask(&m, KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN);
	assert_int_equal(rdmsr(&m, MSR_STAR_), 1);
	assert_gp(&m);
	assert_int_equal(wrmsr(&m, MSR_STAR_, 1), 1);
	assert_gp(&m);

	/* The mask takes effect at once, filter or not. */
	set_mask(&m, KVM_MSR_EXIT_REASON_VALID_MASK);
	assert_int_equal(rdmsr(&m, MSR_STAR_), 0);
	assert_exit(&m, KVM_EXIT_X86_RDMSR, KVM_MSR_EXIT_REASON_FILTER, MSR_STAR_, 0);
	mt_destroy(&m);
}

/* UNKNOWN for an MSR KVM does not handle, INVAL for a handled one refused. */
static void test_msr_exit_reasons(void **state)
{
	struct mt m;

	mt_create(&m);
	set_mask(&m, KVM_MSR_EXIT_REASON_UNKNOWN);
	assert_int_equal(rdmsr(&m, MSR_UNKNOWN), 0);
	assert_exit(&m, KVM_EXIT_X86_RDMSR, KVM_MSR_EXIT_REASON_UNKNOWN, MSR_UNKNOWN, 0);
	assert_int_equal(reenter(&m, 0, 42), 1);
	assert_completed(&m);
	assert_int_equal(edx_eax(&m), 42);
	assert_int_equal(wrmsr(&m, MSR_UNKNOWN, 0x500000006ULL), 0);
	assert_exit(&m, KVM_EXIT_X86_WRMSR, KVM_MSR_EXIT_REASON_UNKNOWN, MSR_UNKNOWN,
		    0x500000006ULL);
	assert_int_equal(reenter(&m, 0, 0), 1);
	assert_completed(&m);
	/* Reserved bits on a known MSR are INVAL, not UNKNOWN: #GP here. */
	assert_int_equal(wrmsr(&m, MSR_AUX, 1ULL << 32), 1);
	assert_gp(&m);

	set_mask(&m, KVM_MSR_EXIT_REASON_INVAL);
	assert_int_equal(wrmsr(&m, MSR_AUX, 1ULL << 32), 0);
	assert_exit(&m, KVM_EXIT_X86_WRMSR, KVM_MSR_EXIT_REASON_INVAL, MSR_AUX, 1ULL << 32);
	assert_int_equal(reenter(&m, 0, 0), 1);
	assert_completed(&m);
	/* ... and the handler's refusal stands: TSC_AUX is unchanged. */
	assert_int_equal(rdmsr(&m, MSR_AUX), 1);
	assert_int_equal(edx_eax(&m), 0);
	assert_int_equal(rdmsr(&m, MSR_UNKNOWN), 1);
	assert_gp(&m);
	assert_int_equal(wrmsr(&m, MSR_EFER_, 1ULL << 1), 0);
	assert_exit(&m, KVM_EXIT_X86_WRMSR, KVM_MSR_EXIT_REASON_INVAL, MSR_EFER_, 2);
	/* x2APIC MSRs outside x2APIC mode: INVAL, never FILTER. */
	deny_all_but_x2apic(&m);
	set_mask(&m, KVM_MSR_EXIT_REASON_VALID_MASK);
	assert_int_equal(rdmsr(&m, 0x808), 0);
	assert_exit(&m, KVM_EXIT_X86_RDMSR, KVM_MSR_EXIT_REASON_INVAL, 0x808, 0);
	mt_destroy(&m);
}

/* ignore_msrs: unknown MSRs read 0 and swallow writes, with no exit. */
static void test_msr_ignore_msrs(void **state)
{
	struct mmusim_msr_params p;
	struct mt m;

	mt_create(&m);
	assert_int_equal(mmusim_vm_get_msr_params(m.t.vm, &p), 0);
	assert_false(p.ignore_msrs);
	assert_true(p.report_ignored_msrs);
	set_mask(&m, KVM_MSR_EXIT_REASON_VALID_MASK);
	set_params(&m, true, true);
	assert_int_equal(rdmsr(&m, MSR_UNKNOWN), 1);
	assert_completed(&m);
	assert_int_equal(edx_eax(&m), 0);
	set_params(&m, true, false);
	assert_int_equal(wrmsr(&m, MSR_UNKNOWN, 99), 1);
	assert_completed(&m);
	assert_int_equal(mmusim_vm_get_msr_params(m.t.vm, &p), 0);
	assert_int_equal(p.ignored, 2);
	/* Only UNKNOWN is ignored: reserved bits still fault. */
	assert_int_equal(wrmsr(&m, MSR_AUX, 1ULL << 40), 0);
	assert_exit(&m, KVM_EXIT_X86_WRMSR, KVM_MSR_EXIT_REASON_INVAL, MSR_AUX, 1ULL << 40);
	/* The filter comes first: a denied unknown MSR is FILTER. */
	deny_all_but_x2apic(&m);
	assert_int_equal(rdmsr(&m, MSR_UNKNOWN), 0);
	assert_exit(&m, KVM_EXIT_X86_RDMSR, KVM_MSR_EXIT_REASON_FILTER, MSR_UNKNOWN, 0);
	assert_int_equal(mmusim_vm_get_msr_params(m.t.vm, &p), 0);
	assert_int_equal(p.ignored, 2);
	assert_int_equal(mmusim_vm_set_msr_params(m.t.vm, NULL), -EINVAL);
	assert_int_equal(mmusim_vm_get_msr_params(m.t.vm, NULL), -EINVAL);
	mt_destroy(&m);
}

/* The table's architectural rules (docs/msr.md), guest-initiated. */
static void test_msr_table_rules(void **state)
{
	struct mt m;

	mt_create(&m);
	/* EFER: reserved bits #GP; the guest cannot change LMA. */
	assert_int_equal(wrmsr(&m, MSR_EFER_, 0x901), 1);	/* SCE | LME | NX */
	assert_completed(&m);
	assert_int_equal(wrmsr(&m, MSR_EFER_, 0xd01), 1);	/* + LMA: dropped */
	assert_int_equal(rdmsr(&m, MSR_EFER_), 1);
	assert_int_equal(edx_eax(&m), 0x901);
	assert_int_equal(wrmsr(&m, MSR_EFER_, 1ULL << 12), 1);
	assert_gp(&m);
	/* Canonical addresses. */
	assert_int_equal(wrmsr(&m, MSR_KGS, 0x0000800000000000ULL), 1);
	assert_gp(&m);
	assert_int_equal(wrmsr(&m, MSR_KGS, 0xffff800000000000ULL), 1);
	assert_completed(&m);
	/* SYSENTER_EIP is made canonical, never #GP; SYSENTER_CS keeps 32 bits. */
	assert_int_equal(wrmsr(&m, MSR_SYSENTER_EIP, 0x0000800000001000ULL), 1);
	assert_completed(&m);
	assert_int_equal(rdmsr(&m, MSR_SYSENTER_EIP), 1);
	assert_int_equal(edx_eax(&m), 0xffff800000001000ULL);
	assert_int_equal(wrmsr(&m, MSR_SYSENTER_CS, 0x1234500000010ULL), 1);
	assert_int_equal(rdmsr(&m, MSR_SYSENTER_CS), 1);
	assert_int_equal(edx_eax(&m), 0x10);
	/* PAT: types 2, 3 and 8+ are reserved. */
	assert_int_equal(rdmsr(&m, MSR_PAT), 1);
	assert_int_equal(edx_eax(&m), 0x0007040600070406ULL);
	assert_int_equal(wrmsr(&m, MSR_PAT, 0x0007040600070402ULL), 1);
	assert_gp(&m);
	assert_int_equal(wrmsr(&m, MSR_PAT, 0x0800000000000000ULL), 1);
	assert_gp(&m);
	assert_int_equal(wrmsr(&m, MSR_PAT, 0x0706050401000706ULL), 1);
	assert_completed(&m);
	/* FMASK and TSC_AUX: bits 63:32 reserved. */
	assert_int_equal(wrmsr(&m, MSR_FMASK, 0x100000000ULL), 1);
	assert_gp(&m);
	/* MISC_ENABLE: the PMU-unavailable bits are read-only, EMON ignored. */
	assert_int_equal(rdmsr(&m, MSR_MISC), 1);
	assert_int_equal(edx_eax(&m), 0x1800);
	assert_int_equal(wrmsr(&m, MSR_MISC, 0x0800), 1);
	assert_gp(&m);
	assert_int_equal(wrmsr(&m, MSR_MISC, 0x1881), 1);
	assert_completed(&m);
	assert_int_equal(rdmsr(&m, MSR_MISC), 1);
	assert_int_equal(edx_eax(&m), 0x1801);
	/* UCODE_REV: guest writes are ignored, not refused. */
	assert_int_equal(wrmsr(&m, MSR_UCODE, 5), 1);
	assert_completed(&m);
	assert_int_equal(rdmsr(&m, MSR_UCODE), 1);
	assert_int_equal(edx_eax(&m), 0x100000000ULL);
	/* TSC: anything. */
	assert_int_equal(wrmsr(&m, MSR_TSC, ~0ULL), 1);
	assert_int_equal(rdmsr(&m, MSR_TSC), 1);
	assert_int_equal(edx_eax(&m), ~0ULL);

	/* APIC base: vCPU 0 is the BSP with xAPIC on; then x2APIC rules. */
	assert_int_equal(rdmsr(&m, MSR_APICBASE), 1);
	assert_int_equal(edx_eax(&m), 0xfee00900);
	assert_int_equal(wrmsr(&m, MSR_APICBASE, 0xfee00901), 1);	/* reserved bit 0 */
	assert_gp(&m);
	assert_int_equal(wrmsr(&m, MSR_APICBASE, 0xfee00500), 1);	/* EXTD without EN */
	assert_gp(&m);
	assert_int_equal(wrmsr(&m, MSR_APICBASE, 0xfee00d00), 1);	/* x2APIC */
	assert_completed(&m);
	/* No in-kernel LAPIC: the x2APIC registers #GP even in x2APIC mode (6.12). */
	assert_int_equal(rdmsr(&m, 0x802), 1);
	assert_gp(&m);
	assert_int_equal(rdmsr(&m, 0x803), 1);
	assert_gp(&m);
	assert_int_equal(wrmsr(&m, 0x808, 0x20), 1);
	assert_gp(&m);
	assert_int_equal(wrmsr(&m, 0x802, 1), 1);
	assert_gp(&m);
	assert_int_equal(rdmsr(&m, 0x8ff), 1);
	assert_gp(&m);
	assert_int_equal(wrmsr(&m, MSR_APICBASE, 0xfee00900), 1);	/* x2APIC -> xAPIC */
	assert_gp(&m);
	assert_int_equal(wrmsr(&m, MSR_APICBASE, 0xfee00100), 1);	/* disable */
	assert_completed(&m);
	assert_int_equal(wrmsr(&m, MSR_APICBASE, 0xfee00d00), 1);	/* disabled -> x2APIC */
	assert_gp(&m);
	mt_destroy(&m);
}

/* mmusim_vm_set_msr_handled(): a row turned off is UNKNOWN to the guest. */
static void test_msr_handled_knob(void **state)
{
	struct mt m;

	mt_create(&m);
	set_mask(&m, KVM_MSR_EXIT_REASON_UNKNOWN);
	assert_int_equal(mmusim_vm_set_msr_handled(m.t.vm, MSR_AUX, false), 0);
	assert_int_equal(rdmsr(&m, MSR_AUX), 0);
	assert_exit(&m, KVM_EXIT_X86_RDMSR, KVM_MSR_EXIT_REASON_UNKNOWN, MSR_AUX, 0);
	assert_int_equal(mmusim_vm_set_msr_handled(m.t.vm, MSR_AUX, true), 0);
	assert_int_equal(rdmsr(&m, MSR_AUX), 1);
	assert_completed(&m);
	/* Any index of the x2APIC range names its row. */
	assert_int_equal(mmusim_vm_set_msr_handled(m.t.vm, 0x850, false), 0);
	assert_int_equal(rdmsr(&m, 0x802), 0);
	assert_exit(&m, KVM_EXIT_X86_RDMSR, KVM_MSR_EXIT_REASON_UNKNOWN, 0x802, 0);
	assert_int_equal(mmusim_vm_set_msr_handled(m.t.vm, MSR_UNKNOWN, false), -ENOENT);
	assert_int_equal(mmusim_vm_set_msr_handled(NULL, MSR_AUX, false), -EINVAL);
	mt_destroy(&m);
}

/* ----------------------------------------------------------------------
 * Host-initiated access
 */

#define IO_MAX 8
struct io {
	struct kvm_msrs h;
	struct kvm_msr_entry e[IO_MAX];
};

static void io_set(struct io *io, int n, const u32 *idx, const u64 *data)
{
	int i;

	memset(io, 0, sizeof(*io));
	io->h.nmsrs = n;
	for (i = 0; i < n; i++) {
		io->e[i].index = idx[i];
		io->e[i].data = data ? data[i] : 0xeeee;
	}
}

static void test_msr_host_get_set(void **state)
{
	static const u32 idx[] = { MSR_EFER_, MSR_STAR_, MSR_UNKNOWN, MSR_PAT };
	static const u64 val[] = { 0xd01, 0x11, 0, 0x0606060606060606ULL };
	struct mmusim_vcpu *v;
	struct io io;
	struct mt m;

	mt_create(&m);
	v = mmusim_vm_vcpu(m.t.vm, 0);
	/* Host accesses ignore the filter. */
	deny_all_but_x2apic(&m);
	/* Stops at the first failure: the unknown MSR is entry 2. */
	io_set(&io, 4, idx, val);
	assert_int_equal(mmusim_vcpu_set_msrs(v, &io.h), 2);
	io_set(&io, 4, idx, NULL);
	assert_int_equal(mmusim_vcpu_get_msrs(v, &io.h), 2);
	/* Not even the host sets LMA through the MSR (6.12 set_efer()). */
	assert_int_equal(io.e[0].data, 0xd01 & ~0x400);
	assert_int_equal(io.e[1].data, 0x11);
	/* The failed entry reads back 0; entries after it are not touched. */
	assert_int_equal(io.e[2].data, 0);
	assert_int_equal(io.e[3].data, 0xeeee);
	io_set(&io, 1, &idx[3], NULL);
	assert_int_equal(mmusim_vcpu_get_msrs(v, &io.h), 1);
	assert_int_equal(io.e[0].data, 0x0007040600070406ULL);

	/* Host writes skip the guest-only rules (MISC_ENABLE's read-only bits, UCODE_REV)... */
	{
		static const u32 i2[] = { MSR_MISC, MSR_UCODE };
		static const u64 v2[] = { 0x80, 0x1234 };

		io_set(&io, 2, i2, v2);
		assert_int_equal(mmusim_vcpu_set_msrs(v, &io.h), 2);
		io_set(&io, 2, i2, NULL);
		assert_int_equal(mmusim_vcpu_get_msrs(v, &io.h), 2);
		assert_int_equal(io.e[0].data, 0x80);
		assert_int_equal(io.e[1].data, 0x1234);
	}
	/* ... but not the architectural ones. */
	{
		static const u32 i3[] = { MSR_EFER_ };
		static const u64 v3[] = { 1ULL << 12 };

		io_set(&io, 1, i3, v3);
		assert_int_equal(mmusim_vcpu_set_msrs(v, &io.h), 0);
	}

	/* ignore_msrs covers host accesses too. */
	set_params(&m, true, false);
	io_set(&io, 4, idx, val);
	assert_int_equal(mmusim_vcpu_set_msrs(v, &io.h), 4);
	set_params(&m, false, true);

	/* An advertised MSR the guest lacks: the host may read it and write 0. */
	assert_int_equal(mmusim_vm_set_msr_handled(m.t.vm, MSR_AUX, false), 0);
	{
		static const u32 i4[] = { MSR_AUX, MSR_AUX };
		static const u64 v4[] = { 0, 1 };

		io_set(&io, 2, i4, v4);
		assert_int_equal(mmusim_vcpu_set_msrs(v, &io.h), 1);
		io_set(&io, 1, i4, NULL);
		assert_int_equal(mmusim_vcpu_get_msrs(v, &io.h), 1);
		assert_int_equal(io.e[0].data, 0);
	}
	/* The x2APIC range is not advertised: no such leniency. */
	assert_int_equal(mmusim_vm_set_msr_handled(m.t.vm, 0x808, false), 0);
	{
		static const u32 i5[] = { 0x808 };

		io_set(&io, 1, i5, NULL);
		assert_int_equal(mmusim_vcpu_get_msrs(v, &io.h), 0);
	}
	mt_destroy(&m);
}

static void test_msr_host_errno(void **state)
{
	struct kvm_msrs *big;
	struct mmusim_vcpu *v;
	struct kvm_msrs *g;
	struct mt m;
	int i;

	mt_create(&m);
	v = mmusim_vm_vcpu(m.t.vm, 0);
	big = calloc(1, sizeof(*big) + 256 * sizeof(struct kvm_msr_entry));
	assert_non_null(big);
	for (i = 0; i < 256; i++)
		big->entries[i].index = MSR_STAR_;
	big->nmsrs = 256;
	assert_int_equal(mmusim_vcpu_get_msrs(v, big), -E2BIG);
	assert_int_equal(mmusim_vcpu_set_msrs(v, big), -E2BIG);
	big->nmsrs = 255;
	assert_int_equal(mmusim_vcpu_get_msrs(v, big), 255);
	assert_int_equal(mmusim_vcpu_set_msrs(v, big), 255);
	big->nmsrs = 0;
	assert_int_equal(mmusim_vcpu_get_msrs(v, big), 0);
	free(big);

	assert_int_equal(mmusim_vcpu_get_msrs(v, NULL), -EFAULT);
	assert_int_equal(mmusim_vcpu_set_msrs(v, test_bad_ptr()), -EFAULT);
	assert_int_equal(mmusim_vcpu_get_msrs(NULL, NULL), -EINVAL);
	/* Entries cut short by an inaccessible page. */
	g = test_guarded_buf(sizeof(*g) + 2 * sizeof(struct kvm_msr_entry), PROT_READ | PROT_WRITE);
	g->nmsrs = 3;
	g->entries[0].index = MSR_STAR_;
	g->entries[1].index = MSR_STAR_;
	assert_int_equal(mmusim_vcpu_get_msrs(v, g), -EFAULT);
	g->nmsrs = 2;
	assert_int_equal(mmusim_vcpu_get_msrs(v, g), 2);
	test_guarded_free(g, sizeof(*g) + 2 * sizeof(struct kvm_msr_entry));
	/* A read-only buffer: SET works, GET cannot write back. */
	g = test_guarded_buf(sizeof(*g) + sizeof(struct kvm_msr_entry), PROT_READ | PROT_WRITE);
	g->nmsrs = 1;
	g->entries[0].index = MSR_STAR_;
	assert_int_equal(mprotect((void *)((unsigned long)g & ~4095UL), 4096, PROT_READ), 0);
	assert_int_equal(mmusim_vcpu_set_msrs(v, g), 1);
	assert_int_equal(mmusim_vcpu_get_msrs(v, g), -EFAULT);
	test_guarded_free(g, sizeof(*g) + sizeof(struct kvm_msr_entry));
	mt_destroy(&m);
}

static void test_msr_index_list(void **state)
{
	struct {
		struct kvm_msr_list h;
		u32 idx[64];
	} l;
	struct mt m;
	int i;

	mt_create(&m);
	l.h.nmsrs = 2;
	assert_int_equal(mmusim_vm_get_msr_index_list(m.t.vm, &l.h), -E2BIG);
	assert_int_equal(l.h.nmsrs, 13);
	l.h.nmsrs = 64;
	assert_int_equal(mmusim_vm_get_msr_index_list(m.t.vm, &l.h), 0);
	assert_int_equal(l.h.nmsrs, 13);
	/* As 6.12's lists: no x2APIC, APIC_BASE, EFER, FS_BASE or GS_BASE. */
	for (i = 0; i < 13; i++)
		assert_true((l.idx[i] < 0x800 || l.idx[i] > 0x8ff) && l.idx[i] != 0x1b &&
			    l.idx[i] != 0xc0000080 && l.idx[i] != 0xc0000100 &&
			    l.idx[i] != 0xc0000101);
	assert_int_equal(l.idx[0], MSR_TSC);
	assert_int_equal(mmusim_vm_get_msr_index_list(m.t.vm, NULL), -EFAULT);
	assert_int_equal(mmusim_vm_get_msr_index_list(NULL, &l.h), -EINVAL);
	mt_destroy(&m);
}

/* vCPUs reset on their own: the BSP bit only on vCPU 0. */
static void test_msr_reset_values(void **state)
{
	struct test_vm_opts o = { .cfg = { .nr_vcpus = 2 } };
	struct io io;
	struct test_vm t;
	static const u32 idx[] = { MSR_APICBASE, MSR_MISC, MSR_UCODE, MSR_PAT, MSR_EFER_ };

	test_vm_create(&t, &o);
	io_set(&io, 5, idx, NULL);
	assert_int_equal(mmusim_vcpu_get_msrs(mmusim_vm_vcpu(t.vm, 1), &io.h), 5);
	assert_int_equal(io.e[0].data, 0xfee00800);
	assert_int_equal(io.e[1].data, 0x1800);
	assert_int_equal(io.e[2].data, 0x100000000ULL);
	assert_int_equal(io.e[3].data, 0x0007040600070406ULL);
	assert_int_equal(io.e[4].data, 0);
	test_vm_destroy(&t);
}

/*
 * The same rows through KVM_RUN, as a VMM drives them: a filtered RDMSR
 * exits, the answer lands in EDX:EAX; an allowed WRMSR completes in the
 * kernel; error = 1 on re-entry delivers #GP to the guest's handler, which
 * skips the instruction; with the mask cleared a filtered RDMSR is #GP with
 * no exit at all.
 */
static void test_msr_through_kvm_run(void **state)
{
	const struct mmusim_insn prog[] = {
		{ .op = MMUSIM_INSN_SET_GP_HANDLER, .target = 12 },
		{ .op = MMUSIM_INSN_MOV_IMM, .reg = MMUSIM_REG_RCX, .imm = MSR_STAR_ },
		{ .op = MMUSIM_INSN_RDMSR },				/* 2: exits */
		{ .op = MMUSIM_INSN_HLT },
		{ .op = MMUSIM_INSN_MOV_IMM, .reg = MMUSIM_REG_RAX, .imm = 7 },
		{ .op = MMUSIM_INSN_MOV_IMM, .reg = MMUSIM_REG_RDX, .imm = 0 },
		{ .op = MMUSIM_INSN_WRMSR },				/* 6: allowed */
		{ .op = MMUSIM_INSN_RDMSR },				/* 7: exits, error */
		{ .op = MMUSIM_INSN_HLT },				/* 8 */
		{ .op = MMUSIM_INSN_RDMSR },				/* 9: #GP, no exit */
		{ .op = MMUSIM_INSN_HLT },				/* 10 */
		{ .op = MMUSIM_INSN_NOP },
		{ .op = MMUSIM_INSN_ADD_IMM, .reg = MMUSIM_REG_R8, .imm = 1 },	/* 12: #GP */
		{ .op = MMUSIM_INSN_IRET, .imm = 1 },
	};
	u64 allow = 1;
	struct kvm_msr_filter f = {
		.flags = KVM_MSR_FILTER_DEFAULT_DENY,
		.ranges[0] = { .flags = KVM_MSR_FILTER_WRITE, .base = MSR_STAR_, .nmsrs = 1,
			       .bitmap = (__u8 *)&allow },
	};
	struct mmusim_vcpu *v;
	struct kvm_regs regs;
	struct kvm_run *run;
	struct mt m;

	mt_create(&m);
	v = mmusim_vm_vcpu(m.t.vm, 0);
	run = mmusim_vcpu_kvm_run(v);
	set_mask(&m, KVM_MSR_EXIT_REASON_FILTER);
	assert_int_equal(mmusim_vm_set_msr_filter(m.t.vm, &f), 0);
	assert_int_equal(mmusim_vcpu_load_program(v, prog, ARRAY_SIZE(prog)), 0);

	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_X86_RDMSR);
	assert_int_equal(run->msr.reason, KVM_MSR_EXIT_REASON_FILTER);
	assert_int_equal(run->msr.index, MSR_STAR_);
	run->msr.error = 0;
	run->msr.data = 0x1122334455667788ULL;
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(mmusim_vcpu_get_regs(v, &regs), 0);
	assert_int_equal(regs.rax, 0x55667788);
	assert_int_equal(regs.rdx, 0x11223344);
	assert_int_equal(regs.rip, 4);

	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_X86_RDMSR);
	run->msr.error = 1;
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(mmusim_vcpu_get_regs(v, &regs), 0);
	assert_int_equal(regs.r8, 1);		/* the handler ran once */
	assert_int_equal(regs.rip, 9);
	assert_int_equal(regs.rax, 7);		/* EDX:EAX untouched by the failed read */

	set_mask(&m, 0);
	assert_int_equal(mmusim_vcpu_run(v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(mmusim_vcpu_get_regs(v, &regs), 0);
	assert_int_equal(regs.r8, 2);
	assert_int_equal(regs.rip, 11);

	/* The allowed WRMSR reached the MSR. */
	{
		struct io io;
		static const u32 i1[] = { MSR_STAR_ };

		io_set(&io, 1, i1, NULL);
		assert_int_equal(mmusim_vcpu_get_msrs(v, &io.h), 1);
		assert_int_equal(io.e[0].data, 7);
	}
	mt_destroy(&m);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_msr_exit_vectors),
		MMUSIM_TEST(test_msr_exit_reasons),
		MMUSIM_TEST(test_msr_ignore_msrs),
		MMUSIM_TEST(test_msr_table_rules),
		MMUSIM_TEST(test_msr_handled_knob),
		MMUSIM_TEST(test_msr_host_get_set),
		MMUSIM_TEST(test_msr_host_errno),
		MMUSIM_TEST(test_msr_index_list),
		MMUSIM_TEST(test_msr_reset_values),
		MMUSIM_TEST(test_msr_through_kvm_run),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("msr", tests);
}
