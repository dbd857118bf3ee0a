#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Writes the seed corpora fuzz/corpus/<target>/seed-* for the fuzz targets.

Inputs are programs in each target's encoding (see fuzz_data_producer.h):
values are read from the END of the input, each as just enough bytes for
its range, most significant byte first.  The Enc class below writes values
in read order and lays them out backwards.  The scenario encoders mirror the
order in which each target reads its values; if a target changes, a seed
still decodes to some valid program (every byte string does), only not to
the scenario named here, so regenerate the seeds after changing a decoder.

Regression inputs (crash-*, found by fuzzing) live beside the seeds and are
never touched by this script.

    fuzz/gen_seeds.py            # rewrite every seed-* file
"""
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


class Enc:
    def __init__(self):
        self.read_order = []

    def range(self, lo, hi, v):
        assert lo <= v <= hi, (lo, hi, v)
        rng, x, n = hi - lo, v - lo, 0
        r = rng
        while r:
            n += 1
            r >>= 8
        self.read_order += [(x >> (8 * (n - 1 - i))) & 0xFF for i in range(n)]
        return self

    def bool(self, b):
        return self.range(0, 1, int(bool(b)))

    def index(self, n, i):
        return self.range(0, n - 1, i) if n else self

    def u32(self, v):
        return self.range(0, 2**32 - 1, v)

    def u64(self, v):
        return self.range(0, 2**64 - 1, v)

    def raw(self, data):
        """Bytes to be read as they come (an unstructured tail)."""
        self.read_order += list(data)
        return self

    def data(self):
        return bytes(reversed(self.read_order))


def write_seeds(target, seeds):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith("seed-"):
            os.unlink(os.path.join(d, f))
    for name, data in seeds:
        with open(os.path.join(d, "seed-" + name), "wb") as fp:
            fp.write(data)


# ---------------------------------------------------------------------------
# fuzz_spte: a mask set, then an unstructured program (every byte string is
# one; the op stream is best explored by the fuzzer itself).

def spte_seeds():
    rnd = random.Random(1)
    seeds = []
    configs = []
    for mode in range(4):
        for nx in (0, 1):
            configs.append(("mode%d-nx%d" % (mode, nx), mode, 1, 0, None, nx))
    for maxphys, l1tf in ((32, None), (39, 44), (46, 46), (46, None), (52, None)):
        for mode in (4, 5):
            configs.append(("mode%d-phys%d-l1tf%s" % (mode, maxphys, l1tf), mode, 1, 1,
                            (maxphys, l1tf), 1))
    for name, mode, ad, xo, phys, nx in configs:
        e = Enc().range(0, 5, mode).bool(ad).bool(xo)
        if mode >= 4:
            maxphys, l1tf = phys
            e.range(32, 52, maxphys)
            if maxphys <= 46:
                e.bool(l1tf is not None)
                if l1tf is not None:
                    e.range(maxphys, 46, l1tf)
        e.bool(nx)
        e.raw(bytes(rnd.randrange(256) for _ in range(300)))
        seeds.append((name, e.data()))
    return seeds


# ---------------------------------------------------------------------------
# VM configuration (fuzz_vm.h fuzz_vm_config)

def vm_config(e, legacy=0, mode=0, ad_disabled=0, nr_vcpus=1, max_vcpus=1, root5=0,
              slot_zap=0, gen_wrap=0):
    e.bool(legacy).range(0, 3, mode)
    if mode == 3:
        e.bool(ad_disabled)
    e.range(1, max_vcpus, nr_vcpus).bool(root5).bool(slot_zap)
    e.range(0, 3, 0 if gen_wrap else 1)
    if gen_wrap:
        e.range(1, 16, gen_wrap)


# ---------------------------------------------------------------------------
# fuzz_mmu_ops

OPS = ["access", "access_range", "guest_write", "guest_read", "smm", "slot_create",
       "slot_delete", "slot_move", "slot_flags", "get_log", "clear_log", "host_write",
       "host_read", "zap_range", "zap_all_fast", "munmap", "remap", "mprotect", "dontneed",
       "madv_hugepage", "migrate", "split_thp", "collapse_thp", "swap_out", "age"]
RACE_EVENTS = ["munmap", "remap", "mprotect", "dontneed", "madv_hugepage", "migrate",
               "split_thp", "collapse_thp", "swap_out", "age", "zap_range", "zap_all_fast"]
REGION_PAGES = [1024, 512, 1024]
REGION_HUGETLB = [False, False, True]
GUEST_GFNS = 16384
LOG, RO = 1, 2
SLOT_FLAGS = [0, 0, LOG, RO, LOG | RO]


class MmuProgram:
    """Encodes fuzz_mmu_ops programs, tracking the slot table as the target does."""

    def __init__(self, failinj=False, nr_vcpus=1, mode=0, legacy=0, root5=0, slot_zap=0,
                 manual=0, resched=0, fail_permille=20, fail_seed=1, gen_wrap=0, race=0):
        self.e = Enc()
        self.nr_vcpus = nr_vcpus
        self.slots = [[], []]   # per AS: dicts with id, base, npages, flags, in model order
        self.smm = [0] * 3
        vm_config(self.e, legacy=legacy, mode=mode, nr_vcpus=nr_vcpus, max_vcpus=3,
                  root5=root5, slot_zap=slot_zap, gen_wrap=gen_wrap)
        self.max_gfn = (1 << ((52 if root5 else 46) - 12)) - 1
        self.e.range(0, 2, manual)
        if manual:
            self.e.bool(manual == 2)
        self.e.range(0, 3, 0 if resched else 1)
        if resched:
            self.e.range(1, 8, resched)
        if failinj:
            self.e.u64(fail_seed).range(1, 250, fail_permille)
        self.race_mode = race
        self.e.range(0, 3, 0 if race else 1)

    def op(self, name):
        self.e.range(0, len(OPS) - 1, OPS.index(name))

    def slot_index(self, as_id, sid):
        for i, s in enumerate(self.slots[as_id]):
            if s["id"] == sid:
                return i
        raise KeyError(sid)

    def gpa(self, vcpu, slot_id=None, page=0, gfn=None):
        """pick_gpa() in the vCPU's address space."""
        as_id = self.smm[vcpu]
        if slot_id is not None:
            i = self.slot_index(as_id, slot_id)
            s = self.slots[as_id][i]
            self.e.range(0, 7, 0).index(len(self.slots[as_id]), i)
            self.e.range(0, s["npages"] - 1, page)
        elif gfn == "max":
            self.e.range(0, 7, 7).range(0, 3, 1)
        else:
            self.e.range(0, 7, 5).range(0, GUEST_GFNS - 1, gfn)

    def access(self, vcpu, typ, offset=0, race=None, **where):
        """race=(point, event, args): the event runs inside the access's fault.

        The fault must reach the slow path (a gfn without an SPTE), or the
        event's bytes are never read."""
        self.op("access")
        self.e.range(0, 2, typ).index(self.nr_vcpus, vcpu)
        self.gpa(vcpu, **where)
        self.e.range(0, 4095, offset)
        if self.race_mode:
            self.e.bool(race is not None)
            if race is not None:
                point, name, args = race
                self.e.range(0, 1, point)
                self.e.range(0, len(RACE_EVENTS) - 1, RACE_EVENTS.index(name))
                self.race_event_args(name, *args)

    def race_event_args(self, name, *args):
        if name in ("munmap", "dontneed"):
            self.prange(*args)
        elif name == "mprotect":
            region, prot, first, n = args
            self.prange(region, first, n)
            self.e.index(3, prot)
        elif name in ("migrate", "split_thp", "collapse_thp", "swap_out"):
            self.page(*args)
        elif name == "zap_all_fast":
            pass
        else:
            raise ValueError(name)

    def access_range(self, vcpu, typ, npages, **where):
        self.op("access_range")
        self.e.range(0, 2, typ).index(self.nr_vcpus, vcpu)
        self.gpa(vcpu, **where)
        self.e.range(1, 24, npages)

    def guest_write(self, vcpu, **where):
        self.op("guest_write")
        self.e.index(self.nr_vcpus, vcpu)
        self.gpa(vcpu, **where)

    def guest_read(self, vcpu, **where):
        self.op("guest_read")
        self.e.index(self.nr_vcpus, vcpu)
        self.gpa(vcpu, **where)

    def smm_toggle(self, vcpu):
        self.op("smm")
        self.e.index(self.nr_vcpus, vcpu)
        self.smm[vcpu] ^= 1

    def base_gfn(self, base):
        if base == 0:
            self.e.range(0, 7, 0)
        elif base % 512 == 0 and base // 512 < GUEST_GFNS // 512:
            self.e.range(0, 7, 1).range(0, GUEST_GFNS // 512 - 1, base // 512)
        else:
            self.e.range(0, 7, 4).range(0, GUEST_GFNS - 1, base)

    def slot_create(self, as_id, sid, region, npages, base, flags=0, hpage_off=0):
        """A slot over region pages [hpage_off * 512, ...); npages == 512 or 1..2048."""
        self.op("slot_create")
        self.e.index(3, region).index(2, as_id).index(4, sid)
        self.e.index(len(SLOT_FLAGS), SLOT_FLAGS.index(flags))
        if npages == REGION_PAGES[region]:
            self.e.range(0, 3, 0)
        elif npages == 512:
            self.e.range(0, 3, 1)
        else:
            self.e.range(0, 3, 2).range(1, 2048, npages)
        self.e.bool(1).range(0, REGION_PAGES[region] // 512, hpage_off)
        self.base_gfn(base)
        self.slots[as_id].append(dict(id=sid, base=base, npages=npages, flags=flags))

    def pick_slot(self, as_id, sid):
        i = self.slot_index(as_id, sid)
        self.e.index(2, as_id).index(len(self.slots[as_id]), i)
        return i

    def slot_delete(self, as_id, sid):
        self.op("slot_delete")
        i = self.pick_slot(as_id, sid)
        last = self.slots[as_id].pop()
        if i < len(self.slots[as_id]):
            self.slots[as_id][i] = last

    def slot_move(self, as_id, sid, base):
        self.op("slot_move")
        i = self.pick_slot(as_id, sid)
        self.base_gfn(base)
        self.slots[as_id][i]["base"] = base

    def slot_toggle_log(self, as_id, sid):
        self.op("slot_flags")
        i = self.pick_slot(as_id, sid)
        self.e.range(0, 3, 1)
        self.slots[as_id][i]["flags"] ^= LOG

    def slot_toggle_ro(self, as_id, sid):
        """Refused with -EINVAL: READONLY is immutable."""
        self.op("slot_flags")
        self.pick_slot(as_id, sid)
        self.e.range(0, 3, 0)

    def get_log(self, as_id, sid):
        self.op("get_log")
        self.pick_slot(as_id, sid)

    def clear_log(self, as_id, sid, masks):
        """Clears the whole slot from page 0; @masks: one 64-bit mask per word."""
        self.op("clear_log")
        i = self.pick_slot(as_id, sid)
        s = self.slots[as_id][i]
        self.e.range(0, (s["npages"] - 1) // 64, 0)
        if s["npages"] > 64:
            self.e.bool(0)
        for m in masks[: (s["npages"] + 63) // 64]:
            if m == 2**64 - 1:
                self.e.bool(1)
            else:
                self.e.bool(0).u64(m)

    def page(self, region, idx):
        self.e.index(3, region).index(REGION_PAGES[region], idx)

    def host_write(self, region, idx):
        self.op("host_write")
        self.page(region, idx)

    def host_read(self, region, idx):
        self.op("host_read")
        self.page(region, idx)

    def zap_range(self, as_id, start, npages):
        self.op("zap_range")
        self.e.range(0, 7, 1).index(2, as_id).range(0, GUEST_GFNS, start)
        self.e.range(0, 7, 1).range(0, 2048, npages)

    def zap_all_fast(self):
        self.op("zap_all_fast")

    def prange(self, region, first=None, n=None):
        """pick_range(): the whole region if @first is None."""
        self.e.index(3, region)
        if first is None:
            self.e.range(0, 3, 0)
            return
        gran = 512 if REGION_HUGETLB[region] else 1
        self.e.range(0, 3, 1).index(REGION_PAGES[region] // gran, first // gran)
        self.e.range(1, (REGION_PAGES[region] - first) // gran, n // gran)
        if not REGION_HUGETLB[region]:
            self.e.bool(0)

    def munmap(self, region, first=None, n=None):
        self.op("munmap")
        self.prange(region, first, n)

    def remap(self, region):
        self.op("remap")
        self.e.index(3, region)

    def mprotect(self, region, prot, first=None, n=None):
        self.op("mprotect")
        self.prange(region, first, n)
        self.e.index(3, prot)   # 0 none, 1 read, 2 read-write

    def dontneed(self, region, first=None, n=None):
        self.op("dontneed")
        self.prange(region, first, n)

    def madv_hugepage(self, region, on=True, first=None, n=None):
        self.op("madv_hugepage")
        self.prange(region, first, n)
        self.e.bool(on)

    def page_event(self, name, region, idx):
        self.op(name)
        self.page(region, idx)

    def age(self, region, clear=True, first=None, n=None):
        self.op("age")
        self.prange(region, first, n)
        self.e.bool(clear)

    def data(self):
        return self.e.data()


R, W, X = 0, 1, 2


def mmu_scenarios(failinj):
    out = []

    def new(name, **kw):
        p = MmuProgram(failinj=failinj, **kw)
        out.append((name, p))
        return p

    # Each VM flavour: a slot over the THP region, writes, reads, an MMIO gpa.
    flavours = [("npt", dict(mode=0)), ("ept", dict(mode=1)), ("ept-noad", dict(mode=2)),
                ("ept-xo", dict(mode=3)), ("npt-5level", dict(mode=0, root5=1)),
                ("ept-5level", dict(mode=1, root5=1)), ("legacy-ept", dict(mode=1, legacy=1)),
                ("legacy-npt", dict(mode=0, legacy=1))]
    for name, kw in flavours:
        p = new("basic-" + name, **kw)
        p.slot_create(0, 0, 0, 1024, 0)
        for pg in (0, 1, 511, 512, 1023):
            p.guest_write(0, slot_id=0, page=pg)
        for pg in (0, 1, 511, 512, 1023):
            p.guest_read(0, slot_id=0, page=pg)
        p.access(0, X, slot_id=0, page=5)
        p.access(0, R, gfn=8000)
        p.access(0, W, gfn="max")
        p.access_range(0, W, 24, slot_id=0, page=1000)

    # Host events under a mapped guest: data must survive, SPTEs must follow.
    p = new("host-events", mode=1, nr_vcpus=2)
    p.slot_create(0, 0, 0, 1024, 0)
    p.slot_create(0, 1, 1, 512, 2048)
    for pg in range(0, 1024, 97):
        p.guest_write(0, slot_id=0, page=pg)
    p.guest_write(1, slot_id=1, page=3)
    p.page_event("migrate", 0, 97)
    p.guest_read(1, slot_id=0, page=97)
    p.page_event("split_thp", 0, 0)
    p.guest_read(0, slot_id=0, page=0)
    p.page_event("swap_out", 0, 194)
    p.guest_read(1, slot_id=0, page=194)
    p.page_event("collapse_thp", 0, 0)
    p.guest_read(0, slot_id=0, page=97)
    p.page_event("migrate", 1, 3)
    p.guest_read(0, slot_id=1, page=3)
    p.page_event("swap_out", 1, 3)
    p.host_read(1, 3)
    p.guest_read(1, slot_id=1, page=3)

    # mprotect and munmap under the guest.
    p = new("prot-unmap", mode=0)
    p.slot_create(0, 0, 1, 512, 512)
    p.guest_write(0, slot_id=0, page=10)
    p.mprotect(1, 1, 0, 64)
    p.access(0, W, slot_id=0, page=10)
    p.access(0, R, slot_id=0, page=10)
    p.mprotect(1, 0, 0, 64)
    p.access(0, R, slot_id=0, page=10)
    p.mprotect(1, 2, 0, 64)
    p.guest_read(0, slot_id=0, page=10)
    p.munmap(1, 5, 10)
    p.access(0, R, slot_id=0, page=10)
    p.remap(1)
    p.guest_read(0, slot_id=0, page=10)
    p.dontneed(1, 0, 32)
    p.guest_read(0, slot_id=0, page=20)

    # Hugetlb region: huge SPTEs, 2M host operations.
    p = new("hugetlb", mode=1)
    p.slot_create(0, 0, 2, 1024, 1024)
    p.guest_write(0, slot_id=0, page=0)
    p.guest_write(0, slot_id=0, page=600)
    p.page_event("migrate", 2, 600)
    p.guest_read(0, slot_id=0, page=600)
    p.dontneed(2, 0, 512)
    p.guest_read(0, slot_id=0, page=0)
    p.munmap(2, 512, 512)
    p.access(0, R, slot_id=0, page=700)
    p.remap(2)
    p.access(0, W, slot_id=0, page=700)

    # Dirty logging, with and without manual protection.
    for manual in (0, 1, 2):
        p = new("dirty-log-manual%d" % manual, mode=manual % 2, manual=manual)
        p.slot_create(0, 0, 0, 1024, 0, flags=LOG)
        p.guest_write(0, slot_id=0, page=3)
        p.access(0, W, slot_id=0, page=700)
        p.get_log(0, 0)
        p.guest_write(0, slot_id=0, page=3)
        p.get_log(0, 0)
        p.clear_log(0, 0, [2**64 - 1] * 16)
        p.access_range(0, W, 20, slot_id=0, page=60)
        p.get_log(0, 0)
        p.slot_toggle_log(0, 0)
        p.access(0, W, slot_id=0, page=5)
        p.slot_toggle_log(0, 0)
        p.access(0, W, slot_id=0, page=6)
        p.get_log(0, 0)

    # Memslot changes under a running guest, read-only slots, SMM.
    p = new("slot-changes", mode=2, nr_vcpus=3, slot_zap=1)
    p.slot_create(0, 0, 0, 512, 0)
    p.slot_create(0, 1, 1, 512, 512, flags=RO)
    p.slot_create(1, 0, 0, 1024, 0)
    p.guest_write(0, slot_id=0, page=1)
    p.access(1, W, slot_id=1, page=1)
    p.access(1, R, slot_id=1, page=1)
    p.slot_toggle_ro(0, 1)
    p.smm_toggle(2)
    p.guest_read(2, slot_id=0, page=1)
    p.guest_write(2, slot_id=0, page=600)
    p.slot_move(0, 0, 4096)
    p.access(0, R, gfn=1)
    p.guest_read(0, slot_id=0, page=1)
    p.slot_delete(0, 1)
    p.access(1, R, gfn=513)
    p.zap_range(0, 4096, 512)
    p.zap_all_fast()
    p.guest_read(0, slot_id=0, page=1)
    p.slot_delete(0, 0)
    p.slot_delete(1, 0)

    # MMIO SPTEs across an MMIO generation wrap (the second slot update wraps),
    # in both MMUs: a stale MMIO SPTE must not survive the wrap.
    for legacy in (0, 1):
        p = new("mmio-gen-wrap-legacy%d" % legacy, mode=1, legacy=legacy, slot_zap=1,
                gen_wrap=2)
        p.access(0, R, gfn=8000)
        p.slot_create(0, 0, 0, 1024, 0)
        p.access(0, W, gfn=8000)
        p.guest_write(0, slot_id=0, page=3)
        p.slot_create(0, 1, 1, 512, 8000 - 8)
        p.guest_read(0, slot_id=1, page=8)
        p.access(0, W, gfn=9000)
        p.slot_toggle_log(0, 1)
        p.guest_read(0, slot_id=0, page=3)
        p.access(0, R, gfn=9000)

    # Events inside faults (race mode), on fresh pages so each access takes
    # the slow path: the fault must retry and see the host's new state.
    for legacy in (0, 1):
        p = new("fault-races-legacy%d" % legacy, mode=1, legacy=legacy, race=1)
        p.slot_create(0, 0, 1, 512, 0)
        p.access(0, W, slot_id=0, page=1, race=(0, "dontneed", (1, 1, 1)))
        p.access(0, R, slot_id=0, page=2, race=(1, "migrate", (1, 2)))
        p.access(0, W, slot_id=0, page=3, race=(1, "mprotect", (1, 1, 3, 1)))
        p.access(0, W, slot_id=0, page=3)
        p.access(0, R, slot_id=0, page=4, race=(0, "munmap", (1, 4, 1)))
        p.access(0, R, slot_id=0, page=5, race=(1, "zap_all_fast", ()))
        p.access(0, W, slot_id=0, page=6, race=(0, "swap_out", (1, 6)))
        p.guest_read(0, slot_id=0, page=1)
        p.guest_read(0, slot_id=0, page=6)

    # Aging, THP advice, yields.
    p = new("aging-yield", mode=2, resched=1)
    p.slot_create(0, 0, 0, 1024, 0)
    p.access_range(0, R, 24, slot_id=0, page=0)
    p.age(0)
    p.access(0, R, slot_id=0, page=3)
    p.age(0, clear=False)
    p.madv_hugepage(1, on=True)
    p.slot_create(0, 1, 1, 512, 1024)
    p.access_range(0, W, 24, slot_id=1, page=0)
    p.page_event("collapse_thp", 1, 0)
    p.madv_hugepage(0, on=False, first=0, n=512)
    p.guest_write(0, slot_id=0, page=0)
    p.zap_all_fast()
    p.access_range(0, R, 24, slot_id=0, page=500)

    # Host writes seen by the guest (COW of the zero page).
    p = new("host-cow", mode=0)
    p.slot_create(0, 0, 1, 512, 0)
    p.guest_read(0, slot_id=0, page=7)
    p.host_write(1, 7)
    p.guest_read(0, slot_id=0, page=7)
    p.guest_write(0, slot_id=0, page=7)
    p.host_read(1, 7)

    return [(name, p.data()) for name, p in out]


# ---------------------------------------------------------------------------
# fuzz_memslot_uapi

UAPI_OPS = ["set", "set_existing", "get_log", "clear_log", "manual", "probe"]


class UapiProgram:
    def __init__(self, root5=0, mode=1, legacy=0, gen_wrap=0):
        self.e = Enc()
        vm_config(self.e, legacy=legacy, mode=mode, root5=root5, gen_wrap=gen_wrap)

    def op(self, name):
        self.e.range(0, len(UAPI_OPS) - 1, UAPI_OPS.index(name))

    def set(self, as_id, sid, flags_idx, size, gpa_pages, region, hva_pages):
        """A KVM_SET_USER_MEMORY_REGION with small, valid-looking fields."""
        self.op("set")
        self.e.range(0, 3, 1).range(0, 3, 1).index(8, sid).range(0, 3, 1).index(2, as_id)
        self.e.range(0, 7, 1).index(6, flags_idx)
        if size == 0:
            self.e.range(0, 9, 0)
        else:
            self.e.range(0, 9, 7).range(1, 1024, size)
        self.e.range(0, 9, 5).range(0, 16383, gpa_pages)
        self.e.index(2, region).range(0, 9, 5).range(0, 2047, hva_pages)

    def set_raw(self, slot, flags, size_kind, gpa_kind, hva_kind):
        """Boundary values: the kinds index pick_size/pick_gpa/pick_hva's switches."""
        self.op("set")
        self.e.range(0, 3, 0).u32(slot)
        self.e.range(0, 7, 0).u32(flags)
        self.e.range(0, 9, size_kind)
        if size_kind == 1:
            self.e.range(0, 16, 1).range(1, 4095, 7)
        elif size_kind in (4, 5):
            self.e.u64(2**64 - 4096)
        elif size_kind == 6:
            self.e.range(1, 4, 1)
        elif size_kind >= 7:
            self.e.range(1, 1024, 16)
        self.e.range(0, 9, gpa_kind)
        if gpa_kind in (0, 1):
            self.e.u64(2**64 - 8192)
        elif gpa_kind == 2:
            self.e.range(1, 4095, 1)
        elif gpa_kind == 3:
            self.e.range(0, 1, 1)
        elif gpa_kind == 4:
            self.e.range(0, 2, 1)
        elif gpa_kind >= 5:
            self.e.range(0, 16383, 64)
        self.e.index(2, 0).range(0, 9, hva_kind)
        if hva_kind == 0:
            self.e.u64(2**47)
        elif hva_kind == 1:
            self.e.range(1, 4095, 1)
        elif hva_kind == 2:
            self.e.range(0, 1, 1)
        elif hva_kind >= 5:
            self.e.range(0, 2047, 0)

    def existing(self, as_id, idx, nr, how, gpa_pages=None):
        self.op("set_existing")
        self.e.index(2, as_id).index(nr, idx).range(0, 7, how)
        if how == 4:
            self.e.range(1, 8, 1)
        elif how >= 6:
            self.e.range(0, 9, 5).range(0, 16383, gpa_pages).bool(0)

    def get_log(self, as_id, idx, nr):
        self.op("get_log")
        self.e.index(2, as_id).range(0, 3, 1).index(nr, idx).range(0, 7, 1)

    def clear_log(self, as_id, idx, nr, npages):
        """The whole slot, from page 0."""
        self.op("clear_log")
        self.e.index(2, as_id).range(0, 3, 1).index(nr, idx).range(0, 7, 1)
        self.e.range(0, 3, 2).range(0, npages // 64, 0).bool(0)

    def manual(self, flags):
        self.op("manual")
        self.e.range(0, 3, 1).range(0, 3, flags)

    def probe(self, as_id, idx, nr, where, npages=1):
        """A read of slot idx's first page (where 0), last (1), one past (2), or page 0 (3)."""
        self.op("probe")
        self.e.index(2, as_id).range(0, 2, 0).range(0, 3, 1).index(nr, idx).range(0, 3, where)
        if where == 3:
            self.e.range(0, npages - 1, 0)

    def data(self):
        return self.e.data()


def uapi_seeds():
    rnd = random.Random(2)
    out = []
    for root5 in (0, 1):
        for legacy in (0, 1):
            p = UapiProgram(root5=root5, legacy=legacy, gen_wrap=2 if root5 else 0)
            p.set(0, 0, 0, 512, 0, 0, 0)          # create
            p.set(0, 1, 1, 256, 1024, 1, 0)       # create, dirty log
            p.set(1, 0, 2, 512, 0, 1, 512)        # create, read-only, SMM
            p.set(0, 2, 0, 16, 100, 0, 0)         # overlaps slot 0: -EEXIST
            p.probe(0, 0, 2, 0)
            p.probe(0, 0, 2, 2)
            p.get_log(0, 1, 2)
            p.clear_log(0, 1, 2, 256)
            p.existing(0, 0, 2, 0)                # no-op
            p.existing(0, 1, 2, 1)                # logging off
            p.existing(0, 0, 2, 2)                # READONLY toggle: -EINVAL
            p.existing(0, 0, 2, 6, 4096)          # move
            p.probe(0, 0, 2, 1)
            p.existing(0, 0, 2, 3)                # delete
            p.manual(3)
            p.set(0, 1, 1, 256, 1024, 1, 0)
            p.probe(1, 0, 1, 3, 512)
            out.append(("basic-root%d-legacy%d" % (5 if root5 else 4, legacy), p.data()))
    # Boundaries: ids, flags, sizes, addresses.
    for i, (slot, flags, sk, gk, hk) in enumerate([
            (32764, 0, 7, 5, 5), (32763, 0, 7, 5, 5), (0x10000 | 3, 0, 7, 5, 5),
            (0x20000, 0, 7, 5, 5), (0, 4, 7, 5, 5), (0, 0x80000000, 7, 5, 5),
            (0, 0, 1, 5, 5), (0, 0, 2, 5, 5), (0, 0, 3, 5, 5), (0, 0, 4, 5, 5),
            (0, 0, 7, 2, 5), (0, 0, 7, 3, 5), (0, 0, 7, 4, 5), (0, 0, 7, 1, 5),
            (0, 0, 7, 5, 1), (0, 0, 7, 5, 2), (0, 0, 7, 5, 0), (0, 0, 0, 5, 2),
            (0, 0, 0, 5, 0), (0, 0, 6, 3, 5)]):
        p = UapiProgram()
        p.set_raw(slot, flags, sk, gk, hk)
        p.set(0, 0, 0, 16, 0, 0, 0)
        p.set_raw(slot, flags, sk, gk, hk)
        out.append(("edge%02d" % i, p.data()))
    # Unstructured programs on each flavour.
    for mode in range(4):
        e = Enc()
        vm_config(e, mode=mode, root5=mode & 1)
        e.raw(bytes(rnd.randrange(256) for _ in range(400)))
        out.append(("random-mode%d" % mode, e.data()))
    return out


def main():
    write_seeds("fuzz_spte", spte_seeds())
    write_seeds("fuzz_mmu_ops", mmu_scenarios(False))
    write_seeds("fuzz_mmu_ops_failinj", mmu_scenarios(True))
    write_seeds("fuzz_memslot_uapi", uapi_seeds())
    for t in sorted(os.listdir(CORPUS)):
        print("%-24s %3d files" % (t, len(os.listdir(os.path.join(CORPUS, t)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
