/* SPDX-License-Identifier: MIT */
/* iscsictl's help: the overview and one page per verb, man-page style. */
#include "tools/iscsictl/iscsictl.h"

#include <stdio.h>
#include <string.h>

static const char overview[] =
"usage: iscsictl [global options] <verb> [arguments]\n"
"\n"
"iscsictl configures the mcsi iSCSI initiator and drives its sessions: it\n"
"discovers targets, logs in and out, lists logical units and edits the\n"
"initiator, target and discovery configuration.\n"
"\n"
"Verbs:\n"
"  discover <portal>                 ask a portal which targets it offers\n"
"  probe <target>                    which authentication a target requires\n"
"  login <target>                    log in (checks the target, lists its LUNs)\n"
"  logout <target>                   log out of a target\n"
"  mount <target> [lun] [dir]        mount a logical unit's filesystem\n"
"  unmount <dir> | <target> [lun]    unmount it (written back, cache flushed)\n"
"  list luns <target>                the target's logical units\n"
"  list sessions                     sessions held by mcsid\n"
"  list targets                      configured targets\n"
"  list initiator-config             the initiator's settings\n"
"  list target-config <iqn>          one target's settings\n"
"  list discovery-config             discovery settings and portals\n"
"  add target <iqn>,<portal>         add a static target (or a portal to it)\n"
"  remove target <iqn>[,<portal>]    remove a target (or one of its portals)\n"
"  add discovery-portal <portal>     add a SendTargets portal\n"
"  remove discovery-portal <portal>  remove a SendTargets portal\n"
"  add discovery-isns <host[:port]>  add an iSNS server (port 3205 by default)\n"
"  remove discovery-isns <host[:port]>\n"
"                                    remove an iSNS server\n"
"  modify initiator-config ...       -node-name, -node-alias, -authentication,\n"
"                                    -CHAP-name, -CHAP-secret, -Quirks\n"
"  modify target-config <iqn> ...    -auto-login, -persistent, -auto-mount,\n"
"                                    -MaxConnections, -ErrorRecoveryLevel,\n"
"                                    -ReplacementTimeout, -HeaderDigest,\n"
"                                    -DataDigest, -authentication, -CHAP-name,\n"
"                                    -CHAP-secret, -Quirks\n"
"  modify discovery-config ...       -SendTargets, -iSNS, -interval\n"
"  help [verb]                       this text, or one verb's page\n"
"\n"
"Targets are written <iqn>[,<host>[:port]] (IPv6 hosts in brackets, e.g.\n"
"iqn.2003-01.org.example:disk1,[::1]:3260) or as libiscsi URLs,\n"
"iscsi://[user[%password]@]host[:port]/<iqn>/<lun>. A target without a\n"
"portal is looked up in the configuration. A portal is <host>[:port]; the\n"
"port defaults to 3260.\n"
"\n"
"Global options:\n"
"  --config FILE    configuration file (default /etc/mcsi/mcsi.conf, or\n"
"                   $MCSI_CONFIG); CHAP secrets live beside it in 'secrets'\n"
"                   (mode 0600) or in $MCSI_SECRETS\n"
"  --json           machine-readable output for list, discover and probe\n"
"  --timeout MS     per-PDU timeout for login and discovery (default 15000)\n"
"  -v, --verbose    more log lines (same as MCSI_LOG=debug)\n"
"  -h, --help       this text\n"
"  --version        print the version\n"
"\n"
"Exit status: 0 on success, 1 when the operation failed (the reason is\n"
"printed), 2 on a usage error.\n";

struct verb_help {
	const char *verb;
	const char *text;
};

