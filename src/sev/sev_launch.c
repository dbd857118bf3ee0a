// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SEV / SEV-ES launch flow, KVM's side, as arch/x86/kvm/svm/sev.c of
 * Linux 6.12 has it: LAUNCH_START, LAUNCH_UPDATE_DATA, LAUNCH_UPDATE_VMSA,
 * LAUNCH_MEASURE, LAUNCH_SECRET, LAUNCH_FINISH, GUEST_STATUS and
 * DBG_DECRYPT/DBG_ENCRYPT, issued to the simulated PSP firmware (psp.c).
 * sev_pin.c's sev_mem_enc_ioctl() dispatches here under kvm->lock.
 *
 * Who checks what (seeds-apis.md §8.2): each handler checks only that the
 * VM is an SEV (LAUNCH_UPDATE_VMSA: SEV-ES) guest, -ENOTTY, and its own
 * argument rules (copy_from_user -EFAULT, psp_copy_user_blob()'s
 * -EINVAL for a NULL/empty or over-16 KiB blob, sev_pin_memory()'s rules);
 * the launch order is the firmware's, -EIO with SEV_RET_* in
 * kvm_sev_cmd.error.  Before LAUNCH_START succeeded, sev->fd is 0, not
 * /dev/sev, so every later command is -EBADF, as in 6.12 (KVM issues them
 * on the fd LAUNCH_START saved; only LAUNCH_START uses kvm_sev_cmd.sev_fd).
 *
 * Memory: kvm_sev_cmd.data and the parameter structures it points to, the
 * blobs (dh, session, trans, hdr) and the measurement buffer are the
 * caller's process memory (copy_from_user/copy_to_user); the ranges the
 * firmware works on (LAUNCH_UPDATE_DATA's uaddr, LAUNCH_SECRET's
 * guest_uaddr, DBG's src/dst) are the VMM's simulated address space (the
 * VM's sim_mm), pinned by sev_pin_memory() for the command's duration and
 * handed to the firmware by host physical address: the firmware encrypts
 * in place with the VM's key, so the ciphertext is bound to those frames
 * (a later move of an unpinned launched page is the checker's
 * MMUSIM_SEV_MOVED, as on hardware).
 *
 * Rules:
 *  1. kvm->lock is held by every handler (lockdep-asserted); the firmware's
 *     psp_cmd_mutex nests inside it.
 *  2. Every failure unwinds: pins are dropped, blobs freed, a context that
 *     could not be bound is decommissioned, a bound one whose handle cannot
 *     be returned is unbound (6.12's LAUNCH_START order).
 *  3. A vCPU's VMSA frame is allocated by LAUNCH_UPDATE_VMSA (6.12 does it
 *     at vCPU creation) and freed by sev_launch_destroy(), after VM
 *     destroy's WBINVD; after a successful update the vCPU's
 *     arch.guest_state_protected is set, never cleared.
 *
 * Deviations: no vcpu->mutex (mmusim's vCPUs do not run during the
 * launch); the VMSA image holds the GPRs, RIP, RFLAGS and DR7 only (mmusim
 * has no segment, XCR0 or XSS state); DBG_* give the
 * firmware any alignment instead of 6.12's 16-byte bounce pages.
 */
#include "mmusim_env.h"
#include "sev/psp.h"
#include "sev/sev.h"
#include "vcpu/x86.h"

#ifndef DR7_FIXED_1
#define DR7_FIXED_1 0x00000400 /* arch/x86/include/asm/kvm_host.h */
#endif

#ifndef SEV_FW_BLOB_MAX_SIZE
#define SEV_FW_BLOB_MAX_SIZE 0x4000 /* include/linux/psp-sev.h: 16 KiB */
#endif

static int sev_issue_cmd(struct kvm *kvm, int id, void *data, u32 *error)
{
	return psp_issue_cmd_external_user(to_kvm_sev_info(kvm)->fd, id, data, (int *)error);
}

/* sev-dev.c's psp_copy_user_blob(): -EINVAL for NULL, empty or > 16 KiB, -EFAULT, -ENOMEM. */
static int sev_copy_user_blob(u64 uaddr, u32 len, void **blobp)
{
	void *blob;

	if (!uaddr || !len || len > SEV_FW_BLOB_MAX_SIZE)
		return -EINVAL;
	blob = kmalloc(len, GFP_KERNEL_ACCOUNT);
	if (!blob)
		return -ENOMEM;
	if (copy_from_user(blob, u64_to_user_ptr(uaddr), len)) {
		kfree(blob);
		return -EFAULT;
	}
	*blobp = blob;
	return 0;
}

static u64 sev_page_pa(struct kvm *kvm, struct sim_page *page)
{
	return (u64)sim_page_to_pfn(kvm->host, page) << PAGE_SHIFT;
}

static unsigned long get_num_contig_pages(struct kvm *kvm, unsigned long idx,
					  struct sim_page **inpages, unsigned long npages)
{
	u64 paddr = sev_page_pa(kvm, inpages[idx]);
	unsigned long i = idx + 1, pages = 1;

	while (i < npages && sev_page_pa(kvm, inpages[i]) == paddr + PAGE_SIZE) {
		paddr += PAGE_SIZE;
		pages++;
		i++;
	}
	return pages;
}

/* Extra GUP flags of a launch command's pin: FOLL_LONGTERM if it is kept. */
static unsigned int sev_launch_pin_flags(struct kvm_sev_info *sev)
{
	return sev->pin_strategy == MMUSIM_SEV_PIN_MEMSLOT ? SIM_FOLL_LONGTERM : 0;
}

/*
 * "Content of memory is updated": what 6.12 does before it unpins; under
 * demand pinning a command that succeeded (@ret 0) keeps its pins
 * (sev_release_pinned_memory()).
 */
static void sev_dirty_unpin(struct kvm *kvm, struct sim_page **pages, unsigned long n, int ret)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		sim_set_page_dirty(kvm->host, pages[i]);
		sim_mark_page_accessed(kvm->host, pages[i]);
	}
	sev_release_pinned_memory(kvm, pages, n, ret != 0);
}

/* ======================== ASID binding ======================== */

static void sev_decommission(unsigned int handle)
{
	struct psp_data_handle d = { .handle = handle };

	psp_do_cmd(PSP_CMD_DECOMMISSION, &d, NULL);
}

static int sev_bind_asid(struct kvm *kvm, unsigned int handle, u32 *error)
{
	struct psp_data_activate d = {
		.handle = handle,
		.asid = to_kvm_sev_info(kvm)->asid,
		.sev = to_kvm_sev_info(kvm),
	};

	return psp_do_cmd(PSP_CMD_ACTIVATE, &d, (int *)error);
}

static void sev_unbind_asid(struct kvm *kvm, unsigned int handle)
{
	struct psp_data_handle d = { .handle = handle };

	if (!handle)
		return;
	psp_do_cmd(PSP_CMD_DEACTIVATE, &d, NULL);
	sev_decommission(handle);
}

/* ======================== the commands ======================== */

static int sev_launch_start(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	struct psp_data_launch_start start = { 0 };
	struct kvm_sev_launch_start params;
	void *dh_blob = NULL, *session_blob = NULL;
	int ret;

	lockdep_assert_held(&kvm->lock);
	if (!sev_guest(kvm))
		return -ENOTTY;
	if (copy_from_user(&params, u64_to_user_ptr(argp->data), sizeof(params)))
		return -EFAULT;
	if (params.dh_uaddr) {
		ret = sev_copy_user_blob(params.dh_uaddr, params.dh_len, &dh_blob);
		if (ret)
			return ret;
		start.dh_cert = dh_blob;
		start.dh_cert_len = params.dh_len;
	}
	if (params.session_uaddr) {
		ret = sev_copy_user_blob(params.session_uaddr, params.session_len, &session_blob);
		if (ret)
			goto e_free_dh;
		start.session = session_blob;
		start.session_len = params.session_len;
	}
	start.handle = params.handle;
	start.policy = params.policy;

	/* Create the memory encryption context, on the caller's /dev/sev. */
	ret = psp_issue_cmd_external_user(argp->sev_fd, PSP_CMD_LAUNCH_START, &start,
					  (int *)&argp->error);
	if (ret)
		goto e_free_session;
	ret = sev_bind_asid(kvm, start.handle, &argp->error);
	if (ret) {
		sev_decommission(start.handle);
		goto e_free_session;
	}
	params.handle = start.handle;
	if (copy_to_user(u64_to_user_ptr(argp->data), &params, sizeof(params))) {
		sev_unbind_asid(kvm, start.handle);
		ret = -EFAULT;
		goto e_free_session;
	}
	sev->handle = start.handle;
	sev->fd = argp->sev_fd;
e_free_session:
	kfree(session_blob);
e_free_dh:
	kfree(dh_blob);
	return ret;
}

/*
 * LAUNCH_UPDATE_DATA through the MMU: the pinned-SPTE RFC's patch 8/8, which
 * Nikunj Dadhania's v1 9/9 reworks for demand pinning.  Every page of
 * [uaddr, uaddr + ulen) is faulted in on vCPU 0 with kvm_mmu_map_tdp_page(),
 * so the pin is the fault path's (the SPTE's pin_spte(), or the memslot's
 * pin_pfn(), either of which also clflushes), not the command's; the array
 * only names the frames for the firmware.  Per page: -ERESTARTSYS on a
 * pending signal, a user write fault (a user read in a read-only slot,
 * which a write could never map), -EFAULT if it maps nothing.  1 when the
 * MMU cannot be used: no vCPU (mmu_usable = online_vcpus > 0), or a page in
 * no memslot with all of @slot_flags.  What was faulted in stays pinned by
 * its SPTE or memslot, on failure too, as in both RFCs.  The RFCs take
 * vCPU 0's mutex; here no vCPU call runs meanwhile.
 */
static int sev_pin_memory_in_mmu(struct kvm *kvm, unsigned long uaddr, unsigned long ulen,
				 u32 slot_flags, unsigned long *np, struct sim_page ***pagesp)
{
	struct kvm_memslot_hva_iter iter;
	struct kvm_memory_slot *slot;
	unsigned long npages, i;
	struct sim_page **pages;
	struct kvm_vcpu *vcpu;
	int idx, r = 0;
	kvm_pfn_t pfn;
	gpa_t gpa;
	hva_t hva;
	u64 err;

	lockdep_assert_held(&kvm->lock);
	if (ulen == 0 || uaddr + ulen < uaddr)
		return -EINVAL;
	if (!kvm->nr_vcpus)
		return 1;
	npages = ((uaddr + ulen - 1) >> PAGE_SHIFT) - (uaddr >> PAGE_SHIFT) + 1;
	if (npages > INT_MAX)
		return -EINVAL;
	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return -ENOMEM;
	vcpu = kvm->vcpus[0];
	kvm_vm_freeze_calls(kvm);
	idx = srcu_read_lock(&kvm->slots.srcu);
	for (i = 0; i < npages && !r; i++) {
		hva = (uaddr & PAGE_MASK) + (i << PAGE_SHIFT);
		kvm_memslot_hva_iter_start(&iter, kvm_memslots_as(&kvm->slots, 0), hva,
					   hva + PAGE_SIZE);
		slot = kvm_memslot_hva_iter_next(&iter) ? iter.slot : NULL;
		if (!slot || (slot->flags & slot_flags) != slot_flags) {
			r = 1;
			break;
		}
		if (sim_mm_signal_pending(kvm->mm)) {
			r = -ERESTARTSYS;
			break;
		}
		err = PFERR_USER_MASK | (slot->flags & KVM_MEM_READONLY ? 0 : PFERR_WRITE_MASK);
		gpa = (gpa_t)hva_to_gfn_memslot(hva, slot) << PAGE_SHIFT;
		r = kvm_mmu_map_tdp_page(vcpu, gpa, err, PG_LEVEL_4K, &pfn);
		kvm_vcpu_exit_guest_mode(vcpu);
		if (r) {
			r = r == -ERESTARTSYS ? r : -EFAULT;
			break;
		}
		pages[i] = sim_pfn_to_page(kvm->host, pfn);
		if (WARN_ON_ONCE(!pages[i]))
			r = -EFAULT;
	}
	srcu_read_unlock(&kvm->slots.srcu, idx);
	kvm_vm_thaw_calls(kvm);
	if (r) {
		kvfree(pages);
		return r;
	}
	*np = npages;
	*pagesp = pages;
	return 0;
}

static int sev_launch_update_data(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	unsigned long vaddr, vaddr_end, next_vaddr, npages, pages, size, i;
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	struct kvm_sev_launch_update_data params;
	struct psp_data_launch_update data = { 0 };
	struct sim_page **inpages;
	bool in_mmu = false;
	int ret = 0;

	lockdep_assert_held(&kvm->lock);
	if (!sev_guest(kvm))
		return -ENOTTY;
	if (copy_from_user(&params, u64_to_user_ptr(argp->data), sizeof(params)))
		return -EFAULT;
	vaddr = params.uaddr;
	size = params.len;
	vaddr_end = vaddr + size;

	/*
	 * The demand designs pin through the MMU.  Demand pinning falls back to
	 * the classic pin below for a range outside every encrypted slot; for
	 * the SPTE bit such a range is not guest memory.
	 */
	if (sev->pin_strategy == MMUSIM_SEV_PIN_MEMSLOT) {
		ret = sev_pin_memory_in_mmu(kvm, vaddr, size, KVM_MEMSLOT_ENCRYPTED, &npages,
					    &inpages);
		if (ret < 0)
			return ret;
		in_mmu = !ret;
	} else if (sev->pin_strategy == MMUSIM_SEV_PIN_SPTE) {
		ret = sev_pin_memory_in_mmu(kvm, vaddr, size, 0, &npages, &inpages);
		if (ret)
			return ret < 0 ? ret : -EFAULT;
		in_mmu = true;
	}

	/*
	 * Pinned for the command only: the up-front pin is REG_REGION's.  Under
	 * demand pinning the pin lasts until destroy, so it is FOLL_LONGTERM
	 * (moving the plaintext out of movable memory first), else the fault's
	 * own FOLL_LONGTERM pin could not migrate the page and would fail.
	 */
	if (!in_mmu) {
		ret = sev_pin_memory(kvm, vaddr, size, &npages,
				     SIM_FOLL_WRITE | sev_launch_pin_flags(sev), &inpages);
		if (ret)
			return ret;
		/* The cache may hold the data written unencrypted: flush before encrypting. */
		sev_clflush_pages(sev, inpages, npages);
	}

	data.handle = sev->handle;
	for (i = 0; vaddr < vaddr_end; vaddr = next_vaddr, i += pages) {
		unsigned long offset = vaddr & (PAGE_SIZE - 1), len;

		/* Physically contiguous pages go to the firmware in one command. */
		pages = get_num_contig_pages(kvm, i, inpages, npages);
		len = min_t(unsigned long, pages *PAGE_SIZE - offset, size);
		data.len = len;
		data.address = sev_page_pa(kvm, inpages[i]) + offset;
		ret = sev_issue_cmd(kvm, PSP_CMD_LAUNCH_UPDATE_DATA, &data, &argp->error);
		if (ret)
			break;
		size -= len;
		next_vaddr = vaddr + len;
	}
	if (in_mmu && sev->pin_strategy == MMUSIM_SEV_PIN_MEMSLOT)
		sev_release_mmu_pinned(kvm, inpages, npages); /* the memslots own the pins */
	else if (in_mmu)
		kvfree(inpages); /* the SPTEs own the pins */
	else
		sev_dirty_unpin(kvm, inpages, npages, ret);
	return ret;
}

/*
 * sev_es_sync_vmsa(): the vCPU's register state into its VMSA frame, the
 * plaintext the firmware then measures and encrypts in place.
 */
static int sev_es_sync_vmsa(struct kvm *kvm, struct kvm_vcpu *vcpu, struct sim_page **vmsap)
{
	struct kvm_vcpu_arch *arch = kvm_vcpu_arch(vcpu);
	struct sim_page *page = *vmsap;
	u64 *save;

	if (arch->guest_state_protected)
		return -EINVAL;
	/* No guest debugging of an SEV-ES guest: no KVM_SET_GUEST_DEBUG, no DR7 breakpoints. */
	if (vcpu->guest_debug || (arch->dr7 & ~DR7_FIXED_1))
		return -EINVAL;
	if (!page) {
		page = sim_alloc_pages(kvm->host, __GFP_ZERO, 0);
		if (!page)
			return -ENOMEM;
		*vmsap = page;
	}
	save = sim_pfn_to_virt(kvm->host, sim_page_to_pfn(kvm->host, page));
	memset(save, 0, PAGE_SIZE);
	memcpy(save, arch->regs, sizeof(arch->regs));
	save[NR_VCPU_REGS] = arch->rflags;
	save[NR_VCPU_REGS + 1] = arch->dr7;
	return 0;
}

static int __sev_launch_update_vmsa(struct kvm *kvm, struct kvm_vcpu *vcpu, u32 *error)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	struct psp_data_launch_update vmsa = { 0 };
	struct sim_page **page = &sev->vmsa[vcpu->vcpu_id];
	int ret;

	ret = sev_es_sync_vmsa(kvm, vcpu, page);
	if (ret)
		return ret;
	/* The firmware encrypts the VMSA in place: no stale lines over it. */
	sev_clflush_pages(sev, page, 1);
	vmsa.handle = sev->handle;
	vmsa.address = sev_page_pa(kvm, *page);
	vmsa.len = PAGE_SIZE;
	ret = sev_issue_cmd(kvm, PSP_CMD_LAUNCH_UPDATE_VMSA, &vmsa, error);
	if (ret)
		return ret;
	/*
	 * From now on the host neither reads nor writes this vCPU's registers:
	 * what KVM keeps of them goes stale (src/vcpu/regs.c).
	 */
	memcpy(kvm_vcpu_arch(vcpu)->kvm_regs, kvm_vcpu_arch(vcpu)->regs,
	       sizeof(kvm_vcpu_arch(vcpu)->kvm_regs));
	kvm_vcpu_arch(vcpu)->kvm_rflags = kvm_vcpu_arch(vcpu)->rflags;
	WRITE_ONCE(kvm_vcpu_arch(vcpu)->guest_state_protected, true);
	atomic64_inc(&sev->vmsa_protected);
	return 0;
}

