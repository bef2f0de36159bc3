# SPDX-License-Identifier: MIT
"""A small, deliberately naive iSCSI initiator for testing mcsi-testtarget's
paths that libiscsi never exercises: SHA CHAP and mutual CHAP, MC/S,
ERL 1/2 (SNACK, recovery R2T, logout reason 2, TASK REASSIGN), redirection,
run-time LUN changes and fault injection. Written from RFC 7143; every PDU
is built by hand so that tests can also send what an initiator should not.
"""
import hashlib
import os
import socket
import struct
import time

_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def pad4(n: int) -> int:
    return (4 - n % 4) % 4


# Opcodes
NOP_OUT, SCSI_CMD, TMF_REQ, LOGIN_REQ, TEXT_REQ, DATA_OUT, LOGOUT_REQ, SNACK = \
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10
NOP_IN, SCSI_RSP, TMF_RSP, LOGIN_RSP, TEXT_RSP, DATA_IN, LOGOUT_RSP, R2T, ASYNC, REJECT = \
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x31, 0x32, 0x3F

CHAP_HASH = {5: hashlib.md5, 6: hashlib.sha1, 7: hashlib.sha256, 8: hashlib.sha3_256}


class PDU:
    def __init__(self, bhs: bytes, data: bytes = b""):
        self.bhs = bytearray(bhs)
        self.data = data

    @property
    def opcode(self):
        return self.bhs[0] & 0x3F

    @property
    def flags(self):
        return self.bhs[1]

    def u32(self, off):
        return struct.unpack_from(">I", self.bhs, off)[0]

    @property
    def itt(self):
        return self.u32(16)

    @property
    def statsn(self):
        return self.u32(24)

    @property
    def expcmdsn(self):
        return self.u32(28)

    @property
    def maxcmdsn(self):
        return self.u32(32)

    def keys(self):
        out = {}
        for kv in self.data.split(b"\0"):
            if kv:
                k, _, v = kv.partition(b"=")
                out[k.decode()] = v.decode()
        return out

    def __repr__(self):
        return "PDU(op=0x%02x flags=0x%02x itt=0x%x dsl=%d)" % (
            self.opcode, self.flags, self.itt, len(self.data))


def text(keys) -> bytes:
    return b"".join(("%s=%s" % (k, v)).encode() + b"\0" for k, v in keys)


class LoginError(Exception):
    def __init__(self, status, keys):
        super().__init__("login status 0x%04x %r" % (status, keys))
        self.status = status
        self.keys = keys


