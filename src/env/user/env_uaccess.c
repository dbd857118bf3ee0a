// SPDX-License-Identifier: GPL-2.0-only
/*
 * User copies through process_vm_readv()/process_vm_writev() (env_uaccess.h).
 *
 * The kernel transfers page by page and stops at the first page it cannot
 * access with the requested permission (a write needs a writable mapping:
 * there is no FOLL_FORCE), returning the bytes done so far.  The own process
 * always passes the ptrace access check, so the only failure left is a
 * seccomp policy that forbids the calls: that is reported once, loudly, and
 * then every copy fails rather than faulting blindly.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mmusim_env.h"

static unsigned long uaccess_copy(void *local, const void *remote, unsigned long n, bool write)
{
	unsigned long done = 0;

	while (done < n) {
		/* Integer arithmetic: a NULL user pointer plus an offset is not C. */
		struct iovec l = { .iov_base = (void *)((uintptr_t)local + done),
				   .iov_len = n - done };
		struct iovec r = { .iov_base = (void *)((uintptr_t)remote + done),
				   .iov_len = n - done };
		ssize_t ret;

		ret = write ? process_vm_writev(getpid(), &l, 1, &r, 1, 0) :
			      process_vm_readv(getpid(), &l, 1, &r, 1, 0);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0 && (errno == ENOSYS || errno == EPERM)) {
			static bool reported;

			if (!reported) {
				reported = true;
				fprintf(stderr,
					"mmusim: process_vm_%sv unavailable (%s): every user "
					"copy fails with -EFAULT\n",
					write ? "write" : "read", strerror(errno));
			}
		}
		if (ret <= 0)
			break;
		done += ret;
	}
	return n - done;
}

unsigned long copy_from_user(void *to, const void __user *from, unsigned long n)
{
	unsigned long left;

	if (!n)
		return 0;
	left = uaccess_copy(to, from, n, false);
	if (left)
		memset((char *)to + (n - left), 0, left);	/* as the kernel's copy does */
	return left;
}

unsigned long copy_to_user(void __user *to, const void *from, unsigned long n)
{
	if (!n)
		return 0;
	return uaccess_copy((void *)from, to, n, true);
}
