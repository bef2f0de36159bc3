# SPDX-License-Identifier: MIT
"""A scripted hostile iSCSI target (RFC 7143) for tests/interop/test_hostile_*.

It behaves like a small, correct target (one RAM LUN, None or CHAP-MD5
authentication, discovery, READ/WRITE with R2Ts) until its scenario makes it
misbehave at one precise point: the login attacks the project's test target
cannot produce (keys never offered, duplicate keys, 64 KiB of Continue text,
CHAP challenges of 0 bytes and 1 MiB, reflection, wrong mutual answers,
endless redirects, ...) and full-feature attacks on the fast path (Data-In
beyond the expected length, R2T out of range, status for unknown tasks, a
CmdSN window that never opens, NOP-In floods, a target that stops
reading ...). `--list` prints every scenario with its description.

    evil_target.py [--scenario NAME] --port-file F [--chap U:S] [--mutual U:S]

A normal login to the target iqn.2026-11.org.mcsi.test:evil.NAME (or
evil.NAME.on-HH: misbehave on SCSI opcode 0xHH) switches the connection to
scenario NAME, so that one process serves a whole test script; --scenario
is for connections that name no target (discovery) or another one.

Every PDU is built by hand from the RFC; nothing here is shared with the
initiator under test. Serves one thread per connection until SIGTERM.
"""
import argparse
import hashlib
import os
import signal
import socket
import struct
import sys
import threading

IQN = "iqn.2026-11.org.mcsi.test:evil"
BLOCK = 512

# Opcodes
NOP_OUT, SCSI_CMD, TMF_REQ, LOGIN_REQ, TEXT_REQ, DATA_OUT, LOGOUT_REQ = \
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
NOP_IN, SCSI_RSP, TMF_RSP, LOGIN_RSP, TEXT_RSP, DATA_IN, LOGOUT_RSP, R2T, \
    ASYNC, REJECT = 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x31, 0x32, 0x3F
RSVD = 0xFFFFFFFF


def u32(b, off):
    return struct.unpack_from(">I", b, off)[0]


def kv_text(pairs):
    """[(key, value)] or raw bytes -> NUL-terminated login/text data."""
    if isinstance(pairs, (bytes, bytearray)):
        return bytes(pairs)
    out = b""
    for k, v in pairs:
        k = k if isinstance(k, bytes) else k.encode()
        v = v if isinstance(v, bytes) else str(v).encode()
        out += k + b"=" + v + b"\0"
    return out


def parse_keys(data):
    out = {}
    for kv in data.split(b"\0"):
        if kv:
            k, _, v = kv.partition(b"=")
            out[k.decode(errors="replace")] = v.decode(errors="replace")
    return out


class Closed(Exception):
    pass


class State:
    """What one scenario remembers across connections (redirects, the nth
    READ, a reflected challenge)."""

    def __init__(self, trigger):
        self.reads = 0
        self.seen_challenges = []
        self.reflected = False
        self.reflected_answer = None
        self.failed_once = False
        self.trigger = trigger


