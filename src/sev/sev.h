/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SEV, the KVM side (sev_pin.c, arch/x86/kvm/svm/sev.c of Linux 6.12.118)
 * and the simulated memory controller that encrypts guest memory by
 * physical address (sev_mem.c).  Nothing outside src/sev, the vCPU access
 * path and kvm_main.c's VM lifecycle includes this header.
 *
 * struct kvm_sev_info exists only for an SEV guest: kvm->sev is NULL until
 * KVM_SEV_INIT succeeded, then constant until the VM is destroyed, so
 * "is this an SEV guest" is one pointer test (the vCPU access path reads it
 * without a lock: INIT happens before vCPUs exist).
 *
 * Locks, outermost first:
 *   kvm->lock          SEV ioctls (INIT, REG/UNREG_REGION), regions_list,
 *                      pages_locked; held by sev_vm_destroy()
 *   psp_cmd_mutex      the simulated PSP's one-command-at-a-time (psp.c)
 *   mc->lock           a spinning leaf lock: the controller's frame records,
 *                      ASIDs and every sev->reports; taken from guest mode
 *                      and from the host's frame events (under its spinlocks)
 */
#ifndef _MMUSIM_SEV_H
#define _MMUSIM_SEV_H

#include "mmu/kvm_host.h"
#include <mmusim/sev.h>

#ifndef u64_to_user_ptr
#define u64_to_user_ptr(x) ((void __user *)(unsigned long)(u64)(x))
#endif

struct sev_mc;

/* One KVM_MEMORY_ENCRYPT_REG_REGION range, pinned (6.12's struct enc_region). */
struct enc_region {
	struct list_head list;
	unsigned long npages;
	struct sim_page **pages;
	unsigned long uaddr;
	unsigned long size;
};

#define SEV_MAX_REPORTS 64

struct kvm_sev_info {
	bool active;
	bool es_active; /* KVM_SEV_ES_INIT or an ES VM type's INIT2: an SEV-ES guest */
	u16 ghcb_version; /* 1 for ES_INIT, INIT2's (2 by default) for ES, 0 for SEV */
	unsigned int asid;
	u64 key; /* the simulated VEK, which LAUNCH_START would make */
	unsigned long pages_locked; /* RLIMIT_MEMLOCK charge, under kvm->lock */
	struct list_head regions_list; /* struct enc_region, under kvm->lock */
	struct sev_mc *mc; /* the host's memory controller */
	struct kvm *kvm;

	/*
	 * The launch (sev_launch.c, under kvm->lock): the firmware's handle and
	 * the /dev/sev fd LAUNCH_START saved (0, 0 before), and each vCPU's
	 * VMSA frame once LAUNCH_UPDATE_VMSA made it.
	 */
	unsigned int handle;
	int fd;
	struct sim_page *vmsa[KVM_MAX_VCPUS];

	/* REG_REGION pins with FOLL_WRITE too, as earlier kernels did (config knob). */
	bool pin_write;
	/* mmusim_vm_config.sev_pin, set once by sev_pin_strategy_init(). */
	enum mmusim_sev_pin_strategy pin_strategy;
	/*
	 * Demand pinning: pins a migration took off a source's memslots
	 * (sev_memslot_move_pins()), unpinned at destroy; under kvm->lock.
	 */
	struct sim_page **moved_pins;
	unsigned long nr_moved_pins;
	/* Test-only fault injection: clflush and WBINVD do nothing. */
	bool debug_skip_flush;
	/*
	 * The guest's shared pages, its C-bits (sev_guest.c): a hash of gfns
	 * under shared_lock (leaf, guest mode); nr_shared read locklessly.
	 */
	struct hlist_head *shared;
	spinlock_t shared_lock;
	unsigned long nr_shared;

	/* Counters (mmusim_vm_sev_get_stats()). */
	atomic64_t pages_pinned, pins_taken, pins_dropped, clflush_pages, wbinvd;
	atomic64_t pins_zapped, pins_unzapped; /* pinned-SPTE zap/unzap hooks */
	atomic64_t enc_writes, dec_reads;
	atomic64_t vmsa_protected; /* vCPUs whose VMSA the firmware encrypted */

	/* The checker's reports, under mc->lock. */
	u64 nr_reports;
	struct mmusim_sev_report reports[SEV_MAX_REPORTS];
};