static int sev_launch_update_vmsa(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	int i, n, ret;

	lockdep_assert_held(&kvm->lock);
	if (!sev_es_guest(kvm))
		return -ENOTTY;
	mutex_lock(&kvm->vcpu_lock);
	n = kvm->nr_vcpus;
	mutex_unlock(&kvm->vcpu_lock);
	/* Every existing vCPU, in order: the VMSAs are measured. */
	for (i = 0; i < n; i++) {
		ret = __sev_launch_update_vmsa(kvm, kvm->vcpus[i], &argp->error);
		if (ret)
			return ret;
	}
	return 0;
}

static int sev_launch_measure(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	void __user *measure = u64_to_user_ptr(argp->data);
	struct psp_data_launch_measure data = { 0 };
	struct kvm_sev_launch_measure params;
	void __user *p = NULL;
	void *blob = NULL;
	int ret;

	lockdep_assert_held(&kvm->lock);
	if (!sev_guest(kvm))
		return -ENOTTY;
	if (copy_from_user(&params, measure, sizeof(params)))
		return -EFAULT;
	/* len 0 queries the length: the firmware answers SEV_RET_INVALID_LEN with it. */
	if (params.len) {
		p = u64_to_user_ptr(params.uaddr);
		if (p) {
			if (params.len > SEV_FW_BLOB_MAX_SIZE)
				return -EINVAL;
			blob = kzalloc(params.len, GFP_KERNEL_ACCOUNT);
			if (!blob)
				return -ENOMEM;
			data.address = blob;
			data.len = params.len;
		}
	}
	data.handle = to_kvm_sev_info(kvm)->handle;
	ret = sev_issue_cmd(kvm, PSP_CMD_LAUNCH_MEASURE, &data, &argp->error);
	/* The query: the length is written back whatever the firmware said. */
	if (params.len) {
		if (ret)
			goto e_free_blob;
		if (blob && copy_to_user(p, blob, params.len))
			ret = -EFAULT;
	}
	params.len = data.len;
	if (copy_to_user(measure, &params, sizeof(params)))
		ret = -EFAULT;
e_free_blob:
	kfree(blob);
	return ret;
}

