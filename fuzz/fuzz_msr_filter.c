// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_msr_filter: random KVM_X86_SET_MSR_FILTER requests (valid and not),
 * KVM_CAP_X86_USER_SPACE_MSR masks, knob changes, guest RDMSR/WRMSR with
 * their userspace exits and completions, and host KVM_GET/SET_MSRS, each
 * checked against a model: the filter half is fuzz/msr_filter_model.h, the
 * rest (a few MSRs whose behaviour is simple to state, the exit-reason
 * mapping, completion) is written out below from seeds-apis.md 1.3-1.6.
 *
 * Every errno must be the model's, and after every instruction the vCPU
 * state must be too: RIP advanced or not, #GP pending or not, EDX:EAX, the
 * kvm_run exit fields, whether a completion is pending.  The MSRs used:
 *   STAR      any value, never refused;
 *   TSC_AUX   bits 63:32 reserved (1 = INVAL);
 *   0x808     x2APIC TPR: refused (INVAL) outside x2APIC mode, never filtered;
 *   others    unknown to KVM (UNKNOWN), unless ignore_msrs.
 * STAR and TSC_AUX can be turned off (mmusim_vm_set_msr_handled(): UNKNOWN
 * to the guest, host reads and zero writes still work).
 *
 * User memory: the filter struct and each range's bitmap sit in guarded
 * slots, placed so that exactly N bytes are readable before PROT_NONE; the
 * model is told N (NULL and PROT_NONE pointers are 0).
 */
#include <sys/mman.h>

#include "fuzz_helpers.h"
#include "fuzz_data_producer.h"
#include "msr_filter_model.h"

#include "mmusim_env.h"
#include <mmusim/host.h>
#include <mmusim/msr.h>
#include <mmusim/vm.h>
#include "mmu/kvm_host.h"

#define MAX_OPS 64
#define SLOT 0x2000		/* bytes of one guarded slot (then a PROT_NONE page) */
#define NR_SLOTS (KVM_MSR_FILTER_MAX_RANGES + 2)
#define RIP0 0x1000

#define I_STAR 0xc0000081u
#define I_AUX 0xc0000103u
#define I_TPR 0x808u

/* The table's indices, so a "random unknown" index is never one of them. */
static const u32 table_indices[] = { 0x10, 0x1b, 0x8b, 0x174, 0x175, 0x176, 0x1a0, 0x277,
				     0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083,
				     0xc0000084, 0xc0000100, 0xc0000101, 0xc0000102,
				     0xc0000103 };

static u8 *slots;		/* NR_SLOTS x [SLOT bytes rw][page PROT_NONE] */

static u8 *slot_end(int i)
{
	return slots + (size_t)i * (SLOT + PAGE_SIZE) + SLOT;
}

enum ptr_kind { P_OK, P_SHORT, P_NULL, P_NONE, P_NR };

/* A pointer with exactly @avail readable bytes at it (for P_OK and P_SHORT). */
static void *place(int slot, int kind, size_t need, u32 *avail)
{
	if (need > SLOT)
		need = SLOT;
	switch (kind) {
	case P_OK:
		*avail = need;
		return slot_end(slot) - need;
	case P_SHORT:
		*avail = need ? need - 1 : 0;
		return slot_end(slot) - *avail;
	case P_NULL:
		*avail = 0;
		return NULL;
	default:
		*avail = 0;
		return slot_end(slot);
	}
}

struct fz {
	struct fuzz_dp dp;
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	struct kvm_vcpu *vcpu;
	/* the model */
	struct model_filter filter;
	u32 mask;
	bool ignore;
	bool star_on, aux_on;
	u64 star, aux;
	int pending;		/* 0, or KVM_EXIT_X86_RDMSR/WRMSR awaiting completion */
	u32 last_base[KVM_MSR_FILTER_MAX_RANGES], last_nmsrs[KVM_MSR_FILTER_MAX_RANGES];
	u64 saved_rax, saved_rdx;
};

static const u32 nmsrs_set[] = { 0, 1, 2, 8, 63, 64, 65, 255, 256, 4096, 12287, 12288, 12289,
				 0xffffffc0, 0xffffffc1, 0xffffffff };
