"""One switchover, and the cases run at one size."""
import datetime
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

from .common import (FEED_LAN, KEEPALIVE, NS_PEERS, SERVICE, STATE, alive, feed_addrs, kill_pid,
                     log, peer_addr, r1_side, track, wait)
from .topology import FLOW_TARGET, build_topology, route_flow_through_service, teardown_topology
from .speakers import (
    birdc,
    feed_session,
    peer_session_errors,
    peer_view,
    peers_count,
    peers_full,
    peers_store,
    start_feed,
    start_peers,
    stop_peers,
)
from .router import (HA_OPTIONS, R1, proc_cpu, proc_fds, proc_rss_mib, proc_thread_cpu,
                     r1_bytes_from_feed)
from .table import generate, write_bird_static
from .wire import Capture, ack_delays, analyse_wire

# --------------------------------------------------------------------------- one switchover

class Sampler(threading.Thread):
    """Samples every peer's session state and prefixes held, every 0.2 s."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop_flag = threading.Event()
        self.min_held, self.down, self.since, self.why = {}, set(), {}, {}

    def run(self):
        while not self.stop_flag.is_set():
            for n, v in peer_view().items():
                if v["accepted"] is not None:
                    self.min_held[n] = min(self.min_held.get(n, v["accepted"]), v["accepted"])
                if v["state"] != 6:
                    self.down.add(n)
                    self.why.setdefault(n, f"{time.time():.3f}: state {v['state']}")
                elif n in self.since and not same_since(self.since[n], v["uptime"]):
                    self.down.add(n)  # went down and up between two samples
                    self.why.setdefault(n, f"{time.time():.3f}: since {self.since[n]} -> "
                                           f"{v['uptime']}")
                self.since.setdefault(n, v["uptime"])
            self.stop_flag.wait(0.2)

    def stop(self):
        self.stop_flag.set()
        self.join(5)


# ha-dual with the feed's host routes: a ping flow through the pair
FLOW = {"on": False}


class PingFlow:
    """A ping every 10 ms from the first peer to an address behind the feed,
    through the pair (ha-dual): the longest time between two replies is the
    time nothing forwarded."""

    def __init__(self):
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", NS_PEERS, "ping", "-D", "-n", "-i", "0.01", "-W", "1",
             "-I", peer_addr(4, 0), FLOW_TARGET],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        track("ping", self.p.pid)

    def stop(self):
        """(sent, received, the longest gap between replies in ms)."""
        time.sleep(1.1)  # the last replies' wait
        self.p.send_signal(signal.SIGINT)
        out = self.p.communicate(timeout=10)[0]
        m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
        replies = [float(t) for t in re.findall(r"^\[(\d+\.\d+)\] \d+ bytes from", out, re.M)]
        gap = max((b - a for a, b in zip(replies, replies[1:])), default=None)
        return (int(m.group(1)), int(m.group(2)), gap * 1000 if gap is not None else None) \
            if m else (0, 0, None)


class Churn(threading.Thread):
    """The feed's churn protocol (CHURN_PREFIXES host routes) switched on
    and off every 0.25 s until stopped, and left off: routes come and go
    while a host dies. The peers then hold exactly the feed's table again
    if every announcement and its withdrawal reached them across the
    takeover."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop_flag = threading.Event()
        self.toggles = 0

    def run(self):
        on = False
        while not self.stop_flag.is_set():
            on = not on
            birdc(f"{'enable' if on else 'disable'} churn")
            self.toggles += 1
            self.stop_flag.wait(0.25)
        birdc("disable churn")

    def stop(self):
        self.stop_flag.set()
        self.join(10)


# RSS is sampled this long after the load, on the pair and on stock bgpd
# alike: an RP gives the heap the load freed back to the kernel 5 to 10 s
# after it stopped growing (bgpd-ext/glue/bgpd_ha_memory.c).
SETTLE_S = 11.0
# The standby's send-log pthread, as bgpd_ha_sendlogs.c names it.
SENDLOG_THREAD = "bgpd_ha_sendlog"