static int sev_launch_finish(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	struct psp_data_handle data;

	lockdep_assert_held(&kvm->lock);
	if (!sev_guest(kvm))
		return -ENOTTY;
	data.handle = to_kvm_sev_info(kvm)->handle;
	return sev_issue_cmd(kvm, PSP_CMD_LAUNCH_FINISH, &data, &argp->error);
}

static int sev_guest_status(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	struct psp_data_guest_status data = { 0 };
	struct kvm_sev_guest_status params;
	int ret;

	lockdep_assert_held(&kvm->lock);
	if (!sev_guest(kvm))
		return -ENOTTY;
	data.handle = to_kvm_sev_info(kvm)->handle;
	ret = sev_issue_cmd(kvm, PSP_CMD_GUEST_STATUS, &data, &argp->error);
	if (ret)
		return ret;
	params.policy = data.policy;
	params.state = data.state;
	params.handle = data.handle;
	if (copy_to_user(u64_to_user_ptr(argp->data), &params, sizeof(params)))
		ret = -EFAULT;
	return ret;
}

static int sev_launch_secret(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	struct psp_data_launch_secret data = { 0 };
	struct kvm_sev_launch_secret params;
	struct sim_page **pages;
	void *blob, *hdr;
	unsigned long n;
	int ret;

	lockdep_assert_held(&kvm->lock);
	if (!sev_guest(kvm))
		return -ENOTTY;
	if (copy_from_user(&params, u64_to_user_ptr(argp->data), sizeof(params)))
		return -EFAULT;
	ret = sev_pin_memory(kvm, params.guest_uaddr, params.guest_len, &n,
			     SIM_FOLL_WRITE | sev_launch_pin_flags(sev), &pages);
	if (ret)
		return ret;
	sev_clflush_pages(sev, pages, n);
	/* The secret goes to physically contiguous memory. */
	if (get_num_contig_pages(kvm, 0, pages, n) != n) {
		ret = -EINVAL;
		goto e_unpin_memory;
	}
	data.guest_address = sev_page_pa(kvm, pages[0]) + (params.guest_uaddr & (PAGE_SIZE - 1));
	data.guest_len = params.guest_len;
	ret = sev_copy_user_blob(params.trans_uaddr, params.trans_len, &blob);
	if (ret)
		goto e_unpin_memory;
	data.trans = blob;
	data.trans_len = params.trans_len;
	ret = sev_copy_user_blob(params.hdr_uaddr, params.hdr_len, &hdr);
	if (ret)
		goto e_free_blob;
	data.hdr = hdr;
	data.hdr_len = params.hdr_len;
	data.handle = sev->handle;
	ret = sev_issue_cmd(kvm, PSP_CMD_LAUNCH_UPDATE_SECRET, &data, &argp->error);
	kfree(hdr);
e_free_blob:
	kfree(blob);
e_unpin_memory:
	sev_dirty_unpin(kvm, pages, n, ret);
	return ret;
}

