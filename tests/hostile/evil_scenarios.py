# SPDX-License-Identifier: MIT
"""The scenarios of evil_target.py: each class overrides the hooks of the
well-behaved Conn where it misbehaves. SCENARIOS maps the names used on the
command line and in target names (iqn.2026-11.org.mcsi.test:evil.NAME) to
them; docs/hostile.md lists what the initiator must do for each."""
import socket
import struct
import time

from evil_target import (ASYNC, Closed, Conn, LOGIN_RSP, NOP_IN,
                         R2T, REJECT, RSVD, SCSI_RSP, TEXT_RSP, kv_text, u32)


# ---- login-phase scenarios ----------------------------------------------

class KeysNeverOffered(Conn):
    desc = "final operational response carries keys the initiator never offered"

    def operational(self, keys):
        return super().operational(keys) + [("X-com.example.Evil", "1"),
                                            ("OFMarkInt", "2048")]


class OutOfRange(Conn):
    desc = "MaxRecvDataSegmentLength=1 and MaxBurstLength=99999999 (out of range)"

    def operational(self, keys):
        out = [(k, v) for k, v in super().operational(keys)
               if k not in ("MaxRecvDataSegmentLength", "MaxBurstLength")]
        return out + [("MaxRecvDataSegmentLength", 1), ("MaxBurstLength", 99999999)]


class DuplicateKeys(Conn):
    desc = "the same key twice with different values"

    def operational(self, keys):
        return super().operational(keys) + [("HeaderDigest", "CRC32C"),
                                            ("HeaderDigest", "None")]


class KeyWithoutEquals(Conn):
    desc = "a key without '=' in the login text"

    def login_text(self, stage, pairs):
        return kv_text(pairs) + b"MaxBurstLength\0" if stage == 1 else kv_text(pairs)


class NonUtf8(Conn):
    desc = "non-UTF-8 bytes in a key value (TargetAlias)"

    def login_text(self, stage, pairs):
        if stage == 0 and not getattr(self, "alias_sent", False):
            self.alias_sent = True
            return kv_text(pairs) + b"TargetAlias=\xff\xfe\xc0\x80evil\0"
        return kv_text(pairs)


class NonUtf8Key(Conn):
    desc = "a key name that is not UTF-8 in the final operational response"

    def login_text(self, stage, pairs):
        return kv_text(pairs) + (b"\xc3\x28\xff=Yes\0" if stage == 1 else b"")


class HugeContinue(Conn):
    desc = "70 KiB of key text across Continue PDUs"

    def login_text(self, stage, pairs):
        if stage != 0:
            return kv_text(pairs)
        return kv_text(pairs) + b"".join(
            b"X-com.example.k%05d=%s\0" % (i, b"v" * 100) for i in range(600))


class HugeSegment(Conn):
    desc = "a login response whose data segment claims 16 MiB"

    def login_first(self, req, keys):
        b = bytearray(48)
        b[0], b[1] = LOGIN_RSP, 0
        b[8:14] = self.isid
        struct.pack_into(">I", b, 16, u32(req, 16))
        self.sns(b)
        self.send(b, b"A" * 4096, dsl=0xFFFFFF)
        time.sleep(1)
        return False


class ChapEmptyChallenge(Conn):
    desc = "CHAP_C of 0 bytes"

    def chap_challenge(self, keys):
        self.chap_id, self.chap_c = 1, b""
        return [("CHAP_A", 5), ("CHAP_I", 1), ("CHAP_C", "0x")]


class ChapHugeChallenge(Conn):
    desc = "CHAP_C of 1 MiB (2 MiB of hex across Continue PDUs)"

    def chap_challenge(self, keys):
        self.chap_id, self.chap_c = 1, b"\x5a" * (1 << 20)
        return [("CHAP_A", 5), ("CHAP_I", 1), ("CHAP_C", "0x" + "5a" * (1 << 20))]


