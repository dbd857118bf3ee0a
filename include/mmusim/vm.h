/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mmusim's VM API: create a VM on a simulated host, give it memslots, run
 * guest accesses on its vCPUs, trigger MMU events, read stats and dump the
 * page tables.
 *
 * A VM is KVM's struct kvm with the TDP MMU, or with the legacy shadow MMU
 * and its rmap (mmusim_vm_config.mmu, KVM's tdp_mmu=N); it is attached to
 * one host address space (struct sim_mm, the VMM process) whose MMU
 * notifier it registers.  vCPUs are driven by the caller's threads: each call to
 * mmusim_vcpu_access*() runs the access "in guest mode" on that vCPU, taking
 * and resolving TDP faults exactly as KVM_RUN would, and returns when the
 * access completed or needs userspace (MMIO, a bad address).  A vCPU must be
 * used by one thread at a time; different vCPUs may run concurrently.
 *
 * Every call returns 0 (or a documented positive value) or a negative errno;
 * uapi-shaped calls return what KVM returns for the same input.
 *
 * NULL arguments (tests/test_api_contract.c checks each entry point): a NULL
 * VM or vCPU handle (and a NULL host, mm or @vmp for mmusim_vm_create()) is
 * -EINVAL, never a crash nor a WARN; mmusim_vm_vcpu() returns NULL and the
 * void calls (mmusim_vm_destroy(), mmusim_vm_zap_all_fast()) do nothing.  A
 * <linux/kvm.h> structure, and the buffer of mmusim_vcpu_read/write(), is
 * user memory as for the ioctl: NULL or unreadable is -EFAULT, checked where
 * KVM copies it.  mmusim's own out-parameters (stats, dump and check
 * buffers) are the caller's memory: NULL is -EINVAL, except a NULL buffer of
 * size 0.  @cfg NULL means the defaults; @exit NULL means "not wanted".
 */
#ifndef _MMUSIM_VM_H
#define _MMUSIM_VM_H

#include <linux/kvm.h>
#include <mmusim/host.h>
#include <mmusim/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * KVM_CREATE_VM's x86 types (mmusim_vm_config.vm_type) and KVM_SEV_INIT2's
 * argument: uapi of Linux 6.10+, which Debian 12's 6.1 linux-libc-dev lacks.
 */
#ifndef KVM_X86_SEV_VM
#define KVM_X86_DEFAULT_VM 0
#define KVM_X86_SW_PROTECTED_VM 1
#define KVM_X86_SEV_VM 2
#define KVM_X86_SEV_ES_VM 3
#define KVM_X86_SNP_VM 4
struct kvm_sev_init {
	__u64 vmsa_features;
	__u32 flags;
	__u16 ghcb_version;
	__u16 pad1;
	__u32 pad2[8];
};
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235
#endif

struct mmusim_vm;
struct mmusim_vcpu;

enum mmusim_mmu_type {
	MMUSIM_MMU_TDP = 0,	/* the TDP MMU: faults under mmu_lock held for read (tdp_mmu=Y) */
	MMUSIM_MMU_LEGACY = 1,	/* shadow pages + rmap, everything under the write lock (tdp_mmu=N) */
};

enum mmusim_tdp_mode {
	MMUSIM_TDP_EPT = 0,	/* Intel EPT mask set */
	MMUSIM_TDP_NPT = 1,	/* AMD NPT (x86 PTE format) */
};

/* mmusim_vm_config.sev_pin: how an SEV guest's memory stays in place. */
enum mmusim_sev_pin_strategy {
	MMUSIM_SEV_PIN_UPFRONT = 0, /* REG_REGION pins (upstream) */
	MMUSIM_SEV_PIN_SPTE, /* Sean Christopherson's pinned-SPTE RFC */
	MMUSIM_SEV_PIN_MEMSLOT, /* Nikunj Dadhania's per-memslot demand pinning */
	MMUSIM_SEV_PIN_OFF, /* test/demo: nothing pinned, as a broken kernel */
};