def same_since(a, b):
    """Whether two readings of a session's up-since are the same: GoBGP's
    (seconds) exactly; BIRD's ("YYYY-MM-DD HH:MM:SS.mmm") within 0.5 s, for
    BIRD shows its monotonic state-change time on the wall clock, and the
    offset between the two moves by milliseconds while BIRD is busy (seen:
    every protocol's since 3 ms later in one sample). A session that went
    down and up again is down for at least BIRD's error wait time (1 s)."""
    if a == b:
        return True
    try:
        ta, tb = (datetime.datetime.strptime(x, "%Y-%m-%d %H:%M:%S.%f").timestamp()
                  for x in (a, b))
    except (TypeError, ValueError):
        return False
    return abs(ta - tb) < 0.5


def log_time(path, pattern, after):
    """Wall-clock time of the first log line matching pattern at or after `after`."""
    rx = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d+) .*(?:" + pattern + ")")
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = rx.search(line)
                if m:
                    t = datetime.datetime.strptime(m.group(1), "%Y/%m/%d %H:%M:%S.%f").timestamp()
                    if t >= after - 0.002:
                        return t, line.strip()
    except OSError:
        pass
    return None, None


def switchover(r1, run_no, active=None, standby=None, planned=False, host_death=False,
               churn=False):
    """kill -9 of the active (HA) or of the stock bgpd, restarted at once;
    with planned, `bgp ha switchover` on the active instead of the kill;
    with host_death (ha-dual), the active's host dies: its bgpd and zebra
    killed and its links down at once; with churn, routes come and go from
    1 s before the kill to 1 s after the takeover; returns the figures of
    this switchover."""
    case, prefixes = r1.case, r1.prefixes
    before = wait("the peers answer", lambda: peer_view(counts=True), 120, 0.5)
    cap = Capture(f"{case}-{run_no}")
    sampler = Sampler()
    sampler.start()
    time.sleep(0.5)
    churner = Churn() if churn else None
    if churner:
        churner.start()
        time.sleep(1.0)
    flow = PingFlow() if r1.dual and FLOW["on"] else None
    if flow:
        time.sleep(1.0)
    pid = r1.pid(active)
    t_kill = time.time()
    if planned:
        out = r1.vty("bgp ha switchover", active)
        if "Switchover started" not in out:
            raise RuntimeError(f"planned switchover refused: {out.strip()}")
    elif host_death:
        t_kill = r1.kill_host(active)
    else:
        os.kill(pid, signal.SIGKILL)
    res = {"case": case}
    if r1.ha:
        wait("new active", lambda: r1.ha_json(standby).get("role") == "active", 30, 0.05)
        if churner:
            time.sleep(1.0)
            churner.stop()
    else:
        while alive(pid):
            time.sleep(0.005)
        t_restart = time.time()
        r1.start_bgpd(None)
        res["restart_delay_ms"] = (t_restart - t_kill) * 1000
        if case == "stock":
            # without GR every peer drops the table; at 100 x 1M BIRD
            # reads the close after the restart, and "full" would be the
            # old session's table
            wait("peers notice", lambda: not peers_full(prefixes), 60, 0.05)
    # settle: the peers hold the full table, every session up, then a quiet period
    if case.startswith("ha-tf") or r1.dual:
        time.sleep(KEEPALIVE + 1.5)  # every TF session's next keepalive is on the wire
    res = dict(res, churn_toggles=churner.toggles if churner else 0)
    try:
        wait("peers converge", lambda: peers_full(prefixes, r1.peers), 120 if churn else 1800,
             0.2)
        res["tables_differ"] = 0
    except TimeoutError:
        if not churn:
            raise
        # a peer that holds another count than the feed's table after the
        # churn: an announcement or withdrawal lost (or repeated) across
        # the takeover
        res["tables_differ"] = sum(1 for v in peer_view(counts=True).values()
                                   if v["accepted"] != prefixes)
    if not case.startswith("ha-tf"):
        time.sleep(2.0)
    if flow:
        sent, got, gap = flow.stop()
        res["flow_sent"], res["flow_lost"], res["flow_gap_ms"] = sent, sent - got, gap
    sampler.stop()
    cap.stop()
    after = wait("the peers answer", lambda: peer_view(counts=True), 120, 0.5)
    r1_set = {r1_side(r1.af, i, r1.dual) if r1.af == 4 else
              ipaddress.ip_address(r1_side(r1.af, i, r1.dual)).packed.hex()
              for i in range(r1.peers)}
    peer_set = {peer_addr(r1.af, i) if r1.af == 4 else
                ipaddress.ip_address(peer_addr(r1.af, i)).packed.hex() for i in range(r1.peers)}
    # the peers' sessions only (a frame to the feed, flooded by the LAN's
    # bridge before it learned the new host's port, is seen too)
    wire = {k: v for k, v in analyse_wire(cap.path, t_kill, r1_set).items() if k[1] in peer_set}
    if r1.ha:
        t_cont, line = log_time(r1.logfile(standby), r"shadow sessions continued in", t_kill)
        res["takeover_ms"] = (t_cont - t_kill) * 1000 if t_cont else None
        m = re.search(r"(\d+) of (\d+) shadow sessions continued in (\d+) ms", line or "")
        res["continued_ms"] = int(m.group(3)) if m else None
        res["continued"] = f"{m.group(1)}/{m.group(2)}" if m else "?"
        # the death heard on the active's life page (before its exit was over)
        t_heard, _ = log_time(r1.logfile(standby), r"died \(its life page says so", t_kill)
        res["death_heard_ms"] = (t_heard - t_kill) * 1000 if t_heard else None
        if r1.dual:
            res.update(host_death_steps(r1.logfile(standby), t_kill))
            res["kill"] = "host" if host_death else "bgpd"
    firsts = [s["first_byte"] for s in wire.values() if s["first_byte"]]
    res["first_byte_last_ms"] = (max(firsts) - t_kill) * 1000 if len(firsts) == len(before) \
        else None
    if r1.dual:
        # the moment the last peer heard from the new host (an ACK counts)
        heard = [s["first_segment"] for s in wire.values() if s["first_segment"]]
        res["first_segment_last_ms"] = (max(heard) - t_kill) * 1000 \
            if len(heard) == len(before) else None
    lasts = [s["last_update"] for s in wire.values() if s["last_update"]]
    res["converged_ms"] = (max(lasts) - t_kill) * 1000 if lasts else 0.0
    flaps, why = 0, {}
    for n, b in before.items():
        a = after.get(n, {})
        if n in sampler.down or not same_since(a.get("uptime"), b.get("uptime")) or \
           a.get("flops", 0) != b.get("flops", 0):
            flaps += 1
            why[n] = sampler.why.get(n) or (f"uptime {b.get('uptime')} -> {a.get('uptime')}, "
                                            f"flops {b.get('flops')} -> {a.get('flops')}")
    res["flaps"] = flaps
    if why:
        res["flapped"] = dict(list(why.items())[:10])  # why, for the first ten
    res["notifications"] = sum((after.get(n, {}).get("notifications") or 0) -
                               (b["notifications"] or 0) for n, b in before.items())
    res["notifications_wire"] = sum(s["notifications"] for s in wire.values())
    res["fin_rst"] = sum(s["fin"] + s["rst"] for s in wire.values())
    res["updates"] = sum(s["updates"] for s in wire.values())
    res["withdrawn_wire"] = sum(s["withdrawn"] for s in wire.values())
    res["reannounced"] = sum(s["announced"] for s in wire.values())
    if churn:
        # the churn's own withdrawals are on the wire: what a peer lost is
        # what a dropped session held (and tables_differ says whether the
        # churn's routes came and went exactly)
        res["lost_at_peers"] = sum(b["accepted"] for n, b in before.items()
                                   if n in sampler.down or
                                   not same_since(after.get(n, {}).get("uptime"), b.get("uptime")))
    elif peers_store():
        res["lost_at_peers"] = sum(b["accepted"] - sampler.min_held.get(n, b["accepted"])
                                   for n, b in before.items())
    else:
        # peers that keep nothing (and are no GR helpers): a session that
        # dropped loses what the peer held (implicit withdrawal); plus what
        # r1 withdrew on the wire
        res["lost_at_peers"] = res["withdrawn_wire"] + (
            sum(b["accepted"] for n, b in before.items()
                if n in sampler.down or
                not same_since(after.get(n, {}).get("uptime"), b.get("uptime"))))
    os.unlink(cap.path)
    return res


