# SPDX-License-Identifier: MIT
"""How LIO answers ERL 1/2 recovery PDUs (docs/design/recovery.md, "LIO").

A manual probe, not a CTest test: it drives the target "erl2" of the LIO
guest (../shared/tools/lio) with the hand-built initiator ttclient.py and
prints what comes back. Usage:

    LIO_PORT=13260 python3 tests/interop/lio_erl_probe.py SCENARIO...

Scenarios (each logs in afresh):
  reinstate-read   ERL 2, two connections; a read is cut after 3 Data-In;
                   CID 0 is reinstated (MaxConnections 3: LIO counts the
                   dead connection); TASK REASSIGN with ExpDataSN 3
  reinstate-write  the same for a write cut in the middle of an R2T
  alone            ERL 2, one connection; session continuation by
                   reinstating CID 0, then TASK REASSIGN
  unknown-task     TASK REASSIGN of an ITT the target does not have
  close-reissue    Logout reason 1 for the dead CID from the survivor,
                   then the read issued again as a new command
  snack            ERL 1 on one connection: Data SNACK, Status SNACK, the
                   A bit and DataACK, a Data-Out digest error
  logout2          Logout reason 2 from the survivor, TASK REASSIGN, then
                   one more command: CRASHES LIO 6.1 (kernel NULL pointer
                   dereference when the reassigned command is freed)
"""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ttclient import (DATA_IN, R2T, REJECT, SCSI_RSP, Conn, cdb_read10,  # noqa: E402
                      cdb_tur, cdb_write10)

PORT = int(os.environ.get("LIO_PORT", "13260"))
IQN = "iqn.2003-01.org.linux-iscsi.lio:erl2"
INI = "iqn.2026-11.org.mcsi:erlprobe"
KEYS = {"ErrorRecoveryLevel": "2", "MaxConnections": "3",
        "MaxRecvDataSegmentLength": "8192", "DefaultTime2Wait": "1",
        "DefaultTime2Retain": "20"}
WRITE_KEYS = dict(KEYS, InitialR2T="Yes", ImmediateData="No",
                  MaxBurstLength="16384", FirstBurstLength="8192")


def show(p):
    if p.opcode == DATA_IN:
        return "Data-In DataSN %d offset %d len %d flags 0x%02x TTT 0x%x" % (
            p.u32(36), p.u32(40), len(p.data), p.flags, p.u32(20))
    if p.opcode == R2T:
        return "R2T R2TSN %d offset %d len %d TTT 0x%x" % (
            p.u32(36), p.u32(40), p.u32(44), p.u32(20))
    if p.opcode == SCSI_RSP:
        return "SCSI Response status %d StatSN %d ExpDataSN %d" % (
            p.bhs[3], p.statsn, p.u32(36))
    if p.opcode == REJECT:
        return "Reject reason 0x%02x of opcode 0x%02x" % (
            p.bhs[2], p.data[0] & 0x3F if p.data else -1)
    return repr(p)


def drain(c, t=1.0):
    out = []
    try:
        while True:
            out.append(c.recv(timeout=t))
    except (OSError, EOFError):
        pass
    return out


def login(keys, isid=None, tsih=0, cid=0, cmdsn=None):
    c = Conn("127.0.0.1", PORT, timeout=10)
    c.login(INI, IQN, isid=isid, tsih=tsih, cid=cid, cmdsn=cmdsn,
            keys=keys if tsih == 0 else {"MaxRecvDataSegmentLength": "8192"})
    if cmdsn is not None:
        c.cmdsn = cmdsn
    # ITTs are session-wide: keep each connection's out of the others'
    # (a TMF with the ITT of the task it reassigns confuses LIO).
    login.base = getattr(login, "base", 0) + 0x1000
    c.itt = login.base
    return c


def pair(keys):
    a = login(keys)
    time.sleep(0.2)           # qemu's forwarded port: not two at once
    b = login(keys, isid=a.isid, tsih=a.tsih, cid=1, cmdsn=a.cmdsn)
    return a, b


def end(c):
    print("TEST UNIT READY (acknowledges every status):", c.scsi(cdb_tur())[0])
    time.sleep(0.5)
    print("session logout:", c.logout(0).bhs[2])
    c.close()


