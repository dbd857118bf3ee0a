/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The simulated AMD PSP (Platform Security Processor) firmware, as KVM
 * reaches it through drivers/crypto/ccp/sev-dev.c of Linux 6.12: a command
 * id and a command buffer in, 0 or -EIO with the firmware status
 * (SEV_RET_*, <linux/psp-sev.h>) in *psp_ret out.  KVM's side is
 * sev_launch.c; nothing else calls these.
 *
 * The firmware keeps one guest context per handle, with the SEV API's
 * guest states (the spec's numbering, which QEMU's SevState follows):
 *   UNINIT -LAUNCH_START-> LUPDATE -LAUNCH_MEASURE-> LSECRET
 *          -LAUNCH_FINISH-> RUNNING
 * and answers a command in the wrong state with SEV_RET_INVALID_GUEST_STATE.
 * UNINIT has no context: a handle the firmware does not know is
 * SEV_RET_INVALID_GUEST.  (SUPDATE, RUPDATE and SENT, of migration, are
 * not modelled.)
 *
 * Physical addresses: an address in a command buffer that names guest
 * memory is a host physical address (pfn << PAGE_SHIFT | offset) of the
 * host of the guest the handle is ACTIVATEd with; the firmware reads and
 * writes it through the memory controller (sev_mem_fw_crypt()), never
 * through the CPU's caches.  Blobs (certificates, session, measurement,
 * secret) are kernel buffers, passed by pointer where 6.12 passes __psp_pa().
 *
 * Locking: one command at a time (sev-dev.c's sev_cmd_mutex, here
 * psp_cmd_mutex), taken inside kvm->lock; under it only the memory
 * controller's leaf mc->lock is taken (sev_mem_fw_crypt()).  The firmware is one per
 * simulated machine, i.e. per process (sev-dev.c's psp_master); handles are
 * global, ASIDs per host.
 */
#ifndef _MMUSIM_SEV_PSP_H
#define _MMUSIM_SEV_PSP_H

#include "mmusim_env.h"
#include <mmusim/sev.h>

struct kvm_sev_info;

/* The firmware's command ids (enum sev_cmd of include/linux/psp-sev.h). */
enum psp_cmd {
	PSP_CMD_DECOMMISSION = 0x020,
	PSP_CMD_ACTIVATE = 0x021,
	PSP_CMD_DEACTIVATE = 0x022,
	PSP_CMD_GUEST_STATUS = 0x023,
	PSP_CMD_LAUNCH_START = 0x030,
	PSP_CMD_LAUNCH_UPDATE_DATA = 0x031,
	PSP_CMD_LAUNCH_UPDATE_VMSA = 0x032,
	PSP_CMD_LAUNCH_MEASURE = 0x033,
	PSP_CMD_LAUNCH_UPDATE_SECRET = 0x034,
	PSP_CMD_LAUNCH_FINISH = 0x035,
	PSP_CMD_DBG_DECRYPT = 0x060,
	PSP_CMD_DBG_ENCRYPT = 0x061,
};

/* The SEV API's guest states (GUEST_STATUS reports them). */
enum psp_guest_state {
	PSP_GSTATE_UNINIT = 0,
	PSP_GSTATE_LUPDATE = 1,
	PSP_GSTATE_LSECRET = 2,
	PSP_GSTATE_RUNNING = 3,
};

#define SEV_POLICY_API_MAJOR(p) (((p) >> 16) & 0xff)
#define SEV_POLICY_API_MINOR(p) (((p) >> 24) & 0xff)

/* The simulated firmware's version (reported in the measurement). */
#define PSP_API_MAJOR 1
#define PSP_API_MINOR 55
#define PSP_BUILD 21

/* LAUNCH_MEASURE's blob: the measurement and the nonce it was made with. */
#define PSP_MEASURE_LEN 48

/* The command buffers (6.12's struct sev_data_*, blob addresses as pointers). */
struct psp_data_launch_start {
	u32 handle; /* in: 0 for a new context; out: the new handle */
	u32 policy;
	const void *dh_cert;
	u32 dh_cert_len;
	const void *session;
	u32 session_len;
};

struct psp_data_activate {
	u32 handle;
	u32 asid;
	struct kvm_sev_info *sev; /* whose memory controller and key the ASID is */
};

struct psp_data_handle {
	u32 handle; /* DEACTIVATE, DECOMMISSION, LAUNCH_FINISH */
};

struct psp_data_launch_update {
	u32 handle;
	u64 address; /* host physical; 16-byte aligned, physically contiguous */
	u32 len; /* a multiple of 16 */
};

struct psp_data_launch_measure {
	u32 handle;
	void *address; /* NULL or too short (len < 48): SEV_RET_INVALID_LEN */
	u32 len; /* in: the buffer's; out: 48 */
};

struct psp_data_launch_secret {
	u32 handle;
	u64 guest_address; /* host physical */
	u32 guest_len;
	const void *trans; /* the secret (the model carries it in the clear) */
	u32 trans_len;
	const void *hdr;
	u32 hdr_len;
};

struct psp_data_guest_status {
	u32 handle;
	u32 policy; /* out */
	u32 asid; /* out */
	u8 state; /* out: enum psp_guest_state */
};

struct psp_data_dbg {
	u32 handle;
	u64 src_addr; /* host physical */
	u64 dst_addr; /* host physical */
	u32 len;
};

/*
 * sev_do_cmd(): run firmware command @cmd on @data.  0, or -EIO with the
 * SEV_RET_* status in *@psp_ret (set to 0 on success; @psp_ret may be
 * NULL), or -EINVAL for an unknown command or a NULL @data.
 */
int psp_do_cmd(int cmd, void *data, int *psp_ret);

/*
 * sev_issue_cmd_external_user(): a command from KVM on behalf of the task
 * that passed @fd: -EBADF unless @fd is the simulated /dev/sev
 * (MMUSIM_SEV_DEV_FD), else psp_do_cmd().
 */
int psp_issue_cmd_external_user(int fd, int cmd, void *data, int *error);

/* Live guest contexts (tests: none once every SEV VM is destroyed). */
unsigned long psp_nr_guests(void);

#endif /* _MMUSIM_SEV_PSP_H */