def host_death_steps(logfile, t_kill):
    """Where the time of a takeover across hosts went, from the survivor's
    log: the channel's loss heard (the detection time), the lease it
    granted waited out, the role taken, the sessions continued."""
    steps = {}
    for key, pattern in (("lost_ms",
                          r"HA channel closed: partner silent|HA channel to rp \w+ lost"),
                         ("active_ms", r"rp \w+ is active \(epoch"),
                         ("claimed_ms", r"service address .* claimed")):
        t, _ = log_time(logfile, pattern, t_kill)
        steps[key] = (t - t_kill) * 1000 if t else None
    _, line = log_time(logfile, r"taking over once the lease this RP granted expires, in", t_kill)
    m = re.search(r"expires, in (\d+) ms", line or "")
    steps["lease_wait_ms"] = int(m.group(1)) if m else 0
    return steps


# --------------------------------------------------------------------------- cases

def mirrored(r1, standby):
    """Bytes the standby got through the sessions' input links (its
    bytesMirrored, summed over the sessions it shadows)."""
    if not standby:
        return 0
    return sum(n.get("session", {}).get("bytesMirrored", 0)
               for n in r1.ha_json(standby).get("neighbors", {}).values())


def replication_stats(r1, active):
    """What replication cost the active's sessions over the loads: how long
    a full link held a session back (p50/p99 of holds, worst session), how
    often, and how long each hand-over took until protected."""
    sessions = [n["session"] for n in r1.ha_json(active).get("neighbors", {}).values()
                if "session" in n]
    return {
        "held_p50_ms": max((s.get("heldP50Ms", 0) for s in sessions), default=0),
        "held_p99_ms": max((s.get("heldP99Ms", 0) for s in sessions), default=0),
        "held_max_ms": max((s.get("heldMaxMs", 0) for s in sessions), default=0),
        "backpressure_events": sum(s.get("backpressureEvents", 0) for s in sessions),
        "protected_after_ms": [s["protectedAfterMs"] for s in sessions
                               if s.get("protectedAfterMs", -1) >= 0],
        "unprotected": [s.get("notProtectedReason", "") for s in sessions
                        if s.get("stream") == "unprotected"],
    }


