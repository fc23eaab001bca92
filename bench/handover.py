#!/usr/bin/python3
"""
frr-ha benchmark: a full table handed over to a restarted standby, then a
kill -9 of the active, and the same load on stock bgpd for the memory.

Topology (bench/run.py's, one peer):

    bench-feed  (BIRD: a generated table, P prefixes over A distinct
                 attribute sets, frr_ha_bench/table.py, one eBGP session to r1)
        |
    bench-r1    (zebra + the frr-ha pair; rp b is started only once the peer
                 holds the table)
        |
    bench-peers (one gobgpd session to r1 without graceful restart, so a TF
                 session; keepalive 1 s, hold 3 s; dumpcap records the link)

Per size:
  1. rp a alone (active) learns the table from the feed and sends it to the peer;
  2. rp b starts (a restarted standby): both sessions (feed and peer, 1M
     prefixes each way) are handed over while they go on. Measured: time to
     protected and to in step, the hand-over's pending bytes at their peak,
     link holds and back-pressure, lag, each RP's RSS, the active's main-loop
     gap and slowest `show bgp ha json`, and what the peer saw (session
     uptime, NOTIFICATIONs, FIN/RST and UPDATEs from r1 on the wire);
  3. kill -9 of rp a: time to takeover, and what the peer saw (the session
     continued, no NOTIFICATION/FIN/RST, its table still full);
  4. stock bgpd (no module, no graceful restart) takes the same load: its RSS.

Run as root with Debian's python3 (docs/benchmarks.md has the figures):
  sudo /usr/bin/python3 bench/handover.py [--size 1000000:300000] [--size 100000:30000 ...]
      [--no-stock]
"""
import argparse
import json
import os
import shutil
import signal
import sys
import threading
import time

from frr_ha_bench.common import FRR, STATE, kill_pid, log, r1_addr, wait
from frr_ha_bench.cases import Sampler, switchover
from frr_ha_bench.router import R1, proc_rss_mib
from frr_ha_bench.speakers import gobgp_neighbors, peers_full, start_feed, start_peers
from frr_ha_bench.table import generate, write_bird_static
from frr_ha_bench.topology import build_topology, teardown_topology
from frr_ha_bench.wire import Capture, analyse_wire

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import cleanup, clean_leftovers  # noqa: E402  (the benchmark's own clean-up)

PEER_TIMERS = (1, 3)  # keepalive, hold: as data centres run them


class HaWatch(threading.Thread):
    """Reads `show bgp ha json` on the active every `step` seconds: each
    session's stream, pending hand-over bytes, lag and holds, at their
    peaks, when every session was first protected, and how long the
    command took."""

    def __init__(self, r1, rp, step=0.5):
        super().__init__(daemon=True)
        self.r1, self.rp, self.step = r1, rp, step
        self.stop_flag = threading.Event()
        self.peak_pending, self.peak_lag, self.peak_held = {}, {}, {}
        self.all_protected_at = None
        self.slowest_show_s, self.samples = 0.0, 0
        self.streams_seen = {}
        self.unprotected_reasons = set()

    def run(self):
        while not self.stop_flag.is_set():
            t0 = time.time()
            j = self.r1.ha_json(self.rp)
            dt = time.time() - t0
            if j:
                self.samples += 1
                self.slowest_show_s = max(self.slowest_show_s, dt)
                sessions = {a: n["session"] for a, n in j.get("neighbors", {}).items()
                            if "session" in n}
                for a, s in sessions.items():
                    self.peak_pending[a] = max(self.peak_pending.get(a, 0),
                                               s.get("handoverPendingBytes", 0))
                    self.peak_lag[a] = max(self.peak_lag.get(a, 0), s.get("standbyLagBytes", 0))
                    self.peak_held[a] = max(self.peak_held.get(a, 0), s.get("heldMs", 0))
                    self.streams_seen.setdefault(a, [])
                    if not self.streams_seen[a] or self.streams_seen[a][-1] != s.get("stream"):
                        self.streams_seen[a].append(s.get("stream"))
                    if s.get("notProtectedReason"):
                        self.unprotected_reasons.add(s["notProtectedReason"])
                if self.all_protected_at is None and len(sessions) == self.r1.peers + 1 and \
                   all(s.get("stream") == "mirroring" for s in sessions.values()):
                    self.all_protected_at = t0
            self.stop_flag.wait(max(0.0, self.step - (time.time() - t0)))

    def stop(self):
        self.stop_flag.set()
        self.join(30)


