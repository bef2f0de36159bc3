# SPDX-License-Identifier: MIT
"""mcsi-testtarget's paths beyond libiscsi's reach, driven by ttclient.py:
CHAP with every algorithm and mutual CHAP, MC/S ordering and limits,
ERL 1/2 recovery, redirection, run-time LUN changes and fault injection.
Usage: testtarget_erl.py PATH/TO/mcsi-testtarget. Exit 0 pass, 1 fail."""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ttclient import (ASYNC, DATA_IN, LOGOUT_RSP, NOP_IN, R2T, REJECT, SCSI_RSP,  # noqa: E402
                      Conn, LoginError, cdb_read10, cdb_readcap16, cdb_report_luns,
                      cdb_tur, cdb_write10, sense_of)

BIN = sys.argv[1]
IQN = "iqn.2026-11.org.mcsi:testtarget"
INI = "iqn.2026-11.org.mcsi:ttclient"
FAILS = []
STARTED = []        # targets to stop even when a test raises


class Target:
    def __init__(self, *args, portals=("127.0.0.1:0",)):
        self.dir = tempfile.mkdtemp()
        self.ctl = os.path.join(self.dir, "ctl")
        cmd = [BIN, "--port-file", self.dir + "/port", "--pidfile", self.dir + "/pid",
               "--control", self.ctl, "-v"]
        for p in portals:
            cmd += ["--portal", p]
        self.log = open(self.dir + "/log", "w")
        extra = os.environ.get("TT_EXTRA_ARGS", "").split()
        self.proc = subprocess.Popen(cmd + extra + list(args), stdout=self.log, stderr=self.log)
        STARTED.append(self.proc)
        for _ in range(200):
            if os.path.exists(self.ctl) and os.path.getsize(self.dir + "/port") if \
                    os.path.exists(self.dir + "/port") else False:
                break
            time.sleep(0.02)
        lines = open(self.dir + "/port").read().split("\n")
        self.ports = [int(l.split()[0]) for l in lines if l]
        self.port = self.ports[0]

    def control(self, line):
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.ctl)
        s.sendall(line.encode() + b"\n")
        out = s.recv(4096).decode().strip()
        s.close()
        return out

    def conn(self, port=None):
        return Conn("127.0.0.1", port or self.port)

    def stop(self):
        self.proc.terminate()
        rc = self.proc.wait(10)
        self.log.close()
        log = open(self.dir + "/log").read()
        if rc != 0:
            FAILS.append("target exit status %d" % rc)
            print(log[-3000:])
        return log


def check(name, cond, detail=""):
    if cond:
        print("ok   " + name)
    else:
        print("FAIL " + name + (": " + str(detail) if detail else ""))
        FAILS.append(name)


def login_status(fn):
    try:
        fn()
        return 0
    except LoginError as e:
        return e.status


def test_chap():
    t = Target("--chap", "iuser:isecret-123", "--mutual", "tuser:tsecret-456")
    for alg, name in ((5, "MD5"), (6, "SHA-1"), (7, "SHA-256"), (8, "SHA3-256")):
        c = t.conn()
        try:
            c.login(INI, IQN, chap=("iuser", "isecret-123"), algs=str(alg))
            st, _, _ = c.scsi(cdb_tur())
            check("CHAP %s one-way" % name, st == 0)
        except Exception as e:  # noqa: BLE001
            check("CHAP %s one-way" % name, False, e)
        c.close()
        c = t.conn()
        try:
            c.login(INI, IQN, chap=("iuser", "isecret-123"), algs=str(alg),
                    mutual=("tuser", "tsecret-456"))
            check("CHAP %s mutual: target's response verified" % name, True)
        except Exception as e:  # noqa: BLE001
            check("CHAP %s mutual" % name, False, e)
        c.close()
    c = t.conn()
    st = login_status(lambda: c.login(INI, IQN, chap=("iuser", "wrong"), algs="7"))
    check("CHAP wrong secret: 0x0201", st == 0x0201, hex(st))
    c.close()
    c = t.conn()
    st = login_status(lambda: c.login(INI, IQN, chap=("iuser", "isecret-123"), algs="7",
                                      mutual=("tuser", "not-the-target-secret")))
    check("mutual CHAP with a wrong expected secret is detected", st == -3, st)
    c.close()
    c = t.conn()
    try:
        c.login(INI, IQN, chap=("iuser", "isecret-123"), algs="7", auth_offer="CHAP,None")
        check("AuthMethod=CHAP,None: CHAP chosen when required", True)
    except Exception as e:  # noqa: BLE001
        check("AuthMethod=CHAP,None", False, e)
    c.close()
    c = t.conn()
    st = login_status(lambda: c.login(INI, IQN))
    check("CHAP required, only None offered: 0x0201", st == 0x0201, hex(st))
    c.close()
    c = t.conn()
    try:
        c.login(INI, None, discovery=True, auth_offer="CHAP,None")
        check("discovery without --chap-discovery: None chosen", True)
    except Exception as e:  # noqa: BLE001
        check("discovery without --chap-discovery", False, e)
    c.close()
    # Order: the initiator's first supported algorithm wins.
    c = t.conn()
    try:
        c.login(INI, IQN, chap=("iuser", "isecret-123"), algs="8,5")
        check("CHAP_A list: first offered wins", True)
    except Exception as e:  # noqa: BLE001
        check("CHAP_A list", False, e)
    c.close()
    t.stop()