struct mmusim_vm_config {
	int nr_vcpus;		/* 1..256; 0 means 1 */
	int mmu;		/* enum mmusim_mmu_type */
	int tdp_mode;		/* enum mmusim_tdp_mode */
	bool ept_ad_disabled;	/* EPT without A/D bits: access tracking by RWX */
	bool ept_exec_only;	/* hardware supports execute-only EPT entries */
	int root_level;		/* 4 or 5; 0 means 4 */
	bool no_slot_zap_all;	/* zap only the slot on delete/move (no fast zap) */
	/*
	 * Test knob: 0 starts the memslot generations at 0, as KVM does.  N > 0
	 * starts them so that the Nth memslot update of an address space wraps
	 * the 19-bit MMIO generation (KVM then zaps all MMIO SPTEs with a fast
	 * zap), a path KVM reaches only after 2^18 updates.  At most 2^18.
	 */
	u32 mmio_gen_wrap_after;
	/*
	 * The machine profile.  nr_address_spaces: 0 = the default, 2 (a
	 * kernel with SMM: as_id 1 is SMM); 1 = a kernel built without SMM
	 * (slot ids with as_id >= 1 are -EINVAL, KVM_CAP_MULTI_ADDRESS_SPACE
	 * is 0).  host_maxphyaddr: the host's MAXPHYADDR in bits, 36..52; 0 =
	 * 46 with a 4-level root, 52 with a 5-level one.  It sets the last gfn
	 * a memslot may use and the reserved-bit and MMIO SPTE masks, as KVM's
	 * shadow_phys_bits does.
	 */
	int nr_address_spaces;
	int host_maxphyaddr;
	/*
	 * KVM's nx_huge_pages=on (the iTLB multihit workaround): huge SPTEs
	 * are not executable, and an exec fault maps 4K, splitting a huge
	 * page in the way.  The tables such faults make where a huge page
	 * could be are listed (stats.nx_lpage_splits), and NX recovery zaps
	 * the oldest 1/ratio of them per pass so faults can map them huge
	 * again: nx_huge_pages_recovery_ratio 0 is KVM's default 60, -1 never;
	 * nx_huge_pages_recovery_period_ms > 0 runs KVM's per-VM worker thread
	 * with that period (at most an hour), 0 leaves the passes to
	 * mmusim_vm_recover_nx_huge_pages().
	 */
	bool nx_huge_pages;
	int nx_huge_pages_recovery_ratio;
	u32 nx_huge_pages_recovery_period_ms;
	/*
	 * How KVM turns a gfn into a host pfn (docs/pfn.md): MMUSIM_PFN_MODEL_6_13
	 * (0, upstream since 6.13: PFNMAP pfns used without references) or
	 * MMUSIM_PFN_MODEL_V9 (David Stevens' __kvm_follow_pfn v9: PFNMAP pages
	 * referenced when they can be, non-refcounted ones only where safe,
	 * SPTE A/D propagated to refcounted pages).  The host's
	 * kvm_allow_unsafe_mappings applies to both.
	 */
	int pfn_model;
	/*
	 * KVM's eager_page_split=N.  By default (Y, as KVM) enabling dirty
	 * logging splits the slot's huge leaves to 4K under mmu_lock held for
	 * read, and KVM_CLEAR_DIRTY_LOG with INITIALLY_SET splits the 2M
	 * regions around the cleared pages; TDP MMU only, as in 6.12.
	 */
	bool no_eager_page_split;
	/*
	 * Turning dirty logging off: the TDP MMU replaces each table that could
	 * be a huge page with the huge leaf in place (6.13's
	 * kvm_tdp_mmu_recover_huge_pages(), the default), or with this set zaps
	 * it so faults rebuild it (6.12's zap_collapsible_spte_range()).  The
	 * legacy MMU zaps collapsible leaves either way, as KVM.
	 */
	bool zap_collapsible;
	/*
	 * KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING, or _ACQ_REL if
	 * dirty_ring_acq_rel) with args[0] = dirty_ring_size, made between
	 * KVM_CREATE_VM and the vCPUs as a VMM must; its errno (-EINVAL, -E2BIG)
	 * is mmusim_vm_create()'s.  0: the dirty bitmap.
	 */
	u32 dirty_ring_size;
	bool dirty_ring_acq_rel;
	/*
	 * Dirty logging by D bits, as VMX with PML (kvm_x86_ops.cpu_dirty_log_size):
	 * enabling logging clears D on 4K leaves and write-protects huge ones,
	 * the harvest clears D instead of W, and the simulated CPU logs each gfn
	 * whose D it sets in a 512-entry buffer flushed into the dirty log when
	 * the vCPU's call returns or the buffer fills.  EPT with A/D only
	 * (-EINVAL otherwise).  Off: write protection, as on AMD.
	 */
	bool dirty_log_pml;
	/*
	 * An SEV guest (include/mmusim/sev.h, docs/sev.md): KVM_MEMORY_ENCRYPT_OP
	 * (KVM_SEV_INIT) between KVM_CREATE_VM and the vCPUs, as a VMM must; its
	 * errno (-EBUSY: no free ASID) is mmusim_vm_create()'s.  sev_key is the
	 * simulated memory-encryption key (0: one derived from the ASID).
	 * sev_pin_write: KVM_MEMORY_ENCRYPT_REG_REGION pins with FOLL_WRITE |
	 * FOLL_LONGTERM as kernels before 6.12.118 did, not FOLL_LONGTERM alone.
	 * sev_es: KVM_SEV_ES_INIT instead (an SEV-ES guest, with an ASID below
	 * the host's sev_min_asid; -ENOTTY on a host without SEV-ES ASIDs).
	 */
	bool sev;
	bool sev_es;
	u64 sev_key;
	bool sev_pin_write;
	/*
	 * KVM_CREATE_VM's type (include/mmusim/sev.h): KVM_X86_DEFAULT_VM (0),
	 * or KVM_X86_SEV_VM / KVM_X86_SEV_ES_VM on a host with ASIDs of that
	 * kind (KVM_CAP_VM_TYPES), else -EINVAL.  A typed VM becomes SEV
	 * through KVM_SEV_INIT2 instead (sev or sev_es must match the type,
	 * else -EINVAL), with sev_init's vmsa_features and ghcb_version (flags
	 * must be 0); without sev/sev_es it is left uninitialized and KVM_RUN
	 * is -EINVAL, as 6.12's svm_vcpu_pre_run().  A KVM_X86_SEV_ES_VM has
	 * protected state: once LAUNCH_UPDATE_VMSA encrypted a vCPU's state,
	 * the register calls are -EINVAL where a legacy ES_INIT guest's
	 * succeed on KVM's stale copy, and it offers no read-only memslots.
	 */
	u32 vm_type;
	struct kvm_sev_init sev_init;
	/*
	 * How an SEV guest's memory is kept in place (docs/sev.md, issue 14):
	 *   MMUSIM_SEV_PIN_UPFRONT  the default and upstream's baseline:
	 *                           KVM_MEMORY_ENCRYPT_REG_REGION pins the range
	 *   MMUSIM_SEV_PIN_SPTE     Sean Christopherson's pinned-SPTE RFC: the
	 *                           fault path pins through the MMU's hooks
	 *                           (legacy MMU only, else -EINVAL)
	 *   MMUSIM_SEV_PIN_MEMSLOT  Nikunj Dadhania's demand pinning with
	 *                           per-memslot metadata: the fault path pins
	 *                           (both MMUs), REG_REGION only charges
	 *   MMUSIM_SEV_PIN_OFF      test/demo only, a broken kernel: REG_REGION
	 *                           charges RLIMIT_MEMLOCK and lists the region
	 *                           but pins nothing
	 * Anything but UPFRONT on a VM that is not SEV is -EINVAL.
	 */
	enum mmusim_sev_pin_strategy sev_pin;
	/*
	 * The host CPU lacks VMX bus-lock detection (kvm_caps.has_bus_lock_exit
	 * false): KVM_CAP_X86_BUS_LOCK_EXIT reports 0 and enabling EXIT is a
	 * silent no-op.  Default: detection present (docs/vcpu-run.md).
	 */
	bool no_bus_lock_detection;
};