def load_table(r1, pid, standby=None, marks=None):
    """Withdraws the feed's table (static protocol off), then announces it
    again; returns (seconds until every peer holds it, CPU seconds of pid,
    bytes mirrored to the standby, bytes r1 received from the feed), and
    with a standby its CPU seconds from the announcement until it is in
    step: the whole process's and its send-log pthread's (the records of
    what each peer holds).
    `marks`, a dict, gets the announcement's start and end ("t0", "t1")."""
    birdc("disable feed")
    wait("peers empty", lambda: peers_count(0), 1800, 0.2)
    time.sleep(1.0)
    if standby:
        wait("standby in step", lambda: r1.in_step(r1.active_rp, standby), 600, 0.2)
        spid = r1.pid(standby)
        s0, l0 = proc_cpu(spid), proc_thread_cpu(spid, SENDLOG_THREAD)
    cpu0, w0, b0 = proc_cpu(pid), mirrored(r1, standby), r1_feed_bytes(r1)
    t0 = time.time()
    birdc("enable feed")
    full_at = {}
    wait("peers full", lambda: peers_full(r1.prefixes, r1.peers, full_at), 1800,
         0.05 if r1.peers <= 100 else 0.2)
    t1 = time.time()
    cpu1 = proc_cpu(pid)
    if marks is not None:
        marks.update(t0=t0, t1=t1)
    # how far apart the peers got the table: the first peer full, from t0
    said = (f"  load: every peer full {t1 - t0:.2f} s, the first "
            f"{min(full_at.values(), default=t1) - t0:.2f} s, active CPU {cpu1 - cpu0:.2f} s")
    standby_cpu = ()
    if standby:
        wait("standby in step", lambda: r1.in_step(r1.active_rp, standby), 600, 0.2)
        standby_cpu = (proc_cpu(spid) - s0, proc_thread_cpu(spid, SENDLOG_THREAD) - l0)
        said += (f", standby CPU until in step {standby_cpu[0]:.2f} s "
                 f"(send-log pthread {standby_cpu[1]:.2f} s)")
    log(said)
    return (t1 - t0, cpu1 - cpu0, mirrored(r1, standby) - w0, r1_feed_bytes(r1) - b0) + standby_cpu