static const u32 base_set[] = { 0, 0x10, 0x800, 0x7c0, 0x808, 0xc0000080, 0xc0000081,
				0xc0000100, 0xc0000103, 0xffffffc0, 0xffffff00, 0x4b564d00 };

static u32 pick(struct fuzz_dp *dp, const u32 *set, int n)
{
	if (fuzz_dp_index(dp, 8) == 0)
		return fuzz_dp_u32(dp);
	return set[fuzz_dp_index(dp, n)];
}

static void op_set_filter(struct fz *f)
{
	struct kvm_msr_filter *kf;
	struct model_request q;
	int i, want, got, skind;
	u32 avail;

	memset(&q, 0, sizeof(q));
	skind = fuzz_dp_index(&f->dp, 16) ? P_OK : fuzz_dp_index(&f->dp, P_NR);
	kf = place(KVM_MSR_FILTER_MAX_RANGES, P_OK, sizeof(*kf), &avail);
	memset(kf, 0, sizeof(*kf));
	kf->flags = fuzz_dp_index(&f->dp, 8) ? fuzz_dp_index(&f->dp, 2) : fuzz_dp_u32(&f->dp);
	q.flags = kf->flags;
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		struct kvm_msr_filter_range *r = &kf->ranges[i];
		int bkind, fill;
		size_t need, j;
		u8 *bm;

		if (fuzz_dp_index(&f->dp, 4))
			continue;
		r->flags = fuzz_dp_index(&f->dp, 8) ? 1 + fuzz_dp_index(&f->dp, 3)
						    : fuzz_dp_index(&f->dp, 16);
		r->nmsrs = pick(&f->dp, nmsrs_set, ARRAY_SIZE(nmsrs_set));
		if (fuzz_dp_bool(&f->dp) && r->nmsrs < 0x10000)
			r->nmsrs = fuzz_dp_u32_range(&f->dp, 0, 300);
		r->base = pick(&f->dp, base_set, ARRAY_SIZE(base_set)) +
			  fuzz_dp_u32_range(&f->dp, 0, 70);
		need = model_bitmap_bytes(r->nmsrs);
		bkind = fuzz_dp_index(&f->dp, 12) ? P_OK : fuzz_dp_index(&f->dp, P_NR);
		bm = place(i, bkind, need, &avail);
		fill = fuzz_dp_index(&f->dp, 4);
		for (j = 0; j < avail; j++)
			bm[j] = fill == 0   ? 0 :
				fill == 1 ? 0xff :
					    (u8)fuzz_dp_range(&f->dp, 0, 255);
		r->bitmap = bm;
		f->last_base[i] = r->base;
		f->last_nmsrs[i] = r->nmsrs;
		q.rflags[i] = r->flags;
		q.nmsrs[i] = r->nmsrs;
		q.base[i] = r->base;
		q.readable[i] = avail;
		q.bytes[i] = bm;
	}

	if (skind == P_OK) {
		want = model_set_filter(&f->filter, &q);
		got = mmusim_vm_set_msr_filter(f->vm, kf);
	} else {
		/* The struct copy fails first: nothing else is looked at. */
		struct kvm_msr_filter *moved = place(KVM_MSR_FILTER_MAX_RANGES + 1, skind,
						     sizeof(*kf), &avail);

		if (avail)
			memcpy(moved, kf, avail);
		want = -EFAULT;
		got = mmusim_vm_set_msr_filter(f->vm, moved);
	}
	FUZZ_ASSERT_EQ(got, want);
}

static void op_enable_cap(struct fz *f)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR };
	int want;

	switch (fuzz_dp_index(&f->dp, 4)) {
	case 0:
		cap.args[0] = fuzz_dp_u64(&f->dp);
		break;
	case 1:
		cap.args[0] = (u64)fuzz_dp_u32_range(&f->dp, 1, 3) << 31 | fuzz_dp_index(&f->dp, 8);
		break;
	default:
		cap.args[0] = fuzz_dp_index(&f->dp, 8);
		break;
	}
	if (!fuzz_dp_index(&f->dp, 16))
		cap.flags = fuzz_dp_u32_range(&f->dp, 1, 0xffffffff);
	want = cap.flags || (cap.args[0] & ~7ULL) ? -EINVAL : 0;
	FUZZ_ASSERT_EQ(mmusim_vm_enable_cap(f->vm, &cap), want);
	if (!want)
		f->mask = cap.args[0];
}