#define MMUSIM_PFN_MODEL_6_13 0
#define MMUSIM_PFN_MODEL_V9 1

int mmusim_vm_create(struct sim_host *host, struct sim_mm *mm, const struct mmusim_vm_config *cfg,
		     struct mmusim_vm **vmp);
/*
 * Destroys @vm (NULL: nothing).  vCPU calls still running on other threads
 * are waited for; one that starts while the destroy is in progress returns
 * -EIO.  Using the VM or its vCPUs after this returns is a use after free,
 * as is destroying it twice or from a race hook running inside its fault.
 */
void mmusim_vm_destroy(struct mmusim_vm *vm);

/* KVM_SET_USER_MEMORY_REGION, with KVM's validation and errno. */
int mmusim_vm_set_user_memory_region(struct mmusim_vm *vm,
				     const struct kvm_userspace_memory_region *mem);
/* KVM_GET_DIRTY_LOG / KVM_CLEAR_DIRTY_LOG. */
int mmusim_vm_get_dirty_log(struct mmusim_vm *vm, struct kvm_dirty_log *log);
int mmusim_vm_clear_dirty_log(struct mmusim_vm *vm, struct kvm_clear_dirty_log *log);
/*
 * KVM_CHECK_EXTENSION on the VM: KVM's value (0 = not supported) for
 * KVM_CAP_USER_MEMORY, _NR_MEMSLOTS, _MULTI_ADDRESS_SPACE (0 on a VM with
 * one address space, as on a kernel without SMM), _READONLY_MEM, _SYNC_MMU,
 * _MANUAL_DIRTY_LOG_PROTECT2, _CHECK_EXTENSION_VM, _ENABLE_CAP_VM,
 * _DESTROY_MEMORY_REGION_WORKS, _JOIN_MEMORY_REGIONS_WORKS,
 * _X86_BUS_LOCK_EXIT (OFF | EXIT, 0 without host support), _X86_USER_SPACE_MSR,
 * _X86_MSR_FILTER (mmusim/msr.h), _VM_MOVE_ENC_CONTEXT_FROM (1; the move is
 * mmusim_vm_move_enc_context_from(), mmusim/sev.h); 0 for the rest.
 */
