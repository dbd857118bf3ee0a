// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/sev/ovmf.c: the AP reset vector of an OVMF image's SEV-ES
 * reset block, found as QEMU finds it, and used as an SEV-ES launch uses
 * it: the APs' VMSAs start there, so the measurement depends on it, and a
 * KVM_X86_SEV_ES_VM's host cannot move an AP there afterwards.
 *
 * The image's last bytes (offsets from its end):
 *
 *   -0x5a  hashes-table entry: base u32, size u32, len u16 = 0x1a, GUID
 *   -0x48  reset block:        addr u32, len u16 = 0x16, GUID
 *   -0x32  table length u16    -0x30 footer GUID    -0x20 .. end: reset vector
 */
#include <string.h>

#include "test_util.h"
#include <mmusim/host.h>
#include <mmusim/run.h>
#include <mmusim/sev.h>

#define IMAGE_SIZE 4096

static const u8 footer_guid[16] = { 0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
				    0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d };
static const u8 reset_guid[16] = { 0xde, 0x71, 0xf7, 0x00, 0x7e, 0x1a, 0xcb, 0x4f,
				   0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e };
static const u8 hashes_guid[16] = { 0x1f, 0x37, 0x55, 0x72, 0x3b, 0x3a, 0x04, 0x4b,
				    0x92, 0x7b, 0x1d, 0xa6, 0xef, 0xa8, 0xd4, 0x54 };

static void put16(u8 *p, u16 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
}

static void put32(u8 *p, u32 v)
{
	put16(p, (u16)v);
	put16(p + 2, (u16)(v >> 16));
}

/* An image whose table holds a hashes entry and (if @with_reset) the reset block. */
static void make_image(u8 *img, u32 reset, bool with_reset)
{
	u8 *end = img + IMAGE_SIZE - 0x30, *p = end - 2;
	u16 tot = 0x30 - 0x20 + 2; /* the footer GUID and the length field */

	memset(img, 0xcc, IMAGE_SIZE);
	memcpy(end, footer_guid, 16);
	if (with_reset) {
		p -= 16;
		memcpy(p, reset_guid, 16);
		put16(p - 2, 0x16);
		put32(p - 6, reset);
		p -= 6;
		tot += 0x16;
	}
	p -= 16;
	memcpy(p, hashes_guid, 16);
	put16(p - 2, 0x1a);
	put32(p - 6, 0x400);
	put32(p - 10, 0x80a000);
	tot += 0x1a;
	put16(end - 2, tot);
}

static void test_find_reset_vector(void **state)
{
	u8 img[IMAGE_SIZE];
	u32 addr = 0;

	make_image(img, 0xffffd000, true);
	assert_int_equal(mmusim_sev_es_find_reset_vector(img, sizeof(img), &addr), 0);
	assert_int_equal(addr, 0xffffd000);
	/* The table is found from the end, whatever precedes it. */
	assert_int_equal(mmusim_sev_es_find_reset_vector(img + 100, sizeof(img) - 100, &addr), 0);

	make_image(img, 0xffffd000, false);
	assert_int_equal(mmusim_sev_es_find_reset_vector(img, sizeof(img), &addr), -ENOENT);
	make_image(img, 0, true);
	assert_int_equal(mmusim_sev_es_find_reset_vector(img, sizeof(img), &addr), -EINVAL);
	/* No footer: not OVMF. */
	make_image(img, 0xffffd000, true);
	img[IMAGE_SIZE - 0x30] ^= 1;
	assert_int_equal(mmusim_sev_es_find_reset_vector(img, sizeof(img), &addr), -ENOENT);
	/* A table longer than the image, an entry longer than the table. */
	make_image(img, 0xffffd000, true);
	put16(img + IMAGE_SIZE - 0x32, 0xffff);
	assert_int_equal(mmusim_sev_es_find_reset_vector(img + IMAGE_SIZE - 200, 200, &addr),
			 -EINVAL);
	make_image(img, 0xffffd000, true);
	put16(img + IMAGE_SIZE - 0x32 - 16 - 2, 0x400);
	assert_int_equal(mmusim_sev_es_find_reset_vector(img, sizeof(img), &addr), -EINVAL);

	assert_int_equal(mmusim_sev_es_find_reset_vector(img, sizeof(img), NULL), -EINVAL);
	assert_int_equal(mmusim_sev_es_find_reset_vector(img, 10, &addr), -ENOENT);
	assert_int_equal(mmusim_sev_es_find_reset_vector(NULL, sizeof(img), &addr), -EFAULT);
}

/*
 * QEMU's use of it: each AP's initial RIP is the reset vector (mmusim's RIP
 * stands for the linear address CS base + IP), set before
 * LAUNCH_UPDATE_VMSA; the VMSAs are measured, so an image with another
 * vector launches to another measurement, and on a KVM_X86_SEV_ES_VM the
 * host cannot move an AP afterwards.
 */
static void launch_with_vector(u32 reset, u8 *measurement)
{
	static const struct sim_host_config hc = {
		.mem_bytes = 64ULL << 20,
		.sev_max_asid = 15,
		.sev_min_asid = 5,
	};
	struct kvm_sev_launch_start start = { .policy = SEV_POLICY_ES };
	struct kvm_sev_launch_measure m = { .len = 48 };
	struct kvm_sev_cmd cmd = { .sev_fd = MMUSIM_SEV_DEV_FD };
	struct test_vm_opts o = { .hcfg = &hc };
	struct kvm_regs regs;
	u8 img[IMAGE_SIZE];
	struct test_vm t;
	u32 addr;
	int i;

	make_image(img, reset, true);
	assert_int_equal(mmusim_sev_es_find_reset_vector(img, sizeof(img), &addr), 0);
	o.cfg.vm_type = KVM_X86_SEV_ES_VM;
	o.cfg.sev_es = true;
	o.cfg.nr_vcpus = 3;
	test_vm_create(&t, &o);
	for (i = 1; i < 3; i++) {
		struct mmusim_vcpu *ap = mmusim_vm_vcpu(t.vm, i);

		assert_int_equal(mmusim_vcpu_get_regs(ap, &regs), 0);
		regs.rip = addr;
		assert_int_equal(mmusim_vcpu_set_regs(ap, &regs), 0);
	}
	cmd.id = KVM_SEV_LAUNCH_START;
	cmd.data = (u64)(unsigned long)&start;
	assert_int_equal(mmusim_vm_memory_encrypt_op(t.vm, &cmd), 0);
	cmd.id = KVM_SEV_LAUNCH_UPDATE_VMSA;
	cmd.data = 0;
	assert_int_equal(mmusim_vm_memory_encrypt_op(t.vm, &cmd), 0);
	m.uaddr = (u64)(unsigned long)measurement;
	cmd.id = KVM_SEV_LAUNCH_MEASURE;
	cmd.data = (u64)(unsigned long)&m;
	assert_int_equal(mmusim_vm_memory_encrypt_op(t.vm, &cmd), 0);
	assert_int_equal(mmusim_vcpu_set_regs(mmusim_vm_vcpu(t.vm, 1), &regs), -EINVAL);
	test_vm_destroy(&t);
}

static void test_ap_reset_vector_is_measured(void **state)
{
	u8 a[48], b[48], c[48];

	launch_with_vector(0xffffd000, a);
	launch_with_vector(0xffffd000, b);
	launch_with_vector(0xffffe000, c);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_find_reset_vector),
		MMUSIM_TEST(test_ap_reset_vector_is_measured),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("ovmf", tests);
}