def r1_feed_bytes(r1):
    return r1_bytes_from_feed(r1.af, r1.dual, r1.ns[r1.active_rp])


def load_ack_delays(cap, marks, counters=None):
    """One ha-dual load's ACK delays (ms, rounded to 10 us, with each
    segment's payload bytes) from its capture: the feed's data segments and
    the peers' (their keepalives), each until the first segment from the
    service address whose ACK field covers it; "span": how long the feed
    took to send its table (first to last segment bigger than a keepalive)."""
    by_remote = ack_delays(cap.path, SERVICE, marks["t0"], marks["t1"])
    res = {side: {"ms": [], "bytes": [], "retransmitted": 0, "unanswered": 0}
           for side in ("feed", "peers")}
    for remote, d in by_remote.items():
        side = res["feed" if remote == FEED_LAN else "peers"]
        side["ms"] += [round(x, 2) for x in d["ms"]]
        side["bytes"] += d["bytes"]
        side["retransmitted"] += d["retransmitted"]
        side["unanswered"] += d["unanswered"]
        side["span"] = max(side.get("span", 0), round(d["span"], 3))
    if counters is not None:
        res["hold"] = counters
    return res


def run_dual_case(r1, active, standby, repeats, conv_repeats, out):
    """ha-dual: the table loaded with the standby host attached (every
    session relayed, its writes gated by the standby's confirmations) and
    without (the standby's bgpd killed), alternating; then `repeats` deaths
    of the active's host, each continued by the other host, which the dead
    one rejoins as standby; returns the deaths' figures."""
    conv = {"with": [], "without": []}
    # the hold's cost on the wire: per load, how long the router took to
    # acknowledge each data segment (ack_delays), and the active's hold
    # counters over the attached loads
    hold = {"with": [], "without": []}
    for k in range(conv_repeats):  # 0: deaths only
        for attached in ((True, False) if k % 2 == 0 else (False, True)):
            if attached:
                wait("every session relayed", lambda: r1.relayed(active, standby), 600, 0.2)
                before = r1.ha_json(active).get("streamsAcrossHosts", {})
                cap, marks = Capture(f"ha-dual-load-{k}-with", snaplen=128), {}
                try:
                    res = load_table(r1, r1.pid(active), marks=marks)
                    time.sleep(0.7)  # the last segments' ACKs (1 s with stop's)
                finally:
                    cap.stop()
                wait("every session relayed", lambda: r1.relayed(active, standby), 600, 0.2)
                after = r1.ha_json(active).get("streamsAcrossHosts", {})
                # bytes the standby host confirmed during the load, in place
                # of the mirrored bytes of local mode
                conv["with"].append(res[:2] + (after.get("bytesConfirmed", 0) -
                                               before.get("bytesConfirmed", 0), res[3]))
                counters = {key: after.get("hold", {}).get(key, 0) -
                            before.get("hold", {}).get(key, 0)
                            for key in ("segmentsQueued", "segmentsWaited", "segmentsLost")}
                counters["on"] = after.get("hold", {}).get("on")
                hold["with"].append(load_ack_delays(cap, marks, counters))
                lost = peer_session_errors(marks["t0"], marks["t1"])
                hold["with"][-1]["peer_sessions_lost"] = [e for _, e in lost]
                log(f"  ha-dual load with the standby host: {res[0]:.2f} s, hold {counters}, "
                    f"peers' sessions lost during it: {len(lost)} {[e for _, e in lost]}")
            else:
                # paired again (the lease binds) before the standby dies
                wait("every session relayed", lambda: r1.relayed(active, standby), 600, 0.2)
                kill_pid(r1.pid(standby), signal.SIGKILL)
                # A lone active cannot tell its partner's death from a cut
                # channel: its lease lapses and it goes silent, until the
                # operator lets it write alone (docs/dual-rp.md).
                wait("the active's lease lapses",
                     lambda: r1.ha_json(active).get("lease", {}).get("mayWrite") is False,
                     30, 0.1)
                out_ = r1.vty("bgp ha lease override", active)
                if "%" in out_:
                    raise RuntimeError(f"lease override refused: {out_.strip()}")
                cap, marks = Capture(f"ha-dual-load-{k}-without", snaplen=128), {}
                try:
                    conv["without"].append(load_table(r1, r1.pid(active), marks=marks))
                    time.sleep(0.7)
                finally:
                    cap.stop()
                hold["without"].append(load_ack_delays(cap, marks))
                lost = peer_session_errors(marks["t0"], marks["t1"])
                hold["without"][-1]["peer_sessions_lost"] = [e for _, e in lost]
                log(f"  ha-dual load without the standby host: {conv['without'][-1][0]:.2f} s, "
                    f"peers' sessions lost during it: {len(lost)} {[e for _, e in lost]}")
                r1.start_bgpd(standby)
    out["conv_dual"] = conv
    out["hold_dual"] = hold
    wait("every session relayed", lambda: r1.relayed(active, standby), 600, 0.2)
    wait("standby in step", lambda: r1.in_step(active, standby), 1800, 0.2)
    out["rss_dual"] = {"active": proc_rss_mib(r1.pid(active)),
                       "standby": proc_rss_mib(r1.pid(standby))}
    runs = []
    for k in range(repeats):
        wait("every session relayed", lambda: r1.relayed(active, standby), 600, 0.2)
        wait("standby in step", lambda: r1.in_step(active, standby), 1800, 0.2)
        # in turn: the active's whole host dies, or its bgpd alone is
        # killed (its kernel, zebra and links live on); routes churn
        # around every other pair of deaths
        host = k % 2 == 0
        churn = k % 4 >= 2
        log(f"  ha-dual {'host death' if host else 'kill -9 of bgpd'} {k + 1}/{repeats} "
            f"(rp {active}{'' if not churn else ', routes churning'})")
        runs.append(switchover(r1, k, active, standby, host_death=host, churn=churn))
        log(f"    {runs[-1]}")
        if host:
            r1.revive_host(active)  # it rejoins as standby
        else:
            r1.start_bgpd(active)
        active, standby = standby, active
        r1.active_rp = active
    return runs


