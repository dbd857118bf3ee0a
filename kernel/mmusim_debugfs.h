/* SPDX-License-Identifier: GPL-2.0-only */
/* The debugfs interface of mmusim.ko (kernel/mmusim_debugfs.c). */
#ifndef _MMUSIM_DEBUGFS_H
#define _MMUSIM_DEBUGFS_H

void mmusim_debugfs_init(void);
void mmusim_debugfs_exit(void);

#endif /* _MMUSIM_DEBUGFS_H */
