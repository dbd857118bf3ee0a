// SPDX-License-Identifier: GPL-2.0-only
/*
 * Self-tests of src/msr that run in both environments: KVM_X86_SET_MSR_FILTER's
 * validation in KVM's order (a sample of seeds-apis.md 1.4 and the rows of
 * 1.8), kvm_msr_allowed()'s decisions (1.5), KVM_CAP_X86_USER_SPACE_MSR's
 * rules (1.3), a guest RDMSR/WRMSR exit and its completion (1.6), and
 * host-initiated KVM_GET_MSRS/KVM_SET_MSRS, all as Linux 6.12.
 *
 * What the calls read and write as user memory (the filter, its bitmaps, the
 * KVM_{GET,SET}_MSRS buffer, KVM_ENABLE_CAP's argument) lives in one
 * st_ubuf; NULL is the unreadable pointer in both worlds.
 */
#include "mmusim_env.h"

#include <mmusim/host.h>
#include <mmusim/msr.h>
#include <mmusim/vm.h>
#include "mmu/kvm_host.h"

#include "selftest/selftest.h"

#define ST_MSR_R KVM_MSR_FILTER_READ
#define ST_MSR_W KVM_MSR_FILTER_WRITE
#define ST_MSR_STAR 0xc0000081
#define ST_MSR_TSC_AUX 0xc0000103
#define ST_MSR_UNKNOWN 0x4b564dffu

/* The user memory of one test (an st_ubuf). */
struct st_msr_user {
	struct kvm_msr_filter f;
	struct kvm_enable_cap cap;
	u8 io[sizeof(struct kvm_msrs) + 4 * sizeof(struct kvm_msr_entry)];
	u64 ones[KVM_MSR_FILTER_MAX_BITMAP_SIZE / 8], zeros[KVM_MSR_FILTER_MAX_BITMAP_SIZE / 8];
};

struct st_msr {
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	struct kvm_vcpu *vcpu;
	struct st_ubuf ub; /* holds a struct st_msr_user; below, its parts */
	struct kvm_msr_filter *f;
	struct kvm_enable_cap *cap;
	u64 *ones, *zeros;	/* 0x600-byte bitmaps */
	u8 *io;
};

static void st_msr_destroy(struct st_msr *m)
{
	if (m->vm)
		mmusim_vm_destroy(m->vm);
	if (m->mm)
		sim_mm_destroy(m->mm);
	if (m->host)
		sim_host_destroy(m->host);
	st_ubuf_free(&m->ub);
	kfree(m);
}

static struct st_msr *st_msr_create(void)
{
	struct sim_host_config hc = { .mem_bytes = 16ULL << 20 };
	struct st_msr *m = kzalloc(sizeof(*m), GFP_KERNEL);

	struct st_msr_user *u;

	if (!m)
		return NULL;
	if (st_ubuf_alloc(&m->ub, sizeof(*u))) {
		kfree(m);
		return NULL;
	}
	u = m->ub.k;
	m->f = &u->f;
	m->cap = &u->cap;
	m->io = u->io;
	m->ones = u->ones;
	m->zeros = u->zeros;
	if (sim_host_create(&hc, &m->host) || sim_mm_create(m->host, &m->mm) ||
	    mmusim_vm_create(m->host, m->mm, NULL, &m->vm)) {
		st_msr_destroy(m);
		return NULL;
	}
	memset(m->ones, 0xff, KVM_MSR_FILTER_MAX_BITMAP_SIZE);
	m->vcpu = mmusim_to_kvm_vcpu(mmusim_vm_vcpu(m->vm, 0));
	return m;
}

static void st_range(struct st_msr *m, int i, u32 flags, u32 base, u32 nmsrs, void *bitmap)
{
	m->f->ranges[i].flags = flags;
	m->f->ranges[i].base = base;
	m->f->ranges[i].nmsrs = nmsrs;
	m->f->ranges[i].bitmap = bitmap ? st_uptr(&m->ub, bitmap) : NULL;
}

static int st_set(struct st_msr *m)
{
	return mmusim_vm_set_msr_filter(m->vm, st_uptr(&m->ub, m->f));
}

static void st_clear(struct st_msr *m, u32 flags)
{
	memset(m->f, 0, sizeof(*m->f));
	m->f->flags = flags;
}

