#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the hand-made seed inputs of the fuzz targets into fuzz/corpus/.

Run it after changing a target's input format; the files it writes are
checked in. Regression inputs (regress-*) are never touched here."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_frame: selector byte (0 = default maximum), then a stream -------
def frame(payload, version=1, reserved=0, magic=b"hf", length=None):
    n = len(payload) if length is None else length
    return magic + bytes([version, reserved]) + struct.pack("<I", n) + payload


put("fuzz_frame", "two-frames.bin", b"\x00" + frame(b"hello") + frame(b""))
put("fuzz_frame", "truncated-payload.bin", b"\x00" + frame(b"abc", length=9))
put("fuzz_frame", "truncated-header.bin", b"\x00" + frame(b"")[:5])
put("fuzz_frame", "bad-magic.bin", b"\x00" + frame(b"x", magic=b"hg"))
put("fuzz_frame", "bad-version.bin", b"\x00" + frame(b"x", version=2))
put("fuzz_frame", "bad-reserved.bin", b"\x00" + frame(b"x", reserved=1))
put("fuzz_frame", "over-max.bin", b"\x02" + frame(b"123456789"))
put("fuzz_frame", "max-too-big.bin", b"\x06" + frame(b"x"))
put("fuzz_frame", "custom-max.bin",
    b"\x07" + struct.pack("<I", 3) + frame(b"abc") + frame(b"abcd"))
put("fuzz_frame", "huge-length.bin", b"\x00" + frame(b"", length=0xffffffff))

# ---- fuzz_shm_header: flags, segment size (u64), header bytes -------------
FINGERPRINT = (8 << 24) | (1 << 16) | 64


def header(magic=0x43504948, version=1, fp=FINGERPRINT, tag=7, requested=100,
           offset=64, start=12345, pid=42, r0=0, r1=0, r2=0):
    h = struct.pack("<IIIIQQQiIQI", magic, version, fp, tag, requested,
                    offset, start, pid, r0, r1, r2)
    s = 2166136261
    for b in h[4:60]:
        s = ((s ^ b) * 16777619) & 0xffffffff
    return h + struct.pack("<I", s)


def shmh(flags, seg, h):
    return bytes([flags]) + struct.pack("<Q", seg) + h


put("fuzz_shm_header", "valid.bin", shmh(0, 164, header()))
put("fuzz_shm_header", "valid-fixup.bin", shmh(1, 4096, header(requested=4032)))
put("fuzz_shm_header", "zero-magic.bin", shmh(0, 4096, bytes(64)))
put("fuzz_shm_header", "swapped-magic.bin", shmh(1, 4096, header(magic=0x48495043)))
put("fuzz_shm_header", "foreign.bin", shmh(0, 4096, b"GARBAGE!" * 8))
put("fuzz_shm_header", "version-2.bin", shmh(1, 4096, header(version=2)))
put("fuzz_shm_header", "other-abi.bin", shmh(1, 4096, header(fp=(4 << 24) | (1 << 16) | 64)))
put("fuzz_shm_header", "requested-too-big.bin", shmh(1, 164, header(requested=101)))
put("fuzz_shm_header", "short-segment.bin", shmh(1, 60, header()))
put("fuzz_shm_header", "short-buffer.bin", shmh(1, 4096, header()[:40]))
put("fuzz_shm_header", "reserved-set.bin", shmh(1, 4096, header(r1=1)))
put("fuzz_shm_header", "bad-pid.bin", shmh(1, 4096, header(pid=0)))

# ---- fuzz_shm_seq: opcode byte + operands (see fuzz_shm_seq.c) ------------
def create(slot, key, size, flags=0, mode=0, tag=0, fresh=False):
    return bytes([1 if fresh else 0, slot, key]) + struct.pack(
        "<HBHI", size, flags, mode, tag)


def open_key(slot, key, flags=0):
    return bytes([2, slot, key, 0, flags])


def open_id(slot, of_slot, flags=0):
    return bytes([3, slot, of_slot, 0, flags])


def attach(slot, flags=0):
    return bytes([4, slot, flags])


def simple(op, slot):
    return bytes([{"detach": 5, "remove": 6, "close": 7, "stat": 8}[op], slot])


def write(slot, off, data, header=False):
    return bytes([12 if header else 11, slot]) + struct.pack("<HB", off, len(data)) + data


put("fuzz_shm_seq", "share-and-remove.bin",
    create(0, 1, 100, tag=9) + open_key(1, 1) + write(0, 5, b"ABCDEFGH")
    + write(1, 0, b"xyz") + simple("stat", 0) + simple("remove", 0)
    + simple("detach", 1) + attach(1) + open_id(2, 0) + simple("close", 0))
put("fuzz_shm_seq", "raw-views.bin",
    create(0, 2, 300, flags=0x02) + open_key(1, 2, flags=0x02)
    + open_key(2, 2, flags=0x03) + write(0, 10, b"raw!") + simple("stat", 2))
