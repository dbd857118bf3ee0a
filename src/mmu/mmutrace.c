// SPDX-License-Identifier: GPL-2.0-only
/*
 * The trace events' names and TP_printk output, generated from the table
 * in mmutrace.h; the environment's writer (userspace) or its trace_printk
 * (kernel) calls kvm_trace_event_print() for each record.
 *
 * Rules: printing reads only the record, never the VM (which may be gone
 * when the trace is written); every helper writes into the caller's buffer
 * and returns it, so nothing here has state or takes a lock.
 */
#include "mmusim_env.h"
#include <mmusim/run.h>
#include "mmu/mmutrace.h"

/* KVM_MMU_PAGE_PRINTK(), for mmusim's role (direct, 8-byte, quadrant 0, NX on). */
const char *kvm_mmu_page_printk(char *buf, size_t size, u64 gen, u64 gfn, u64 role_word,
				u64 root_count, u64 unsync)
{
	static const char *const access_str[] = { "---", "--x", "w--", "w-x",
						  "-u-", "-ux", "wu-", "wux" };
	union kvm_mmu_page_role role = { .word = (u32)role_word };

	scnprintf(buf, size, "sp gen %u gfn %llx l%u %u-byte q%u%s %s%s %snxe %sad root %u %s",
		  (unsigned int)(u8)gen, (unsigned long long)gfn, role.level, 8, 0,
		  role.direct ? " direct" : "", access_str[role.access],
		  role.invalid ? " invalid" : "", "", role.ad_disabled ? "!" : "",
		  (unsigned int)root_count, unsync ? "unsync" : "sync");
	return buf;
}

/* __print_flags(error_code, "|", kvm_mmu_trace_pferr_flags). */
const char *kvm_mmu_trace_pferr_flags(char *buf, size_t size, u64 error_code)
{
	static const struct {
		u64 mask;
		const char *name;
	} flags[] = {
		{ PFERR_PRESENT_MASK, "P" }, { PFERR_WRITE_MASK, "W" }, { PFERR_USER_MASK, "U" },
		{ PFERR_RSVD_MASK, "RSVD" }, { PFERR_FETCH_MASK, "F" },
	};
	size_t len = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		if (!(error_code & flags[i].mask))
			continue;
		len += scnprintf(buf + len, size - len, "%s%s", len ? "|" : "", flags[i].name);
		error_code &= ~flags[i].mask;
	}
	/* ftrace prints what no flag names as hex after a separator. */
	if (error_code)
		scnprintf(buf + len, size - len, "%s0x%llx", len ? "|" : "",
			  (unsigned long long)error_code);
	return buf;
}

/*
 * kvm_print_exit_reason() for VMX: the basic reason by name (the ones
 * mmusim's CPU produces), ftrace's hex for others, then the flags.
 */
const char *vmx_exit_reason_str(char *buf, size_t size, u64 exit_reason)
{
	static const struct {
		u32 reason;
		const char *name;
	} names[] = {
		{ 1, "EXTERNAL_INTERRUPT" }, { 12, "HLT" },	      { 31, "MSR_READ" },
		{ 32, "MSR_WRITE" },	     { 48, "EPT_VIOLATION" }, { 49, "EPT_MISCONFIG" },
		{ 62, "PML_FULL" },	     { 74, "BUS_LOCK" },
	};
	u32 basic = exit_reason & 0xffff;
	const char *name = NULL;
	size_t len;
	int i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].reason == basic)
			name = names[i].name;
	if (name)
		len = scnprintf(buf, size, "%s", name);
	else
		len = scnprintf(buf, size, "0x%x", basic);
	/* VMX_EXIT_REASON_FLAGS: only FAILED_VMENTRY (bit 31) is named. */
	if (exit_reason & 0x80000000u)
		len += scnprintf(buf + len, size - len, " FAILED_VMENTRY");
	if (exit_reason & 0x7fff0000u)
		scnprintf(buf + len, size - len, " 0x%llx",
			  (unsigned long long)(exit_reason & 0x7fff0000u));
	return buf;
}

