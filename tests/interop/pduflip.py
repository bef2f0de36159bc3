#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An iSCSI-aware forwarding proxy that damages chosen PDUs, for the ERL 1
tests: it frames the stream (login without digests, then full feature phase
with the digests given on the command line) and flips one bit in the
header or the data segment of the next PDU that matches, so that the
receiver's header or data digest fails while the stream stays framed.

Server:  pduflip.py serve --to HOST:PORT --ctl SOCK [--hd] [--dd]
         listens on 127.0.0.1 (a free port, printed as "port N"), forwards
         every connection to HOST:PORT, takes commands on the unix socket.
Client:  pduflip.py ctl SOCK COMMAND...   prints the answer.

Commands:
  flip DIR PART OP [nonfinal]   arm: the next PDU going DIR ("in": target to
        initiator, "out": initiator to target) with opcode OP (a name
        below, or "any") gets bit 0 of its last BHS byte (PART "hdr") or
        of its first data byte (PART "data": only PDUs with data) flipped;
        "nonfinal": only PDUs without the F bit. Answer "ok".
  clear  disarm everything; "ok"
  stats  "flipped N armed A pdus P" (counted since the start)
  cut    reset every connection; "ok N"
"""
import os
import selectors
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib  # noqa: E402

OPS = {"nop-out": 0x00, "scsi-cmd": 0x01, "data-out": 0x05, "snack": 0x10,
       "nop-in": 0x20, "scsi-rsp": 0x21, "tmf-rsp": 0x22, "data-in": 0x25,
       "r2t": 0x31, "reject": 0x3f, "async": 0x32, "text-rsp": 0x24}


class Stream:
    """One direction of one connection: frames PDUs, forwards them."""

    def __init__(self, proxy, src, dst, direction, pair):
        self.p, self.src, self.dst, self.dir, self.pair = proxy, src, dst, direction, pair
        self.buf = bytearray()

    def pdu_len(self, off):
        b = self.buf
        if len(b) - off < 48:
            return None
        ahs = b[off + 4] * 4
        dsl = int.from_bytes(b[off + 5:off + 8], "big")
        ffp = self.pair["ffp"]
        n = 48 + ahs + (4 if ffp and self.p.hd else 0) + ((dsl + 3) & ~3)
        if ffp and self.p.dd and dsl:
            n += 4
        return n, ahs, dsl

    def feed(self, data):
        """Forwards every whole PDU now in the buffer (a flip is made in
        place), keeps the incomplete rest: one copy per receive."""
        self.buf += data
        off = 0
        while True:
            pl = self.pdu_len(off)
            if not pl or len(self.buf) - off < pl[0]:
                break
            n, ahs, dsl = pl
            b = self.buf
            op = b[off] & 0x3f
            if self.pair["ffp"]:
                self.p.pdus += 1
                self.maybe_flip(off, op, ahs, dsl)
            elif op == 0x23 and (b[off + 1] & 0x80) and (b[off + 1] & 0x03) == 3 \
                    and b[off + 36] == 0:
                self.pair["ffp"] = True     # the final Login Response
            off += n
        if off:
            self.p.send(self.dst, self.buf[:off])
            del self.buf[:off]

    def maybe_flip(self, off, op, ahs, dsl):
        b = self.buf
        for i, (d, part, want, nonfinal) in enumerate(self.p.armed):
            if d != self.dir or (want is not None and want != op):
                continue
            if part == "data" and dsl == 0:
                continue
            if nonfinal and (b[off + 1] & 0x80):
                continue
            if part == "hdr":
                b[off + 47] ^= 1
            else:
                b[off + 48 + ahs + (4 if self.p.hd else 0)] ^= 1
            del self.p.armed[i]
            self.p.flipped += 1
            return


class Flipper(proxylib.Proxy):
    """Forwards whole PDUs with non-blocking sends: one thread serves both
    directions and the control socket, so it must never wait for a peer
    that waits for it."""

    def __init__(self, to, ctl_path, hd, dd):
        self.hd, self.dd = hd, dd
        self.streams = {}
        self.pending = {}          # socket -> bytes not yet sent to it
        self.armed = []
        self.flipped = self.pdus = 0
        super().__init__(to, ctl_path)

    def send(self, s, data):
        if self.pending.get(s):
            self.pending[s] += data
            return
        try:
            n = s.send(data)
        except BlockingIOError:
            n = 0
        if n < len(data):
            self.pending[s] = bytearray(data[n:])
            self.sel.modify(s, selectors.EVENT_READ | selectors.EVENT_WRITE, "data")

    def flush(self, s):
        q = self.pending.get(s)
        if q:
            try:
                n = s.send(q)
            except BlockingIOError:
                n = 0
            del q[:n]
        if not q:
            self.pending.pop(s, None)
            self.sel.modify(s, selectors.EVENT_READ, "data")

    def accept(self):
        pair = self.connect_pair()
        if not pair:
            return
        c, t = pair
        link = {"ffp": False}
        for x in pair:
            x.setblocking(False)
        self.streams[c] = Stream(self, c, t, "out", link)
        self.streams[t] = Stream(self, t, c, "in", link)
        self.sel.register(c, selectors.EVENT_READ, "data")
        self.sel.register(t, selectors.EVENT_READ, "data")

    def close(self, s, rst=False):
        for x in (s, self.streams[s].dst):
            if x not in self.streams:
                continue
            del self.streams[x]
            self.pending.pop(x, None)
            self.sel.unregister(x)
            if rst:
                proxylib.set_rst(x)
            x.close()

    def command(self, w):
        if w and w[0] == "flip" and len(w) >= 4 and w[1] in ("in", "out") and \
                w[2] in ("hdr", "data") and (w[3] == "any" or w[3] in OPS):
            self.armed.append((w[1], w[2], None if w[3] == "any" else OPS[w[3]],
                               "nonfinal" in w[4:]))
            return "ok"
        if w == ["clear"]:
            self.armed = []
            return "ok"
        if w == ["stats"]:
            return "flipped %d armed %d pdus %d" % (self.flipped, len(self.armed), self.pdus)
        if w == ["cut"]:
            n = 0
            for s in [s for s in self.streams if self.streams[s].dir == "out"]:
                if s in self.streams:
                    self.close(s, rst=True)
                    n += 1
            return "ok %d" % n
        return "err unknown command"

    def ready(self, s, ev):
        if s not in self.streams:
            return
        if ev & selectors.EVENT_WRITE:
            try:
                self.flush(s)
            except OSError:
                self.close(s)
                return
            if not ev & selectors.EVENT_READ:
                return
        try:
            data = s.recv(1 << 18)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close(s)
            return
        try:
            self.streams[s].feed(data)
        except OSError:
            if s in self.streams:
                self.close(s)


def serve(argv):
    o = proxylib.option
    Flipper(o(argv, "--to"), o(argv, "--ctl"), "--hd" in argv, "--dd" in argv).serve()


if __name__ == "__main__":
    sys.exit(proxylib.main(__doc__, serve, lambda out: 0))