put("fuzz_shm_seq", "header-scribble.bin",
    create(0, 3, 64) + open_key(1, 3, flags=0x02) + write(1, 8, b"\xff\xff", header=True)
    + open_key(2, 3) + open_id(3, 0, flags=0x20))
put("fuzz_shm_seq", "remove-on-attach.bin",
    create(0, 4, 4096, flags=0x04) + open_id(1, 0) + simple("detach", 0)
    + attach(0) + bytes([9, 0]) + bytes([10, 0x80]))
put("fuzz_shm_seq", "no-attach-then-attach.bin",
    create(0, 5, 12000, flags=0x20 | 0x10, mode=0o640) + attach(0, 0x01)
    + open_key(1, 5, flags=0x20) + attach(1) + write(1, 11999, b"end"))
put("fuzz_shm_seq", "fresh-and-limits.bin",
    create(0, 6, 1000, fresh=True) + create(1, 6, 1000, fresh=True)
    + create(2, 0, 0xf005) + create(3, 7, 0xf000) + bytes([13]))
put("fuzz_shm_seq", "bad-arguments.bin",
    create(0, 1, 0) + create(0, 1, 10, flags=0x40) + create(0, 1, 10, mode=0o777)
    + create(0, 1, 10, mode=0o1600) + attach(0) + simple("close", 0)
    + simple("stat", 1) + bytes([9, 0xc0, 0xff, 0xff, 0xff, 0xff]))
put("fuzz_shm_seq", "closed-handle.bin",
    create(0, 1, 10) + simple("close", 0) + simple("close", 0) + attach(0)
    + simple("remove", 0) + simple("stat", 0) + simple("detach", 0))

# ---- fuzz_inspect_parse: chunk pattern, cap, /proc/sysvipc/shm text -------
HDR16 = ("       key      shmid perms                  size  cpid  lpid nattch"
         "   uid   gid  cuid  cgid      atime      dtime      ctime"
         "                   rss                  swap\n")
HDR14 = HDR16.rsplit("  ctime", 1)[0] + "  ctime\n"


def row(key, shmid, perms, size, cpid=100, lpid=0, nattch=0, uid=0, atime=0,
        ctime=1795564629, rss=None, swap=0):
    s = "%10d %10d  %4o %21d %5d %5d  %5d %5d %5d %5d %5d %10d %10d %10d" % (
        key, shmid, perms, size, cpid, lpid, nattch, uid, uid, uid, uid,
        atime, 0, ctime)
    if rss is not None:
        s += " %21d %21d" % (rss, swap)
    return s + "\n"


def table(p, cap, text):
    return bytes([p, cap]) + text.encode()


put("fuzz_inspect_parse", "two-segments.bin", table(3, 4,
    HDR16 + row(1376274062, 0, 0o644, 100, rss=0)
    + row(-475521506, 32769, 0o1640, 4096, nattch=2, lpid=7, rss=4096)))
put("fuzz_inspect_parse", "old-kernel-14-columns.bin", table(1, 1,
    HDR14 + row(0, 5, 0o2600, 1, uid=1000) + row(2147483647, 6, 0o600, 65536)))
put("fuzz_inspect_parse", "header-only.bin", table(9, 0, HDR16))
put("fuzz_inspect_parse", "no-final-newline.bin", table(0, 2,
    HDR16 + row(1, 1, 0o600, 10, rss=0)[:-1]))
put("fuzz_inspect_parse", "column-mismatch.bin", table(5, 2,
    HDR14 + row(1, 1, 0o600, 10, rss=0)))
put("fuzz_inspect_parse", "bad-header.bin", table(2, 2,
    HDR16.replace("shmid", "shmjd") + row(1, 1, 0o600, 10, rss=0)))
put("fuzz_inspect_parse", "extremes.bin", table(63, 3,
    HDR16 + row(-2147483648, 2147483647, 0o3777, 18446744073709551615,
                cpid=4194304, nattch=18446744073709551615, uid=4294967294,
                atime=9223372036854775807, rss=18446744073709551615,
                swap=18446744073709551615)))
put("fuzz_inspect_parse", "overflow.bin", table(4, 1,
    HDR16 + row(1, 2147483648, 0o600, 10, rss=0)))
put("fuzz_inspect_parse", "long-line.bin", table(200, 1,
    HDR16 + " " * 600 + row(1, 1, 0o600, 10, rss=0)))


def inspect(kind, flags=0, cap=8, extra=b""):
    return bytes([14, kind | (flags << 2), cap]) + extra


put("fuzz_shm_seq", "inspect-list-find-gc.bin",
    create(0, 1, 100) + create(1, 2, 200, flags=0x02 | 0x20)
    + create(2, 3, 300, flags=0x20) + open_key(3, 1, flags=0x01)
    + inspect(0) + inspect(0, cap=1) + inspect(0, flags=1)
    + inspect(1, extra=bytes([0])) + inspect(1, extra=bytes([2]))
    + inspect(2, flags=2) + inspect(2) + simple("remove", 0) + inspect(0)
    + inspect(0, flags=4))