class Conn:
    """One connection: a well-behaved target whose hooks scenarios override."""

    desc = "a correct target (control case)"
    mrdsl = 65536            # what we declare
    max_r2t = 1
    burst = 262144

    def __init__(self, srv, sock, key):
        self.srv, self.s = srv, sock
        self.st = srv.state(key)
        self.statsn = 1
        self.expcmdsn = 0
        self.window = 31
        self.tsih = 0
        self.isid = b"\0" * 6
        self.itt = 0
        self.imrdsl = 8192   # the initiator's MaxRecvDataSegmentLength
        self.discovery = False
        self.writes = {}     # ITT -> [lba, edtl, got, next_offset, r2tsn]
        self.chap_state = None
        self.rx_pdus = 0

    # ---- wire ----------------------------------------------------------
    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise Closed()
            buf += chunk
        return buf

    def recv_pdu(self):
        bhs = self.recv_exact(48)
        ahs = bhs[4] * 4
        dsl = int.from_bytes(bhs[5:8], "big")
        if ahs:
            self.recv_exact(ahs)
        data = self.recv_exact(dsl + (-dsl % 4))[:dsl] if dsl else b""
        self.rx_pdus += 1
        return bytearray(bhs), data

    def send(self, bhs, data=b"", dsl=None):
        bhs = bytearray(bhs)
        n = len(data) if dsl is None else dsl
        bhs[4] = bhs[4]
        bhs[5:8] = n.to_bytes(3, "big")
        self.s.sendall(bytes(bhs) + data + b"\0" * (-len(data) % 4))

    def sns(self, bhs, status=True):
        """StatSN, ExpCmdSN, MaxCmdSN at 24/28/32."""
        st = self.statsn
        if status:
            self.statsn = (self.statsn + 1) & 0xFFFFFFFF
        struct.pack_into(">III", bhs, 24, st, self.expcmdsn & 0xFFFFFFFF,
                         self.maxcmdsn() & 0xFFFFFFFF)

    def maxcmdsn(self):
        return self.expcmdsn + self.window

    # ---- login ---------------------------------------------------------
    def login_rsp(self, req, flags, data=b"", cls=0, det=0, cont=False):
        b = bytearray(48)
        b[0] = LOGIN_RSP
        b[1] = flags | (0x40 if cont else 0)
        b[8:14] = self.isid
        struct.pack_into(">H", b, 14, self.tsih if cls == 0 else 0)
        struct.pack_into(">I", b, 16, u32(req, 16))
        self.sns(b)
        b[36], b[37] = cls, det
        self.send(b, data)

    def read_login_request(self):
        """Joins a request sent with the C bit; acknowledges each part."""
        req, data = self.recv_pdu()
        if req[0] & 0x3F != LOGIN_REQ:
            raise Closed()
        text = data
        while req[1] & 0x40:
            csg = (req[1] >> 2) & 3
            self.login_rsp(req, csg << 2)
            req, data = self.recv_pdu()
            text += data
        return req, text

    def send_login_text(self, req, flags, data):
        """Our answer, split with the C bit at 8 KiB (the login limit)."""
        csg = (flags >> 2) & 3
        while len(data) > 8192:
            self.login_rsp(req, csg << 2, data[:8192], cont=True)
            data = data[8192:]
            req, _ = self.recv_pdu()   # the initiator's empty acknowledgement
        self.login_rsp(req, flags, data)

    def login(self):
        while True:
            req, text = self.read_login_request()
            keys = parse_keys(text)
            self.isid = bytes(req[8:14])
            self.itt = u32(req, 16)
            cmdsn = u32(req, 24)
            self.expcmdsn = cmdsn
            t = req[1] & 0x80
            csg = (req[1] >> 2) & 3
            nsg = req[1] & 3
            if "SessionType" in keys:
                self.discovery = keys["SessionType"] == "Discovery"
            first = "InitiatorName" in keys
            if first and keys.get("TargetName", "").startswith(IQN + "."):
                self.become(keys["TargetName"][len(IQN) + 1:])
            if first and not self.login_first(req, keys):
                return False
            if csg == 0:
                pairs, ok_t = self.security(req, keys)
                if pairs is None:
                    return False
                flags = (0x80 | 1) if (t and ok_t) else 0
                if first and not self.discovery:
                    pairs = [("TargetPortalGroupTag", 1)] + pairs
                self.send_login_text(req, flags, self.login_text(0, pairs))
                continue
            pairs = self.operational(keys)
            if first and not self.discovery:
                pairs = [("TargetPortalGroupTag", 1)] + pairs
            done = bool(t) and nsg == 3
            if done:
                self.tsih = 0x2a
            flags = (1 << 2) | ((0x80 | 3) if done else 0)
            self.send_login_text(req, flags, self.login_text(1, pairs))
            if done:
                return True

    def become(self, key):
        """TargetName iqn...:evil.SCENARIO[.on-HH] picks the behaviour, so
        that one process serves a whole test script."""
        name = key.partition(".on-")[0]
        if name in self.srv.scenarios:
            self.__class__ = self.srv.scenarios[name]
            self.st = self.srv.state(key)

    def login_text(self, stage, pairs):
        return kv_text(pairs)

    def login_first(self, req, keys):
        """The first request of a login: True to go on."""
        return True

    def security(self, req, keys):
        """Returns (pairs, may_transit) or (None, _) after refusing."""
        chap = self.srv.chap
        if "AuthMethod" in keys:
            # CHAP whenever the initiator offers it and we have a secret;
            # None when it offers only None.
            offer = keys["AuthMethod"].split(",")
            if chap and "CHAP" in offer and not self.discovery:
                return [("AuthMethod", "CHAP")], False
            if "None" not in offer:
                self.login_rsp(req, 0, cls=2, det=1)
                return None, False
            return [("AuthMethod", "None")], True
        if "CHAP_A" in keys:
            return self.chap_challenge(keys), False
        if "CHAP_R" in keys:
            return self.chap_verify(req, keys)
        return [], True

    def chap_challenge(self, keys):
        self.chap_id = 7
        self.chap_c = os.urandom(16)
        return [("CHAP_A", 5), ("CHAP_I", self.chap_id),
                ("CHAP_C", "0x" + self.chap_c.hex())]

    @staticmethod
    def chap_hash(ident, secret, challenge):
        return hashlib.md5(bytes([ident]) + secret + challenge).digest()

    def chap_verify(self, req, keys):
        user, secret = self.srv.chap
        want = self.chap_hash(self.chap_id, secret, self.chap_c)
        got = bytes.fromhex(keys["CHAP_R"][2:])
        if keys.get("CHAP_N") != user or got != want:
            self.login_rsp(req, 0, cls=2, det=1)
            return None, False
        if "CHAP_C" in keys:
            return self.chap_mutual(keys), True
        return [], True

    def chap_mutual(self, keys):
        tuser, tsecret = self.srv.mutual or ("nobody", b"")
        ident = int(keys["CHAP_I"])
        ch = bytes.fromhex(keys["CHAP_C"][2:])
        self.st.seen_challenges.append(ch)
        return [("CHAP_N", tuser),
                ("CHAP_R", "0x" + self.chap_hash(ident, tsecret, ch).hex())]

    ANSWERS = {
        "HeaderDigest": "None", "DataDigest": "None", "MaxConnections": 1,
        "InitialR2T": "Yes", "ImmediateData": "No", "DataPDUInOrder": "Yes",
        "DataSequenceInOrder": "Yes", "ErrorRecoveryLevel": 0,
        "IFMarker": "No", "OFMarker": "No", "DefaultTime2Wait": 2,
        "DefaultTime2Retain": 0,
    }

    def operational(self, keys):
        pairs = []
        for k, v in keys.items():
            if k in ("InitiatorName", "InitiatorAlias", "SessionType",
                     "TargetName"):
                continue
            if k == "MaxRecvDataSegmentLength":
                self.imrdsl = int(v)
                continue
            if k == "MaxBurstLength":
                pairs.append((k, min(int(v), self.burst)))
            elif k == "FirstBurstLength":
                pairs.append((k, min(int(v), 65536)))
            elif k == "MaxOutstandingR2T":
                pairs.append((k, min(int(v), self.max_r2t)))
            elif k in self.ANSWERS:
                pairs.append((k, self.ANSWERS[k]))
            else:
                pairs.append((k, "NotUnderstood"))
        if "MaxRecvDataSegmentLength" in keys:
            pairs.append(("MaxRecvDataSegmentLength", self.mrdsl))
        return pairs

    # ---- full feature phase --------------------------------------------
    def serve(self):
        if not self.login():
            return
        self.ffp_start()
        while True:
            bhs, data = self.recv_pdu()
            self.dispatch(bhs, data)

    def ffp_start(self):
        pass

    def dispatch(self, bhs, data):
        op = bhs[0] & 0x3F
        if op == NOP_OUT:
            self.on_nop_out(bhs, data)
        elif op == SCSI_CMD:
            if not bhs[0] & 0x40:
                self.expcmdsn = u32(bhs, 24) + 1
            self.on_command(bhs, data)
        elif op == DATA_OUT:
            self.on_data_out(bhs, data)
        elif op == TEXT_REQ:
            self.expcmdsn = u32(bhs, 24) + (0 if bhs[0] & 0x40 else 1)
            self.on_text(bhs, data)
        elif op == TMF_REQ:
            self.on_tmf(bhs)
        elif op == LOGOUT_REQ:
            self.on_logout(bhs)
        else:
            self.reject(bhs, 0x04)

    def on_nop_out(self, bhs, data):
        if u32(bhs, 16) == RSVD:
            return
        b = bytearray(48)
        b[0], b[1] = NOP_IN, 0x80
        b[8:16] = bhs[8:16]
        struct.pack_into(">II", b, 16, u32(bhs, 16), RSVD)
        self.sns(b)
        self.send(b, data)

    def on_text(self, bhs, data):
        keys = parse_keys(data)
        text = b""
        if keys.get("SendTargets") is not None:
            text = self.sendtargets()
        self.text_rsp(bhs, text)

    def sendtargets(self):
        return kv_text([("TargetName", IQN),
                        ("TargetAddress", "127.0.0.1:%d,1" % self.srv.port)])

    def text_rsp(self, bhs, text):
        b = bytearray(48)
        b[0], b[1] = TEXT_RSP, 0x80
        struct.pack_into(">II", b, 16, u32(bhs, 16), RSVD)
        self.sns(b)
        self.send(b, text)

    def on_tmf(self, bhs):
        b = bytearray(48)
        b[0], b[1], b[2] = TMF_RSP, 0x80, 0
        struct.pack_into(">I", b, 16, u32(bhs, 16))
        self.sns(b)
        self.send(b)

    def on_logout(self, bhs):
        b = bytearray(48)
        b[0], b[1], b[2] = LOGOUT_RSP, 0x80, 0
        struct.pack_into(">I", b, 16, u32(bhs, 16))
        self.sns(b)
        self.send(b)
        raise Closed()

    def reject(self, bhs, reason):
        b = bytearray(48)
        b[0], b[1], b[2] = REJECT, 0x80, reason
        struct.pack_into(">I", b, 16, RSVD)
        self.sns(b)
        self.send(b, bytes(bhs))

    # SCSI
    def on_command(self, bhs, data):
        cdb = bytes(bhs[32:48])
        itt, edtl = u32(bhs, 16), u32(bhs, 20)
        op = cdb[0]
        lun = self.srv.lun
        nblocks = len(lun) // BLOCK
        if op in (0x28, 0x88):       # READ 10/16
            lba, n = self.rw_range(cdb)
            if (lba + n) * BLOCK > len(lun):
                return self.check(itt, 0x05, 0x21, 0)
            return self.read_data(bhs, bytes(lun[lba * BLOCK:(lba + n) * BLOCK]))
        if op in (0x2A, 0x8A):       # WRITE 10/16
            lba, n = self.rw_range(cdb)
            if (lba + n) * BLOCK > len(lun) or n * BLOCK != edtl:
                return self.check(itt, 0x05, 0x21, 0)
            if edtl == 0:
                return self.status(itt, 0)
            self.writes[itt] = [lba, edtl, 0, 0, 0]
            return self.start_write(bhs)
        if op == 0x12:               # INQUIRY
            return self.read_data(bhs, self.inquiry(cdb)[:edtl])
        if op == 0xA0:               # REPORT LUNS
            return self.read_data(bhs, (struct.pack(">II", 8, 0) + bytes(8))[:edtl])
        if op == 0x25:               # READ CAPACITY 10
            return self.read_data(bhs, struct.pack(">II", nblocks - 1, BLOCK)[:edtl])
        if op == 0x9E and cdb[1] & 0x1F == 0x10:   # READ CAPACITY 16
            d = struct.pack(">QI", nblocks - 1, BLOCK) + bytes(20)
            return self.read_data(bhs, d[:edtl])
        if op in (0x00, 0x35, 0x91):  # TEST UNIT READY, SYNCHRONIZE CACHE
            return self.status(itt, 0)
        return self.check(itt, 0x05, 0x20, 0)

    @staticmethod
    def rw_range(cdb):
        if cdb[0] in (0x28, 0x2A):
            return u32(cdb, 2), struct.unpack_from(">H", cdb, 7)[0]
        return struct.unpack_from(">Q", cdb, 2)[0], u32(cdb, 10)

    def inquiry(self, cdb):
        if cdb[1] & 1:
            page = cdb[2]
            if page == 0x00:
                return bytes([0, 0, 0, 3, 0x00, 0x80, 0x83])
            if page == 0x80:
                return bytes([0, 0x80, 0, 8]) + b"EVIL0001"
            if page == 0x83:
                d = bytes([1, 3, 0, 8]) + bytes.fromhex("6001405deadbeef0")
                return bytes([0, 0x83, 0, len(d)]) + d
            return bytes([0, page, 0, 0])
        d = bytearray(96)
        d[2], d[3], d[4] = 6, 2, 91
        d[7] = 0x02
        d[8:16] = b"EVIL    "
        d[16:32] = b"hostile target  "
        d[32:36] = b"0001"
        return bytes(d)

    def datain_pdu(self, itt, edtl, off, chunk, datasn, last, status=0,
                   residual=0, flags_extra=0):
        b = bytearray(48)
        b[0] = DATA_IN
        b[1] = (0x81 if last else 0) | flags_extra
        b[3] = status if last else 0
        struct.pack_into(">II", b, 16, itt, RSVD)
        self.sns(b, status=last)
        struct.pack_into(">III", b, 36, datasn, off, residual)
        return b

    def read_data(self, bhs, payload):
        """Data-In in the initiator's MRDSL pieces, status in the last."""
        itt, edtl = u32(bhs, 16), u32(bhs, 20)
        payload = payload[:edtl]
        under = edtl - len(payload)
        if not payload:
            return self.status(itt, 0, residual=under)
        off, sn = 0, 0
        step = self.imrdsl
        while off < len(payload):
            chunk = payload[off:off + step]
            last = off + len(chunk) >= len(payload)
            b = self.datain_pdu(itt, edtl, off, chunk, sn, last, 0, under,
                                0x02 if last and under else 0)
            self.send(b, chunk)
            off += len(chunk)
            sn += 1

    def status(self, itt, status, sense=b"", residual=0, flags=0):
        b = bytearray(48)
        b[0], b[1], b[2], b[3] = SCSI_RSP, 0x80 | flags, 0, status
        struct.pack_into(">I", b, 16, itt)
        self.sns(b)
        struct.pack_into(">I", b, 44, residual)
        if residual and not flags:
            b[1] |= 0x02
        data = struct.pack(">H", len(sense)) + sense if sense else b""
        self.send(b, data)

    def check(self, itt, key, asc, ascq):
        sense = bytes([0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq,
                       0, 0, 0, 0])
        self.status(itt, 2, sense)

    def r2t_pdu(self, itt, off, length, r2tsn, ttt=None):
        b = bytearray(48)
        b[0], b[1] = R2T, 0x80
        struct.pack_into(">II", b, 16, itt, itt if ttt is None else ttt)
        self.sns(b, status=False)
        struct.pack_into(">III", b, 36, r2tsn, off, length)
        return b

    def start_write(self, bhs):
        self.next_r2t(u32(bhs, 16))

    def next_r2t(self, itt):
        w = self.writes[itt]
        length = min(self.burst, w[1] - w[3])
        self.send(self.r2t_pdu(itt, w[3], length, w[4]))
        w[3] += length
        w[4] += 1

    def on_data_out(self, bhs, data):
        itt, off = u32(bhs, 16), u32(bhs, 40)
        w = self.writes.get(itt)
        if w is None:
            return
        lun = self.srv.lun
        base = w[0] * BLOCK + off
        lun[base:base + len(data)] = data
        w[2] += len(data)
        if not bhs[1] & 0x80:
            return
        if w[2] >= w[1]:
            del self.writes[itt]
            self.write_done(itt)
        elif w[3] < w[1]:
            self.next_r2t(itt)

    def write_done(self, itt):
        self.status(itt, 0)