static void op_knobs(struct fz *f)
{
	struct mmusim_msr_params p = { .ignore_msrs = fuzz_dp_bool(&f->dp) };

	FUZZ_ASSERT_EQ(mmusim_vm_set_msr_params(f->vm, &p), 0);
	f->ignore = p.ignore_msrs;
}

static void op_handled(struct fz *f)
{
	bool aux = fuzz_dp_bool(&f->dp), on = fuzz_dp_bool(&f->dp);

	FUZZ_ASSERT_EQ(mmusim_vm_set_msr_handled(f->vm, aux ? I_AUX : I_STAR, on), 0);
	if (aux)
		f->aux_on = on;
	else
		f->star_on = on;
}

static u32 pick_index(struct fz *f)
{
	u32 index;
	int i;

	switch (fuzz_dp_index(&f->dp, 8)) {
	case 6:
	case 7:
		/* At the edges of a range of the last request: the off-by-ones. */
		i = fuzz_dp_index(&f->dp, KVM_MSR_FILTER_MAX_RANGES);
		switch (fuzz_dp_index(&f->dp, 4)) {
		case 0:
			index = f->last_base[i] - 1;
			break;
		case 1:
			index = f->last_base[i] + f->last_nmsrs[i];
			break;
		case 2:
			index = f->last_base[i] + f->last_nmsrs[i] - 1;
			break;
		default:
			index = f->last_nmsrs[i] ? f->last_nmsrs[i] - 1 : 0;
			index = f->last_base[i] + fuzz_dp_u32_range(&f->dp, 0, index);
			break;
		}
		break;
	case 0:
		return I_STAR;
	case 1:
		return I_AUX;
	case 2:
		return I_TPR;
	case 3:
		index = base_set[fuzz_dp_index(&f->dp, ARRAY_SIZE(base_set))] +
			fuzz_dp_u32_range(&f->dp, 0, 70);
		break;
	default:
		index = fuzz_dp_u32(&f->dp);
		break;
	}
	/* Only the MSRs above have a model; the rest of the table stays out. */
	if (index >= 0x800 && index <= 0x8ff)
		return I_TPR;
	for (i = 0; i < ARRAY_SIZE(table_indices); i++)
		if (index == table_indices[i])
			return index == I_AUX ? I_AUX : index == I_STAR ? I_STAR : 0x4b564dff;
	return index;
}

/* The handler's result for the model's MSRs, without filter or ignore_msrs. */
static int model_handler(struct fz *f, u32 index, bool write, u64 val, bool host, u64 *data)
{
	switch (index) {
	case I_STAR:
		if (!f->star_on)
			return KVM_MSR_RET_UNSUPPORTED;
		if (write)
			f->star = val;
		else
			*data = f->star;
		return 0;
	case I_AUX:
		if (!f->aux_on)
			return KVM_MSR_RET_UNSUPPORTED;
		if (write && (val >> 32))
			return 1;
		if (write)
			f->aux = val;
		else
			*data = f->aux;
		return 0;
	case I_TPR:
		return 1;
	default:
		return KVM_MSR_RET_UNSUPPORTED;
	}
}

/* kvm_do_msr_access()'s softening of UNSUPPORTED. */
static int model_access(struct fz *f, u32 index, bool write, u64 val, bool host, u64 *data)
{
	bool advertised = index == I_STAR || index == I_AUX;
	int r = model_handler(f, index, write, val, host, data);

	if (!r)
		return 0;
	if (!write)
		*data = 0;
	if (r != KVM_MSR_RET_UNSUPPORTED)
		return r;
	if (host && advertised && !(write ? val : 0))
		return 0;
	return f->ignore ? 0 : r;
}

