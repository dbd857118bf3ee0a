// SPDX-License-Identifier: GPL-2.0-only
/*
 * SEV, the KVM side, as arch/x86/kvm/svm/sev.c of Linux 6.12.118 has it:
 * KVM_SEV_INIT, the KVM_MEMORY_ENCRYPT_OP dispatch, and the up-front
 * pinning baseline that the demand-pinning series wanted to replace:
 * KVM_MEMORY_ENCRYPT_REG_REGION pins the whole range with FOLL_LONGTERM,
 * charges it to sev->pages_locked against RLIMIT_MEMLOCK and flushes it;
 * UNREG_REGION (exact range only) and VM destroy flush the caches with
 * WBINVD before they unpin, so no dirty encrypted line outlives the pin.
 *
 * Rules:
 *  1. kvm->lock serializes every SEV ioctl and guards regions_list and
 *     pages_locked (sev_pin_memory() asserts it, as 6.12 does).
 *  2. A failed call leaves nothing behind: a partial pin is unpinned,
 *     pages_locked is charged only on success.
 *  3. A page is unpinned only after a flush of the lines the guest may have
 *     dirtied in it: clflush of the range, or WBINVD (sev_mem.c models what
 *     a missing flush does to the frame's next owner).
 *  4. pages_locked counts what REG_REGION pinned, not mm->locked_vm: SEV
 *     does its own RLIMIT_MEMLOCK check and never calls account_locked_vm().
 *  5. The VM's pinning strategy (mmusim_vm_config.sev_pin) is chosen in one
 *     place, sev_pin_strategy_init(), before the vCPUs, and never changes:
 *     UPFRONT is this file's REG_REGION; OFF (test/demo, a broken kernel)
 *     charges and lists a region without pinning it; SPTE hands the fault
 *     path's hooks to sev_spte.c.
 *
 * Deviations: sev_pin_memory() returns an errno and the array through a
 * pointer instead of ERR_PTR(); there are no mirror VMs, SEV-ES, SNP or
 * VM types (KVM_X86_DEFAULT_VM only), and no PSP firmware yet, so the
 * launch commands are dispatched but not modelled (see mmusim/sev.h).
 */
#include "mmusim_env.h"
#include "sev/sev.h"

/* enum sev_cmd_id of 6.12; older uapi headers stop before INIT2. */
#define SEV_CMD_ID_ES_INIT 1
#define SEV_CMD_ID_LAUNCH_UPDATE_VMSA 4
#define SEV_CMD_ID_SEND_UPDATE_VMSA 10
#define SEV_CMD_ID_RECEIVE_UPDATE_VMSA 14
#define SEV_CMD_ID_CERT_EXPORT 19
#define SEV_CMD_ID_INIT2 22
#define SEV_CMD_ID_SNP_LAUNCH_START 100
#define SEV_CMD_ID_SNP_LAUNCH_FINISH 102

/*
 * kvm_amd's sev and sev_es as sev_hardware_setup() leaves them: SEV when the
 * host has SEV ASIDs (min..max not empty), SEV-ES when it reserved ASIDs
 * below min_sev_asid (the default host has none).
 */
static bool sev_enabled(struct sim_host *host)
{
	u32 min_sev_asid, max_sev_asid;

	return !sim_host_sev_asids(host, &min_sev_asid, &max_sev_asid) && max_sev_asid &&
	       min_sev_asid <= max_sev_asid;
}

static bool sev_es_enabled_host(struct sim_host *host)
{
	u32 min_sev_asid, max_sev_asid;

	return !sim_host_sev_asids(host, &min_sev_asid, &max_sev_asid) && min_sev_asid > 1;
}

static bool sev_es_enabled(struct kvm *kvm)
{
	return sev_es_enabled_host(kvm->host);
}

/* The SEV half of kvm_caps.supported_vm_types (sev_set_cpu_caps(), 6.12). */
u32 sev_supported_vm_types(struct sim_host *host)
{
	u32 types = 0;

	if (sev_enabled(host))
		types |= BIT(KVM_X86_SEV_VM);
	if (sev_es_enabled_host(host))
		types |= BIT(KVM_X86_SEV_ES_VM);
	return types;
}

static bool fits_ulong(u64 v)
{
	return v == (unsigned long)v;
}

/* ======================== pinning ======================== */

/*
 * The RLIMIT_MEMLOCK side of sev_pin_memory(): how many pages
 * [uaddr, uaddr + ulen) touches, if pages_locked may grow by that many.
 */