def join(r1, active, standby):
    """Start `standby` from scratch: seconds until it is ready and until
    it is in step (which grows with sessions x prefixes: about 2 minutes
    at 100 x 1M here)."""
    t0 = time.time()
    r1.start_bgpd(standby)
    wait("ready", lambda: r1.ha_json(standby).get("ready"), 600, 0.05)
    t1 = time.time()
    wait("in step", lambda: r1.in_step(active, standby), 3600, 0.05)
    return t1 - t0, time.time() - t0


def run_ha_case(af, peers, prefixes, case, repeats, conv_repeats, out):
    r1 = R1(af, peers, prefixes, case)
    r1.start_zebra()
    t0 = time.time()
    r1.start_bgpd("a")
    later = HA_OPTIONS["standby_after_load"] and case != "ha-dual"
    if not later:
        r1.start_bgpd("b")
    wait("peers full", lambda: peers_full(prefixes, peers), 1800, 0.5)
    out.setdefault("first_load", {})[case] = time.time() - t0
    if later:
        # the active carried the first load alone; the standby joins now
        log(f"  {case}: first load by rp a alone {time.time() - t0:.1f} s")
        joined = out.setdefault("join_after_load", {})[case] = join(r1, "a", "b")
        log(f"  {case}: rp b joined after the load: ready {joined[0]:.2f} s, "
            f"in step {joined[1]:.1f} s")
    # Started together, either RP may win the election (the one whose
    # configuration loads first): ask, do not assume.
    wait("an active RP", lambda: "active" in (r1.ha_json("a").get("role"),
                                              r1.ha_json("b").get("role")), 600, 0.5)
    active = "a" if r1.ha_json("a").get("role") == "active" else "b"
    standby = "b" if active == "a" else "a"
    r1.active_rp = active
    log(f"  {case}: rp {active} is the active")
    if case == "ha-dual":
        runs = run_dual_case(r1, active, standby, repeats, conv_repeats, out)
        r1.stop()
        return runs
    wait("standby in step", lambda: r1.in_step(active, standby), 3600, 0.5)
    time.sleep(SETTLE_S)
    out.setdefault("rss", {})[case] = {"active": proc_rss_mib(r1.pid(active)),
                                       "standby": proc_rss_mib(r1.pid(standby)),
                                       "zebra": proc_rss_mib(r1.zebra_pid)}
    out.setdefault("fds", {})[case] = {"active": proc_fds(r1.pid(active)),
                                       "standby": proc_fds(r1.pid(standby))}
    log(f"  {case}: RSS {out['rss'][case]}, fds {out['fds'][case]}")
    if case == "ha-tf":
        # replication cost and standby cost, in the same run, alternating
        conv = {"with": [], "without": []}
        for k in range(conv_repeats):
            for attached in ((True, False) if k % 2 == 0 else (False, True)):
                if attached:
                    wait("standby in step", lambda: r1.in_step(active, standby), 600, 0.2)
                    r1.active_rp = active
                    conv["with"].append(load_table(r1, r1.pid(active), standby))
                    wait("standby in step", lambda: r1.in_step(active, standby), 600, 0.2)
                else:
                    kill_pid(r1.pid(standby), signal.SIGKILL)
                    time.sleep(1.0)
                    conv["without"].append(load_table(r1, r1.pid(active)))
                    r1.start_bgpd(standby)
        out["conv"] = conv
        wait("standby in step", lambda: r1.in_step(active, standby), 600, 0.2)
        out["replication"] = replication_stats(r1, active)
        out["rss_active"] = proc_rss_mib(r1.pid(active))
        out["rss_standby"] = proc_rss_mib(r1.pid(standby))
        # a standby joining from scratch: start to ready, and to in step
        rejoin = []
        for _ in range(max(1, conv_repeats)):
            kill_pid(r1.pid(standby), signal.SIGKILL)
            time.sleep(1.0)
            rejoin.append(join(r1, active, standby))
        out["rejoin"] = rejoin
    runs = []
    planned = case == "ha-tf-planned"
    for k in range(repeats):
        wait("standby in step", lambda: r1.in_step(active, standby), 1800, 0.2)
        log(f"  {case} switchover {k + 1}/{repeats} (rp {active} "
            f"{'hands over' if planned else 'killed'})")
        runs.append(switchover(r1, k, active, standby, planned=planned))
        log(f"    {runs[-1]}")
        if not r1.pid(active):
            r1.start_bgpd(active)  # the old active rejoins as standby
        active, standby = standby, active
        r1.active_rp = active
    r1.stop()
    return runs