# ---- fuzz_pipe_seq: opcode byte + operands (see fuzz_pipe_seq.c) ----------
def p_create(slot, flags=0):
    return bytes([0, slot, flags])


def p_raw(nb=0):
    return bytes([1, nb])


def p_adopt(slot, src, end, flags=0):
    return bytes([2, slot, src, end, flags])


def p_write(slot, n, kind=0, timeout=1):
    return bytes([3, slot, kind]) + struct.pack("<H", n) + bytes([timeout])


def p_read(slot, n, kind=0, timeout=1):
    return bytes([4, slot, kind]) + struct.pack("<H", n) + bytes([timeout])


def p_send(slot, n, maxsel=3):
    return bytes([5, slot, maxsel]) + struct.pack("<H", n)


def p_recv(slot, maxsel=3, capsel=0xff):
    return bytes([6, slot, maxsel, capsel])


def p_close(slot, end=None):
    return bytes([7, slot, 0 if end is None else 0x80 + end])


def p_cap(slot, size=None):
    return bytes([8, slot, 0]) if size is None else bytes([8, slot, 1]) + struct.pack("<H", size)


def p_pending(slot):
    return bytes([9, slot])


def p_raw_io(idx, n, close=False):
    return bytes([10, idx, 0xc0 if close else 0]) + struct.pack("<H", n)


def p_misc(slot, sel):
    return bytes([11, slot, sel])


put("fuzz_pipe_seq", "write-read-in-order.bin",
    p_create(0) + p_write(0, 100) + p_write(0, 3000) + p_pending(0)
    + p_read(0, 50) + p_read(0, 1000, kind=1) + p_read(0, 4000, kind=2, timeout=3)
    + p_read(0, 10, kind=3, timeout=2) + p_cap(0) + p_misc(0, 1) + p_misc(0, 0x80))
put("fuzz_pipe_seq", "eof-truncated-peer-gone.bin",
    p_create(0) + p_write(0, 10) + p_close(0, 2) + p_read(0, 20) + p_read(0, 5)
    + p_create(1) + p_close(1, 1) + p_write(1, 10) + p_send(1, 5))
put("fuzz_pipe_seq", "frames.bin",
    p_create(0) + p_send(0, 0) + p_send(0, 100) + p_send(0, 300, maxsel=1)
    + p_recv(0) + p_recv(0) + p_recv(0, maxsel=4) + p_recv(0, capsel=0)
    + p_write(0, 8) + p_recv(0))
put("fuzz_pipe_seq", "adopt-raw-ends.bin",
    p_raw(0) + p_adopt(0, 0, 1) + p_adopt(1, 1, 2, flags=4) + p_write(1, 500)
    + p_read(0, 500) + p_raw(1) + p_adopt(2, 0, 1) + p_adopt(3, 0, 1)
    + p_raw_io(1, 77) + p_read(2, 33, kind=1) + p_raw_io(1, 0, close=True)
    + p_read(2, 100, kind=0) + p_raw(0) + p_raw_io(1, 100) + p_raw_io(0, 60))
put("fuzz_pipe_seq", "adopt-bad-descriptors.bin",
    p_adopt(0, 0xc0, 1) + p_adopt(0, 0xc1, 2) + p_adopt(0, 0xc2, 1)
    + p_adopt(0, 0xc3, 1) + p_adopt(0, 0xc4, 1) + p_adopt(0, 5, 1)
    + p_adopt(0, 0, 3) + p_adopt(0, 0, 1, flags=1))
put("fuzz_pipe_seq", "nonblock-full.bin",
    p_create(0, flags=1) + p_write(0, 8192) * 9 + p_pending(0)
    + p_read(0, 8192) * 10 + p_read(0, 1, kind=1))
put("fuzz_pipe_seq", "capacity.bin",
    p_create(0) + p_cap(0, 4096) + p_write(0, 1000) + p_cap(0, 1)
    + p_cap(0, 0xf000) + p_cap(0, 0xf001) + p_cap(0, 0xf002) + p_cap(0, 40000)
    + p_cap(0) + p_read(0, 1000))
put("fuzz_pipe_seq", "direct-packets.bin",
    p_create(0, flags=2) + p_write(0, 5000) + p_read(0, 100, kind=2)
    + p_read(0, 100, kind=3, timeout=0) + p_send(0, 10) + p_recv(0))
put("fuzz_pipe_seq", "sigpipe-ignored.bin",
    p_create(0, flags=4) + p_close(0, 1) + p_write(0, 100) + p_send(0, 3)
    + p_write(0, 10, kind=1, timeout=0))
put("fuzz_pipe_seq", "closed-and-garbage.bin",
    p_write(3, 1) + p_create(0) + p_close(0) + p_close(0) + p_read(0, 1)
    + p_cap(0) + p_pending(0) + p_misc(0, 1) + p_create(0, flags=8))