int sev_memlock_charge(struct kvm *kvm, unsigned long uaddr, unsigned long ulen, unsigned long *np)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	unsigned long npages, first, last, locked, lock_limit;

	lockdep_assert_held(&kvm->lock);

	if (ulen == 0 || uaddr + ulen < uaddr)
		return -EINVAL;
	/* Not ulen >> PAGE_SHIFT: the range need not be page aligned. */
	first = uaddr >> PAGE_SHIFT;
	last = (uaddr + ulen - 1) >> PAGE_SHIFT;
	npages = last - first + 1;
	if (npages > INT_MAX)
		return -EINVAL;

	locked = sev->pages_locked + npages;
	lock_limit = sim_mm_memlock_limit(kvm->mm) >> PAGE_SHIFT;
	if (locked > lock_limit && !sim_mm_capable_ipc_lock(kvm->mm)) {
		pr_err("SEV: %lu locked pages exceed the lock limit of %lu.\n", locked, lock_limit);
		return -ENOMEM;
	}
	*np = npages;
	return 0;
}

/*
 * sev_pin_memory(): pin every page of [uaddr, uaddr + ulen) with @flags,
 * charging sev->pages_locked against RLIMIT_MEMLOCK; 6.12.118's errno
 * order (the INT_MAX check precedes the rlimit check there).
 */
int sev_pin_memory(struct kvm *kvm, unsigned long uaddr, unsigned long ulen, unsigned long *n,
		   unsigned int flags, struct sim_page ***pagesp)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	struct sim_page **pages;
	unsigned long npages;
	long npinned;
	int r;

	r = sev_memlock_charge(kvm, uaddr, ulen, &npages);
	if (r)
		return r;
	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return -ENOMEM;
	npinned = sim_pin_user_pages_fast(kvm->mm, uaddr, npages, flags, pages);
	if (npinned != (long)npages) {
		pr_err("SEV: Failure locking %lu pages.\n", npages);
		if (npinned > 0)
			sim_unpin_user_pages(kvm->host, pages, npinned);
		kvfree(pages);
		return -ENOMEM;
	}
	atomic64_add(npages, &sev->pages_pinned);
	atomic64_add(npages, &sev->pins_taken);
	*n = npages;
	*pagesp = pages;
	sev->pages_locked += npages;
	return 0;
}

void sev_unpin_memory(struct kvm *kvm, struct sim_page **pages, unsigned long npages)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);

	if (!pages) {
		/* A MMUSIM_SEV_PIN_OFF region: charged, never pinned. */
		sev->pages_locked -= npages;
		return;
	}
	sim_unpin_user_pages(kvm->host, pages, npages);
	atomic64_sub(npages, &sev->pages_pinned);
	atomic64_add(npages, &sev->pins_dropped);
	kvfree(pages);
	sev->pages_locked -= npages;
}

static int sev_mem_enc_register_region(struct kvm *kvm, struct kvm_enc_region *range)
{
	struct kvm_sev_info *sev;
	struct enc_region *region;
	int ret;

	mutex_lock(&kvm->lock);
	ret = -ENOTTY;
	if (!sev_guest(kvm))
		goto out;
	sev = to_kvm_sev_info(kvm);
	ret = -EINVAL;
	if (!fits_ulong(range->addr) || !fits_ulong(range->size))
		goto out;
	/* Demand pinning: the pins are the memslots'; REG_REGION only charges. */
	if (sev->pin_strategy == MMUSIM_SEV_PIN_MEMSLOT) {
		ret = sev_memslot_register_region(kvm, range->addr, range->size);
		goto out;
	}
	ret = -ENOMEM;
	region = kzalloc(sizeof(*region), GFP_KERNEL_ACCOUNT);
	if (!region)
		goto out;
	/*
	 * 6.12.118 pins without FOLL_WRITE: KVM does not write through the
	 * pin, and FOLL_LONGTERM alone makes GUP unshare the zero page of
	 * memory not yet written (docs/sev.md); earlier kernels passed
	 * FOLL_WRITE | FOLL_LONGTERM (mmusim_vm_config.sev_pin_write).
	 */
	if (sev->pin_strategy == MMUSIM_SEV_PIN_OFF) {
		/* The broken kernel of the demo: the charge and the list, no pin. */
		ret = sev_memlock_charge(kvm, range->addr, range->size, &region->npages);
		if (!ret)
			sev->pages_locked += region->npages;
	} else {
		ret = sev_pin_memory(kvm, range->addr, range->size, &region->npages,
				     SIM_FOLL_LONGTERM | (sev->pin_write ? SIM_FOLL_WRITE : 0),
				     &region->pages);
	}
	if (ret) {
		kfree(region);
		goto out;
	}
	/*
	 * The guest may switch the range's C-bit either way: flush so that no
	 * line written with the other attribute is written back later; before
	 * kvm->lock goes, as another task may unregister the region then.
	 */
	if (region->pages)
		sev_clflush_pages(sev, region->pages, region->npages);
	region->uaddr = range->addr;
	region->size = range->size;
	list_add_tail(&region->list, &sev->regions_list);
out:
	mutex_unlock(&kvm->lock);
	return ret;
}