def test_mcs():
    t = Target("--max-connections", "2", "--erl", "2")
    a = t.conn()
    ka = a.login(INI, IQN, keys={"MaxConnections": "4", "ErrorRecoveryLevel": "2"})
    check("MaxConnections negotiated to the target's 2", ka.get("MaxConnections") == "2", ka)
    check("ERL 2 negotiated", ka.get("ErrorRecoveryLevel") == "2", ka)
    b = t.conn()
    b.login(INI, IQN, isid=a.isid, tsih=a.tsih, cid=1)
    check("non-leading login joins (same TSIH)", b.tsih == a.tsih)
    b.cmdsn = a.cmdsn
    # CmdSN n+1 on B must wait for n on A.
    n = a.cmdsn
    bhs, itt_b = b.cmd_bhs(cdb_tur(), cmdsn=(n + 1) & 0xFFFFFFFF)
    b.send(bhs)
    early = None
    try:
        early = b.recv(timeout=0.4)
    except socket.timeout:
        pass
    check("command ahead in CmdSN is held", early is None, early)
    bhs, itt_a = a.cmd_bhs(cdb_tur(), cmdsn=n)
    a.send(bhs)
    ra = a.recv()
    rb = b.recv()
    check("held command runs once the gap is filled",
          ra.opcode == SCSI_RSP and rb.opcode == SCSI_RSP and rb.itt == itt_b, (ra, rb))
    check("ExpCmdSN is session-wide", rb.expcmdsn == (n + 2) & 0xFFFFFFFF, rb.expcmdsn)
    a.cmdsn = b.cmdsn = (n + 2) & 0xFFFFFFFF
    c = t.conn()
    st = login_status(lambda: c.login(INI, IQN, isid=a.isid, tsih=a.tsih, cid=2))
    check("MaxConnections enforced: 0x0206", st == 0x0206, hex(st))
    c.close()
    # Connection reinstatement: a new login with CID 1 replaces B.
    d = t.conn()
    d.login(INI, IQN, isid=a.isid, tsih=a.tsih, cid=1)
    gone = False
    try:
        b.recv(timeout=2)
    except (EOFError, ConnectionResetError):
        gone = True
    except socket.timeout:
        pass
    check("connection reinstatement closes the old CID 1", gone)
    d.cmdsn = a.cmdsn
    st, _, _ = d.scsi(cdb_tur())
    check("reinstated connection works", st == 0)
    a.cmdsn = d.cmdsn
    rsp = d.logout(1, cid=0)
    check("logout of another CID (reason 1)", rsp.bhs[2] == 0, rsp.bhs[2])
    # Session reinstatement: a leading login with the same ISID.
    e = t.conn()
    e.login(INI, IQN, isid=a.isid)
    check("session reinstatement gives a new TSIH", e.tsih != a.tsih)
    for x in (a, b, d, e):
        x.close()
    t.stop()