def peer_view():
    v = gobgp_neighbors()
    return next(iter(v.values()), {})


def wire_summary(path, since, af, peers):
    r1_set = {r1_addr(af, i) for i in range(peers)}
    w = analyse_wire(path, since, r1_set)
    return {k: sum(s[k] for s in w.values())
            for k in ("fin", "rst", "notifications", "updates", "announced", "withdrawn",
                      "opens")}


def session_stats(j):
    return {a: {k: n["session"].get(k) for k in
                ("stream", "notProtectedReason", "protectedAfterMs", "handoverPendingBytes",
                 "standbyLagBytes", "backpressureEvents", "heldMs", "heldP50Ms", "heldP99Ms",
                 "heldMaxMs", "mirroredToStandby", "loggedToStandby", "receivedPrefixes",
                 "peerHoldsPrefixes", "shadowSentPrefixes")}
            for a, n in j.get("neighbors", {}).items() if "session" in n}


def run_pair(prefixes, out, in_step_timeout):
    """Steps 1 to 3 on the pair."""
    r1 = R1(4, 1, prefixes, "ha-tf", PEER_TIMERS)
    r1.start_zebra()
    t0 = time.time()
    r1.start_bgpd("a")
    wait("the peer holds the table (rp a alone)", lambda: peers_full(prefixes), 1800, 0.5)
    out["load_s"] = time.time() - t0
    log(f"  rp a alone: the peer holds {prefixes} prefixes after {out['load_s']:.1f} s")
    time.sleep(3.0)  # the feed's and the peer's sessions quiet
    ja = r1.ha_json("a")
    # what r1 holds: attribute and AS path entries (the table's distinct sets)
    out["r1_memory"] = [ln.strip() for ln in r1.vty("show bgp memory", "a").splitlines()
                        if "attribute" in ln or "AS-PATH" in ln or "RIB nodes" in ln
                        or "BGP routes" in ln or "communit" in ln.lower()]
    log(f"  r1: {out['r1_memory']}")
    out["rss_active_alone_mib"] = proc_rss_mib(r1.pid("a"))
    out["gap_before_ms"] = ja.get("partnerProgress", {}).get("maxOwnTickGapMs")
    before = peer_view()

    # 2. the restarted standby
    cap = Capture("handover")
    sampler = Sampler()
    sampler.start()
    watch = HaWatch(r1, "a")
    watch.start()
    t_b = time.time()
    r1.start_bgpd("b")
    ok = True
    try:
        wait("rp b ready", lambda: r1.ha_json("b").get("ready"), 120, 0.2)
        out["ready_s"] = time.time() - t_b
        log(f"  rp b ready after {out['ready_s']:.1f} s")
        wait("every session protected", lambda: watch.all_protected_at, in_step_timeout, 0.5)
        out["protected_s"] = watch.all_protected_at - t_b
        log(f"  every session protected {out['protected_s']:.1f} s after rp b started")
        wait("rp b in step", lambda: r1.in_step("a", "b"), in_step_timeout, 1.0)
        out["in_step_s"] = time.time() - t_b
        log(f"  rp b in step {out['in_step_s']:.1f} s after it started")
    except TimeoutError as e:
        ok = False
        out["failed"] = str(e)
        log(f"  FAILED: {e}")
    time.sleep(2.0)
    watch.stop()
    sampler.stop()
    cap.stop()
    ja, jb = r1.ha_json("a"), r1.ha_json("b")
    after = peer_view()
    out["handover"] = {
        "sessions": session_stats(ja),
        "standby_sessions": session_stats(jb),
        "peak_pending_bytes": watch.peak_pending,
        "peak_lag_bytes": watch.peak_lag,
        "peak_held_ms": watch.peak_held,
        "streams_seen": watch.streams_seen,
        "unprotected_reasons": sorted(watch.unprotected_reasons),
        "slowest_show_s": watch.slowest_show_s,
        "show_samples": watch.samples,
        "gap_after_ms": ja.get("partnerProgress", {}).get("maxOwnTickGapMs"),
        "rss_active_mib": proc_rss_mib(r1.pid("a")) if r1.pid("a") else None,
        "rss_standby_mib": proc_rss_mib(r1.pid("b")) if r1.pid("b") else None,
        "rss_zebra_mib": proc_rss_mib(r1.zebra_pid),
        "peer": {"uptime_unchanged": before.get("uptime") == after.get("uptime"),
                 "left_established": bool(sampler.down),
                 "flops": after.get("flops", 0) - before.get("flops", 0),
                 "notifications": after.get("notifications", 0) - before.get("notifications", 0),
                 "lowest_held": min(sampler.min_held.values(), default=None),
                 "held_after": after.get("accepted")},
        "wire": wire_summary(cap.path, t_b, 4, 1),
    }
    os.unlink(cap.path)
    log(f"  hand-over: {json.dumps(out['handover'])}")
    if not ok:
        r1.stop()
        return

    # 3. kill -9 of the active
    res = switchover(r1, 0, "a", "b")
    res["peer_holds_after"] = peer_view().get("accepted")
    res["rss_new_active_mib"] = proc_rss_mib(r1.pid("b")) if r1.pid("b") else None
    out["takeover"] = res
    log(f"  takeover: {json.dumps(res)}")
    r1.stop()