ST_TEST(msr_filter_validation)
{
	struct st_msr *m = st_msr_create();

	ST_ASSERT_NOT_NULL(m);
	st_clear(m, 2);
	st_range(m, 0, ST_MSR_R, 0, 1, m->ones);
	ST_EXPECT_EQ(st_set(m), -EINVAL);
	st_clear(m, KVM_MSR_FILTER_DEFAULT_DENY);
	ST_EXPECT_EQ(st_set(m), -EINVAL);
	st_clear(m, 0);
	ST_EXPECT_EQ(st_set(m), 0);
	ST_EXPECT(kvm_msr_allowed(m->vcpu, 0x10, ST_MSR_R));
	st_range(m, 0, 0, 0, 1, m->ones);
	ST_EXPECT_EQ(st_set(m), -EINVAL);
	st_range(m, 0, 4, 0, 1, m->ones);
	ST_EXPECT_EQ(st_set(m), -EINVAL);
	st_range(m, 0, 7, 0, 0, NULL);			/* skipped unexamined */
	ST_EXPECT_EQ(st_set(m), 0);
	st_range(m, 0, ST_MSR_R, 0, 12288, m->ones);
	ST_EXPECT_EQ(st_set(m), 0);
	st_range(m, 0, ST_MSR_R, 0, 12289, m->ones);
	ST_EXPECT_EQ(st_set(m), -EINVAL);
	st_range(m, 0, ST_MSR_R, 0, 0xffffffff, m->ones);
	ST_EXPECT_EQ(st_set(m), -EINVAL);
	st_range(m, 0, ST_MSR_R, 0, 1, NULL);
	ST_EXPECT_EQ(st_set(m), -EFAULT);
	/* The first failing range decides. */
	st_range(m, 0, ST_MSR_R, 0, 1, NULL);
	st_range(m, 1, 0, 0, 1, m->ones);
	ST_EXPECT_EQ(st_set(m), -EFAULT);
	st_range(m, 0, 8, 0, 1, NULL);
	ST_EXPECT_EQ(st_set(m), -EINVAL);
	ST_EXPECT_EQ(mmusim_vm_set_msr_filter(m->vm, NULL), -EFAULT);
	ST_EXPECT_EQ(mmusim_vm_set_msr_filter(NULL, st_uptr(&m->ub, m->f)), -EINVAL);
	st_msr_destroy(m);
	return st_result(ctx);
}

ST_TEST(msr_filter_decisions)
{
	struct st_msr *m = st_msr_create();
	struct kvm_vcpu *v;

	ST_ASSERT_NOT_NULL(m);
	v = m->vcpu;
	ST_EXPECT(kvm_msr_allowed(v, 0x10, ST_MSR_R));		/* no filter */
	/* Range 0 (READ, denied) wins for reads; range 1 (R|W, allowed) for writes. */
	st_clear(m, KVM_MSR_FILTER_DEFAULT_DENY);
	st_range(m, 0, ST_MSR_R, 0x10, 1, m->zeros);
	st_range(m, 1, ST_MSR_R | ST_MSR_W, 0x10, 1, m->ones);
	ST_EXPECT_EQ(st_set(m), 0);
	ST_EXPECT(!kvm_msr_allowed(v, 0x10, ST_MSR_R));
	ST_EXPECT(kvm_msr_allowed(v, 0x10, ST_MSR_W));
	ST_EXPECT(!kvm_msr_allowed(v, 0x11, ST_MSR_W));
	/* A failed set leaves that filter deciding. */
	st_range(m, 2, ST_MSR_R, 0, 1, NULL);
	ST_EXPECT_EQ(st_set(m), -EFAULT);
	ST_EXPECT(kvm_msr_allowed(v, 0x10, ST_MSR_W));
	ST_EXPECT(!kvm_msr_allowed(v, 0x10, ST_MSR_R));
	/* x2APIC MSRs are never filtered; a range reaching 2^32 matches nothing. */
	st_clear(m, KVM_MSR_FILTER_DEFAULT_DENY);
	st_range(m, 0, ST_MSR_R | ST_MSR_W, 0x800, 256, m->zeros);
	st_range(m, 1, ST_MSR_R, 0xffffffc0, 64, m->ones);
	ST_EXPECT_EQ(st_set(m), 0);
	ST_EXPECT(kvm_msr_allowed(v, 0x808, ST_MSR_W));
	ST_EXPECT(!kvm_msr_allowed(v, 0x7ff, ST_MSR_R));
	ST_EXPECT(!kvm_msr_allowed(v, 0xffffffff, ST_MSR_R));
	st_msr_destroy(m);
	return st_result(ctx);
}

static void st_insn(struct kvm_vcpu *v, u32 ecx, u64 value)
{
	memset(&v->arch.exception, 0, sizeof(v->arch.exception));
	v->arch.complete_userspace_io = NULL;
	v->run->exit_reason = 0;
	kvm_rip_write(v, 10);
	kvm_rcx_write(v, ecx);
	kvm_rax_write(v, (u32)value);
	kvm_rdx_write(v, value >> 32);
}