static const struct verb_help pages[] = {
{ "discover",
"usage: iscsictl discover <portal>\n"
"\n"
"Opens a discovery session on <portal> (SessionType=Discovery, no digests)\n"
"and asks for SendTargets=All. Prints every target with each of its\n"
"portals and portal group tags. Uses the discovery CHAP settings when the\n"
"configuration has them (modify discovery-config). Nothing is saved.\n" },
{ "probe",
"usage: iscsictl probe <target>\n"
"\n"
"Starts a login to <target> offering AuthMethod=None,CHAP and reports what\n"
"the target chose: None (no authentication), CHAP (with the algorithm it\n"
"picked), or that it refused the login and why. The login is abandoned\n"
"before any credential is sent.\n" },
{ "login",
"usage: iscsictl login <iqn>[,<portal>] | <iscsi-url>\n"
"\n"
"Logs in to <target> with the initiator and target configuration,\n"
"follows redirections, authenticates with CHAP when configured, and prints\n"
"the negotiated parameters and the logical units.\n"
"\n"
"When mcsid runs (its socket is $MCSI_SOCKET, $MCSI_RUN_DIR/mcsid.sock or\n"
"/run/mcsi/mcsid.sock), the login goes through it: the session lives on in\n"
"its own process, survives iscsictl and mcsid, and ends with 'logout'.\n"
"Without mcsid, iscsictl logs in itself, prints, and logs out cleanly when\n"
"it exits. Credentials in an iscsi:// URL are refused on the daemon path:\n"
"configure CHAP instead, so that secrets stay out of ps(1).\n"
"\n"
"The session's parameters come from the configuration, not from this\n"
"command: set them with 'iscsictl modify target-config <iqn>\n"
"-MaxConnections N -ErrorRecoveryLevel N -HeaderDigest D -DataDigest D'.\n"
"\n"
"MC/S (multiple connections per session): through mcsid the session opens\n"
"-MaxConnections connections (target-config, default 1), as far as the\n"
"target's own MaxConnections allows; a connection the target refuses is\n"
"logged and the session goes on with the others. A <target> given without\n"
"a portal logs in over every portal configured for it (as macOS's\n"
"iscsictl does): the session has at least one connection per configured\n"
"portal, the leading login on the first one that answers and one\n"
"non-leading login on each other; further connections go round those\n"
"portals and the rest of the target's portal group (SendTargets). A\n"
"<target> given with a portal starts there and uses the portal group.\n"
"'list sessions' shows each connection with its portal and counters.\n"
"\n"
"Examples:\n"
"  iscsictl add target iqn.2004-04.com.example:disk,10.0.0.1\n"
"  iscsictl add target iqn.2004-04.com.example:disk,10.0.1.1\n"
"  iscsictl modify target-config iqn.2004-04.com.example:disk -MaxConnections 4\n"
"  iscsictl login iqn.2004-04.com.example:disk      # 4 connections, both portals\n" },
{ "logout",
"usage: iscsictl logout <target>\n"
"\n"
"Ends the session to <target> held by mcsid: unmounts its logical units,\n"
"flushes their caches and logs out. Without mcsid there is no session to\n"
"end and iscsictl says so.\n" },
{ "mount",
"usage: iscsictl mount <target> [lun] [mountpoint] [--mkfs TYPE] [--type FSTYPE]\n"
"                      [--options OPTS] [--ro]\n"
"\n"
"Mounts the filesystem on a logical unit of <target> (the first disk LUN\n"
"unless [lun] is given, as 3 or lun3) on [mountpoint], by default\n"
"/mnt/mcsi/<iqn>/lun<N> (created with its parents). Needs mcsid and root.\n"
"When mcsid holds no session to <target>, it logs in first.\n"
"\n"
"The session's process presents each disk LUN as a file,\n"
"$MCSI_RUN_DIR/luns/<iqn>/lun<N> (default /run/mcsi/luns/...); mount\n"
"attaches a loop device to it with direct I/O and the LUN's block size,\n"
"looks for a filesystem with libblkid and mounts it. --mkfs TYPE creates\n"
"one (mkfs.TYPE) only on a LUN that carries no signature at all; a\n"
"partition table or a non-filesystem signature (swap, LVM, RAID) is never\n"
"formatted over nor mounted. --type forces the filesystem type, --options\n"
"passes mount data, --ro mounts read-only. Prints the LUN, mountpoint,\n"
"filesystem and loop device (--json: one object).\n" },
{ "unmount",
"usage: iscsictl unmount <mountpoint>\n"
"       iscsictl unmount <target> [lun]\n"
"\n"
"Unmounts a filesystem mounted with 'mount': syncs it, unmounts it,\n"
"detaches its loop device and flushes the logical unit's write cache\n"
"(SYNCHRONIZE CACHE), so that nothing is lost. Given a target, unmounts\n"
"each of its mounted LUNs (or only [lun]). A filesystem in use stays\n"
"mounted and the command fails (everything is written back by then).\n"
"'logout' runs the same unmount first.\n" },
{ "list",
"usage: iscsictl list luns <target>\n"
"       iscsictl list sessions\n"
"       iscsictl list targets | initiator-config | discovery-config\n"
"       iscsictl list target-config <iqn>\n"
"\n"
"luns: logs in to <target> and prints each logical unit: LUN, device type,\n"
"vendor, product, revision, unit serial number (VPD 0x80), device\n"
"identifier (VPD 0x83), capacity and block size. Through mcsid, also\n"
"where each LUN is presented: its file, the loop device attached to it\n"
"and the mountpoint. Secrets are shown as <specified>. Add --json for\n"
"JSON.\n"
"\n"
"sessions: the sessions mcsid holds, with their processes and state.\n" },
{ "add",
"usage: iscsictl add target <iqn>,<portal>\n"
"       iscsictl add discovery-portal <portal>\n"
"       iscsictl add discovery-isns <host>[:port]\n"
"\n"
"Adds a static target (or another portal of a known target), a portal\n"
"that mcsid asks for SendTargets periodically, or an iSNS server (RFC\n"
"4171, port 3205 unless given) that mcsid asks in the same run for the\n"
"targets visible to this initiator (enable it with modify\n"
"discovery-config -iSNS enable).\n" },
{ "remove",
"usage: iscsictl remove target <iqn>[,<portal>]\n"
"       iscsictl remove discovery-portal <portal>\n"
"       iscsictl remove discovery-isns <host>[:port]\n"
"\n"
"Removes a target with all its settings and its secret, or only one of\n"
"its portals; or a discovery portal; or an iSNS server.\n" },
{ "modify",
"usage: iscsictl modify initiator-config [-node-name IQN] [-node-alias NAME]\n"
"                      [-authentication None|CHAP] [-CHAP-name NAME]\n"
"                      [-CHAP-secret] [-Quirks on|off]\n"
"       iscsictl modify target-config <iqn> [-auto-login enable|disable]\n"
"                      [-persistent enable|disable] [-auto-mount enable|disable]\n"
"                      [-MaxConnections N]\n"
"                      [-ErrorRecoveryLevel 0|1|2] [-ReplacementTimeout SECONDS]\n"
"                      [-HeaderDigest None|CRC32C|CRC32C,None|None,CRC32C]\n"
"                      [-DataDigest ...] [-authentication None|CHAP]\n"
"                      [-CHAP-name NAME] [-CHAP-secret] [-Quirks on|off]\n"
"       iscsictl modify discovery-config [-SendTargets enable|disable]\n"
"                      [-iSNS enable|disable]\n"
"                      [-interval SECONDS] [-authentication None|CHAP]\n"
"                      [-CHAP-name NAME] [-CHAP-secret]\n"
"\n"
"-CHAP-secret takes no value: the secret is read from the terminal without\n"
"echo, or from standard input when it is not a terminal. A secret on the\n"
"command line is visible in ps(1); it is refused unless the value follows\n"
"--insecure-secret-argument, e.g. -CHAP-secret --insecure-secret-argument\n"
"S3cretS3cret. For a target, -CHAP-name/-CHAP-secret are the target's own\n"
"credentials, checked in mutual CHAP. -interval is 30 to 32767 seconds.\n"
"-auto-mount: when mcsid logs the target in at start (-auto-login), it\n"
"mounts every disk LUN holding a filesystem on /mnt/mcsi/<iqn>/lun<N>, as\n"
"`iscsictl mount` would; it never creates a filesystem.\n"
"-MaxConnections N (1 to 65535, default 1): the connections of the\n"
"target's session (MC/S). It is offered to the target as MaxConnections;\n"
"the session opens as many as the answer allows (one more is never\n"
"attempted, as tgt would accept it), and a login that names no portal\n"
"opens at least one per configured portal. It applies from the next\n"
"login; 'iscsictl list sessions' shows the connections. More connections\n"
"pay with targets that serve them in parallel (istgt, LIO); a target that\n"
"serves a session from one thread (tgt) is not faster with them, and with\n"
"4 slower with least-queue-depth; adaptive scheduling keeps it near one\n"
"connection's throughput (docs/perf.md).\n"
"-Scheduling P: which connection a new command goes to: adaptive (the\n"
"default: as many connections as measurably pay, from one up; the others\n"
"stay logged in for failover; 'list sessions --json' marks the ones in\n"
"use \"active\"), least-queue-depth (all of them), round-robin,\n"
"failover-only or weighted-paths.\n"
"-Quirks on|off (default on): work around known target defects (a LIO\n"
"target is offered ErrorRecoveryLevel 1 at most, and DefaultTime2Wait 5\n"
"with more than one connection); off offers exactly what is configured.\n"
"For the initiator it is the default of every target that does not set\n"
"it; an empty value (-Quirks \"\") takes a target back to that default.\n" },
};

void help_print(FILE *f, const char *verb)
{
	if (verb) {
		for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
			if (strcmp(pages[i].verb, verb) == 0) {
				fputs(pages[i].text, f);
				return;
			}
		}
		fprintf(f, "iscsictl: no help for '%s'\n\n", verb);
	}
	fputs(overview, f);
}