class ChapLongChallenge(Conn):
    desc = "CHAP_C of 2 KiB (more than the 1024 bytes RFC 7143 allows)"

    def chap_challenge(self, keys):
        self.chap_id, self.chap_c = 1, b"\x5a" * 2048
        return [("CHAP_A", 5), ("CHAP_I", 1), ("CHAP_C", "0x" + "5a" * 2048)]


class ChapReflect(Conn):
    desc = ("reflection: the first login takes the initiator's mutual challenge "
            "and redirects; the second sends that challenge back as its own")

    def chap_challenge(self, keys):
        pairs = super().chap_challenge(keys)
        if self.st.seen_challenges:
            self.chap_c = self.st.seen_challenges[-1]
            pairs[2] = ("CHAP_C", "0x" + self.chap_c.hex())
        return pairs

    def chap_verify(self, req, keys):
        if "CHAP_C" in keys and not self.st.reflected:
            self.st.reflected = True
            self.st.seen_challenges.append(bytes.fromhex(keys["CHAP_C"][2:]))
            self.login_rsp(req, 0, kv_text([("TargetAddress", "127.0.0.1:%d,1"
                                             % self.srv.port)]), cls=1, det=1)
            return None, False
        self.st.reflected_answer = keys.get("CHAP_R")
        return super().chap_verify(req, keys)


class MutualWrong(Conn):
    desc = "mutual CHAP answered with a wrong CHAP_R"

    def chap_mutual(self, keys):
        pairs = super().chap_mutual(keys)
        return [pairs[0], ("CHAP_R", "0x" + "00" * 16)]


class MutualSkipped(Conn):
    desc = "mutual CHAP challenge ignored: transit without CHAP_N/CHAP_R"

    def chap_mutual(self, keys):
        return []


class MutualThenNone(Conn):
    desc = ("fails mutual CHAP, then (in the next login) offers AuthMethod=None "
            "to the initiator that asked for CHAP")

    def security(self, req, keys):
        if "AuthMethod" in keys and self.st.failed_once:
            return [("AuthMethod", "None")], True
        return super().security(req, keys)

    def chap_mutual(self, keys):
        self.st.failed_once = True
        pairs = super().chap_mutual(keys)
        return [pairs[0], ("CHAP_R", "0x" + "11" * 16)]


class ChapRefusedNone(Conn):
    desc = "answers AuthMethod=None when only CHAP was offered"

    def security(self, req, keys):
        if "AuthMethod" in keys:
            return [("AuthMethod", "None")], True
        return super().security(req, keys)


class SlowAfterAuth(Conn):
    desc = ("authenticates normally, then takes 5 s over the operational stage "
            "(the initiator's process can be inspected meanwhile)")

    def operational(self, keys):
        time.sleep(5)
        return super().operational(keys)


class RedirectLoop(Conn):
    desc = "redirects every login to itself, for ever"

    def login_first(self, req, keys):
        if self.discovery:
            return True
        self.login_rsp(req, 0, kv_text([("TargetAddress", "127.0.0.1:%d,1"
                                         % self.srv.port)]), cls=1, det=1)
        return False


class RedirectInvalid(Conn):
    desc = "redirects to an address that cannot be parsed"

    def login_first(self, req, keys):
        self.login_rsp(req, 0, kv_text([("TargetAddress", "999.1.2.3:99999,1")]),
                       cls=1, det=1)
        return False


class RedirectNoAddress(Conn):
    desc = "redirects without any TargetAddress"

    def login_first(self, req, keys):
        self.login_rsp(req, 0, b"", cls=1, det=2)
        return False


class LoginCloseMidPdu(Conn):
    desc = "closes after 20 bytes of the first login response"

    def login_first(self, req, keys):
        self.s.sendall(bytes([LOGIN_RSP, 0x81]) + bytes(18))
        return False


class LoginSilent(Conn):
    desc = "never answers the login request"

    def login_first(self, req, keys):
        time.sleep(30)
        return False


class LoginWrongItt(Conn):
    desc = "login response for another ITT"

    def login_first(self, req, keys):
        req = bytearray(req)
        struct.pack_into(">I", req, 16, u32(req, 16) ^ 0x55)
        self.login_rsp(req, 0x81, kv_text([("AuthMethod", "None")]))
        time.sleep(1)
        return False


