// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/sev/sev_guest.c, the guest's side of SEV: the C-bit it
 * flips per page (shared pages are plaintext to the host, private ones
 * ciphertext) and the shared I/O buffer pool, tested as the s390x PV css
 * tests use theirs: the guest fills a request, the host reads it; the host
 * writes a reply, the guest reads it; private neighbours stay unreadable;
 * a buffer freed (unshared) is ciphertext to the host again.
 *
 *   gpa   0 ............ 1M ........ 1M+64K ........... 2M ....... 4M
 *         [ private       | I/O pool  | private           | private   ]
 *                           (shared while allocated)        2M: NEIGHBOUR
 */
#include <string.h>

#include "test_util.h"
#include <mmusim/host.h>
#include <mmusim/sev.h>
#include <mmusim/vm.h>

#define MiB (1ULL << 20)
#define POOL_BASE (1 * MiB)
#define POOL_SIZE (64 * 1024)
#define NEIGHBOUR (2 * MiB)

static const char request[] = "ccw: READ 64 bytes from subchannel 0.0.0001";
static const char reply[] = "irb: device end, channel end, 64 bytes read";
static const char secret[] = "private data next to the I/O buffers";

static void sev_vm(struct test_vm *t, bool sev)
{
	struct test_vm_opts o = { .host_mem = 64 * MiB, .size = 4 * MiB };

	o.cfg.sev = sev;
	test_vm_create(t, &o);
}

static struct mmusim_vcpu *vcpu0(struct test_vm *t)
{
	return mmusim_vm_vcpu(t->vm, 0);
}

static void host_read(struct test_vm *t, gpa_t gpa, void *buf, u64 len)
{
	assert_int_equal(sim_mm_read(t->mm, t->hva + gpa, buf, len), 0);
}

static long reports(struct test_vm *t)
{
	return mmusim_vm_sev_get_reports(t->vm, NULL, 0);
}

