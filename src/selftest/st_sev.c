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
 * The command structures are kzalloc'd: "user memory" is kernel memory in
 * the module, as for st_msr.c.
 */
#include "mmusim_env.h"

#include <mmusim/host.h>
#include <mmusim/sev.h>
#include <mmusim/vm.h>

#include "selftest/selftest.h"

struct st_sev {
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
	u8 m[48], blob[16], buf[PAGE_SIZE], host_view[PAGE_SIZE];
};

static void st_sev_destroy(struct st_sev *s)
{
	if (s->vm)
		mmusim_vm_destroy(s->vm);
	if (s->mm)
		sim_mm_destroy(s->mm);
	if (s->host)
		sim_host_destroy(s->host);
	kfree(s);
}

static struct st_sev *st_sev_create(void)
{
	struct sim_host_config hc = { .mem_bytes = 16ULL << 20, .sev_min_asid = 5 };
	struct mmusim_vm_config cfg = { .sev_es = true, .nr_vcpus = 2 };
	struct kvm_userspace_memory_region r = { .memory_size = 64 * 1024 };
	struct st_sev *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return NULL;
	if (sim_host_create(&hc, &s->host) || sim_mm_create(s->host, &s->mm) ||
	    mmusim_vm_create(s->host, s->mm, &cfg, &s->vm) ||
	    sim_mmap(s->mm, 0, r.memory_size, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE,
		     &s->hva)) {
		st_sev_destroy(s);
		return NULL;
	}
	r.userspace_addr = s->hva;
	if (mmusim_vm_set_user_memory_region(s->vm, &r)) {
		st_sev_destroy(s);
		return NULL;
	}
	return s;
}

static int st_sev_op(struct st_sev *s, u32 id, void *data)
{
	s->cmd.id = id;
	s->cmd.data = (u64)(unsigned long)data;
	s->cmd.error = 0;
	s->cmd.sev_fd = MMUSIM_SEV_DEV_FD;
	return mmusim_vm_memory_encrypt_op(s->vm, &s->cmd);
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
	s->measure.uaddr = (u64)(unsigned long)s->m;
	ST_EXPECT_EQ(st_sev_op(s, KVM_SEV_LAUNCH_MEASURE, &s->measure), 0);
	memcpy(s->blob, "st_sev's secret", 16);
	s->secret.guest_uaddr = s->hva + PAGE_SIZE;
	s->secret.guest_len = 16;
	s->secret.trans_uaddr = (u64)(unsigned long)s->blob;
	s->secret.trans_len = 16;
	s->secret.hdr_uaddr = (u64)(unsigned long)s->blob;
	s->secret.hdr_len = 16;
	ST_EXPECT_EQ(st_sev_op(s, KVM_SEV_LAUNCH_SECRET, &s->secret), 0);
	ST_EXPECT_EQ(st_sev_op(s, KVM_SEV_LAUNCH_FINISH, NULL), 0);
	ST_EXPECT_EQ(st_sev_op(s, KVM_SEV_GUEST_STATUS, &s->status), 0);
	ST_EXPECT_EQ(s->status.state, MMUSIM_SEV_STATE_RUNNING);
	ST_EXPECT_EQ(s->status.policy, SEV_POLICY_ES | SEV_POLICY_NODBG);
	/* The guest reads plaintext, the host ciphertext. */
	ST_EXPECT_EQ(mmusim_vcpu_read(mmusim_vm_vcpu(s->vm, 1), 0, s->host_view, PAGE_SIZE), 0);
	ST_EXPECT(!memcmp(s->host_view, s->buf, PAGE_SIZE));
	ST_EXPECT_EQ(sim_mm_read(s->mm, s->hva, s->host_view, PAGE_SIZE), 0);
	ST_EXPECT(memcmp(s->host_view, s->buf, 64));
	ST_EXPECT_EQ(mmusim_vcpu_read(mmusim_vm_vcpu(s->vm, 0), PAGE_SIZE, s->host_view, 16), 0);
	ST_EXPECT(!memcmp(s->host_view, s->blob, 16));
	st_sev_destroy(s);
	ST_EXPECT_EQ(mmusim_sev_fw_guests(), fw);
	return st_result(ctx);
}