class Server:
    def __init__(self, args, scenarios):
        self.scenarios = scenarios
        self.cls = scenarios[args.scenario]
        self.chap = None
        if args.chap:
            u, _, s = args.chap.partition(":")
            self.chap = (u, s.encode())
        self.mutual = None
        if args.mutual:
            u, _, s = args.mutual.partition(":")
            self.mutual = (u, s.encode())
        self.lun = bytearray(args.lun_mb << 20)
        self.trigger = [int(x, 0) for x in args.trigger.split(",")]
        self.default = args.scenario
        self.states = {}
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", args.port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.log = open(args.log, "a") if args.log else sys.stderr

    def state(self, key):
        """Per scenario key; "name.on-12" makes the read scenarios misbehave
        on that opcode (hex) instead of --trigger's."""
        with self.lock:
            if key not in self.states:
                _, _, op = key.partition(".on-")
                self.states[key] = State([int(op, 16)] if op else self.trigger)
            return self.states[key]

    def handle(self, sock):
        c = self.cls(self, sock, self.default)
        try:
            c.serve()
        except (Closed, ConnectionError, OSError):
            pass
        except Exception as e:   # a bug here must not look like mcsi's
            print("evil_target: %s: %r" % (self.cls.__name__, e), file=self.log,
                  flush=True)
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def run(self):
        while True:
            s, _ = self.sock.accept()
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.handle, args=(s,), daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default="normal")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--chap", help="USER:SECRET the initiator must prove")
    ap.add_argument("--mutual", help="USER:SECRET we answer mutual CHAP with")
    ap.add_argument("--lun-mb", type=int, default=16)
    ap.add_argument("--trigger", default="0x28,0x88",
                    help="SCSI opcodes the read scenarios misbehave on")
    ap.add_argument("--log")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    from evil_scenarios import SCENARIOS
    if args.list:
        for name, cls in SCENARIOS.items():
            print("%-24s %s" % (name, cls.desc))
        return 0
    if args.scenario not in SCENARIOS:
        print("evil_target: unknown scenario %s" % args.scenario, file=sys.stderr)
        return 2
    srv = Server(args, SCENARIOS)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % srv.port)
        os.rename(args.port_file + ".tmp", args.port_file)
    srv.run()
    return 0


if __name__ == "__main__":
    # Run as the module evil_scenarios imports, so that both see the same
    # classes (Closed, Conn).
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import evil_target
    sys.exit(evil_target.main())