class LoginBadOpcode(Conn):
    desc = "answers the login with a SCSI Response"

    def login_first(self, req, keys):
        b = bytearray(48)
        b[0], b[1] = SCSI_RSP, 0x80
        struct.pack_into(">I", b, 16, u32(req, 16))
        self.send(b)
        time.sleep(1)
        return False


class AnsiNames(Conn):
    desc = "target names and alias with ANSI escapes and control characters"
    EVIL = b"iqn.2026-11.org.mcsi.test:\x1b[31mred\x1b[0m\x07\r\nFAKE-LINE"

    def sendtargets(self):
        return (b"TargetName=" + self.EVIL + b"\0TargetAddress=127.0.0.1:%d,1\0"
                % self.srv.port + b"TargetName=iqn.2026-11.org.mcsi.test:ok\0"
                b"TargetAddress=127.0.0.1:%d,1\0" % self.srv.port)

    def login_text(self, stage, pairs):
        if stage == 0 and not getattr(self, "alias_sent", False):
            self.alias_sent = True
            return kv_text(pairs) + b"TargetAlias=\x1b]0;pwned\x07\x1b[2J\0"
        return kv_text(pairs)

    def inquiry(self, cdb):
        d = bytearray(super().inquiry(cdb))
        if cdb[1] & 1 and cdb[2] == 0x80:
            return bytes([0, 0x80, 0, 12]) + b"\x1b[5mSER\x9b2J\x07"
        if not cdb[1] & 1:
            d[8:16] = b"\x1b[31mEV"
            d[16:32] = b"\x1b]0;pwned\x07\r\nX\x9b2J"
        return bytes(d)


class SendTargetsEndless(Conn):
    desc = "a SendTargets answer that never ends (Continue for ever, 8 KiB each)"

    def on_text(self, bhs, data):
        b = bytearray(48)
        b[0], b[1] = TEXT_RSP, 0x40
        struct.pack_into(">II", b, 16, u32(bhs, 16), 0x1234)
        self.sns(b)
        self.send(b, b"X-com.example.pad=" + b"p" * 8150 + b"\0")


class SendTargetsGarbage(Conn):
    desc = "a SendTargets answer that is not key=value text"

    def on_text(self, bhs, data):
        self.text_rsp(bhs, b"\x01\x02garbage without equals")


# ---- full-feature scenarios ------------------------------------------------

class ReadScenario(Conn):
    """Misbehaves on the nth READ (after the first `after` commands), or on
    the nth command with an opcode of --trigger (INQUIRY for the control
    path's LUN scan)."""
    after = 0

    def on_command(self, bhs, data):
        if bhs[32] in self.st.trigger:
            self.st.reads += 1
            if self.st.reads > self.after:
                return self.evil_read(bhs)
        return super().on_command(bhs, data)

    def evil_read(self, bhs):
        raise NotImplementedError


class WrongItt(ReadScenario):
    desc = "Data-In for an ITT that was never issued"

    def evil_read(self, bhs):
        b = self.datain_pdu(u32(bhs, 16) ^ 0x00F00F00, 0, 0, b"", 0, True)
        self.send(b, b"\0" * 512)


class StatusUnknownTask(ReadScenario):
    desc = "SCSI Response for a task that does not exist"

    def evil_read(self, bhs):
        self.status(0x7EADBEEF, 0)


class ReusedItt(ReadScenario):
    desc = "the SCSI Response of a finished task, sent twice"

    def evil_read(self, bhs):
        Conn.on_command(self, bhs, b"")
        self.status(u32(bhs, 16), 0)