static inline struct kvm_sev_info *to_kvm_sev_info(struct kvm *kvm)
{
	return kvm->sev;
}

static inline bool sev_guest(struct kvm *kvm)
{
	return READ_ONCE(kvm->sev) != NULL;
}

static inline bool sev_es_guest(struct kvm *kvm)
{
	return sev_guest(kvm) && kvm->sev->es_active;
}

/* A KVM_MEMORY_ENCRYPT_OP handler, called under kvm->lock. */
typedef int (*sev_cmd_fn)(struct kvm *kvm, struct kvm_sev_cmd *argp);

/* ---- sev_pin.c: the KVM side ---- */

/*
 * KVM_SEV_INIT (KVM_SEV_ES_INIT if @es: -ENOTTY without SEV-ES ASIDs) from
 * mmusim_vm_create() (cfg->sev, cfg->sev_es), before the vCPUs.
 */
int sev_vm_init_from_config(struct kvm *kvm, bool es, u64 key, bool pin_write);
/* KVM_SEV_INIT2 for a VM created with an SEV type (mmusim_vm_config.vm_type). */
int sev_vm_init2_from_config(struct kvm *kvm, const struct kvm_sev_init *data, u64 key,
			     bool pin_write);
/* The SEV VM types the host supports, as bits of KVM_CAP_VM_TYPES. */
u32 sev_supported_vm_types(struct sim_host *host);
/* A VM of an SEV type that KVM_SEV_INIT2 has not initialized (KVM_RUN: -EINVAL). */
bool sev_need_init(struct kvm *kvm);

/* sev_guest.c: the guest's shared pages (everything else is private). */
int sev_guest_init_shared(struct kvm_sev_info *sev);
void sev_guest_free_shared(struct kvm_sev_info *sev);
bool sev_gfn_shared(struct kvm_sev_info *sev, gfn_t gfn);
/* sev_mem.c: the checker forgets @pfn (the guest shared it: the host may move it). */
void sev_mem_forget_frame(struct kvm_sev_info *sev, kvm_pfn_t pfn);

/*
 * A guest data access of @gfn goes through the memory controller: the VM is
 * SEV and the guest has not shared the page (its C-bit is set).
 */
static inline bool sev_private_access(struct kvm *kvm, gfn_t gfn)
{
	return unlikely(sev_guest(kvm)) && !sev_gfn_shared(kvm->sev, gfn);
}
/*
 * The one dispatch from mmusim_vm_config.sev_pin to the strategy's code,
 * after KVM_SEV_INIT and before the vCPUs: -EINVAL for a value that is no
 * strategy or one the VM cannot run, -EOPNOTSUPP for one not built yet.
 */
int sev_pin_strategy_init(struct kvm *kvm, enum mmusim_sev_pin_strategy strategy);
/* sev_vm_destroy(): WBINVD, unpin every region, free the ASID.  No-op for non-SEV. */
void sev_vm_destroy(struct kvm *kvm);
/*
 * sev_pin_memory(): pin [uaddr, uaddr + ulen) with @flags (SIM_FOLL_*),
 * charged to sev->pages_locked against RLIMIT_MEMLOCK; *@n pages in
 * *@pagesp.  -EINVAL, -ENOMEM as 6.12.  sev_unpin_memory() undoes it.
 * kvm->lock held.
 */
int sev_pin_memory(struct kvm *kvm, unsigned long uaddr, unsigned long ulen, unsigned long *n,
		   unsigned int flags, struct sim_page ***pagesp);
void sev_unpin_memory(struct kvm *kvm, struct sim_page **pages, unsigned long npages);

/* ---- sev_launch.c: the launch flow ---- */

/* The handler of a launch command id (LAUNCH_*, GUEST_STATUS, DBG_*), or NULL. */
sev_cmd_fn sev_launch_cmd_handler(u32 id);
/* VM destroy, kvm->lock held, after WBINVD: unbind the handle, free the VMSAs. */
void sev_launch_destroy(struct kvm *kvm);

/*
 * The RLIMIT_MEMLOCK side of sev_pin_memory(): -EINVAL, -ENOMEM as it;
 * *@np pages.  kvm->lock held.
 */
