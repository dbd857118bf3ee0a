// SPDX-License-Identifier: GPL-2.0-only
/*
 * The simulated PSP firmware: the SEV guest contexts and the launch
 * commands, as the SEV API describes them and Linux 6.12's KVM
 * (arch/x86/kvm/svm/sev.c) and PSP driver (drivers/crypto/ccp/sev-dev.c)
 * use them.  psp.h has the interface, the states and the address rules.
 *
 * What the firmware decides (KVM checks only "is this an SEV/SEV-ES guest"
 * and its own argument rules first, seeds-apis.md §8.2):
 *   - the guest state each command needs, SEV_RET_INVALID_GUEST_STATE:
 *       LAUNCH_UPDATE_DATA, LAUNCH_UPDATE_VMSA, LAUNCH_MEASURE   LUPDATE
 *       LAUNCH_UPDATE_SECRET, LAUNCH_FINISH                      LSECRET
 *       GUEST_STATUS, DBG_*, ACTIVATE/DEACTIVATE/DECOMMISSION    any
 *   - an unknown handle: SEV_RET_INVALID_GUEST; a command that touches
 *     guest memory before ACTIVATE: SEV_RET_INACTIVE
 *   - the policy: DBG_* of a NODBG guest, LAUNCH_UPDATE_VMSA of a guest
 *     without ES, an ES policy on a non-ES ASID (or the reverse) at
 *     ACTIVATE, a policy asking for a newer API than the firmware's, key
 *     sharing (a nonzero LAUNCH_START handle) with NOKS: SEV_RET_POLICY_FAILURE
 *   - LAUNCH_UPDATE_*: address 16-byte aligned (SEV_RET_INVALID_ADDRESS),
 *     length a nonzero multiple of 16 (SEV_RET_INVALID_LEN)
 *   - LAUNCH_MEASURE: a buffer shorter than 48 bytes (the length query
 *     included) is SEV_RET_INVALID_LEN with the length written back; the
 *     state is checked first (the spec does not order the two; QEMU only
 *     queries in LUPDATE)
 *   - ACTIVATE of an ASID another context holds: SEV_RET_ASID_OWNED; of a
 *     context already active: SEV_RET_ACTIVE; DECOMMISSION of an active
 *     context: SEV_RET_ACTIVE.
 *
 * The measurement (not AMD's): the launch digest LD is a SHA-256 over the
 * plaintext of every LAUNCH_UPDATE_DATA and LAUNCH_UPDATE_VMSA, in order;
 * LAUNCH_MEASURE returns SHA-256(0x04 || API_MAJOR || API_MINOR || BUILD ||
 * POLICY (le32) || LD || MNONCE) followed by MNONCE, the shape of the SEV
 * API's HMAC, but unkeyed (there is no TIK) and with an all-zero MNONCE
 * (the real one is random), so that two launches of one image compare equal.
 *
 * Deviations: no platform state machine (INIT/SHUTDOWN: the platform is
 * always INIT), no certificates or session checks (blobs are copied and
 * ignored), LAUNCH_SECRET's packet is the secret in the clear, key sharing
 * (a nonzero LAUNCH_START handle without NOKS) is SEV_RET_UNSUPPORTED, and
 * DBG_* take any alignment (KVM's 16-byte bounce buffers are not modelled).
 */
#include "mmusim_env.h"
#include "sev/psp.h"
#include "sev/sev.h"

/* ======================== SHA-256 (FIPS 180-4) ======================== */

struct psp_sha256 {
	u32 h[8];
	u64 len; /* bytes hashed */
	u8 buf[64];
};