class Conn:
    """One TCP connection. Digests apply after login when enabled."""

    def __init__(self, host, port, timeout=5.0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.hd = self.dd = False
        self.buf = b""
        self.itt = 0x100
        self.cmdsn = 0
        self.expstatsn = 0
        self.tsih = 0
        self.params = {}
        self.bad_hd = self.bad_dd = False
        del fam

    def next_itt(self):
        self.itt += 1
        return self.itt

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # ---- framing ----
    def send(self, bhs, data=b"", bad_dd=False):
        out = bytes(bhs)
        if self.hd:
            out += struct.pack("<I", crc32c(bytes(bhs)))
        if data:
            padded = data + b"\0" * pad4(len(data))
            out += padded
            if self.dd:
                d = crc32c(padded)
                if bad_dd:
                    d ^= 1
                out += struct.pack("<I", d)
        self.sock.sendall(out)

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed by target")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self, timeout=None):
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            bhs = self._read(48)
            ahs = bhs[4] * 4
            if ahs:
                self._read(ahs)
            self.bad_hd = False
            if self.hd:
                d = struct.unpack("<I", self._read(4))[0]
                self.bad_hd = d != crc32c(bhs)
            dsl = int.from_bytes(bhs[5:8], "big")
            data = b""
            self.bad_dd = False
            if dsl:
                padded = self._read(dsl + pad4(dsl))
                data = padded[:dsl]
                if self.dd:
                    d = struct.unpack("<I", self._read(4))[0]
                    self.bad_dd = d != crc32c(padded)
        finally:
            if timeout is not None:
                self.sock.settimeout(5.0)
        p = PDU(bhs, data)
        if p.opcode in (SCSI_RSP, TMF_RSP, TEXT_RSP, LOGOUT_RSP, REJECT, ASYNC, LOGIN_RSP) or \
                (p.opcode == DATA_IN and p.flags & 0x01) or (p.opcode == NOP_IN and p.itt != 0xFFFFFFFF):
            self.expstatsn = (p.statsn + 1) & 0xFFFFFFFF
        return p

    def recv_until(self, opcode, timeout=5.0, itt=None):
        """Receives PDUs until one with opcode (and itt); returns it and the
        ones skipped."""
        skipped = []
        end = time.time() + timeout
        while True:
            p = self.recv(timeout=max(0.05, end - time.time()))
            if p.opcode == opcode and (itt is None or p.itt == itt):
                return p, skipped
            skipped.append(p)

    # ---- login ----
    def login(self, initiator, target=None, isid=None, tsih=0, cid=0, keys=None,
              chap=None, mutual=None, algs="5", discovery=False, cmdsn=None,
              auth_offer=None):
        """Leading (tsih 0) or non-leading login. chap=(user, secret),
        mutual=(tuser, tsecret). Returns the operational keys answered."""
        self.isid = isid or (b"\x80" + os.urandom(5))
        self.cid = cid
        self.cmdsn = cmdsn if cmdsn is not None else int.from_bytes(os.urandom(2), "big")
        first = [("InitiatorName", initiator),
                 ("SessionType", "Discovery" if discovery else "Normal")]
        if target and not discovery:
            first.append(("TargetName", target))
        itt = self.next_itt()
        answered = {}

        def req(csg, nsg, transit, kv):
            flags = (0x80 if transit else 0) | (csg << 2) | (nsg if transit else 0)
            bhs = bytearray(48)
            bhs[0] = 0x40 | LOGIN_REQ
            bhs[1] = flags
            data = text(kv)
            bhs[5:8] = len(data).to_bytes(3, "big")
            bhs[8:14] = self.isid
            struct.pack_into(">HIHHII", bhs, 14, tsih, itt, cid, 0, self.cmdsn, self.expstatsn)
            self.send(bhs, data)
            r = self.recv()
            if r.opcode != LOGIN_RSP:
                raise LoginError(-1, {"opcode": r.opcode})
            status = r.bhs[36] << 8 | r.bhs[37]
            k = r.keys()
            if status:
                raise LoginError(status, k)
            self.tsih = struct.unpack_from(">H", r.bhs, 14)[0]
            return r, k

        if chap:
            r, k = req(0, 1, False, first + [("AuthMethod", auth_offer or "CHAP")])
            answered.update(k)
            if k.get("AuthMethod") != "CHAP":
                raise LoginError(-2, k)
            r, k = req(0, 1, False, [("CHAP_A", algs)])
            alg, cid_, chal = int(k["CHAP_A"]), int(k["CHAP_I"]), bytes.fromhex(k["CHAP_C"][2:])
            h = CHAP_HASH[alg]
            resp = h(bytes([cid_]) + chap[1].encode() + chal).hexdigest()
            kv = [("CHAP_N", chap[0]), ("CHAP_R", "0x" + resp)]
            if mutual:
                mid = 7
                mchal = os.urandom(24)
                kv += [("CHAP_I", str(mid)), ("CHAP_C", "0x" + mchal.hex())]
            r, k = req(0, 1, True, kv)
            if mutual:
                want = h(bytes([mid]) + mutual[1].encode() + mchal).hexdigest()
                if k.get("CHAP_N") != mutual[0] or k.get("CHAP_R", "").lower() != "0x" + want:
                    raise LoginError(-3, k)
            first = []
        else:
            r, k = req(0, 1, True, first + [("AuthMethod", auth_offer or "None")])
            answered.update(k)
            first = []
        ops = [("HeaderDigest", "None"), ("DataDigest", "None"),
               ("MaxRecvDataSegmentLength", "65536")]
        if tsih == 0:
            ops += [("ErrorRecoveryLevel", "0"), ("MaxConnections", "1"),
                    ("InitialR2T", "Yes"), ("ImmediateData", "Yes"),
                    ("MaxBurstLength", "262144"), ("FirstBurstLength", "65536"),
                    ("MaxOutstandingR2T", "1"), ("DefaultTime2Wait", "2"),
                    ("DefaultTime2Retain", "20")]
        over = dict(keys or {})
        ops = [(k_, over.pop(k_, v)) for k_, v in ops] + list(over.items())
        r, k = req(1, 3, True, first + ops)
        answered.update(k)
        self.params = answered
        self.hd = answered.get("HeaderDigest") == "CRC32C"
        self.dd = answered.get("DataDigest") == "CRC32C"
        self.target_mrdsl = int(answered.get("MaxRecvDataSegmentLength", "8192"))
        self.cmdsn = r.expcmdsn
        return answered

    # ---- full feature phase ----
    def cmd_bhs(self, cdb, lun=0, edtl=0, read=False, write=False, final=True,
                immediate=False, cmdsn=None, itt=None):
        bhs = bytearray(48)
        bhs[0] = SCSI_CMD | (0x40 if immediate else 0)
        bhs[1] = (0x80 if final else 0) | (0x40 if read else 0) | (0x20 if write else 0) | 1
        bhs[9] = lun
        itt = self.next_itt() if itt is None else itt
        sn = self.cmdsn if cmdsn is None else cmdsn
        struct.pack_into(">IIII", bhs, 16, itt, edtl, sn, self.expstatsn)
        bhs[32:32 + len(cdb)] = cdb
        if cmdsn is None and not immediate:
            self.cmdsn = (self.cmdsn + 1) & 0xFFFFFFFF
        return bhs, itt

    def scsi(self, cdb, lun=0, edtl=0, read=False, data=b"", cmdsn=None):
        """Sends a command (immediate data if any), answers R2Ts, returns
        (status, datain bytes, response PDU)."""
        write = bool(data)
        imm = b""
        if write and self.params.get("ImmediateData") == "Yes":
            imm = data[:min(len(data), int(self.params.get("FirstBurstLength", "65536")),
                            self.target_mrdsl)]
        bhs, itt = self.cmd_bhs(cdb, lun, edtl or len(data), read, write, True, cmdsn=cmdsn)
        bhs[5:8] = len(imm).to_bytes(3, "big")
        self.send(bhs, imm)
        got = bytearray()
        while True:
            p = self.recv()
            if p.opcode == R2T and p.itt == itt:
                self.answer_r2t(p, data)
            elif p.opcode == DATA_IN and p.itt == itt:
                off = p.u32(40)
                got[off:off + len(p.data)] = p.data
                if p.flags & 0x01:
                    return p.bhs[3], bytes(got), p
            elif p.opcode == SCSI_RSP and p.itt == itt:
                return p.bhs[3], bytes(got), p

    def answer_r2t(self, r2t, data, bad_dd_at=None):
        ttt, off, want = r2t.u32(20), r2t.u32(40), r2t.u32(44)
        sn = 0
        pos = off
        while pos < off + want:
            n = min(self.target_mrdsl, off + want - pos)
            b = bytearray(48)
            b[0] = DATA_OUT
            b[1] = 0x80 if pos + n == off + want else 0
            b[5:8] = n.to_bytes(3, "big")
            struct.pack_into(">II", b, 16, r2t.itt, ttt)
            struct.pack_into(">I", b, 28, self.expstatsn)
            struct.pack_into(">II", b, 36, sn, pos)
            self.send(b, data[pos:pos + n], bad_dd=(bad_dd_at == sn))
            sn += 1
            pos += n

    def nop(self, data=b""):
        b = bytearray(48)
        b[0] = NOP_OUT | 0x40
        b[1] = 0x80
        b[5:8] = len(data).to_bytes(3, "big")
        itt = self.next_itt()
        struct.pack_into(">IIII", b, 16, itt, 0xFFFFFFFF, self.cmdsn, self.expstatsn)
        self.send(b, data)
        return itt

    def tmf(self, fn, ref_itt=0xFFFFFFFF, lun=0, expdatasn=0, refcmdsn=0):
        b = bytearray(48)
        b[0] = TMF_REQ | 0x40
        b[1] = 0x80 | fn
        b[9] = lun
        itt = self.next_itt()
        struct.pack_into(">IIIIII", b, 16, itt, ref_itt, self.cmdsn, self.expstatsn,
                         refcmdsn, expdatasn)
        self.send(b)
        p, _ = self.recv_until(TMF_RSP, itt=itt)
        return p.bhs[2]

    def logout(self, reason=0, cid=None):
        b = bytearray(48)
        b[0] = LOGOUT_REQ | 0x40
        b[1] = 0x80 | reason
        itt = self.next_itt()
        struct.pack_into(">IHHII", b, 16, itt, self.cid if cid is None else cid, 0,
                         self.cmdsn, self.expstatsn)
        self.send(b)
        p, _ = self.recv_until(LOGOUT_RSP, itt=itt)
        return p

    def snack(self, typ, itt=0xFFFFFFFF, begrun=0, runlength=0, ttt=0):
        b = bytearray(48)
        b[0] = SNACK
        b[1] = 0x80 | typ
        struct.pack_into(">II", b, 16, itt, ttt)
        struct.pack_into(">I", b, 28, self.expstatsn)
        struct.pack_into(">II", b, 40, begrun, runlength)
        self.send(b)

    def sendtargets(self, value="All"):
        b = bytearray(48)
        b[0] = TEXT_REQ | 0x40
        b[1] = 0x80
        data = text([("SendTargets", value)])
        b[5:8] = len(data).to_bytes(3, "big")
        itt = self.next_itt()
        struct.pack_into(">IIII", b, 16, itt, 0xFFFFFFFF, self.cmdsn, self.expstatsn)
        self.send(b, data)
        p, _ = self.recv_until(TEXT_RSP, itt=itt)
        return p.data.split(b"\0")


def cdb_read10(lba, n):
    return struct.pack(">BBIBHB", 0x28, 0, lba, 0, n, 0)


def cdb_write10(lba, n):
    return struct.pack(">BBIBHB", 0x2A, 0, lba, 0, n, 0)


def cdb_tur():
    return bytes(6)


def cdb_readcap16():
    return struct.pack(">BBQIBB", 0x9E, 0x10, 0, 32, 0, 0)


def cdb_report_luns():
    return struct.pack(">BBBBBBIBB", 0xA0, 0, 0, 0, 0, 0, 4096, 0, 0)


def sense_of(rsp: PDU):
    """(key, asc, ascq) from a SCSI Response's sense data."""
    d = rsp.data
    if len(d) < 2 + 14:
        return None
    s = d[2:]
    return s[2] & 0x0F, s[12], s[13]