def test_erl1():
    t = Target("--erl", "1", "--lun", "0:ram:8M")
    c = t.conn()
    c.login(INI, IQN, keys={"ErrorRecoveryLevel": "1", "MaxRecvDataSegmentLength": "4096",
                            "HeaderDigest": "CRC32C", "DataDigest": "CRC32C",
                            "ImmediateData": "No"})
    check("digests negotiated", c.hd and c.dd)
    data = bytes(range(256)) * 64        # 16 KiB
    st, _, _ = c.scsi(cdb_write10(100, 32), data=data)
    check("write via R2T", st == 0)
    # Status SNACK: the last response again, same StatSN.
    st, _, rsp = c.scsi(cdb_tur())
    c.snack(1, begrun=rsp.statsn, runlength=1)
    again = c.recv()
    check("Status SNACK resends the status", again.opcode == SCSI_RSP and
          again.statsn == rsp.statsn and again.itt == rsp.itt, again)
    # Data SNACK: Data-In PDUs 1 and 2 of a 4-PDU read again.
    st, got, last = c.scsi(cdb_read10(100, 32), edtl=16384, read=True)
    check("read back", st == 0 and got == data)
    # A real initiator asks before acknowledging the status (ExpStatSN).
    c.expstatsn = last.statsn
    c.snack(0, itt=last.itt, begrun=1, runlength=2)
    p1, p2 = c.recv(), c.recv()
    check("Data SNACK resends DataSN 1-2", p1.opcode == DATA_IN and p1.u32(36) == 1 and
          p2.u32(36) == 2 and p1.data == data[4096:8192], (p1, p2))
    # R-Data SNACK: every Data-In again, then the status with the SNACK tag.
    c.expstatsn = last.statsn
    c.snack(3, itt=last.itt, ttt=0x1234)
    again = [c.recv() for _ in range(4)]
    rsp = c.recv()
    check("R-Data SNACK resends all Data-In", [p.u32(36) for p in again] == [0, 1, 2, 3] and
          b"".join(p.data for p in again) == data, again)
    check("R-Data SNACK: status carries the SNACK tag", rsp.opcode == SCSI_RSP and
          rsp.u32(20) == 0x1234, rsp)
    c.expstatsn = rsp.statsn + 1
    # R2T SNACK: the same R2T again.
    bhs, itt = c.cmd_bhs(cdb_write10(400, 8), edtl=4096, write=True)
    c.send(bhs)
    r2t, _ = c.recv_until(R2T, itt=itt)
    c.snack(0, itt=itt, begrun=0, runlength=1)
    r2t2, _ = c.recv_until(R2T, itt=itt)
    check("R2T SNACK resends the R2T", r2t2.u32(20) == r2t.u32(20) and r2t2.u32(36) == 0 and
          r2t2.u32(44) == 4096, r2t2)
    c.answer_r2t(r2t2, bytes(4096))
    fin, _ = c.recv_until(SCSI_RSP, itt=itt)
    check("write after R2T SNACK completes", fin.bhs[3] == 0)
    # Recovery R2T after a Data-Out digest error.
    new = bytes([0xA5]) * 8192
    bhs, itt = c.cmd_bhs(cdb_write10(200, 16), edtl=8192, write=True)
    c.send(bhs)
    r2t, _ = c.recv_until(R2T, itt=itt)
    c.target_mrdsl = 4096                # two Data-Out PDUs; the second is damaged
    c.answer_r2t(r2t, new, bad_dd_at=1)
    rej, _ = c.recv_until(REJECT)
    check("Data-Out digest error: Reject 0x02", rej.bhs[2] == 0x02, rej.bhs[2])
    rec, _ = c.recv_until(R2T, itt=itt)
    check("recovery R2T for the damaged range", rec.u32(40) == 4096 and rec.u32(44) == 4096,
          (rec.u32(40), rec.u32(44)))
    c.answer_r2t(rec, new)
    fin, _ = c.recv_until(SCSI_RSP, itt=itt)
    st, got, _ = c.scsi(cdb_read10(200, 16), edtl=8192, read=True)
    check("recovered write reads back", fin.bhs[3] == 0 and got == new)
    c.close()
    t.stop()