static int sev_dbg_crypt(struct kvm *kvm, struct kvm_sev_cmd *argp, bool dec)
{
	unsigned long vaddr, vaddr_end, next_vaddr, dst_vaddr, n;
	struct sim_page **src_p, **dst_p;
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	struct psp_data_dbg data = { 0 };
	struct kvm_sev_dbg debug;
	unsigned int size;
	int ret = 0;

	lockdep_assert_held(&kvm->lock);
	if (!sev_guest(kvm))
		return -ENOTTY;
	if (copy_from_user(&debug, u64_to_user_ptr(argp->data), sizeof(debug)))
		return -EFAULT;
	if (!debug.len || debug.src_uaddr + debug.len < debug.src_uaddr)
		return -EINVAL;
	if (!debug.dst_uaddr)
		return -EINVAL;
	vaddr = debug.src_uaddr;
	size = debug.len;
	vaddr_end = vaddr + size;
	dst_vaddr = debug.dst_uaddr;
	for (; vaddr < vaddr_end; vaddr = next_vaddr) {
		unsigned long s_off, d_off, len;

		ret = sev_pin_memory(kvm, vaddr & PAGE_MASK, PAGE_SIZE, &n, 0, &src_p);
		if (ret)
			return ret;
		ret = sev_pin_memory(kvm, dst_vaddr & PAGE_MASK, PAGE_SIZE, &n, SIM_FOLL_WRITE,
				     &dst_p);
		if (ret) {
			sev_unpin_memory(kvm, src_p, n);
			return ret;
		}
		/* The firmware reads or writes the frames: flush both first. */
		sev_clflush_pages(sev, src_p, 1);
		sev_clflush_pages(sev, dst_p, 1);
		s_off = vaddr & ~PAGE_MASK;
		d_off = dst_vaddr & ~PAGE_MASK;
		len = min_t(unsigned long, PAGE_SIZE - s_off, size);
		len = min_t(unsigned long, len, PAGE_SIZE - d_off);
		data.handle = sev->handle;
		data.src_addr = sev_page_pa(kvm, src_p[0]) + s_off;
		data.dst_addr = sev_page_pa(kvm, dst_p[0]) + d_off;
		data.len = len;
		ret = sev_issue_cmd(kvm, dec ? PSP_CMD_DBG_DECRYPT : PSP_CMD_DBG_ENCRYPT, &data,
				    &argp->error);
		/* DBG is not a launch command: its pins go now (see sev_memslot.c). */
		sev_unpin_memory(kvm, src_p, n);
		sev_dirty_unpin(kvm, dst_p, n, -1);
		if (ret)
			break;
		next_vaddr = vaddr + len;
		dst_vaddr += len;
		size -= len;
	}
	return ret;
}