int mmusim_vm_check_extension(struct mmusim_vm *vm, long cap);
/*
 * KVM_ENABLE_CAP on the VM (@cap is user memory), with KVM's validation:
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 takes args[0] = 0, ENABLE, or ENABLE |
 * INITIALLY_SET; KVM_CAP_X86_BUS_LOCK_EXIT takes KVM_BUS_LOCK_DETECTION_OFF
 * or _EXIT (docs/vcpu-run.md); KVM_CAP_X86_USER_SPACE_MSR takes a mask of
 * KVM_MSR_EXIT_REASON_* (mmusim/msr.h); nonzero flags, other bits or any
 * other cap are -EINVAL.
 */
int mmusim_vm_enable_cap(struct mmusim_vm *vm, const struct kvm_enable_cap *cap);
/* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 with args[0] = @flags (older helper). */
int mmusim_vm_enable_manual_dirty_log_protect(struct mmusim_vm *vm, u64 flags);
/*
 * The user memslot @slot ((as_id << 16) | id) as userspace set it, written
 * to @out (user memory).  -EINVAL for an as_id the VM lacks or a non-user
 * id, -ENOENT if the slot does not exist, -EFAULT for a bad @out.
 */
int mmusim_vm_get_memslot(struct mmusim_vm *vm, u32 slot, struct kvm_userspace_memory_region *out);