def test_erl2():
    t = Target("--erl", "2", "--time2wait", "1", "--time2retain", "9", "--initial-r2t", "yes")
    a = t.conn()
    a.login(INI, IQN, keys={"ErrorRecoveryLevel": "2", "MaxConnections": "3",
                            "ImmediateData": "No", "MaxRecvDataSegmentLength": "8192",
                            "DefaultTime2Wait": "0", "DefaultTime2Retain": "30"})
    b = t.conn()
    b.login(INI, IQN, isid=a.isid, tsih=a.tsih, cid=1)
    b.cmdsn = a.cmdsn
    data = bytes([0x3C]) * 8192
    bhs, itt = a.cmd_bhs(cdb_write10(300, 16), edtl=8192, write=True)
    a.send(bhs)
    a.recv_until(R2T, itt=itt)          # the write waits for data on A
    b.cmdsn = a.cmdsn
    rsp = b.logout(2, cid=0)
    t2w, t2r = struct.unpack_from(">HH", rsp.bhs, 40)
    check("logout reason 2 accepted", rsp.bhs[2] == 0, rsp.bhs[2])
    # Time2Wait: the larger offer (target 1); Time2Retain: the smaller (target 9).
    check("Time2Wait/Time2Retain in the logout response", (t2w, t2r) == (1, 9), (t2w, t2r))
    a.close()
    time.sleep(0.3)
    a.cmdsn = b.cmdsn
    resp = b.tmf(8, ref_itt=itt, expdatasn=0)
    check("TASK REASSIGN on the other connection: complete", resp == 0, resp)
    r2t, _ = b.recv_until(R2T, itt=itt)
    b.answer_r2t(r2t, data)
    fin, _ = b.recv_until(SCSI_RSP, itt=itt)
    st, got, _ = b.scsi(cdb_read10(300, 16), edtl=8192, read=True)
    check("reassigned write completes", fin.bhs[3] == 0 and got == data)
    # A read whose Data-In got lost with its connection: reassign from
    # DataSN 2 (the initiator holds DataSN 0-1).
    c = t.conn()
    c.login(INI, IQN, isid=a.isid, tsih=a.tsih, cid=5,
            keys={"MaxRecvDataSegmentLength": "2048"})
    c.cmdsn = b.cmdsn
    bhs, ritt = c.cmd_bhs(cdb_read10(300, 16), edtl=8192, read=True)
    c.send(bhs)
    time.sleep(0.2)                      # the target answered; we never read it
    b.cmdsn = c.cmdsn
    rsp = b.logout(2, cid=5)
    c.close()
    time.sleep(0.3)
    b.target_mrdsl = 8192
    resp = b.tmf(8, ref_itt=ritt, expdatasn=2)
    p1, _ = b.recv_until(DATA_IN, itt=ritt)
    p2, _ = b.recv_until(DATA_IN, itt=ritt)
    check("TASK REASSIGN of a read resends from ExpDataSN", resp == 0 and
          p1.u32(36) == 2 and p2.u32(36) == 3 and p2.flags & 0x01 and
          p1.data + p2.data == data[4096:], (resp, p1, p2))
    b.cmdsn = c.cmdsn
    resp = b.tmf(8, ref_itt=0x7777, expdatasn=0)
    check("TASK REASSIGN of an unknown task: no such task", resp == 1, resp)
    b.close()
    t.stop()


ERL2_KEYS = {"ErrorRecoveryLevel": "2", "ImmediateData": "No",
             "MaxRecvDataSegmentLength": "8192", "DefaultTime2Wait": "0",
             "DefaultTime2Retain": "20"}


def cut_with_write(c, lba):
    """Starts a write of 8 KiB at lba (it waits for Data-Out: InitialR2T,
    no immediate data), then closes the socket under it: the target sees
    its only connection fail. Returns the write's ITT."""
    bhs, itt = c.cmd_bhs(cdb_write10(lba, 16), edtl=8192, write=True)
    c.send(bhs)
    c.recv_until(R2T, itt=itt)
    c.close()
    return itt


def read_task(c, itt, expdatasn=0):
    """TASK REASSIGN of a read on c: (TMF response, Data-In bytes, the
    status-carrying PDU)."""
    resp = c.tmf(8, ref_itt=itt, expdatasn=expdatasn)
    got = bytearray()
    while True:
        p = c.recv()
        if p.itt != itt:
            continue
        if p.opcode == DATA_IN:
            off = p.u32(40)
            got[off:off + len(p.data)] = p.data
            if p.flags & 0x01:
                return resp, bytes(got), p
        elif p.opcode == SCSI_RSP:
            return resp, bytes(got), p