static struct enc_region *find_enc_region(struct kvm_sev_info *sev, struct kvm_enc_region *range)
{
	struct enc_region *i;

	list_for_each_entry(i, &sev->regions_list, list)
		if (i->uaddr == range->addr && i->size == range->size)
			return i;
	return NULL;
}

static void __unregister_enc_region_locked(struct kvm *kvm, struct enc_region *region)
{
	lockdep_assert_held(&kvm->lock);
	sev_unpin_memory(kvm, region->pages, region->npages);
	list_del(&region->list);
	kfree(region);
}

static int sev_mem_enc_unregister_region(struct kvm *kvm, struct kvm_enc_region *range)
{
	struct enc_region *region;
	int ret = 0;

	mutex_lock(&kvm->lock);
	if (!sev_guest(kvm)) {
		ret = -ENOTTY;
		goto out;
	}
	if (to_kvm_sev_info(kvm)->pin_strategy == MMUSIM_SEV_PIN_MEMSLOT) {
		ret = -EINVAL;
		if (fits_ulong(range->addr) && fits_ulong(range->size))
			ret = sev_memslot_unregister_region(kvm, range->addr, range->size);
		goto out;
	}
	region = find_enc_region(to_kvm_sev_info(kvm), range);
	if (!region) {
		ret = -EINVAL;
		goto out;
	}
	/* CLFLUSH does not reach lines tagged with the guest's key: WBINVD. */
	sev_wbinvd_on_all_cpus(to_kvm_sev_info(kvm));
	__unregister_enc_region_locked(kvm, region);
out:
	mutex_unlock(&kvm->lock);
	return ret;
}

/* ======================== KVM_SEV_INIT, ES_INIT, INIT2 ======================== */

/* GHCB protocol versions KVM speaks (svm/sev.c of 6.12). */
#define GHCB_VERSION_MAX 2
#define GHCB_VERSION_DEFAULT 2
#define GHCB_VERSION_MIN 1

/*
 * __sev_guest_init(), 6.12 order: vCPUs created, flags, VMSA features (KVM
 * supports none here: DEBUG_SWAP needs host features mmusim does not
 * model), GHCB version (none for plain SEV), already SEV, then the ASID.
 * @vm_type is the guest's kind: KVM_X86_SEV_VM, or KVM_X86_SEV_ES_VM.
 */
static int __sev_guest_init(struct kvm *kvm, struct kvm_sev_cmd *argp,
			    const struct kvm_sev_init *data, u32 vm_type, u64 key, bool pin_write)
{
	bool es_active = vm_type != KVM_X86_SEV_VM;
	struct kvm_sev_info *sev;
	int created, ret;

	lockdep_assert_held(&kvm->lock);
	mutex_lock(&kvm->vcpu_lock);
	created = kvm->nr_vcpus;
	mutex_unlock(&kvm->vcpu_lock);
	if (created)
		return -EINVAL;
	if (data->flags || data->vmsa_features)
		return -EINVAL;
	if (data->ghcb_version > GHCB_VERSION_MAX || (!es_active && data->ghcb_version))
		return -EINVAL;
	if (unlikely(sev_guest(kvm)))
		return -EINVAL;

	sev = kzalloc(sizeof(*sev), GFP_KERNEL_ACCOUNT);
	if (!sev)
		return -ENOMEM;
	sev->kvm = kvm;
	sev->active = true;
	sev->es_active = es_active;
	sev->ghcb_version = data->ghcb_version;
	if (es_active && !sev->ghcb_version)
		sev->ghcb_version = GHCB_VERSION_DEFAULT;
	sev->pin_write = pin_write;
	INIT_LIST_HEAD(&sev->regions_list);
	ret = sev_guest_init_shared(sev);
	if (ret) {
		kfree(sev);
		return ret;
	}
	ret = sev_mc_attach(sev, key);
	if (ret) {
		/* sev_asid_new()'s -EBUSY; the platform init cannot fail here. */
		argp->error = 0;
		sev_guest_free_shared(sev);
		kfree(sev);
		return ret;
	}
	/* Published whole: the vCPU access path tests kvm->sev without a lock. */
	smp_store_release(&kvm->sev, sev);
	return 0;
}

