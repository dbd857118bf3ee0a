// SPDX-License-Identifier: GPL-2.0-only
/*
 * Self-test of the SEV-ES launch flow (src/sev/sev_launch.c) against the
 * simulated PSP firmware (src/sev/psp.c) in both environments: a
 * two-vCPU guest goes INIT -> LAUNCH_START -> UPDATE_DATA -> UPDATE_VMSA
 * -> MEASURE (query, fetch) -> SECRET -> FINISH as Linux 6.12 runs it;
 * the guest then reads the launched plaintext while the host sees
 * ciphertext, a wrong-state command is -EIO with
 * SEV_RET_INVALID_GUEST_STATE, and VM destroy decommissions the handle.
 * tests/test_sev_launch.c has the full tables.
 *
 *
 * sev_demand_pin_move: an SEV guest with MMUSIM_SEV_PIN_MEMSLOT (Nikunj
 * Dadhania's RFC v1, src/sev/sev_memslot.c) pins each page its faults map,
 * the host cannot move them, and KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM
 * (src/sev/sev_migrate.c) hands the context and the pins to a second VM
 * on the same memory, which reads the data after the source is gone.
 * tests/test_sev_memslot.c and test_sev_migrate.c have the rest.
 *
 * struct st_sev lives in an st_ubuf, so its command structures, blobs and
 * buffers are user memory for the uapi calls (st_uptr() gives the address
 * they get).
 */
#include "mmusim_env.h"

#include <mmusim/host.h>
#include <mmusim/sev.h>
#include <mmusim/vm.h>

#include "selftest/selftest.h"

struct st_sev {
	struct st_ubuf ub; /* the memory this structure lives in */
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	hva_t hva;
	struct kvm_sev_cmd cmd;
	struct kvm_sev_launch_start start;
	struct kvm_sev_launch_update_data update;
	struct kvm_sev_launch_measure measure;
	struct kvm_sev_launch_secret secret;
	struct kvm_sev_guest_status status;
	struct kvm_userspace_memory_region region;
	u64 v;
	u8 m[48], blob[16], buf[PAGE_SIZE], host_view[PAGE_SIZE];
};

static void st_sev_destroy(struct st_sev *s)
{
	struct st_ubuf ub;

	if (s->vm)
		mmusim_vm_destroy(s->vm);
	if (s->mm)
		sim_mm_destroy(s->mm);
	if (s->host)
		sim_host_destroy(s->host);
	ub = s->ub;
	st_ubuf_free(&ub);
}

static struct st_sev *st_sev_alloc(void)
{
	struct st_ubuf ub;
	struct st_sev *s;

	if (st_ubuf_alloc(&ub, sizeof(*s)))
		return NULL;
	s = ub.k;
	s->ub = ub;
	return s;
}

static struct st_sev *st_sev_create(void)
{
	struct sim_host_config hc = { .mem_bytes = 16ULL << 20, .sev_min_asid = 5 };
	struct mmusim_vm_config cfg = { .sev_es = true, .nr_vcpus = 2 };
	struct st_sev *s = st_sev_alloc();
	struct kvm_userspace_memory_region *r;

	if (!s)
		return NULL;
	r = &s->region;
	r->memory_size = 64 * 1024;
	if (sim_host_create(&hc, &s->host) || sim_mm_create(s->host, &s->mm) ||
	    mmusim_vm_create(s->host, s->mm, &cfg, &s->vm) ||
	    sim_mmap(s->mm, 0, r->memory_size, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE,
		     &s->hva)) {
		st_sev_destroy(s);
		return NULL;
	}
	r->userspace_addr = s->hva;
	if (mmusim_vm_set_user_memory_region(s->vm, st_uptr(&s->ub, r))) {
		st_sev_destroy(s);
		return NULL;
	}
	return s;
}

static int st_sev_op(struct st_sev *s, u32 id, void *data)
{
	s->cmd.id = id;
	s->cmd.data = data ? (u64)(unsigned long)st_uptr(&s->ub, data) : 0;
	s->cmd.error = 0;
	s->cmd.sev_fd = MMUSIM_SEV_DEV_FD;
	return mmusim_vm_memory_encrypt_op(s->vm, st_uptr(&s->ub, &s->cmd));
}

