// SPDX-License-Identifier: GPL-2.0-only
/*
 * The userspace MSR filter (src/msr/msr_filter.c), Linux 6.12 semantics:
 * KVM_X86_SET_MSR_FILTER's validation in KVM's order (seeds-apis.md 1.4,
 * the rows of 1.8), kvm_msr_allowed() (1.5), atomic replacement, the
 * intercept-recalculation request, KVM_CAP_X86_USER_SPACE_MSR's rules
 * (1.3), a randomized differential test against fuzz/msr_filter_model.h,
 * and readers deciding while another thread swaps filters.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include <mmusim/msr.h>
#include <mmusim/run.h>
#include "mmu/kvm_host.h"
#include "../fuzz/msr_filter_model.h"

#define R KVM_MSR_FILTER_READ
#define W KVM_MSR_FILTER_WRITE
#define DENY KVM_MSR_FILTER_DEFAULT_DENY

static u64 ones[KVM_MSR_FILTER_MAX_BITMAP_SIZE / 8];
static u64 zeros[KVM_MSR_FILTER_MAX_BITMAP_SIZE / 8];

static void filter_vm(struct test_vm *t, int nr_vcpus)
{
	struct test_vm_opts o = { .cfg = { .nr_vcpus = nr_vcpus } };

	test_vm_create(t, &o);
}

static struct kvm_vcpu *vcpu0(struct test_vm *t)
{
	return mmusim_to_kvm_vcpu(mmusim_vm_vcpu(t->vm, 0));
}

static bool rd(struct test_vm *t, u32 index)
{
	return kvm_msr_allowed(vcpu0(t), index, R);
}

static bool wr(struct test_vm *t, u32 index)
{
	return kvm_msr_allowed(vcpu0(t), index, W);
}

static void set_range(struct kvm_msr_filter *f, int i, u32 flags, u32 base, u32 nmsrs,
		      const void *bitmap)
{
	f->ranges[i] = (struct kvm_msr_filter_range){
		.flags = flags, .base = base, .nmsrs = nmsrs, .bitmap = (__u8 *)bitmap
	};
}

/* The validation rows of section 1.8, each on a VM with no filter yet. */
static void test_msr_filter_vectors(void **state)
{
	struct kvm_msr_filter f;
	struct test_vm t;

	filter_vm(&t, 1);

	memset(&f, 0, sizeof(f));
	f.flags = 2;
	set_range(&f, 0, R, 0, 1, ones);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EINVAL);
	f.flags = 0x80000000;
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EINVAL);

	memset(&f, 0, sizeof(f));
	f.flags = DENY;
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EINVAL);
	/* Empty + allow: a filter that filters nothing. */
	f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), 0);
	assert_true(rd(&t, 0x10) && wr(&t, 0xc0000080) && rd(&t, 0xffffffff));

	memset(&f, 0, sizeof(f));
	set_range(&f, 0, 0, 0, 1, ones);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EINVAL);
	set_range(&f, 0, 4, 0, 1, ones);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EINVAL);
	set_range(&f, 0, R | 4, 0, 1, ones);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EINVAL);
	/* nmsrs 0: flags and bitmap never looked at. */
	set_range(&f, 0, 7, 0, 0, test_bad_ptr());
	set_range(&f, 1, R, 0x10, 1, zeros);
	f.flags = DENY;
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), 0);
	assert_false(rd(&t, 0x10));

	memset(&f, 0, sizeof(f));
	set_range(&f, 0, R, 0, 12288, ones);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), 0);
	set_range(&f, 0, R, 0, 12289, ones);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EINVAL);
	/* A bitmap size computed in 32 bits would wrap to 0 here. */
	set_range(&f, 0, R, 0, 0xffffffff, ones);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EINVAL);
	set_range(&f, 0, R, 0, 0xffffffc1, ones);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EINVAL);
	set_range(&f, 0, R, 0, 1, NULL);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EFAULT);
	set_range(&f, 0, R, 0, 1, test_bad_ptr());
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EFAULT);

	/* The struct itself is user memory. */
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, NULL), -EFAULT);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, test_bad_ptr()), -EFAULT);
	assert_int_equal(mmusim_vm_set_msr_filter(NULL, &f), -EINVAL);

	test_vm_destroy(&t);
}