/*
 * sev_guest_init(): KVM_SEV_INIT and the deprecated KVM_SEV_ES_INIT (@es),
 * for default-type VMs only; ES_INIT speaks the minimal GHCB version.
 */
static int sev_guest_init(struct kvm *kvm, struct kvm_sev_cmd *argp, bool es, u64 key,
			  bool pin_write)
{
	struct kvm_sev_init data = { .ghcb_version = es ? GHCB_VERSION_MIN : 0 };

	if (kvm->vm_type != KVM_X86_DEFAULT_VM)
		return -EINVAL;
	return __sev_guest_init(kvm, argp, &data, es ? KVM_X86_SEV_ES_VM : KVM_X86_SEV_VM, key,
				pin_write);
}

/* A VM created with an SEV type that KVM_SEV_INIT2 has not initialized yet. */
bool sev_need_init(struct kvm *kvm)
{
	return (kvm->vm_type == KVM_X86_SEV_VM || kvm->vm_type == KVM_X86_SEV_ES_VM) &&
	       !sev_guest(kvm);
}

/* sev_guest_init2(): the VM type decides SEV or SEV-ES; @udata is user memory. */
static int sev_guest_init2(struct kvm *kvm, struct kvm_sev_cmd *argp,
			   const struct kvm_sev_init __user *udata, u64 key, bool pin_write)
{
	struct kvm_sev_init data;

	if (!sev_need_init(kvm))
		return -EINVAL;
	if (copy_from_user(&data, udata, sizeof(data)))
		return -EFAULT;
	return __sev_guest_init(kvm, argp, &data, kvm->vm_type, key, pin_write);
}

int sev_vm_init_from_config(struct kvm *kvm, bool es, u64 key, bool pin_write)
{
	struct kvm_sev_cmd cmd = { .id = es ? SEV_CMD_ID_ES_INIT : KVM_SEV_INIT };
	int r;

	if (es && !sev_es_enabled(kvm))
		return -ENOTTY;
	mutex_lock(&kvm->lock);
	r = sev_guest_init(kvm, &cmd, es, key, pin_write);
	mutex_unlock(&kvm->lock);
	return r;
}

int sev_vm_init2_from_config(struct kvm *kvm, const struct kvm_sev_init *data, u64 key,
			     bool pin_write)
{
	struct kvm_sev_cmd cmd = { .id = SEV_CMD_ID_INIT2 };
	int r;

	/* The config is the caller's kernel-side copy: no user copy to make. */
	mutex_lock(&kvm->lock);
	r = sev_need_init(kvm) ? __sev_guest_init(kvm, &cmd, data, kvm->vm_type, key, pin_write) :
				 -EINVAL;
	mutex_unlock(&kvm->lock);
	return r;
}

int sev_pin_strategy_init(struct kvm *kvm, enum mmusim_sev_pin_strategy strategy)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	int r;

	if (WARN_ON_ONCE(!sev))
		return -EINVAL;
	switch (strategy) {
	case MMUSIM_SEV_PIN_UPFRONT:
	case MMUSIM_SEV_PIN_OFF:
		/* Both live in REG_REGION (sev_mem_enc_register_region()). */
		r = 0;
		break;
	case MMUSIM_SEV_PIN_SPTE:
		r = sev_spte_pin_enable(kvm);
		break;
	case MMUSIM_SEV_PIN_MEMSLOT:
		r = sev_memslot_pin_enable(kvm);
		break;
	default:
		r = -EINVAL;
		break;
	}
	if (!r)
		sev->pin_strategy = strategy;
	return r;
}