static int sev_dbg_decrypt(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	return sev_dbg_crypt(kvm, argp, true);
}

static int sev_dbg_encrypt(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	return sev_dbg_crypt(kvm, argp, false);
}

/* ======================== dispatch and teardown ======================== */

sev_cmd_fn sev_launch_cmd_handler(u32 id)
{
	switch (id) {
	case KVM_SEV_LAUNCH_START:
		return sev_launch_start;
	case KVM_SEV_LAUNCH_UPDATE_DATA:
		return sev_launch_update_data;
	case KVM_SEV_LAUNCH_UPDATE_VMSA:
		return sev_launch_update_vmsa;
	case KVM_SEV_LAUNCH_SECRET:
		return sev_launch_secret;
	case KVM_SEV_LAUNCH_MEASURE:
		return sev_launch_measure;
	case KVM_SEV_LAUNCH_FINISH:
		return sev_launch_finish;
	case KVM_SEV_GUEST_STATUS:
		return sev_guest_status;
	case KVM_SEV_DBG_DECRYPT:
		return sev_dbg_decrypt;
	case KVM_SEV_DBG_ENCRYPT:
		return sev_dbg_encrypt;
	}
	return NULL;
}

void sev_launch_destroy(struct kvm *kvm)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);
	int i;

	lockdep_assert_held(&kvm->lock);
	/* DEACTIVATE and DECOMMISSION: the firmware forgets the context. */
	sev_unbind_asid(kvm, sev->handle);
	sev->handle = 0;
	/* The VMSAs (sev_free_vcpu()): after the caller's WBINVD. */
	for (i = 0; i < KVM_MAX_VCPUS; i++) {
		if (sev->vmsa[i]) {
			sim_free_pages(kvm->host, sev->vmsa[i], 0);
			sev->vmsa[i] = NULL;
		}
	}
}