static u32 reason_of(int r)
{
	return r == KVM_MSR_RET_UNSUPPORTED ? KVM_MSR_EXIT_REASON_UNKNOWN :
	       r == KVM_MSR_RET_FILTERED    ? KVM_MSR_EXIT_REASON_FILTER :
					      KVM_MSR_EXIT_REASON_INVAL;
}

static void check_state(struct fz *f, bool gp, u64 rip, u32 exit_reason)
{
	struct kvm_vcpu *v = f->vcpu;

	FUZZ_ASSERT_EQ(v->arch.exception.pending, gp);
	if (gp)
		FUZZ_ASSERT_EQ(v->arch.exception.vector, GP_VECTOR);
	FUZZ_ASSERT_EQ(kvm_rip_read(v), rip);
	FUZZ_ASSERT_EQ(v->run->exit_reason, exit_reason);
	FUZZ_ASSERT_EQ(v->arch.complete_userspace_io != NULL, !!f->pending);
}

static void op_complete(struct fz *f)
{
	u8 error = fuzz_dp_index(&f->dp, 3) ? 0 : fuzz_dp_range(&f->dp, 1, 255);
	u64 data = fuzz_dp_u64(&f->dp);
	struct kvm_vcpu *v = f->vcpu;
	int (*cui)(struct kvm_vcpu *) = v->arch.complete_userspace_io;
	bool rd = f->pending == KVM_EXIT_X86_RDMSR;

	v->run->msr.error = error;
	v->run->msr.data = data;
	v->arch.complete_userspace_io = NULL;
	v->run->exit_reason = 0;
	f->pending = 0;
	FUZZ_ASSERT_EQ(cui(v), 1);
	check_state(f, error, error ? RIP0 : RIP0 + 1, 0);
	if (rd && !error) {
		FUZZ_ASSERT_EQ(kvm_rax_read(v), (u32)data);
		FUZZ_ASSERT_EQ(kvm_rdx_read(v), data >> 32);
	} else {
		FUZZ_ASSERT_EQ(kvm_rax_read(v), f->saved_rax);
		FUZZ_ASSERT_EQ(kvm_rdx_read(v), f->saved_rdx);
	}
}

static void op_insn(struct fz *f, bool write)
{
	struct kvm_vcpu *v = f->vcpu;
	u32 index = pick_index(f);
	u64 val = fuzz_dp_u64(&f->dp), data = 0;
	int r, got;

	if (f->pending)
		op_complete(f);
	/* The run loop delivered the last #GP; this is a new instruction. */
	memset(&v->arch.exception, 0, sizeof(v->arch.exception));
	v->run->exit_reason = 0;
	kvm_rip_write(v, RIP0);
	kvm_rcx_write(v, (fuzz_dp_u64(&f->dp) << 32) | index);
	f->saved_rax = fuzz_dp_u64(&f->dp);
	f->saved_rdx = fuzz_dp_u64(&f->dp);
	if (write) {
		/* WRMSR takes EDX:EAX; the upper halves must not matter. */
		f->saved_rax = (f->saved_rax & ~0xffffffffULL) | (u32)val;
		f->saved_rdx = (f->saved_rdx & ~0xffffffffULL) | (val >> 32);
	}
	kvm_rax_write(v, f->saved_rax);
	kvm_rdx_write(v, f->saved_rdx);

	if (!model_allowed(&f->filter, index, write))
		r = KVM_MSR_RET_FILTERED;
	else
		r = model_access(f, index, write, val, false, &data);

	got = write ? kvm_emulate_wrmsr(v) : kvm_emulate_rdmsr(v);
	if (!r) {
		FUZZ_ASSERT_EQ(got, 1);
		check_state(f, false, RIP0 + 1, 0);
		if (!write) {
			FUZZ_ASSERT_EQ(kvm_rax_read(v), (u32)data);
			FUZZ_ASSERT_EQ(kvm_rdx_read(v), data >> 32);
		}
		return;
	}
	if (!(f->mask & reason_of(r))) {
		FUZZ_ASSERT_EQ(got, 1);
		check_state(f, true, RIP0, 0);
		FUZZ_ASSERT_EQ(kvm_rax_read(v), f->saved_rax);
		FUZZ_ASSERT_EQ(kvm_rdx_read(v), f->saved_rdx);
		return;
	}
	FUZZ_ASSERT_EQ(got, 0);
	f->pending = write ? KVM_EXIT_X86_WRMSR : KVM_EXIT_X86_RDMSR;
	check_state(f, false, RIP0, f->pending);
	FUZZ_ASSERT_EQ(v->run->msr.error, 0);
	FUZZ_ASSERT_EQ(v->run->msr.reason, reason_of(r));
	FUZZ_ASSERT_EQ(v->run->msr.index, index);
	FUZZ_ASSERT_EQ(v->run->msr.data, write ? val : 0);
}