/* KVM copies exactly BITS_TO_LONGS(nmsrs) longs: not a byte less, not a byte more. */
static void test_msr_filter_bitmap_copy_size(void **state)
{
	static const struct {
		u32 nmsrs, bytes;
	} cases[] = { { 1, 8 }, { 64, 8 }, { 65, 16 }, { 12288, 0x600 } };
	struct kvm_msr_filter f;
	struct test_vm t;
	int i;

	filter_vm(&t, 1);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		u8 *exact = test_guarded_buf(cases[i].bytes, PROT_READ | PROT_WRITE);
		u8 *shy = test_guarded_buf(cases[i].bytes - 1, PROT_READ | PROT_WRITE);

		memset(exact, 0xff, cases[i].bytes);
		memset(&f, 0, sizeof(f));
		f.flags = DENY;
		set_range(&f, 0, R | W, 0x1000, cases[i].nmsrs, exact);
		assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), 0);
		assert_true(rd(&t, 0x1000 + cases[i].nmsrs - 1));
		assert_false(rd(&t, 0x1000 + cases[i].nmsrs));
		set_range(&f, 0, R | W, 0x1000, cases[i].nmsrs, shy);
		assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EFAULT);
		test_guarded_free(exact, cases[i].bytes);
		test_guarded_free(shy, cases[i].bytes - 1);
	}
	test_vm_destroy(&t);
}

/* Ranges are checked in slot order; the first failure decides the errno. */
static void test_msr_filter_first_failure_decides(void **state)
{
	struct kvm_msr_filter f;
	struct test_vm t;

	filter_vm(&t, 1);
	memset(&f, 0, sizeof(f));
	set_range(&f, 2, R, 0, 1, NULL);	/* -EFAULT */
	set_range(&f, 5, 0, 0, 1, ones);	/* -EINVAL */
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EFAULT);
	set_range(&f, 2, 8, 0, 1, NULL);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EINVAL);
	set_range(&f, 2, R, 0, 12289, NULL);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EINVAL);
	memset(&f, 0, sizeof(f));
	set_range(&f, 0, R, 0, 1, ones);
	set_range(&f, 15, R, 0, 1, test_bad_ptr());
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EFAULT);
	/* Top-level flags before any range. */
	f.flags = 3;
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EINVAL);
	test_vm_destroy(&t);
}

/* A failed set leaves the old filter in force, whole. */
static void test_msr_filter_failed_set_keeps_old(void **state)
{
	struct kvm_msr_filter f;
	struct test_vm t;

	filter_vm(&t, 1);
	memset(&f, 0, sizeof(f));
	f.flags = DENY;
	set_range(&f, 0, R, 0x10, 1, ones);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), 0);
	assert_true(rd(&t, 0x10));
	assert_false(rd(&t, 0x11) || wr(&t, 0x10));

	/* Ranges 0 and 1 would be fine, range 2 is not: nothing of it applies. */
	memset(&f, 0, sizeof(f));
	set_range(&f, 0, R | W, 0x11, 1, ones);
	set_range(&f, 1, R, 0x10, 1, zeros);
	set_range(&f, 2, R, 0, 1, NULL);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EFAULT);
	assert_true(rd(&t, 0x10));
	assert_false(rd(&t, 0x11) || wr(&t, 0x10) || wr(&t, 0x11));
	f.flags = 2;
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EINVAL);
	assert_true(rd(&t, 0x10));
	test_vm_destroy(&t);
}