void sev_vm_destroy(struct kvm *kvm)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	struct enc_region *region, *next;

	if (!sev)
		return;
	mutex_lock(&kvm->lock);
	/* Every guest-tagged line is flushed before the pages go back. */
	sev_wbinvd_on_all_cpus(sev);
	/* Userspace that did not unregister its regions: unpin them here. */
	list_for_each_entry_safe(region, next, &sev->regions_list, list) {
		__unregister_enc_region_locked(kvm, region);
		cond_resched();
	}
	if (sev->pin_strategy == MMUSIM_SEV_PIN_MEMSLOT) {
		/* The same WBINVD covers the memslots' pins; REG_REGION's charge dies here. */
		sev_memslot_vm_destroy(kvm);
		sev->pages_locked = 0;
	}
	WARN_ON_ONCE(sev->pages_locked);
	/* sev_unbind_asid(): the firmware drops the handle before the ASID goes. */
	sev_launch_destroy(kvm);
	WRITE_ONCE(kvm->sev, NULL);
	mutex_unlock(&kvm->lock);
	sev_mc_detach(sev);
	sev_guest_free_shared(sev);
	kfree(sev);
}

/* ======================== KVM_MEMORY_ENCRYPT_OP ======================== */

/*
 * A command 6.12 dispatches but mmusim does not model yet: its handler's
 * first check (not an SEV guest: -ENOTTY), then "not implemented".
 */
static int sev_cmd_not_modelled(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	if (!sev_guest(kvm))
		return -ENOTTY;
	if (argp->id == SEV_CMD_ID_LAUNCH_UPDATE_VMSA)
		return -ENOTTY; /* !sev_es_guest() */
	return -EINVAL;
}

static int sev_cmd_init(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	return sev_guest_init(kvm, argp, argp->id == SEV_CMD_ID_ES_INIT, 0, false);
}

static int sev_cmd_init2(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	return sev_guest_init2(kvm, argp, u64_to_user_ptr(argp->data), 0, false);
}

/* The dispatch: the launch flow (sev_launch.c) has its own handlers. */
static sev_cmd_fn sev_cmd_handler(u32 id)
{
	sev_cmd_fn fn = sev_launch_cmd_handler(id);

	if (fn)
		return fn;
	if (id == KVM_SEV_INIT)
		return sev_cmd_init;
	if (id == SEV_CMD_ID_INIT2)
		return sev_cmd_init2;
	if (id <= SEV_CMD_ID_INIT2 && id != SEV_CMD_ID_SEND_UPDATE_VMSA &&
	    id != SEV_CMD_ID_RECEIVE_UPDATE_VMSA && id != SEV_CMD_ID_CERT_EXPORT)
		return sev_cmd_not_modelled;
	if (id >= SEV_CMD_ID_SNP_LAUNCH_START && id <= SEV_CMD_ID_SNP_LAUNCH_FINISH)
		return sev_cmd_not_modelled; /* !sev_snp_guest(): -ENOTTY, or not modelled */
	return NULL;
}

static int sev_mem_enc_ioctl(struct kvm *kvm, void __user *argp)
{
	struct kvm_sev_cmd sev_cmd;
	sev_cmd_fn fn;
	int r;

	if (!argp)
		return 0;
	if (copy_from_user(&sev_cmd, argp, sizeof(sev_cmd)))
		return -EFAULT;

	mutex_lock(&kvm->lock);
	if (sev_cmd.id == SEV_CMD_ID_ES_INIT && !sev_es_enabled(kvm)) {
		r = -ENOTTY;
		goto out;
	}
	fn = sev_cmd.id == SEV_CMD_ID_ES_INIT ? sev_cmd_init : sev_cmd_handler(sev_cmd.id);
	if (!fn) {
		r = -EINVAL;
		goto out;
	}
	r = fn(kvm, &sev_cmd);
	if (copy_to_user(argp, &sev_cmd, sizeof(sev_cmd)))
		r = -EFAULT;
out:
	mutex_unlock(&kvm->lock);
	return r;
}

/* ======================== public calls ======================== */

int mmusim_vm_memory_encrypt_op(struct mmusim_vm *vm, struct kvm_sev_cmd *cmd)
{
	if (!vm)
		return -EINVAL;
	if (READ_ONCE(mmusim_to_kvm(vm)->vm_dead))
		return -EIO;
	return sev_mem_enc_ioctl(mmusim_to_kvm(vm), cmd);
}

int mmusim_vm_memory_encrypt_reg_region(struct mmusim_vm *vm, const struct kvm_enc_region *urange)
{
	struct kvm_enc_region range;

	if (!vm)
		return -EINVAL;
	if (copy_from_user(&range, urange, sizeof(range)))
		return -EFAULT;
	if (READ_ONCE(mmusim_to_kvm(vm)->vm_dead))
		return -EIO;
	return sev_mem_enc_register_region(mmusim_to_kvm(vm), &range);
}