def cut_read(a, pat, lba=0, keep=3):
    """Writes pat, starts reading it back and drops the connection after
    keep Data-In PDUs. Returns (itt, received PDUs)."""
    print("write:", a.scsi(cdb_write10(lba, len(pat) // 512), data=pat)[0])
    bhs, itt = a.cmd_bhs(cdb_read10(lba, len(pat) // 512), edtl=len(pat), read=True)
    a.send(bhs)
    got = [a.recv() for _ in range(keep)]
    for p in got:
        print("  before the cut:", show(p))
    a.close()
    return itt, got


def reassign(c, itt, expdatasn, got, pat):
    r = c.tmf(8, ref_itt=itt, expdatasn=expdatasn)
    print("TASK REASSIGN ExpDataSN %d -> response %d" % (expdatasn, r))
    data = bytearray(len(pat))
    for p in got + drain(c, 2.0):
        if p not in got and (p.opcode != DATA_IN or p.flags & 0x41):
            print("  after:", show(p))
        if p.opcode == DATA_IN:
            data[p.u32(40):p.u32(40) + len(p.data)] = p.data
    print("data intact:", bytes(data) == pat)


def reinstate_read():
    a, b = pair(KEYS)
    pat = bytes((i * 7) & 0xFF for i in range(65536))
    itt, got = cut_read(a, pat)
    time.sleep(2.0)                     # Time2Wait (LIO: 2)
    c = login(KEYS, isid=a.isid, tsih=a.tsih, cid=0, cmdsn=a.cmdsn)
    print("CID 0 reinstated, login ExpCmdSN %d" % c.cmdsn)
    reassign(c, itt, 3, got, pat)
    b.close()
    end(c)


def reinstate_write():
    a, b = pair(WRITE_KEYS)
    pat = bytes((i * 13 + 5) & 0xFF for i in range(65536))
    bhs, itt = a.cmd_bhs(cdb_write10(512, 128), edtl=65536, write=True)
    a.send(bhs)
    r2t = a.recv()
    print("  before the cut:", show(r2t))
    a.answer_r2t(r2t, pat)
    r2t = a.recv()
    print("  before the cut:", show(r2t))
    # Half of R2T 1, then the connection dies.
    d = bytearray(48)
    d[0] = 0x05
    d[5:8] = (8192).to_bytes(3, "big")
    struct.pack_into(">II", d, 16, itt, r2t.u32(20))
    struct.pack_into(">I", d, 28, a.expstatsn)
    struct.pack_into(">II", d, 36, 0, r2t.u32(40))
    a.send(d, pat[r2t.u32(40):r2t.u32(40) + 8192])
    time.sleep(0.2)
    a.close()
    time.sleep(2.0)
    c = login(WRITE_KEYS, isid=a.isid, tsih=a.tsih, cid=0, cmdsn=a.cmdsn)
    print("TASK REASSIGN ExpDataSN 2 (next R2TSN) -> response %d"
          % c.tmf(8, ref_itt=itt, expdatasn=2))
    while True:
        p = c.recv(timeout=3)
        print("  after:", show(p))
        if p.opcode == R2T:
            c.answer_r2t(p, pat)
        elif p.opcode == SCSI_RSP:
            break
    st, got, _ = c.scsi(cdb_read10(512, 128), edtl=65536, read=True)
    print("read back intact:", got == pat)
    b.close()
    end(c)


def alone():
    """LIO_READ_KIB sets the read's size (64)."""
    size = int(os.environ.get("LIO_READ_KIB", "64")) * 1024
    a = login(dict(KEYS, MaxConnections="1"))
    pat = bytes((i * 3) & 0xFF for i in range(size))
    keep = min(3, size // 8192)
    itt, got = cut_read(a, pat, lba=64, keep=keep)
    time.sleep(2.2)
    c = login(KEYS, isid=a.isid, tsih=a.tsih, cid=0, cmdsn=a.cmdsn)
    print("continued with TSIH %d (was %d), ExpCmdSN %d" % (c.tsih, a.tsih, c.cmdsn))
    # ExpDataSN = every Data-In received makes LIO fail ("read_data_left
    # is zero") and drop the connection: ask for the last one again.
    reassign(c, itt, keep - 1 if keep * 8192 >= size else keep, got, pat)
    end(c)


def unknown_task():
    c = login(KEYS)
    print("TASK REASSIGN of unknown ITT 0x7777 -> response %d"
          % c.tmf(8, ref_itt=0x7777, expdatasn=0))
    end(c)


def close_reissue():
    a, b = pair(KEYS)
    pat = bytes((i * 11) & 0xFF for i in range(65536))
    cut_read(a, pat)
    b.cmdsn = a.cmdsn
    time.sleep(0.3)
    lo = b.logout(1, cid=0)
    print("Logout reason 1 for CID 0 -> response %d, ExpCmdSN %d" % (lo.bhs[2], lo.expcmdsn))
    st, got, _ = b.scsi(cdb_read10(0, 128), edtl=65536, read=True)
    print("issued again: status %d, intact %s" % (st, got == pat))
    end(b)


def snack():
    a = login(dict(KEYS, MaxConnections="1", ErrorRecoveryLevel="1",
                   HeaderDigest="CRC32C", DataDigest="CRC32C",
                   ImmediateData="No", InitialR2T="Yes"))
    bhs, itt = a.cmd_bhs(cdb_read10(0, 128), edtl=65536, read=True)
    a.send(bhs)
    ps = []
    while not ps or not (ps[-1].opcode == SCSI_RSP or ps[-1].flags & 1):
        ps.append(a.recv())
    print("last Data-In:", show(ps[-1]))
    a.expstatsn = ps[-1].statsn          # hold the acknowledgment
    a.snack(0, itt=itt, begrun=2, runlength=2)
    for p in drain(a, 1.0):
        print("Data SNACK 2+2 ->", show(p), "replica:", p.data == ps[p.u32(36)].data)
    a.snack(1, begrun=ps[-1].statsn, runlength=1)
    for p in drain(a, 1.0):
        print("Status SNACK ->", show(p))
    a.expstatsn = ps[-1].statsn + 1
    bhs, itt = a.cmd_bhs(cdb_read10(0, 4096), edtl=2 << 20, read=True)
    a.send(bhs)
    while True:
        p = a.recv()
        if p.flags & 0x40 or p.flags & 1:
            print("long read:", show(p))
        if p.flags & 1 or p.opcode == SCSI_RSP:
            break
    a.snack(2, begrun=p.u32(36) + 1, ttt=p.u32(20))
    print("DataACK ->", [show(x) for x in drain(a, 0.5)] or "nothing")
    new = bytes([0x5A]) * 16384
    bhs, itt = a.cmd_bhs(cdb_write10(1000, 32), edtl=16384, write=True)
    a.send(bhs)
    r2t, _ = a.recv_until(R2T, itt=itt)
    a.target_mrdsl = 8192
    a.answer_r2t(r2t, new, bad_dd_at=1)
    while True:
        x = a.recv(timeout=3)
        print("after a Data-Out digest error:", show(x))
        if x.opcode == R2T:
            a.answer_r2t(x, new)
        if x.opcode == SCSI_RSP:
            break
    print("read back intact:", a.scsi(cdb_read10(1000, 32), edtl=16384, read=True)[1] == new)
    end(a)


def logout2():
    a, b = pair(KEYS)
    pat = bytes((i * 5) & 0xFF for i in range(65536))
    itt, got = cut_read(a, pat)
    b.cmdsn = a.cmdsn                   # CmdSN is session-wide
    time.sleep(0.3)
    lo = b.logout(2, cid=0)
    print("Logout reason 2 -> response %d Time2Wait %d Time2Retain %d"
          % ((lo.bhs[2],) + struct.unpack_from(">HH", lo.bhs, 40)))
    time.sleep(2.0)
    reassign(b, itt, 3, got, pat)
    end(b)                              # LIO 6.1 crashes here


SCENARIOS = {"reinstate-read": reinstate_read, "reinstate-write": reinstate_write,
             "alone": alone, "unknown-task": unknown_task,
             "close-reissue": close_reissue, "snack": snack, "logout2": logout2}

if __name__ == "__main__":
    if len(sys.argv) < 2 or any(s not in SCENARIOS for s in sys.argv[1:]):
        sys.exit(__doc__)
    for name in sys.argv[1:]:
        print("== " + name)
        SCENARIOS[name]()
