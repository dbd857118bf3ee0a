/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * copy_from_user() and copy_to_user() for userspace, and the GUP flags.
 *
 * Buffers a caller hands to a uapi-shaped call are "user memory": the core
 * reads and writes them only through these, as KVM's ioctls do, so that a
 * NULL, unmapped, PROT_NONE or too-short buffer (or, for output, read-only
 * memory) is -EFAULT in the caller instead of a signal in the library.  The
 * copy goes through process_vm_readv()/process_vm_writev() on the own
 * process: the kernel walks the page tables and reports a missing or
 * forbidden page as a short transfer, so no signal handler is involved and
 * nothing can fault.
 *
 * Both return what the kernel's do: the number of bytes NOT copied (0 on
 * success).  copy_from_user() zero-fills what it could not copy.  A
 * zero-length copy succeeds whatever the pointer.
 */
#ifndef _MMUSIM_ENV_UACCESS_H
#define _MMUSIM_ENV_UACCESS_H

unsigned long copy_from_user(void *to, const void __user *from, unsigned long n);
unsigned long copy_to_user(void __user *to, const void *from, unsigned long n);

/*
 * The GUP flags KVM passes (FOLL_*, as <linux/mm_types.h> numbers them in
 * 6.12).  The simulated host's GUP takes SIM_FOLL_*, numbered otherwise, so a
 * FOLL_* flag handed to it untranslated fails here as it would in the module.
 */
#define FOLL_WRITE (1U << 0)
#define FOLL_NOWAIT (1U << 4)
#define FOLL_INTERRUPTIBLE (1U << 11)

#endif /* _MMUSIM_ENV_UACCESS_H */
