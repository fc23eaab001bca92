#!/usr/bin/python3
"""
frr-ha benchmark: switchover time, peer impact, replication cost and standby
cost, side by side with stock FRR, in network namespaces on this host.

Topology (per size):

    bench-feed  (BIRD: static protocol with P generated prefixes, one eBGP
                 session to r1, graceful restart on)
        |
    bench-r1    (zebra + either the frr-ha pair, rp a and rp b, or one stock bgpd)
        |
    bench-peers (one gobgpd holding N eBGP sessions to r1, one address each,
                 graceful-restart helper; the wire is captured here with dumpcap)

r1 passes the feed's table to every peer.  Cases, for the same topology and load:
  ha-tf     frr-ha pair, peers in transparent-failover mode, kill -9 of the active
  ha-gr     frr-ha pair, peers in graceful-restart mode, kill -9 of the active
  stock-gr  stock bgpd (no -M ha) with graceful restart, kill -9 and restart at once
  stock     stock bgpd without graceful restart, kill -9 and restart at once

Run as root with Debian's python3:  sudo /usr/bin/python3 bench/run.py  [--full]
"""
import argparse
import json
import os
import resource
import shutil
import signal
import sys
import time

from frr_ha_bench.common import (
    FRR,
    NS_FEED,
    NS_PEERS,
    NS_R1,
    NS_R1B,
    RUN,
    STARTED,
    STATE,
    kill_pid,
    log,
    ours,
    read_pid,
    sh,
    start_time,
)
from frr_ha_bench.router import HA_OPTIONS
from frr_ha_bench.speakers import set_peers_mode
from frr_ha_bench.topology import teardown_topology
from frr_ha_bench.cases import run_size
from frr_ha_bench.report import plots, tables

# --------------------------------------------------------------------------- main

ALL_CASES = "ha-tf,ha-gr,stock-gr,stock"
# (address family, peers, prefixes, cases): the default finishes in about
# 20 minutes on 2 cores; --full takes hours.
# IPv6 runs the pair in TF mode only by default: with GoBGP peers, every
# restarted IPv6 session (GR or not, stock or pair) takes 20 to 60 s to come
# back, which alone would take the default run past 20 minutes (--full has them).
# At 100 peers the table loads (replication cost) are left out of the default
# run: one gobgpd taking 100 x 10k paths needs minutes per load, and it is
# GoBGP, not r1, that such a load would measure.
DEFAULT_SIZES = [(4, 10, 10000, ALL_CASES), (6, 10, 10000, "ha-tf"),
                 (4, 100, 10000, "ha-tf", 0)]
FULL_SIZES = [(4, 1, 10000, ALL_CASES), (4, 10, 10000, ALL_CASES),
              (4, 100, 10000, ALL_CASES), (4, 1, 100000, ALL_CASES),
              (4, 10, 100000, ALL_CASES), (4, 100, 100000, ALL_CASES),
              (4, 1, 1000000, ALL_CASES), (4, 10, 1000000, ALL_CASES),
              (6, 10, 100000, ALL_CASES), (4, 1000, 10000, "ha-tf")]


FDS_PER_SESSION = 4  # measured: active 3, standby 4 per session (1000 peers: 3028 and 4027 fds)


def cleanup():
    for _, pid, started in reversed(STARTED):
        if started is not None and start_time(pid) == started:
            kill_pid(pid, signal.SIGKILL, 1.0)
    teardown_topology()