ST_TEST(sev_es_launch)
{
	long fw = mmusim_sev_fw_guests();
	struct st_sev *s = st_sev_create();
	unsigned int i;

	ST_ASSERT_NOT_NULL(s);
	for (i = 0; i < PAGE_SIZE; i++)
		s->buf[i] = (u8)(i * 7 + 1);
	ST_EXPECT_EQ(sim_mm_write(s->mm, s->hva, s->buf, PAGE_SIZE), 0);
	s->start.policy = SEV_POLICY_ES | SEV_POLICY_NODBG;
	ST_EXPECT_EQ(st_sev_op(s, KVM_SEV_LAUNCH_START, &s->start), 0);
	ST_EXPECT_NE(s->start.handle, 0);
	ST_EXPECT_EQ(mmusim_sev_fw_guests(), fw + 1);
	/* Out of order: LAUNCH_FINISH in LUPDATE. */
	ST_EXPECT_EQ(st_sev_op(s, KVM_SEV_LAUNCH_FINISH, NULL), -EIO);
	ST_EXPECT_EQ(s->cmd.error, SEV_RET_INVALID_GUEST_STATE);
	s->update.uaddr = s->hva;
	s->update.len = PAGE_SIZE;
	ST_EXPECT_EQ(st_sev_op(s, KVM_SEV_LAUNCH_UPDATE_DATA, &s->update), 0);
	ST_EXPECT_EQ(st_sev_op(s, KVM_SEV_LAUNCH_UPDATE_VMSA, NULL), 0);
	ST_EXPECT_EQ(st_sev_op(s, KVM_SEV_LAUNCH_MEASURE, &s->measure), -EIO);
	ST_EXPECT_EQ(s->cmd.error, SEV_RET_INVALID_LEN);
	ST_EXPECT_EQ(s->measure.len, 48);
	s->measure.uaddr = (u64)(unsigned long)st_uptr(&s->ub, s->m);
	ST_EXPECT_EQ(st_sev_op(s, KVM_SEV_LAUNCH_MEASURE, &s->measure), 0);
	memcpy(s->blob, "st_sev's secret", 16);
	s->secret.guest_uaddr = s->hva + PAGE_SIZE;
	s->secret.guest_len = 16;
	s->secret.trans_uaddr = (u64)(unsigned long)st_uptr(&s->ub, s->blob);
	s->secret.trans_len = 16;
	s->secret.hdr_uaddr = (u64)(unsigned long)st_uptr(&s->ub, s->blob);
	s->secret.hdr_len = 16;
	ST_EXPECT_EQ(st_sev_op(s, KVM_SEV_LAUNCH_SECRET, &s->secret), 0);
	ST_EXPECT_EQ(st_sev_op(s, KVM_SEV_LAUNCH_FINISH, NULL), 0);
	ST_EXPECT_EQ(st_sev_op(s, KVM_SEV_GUEST_STATUS, &s->status), 0);
	ST_EXPECT_EQ(s->status.state, MMUSIM_SEV_STATE_RUNNING);
	ST_EXPECT_EQ(s->status.policy, SEV_POLICY_ES | SEV_POLICY_NODBG);
	/* The guest reads plaintext, the host ciphertext. */
	ST_EXPECT_EQ(mmusim_vcpu_read(mmusim_vm_vcpu(s->vm, 1), 0, st_uptr(&s->ub, s->host_view),
				      PAGE_SIZE),
		     0);
	ST_EXPECT(!memcmp(s->host_view, s->buf, PAGE_SIZE));
	ST_EXPECT_EQ(sim_mm_read(s->mm, s->hva, s->host_view, PAGE_SIZE), 0);
	ST_EXPECT(memcmp(s->host_view, s->buf, 64));
	ST_EXPECT_EQ(mmusim_vcpu_read(mmusim_vm_vcpu(s->vm, 0), PAGE_SIZE,
				      st_uptr(&s->ub, s->host_view), 16),
		     0);
	ST_EXPECT(!memcmp(s->host_view, s->blob, 16));
	st_sev_destroy(s);
	ST_EXPECT_EQ(mmusim_sev_fw_guests(), fw);
	return st_result(ctx);
}

