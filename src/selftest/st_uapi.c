// SPDX-License-Identifier: GPL-2.0-only
/*
 * The uapi calls the self-tests make most, from kernel buffers (selftest.h):
 * each copies the caller's buffer into an st_ubuf, which is user memory in
 * both environments, makes the call with the user address, and copies what
 * the call wrote back.  Tests that check a call's handling of user memory
 * itself (bytes left untouched, nested pointers, NULL) use an st_ubuf
 * directly.
 */
#include "mmusim_env.h"

#include <mmusim/vm.h>

#include "selftest/selftest.h"

int st_vm_set_region(struct mmusim_vm *vm, const struct kvm_userspace_memory_region *r)
{
	struct st_ubuf ub;
	int ret = st_ubuf_alloc(&ub, sizeof(*r));

	if (ret)
		return ret;
	memcpy(ub.k, r, sizeof(*r));
	ret = mmusim_vm_set_user_memory_region(vm, ub.u);
	st_ubuf_free(&ub);
	return ret;
}

int st_vm_get_dirty_log(struct mmusim_vm *vm, u32 slot, unsigned long *bitmap, size_t size)
{
	struct {
		struct kvm_dirty_log log;
		unsigned long bitmap[];
	} * u;
	struct st_ubuf ub;
	int ret = st_ubuf_alloc(&ub, sizeof(*u) + size);

	if (ret)
		return ret;
	u = ub.k;
	u->log.slot = slot;
	u->log.dirty_bitmap = st_uptr(&ub, u->bitmap);
	memcpy(u->bitmap, bitmap, size);
	ret = mmusim_vm_get_dirty_log(vm, st_uptr(&ub, &u->log));
	memcpy(bitmap, u->bitmap, size);
	st_ubuf_free(&ub);
	return ret;
}

static int st_vcpu_rw(struct mmusim_vcpu *vcpu, gpa_t gpa, void *buf, u64 len, bool write)
{
	struct st_ubuf ub;
	int ret = st_ubuf_alloc(&ub, len);

	if (ret)
		return ret;
	if (write) {
		memcpy(ub.k, buf, len);
		ret = mmusim_vcpu_write(vcpu, gpa, ub.u, len);
	} else {
		ret = mmusim_vcpu_read(vcpu, gpa, ub.u, len);
		memcpy(buf, ub.k, len);
	}
	st_ubuf_free(&ub);
	return ret;
}

int st_vcpu_read(struct mmusim_vcpu *vcpu, gpa_t gpa, void *buf, u64 len)
{
	return st_vcpu_rw(vcpu, gpa, buf, len, false);
}

int st_vcpu_write(struct mmusim_vcpu *vcpu, gpa_t gpa, const void *buf, u64 len)
{
	return st_vcpu_rw(vcpu, gpa, (void *)buf, len, true);
}