ST_TEST(msr_user_space_exits)
{
	struct st_msr *m = st_msr_create();
	struct kvm_enable_cap *cap, __user *ucap;
	struct kvm_vcpu *v;
	int (*cui)(struct kvm_vcpu *vcpu);

	ST_ASSERT_NOT_NULL(m);
	v = m->vcpu;
	cap = m->cap;
	ucap = st_uptr(&m->ub, cap);
	cap->cap = KVM_CAP_X86_USER_SPACE_MSR;
	ST_EXPECT_EQ(mmusim_vm_check_extension(m->vm, KVM_CAP_X86_USER_SPACE_MSR), 1);
	ST_EXPECT_EQ(mmusim_vm_check_extension(m->vm, KVM_CAP_X86_MSR_FILTER), 1);
	cap->args[0] = 8;
	ST_EXPECT_EQ(mmusim_vm_enable_cap(m->vm, ucap), -EINVAL);
	cap->args[0] = (1ULL << 32) | KVM_MSR_EXIT_REASON_FILTER;
	ST_EXPECT_EQ(mmusim_vm_enable_cap(m->vm, ucap), -EINVAL);
	cap->args[0] = KVM_MSR_EXIT_REASON_FILTER;
	cap->flags = 1;
	ST_EXPECT_EQ(mmusim_vm_enable_cap(m->vm, ucap), -EINVAL);
	cap->flags = 0;
	ST_EXPECT_EQ(mmusim_vm_enable_cap(m->vm, ucap), 0);

	st_clear(m, KVM_MSR_FILTER_DEFAULT_DENY);
	st_range(m, 0, ST_MSR_W, ST_MSR_STAR, 1, m->ones);
	st_range(m, 1, ST_MSR_W, ST_MSR_TSC_AUX, 1, m->ones);
	ST_EXPECT_EQ(st_set(m), 0);

	/* A denied read exits with reason FILTER; userspace answers. */
	st_insn(v, ST_MSR_STAR, 0);
	ST_EXPECT_EQ(kvm_emulate_rdmsr(v), 0);
	ST_EXPECT_EQ(v->run->exit_reason, KVM_EXIT_X86_RDMSR);
	ST_EXPECT_EQ(v->run->msr.reason, KVM_MSR_EXIT_REASON_FILTER);
	ST_EXPECT_EQ(v->run->msr.index, ST_MSR_STAR);
	ST_EXPECT_EQ(v->run->msr.data, 0);
	cui = v->arch.complete_userspace_io;
	ST_ASSERT_NOT_NULL(cui);
	v->run->msr.data = 0x1234567800000009ULL;
	ST_EXPECT_EQ(cui(v), 1);
	ST_EXPECT_EQ(kvm_rip_read(v), 11);
	ST_EXPECT_EQ(kvm_rax_read(v), 9);
	ST_EXPECT_EQ(kvm_rdx_read(v), 0x12345678);
	ST_EXPECT(!v->arch.exception.pending);
	/* error != 0 on re-entry: #GP, RIP not advanced. */
	st_insn(v, ST_MSR_STAR, 0);
	ST_EXPECT_EQ(kvm_emulate_rdmsr(v), 0);
	cui = v->arch.complete_userspace_io;
	ST_ASSERT_NOT_NULL(cui);
	v->run->msr.error = 1;
	ST_EXPECT_EQ(cui(v), 1);
	ST_EXPECT(v->arch.exception.pending);
	ST_EXPECT_EQ(kvm_rip_read(v), 10);
	/* The allowed write goes through. */
	st_insn(v, ST_MSR_STAR, 0x42);
	ST_EXPECT_EQ(kvm_emulate_wrmsr(v), 1);
	ST_EXPECT_EQ(kvm_rip_read(v), 11);
	/* Reserved bits: INVAL is not in the mask, so #GP with no exit. */
	st_insn(v, ST_MSR_TSC_AUX, 1ULL << 32);
	ST_EXPECT_EQ(kvm_emulate_wrmsr(v), 1);
	ST_EXPECT(v->arch.exception.pending);
	ST_EXPECT_EQ(v->run->exit_reason, 0);
	ST_EXPECT_EQ(kvm_rip_read(v), 10);
	st_msr_destroy(m);
	return st_result(ctx);
}

ST_TEST(msr_host_access)
{
	struct st_msr *m = st_msr_create();
	struct kvm_msrs *h, __user *uh;
	struct mmusim_vcpu *v;

	ST_ASSERT_NOT_NULL(m);
	h = (struct kvm_msrs *)m->io;
	uh = st_uptr(&m->ub, h);
	v = mmusim_vm_vcpu(m->vm, 0);
	/* Host accesses ignore even a deny-all filter. */
	st_clear(m, KVM_MSR_FILTER_DEFAULT_DENY);
	st_range(m, 0, ST_MSR_R, 0, 1, m->zeros);
	ST_EXPECT_EQ(st_set(m), 0);
	h->nmsrs = 3;
	h->entries[0].index = ST_MSR_STAR;
	h->entries[0].data = 0x77;
	h->entries[1].index = ST_MSR_UNKNOWN;
	h->entries[2].index = ST_MSR_TSC_AUX;
	ST_EXPECT_EQ(mmusim_vcpu_set_msrs(v, uh), 1);
	h->entries[0].data = 0;
	ST_EXPECT_EQ(mmusim_vcpu_get_msrs(v, uh), 1);
	ST_EXPECT_EQ(h->entries[0].data, 0x77);
	h->nmsrs = 256;
	ST_EXPECT_EQ(mmusim_vcpu_get_msrs(v, uh), -E2BIG);
	ST_EXPECT_EQ(mmusim_vcpu_get_msrs(v, NULL), -EFAULT);
	st_msr_destroy(m);
	return st_result(ctx);
}
