# SPDX-License-Identifier: MIT
"""secret_scan.py PID SECRET...: where do the secrets sit in a live process?

Stops the process (SIGSTOP), reads every readable mapping of
/proc/PID/mem, and reports each occurrence of each secret with the mapping
it is in and whether that mapping is excluded from core dumps (VmFlags
'dd' in /proc/PID/smaps, i.e. MADV_DONTDUMP). Continues the process.
Also checks /proc/PID/cmdline and /proc/PID/environ.

Exit status: 0 every occurrence is in a 'dd' mapping (or there is none),
1 a secret is in dumpable memory, argv or the environment, 2 error.
Needs ptrace access to PID (root, or the same user with ptrace_scope 0).
"""
import os
import re
import signal
import sys


def mappings(pid):
    """[(start, end, perms, name, vmflags)] from smaps."""
    out, cur = [], None
    head = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$")
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = head.match(line)
            if m:
                cur = [int(m.group(1), 16), int(m.group(2), 16), m.group(3),
                       m.group(4), ""]
                out.append(cur)
            elif line.startswith("VmFlags:") and cur:
                cur[4] = line.split(":", 1)[1].split()
    return out


def scan(pid, secrets):
    bad = 0
    found = 0
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        argv = f.read()
    with open("/proc/%d/environ" % pid, "rb") as f:
        env = f.read()
    for s in secrets:
        if s in argv:
            print("pid %d: secret in argv" % pid)
            bad += 1
        if s in env:
            print("pid %d: secret in the environment" % pid)
            bad += 1
    dd_maps = unreadable = huge = 0
    chunk = 16 << 20
    overlap = max(len(s) for s in secrets)
    with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for start, end, perms, name, flags in mappings(pid):
            if "dd" in flags:
                dd_maps += 1
            if not perms.startswith("r") or name in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
                continue
            if end - start > (1 << 30):
                # A sanitizer's shadow (terabytes, nearly all untouched):
                # it holds poison bytes, not data.
                huge += 1
                continue
            hits = []
            off = start
            while off < end:
                try:
                    mem.seek(off)
                    data = mem.read(min(chunk + overlap, end - off))
                except (OSError, ValueError, OverflowError):
                    unreadable += 1
                    break
                for s in secrets:
                    i = data.find(s)
                    while 0 <= i < chunk:
                        hits.append(off - start + i)
                        i = data.find(s, i + 1)
                off += chunk
            where = "%x-%x %s %s" % (start, end, perms, name or "[anon]")
            for i in hits:
                found += 1
                if "dd" in flags:
                    print("pid %d: secret at +0x%x in %s: excluded from dumps"
                          % (pid, i, where))
                else:
                    print("pid %d: secret at +0x%x in %s: DUMPABLE" % (pid, i, where))
                    bad += 1
    print("pid %d: %d occurrence(s), %d dumpable or exposed, %d MADV_DONTDUMP "
          "mapping(s), %d unreadable, %d over 1 GiB skipped"
          % (pid, found, bad, dd_maps, unreadable, huge))
    return bad


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip().split("\n")[0])
        return 2
    pid = int(sys.argv[1])
    secrets = [s.encode() for s in sys.argv[2:]]
    try:
        os.kill(pid, signal.SIGSTOP)
    except OSError as e:
        print("pid %d: %s" % (pid, e))
        return 2
    try:
        bad = scan(pid, secrets)
    except OSError as e:
        print("pid %d: cannot read: %s" % (pid, e))
        return 2
    finally:
        os.kill(pid, signal.SIGCONT)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