static const u32 sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static inline u32 ror32_(u32 x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(struct psp_sha256 *s, const u8 *p)
{
	u32 w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (u32)p[4 * i] << 24 | (u32)p[4 * i + 1] << 16 | (u32)p[4 * i + 2] << 8 |
		       p[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = w[i - 16] +
		       (ror32_(w[i - 15], 7) ^ ror32_(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
		       w[i - 7] + (ror32_(w[i - 2], 17) ^ ror32_(w[i - 2], 19) ^ (w[i - 2] >> 10));
	a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
	e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ror32_(e, 6) ^ ror32_(e, 11) ^ ror32_(e, 25)) + ((e & f) ^ (~e & g)) +
		     sha256_k[i] + w[i];
		t2 = (ror32_(a, 2) ^ ror32_(a, 13) ^ ror32_(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g, g = f, f = e, e = d + t1;
		d = c, c = b, b = a, a = t1 + t2;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
	s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha256_init(struct psp_sha256 *s)
{
	static const u32 iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
}

static void sha256_update(struct psp_sha256 *s, const u8 *p, u64 n)
{
	while (n) {
		u32 used = s->len & 63, take = min_t(u64, 64 - used, n);

		memcpy(s->buf + used, p, take);
		s->len += take;
		p += take;
		n -= take;
		if (!(s->len & 63))
			sha256_block(s, s->buf);
	}
}

static void sha256_final(struct psp_sha256 *s, u8 out[32])
{
	u64 bits = s->len * 8;
	u8 pad = 0x80, len[8];
	int i;

	sha256_update(s, &pad, 1);
	pad = 0;
	while ((s->len & 63) != 56)
		sha256_update(s, &pad, 1);
	for (i = 0; i < 8; i++)
		len[i] = bits >> (56 - 8 * i);
	sha256_update(s, len, 8);
	for (i = 0; i < 32; i++)
		out[i] = s->h[i / 4] >> (24 - 8 * (i % 4));
}

/* ======================== guest contexts ======================== */

struct psp_guest {
	struct list_head list;
	u32 handle;
	u32 policy;
	enum psp_guest_state state;
	/* ACTIVATE: the ASID and the guest it keys; NULL while inactive. */
	struct kvm_sev_info *sev;
	u32 asid;
	struct psp_sha256 ld; /* the launch digest */
};

static DEFINE_MUTEX(psp_cmd_mutex);
static LIST_HEAD(psp_guests); /* under psp_cmd_mutex */
static u32 psp_last_handle;
static unsigned long psp_guests_live;

static struct psp_guest *psp_find(u32 handle)
{
	struct psp_guest *g;

	lockdep_assert_held(&psp_cmd_mutex);
	list_for_each_entry(g, &psp_guests, list)
		if (g->handle == handle)
			return g;
	return NULL;
}

/* The context of @handle for a command on guest memory, or its SEV_RET_*. */
static int psp_get_active(u32 handle, struct psp_guest **gp)
{
	struct psp_guest *g = psp_find(handle);

	if (!g)
		return SEV_RET_INVALID_GUEST;
	if (!g->sev)
		return SEV_RET_INACTIVE;
	*gp = g;
	return 0;
}

/*
 * Run @fn over [@pa, @pa + @len) of @g's host, frame by frame (the range is
 * physically contiguous by contract).  SEV_RET_INVALID_ADDRESS if a frame is
 * not the host's RAM.
 */
static int psp_for_each_frame(struct psp_guest *g, u64 pa, u32 len,
			      int (*fn)(struct psp_guest *g, kvm_pfn_t pfn, u8 *frame, u32 off,
					u32 n, void *arg),
			      void *arg)
{
	while (len) {
		kvm_pfn_t pfn = pa >> PAGE_SHIFT;
		u32 off = pa & (PAGE_SIZE - 1), n = min_t(u32, len, PAGE_SIZE - off);
		u8 *frame = sim_pfn_to_virt(g->sev->kvm->host, pfn);
		int ret;

		if (!frame)
			return SEV_RET_INVALID_ADDRESS;
		ret = fn(g, pfn, frame, off, n, arg);
		if (ret)
			return ret;
		pa += n;
		len -= n;
	}
	return 0;
}

/* ======================== the commands ======================== */

static int psp_launch_start(struct psp_data_launch_start *d)
{
	struct psp_guest *g, *other;

	if (SEV_POLICY_API_MAJOR(d->policy) > PSP_API_MAJOR ||
	    (SEV_POLICY_API_MAJOR(d->policy) == PSP_API_MAJOR &&
	     SEV_POLICY_API_MINOR(d->policy) > PSP_API_MINOR))
		return SEV_RET_POLICY_FAILURE;
	if (d->handle) {
		other = psp_find(d->handle);
		if (!other)
			return SEV_RET_INVALID_GUEST;
		if ((other->policy | d->policy) & SEV_POLICY_NOKS)
			return SEV_RET_POLICY_FAILURE;
		return SEV_RET_UNSUPPORTED; /* key sharing: not modelled */
	}
	g = kzalloc(sizeof(*g), GFP_KERNEL_ACCOUNT);
	if (!g)
		return SEV_RET_RESOURCE_LIMIT;
	/* Handles are never 0 and not reused while live. */
	do {
		g->handle = ++psp_last_handle;
	} while (!g->handle || psp_find(g->handle));
	g->policy = d->policy;
	g->state = PSP_GSTATE_LUPDATE;
	sha256_init(&g->ld);
	list_add_tail(&g->list, &psp_guests);
	psp_guests_live++;
	d->handle = g->handle;
	return 0;
}

static int psp_activate(struct psp_data_activate *d)
{
	struct psp_guest *g = psp_find(d->handle), *i;
	u32 min_sev_asid, max_sev_asid;
	bool es_asid;

	if (!g)
		return SEV_RET_INVALID_GUEST;
	if (g->sev)
		return SEV_RET_ACTIVE;
	if (!d->sev || sim_host_sev_asids(d->sev->kvm->host, &min_sev_asid, &max_sev_asid) ||
	    !d->asid || d->asid > max(max_sev_asid, min_sev_asid - 1))
		return SEV_RET_INVALID_ASID;
	list_for_each_entry(i, &psp_guests, list)
		if (i->sev && i->asid == d->asid && i->sev->kvm->host == d->sev->kvm->host)
			return SEV_RET_ASID_OWNED;
	/* An SEV-ES policy needs an SEV-ES ASID and the reverse. */
	es_asid = d->asid < min_sev_asid;
	if (es_asid != !!(g->policy & SEV_POLICY_ES))
		return SEV_RET_POLICY_FAILURE;
	g->sev = d->sev;
	g->asid = d->asid;
	return 0;
}

static int psp_deactivate(struct psp_data_handle *d)
{
	struct psp_guest *g = psp_find(d->handle);

	if (!g)
		return SEV_RET_INVALID_GUEST;
	g->sev = NULL;
	g->asid = 0;
	return 0;
}

static int psp_decommission(struct psp_data_handle *d)
{
	struct psp_guest *g = psp_find(d->handle);

	if (!g)
		return SEV_RET_INVALID_GUEST;
	if (g->sev)
		return SEV_RET_ACTIVE;
	list_del(&g->list);
	psp_guests_live--;
	kfree(g);
	return 0;
}

/* Measure the plaintext, then encrypt it in place with the guest's key. */
static int psp_measure_encrypt(struct psp_guest *g, kvm_pfn_t pfn, u8 *frame, u32 off, u32 n,
			       void *arg)
{
	sha256_update(&g->ld, frame + off, n);
	return sev_mem_fw_crypt(g->sev, pfn, off, frame + off, frame + off, n, true) ?
		       SEV_RET_INVALID_ADDRESS :
		       0;
}

static int psp_launch_update(struct psp_data_launch_update *d, bool vmsa)
{
	struct psp_guest *g;
	int ret = psp_get_active(d->handle, &g);

	if (ret)
		return ret;
	if (g->state != PSP_GSTATE_LUPDATE)
		return SEV_RET_INVALID_GUEST_STATE;
	if (vmsa && !(g->policy & SEV_POLICY_ES))
		return SEV_RET_POLICY_FAILURE;
	if (d->address & 15)
		return SEV_RET_INVALID_ADDRESS;
	if (!d->len || d->len & 15 || (vmsa && d->len != PAGE_SIZE))
		return SEV_RET_INVALID_LEN;
	return psp_for_each_frame(g, d->address, d->len, psp_measure_encrypt, NULL);
}

static int psp_launch_measure(struct psp_data_launch_measure *d)
{
	struct psp_guest *g = psp_find(d->handle);
	struct psp_sha256 m, ld;
	u8 head[8], digest[32], out[PSP_MEASURE_LEN] = { 0 };

	if (!g)
		return SEV_RET_INVALID_GUEST;
	if (g->state != PSP_GSTATE_LUPDATE)
		return SEV_RET_INVALID_GUEST_STATE;
	if (!d->address || d->len < PSP_MEASURE_LEN) {
		d->len = PSP_MEASURE_LEN;
		return SEV_RET_INVALID_LEN;
	}
	ld = g->ld; /* the digest stays open: a copy is finalized */
	sha256_final(&ld, digest);
	head[0] = 0x04;
	head[1] = PSP_API_MAJOR;
	head[2] = PSP_API_MINOR;
	head[3] = PSP_BUILD;
	head[4] = g->policy;
	head[5] = g->policy >> 8;
	head[6] = g->policy >> 16;
	head[7] = g->policy >> 24;
	sha256_init(&m);
	sha256_update(&m, head, sizeof(head));
	sha256_update(&m, digest, sizeof(digest));
	sha256_update(&m, out + 32, 16); /* MNONCE: zero */
	sha256_final(&m, out);
	memcpy(d->address, out, sizeof(out));
	d->len = PSP_MEASURE_LEN;
	g->state = PSP_GSTATE_LSECRET;
	return 0;
}

static int psp_inject(struct psp_guest *g, kvm_pfn_t pfn, u8 *frame, u32 off, u32 n, void *arg)
{
	const u8 **src = arg;
	int ret = sev_mem_fw_crypt(g->sev, pfn, off, *src, frame + off, n, true);

	*src += n;
	return ret ? SEV_RET_INVALID_ADDRESS : 0;
}

static int psp_launch_secret(struct psp_data_launch_secret *d)
{
	const u8 *src = d->trans;
	struct psp_guest *g;
	int ret = psp_get_active(d->handle, &g);

	if (ret)
		return ret;
	if (g->state != PSP_GSTATE_LSECRET)
		return SEV_RET_INVALID_GUEST_STATE;
	if (d->guest_address & 15)
		return SEV_RET_INVALID_ADDRESS;
	if (!d->guest_len || d->guest_len & 15 || d->trans_len != d->guest_len || !d->trans)
		return SEV_RET_INVALID_LEN;
	return psp_for_each_frame(g, d->guest_address, d->guest_len, psp_inject, &src);
}

static int psp_launch_finish(struct psp_data_handle *d)
{
	struct psp_guest *g = psp_find(d->handle);

	if (!g)
		return SEV_RET_INVALID_GUEST;
	if (g->state != PSP_GSTATE_LSECRET)
		return SEV_RET_INVALID_GUEST_STATE;
	g->state = PSP_GSTATE_RUNNING;
	return 0;
}

static int psp_guest_status(struct psp_data_guest_status *d)
{
	struct psp_guest *g = psp_find(d->handle);

	if (!g)
		return SEV_RET_INVALID_GUEST;
	d->policy = g->policy;
	d->asid = g->asid;
	d->state = g->state;
	return 0;
}

/*
 * DBG_DECRYPT / DBG_ENCRYPT: within one frame each way (KVM splits by
 * page).  Decrypt writes plaintext to @dst (no record: it is the host's);
 * encrypt writes the guest's ciphertext to @dst.
 */
static int psp_dbg(struct psp_data_dbg *d, bool enc)
{
	u32 soff = d->src_addr & (PAGE_SIZE - 1), doff = d->dst_addr & (PAGE_SIZE - 1);
	struct sim_host *host;
	struct psp_guest *g;
	u8 *src, *dst;
	int ret = psp_get_active(d->handle, &g);

	if (ret)
		return ret;
	if (g->policy & SEV_POLICY_NODBG)
		return SEV_RET_POLICY_FAILURE;
	if (!d->len || d->len > PAGE_SIZE - soff || d->len > PAGE_SIZE - doff)
		return SEV_RET_INVALID_LEN;
	host = g->sev->kvm->host;
	src = sim_pfn_to_virt(host, d->src_addr >> PAGE_SHIFT);
	dst = sim_pfn_to_virt(host, d->dst_addr >> PAGE_SHIFT);
	if (!src || !dst)
		return SEV_RET_INVALID_ADDRESS;
	/* The keystream is the guest frame's: the source's to decrypt, the target's to encrypt. */
	if (enc)
		ret = sev_mem_fw_crypt(g->sev, d->dst_addr >> PAGE_SHIFT, doff, src + soff,
				       dst + doff, d->len, true);
	else
		ret = sev_mem_fw_crypt(g->sev, d->src_addr >> PAGE_SHIFT, soff, src + soff,
				       dst + doff, d->len, false);
	return ret ? SEV_RET_INVALID_ADDRESS : 0;
}

/* ======================== the mailbox ======================== */

static int __psp_do_cmd_locked(int cmd, void *data)
{
	lockdep_assert_held(&psp_cmd_mutex);
	switch (cmd) {
	case PSP_CMD_LAUNCH_START:
		return psp_launch_start(data);
	case PSP_CMD_ACTIVATE:
		return psp_activate(data);
	case PSP_CMD_DEACTIVATE:
		return psp_deactivate(data);
	case PSP_CMD_DECOMMISSION:
		return psp_decommission(data);
	case PSP_CMD_LAUNCH_UPDATE_DATA:
		return psp_launch_update(data, false);
	case PSP_CMD_LAUNCH_UPDATE_VMSA:
		return psp_launch_update(data, true);
	case PSP_CMD_LAUNCH_MEASURE:
		return psp_launch_measure(data);
	case PSP_CMD_LAUNCH_UPDATE_SECRET:
		return psp_launch_secret(data);
	case PSP_CMD_LAUNCH_FINISH:
		return psp_launch_finish(data);
	case PSP_CMD_GUEST_STATUS:
		return psp_guest_status(data);
	case PSP_CMD_DBG_DECRYPT:
		return psp_dbg(data, false);
	case PSP_CMD_DBG_ENCRYPT:
		return psp_dbg(data, true);
	}
	return -EINVAL;
}

int psp_do_cmd(int cmd, void *data, int *psp_ret)
{
	int status;

	if (!data)
		return -EINVAL;
	mutex_lock(&psp_cmd_mutex);
	status = __psp_do_cmd_locked(cmd, data);
	mutex_unlock(&psp_cmd_mutex);
	if (status < 0)
		return status; /* not a firmware command: the driver's -EINVAL */
	/* sev-dev.c: a nonzero status is -EIO, the status goes to the caller. */
	if (psp_ret)
		*psp_ret = status;
	return status ? -EIO : 0;
}

int psp_issue_cmd_external_user(int fd, int cmd, void *data, int *error)
{
	if (fd != MMUSIM_SEV_DEV_FD)
		return -EBADF;
	return psp_do_cmd(cmd, data, error);
}

unsigned long psp_nr_guests(void)
{
	unsigned long n;

	mutex_lock(&psp_cmd_mutex);
	n = psp_guests_live;
	mutex_unlock(&psp_cmd_mutex);
	return n;
}

long mmusim_sev_fw_guests(void)
{
	return psp_nr_guests();
}