/* __print_symbolic(reason, kvm_trace_exit_reason): 6.12's list, hex for others. */
const char *kvm_exit_reason_str(char *buf, size_t size, u64 reason)
{
	/* clang-format off */
#define ERSN(x) { KVM_EXIT_##x, #x }
	static const struct {
		u32 reason;
		const char *name;
	} names[] = {
		ERSN(UNKNOWN), ERSN(EXCEPTION), ERSN(IO), ERSN(HYPERCALL), ERSN(DEBUG), ERSN(HLT),
		ERSN(MMIO), ERSN(IRQ_WINDOW_OPEN), ERSN(SHUTDOWN), ERSN(FAIL_ENTRY), ERSN(INTR),
		ERSN(SET_TPR), ERSN(TPR_ACCESS), ERSN(S390_SIEIC), ERSN(S390_RESET), ERSN(DCR),
		ERSN(NMI), ERSN(INTERNAL_ERROR), ERSN(OSI), ERSN(PAPR_HCALL), ERSN(S390_UCONTROL),
		ERSN(WATCHDOG), ERSN(S390_TSCH), ERSN(EPR), ERSN(SYSTEM_EVENT), ERSN(S390_STSI),
		ERSN(IOAPIC_EOI), ERSN(HYPERV), ERSN(ARM_NISV), ERSN(X86_RDMSR), ERSN(X86_WRMSR),
	};
	/* clang-format on */
#undef ERSN
	int i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].reason == reason)
			return names[i].name;
	scnprintf(buf, size, "0x%llx", (unsigned long long)reason);
	return buf;
}

/* __print_symbolic(type, kvm_trace_symbol_mmio). */
const char *kvm_trace_mmio_str(u64 type)
{
	switch (type) {
	case KVM_TRACE_MMIO_READ_UNSATISFIED:
		return "unsatisfied-read";
	case KVM_TRACE_MMIO_READ:
		return "read";
	case KVM_TRACE_MMIO_WRITE:
		return "write";
	}
	return "?";
}

#define __TRACE_EV_PRINT(sys, name, fields, fmt, ...)                   \
	static int print_##name(char *buf, size_t size, const u64 *rec) \
	{                                                               \
		const struct trace_##name *e = (const void *)rec;       \
		char tmp[128] __maybe_unused;                           \
                                                                        \
		return scnprintf(buf, size, fmt, __VA_ARGS__);          \
	}
KVM_TRACE_EVENTS(__TRACE_EV_PRINT, __TRACE_FIELD)

#define __TRACE_FIELD_NAME(f) " " #f
#define __TRACE_EV_DESC(sys_, name_, fields_, ...)                       \
	[TRACE_EV_##name_] = {                                           \
		.system = #sys_,                                         \
		.name = #name_,                                          \
		.fields = fields_,                                       \
		.nr_fields = sizeof(struct trace_##name_) / sizeof(u64), \
		.print = print_##name_,                                  \
	},
const struct kvm_trace_event_desc kvm_trace_events[KVM_TRACE_NR_EVENTS] = { KVM_TRACE_EVENTS(
	__TRACE_EV_DESC, __TRACE_FIELD_NAME) };

#define __TRACE_EV_SIZE(sys, name, ...)                                                    \
	static_assert(sizeof(struct trace_##name) <= TRACE_EVENT_MAX_FIELDS * sizeof(u64), \
		      #name " has too many fields");
KVM_TRACE_EVENTS(__TRACE_EV_SIZE, __TRACE_FIELD)

int kvm_trace_event_print(unsigned int id, const u64 *rec, char *buf, size_t size)
{
	if (!size)
		return 0;
	if (id >= KVM_TRACE_NR_EVENTS || !rec) {
		buf[0] = '\0';
		return 0;
	}
	return kvm_trace_events[id].print(buf, size, rec);
}