struct mmusim_vcpu *mmusim_vm_vcpu(struct mmusim_vm *vm, int idx);
int mmusim_vm_nr_vcpus(struct mmusim_vm *vm);
/*
 * KVM_CREATE_VCPU on a created VM: one more vCPU (the next index) in
 * *@vcpu.  -EINVAL for a NULL VM or @vcpu, or past KVM_MAX_VCPUS; -ENOMEM.
 * It counts as created for what must precede every vCPU (KVM_SEV_INIT, the
 * dirty ring).  An SEV-ES guest's vCPU created after LAUNCH_UPDATE_VMSA has
 * no encrypted VMSA and cannot enter (KVM_EXIT_FAIL_ENTRY).
 */
int mmusim_vm_create_vcpu(struct mmusim_vm *vm, struct mmusim_vcpu **vcpu);

enum mmusim_access_type {
	MMUSIM_ACCESS_READ = 0,
	MMUSIM_ACCESS_WRITE = 1,
	MMUSIM_ACCESS_EXEC = 2,
};

/* Why an access returned to userspace (KVM_EXIT_* values from <linux/kvm.h>). */
struct mmusim_exit {
	u32 reason;	/* KVM_EXIT_MMIO, or 0 when the access completed */
	gpa_t gpa;
	bool is_write;
};

/*
 * Runs one guest access of @type at @gpa.  Return: 0 when it completed,
 * 1 when it exited to userspace (*exit says why: KVM_EXIT_MMIO for a gpa
 * with no memslot or a write to a read-only slot), or a negative errno
 * (-EFAULT: the memslot's host memory cannot be mapped, as KVM's
 * KVM_PFN_ERR_FAULT, also when the host is out of memory; -EINTR: a signal
 * is pending for the VMM (sim_mm_set_signal(), KVM_EXIT_INTR); -EHWPOISON:
 * the page is poisoned (KVM sends SIGBUS); -ENOMEM: KVM's own allocations).
 */
int mmusim_vcpu_access(struct mmusim_vcpu *vcpu, gpa_t gpa, int type, struct mmusim_exit *exit);
/*
 * Runs @npages accesses at gpa, gpa + stride, ... (@stride 0: PAGE_SIZE) in
 * guest mode; stops at the first exit or error.  Each address is checked as
 * mmusim_vcpu_access() checks its gpa (-EINVAL at or above the guest's
 * maximum GPA, 2^46 with 4-level tables and 2^52 with 5); an address that
 * wraps past 2^64 is as bad.  Returns the number of accesses completed, or a
 * negative errno if none completed because of an error.
 */
long mmusim_vcpu_access_range(struct mmusim_vcpu *vcpu, gpa_t gpa, u64 npages, u64 stride,
			      int type, struct mmusim_exit *exit);
/*
 * Guest data accesses through the guest's translation (faulting as needed).
 * @buf is user memory: a bad buffer is -EFAULT, never a crash.  -EBUSY if
 * the vCPU's dirty ring is soft full (the copy stops there).
 */
int mmusim_vcpu_write(struct mmusim_vcpu *vcpu, gpa_t gpa, const void *buf, u64 len);
int mmusim_vcpu_read(struct mmusim_vcpu *vcpu, gpa_t gpa, void *buf, u64 len);
/*
 * Accesses go to address space 1 (SMM) while @smm is true.  -EINVAL for a
 * NULL vCPU, or entering SMM on a VM with one address space.
 */
int mmusim_vcpu_set_smm(struct mmusim_vcpu *vcpu, bool smm);
/* Verify every TLB hit against the host mapping (the stale-TLB checker). */
int mmusim_vcpu_set_tlb_check(struct mmusim_vcpu *vcpu, bool on);