def test_erl2_continuation():
    """ERL 2 session continuation (RFC 7143 6.3.4, 7.1.4, 8.3 N5): the only
    connection fails with a write and a read in flight; a login with the
    old ISID and TSIH continues the session (CmdSN window and, for the same
    CID, StatSN go on) and TASK REASSIGN takes both commands over."""
    t = Target("--erl", "2", "--time2wait", "0", "--time2retain", "20",
               "--initial-r2t", "yes")
    a = t.conn()
    a.login(INI, IQN, keys=ERL2_KEYS)
    check("continuation: ERL 2, Time2Retain 20", a.params.get("ErrorRecoveryLevel") == "2" and
          a.params.get("DefaultTime2Retain") == "20", a.params)
    old = bytes((i * 7 + 3) & 0xFF for i in range(8192))
    new = bytes((i * 13 + 1) & 0xFF for i in range(8192))
    st, _, _ = a.scsi(cdb_write10(700, 16), data=old)
    st2, _, tur = a.scsi(cdb_tur())
    check("continuation: setup write and TUR", st == 0 and st2 == 0)
    s0 = tur.statsn
    # A write waiting for its data, and a read the target answered into a
    # connection that is about to fail.
    wbhs, witt = a.cmd_bhs(cdb_write10(800, 16), edtl=8192, write=True)
    a.send(wbhs)
    r2t, _ = a.recv_until(R2T, itt=witt)
    rbhs, ritt = a.cmd_bhs(cdb_read10(700, 16), edtl=8192, read=True)
    a.send(rbhs)
    time.sleep(0.2)
    a.close()
    time.sleep(0.3)
    b = t.conn()
    try:
        b.login(INI, IQN, isid=a.isid, tsih=a.tsih, cid=a.cid, cmdsn=a.cmdsn,
                keys={"MaxRecvDataSegmentLength": "8192"})
    except LoginError as e:
        check("continuation login (old TSIH, same CID) accepted", False, hex(e.status))
        t.stop()
        return
    check("continuation login (old TSIH, same CID) accepted, TSIH kept", b.tsih == a.tsih,
          (b.tsih, a.tsih))
    check("continuation: the CmdSN window goes on (ExpCmdSN = next CmdSN)",
          b.cmdsn == a.cmdsn, (b.cmdsn, a.cmdsn))
    # StatSN: s0 (TUR), s0+1 (the read's status, lost), then the two login
    # responses s0+2 and s0+3 on the reinstated CID.
    check("continuation: the CID's StatSN goes on", b.expstatsn == (s0 + 4) & 0xFFFFFFFF,
          (b.expstatsn, s0))
    resp = b.tmf(8, ref_itt=witt, expdatasn=0)
    check("continuation: TASK REASSIGN of the write: function complete", resp == 0, resp)
    r2 = b.recv_until(R2T, itt=witt)[0]
    check("continuation: the write is solicited again from offset 0 (R2T 0/8192)",
          (r2.u32(40), r2.u32(44)) == (0, 8192) and r2.u32(20) != 0xFFFFFFFF,
          (r2.u32(40), r2.u32(44)))
    b.answer_r2t(r2, new)
    fin = b.recv_until(SCSI_RSP, itt=witt)[0]
    check("continuation: the reassigned write ends GOOD", fin.bhs[2] == 0 and fin.bhs[3] == 0,
          (fin.bhs[2], fin.bhs[3]))
    resp, got, last = read_task(b, ritt, expdatasn=0)
    check("continuation: TASK REASSIGN of the read: function complete", resp == 0, resp)
    check("continuation: the read's data again, byte for byte, and GOOD",
          got == old and last.bhs[3] == 0 and last.flags & 0x01, (len(got), last))
    st, got, _ = b.scsi(cdb_read10(800, 16), edtl=8192, read=True)
    check("continuation: the reassigned write's data reads back", st == 0 and got == new)
    # Again, continued by a new CID this time.
    witt = cut_with_write(b, 900)
    time.sleep(0.3)
    c = t.conn()
    try:
        c.login(INI, IQN, isid=a.isid, tsih=a.tsih, cid=4, cmdsn=b.cmdsn,
                keys={"MaxRecvDataSegmentLength": "8192"})
        ok = c.tsih == a.tsih
    except LoginError as e:
        ok = e.status
    check("continuation by a new CID accepted", ok is True, ok)
    if ok is True:
        resp = c.tmf(8, ref_itt=witt)
        r2 = c.recv_until(R2T, itt=witt)[0]
        c.answer_r2t(r2, old)
        fin = c.recv_until(SCSI_RSP, itt=witt)[0]
        st, got, _ = c.scsi(cdb_read10(900, 16), edtl=8192, read=True)
        check("continuation by a new CID: the write reassigned and read back",
              resp == 0 and fin.bhs[3] == 0 and st == 0 and got == old, (resp, fin.bhs[3], st))
        # The path to CID 4 fails without a reset: the target still has
        # the connection when CID 4 logs in again. TASK REASSIGN right
        # after that login finds the write (the old connection handed its
        # tasks over before the login completed).
        bhs, witt = c.cmd_bhs(cdb_write10(1000, 16), edtl=8192, write=True)
        c.send(bhs)
        c.recv_until(R2T, itt=witt)
        d = t.conn()
        d.itt = c.itt + 0x100
        d.login(INI, IQN, isid=a.isid, tsih=a.tsih, cid=4, cmdsn=c.cmdsn,
                keys={"MaxRecvDataSegmentLength": "8192"})
        resp = d.tmf(8, ref_itt=witt)
        check("reinstating a CID still up: TASK REASSIGN at once finds its write", resp == 0,
              resp)
        if resp == 0:
            r2 = d.recv_until(R2T, itt=witt)[0]
            d.answer_r2t(r2, new)
            fin = d.recv_until(SCSI_RSP, itt=witt)[0]
            st, got, _ = d.scsi(cdb_read10(1000, 16), edtl=8192, read=True)
            check("reinstating a CID still up: the write completes and reads back",
                  fin.bhs[3] == 0 and st == 0 and got == new, (fin.bhs[3], st))
        rsp = d.logout(0)
        check("continued session logs out", rsp.opcode == LOGOUT_RSP and rsp.bhs[2] == 0)
        d.close()
    c.close()
    log = t.stop()
    check("target log: retained, then continued by reinstating the CID",
          "session retained for 20 s with 2 tasks" in log and
          "continued by CID 0 (connection reinstatement)" in log, log[-1500:])
    check("target log: continued by a new CID", "continued by CID 4 (a new CID)" in log)