/* kvm_msr_allowed(): the decision rows of section 1.8 and the wrap rule. */
static void test_msr_filter_decisions(void **state)
{
	u64 bit0 = 1, none = 0, x2[4] = { 0 };
	struct kvm_msr_filter f;
	struct test_vm t;

	filter_vm(&t, 1);
	/* No filter: everything. */
	assert_true(rd(&t, 0x10) && wr(&t, 0x10) && rd(&t, 0));

	/* First range matching index and type wins. */
	memset(&f, 0, sizeof(f));
	f.flags = DENY;
	set_range(&f, 0, R, 0x10, 1, &none);
	set_range(&f, 1, R | W, 0x10, 1, &bit0);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), 0);
	assert_false(rd(&t, 0x10));
	assert_true(wr(&t, 0x10));

	/* No READ range: the default decides reads. */
	memset(&f, 0, sizeof(f));
	f.flags = DENY;
	set_range(&f, 0, W, 0x10, 1, &bit0);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), 0);
	assert_false(rd(&t, 0x10));
	assert_true(wr(&t, 0x10));

	/* A set bit allows whatever the default; a clear one denies under allow. */
	memset(&f, 0, sizeof(f));
	set_range(&f, 0, R | W, 0x10, 2, &bit0);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), 0);
	assert_true(rd(&t, 0x10) && rd(&t, 0x12) && rd(&t, 0xf));
	assert_false(rd(&t, 0x11) || wr(&t, 0x11));

	/* x2APIC MSRs are never filtered. */
	memset(&f, 0, sizeof(f));
	f.flags = DENY;
	set_range(&f, 0, R | W, 0x800, 256, x2);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), 0);
	assert_true(rd(&t, 0x800) && wr(&t, 0x808) && rd(&t, 0x8ff));
	assert_false(rd(&t, 0x7ff) || rd(&t, 0x900));

	/* A range reaching 2^32 wraps (end as a u32) and matches nothing. */
	memset(&f, 0, sizeof(f));
	f.flags = DENY;
	set_range(&f, 0, R, 0xffffffc0, 64, ones);
	set_range(&f, 1, R, 0xffffff00, 64, ones);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), 0);
	assert_false(rd(&t, 0xffffffc0) || rd(&t, 0xffffffff));
	assert_true(rd(&t, 0xffffff00) && rd(&t, 0xffffff3f));
	assert_false(rd(&t, 0xffffff40));

	/* Compaction keeps order: slots 3 and 9 are the only ranges. */
	memset(&f, 0, sizeof(f));
	f.flags = DENY;
	set_range(&f, 3, R, 0x100, 1, &none);
	set_range(&f, 9, R, 0x100, 1, &bit0);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), 0);
	assert_false(rd(&t, 0x100));
	test_vm_destroy(&t);
}

/* Installing a filter asks every vCPU to recompute its MSR intercepts. */
static void test_msr_filter_requests_recalc(void **state)
{
	struct kvm_msr_filter f;
	struct test_vm t;
	struct kvm *kvm;
	int i;

	filter_vm(&t, 3);
	kvm = mmusim_to_kvm(t.vm);
	memset(&f, 0, sizeof(f));
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), 0);
	for (i = 0; i < 3; i++)
		assert_true(kvm_check_request(KVM_REQ_MSR_FILTER_CHANGED, kvm->vcpus[i]));
	/* Handled at the vCPU's next instruction boundary. */
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), 0);
	assert_int_equal(mmusim_vcpu_access(mmusim_vm_vcpu(t.vm, 1), 0x1000, MMUSIM_ACCESS_READ,
					    NULL), 1);
	assert_int_equal(kvm->vcpus[1]->msrs.intercept_recalcs, 1);
	assert_true(kvm_check_request(KVM_REQ_MSR_FILTER_CHANGED, kvm->vcpus[0]));
	assert_false(kvm_check_request(KVM_REQ_MSR_FILTER_CHANGED, kvm->vcpus[1]));
	assert_true(kvm_check_request(KVM_REQ_MSR_FILTER_CHANGED, kvm->vcpus[2]));
	/* A failed set changes nothing, so asks nothing. */
	f.flags = 2;
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &f), -EINVAL);
	for (i = 0; i < 3; i++)
		assert_false(kvm_check_request(KVM_REQ_MSR_FILTER_CHANGED, kvm->vcpus[i]));
	test_vm_destroy(&t);
}

/* KVM_CAP_X86_USER_SPACE_MSR (section 1.3) and what KVM_CHECK_EXTENSION says. */
static void test_msr_user_space_cap(void **state)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR };
	struct test_vm t;
	struct kvm *kvm;

	filter_vm(&t, 1);
	kvm = mmusim_to_kvm(t.vm);
	assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_X86_USER_SPACE_MSR), 1);
	assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_X86_MSR_FILTER), 1);

	cap.args[0] = 7;
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), 0);
	assert_int_equal(kvm->msr.user_space_msr_mask, 7);
	cap.args[0] = 8;
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), -EINVAL);
	/* The whole u64 is checked: a high bit is not truncated away. */
	cap.args[0] = 1ULL << 32 | KVM_MSR_EXIT_REASON_FILTER;
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), -EINVAL);
	assert_int_equal(kvm->msr.user_space_msr_mask, 7);
	cap.args[0] = KVM_MSR_EXIT_REASON_FILTER;
	cap.flags = 1;
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), -EINVAL);
	cap.flags = 0;
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), 0);
	assert_int_equal(kvm->msr.user_space_msr_mask, KVM_MSR_EXIT_REASON_FILTER);
	cap.args[0] = 0;
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), 0);
	assert_int_equal(kvm->msr.user_space_msr_mask, 0);
	test_vm_destroy(&t);
}