def run_stock(prefixes, out):
    """Step 4: stock bgpd at the same load."""
    r1 = R1(4, 1, prefixes, "stock", PEER_TIMERS)
    r1.start_zebra()
    t0 = time.time()
    r1.start_bgpd(None)
    wait("the peer holds the table (stock)", lambda: peers_full(prefixes), 1800, 0.5)
    out["stock_load_s"] = time.time() - t0
    time.sleep(3.0)
    out["rss_stock_mib"] = proc_rss_mib(r1.pid(None))
    log(f"  stock bgpd: the peer holds the table after {out['stock_load_s']:.1f} s, "
        f"RSS {out['rss_stock_mib']:.0f} MiB")
    r1.stop()


def run_size(prefixes, attr_sets, stock, in_step_timeout):
    log(f"size: {prefixes} IPv4 prefixes, {attr_sets} attribute sets")
    out = {"prefixes": prefixes, "attr_sets": attr_sets}
    for d in ("feed", "peers", "r1"):
        shutil.rmtree(f"{STATE}/{d}", ignore_errors=True)
    os.makedirs(f"{STATE}/feed", exist_ok=True)
    t0 = time.time()
    table = generate(prefixes, attr_sets, 4)
    conf = f"{STATE}/feed/table.conf"
    write_bird_static(conf, table, "feed")
    out["table"] = table.summary()
    del table
    log(f"  table generated in {time.time() - t0:.1f} s: {out['table']}")
    build_topology(4, 1)
    bird = start_feed(4, prefixes, conf)
    gob = None
    try:
        gob = start_peers(4, 1, gr=False, tag="handover", keepalive=PEER_TIMERS[0],
                          hold=PEER_TIMERS[1])
        run_pair(prefixes, out, in_step_timeout)
        out["rss_bird_mib"] = proc_rss_mib(bird.pid)
        if stock:
            kill_pid(gob.pid)
            gob = start_peers(4, 1, gr=False, tag="stock", keepalive=PEER_TIMERS[0],
                              hold=PEER_TIMERS[1])
            run_stock(prefixes, out)
    finally:
        for p in (bird, gob):
            if p:
                kill_pid(p.pid)
        teardown_topology()
    return out


def fmt(x, digits=0, unit=""):
    return "n/a" if x is None else f"{x:.{digits}f}{unit}"