/* KVM_PRE_FAULT_MEMORY's uapi (Linux 6.10), for headers older than it. */
#ifndef KVM_CAP_PRE_FAULT_MEMORY
#define KVM_CAP_PRE_FAULT_MEMORY 236
struct kvm_pre_fault_memory {
	__u64 gpa;
	__u64 size;
	__u64 flags;
	__u64 padding[5];
};
#endif
/*
 * KVM_PRE_FAULT_MEMORY on @vcpu (@range is user memory, read and written
 * back with the part not yet done, as the ioctl does): map [gpa, gpa + size)
 * in the vCPU's current address space as prefetches, huge where possible.
 * 0 if at least one page was mapped (the rest is left in @range); else
 * -EINVAL (flags, unaligned or wrapping range), -ENOENT (no memslot: the
 * gpa would be emulated), -EINTR (a signal is pending for the VMM), the
 * fault's errno (-EFAULT, -EHWPOISON), -EFAULT for a bad @range.
 */
int mmusim_vcpu_pre_fault_memory(struct mmusim_vcpu *vcpu, struct kvm_pre_fault_memory *range);

/*
 * kvm_mmu_map_tdp_page() of Sean Christopherson's pinned-SPTE RFC (patch
 * 7/8; docs/sev.md): fault @gpa in on @vcpu as a user write (a user read
 * if its memslot is read-only), in the vCPU's current address space,
 * retrying while the fault asks to; the host pfn now mapping @gpa in
 * *@pfn.  With MMUSIM_SEV_PIN_SPTE the fault pins the page, which is how
 * the RFC's LAUNCH_UPDATE_DATA pins before the guest runs.  0; -EINVAL
 * (NULL vCPU or @pfn, gpa beyond the guest's MAXPHYADDR), -EIO (the VM is
 * being destroyed), -ERESTARTSYS (a signal is pending for the VMM),
 * -ENOENT (no memslot: the gpa would be emulated), the fault's errno
 * (-EFAULT, -EHWPOISON, -ENOMEM).
 */
int mmusim_vcpu_map_tdp_page(struct mmusim_vcpu *vcpu, gpa_t gpa, u64 *pfn);

/*
 * kvm_vcpu_map() of one guest page, as KVM's nested and APIC code uses it
 * (docs/pfn.md): the page is mapped into the "kernel" (kmap, or memremap
 * for memory with no struct page) and held as the VM's pfn model says
 * (v9: a reference if the page is refcounted; 6.13: a pin) until
 * mmusim_vcpu_unmap().  Up to 8 maps per vCPU, named by info->id.
 *
 * mmusim_vcpu_map(): @gfn in the vCPU's current address space; @flags
 * MMUSIM_MAP_WRITABLE (6.13's kvm_vcpu_map() vs kvm_vcpu_map_readonly();
 * v9 always maps for write).  @info (user memory, out) describes the map.
 * -EINVAL: no memslot, an error pfn (e.g. PFNMAP memory KVM may not hold
 * without allow_unsafe_mappings), unknown flags; -EFAULT: nothing could map
 * the frame, or a bad @info (the map is undone); -ENOSPC: 8 maps already.
 * mmusim_vcpu_map_read/write(): copy through the map's kernel address
 * (@buf is user memory); -EINVAL for a bad id or a range past the page,
 * -EPERM for a write through a read-only map.
 * mmusim_vcpu_unmap(): kvm_vcpu_unmap(); @dirty marks the gfn in the
 * dirty log and the page dirty (v9; 6.13 goes by the map's writability).
 */
struct mmusim_vcpu_map_info {
	int id;
	u64 gfn;
	u64 pfn;
	bool has_struct_page;		/* false: memremap()ed (KVM_UNMAPPED_PAGE) */
	bool is_refcounted_page;	/* KVM holds the page: a reference (v9) or a pin (6.13) */
	bool writable;
	int page_refcount;		/* the page's refcount once mapped; -1 without a struct page */
};
#define MMUSIM_MAP_WRITABLE 0x1
int mmusim_vcpu_map(struct mmusim_vcpu *vcpu, u64 gfn, unsigned int flags,
		    struct mmusim_vcpu_map_info *info);