def run_stock_case(af, peers, prefixes, case, repeats, out, learn_repeats=2):
    r1 = R1(af, peers, prefixes, case)
    r1.start_zebra()
    t0 = time.time()
    r1.start_bgpd(None)
    wait("peers full", lambda: peers_full(prefixes, peers), 1800, 0.5)
    out.setdefault("first_load", {})[case] = time.time() - t0
    time.sleep(SETTLE_S)
    out.setdefault("rss", {})[case] = {"bgpd": proc_rss_mib(r1.pid(None)),
                                       "zebra": proc_rss_mib(r1.zebra_pid)}
    out.setdefault("fds", {})[case] = {"bgpd": proc_fds(r1.pid(None))}
    log(f"  {case}: RSS {out['rss'][case]}, fds {out['fds'][case]}")
    runs = []
    for k in range(repeats):
        time.sleep(1.0)
        log(f"  {case} restart {k + 1}/{repeats}")
        runs.append(switchover(r1, k))
        log(f"    {runs[-1]}")
    if case == "stock":
        # how long stock FRR takes to learn the table from its peers, from its start
        learn = []
        for _ in range(learn_repeats):
            kill_pid(r1.pid(None), signal.SIGKILL)
            wait("peers notice", lambda: not peers_full(prefixes), 60, 0.1)
            wait("peers empty", lambda: peers_count(0), 600, 0.1)
            t0 = time.time()
            r1.start_bgpd(None)

            def have_table():
                try:
                    s = json.loads(r1.vty(f"show bgp {'ipv4' if af == 4 else 'ipv6'} unicast "
                                          "summary json"))
                    _, feed, _ = feed_addrs(af)
                    return s["peers"][feed]["pfxRcd"] == prefixes
                except (ValueError, KeyError):
                    return False
            wait("r1 learns the table", have_table, 1800, 0.05)
            t1 = time.time()
            wait("peers full", lambda: peers_full(prefixes, peers), 1800,
                 0.05 if peers <= 100 else 0.2)
            learn.append((t1 - t0, time.time() - t0))
        out["learn"] = learn
    r1.stop()
    return runs