/* The css exchange through two buffers of the pool; the host moving them is harmless. */
static void test_io_buffer_exchange(void **state)
{
	struct mmusim_sev_io_pool *pool;
	char buf[64], got[64];
	gpa_t req, rsp;
	struct test_vm t;

	sev_vm(&t, true);
	assert_int_equal(mmusim_sev_io_pool_create(vcpu0(&t), POOL_BASE, POOL_SIZE, 0, &pool), 0);
	assert_int_equal(mmusim_sev_io_alloc(pool, sizeof(request), &req), 0);
	assert_int_equal(mmusim_sev_io_alloc(pool, PAGE_SIZE + 1, &rsp), 0);
	/* Dedicated pages, below the limit. */
	assert_true(req >= POOL_BASE && rsp + 2 * PAGE_SIZE <= POOL_BASE + POOL_SIZE);
	assert_int_equal(req & ~PAGE_MASK, 0);
	assert_int_equal(rsp & ~PAGE_MASK, 0);
	assert_true(rsp >= req + PAGE_SIZE);
	assert_true(rsp + 2 * PAGE_SIZE <= MMUSIM_SEV_IO_LIMIT);

	/* A private neighbour. */
	assert_int_equal(mmusim_vcpu_write(vcpu0(&t), NEIGHBOUR, secret, sizeof(secret)), 0);

	/* The guest's request reaches the host in plaintext ... */
	assert_int_equal(mmusim_vcpu_write(vcpu0(&t), req, request, sizeof(request)), 0);
	host_read(&t, req, buf, sizeof(request));
	assert_memory_equal(buf, request, sizeof(request));
	/* ... and the host's reply the guest. */
	assert_int_equal(sim_mm_write(t.mm, t.hva + rsp + 100, reply, sizeof(reply)), 0);
	assert_int_equal(mmusim_vcpu_read(vcpu0(&t), rsp + 100, got, sizeof(reply)), 0);
	assert_memory_equal(got, reply, sizeof(reply));
	/* The neighbour stays ciphertext to the host, plaintext to the guest. */
	host_read(&t, NEIGHBOUR, buf, sizeof(secret));
	assert_memory_not_equal(buf, secret, sizeof(secret));
	assert_int_equal(mmusim_vcpu_read(vcpu0(&t), NEIGHBOUR, got, sizeof(secret)), 0);
	assert_memory_equal(got, secret, sizeof(secret));

	/* Shared frames are the host's to move: no loss, no report. */
	assert_int_equal(sim_migrate_page(t.mm, t.hva + req), 0);
	assert_int_equal(mmusim_vcpu_read(vcpu0(&t), req, got, sizeof(request)), 0);
	assert_memory_equal(got, request, sizeof(request));
	assert_int_equal(reports(&t), 0);
	/* A private one is not (the control). */
	assert_int_equal(sim_migrate_page(t.mm, t.hva + NEIGHBOUR), 0);
	assert_int_equal(mmusim_vcpu_read(vcpu0(&t), NEIGHBOUR, got, sizeof(secret)), 0);
	assert_memory_not_equal(got, secret, sizeof(secret));
	assert_int_equal(reports(&t), 1);

	/* Freed: unshared and scrubbed, so the host sees ciphertext of zeros. */
	assert_int_equal(mmusim_sev_io_free(pool, req), 0);
	host_read(&t, req, buf, sizeof(buf));
	assert_memory_not_equal(buf, request, sizeof(request));
	memset(got, 0, sizeof(got));
	assert_memory_not_equal(buf, got, sizeof(buf));
	assert_int_equal(mmusim_vcpu_read(vcpu0(&t), req, got, sizeof(got)), 0);
	memset(buf, 0, sizeof(buf));
	assert_memory_equal(got, buf, sizeof(got));
	/* The freed page is handed out again. */
	assert_int_equal(mmusim_sev_io_alloc(pool, 1, &req), 0);
	assert_int_equal(req, POOL_BASE);
	assert_int_equal(mmusim_sev_io_free(pool, req), 0);
	assert_int_equal(mmusim_sev_io_free(pool, rsp), 0);
	mmusim_sev_io_pool_destroy(pool);
	test_vm_destroy(&t);
}

