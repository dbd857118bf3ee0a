/* SPDX-License-Identifier: GPL-2.0-only */
/* Compiler helpers and the kernel's small arithmetic macros, userspace side. */
#ifndef _MMUSIM_ENV_COMPILER_H
#define _MMUSIM_ENV_COMPILER_H

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#define __must_check __attribute__((__warn_unused_result__))
#ifndef __always_inline
#define __always_inline inline __attribute__((__always_inline__))
#endif
#define noinline __attribute__((__noinline__))
#define __cold __attribute__((__cold__))
#define __maybe_unused __attribute__((__unused__))
#define __aligned(x) __attribute__((__aligned__(x)))
#define __packed __attribute__((__packed__))
#define __rcu
#define __user
#define __init
#define __exit
#define __cacheline_aligned __aligned(64)
#define barrier() __asm__ __volatile__("" : : : "memory")

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - __builtin_offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BUILD_BUG_ON(cond) _Static_assert(!(cond), "BUILD_BUG_ON(" #cond ")")
#ifndef static_assert
#define static_assert _Static_assert
#endif
/* Type-check an expression without evaluating it. */
#define BUILD_BUG_ON_INVALID(e) ((void)(sizeof((__typeof__(e) *)0 == (__typeof__(e) *)0)))

#define BIT(nr) (1UL << (nr))
#define BIT_ULL(nr) (1ULL << (nr))
#define BITS_PER_LONG 64
#define BITS_PER_BYTE 8
#define GENMASK(h, l) (((~0UL) << (l)) & (~0UL >> (BITS_PER_LONG - 1 - (h))))
#define GENMASK_ULL(h, l) (((~0ULL) << (l)) & (~0ULL >> (63 - (h))))

#define ALIGN(x, a) (((x) + ((__typeof__(x))(a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define round_up(x, y) ALIGN(x, y)
#define round_down(x, y) ALIGN_DOWN(x, y)

#define min(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a < _b ? _a : _b; })
#define max(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a > _b ? _a : _b; })
#define min_t(t, a, b) ({ t _a = (a); t _b = (b); _a < _b ? _a : _b; })
#define max_t(t, a, b) ({ t _a = (a); t _b = (b); _a > _b ? _a : _b; })
#define clamp(v, lo, hi) min(max(v, lo), hi)
#define swap(a, b) do { __typeof__(a) _t = (a); (a) = (b); (b) = _t; } while (0)

#define U8_MAX ((u8)~0U)
#define U16_MAX ((u16)~0U)
#define U32_MAX ((u32)~0U)
#define U64_MAX ((u64)~0ULL)
#define S64_MAX ((s64)(U64_MAX >> 1))

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PAGE_ALIGNED(addr) IS_ALIGNED((unsigned long)(addr), PAGE_SIZE)
#define PAGE_ALIGN(addr) ALIGN(addr, PAGE_SIZE)
#define SZ_4K 0x00001000UL
#define SZ_2M 0x00200000UL
#define SZ_1G 0x40000000UL

/* x86 page-table levels, as in arch/x86/include/asm/pgtable_types.h. */
enum pg_level {
	PG_LEVEL_NONE,
	PG_LEVEL_4K,
	PG_LEVEL_2M,
	PG_LEVEL_1G,
	PG_LEVEL_512G,
	PG_LEVEL_NUM
};

/*
 * Kernel virtual <-> "physical" addresses of kernel allocations (page-table
 * pages).  In userspace the pointer value is the physical address: user
 * pointers fit in 47 bits, so __pa(table) fits an SPTE's address field
 * (bits 51:12) exactly as a real physical address does.
 */
#define __pa(x) ((u64)(unsigned long)(x))
#define __va(x) ((void *)(unsigned long)(x))
#define virt_to_phys(x) __pa(x)
#define phys_to_virt(x) __va(x)

static inline int ilog2_u64(u64 v)
{
	return 63 - __builtin_clzll(v);
}
#define ilog2(v) ilog2_u64(v)
#define is_power_of_2(n) ((n) != 0 && (((n) & ((n) - 1)) == 0))
#define __ffs64(x) ((unsigned int)__builtin_ctzll(x))
#define __ffs(x) ((unsigned long)__builtin_ctzl(x))
#define __fls(x) ((unsigned long)(BITS_PER_LONG - 1 - __builtin_clzl(x)))
#define hweight64(x) ((unsigned int)__builtin_popcountll(x))
#define hweight_long(x) ((unsigned int)__builtin_popcountl(x))

/* 64-bit division helpers: plain in userspace, div_u64() et al. in the kernel. */
static inline u64 div_u64(u64 dividend, u32 divisor)
{
	return dividend / divisor;
}
static inline u64 div64_u64(u64 dividend, u64 divisor)
{
	return dividend / divisor;
}

#endif /* _MMUSIM_ENV_COMPILER_H */