def clean_leftovers():
    """Daemons a previous, interrupted run of this benchmark left behind
    (their pid files are under our own run folder) and its namespaces."""
    for root, _, files in os.walk(RUN):
        for name in files:
            pid = read_pid(os.path.join(root, name)) if name.endswith(".pid") else None
            if pid and ours(pid):
                kill_pid(pid, signal.SIGKILL, 1.0)
    for ns in (NS_R1, NS_R1B, NS_FEED, NS_PEERS):
        for pid in sh(f"ip netns pids {ns}", check=False).split():
            kill_pid(int(pid), signal.SIGKILL, 1.0)
        sh(f"ip netns del {ns}", check=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="the big sizes (takes hours)")
    ap.add_argument("--size", action="append", default=[],
                    help="AF:PEERS:PREFIXES, e.g. 4:10:10000 (repeatable; replaces the list)")
    ap.add_argument("--repeats", type=int, default=None, help="switchovers per case")
    ap.add_argument("--conv-repeats", type=int, default=2,
                    help="table loads with and without standby (each)")
    ap.add_argument("--cases", default=None,
                    help="comma-separated subset of " + ALL_CASES + ",ha-tf-planned,ha-dual "
                    "(ha-tf-planned: `bgp ha switchover` on the active instead of kill -9; "
                    "ha-dual: the pair in dual-RP mode, rp b on a host (namespace) of its "
                    "own, every session on the service address: table loads with and "
                    "without it, then --repeats deaths of the active's host; IPv4, "
                    "--peers bird)")
    ap.add_argument("--hang-detection", default=None, metavar="MS|off",
                    help="the pair's `bgp ha hang-detection` (default: the module's, 3000 ms)")
    ap.add_argument("--heartbeat", default="300:5", metavar="MS:MULTIPLIER",
                    help="the pair's `bgp ha heartbeat interval MS multiplier M` (default "
                         "300:5, a detection time of 1.5 s)")
    ap.add_argument("--lag-limit", type=int, default=None, metavar="MS",
                    help="the pair's `bgp ha standby-lag-limit` (default: the module's, 500 ms; "
                         "a hand-over's history may take ten times that)")
    ap.add_argument("--peers", choices=("gobgp", "bird"), default="gobgp",
                    help="the peers: one gobgpd that stores every path (default), or BIRD "
                    "with one protocol per session and `import none`, storing nothing, so "
                    "that a big load measures r1 and not the peers")
    ap.add_argument("--table", type=int, default=None, metavar="ATTR_SETS",
                    help="the feed sends a generated table of realistic shape (prefix "
                    "lengths, AS paths, communities; frr_ha_bench/table.py) with this many "
                    "distinct attribute sets, instead of host routes sharing one")
    ap.add_argument("--standby-after-load", action="store_true",
                    help="start the pair's standby once the active alone has loaded every "
                    "peer (and time its join), instead of both RPs at once; not for ha-dual")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "results"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: sudo /usr/bin/python3 bench/run.py")
    set_peers_mode(args.peers)
    HA_OPTIONS["hang_detection"] = args.hang_detection
    HA_OPTIONS["lag_limit"] = args.lag_limit
    HA_OPTIONS["standby_after_load"] = args.standby_after_load
    interval, multiplier = (int(x) for x in args.heartbeat.split(":"))
    HA_OPTIONS["heartbeat"] = (interval, multiplier)
    for tool in (("gobgpd", "gobgp") if args.peers == "gobgp" else ()) + \
            ("bird", "birdc", "dumpcap", f"{FRR}/bgpd"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: scripts/setup-host.sh installs it")
    sizes = [tuple(int(x) for x in s.split(":")) + (ALL_CASES,) for s in args.size] or \
        (FULL_SIZES if args.full else DEFAULT_SIZES)
    if args.peers == "bird":
        asked = set((args.cases or ",".join(s[3] for s in sizes)).split(","))
        if asked & {"ha-gr", "stock-gr"}:
            sys.exit("--peers bird: the BIRD peers are not graceful-restart helpers (what they "
                     "hold is counted from statistics a GR helper keeps over a restart); run "
                     "the GR cases with the gobgp peers")
    for s in sizes:
        if "ha-dual" in (args.cases or s[3]).split(",") and (s[0] != 4 or args.peers != "bird"):
            sys.exit("ha-dual: IPv4 sizes and --peers bird (its sessions share the pair's one "
                     "service address, and one gobgpd has one session per neighbor address)")
    repeats = args.repeats if args.repeats is not None else (10 if args.full else 5)
    # Descriptors: per session the active holds 3 and the standby 4 (the
    # TCP socket and the session's links to the partner; `fds` in
    # results.json), stock bgpd 1. FRR sizes its event tables from
    # RLIMIT_NOFILE (or --limit-fds, which only shrinks them) and aborts on a
    # descriptor past it. The daemons inherit this process's limit: raise
    # it (as root, past the hard limit if need be) or refuse the size.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    most = max(s[1] for s in sizes)
    need = most * FDS_PER_SESSION + 256
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need, min(hard, 65536)),
                                                    max(hard, need)))
    except (ValueError, OSError) as e:
        # raising the hard limit takes CAP_SYS_RESOURCE (not in every container)
        sys.exit(f"{most} peers need about {need} descriptors in the standby bgpd, past the "
                 f"hard limit ulimit -Hn {hard} ({e}): raise it (LimitNOFILE=, limits.conf, "
                 f"the container's nofile) or run at most {(hard - 256) // FDS_PER_SESSION} "
                 f"peers")
    os.makedirs(STATE, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    clean_leftovers()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(130))
    t0 = time.time()
    results = []
    try:
        for af, peers, prefixes, cases, *conv in sizes:
            cases = (args.cases or cases).split(",")
            results.append(run_size(af, peers, prefixes, repeats,
                                    conv[0] if conv else args.conv_repeats, cases, args.table))
            with open(f"{args.out}/results.json", "w") as f:
                json.dump(results, f, indent=1)
    finally:
        cleanup()
    text = tables(results)
    wall = time.time() - t0
    header = (f"frr-ha benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
              f"wall time {wall / 60:.1f} min, {repeats} switchovers per case\n\n")
    print("\n" + header + text)
    with open(f"{args.out}/results.md", "w") as f:
        f.write(header + text)
    for p in plots(results, args.out):
        log(f"plot: {p}")
    log(f"results: {args.out}/results.md, results.json")


if __name__ == "__main__":
    main()