/* ----------------------------------------------------------------------
 * Differential: random filters and accesses against the model
 */

struct rand_filter {
	struct kvm_msr_filter f;
	struct model_request q;
	u8 *buf[KVM_MSR_FILTER_MAX_RANGES];
	size_t len[KVM_MSR_FILTER_MAX_RANGES];
};

static u32 pick_u32(u64 *rs, const u32 *interesting, int n)
{
	u64 x = test_rand(rs);

	if (x & 1)
		return interesting[(x >> 1) % n];
	return (u32)(x >> 32);
}

static const u32 bases[] = { 0, 0x10, 0x800, 0x7f0, 0xc0000080, 0xc0000000, 0xffffffc0,
			     0xffffff00, 0x40000000, 0x1a0 };
static const u32 counts[] = { 0, 1, 2, 63, 64, 65, 16, 256, 12288, 12289, 0x4000 };

static void rand_filter_make(struct rand_filter *r, u64 *rs)
{
	int i;

	memset(r, 0, sizeof(*r));
	r->f.flags = test_rand(rs) % 8 ? test_rand(rs) & 1 : (u32)test_rand(rs);
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		struct kvm_msr_filter_range *kr = &r->f.ranges[i];
		u64 x = test_rand(rs);
		size_t need, j;

		if (x % 4)
			continue;	/* an empty slot: most are */
		kr->flags = x % 31 ? 1 + (x >> 8) % 3 : (u32)(x >> 16) % 9;
		kr->nmsrs = pick_u32(rs, counts, ARRAY_SIZE(counts)) % (x % 13 ? 300 : 0x10000);
		kr->base = pick_u32(rs, bases, ARRAY_SIZE(bases));
		if (test_rand(rs) % 2)
			kr->base += test_rand(rs) % 64;
		need = model_bitmap_bytes(kr->nmsrs);
		/* Mostly exactly enough, sometimes one byte short, sometimes NULL. */
		x = test_rand(rs);
		r->len[i] = need ? (x % 41 ? need : need - 1) : 8;
		if (x % 53 == 0) {
			r->len[i] = 0;
		} else {
			r->buf[i] = test_guarded_buf(r->len[i], PROT_READ | PROT_WRITE);
			for (j = 0; j < r->len[i]; j++)
				r->buf[i][j] = x % 7 == 0 ? 0xff : (u8)test_rand(rs);
		}
		kr->bitmap = r->buf[i];
		r->q.rflags[i] = kr->flags;
		r->q.nmsrs[i] = kr->nmsrs;
		r->q.base[i] = kr->base;
		r->q.readable[i] = r->len[i];
		r->q.bytes[i] = r->buf[i];
	}
	r->q.flags = r->f.flags;
}

static void rand_filter_free(struct rand_filter *r)
{
	int i;

	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++)
		if (r->buf[i])
			test_guarded_free(r->buf[i], r->len[i]);
}

static u32 rand_index(u64 *rs, const struct kvm_msr_filter *f)
{
	u64 x = test_rand(rs);
	const struct kvm_msr_filter_range *kr = &f->ranges[x % KVM_MSR_FILTER_MAX_RANGES];

	switch ((x >> 8) % 4) {
	case 0:
		return (u32)test_rand(rs);
	case 1:
		return bases[(x >> 16) % ARRAY_SIZE(bases)] + (x >> 32) % 80;
	default:
		/* In or just around a range of the request. */
		return kr->base + (u32)((x >> 16) % ((u64)kr->nmsrs + 2)) - 1;
	}
}

static void test_msr_filter_differential(void **state)
{
	u64 rs = mmusim_test_seed();
	struct model_filter *m = calloc(1, sizeof(*m));
	struct rand_filter *r = malloc(sizeof(*r));
	struct test_vm t;
	int round, i, accepted = 0;

	assert_non_null(m);
	assert_non_null(r);
	filter_vm(&t, 1);
	for (round = 0; round < 400; round++) {
		int want, got;

		rand_filter_make(r, &rs);
		want = model_set_filter(m, &r->q);
		got = mmusim_vm_set_msr_filter(t.vm, &r->f);
		if (got != want)
			fail_msg("round %d: set_msr_filter %d, model %d", round, got, want);
		accepted += !got;
		for (i = 0; i < 200; i++) {
			u32 index = rand_index(&rs, &r->f);
			bool write = test_rand(&rs) & 1;
			bool k = kvm_msr_allowed(vcpu0(&t), index, write ? W : R);

			if (k != model_allowed(m, index, write))
				fail_msg("round %d: %s 0x%x: kvm %d, model %d", round,
					 write ? "wrmsr" : "rdmsr", index, k, !k);
		}
		rand_filter_free(r);
	}
	print_message("differential: %d of 400 filters accepted\n", accepted);
	assert_true(accepted > 40 && accepted < 360);
	test_vm_destroy(&t);
	free(r);
	free(m);
}