/* A buffer the guest forgot to share: the host reads ciphertext, not the request. */
static void test_unshared_buffer_unreadable(void **state)
{
	char buf[sizeof(request)];
	struct test_vm t;

	sev_vm(&t, true);
	assert_int_equal(mmusim_vcpu_write(vcpu0(&t), POOL_BASE, request, sizeof(request)), 0);
	host_read(&t, POOL_BASE, buf, sizeof(buf));
	assert_memory_not_equal(buf, request, sizeof(request));
	/* Shared, then written: readable; unshared and rewritten: ciphertext again. */
	assert_int_equal(mmusim_vcpu_sev_set_shared(vcpu0(&t), POOL_BASE, 1, true), 0);
	assert_int_equal(mmusim_vcpu_write(vcpu0(&t), POOL_BASE, request, sizeof(request)), 0);
	host_read(&t, POOL_BASE, buf, sizeof(buf));
	assert_memory_equal(buf, request, sizeof(request));
	assert_int_equal(mmusim_vcpu_sev_set_shared(vcpu0(&t), POOL_BASE, 1, false), 0);
	assert_int_equal(mmusim_vcpu_write(vcpu0(&t), POOL_BASE, request, sizeof(request)), 0);
	host_read(&t, POOL_BASE, buf, sizeof(buf));
	assert_memory_not_equal(buf, request, sizeof(request));
	/* Flipping twice is flipping once. */
	assert_int_equal(mmusim_vcpu_sev_set_shared(vcpu0(&t), POOL_BASE, 1, false), 0);
	assert_int_equal(mmusim_vcpu_sev_set_shared(vcpu0(&t), POOL_BASE, 2, true), 0);
	assert_int_equal(mmusim_vcpu_sev_set_shared(vcpu0(&t), POOL_BASE, 2, true), 0);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * The pool's limits: first fit of dedicated pages, -ENOMEM when full, the
 * 2 GiB limit, bad frees; the C-bit call's argument checks.
 */
static void test_pool_and_flip_errors(void **state)
{
	struct mmusim_sev_io_pool *pool;
	struct test_vm t, plain;
	gpa_t g[16], x;
	int i;

	sev_vm(&t, true);
	sev_vm(&plain, false);
	assert_int_equal(mmusim_sev_io_pool_create(vcpu0(&plain), POOL_BASE, POOL_SIZE, 0, &pool),
			 -EINVAL);
	assert_int_equal(mmusim_sev_io_pool_create(vcpu0(&t), POOL_BASE + 1, POOL_SIZE, 0, &pool),
			 -EINVAL);
	assert_int_equal(mmusim_sev_io_pool_create(vcpu0(&t), POOL_BASE, 0, 0, &pool), -EINVAL);
	assert_int_equal(mmusim_sev_io_pool_create(vcpu0(&t), MMUSIM_SEV_IO_LIMIT - PAGE_SIZE,
						   2 * PAGE_SIZE, 0, &pool),
			 -EINVAL);
	assert_int_equal(
		mmusim_sev_io_pool_create(vcpu0(&t), POOL_BASE, POOL_SIZE, POOL_BASE, &pool),
		-EINVAL);
	assert_int_equal(mmusim_sev_io_pool_create(vcpu0(&t), POOL_BASE, POOL_SIZE, 0, &pool), 0);
	assert_int_equal(mmusim_sev_io_alloc(pool, 0, &x), -EINVAL);
	assert_int_equal(mmusim_sev_io_alloc(pool, POOL_SIZE + 1, &x), -EINVAL);
	for (i = 0; i < 16; i++) {
		assert_int_equal(mmusim_sev_io_alloc(pool, 16, &g[i]), 0);
		assert_int_equal(g[i], POOL_BASE + (u64)i * PAGE_SIZE);
	}
	assert_int_equal(mmusim_sev_io_alloc(pool, 1, &x), -ENOMEM);
	assert_int_equal(mmusim_sev_io_free(pool, g[5] + 8), -EINVAL);
	assert_int_equal(mmusim_sev_io_free(pool, POOL_BASE + POOL_SIZE), -EINVAL);
	assert_int_equal(mmusim_sev_io_free(pool, g[5]), 0);
	assert_int_equal(mmusim_sev_io_free(pool, g[5]), -EINVAL);
	assert_int_equal(mmusim_sev_io_free(pool, g[6]), 0);
	/* Two free pages in a row now: a two-page buffer fits there. */
	assert_int_equal(mmusim_sev_io_alloc(pool, 2 * PAGE_SIZE, &x), 0);
	assert_int_equal(x, g[5]);
	mmusim_sev_io_pool_destroy(pool);
	mmusim_sev_io_pool_destroy(NULL);

	assert_int_equal(mmusim_vcpu_sev_set_shared(vcpu0(&plain), 0, 1, true), -EINVAL);
	assert_int_equal(mmusim_vcpu_sev_set_shared(vcpu0(&t), 1, 1, true), -EINVAL);
	assert_int_equal(mmusim_vcpu_sev_set_shared(vcpu0(&t), 0, 0, true), -EINVAL);
	assert_int_equal(mmusim_vcpu_sev_set_shared(vcpu0(&t), 0, ~0ULL, true), -EINVAL);
	/* No memslot at 8M: MMIO, nothing to flip. */
	assert_int_equal(mmusim_vcpu_sev_set_shared(vcpu0(&t), 8 * MiB, 1, true), -EFAULT);
	test_vm_check(&t);
	test_vm_destroy(&plain);
	test_vm_destroy(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_io_buffer_exchange),
		MMUSIM_TEST(test_unshared_buffer_unreadable),
		MMUSIM_TEST(test_pool_and_flip_errors),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("sev_guest", tests);
}