def test_erl2_retention_end():
    """Retention ends: DefaultTime2Retain over (0x020a), a session
    reinstatement while retained (the old TSIH is gone), and below ERL 2
    (no retention at all)."""
    t = Target("--erl", "2", "--time2wait", "0", "--time2retain", "2", "--initial-r2t", "yes")
    a = t.conn()
    a.login(INI, IQN, keys=ERL2_KEYS)
    check("retention: Time2Retain negotiated to the target's 2",
          a.params.get("DefaultTime2Retain") == "2", a.params)
    cut_with_write(a, 100)
    time.sleep(2.6)
    b = t.conn()
    st = login_status(lambda: b.login(INI, IQN, isid=a.isid, tsih=a.tsih, cid=0))
    check("after Time2Retain: continuation refused 0x020a", st == 0x020a, hex(st))
    b.close()
    # Reinstated while retained: the new session replaces it.
    c = t.conn()
    c.login(INI, IQN, keys=ERL2_KEYS)
    cut_with_write(c, 100)
    time.sleep(0.2)
    d = t.conn()
    d.login(INI, IQN, isid=c.isid, keys=ERL2_KEYS)
    check("reinstatement of a retained session: new TSIH", d.tsih not in (0, c.tsih),
          (d.tsih, c.tsih))
    e = t.conn()
    st = login_status(lambda: e.login(INI, IQN, isid=c.isid, tsih=c.tsih, cid=0))
    check("the reinstated session's old TSIH: 0x020a", st == 0x020a, hex(st))
    e.close()
    st, _, _ = d.scsi(cdb_tur())
    check("the reinstating session works", st == 0)
    d.close()
    # ERL 1: the session ends with its last connection, as before.
    f = t.conn()
    k1 = dict(ERL2_KEYS, ErrorRecoveryLevel="1")
    f.login(INI, IQN, keys=k1)
    cut_with_write(f, 100)
    time.sleep(0.3)
    g = t.conn()
    st = login_status(lambda: g.login(INI, IQN, isid=f.isid, tsih=f.tsih, cid=0))
    check("ERL 1: no retention, continuation refused 0x020a", st == 0x020a, hex(st))
    g.close()
    # Leave one retained (d's, cut above) to the exit: freed there (the
    # sanitizer build checks).
    log = t.stop()
    check("target log: retention ended by Time2Retain and by reinstatement",
          "retention ends (DefaultTime2Retain is over)" in log and
          "retention ends (session reinstated)" in log, log[-1500:])


def test_redirect():
    t = Target(portals=("127.0.0.1:0", "127.0.0.1:0,2"))
    dest = "127.0.0.1:%d" % t.ports[1]
    check("control: redirect", t.control("redirect %s temporary" % dest) == "ok")
    c = t.conn()
    try:
        c.login(INI, IQN)
        st = 0
    except LoginError as e:
        st, keys = e.status, e.keys
    check("login redirected: 0x0101 + TargetAddress", st == 0x0101 and
          keys.get("TargetAddress", "").startswith(dest), (hex(st)))
    c.close()
    c = t.conn(t.ports[1])
    c.login(INI, IQN)
    check("login at the destination portal works", c.tsih != 0)
    c.close()
    t.control("redirect %s permanent" % dest)
    c = t.conn()
    st = login_status(lambda: c.login(INI, IQN))
    check("permanent redirection: 0x0102", st == 0x0102, hex(st))
    c.close()
    t.control("redirect off")
    d = t.conn()
    d.login(INI, None, discovery=True)
    lines = d.sendtargets("All")
    check("SendTargets lists both portals with their tags",
          ("TargetAddress=127.0.0.1:%d,1" % t.ports[0]).encode() in lines and
          ("TargetAddress=127.0.0.1:%d,2" % t.ports[1]).encode() in lines, lines)
    d.close()
    t.stop()