/* ----------------------------------------------------------------------
 * Concurrent swaps: every decision is the old filter's or the new one's
 */

/*
 * A: deny by default, 0x10 allowed by a range.  B: allow by default, 0x11
 * denied by a range.  Both allow 0x10 and deny 0x11; a decision mixing one
 * filter's default with the other's ranges would deny 0x10 or allow 0x11.
 * 0x12 tells them apart (A denies, B allows), so both are seen deciding.
 */
struct swap_ctx {
	struct test_vm *t;
	int vcpu;
	bool stop;
	u64 seen_a, seen_b, mixed, decisions;
};

static int swap_reader(void *arg)
{
	struct swap_ctx *c = arg;
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(mmusim_vm_vcpu(c->t->vm, c->vcpu));

	env_thread_register();
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		bool a10 = kvm_msr_allowed(vcpu, 0x10, R);
		bool a11 = kvm_msr_allowed(vcpu, 0x11, R);
		bool a12 = kvm_msr_allowed(vcpu, 0x12, R);

		if (!a10 || a11)
			c->mixed++;
		if (a12)
			c->seen_b++;
		else
			c->seen_a++;
		c->decisions += 3;
	}
	env_thread_unregister();
	return 0;
}

/*
 * The two filters the swap tests alternate between:
 *   A: default deny, 0x10 allowed for reads
 *   B: default allow, 0x11 denied for reads
 */
static void swap_filters_init(struct kvm_msr_filter *a, struct kvm_msr_filter *b, u64 *bit0,
			      u64 *none)
{
	memset(a, 0, sizeof(*a));
	a->flags = DENY;
	set_range(a, 0, R, 0x10, 1, bit0);
	memset(b, 0, sizeof(*b));
	set_range(b, 0, R, 0x11, 1, none);
}

/* Swap B, A, B, ... for 300 ms and at least @min_swaps times; returns the swaps. */
static int swap_filters(struct test_vm *t, struct kvm_msr_filter *a, struct kvm_msr_filter *b,
			int min_swaps)
{
	u64 end = ktime_get_ns() + 300ULL * 1000 * 1000;
	int swaps = 0;

	while (ktime_get_ns() < end || swaps < min_swaps) {
		assert_int_equal(mmusim_vm_set_msr_filter(t->vm, swaps & 1 ? a : b), 0);
		swaps++;
	}
	return swaps;
}

static void test_msr_filter_concurrent_swap(void **state)
{
	u64 bit0 = 1, none = 0;
	struct swap_ctx ctx[2] = { 0 };
	struct env_thread *th[2];
	struct kvm_msr_filter a, b;
	struct test_vm t;
	int i, swaps;

	filter_vm(&t, 2);
	swap_filters_init(&a, &b, &bit0, &none);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &a), 0);

	for (i = 0; i < 2; i++) {
		ctx[i].t = &t;
		ctx[i].vcpu = i;
		th[i] = env_thread_start(swap_reader, &ctx[i], "msr-reader");
		assert_non_null(th[i]);
	}
	swaps = swap_filters(&t, &a, &b, 50);
	for (i = 0; i < 2; i++)
		__atomic_store_n(&ctx[i].stop, true, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++) {
		assert_int_equal(env_thread_join(th[i]), 0);
		print_message("reader %d: %llu decisions, %llu A, %llu B\n", i,
			      (unsigned long long)ctx[i].decisions,
			      (unsigned long long)ctx[i].seen_a, (unsigned long long)ctx[i].seen_b);
		assert_int_equal(ctx[i].mixed, 0);
	}
	print_message("%d filter swaps\n", swaps);
	test_vm_destroy(&t);
}

/*
 * The same two filters against vCPUs inside KVM_RUN: each runs a guest
 * loop reading 0x10 (KVM's TSC: both filters allow it, it never exits),
 * 0x11 (both deny it: always a FILTER exit) and 0x12 (A denies it: a
 * FILTER exit; B allows it and KVM does not know it: an UNKNOWN exit), and
 * its thread answers every exit, while the main thread swaps the filters.
 */
