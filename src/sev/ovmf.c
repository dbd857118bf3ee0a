// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VMM's reading of an OVMF image for SEV-ES: the AP reset vector.
 *
 * An SEV-ES guest's registers are encrypted by LAUNCH_UPDATE_VMSA, so the
 * VMM cannot start an AP later with INIT-SIPI register writes: each AP's
 * VMSA must already hold where the AP starts.  OVMF publishes that address
 * in its "SEV-ES reset block", an entry of the GUIDed table at the end of
 * the firmware image, which QEMU reads (hw/i386/pc_sysfw_ovmf.c; the
 * layout is QEMU's docs/specs/sev-guest-firmware.rst):
 *
 *   image end - 0x32   u16   length of the whole table, footer included
 *   image end - 0x30   GUID  table footer 96b582de-1fb2-45f7-baea-a366c55a082d
 *   before them        entries, scanned from the last: [data][u16 len][GUID],
 *                      len counting the whole entry
 *
 * The reset block (GUID 00f771de-1a7e-4fcb-890e-68c77e2fb44e) holds a u32
 * linear address; QEMU gives an AP CS base (addr & 0xffff0000) and IP
 * (addr & 0xffff) from it before the VMSAs are encrypted.  GUIDs are stored
 * in EFI's byte order (the first three fields little-endian).
 *
 * This is VMM code, not KVM's: it runs on the caller's buffer only.
 */
#include "mmusim_env.h"
#include "sev/sev.h"

#define OVMF_FOOTER_OFFSET 0x30 /* from the image's end to the footer GUID */
#define OVMF_GUID_LEN 16

static const u8 ovmf_table_footer_guid[OVMF_GUID_LEN] = {
	0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
	0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d,
};

static const u8 sev_es_reset_block_guid[OVMF_GUID_LEN] = {
	0xde, 0x71, 0xf7, 0x00, 0x7e, 0x1a, 0xcb, 0x4f,
	0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e,
};

static u16 get_le16(const u8 *p)
{
	return (u16)(p[0] | p[1] << 8);
}

static u32 get_le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

/*
 * pc_system_ovmf_table_find() for the reset block, on @tail: the last @len
 * bytes of the image.  The table is the @tot bytes before its length field.
 */
static int ovmf_find_reset_block(const u8 *tail, u64 len, u32 *addr)
{
	const u8 *footer = tail + len - OVMF_FOOTER_OFFSET, *end;
	long tot;

	if (memcmp(footer, ovmf_table_footer_guid, OVMF_GUID_LEN))
		return -ENOENT; /* not an OVMF image with a table */
	end = footer - sizeof(u16);
	tot = (long)get_le16(end) - OVMF_GUID_LEN - (long)sizeof(u16);
	if (tot < 0 || tot > end - tail)
		return -EINVAL;
	while (tot >= OVMF_GUID_LEN + (long)sizeof(u16)) {
		const u8 *guid = end - OVMF_GUID_LEN;
		u16 entry_len = get_le16(guid - sizeof(u16));

		if (entry_len < OVMF_GUID_LEN + sizeof(u16) || entry_len > tot)
			return -EINVAL;
		if (!memcmp(guid, sev_es_reset_block_guid, OVMF_GUID_LEN)) {
			if (entry_len < OVMF_GUID_LEN + sizeof(u16) + sizeof(u32))
				return -EINVAL;
			*addr = get_le32(end - entry_len);
			/* QEMU refuses a zero reset address. */
			return *addr ? 0 : -EINVAL;
		}
		end -= entry_len;
		tot -= entry_len;
	}
	return -ENOENT;
}

int mmusim_sev_es_find_reset_vector(const void *uflash, u64 size, u32 *addr)
{
	u64 len = min_t(u64, size, U16_MAX + OVMF_FOOTER_OFFSET + sizeof(u16));
	u8 *tail;
	int r;

	if (!addr)
		return -EINVAL;
	if (size < OVMF_FOOTER_OFFSET + sizeof(u16))
		return -ENOENT;
	tail = kvmalloc(len, GFP_KERNEL_ACCOUNT);
	if (!tail)
		return -ENOMEM;
	if (copy_from_user(tail, (const void __user *)((unsigned long)uflash + (size - len)), len))
		r = -EFAULT;
	else
		r = ovmf_find_reset_block(tail, len, addr);
	kvfree(tail);
	return r;
}