/*
 * KVM_SET_GUEST_DEBUG (6.12's kvm_arch_vcpu_ioctl_set_guest_debug()), as
 * far as mmusim models it: only the control word is kept, for
 * LAUNCH_UPDATE_VMSA to refuse; -EINVAL once the vCPU's state is
 * protected.  Exception injection (INJECT_DB/BP) and the debug registers
 * are not modelled.
 */
int mmusim_vcpu_set_guest_debug(struct mmusim_vcpu *v, const struct kvm_guest_debug *udbg)
{
	struct kvm_guest_debug dbg;
	struct kvm_vcpu *vcpu;

	if (!v)
		return -EINVAL;
	if (copy_from_user(&dbg, udbg, sizeof(dbg)))
		return -EFAULT;
	vcpu = mmusim_to_kvm_vcpu(v);
	mutex_lock(&vcpu->kvm->lock);
	if (READ_ONCE(kvm_vcpu_arch(vcpu)->guest_state_protected)) {
		mutex_unlock(&vcpu->kvm->lock);
		return -EINVAL;
	}
	WRITE_ONCE(vcpu->guest_debug, dbg.control & KVM_GUESTDBG_ENABLE ? dbg.control : 0);
	mutex_unlock(&vcpu->kvm->lock);
	return 0;
}