int mmusim_vcpu_map_read(struct mmusim_vcpu *vcpu, int id, u32 offset, void *buf, u32 len);
int mmusim_vcpu_map_write(struct mmusim_vcpu *vcpu, int id, u32 offset, const void *buf, u32 len);
int mmusim_vcpu_unmap(struct mmusim_vcpu *vcpu, int id, bool dirty);

/*
 * An in-tree user of kvm_vcpu_map(): post @vector (0..255) to the posted-
 * interrupt descriptor at @pi_desc_gpa (64-byte aligned), as KVM delivers a
 * nested posted interrupt through L1's descriptor: map the page, set the
 * PIR bit and ON atomically, unmap dirty.  Returns 1 if ON was already set
 * (no new notification is due), 0 if this set it, or mmusim_vcpu_map()'s
 * errno; -EINVAL for a misaligned gpa or a vector above 255.
 */
int mmusim_vcpu_post_interrupt(struct mmusim_vcpu *vcpu, gpa_t pi_desc_gpa, unsigned int vector);

/*
 * MMU operations a VMM or KVM itself triggers.
 *
 * mmusim_vm_zap_gfn_range() zaps the SPTEs of gfns [start, end) inside an
 * MMU invalidation.  @as_id -1 is KVM's kvm_zap_gfn_range(): every address
 * space; 0 or 1 zaps that address space only.  -EINVAL for another @as_id
 * or an empty range.
 */
int mmusim_vm_zap_gfn_range(struct mmusim_vm *vm, int as_id, gfn_t start, gfn_t end);
/*
 * The dirty ring.  mmusim_vcpu_dirty_ring() gives the vCPU's ring as the
 * VMM's mmap of KVM_DIRTY_LOG_PAGE_OFFSET would (shared memory: collect
 * entries with KVM_DIRTY_GFN_F_DIRTY set, acquire order, and mark them
 * KVM_DIRTY_GFN_F_RESET, release order), and its number of entries;
 * -EINVAL for a NULL vCPU or out-parameter, -ENXIO without rings.
 * mmusim_vm_reset_dirty_rings() is KVM_RESET_DIRTY_RINGS: the number of
 * entries reset (tracking re-armed for their gfns), or -EINVAL without
 * rings.  A vCPU whose ring is soft full exits with
 * KVM_EXIT_DIRTY_RING_FULL (mmusim_vcpu_access() returns 1) until reset.
 * With rings, KVM_GET/CLEAR_DIRTY_LOG are -ENXIO.
 */
int mmusim_vcpu_dirty_ring(struct mmusim_vcpu *vcpu, struct kvm_dirty_gfn **ring, u32 *nr_entries);
int mmusim_vm_reset_dirty_rings(struct mmusim_vm *vm);

/* One pass of the NX huge page recovery worker (kvm_recover_nx_huge_pages()). */
int mmusim_vm_recover_nx_huge_pages(struct mmusim_vm *vm);
void mmusim_vm_zap_all_fast(struct mmusim_vm *vm);

/*
 * Benchmark knob: every page fault first spins @ns nanoseconds outside
 * mmu_lock, modelling the VM exit and GUP work of a real fault (0: off).
 * Returns 0, or -EINVAL above one second.
 */
int mmusim_vm_set_fault_exit_ns(struct mmusim_vm *vm, u64 ns);