def run_size(af, peers, prefixes, repeats, conv_repeats, cases, attr_sets=None):
    """`attr_sets`: the feed sends a generated table of realistic shape
    (table.py) with that many distinct attribute sets, instead of host
    routes sharing one."""
    kind = f"a realistic table, {attr_sets} attribute sets" if attr_sets else "host routes"
    log(f"size: {peers} peers, {prefixes} IPv{af} prefixes ({kind})")
    for d in ("feed", "peers", "r1"):
        shutil.rmtree(f"{STATE}/{d}", ignore_errors=True)
    build_topology(af, peers)
    table_conf = None
    if attr_sets:
        os.makedirs(f"{STATE}/feed", exist_ok=True)
        table_conf = f"{STATE}/feed/table.conf"
        write_bird_static(table_conf, generate(prefixes, attr_sets, af))
    bird = start_feed(af, prefixes, table_conf)
    gob = None
    out = {"af": af, "peers": peers, "prefixes": prefixes, "runs": {},
           "peers_kind": "gobgp" if peers_store() else "bird", "attr_sets": attr_sets}
    try:
        for case in cases:
            t0 = time.time()
            stop_peers(gob)
            # the peers are graceful-restart helpers but in the no-GR case
            dual = case == "ha-dual"
            feed_session(dual)
            FLOW["on"] = dual and not attr_sets  # the target is one of the host routes
            if FLOW["on"]:
                route_flow_through_service(r1_side(af, 0, dual=True))
            gob = start_peers(af, peers, gr=case != "stock", tag=case, dual=dual)
            if case.startswith("ha"):
                out["runs"][case] = run_ha_case(af, peers, prefixes, case, repeats,
                                                conv_repeats, out)
            else:
                out["runs"][case] = run_stock_case(af, peers, prefixes, case, repeats, out,
                                                   max(1, min(2, conv_repeats)))
            log(f"  {case} done in {time.time() - t0:.0f} s")
    finally:
        stop_peers(gob)
        if bird:
            kill_pid(bird.pid)
        teardown_topology()
    return out