int mmusim_vm_memory_encrypt_unreg_region(struct mmusim_vm *vm, const struct kvm_enc_region *urange)
{
	struct kvm_enc_region range;

	if (!vm)
		return -EINVAL;
	if (copy_from_user(&range, urange, sizeof(range)))
		return -EFAULT;
	if (READ_ONCE(mmusim_to_kvm(vm)->vm_dead))
		return -EIO;
	return sev_mem_enc_unregister_region(mmusim_to_kvm(vm), &range);
}

int mmusim_vm_sev_get_stats(struct mmusim_vm *vm, struct mmusim_sev_stats *stats)
{
	struct kvm_sev_info *sev;
	struct enc_region *region;
	struct kvm *kvm;

	if (!vm || !stats)
		return -EINVAL;
	kvm = mmusim_to_kvm(vm);
	mutex_lock(&kvm->lock);
	sev = to_kvm_sev_info(kvm);
	if (!sev) {
		mutex_unlock(&kvm->lock);
		return -ENOTTY;
	}
	memset(stats, 0, sizeof(*stats));
	stats->asid = sev->asid;
	stats->pages_locked = sev->pages_locked;
	list_for_each_entry(region, &sev->regions_list, list)
		stats->regions++;
	stats->pages_pinned = atomic64_read(&sev->pages_pinned);
	stats->pins_taken = atomic64_read(&sev->pins_taken);
	stats->pins_dropped = atomic64_read(&sev->pins_dropped);
	stats->clflush_pages = atomic64_read(&sev->clflush_pages);
	stats->wbinvd = atomic64_read(&sev->wbinvd);
	stats->enc_writes = atomic64_read(&sev->enc_writes);
	stats->dec_reads = atomic64_read(&sev->dec_reads);
	stats->vmsa_protected = atomic64_read(&sev->vmsa_protected);
	stats->handle = sev->handle;
	stats->pin_strategy = sev->pin_strategy;
	stats->pins_zapped = atomic64_read(&sev->pins_zapped);
	stats->pins_unzapped = atomic64_read(&sev->pins_unzapped);
	stats->corruptions = sev_mc_get_reports(sev, NULL, 0);
	mutex_unlock(&kvm->lock);
	return 0;
}

long mmusim_vm_sev_get_reports(struct mmusim_vm *vm, struct mmusim_sev_report *out, u32 max)
{
	struct kvm *kvm;
	long r;

	if (!vm || (!out && max))
		return -EINVAL;
	kvm = mmusim_to_kvm(vm);
	mutex_lock(&kvm->lock);
	r = kvm->sev ? (long)sev_mc_get_reports(kvm->sev, out, max) : -ENOTTY;
	mutex_unlock(&kvm->lock);
	return r;
}

int mmusim_vm_sev_check(struct mmusim_vm *vm, char *msg, size_t msg_size)
{
	struct mmusim_sev_report rep;
	long n;

	if (!vm || (!msg && msg_size))
		return -EINVAL;
	n = mmusim_vm_sev_get_reports(vm, &rep, 1);
	if (n <= 0)
		return n;
	if (msg && rep.kind == MMUSIM_SEV_MOVED)
		scnprintf(
			msg, msg_size,
			"SEV: gfn 0x%llx lost: %s moved its ciphertext from pfn 0x%llx to pfn 0x%llx (%ld report%s)",
			(unsigned long long)rep.gfn, sim_frame_event_name(rep.event),
			(unsigned long long)rep.old_pfn, (unsigned long long)rep.new_pfn, n,
			n > 1 ? "s" : "");
	else if (msg)
		scnprintf(
			msg, msg_size,
			"SEV: gfn 0x%llx: pfn 0x%llx released without a flush, its dirty encrypted lines corrupted the next owner (%ld report%s)",
			(unsigned long long)rep.gfn, (unsigned long long)rep.old_pfn, n,
			n > 1 ? "s" : "");
	return -EUCLEAN;
}

int mmusim_vm_sev_set_skip_flush(struct mmusim_vm *vm, bool skip)
{
	struct kvm *kvm;
	int r = 0;

	if (!vm)
		return -EINVAL;
	kvm = mmusim_to_kvm(vm);
	mutex_lock(&kvm->lock);
	if (kvm->sev)
		WRITE_ONCE(kvm->sev->debug_skip_flush, skip);
	else
		r = -ENOTTY;
	mutex_unlock(&kvm->lock);
	return r;
}