int sev_memlock_charge(struct kvm *kvm, unsigned long uaddr, unsigned long ulen, unsigned long *np);

/* ---- sev_memslot.c: demand pinning with memslot metadata (Nikunj's RFC v1) ---- */

/* MMUSIM_SEV_PIN_MEMSLOT: the pin_pfn and memslot hooks; SEV only, else -EINVAL. */
int sev_memslot_pin_enable(struct kvm *kvm);
/* VM destroy, kvm->lock held, after WBINVD: unpin every memslot's pins. */
void sev_memslot_vm_destroy(struct kvm *kvm);
/* REG/UNREG_REGION under demand pinning: RLIMIT_MEMLOCK accounting only. */
int sev_memslot_register_region(struct kvm *kvm, unsigned long addr, unsigned long size);
int sev_memslot_unregister_region(struct kvm *kvm, unsigned long addr, unsigned long size);
/* A launch command's pins: kept until destroy under demand pinning unless @failed. */
void sev_release_pinned_memory(struct kvm *kvm, struct sim_page **pages, unsigned long npages,
			       bool failed);
/*
 * The MMU's pins of LAUNCH_UPDATE_DATA (sev_launch.c) are the memslots':
 * sev_release_mmu_pinned() marks the pages dirty and frees the array only.
 */
void sev_release_mmu_pinned(struct kvm *kvm, struct sim_page **pages, unsigned long npages);
/* Intra-host migration: @src's memslot pins become @sev's; -ENOMEM. */
int sev_memslot_move_pins(struct kvm *src, struct kvm_sev_info *sev);

/* ---- sev_spte.c: the pinned-SPTE hooks ---- */

/* MMUSIM_SEV_PIN_SPTE: pin on the fault path; legacy MMU, SEV only, else -EINVAL. */
int sev_spte_pin_enable(struct kvm *kvm);

/* ---- sev_mem.c: the memory controller ---- */

/*
 * The controller of @kvm's host, created with the first SEV guest and
 * living as long as the host; the ASID (an SEV-ES one if sev->es_active)
 * and key of a new guest.  6.12's sev_asid_new(): -ENOTTY for an empty
 * range, -EBUSY when no ASID of it is free; -ENOMEM.
 */
int sev_mc_attach(struct kvm_sev_info *sev, u64 key);
/* Forget @sev: its frame records, ASID (to the reclaim bitmap) and reports. */
void sev_mc_detach(struct kvm_sev_info *sev);

/*
 * A guest access through the memory controller, in guest mode: @len bytes
 * at offset @off of frame @pfn (which the guest maps at @gfn), to or from
 * the kernel buffer @buf, encrypting on write and decrypting on read.  0,
 * or -EFAULT past the frame.  Guest mode does not sleep: the caller copies
 * user memory in or out around it.
 */
int sev_mem_access(struct kvm *kvm, gfn_t gfn, kvm_pfn_t pfn, u32 off, void *buf, u32 len,
		   bool write);

/*
 * The PSP firmware's access to guest memory (psp.c): @len bytes of frame
 * @pfn at @off through @sev's key, from @src to @dst (either may be the
 * frame); @record: @dst is the frame, recorded for the checker with gfn
 * SEV_GFN_FW (the firmware knows no gfns).  -EINVAL past the frame.
 */
#define SEV_GFN_FW ((gfn_t)~0ULL)
int sev_mem_fw_crypt(struct kvm_sev_info *sev, kvm_pfn_t pfn, u32 off, const void *src, void *dst,
		     u32 len, bool record);

/* sev_clflush_pages() and wbinvd_on_all_cpus() as the model sees them. */
void sev_clflush_pages(struct kvm_sev_info *sev, struct sim_page **pages, unsigned long npages);
void sev_wbinvd_on_all_cpus(struct kvm_sev_info *sev);
/* clflush_cache_range() of [pfn, pfn + nr): never sleeps (callers hold mmu_lock). */
void sev_clflush_pfns(struct kvm_sev_info *sev, kvm_pfn_t pfn, u64 nr);

/* Copies of @sev's reports (at most @max) and their total number. */
u64 sev_mc_get_reports(struct kvm_sev_info *sev, struct mmusim_sev_report *out, u32 max);

#endif /* _MMUSIM_SEV_H */