def test_luns():
    t = Target("--lun", "0:ram:8M")
    c = t.conn()
    c.login(INI, IQN)
    c.scsi(cdb_tur())
    check("control: lun-add", t.control("lun-add 0 3:null:1G:4096") == "ok")
    st, _, rsp = c.scsi(cdb_tur())
    check("UA REPORTED LUNS DATA HAS CHANGED", st == 2 and sense_of(rsp) == (6, 0x3F, 0x0E),
          sense_of(rsp))
    st, data, _ = c.scsi(cdb_report_luns(), edtl=4096, read=True)
    check("REPORT LUNS shows the new LUN", st == 0 and struct.unpack(">I", data[:4])[0] == 16)
    check("control: lun-resize", t.control("lun-resize 0 0 32M") == "ok")
    st, _, rsp = c.scsi(cdb_readcap16(), edtl=32, read=True)
    check("UA CAPACITY DATA HAS CHANGED", st == 2 and sense_of(rsp) == (6, 0x2A, 0x09),
          sense_of(rsp))
    st, data, _ = c.scsi(cdb_readcap16(), edtl=32, read=True)
    check("new capacity", st == 0 and struct.unpack(">Q", data[:8])[0] == 32 * 2048 - 1)
    c.close()
    t.stop()


def test_faults():
    t = Target("--erl", "0", "--lun", "0:ram:8M")
    check("control: login-refuse", t.control("login-refuse 3 1") == "ok")
    c = t.conn()
    st = login_status(lambda: c.login(INI, IQN))
    check("login refused with the chosen status 0x0301", st == 0x0301, hex(st))
    c.close()

    c = t.conn()
    c.login(INI, IQN, keys={"HeaderDigest": "CRC32C", "DataDigest": "CRC32C"})
    t.control("corrupt hdigest scsi-rsp")
    c.scsi(cdb_tur())
    check("corrupt header digest seen by the initiator", c.bad_hd)
    t.control("corrupt ddigest data-in")
    c.scsi(cdb_read10(0, 1), edtl=512, read=True)
    check("corrupt data digest seen by the initiator", c.bad_dd)
    t.control("malform wrong-itt scsi-rsp")
    bhs, itt = c.cmd_bhs(cdb_tur())
    c.send(bhs)
    p = c.recv()
    check("malformed: wrong ITT", p.opcode == SCSI_RSP and p.itt != itt, p)
    t.control("malform residual scsi-rsp")
    st, _, p = c.scsi(cdb_tur())
    check("malformed: wrong residual", p.flags & 0x02 and p.u32(44) == 12345, p)
    t.control("malform datasn-gap data-in")
    bhs, itt = c.cmd_bhs(cdb_read10(0, 1), edtl=512, read=True)
    c.send(bhs)
    p = c.recv()
    check("malformed: DataSN gap", p.opcode == DATA_IN and p.u32(36) == 1, p.u32(36))
    t.control("delay 400 scsi-rsp")
    t0 = time.time()
    c.scsi(cdb_tur())
    check("delayed response", time.time() - t0 >= 0.38, time.time() - t0)
    t.control("nop-in")
    p = c.recv(timeout=2)
    check("unsolicited NOP-In (ping)", p.opcode == NOP_IN and p.itt == 0xFFFFFFFF and
          p.u32(20) != 0xFFFFFFFF, p)
    for ev in (0, 1, 4, 255):
        t.control("async %d" % ev)
        p = c.recv(timeout=2)
        check("Async event %d" % ev, p.opcode == ASYNC and p.bhs[36] == ev, p)
    t.control("reject 9")
    p = c.recv(timeout=2)
    check("Reject sent on command", p.opcode == REJECT and p.bhs[2] == 9, p)
    t.control("reject-cmd 5 scsi-cmd")
    bhs, itt = c.cmd_bhs(cdb_tur())
    c.send(bhs)
    p = c.recv()
    check("command answered with Reject 0x05", p.opcode == REJECT and p.bhs[2] == 5 and
          struct.unpack_from(">I", p.data, 16)[0] == itt, p)
    t.control("malform bad-opcode nop-in")
    c.nop()
    p = c.recv()
    check("malformed: bad opcode", p.bhs[0] & 0x3F == 0x3E, p)
    t.control("malform overlong nop-in")
    c.nop()
    p = c.recv()
    check("malformed: overlong segment", len(p.data) > c.params.get("x", 65536), len(p.data))
    t.control("async 2")
    p = c.recv(timeout=2)
    closed = False
    try:
        c.recv(timeout=2)
    except (EOFError, ConnectionResetError):
        closed = True
    check("Async 2 (connection drop) then the connection closes",
          p.opcode == ASYNC and p.bhs[36] == 2 and closed, p)
    c.close()

    c = t.conn()
    c.login(INI, IQN)
    t.control("malform truncate scsi-rsp")
    bhs, _ = c.cmd_bhs(cdb_tur())
    c.send(bhs)
    try:
        c.recv(timeout=2)
        trunc = False
    except (EOFError, ConnectionResetError):
        trunc = True
    check("malformed: truncated header, then close", trunc)
    c.close()

    check("control: drop pdus", t.control("drop pdus 3") == "ok")
    c = t.conn()
    dropped = False
    try:
        c.login(INI, IQN)          # 2 login responses
        c.scsi(cdb_tur())          # 3rd PDU: sent, then the connection drops
        c.scsi(cdb_tur())
    except (EOFError, ConnectionResetError, OSError):
        dropped = True
    check("connection dropped after N PDUs", dropped)
    c.close()
    t.control("clear")
    c = t.conn()
    c.login(INI, IQN)
    t.control("stall")
    bhs, _ = c.cmd_bhs(cdb_tur())
    c.send(bhs)
    stalled = False
    try:
        c.recv(timeout=0.5)
    except socket.timeout:
        stalled = True
    t.control("unstall")
    p = c.recv(timeout=2)
    check("stall holds responses until unstall", stalled and p.opcode == SCSI_RSP)
    check("control: list", t.control("list").startswith("ok"))
    check("control: bad command answers err", t.control("frobnicate").startswith("err"))
    c.close()
    t.stop()


