/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel-style fixed-width types for mmusim's public headers.
 *
 * The public API is used from two places: userspace programs (tests, benchmarks,
 * the mmusim tool) and the kernel module.  In the kernel the types come from
 * <linux/types.h>; in userspace they are defined here from <stdint.h>, with the
 * kernel's names, so that the same prototypes compile in both.
 */
#ifndef _MMUSIM_TYPES_H
#define _MMUSIM_TYPES_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Guest frame number, host page frame number, host virtual address. */
typedef u64 gfn_t;
typedef u64 gpa_t;
typedef u64 kvm_pfn_t;
typedef unsigned long hva_t;

#ifdef __cplusplus
}
#endif

/*
 * The kernel-internal "restart the system call" errno (include/linux/errno.h),
 * which a call interrupted by a signal before it did anything returns; a real
 * ioctl's caller sees EINTR or a restart instead.
 */
#ifndef ERESTARTSYS
#define ERESTARTSYS 512
#endif

#endif /* _MMUSIM_TYPES_H */
