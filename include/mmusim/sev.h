/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SEV guests (docs/sev.md): memory encrypted by the simulated memory
 * controller with a per-VM key tweaked by the host physical address, and
 * KVM's SEV ioctls as Linux 6.12.118 has them.
 *
 * A VM becomes an SEV guest through KVM_MEMORY_ENCRYPT_OP(KVM_SEV_INIT),
 * which KVM accepts only before vCPUs exist; mmusim makes a VM's vCPUs in
 * mmusim_vm_create(), so mmusim_vm_config.sev issues it in between, as a
 * VMM must (and mmusim_vm_memory_encrypt_op(KVM_SEV_INIT) on a created VM
 * is KVM's -EINVAL).  From then on every guest data access
 * (mmusim_vcpu_read/write) is a private (C-bit) access: the frame holds
 * ciphertext, which is what the VMM reads at the hva.
 *
 * Every call returns 0 or the negative errno KVM returns for the same
 * input; a NULL VM is -EINVAL.  struct kvm_sev_cmd and struct
 * kvm_enc_region are user memory, as for the ioctls: NULL or unreadable is
 * -EFAULT (except the NULL probe of KVM_MEMORY_ENCRYPT_OP, which is 0).
 * mmusim's own out-parameters are the caller's memory: NULL is -EINVAL.
 */
#ifndef _MMUSIM_SEV_H_PUBLIC
#define _MMUSIM_SEV_H_PUBLIC

#include <mmusim/vm.h>
#include <linux/psp-sev.h> /* SEV_RET_*: the firmware status in kvm_sev_cmd.error */

/*
 * The simulated /dev/sev, as the fd a VMM's open("/dev/sev") returned:
 * LAUNCH_START's kvm_sev_cmd.sev_fd must be it (else -EBADF).
 */
#define MMUSIM_SEV_DEV_FD 3

/* Guest policy bits of LAUNCH_START (SEV API "Guest Policy"; QEMU's names). */
#ifndef SEV_POLICY_NODBG
#define SEV_POLICY_NODBG (1u << 0) /* no DBG_DECRYPT/DBG_ENCRYPT */
#define SEV_POLICY_NOKS (1u << 1) /* no key sharing */
#define SEV_POLICY_ES (1u << 2) /* SEV-ES: needs an SEV-ES ASID */
#define SEV_POLICY_NOSEND (1u << 3) /* not modelled (no migration) */
#define SEV_POLICY_DOMAIN (1u << 4) /* not modelled */
#define SEV_POLICY_SEV (1u << 5) /* not modelled */
#endif

#ifndef KVM_SEV_INIT2
#define KVM_SEV_INIT2 22
#endif

/* The firmware's guest states, as KVM_SEV_GUEST_STATUS reports them. */
#define MMUSIM_SEV_STATE_UNINIT 0
#define MMUSIM_SEV_STATE_LUPDATE 1
#define MMUSIM_SEV_STATE_LSECRET 2
#define MMUSIM_SEV_STATE_RUNNING 3

#ifdef __cplusplus
extern "C" {
#endif

/*
 * KVM_MEMORY_ENCRYPT_OP: sev_mem_enc_ioctl().  NULL @cmd: 0 (the probe).
 * KVM_SEV_INIT / KVM_SEV_ES_INIT (-EINVAL once vCPUs exist or if already
 * SEV; -EBUSY without a free ASID of the guest's range; ES_INIT -ENOTTY on
 * a host without SEV-ES ASIDs; -EINVAL on a VM created with an SEV type);
 * KVM_SEV_INIT2 for such typed VMs (mmusim_vm_config.vm_type), -EINVAL on
 * a default one.
 * The launch flow of 6.12 against the simulated PSP firmware (docs/sev.md,
 * "Launch"): LAUNCH_START (kvm_sev_cmd.sev_fd must be MMUSIM_SEV_DEV_FD,
 * else -EBADF), LAUNCH_UPDATE_DATA, LAUNCH_UPDATE_VMSA (SEV-ES only,
 * else -ENOTTY), LAUNCH_MEASURE, LAUNCH_SECRET, LAUNCH_FINISH,
 * GUEST_STATUS, DBG_DECRYPT, DBG_ENCRYPT: -ENOTTY on a VM that is not SEV,
 * KVM's own argument errnos, and -EIO with the firmware's SEV_RET_* in
 * cmd->error for what the firmware refuses (the launch order, policy).
 * Parameter structures and blobs are the caller's memory; the ranges the
 * firmware encrypts (uaddr, guest_uaddr, DBG's src/dst) are the VM's
 * sim_mm addresses.  The migration commands are dispatched but not
 * modelled (-EINVAL on an SEV guest, -ENOTTY otherwise), as are the ids
 * 6.12 does not dispatch (-EINVAL).  The command is copied back after a
 * dispatched handler ran (-EFAULT).
 */
int mmusim_vm_memory_encrypt_op(struct mmusim_vm *vm, struct kvm_sev_cmd *cmd);
/*
 * KVM_MEMORY_ENCRYPT_REG_REGION / _UNREG_REGION: sev_mem_enc_register_region()
 * pins the whole range up front (FOLL_LONGTERM, see docs/sev.md for the
 * flags), charges sev->pages_locked against RLIMIT_MEMLOCK and flushes
 * it; unregister needs the exact (addr, size) of a registered range, issues
 * WBINVD and unpins.  -ENOTTY (not SEV), -EINVAL (size 0, wraps, more than
 * INT_MAX pages, no such range), -ENOMEM (over RLIMIT_MEMLOCK without
 * CAP_IPC_LOCK, or not every page could be pinned: nothing stays pinned).
 */
int mmusim_vm_memory_encrypt_reg_region(struct mmusim_vm *vm, const struct kvm_enc_region *range);
int mmusim_vm_memory_encrypt_unreg_region(struct mmusim_vm *vm, const struct kvm_enc_region *range);

/*
 * KVM_ENABLE_CAP(KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM) on @dst with @src as the
 * source VM (args[0], an fd in KVM): intra-host migration of @src's SEV
 * context, 6.12's sev_vm_move_enc_context_from() (docs/sev.md).  @dst, on
 * the same host and mapping the same guest memory, takes the ASID and key,
 * the firmware handle, pages_locked and the regions, the pins of @src's
 * pinning strategy, and for SEV-ES the vCPUs' protected state; @src is no
 * longer SEV and is dead: its later calls are -EIO.  -EINVAL: NULL @dst,
 * @dst == @src, @dst SEV, @src not SEV, another host, an SEV-ES source
 * whose vCPU count differs from @dst's or whose vCPUs' state is not
 * protected yet, an SPTE-pinning source and a TDP-MMU @dst; -EBADF: NULL
 * @src; -EBUSY: either VM is in a migration already; -EIO: @dst is dead;
 * -ENOMEM.  Calls on either VM's vCPUs wait until it is done.
 */
int mmusim_vm_move_enc_context_from(struct mmusim_vm *dst, struct mmusim_vm *src);

struct mmusim_sev_stats {
	u64 asid;
	u64 pages_locked; /* sev->pages_locked: charged against RLIMIT_MEMLOCK */
	u64 regions; /* registered ranges */
	u64 pages_pinned; /* pins held now */
	u64 pins_taken, pins_dropped;
	u64 clflush_pages; /* pages sev_clflush_pages() flushed */
	u64 wbinvd; /* wbinvd_on_all_cpus() calls */
	u64 enc_writes, dec_reads; /* guest accesses through the memory controller */
	u64 corruptions; /* the checker's reports */
	u64 handle; /* the firmware's, from LAUNCH_START; 0 before */
	u64 vmsa_protected; /* vCPUs whose VMSA LAUNCH_UPDATE_VMSA encrypted */
	u64 pin_strategy; /* enum mmusim_sev_pin_strategy (mmusim_vm_config.sev_pin) */
	/* MMUSIM_SEV_PIN_SPTE: pinned leaves zapped with the pin kept, and brought back. */
	u64 pins_zapped, pins_unzapped;
};
/* -EINVAL for a NULL VM or @stats, -ENOTTY for a VM that is not SEV. */
int mmusim_vm_sev_get_stats(struct mmusim_vm *vm, struct mmusim_sev_stats *stats);

/*
 * The encryption checker.  It reports data the guest can no longer read:
 *   MMUSIM_SEV_MOVED       the host moved a frame holding the guest's
 *                          ciphertext (event: a SIM_FRAME_* move, from
 *                          old_pfn to new_pfn), so it decrypts to garbage
 *   MMUSIM_SEV_UNFLUSHED   a frame was returned to the host with dirty
 *                          encrypted cache lines, which were written back
 *                          over its next owner's data when the frame was
 *                          next allocated (old_pfn == new_pfn, the frame)
 * gfn is the guest frame whose data it was.
 *
 * mmusim_vm_sev_get_reports(): copies up to @max reports (the first 64 are
 * kept) to @out and returns how many there were in all; -EINVAL for a NULL
 * VM, or a NULL @out with @max, -ENOTTY if not SEV.
 * mmusim_vm_sev_check(): 0, or -EUCLEAN with the first report in @msg.
 */
#define MMUSIM_SEV_MOVED 1
#define MMUSIM_SEV_UNFLUSHED 2
struct mmusim_sev_report {
	u32 kind;
	u32 event;
	u64 gfn;
	u64 old_pfn, new_pfn;
};
/*
 * KVM_SET_GUEST_DEBUG, the control word only (here because only SEV-ES's
 * LAUNCH_UPDATE_VMSA looks at it: -EINVAL while debugging is enabled).
 * -EINVAL for a NULL vCPU or once LAUNCH_UPDATE_VMSA protected the vCPU's
 * state, -EFAULT for unreadable @dbg.
 */
int mmusim_vcpu_set_guest_debug(struct mmusim_vcpu *vcpu, const struct kvm_guest_debug *dbg);

/*
 * Guest contexts the simulated PSP firmware holds, over every host (VM
 * destroy decommissions its handle): for leak checks.  Never fails.
 */
long mmusim_sev_fw_guests(void);

long mmusim_vm_sev_get_reports(struct mmusim_vm *vm, struct mmusim_sev_report *out, u32 max);
int mmusim_vm_sev_check(struct mmusim_vm *vm, char *msg, size_t msg_size);

/*
 * Test-only fault injection: sev_clflush_pages() and WBINVD do nothing, as
 * in a kernel that forgot "flush before release".  -EINVAL for a NULL VM,
 * -ENOTTY if not SEV.
 */
int mmusim_vm_sev_set_skip_flush(struct mmusim_vm *vm, bool skip);

/*
 * The guest's side (src/sev/sev_guest.c, docs/sev.md "Shared pages").
 *
 * mmusim_vcpu_sev_set_shared(): the guest flips the C-bit of @npages pages
 * from @gpa, as Linux's set_memory_decrypted() (@shared) and
 * set_memory_encrypted() do: each page is faulted in and flushed first.  A
 * shared page is plaintext to the host (the hva reads what the guest wrote,
 * the guest reads what the host wrote); a private one goes through the
 * memory controller.  Contents do not survive a flip in a usable form.
 * -EINVAL for a non-SEV VM, an unaligned @gpa, 0 pages or a range past the
 * guest's maximum gfn; -EFAULT for a page with no memory (MMIO); -ENOMEM.
 */
int mmusim_vcpu_sev_set_shared(struct mmusim_vcpu *vcpu, gpa_t gpa, u64 npages, bool shared);

/*
 * A guest allocator of I/O buffers the host must read and write (the s390x
 * PV css tests' need): over the guest-physical range [@base, @base + @size),
 * which must lie below @limit (0: MMUSIM_SEV_IO_LIMIT, 2 GiB; else -EINVAL),
 * each buffer gets pages of its own, shared while allocated;
 * mmusim_sev_io_free() unshares them and scrubs them with a private write
 * of zeros, so the host sees ciphertext again.  alloc: -EINVAL for a size 0
 * or larger than the pool, -ENOMEM when no run of free pages fits; free:
 * -EINVAL for an address that is not an allocated buffer's start.  A pool
 * drives @vcpu's accesses: one thread at a time.
 */
/*
 * The VMM's side of an SEV-ES boot (src/sev/ovmf.c): the AP reset vector
 * an OVMF image publishes in its SEV-ES reset block (the GUIDed table at the
 * image's end, as QEMU reads it), for the APs' initial state before
 * LAUNCH_UPDATE_VMSA, since they cannot be started by register writes once
 * the VMSAs are encrypted.  @flash (@size bytes, the whole image) is user
 * memory (-EFAULT).  0 and *@addr; -ENOENT for an image without the table
 * or the block; -EINVAL for a NULL @addr, a malformed table or a zero
 * address (QEMU refuses it).
 */
int mmusim_sev_es_find_reset_vector(const void *flash, u64 size, u32 *addr);

#define MMUSIM_SEV_IO_LIMIT (2ULL << 30)
struct mmusim_sev_io_pool;
int mmusim_sev_io_pool_create(struct mmusim_vcpu *vcpu, gpa_t base, u64 size, gpa_t limit,
			      struct mmusim_sev_io_pool **pool);
void mmusim_sev_io_pool_destroy(struct mmusim_sev_io_pool *pool);
int mmusim_sev_io_alloc(struct mmusim_sev_io_pool *pool, u64 size, gpa_t *gpa);
int mmusim_sev_io_free(struct mmusim_sev_io_pool *pool, gpa_t gpa);

#ifdef __cplusplus
}
#endif

#endif /* _MMUSIM_SEV_H_PUBLIC */