class DataInBeyond(ReadScenario):
    desc = "Data-In past the expected transfer length"

    def evil_read(self, bhs):
        itt, edtl = u32(bhs, 16), u32(bhs, 20)
        b = self.datain_pdu(itt, edtl, edtl // 2, b"", 0, False)
        self.send(b, b"\xee" * edtl)


class DataSnGap(ReadScenario):
    desc = "Data-In DataSN 0 then 2"

    def evil_read(self, bhs):
        itt, edtl = u32(bhs, 16), u32(bhs, 20)
        half = edtl // 2
        self.send(self.datain_pdu(itt, edtl, 0, b"", 0, False), b"\0" * half)
        self.send(self.datain_pdu(itt, edtl, half, b"", 2, True), b"\0" * (edtl - half))


class DataSnRepeat(ReadScenario):
    desc = "Data-In DataSN 0 twice"

    def evil_read(self, bhs):
        itt, edtl = u32(bhs, 16), u32(bhs, 20)
        half = edtl // 2
        self.send(self.datain_pdu(itt, edtl, 0, b"", 0, False), b"\0" * half)
        self.send(self.datain_pdu(itt, edtl, half, b"", 0, True), b"\0" * (edtl - half))


class Overlong(ReadScenario):
    desc = "Data-In segment longer than the initiator's MaxRecvDataSegmentLength"

    def evil_read(self, bhs):
        itt, edtl = u32(bhs, 16), u32(bhs, 20)
        n = self.imrdsl + 4096
        self.send(self.datain_pdu(itt, edtl, 0, b"", 0, False), b"\0" * n)


class AhsPastPdu(ReadScenario):
    desc = "SCSI Response with TotalAHSLength 255 words and no AHS"

    def evil_read(self, bhs):
        b = bytearray(48)
        b[0], b[1], b[4] = SCSI_RSP, 0x80, 255
        struct.pack_into(">I", b, 16, u32(bhs, 16))
        self.sns(b)
        self.s.sendall(bytes(b))


class BadOpcode(ReadScenario):
    desc = "an unknown target opcode (0x3a)"

    def evil_read(self, bhs):
        b = bytearray(48)
        b[0], b[1] = 0x3A, 0x80
        struct.pack_into(">I", b, 16, u32(bhs, 16))
        self.send(b)


class TruncatedBhs(ReadScenario):
    desc = "20 bytes of a Data-In header, then close"

    def evil_read(self, bhs):
        self.s.sendall(bytes(self.datain_pdu(u32(bhs, 16), 0, 0, b"", 0, False))[:20])
        raise Closed()


class CloseMidData(ReadScenario):
    desc = "a Data-In header and half of its data, then close"

    def evil_read(self, bhs):
        itt, edtl = u32(bhs, 16), u32(bhs, 20)
        b = self.datain_pdu(itt, edtl, 0, b"", 0, True)
        b[5:8] = edtl.to_bytes(3, "big")
        self.s.sendall(bytes(b) + b"\0" * (edtl // 2))
        raise Closed()


class StatusNoFinal(ReadScenario):
    desc = "Data-In with the S bit but without F"

    def evil_read(self, bhs):
        itt, edtl = u32(bhs, 16), u32(bhs, 20)
        b = self.datain_pdu(itt, edtl, 0, b"", 0, True)
        b[1] = 0x01
        self.send(b, b"\0" * edtl)


class SenseOverrun(ReadScenario):
    desc = "SCSI Response whose SenseLength runs past its segment"

    def evil_read(self, bhs):
        b = bytearray(48)
        b[0], b[1], b[3] = SCSI_RSP, 0x80, 2
        struct.pack_into(">I", b, 16, u32(bhs, 16))
        self.sns(b)
        self.send(b, struct.pack(">H", 4000) + b"\x70\0\x05")


class StatSnJump(ReadScenario):
    desc = "StatSN jumps by 1000 on every fourth response"
    after = 0

    def evil_read(self, bhs):
        if self.st.reads % 4 == 0:
            self.statsn += 1000
        Conn.on_command(self, bhs, b"")


class WindowShrink(Conn):
    desc = "every third response carries MaxCmdSN < ExpCmdSN - 1 (must be ignored)"

    def sns(self, bhs, status=True):
        super().sns(bhs, status)
        self.st.reads += 1
        if self.st.reads % 3 == 0:
            struct.pack_into(">I", bhs, 32, (self.expcmdsn - 7) & 0xFFFFFFFF)


class WindowClosed(Conn):
    desc = "the CmdSN window never opens (MaxCmdSN = ExpCmdSN - 1 from login on)"

    def maxcmdsn(self):
        return self.expcmdsn - 1


class R2tBeyond(Conn):
    desc = "R2T for more data than the command has"

    def start_write(self, bhs):
        itt, edtl = u32(bhs, 16), u32(bhs, 20)
        self.send(self.r2t_pdu(itt, 0, edtl + 65536, 0))


class R2tOffset(Conn):
    desc = "R2T with BufferOffset far out of range"

    def start_write(self, bhs):
        self.send(self.r2t_pdu(u32(bhs, 16), 0xFFFFF000, 512, 0))


class R2tTooMany(Conn):
    desc = "two outstanding R2Ts when MaxOutstandingR2T is 1"

    def start_write(self, bhs):
        # Both in one segment, so that the second arrives before any data
        # for the first can have been sent.
        itt, edtl = u32(bhs, 16), u32(bhs, 20)
        half = max(512, edtl // 2)
        self.s.sendall(bytes(self.r2t_pdu(itt, 0, half, 0)) +
                       bytes(self.r2t_pdu(itt, half, edtl - half, 1)))
        self.writes[itt][3:5] = [edtl, 2]


class R2tUnknown(Conn):
    desc = "R2T for a task that does not exist"

    def start_write(self, bhs):
        self.send(self.r2t_pdu(0x6BADBEEF, 0, 512, 0))


class R2tSnGap(Conn):
    desc = "R2TSN 5 on the first R2T"

    def start_write(self, bhs):
        itt, edtl = u32(bhs, 16), u32(bhs, 20)
        self.send(self.r2t_pdu(itt, 0, edtl, 5))


class StopReading(Conn):
    desc = "solicits all of a large write's data, then never reads again"
    burst = 16 * 1024 * 1024 - 1

    def start_write(self, bhs):
        itt, edtl = u32(bhs, 16), u32(bhs, 20)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.send(self.r2t_pdu(itt, 0, edtl, 0))
        time.sleep(20)
        raise Closed()


class NopFlood(Conn):
    desc = "200,000 NOP-In pings (TTT set) sent without reading the answers"

    def ffp_start(self):
        b = bytearray(48)
        b[0], b[1] = NOP_IN, 0x80
        struct.pack_into(">I", b, 16, RSVD)
        self.sns(b, status=False)
        out = bytearray()
        for i in range(200000):
            struct.pack_into(">I", b, 20, i + 1)
            out += b
        try:
            self.s.settimeout(20)
            self.s.sendall(bytes(out))
        except OSError:
            raise Closed()
        self.s.settimeout(None)


class NopFloodUnsolicited(Conn):
    desc = "200,000 unsolicited NOP-Ins (no answer wanted) before any response"

    def ffp_start(self):
        b = bytearray(48)
        b[0], b[1] = NOP_IN, 0x80
        struct.pack_into(">II", b, 16, RSVD, RSVD)
        self.sns(b, status=False)
        self.s.sendall(bytes(b) * 200000)


class RejectAll(Conn):
    desc = "a Reject (protocol error) for every command"

    def on_command(self, bhs, data):
        self.reject(bhs, 0x04)

    def on_nop_out(self, bhs, data):
        self.reject(bhs, 0x04)


class RejectNoHeader(ReadScenario):
    desc = "a Reject whose data segment is too short to hold the rejected header"

    def evil_read(self, bhs):
        b = bytearray(48)
        b[0], b[1], b[2] = REJECT, 0x80, 0x04
        struct.pack_into(">I", b, 16, RSVD)
        self.sns(b)
        self.send(b, b"\0" * 8)


class AsyncScenario(ReadScenario):
    """Sends an Async Message before answering the nth READ normally."""
    after = 2
    event, p1, p2, p3, data = 255, 0, 0, 0, b""

    def evil_read(self, bhs):
        if self.st.reads == self.after + 1:
            b = bytearray(48)
            b[0], b[1] = ASYNC, 0x80
            struct.pack_into(">I", b, 16, RSVD)
            self.sns(b)
            b[36], b[37] = self.event, 0x99
            struct.pack_into(">HHH", b, 38, self.p1, self.p2, self.p3)
            self.send(b, self.data)
        Conn.on_command(self, bhs, b"")


class AsyncBogusEvent(AsyncScenario):
    desc = "Async event 77 (reserved) with vendor data"
    event, data = 77, b"\xff" * 300


class AsyncLogoutZero(AsyncScenario):
    desc = "Async logout request with Parameter3 (time to logout) 0"
    event, p3 = 1, 0


class AsyncDropOtherCid(AsyncScenario):
    desc = "Async connection drop for CID 999 with Time2Wait/Time2Retain 65535"
    event, p1, p2, p3 = 2, 999, 65535, 65535


class AsyncSenseOverrun(AsyncScenario):
    desc = "Async SCSI event whose SenseLength runs past its segment"
    event, data = 0, struct.pack(">H", 60000) + b"\x70\0\x06"


class AsyncRenegotiate(AsyncScenario):
    desc = "Async renegotiate request, then nothing answers the Text request"
    event, p3 = 4, 0


SCENARIOS = {
    "normal": Conn,
    # login phase
    "keys-never-offered": KeysNeverOffered,
    "out-of-range": OutOfRange,
    "duplicate-keys": DuplicateKeys,
    "key-without-equals": KeyWithoutEquals,
    "non-utf8": NonUtf8,
    "non-utf8-key": NonUtf8Key,
    "huge-continue": HugeContinue,
    "huge-segment": HugeSegment,
    "chap-empty-challenge": ChapEmptyChallenge,
    "chap-huge-challenge": ChapHugeChallenge,
    "chap-long-challenge": ChapLongChallenge,
    "chap-reflect": ChapReflect,
    "mutual-wrong": MutualWrong,
    "mutual-skipped": MutualSkipped,
    "mutual-then-none": MutualThenNone,
    "chap-refused-none": ChapRefusedNone,
    "slow-after-auth": SlowAfterAuth,
    "redirect-loop": RedirectLoop,
    "redirect-invalid": RedirectInvalid,
    "redirect-no-address": RedirectNoAddress,
    "login-close-mid-pdu": LoginCloseMidPdu,
    "login-silent": LoginSilent,
    "login-wrong-itt": LoginWrongItt,
    "login-bad-opcode": LoginBadOpcode,
    "ansi-names": AnsiNames,
    "sendtargets-endless": SendTargetsEndless,
    "sendtargets-garbage": SendTargetsGarbage,
    # full feature phase
    "wrong-itt": WrongItt,
    "status-unknown-task": StatusUnknownTask,
    "reused-itt": ReusedItt,
    "datain-beyond": DataInBeyond,
    "datasn-gap": DataSnGap,
    "datasn-repeat": DataSnRepeat,
    "overlong": Overlong,
    "ahs-past-pdu": AhsPastPdu,
    "bad-opcode": BadOpcode,
    "truncated-bhs": TruncatedBhs,
    "close-mid-data": CloseMidData,
    "status-no-final": StatusNoFinal,
    "sense-overrun": SenseOverrun,
    "statsn-jump": StatSnJump,
    "window-shrink": WindowShrink,
    "window-closed": WindowClosed,
    "r2t-beyond": R2tBeyond,
    "r2t-offset": R2tOffset,
    "r2t-too-many": R2tTooMany,
    "r2t-unknown": R2tUnknown,
    "r2tsn-gap": R2tSnGap,
    "stop-reading": StopReading,
    "nop-flood": NopFlood,
    "nop-flood-unsolicited": NopFloodUnsolicited,
    "reject-all": RejectAll,
    "reject-no-header": RejectNoHeader,
    "async-bogus-event": AsyncBogusEvent,
    "async-logout-zero": AsyncLogoutZero,
    "async-drop-other-cid": AsyncDropOtherCid,
    "async-sense-overrun": AsyncSenseOverrun,
    "async-renegotiate": AsyncRenegotiate,
}
