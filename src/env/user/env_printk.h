/* SPDX-License-Identifier: GPL-2.0-only */
/* printk and friends, userspace side: to stderr, with a level prefix. */
#ifndef _MMUSIM_ENV_PRINTK_H
#define _MMUSIM_ENV_PRINTK_H

void env_printk(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int scnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define pr_err(fmt, ...) env_printk("err", fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...) env_printk("warn", fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...) env_printk("info", fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) do { if (0) env_printk("debug", fmt, ##__VA_ARGS__); } while (0)

#endif /* _MMUSIM_ENV_PRINTK_H */