struct run_ctx {
	struct test_vm *t;
	int vcpu;
	bool stop;
	u64 filter_12, unknown_12, exits, bad;
};

static int run_vcpu_thread(void *arg)
{
	const struct mmusim_insn prog[] = {
		{ .op = MMUSIM_INSN_MOV_IMM, .reg = MMUSIM_REG_RCX, .imm = 0x10 },
		{ .op = MMUSIM_INSN_RDMSR },
		{ .op = MMUSIM_INSN_MOV_IMM, .reg = MMUSIM_REG_RCX, .imm = 0x11 },
		{ .op = MMUSIM_INSN_RDMSR },
		{ .op = MMUSIM_INSN_MOV_IMM, .reg = MMUSIM_REG_RCX, .imm = 0x12 },
		{ .op = MMUSIM_INSN_RDMSR },
		{ .op = MMUSIM_INSN_JMP, .target = 0 },
	};
	struct run_ctx *c = arg;
	struct mmusim_vcpu *v = mmusim_vm_vcpu(c->t->vm, c->vcpu);
	struct kvm_run *run = mmusim_vcpu_kvm_run(v);

	env_thread_register();
	if (mmusim_vcpu_load_program(v, prog, ARRAY_SIZE(prog)))
		c->bad++;
	while (!c->bad && !__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		if (mmusim_vcpu_run(v) || run->exit_reason != KVM_EXIT_X86_RDMSR) {
			c->bad++;
			break;
		}
		c->exits++;
		if (run->msr.index == 0x11 && run->msr.reason == KVM_MSR_EXIT_REASON_FILTER)
			;
		else if (run->msr.index == 0x12 && run->msr.reason == KVM_MSR_EXIT_REASON_FILTER)
			c->filter_12++;
		else if (run->msr.index == 0x12 && run->msr.reason == KVM_MSR_EXIT_REASON_UNKNOWN)
			c->unknown_12++;
		else
			c->bad++;
		run->msr.error = 0;
		run->msr.data = 0;
	}
	env_thread_unregister();
	return 0;
}

static void test_msr_filter_swap_running_vcpus(void **state)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR,
				      .args[0] = KVM_MSR_EXIT_REASON_FILTER |
						 KVM_MSR_EXIT_REASON_UNKNOWN };
	u64 bit0 = 1, none = 0;
	struct run_ctx ctx[2] = { 0 };
	struct env_thread *th[2];
	struct kvm_msr_filter a, b;
	struct test_vm t;
	int i, swaps;

	filter_vm(&t, 2);
	swap_filters_init(&a, &b, &bit0, &none);
	assert_int_equal(mmusim_vm_enable_cap(t.vm, &cap), 0);
	assert_int_equal(mmusim_vm_set_msr_filter(t.vm, &a), 0);
	for (i = 0; i < 2; i++) {
		ctx[i].t = &t;
		ctx[i].vcpu = i;
		th[i] = env_thread_start(run_vcpu_thread, &ctx[i], "msr-vcpu");
		assert_non_null(th[i]);
	}
	swaps = swap_filters(&t, &a, &b, 20);
	for (i = 0; i < 2; i++)
		__atomic_store_n(&ctx[i].stop, true, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++) {
		assert_int_equal(env_thread_join(th[i]), 0);
		print_message("vCPU %d: %llu exits, 0x12 filtered %llu, unknown %llu\n", i,
			      (unsigned long long)ctx[i].exits,
			      (unsigned long long)ctx[i].filter_12,
			      (unsigned long long)ctx[i].unknown_12);
		assert_int_equal(ctx[i].bad, 0);
		assert_true(ctx[i].exits > 0);
	}
	print_message("%d filter swaps\n", swaps);
	test_vm_destroy(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_msr_filter_vectors),
		MMUSIM_TEST(test_msr_filter_bitmap_copy_size),
		MMUSIM_TEST(test_msr_filter_first_failure_decides),
		MMUSIM_TEST(test_msr_filter_failed_set_keeps_old),
		MMUSIM_TEST(test_msr_filter_decisions),
		MMUSIM_TEST(test_msr_filter_requests_recalc),
		MMUSIM_TEST(test_msr_user_space_cap),
		MMUSIM_TEST(test_msr_filter_differential),
		MMUSIM_TEST(test_msr_filter_concurrent_swap),
		MMUSIM_TEST(test_msr_filter_swap_running_vcpus),
	};

	memset(ones, 0xff, sizeof(ones));
	mmusim_test_init(argc, argv);
	return mmusim_run_tests("msr_filter", tests);
}