def tables(results):
    lines = ["### Hand-over to a restarted standby (1 TF peer, GoBGP, keepalive 1 s / hold 3 s)\n",
             "| prefixes / attribute sets | rp a alone: peer has the table s | standby ready s | "
             "every session protected s (protectedAfterMs, max) | in step s | hand-over "
             "pending bytes, peak | link holds: events, held max ms, p99 ms | standby lag "
             "bytes, peak | active main-loop gap ms, before / after | slowest show s | "
             "peer: session kept, NOTIFICATION, FIN/RST, UPDATEs from r1 |",
             "|" + "---|" * 10]
    for r in results:
        h = r.get("handover", {})
        ss = h.get("sessions", {}).values()
        pa = max((s["protectedAfterMs"] for s in ss
                  if s.get("protectedAfterMs") is not None), default=None)
        peer, wire = h.get("peer", {}), h.get("wire", {})
        kept = peer.get("uptime_unchanged") and not peer.get("left_established")
        lines.append(
            f"| {r['prefixes']:,} / {r['attr_sets']:,} | {fmt(r.get('load_s'), 1)} | "
            f"{fmt(r.get('ready_s'), 1)} | {fmt(r.get('protected_s'), 1)} ({pa} ms) | "
            f"{fmt(r.get('in_step_s'), 1)} | {max(h.get('peak_pending_bytes', {}).values(), default=0):,} | "
            f"{sum(s.get('backpressureEvents') or 0 for s in ss)}, "
            f"{max((s.get('heldMaxMs') or 0 for s in ss), default=0)}, "
            f"{max((s.get('heldP99Ms') or 0 for s in ss), default=0)} | "
            f"{max(h.get('peak_lag_bytes', {}).values(), default=0):,} | "
            f"{r.get('gap_before_ms')} / {h.get('gap_after_ms')} | "
            f"{fmt(h.get('slowest_show_s'), 2)} | {'yes' if kept else 'NO'}, "
            f"{peer.get('notifications')} / {wire.get('notifications')}, "
            f"{(wire.get('fin') or 0) + (wire.get('rst') or 0)}, {wire.get('updates')} |")
        if r.get("failed"):
            lines.append(f"\n{r['prefixes']:,}: failed: {r['failed']}; "
                         f"{h.get('unprotected_reasons')}\n")
    lines += ["\n### kill -9 of the active after the hand-over, and memory against stock bgpd\n",
              "| prefixes / attribute sets | takeover ms (kill → log) | sessions continued | "
              "peer: flaps, NOTIFICATIONs, FIN/RST, UPDATEs from r1, prefixes lost, holds after | "
              "RSS MiB: active alone / active / standby / stock bgpd | active / stock | "
              "standby / stock | stock: peer has the table s |",
              "|" + "---|" * 8]
    for r in results:
        h, t = r.get("handover", {}), r.get("takeover", {})
        st = r.get("rss_stock_mib")
        ra, rb = h.get("rss_active_mib"), h.get("rss_standby_mib")
        lines.append(
            f"| {r['prefixes']:,} / {r['attr_sets']:,} | {fmt(t.get('takeover_ms'))} | "
            f"{t.get('continued', 'n/a')} | {t.get('flaps')}, {t.get('notifications')}/"
            f"{t.get('notifications_wire')}, {t.get('fin_rst')}, {t.get('updates')}, "
            f"{t.get('lost_at_peers')}, {t.get('peer_holds_after')} | "
            f"{fmt(r.get('rss_active_alone_mib'))} / {fmt(ra)} / {fmt(rb)} / {fmt(st)} | "
            f"{fmt(ra / st if ra and st else None, 2)} | {fmt(rb / st if rb and st else None, 2)} | "
            f"{fmt(r.get('stock_load_s'), 1)} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", action="append", default=[],
                    help="PREFIXES:ATTRSETS (repeatable), default 1000000:300000")
    ap.add_argument("--no-stock", action="store_true", help="leave out stock bgpd")
    ap.add_argument("--in-step-timeout", type=float, default=1200,
                    help="seconds the standby has to be protected, then in step")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "results"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: sudo /usr/bin/python3 bench/handover.py")
    for tool in ("gobgpd", "gobgp", "bird", "birdc", "dumpcap", f"{FRR}/bgpd"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: scripts/setup-host.sh installs it")
    sizes = [tuple(int(x) for x in s.split(":")) for s in args.size] or [(1000000, 300000)]
    os.makedirs(STATE, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    clean_leftovers()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(130))
    t0 = time.time()
    results = []
    try:
        for prefixes, attr_sets in sizes:
            ts = time.time()
            results.append(run_size(prefixes, attr_sets, not args.no_stock,
                                    args.in_step_timeout))
            results[-1]["wall_s"] = time.time() - ts
            with open(f"{args.out}/handover.json", "w") as f:
                json.dump(results, f, indent=1)
    finally:
        cleanup()
    header = (f"frr-ha hand-over benchmark, {time.strftime('%Y-%m-%d %H:%M')}, "
              f"{os.cpu_count()} cores, wall time {(time.time() - t0) / 60:.1f} min\n\n")
    text = header + tables(results)
    print("\n" + text)
    with open(f"{args.out}/handover.md", "w") as f:
        f.write(text)
    log(f"results: {args.out}/handover.md, handover.json")


if __name__ == "__main__":
    main()