/* KVM_GET_MSRS / KVM_SET_MSRS: never filtered, the count done. */
static void op_host(struct fz *f)
{
	u64 buf[(sizeof(struct kvm_msrs) + 4 * sizeof(struct kvm_msr_entry)) / 8];
	struct kvm_msrs *h = (struct kvm_msrs *)buf;
	bool set = fuzz_dp_bool(&f->dp);
	u32 n = fuzz_dp_index(&f->dp, 5), i;
	int want, got;

	memset(buf, 0, sizeof(buf));
	h->nmsrs = n;
	for (i = 0; i < n; i++) {
		h->entries[i].index = pick_index(f);
		h->entries[i].data = fuzz_dp_index(&f->dp, 3) ? 0 : fuzz_dp_u64(&f->dp);
	}
	if (!fuzz_dp_index(&f->dp, 16)) {
		h->nmsrs = fuzz_dp_u32_range(&f->dp, 256, 0xffffffff);
		want = -E2BIG;
	} else {
		for (want = 0; want < n; want++) {
			u64 d = h->entries[want].data;

			if (model_access(f, h->entries[want].index, set, d, true, &d))
				break;
		}
	}
	got = set ? mmusim_vcpu_set_msrs(mmusim_vm_vcpu(f->vm, 0), h)
		  : mmusim_vcpu_get_msrs(mmusim_vm_vcpu(f->vm, 0), h);
	FUZZ_ASSERT_EQ(got, want);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int i;

	fuzz_env_init();
	slots = mmap(NULL, NR_SLOTS * (SLOT + PAGE_SIZE), PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FUZZ_ASSERT(slots != MAP_FAILED);
	for (i = 0; i < NR_SLOTS; i++)
		FUZZ_ASSERT(!mprotect(slot_end(i), PAGE_SIZE, PROT_NONE));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_host_config hc = { .mem_bytes = 16 << 20 };
	struct fz *f = calloc(1, sizeof(*f));
	struct mmusim_msr_params quiet = { 0 };
	long live = fuzz_live_begin();
	int op;

	FUZZ_ASSERT(f);
	fuzz_dp_init(&f->dp, data, size);
	FUZZ_ASSERT(!sim_host_create(&hc, &f->host));
	FUZZ_ASSERT(!sim_mm_create(f->host, &f->mm));
	FUZZ_ASSERT(!mmusim_vm_create(f->host, f->mm, NULL, &f->vm));
	f->vcpu = mmusim_to_kvm_vcpu(mmusim_vm_vcpu(f->vm, 0));
	/* report_ignored_msrs off: the fuzzer would print every ignored access. */
	FUZZ_ASSERT(!mmusim_vm_set_msr_params(f->vm, &quiet));
	f->star_on = f->aux_on = true;

	for (op = 0; op < MAX_OPS && !fuzz_dp_empty(&f->dp); op++) {
		switch (fuzz_dp_index(&f->dp, 10)) {
		case 0:
		case 1:
			op_set_filter(f);
			break;
		case 2:
			op_enable_cap(f);
			break;
		case 3:
			op_knobs(f);
			break;
		case 4:
			op_handled(f);
			break;
		case 5:
			op_host(f);
			break;
		case 6:
		case 7:
			op_insn(f, false);
			break;
		default:
			op_insn(f, true);
			break;
		}
	}
	if (f->pending)
		op_complete(f);

	mmusim_vm_destroy(f->vm);
	sim_mm_destroy(f->mm);
	sim_host_destroy(f->host);
	free(f);
	fuzz_live_end(live);
	return 0;
}