/*
 * Race hook for fuzzers and tests: @fn runs once, on the thread of the next
 * slow-path page fault that reaches @point, so an event can be placed inside
 * a fault deterministically.  It runs with no MMU lock held, inside the
 * memslot SRCU read side, while the fault holds a reference on the page it
 * looked up (a migration of that page finds it busy, as in Linux).  It may
 * run host events (MMU notifiers), zaps and aging; not memslot updates,
 * which wait for SRCU readers.  @fn NULL disarms.  -EINVAL for a bad point.
 */
enum mmusim_fault_race_point {
	MMUSIM_FAULT_RACE_AFTER_PFN,	/* right after the pfn lookup (GUP) */
	MMUSIM_FAULT_RACE_BEFORE_LOCK,	/* after the unlocked mmu_seq check, before mmu_lock */
	MMUSIM_FAULT_RACE_NR
};
typedef void (*mmusim_fault_race_fn)(void *arg, int point, gfn_t gfn);
int mmusim_vm_race_next_fault(struct mmusim_vm *vm, int point, mmusim_fault_race_fn fn, void *arg);

/*
 * VM and vCPU statistics.  mmusim_vm_get_stats() may be called from any
 * thread at any time, also while vCPUs run and host events happen: every
 * counter is read with a single-copy-atomic load while its writers update
 * it (VM-wide counters are atomic; a vCPU's counters are written only by
 * the thread running that vCPU, with WRITE_ONCE()).  Each value is a
 * counter's value at some instant during the call, but the snapshot is not
 * one instant: sums over vCPUs and related counters (pf_taken vs pf_fixed)
 * may be mid-update relative to each other.  Quiesce the vCPUs for exact
 * relations.
 */
struct mmusim_vm_stats {
	u64 pages_4k, pages_2m, pages_1g;	/* leaf SPTEs, as KVM's stats */
	u64 tdp_mmu_pages;			/* TDP MMU tables below the roots, as KVM */
	u64 shadow_mmu_pages;			/* legacy MMU shadow pages (roots included) */
	u64 mmu_shadow_zapped;			/* legacy MMU: shadow pages zapped */
	u64 max_mmu_rmap_size;			/* legacy MMU: longest rmap list seen */
	u64 remote_tlb_flush, remote_tlb_flush_requests;
	u64 root_allocs, fast_zaps, huge_splits, mmio_gen_wraps;
	u64 huge_recoveries;			/* TDP MMU: tables made huge leaves again (6.13) */
	u64 nx_lpage_splits;			/* shadow pages NX recovery may zap, as KVM */
	u64 mmu_invalidate_seq;
	/* Sums over vCPUs. */
	u64 pf_taken, pf_fixed, pf_emulate, pf_spurious, pf_fast, pf_mmio_spte_created;
	u64 pf_retry, tlb_flush, accesses, tlb_hits, stale_tlb_uses;
	u64 psc_walks; /* TLB misses walked from a cached paging-structure entry */
	u64 mmio_exits, halt_exits, signal_exits; /* KVM_RUN (docs/vcpu-run.md), as KVM's */
	u64 mmu_lock_wait_ns;	/* time threads spent blocked acquiring mmu_lock */
	/* Pinned leaves (SEV, MMUSIM_SEV_PIN_SPTE) dirty logging and collapsing skipped. */
	u64 pinned_sptes_skipped;
};
int mmusim_vm_get_stats(struct mmusim_vm *vm, struct mmusim_vm_stats *stats);

/* Readable page-table tree; returns the length written (truncated to size). */
int mmusim_vm_dump(struct mmusim_vm *vm, char *buf, size_t size);

/*
 * The invariant checker: every present leaf SPTE maps the pfn the host maps
 * at its memslot's hva (or lies in an invalidation still in progress), leaf
 * SPTEs are in legal states, and the pages_* stats equal a full walk.  With
 * the legacy MMU, every leaf is also on its memslot's rmap and the rmaps hold
 * nothing else.
 * Returns 0, or -EUCLEAN with a description of the first violation in @msg.
 */
int mmusim_vm_check(struct mmusim_vm *vm, char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif

#endif /* _MMUSIM_VM_H */