def test_nop_interval():
    t = Target("--nop-interval", "200")
    c = t.conn()
    c.login(INI, IQN)
    p = c.recv(timeout=2)
    ttt = p.u32(20)
    check("NOP-In ping every --nop-interval", p.opcode == NOP_IN and p.itt == 0xFFFFFFFF and
          ttt != 0xFFFFFFFF, p)
    # Answer it (ITT reserved, TTT echoed, immediate), then ping ourselves.
    b = bytearray(48)
    b[0], b[1] = 0x40, 0x80
    struct.pack_into(">IIII", b, 16, 0xFFFFFFFF, ttt, c.cmdsn, c.expstatsn)
    c.send(b)
    itt = c.nop(b"ping-data")
    p, _ = c.recv_until(NOP_IN, itt=itt)
    check("NOP-Out answered with its data", p.data == b"ping-data", p.data)
    c.close()
    t.stop()


def test_hostile_input():
    """Random PDUs, before and after login: the target must stay up."""
    import random
    rnd = random.Random(4)
    t = Target("--erl", "2", "--lun", "0:ram:8M")
    for i in range(300):
        c = t.conn()
        try:
            if i % 2:
                c.login(INI, IQN, keys={"ErrorRecoveryLevel": str(i % 3)})
            for _ in range(rnd.randint(1, 6)):
                bhs = bytearray(rnd.getrandbits(8) for _ in range(48))
                if rnd.random() < 0.7:       # a plausible opcode
                    bhs[0] = rnd.choice([0, 1, 2, 3, 4, 5, 6, 0x10, 0x41, 0x42]) | (bhs[0] & 0x40)
                bhs[4] = rnd.choice([0, 0, 0, bhs[4] & 0x3])
                dsl = rnd.choice([0, 0, 1, 7, 48, 512, 4096, rnd.getrandbits(24)])
                bhs[5:8] = min(dsl, 70000).to_bytes(3, "big")
                data = bytes(rnd.getrandbits(8) for _ in range(min(dsl, 70000)))
                if bhs[4]:
                    c.sock.sendall(bytes(bhs) + bytes(bhs[4] * 4) + data)
                else:
                    c.send(bhs, data)
            c.recv(timeout=0.02)
        except (OSError, EOFError, LoginError, socket.timeout, ValueError, KeyError):
            pass
        c.close()
    c = t.conn()
    c.login(INI, IQN)
    st, _, _ = c.scsi(cdb_tur())
    check("target survives 300 connections of random PDUs", st == 0 and t.proc.poll() is None)
    c.close()
    t.stop()


def test_ipv6_discovery():
    t = Target(portals=("[::1]:0,3",))
    c = Conn("::1", t.port)
    c.login(INI, None, discovery=True)
    lines = c.sendtargets("All")
    check("IPv6 portal in SendTargets", ("TargetAddress=[::1]:%d,3" % t.port).encode() in lines,
          lines)
    rsp = c.logout(0)
    check("discovery logout", rsp.opcode == LOGOUT_RSP and rsp.bhs[2] == 0)
    c.close()
    t.stop()


for test in (test_chap, test_mcs, test_erl1, test_erl2, test_erl2_continuation,
             test_erl2_retention_end, test_redirect, test_luns,
             test_faults, test_nop_interval, test_hostile_input, test_ipv6_discovery):
    try:
        test()
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        check(test.__name__ + " raised", False, e)

for proc in STARTED:
    if proc.poll() is None:
        proc.kill()
        proc.wait()

print("PASS" if not FAILS else "FAILED: %d (%s)" % (len(FAILS), ", ".join(FAILS)))
sys.exit(1 if FAILS else 0)