/* The pins the host counts: FOLL_PIN'd frames. */
static u64 st_host_pinned(struct sim_host *host)
{
	struct sim_host_stats hs;

	if (sim_host_get_stats(host, &hs))
		return ~0ULL;
	return hs.pinned_pages;
}

ST_TEST(sev_demand_pin_move)
{
	struct mmusim_vm_config cfg = { .sev = true, .sev_pin = MMUSIM_SEV_PIN_MEMSLOT };
	struct sim_host_config hc = { .mem_bytes = 16ULL << 20 };
	struct mmusim_vm_config plain = { 0 };
	struct mmusim_sev_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	struct st_sev *s = st_sev_alloc();
	struct kvm_userspace_memory_region *r;
	struct mmusim_vm *dst = NULL;
	u64 moved, i;

	ST_ASSERT_NOT_NULL(st);
	ST_ASSERT_NOT_NULL(s);
	r = &s->region;
	r->memory_size = 64 * 1024;
	ST_ASSERT_EQ(sim_host_create(&hc, &s->host), 0);
	ST_ASSERT_EQ(sim_mm_create(s->host, &s->mm), 0);
	ST_ASSERT_EQ(mmusim_vm_create(s->host, s->mm, &cfg, &s->vm), 0);
	ST_ASSERT_EQ(sim_mmap(s->mm, 0, r->memory_size, SIM_PROT_READ | SIM_PROT_WRITE,
			      SIM_MAP_PRIVATE, &s->hva),
		     0);
	r->userspace_addr = s->hva;
	ST_ASSERT_EQ(mmusim_vm_set_user_memory_region(s->vm, st_uptr(&s->ub, r)), 0);
	for (i = 0; i < 4; i++) {
		s->v = 0x5e0000 + i;
		ST_EXPECT_EQ(mmusim_vcpu_write(mmusim_vm_vcpu(s->vm, 0), i * PAGE_SIZE,
					       st_uptr(&s->ub, &s->v), 8),
			     0);
	}
	ST_EXPECT_EQ(mmusim_vm_sev_get_stats(s->vm, st), 0);
	ST_EXPECT_EQ(st->pins_taken, 4);
	ST_EXPECT_EQ(st->pages_pinned, 4);
	ST_EXPECT_EQ(st_host_pinned(s->host), 4);
	ST_EXPECT_EQ(sim_migrate_range(s->mm, s->hva, 4 * PAGE_SIZE, &moved), -EBUSY);
	/* The move: the destination maps the same memory, takes context and pins. */
	ST_ASSERT_EQ(mmusim_vm_create(s->host, s->mm, &plain, &dst), 0);
	ST_EXPECT_EQ(mmusim_vm_set_user_memory_region(dst, st_uptr(&s->ub, r)), 0);
	ST_EXPECT_EQ(mmusim_vm_move_enc_context_from(dst, s->vm), 0);
	ST_EXPECT_EQ(mmusim_vm_sev_get_stats(s->vm, st), -ENOTTY);
	mmusim_vm_destroy(s->vm);
	s->vm = NULL;
	ST_EXPECT_EQ(st_host_pinned(s->host), 4);
	for (i = 0; i < 4; i++) {
		ST_EXPECT_EQ(mmusim_vcpu_read(mmusim_vm_vcpu(dst, 0), i * PAGE_SIZE,
					      st_uptr(&s->ub, &s->v), 8),
			     0);
		ST_EXPECT_EQ(s->v, 0x5e0000 + i);
	}
	ST_EXPECT_EQ(mmusim_vm_sev_check(dst, NULL, 0), 0);
	mmusim_vm_destroy(dst);
	ST_EXPECT_EQ(st_host_pinned(s->host), 0);
	st_sev_destroy(s);
	kfree(st);
	return st_result(ctx);
}
